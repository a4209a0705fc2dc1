"""CTGAN networks: residual generator and PacGAN discriminator (Xu et al. 2019)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from synthgan.core.layers import ResidualFC

__all__ = [
    "Discriminator",
    "FoldedGenerator",
    "Generator",
    "TabularNetworkConfig",
    "fold_generator",
]


@dataclass(frozen=True)
class TabularNetworkConfig:
    """Sizes of both networks; round-trips through JSON with ``asdict`` / ``**``."""

    noise_dim: int
    condition_dim: int
    data_dim: int
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    pac: int = 10
    generator_norm: str = "batch"
    dropout: float = 0.5

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TabularNetworkConfig:
        data = dict(data)
        data["generator_dim"] = tuple(data["generator_dim"])
        data["discriminator_dim"] = tuple(data["discriminator_dim"])
        return cls(**data)


class Generator(nn.Module):
    """Residual MLP: ``(noise ⊕ condition) -> logits`` of the encoded row."""

    def __init__(self, config: TabularNetworkConfig) -> None:
        super().__init__()
        width = config.noise_dim + config.condition_dim
        blocks = []
        for size in config.generator_dim:
            blocks.append(ResidualFC(width, size, norm=config.generator_norm))
            width += size
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, config.data_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))  # (batch, data_dim)


class Discriminator(nn.Module):
    """PacGAN critic (Lin et al. 2018): scores packs of ``pac`` rows concatenated.

    Layers are Linear + LeakyReLU(0.2) + Dropout; no batch-dependent layer, so scoring real,
    fake and interpolated packs in one call equals scoring them separately.
    """

    def __init__(self, config: TabularNetworkConfig) -> None:
        super().__init__()
        self.pac = config.pac
        width = config.pac * (config.data_dim + config.condition_dim)
        layers: list[nn.Module] = []
        for size in config.discriminator_dim:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2), nn.Dropout(config.dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, rows: Tensor) -> Tensor:
        packs = rows.reshape(-1, self.pac * rows.shape[1])  # (batch / pac, pac * width)
        return self.net(packs).squeeze(1)  # (batch / pac,)


class FoldedGenerator:
    """The eval-mode generator rearranged for fast sampling; same function, less work.

    * BatchNorm (eval mode) is an affine map, folded into the preceding linear layer:
      ``W' = W * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``.
    * The residual concatenations ``[h_k, ..., h_1, z, c]`` are never built: every layer's
      input is a concatenation of earlier features, so ``[f_0, f_1, ...] @ W.T`` is split into
      one product per feature. Each feature is multiplied once by the stacked weights of all
      the layers that read it.
    * The condition ``c`` is one-hot, so ``c @ W_c.T`` is a row lookup in ``W_c.T``.
    * With ``dtype=torch.bfloat16`` (models trained with ``autocast=True``) the products run in
      bfloat16, as they did in training; sums, biases and activations stay in float32.

    Only generators whose norm is ``batch`` or ``none`` can be folded (GroupNorm / LayerNorm
    depend on the row itself); :func:`fold_generator` returns ``None`` for others.
    """

    def __init__(
        self,
        stacked: list[Tensor],
        splits: list[list[int]],
        cond_tables: list[Tensor],
        biases: list[Tensor],
    ) -> None:
        self.stacked = stacked  # feature j -> (in_j, sum of its consumers' widths)
        self.splits = splits  # feature j -> widths of consumers j, j+1, ..., head
        self.cond_tables = cond_tables  # consumer -> (cond_dim, width), bias added to each row
        self.biases = biases  # consumer -> (width,)

    def __call__(self, noise: Tensor, slots: Tensor | None) -> Tensor:
        batch = noise.shape[0]
        if slots is None:
            acc = [b.expand(batch, -1).clone() for b in self.biases]
        else:  # one row lookup per consumer: (batch, width), bias included
            acc = [table[slots] for table in self.cond_tables]
        feature = noise
        for j, weight in enumerate(self.stacked):
            if j > 0:
                feature = torch.relu_(acc[j - 1])  # (batch, width of block j)
            parts = (feature.to(weight.dtype) @ weight).split(self.splits[j], dim=1)
            for consumer, part in enumerate(parts, start=j):
                acc[consumer] += part  # float32 accumulator
        return acc[-1]  # (batch, data_dim) logits


def fold_generator(
    generator: Generator, config: TabularNetworkConfig, dtype: torch.dtype = torch.float32
) -> FoldedGenerator | None:
    """Build the :class:`FoldedGenerator` of a trained ``generator`` (``None`` if not foldable).

    ``dtype`` is the precision of the matrix products (float32 or bfloat16).
    """
    if config.generator_norm not in ("batch", "none"):
        return None
    layers = []  # (weight (out, in), bias (out,)) per consumer, BN folded in
    for block in generator.body:
        weight, bias = block.linear.weight.detach(), block.linear.bias.detach()
        if isinstance(block.norm, nn.BatchNorm1d):
            bn = block.norm
            scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            weight, bias = weight * scale[:, None], (bias - bn.running_mean) * scale + bn.bias
        layers.append((weight, bias))
    layers.append((generator.head.weight.detach(), generator.head.bias.detach()))
    # Input columns of consumer c: [h_c, ..., h_1, z, cond]; feature widths in that order.
    hidden = list(config.generator_dim)
    noise_dim, cond_dim = config.noise_dim, config.condition_dim
    stacked, splits = [], []
    for j in range(len(hidden) + 1):  # feature j: 0 = noise, k = output of block k
        blocks = []
        for c in range(j, len(layers)):
            start = sum(hidden[j:c])  # columns of h_c..h_{j+1} come first
            width = noise_dim if j == 0 else hidden[j - 1]
            blocks.append(layers[c][0][:, start : start + width])
        stacked.append(torch.cat(blocks, dim=0).T.contiguous().to(dtype))
        splits.append([b.shape[0] for b in blocks])
    cond_tables = [(w[:, w.shape[1] - cond_dim :].T + b).contiguous() for w, b in layers]
    return FoldedGenerator(stacked, splits, cond_tables, [b.contiguous() for _, b in layers])
