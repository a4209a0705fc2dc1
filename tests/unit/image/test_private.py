"""Differential privacy for the image GANs: budget, public metadata, saved state, and an oracle
step showing every loss term reaches the discriminator's update."""

from __future__ import annotations

import copy
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

import synthgan
from synthgan import ConditionalGANSynthesizer, DCGANSynthesizer, PrivacyConfig
from synthgan.core.losses import create_loss
from synthgan.core.session import TrainingContext
from synthgan.exceptions import DataValidationError, PrivacyBudgetError
from synthgan.image.data import read_images
from synthgan.image.networks import ImageDiscriminator, ImageGenerator, ImageNetworkConfig
from synthgan.image.private import (
    CLASS_COUNTS,
    PrivateImageGANSteps,
    release_class_counts,
    without_inplace,
)
from synthgan.image.steps import ImageGANSteps, ImageStepOptions, smoothed_loss
from synthgan.privacy.accounting import DP_SGD_KEY, restore_accountant
from synthgan.privacy.engine import PrivateCritic

N = 240
# One critic step per generator step and no mode seeking, so the step counts below stay small
# and simple; the DP recipe that privacy selects by default is tested in test_auto_params.py.
TINY = dict(
    epochs=2, batch_size=32, latent_dim=8, generator_width=4, discriminator_width=4,
    discriminator_steps=1, mode_seeking=0.0, verbose=False, random_state=0,
)  # fmt: skip
STEPS_PER_EPOCH = N // 32  # 7


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return np.rint(bunch.images[:N] * (255 / 16)).astype(np.uint8), bunch.target[:N]


@pytest.fixture(scope="module")
def private_cgan(digits) -> ConditionalGANSynthesizer:
    images, labels = digits
    config = PrivacyConfig(target_epsilon=4.0, accountant="rdp")
    model = ConditionalGANSynthesizer(privacy=config, embedding_dim=4, **TINY)
    return model.fit(images, labels, classes=list(range(10)))


def _close_to_target(spent, target: float) -> None:
    assert spent.epsilon <= target
    assert spent.epsilon >= 0.95 * target  # the noise is calibrated to the budget, not far off
    # One accountant: no line exceeds the composed total, and the δ's add up.
    assert all(eps <= spent.epsilon * (1 + 1e-9) for eps, _ in spent.breakdown.values())
    assert spent.delta == pytest.approx(sum(dlt for _, dlt in spent.breakdown.values()))
    assert 0 < spent.delta < 1 / N / 10  # default δ = n^-1.5, well below 1/n


# -- budget and report -------------------------------------------------------------------------
def test_dcgan_spends_the_budget_on_dp_sgd_alone(digits):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global
    torch_state = torch.get_rng_state().clone()
    model = DCGANSynthesizer(**{**TINY, "privacy": PrivacyConfig(target_epsilon=3.0),
                                "discriminator_steps": 2}).fit(digits[0])  # fmt: skip
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)
    spent = model.privacy_spent_
    _close_to_target(spent, 3.0)
    assert list(spent.breakdown) == [DP_SGD_KEY]  # no preprocessing release without labels
    assert spent.dp_sgd.steps == 2 * STEPS_PER_EPOCH * 2  # epochs x steps x discriminator steps
    assert spent.dp_sgd.sample_rate == pytest.approx(32 / N)
    assert spent.dp_sgd.accountant == "prv"
    assert model.network_config_.discriminator_norm == "group"  # None means group with privacy
    assert model.network_config_.generator_norm == "batch"  # the generator sees no real image
    # Only figures of generated images are logged (and saved): no real loss, no real score.
    assert set(model.loss_history_.columns) == {
        "epoch", "discriminator_fake_loss", "fake_score", "generator_loss", "seconds"
    }  # fmt: skip
    report = model.privacy_report()
    assert "DP-SGD" in report and "1/(n·√n)" in report and "public" in report
    assert model.sample(4, random_state=0).shape == (4, 8, 8, 1)


def test_conditional_budget_breakdown_and_noisy_counts(private_cgan, digits):
    spent = private_cgan.privacy_spent_
    _close_to_target(spent, 4.0)
    assert list(spent.breakdown) == [CLASS_COUNTS, DP_SGD_KEY]
    # One Gaussian release of sensitivity 1, no threshold (the classes are public), composed
    # with DP-SGD in the same accountant: the composed ε is below the sum of the two alone.
    assert spent.breakdown[CLASS_COUNTS][1] == 0.0
    assert spent.epsilon < sum(eps for eps, _ in spent.breakdown.values())
    (name, z, q, steps), _ = spent.ledger
    assert (name, q, steps) == (CLASS_COUNTS, 1.0, 1)
    assert spent.dp_sgd.steps == 2 * STEPS_PER_EPOCH
    # The stored counts are the rounded, clamped Gaussian counts, never the exact ones: the
    # release is the first draw of the model's seeded stream.
    exact = np.bincount(digits[1], minlength=10)
    plan = private_cgan._plan_preprocessing(
        SimpleNamespace(n_images=N), PrivacyConfig(4.0, accountant="rdp").validate(N)
    )
    assert plan.noise_multiplier == pytest.approx(z) and plan.sigma == pytest.approx(z)
    expected, _ = release_class_counts(
        torch.as_tensor(digits[1]), 10, plan, np.random.default_rng(TINY["random_state"])
    )
    assert private_cgan.class_counts_ == expected
    assert private_cgan.class_counts_ != exact.tolist()
    assert all(isinstance(c, int) and c >= 0 for c in private_cgan.class_counts_)
    assert private_cgan.classes_ == list(range(10))
    assert "class counts" in private_cgan.privacy_report()


# -- save / load -------------------------------------------------------------------------------
def test_save_load_keeps_the_privacy_state(private_cgan, digits, tmp_path):
    path = private_cgan.save(tmp_path / "dp.synthgan")
    loaded = synthgan.load(path)
    assert loaded.privacy_spent_ == private_cgan.privacy_spent_
    assert loaded.privacy_state_ == private_cgan.privacy_state_
    assert isinstance(loaded.privacy, PrivacyConfig) and loaded.privacy == private_cgan.privacy
    accountant = restore_accountant("rdp", loaded.privacy_state_["accountant_state"])
    assert accountant.history == [(pytest.approx(private_cgan.privacy_spent_.dp_sgd.
                                                 noise_multiplier), 32 / N, 14)]  # fmt: skip
    assert loaded.privacy_state_["steps_taken"] == 14
    assert loaded.privacy_report() == private_cgan.privacy_report()
    assert np.array_equal(
        loaded.sample(30, random_state=1), private_cgan.sample(30, random_state=1)
    )
    assert loaded.class_counts_ == private_cgan.class_counts_
    with zipfile.ZipFile(path) as archive:
        state = json.loads(archive.read("state.json"))
    exact = np.bincount(digits[1], minlength=10).tolist()
    assert state["class_counts"] != exact and "privacy" in state


def test_model_without_privacy_has_no_privacy_state(digits, tmp_path):
    model = DCGANSynthesizer(**{**TINY, "epochs": 1}).fit(digits[0][:64])
    assert model.privacy_spent_ is None
    assert model.network_config_.discriminator_norm == "batch"  # None means batch without
    with pytest.raises(ValueError, match="without differential privacy"):
        model.privacy_report()
    path = model.save(tmp_path / "plain.synthgan")
    with zipfile.ZipFile(path) as archive:
        assert "privacy" not in json.loads(archive.read("state.json"))  # as in older files
    assert synthgan.load(path).privacy_spent_ is None


# -- refusals ----------------------------------------------------------------------------------
def test_refusals_explain(digits):
    images, labels = digits
    config = PrivacyConfig(target_epsilon=3.0, accountant="rdp")
    with pytest.raises(ValueError, match=r"discriminator_norm='batch'.*BatchNorm"):
        DCGANSynthesizer(privacy=config, discriminator_norm="batch", **TINY).fit(images)
    with pytest.raises(TypeError, match="privacy must be"):
        DCGANSynthesizer(privacy=3.0, **TINY).fit(images)
    with pytest.raises(ValueError, match=r"public metadata: fit.*classes="):
        ConditionalGANSynthesizer(privacy=config, **TINY).fit(images, labels)
    with pytest.raises(DataValidationError, match="not among the given classes"):
        ConditionalGANSynthesizer(privacy=config, **TINY).fit(images, labels, classes=range(9))
    with pytest.raises(DataValidationError, match="value_range='unit'"):
        DCGANSynthesizer(privacy=config, **TINY).fit(images / 255.0)
    with pytest.raises(PrivacyBudgetError, match="preprocessing_epsilon_share is 0"):
        ConditionalGANSynthesizer(
            privacy=PrivacyConfig(3.0, preprocessing_epsilon_share=0.0), **TINY
        ).fit(images, labels, classes=range(10))


def test_float_pixels_need_a_stated_range_in_dp_mode(digits):
    floats = digits[0][:8] / 255.0
    assert read_images(floats, value_range="unit", detect_float_range=False).n_images == 8
    assert read_images(digits[0][:8], detect_float_range=False).n_images == 8  # uint8: dtype
    with pytest.raises(DataValidationError, match="float pixels"):
        read_images(floats, detect_float_range=False)


def test_public_classes_may_hold_absent_classes_and_keep_their_order(digits):
    images, labels = digits
    data = read_images(images[:20], labels[:20]).with_classes([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 42])
    assert data.classes == (9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 42)
    assert data.decode_labels(data.labels) == labels[:20].tolist()
    with pytest.raises(DataValidationError, match="more than once"):
        read_images(images[:4], labels[:4]).with_classes([0, 1, 1, 2, 3])


def test_budget_too_small_fails_before_training(digits, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(DCGANSynthesizer, "_prepare", no_training)
    fixed = PrivacyConfig(target_epsilon=0.5, noise_multiplier=0.5, accountant="rdp")
    with pytest.raises(PrivacyBudgetError, match=r"14 discriminator steps.*at most \d+ steps"):
        DCGANSynthesizer(privacy=fixed, **TINY).fit(digits[0])
    tiny = PrivacyConfig(target_epsilon=1e-4, accountant="rdp")
    with pytest.raises(PrivacyBudgetError, match=r"noise multiplier 100 spends ε="):
        DCGANSynthesizer(privacy=tiny, **TINY).fit(digits[0])


def test_spectral_norm_augmentation_smoothing_and_a_time_limit(digits):
    images, labels = digits
    model = ConditionalGANSynthesizer(
        privacy={"target_epsilon": 2.0, "accountant": "rdp"},  # a dict is read as a config
        spectral_norm=True,  # per-image gradients with torch.func
        diff_augment="color,translation,cutout",
        label_smoothing=0.1,
        max_time=1e-9,  # stops after the first epoch: fewer steps than planned
        conditioning="concat",
        **TINY,
    ).fit(images, labels, classes=list(range(10)))
    spent = model.privacy_spent_
    assert spent.dp_sgd.steps == STEPS_PER_EPOCH  # of the 14 planned
    assert spent.epsilon < 0.95 * 2.0
    assert "stopped after 7 of the 14 planned" in model.privacy_report()
    assert model.sample(labels=[3, 3], random_state=0).shape == (2, 8, 8, 1)


def test_params_and_clone():
    config = PrivacyConfig(target_epsilon=1.0)
    model = ConditionalGANSynthesizer(privacy=config)
    assert model.get_params()["privacy"] is config
    assert clone(model).get_params()["privacy"] == config
    assert model.get_params()["discriminator_norm"] is None


# -- oracle: no noise, no clipping, the whole batch -> the non-private update --------------------
def _networks(n_classes: int = 0):
    config = ImageNetworkConfig(
        channels=1, side=8, latent_dim=4, n_classes=n_classes, generator_width=4,
        discriminator_width=4, discriminator_norm="group", embedding_dim=3,
    )  # fmt: skip
    torch.manual_seed(0)
    return ImageGenerator(config).train(), ImageDiscriminator(config).train()


def _oracle_critic(discriminator, n: int) -> PrivateCritic:
    return PrivateCritic(
        discriminator, torch.optim.SGD(discriminator.parameters(), lr=0.5), n_records=n,
        sample_rate=1.0, noise_multiplier=0.0, max_grad_norm=1e12, max_steps=1,
        accountant="rdp", generator=torch.Generator().manual_seed(0),
    )  # fmt: skip


def _updates(before: torch.nn.Module, after: torch.nn.Module) -> list[torch.Tensor]:
    return [b.detach() - a.detach() for a, b in zip(before.parameters(), after.parameters(),
                                                    strict=True)]  # fmt: skip


def _private_context(generator, critic) -> TrainingContext:
    return TrainingContext.of(
        {"generator": generator, "discriminator": critic.module},
        {"generator": torch.optim.SGD(generator.parameters(), lr=0.1),
         "discriminator": critic.optimizer},
        rng=np.random.default_rng(0), critics={"discriminator": critic},
    )  # fmt: skip


def test_oracle_private_step_equals_the_plain_step():
    """q = 1 (every image in the batch), σ = 0, C = ∞: the DP step is the non-private step,
    so the real term (clipped) and the fake term (added after the noise) both reach it once."""
    generator, discriminator = _networks()
    n = 16
    images = torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8)
    options = ImageStepOptions(batch_size=n, latent_dim=4)
    loss = create_loss("non_saturating")
    start = copy.deepcopy(discriminator)
    plain_d, private_d = copy.deepcopy(discriminator), without_inplace(copy.deepcopy(discriminator))
    plain_g, private_g = copy.deepcopy(generator), copy.deepcopy(generator)
    plain_context = TrainingContext.of(
        {"generator": plain_g, "discriminator": plain_d},
        {"generator": torch.optim.SGD(plain_g.parameters(), lr=0.1),
         "discriminator": torch.optim.SGD(plain_d.parameters(), lr=0.5)},
        rng=np.random.default_rng(0),
    )  # fmt: skip
    plain = ImageGANSteps(plain_context, (images, None), loss, options)
    critic = _oracle_critic(private_d, n)
    private = PrivateImageGANSteps(_private_context(private_g, critic), (images, None), loss,
                                   options)  # fmt: skip
    torch.manual_seed(1)  # the same latent vectors, hence the same fakes, in both steps
    plain.discriminator_step()
    torch.manual_seed(1)
    private.discriminator_step()
    for want, got in zip(_updates(start, plain_d), _updates(start, private_d), strict=True):
        assert want.abs().max() > 0
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
    assert critic.accountant.history == [(0.0, 1.0, 1)]  # one charged step, fakes uncharged
    # The generator step is the non-private one, on the cached fakes.
    assert private.generator_step()["generator_loss"] == pytest.approx(
        plain.generator_step()["generator_loss"], rel=1e-5
    )


def test_oracle_conditional_step_with_smoothing():
    """The label is part of the record (real term), fakes carry labels from the DP weights."""
    generator, discriminator = _networks(n_classes=3)
    n = 12
    images = torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(n) % 3
    loss = smoothed_loss(create_loss("non_saturating"), 0.2)
    reference = copy.deepcopy(discriminator)
    critic = _oracle_critic(without_inplace(discriminator), n)
    private = PrivateImageGANSteps(
        _private_context(generator, critic), (images, labels), loss,
        ImageStepOptions(batch_size=8, latent_dim=4), class_weights=np.array([5.0, 0.0, 1.0]),
    )  # fmt: skip
    start = copy.deepcopy(reference)
    private.discriminator_step()
    fake, fake_labels, _noise = private._cached
    assert fake.shape[0] == 8 and 1 not in fake_labels.tolist()  # weight 0: never drawn
    real = images.float() / 127.5 - 1.0
    expected = (loss.real_term(reference(real, labels)).mean()
                + loss.fake_term(reference(fake.detach(), fake_labels)).mean())  # fmt: skip
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    optimizer.zero_grad()
    expected.backward()
    optimizer.step()
    for want, got in zip(_updates(start, reference), _updates(start, discriminator), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)


def test_same_seed_same_private_model(digits):
    # A fixed noise multiplier: no calibration (the accountant dominates these tiny fits).
    config = PrivacyConfig(target_epsilon=10.0, noise_multiplier=1.0, accountant="rdp")
    small = {**TINY, "epochs": 1}
    images = digits[0][:96]  # 3 steps
    a = DCGANSynthesizer(privacy=config, **small).fit(images)
    b = DCGANSynthesizer(privacy=config, **small).fit(images)
    assert np.array_equal(a.sample(20, random_state=3), b.sample(20, random_state=3))
    c = DCGANSynthesizer(privacy=config, **{**small, "random_state": 1}).fit(images)
    assert not np.array_equal(a.sample(20, random_state=3), c.sample(20, random_state=3))
