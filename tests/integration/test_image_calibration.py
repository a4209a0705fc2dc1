"""Calibration of the image metrics on real MNIST digits (DESIGN.md §6).

Four "generators" are scored against one 2000-image training set and a 2000-image holdout:

* ``fresh``: 1000 other real training digits, never passed as ``real``: an ideal generator.
* ``copied``: the training images themselves: perfect fidelity, but a leak to be caught.
* ``one_class``: 1000 real digits of class 1 only: realistic, but no diversity.
* ``shuffled``: the fresh digits with their pixels permuted: no digit structure left.

Train and holdout have the same size, so a generator that copies its training images has
nothing diluting its memorisation share (``share_if_copied`` is 1). Train, holdout and the
fresh digits are disjoint draws from one pool (MNIST's training split), as DESIGN.md §6 asks:
MNIST's test split has other writers, and fresh training-split digits sit measurably closer to
training-split digits than to test-split ones (pixel share 0.58 with 5000 images, not 0.5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthgan.evaluation.images import image_scores

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "images" / "mnist.npz"
N_TRAIN, N_FRESH, N_HOLDOUT = 2000, 1000, 2000
OPTIONS = {"classifier_epochs": 2, "max_images": None, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    if not MNIST.is_file():
        raise FileNotFoundError(
            f"{MNIST} is missing: the calibration reads the shared MNIST copy beside the repo "
            "(see shared/data/images/README.md)."
        )
    with np.load(MNIST, allow_pickle=False) as data:
        x_train, y_train = data["x_train"], data["y_train"]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x_train))
    cuts = np.cumsum([N_TRAIN, N_FRESH, N_HOLDOUT])
    train, fresh, holdout, rest = np.split(order, cuts)
    ones = rest[y_train[rest] == 1][:N_FRESH]
    pixels = rng.permuted(x_train[fresh].reshape(N_FRESH, -1), axis=1)  # per-image shuffle
    return {
        "train": (x_train[train], y_train[train]),
        "holdout": (x_train[holdout], y_train[holdout]),
        "fresh": (x_train[fresh], y_train[fresh]),
        "copied": (x_train[train], y_train[train]),
        "one_class": (x_train[ones], y_train[ones]),
        "shuffled": (pixels.reshape(N_FRESH, 28, 28), y_train[fresh]),
    }


@pytest.fixture(scope="module")
def scores(digits):
    (x_train, y_train), (x_holdout, y_holdout) = digits["train"], digits["holdout"]
    return {
        name: image_scores(x_train, x, y_train, y, x_holdout, y_holdout, **OPTIONS)
        for name, (x, y) in digits.items()
        if name in ("fresh", "copied", "one_class", "shuffled")
    }


def test_unseen_real_digits_look_ideal(scores):
    fresh = scores["fresh"]
    baseline = fresh["holdout_baseline"]  # the holdout scored the same way
    assert fresh["memorisation"]["share_if_copied"] == 1.0
    for space in ("pixel", "feature"):
        assert fresh["memorisation"][space]["share_closer_to_train"] == pytest.approx(0.5, abs=0.05)
    assert fresh["exact_copy_rate"] <= fresh["exact_copy_rate_holdout_baseline"] + 0.002
    for metric in ("precision", "recall", "coverage"):
        assert fresh[metric] > 0.75
    # Coverage grows with the number of generated images (1000 here, 2000 in the baseline).
    for metric in ("precision", "recall"):
        assert fresh[metric] == pytest.approx(baseline[metric], abs=0.06)
    assert fresh["density"] == pytest.approx(baseline["density"], rel=0.15)
    assert fresh["tstr"]["accuracy"] > 0.8
    assert fresh["tstr"]["accuracy"] == pytest.approx(fresh["trtr"]["accuracy"], abs=0.05)


def test_copies_of_the_training_set_are_caught(scores):
    copied, fresh = scores["copied"], scores["fresh"]
    assert copied["exact_copy_rate"] == 1.0 and fresh["exact_copy_rate"] == 0.0
    for space in ("pixel", "feature"):
        assert copied["memorisation"][space]["share_closer_to_train"] >= 0.99
    # The fidelity metrics alone would praise this "generator": only memorisation flags it.
    assert copied["frechet_distance"] < fresh["frechet_distance"]
    assert copied["precision"] == copied["recall"] == copied["coverage"] == 1.0


@pytest.mark.parametrize("degraded", ["one_class", "shuffled"])
def test_degraded_sets_score_clearly_worse(scores, degraded):
    fresh, bad = scores["fresh"], scores[degraded]
    assert bad["frechet_distance"] > 5 * fresh["frechet_distance"]
    assert bad["kid"]["mean"] > 5 * max(fresh["kid"]["mean"], fresh["kid"]["std"])
    assert bad["recall"] < fresh["recall"] - 0.3
    assert bad["coverage"] < fresh["coverage"] - 0.3
    assert bad["tstr"]["accuracy"] < fresh["tstr"]["accuracy"] - 0.3


def test_precision_and_recall_separate_fidelity_from_diversity(scores):
    one_class, shuffled = scores["one_class"], scores["shuffled"]
    # Real digits of one class are realistic (high precision) but cover little (low recall);
    # shuffled pixels are realistic nowhere.
    assert one_class["precision"] > one_class["recall"] + 0.3
    assert shuffled["precision"] < 0.2 < one_class["precision"]
