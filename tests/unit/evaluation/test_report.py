"""EvaluationReport: dict / JSON / summary / HTML, and the leakage verdict."""

from __future__ import annotations

import base64
import json
import math

import pytest

from synthgan.evaluation import LEAKAGE_THRESHOLDS, EvaluationReport, leakage_verdict


def _results(**privacy) -> dict:
    return {
        "kind": "table",
        "synthgan_version": "test",
        "data": {"real_train_rows": 10, "synthetic_rows": 10, "columns": ["a", "b"]},
        "headline": {"column_pair_trends": 0.8, "membership_inference_auc": 0.51},
        "fidelity": {"quality": {"overall": 0.9, "column_shapes": float("nan")}},
        "privacy": privacy or {"skipped": "no holdout"},
        "verdict": leakage_verdict({"membership_inference_auc": 0.51}),
        "plots": {
            "columns": [
                {"column": "a", "labels": ["x", "y"], "real": [0.5, 0.5], "synthetic": [0.4, 0.6]}
            ],
            "pair_trends": {"columns": ["a", "b"], "matrix": [[1.0, None], [None, 1.0]]},
        },
    }


def test_verdict_levels_follow_the_stated_thresholds():
    elevated, high = LEAKAGE_THRESHOLDS["membership_inference_auc"]
    assert leakage_verdict({"membership_inference_auc": 0.5})["level"] == "low"
    assert leakage_verdict({"membership_inference_auc": (elevated + high) / 2})["level"] == (
        "elevated"
    )
    worst = leakage_verdict({"membership_inference_auc": 0.5, "dcr_copy_fraction": 0.9})
    assert worst["level"] == "high"
    assert "closer to training records" in worst["text"]
    assert worst["thresholds"]["dcr_copy_fraction"] == list(LEAKAGE_THRESHOLDS["dcr_copy_fraction"])
    # Figures without a threshold (the raw share) are reported elsewhere, not judged.
    assert leakage_verdict({"share_closer_to_train": 0.9})["level"] is None
    assert leakage_verdict({"membership_inference_auc": None})["level"] is None


def test_dict_json_round_trip_and_nan_become_null(tmp_path):
    report = EvaluationReport(_results())
    data = report.to_dict()
    assert math.isnan(data["fidelity"]["quality"]["column_shapes"])
    text = report.to_json()
    assert json.loads(text)["fidelity"]["quality"]["column_shapes"] is None
    again = EvaluationReport.from_json(text)
    assert again["headline"] == report["headline"]
    path = report.to_json(tmp_path / "r.json")
    assert EvaluationReport.from_json(path)["kind"] == "table"
    with pytest.raises(FileExistsError):
        report.to_json(tmp_path / "r.json")
    assert "plots" not in report.to_dict(plots=False)
    data["headline"]["column_pair_trends"] = 0.0  # a copy: the report is unchanged
    assert report["headline"]["column_pair_trends"] == 0.8


def test_summary_is_one_line_with_the_headline_and_verdict():
    summary = EvaluationReport(_results()).summary()
    assert "\n" not in summary
    assert "column_pair_trends=0.800" in summary and "leakage=low" in summary


def test_html_is_self_contained(tmp_path):
    path = EvaluationReport(_results()).to_html(tmp_path / "report.html")
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "Leakage verdict: low" in html
    assert "http://" not in html and "https://" not in html  # nothing fetched at view time
    images = html.split("data:image/png;base64,")[1:]
    assert len(images) >= 2  # per-column distributions and the pair heatmap
    for chunk in images:
        assert base64.b64decode(chunk.split("'")[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Skipped: no holdout" in html
    with pytest.raises(FileExistsError):
        EvaluationReport(_results()).to_html(path)
