"""PrivacyConfig: defaults, JSON round trip, validation errors, budget split."""

import json
import math

import pytest

from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy.config import PrivacyConfig, default_delta


def test_defaults_resolve_against_the_table_size():
    resolved = PrivacyConfig(target_epsilon=3.0).validate(10_000)
    assert resolved.target_delta == pytest.approx(1e-6) == default_delta(10_000)
    assert resolved.target_delta < 1 / 10_000 and resolved.delta_is_default
    assert resolved.accountant == "prv" and resolved.max_grad_norm == 1.0
    assert resolved.preprocessing_epsilon == pytest.approx(0.3)
    assert resolved.preprocessing_delta == pytest.approx(1e-7)
    assert resolved.noise_multiplier is None and resolved.n_records == 10_000
    assert "1/(n·√n)" in resolved.delta_note() and "10000" in resolved.delta_note()


def test_user_delta_is_kept_and_reported():
    resolved = PrivacyConfig(2.0, target_delta=1e-7, accountant="rdp").validate(1000)
    assert resolved.target_delta == 1e-7 and not resolved.delta_is_default
    assert "given by the user" in resolved.delta_note()


def test_json_round_trip():
    config = PrivacyConfig(
        target_epsilon=1.5,
        target_delta=1e-8,
        max_grad_norm=0.5,
        accountant="rdp",
        preprocessing_epsilon_share=0.2,
        noise_multiplier=1.1,
    )
    assert PrivacyConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    default = PrivacyConfig(4.0)
    assert PrivacyConfig.from_dict(json.loads(json.dumps(default.to_dict()))) == default


def test_from_dict_rejects_unknown_and_missing_fields():
    with pytest.raises(ValueError, match="epsilon_target"):
        PrivacyConfig.from_dict({"target_epsilon": 1.0, "epsilon_target": 2.0})
    with pytest.raises(ValueError, match="target_epsilon"):
        PrivacyConfig.from_dict({"max_grad_norm": 1.0})


def test_infinite_epsilon_points_to_privacy_none():
    with pytest.raises(ValueError, match="privacy=None"):
        PrivacyConfig(math.inf).validate(100)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_epsilon": 0.0}, "target_epsilon"),
        ({"target_epsilon": -1.0}, "target_epsilon"),
        ({"target_epsilon": math.nan}, "target_epsilon"),
        ({"target_epsilon": "1"}, "target_epsilon must be a number"),
        ({"target_epsilon": 1.0, "target_delta": 0.01}, r"target_delta.*1/n"),
        ({"target_epsilon": 1.0, "target_delta": 0.0}, "target_delta"),
        ({"target_epsilon": 1.0, "max_grad_norm": 0.0}, "max_grad_norm"),
        ({"target_epsilon": 1.0, "max_grad_norm": math.inf}, "max_grad_norm"),
        ({"target_epsilon": 1.0, "accountant": "moments"}, r"accountant.*prv"),
        ({"target_epsilon": 1.0, "preprocessing_epsilon_share": 1.0}, "preprocessing"),
        ({"target_epsilon": 1.0, "noise_multiplier": 0.0}, "noise_multiplier"),
    ],
)
def test_validation_errors_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        PrivacyConfig(**kwargs).validate(1000)


def test_n_records_is_checked():
    with pytest.raises(ValueError, match="n_records"):
        PrivacyConfig(1.0).validate(0)


def test_dp_sgd_gets_what_preprocessing_left():
    resolved = PrivacyConfig(2.0, target_delta=1e-6).validate(10_000)
    eps, delta = resolved.dp_sgd_budget(0.05, 0.0)
    assert eps == pytest.approx(1.95) and delta == 1e-6
    with pytest.raises(PrivacyBudgetError, match="share"):
        resolved.dp_sgd_budget(0.5, 0.0)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        PrivacyConfig(1.0).target_epsilon = 2.0
