"""Class rebalancing with synthetic data, usable like imbalanced-learn's samplers.

* :class:`Rebalancer`: an imbalanced-learn over-sampler for tables, over any synthgan tabular
  synthesizer that samples with conditions (CTGAN by default);
* :func:`rebalance`: the same on one data frame, for people who do not use imbalanced-learn;
* :class:`ImageRebalancer`: images, with the conditional GAN (arrays or a folder of class
  sub-folders).
"""

from synthgan.augmentation.images import ImageRebalancer, RebalanceSummary
from synthgan.augmentation.rebalance import Rebalancer, rebalance

__all__ = ["ImageRebalancer", "RebalanceSummary", "Rebalancer", "rebalance"]
