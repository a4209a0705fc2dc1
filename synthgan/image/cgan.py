"""ConditionalGANSynthesizer: a class-conditional DCGAN, sampled by class.

The generator receives a learned label embedding next to its noise (Mirza & Osindero 2014); the
discriminator scores ``(image, label)`` pairs with a projection head (Miyato & Koyama 2018) or,
as an option, with one-hot label planes concatenated to the image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from synthgan.base import register_model_kind
from synthgan.core.params import check_int
from synthgan.core.random import check_random_state
from synthgan.exceptions import DataValidationError
from synthgan.image.data import ImageData
from synthgan.image.dcgan import DCGANSynthesizer
from synthgan.privacy.config import PrivacyConfig
from synthgan.privacy.mechanisms import frequencies_from_counts

__all__ = ["ConditionalGANSynthesizer"]

_CONDITIONINGS = ("projection", "concat")


@register_model_kind
class ConditionalGANSynthesizer(DCGANSynthesizer):
    """Class-conditional DCGAN: ``fit(images, labels)``, then ``sample(n, labels=...)``.

    Takes every parameter of :class:`~synthgan.image.dcgan.DCGANSynthesizer` (same names and
    defaults), plus:

    Parameters
    ----------
    conditioning : {"projection", "concat"}, default="projection"
        How the discriminator sees the label: a projection head, ``D(x, y) = psi(phi(x)) +
        <embed(y), phi(x)>`` (Miyato & Koyama 2018), or one-hot label planes concatenated to the
        image channels.
    embedding_dim : int, default=10
        Size of the generator's label embedding (concatenated to the noise).

    Attributes
    ----------
    classes_ : list
        The class labels (ints or strings) in code order: those seen in ``fit``, sorted, or the
        ``classes`` given to it, in the given order.
    class_counts_ : list of int
        Training images per class; ``sample`` without ``labels`` draws classes in these
        proportions. With ``privacy`` these are the noisy counts, rounded and clamped at zero
        (the exact counts are not kept).

    Notes
    -----
    With ``privacy``, the class list must be given (``fit(images, labels, classes=[...])``:
    which classes occur is itself private), and the class counts are released with Gaussian noise,
    one release composed with DP-SGD in the same accountant (its share of the budget is
    ``PrivacyConfig.preprocessing_epsilon_share``, ``"auto"`` by default); their frequencies label
    the generated images in training and in ``sample``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from synthgan import ConditionalGANSynthesizer
    >>> digits = load_digits()
    >>> images = digits.images.astype("float32") / 16.0  # (1797, 8, 8) in [0, 1]
    >>> model = ConditionalGANSynthesizer(epochs=2, verbose=False, random_state=0)
    >>> model = model.fit(images, digits.target)
    >>> model.sample(labels={3: 5, 7: 2}, random_state=0).shape
    (7, 8, 8, 1)
    """

    model_kind = "conditional_gan"
    _conditional = True

    def __init__(
        self,
        *,
        conditioning: str = "projection",
        embedding_dim: int = 10,
        epochs: int = 25,
        batch_size: int | None = None,
        latent_dim: int = 100,
        generator_width: int = 64,
        discriminator_width: int | None = None,
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        betas: Sequence[float] = (0.5, 0.999),
        loss: str = "non_saturating",
        generator_norm: str = "batch",
        discriminator_norm: str | None = None,
        spectral_norm: bool = False,
        label_smoothing: float = 0.0,
        diff_augment: str | None = None,
        ema_decay: float | None = 0.999,
        discriminator_steps: int | None = None,
        mode_seeking: float | None = None,
        autocast: bool | str = "auto",
        max_time: float | None = None,
        monitor_diversity: bool = True,
        privacy: PrivacyConfig | Mapping[str, Any] | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        device: str = "auto",
        n_threads: int | None = None,
        random_state: int | np.random.Generator | None = None,
        verbose: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            latent_dim=latent_dim,
            generator_width=generator_width,
            discriminator_width=discriminator_width,
            generator_lr=generator_lr,
            discriminator_lr=discriminator_lr,
            betas=betas,
            loss=loss,
            generator_norm=generator_norm,
            discriminator_norm=discriminator_norm,
            spectral_norm=spectral_norm,
            label_smoothing=label_smoothing,
            diff_augment=diff_augment,
            ema_decay=ema_decay,
            discriminator_steps=discriminator_steps,
            mode_seeking=mode_seeking,
            autocast=autocast,
            max_time=max_time,
            monitor_diversity=monitor_diversity,
            privacy=privacy,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )
        self.conditioning = conditioning
        self.embedding_dim = embedding_dim

    # -- fit hooks -------------------------------------------------------------------------------
    def _with_classes(self, data: ImageData, classes) -> ImageData:
        if classes is None or data.labels is None:  # unlabelled: _check_data explains
            return data
        return data.with_classes(classes)

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.conditioning not in _CONDITIONINGS:
            raise ValueError(
                f"conditioning must be one of {list(_CONDITIONINGS)}, got {self.conditioning!r}."
            )
        check_int("embedding_dim", self.embedding_dim, minimum=1)

    def _check_data(self, data: ImageData) -> None:
        if data.labels is None:
            raise DataValidationError(
                f"{type(self).__name__} needs one label per image: pass labels=..., a dataset "
                "returning (image, label), or a folder with one sub-folder per class. For "
                "unlabelled images use DCGANSynthesizer."
            )
        if data.n_classes < 2:
            raise DataValidationError(
                f"The labels hold {data.n_classes} class ({list(data.classes)}); a conditional "
                "model needs at least two. Use DCGANSynthesizer for a single class."
            )

    def _conditioning(self, data: ImageData) -> dict[str, Any]:
        return {
            "n_classes": data.n_classes,
            "conditioning": self.conditioning,
            "embedding_dim": self.embedding_dim,
        }

    def _training_labels(self, data: ImageData) -> torch.Tensor:
        return data.labels

    def _plan_preprocessing(self, data: ImageData, resolved):
        from synthgan.image.private import CLASS_COUNTS
        from synthgan.privacy.preprocessing import plan_gaussian_release

        return plan_gaussian_release(
            resolved, name=CLASS_COUNTS, histograms=1, n_records=data.n_images,
            what="its class counts (they set the class frequencies of training and sampling)",
        )  # fmt: skip

    def _class_counts(self, data: ImageData, rng, privacy) -> list[int]:
        if privacy is None:
            return [int(c) for c in torch.bincount(data.labels, minlength=data.n_classes)]
        from synthgan.image.private import CLASS_COUNTS, release_class_counts

        counts, release = release_class_counts(
            data.labels, data.n_classes, privacy.preprocessing, rng
        )
        privacy.record({CLASS_COUNTS: release})
        return counts

    def _class_state(self, prepared) -> dict[str, Any]:
        return {"classes_": list(prepared.data.classes), "class_counts_": list(prepared.counts)}

    # -- sampling --------------------------------------------------------------------------------
    def sample(
        self,
        n: int | None = None,
        *,
        labels: Sequence | Mapping | None = None,
        random_state: int | np.random.Generator | None = None,
        output: str = "numpy",
    ):
        """Generate images, by class (:meth:`sample_with_labels` also returns the classes).

        Parameters
        ----------
        n : int, optional
            Number of images. Required without ``labels`` (classes are then drawn in the
            training proportions); with ``labels`` it may be omitted, and must otherwise match.
        labels : sequence or mapping, optional
            The class of every image (``[3, 3, 7]``), or counts per class (``{3: 2, 7: 1}``).
            Classes are the values seen in ``fit``; an unknown one is an error listing them.
        random_state : int, numpy Generator or None
            Seed; the same seed gives the same images.
        output : {"numpy", "tensor"}, default="numpy"
            uint8 ``(n, H, W, C)`` array, or float32 ``(n, C, H, W)`` tensor in [0, 1].
        """
        return self.sample_with_labels(n, labels=labels, random_state=random_state,
                                       output=output)[0]  # fmt: skip

    def sample_with_labels(
        self,
        n: int | None = None,
        *,
        labels: Sequence | Mapping | None = None,
        random_state: int | np.random.Generator | None = None,
        output: str = "numpy",
    ) -> tuple[Any, np.ndarray]:
        """:meth:`sample`, returning ``(images, classes)``: the class of every image as a numpy
        array of the original labels (the same images as :meth:`sample` for the same seed)."""
        self._check_fitted()
        rng = check_random_state(random_state)
        codes = self._codes(n, labels, rng)
        images = self._generate(len(codes), codes, rng, output)
        return images, np.asarray([self.classes_[c] for c in codes])

    def _codes(self, n: int | None, labels, rng: np.random.Generator) -> np.ndarray:
        if labels is None:
            if n is None:
                raise ValueError("Pass n (the number of images) or labels (their classes).")
            check_int("n", n, minimum=1)
            weights = frequencies_from_counts(self.class_counts_)  # uniform if all are 0
            return rng.choice(len(self.classes_), size=n, p=weights)
        if isinstance(labels, Mapping):
            codes = np.concatenate([
                np.full(_count(label, count), self._code(label), dtype=np.int64)
                for label, count in labels.items()
            ])  # fmt: skip
        else:
            codes = np.asarray([self._code(label) for label in labels], dtype=np.int64)
        if len(codes) == 0:
            raise ValueError("labels asks for no image; pass at least one label.")
        if n is not None and n != len(codes):
            raise ValueError(f"n={n} but labels asks for {len(codes)} images; pass one of them.")
        return codes

    def _code(self, label) -> int:
        value = label.item() if isinstance(label, np.generic | torch.Tensor) else label
        codes = {known: code for code, known in enumerate(self.classes_)}
        if isinstance(value, bool) or value not in codes:  # True == 1 in Python: refuse it
            raise ValueError(f"Unknown class {label!r}; the model knows {self.classes_}.")
        return codes[value]

    def save_grid(self, path, n: int = 64, *, nrow: int | None = None, random_state=0,
                  overwrite: bool = False):  # fmt: skip
        """Write a PNG grid with one row per class (``n`` images, ``n // classes`` per row)."""
        per_class = max(1, n // len(self.classes_))
        codes = np.repeat(np.arange(len(self.classes_)), per_class)
        rng = check_random_state(random_state)
        images = self._generate(len(codes), codes, rng, "tensor")
        return self._write_grid(path, images, nrow or per_class, overwrite)

    # -- persistence -----------------------------------------------------------------------------
    def _family_state(self) -> dict[str, Any]:
        return {**super()._family_state(), "classes": self.classes_,
                "class_counts": self.class_counts_}  # fmt: skip

    def _set_family_state(self, state: dict[str, Any]) -> None:
        super()._set_family_state(state)
        self.classes_ = list(state["classes"])
        self.class_counts_ = [int(c) for c in state["class_counts"]]


def _count(label, count) -> int:
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
        raise ValueError(f"The count for class {label!r} must be an integer >= 0, got {count!r}.")
    return int(count)
