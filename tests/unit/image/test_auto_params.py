"""The image models' "auto" hyperparameters (issue 18): None resolves to the DCGAN defaults
without privacy and to the dp10_ms recipe with it; explicit values always win."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

import synthgan
from synthgan import ConditionalGANSynthesizer, DCGANSynthesizer, PrivacyConfig
from synthgan.exceptions import InvalidParameterError

AUTO = ("batch_size", "discriminator_width", "discriminator_steps", "mode_seeking")
PLAIN = {"batch_size": 64, "discriminator_width": 64, "discriminator_steps": 1, "mode_seeking": 0.0}
RECIPE = {"batch_size": 128, "discriminator_width": 32, "discriminator_steps": 5,
          "mode_seeking": 1.0}  # fmt: skip
N = 240  # one DP step per epoch at batch 128: 240 // 128
TINY = dict(epochs=1, latent_dim=8, generator_width=4, verbose=False, random_state=0)
MODELS = {"dcgan": DCGANSynthesizer, "conditional_gan": ConditionalGANSynthesizer}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return np.rint(bunch.images[:N] * (255 / 16)).astype(np.uint8), bunch.target[:N]


def _fit(cls, digits, **params):
    model = cls(**{**TINY, **params})
    images, labels = digits
    classes = {"classes": list(range(10))} if params.get("privacy") else {}
    return model.fit(images, labels, **classes)


def _resolved(model) -> dict:
    model._validate_params()
    return {name: getattr(model._resolved, name) for name in AUTO}


def _private() -> PrivacyConfig:
    return PrivacyConfig(target_epsilon=10.0, accountant="rdp")


# -- resolution --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", MODELS.values(), ids=MODELS)
def test_defaults_are_none_and_resolve_by_privacy(cls):
    model = cls()
    assert all(model.get_params()[name] is None for name in AUTO)  # stored unchanged
    assert _resolved(model) == PLAIN  # the DCGAN defaults, as before
    assert _resolved(cls(privacy=_private())) == RECIPE
    assert _resolved(cls(privacy={"target_epsilon": 10.0})) == RECIPE  # a dict of fields too
    assert all(cls(privacy=_private()).get_params()[name] is None for name in AUTO)


@pytest.mark.parametrize("cls", MODELS.values(), ids=MODELS)
def test_explicit_values_win_with_and_without_privacy(cls):
    given = {"batch_size": 32, "discriminator_width": 8, "discriminator_steps": 2,
             "mode_seeking": 0.0}  # fmt: skip
    assert _resolved(cls(privacy=_private(), **given)) == given
    assert _resolved(cls(**given)) == given
    # One given, the others auto.
    assert _resolved(cls(privacy=_private(), discriminator_steps=3)) == {
        **RECIPE, "discriminator_steps": 3,
    }  # fmt: skip
    assert _resolved(cls(mode_seeking=0.5)) == {**PLAIN, "mode_seeking": 0.5}


@pytest.mark.parametrize("name", ["batch_size", "discriminator_width", "discriminator_steps"])
def test_bad_explicit_value_is_refused_naming_it(name, digits):
    with pytest.raises(InvalidParameterError, match=name):
        _fit(DCGANSynthesizer, digits, privacy=_private(), **{name: 0})


def test_bad_explicit_mode_seeking_is_refused(digits):
    with pytest.raises(ValueError, match="mode_seeking"):
        _fit(DCGANSynthesizer, digits, privacy=_private(), mode_seeking=-1.0)


# -- what a fit uses ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", MODELS.values(), ids=MODELS)
def test_private_fit_uses_the_recipe(cls, digits):
    model = _fit(cls, digits, privacy=_private())
    dp_sgd = model.privacy_spent_.dp_sgd
    assert dp_sgd.expected_batch_size == pytest.approx(128)
    assert dp_sgd.steps == 1 * (N // 128) * 5  # epochs x steps per epoch x critic steps
    assert model.network_config_.discriminator_width == 32
    assert "mode_seeking_ratio" in model.loss_history_  # the term is on, DCGAN included
    assert model.get_params()["batch_size"] is None  # the fit does not rewrite the params


@pytest.mark.parametrize("cls", MODELS.values(), ids=MODELS)
def test_private_auto_fit_equals_the_explicit_recipe(cls, digits):
    auto = _fit(cls, digits, privacy=_private())
    explicit = _fit(cls, digits, privacy=_private(), **RECIPE)
    assert np.array_equal(auto.sample(16, random_state=1), explicit.sample(16, random_state=1))
    assert auto.privacy_spent_.to_dict() == explicit.privacy_spent_.to_dict()


@pytest.mark.parametrize("cls", MODELS.values(), ids=MODELS)
def test_non_private_fit_equals_the_old_defaults(cls, digits):
    auto = _fit(cls, digits)
    explicit = _fit(cls, digits, **PLAIN)
    assert np.array_equal(auto.sample(16, random_state=1), explicit.sample(16, random_state=1))
    assert auto.network_config_ == explicit.network_config_
    assert auto.network_config_.discriminator_width == 64
    assert "mode_seeking_ratio" not in auto.loss_history_


def test_explicit_values_reach_a_private_fit(digits):
    model = _fit(DCGANSynthesizer, digits, privacy=_private(), batch_size=32,
                 discriminator_width=4, discriminator_steps=2, mode_seeking=0.0)  # fmt: skip
    dp_sgd = model.privacy_spent_.dp_sgd
    assert dp_sgd.expected_batch_size == pytest.approx(32)
    assert dp_sgd.steps == (N // 32) * 2
    assert model.network_config_.discriminator_width == 4
    assert "mode_seeking_ratio" not in model.loss_history_


def test_auto_params_survive_save_load_and_clone(digits, tmp_path):
    model = _fit(ConditionalGANSynthesizer, digits, privacy=_private())
    loaded = synthgan.load(model.save(tmp_path / "m.synthgan"))
    assert all(loaded.get_params()[name] is None for name in AUTO)
    assert np.array_equal(loaded.sample(8, random_state=2), model.sample(8, random_state=2))
    twin = clone(model)
    assert all(twin.get_params()[name] is None for name in AUTO)
    assert _resolved(twin) == RECIPE
