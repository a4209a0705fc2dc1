"""Accountant registry and state, noise calibration, composition and the spent-budget report."""

import json

import pytest
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier

from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy import accounting
from synthgan.privacy.accounting import (
    DPSGDSummary,
    PrivacySpent,
    accountant_state,
    available_accountants,
    compose_privacy,
    create_accountant,
    epsilon_after,
    max_steps_within_budget,
    plan_dp_sgd,
    register_accountant,
    restore_accountant,
)


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha")
@pytest.mark.parametrize(
    ("target", "q", "steps"), [(1.0, 0.01, 500), (3.0, 0.05, 200), (0.5, 0.2, 20)]
)
def test_calibrated_noise_never_overshoots_and_is_tight(target, q, steps):
    sigma = plan_dp_sgd(target, 1e-6, q, steps, "rdp")
    spent = epsilon_after("rdp", noise_multiplier=sigma, sample_rate=q, steps=steps, delta=1e-6)
    assert target * 0.99 <= spent <= target
    opacus_sigma = get_noise_multiplier(
        target_epsilon=target, target_delta=1e-6, sample_rate=q, steps=steps, accountant="rdp"
    )
    assert sigma == pytest.approx(opacus_sigma, rel=0.02)


def test_prv_calibration_never_overshoots():
    sigma = plan_dp_sgd(2.0, 1e-5, 0.1, 20, "prv")
    spent = epsilon_after("prv", noise_multiplier=sigma, sample_rate=0.1, steps=20, delta=1e-5)
    assert 1.98 <= spent <= 2.0


def test_unreachable_budget_fails_early_with_the_numbers():
    with pytest.raises(PrivacyBudgetError) as info:
        plan_dp_sgd(0.01, 1e-6, 1.0, 1000, "rdp")
    message = str(info.value)
    for number in ("ε=0.01", "q=1", "1000 steps", "noise multiplier 100"):
        assert number in message


def test_fixed_noise_multiplier_is_checked_and_the_allowed_steps_reported():
    assert plan_dp_sgd(5.0, 1e-6, 0.01, 100, "rdp", noise_multiplier=2.0) == 2.0
    with pytest.raises(PrivacyBudgetError, match=r"at most \d+ steps"):
        plan_dp_sgd(0.5, 1e-6, 0.1, 1000, "rdp", noise_multiplier=1.0)


def test_max_steps_within_budget_is_the_boundary():
    allowed = max_steps_within_budget(1.0, 1e-6, 0.1, 1.5, "rdp", upper=1000)
    kwargs = dict(noise_multiplier=1.5, sample_rate=0.1, delta=1e-6)
    assert epsilon_after("rdp", steps=allowed, **kwargs) <= 1.0
    assert epsilon_after("rdp", steps=allowed + 1, **kwargs) > 1.0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.0, 1e-6, 0.1, 10), "target_epsilon"),
        ((float("inf"), 1e-6, 0.1, 10), "target_epsilon"),
        ((1.0, 1.0, 0.1, 10), "target_delta"),
        ((1.0, 1e-6, 0.0, 10), "sample_rate"),
        ((1.0, 1e-6, 1.5, 10), "sample_rate"),
        ((1.0, 1e-6, 0.1, 0), "steps"),
    ],
)
def test_plan_arguments_are_validated(args, match):
    with pytest.raises(ValueError, match=match):
        plan_dp_sgd(*args, accountant="rdp")


def test_registry_lists_creates_and_rejects(monkeypatch):
    monkeypatch.setattr(accounting, "_ACCOUNTANTS", dict(accounting._ACCOUNTANTS))  # undone after
    assert {"prv", "rdp"} <= set(available_accountants())
    assert create_accountant("rdp").mechanism() == "rdp"
    with pytest.raises(ValueError, match="prv"):
        create_accountant("moments")
    register_accountant("rdp-test", RDPAccountant)
    assert plan_dp_sgd(3.0, 1e-6, 0.05, 50, "rdp-test") == plan_dp_sgd(3.0, 1e-6, 0.05, 50, "rdp")


@pytest.mark.parametrize("name", ["rdp", "prv"])
def test_accountant_state_round_trips_through_json(name):
    accountant = create_accountant(name)
    for sigma in (1.0, 1.0, 1.2):
        accountant.step(noise_multiplier=sigma, sample_rate=0.05)
    state = json.loads(json.dumps(accountant_state(accountant)))
    restored = restore_accountant(name, state)
    assert restored.history == accountant.history == [(1.0, 0.05, 2), (1.2, 0.05, 1)]
    assert restored.get_epsilon(delta=1e-6) == accountant.get_epsilon(delta=1e-6)


def test_restore_rejects_a_state_of_another_accountant():
    state = accountant_state(create_accountant("rdp"))
    with pytest.raises(ValueError, match="same accountant"):
        restore_accountant("prv", state)
    with pytest.raises(ValueError, match="history entries"):
        restore_accountant("rdp", {"mechanism": "rdp", "history": [[1.0, 0.1]]})


def test_composition_puts_gaussian_releases_in_the_accountant():
    from synthgan.privacy.mechanisms import gaussian_release

    accountant = RDPAccountant()
    accountant.history = [(1.1, 0.02, 300)]
    pre = {
        "preprocessing: statistics": gaussian_release(
            None, 8.0, threshold_delta=1e-7, mechanism="test"
        ),
        "pure bounds": (0.2, 0.0),
    }
    spent = compose_privacy(pre, delta=1e-6, accountant=accountant, accountant_name="rdp")
    independent = RDPAccountant()
    independent.history = [(8.0, 1.0, 1), (1.1, 0.02, 300)]
    expected = 0.2 + independent.get_epsilon(delta=1e-6 - 1e-7)
    assert spent.epsilon == pytest.approx(expected, rel=1e-12)
    assert spent.delta == pytest.approx(1e-6)
    assert spent.composition == "accountant" and spent.ledger_delta == pytest.approx(9e-7)
    assert spent.ledger == (("preprocessing: statistics", 8.0, 1.0, 1), ("DP-SGD", 1.1, 0.02, 300))
    # Each line alone: the Gaussian release and DP-SGD at the ledger's δ; the composed total of
    # the two is below the sum of their standalone ε's.
    alone = RDPAccountant()
    alone.history = [(8.0, 1.0, 1)]
    assert spent.breakdown["preprocessing: statistics"] == pytest.approx(
        (alone.get_epsilon(delta=9e-7), 1e-7)
    )
    gaussian_parts = spent.breakdown["preprocessing: statistics"][0] + spent.breakdown["DP-SGD"][0]
    assert spent.epsilon - 0.2 < gaussian_parts
    only_pure = compose_privacy({"pure bounds": (0.2, 0.0)}, delta=1e-6)
    assert tuple(only_pure) == pytest.approx((0.2, 0.0)) and only_pure.composition == "basic"
    with pytest.raises(PrivacyBudgetError, match="accountant needs some δ"):
        compose_privacy({"x": (0.1, 1e-6)}, delta=1e-6, accountant=accountant,
                        accountant_name="rdp")  # fmt: skip
    with pytest.raises(ValueError, match="accountant_name"):
        compose_privacy(pre, delta=1e-6, accountant=accountant)


def test_a_share_is_a_share_of_the_budget_whatever_the_accountant():
    # z / √s for a share s: the preprocessing alone spends less than the budget, and DP-SGD
    # calibrated with it in the history lands on the target.
    from synthgan.privacy.accounting import epsilon_after, plan_dp_sgd
    from synthgan.privacy.config import PrivacyConfig

    for accountant in ("rdp", "prv"):
        resolved = PrivacyConfig(3.0, target_delta=1e-6, accountant=accountant).validate(10_000)
        z_budget = resolved.budget_multiplier(thresholds=False)
        alone = epsilon_after(accountant, noise_multiplier=z_budget, sample_rate=1.0, steps=1,
                              delta=1e-6)  # fmt: skip
        assert 2.99 <= alone <= 3.0
        z = resolved.preprocessing_multiplier(0.1, thresholds=False)
        assert z == pytest.approx(z_budget / 0.1**0.5)
        prior = [(z, 1.0, 1)]
        sigma = plan_dp_sgd(3.0, 1e-6, 0.02, 1000, accountant, prior=prior)
        total = epsilon_after(accountant, noise_multiplier=sigma, sample_rate=0.02, steps=1000,
                              delta=1e-6, prior=prior)  # fmt: skip
        assert 0.97 * 3.0 <= total <= 3.0


def test_privacy_spent_unpacks_round_trips_and_reports():
    summary = DPSGDSummary("prv", 1.25, 0.01, 3000, 1.0, 325.6)
    spent = PrivacySpent(
        epsilon=2.9,
        delta=1e-7,
        breakdown={"preprocessing: bounds": (0.1, 0.0), "DP-SGD": (2.8, 1e-7)},
        dp_sgd=summary,
        target_epsilon=3.0,
        notes=("δ was chosen by default.",),
    )
    epsilon, delta = spent
    assert (epsilon, delta) == (2.9, 1e-7)
    assert PrivacySpent.from_dict(json.loads(json.dumps(spent.to_dict()))) == spent
    report = spent.report()
    for fact in ("PRV", "q = 0.01", "3000 steps", "σ = 1.25", "C = 1", "preprocessing: bounds"):
        assert fact in report, fact
    assert report.count("\n") >= 4 and "δ was chosen by default." in report
