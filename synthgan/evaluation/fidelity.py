"""Statistical fidelity of a synthetic table: sdmetrics quality scores and class balance."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from synthgan.evaluation._prep import (
    as_model_frame,
    check_columns,
    feature_preprocessor,
    is_numeric_feature,
    split_numeric,
    subsample,
)

__all__ = ["class_balance", "detection_scores", "quality_scores", "sdmetrics_metadata"]

# Our metadata "type" names (and a few aliases) -> sdmetrics sdtypes.
_SDTYPES = {
    "continuous": "numerical",
    "numerical": "numerical",
    "numeric": "numerical",
    "integer": "numerical",
    "float": "numerical",
    "discrete": "categorical",
    "categorical": "categorical",
    "ordinal": "categorical",
    "string": "categorical",
    "boolean": "boolean",
    "bool": "boolean",
    "datetime": "datetime",
    "id": "id",
}


def _sdtype_from_dtype(series: pd.Series) -> str:
    if ptypes.is_bool_dtype(series.dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    return "numerical" if is_numeric_feature(series) else "categorical"


def _sdtype_from_spec(name: str, spec: Mapping) -> dict:
    if "sdtype" in spec:  # already in sdmetrics' vocabulary: pass through untouched
        return dict(spec)
    kind = spec.get("type")
    if kind not in _SDTYPES:
        raise ValueError(
            f"Column {name!r}: metadata type {kind!r} is not understood. "
            f"Use one of {sorted(_SDTYPES)} (or give an sdmetrics 'sdtype')."
        )
    column = {"sdtype": _SDTYPES[kind]}
    fmt = spec.get("datetime_format", spec.get("format"))
    if column["sdtype"] == "datetime" and fmt:
        column["datetime_format"] = fmt
    return column


def sdmetrics_metadata(data: pd.DataFrame, metadata: Mapping | None = None) -> dict:
    """Build the sdmetrics single-table metadata dict for the columns of ``data``.

    Parameters
    ----------
    data : DataFrame
        The real table; every one of its columns gets an entry.
    metadata : mapping, optional
        synthgan metadata ``{"columns": {name: {"type": "continuous" | "discrete" | ...}}}``.
        Columns it does not mention are typed from their dtype (numbers are numerical,
        booleans boolean, datetimes datetime, everything else categorical).

    Returns
    -------
    dict
        ``{"columns": {name: {"sdtype": ...}}}`` as sdmetrics expects.
    """
    specs = dict((metadata or {}).get("columns", {}))
    columns = {}
    for name in data.columns:
        spec = specs.get(name, {})
        if "type" not in spec and spec.get("kind") not in (None, "constant", "text"):
            spec = {**spec, "type": spec["kind"]}  # "kind" is the newer spelling of "type"
        if "type" in spec or "sdtype" in spec:
            columns[name] = _sdtype_from_spec(name, spec)
        else:
            columns[name] = {"sdtype": _sdtype_from_dtype(data[name])}
    return {"columns": columns}


def _make_report():
    # The single-table report is deprecated in favour of the unified one, which scores the same
    # two properties; we keep it because its API is stable across sdmetrics 0.17 - 0.32.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sdmetrics.reports.single_table import QualityReport
    return QualityReport()


def quality_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    metadata: Mapping | None = None,
    *,
    max_rows: int | None = 5000,
    random_state=0,
    details: bool = False,
) -> dict:
    """Score how well ``synthetic`` reproduces ``real`` with sdmetrics' QualityReport.

    Both frames are subsampled (seeded) to at most ``max_rows`` rows first, which keeps the
    report to a few seconds on tables such as Adult (about 5 s for 5000 rows on 2 cores).

    Parameters
    ----------
    real, synthetic : DataFrame
        The real table and a synthetic table with (at least) the same columns.
    metadata : mapping, optional
        synthgan metadata (see :func:`sdmetrics_metadata`); column types are inferred from the
        dtypes of ``real`` where it is missing.
    max_rows : int or None, default 5000
        Rows drawn from each frame; ``None`` scores every row.
    random_state : int, RandomState or None, default 0
        Seed of the subsampling.
    details : bool, default False
        Also return the per-column and per-pair scores.

    Returns
    -------
    dict
        ``overall``, ``column_shapes`` and ``column_pair_trends`` (floats in [0, 1], 1 is
        ideal), ``n_rows_used`` (real rows scored) and ``n_synthetic_rows_used``. With
        ``details``: ``columns`` (``{column: {"metric", "score"}}``) and ``pairs`` (a list of
        ``{"columns", "metric", "score", "real", "synthetic"}``; ``real`` and ``synthetic`` are
        the two correlations of numeric pairs). sdmetrics (0.32) scores only the pairs whose real
        association reaches its threshold; the others have ``score`` None and are left out of
        ``column_pair_trends``.

    Examples
    --------
    >>> scores = quality_scores(train, synthetic)  # doctest: +SKIP
    >>> scores["column_pair_trends"]  # doctest: +SKIP
    0.87
    """
    check_columns(synthetic, list(real.columns), "synthetic")
    real_sub = subsample(real, max_rows, random_state).reset_index(drop=True)
    synth_sub = subsample(synthetic[list(real.columns)], max_rows, random_state)
    synth_sub = synth_sub.reset_index(drop=True)
    report = _make_report()
    with warnings.catch_warnings():
        # scipy's KS test notes when it falls back to the asymptotic p-value; not actionable here.
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation", RuntimeWarning)
        report.generate(real_sub, synth_sub, sdmetrics_metadata(real, metadata), verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    scores = {
        "overall": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
        "n_rows_used": len(real_sub),
        "n_synthetic_rows_used": len(synth_sub),
    }
    if details:
        scores.update(_quality_details(report))
    return scores


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _quality_details(report) -> dict:
    shapes = report.get_details("Column Shapes")
    columns = {
        str(row["Column"]): {"metric": str(row["Metric"]), "score": _number(row["Score"])}
        for _, row in shapes.iterrows()
    }
    pairs = []
    for _, row in report.get_details("Column Pair Trends").iterrows():
        pairs.append(
            {
                "columns": [str(row["Column 1"]), str(row["Column 2"])],
                "metric": str(row["Metric"]),
                "score": _number(row["Score"]),
                "real": _number(row.get("Real Correlation")),
                "synthetic": _number(row.get("Synthetic Correlation")),
            }
        )
    return {"columns": columns, "pairs": pairs}


# Detection classifiers: name -> factory(seed). n_jobs=1: 2-core machines, see utility.py.
DETECTION_MODELS = {
    "logistic_regression": lambda seed: LogisticRegression(max_iter=1000),
    "gradient_boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def detection_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    models: Iterable[str] = tuple(DETECTION_MODELS),
    max_rows: int | None = 5000,
    n_folds: int = 3,
    random_state=0,
) -> dict:
    """How well a classifier tells synthetic rows from real ones (ROC-AUC 0.5 is ideal).

    Equal numbers of real and synthetic rows (at most ``max_rows`` each, seeded) are labelled
    0 and 1 and scored by stratified ``n_folds``-fold cross-validation; the preprocessing is
    fitted inside each fold. An AUC of 0.5 means the classifier cannot tell them apart; 1.0
    means every synthetic row is recognisable.

    Returns
    -------
    dict
        ``{model: {"roc_auc", "roc_auc_std"}}`` plus ``score``: ``1 - 2 * (max AUC - 0.5)``
        clipped to [0, 1] (1 ideal, 0 perfectly separable) and ``n_rows_used`` per side.
    """
    unknown = [m for m in models if m not in DETECTION_MODELS]
    if unknown:
        raise ValueError(
            f"Unknown detection model(s) {unknown}; choose {sorted(DETECTION_MODELS)}."
        )
    check_columns(synthetic, list(real.columns), "synthetic")
    size = min(len(real), len(synthetic), max_rows or max(len(real), len(synthetic)))
    if size < 2 * n_folds:
        raise ValueError(f"Detection needs at least {2 * n_folds} rows on each side, got {size}.")
    frame = pd.concat(
        [
            subsample(real, size, random_state),
            subsample(synthetic[list(real.columns)], size, random_state),
        ],
        ignore_index=True,
    )
    labels = np.repeat([0, 1], size)
    numeric, categorical = split_numeric(frame, list(frame.columns))
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    results = {}
    for name in models:
        pipe = make_pipeline(
            feature_preprocessor(numeric, categorical), DETECTION_MODELS[name](random_state)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            aucs = cross_val_score(
                pipe, as_model_frame(frame, categorical), labels, cv=folds, scoring="roc_auc"
            )
        results[name] = {"roc_auc": float(aucs.mean()), "roc_auc_std": float(aucs.std())}
    worst = max(r["roc_auc"] for r in results.values())
    results["score"] = float(np.clip(1.0 - 2.0 * (worst - 0.5), 0.0, 1.0))
    results["n_rows_used"] = int(size)
    return results


def class_balance(df: pd.DataFrame, column: str) -> dict[str, float]:
    """Share of each value of ``column`` (missing values counted as ``"NaN"``), largest first.

    >>> class_balance(pd.DataFrame({"y": ["a", "b", "a", "a"]}), "y")
    {'a': 0.75, 'b': 0.25}
    """
    check_columns(df, [column], "given")
    if len(df) == 0:
        return {}
    shares = df[column].value_counts(normalize=True, dropna=False)
    return {("NaN" if pd.isna(k) else str(k)): float(v) for k, v in shares.items()}
