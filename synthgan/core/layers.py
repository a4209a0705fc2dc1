"""Reusable network blocks with a pluggable normalisation.

Norms come from registries (``create_norm("batch", features)`` for feature vectors,
``create_norm2d("batch", channels)`` for feature maps) so the differentially private variants
can swap BatchNorm, which mixes records inside a batch, for GroupNorm / LayerNorm / none.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = [
    "ConvDown",
    "ConvUp",
    "Dropout",
    "ResidualFC",
    "available_norms",
    "available_norms2d",
    "create_norm",
    "create_norm2d",
    "register_norm",
    "register_norm2d",
]

_NORMS: dict[str, Callable[[int], nn.Module]] = {}
_NORMS_2D: dict[str, Callable[[int], nn.Module]] = {}


def register_norm(name: str, factory: Callable[[int], nn.Module]) -> None:
    """Register a norm layer factory taking the number of features (or channels)."""
    _NORMS[name] = factory


def available_norms() -> list[str]:
    """Names accepted by :func:`create_norm`."""
    return sorted(_NORMS)


def create_norm(name: str, features: int) -> nn.Module:
    """Build the norm layer ``name`` for ``features`` features; the error lists valid names."""
    try:
        return _NORMS[name](features)
    except KeyError:
        raise ValueError(f"Unknown norm {name!r}; choose one of {available_norms()}.") from None


def _group_norm(features: int) -> nn.Module:
    # Up to 32 groups, as many as divide the feature count (Wu & He 2018 use 32).
    groups = max(g for g in range(1, min(32, features) + 1) if features % g == 0)
    return nn.GroupNorm(groups, features)


def register_norm2d(name: str, factory: Callable[[int], nn.Module]) -> None:
    """Register a norm factory for ``(batch, channels, height, width)`` feature maps."""
    _NORMS_2D[name] = factory


def available_norms2d() -> list[str]:
    """Names accepted by :func:`create_norm2d`."""
    return sorted(_NORMS_2D)


def create_norm2d(name: str, channels: int) -> nn.Module:
    """Build the feature-map norm ``name`` for ``channels`` channels."""
    try:
        return _NORMS_2D[name](channels)
    except KeyError:
        raise ValueError(f"Unknown norm {name!r}; choose one of {available_norms2d()}.") from None


register_norm("batch", nn.BatchNorm1d)
register_norm("group", _group_norm)
register_norm("layer", nn.LayerNorm)
register_norm("none", lambda features: nn.Identity())
register_norm2d("batch", nn.BatchNorm2d)
register_norm2d("group", _group_norm)  # GroupNorm normalises (C/G, H, W) blocks of one image
register_norm2d("instance", lambda channels: nn.InstanceNorm2d(channels, affine=True))
register_norm2d("layer", lambda channels: nn.GroupNorm(1, channels))  # LayerNorm over C, H, W
register_norm2d("none", lambda channels: nn.Identity())


class Dropout(nn.Dropout):
    """Inverted dropout, the same function as :class:`torch.nn.Dropout`, faster on the CPU.

    Each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``. The mask
    is drawn as ``rand >= p`` from the global generator, which on a CPU is several times
    faster than the Bernoulli sampler of ``torch.nn.functional.dropout``; that sampler was the
    largest single cost of a CTGAN critic step with ``pac=1`` (DP mode). Parameter-free, so
    state dicts match ``nn.Dropout``'s, and it works under ``torch.func.vmap`` with
    ``randomness="different"``.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return torch.zeros_like(x)
        # Drawn in float32 whatever x's dtype: bfloat16 uniforms (steps of 2^-8) would bias
        # the keep probability for a p that is not a multiple of 2^-8.
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * (keep * (1.0 / (1.0 - self.p))).to(x.dtype)


class ResidualFC(nn.Module):
    """``concat([relu(norm(linear(x))), x])``: the residual block of the CTGAN generator.

    The output has ``in_features + out_features`` columns, so stacked blocks see every earlier
    representation (Xu et al. 2019, section 4.4).
    """

    def __init__(self, in_features: int, out_features: int, norm: str = "batch") -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.norm = create_norm(norm, out_features)
        self.activation = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.activation(self.norm(self.linear(x)))  # (batch, out_features)
        return torch.cat([out, x], dim=1)  # (batch, out_features + in_features)


class ConvUp(nn.Sequential):
    """Transposed convolution doubling the side (kernel 4, stride 2, padding 1), norm, ReLU.

    The up-sampling block of the DCGAN generator (Radford et al. 2016). The convolution has no
    bias when a norm follows (the norm's shift replaces it).
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str = "batch") -> None:
        bias = norm == "none"
        super().__init__(
            nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias),
            create_norm2d(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class ConvDown(nn.Sequential):
    """Strided convolution halving the side (kernel 4, stride 2, padding 1), norm, LeakyReLU 0.2.

    The down-sampling block of the DCGAN discriminator. ``spectral=True`` wraps the convolution
    in spectral normalisation (Miyato et al. 2018), bounding its Lipschitz constant by 1.
    """

    def __init__(
        self, in_channels: int, out_channels: int, norm: str = "batch", spectral: bool = False
    ) -> None:
        conv = nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1, bias=norm == "none")
        super().__init__(
            nn.utils.parametrizations.spectral_norm(conv) if spectral else conv,
            create_norm2d(norm, out_channels),
            nn.LeakyReLU(0.2, inplace=True),
        )
