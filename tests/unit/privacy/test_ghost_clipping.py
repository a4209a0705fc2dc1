"""Ghost clipping: per-record norms without per-record gradients, same update as Opacus' hooks."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from synthgan.core.random import torch_seed_scope
from synthgan.privacy.engine import PrivateCritic

N, Q, FEATURES = 40, 0.2, 4


def make_mlp(seed: int = 0) -> nn.Module:
    with torch_seed_scope(seed):
        return nn.Sequential(
            nn.Linear(FEATURES, 16), nn.LeakyReLU(0.2), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1)
        )


def data(seed: int, rows: int = 8) -> torch.Tensor:
    return torch.randn(rows, FEATURES, generator=torch.Generator().manual_seed(seed))


def real_loss(d, x):
    return F.softplus(-d(x)).reshape(-1)


def make_critic(disc, sampler, *, clip, sigma=0.0, lr=1.0):
    return PrivateCritic(
        disc,
        torch.optim.SGD(disc.parameters(), lr=lr),
        n_records=N,
        sample_rate=Q,
        noise_multiplier=sigma,
        max_grad_norm=clip,
        max_steps=10,
        accountant="rdp",
        generator=torch.Generator().manual_seed(7),
        grad_sampler=sampler,
    )


def flat(module):
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


@pytest.mark.parametrize("clip", [1e12, 0.05])
def test_ghost_update_equals_the_loop_over_records(clip):
    disc, reference = make_mlp(), make_mlp()
    before, real = flat(disc), data(3)
    make_critic(disc, "ghost", clip=clip).step(real, real_loss)
    expected = torch.zeros_like(before)
    for row in real:  # per-record gradient, global L2 clip to C (Opacus' factor)
        grads = torch.autograd.grad(real_loss(reference, row[None]).sum(), reference.parameters())
        g = torch.cat([x.reshape(-1) for x in grads])
        expected += min(1.0, clip / (g.norm().item() + 1e-6)) * g
    torch.testing.assert_close(before - flat(disc), expected / (Q * N), rtol=1e-4, atol=1e-7)


def test_ghost_and_hooks_give_the_same_noisy_update_and_accounting():
    ghost, hooks = make_mlp(), make_mlp()
    a = make_critic(ghost, "ghost", clip=0.1, sigma=1.3, lr=0.1)
    b = make_critic(hooks, "hooks", clip=0.1, sigma=1.3, lr=0.1)
    for step in range(3):
        real, fake = data(step), data(50 + step)
        for critic in (a, b):
            critic.step(real, real_loss, lambda d, fake=fake: F.softplus(d(fake)).mean())
    torch.testing.assert_close(flat(ghost), flat(hooks), rtol=1e-4, atol=1e-6)
    assert a.accountant.history == b.accountant.history
    assert a.epsilon(1e-5) == pytest.approx(b.epsilon(1e-5))


def test_ghost_takes_noise_only_steps_on_empty_batches():
    disc = make_mlp()
    before = flat(disc)
    critic = make_critic(disc, "ghost", clip=1.0, sigma=1.0)
    critic.step(data(0, rows=0), real_loss)
    assert critic.steps_taken == 1 and critic.accountant.history
    assert not torch.equal(before, flat(disc))  # the noise moved the weights


def test_ghost_refuses_layers_it_cannot_clip():
    disc = nn.Sequential(nn.Linear(FEATURES, 8), nn.GroupNorm(2, 8), nn.Linear(8, 1))
    with pytest.raises(ValueError, match=r"nn\.Linear layers only.*GroupNorm"):
        make_critic(disc, "ghost", clip=1.0)
    mlp = make_mlp()
    critic = make_critic(mlp, "ghost", clip=1.0)
    with pytest.raises(ValueError, match="exactly once"):  # a layer used twice
        critic.step(data(1), lambda d, x: real_loss(d, x) + real_loss(d, x))


@pytest.mark.parametrize("real_rows", [8, 0], ids=["batch", "empty-poisson-batch"])
def test_ghost_clips_fake_records_like_the_loop_and_adds_no_noise(real_rows):
    # Real records and fakes share one ghost pass; the fakes' share must still be their
    # clipped mean, also when the Poisson batch happens to be empty.
    real, fake, clip = data(3, rows=real_rows), data(5, rows=6), 0.05
    updates = []
    for fakes in (None, (fake, lambda d, x: F.softplus(d(x)).reshape(-1))):
        disc = make_mlp()
        before = flat(disc)
        make_critic(disc, "ghost", clip=clip, sigma=1.0).step(real, real_loss, None, fakes)
        updates.append(before - flat(disc))
    reference, expected = make_mlp(), torch.zeros_like(updates[0])
    for row in fake:
        grads = torch.autograd.grad(F.softplus(reference(row[None])).sum(), reference.parameters())
        g = torch.cat([x.reshape(-1) for x in grads])
        expected += min(1.0, clip / (g.norm().item() + 1e-6)) * g
    torch.testing.assert_close(updates[1] - updates[0], expected / len(fake), rtol=1e-4, atol=1e-6)
