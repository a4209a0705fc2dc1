"""synthgan.core.layers.Dropout: the same function as torch.nn.Dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synthgan.core.layers import Dropout


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keeps_each_element_with_probability_1_minus_p_and_rescales(p):
    torch.manual_seed(0)
    x = torch.full((400, 500), 2.0, requires_grad=True)
    y = Dropout(p)(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.01  # 200,000 draws: sd ≈ 0.001
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 2.0 / (1 - p)))
    y.sum().backward()  # the gradient flows through the kept elements only, rescaled
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))


def test_dropout_is_the_identity_in_eval_mode_and_matches_nn_dropout_state():
    layer = Dropout(0.5).eval()
    x = torch.randn(8, 4)
    assert torch.equal(layer(x), x)
    assert layer.state_dict().keys() == nn.Dropout(0.5).state_dict().keys()
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


def test_dropout_keep_rate_is_exact_in_bfloat16():
    torch.manual_seed(0)
    y = Dropout(0.2)(torch.ones(1000, 1000, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16
    # sd of the rate over 10^6 draws: 0.0004; bfloat16 uniforms would keep 204/256 = 0.797.
    assert abs((y != 0).float().mean().item() - 0.8) < 0.0015


def test_dropout_draws_a_different_mask_per_record_under_vmap():
    torch.manual_seed(0)
    layer = Dropout(0.5).train()
    out = torch.func.vmap(layer, randomness="different")(torch.ones(64, 32))
    assert not all(torch.equal(out[0], row) for row in out[1:])
    assert set(out.unique().tolist()) == {0.0, 2.0}
