"""Adversarial losses and the gradient penalty, as pure functions.

Each loss pair maps discriminator scores to ``(discriminator_loss, generator_loss)`` terms. They
are kept in a registry so synthesizers pick them by name (``create_loss("wasserstein")``) and users
can add their own with :func:`register_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "AdversarialLoss",
    "available_losses",
    "create_loss",
    "gradient_penalty",
    "interpolate",
    "register_loss",
]


@dataclass(frozen=True)
class AdversarialLoss:
    """A GAN objective: ``discriminator(real, fake)`` and ``generator(fake)`` on scores.

    ``real_term`` and ``fake_term``, when given, split the discriminator loss element by element:
    ``discriminator(real, fake) == real_term(real).mean() + fake_term(fake).mean()``. Differential
    privacy needs the split (one loss per real record, clipped and noised; the fake part clipped
    per sample, not noised);
    every built-in loss has it.
    """

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor], Tensor]
    real_term: Callable[[Tensor], Tensor] | None = None
    fake_term: Callable[[Tensor], Tensor] | None = None

    @property
    def separable(self) -> bool:
        """Whether the discriminator loss is given as per-score real and fake terms."""
        return self.real_term is not None and self.fake_term is not None


_LOSSES: dict[str, AdversarialLoss] = {}


def register_loss(loss: AdversarialLoss) -> AdversarialLoss:
    """Add ``loss`` to the registry under ``loss.name`` (replacing any previous entry)."""
    _LOSSES[loss.name] = loss
    return loss


def available_losses() -> list[str]:
    """Names accepted by :func:`create_loss`."""
    return sorted(_LOSSES)


def create_loss(name: str) -> AdversarialLoss:
    """Look up a registered loss by name; the error lists the valid names."""
    try:
        return _LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; choose one of {available_losses()} or register your own "
            "with synthgan.core.losses.register_loss."
        ) from None


# Wasserstein critic (Arjovsky et al. 2017): D maximises E[D(real)] - E[D(fake)].
register_loss(
    AdversarialLoss(
        "wasserstein",
        discriminator=lambda real, fake: fake.mean() - real.mean(),
        generator=lambda fake: -fake.mean(),
        real_term=lambda real: -real,
        fake_term=lambda fake: fake,
    )
)
# Non-saturating loss (Goodfellow et al. 2014): softplus(-x) = -log sigmoid(x).
register_loss(
    AdversarialLoss(
        "non_saturating",
        discriminator=lambda real, fake: F.softplus(-real).mean() + F.softplus(fake).mean(),
        generator=lambda fake: F.softplus(-fake).mean(),
        real_term=lambda real: F.softplus(-real),
        fake_term=F.softplus,
    )
)
# Hinge loss (Lim & Ye 2017; Miyato et al. 2018).
register_loss(
    AdversarialLoss(
        "hinge",
        discriminator=lambda real, fake: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
        generator=lambda fake: -fake.mean(),
        real_term=lambda real: F.relu(1.0 - real),
        fake_term=lambda fake: F.relu(1.0 + fake),
    )
)
# Least squares (Mao et al. 2017) with targets real=1, fake=0.
register_loss(
    AdversarialLoss(
        "least_squares",
        discriminator=lambda real, fake: 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean(),
        generator=lambda fake: 0.5 * ((fake - 1.0) ** 2).mean(),
        real_term=lambda real: 0.5 * (real - 1.0) ** 2,
        fake_term=lambda fake: 0.5 * fake**2,
    )
)


def interpolate(real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """Points between ``real`` and ``fake``: ``alpha * real + (1 - alpha) * fake``."""
    return torch.lerp(fake, real, alpha)


def gradient_penalty(
    scores: Tensor, inputs: Tensor, *, target_norm: float = 1.0, create_graph: bool = True
) -> Tensor:
    """Two-sided gradient penalty of WGAN-GP (Gulrajani et al. 2017), per input row.

    ``mean_i (||d scores_i / d inputs_i||_2 - target_norm) ** 2`` where ``scores`` are the
    discriminator outputs at ``inputs`` (which must require grad). Rows are whatever the
    discriminator scores as one unit: with PacGAN that is a whole pack, so the norm is taken over
    the pack's concatenated input, exactly as the critic sees it. The caller multiplies by lambda.

    Returns a per-row tensor of shape ``(rows,)`` so callers can also use it per sample.
    """
    (grad,) = torch.autograd.grad(
        scores.sum(), inputs, create_graph=create_graph, retain_graph=True
    )
    grad = grad.reshape(grad.shape[0], -1)  # (rows, features)
    return (grad.norm(2, dim=1) - target_norm) ** 2
