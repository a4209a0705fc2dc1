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
from synthgan.tabular.metadata import (
    DP_ONLY_KEYS,
    bound_number,
    check_column_names,
    declared_kind,
    detect_kind,
    dtype_kind,
    validate_metadata,
)

__all__ = ["ColumnPlan", "as_frame", "plan_columns"]

Kind = Literal["continuous", "discrete", "datetime", "id", "text", "constant"]


@dataclass(frozen=True)
class ColumnPlan:
    """How one column will be modelled."""

    name: str
    kind: Kind
    bounds: tuple[float | None, float | None] = (None, None)
    compact: bool = False  # a high-cardinality discrete column, encoded with an "other" slot
    pattern: str | None = None  # the declared format of an identifier column


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
    """Decide, column by column, how to model ``df``; validates the data on the way.

    Kinds come from ``discrete_columns``, then the metadata, then :func:`detect_kind`. Free
    text that was not declared is refused; declared text is left out (``kind="text"``) unless
    ``allow_copy``; identifiers get ``kind="id"`` (generated fresh).
    """
    column_meta = _column_metadata(df, metadata)
    discrete = set(discrete_columns or ())
    check_column_names(df, discrete, "discrete_columns")
    _warn_dp_only_keys(column_meta)
    return [
        _plan_column(
            df[name], column_meta.get(name, {}), name in discrete, high_cardinality_threshold
        )
        for name in df.columns
    ]


def _plan_column(
    series: pd.Series, meta: Mapping[str, Any], listed: bool, threshold: int
) -> ColumnPlan:
    name = series.name
    declared = _declared_kind(name, meta, {name} if listed else set())
    kind = declared or detect_kind(series)[0]
    if kind == "text":
        return _plan_text(series, meta, declared is not None, threshold)
    if kind == "id":
        _check_values(series, "discrete")
        return ColumnPlan(name, "id", pattern=meta.get("pattern"))
    _check_values(series, kind)
    if series.nunique(dropna=False) <= 1:
        _warn_constant(series)
        return ColumnPlan(name, "constant")
    if kind == "constant":
        raise DataValidationError(
            f"Column {name!r} is declared constant but has {series.nunique(dropna=False)} "
            "distinct values (missing counted as one). Declare another kind, or leave 'kind' out."
        )
    if kind == "continuous" and pd.api.types.is_datetime64_any_dtype(series.dtype):
        kind = "datetime"
    if kind in ("continuous", "datetime"):
        return ColumnPlan(name, kind, _bounds(series, meta))
    return ColumnPlan(name, kind, compact=_is_high_cardinality(series, threshold))


def _plan_text(series: pd.Series, meta: Mapping[str, Any], declared: bool, threshold: int):
    name = series.name
    if not declared:
        reasons = "; ".join(detect_kind(series)[1])
        raise DataValidationError(
            f"Column {name!r} looks like free text ({reasons}). Modelled as a column, its values "
            "would be copied verbatim into the synthetic rows (a generator can only repeat "
            "such values), and free text often names people, places and events. Either drop "
            f"the column (df.drop(columns=[{name!r}])), or declare it in the metadata: "
            f'{{"columns": {{"{name}": {{"kind": "text"}}}}}} leaves it out of the model and of '
            'the sampled tables; adding "allow_copy": true models it as a discrete column '
            "whose real values are copied."
        )
    _check_values(series, "discrete")
    if not meta.get("allow_copy", False):
        warnings.warn(
            f"Column {name!r} is declared free text: it is excluded from the model and absent "
            'from the sampled tables. Add "allow_copy": true to its metadata to model it '
            "(its real values would then be copied).",
            UserWarning,
            stacklevel=5,
        )
        return ColumnPlan(name, "text")
    warnings.warn(
        f'Column {name!r} is declared free text with "allow_copy": true: it is modelled as a '
        "discrete column, and its real values are copied into the synthetic rows.",
        UserWarning,
        stacklevel=5,
    )
    return ColumnPlan(name, "discrete", compact=series.nunique(dropna=True) > threshold)


def _column_metadata(df: pd.DataFrame, metadata: Mapping[str, Any] | None) -> dict[str, dict]:
    """The metadata's column map, checked against the schema and the table's columns."""
    columns = validate_metadata(metadata)
    check_column_names(df, columns, "metadata")
    return columns


def _declared_kind(name: str, meta: Mapping[str, Any], discrete: set[str]) -> Kind | None:
    """The kind set by ``discrete_columns`` or the metadata, ``None`` when not declared."""
    if name in discrete:
        return "discrete"
    return declared_kind(name, meta)  # type: ignore[return-value]


def _inferred_kind(series: pd.Series) -> Kind:
    """The modelled kind the dtype alone gives (continuous or discrete): reads no value."""
    return "discrete" if dtype_kind(series) == "discrete" else "continuous"


def _warn_dp_only_keys(column_meta: Mapping[str, Mapping[str, Any]]) -> None:
    for name, meta in column_meta.items():
        for key in sorted(set(meta) & set(DP_ONLY_KEYS)):
            warnings.warn(
                f"metadata key {key!r} of column {name!r} is read only with privacy "
                f"(differential privacy); without it the key is ignored: {DP_ONLY_KEYS[key]}.",
                UserWarning,
                stacklevel=4,
            )


def _bounds(series: pd.Series, meta: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Declared bounds as numbers; warns with the count of training values they exclude."""
    from synthgan.tabular.transformer import _numeric  # the transformer builds on plans

    name, lo, hi = series.name, meta.get("min"), meta.get("max")
    low = None if lo is None else bound_number(name, lo)
    high = None if hi is None else bound_number(name, hi)
    if low is not None and high is not None and low > high:
        raise DataValidationError(
            f"metadata for column {name!r}: min ({lo!r}) is above max ({hi!r}); swap them."
        )
    if low is None and high is None:
        return None, None
    values = _numeric(series)
    values = values[~np.isnan(values)]
    outside = int((values < (-np.inf if low is None else low)).sum())
    outside += int((values > (np.inf if high is None else high)).sum())
    if outside:
        warnings.warn(
            f"metadata bounds [{_shown(lo)}, {_shown(hi)}] of column {name!r} exclude "
            f"{outside:,} of {values.size:,} training values; generated values are clipped to "
            "the bounds (with enforce_min_max=True, the default). Check the bounds if the "
            "values are right.",
            UserWarning,
            stacklevel=5,
        )
    return low, high


def _shown(bound: Any) -> str:
    return "none" if bound is None else str(bound)


def _check_values(series: pd.Series, kind: Kind) -> None:
    name = series.name
    if kind in ("continuous", "datetime"):
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
