"""Statistical fidelity of a synthetic table: sdmetrics quality scores and class balance."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import pandas as pd
from pandas.api import types as ptypes

from synthgan.evaluation._prep import check_columns, is_numeric_feature, subsample

__all__ = ["class_balance", "quality_scores", "sdmetrics_metadata"]

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
        if name in specs:
            columns[name] = _sdtype_from_spec(name, specs[name])
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

    Returns
    -------
    dict
        ``overall``, ``column_shapes`` and ``column_pair_trends`` (floats in [0, 1], 1 is
        ideal), ``n_rows_used`` (real rows scored) and ``n_synthetic_rows_used``.

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
    return {
        "overall": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "column_pair_trends": float(props["Column Pair Trends"]),
        "n_rows_used": len(real_sub),
        "n_synthetic_rows_used": len(synth_sub),
    }


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
