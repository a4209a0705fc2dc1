"""synthgan.evaluate_images: the report of real MNIST digits, ideal and copied."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import synthgan

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "images" / "mnist.npz"


@pytest.fixture(scope="module")
def digits():
    with np.load(MNIST, allow_pickle=False) as data:
        x, y = data["x_train"][:2400], data["y_train"][:2400]
    return (x[:1000], y[:1000]), (x[1000:1600], y[1000:1600]), (x[1600:], y[1600:])


def _report(digits, generated, labels):
    (train, y_train), _, (holdout, y_holdout) = digits
    return synthgan.evaluate_images(
        train, generated, y_train, labels, holdout=holdout[:600], holdout_labels=y_holdout[:600],
        classifier_epochs=1, max_images=None,
    )  # fmt: skip


def test_fresh_digits_look_ideal_and_copies_are_flagged(digits, tmp_path):
    (train, y_train), (fresh, y_fresh), _ = digits
    ideal = _report(digits, fresh, y_fresh)
    copied = _report(digits, train[:600], y_train[:600])
    assert ideal["verdict"]["level"] == "low"
    assert copied["verdict"]["level"] == "high"
    assert copied["headline"]["memorisation_share"] > ideal["headline"]["memorisation_share"] + 0.2
    assert ideal["headline"]["tstr_image_accuracy"] > 0.8
    html = ideal.to_html(tmp_path / "images.html").read_text()
    assert html.count("data:image/png;base64,") >= 2  # generated and real grids
    assert "Images" in html and "Leakage verdict: low" in html
    assert synthgan.EvaluationReport.from_json(ideal.to_json()).summary() == ideal.summary()
