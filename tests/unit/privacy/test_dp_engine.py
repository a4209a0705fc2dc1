"""PrivateCritic: oracle equivalence, every loss term in the update, clipping, noise, state."""

import json

import pytest
import torch
import torch.nn.functional as F
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.optimizers import DPOptimizer
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from synthgan.core.losses import gradient_penalty, interpolate
from synthgan.core.random import torch_seed_scope
from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy.engine import (
    PrivateCritic,
    check_dp_module,
    per_sample_grads,
    poisson_batch,
    wgan_gp_record_losses,
)

N, Q, FEATURES = 40, 0.2, 4  # expected batch q·n = 8
NO_CLIP = 1e12  # clip factor min(1, C/‖g‖) is exactly 1; inf would make Opacus' noise std NaN


def make_disc(seed: int = 0) -> nn.Module:
    with torch_seed_scope(seed):
        return nn.Sequential(
            nn.Linear(FEATURES, 8), nn.GroupNorm(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)
        )


def data(seed: int, rows: int = 8) -> torch.Tensor:
    return torch.randn(rows, FEATURES, generator=torch.Generator().manual_seed(seed))


def real_loss(d, x):  # non-saturating real term, one loss per record: (b,)
    return F.softplus(-d(x)).reshape(-1)


def fake_term(fake):
    return lambda d: F.softplus(d(fake)).mean()


def make_critic(disc, opt, **kwargs):
    settings = dict(
        n_records=N,
        sample_rate=Q,
        noise_multiplier=0.0,
        max_grad_norm=NO_CLIP,
        max_steps=100,
        accountant="rdp",
        generator=torch.Generator().manual_seed(0),
    )
    return PrivateCritic(disc, opt, **(settings | kwargs))


def params_of(module):
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("sampler", ["hooks", "functional"])
@pytest.mark.parametrize("optim", [torch.optim.SGD, torch.optim.Adam])
def test_oracle_no_clip_no_noise_equals_plain_training_step_for_step(sampler, optim):
    plain, private = make_disc(), make_disc()
    plain_opt, private_opt = (
        optim(plain.parameters(), lr=0.05),
        optim(private.parameters(), lr=0.05),
    )
    critic = make_critic(private, private_opt, grad_sampler=sampler)
    for step in range(3):
        real, fake = data(step), data(100 + step)  # 8 rows = q·n, so sum/(q·n) is the mean
        plain_opt.zero_grad()
        (real_loss(plain, real).mean() + fake_term(fake)(plain)).backward()
        plain_opt.step()
        critic.step(real, real_loss, fake_term(fake))
        for a, b in zip(params_of(plain), params_of(private), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_every_loss_term_reaches_the_update():
    real, fake = data(1), data(2)
    updates = {}
    for name, fake_loss in [("both", fake_term(fake)), ("real only", None)]:
        disc = make_disc()
        before = params_of(disc)
        critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=1.0))
        critic.step(real, real_loss, fake_loss)
        updates[name] = [b - a for a, b in zip(params_of(disc), before, strict=True)]  # = grad
    reference = make_disc()
    real_grads = torch.autograd.grad(real_loss(reference, real).mean(), reference.parameters())
    fake_grads = torch.autograd.grad(fake_term(fake)(reference), reference.parameters())
    for both, real_only, g_real, g_fake in zip(
        updates["both"], updates["real only"], real_grads, fake_grads, strict=True
    ):
        torch.testing.assert_close(real_only, g_real, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(both - real_only, g_fake, rtol=1e-4, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in fake_grads)


def test_opacus_pre_step_overwrites_existing_grad_which_is_why_fake_terms_come_after():
    # The trap: gradient put in p.grad before DPOptimizer.pre_step is silently dropped.
    layer = nn.Linear(2, 1)
    opt = DPOptimizer(
        torch.optim.SGD(layer.parameters(), lr=1.0),
        noise_multiplier=0.0,
        max_grad_norm=NO_CLIP,
        expected_batch_size=1,
    )
    for p in layer.parameters():
        p.grad = torch.full_like(p, 123.0)
        p.grad_sample = torch.zeros((1, *p.shape))
    opt.pre_step()
    assert all(torch.equal(p.grad, torch.zeros_like(p)) for p in layer.parameters())


@pytest.mark.parametrize("sampler", ["hooks", "functional"])
def test_update_is_mean_of_clipped_per_record_gradients(sampler):
    disc, reference = make_disc(), make_disc()
    before, real, clip = params_of(disc), data(3), 0.05
    critic = make_critic(
        disc, torch.optim.SGD(disc.parameters(), lr=1.0), max_grad_norm=clip, grad_sampler=sampler
    )
    critic.step(real, real_loss)
    expected = [torch.zeros_like(p) for p in reference.parameters()]
    for row in real:  # loop over records: per-record gradient, global L2 clip to C
        grads = torch.autograd.grad(real_loss(reference, row[None]).sum(), reference.parameters())
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        factor = min(1.0, clip / (norm.item() + 1e-6))
        expected = [e + factor * g for e, g in zip(expected, grads, strict=True)]
    for a, b, e in zip(before, params_of(disc), expected, strict=True):
        torch.testing.assert_close(a - b, e / (Q * N), rtol=1e-4, atol=1e-7)


def clipped_sum(reference, loss, rows, clip):
    """Σ_i clip_C(∇ loss(row_i)) by a loop over rows (Opacus' factor min(1, C/(‖g‖+1e-6)))."""
    total = [torch.zeros_like(p) for p in reference.parameters()]
    for row in rows:
        grads = torch.autograd.grad(loss(reference, row[None]).sum(), reference.parameters())
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        factor = min(1.0, clip / (norm.item() + 1e-6))
        total = [t + factor * g for t, g in zip(total, grads, strict=True)]
    return total


def fake_records_loss(d, x):  # the fake term, one loss per generated sample: (m,)
    return F.softplus(d(x)).reshape(-1)


@pytest.mark.parametrize("sampler", ["hooks", "functional"])
def test_fake_records_are_clipped_like_records_and_get_no_noise(sampler):
    # Same noise seed with and without the fake records: the difference of the two updates is
    # exactly the mean of the fakes' clipped gradients (clipped at C, never noised).
    real, fake, clip = data(3), data(4, rows=6), 0.05
    updates = []
    for fakes in (None, (fake, fake_records_loss)):
        disc = make_disc()
        before = params_of(disc)
        critic = make_critic(
            disc, torch.optim.SGD(disc.parameters(), lr=1.0), max_grad_norm=clip,
            noise_multiplier=1.0, grad_sampler=sampler,
        )  # fmt: skip
        critic.step(real, real_loss, None, fakes)
        updates.append([b - a for a, b in zip(params_of(disc), before, strict=True)])
    expected = clipped_sum(make_disc(), fake_records_loss, fake, clip)
    for with_fakes, without, e in zip(*updates[::-1], expected, strict=True):
        torch.testing.assert_close(with_fakes - without, e / len(fake), rtol=1e-4, atol=1e-6)
    assert any(e.abs().sum() > 0 for e in expected)


def test_empty_batch_takes_a_noise_only_step_and_is_accounted():
    disc = make_disc()
    before = params_of(disc)
    critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=1.0), noise_multiplier=1.0)
    losses = critic.step(torch.zeros(0, FEATURES), real_loss, fake_term(data(5)))
    assert losses.real != losses.real  # NaN: nothing real to report
    assert any(not torch.equal(a, b) for a, b in zip(before, params_of(disc), strict=True))
    assert critic.accountant.history == [(1.0, Q, 1)]


def test_per_record_storage_is_cleared_after_each_step():
    disc = make_disc()
    critic = make_critic(disc, torch.optim.Adam(disc.parameters()), noise_multiplier=1.0)
    critic.step(data(0), real_loss, fake_term(data(1)))
    for p in disc.parameters():
        assert p.grad_sample is None and p.summed_grad is None and p.grad is None


def test_noise_is_reproducible_from_the_callers_generator():
    results = []
    for seed in (7, 7, 8):
        disc = make_disc()
        critic = make_critic(
            disc,
            torch.optim.SGD(disc.parameters(), lr=1.0),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            generator=torch.Generator().manual_seed(seed),
        )
        critic.step(data(0), real_loss)
        results.append(torch.cat([p.flatten() for p in params_of(disc)]))
    assert torch.equal(results[0], results[1]) and not torch.equal(results[0], results[2])


def test_generator_pass_through_the_critic_records_no_per_record_gradients():
    disc = make_disc()
    make_critic(disc, torch.optim.SGD(disc.parameters(), lr=1.0))
    fakes = data(0).requires_grad_()  # stands for G(z)
    disc(fakes).sum().backward()  # the generator's step backpropagates through D
    assert all(p.grad_sample is None for p in disc.parameters())


def test_accounting_matches_opacus_accountants_and_composes_with_preprocessing():
    for name, cls in [("rdp", RDPAccountant), ("prv", PRVAccountant)]:
        disc = make_disc()
        critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=0.1), accountant=name)
        critic.optimizer.noise_multiplier = 1.3  # as if calibrated
        for step in range(5):
            critic.step(data(step), real_loss)
        independent = cls()
        for _ in range(5):
            independent.step(noise_multiplier=1.3, sample_rate=Q)
        assert critic.epsilon(1e-5) == pytest.approx(independent.get_epsilon(delta=1e-5))
        pre = {"preprocessing: bounds": (0.1, 0.0), "sampler frequencies": (0.2, 2e-6)}
        spent = critic.privacy_spent(1e-5, pre)
        dp_sgd = independent.get_epsilon(delta=1e-5 - 2e-6)
        assert tuple(spent) == pytest.approx((0.3 + dp_sgd, 1e-5))
        assert spent.dp_sgd.steps == 5 and spent.dp_sgd.expected_batch_size == Q * N


def test_state_round_trips_through_json_with_the_same_epsilon():
    disc = make_disc()
    critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=0.1), noise_multiplier=1.1)
    for step in range(3):
        critic.step(data(step), real_loss)
    state = json.loads(json.dumps(critic.state_dict()))
    other = make_disc()
    resumed = make_critic(other, torch.optim.SGD(other.parameters(), lr=0.1), noise_multiplier=1.1)
    resumed.load_state_dict(state)
    assert resumed.steps_taken == 3
    assert resumed.epsilon(1e-6) == critic.epsilon(1e-6)
    resumed.step(data(9), real_loss)  # the optimizer hook still feeds the restored accountant
    assert resumed.accountant.history == [(1.1, Q, 4)]


def test_stops_at_the_planned_number_of_steps():
    disc = make_disc()
    critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=0.1), max_steps=2)
    critic.step(data(0), real_loss)
    critic.step(data(1), real_loss)
    assert critic.exhausted
    with pytest.raises(PrivacyBudgetError, match="2 planned"):
        critic.step(data(2), real_loss)


def test_batch_norm_is_refused_with_an_explanation():
    for norm in (nn.BatchNorm1d(8), nn.BatchNorm1d(8, affine=False)):
        module = nn.Sequential(nn.Linear(4, 8), norm, nn.Linear(8, 1))
        with pytest.raises(ValueError, match="GroupNorm") as info:
            check_dp_module(module)
        assert "per-record gradient" in str(info.value)
    check_dp_module(make_disc())  # GroupNorm is fine


def test_spectral_norm_critic_needs_the_functional_grad_sampler():
    def critic():
        with torch_seed_scope(0):
            return nn.Sequential(spectral_norm(nn.Linear(FEATURES, 8)), nn.Linear(8, 1))

    disc = critic()
    with pytest.raises(ValueError, match="grad_sampler='functional'"):
        make_critic(disc, torch.optim.SGD(disc.parameters(), lr=0.1))
    disc, reference = critic(), critic()
    before = params_of(disc)
    private = make_critic(
        disc, torch.optim.SGD(disc.parameters(), lr=1.0), grad_sampler="functional"
    )
    private.step(data(0), real_loss)
    grads = torch.autograd.grad(real_loss(reference, data(0)).mean(), reference.parameters())
    for a, b, g in zip(before, params_of(disc), grads, strict=True):
        torch.testing.assert_close(a - b, g, rtol=1e-4, atol=1e-6)


def test_pac_larger_than_one_is_refused():
    disc = make_disc()
    critic = make_critic(disc, torch.optim.SGD(disc.parameters(), lr=0.1))

    def packed(d, x):  # like PacGAN with pac=2: one score per pair of records
        return d(x.reshape(4, 2, FEATURES)[:, 0]).reshape(-1)  # (4,) for 8 records

    with pytest.raises(ValueError, match="pac=1"):
        critic.step(data(0), packed)
    other = make_disc()
    functional = make_critic(
        other, torch.optim.SGD(other.parameters(), lr=0.1), grad_sampler="functional"
    )
    with pytest.raises(ValueError, match="pac=1"):
        functional.step(data(0), lambda d, x: torch.cat([d(x), d(x)]).reshape(-1))


def test_optimizer_must_hold_the_discriminators_parameters():
    disc = make_disc()
    with pytest.raises(ValueError, match="trainable parameters"):
        make_critic(disc, torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))


def test_per_sample_grads_with_gradient_penalty_match_a_loop():
    disc = make_disc()
    real, fake = data(0, rows=5), data(1, rows=5)
    alpha = torch.rand(5, 1, generator=torch.Generator().manual_seed(2))
    grads = per_sample_grads(disc, wgan_gp_record_losses, (real, fake, alpha))
    for i in range(5):  # the same loss with double backward in plain autograd
        mixed = interpolate(real[i : i + 1], fake[i : i + 1], alpha[i : i + 1]).requires_grad_()
        penalty = gradient_penalty(disc(mixed), mixed)
        loss = (-disc(real[i : i + 1]).reshape(1) + 10.0 * penalty).sum()
        expected = torch.autograd.grad(loss, disc.parameters())
        for (name, _), e in zip(disc.named_parameters(), expected, strict=True):
            torch.testing.assert_close(grads[name][i], e, rtol=1e-4, atol=1e-6)


def test_functional_critic_trains_a_wgan_gp_real_term():
    disc = make_disc()
    before = params_of(disc)
    critic = make_critic(
        disc,
        torch.optim.Adam(disc.parameters()),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        grad_sampler="functional",
    )
    real, fake, alpha = data(0), data(1), torch.full((8, 1), 0.5)
    losses = critic.step((real, fake, alpha), wgan_gp_record_losses, lambda d: d(fake).mean())
    assert losses.real == losses.real and losses.fake == losses.fake  # both finite
    assert any(not torch.equal(a, b) for a, b in zip(before, params_of(disc), strict=True))


def test_poisson_batch_is_seeded_and_has_the_expected_size():
    first = poisson_batch(1000, 0.1, torch.Generator().manual_seed(3))
    again = poisson_batch(1000, 0.1, torch.Generator().manual_seed(3))
    assert torch.equal(first, again) and first.dtype == torch.int64
    sizes = [len(poisson_batch(1000, 0.1, torch.Generator().manual_seed(s))) for s in range(50)]
    assert 90 < sum(sizes) / 50 < 110  # mean q·n = 100, standard error ≈ 1.3
    assert len(poisson_batch(3, 1e-6, torch.Generator().manual_seed(0))) == 0
    with pytest.raises(ValueError, match="sample_rate"):
        poisson_batch(10, 0.0, torch.Generator())
