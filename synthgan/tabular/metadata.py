"""Table metadata: the JSON schema, column kinds, and the detection report.

Metadata describes the columns of a training table::

    {"columns": {"customer_id": {"kind": "id", "pattern": "CUST-[0-9]{8}"},
                 "age": {"kind": "continuous", "min": 17, "max": 90},
                 "comment": {"kind": "text"}}}

It is checked against :data:`METADATA_SCHEMA` (with ``jsonschema``): unknown keys, at any level,
are refused with the list of valid ones, and so is an object without ``"columns"``.

Column kinds are ``continuous``, ``discrete``, ``datetime``, ``id`` (generated fresh, never
copied), ``text`` (free text: excluded, or copied only with ``"allow_copy": true``) and
``constant``. ``"type"`` is the older spelling and an alias of ``"kind"``: its values
``continuous``/``numerical`` mean ``continuous``, ``discrete``/``categorical``/``boolean`` mean
``discrete`` and ``datetime`` means ``datetime``; giving both with different meanings is an
error.

:func:`detect_metadata` reports the kind synthgan would use for every column, with its reasons,
in a form that validates against the schema and can be edited and passed back as metadata.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from synthgan.exceptions import DataValidationError

__all__ = [
    "KINDS",
    "METADATA_SCHEMA",
    "declared_kind",
    "detect_kind",
    "detect_metadata",
    "format_kinds",
    "validate_metadata",
]

KINDS = ("continuous", "discrete", "datetime", "id", "text", "constant")
TYPE_ALIASES = {
    "continuous": "continuous",
    "numerical": "continuous",
    "datetime": "datetime",
    "discrete": "discrete",
    "categorical": "discrete",
    "boolean": "discrete",
}
DP_ONLY_KEYS = {
    "categories": "the categories are learned from the data",
    "missing": "whether the column can be missing is learned from the data",
}
MIN_ROWS = 20  # fewer non-missing values than this: "all distinct" means nothing
ID_DISTINCT = 0.95  # share of distinct values above which short tokens are identifiers
TEXT_DISTINCT = 0.5  # share of distinct values above which multi-word values are free text
ID_MAX_LENGTH = 64
_ID_NAME = re.compile(r"(^|[_\-\s.])(id|uuid|guid|key|pk)$", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z0-9](Id|ID|Uuid|UUID|Key)$")

_COLUMN_PROPERTIES: dict[str, Any] = {
    "kind": {"enum": list(KINDS)},
    "type": {"enum": sorted(TYPE_ALIASES)},
    "min": {"type": ["number", "string"]},
    "max": {"type": ["number", "string"]},
    "categories": {"type": "array"},
    "missing": {"type": "boolean"},
    "pattern": {"type": "string", "minLength": 1},
    "allow_copy": {"type": "boolean"},
    "reasons": {"type": "array", "items": {"type": "string"}},
}
METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "synthgan table metadata",
    "type": "object",
    "required": ["columns"],
    "additionalProperties": False,
    "properties": {
        "columns": {"type": "object", "additionalProperties": {"$ref": "#/$defs/column"}},
        "target": {"type": "string"},
    },
    "$defs": {
        "column": {
            "type": "object",
            "additionalProperties": False,
            "properties": _COLUMN_PROPERTIES,
        }
    },
}
_EXPECTED = {"number": "a number", "string": "a string", "boolean": "true or false",
             "array": "a list", "object": "an object {...}"}  # fmt: skip


def _validator() -> jsonschema.protocols.Validator:
    # Python callers pass tuples and other mappings where JSON has arrays and objects.
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many(
        {
            "array": lambda _, value: isinstance(value, list | tuple | np.ndarray),
            "object": lambda _, value: isinstance(value, Mapping),
        }
    )
    return jsonschema.validators.extend(base, type_checker=checker)(METADATA_SCHEMA)


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def validate_metadata(metadata: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check ``metadata`` against the schema and return its column map (copied).

    Raises
    ------
    TypeError
        ``metadata`` is not a mapping.
    DataValidationError
        The metadata breaks the schema (unknown or misspelled key, missing ``"columns"``, wrong
        type) or a rule between keys; the message names the column and the key.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(metadata).__name__}.")
    errors = sorted(_validator().iter_errors(metadata), key=lambda e: [str(p) for p in e.path])
    if errors:
        messages = list(dict.fromkeys(_explain(e) for e in errors))
        raise DataValidationError(" ".join(messages))
    columns = {str(name): dict(meta) for name, meta in metadata["columns"].items()}
    for name, meta in columns.items():
        declared_kind(name, meta)
        _check_kind_keys(name, meta)
    return columns


def _explain(error: jsonschema.ValidationError) -> str:
    path = list(error.path)
    if len(path) >= 2:  # inside "columns": a column's description
        where, key = f"metadata for column {path[1]!r}", path[2] if len(path) > 2 else None
    else:
        where, key = "metadata", path[0] if path else None
    if error.validator == "required":
        found = sorted(map(str, error.instance))
        return (
            f"metadata has no 'columns' key (found keys: {found}). Columns are described as "
            '{"columns": {"age": {"kind": "continuous"}}}: wrap the column map in '
            '{"columns": ...}.'
        )
    if error.validator == "additionalProperties":
        valid = sorted(error.schema["properties"])
        unknown = sorted(set(map(str, error.instance)) - set(valid))
        hints = [_did_you_mean(k, valid) for k in unknown]
        return (
            f"{where} has unknown key(s) {', '.join(h for h in hints)}; valid keys: "
            f"{', '.join(valid)}."
        )
    if error.validator == "enum":
        return (
            f"{where} has {key} {error.instance!r}; expected one of "
            f"{sorted(map(str, error.validator_value))}."
        )
    if error.validator == "type":
        expected = error.validator_value
        wanted = " or ".join(_EXPECTED.get(t, t) for t in np.atleast_1d(expected).tolist())
        place = f"{where}, key {key!r}" if key else where
        return f"{place}: expected {wanted}, found {error.instance!r}."
    return f"{where}{f', key {key!r}' if key else ''}: {error.message}."


def _did_you_mean(key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    return f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)


def declared_kind(name: str, meta: Mapping[str, Any]) -> str | None:
    """The kind declared by ``"kind"`` or ``"type"`` (``None`` when neither is given)."""
    kind, alias = meta.get("kind"), meta.get("type")
    if alias is not None:
        alias = TYPE_ALIASES[alias]
        if kind is not None and kind != alias:
            raise DataValidationError(
                f"metadata for column {name!r} gives kind {kind!r} and type "
                f"{meta['type']!r}, which means {alias!r}; 'type' is the older spelling of "
                "'kind': keep only one of them."
            )
    return kind if kind is not None else alias


def _check_kind_keys(name: str, meta: Mapping[str, Any]) -> None:
    kind = declared_kind(name, meta)
    for key, needed in (("pattern", "id"), ("allow_copy", "text")):
        if key in meta and kind != needed:
            raise DataValidationError(
                f"metadata for column {name!r} has {key!r}, which applies to columns of kind "
                f"{needed!r} only (this one is {kind or 'not declared'}). Add "
                f'"kind": "{needed}" or remove {key!r}.'
            )


def check_column_names(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Refuse names that are not columns of ``df`` (``what`` says where they come from)."""
    unknown = sorted(set(columns) - set(df.columns))
    if unknown:
        raise DataValidationError(
            f"{what} names {unknown}, which are not columns of the data "
            f"(columns: {list(df.columns)})."
        )


def bound_number(name: str, value: Any) -> float:
    """A metadata bound as a float (a date string becomes nanoseconds, like the encoder)."""
    if isinstance(value, str):
        try:
            return float(pd.Timestamp(value).value)
        except (ValueError, TypeError):
            pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataValidationError(
            f"metadata for column {name!r}: bound {value!r} is not a number or a date."
        ) from None
    if not math.isfinite(number):
        raise DataValidationError(f"metadata for column {name!r}: bound {value!r} is not finite.")
    return number


# ---------------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------------
def dtype_kind(series: pd.Series) -> str:
    """The kind a column's dtype alone suggests: continuous, datetime or discrete."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "discrete"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "continuous"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
        return "discrete"
    if pd.api.types.is_string_dtype(dtype):
        return "discrete"
    raise DataValidationError(
        f"Column {series.name!r} has dtype {series.dtype}, which synthgan cannot model. "
        "Supported: integers, floats, booleans, strings/objects, categoricals and datetimes; "
        "convert the column (e.g. timedeltas with .dt.total_seconds()) or drop it."
    )


def detect_kind(series: pd.Series) -> tuple[str, list[str]]:
    """The kind synthgan infers for ``series``, with the reasons, in plain words.

    The rules (documented in ``docs/tabular.md``): a column with one value is ``constant``;
    booleans and categoricals are ``discrete``, datetimes ``datetime``, floats ``continuous``.
    An integer column is an ``id`` only when it has at least ``MIN_ROWS`` values, all distinct,
    and its name (``id``, ``customer_id``, ``userId``, ``key``...) or its values (consecutive
    integers) suggest one; otherwise it is ``continuous``. A string column with at least
    ``MIN_ROWS`` values is an ``id`` when at least 95% of them are distinct short tokens (no
    whitespace, at most 64 characters), and ``text`` when at least half are distinct and the
    typical value has several words; otherwise it is ``discrete``.
    """
    kind = dtype_kind(series)
    observed = series.dropna()
    if series.nunique(dropna=False) <= 1:
        found = "missing in every row" if observed.empty else "a single value in every row"
        return "constant", [found]
    dtype_reason = f"dtype {series.dtype}"
    if kind == "continuous" and pd.api.types.is_integer_dtype(series.dtype):
        return _integer_kind(series, observed, dtype_reason)
    if kind != "discrete" or isinstance(series.dtype, pd.CategoricalDtype):
        return kind, [dtype_reason]
    if pd.api.types.is_bool_dtype(series.dtype):
        return kind, [dtype_reason]
    return _string_kind(observed.astype(str), dtype_reason)


def _integer_kind(series: pd.Series, observed: pd.Series, dtype_reason: str):
    n, distinct = len(observed), int(observed.nunique())
    if n < MIN_ROWS or distinct < n:
        return "continuous", [dtype_reason, f"{distinct:,} distinct values among {n:,}"]
    unique = f"all {n:,} non-missing values are distinct integers"
    hints = []
    name = str(series.name)
    if _ID_NAME.search(name) or _ID_CAMEL.search(name):
        hints.append(f"the name {name!r} suggests an identifier")
    if int(observed.max()) - int(observed.min()) + 1 == n:
        hints.append("the values are consecutive integers (a sequence)")
    if hints:
        return "id", [dtype_reason, unique, *hints]
    return "continuous", [
        dtype_reason,
        unique,
        'neither the name nor a sequence suggests an identifier; declare "kind": "id" if it is one',
    ]


def _string_kind(texts: pd.Series, dtype_reason: str) -> tuple[str, list[str]]:
    n, distinct = len(texts), int(texts.nunique())
    share = f"{distinct:,} distinct values among {n:,} ({distinct / n:.0%})"
    if n < MIN_ROWS:
        return "discrete", [dtype_reason, share, f"fewer than {MIN_ROWS} values"]
    spaced = texts.str.contains(r"\s", regex=True)
    longest = int(texts.str.len().max())
    if distinct >= ID_DISTINCT * n and not spaced.any() and longest <= ID_MAX_LENGTH:
        tokens = f"short tokens without spaces (at most {longest} characters)"
        return "id", [dtype_reason, share, tokens]
    words = float(texts.str.split().str.len().median())
    if distinct >= TEXT_DISTINCT * n and words >= 2:
        median = f"a typical value has {words:g} words"
        return "text", [dtype_reason, share, median]
    return "discrete", [dtype_reason, share]


def detect_metadata(
    df: pd.DataFrame,
    *,
    metadata: Mapping[str, Any] | None = None,
    discrete_columns: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Report the kind of every column of ``df`` with its reasons, as reviewable metadata.

    Parameters
    ----------
    df : pandas.DataFrame or path
        The table (a path is read with :func:`synthgan.io.read_table`).
    metadata : mapping, optional
        Metadata already written: its declared kinds are kept (reason "declared in the
        metadata") and its other keys copied.
    discrete_columns : iterable of str, optional
        Columns declared discrete, as for :class:`~synthgan.CTGANSynthesizer`.

    Returns
    -------
    dict
        ``{"columns": {name: {"kind": ..., "reasons": [...], ...}}}`` in column order; it
        validates against :data:`METADATA_SCHEMA` and can be passed back as ``metadata``. The
        reasons hold counts, never values of the table.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(50)], "x": [1.5] * 50})
    >>> detect_metadata(frame)["columns"]["customer_id"]["kind"]
    'id'
    """
    from synthgan.tabular.validation import as_frame  # validation builds on this module

    df = as_frame(df)
    columns = validate_metadata(metadata)
    check_column_names(df, columns, "metadata")
    discrete = set(discrete_columns or ())
    check_column_names(df, discrete, "discrete_columns")
    report: dict[str, Any] = {}
    for name in df.columns:
        meta = {k: v for k, v in columns.get(name, {}).items() if k not in ("type", "reasons")}
        declared = "discrete" if name in discrete else declared_kind(name, columns.get(name, {}))
        if declared is not None:
            source = (
                "listed in discrete_columns" if name in discrete else "declared in the metadata"
            )
            kind, reasons = declared, [source]
        else:
            kind, reasons = detect_kind(df[name])
        report[name] = {**meta, "kind": kind, "reasons": reasons}
    out: dict[str, Any] = {"columns": report}
    if metadata is not None and "target" in metadata:
        out["target"] = metadata["target"]
    return out


# ---------------------------------------------------------------------------------------------
# the one-line summary
# ---------------------------------------------------------------------------------------------
_SUMMARY_ORDER = ("continuous", "datetime", "discrete", "constant", "id", "text")
_SUMMARY_NAMED = {"constant": "reproduced", "id": "generated fresh", "text": "excluded"}
_SUMMARY_NAMES = 5  # names listed before "..."


def format_kinds(kinds: Mapping[str, str]) -> str:
    """One line saying how many columns of each kind a model uses.

    Parameters
    ----------
    kinds : mapping
        ``{column: kind}``, such as ``CTGANSynthesizer.column_kinds_``.

    Returns
    -------
    str
        For example ``"Columns: 6 continuous, 8 discrete, 1 id (customer_id) generated fresh"``.

    Examples
    --------
    >>> format_kinds({"age": "continuous", "customer_id": "id", "note": "text"})
    'Columns: 1 continuous, 1 id (customer_id) generated fresh, 1 text (note) excluded'
    """
    order = list(_SUMMARY_ORDER) + sorted(set(kinds.values()) - set(_SUMMARY_ORDER))
    parts = []
    for kind in order:
        names = [str(name) for name, k in kinds.items() if k == kind]
        if not names:
            continue
        part = f"{len(names)} {kind}"
        if kind in _SUMMARY_NAMED:
            shown = ", ".join(names[:_SUMMARY_NAMES]) + (", ..." if len(names) > 5 else "")
            part += f" ({shown}) {_SUMMARY_NAMED[kind]}"
        parts.append(part)
    return "Columns: " + (", ".join(parts) if parts else "none")
