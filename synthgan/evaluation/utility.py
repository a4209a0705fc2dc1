"""Machine-learning utility: train on synthetic, test on real (TSTR), against train-real-test-real
(TRTR), and the augmentation gain of adding synthetic rows to the real ones.

Every TSTR figure has two references beside it: TRTR (what the real data achieves) and a
trivial baseline that looks at no feature: always predicting the most frequent class of the real
training rows (accuracy = the majority-class rate of the test rows, ROC-AUC 0.5), or the mean of
the real training target for regression (R² near 0). A TSTR accuracy equal to the majority rate
means the synthetic data taught the models nothing, however high the number looks.

Classification targets are scored with accuracy, macro-F1 and ROC-AUC; numeric targets (more
than ``REGRESSION_MIN_UNIQUE`` distinct numbers) with R² and RMSE. The models are logistic /
ridge regression, random forest and histogram gradient boosting, plus xgboost when it is
installed (it is not a dependency).
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score, roc_auc_score

from synthgan.evaluation._prep import (
    as_model_frame,
    check_columns,
    feature_preprocessor,
    split_numeric,
    subsample,
)

__all__ = [
    "REGRESSION_MODELS",
    "TSTR_MODELS",
    "baseline_scores",
    "tstr_scores",
    "utility_scores",
]

REGRESSION_MIN_UNIQUE = 10

# Registries of the downstream models: name -> factory(random_state). n_jobs=1 throughout,
# because the benchmark machine has 2 cores and a synthesizer may be training beside us.
TSTR_MODELS: dict[str, Callable[[int], object]] = {
    "logistic_regression": lambda seed: LogisticRegression(max_iter=1000),
    "random_forest": lambda seed: RandomForestClassifier(
        n_estimators=100, n_jobs=1, random_state=seed
    ),
    "hist_gradient_boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}
REGRESSION_MODELS: dict[str, Callable[[int], object]] = {
    "ridge_regression": lambda seed: Ridge(alpha=1.0),
    "random_forest": lambda seed: RandomForestRegressor(
        n_estimators=100, n_jobs=1, random_state=seed
    ),
    "hist_gradient_boosting": lambda seed: HistGradientBoostingRegressor(random_state=seed),
}
if importlib.util.find_spec("xgboost") is not None:  # optional: used when installed
    TSTR_MODELS["xgboost"] = lambda seed: __import__("xgboost").XGBClassifier(
        n_estimators=200, n_jobs=1, random_state=seed
    )
    REGRESSION_MODELS["xgboost"] = lambda seed: __import__("xgboost").XGBRegressor(
        n_estimators=200, n_jobs=1, random_state=seed
    )


def infer_task(target: pd.Series) -> str:
    """``"regression"`` for a numeric target with more than ``REGRESSION_MIN_UNIQUE`` distinct
    values, else ``"classification"``."""
    numeric = ptypes.is_numeric_dtype(target.dtype) and not ptypes.is_bool_dtype(target.dtype)
    if numeric and target.nunique(dropna=True) > REGRESSION_MIN_UNIQUE:
        return "regression"
    return "classification"


def _registry(task: str) -> dict:
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    return TSTR_MODELS if task == "classification" else REGRESSION_MODELS


def _features(train: pd.DataFrame, test: pd.DataFrame, target: str):
    """Design matrices of both frames, one preprocessing fitted on ``train``."""
    features = [c for c in test.columns if c != target]
    check_columns(train, [*features, target], "training")
    numeric, categorical = split_numeric(train, features, test)
    prep = feature_preprocessor(numeric, categorical)
    x_train = prep.fit_transform(as_model_frame(train[features], categorical))
    return x_train, prep.transform(as_model_frame(test[features], categorical))


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
        raise ValueError(
            f"Target column {target!r} is not in the {name} frame; it has {list(frame.columns)}."
        )
    kept = frame[frame[target].notna()]
    if len(kept) == 0:
        raise ValueError(f"The {name} frame has no rows with a value in target {target!r}.")
    return kept


def _classification(train, test, target, models, seed) -> dict:
    labels, y_train, y_test = _encode_target(train[target], test[target])
    x_train, x_test = _features(train, test, target)
    if len(np.unique(y_train)) == 1:
        warnings.warn(
            "TSTR: the training frame holds only one class; every model predicts it.",
            UserWarning,
            stacklevel=3,
        )
    reason = _auc_undefined_reason(y_train, y_test, labels)
    if reason:
        warnings.warn(f"TSTR roc_auc is NaN: {reason}.", UserWarning, stacklevel=3)
    results = {}
    for name in models:
        pred, proba = _fit_predict(name, x_train, y_train, x_test, len(labels), seed)
        results[name] = _score(y_test, pred, proba, auc_ok=reason is None)
    return results


def _regression(train, test, target, models, seed) -> dict:
    y_train = pd.to_numeric(train[target], errors="coerce").to_numpy(dtype=float)
    y_test = pd.to_numeric(test[target], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y_train).any() or np.isnan(y_test).any():
        raise ValueError(f"Regression target {target!r} holds values that are not numbers.")
    x_train, x_test = _features(train, test, target)
    results = {}
    for name in models:
        pred = REGRESSION_MODELS[name](seed).fit(x_train, y_train).predict(x_test)
        results[name] = {
            "r2": float(r2_score(y_test, pred)),
            "rmse": float(np.sqrt(mean_squared_error(y_test, pred))),
        }
    return results


def tstr_scores(
    train_synth: pd.DataFrame,
    test_real: pd.DataFrame,
    target: str,
    *,
    models: Iterable[str] | None = None,
    task: str | None = None,
    random_state: int = 0,
    max_train_rows: int | None = None,
) -> dict[str, dict[str, float]]:
    """Train models on ``train_synth`` and score them on ``test_real`` (TSTR).

    Pass the real training frame as ``train_synth`` to get the train-real-test-real (TRTR)
    reference. One preprocessing, fitted on the training frame, feeds every model: numeric and
    datetime columns are median-imputed and standardised, the others one-hot encoded (missing
    values as a category, unknown test categories ignored, at most 50 columns per feature).
    For classification the target is encoded over the union of labels of both frames, so a
    synthetic frame that misses a class still scores: its ``roc_auc`` is then NaN and a
    ``UserWarning`` says why.

    Parameters
    ----------
    train_synth : DataFrame
        Training frame (synthetic, or real for TRTR); rows with a missing target are dropped.
    test_real : DataFrame
        Real holdout; its columns other than ``target`` are the features.
    target : str
        Target column.
    models : iterable of str, optional
        Names from ``TSTR_MODELS`` (classification) or ``REGRESSION_MODELS``; default all.
    task : {"classification", "regression"}, optional
        Inferred from the real target when omitted (see :func:`infer_task`).
    random_state : int, default 0
        Seed of the models and of the ``max_train_rows`` subsample.
    max_train_rows : int, optional
        Subsample the training frame to this many rows first.

    Returns
    -------
    dict
        ``{model: {"accuracy", "macro_f1", "roc_auc"}}`` or ``{model: {"r2", "rmse"}}``.
    """
    test = _drop_missing_target(test_real, target, "test")
    task = task or infer_task(test[target])
    registry = _registry(task)
    models = list(registry) if models is None else list(models)
    unknown = [m for m in models if m not in registry]
    if unknown:
        raise ValueError(f"Unknown {task} model(s) {unknown}; choose from {sorted(registry)}.")
    train = _drop_missing_target(
        subsample(train_synth, max_train_rows, random_state), target, "training"
    )
    fit = _classification if task == "classification" else _regression
    return fit(train, test, target, models, random_state)


def baseline_scores(real_train: pd.DataFrame, test: pd.DataFrame, target: str, task: str) -> dict:
    """The scores of a model that ignores every feature, on the ``test`` rows.

    Classification: always predict the most frequent class of ``real_train`` (ties: the first
    in sorted order); its accuracy on ``test`` is the majority-class rate and its ROC-AUC is 0.5
    by definition (a constant score ranks nothing). Regression: always predict the mean of the
    ``real_train`` target (R² near 0, slightly below when the test mean differs).

    Parameters
    ----------
    real_train : DataFrame
        The real training rows; rows with a missing target are ignored.
    test : DataFrame
        The real test rows, with a value in ``target``.
    target : str
        Target column.
    task : {"classification", "regression"}
        As in :func:`tstr_scores`.

    Returns
    -------
    dict
        ``strategy`` ("majority_class" with ``class`` and the metrics of :func:`tstr_scores`, or
        "training_mean" with ``mean``, ``r2`` and ``rmse``).
    """
    train_y = _drop_missing_target(real_train, target, "training")[target]
    if _registry(task) is REGRESSION_MODELS:
        mean = float(pd.to_numeric(train_y, errors="coerce").mean())
        y_test = pd.to_numeric(test[target], errors="coerce").to_numpy(dtype=float)
        pred = np.full(len(y_test), mean)
        rmse = float(np.sqrt(mean_squared_error(y_test, pred)))
        return {
            "strategy": "training_mean",
            "mean": mean,
            "r2": float(r2_score(y_test, pred)),
            "rmse": rmse,
        }
    counts = train_y.astype(str).value_counts()
    majority = sorted(counts.index[counts == counts.max()])[0]
    y_test = test[target].astype(str).to_numpy()
    pred = np.full(len(y_test), majority, dtype=object)
    return {
        "strategy": "majority_class",
        "class": majority,
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": float(f1_score(y_test, pred, average="macro", zero_division=0)),
        "roc_auc": 0.5 if len(np.unique(y_test)) > 1 else float("nan"),
    }


def _differences(a: dict, b: dict) -> dict:
    """``a - b`` for every model and metric present in both (None where either is NaN)."""
    out = {}
    for model, metrics in a.items():
        out[model] = {}
        for key, value in metrics.items():
            diff = value - b[model][key]
            out[model][key] = None if np.isnan(diff) else float(diff)
    return out


def utility_scores(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    *,
    models: Iterable[str] | None = None,
    task: str | None = None,
    max_train_rows: int | None = None,
    random_state: int = 0,
) -> dict:
    """TSTR against TRTR, and the augmentation gain of real + synthetic over real alone.

    Every model is trained three times (on ``synthetic``, on ``real_train``, and on both
    concatenated) and scored on the same real ``test`` frame, which the synthesizer must not
    have seen.

    Returns
    -------
    dict
        ``task``, ``target``, ``n_test``, ``tstr``, ``trtr``, ``augmented`` (per-model metric
        dicts), ``baseline`` (see :func:`baseline_scores`: the majority-class or training-mean
        reference), ``tstr_minus_trtr`` and ``augmentation_gain`` (``augmented - trtr``:
        positive means the synthetic rows helped).
    """
    test = _drop_missing_target(test, target, "test")
    task = task or infer_task(test[target])
    options = {"models": models, "task": task, "random_state": random_state}
    real = subsample(real_train, max_train_rows, random_state)
    synth = subsample(synthetic, max_train_rows, random_state)
    tstr = tstr_scores(synth, test, target, **options)
    trtr = tstr_scores(real, test, target, **options)
    both = pd.concat([real, synth[list(real.columns)]], ignore_index=True)
    augmented = tstr_scores(both, test, target, **options)
    return {
        "task": task,
        "target": target,
        "n_test": len(test),
        "n_train_real": len(real),
        "n_train_synthetic": len(synth),
        "tstr": tstr,
        "trtr": trtr,
        "augmented": augmented,
        "baseline": baseline_scores(real, test, target, task),
        "tstr_minus_trtr": _differences(tstr, trtr),
        "augmentation_gain": _differences(augmented, trtr),
    }
