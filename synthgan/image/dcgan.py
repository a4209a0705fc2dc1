"""DCGANSynthesizer: the deep convolutional GAN of Radford et al. (2016), with stability options.

A thin estimator: it reads the images (:mod:`synthgan.image.data`) and describes the networks
(:mod:`synthgan.image.networks`) and the steps (:class:`~synthgan.image.steps.ImageGANSteps`);
the template fit of :mod:`synthgan.base` runs them in a :class:`~synthgan.core.session.FitSession`.
The conditional model (:class:`~synthgan.image.cgan.ConditionalGANSynthesizer`) is this class
with labels.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgan.base import BaseSynthesizer, data_digest, register_model_kind
from synthgan.core.callbacks import Callback
from synthgan.core.layers import available_norms2d
from synthgan.core.losses import create_loss
from synthgan.core.params import check_fraction, check_int, check_positive
from synthgan.core.random import check_random_state, derive_seed, torch_seed_scope
from synthgan.core.session import FitPlan, Network, TrainingContext
from synthgan.image.augment import parse_policy
from synthgan.image.data import ImageData, read_images, write_grid
from synthgan.image.monitor import DiversityMonitor
from synthgan.image.networks import (
    ImageDiscriminator,
    ImageGenerator,
    ImageNetworkConfig,
    check_size,
)
from synthgan.image.sample_stream import StreamedImageSampling
from synthgan.image.steps import ImageGANSteps, ImageStepOptions, smoothed_loss
from synthgan.privacy.config import PrivacyConfig

__all__ = ["DCGANSynthesizer"]

_POSITIVE_INTS = ("epochs", "latent_dim", "generator_width")
# Hyperparameters whose None means "auto": (without privacy, with privacy). Without privacy they
# are the DCGAN defaults; with privacy the dp10_ms recipe (docs/benchmarks.md, "Differentially
# private images": five noisy critic steps per generator step as in Bie et al. 2023, a narrower
# critic, the mode-seeking term of Mao et al. 2019, batch 128).
_AUTO = {
    "batch_size": (64, 128),
    "discriminator_width": (64, 32),
    "discriminator_steps": (1, 5),
    "mode_seeking": (0.0, 1.0),
}
_SAMPLE_CHUNK = 1024  # images generated per forward pass when sampling
_MONITOR_IMAGES = 64  # real images per class kept as the diversity reference


@register_model_kind
class DCGANSynthesizer(StreamedImageSampling, BaseSynthesizer):
    """Deep convolutional GAN for images (Radford et al. 2016).

    The generator turns a latent vector into an image with transposed convolutions, BatchNorm
    and ReLU, ending in tanh; the discriminator scores images with strided convolutions and
    LeakyReLU 0.2. The image size and channels come from the data: square images of side 8, 14,
    16, 28, 32, 56, 64, 112 or 128, grayscale or RGB.

    Parameters
    ----------
    epochs : int, default=25
        Passes over the training images.
    batch_size : int or None, default=None
        Images per step (reduced to the number of images when there are fewer; with
        ``privacy``, the expected size of the Poisson-sampled real batch). None: 64 without
        privacy, 128 with privacy (the ``dp10_ms`` recipe, Bie et al. 2023 / Mao et al. 2019;
        see "Defaults in DP mode" below).
    latent_dim : int, default=100
        Size of the generator's noise input.
    generator_width : int, default=64
        Channels of the generator's largest feature maps; they double (up to 512) each time
        the side halves.
    discriminator_width : int or None, default=None
        The same for the discriminator. None: 64 without privacy, 32 with privacy (the
        ``dp10_ms`` recipe, Bie et al. 2023 / Mao et al. 2019: fewer coordinates to noise and
        faster per-image gradients).
    generator_lr, discriminator_lr : float, default=2e-4
        Adam learning rates.
    betas : tuple of float, default=(0.5, 0.999)
        Adam betas (the DCGAN's beta1 = 0.5).
    loss : str, default="non_saturating"
        Adversarial loss from :func:`synthgan.core.losses.available_losses` (``"hinge"`` pairs
        well with ``spectral_norm=True``).
    generator_norm : str, default="batch"
        Norm layers of the generator ("batch", "group", "instance", "layer" or "none").
    discriminator_norm : str or None, default=None
        Norm layers of the discriminator, the same choices; None means "batch", or "group"
        with ``privacy`` (DP-SGD needs a per-image gradient, and BatchNorm mixes the images of a
        batch, so "batch" with ``privacy`` is an error).
    spectral_norm : bool, default=False
        Spectral normalisation of every discriminator layer (Miyato et al. 2018).
    label_smoothing : float, default=0.0
        One-sided label smoothing of the non-saturating loss: real images get target
        ``1 - label_smoothing``.
    diff_augment : str or None, default=None
        DiffAugment policy (Zhao et al. 2020), e.g. ``"color,translation,cutout"``, applied to
        every image the discriminator sees; helps with a few thousand images or fewer.
    ema_decay : float or None, default=0.999
        Sample from an exponential moving average of the generator's weights (BatchNorm
        statistics re-estimated for it); None samples from the last generator.
    discriminator_steps : int or None, default=None
        Discriminator steps per generator step. None: 1 without privacy, 5 with privacy (the
        ``dp10_ms`` recipe, Bie et al. 2023 / Mao et al. 2019): the noisy discriminator learns
        more slowly than the generator, and its steps are the only ones that spend the budget;
        see the image guide.
    mode_seeking : float or None, default=None
        Weight of the mode-seeking term (Mao et al. 2019) in the generator's loss: it rewards
        generated images that differ when their noise differs, against mode collapse (within
        each class for the conditional model; over all images for the unconditional one). It
        reads generated images only, so with ``privacy`` it costs no budget. None: 0 (off)
        without privacy, 1.0 with privacy (the ``dp10_ms`` recipe, Bie et al. 2023 / Mao et
        al. 2019).
    autocast : bool or "auto", default="auto"
        Train and sample in bfloat16 where the hardware computes it natively (see
        ``autocast_``).
    max_time : float or None, default=None
        Stop after the first epoch that ends ``max_time`` seconds after training started.
    monitor_diversity : bool, default=True
        Log a diversity figure every epoch (``diversity``, and ``class_coverage`` for the
        conditional model) and warn when it collapses; see :class:`~synthgan.image.monitor.
        DiversityMonitor`. Off with ``privacy`` (its reference is a sample of real images).
    privacy : PrivacyConfig, dict or None, default=None
        Train with differential privacy (see the image guide and :mod:`synthgan.image.private`):
        the discriminator, the only network that sees real images, with DP-SGD (Opacus:
        Poisson sampling with expected batch ``batch_size``, per-image clipping, Gaussian noise
        calibrated up front so that the planned ``epochs`` end within ``target_epsilon``); the
        conditional model's class counts with Gaussian noise in the same ledger. The
        image size, channels, number of images and pixel range are treated as public: pass
        uint8 images or an explicit ``value_range`` (``"auto"`` on float pixels is refused),
        and, for the conditional model, the class list as ``fit(..., classes=...)``. Spectral
        norm, DiffAugment, label smoothing and the generator average work as without privacy;
        the discriminator steps run in float32. A dict is read with ``PrivacyConfig.from_dict``.
        With a fixed ``random_state`` the noise is reproducible: keep the seed secret (or None)
        when publishing a model.
    checkpoint_dir : str, path or None, default=None
        Write a checkpoint to this directory every ``checkpoint_every`` epochs (atomically
        replacing the previous one); ``fit(..., resume=True)`` continues from it with the
        result of an uninterrupted fit. As sensitive as the training data: keep it with them.
    checkpoint_every : int, default=1
        Epochs between checkpoints (the last epoch is always checkpointed).
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Torch device for training and sampling; "auto" is the GPU when torch sees one.
    n_threads : int or None, default=None
        CPU threads for the fit; None uses the cores other processes leave idle when it starts
        (see :mod:`synthgan.core.threads` and ``n_threads_``).
    random_state : int, numpy Generator or None
        Seed; the same data and seed give the same model on the CPU.
    verbose : bool, default=True
        Show a progress bar with the losses.

    Notes
    -----
    **Defaults in DP mode.** ``batch_size``, ``discriminator_width``, ``discriminator_steps``
    and ``mode_seeking`` default to None, "auto": without ``privacy`` they are 64, 64, 1 and
    0 (the DCGAN defaults), with ``privacy`` 128, 32, 5 and 1.0, the ``dp10_ms`` recipe of
    ``docs/benchmarks.md`` (five noisy critic steps per generator step, Bie et al. 2023; a
    narrower critic; the mode-seeking term, Mao et al. 2019). A value given explicitly is
    always used as given. ``get_params`` returns what was passed (None for "auto"); the
    values a fit used are in ``network_config_`` (the widths), ``privacy_spent_.dp_sgd``
    (batch and steps) and ``loss_history_`` (``mode_seeking_ratio`` when the term is on). The
    recipe was tuned on the conditional model on MNIST at ε = 10; every part of it applies to
    the unconditional model as well (its mode-seeking term pairs images generated from
    different noise, without labels), where it is not benchmarked.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained generator (or its weight average), in eval mode.
    network_config_ : ImageNetworkConfig
        Image shape and network sizes.
    loss_history_ : pandas.DataFrame
        One row per epoch: losses, mean scores, diversity figures, seconds.
    timings_ : dict
        Seconds of ``preparation``, ``training`` and ``total``, the ``epochs`` run and
        ``records_per_second`` (images per second) of training: the schema of every family.
    autocast_ : bool
        Whether bfloat16 was used; sampling uses the same precision, also after ``load``.
    n_threads_ : int
        The CPU threads the fit used (not saved with the model).
    privacy_spent_ : PrivacySpent or None
        With ``privacy``: the (ε, δ) the whole fit spent, with its breakdown (``"DP-SGD"`` and,
        conditional, ``"preprocessing: class counts"``); unpacks as ``epsilon, delta``. None
        without. Saved with the model, with the accountant's state; see :meth:`privacy_report`.
    privacy_state_ : dict or None
        With ``privacy``: the accountant's state, saved with the model.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from synthgan import DCGANSynthesizer
    >>> digits = load_digits().images.astype("float32") / 16.0  # (1797, 8, 8) in [0, 1]
    >>> model = DCGANSynthesizer(epochs=2, verbose=False, random_state=0).fit(digits)
    >>> model.sample(10, random_state=0).shape
    (10, 8, 8, 1)
    """

    model_kind = "dcgan"
    _fitted_attribute = "generator_"
    _records = "images"
    _conditional = False

    def __init__(
        self,
        *,
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
        self.epochs = epochs
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.generator_width = generator_width
        self.discriminator_width = discriminator_width
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.betas = betas
        self.loss = loss
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        self.spectral_norm = spectral_norm
        self.label_smoothing = label_smoothing
        self.diff_augment = diff_augment
        self.ema_decay = ema_decay
        self.discriminator_steps = discriminator_steps
        self.mode_seeking = mode_seeking
        self.autocast = autocast
        self.max_time = max_time
        self.monitor_diversity = monitor_diversity
        self.privacy = privacy
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------------------------------
    def fit(
        self,
        images: Any,
        labels: Any = None,
        *,
        value_range: str = "auto",
        classes: Sequence | None = None,
        callbacks: Sequence[Callback] | None = None,
        resume: bool = False,
    ):
        """Learn the distribution of ``images``.

        Parameters
        ----------
        images : array, tensor, dataset or path
            uint8 (or integer 0..255) arrays ``(N, H, W)``, ``(N, H, W, C)`` or
            ``(N, C, H, W)``; float arrays in [0, 1] or [-1, 1] (see ``value_range``); torch
            tensors; a map-style dataset returning ``(image, label)`` (a torchvision dataset);
            a folder of class sub-folders (ImageFolder layout) or of images; a ``.npz`` file.
            Float images are quantised to 8 bits.
        labels : sequence, optional
            One class per image (ints or strings). Required by the conditional model, ignored
            by the unconditional one.
        value_range : {"auto", "unit", "signed", "uint8"}, default="auto"
            How float pixels are read: ``"unit"`` is [0, 1], ``"signed"`` [-1, 1]; ``"auto"``
            takes [-1, 1] when any value is negative and [0, 1] otherwise. With ``privacy``,
            ``"auto"`` reads integer pixels only (the range then follows from the dtype): the
            choice would otherwise be made from the private pixel values.
        classes : sequence, optional
            Conditional model: the class list, as public metadata (ints or strings, in the
            order wanted), which may hold classes no image has; every label must be in it.
            Required with ``privacy``, since the set of labels present in the data is itself
            private. Without it the classes are the labels seen. Ignored by the unconditional
            model.
        callbacks : sequence of Callback, optional
            Extra training-loop callbacks (for example
            :class:`~synthgan.core.callbacks.EarlyStopping` on ``diversity``).
        resume : bool, default=False
            Continue the fit whose last complete checkpoint is in ``checkpoint_dir``.

        Returns
        -------
        self
        """
        read = lambda: self._read(images, labels, value_range, classes)  # noqa: E731
        return self._fit_template(read, callbacks=callbacks, resume=resume)

    # -- the template's hooks (synthgan.base) ----------------------------------------------------
    def _read(self, images: Any, labels: Any, value_range: str, classes: Sequence | None):
        private = self._privacy_config() is not None
        if private and self._conditional and classes is None:
            raise ValueError(
                f"{type(self).__name__} with privacy needs the class list as public metadata: "
                "fit(images, labels, classes=[...]). Reading it from the labels would publish "
                "which classes occur in the private data (a class held by one image reveals "
                "that image's presence)."
            )
        data = read_images(images, labels, value_range=value_range, detect_float_range=not private)
        data = self._with_classes(data, classes)
        self._check_data(data)
        check_size(data.size)  # square, and a side the generator can grow to
        return data

    def _n_records(self, data: ImageData) -> int:
        return data.n_images

    def _batch_size(self, data: ImageData) -> int:
        return min(self._resolved.batch_size, data.n_images)

    def _discriminator_steps(self) -> int:
        return self._resolved.discriminator_steps

    def _fingerprint(self, data: ImageData) -> str:
        labels = b"" if data.labels is None else data.labels
        return data_digest(data.images, labels, repr(list(data.classes or ())))

    def _prepare(self, data: ImageData, rng: np.random.Generator, privacy) -> _ImagePrepared:
        counts = self._class_counts(data, rng, privacy)
        labels = self._training_labels(data)
        monitor = None if privacy is not None else self._monitor(data, labels, rng)
        return _ImagePrepared(data, self._network_config(data), counts, monitor)

    def _class_counts(self, data: ImageData, rng, privacy) -> list[int] | None:
        """Hook: the conditional model's class counts (DP-released under privacy)."""
        return None

    def _fit_plan(self, prepared: _ImagePrepared, privacy) -> FitPlan:
        name = type(self).__name__.removesuffix("Synthesizer")
        if privacy is not None:
            name = f"DP-{name} ε={privacy.resolved.target_epsilon:g}"
        return FitPlan(
            networks=lambda: self._networks(prepared.config, privacy is not None),
            steps=lambda context: self._steps(context, prepared, privacy is not None),
            epochs=self.epochs,
            n_critic=self._discriminator_steps(),
            description=name,
        )

    def _networks(self, config: ImageNetworkConfig, private: bool) -> list[Network]:
        discriminator = ImageDiscriminator(config)
        if private:
            from synthgan.image.private import without_inplace

            discriminator = without_inplace(discriminator)
        # Opacus' hooks refuse spectral norm's buffers; torch.func handles them.
        sampler = "functional" if self.spectral_norm else "hooks"
        return [
            Network("generator", ImageGenerator(config), self._adam(self.generator_lr),
                    average=self.ema_decay, kept=True),
            Network("discriminator", discriminator, self._adam(self.discriminator_lr),
                    reads_real=True, private_options={"grad_sampler": sampler}),
        ]  # fmt: skip

    def _steps(self, context: TrainingContext, prepared: _ImagePrepared, private: bool):
        data = (prepared.data.images, self._training_labels(prepared.data))
        options = self._step_options(prepared.data)
        if not private:
            return ImageGANSteps(context, data, self._loss(), options, prepared.monitor)
        from synthgan.image.private import PrivateImageGANSteps

        weights = None if prepared.counts is None else np.asarray(prepared.counts, dtype=float)
        return PrivateImageGANSteps(context, data, self._loss(), options, class_weights=weights)

    def _learned(self, prepared: _ImagePrepared, result) -> dict[str, Any]:
        return {"network_config_": prepared.config, **self._class_state(prepared)}

    def _class_state(self, prepared: _ImagePrepared) -> dict[str, Any]:
        """Hook: the conditional model's classes and counts (none here)."""
        return {}

    def _network_config(self, data: ImageData) -> ImageNetworkConfig:
        return ImageNetworkConfig(
            channels=data.channels,
            side=data.size,
            latent_dim=self.latent_dim,
            generator_width=self.generator_width,
            discriminator_width=self._resolved.discriminator_width,
            generator_norm=self.generator_norm,
            discriminator_norm=self._discriminator_norm(),
            spectral_norm=self.spectral_norm,
            **self._conditioning(data),
        )

    def _conditioning(self, data: ImageData) -> dict[str, Any]:
        """Extra network options of the conditional model (none here)."""
        return {}

    def _discriminator_norm(self) -> str:
        if self.discriminator_norm is not None:
            return self.discriminator_norm
        return "group" if self.privacy is not None else "batch"

    def _with_classes(self, data: ImageData, classes) -> ImageData:
        """Hook: the conditional model re-codes labels against a given class list."""
        return data

    def _check_data(self, data: ImageData) -> None:
        """Hook for the conditional model's label checks."""

    def _training_labels(self, data: ImageData) -> torch.Tensor | None:
        return None

    def _adam(self, lr: float):
        betas = tuple(self.betas)
        return lambda module: torch.optim.Adam(module.parameters(), lr=lr, betas=betas)

    def _loss(self):
        return smoothed_loss(create_loss(self.loss), self.label_smoothing)

    def _step_options(self, data: ImageData) -> ImageStepOptions:
        return ImageStepOptions(
            batch_size=self._batch_size(data),
            latent_dim=self.latent_dim,
            augment=parse_policy(self.diff_augment),
            mode_seeking=float(self._resolved.mode_seeking),
        )

    def _privacy_notes(self, privacy) -> tuple[str, ...]:
        public = (
            "the number of training images (it sets the sampling rate, as in Opacus), the "
            "image size and channels (the array's shape), the pixel value range (given, or "
            "fixed by an integer dtype)"
        )
        if self._conditional:
            public += " and the class list (given as classes=)"
        notes = [
            f"Treated as public, not charged: {public}.",
            "Saved with the model: the generator's weights, the network sizes, "
            + ("the noisy class counts, " if self._conditional else "")
            + "this accounting and figures of generated images; no real image and no "
            "statistic of real images outside the releases above.",
        ]
        if privacy.steps_taken < privacy.steps:
            notes.append(
                f"Training stopped after {privacy.steps_taken} of the {privacy.steps} planned "
                "discriminator steps (max_time): the noise was calibrated for all of them, so "
                "the ε above, of the steps taken, is below the target."
            )
        return tuple(notes)

    def _monitor(self, data: ImageData, labels, rng) -> DiversityMonitor | None:
        if not self.monitor_diversity:
            return None
        index = torch.as_tensor(rng.permutation(data.n_images))
        if labels is None:
            index = index[:_MONITOR_IMAGES]
        images = data.to_model_range(index)  # (n, C, H, W) in [-1, 1]
        chosen = None if labels is None else labels[index]
        return DiversityMonitor.from_real(images, chosen, per_class=_MONITOR_IMAGES)

    # -- parameter checks ------------------------------------------------------------------------
    def _validate_params(self) -> None:
        self._resolved = self._resolve_auto()
        for name in _POSITIVE_INTS:
            check_int(name, getattr(self, name), minimum=1)
        for name in ("batch_size", "discriminator_width", "discriminator_steps"):
            check_int(name, getattr(self._resolved, name), minimum=1)
        for name in ("generator_lr", "discriminator_lr"):
            check_positive(name, getattr(self, name))
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be a pair of floats, got {self.betas!r}.")
        for name in ("generator_norm", "discriminator_norm"):
            value = getattr(self, name)
            if value not in available_norms2d() and not (
                name == "discriminator_norm" and value is None
            ):
                raise ValueError(f"{name} must be one of {available_norms2d()}, got {value!r}.")
        mode_seeking = self._resolved.mode_seeking
        if not (isinstance(mode_seeking, numbers.Real) and mode_seeking >= 0):
            raise ValueError(f"mode_seeking must be a number >= 0, got {mode_seeking!r}.")
        if not (isinstance(self.label_smoothing, numbers.Real) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}.")
        check_fraction("ema_decay", self.ema_decay, optional=True)
        loss = self._loss()  # loss name and pairing
        parse_policy(self.diff_augment)
        if self._privacy_config() is not None:
            self._validate_private(loss)

    def auto_params(self) -> dict[str, Any]:
        """The values a fit uses for the hyperparameters left at None ("auto"): the DCGAN
        defaults without privacy, the ``dp10_ms`` recipe with it; given values are as given.

        Returns
        -------
        dict
            ``batch_size``, ``discriminator_width``, ``discriminator_steps``, ``mode_seeking``.
        """
        return asdict(self._resolve_auto())

    def _resolve_auto(self) -> _ResolvedParams:
        """The values the fit uses for the "auto" (None) hyperparameters of ``_AUTO``: the
        DCGAN defaults without privacy, the dp10_ms recipe with it; given values are kept."""
        private = self._privacy_config() is not None
        values = {}
        for name, (plain, dp) in _AUTO.items():
            given = getattr(self, name)
            values[name] = (dp if private else plain) if given is None else given
        return _ResolvedParams(**values)

    def _validate_private(self, loss) -> None:
        if self.discriminator_norm == "batch":
            raise ValueError(
                "discriminator_norm='batch' cannot be used with privacy: BatchNorm normalises "
                "each image with the statistics of the whole batch, so one image's gradient "
                "depends on the others and clipping cannot bound its influence. Leave "
                "discriminator_norm=None (GroupNorm with privacy) or choose 'group', 'layer', "
                "'instance' or 'none'."
            )
        if not loss.separable:
            raise ValueError(
                f"loss={self.loss!r} has no per-image real and fake terms (real_term / "
                "fake_term), which privacy needs; use a built-in loss or register yours with "
                "both terms."
            )

    # ------------------------------------------------------------------------------------------
    # sample
    # ------------------------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        random_state: int | np.random.Generator | None = None,
        output: str = "numpy",
    ) -> np.ndarray | torch.Tensor:
        """Generate ``n`` images.

        Parameters
        ----------
        n : int
            Number of images, at least 1.
        random_state : int, numpy Generator or None
            Seed; the same seed gives the same images.
        output : {"numpy", "tensor"}, default="numpy"
            ``"numpy"``: uint8 array ``(n, H, W, C)``; ``"tensor"``: float32 tensor
            ``(n, C, H, W)`` in [0, 1].
        """
        self._check_fitted()
        check_int("n", n, minimum=1)
        return self._generate(n, None, random_state, output)

    def _generate(self, n: int, codes: np.ndarray | None, random_state, output: str):
        if output not in ("numpy", "tensor"):
            raise ValueError(f"output must be 'numpy' or 'tensor', got {output!r}.")
        rng = check_random_state(random_state)
        device = self._sampling_device()
        chunks = []
        with torch_seed_scope(derive_seed(rng), device), torch.inference_mode():
            for lo in range(0, n, _SAMPLE_CHUNK):
                size = min(_SAMPLE_CHUNK, n - lo)
                noise = torch.randn(size, self.network_config_.latent_dim, device=device)
                labels = None if codes is None else torch.as_tensor(codes[lo : lo + size])
                chunks.append(self._forward(noise, labels, device))
        images = torch.cat(chunks)  # (n, C, H, W) in [0, 1]
        if output == "tensor":
            return images
        pixels = (images * 255.0).round_().to(torch.uint8)
        return pixels.permute(0, 2, 3, 1).contiguous().numpy()  # (n, H, W, C)

    def _forward(self, noise, labels, device) -> torch.Tensor:
        labels = None if labels is None else labels.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast_):
            images = self.generator_(noise, labels)
        return ((images.float() + 1.0) / 2.0).clamp_(0.0, 1.0).cpu()

    def save_grid(
        self,
        path: str | PathLike[str],
        n: int = 64,
        *,
        nrow: int = 8,
        random_state: int | np.random.Generator | None = 0,
        overwrite: bool = False,
    ) -> Path:
        """Write a PNG grid of ``n`` generated images (``nrow`` per row), atomically."""
        images = self.sample(n, random_state=random_state, output="tensor")
        return self._write_grid(path, images, nrow, overwrite)

    @staticmethod
    def _write_grid(path, images: torch.Tensor, nrow: int, overwrite: bool) -> Path:
        pixels = (images * 255.0).round_().to(torch.uint8)  # (n, C, H, W)
        return write_grid(path, pixels, nrow=nrow, overwrite=overwrite)

    # ------------------------------------------------------------------------------------------
    # persistence
    # ------------------------------------------------------------------------------------------
    def _family_state(self) -> dict[str, Any]:
        return {"network_config": self.network_config_.to_json()}

    def _set_family_state(self, state: dict[str, Any]) -> None:
        self.network_config_ = ImageNetworkConfig.from_json(state["network_config"])

    def _empty_networks(self) -> dict[str, torch.nn.Module]:
        return {"generator": ImageGenerator(self.network_config_)}


@dataclass(frozen=True)
class _ResolvedParams:
    """The "auto" hyperparameters as a fit uses them (set by ``_validate_params``)."""

    batch_size: int
    discriminator_width: int
    discriminator_steps: int
    mode_seeking: float


@dataclass(frozen=True)
class _ImagePrepared:
    """The images as read, the network sizes, the class counts and the diversity monitor."""

    data: ImageData
    config: ImageNetworkConfig
    counts: list[int] | None
    monitor: DiversityMonitor | None
