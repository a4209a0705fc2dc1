"""Machine-learning utility: train on synthetic, test on real (TSTR)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from synthgan.evaluation._prep import check_columns, is_numeric_feature, subsample

__all__ = ["TSTR_MODELS", "tstr_scores"]

_MISSING = "__missing__"

# Registry of the downstream classifiers: name -> factory(random_state). n_jobs=1 throughout,
# because the benchmark machine has 2 cores and a synthesizer may be training beside us.
TSTR_MODELS: dict[str, Callable[[int], object]] = {
    "logistic_regression": lambda seed: LogisticRegression(max_iter=1000),
    "random_forest": lambda seed: RandomForestClassifier(
        n_estimators=100, n_jobs=1, random_state=seed
    ),
    "hist_gradient_boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def _split_features(train: pd.DataFrame, test: pd.DataFrame, target: str):
    """Feature names, split into (numeric, categorical) from the dtypes of both frames."""
    features = [c for c in test.columns if c != target]
    check_columns(train, [*features, target], "training")
    # A column counts as numeric only if it is numeric in both frames; otherwise both sides are
    # compared as strings, so a generator that emits "3" where the data had 3 is not penalised.
    numeric = [c for c in features if is_numeric_feature(train[c]) and is_numeric_feature(test[c])]
    categorical = [c for c in features if c not in numeric]
    return numeric, categorical


def _as_strings(frame: pd.DataFrame, columns: list) -> pd.DataFrame:
    """Categorical columns as plain strings with missing values as their own category."""
    out = frame.copy()
    for col in columns:
        values = out[col].astype(object)
        out[col] = values.where(values.notna(), _MISSING).astype(str)
    return out


def _preprocessor(numeric: list, categorical: list) -> ColumnTransformer:
    """One preprocessing for every model: impute + scale numbers, one-hot categories."""
    num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    cat = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return ColumnTransformer([("num", num, numeric), ("cat", cat, categorical)])


def _encode_target(train_y: pd.Series, test_y: pd.Series):
    """Integer-encode the target over the union of labels seen in either frame."""
    union = pd.Index(pd.concat([train_y, test_y]).astype(object).unique())
    with contextlib.suppress(TypeError):  # mixed label types: keep first-seen order
        union = union.sort_values()
    return (
        union,
        union.get_indexer(train_y.astype(object)),
        union.get_indexer(test_y.astype(object)),
    )


def _auc_undefined_reason(y_train: np.ndarray, y_test: np.ndarray, labels: pd.Index):
    """Why ROC-AUC cannot be computed for these targets, or None when it can."""
    test_classes = np.unique(y_test)
    unseen = [labels[c] for c in test_classes if c not in set(np.unique(y_train))]
    if unseen:
        return f"the training frame lacks class(es) {unseen} present in the test frame"
    if len(test_classes) < 2:
        return "the test frame holds a single class"
    return None


def _roc_auc(y_test: np.ndarray, proba: np.ndarray) -> float:
    """Binary ROC-AUC, or macro one-vs-rest over the classes present in ``y_test``."""
    test_classes = np.unique(y_test)
    if len(test_classes) == 2:
        positive = test_classes[1]
        return float(roc_auc_score(y_test == positive, proba[:, positive]))
    # One-vs-rest by hand: sklearn's multiclass AUC needs rows summing to 1 over the classes of
    # y_test, which fails when the model also knows a class absent from the test frame.
    return float(np.mean([roc_auc_score(y_test == c, proba[:, c]) for c in test_classes]))


def _fit_predict(name: str, x_train, y_train, x_test, n_labels: int, seed: int):
    """Fit one model; return (predicted codes, probability matrix over all labels)."""
    seen = np.unique(y_train)
    proba = np.zeros((len(x_test), n_labels))  # (n_test, n_labels); unseen labels keep 0
    if len(seen) == 1:  # sklearn refuses one-class fits; the only sensible model is a constant
        proba[:, seen[0]] = 1.0
    else:
        model = TSTR_MODELS[name](seed).fit(x_train, y_train)
        proba[:, model.classes_] = model.predict_proba(x_test)
    return proba.argmax(axis=1), proba


def _score(y_test: np.ndarray, pred: np.ndarray, proba: np.ndarray, auc_ok: bool) -> dict:
    return {
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": float(f1_score(y_test, pred, average="macro", zero_division=0)),
        "roc_auc": _roc_auc(y_test, proba) if auc_ok else float("nan"),
    }


def _drop_missing_target(frame: pd.DataFrame, target: str, name: str) -> pd.DataFrame:
    if target not in frame.columns:
        raise ValueError(f"Target column {target!r} is not in the {name} frame.")
    kept = frame[frame[target].notna()]
    if len(kept) == 0:
        raise ValueError(f"The {name} frame has no rows with a value in target {target!r}.")
    return kept


def tstr_scores(
    train_synth: pd.DataFrame,
    test_real: pd.DataFrame,
    target: str,
    *,
    models: Iterable[str] = ("logistic_regression", "random_forest", "hist_gradient_boosting"),
    random_state: int = 0,
    max_train_rows: int | None = None,
) -> dict[str, dict[str, float]]:
    """Train classifiers on ``train_synth`` and score them on ``test_real`` (TSTR).

    Pass the real training frame as ``train_synth`` to get the train-real-test-real (TRTR)
    reference. One preprocessing, fitted on the training frame, feeds every model: numeric
    columns are median-imputed and standardised, the others one-hot encoded with missing values
    as a category and unknown test categories ignored. The target is encoded over the union of
    labels of both frames, so a synthetic frame that misses a class still scores: its
    ``roc_auc`` is then NaN and a ``UserWarning`` says why.

    Parameters
    ----------
    train_synth : DataFrame
        Training frame (synthetic, or real for TRTR); rows with a missing target are dropped.
    test_real : DataFrame
        Real holdout; its columns other than ``target`` are the features.
    target : str
        Classification target column.
    models : iterable of str
        Names from ``TSTR_MODELS``.
    random_state : int, default 0
        Seed of the models and of the ``max_train_rows`` subsample.
    max_train_rows : int, optional
        Subsample the training frame to this many rows first.

    Returns
    -------
    dict
        ``{model: {"accuracy", "macro_f1", "roc_auc"}}``.
    """
    unknown = [m for m in models if m not in TSTR_MODELS]
    if unknown:
        raise ValueError(f"Unknown TSTR model(s) {unknown}; choose from {sorted(TSTR_MODELS)}.")
    train = _drop_missing_target(
        subsample(train_synth, max_train_rows, random_state), target, "training"
    )
    test = _drop_missing_target(test_real, target, "test")
    numeric, categorical = _split_features(train, test, target)
    labels, y_train, y_test = _encode_target(train[target], test[target])
    prep = _preprocessor(numeric, categorical)
    x_train = prep.fit_transform(_as_strings(train, categorical))
    x_test = prep.transform(_as_strings(test, categorical))
    if len(np.unique(y_train)) == 1:
        warnings.warn(
            "TSTR: the training frame holds only one class; every model predicts it.",
            UserWarning,
            stacklevel=2,
        )
    reason = _auc_undefined_reason(y_train, y_test, labels)
    if reason:
        warnings.warn(f"TSTR roc_auc is NaN: {reason}.", UserWarning, stacklevel=2)
    results = {}
    for name in models:
        pred, proba = _fit_predict(name, x_train, y_train, x_test, len(labels), random_state)
        results[name] = _score(y_test, pred, proba, auc_ok=reason is None)
    return results
