"""Per-class fidelity (issue 17): each class of the target scored on its own rows, the minority
class flagged, in the dict, the JSON, the one-line summary and the HTML report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import synthgan
from synthgan.evaluation import EvaluationReport, per_class_scores
from synthgan.evaluation.per_class import PER_CLASS_MIN_ROWS

FEATURES = ["x", "z", "colour"]


def _table(n: int, seed: int, minority: float = 0.2) -> pd.DataFrame:
    """Two classes; within each, z follows x closely and colour follows x: pairs to keep."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < minority, "yes", "no")
    shift = np.where(y == "yes", 1.5, 0.0)
    x = rng.normal(size=n) + shift
    z = x + 0.3 * rng.normal(size=n)
    colour = np.where(x + 0.5 * rng.normal(size=n) > shift, "red", "blue")
    return pd.DataFrame({"x": x, "z": z, "colour": colour, "y": y})


def _break_class(frame: pd.DataFrame, label: str, seed: int = 0) -> pd.DataFrame:
    """Shuffle each feature independently within the rows of ``label``: the class's marginals
    are kept, its relationships destroyed; the other rows are untouched."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    rows = out["y"] == label
    for column in FEATURES:
        out.loc[rows, column] = rng.permutation(out.loc[rows, column].to_numpy())
    return out


def _html_without_plots(report: EvaluationReport, folder) -> str:
    # The plots take most of the rendering time and are not what these tests check.
    path = EvaluationReport(report.to_dict(plots=False)).to_html(folder / "report.html")
    return path.read_text()


@pytest.fixture(scope="module")
def real():
    return _table(600, 0)


@pytest.fixture(scope="module")
def broken_report(real):
    # Majority rows: a fresh draw of the same population (a real holdout); minority: broken.
    synthetic = _break_class(_table(600, 1), "yes")
    return synthgan.evaluate(real, synthetic, target="y", max_rows=500, random_state=0)


def test_a_broken_minority_class_scores_clearly_worse_than_the_majority(broken_report):
    section = broken_report["fidelity"]["per_class"]
    assert section["minority_class"] == "yes" and list(section["classes"]) == ["yes", "no"]
    bad, good = section["classes"]["yes"], section["classes"]["no"]
    assert bad["minority"] and not good["minority"]
    assert bad["status"] == good["status"] == "scored"
    assert bad["column_pair_trends"] < good["column_pair_trends"] - 0.2
    assert bad["detection_auc"] > good["detection_auc"] + 0.15
    assert good["detection_auc"] < 0.65  # the majority rows are real rows: near chance
    # The overall figures dilute the broken class: per class is where it shows.
    assert bad["detection_auc"] > broken_report["headline"]["detection_auc"] + 0.05
    assert bad["column_pair_trends"] < broken_report["headline"]["column_pair_trends"] - 0.1
    assert section["max_rows_per_class"] == 500  # min(max_rows, PER_CLASS_MAX_ROWS)
    assert "per_class" in broken_report["timings_s"]


def test_a_real_holdout_looks_ideal_in_every_class(real):
    scores = per_class_scores(real, _table(600, 2), "y", random_state=0)
    for entry in scores["classes"].values():
        assert entry["status"] == "scored"
        assert entry["column_shapes"] > 0.85 and entry["column_pair_trends"] > 0.8
        assert entry["detection_auc"] < 0.65


def test_summary_json_and_html_carry_the_per_class_section(broken_report, tmp_path):
    summary = broken_report.summary()
    assert "\n" not in summary
    bad = broken_report["fidelity"]["per_class"]["classes"]["yes"]
    expected = (
        f"minority class 'yes': shapes {bad['column_shapes']:.3f}, pairs "
        f"{bad['column_pair_trends']:.3f}, detection AUC {bad['detection_auc']:.3f}"
    )
    assert expected in summary
    again = EvaluationReport.from_json(broken_report.to_json())
    assert again.summary() == summary
    assert json.loads(broken_report.to_json())["fidelity"]["per_class"]["classes"]["yes"] == bad
    page = broken_report.to_html(tmp_path / "report.html").read_text()
    assert "Per class of the target" in page and "(minority)" in page
    assert page.count("<td>&#x27;yes&#x27; <b>(minority)</b></td>") == 1
    assert f"<td class='n'>{bad['detection_auc']:.3f}</td>" in page
    overall = broken_report["headline"]["detection_auc"]
    assert "<td><i>all rows</i></td><td></td><td></td><td class='n'>" in page  # for comparison
    assert f"<td class='n'>{overall:.3f}</td><td></td></tr>" in page


@pytest.mark.filterwarnings("ignore:TSTR:UserWarning")  # utility warns of the missing class too
def test_a_class_without_synthetic_rows_is_reported_missing_not_a_crash(real, tmp_path):
    synthetic = _table(150, 3).query("y == 'no'")
    report = synthgan.evaluate(real.head(150), synthetic, target="y", max_rows=150)
    entry = report["fidelity"]["per_class"]["classes"]["yes"]
    assert entry["status"] == "missing" and entry["rows_synthetic"] == 0
    assert (
        entry["detection_auc"] is None
        and "does not generate it" in (entry["not_computed"]["detection_auc"])
    )
    assert "minority class 'yes': missing from synthetic (0 rows" in report.summary()
    page = _html_without_plots(report, tmp_path)
    assert "<td class='n flag'>0</td>" in page and "does not generate it" in page


def test_another_missing_class_is_named_in_the_summary():
    fidelity = {"per_class": {"target": "y", "minority_class": "c", "classes": {}}}
    for name, status in (("c", "scored"), ("b", "missing"), ("a", "scored")):
        entry = {
            "status": status,
            "rows_real": 10,
            "rows_synthetic": 0 if status == "missing" else 9,
        }
        entry.update(column_shapes=0.9, column_pair_trends=0.8, detection_auc=None)
        entry["not_computed"] = {"detection_auc": "too few rows"}
        fidelity["per_class"]["classes"][name] = entry
    report = EvaluationReport({"headline": {}, "fidelity": fidelity})
    assert report.summary() == (
        "minority class 'c': shapes 0.900, pairs 0.800, detection AUC not computed (too few "
        "rows), missing from synthetic: class(es) 'b'"
    )


def test_too_few_rows_for_detection_skips_that_figure_only(real):
    synthetic = pd.concat([_table(300, 4).query("y == 'no'"), real.query("y == 'yes'").head(8)])
    entry = per_class_scores(real, synthetic, "y")["classes"]["yes"]
    assert entry["rows_synthetic"] == 8 < PER_CLASS_MIN_ROWS["detection"]
    assert entry["status"] == "partial" and entry["detection_auc"] is None
    assert entry["column_shapes"] is not None  # shapes need fewer rows than a classifier
    assert (
        "too few rows for a detection classifier: 115 real and 8 synthetic"
        in (entry["not_computed"]["detection_auc"])
    )


def test_a_continuous_target_is_skipped_with_the_reason(real, tmp_path):
    report = synthgan.evaluate(real.head(120), _table(120, 5), target="x", max_rows=120)
    section = report["fidelity"]["per_class"]
    assert section["skipped"].startswith("target 'x' is continuous")
    assert "minority class" not in report.summary()
    assert "Skipped: target &#x27;x&#x27; is continuous" in _html_without_plots(report, tmp_path)


def test_many_classes_score_only_the_rarest():
    rng = np.random.default_rng(0)
    y = np.repeat([f"c{k:02d}" for k in range(12)], np.arange(12) + 6)  # c03 has 9 rows
    real = pd.DataFrame({"x": rng.normal(size=len(y)), "y": y})
    scores = per_class_scores(real, real.sample(frac=1.0, random_state=0), "y", max_classes=4)
    assert list(scores["classes"]) == ["c00", "c01", "c02", "c03"]
    assert scores["minority_class"] == "c00" and scores["n_classes"] == 12
    assert "the 4 rarest of 12 classes" in scores["rule"]
    assert [e["rows_synthetic"] for e in scores["classes"].values()] == [6, 7, 8, 9]


def test_numeric_classes_match_across_int_and_float():
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"x": rng.normal(size=90), "y": np.repeat([0, 1, 2], [10, 30, 50])})
    synthetic = real.assign(y=real["y"].astype(float))  # 1.0 is class 1
    scores = per_class_scores(real, synthetic, "y")
    assert list(scores["classes"]) == ["0", "1", "2"] and scores["minority_class"] == "0"
    assert [e["rows_synthetic"] for e in scores["classes"].values()] == [10, 30, 50]


def test_subsampling_is_seeded_and_bounded_by_max_rows(real):
    real, synthetic = real.head(200), _break_class(_table(200, 1), "yes")
    first = per_class_scores(real, synthetic, "y", max_rows=60, random_state=3)
    assert first == per_class_scores(real, synthetic, "y", max_rows=60, random_state=3)
    assert first["max_rows_per_class"] == 60
    other = per_class_scores(real, synthetic, "y", max_rows=60, random_state=4)
    assert other["classes"]["no"]["column_shapes"] != first["classes"]["no"]["column_shapes"]


def test_no_target_records_why_per_class_was_skipped(real):
    report = synthgan.evaluate(real, _table(200, 6), max_rows=200)
    assert report["fidelity"]["per_class"] == {
        "skipped": "no target column given (pass target=...)"
    }
