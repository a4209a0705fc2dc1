"""Filters on generated rows for :class:`~synthgan.augmentation.Rebalancer` (private).

Each builder reads the real table once and returns ``check(rows, label) -> (keep, score)``: the
boolean mask of the generated rows of class ``label`` to keep, and a score that ranks them (higher
is better; None for the distance floor, which is a hard limit: a near-copy is never used). They
read the real rows outside any DP mechanism, so the rebalancer refuses them under differential
privacy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from synthgan.core.random import check_random_state, derive_seed
from synthgan.evaluation._neighbours import nearest
from synthgan.evaluation._prep import as_model_frame, feature_preprocessor, split_numeric
from synthgan.evaluation.privacy import encode_for_distance

Check = Callable[[pd.DataFrame, object], tuple[np.ndarray, np.ndarray | None]]


def classifier_filter(table: pd.DataFrame, target: str, confidence: float, sampler) -> Check:
    """Keep a generated row of class ``c`` unless a classifier trained on the real rows gives
    another class a probability of at least ``confidence``.

    The classifier weighs the classes equally (``class_weight="balanced"``): its probabilities
    are those of equal priors, so a row is judged by how much it looks like each class, not by
    how rare its class is (with the real priors, at 1:100 nearly every row of the rare class
    would be "confidently" of the majority)."""
    features = [c for c in table.columns if c != target]
    numeric, categorical = split_numeric(table, features)
    seed = derive_seed(check_random_state(sampler.random_state)) % 2**32
    model = make_pipeline(
        feature_preprocessor(numeric, categorical),
        HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
    )
    model.fit(as_model_frame(table[features], categorical), table[target].to_numpy())
    classes = list(model.classes_)

    def check(rows: pd.DataFrame, label) -> tuple[np.ndarray, np.ndarray]:
        proba = model.predict_proba(as_model_frame(rows[features], categorical))  # (n, classes)
        others = np.delete(proba, classes.index(label), axis=1).max(axis=1, initial=0.0)
        return others < confidence, 1.0 - others

    return check


def realism_filter(table: pd.DataFrame, target: str, confidence: float, sampler, model) -> Check:
    """Keep a generated row of class ``c`` unless a detector (gradient boosting, trained on the
    real rows of ``c`` against a pool of as many generated rows of ``c``, at least 200) calls it
    synthetic with probability at least ``confidence``. One detector per class, on first use."""
    features = [c for c in table.columns if c != target]
    rng = check_random_state(sampler.random_state)
    detectors: dict = {}

    def detector(label):
        real = table.loc[table[target] == label, features]
        pool = model.sample(max(len(real), 200), conditions={target: label},
                            random_state=derive_seed(rng))[features]  # fmt: skip
        both = pd.concat([real, pool], ignore_index=True)
        numeric, categorical = split_numeric(both, features)
        fitted = make_pipeline(
            feature_preprocessor(numeric, categorical),
            HistGradientBoostingClassifier(random_state=derive_seed(rng) % 2**32),
        ).fit(as_model_frame(both, categorical), np.r_[np.ones(len(real)), np.zeros(len(pool))])
        return fitted, categorical

    def check(rows: pd.DataFrame, label) -> tuple[np.ndarray, np.ndarray]:
        if label not in detectors:
            detectors[label] = detector(label.item() if isinstance(label, np.generic) else label)
        fitted, categorical = detectors[label]
        synthetic = fitted.predict_proba(as_model_frame(rows[features], categorical))[:, 0]
        return synthetic < confidence, 1.0 - synthetic

    return check


def distance_filter(table: pd.DataFrame, target: str, min_distance: float | str) -> Check:
    """Keep a generated row only if it is at least ``min_distance`` from every real row of its
    class, in the distance encoding of the privacy evaluation (fitted on all real rows).
    ``"auto"``: per class, the 5th percentile of its real rows' distances to their nearest other
    real row of the class."""
    features = [c for c in table.columns if c != target]
    encoding, (real,) = encode_for_distance(table[features], table[features])
    labels = table[target].to_numpy()
    floors: dict = {}

    def floor(label, reference: np.ndarray) -> float:
        if min_distance != "auto":
            return float(min_distance)
        if label not in floors:
            if len(reference) < 2:  # no pair of real rows to learn a spacing from
                floors[label] = 0.0
            else:
                distances, _ = nearest(reference, reference, k=2)  # (n, 2): itself, then next
                floors[label] = float(np.percentile(distances[:, 1], 5))
        return floors[label]

    def check(rows: pd.DataFrame, label) -> tuple[np.ndarray, None]:
        reference = real[labels == label]
        distances, _ = nearest(encoding.transform(rows[features]), reference)
        return distances[:, 0] >= floor(label, reference), None

    return check
