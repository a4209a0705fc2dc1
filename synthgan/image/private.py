"""Differential privacy for the image GANs: DP-SGD discriminator steps and the class counts.

Only the discriminator reads real images, so only its update is privatised, by a
:class:`~synthgan.privacy.engine.PrivateCritic` (Opacus): every step samples real images by
Poisson sampling (each image joins with probability ``q = batch_size / n``), takes one loss per
image, ``loss.real_term(D(x_i, y_i))`` (the label is part of the record), clips each image's
gradient to norm C, sums, adds Gaussian noise and divides by the expected batch size ``q·n``.
The fake term, ``loss.fake_term(D(G(z), y))`` over a fixed ``batch_size`` of generated images,
reads no real image: each generated image's gradient is clipped to C like a real one's (so the
two terms keep their balance) and their mean is added after the noise, uncharged, and not lost
either (with no clipping it is the same term as in non-private training). The generator
learns from the private discriminator only, which is post-processing; so is its weight average.

What else would read the private images, and what DP mode does instead:

* **class list** (conditional model): the set of labels present is itself data-dependent, so it
  must be given as public metadata (``fit(..., classes=[...])``);
* **class frequencies** (fake labels in training, and ``sample`` without labels): Gaussian-
  noised counts (one release of sensitivity 1, :mod:`synthgan.privacy.preprocessing`, composed
  with DP-SGD in the same accountant), rounded and clamped at zero before they are stored; the
  exact counts are never kept;
* **value range**: from the caller (``value_range=``) or from an integer dtype, never detected
  from float pixel values;
* **diversity monitor**: off, since its reference is a sample of real images;
* **loss history**: only figures of generated images (the fake term, mean fake score, the
  generator loss); the real term's value is a statistic of the batch and is not logged.

DiffAugment and one-sided label smoothing act on each image alone, so they stay: the real images
are augmented before their per-image gradients are taken, with draws independent of the data.
The discriminator must not normalise across images (no BatchNorm, checked by
:func:`~synthgan.privacy.engine.check_dp_module`).

In a distributed fit every rank draws the global Poisson sample from the shared stream and
steps its own images of it (image i is rank ``i mod W``'s), possibly none; the fake labels and
noise are drawn for the global fake batch and each rank generates its block, through the
generator's DistributedDataParallel wrapper (the generator step backpropagates through it).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from synthgan.core.losses import AdversarialLoss
from synthgan.core.session import TrainingContext
from synthgan.image.augment import diff_augment
from synthgan.image.steps import ImageGANSteps, ImageStepOptions
from synthgan.privacy.engine import PrivateCritic, poisson_batch
from synthgan.privacy.mechanisms import Release, frequencies_from_counts, gaussian_counts

__all__ = [
    "CLASS_COUNTS",
    "PrivateImageGANSteps",
    "release_class_counts",
    "without_inplace",
]

CLASS_COUNTS = "preprocessing: class counts"  # the release's name in privacy_spent_.breakdown


def release_class_counts(
    labels: Tensor, n_classes: int, plan, rng: np.random.Generator
) -> tuple[list[int], Release]:
    """DP class counts: N(0, σ²) on every count (``plan``, a
    :class:`~synthgan.privacy.preprocessing.GaussianPlan` of one histogram), then rounded and
    clamped at zero.

    Returns the counts to store (the exact ones are never kept) and the release, which goes
    into the ledger. One image changes one count by one: L2 sensitivity 1.
    """
    exact = torch.bincount(labels, minlength=n_classes).numpy()  # (n_classes,)
    noisy = gaussian_counts(exact, plan.sigma, rng)
    stored = np.clip(np.rint(noisy), 0, None).astype(np.int64)  # post-processing
    return [int(c) for c in stored], plan.release(noisy)


def without_inplace(module: nn.Module) -> nn.Module:
    """Switch in-place activations off: Opacus' backward hooks refuse a hooked layer's output
    being modified in place (the values are the same)."""
    for layer in module.modules():
        if isinstance(getattr(layer, "inplace", None), bool):
            layer.inplace = False
    return module


class PrivateImageGANSteps(ImageGANSteps):
    """:class:`~synthgan.image.steps.ImageGANSteps` with a DP-SGD discriminator step.

    The generator step, the weight average and the final generator are inherited unchanged;
    the generator step reuses the images generated in the discriminator step, whose labels come
    from ``class_weights`` (the DP class frequencies), never from the real batch.

    Parameters
    ----------
    context : TrainingContext
        The session's networks; ``context.critics["discriminator"]`` is the discriminator
        wrapped for DP-SGD. Poisson sampling draws from the context's ``poisson_sampling``
        generator (CPU), fake labels from its numpy stream.
    data : (Tensor, Tensor or None)
        uint8 images ``(N, C, H, W)`` (on the CPU) and int64 labels ``(N,)`` or None.
    loss : AdversarialLoss
        Must be separable (``real_term`` and ``fake_term``).
    options : ImageStepOptions
        ``batch_size`` is the number of generated images per step (the expected real batch).
    class_weights : array or None
        Probabilities of the fake labels (from DP counts); None when unconditional.
    """

    def __init__(
        self,
        context: TrainingContext,
        data: tuple[Tensor, Tensor | None],
        loss: AdversarialLoss,
        options: ImageStepOptions,
        *,
        class_weights: np.ndarray | None = None,
    ) -> None:
        if not loss.separable:
            raise ValueError(
                f"Loss {loss.name!r} does not give per-image real and fake terms "
                "(AdversarialLoss.real_term / fake_term), which differential privacy needs: "
                "the real term is clipped image by image. Every built-in loss has them."
            )
        super().__init__(context, data, loss, options, monitor=None)
        self.critic: PrivateCritic = context.critics["discriminator"]
        self.sampling = context.generator("poisson_sampling", device="cpu")
        self.n_images = int(self.images.shape[0])
        if (class_weights is None) != (self.labels is None):
            raise ValueError("class_weights are needed exactly when the images are labelled.")
        self.class_weights = (
            None if class_weights is None else frequencies_from_counts(class_weights)
        )

    def _fake_labels(self, n: int) -> Tensor | None:
        if self.class_weights is None:
            return None
        codes = self.rng.choice(len(self.class_weights), size=n, p=self.class_weights)
        return torch.as_tensor(codes, dtype=torch.int64, device=self.device)

    def discriminator_step(self) -> dict[str, float]:
        """One DP-SGD step: Poisson batch of real images clipped and noised; fakes clipped after."""
        index = poisson_batch(self.n_images, self.critic.sample_rate, self.sampling)  # (b,)
        real, real_labels = self._real_at(index[self.context.own_records(index)])  # (b_r, ...)
        # DiffAugment transforms each image alone, with draws independent of the data: the
        # augmented image is still one record, and its gradient is clipped as such.
        real = diff_augment(real, self.options.augment)
        batch, mine = self.options.batch_size, self.context.rows(self.options.batch_size)
        fake_labels = self._fake_labels(batch)  # the global draw; this rank's block below
        fake_labels = None if fake_labels is None else fake_labels[mine]
        noise = self._noise(len(range(batch)[mine]))  # this rank's block of the global noise
        with self.context.precision():
            fake = self.train_generator(noise, fake_labels)
        shown = diff_augment(fake.detach().float(), self.options.augment)
        scores: list[Tensor] = []
        hooks = self.critic.grad_sampler == "hooks"  # torch.func's vmap: no scores to keep

        def real_loss(critic: nn.Module, images: Tensor, *labels: Tensor) -> Tensor:
            return self.loss.real_term(critic(images, labels[0] if labels else None))  # (b,)

        def fake_loss(critic: nn.Module, images: Tensor, *labels: Tensor) -> Tensor:
            fake_scores = critic(images, labels[0] if labels else None)  # (batch,)
            if hooks:
                scores.append(fake_scores.detach())
            return self.loss.fake_term(fake_scores)  # (batch,)

        inputs = (real,) if real_labels is None else (real, real_labels)
        fakes = (shown,) if fake_labels is None else (shown, fake_labels)
        # float32: per-image gradients, clipping and noise are not taken in bfloat16. Each
        # generated image's gradient is clipped like a real one's (no noise: it reads no real
        # image), so the real and fake terms keep their balance.
        losses = self.critic.step(inputs, real_loss, None, (fakes, fake_loss))
        self._cached = (fake, fake_labels, noise)
        if not scores:
            with torch.no_grad():
                scores.append(self.critic.module(shown, fake_labels))
        # Generated images only: the real term's value describes the real batch, unreleased.
        return {
            "discriminator_fake_loss": float(losses.fake),
            "fake_score": float(scores[0].mean()),
        }
