"""CTGAN networks: residual generator and PacGAN discriminator (Xu et al. 2019)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import Tensor, nn

from synthgan.core.layers import ResidualFC

__all__ = ["Discriminator", "Generator", "TabularNetworkConfig"]


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
