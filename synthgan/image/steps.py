"""One discriminator step and one generator step of a (conditional) DCGAN, for the core trainer.

Each discriminator step takes the next batch of a per-epoch shuffle of the training images,
generates as many images (for the same labels, when conditional) and scores real and generated
images (in one pass when the discriminator has no BatchNorm). The generator step reuses the
generated images of that step, scored by the updated discriminator, so each step costs one
generator forward pass (the DCGAN's own schedule computes it twice). Optional:

* DiffAugment (Zhao et al. 2020) on every image the discriminator sees;
* one-sided label smoothing (Salimans et al. 2016) with the non-saturating loss: real images get
  target ``1 - smoothing``;
* bfloat16 autocast of both networks (the session's precision).

The session (:mod:`synthgan.core.session`) owns the networks, optimizers, weight averaging and
the final generator.

In a distributed fit every rank follows the same shuffle and keeps its block of each global
batch, with its block of the global noise (:meth:`TrainingContext.rows`); training passes go
through the DistributedDataParallel wrappers. A discriminator with BatchNorm scores real and
generated images in two passes before one backward: the session builds DDP with
``broadcast_buffers=False`` so that no buffer is overwritten between them. The generator step
scores through the plain discriminator, whose weights it does not update.

With differential privacy, :class:`synthgan.image.private.PrivateImageGANSteps` replaces the
discriminator step (Poisson batches, per-image clipping and noise) and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthgan.core.losses import AdversarialLoss
from synthgan.core.session import GANSteps, TrainingContext
from synthgan.image.augment import diff_augment
from synthgan.image.monitor import DiversityMonitor

__all__ = ["ImageGANSteps", "ImageStepOptions", "smoothed_loss"]


@dataclass(frozen=True)
class ImageStepOptions:
    batch_size: int
    latent_dim: int
    augment: tuple[str, ...] = ()
    mode_seeking: float = 0.0


def smoothed_loss(loss: AdversarialLoss, smoothing: float) -> AdversarialLoss:
    """The non-saturating loss with real targets ``1 - smoothing`` (one-sided smoothing).

    ``BCE(x, t) = t * softplus(-x) + (1 - t) * softplus(x)``; generated images keep target 0.
    The smoothing acts on each real score alone, so the loss keeps its per-score ``real_term``
    and ``fake_term`` (differential privacy needs them).
    """
    if smoothing == 0:
        return loss
    if loss.name != "non_saturating":
        raise ValueError(
            f"label_smoothing applies to the non-saturating loss only, not {loss.name!r}: the "
            "others have no probability targets to smooth. Set label_smoothing=0."
        )
    target = 1.0 - smoothing

    def real_term(real: Tensor) -> Tensor:  # one loss per real score (what DP-SGD clips)
        return target * F.softplus(-real) + (1.0 - target) * F.softplus(real)

    def discriminator(real: Tensor, fake: Tensor) -> Tensor:
        return real_term(real).mean() + F.softplus(fake).mean()

    return AdversarialLoss(
        f"non_saturating_smoothed_{smoothing:g}",
        discriminator,
        loss.generator,
        real_term=real_term,
        fake_term=F.softplus,
    )


class ImageGANSteps(GANSteps):
    """The two steps of an image GAN on the session's ``generator`` and ``discriminator``.

    ``images`` are uint8 ``(N, C, H, W)``; ``labels`` int64 class codes or None.
    """

    def __init__(
        self,
        context: TrainingContext,
        data: tuple[Tensor, Tensor | None],
        loss: AdversarialLoss,
        options: ImageStepOptions,
        monitor: DiversityMonitor | None = None,
    ) -> None:
        super().__init__(context)
        self.images, self.labels = data
        self.loss, self.options, self.monitor = loss, options, monitor
        self._batch_dependent = any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules()
        )
        self.n_classes = getattr(self.generator.embedding, "num_embeddings", 0)
        self._order = np.empty(0, dtype=np.int64)
        self._cursor = 0
        self._cached: tuple[Tensor, Tensor | None, Tensor] | None = None

    # -- position (for checkpoints) --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"order": self._order.tolist(), "cursor": self._cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._order = np.asarray(state["order"], dtype=np.int64)
        self._cursor = int(state["cursor"])

    # -- helpers ---------------------------------------------------------------------------------
    def _next_index(self) -> np.ndarray:
        """The next batch of a fresh shuffle every epoch (every image once per epoch)."""
        batch = self.options.batch_size
        if self._cursor + batch > len(self._order):
            self._order = self.rng.permutation(self.images.shape[0])
            self._cursor = 0
        index = self._order[self._cursor : self._cursor + batch]
        self._cursor += batch
        return index[self.context.rows(batch)]  # this rank's block (all of it in one process)

    def _real_batch(self) -> tuple[Tensor, Tensor | None]:
        return self._real_at(torch.as_tensor(self._next_index()))

    def _real_at(self, index: Tensor) -> tuple[Tensor, Tensor | None]:
        real = self.images[index].to(self.device, non_blocking=True).float() / 127.5 - 1.0
        labels = None if self.labels is None else self.labels[index].to(self.device)
        return real, labels  # (batch, C, H, W) in [-1, 1], (batch,)

    def _discriminate(self, images: Tensor, labels: Tensor | None, train: bool = True) -> Tensor:
        critic = self.train_discriminator if train else self.discriminator
        with self.context.precision():
            return critic(diff_augment(images, self.options.augment), labels).float()

    def _noise(self, n: int, whole: bool = False) -> Tensor:
        """``(n, latent_dim)``: this rank's block of the shared noise draw (``whole``: ``n``
        draws, the same on every rank)."""
        return self.context.normal(n, self.options.latent_dim, whole=whole)

    # -- the two steps ---------------------------------------------------------------------------
    def discriminator_step(self) -> dict[str, float]:
        real, labels = self._real_batch()
        noise = self._noise(real.shape[0])
        with self.context.precision():
            fake = self.train_generator(noise, labels)
        real_scores, fake_scores = self._score_pair(real, fake.detach().float(), labels)
        loss = self.loss.discriminator(real_scores, fake_scores)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        self._cached = (fake, labels, noise)
        return {
            "discriminator_loss": float(loss.detach()),
            "real_score": float(real_scores.detach().mean()),
            "fake_score": float(fake_scores.detach().mean()),
        }

    def _score_pair(self, real: Tensor, fake: Tensor, labels: Tensor | None):
        """Scores of real and generated images. A discriminator with BatchNorm sees them as two
        batches, as the generator step will show it generated images alone: in one mixed batch
        it could tell them apart by the batch statistics, and the generator would learn nothing
        (Radford et al. train on separate real and fake batches too). Otherwise one pass."""
        if self._batch_dependent:
            return self._discriminate(real, labels), self._discriminate(fake, labels)
        both = None if labels is None else torch.cat([labels, labels])
        scores = self._discriminate(torch.cat([real, fake]), both)
        return scores[: real.shape[0]], scores[real.shape[0] :]

    def generator_step(self) -> dict[str, float]:
        if self._cached is not None:
            fake, labels, noise = self._cached
            self._cached = None
        else:  # n_critic = 0 never happens; kept so the step also works on its own
            real, labels = self._real_batch()
            noise = self._noise(real.shape[0])
            with self.context.precision():
                fake = self.train_generator(noise, labels)
        self.discriminator.requires_grad_(False)  # no gradient for weights this step keeps
        try:
            loss = self.loss.generator(self._discriminate(fake.float(), labels, train=False))
        finally:
            self.discriminator.requires_grad_(True)
        figures = {"generator_loss": float(loss.detach())}
        if self.options.mode_seeking > 0:
            ratio = self._mode_seeking_ratio(fake, labels, noise)
            loss = loss + self.options.mode_seeking / (ratio + 1e-5)
            figures["mode_seeking_ratio"] = float(ratio.detach())
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return figures

    def _mode_seeking_ratio(self, fake: Tensor, labels: Tensor | None, noise: Tensor) -> Tensor:
        """Mode seeking (Mao et al. 2019): how far images move per unit of latent distance.

        The first half of the step's generated images is paired with images generated for the
        same labels from fresh noise; the ratio of their mean absolute pixel difference to the
        mean absolute difference of their noise vectors is large when the generator uses its
        noise and near zero when it maps every draw of a class to one image (mode collapse).
        The generator loss adds ``mode_seeking / ratio``. It reads generated images only.
        """
        half = max(1, fake.shape[0] // 2)
        pair_labels = None if labels is None else labels[:half]
        other_noise = self._noise(half)
        with self.context.precision():
            other = self.train_generator(other_noise, pair_labels)
        pixels = (fake[:half].float() - other.float()).abs().flatten(1).mean(dim=1)  # (half,)
        latent = (noise[:half] - other_noise).abs().mean(dim=1)  # (half,)
        return (pixels / latent).mean()

    # -- end of epoch and of training ------------------------------------------------------------
    @torch.no_grad()
    def epoch_figures(self) -> dict[str, float]:
        """Diversity of the current generator's images (see :class:`DiversityMonitor`)."""
        if self.monitor is None:
            return {}
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.monitor.figures(self._generate_for_monitor)
        finally:
            self.generator.train(was_training)

    def _generate_for_monitor(self, n: int, code: int) -> Tensor:
        labels = None if code < 0 else torch.full((n,), code, device=self.device)
        with self.context.precision():
            return self.generator(self._noise(n, whole=True), labels).float()

    def calibration_inputs(self, name: str, batches: int) -> list[tuple[Tensor, Tensor | None]]:
        """Training-like generator inputs, ``(noise, labels)`` with uniformly drawn labels (no
        real image), to re-estimate the averaged generator's BatchNorm statistics."""
        batch = self.options.batch_size
        inputs = []
        for _ in range(batches):
            labels = None
            if self.n_classes:
                labels = torch.randint(0, self.n_classes, (batch,), device=self.device)
            inputs.append((self._noise(batch, whole=True), labels))
        return inputs
