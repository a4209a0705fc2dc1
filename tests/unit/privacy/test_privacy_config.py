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
    assert resolved.preprocessing_share is None  # "auto": sized by the model family
    assert resolved.threshold_delta(True) == pytest.approx(1e-7)  # a tenth of δ, if needed
    assert resolved.threshold_delta(False) == 0.0 and not resolved.strict
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
        strict=True,
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
        ({"target_epsilon": 1.0, "preprocessing_epsilon_share": "some"}, r"'auto' or a number"),
        ({"target_epsilon": 1.0, "strict": "yes"}, "strict"),
        ({"target_epsilon": 1.0, "noise_multiplier": 0.0}, "noise_multiplier"),
    ],
)
def test_validation_errors_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        PrivacyConfig(**kwargs).validate(1000)


def test_n_records_is_checked():
    with pytest.raises(ValueError, match="n_records"):
        PrivacyConfig(1.0).validate(0)


def test_auto_share_is_sized_by_need():
    from synthgan.privacy.config import AUTO_SHARE_RANGE
    from synthgan.privacy.preprocessing import plan_gaussian_release

    low, high = AUTO_SHARE_RANGE
    resolved = PrivacyConfig(3.0).validate(26_048)
    # Category lists read from the data: a category holding 1 % of the rows passes (unless
    # the share would leave that range).
    plan = plan_gaussian_release(resolved, name="s", histograms=15, n_records=26_048,
                                 secret_columns=9)  # fmt: skip
    assert plan.auto and low <= plan.share <= high
    if low < plan.share < high:
        assert plan.category_threshold == pytest.approx(0.01 * 26_048, rel=1e-3)
    # A small table at ε = 1 needs more than the range allows: the largest share.
    small = PrivacyConfig(1.0).validate(2000)
    plan = plan_gaussian_release(small, name="s", histograms=15, n_records=2000, secret_columns=9)
    assert plan.share == high
    # Public lists only: the counts' noise is 0.2 % of the records.
    plan = plan_gaussian_release(resolved, name="s", histograms=9, n_records=26_048)
    if low < plan.share < high:
        assert plan.sigma == pytest.approx(0.002 * 26_048, rel=1e-3)
    assert plan.category_threshold is None and plan.threshold_delta == 0.0
    fixed = PrivacyConfig(3.0, preprocessing_epsilon_share=0.1).validate(26_048)
    assert plan_gaussian_release(fixed, name="s", histograms=9, n_records=26_048).share == 0.1
    none = PrivacyConfig(3.0, preprocessing_epsilon_share=0.0).validate(26_048)
    with pytest.raises(PrivacyBudgetError, match="share is 0, but DP mode must release"):
        plan_gaussian_release(none, name="s", histograms=9, n_records=26_048)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        PrivacyConfig(1.0).target_epsilon = 2.0
