"""CTGAN networks: residual generator and PacGAN discriminator (Xu et al. 2019)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from synthgan.core.layers import Dropout, ResidualFC

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
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2), Dropout(config.dropout)]
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
      the layers that read it, accumulated in place into one buffer laid out
      ``[layer 1 | layer 2 | ... | head]`` (feature j feeds a contiguous suffix of it).
    * The condition ``c`` is one-hot, so ``c @ W_c.T`` is a row lookup in ``W_c.T``; the
      buffer starts as that lookup (biases included).
    * The head's outputs come out in ``output_order`` (the span table's grouped order), so that
      every group of equal-width spans is a contiguous block for decoding.
    * With ``dtype=torch.bfloat16`` (models trained with ``autocast=True``) products and buffer
      are bfloat16, as linear layers' outputs were in training; the products accumulate in
      float32 inside each matrix multiplication.
    """

    def __init__(
        self, stacked: list[Tensor], offsets: list[int], cond_table: Tensor, bias: Tensor
    ) -> None:
        self.stacked = stacked  # feature j -> (in_j, width of layers j.. and head)
        self.offsets = offsets  # start column of layer j in the buffer (head last)
        self.cond_table = cond_table  # (cond_dim, buffer width), bias added to every row
        self.bias = bias  # (buffer width,)

    def __call__(self, noise: Tensor, slots: Tensor | None) -> Tensor:
        dtype = self.bias.dtype
        if slots is None:
            buffer = self.bias.expand(noise.shape[0], -1).clone()
        else:
            buffer = self.cond_table[slots]  # (batch, buffer width)
        feature = noise.to(dtype)
        for j, weight in enumerate(self.stacked):
            if j > 0:  # output of layer j: (batch, its width)
                # in place: that part of the buffer is complete and read only from here on
                feature = buffer[:, self.offsets[j - 1] : self.offsets[j]].relu_()
            buffer[:, self.offsets[j] :].addmm_(feature, weight)
        return buffer[:, self.offsets[-1] :].float()  # (batch, data_dim) logits


def fold_generator(
    generator: Generator,
    config: TabularNetworkConfig,
    dtype: torch.dtype = torch.float32,
    output_order: Tensor | None = None,
) -> FoldedGenerator | None:
    """Build the :class:`FoldedGenerator` of a trained ``generator`` (``None`` if not foldable).

    ``dtype`` is the precision of the products; ``output_order`` permutes the output columns.
    """
    if config.generator_norm not in ("batch", "none"):
        return None
    layers = []  # (weight (out, in), bias (out,)) per layer, BN folded in
    for block in generator.body:
        weight, bias = block.linear.weight.detach(), block.linear.bias.detach()
        if isinstance(block.norm, nn.BatchNorm1d):
            bn = block.norm
            scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            weight, bias = weight * scale[:, None], (bias - bn.running_mean) * scale + bn.bias
        layers.append((weight, bias))
    head_w, head_b = generator.head.weight.detach(), generator.head.bias.detach()
    if output_order is not None:
        head_w, head_b = head_w[output_order], head_b[output_order]
    layers.append((head_w, head_b))
    # Input columns of layer c: [h_c, ..., h_1, z, cond]; h_k is the output of block k.
    hidden = list(config.generator_dim)
    stacked = []
    for j in range(len(hidden) + 1):  # feature j: 0 = noise, k = output of block k
        width = config.noise_dim if j == 0 else hidden[j - 1]
        columns = [w[:, sum(hidden[j:c]) :][:, :width] for c, (w, _) in enumerate(layers) if c >= j]
        stacked.append(torch.cat(columns, dim=0).T.contiguous().to(dtype))
    offsets = [0, *np.cumsum([w.shape[0] for w, _ in layers]).tolist()][:-1]
    bias = torch.cat([b for _, b in layers])
    cond = torch.cat([w[:, w.shape[1] - config.condition_dim :] for w, _ in layers], dim=0)
    cond_table = (cond.T + bias).to(dtype).contiguous()
    return FoldedGenerator(stacked, offsets, cond_table, bias.to(dtype).contiguous())
