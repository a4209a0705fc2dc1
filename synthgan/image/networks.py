"""DCGAN networks (Radford et al. 2016), optionally class-conditional.

Sides are ``base * 2**k`` with ``base`` 4 or 7 (8, 14, 16, 28, 32, 56, 64, 112, 128): the
generator maps the latent vector to a ``base x base`` map with a transposed convolution and
doubles it ``k`` times; the discriminator halves the image ``k`` times with strided
convolutions and scores the ``base x base`` map with one linear layer (the DCGAN's last
convolution, whose kernel covers the whole map).

Conditioning (Mirza & Osindero 2014; Miyato & Koyama 2018):

* generator: a learned label embedding concatenated to the latent vector;
* discriminator, ``"projection"``: ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>`` where
  ``phi(x)`` are the flattened last features; ``"concat"``: one-hot label planes concatenated to
  the image channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

import torch
from torch import Tensor, nn

from synthgan.core.layers import ConvDown, ConvUp, create_norm2d

__all__ = [
    "ImageDiscriminator",
    "ImageGenerator",
    "ImageNetworkConfig",
    "image_levels",
]

_BASES = (4, 7)
_MAX_CHANNELS = 512


def image_levels(side: int) -> tuple[int, int]:
    """``(base, k)`` with ``side == base * 2**k``, ``base`` in (4, 7) and ``k >= 1``."""
    for base in _BASES:
        k, rest = 0, side
        while rest > base and rest % 2 == 0:
            rest, k = rest // 2, k + 1
        if rest == base and k >= 1:
            return base, k
    raise ValueError(
        f"Image side {side} is not supported; sides are 4 or 7 times a power of two, from 8 to "
        "128 (8, 14, 16, 28, 32, 56, 64, 112, 128). Resize the images first."
    )


@dataclass(frozen=True)
class ImageNetworkConfig:
    """Sizes and options of the two networks; round-trips through JSON.

    ``n_classes`` is 0 for an unconditional model. ``generator_width`` /
    ``discriminator_width`` are the channels of the networks' largest feature maps; each
    halving of the side doubles them (up to 512), as in the DCGAN.
    """

    channels: int
    side: int
    latent_dim: int = 100
    n_classes: int = 0
    generator_width: int = 64
    discriminator_width: int = 64
    generator_norm: str = "batch"
    discriminator_norm: str = "batch"
    spectral_norm: bool = False
    conditioning: str = "projection"
    embedding_dim: int = 10

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ImageNetworkConfig:
        return cls(**data)

    def widths(self, width: int) -> list[int]:
        """Channels at sides ``base * 2**i`` for ``i = 0 .. k-1`` (largest first)."""
        _, k = image_levels(self.side)
        return [min(_MAX_CHANNELS, width * 2 ** (k - 1 - i)) for i in range(k)]


class ImageGenerator(nn.Module):
    """Latent vector (plus label) -> image in [-1, 1] of shape ``(channels, side, side)``."""

    def __init__(self, config: ImageNetworkConfig) -> None:
        super().__init__()
        base, _ = image_levels(config.side)
        widths = config.widths(config.generator_width)
        conditional = config.n_classes > 0
        self.embedding = (
            nn.Embedding(config.n_classes, config.embedding_dim) if conditional else None
        )
        in_dim = config.latent_dim + (config.embedding_dim if conditional else 0)
        # (batch, in_dim, 1, 1) -> (batch, widths[0], base, base): a dense layer in conv form.
        self.stem = nn.Sequential(
            nn.ConvTranspose2d(in_dim, widths[0], base, bias=config.generator_norm == "none"),
            create_norm2d(config.generator_norm, widths[0]),
            nn.ReLU(inplace=True),
        )
        ups = [ConvUp(a, b, config.generator_norm) for a, b in pairwise(widths)]
        self.body = nn.Sequential(*ups)
        self.head = nn.ConvTranspose2d(widths[-1], config.channels, 4, stride=2, padding=1)
        self.apply(_dcgan_init)

    def forward(self, noise: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.embedding is not None:
            noise = torch.cat([noise, self.embedding(labels)], dim=1)  # (batch, latent + emb)
        x = self.stem(noise[:, :, None, None])  # (batch, widths[0], base, base)
        return torch.tanh(self.head(self.body(x)))  # (batch, channels, side, side)


class ImageDiscriminator(nn.Module):
    """Image (plus label) -> one score per image (a logit; no sigmoid)."""

    def __init__(self, config: ImageNetworkConfig) -> None:
        super().__init__()
        base, _ = image_levels(config.side)
        widths = config.widths(config.discriminator_width)[::-1]  # smallest first
        self.n_classes = config.n_classes
        self.concat = config.n_classes > 0 and config.conditioning == "concat"
        in_channels = config.channels + (config.n_classes if self.concat else 0)
        sn = config.spectral_norm
        # The DCGAN's first block has no norm: normalising raw pixels only removes information.
        blocks = [ConvDown(in_channels, widths[0], "none", sn)]
        blocks += [ConvDown(a, b, config.discriminator_norm, sn) for a, b in pairwise(widths)]
        self.body = nn.Sequential(*blocks)
        features = widths[-1] * base * base
        self.score = _maybe_spectral(nn.Linear(features, 1), sn)
        projection = config.n_classes > 0 and config.conditioning == "projection"
        self.projection = None
        if projection:
            embedding = nn.Embedding(config.n_classes, features)
            nn.init.normal_(embedding.weight, 0.0, 0.02)  # small, like the rest of D at start
            self.projection = _maybe_spectral(embedding, sn)
        self.apply(_dcgan_init)

    def forward(self, images: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.concat:
            # One-hot by comparison (F.one_hot checks the label range, which torch.func's vmap
            # cannot trace; DP-SGD takes per-image gradients with it under spectral norm).
            classes = torch.arange(self.n_classes, device=labels.device)
            planes = (labels[:, None] == classes).to(images.dtype)  # (batch, K)
            side = images.shape[-1]
            planes = planes[:, :, None, None].expand(-1, -1, side, side)  # (batch, K, H, W)
            images = torch.cat([images, planes], dim=1)
        features = self.body(images).flatten(1)  # (batch, widths[-1] * base * base)
        scores = self.score(features).squeeze(1)  # (batch,)
        if self.projection is not None:
            scores = scores + (self.projection(labels) * features).sum(dim=1)
        return scores


def _maybe_spectral(module: nn.Module, spectral: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module) if spectral else module


@torch.no_grad()
def _dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: convolutions N(0, 0.02), norm scales N(1, 0.02), shifts 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm | nn.InstanceNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ---------------------------------------------------------------------------------------------
# The sides these networks take, checked before a fit (the readers take any size).
# ---------------------------------------------------------------------------------------------
__all__ += ["check_size", "supported_sizes"]

_MIN_SIDE, _MAX_SIDE = 8, 128


def supported_sizes() -> list[int]:
    """Image sides the DCGAN networks support: ``4 * 2**k`` or ``7 * 2**k`` from 8 to 128.

    The generator grows a 4x4 or 7x7 map by doubling it, so only these sides come out.

    Returns
    -------
    list of int
        ``[8, 14, 16, 28, 32, 56, 64, 112, 128]``.
    """
    sides = {base * 2**k for base in _BASES for k in range(8)}
    return sorted(side for side in sides if _MIN_SIDE <= side <= _MAX_SIDE)


def check_size(side: int, name: str = "image side") -> None:
    """Raise :class:`~synthgan.exceptions.DataValidationError` unless ``side`` is supported.

    Parameters
    ----------
    side : int
        Side of square images, in pixels.
    name : str, default "image side"
        What to call ``side`` in the message.

    Raises
    ------
    DataValidationError
        ``side`` is not in :func:`supported_sizes`; the message lists them and names the
        nearest one to resize to.
    """
    # Imported here so that this appended block leaves the head of the module as it was.
    from synthgan.exceptions import DataValidationError

    sizes = supported_sizes()
    if side in sizes:
        return
    nearest = min(sizes, key=lambda size: (abs(size - side), size))
    raise DataValidationError(
        f"{name} {side} is not supported; the image models support sides "
        f"{', '.join(map(str, sizes))} (4 or 7 times a power of 2). Resize the images first, "
        f"e.g. to {nearest} with torchvision.transforms.Resize({nearest}) (or PIL's "
        "Image.resize)."
    )
