"""Reusable network blocks with a pluggable normalisation.

Norms come from a registry (``create_norm("batch", features)``) so the differentially private
variants can swap BatchNorm, which mixes records inside a batch, for GroupNorm / LayerNorm.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = ["ResidualFC", "available_norms", "create_norm", "register_norm"]

_NORMS: dict[str, Callable[[int], nn.Module]] = {}


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


register_norm("batch", nn.BatchNorm1d)
register_norm("group", _group_norm)
register_norm("layer", nn.LayerNorm)
register_norm("none", lambda features: nn.Identity())


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
