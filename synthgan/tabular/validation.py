"""Checks on the training table and the choice of each column's model.

Every problem is reported with the column's name, what was found and what to do. Problems that
make the data impossible to model faithfully raise :class:`DataValidationError`; data that is
still usable but deserves the user's attention (a constant column, an ID-like column) gives a
:class:`UserWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthgan.exceptions import DataValidationError

__all__ = ["ColumnPlan", "as_frame", "plan_columns"]

Kind = Literal["continuous", "discrete", "constant"]
_METADATA_TYPES = {
    "continuous": "continuous",
    "numerical": "continuous",
    "datetime": "continuous",
    "discrete": "discrete",
    "categorical": "discrete",
    "boolean": "discrete",
}


@dataclass(frozen=True)
class ColumnPlan:
    """How one column will be modelled."""

    name: str
    kind: Kind
    bounds: tuple[float | None, float | None] = (None, None)
    compact: bool = False  # a high-cardinality discrete column, encoded with an "other" slot


def as_frame(data: Any, *, min_rows: int = 2) -> pd.DataFrame:
    """Check that ``data`` is a usable DataFrame (or read it if it is a path)."""
    if isinstance(data, (str,)) or hasattr(data, "__fspath__"):
        from synthgan.io import read_table

        data = read_table(data)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"Training data must be a pandas DataFrame or a path to a CSV/Parquet file, got "
            f"{type(data).__name__}. Wrap arrays with pandas.DataFrame(array, columns=[...])."
        )
    if data.shape[1] == 0:
        raise DataValidationError("The training DataFrame has no columns.")
    if len(data) < min_rows:
        raise DataValidationError(
            f"The training DataFrame has {len(data)} row(s); at least {min_rows} are needed to "
            "learn a distribution (and many more for a useful one)."
        )
    duplicated = data.columns[data.columns.duplicated()].tolist()
    if duplicated:
        raise DataValidationError(f"Column names must be unique; repeated: {duplicated}.")
    bad_names = [c for c in data.columns if not isinstance(c, str)]
    if bad_names:
        raise DataValidationError(
            f"Column names must be strings; got {bad_names!r}. Rename them, e.g. "
            "df.columns = df.columns.astype(str)."
        )
    return data


def plan_columns(
    df: pd.DataFrame,
    *,
    discrete_columns: Iterable[str] | None,
    metadata: Mapping[str, Any] | None,
    high_cardinality_threshold: int,
) -> list[ColumnPlan]:
    """Decide, column by column, how to model ``df``; validates the data on the way."""
    column_meta = _column_metadata(df, metadata)
    discrete = set(discrete_columns or ())
    unknown = sorted(discrete - set(df.columns))
    if unknown:
        raise DataValidationError(
            f"discrete_columns names {unknown}, which are not columns of the data "
            f"(columns: {list(df.columns)})."
        )
    plans = []
    for name in df.columns:
        series = df[name]
        meta = column_meta.get(name, {})
        kind = _declared_kind(name, meta, discrete) or _inferred_kind(series)
        _check_values(series, kind)
        if series.nunique(dropna=False) <= 1:
            _warn_constant(series)
            plans.append(ColumnPlan(name, "constant"))
            continue
        bounds = (meta.get("min"), meta.get("max"))
        compact = kind == "discrete" and _is_high_cardinality(series, high_cardinality_threshold)
        plans.append(ColumnPlan(name, kind, bounds, compact))
    return plans


def _column_metadata(df: pd.DataFrame, metadata: Mapping[str, Any] | None) -> dict[str, dict]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}.")
    columns = metadata.get("columns", metadata)
    unknown = sorted(set(columns) - set(df.columns))
    if unknown:
        raise DataValidationError(
            f"metadata describes {unknown}, which are not columns of the data "
            f"(columns: {list(df.columns)})."
        )
    for name, meta in columns.items():
        declared = meta.get("type") if isinstance(meta, Mapping) else None
        if declared is not None and declared not in _METADATA_TYPES:
            raise DataValidationError(
                f"metadata for column {name!r} has type {declared!r}; expected one of "
                f"{sorted(_METADATA_TYPES)}."
            )
    return {name: dict(meta) for name, meta in columns.items()}


def _declared_kind(name: str, meta: Mapping[str, Any], discrete: set[str]) -> Kind | None:
    if name in discrete:
        return "discrete"
    declared = meta.get("type")
    return None if declared is None else _METADATA_TYPES[declared]  # type: ignore[return-value]


def _inferred_kind(series: pd.Series) -> Kind:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "discrete"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        if pd.api.types.is_complex_dtype(dtype):
            _unsupported(series)
        return "continuous"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
        return "discrete"
    if pd.api.types.is_string_dtype(dtype):
        return "discrete"
    _unsupported(series)
    raise AssertionError  # unreachable: _unsupported raises


def _unsupported(series: pd.Series) -> None:
    raise DataValidationError(
        f"Column {series.name!r} has dtype {series.dtype}, which synthgan cannot model. "
        "Supported: integers, floats, booleans, strings/objects, categoricals and datetimes; "
        "convert the column (e.g. timedeltas with .dt.total_seconds()) or drop it."
    )


def _check_values(series: pd.Series, kind: Kind) -> None:
    name = series.name
    if kind == "continuous":
        if not (
            pd.api.types.is_numeric_dtype(series.dtype)
            or pd.api.types.is_datetime64_any_dtype(series.dtype)
        ) or pd.api.types.is_bool_dtype(series.dtype):
            raise DataValidationError(
                f"Column {name!r} is declared continuous but has dtype {series.dtype}; "
                "continuous columns must be numeric or datetime. Declare it discrete instead."
            )
        if pd.api.types.is_numeric_dtype(series.dtype):
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            n_inf = int(np.isinf(values).sum())
            if n_inf:
                raise DataValidationError(
                    f"Column {name!r} contains {n_inf} infinite value(s); they cannot be "
                    "modelled faithfully. Replace them (with NaN for missing, or a finite cap) "
                    "before fitting."
                )
    elif pd.api.types.is_object_dtype(series.dtype):
        _check_object_types(series)


def _check_object_types(series: pd.Series) -> None:
    families = {_family(v) for v in series.dropna().to_numpy()}
    if len(families) > 1:
        examples = {}
        for value in series.dropna():
            examples.setdefault(_family(value), value)
        found = ", ".join(f"{fam} (e.g. {examples[fam]!r})" for fam in sorted(families))
        raise DataValidationError(
            f"Column {series.name!r} mixes value types: {found}. A column must hold one kind "
            f"of value; convert it, e.g. df[{series.name!r}] = df[{series.name!r}].astype(str)."
        )


def _family(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def _warn_constant(series: pd.Series) -> None:
    if series.isna().all():
        message = (
            f"Column {series.name!r} is missing in every row; the synthetic column will be "
            "missing everywhere too. Drop it if it carries no information."
        )
    else:
        message = (
            f"Column {series.name!r} is constant ({series.dropna().iloc[0]!r}); it is reproduced "
            "as is and not modelled."
        )
    warnings.warn(message, UserWarning, stacklevel=4)


def _is_high_cardinality(series: pd.Series, threshold: int) -> bool:
    n_unique = series.nunique(dropna=True)
    if n_unique <= threshold:
        return False
    id_like = n_unique > 0.5 * series.notna().sum()
    warnings.warn(
        f"Column {series.name!r} has {n_unique} distinct values"
        + (" (it looks like an identifier)" if id_like else "")
        + ". Only its most frequent values are modelled one by one; the rest share one slot "
        "and are redrawn from their training frequencies, so real values of this column "
        "(identifiers included) appear in the synthetic data. Drop or generalise the column "
        "if that is not acceptable.",
        UserWarning,
        stacklevel=4,
    )
    return True
