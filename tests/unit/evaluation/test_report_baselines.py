"""Report, finding 7 of issue 15: TSTR beside its baselines, and absent figures named as such."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgan
from synthgan.evaluation import EvaluationReport, utility_verdict
from synthgan.evaluation.utility import baseline_scores


def _signal(n: int, seed: int) -> pd.DataFrame:
    """A target that follows x (3 in 4 rows are "no"), so a model beats the majority rate."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], n), "y": "no"}).assign(
        y=lambda d: np.where(d["x"] > 0.67, "yes", "no")
    )


@pytest.fixture(scope="module")
def tables():
    real, holdout = _signal(160, 0), _signal(120, 1)
    noise = _signal(160, 2)
    noise["y"] = np.random.default_rng(3).permutation(noise["y"].to_numpy())  # no signal left
    return real, holdout, noise


@pytest.fixture(scope="module")
def no_signal_report(tables):
    real, holdout, noise = tables
    return synthgan.evaluate(real, noise, holdout=holdout, target="y", max_rows=200)


# -- (a) the majority-class rate and TRTR beside every TSTR figure -----------------------------
def test_majority_baseline_is_the_constant_guess_of_the_training_majority():
    train = pd.DataFrame({"y": ["a", "a", "b", None]})
    test = pd.DataFrame({"y": ["b", "b", "a", "b"]})
    scores = baseline_scores(train, test, "y", "classification")
    assert scores["strategy"] == "majority_class" and scores["class"] == "a"
    assert scores["accuracy"] == 0.25  # "a" is the training majority, 1 of the 4 test rows
    assert scores["roc_auc"] == 0.5
    regression = baseline_scores(
        pd.DataFrame({"y": [1.0, 3.0]}), pd.DataFrame({"y": [2.0, 4.0]}), "y", "regression"
    )
    assert regression["mean"] == 2.0 and regression["rmse"] == pytest.approx(np.sqrt(2.0))


def _utility(accuracy: float, auc: float) -> dict:
    metrics = {"accuracy": accuracy, "macro_f1": 0.43, "roc_auc": auc}
    return {
        "task": "classification",
        "target": "income",
        "tstr": {"random_forest": metrics},
        "trtr": {"random_forest": {"accuracy": 0.85, "macro_f1": 0.78, "roc_auc": 0.9}},
        "baseline": {"strategy": "majority_class", "class": "<=50K", "accuracy": 0.761,
                     "macro_f1": 0.43, "roc_auc": 0.5},
    }  # fmt: skip


def test_tstr_equal_to_the_majority_rate_with_chance_auc_is_flagged():
    # The finding: 0.761 is exactly the majority rate and ROC-AUC 0.48; it must not look fine.
    verdict = utility_verdict(_utility(0.761, 0.48))
    assert verdict["level"] == "no better than baseline"
    assert "majority class '<=50K' (0.761)" in verdict["text"]
    assert "ROC-AUC 0.480 is near chance" in verdict["text"]
    assert "(TRTR) reference 0.850" in verdict["text"]
    assert utility_verdict(_utility(0.84, 0.88))["level"] == "beats baseline"
    # Beating the majority rate in accuracy alone is not enough when the ranking is chance.
    assert utility_verdict(_utility(0.84, 0.52))["level"] == "no better than baseline"


def test_report_shows_the_baselines_beside_tstr_in_json_summary_and_html(
    no_signal_report, tmp_path
):
    report = no_signal_report
    headline = report["headline"]
    keys = list(headline)
    at = keys.index("tstr_accuracy")
    assert keys[at : at + 3] == ["tstr_accuracy", "majority_class_accuracy", "trtr_accuracy"]
    majority = (_signal(120, 1)["y"] == "no").mean()
    assert headline["majority_class_accuracy"] == pytest.approx(majority)
    assert report["utility"]["baseline"]["class"] == "no"
    assert report["utility_verdict"]["level"] == "no better than baseline"

    data = json.loads(report.to_json())
    assert data["utility_verdict"]["level"] == "no better than baseline"
    assert data["headline"]["majority_class_accuracy"] == pytest.approx(majority)

    summary = report.summary()
    tstr = f"tstr_accuracy={headline['tstr_accuracy']:.3f}"
    assert f"{tstr}, majority_class_accuracy={majority:.3f}, trtr_accuracy=" in summary
    assert "utility=no better than baseline" in summary

    html = report.to_html(tmp_path / "r.html").read_text()
    assert "Utility verdict: no better than baseline" in html
    assert "Majority-class rate" in html
    assert "baseline: always &#x27;no&#x27; (majority class)" in html
    assert "class='n flag'" in html  # the TSTR cells that do not beat it are marked


def test_real_signal_beats_the_baseline(tables):
    real, holdout, _ = tables
    report = synthgan.evaluate(real, _signal(160, 4), holdout=holdout, target="y", max_rows=200)
    assert report["headline"]["tstr_accuracy"] > report["headline"]["majority_class_accuracy"]
    assert report["utility_verdict"]["level"] == "beats baseline"
    assert "utility=" not in report.summary()


# -- (b) absent figures read "not computed (why)", never None -----------------------------------
def test_without_holdout_every_absent_figure_says_not_computed(tables, tmp_path):
    real, _, noise = tables
    report = synthgan.evaluate(real, noise, target="y", max_rows=200)
    summary = report.summary()
    assert "None" not in summary
    assert "leakage=not computed (no holdout given)" in summary
    assert "membership_inference_auc=not computed (no holdout given)" in summary
    assert report["not_computed"]["membership_inference_auc"] == "no holdout given"
    html = report.to_html(tmp_path / "r.html").read_text()
    assert "Leakage verdict: not computed (no holdout given)" in html
    assert "Leakage verdict: None" not in html and ">None<" not in html
    card = "<div class='v'>not computed</div><div class='l'>Membership inference AUC</div>"
    assert card + "<div class='i'>(no holdout given)</div>" in html


def test_without_target_utility_is_not_computed(tables):
    real, _, noise = tables
    report = synthgan.evaluate(real, noise, max_rows=200)
    assert "tstr=not computed (no target given)" in report.summary()
    assert report["utility_verdict"]["level"] is None


def test_old_reports_without_the_new_keys_still_render(tmp_path):
    old = {"kind": "table", "headline": {"tstr_accuracy": 0.8}, "verdict": {"level": None,
           "text": "No leakage figures (pass a holdout).", "findings": []}}  # fmt: skip
    report = EvaluationReport(old)
    assert report.summary() == "tstr_accuracy=0.800, leakage=not computed (no holdout given)"
    assert "Leakage verdict: not computed" in report.to_html(tmp_path / "o.html").read_text()
