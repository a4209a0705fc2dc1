"""Class rebalancing with generated data: :class:`ImageRebalancer` for labelled images."""

from synthgan.augmentation.images import ImageRebalancer

__all__ = ["ImageRebalancer"]
