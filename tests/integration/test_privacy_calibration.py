"""Calibration of the privacy metrics on real Adult rows (DESIGN.md §6).

Real rows the "synthesizer" never saw must look ideal; a copy of the training rows must be
caught. The "synthetic" real rows come from a part of the training split disjoint from both the
rows passed as ``train`` and the holdout, so members, non-members, reference rows and
"synthetic" rows are four disjoint sets of one population.
"""

from __future__ import annotations

import pytest
from sklearn.model_selection import train_test_split

from synthgan.evaluation.privacy import privacy_scores

MAX_ROWS = 2000


@pytest.fixture(scope="module")
def parts(adult):
    """Standard split; the training split is cut into a 2000-row train and fresh real rows."""
    train, holdout = train_test_split(
        adult, test_size=0.2, random_state=0, stratify=adult["income"]
    )
    train = train.reset_index(drop=True)
    return train.iloc[:MAX_ROWS], train.iloc[MAX_ROWS : 2 * MAX_ROWS], holdout


@pytest.fixture(scope="module")
def fresh_real(parts):
    train, unseen, holdout = parts
    return privacy_scores(train, unseen, holdout, max_rows=MAX_ROWS)


@pytest.fixture(scope="module")
def copied(parts):
    train, _, holdout = parts
    return privacy_scores(train, train.copy(), holdout, max_rows=MAX_ROWS)


def test_unseen_real_rows_look_ideal(fresh_real):
    scores = fresh_real
    assert scores["exact_copy_rate"] == pytest.approx(
        scores["exact_copy_rate_holdout_baseline"], abs=0.005
    )
    assert scores["dcr"]["share_closer_to_train"] == pytest.approx(0.5, abs=0.05)
    mia = scores["membership_inference"]
    assert mia["n_members"] == mia["n_non_members"] == mia["n_reference"] == MAX_ROWS // 2
    assert mia["auc"] == pytest.approx(0.5, abs=0.05)
    assert mia["distance_attack_auc"] == pytest.approx(0.5, abs=0.05)


def test_unseen_real_rows_carry_no_attack_risk(fresh_real):
    per_secret = fresh_real["attribute_inference"]["per_secret"]
    assert len(per_secret) == 15  # every Adult column
    for name, result in per_secret.items():
        # Targets and controls are alike: rates agree and no interval excludes a zero risk.
        assert result["train_success_rate"] == pytest.approx(
            result["control_success_rate"], abs=0.06
        ), name
        assert result["risk_ci"][0] == 0.0, name
    assert fresh_real["linkability"]["risk_ci"][0] == 0.0


def test_nndr_of_unseen_rows_matches_the_holdout_baseline(fresh_real):
    nndr = fresh_real["nndr"]
    assert nndr["synthetic_quantiles"]["p50"] == pytest.approx(
        nndr["holdout_baseline_quantiles"]["p50"], abs=0.05
    )


def test_copied_training_rows_are_caught(copied, fresh_real):
    assert copied["exact_copy_rate"] == 1.0
    assert copied["dcr"]["share_closer_to_train"] > 0.95
    assert copied["dcr"]["train_quantiles"]["p50"] == 0.0
    assert copied["membership_inference"]["auc"] > 0.7
    assert copied["membership_inference"]["distance_attack_auc"] > 0.95
    attribute = copied["attribute_inference"]
    assert attribute["max_risk"] > 0.3
    assert attribute["per_secret"][attribute["max_risk_secret"]]["risk_ci"][0] > 0.1
    assert attribute["max_risk"] > fresh_real["attribute_inference"]["max_risk"] + 0.2
    assert copied["linkability"]["risk_ci"][0] > 0.0


def test_copy_of_a_larger_training_set_is_diluted_as_documented(adult, parts):
    # Only max_rows of the ~26,000 training rows are searched, so copying all of them moves the
    # share closer to train only to the documented ceiling 0.5 + 0.5 * n_reference / n_train.
    _, _, holdout = parts
    train = adult.drop(index=holdout.index)
    scores = privacy_scores(train, train.copy(), holdout, max_rows=MAX_ROWS)
    dcr = scores["dcr"]
    assert scores["exact_copy_rate"] == 1.0
    assert dcr["share_closer_to_train_if_copied"] == pytest.approx(
        0.5 + 0.5 * MAX_ROWS / len(train)
    )
    assert dcr["share_closer_to_train"] == pytest.approx(
        dcr["share_closer_to_train_if_copied"], abs=0.03
    )
    # The membership attack's synthetic density uses every synthetic row, so it is not diluted:
    # the members' copies are in it whatever max_rows is.
    mia = scores["membership_inference"]
    assert mia["n_synthetic"] == len(train)
    assert mia["auc"] > 0.6  # 0.64 measured; 0.55 when the density used only max_rows rows
