"""synthgan.evaluate end to end on real Adult: the report sees what it claims to see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import synthgan


@pytest.fixture(scope="module")
def parts(adult):
    """Disjoint real parts: train (fed to the 'synthesizer'), a holdout, and fresh real rows."""
    train, rest = train_test_split(adult, train_size=3000, random_state=0, stratify=adult["income"])
    holdout, fresh = train_test_split(
        rest, train_size=1500, test_size=1500, random_state=0, stratify=rest["income"]
    )
    return tuple(frame.reset_index(drop=True) for frame in (train, holdout, fresh))


@pytest.fixture(scope="module")
def reports(parts):
    train, holdout, fresh = parts
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    options = {"holdout": holdout, "target": "income", "max_rows": 1500}
    return {
        "fresh real rows": synthgan.evaluate(train, fresh, **options),
        "copy of train": synthgan.evaluate(train, train.copy(), **options),
        "shuffled columns": synthgan.evaluate(train, shuffled, **options),
    }


def test_fresh_real_rows_look_ideal(reports):
    head = reports["fresh real rows"]["headline"]
    assert head["column_shapes"] > 0.93
    assert abs(head["detection_auc"] - 0.5) < 0.06
    assert abs(head["membership_inference_auc"] - 0.5) < 0.06
    assert abs(head["share_closer_to_train"] - 0.5) < 0.06
    assert head["tstr_accuracy"] == pytest.approx(head["trtr_accuracy"], abs=0.03)
    assert reports["fresh real rows"]["verdict"]["level"] == "low"


def test_a_copy_of_train_is_flagged_as_a_leak(reports):
    report = reports["copy of train"]
    assert report["headline"]["exact_copy_rate"] == 1.0
    assert report["headline"]["membership_inference_auc"] > 0.7
    assert report["verdict"]["level"] == "high"
    assert "exact copies" in report["verdict"]["text"]


def test_shuffled_columns_keep_shapes_lose_pairs_and_are_detected(reports):
    fresh, shuffled = (
        reports["fresh real rows"]["headline"],
        reports["shuffled columns"]["headline"],
    )
    assert shuffled["column_shapes"] > 0.93
    assert shuffled["column_pair_trends"] < fresh["column_pair_trends"] - 0.1
    assert shuffled["detection_auc"] > 0.75
    assert shuffled["tstr_accuracy"] < fresh["tstr_accuracy"] - 0.04


def test_report_renders_and_round_trips(reports, tmp_path):
    report = reports["fresh real rows"]
    html = report.to_html(tmp_path / "r.html").read_text()
    for text in ("Fidelity", "Utility", "Privacy leakage", "TSTR", "distance to closest record"):
        assert text in html
    again = synthgan.EvaluationReport.from_json(report.to_json())
    assert again.summary() == report.summary()
    assert report["utility"]["test_set"] == "the real holdout"


def test_without_holdout_privacy_is_skipped_and_utility_says_why(parts):
    train, _, fresh = parts
    report = synthgan.evaluate(train, fresh, target="income", max_rows=1000)
    assert "skipped" in report["privacy"]
    assert "optimistic" in report["utility"]["test_set"]
    assert report["verdict"]["level"] is None


def test_bad_inputs_name_the_argument(parts):
    train, holdout, _ = parts
    with pytest.raises(TypeError, match="synthetic must be a pandas DataFrame"):
        synthgan.evaluate(train, train.to_numpy())
    with pytest.raises(ValueError, match="target 'nope' is not a column"):
        synthgan.evaluate(train, holdout, target="nope")
    with pytest.raises(ValueError, match="lacks column"):
        synthgan.evaluate(train, holdout.drop(columns="age"))
    with pytest.raises(ValueError, match="holdout is empty"):
        synthgan.evaluate(train, holdout, holdout=holdout.iloc[:0])


def test_dp_budget_is_carried_into_the_report(parts):
    train, _, fresh = parts
    report = synthgan.evaluate(
        train.iloc[:600],
        fresh.iloc[:600],
        max_rows=600,
        privacy_spent={"epsilon": 3.0, "delta": 1e-5},
    )
    assert report["differential_privacy"] == {"epsilon": 3.0, "delta": 1e-5}
    assert report["headline"]["epsilon"] == 3.0
