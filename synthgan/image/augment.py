"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for GANs on small image sets.

The same random transformations are applied to real and generated images *inside* the
discriminator's input, in both the discriminator and the generator step. The discriminator then
never sees an un-augmented image, so it cannot memorise the few real ones, while the generator
still learns the un-augmented distribution (the transformations are differentiable, and applied
to its output, not learned by it). Images are in [-1, 1]; every transformation acts per image.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["available_augmentations", "diff_augment", "parse_policy"]


def _brightness(x: Tensor) -> Tensor:
    shift = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5
    return x + shift  # uniform in [-0.5, 0.5] per image


def _saturation(x: Tensor) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)  # (batch, 1, H, W): the grey version
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2.0
    return (x - mean) * factor + mean  # factor in [0, 2]; a no-op on one channel


def _contrast(x: Tensor) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (batch, 1, 1, 1)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return (x - mean) * factor + mean  # factor in [0.5, 1.5]


def _translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its side, filling with zeros."""
    batch, _, height, width = x.shape
    reach_y, reach_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = torch.randint(-reach_y, reach_y + 1, (batch, 1), device=x.device)
    shift_x = torch.randint(-reach_x, reach_x + 1, (batch, 1), device=x.device)
    padded = F.pad(x, (reach_x, reach_x, reach_y, reach_y))  # zeros around the image
    # Output pixel (i, j) reads padded pixel (i + reach - shift, j + reach - shift).
    rows = torch.arange(height, device=x.device)[None, :] + reach_y - shift_y  # (batch, H)
    cols = torch.arange(width, device=x.device)[None, :] + reach_x - shift_x  # (batch, W)
    index = torch.arange(batch, device=x.device)[:, None, None]
    picked = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]
    return picked.permute(0, 3, 1, 2)  # (batch, H, W, C) -> (batch, C, H, W)


def _cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of ``ratio`` of the side at a random centre in each image."""
    batch, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = torch.randint(0, height + (1 - size_y % 2), (batch, 1), device=x.device)
    centre_x = torch.randint(0, width + (1 - size_x % 2), (batch, 1), device=x.device)
    ys = torch.arange(height, device=x.device)[None, :] - centre_y + size_y // 2  # (batch, H)
    xs = torch.arange(width, device=x.device)[None, :] - centre_x + size_x // 2  # (batch, W)
    inside_y = (ys >= 0) & (ys < size_y)
    inside_x = (xs >= 0) & (xs < size_x)
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])  # (batch, H, W)
    return x * keep[:, None].to(x.dtype)


_AUGMENTATIONS: dict[str, tuple[Callable[[Tensor], Tensor], ...]] = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


def available_augmentations() -> list[str]:
    """Names accepted in a DiffAugment policy."""
    return sorted(_AUGMENTATIONS)


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> ``("color", "translation", "cutout")``; None/"" -> ()."""
    if not policy:
        return ()
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in _AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"Unknown DiffAugment transformation(s) {unknown} in {policy!r}; a policy is a "
            f"comma-separated list of {available_augmentations()}."
        )
    return names


def diff_augment(x: Tensor, policy: tuple[str, ...]) -> Tensor:
    """Apply the transformations of ``policy`` (from :func:`parse_policy`) to ``x``."""
    for name in policy:
        for transform in _AUGMENTATIONS[name]:
            x = transform(x)
    return x
