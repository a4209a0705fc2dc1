"""Weight averaging (EMA) and BatchNorm recalibration."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synthgan.core.averaging import WeightAverage, recalibrate_batchnorm


def test_average_follows_the_ema_formula_after_warm_up():
    layer = nn.Linear(2, 1)
    average = WeightAverage(layer, decay=0.5)
    start = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(1.0)
    average.update()  # warm-up decay: min(0.5, 2 / 11)
    d = 2 / 11
    expected = d * start + (1 - d) * layer.weight.detach()
    assert torch.allclose(average.averaged.weight, expected)
    for _ in range(50):
        average.update()
    # A constant module: the average converges to it.
    assert torch.allclose(average.averaged.weight, layer.weight.detach(), atol=1e-6)
    assert not average.averaged.weight.requires_grad
    assert average.updates == 51


def test_average_never_changes_the_live_module():
    layer = nn.Linear(3, 3)
    before = [p.detach().clone() for p in layer.parameters()]
    average = WeightAverage(layer, decay=0.9)
    with torch.no_grad():
        average.averaged.weight.zero_()
    average.update()
    assert all(torch.equal(a, b) for a, b in zip(before, layer.parameters(), strict=True))


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1, 2.0])
def test_decay_must_be_inside_the_unit_interval(decay):
    with pytest.raises(ValueError, match="decay must be in"):
        WeightAverage(nn.Linear(1, 1), decay)


def test_recalibrate_batchnorm_recomputes_statistics_and_restores_momentum():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    torch.manual_seed(0)
    batches = [torch.randn(64, 4) * 3 + 5 for _ in range(10)]
    recalibrate_batchnorm(net, batches)
    norm = net[1]
    with torch.no_grad():
        outputs = torch.cat([net[0](b) for b in batches])
    assert torch.allclose(norm.running_mean, outputs.mean(0), atol=1e-4)
    assert norm.momentum == 0.1 and not net.training
    plain = nn.Linear(2, 2).train()
    assert recalibrate_batchnorm(plain, []) is plain and not plain.training
