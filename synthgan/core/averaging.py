"""Weight averaging for generators: an exponential moving average of the parameters.

Averaging the generator's weights over the last steps of training (Yazıcı et al., 2019, "The
Unusual Effectiveness of Averaging in GAN Training") damps the oscillation of adversarial
training: the averaged generator is usually better, and much less dependent on the exact step
training stopped at, than the last iterate. The training itself is unchanged: the averaged copy
is only read at the end.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import Tensor, nn

__all__ = ["WeightAverage", "recalibrate_batchnorm"]


class WeightAverage:
    """Exponential moving average of a module's parameters.

    Parameters
    ----------
    module : nn.Module
        The module being trained (read, never modified).
    decay : float
        Weight of the old average at each update, in (0, 1); the average spans about
        ``1 / (1 - decay)`` steps. A warm-up uses ``min(decay, (1 + t) / (10 + t))`` at update
        ``t`` so the random initial weights are forgotten quickly.

    Attributes
    ----------
    averaged : nn.Module
        A copy of ``module`` holding the averaged parameters (no gradients).
    updates : int
        Number of updates so far.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}.")
        self.module = module
        self.decay = decay
        self.averaged = copy.deepcopy(module).requires_grad_(False)
        self._live = [p.detach() for p in module.parameters()]
        self._avg = [p.detach() for p in self.averaged.parameters()]
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the module's current parameters into the average: ``avg += (1 - d)(p - avg)``."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._avg, self._live, 1.0 - decay)


@torch.no_grad()
def recalibrate_batchnorm(module: nn.Module, batches: Iterable[Tensor]) -> nn.Module:
    """Recompute the running statistics of every BatchNorm layer of ``module`` from ``batches``.

    Averaged weights do not match the running statistics collected with the live weights, so
    they are re-estimated with plain (cumulative) averages over forward passes in train mode.
    The module is left in eval mode. Modules without BatchNorm are returned unchanged.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return module.eval()
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average over the batches below
    module.train()
    for batch in batches:
        module(batch)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return module.eval()
