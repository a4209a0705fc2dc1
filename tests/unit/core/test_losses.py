import pytest
import torch

from synthgan.core.losses import available_losses, create_loss, gradient_penalty


def test_registry_lists_and_rejects():
    assert {"wasserstein", "hinge", "non_saturating", "least_squares"} <= set(available_losses())
    with pytest.raises(ValueError, match="wasserstein"):
        create_loss("nope")


def test_wasserstein_values():
    loss = create_loss("wasserstein")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0])
    assert loss.discriminator(real, fake).item() == pytest.approx(0.5 - 2.0)
    assert loss.generator(fake).item() == pytest.approx(-0.5)


def test_hinge_and_non_saturating_are_minimised_by_separation():
    for name in ("hinge", "non_saturating", "least_squares"):
        loss = create_loss(name)
        good = loss.discriminator(torch.full((4,), 5.0), torch.full((4,), -5.0))
        bad = loss.discriminator(torch.full((4,), -5.0), torch.full((4,), 5.0))
        assert good < bad, name


def test_gradient_penalty_of_linear_critic_is_exact():
    # For D(x) = w.x the gradient is w everywhere, so the penalty is (||w|| - 1)^2 per row.
    w = torch.tensor([3.0, 4.0])
    x = torch.randn(6, 2, requires_grad=True)
    penalty = gradient_penalty(x @ w, x)
    assert penalty.shape == (6,)
    assert torch.allclose(penalty, torch.full((6,), (5.0 - 1.0) ** 2))


def test_gradient_penalty_is_differentiable_in_weights():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    x = torch.randn(5, 2, requires_grad=True)
    gradient_penalty(x @ w, x).mean().backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(w.grad, 2 * 4.0 * torch.tensor([3.0, 4.0]) / 5.0)


@pytest.mark.parametrize("name", available_losses())
def test_builtin_losses_split_into_real_and_fake_terms(name):
    # Differential privacy clips the real term per record and adds the fake term after: the
    # split must reproduce the discriminator loss exactly.
    loss = create_loss(name)
    real, fake = torch.randn(7), torch.randn(5)
    assert loss.separable
    split = loss.real_term(real).mean() + loss.fake_term(fake).mean()
    torch.testing.assert_close(split, loss.discriminator(real, fake))
    assert loss.real_term(real).shape == real.shape
