"""DCGANSynthesizer: the deep convolutional GAN of Radford et al. (2016), with stability options.

A thin estimator: it reads the images (:mod:`synthgan.image.data`), builds the networks
(:mod:`synthgan.image.networks`) and hands an :class:`~synthgan.image.steps.ImageGANSteps` to
the shared :class:`~synthgan.core.trainer.GANTrainer`. The conditional model
(:class:`~synthgan.image.cgan.ConditionalGANSynthesizer`) is this class with labels.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgan.base import BaseSynthesizer, register_model_kind
from synthgan.core.callbacks import TimeLimit, check_max_time
from synthgan.core.layers import available_norms2d
from synthgan.core.losses import create_loss
from synthgan.core.precision import resolve_autocast
from synthgan.core.random import check_random_state, derive_seed, torch_seed_scope
from synthgan.core.threads import thread_scope
from synthgan.core.trainer import GANTrainer
from synthgan.image.augment import parse_policy
from synthgan.image.data import ImageData, read_images, write_grid
from synthgan.image.monitor import DiversityMonitor
from synthgan.image.networks import ImageDiscriminator, ImageGenerator, ImageNetworkConfig
from synthgan.image.steps import ImageGANSteps, ImageStepOptions, smoothed_loss
from synthgan.privacy.accounting import PrivacySpent
from synthgan.privacy.config import PrivacyConfig

__all__ = ["DCGANSynthesizer"]

_SAMPLE_CHUNK = 1024  # images generated per forward pass when sampling
_MONITOR_IMAGES = 64  # real images per class kept as the diversity reference


@register_model_kind
class DCGANSynthesizer(BaseSynthesizer):
    """Deep convolutional GAN for images (Radford et al. 2016).

    The generator turns a latent vector into an image with transposed convolutions, BatchNorm
    and ReLU, ending in tanh; the discriminator scores images with strided convolutions and
    LeakyReLU 0.2. The image size and channels come from the data: square images of side 8, 14,
    16, 28, 32, 56, 64, 112 or 128, grayscale or RGB.

    Parameters
    ----------
    epochs : int, default=25
        Passes over the training images.
    batch_size : int, default=64
        Images per step (reduced to the number of images when there are fewer).
    latent_dim : int, default=100
        Size of the generator's noise input.
    generator_width, discriminator_width : int, default=64
        Channels of the largest feature maps of each network; they double (up to 512) each
        time the side halves.
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
    discriminator_steps : int, default=1
        Discriminator steps per generator step. With ``privacy``, 5 or more: the noisy
        discriminator learns more slowly than the generator, and its steps are the only ones
        that spend the budget (Bie et al. 2023); see the image guide.
    mode_seeking : float, default=0.0
        Weight of the mode-seeking term (Mao et al. 2019) in the generator's loss: it rewards
        generated images that differ when their noise differs, against (within-class) mode
        collapse. It reads generated images only, so with ``privacy`` it costs no budget.
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
        conditional model's class counts with Laplace noise from the preprocessing share. The
        image size, channels, number of images and pixel range are treated as public: pass
        uint8 images or an explicit ``value_range`` (``"auto"`` on float pixels is refused),
        and, for the conditional model, the class list as ``fit(..., classes=...)``. Spectral
        norm, DiffAugment, label smoothing and the generator average work as without privacy;
        the discriminator steps run in float32. A dict is read with ``PrivacyConfig.from_dict``.
        With a fixed ``random_state`` the noise is reproducible: keep the seed secret (or None)
        when publishing a model.
    device : str, default="cpu"
        Torch device for training and sampling.
    n_threads : int or None, default=None
        CPU threads for the fit; None uses the cores other processes leave idle when it starts
        (see :mod:`synthgan.core.threads` and ``n_threads_``).
    random_state : int, numpy Generator or None
        Seed; the same data and seed give the same model on the CPU.
    verbose : bool, default=True
        Show a progress bar with the losses.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained generator (or its weight average), in eval mode.
    network_config_ : ImageNetworkConfig
        Image shape and network sizes.
    loss_history_ : pandas.DataFrame
        One row per epoch: losses, mean scores, diversity figures, seconds.
    timings_ : dict
        ``training`` seconds, ``images_per_second`` of training, and ``epochs`` run.
    autocast_ : bool
        Whether bfloat16 was used; sampling uses the same precision, also after ``load``.
    n_threads_ : int
        The CPU threads the fit used (not saved with the model).
    privacy_spent_ : PrivacySpent or None
        With ``privacy``: the (ε, δ) the whole fit spent, with its breakdown (``"DP-SGD"`` and,
        conditional, ``"preprocessing: class counts"``); unpacks as ``epsilon, delta``. None
        without. Saved with the model, with the accountant's state; see :meth:`privacy_report`.

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
    _conditional = False

    def __init__(
        self,
        *,
        epochs: int = 25,
        batch_size: int = 64,
        latent_dim: int = 100,
        generator_width: int = 64,
        discriminator_width: int = 64,
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
        discriminator_steps: int = 1,
        mode_seeking: float = 0.0,
        autocast: bool | str = "auto",
        max_time: float | None = None,
        monitor_diversity: bool = True,
        privacy: PrivacyConfig | Mapping[str, Any] | None = None,
        device: str = "cpu",
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

        Returns
        -------
        self
        """
        with thread_scope(self.n_threads) as threads:
            self._fit(images, labels, value_range, classes)
        self.n_threads_ = threads
        return self

    def _fit(self, images: Any, labels: Any, value_range: str, classes: Sequence | None):
        self._validate_params()
        privacy = self._privacy_config()
        if privacy is not None and self._conditional and classes is None:
            raise ValueError(
                f"{type(self).__name__} with privacy needs the class list as public metadata: "
                "fit(images, labels, classes=[...]). Reading it from the labels would publish "
                "which classes occur in the private data (a class held by one image reveals "
                "that image's presence)."
            )
        data = read_images(
            images, labels, value_range=value_range, detect_float_range=privacy is None
        )
        data = self._with_classes(data, classes)
        self._check_data(data)
        rng = check_random_state(self.random_state)
        device = torch.device(self.device)
        self.autocast_ = resolve_autocast(self.autocast, device)
        config = self._network_config(data)
        if privacy is not None:
            return self._fit_private(privacy, config, data, rng, device)
        start = time.perf_counter()
        with torch_seed_scope(derive_seed(rng), device):
            generator, history = self._train(config, data, rng, device)
        seconds = time.perf_counter() - start
        self.network_config_ = config
        self.loss_history_ = history
        self._set_class_state(data)
        self.timings_ = self._timings(history, seconds, data.n_images)
        self.privacy_spent_ = None
        self._privacy_state = None
        self.generator_ = generator.eval()
        return self

    def _timings(self, history: pd.DataFrame, seconds: float, n_images: int) -> dict[str, Any]:
        epochs_run = len(history)
        steps = epochs_run * self._steps_per_epoch(n_images)
        return {
            "training": seconds,
            "epochs": epochs_run,
            "images_per_second": steps * self._batch(n_images) / max(seconds, 1e-9),
        }

    def _network_config(self, data: ImageData) -> ImageNetworkConfig:
        return ImageNetworkConfig(
            channels=data.channels,
            side=data.size,
            latent_dim=self.latent_dim,
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
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

    def _batch(self, n_images: int) -> int:
        return min(self.batch_size, n_images)

    def _steps_per_epoch(self, n_images: int) -> int:
        return max(1, n_images // self._batch(n_images))

    def _train(self, config, data: ImageData, rng, device):
        generator = ImageGenerator(config).to(device)
        discriminator = ImageDiscriminator(config).to(device)
        optimizers = (self._adam(generator, self.generator_lr),
                      self._adam(discriminator, self.discriminator_lr))  # fmt: skip
        labels = self._training_labels(data)
        steps = ImageGANSteps(
            generator, discriminator, (data.images, labels), self._loss(), optimizers,
            self._step_options(data), rng, self._monitor(data, labels, rng),
        )  # fmt: skip
        trainer = self._trainer(data, type(self).__name__.removesuffix("Synthesizer"))
        generator.train()
        discriminator.train()
        history = trainer.fit(steps).to_frame()
        return steps.final_generator(), history

    def _adam(self, module: torch.nn.Module, lr: float) -> torch.optim.Adam:
        return torch.optim.Adam(module.parameters(), lr=lr, betas=tuple(self.betas))

    def _loss(self):
        return smoothed_loss(create_loss(self.loss), self.label_smoothing)

    def _step_options(self, data: ImageData) -> ImageStepOptions:
        return ImageStepOptions(
            batch_size=self._batch(data.n_images),
            latent_dim=self.latent_dim,
            augment=parse_policy(self.diff_augment),
            autocast=self.autocast_,
            ema_decay=self.ema_decay,
            mode_seeking=float(self.mode_seeking),
        )

    def _trainer(self, data: ImageData, description: str) -> GANTrainer:
        return GANTrainer(
            epochs=self.epochs,
            steps_per_epoch=self._steps_per_epoch(data.n_images),
            n_critic=self.discriminator_steps,
            callbacks=[TimeLimit(self.max_time)] if self.max_time is not None else [],
            verbose=self.verbose,
            description=description,
        )

    # -- differential privacy --------------------------------------------------------------------
    def _fit_private(self, privacy: PrivacyConfig, config, data: ImageData, rng, device):
        from synthgan.image import private  # imports Opacus (seconds): only in DP mode

        resolved = privacy.validate(data.n_images)
        class_epsilon = self._class_release_epsilon(resolved)
        plan = private.plan_private_training(
            resolved,
            n_images=data.n_images,
            batch_size=self._batch(data.n_images),
            steps=self.epochs * self._steps_per_epoch(data.n_images) * self.discriminator_steps,
            preprocessing_epsilon=class_epsilon,
        )  # fails here, before anything is released, when the budget cannot cover the steps
        start = time.perf_counter()
        counts, releases = self._private_class_counts(data, class_epsilon, rng)
        with torch_seed_scope(derive_seed(rng), device):
            generator, history, critic = self._train_private(
                config, data, rng, device, resolved, plan, counts
            )
        seconds = time.perf_counter() - start
        self.network_config_ = config
        self.loss_history_ = history
        self._set_class_state(data, counts)
        self.timings_ = self._timings(history, seconds, data.n_images)
        self.privacy_spent_ = critic.privacy_spent(
            resolved.target_delta,
            {name: release.cost for name, release in releases.items()},
            target_epsilon=resolved.target_epsilon,
            notes=self._privacy_notes(resolved, plan, critic.steps_taken),
        )
        self._privacy_state = critic.state_dict()
        self.generator_ = generator.eval()
        return self

    def _class_release_epsilon(self, resolved) -> float:
        """Hook: the ε the conditional model spends on its class counts (none here)."""
        return 0.0

    def _private_class_counts(self, data: ImageData, epsilon: float, rng):
        """Hook: the conditional model's DP class counts and their release (none here)."""
        return None, {}

    def _train_private(self, config, data: ImageData, rng, device, resolved, plan, counts):
        from synthgan.image.private import PrivateImageGANSteps, without_inplace
        from synthgan.privacy.engine import PrivateCritic

        generator = ImageGenerator(config).to(device)
        discriminator = without_inplace(ImageDiscriminator(config).to(device)).train()
        critic = PrivateCritic(
            discriminator,
            self._adam(discriminator, self.discriminator_lr),
            n_records=data.n_images,
            sample_rate=plan.sample_rate,
            noise_multiplier=plan.noise_multiplier,
            max_grad_norm=resolved.max_grad_norm,
            max_steps=plan.steps,
            accountant=resolved.accountant,
            generator=torch.Generator(device=device).manual_seed(derive_seed(rng)),
            # Opacus' hooks refuse spectral norm's buffers; torch.func handles them.
            grad_sampler="functional" if self.spectral_norm else "hooks",
        )
        steps = PrivateImageGANSteps(
            generator, critic, (data.images, self._training_labels(data)), self._loss(),
            self._adam(generator, self.generator_lr), self._step_options(data), rng,
            sampling=torch.Generator().manual_seed(derive_seed(rng)),
            class_weights=None if counts is None else np.asarray(counts, dtype=float),
        )  # fmt: skip
        name = type(self).__name__.removesuffix("Synthesizer")
        trainer = self._trainer(data, f"DP-{name} ε={resolved.target_epsilon:g}")
        generator.train()
        history = trainer.fit(steps).to_frame()
        critic.to_standard_module()
        return steps.final_generator(), history, critic

    def _privacy_notes(self, resolved, plan, steps_taken: int) -> tuple[str, ...]:
        public = (
            "the number of training images (it sets the sampling rate, as in Opacus), the "
            "image size and channels (the array's shape), the pixel value range (given, or "
            "fixed by an integer dtype)"
        )
        if self._conditional:
            public += " and the class list (given as classes=)"
        notes = [
            resolved.delta_note(),
            f"Treated as public, not charged: {public}.",
            "Saved with the model: the generator's weights, the network sizes, "
            + ("the noisy class counts, " if self._conditional else "")
            + "this accounting and figures of generated images; no real image and no "
            "statistic of real images outside the releases above.",
        ]
        if steps_taken < plan.steps:
            notes.append(
                f"Training stopped after {steps_taken} of the {plan.steps} planned "
                "discriminator steps (max_time): the noise was calibrated for all of them, so "
                "the ε above, of the steps taken, is below the target."
            )
        return tuple(notes)

    def _privacy_config(self) -> PrivacyConfig | None:
        if self.privacy is None or isinstance(self.privacy, PrivacyConfig):
            return self.privacy
        if isinstance(self.privacy, Mapping):
            return PrivacyConfig.from_dict(dict(self.privacy))
        raise TypeError(
            f"privacy must be a synthgan.PrivacyConfig, a dict of its fields or None, got "
            f"{type(self.privacy).__name__} ({self.privacy!r})."
        )

    def _monitor(self, data: ImageData, labels, rng) -> DiversityMonitor | None:
        if not self.monitor_diversity:
            return None
        index = torch.as_tensor(rng.permutation(data.n_images))
        if labels is None:
            index = index[:_MONITOR_IMAGES]
        images = data.to_model_range(index)  # (n, C, H, W) in [-1, 1]
        chosen = None if labels is None else labels[index]
        return DiversityMonitor.from_real(images, chosen, per_class=_MONITOR_IMAGES)

    def _set_class_state(self, data: ImageData, counts: list[int] | None = None) -> None:
        """Hook: the conditional model stores its classes (and DP counts, when given)."""

    # -- parameter checks ------------------------------------------------------------------------
    def _validate_params(self) -> None:
        for name in ("epochs", "batch_size", "latent_dim", "generator_width"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("discriminator_width", "discriminator_steps"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("generator_lr", "discriminator_lr"):
            if not (isinstance(getattr(self, name), numbers.Real) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a number > 0, got {getattr(self, name)!r}.")
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be a pair of floats, got {self.betas!r}.")
        for name in ("generator_norm", "discriminator_norm"):
            value = getattr(self, name)
            if value not in available_norms2d() and not (
                name == "discriminator_norm" and value is None
            ):
                raise ValueError(f"{name} must be one of {available_norms2d()}, got {value!r}.")
        if not (isinstance(self.mode_seeking, numbers.Real) and self.mode_seeking >= 0):
            raise ValueError(f"mode_seeking must be a number >= 0, got {self.mode_seeking!r}.")
        if not (isinstance(self.label_smoothing, numbers.Real) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}.")
        if self.ema_decay is not None and not (
            isinstance(self.ema_decay, numbers.Real) and 0 < self.ema_decay < 1
        ):
            raise ValueError(f"ema_decay must be None or in (0, 1), got {self.ema_decay!r}.")
        check_max_time(self.max_time)
        loss = self._loss()  # loss name and pairing
        parse_policy(self.diff_augment)
        if self._privacy_config() is not None:
            self._validate_private(loss)

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
        random_state: int | np.random.Generator | None = None,
        *,
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
        _check_int("n", n, minimum=1)
        return self._generate(n, None, random_state, output)

    def _generate(self, n: int, codes: np.ndarray | None, random_state, output: str):
        if output not in ("numpy", "tensor"):
            raise ValueError(f"output must be 'numpy' or 'tensor', got {output!r}.")
        rng = check_random_state(random_state)
        device = torch.device(self.device)
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
    def _get_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        state = {
            "network_config": self.network_config_.to_json(),
            "autocast": self.autocast_,
            "loss_history": self.loss_history_.to_dict(orient="list"),
            "timings": self.timings_,
        }
        if getattr(self, "privacy_spent_", None) is not None:
            state["privacy"] = {
                "spent": self.privacy_spent_.to_dict(),
                "accountant": self._privacy_state,
            }
        tensors = {
            f"generator.{k}": v.detach().cpu().contiguous()
            for k, v in self.generator_.state_dict().items()
        }
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        config = ImageNetworkConfig.from_json(state["network_config"])
        generator = ImageGenerator(config)
        prefix = "generator."
        weights = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        generator.load_state_dict(weights)
        self.network_config_ = config
        self.autocast_ = bool(state["autocast"])
        self.loss_history_ = pd.DataFrame(state["loss_history"])
        self.timings_ = dict(state["timings"])
        privacy = state.get("privacy")  # absent from files of models fitted without privacy
        self.privacy_spent_ = None if privacy is None else PrivacySpent.from_dict(privacy["spent"])
        self._privacy_state = None if privacy is None else dict(privacy["accountant"])
        self.generator_ = generator.to(torch.device(self.device)).eval()


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
