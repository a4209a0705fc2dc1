"""Read and write tables (CSV and Parquet) through pyarrow, keeping column order and dtypes.

Parquet stores pandas' own schema, so a frame written by :func:`write_table` comes back with
exactly its dtypes (int64, float64 with NaN, bool, category, datetime64, object strings, nullable
``Int64``). CSV carries no types; :func:`read_table` infers them with pyarrow and then applies the
conventions synthgan relies on everywhere:

* an integer column with missing cells becomes pandas ``Int64`` (never float), a boolean column
  with missing cells becomes ``boolean``;
* a string column is ``object`` with ``NaN`` for missing cells;
* ISO-8601 timestamps and dates become ``datetime64[ns]`` (with the time zone when one is given).

Before that, :mod:`synthgan.io.csv_reader` sniffs the separator and quote character, refuses a
one-column table read with the wrong separator, and reads numbers with separators, common
non-ISO dates and codes with leading zeros as what they are (:mod:`synthgan.io.text_values`).

Writes are atomic and never replace an input file (see :func:`synthgan.io.atomic.atomic_path`).
"""

from __future__ import annotations

import errno
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath, atomic_path
from synthgan.io.csv_reader import CsvOptions, CsvSource, check_unique_columns, read_csv_table

__all__ = ["SUPPORTED_EXTENSIONS", "read_table", "write_table"]


@dataclass(frozen=True)
class _TableFormat:
    kind: str  # "csv" or "parquet"
    delimiter: str | None = None  # None: sniffed when reading, "," when writing
    compression: str | None = None  # pyarrow stream compression name


_BY_EXTENSION = {
    ".csv": _TableFormat("csv"),
    ".csv.gz": _TableFormat("csv", compression="gzip"),
    ".tsv": _TableFormat("csv", delimiter="\t"),
    ".tsv.gz": _TableFormat("csv", delimiter="\t", compression="gzip"),
    ".parquet": _TableFormat("parquet"),
    ".pq": _TableFormat("parquet"),
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_BY_EXTENSION)
_FORMATS = ("csv", "parquet")

# Nullable pandas dtypes for arrow columns that pandas would otherwise turn into float / object.
_NULLABLE_DTYPES = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def read_table(
    path: StrPath,
    *,
    format: str | None = None,
    sep: str | None = None,
    na_values: Iterable[str] | None = None,
    strip_whitespace: bool = False,
    text_columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, keeping column order and dtypes.

    Parameters
    ----------
    path : str or PathLike
        File to read. The format follows the extension: ``.csv``, ``.csv.gz``, ``.tsv``,
        ``.tsv.gz`` (CSV) or ``.parquet``, ``.pq`` (Parquet).
    format : {"csv", "parquet"}, optional
        Force a format whatever the extension (a ``.gz`` suffix still means gzip).
    sep : str, optional
        CSV field separator, one character (``"tab"`` or ``"\\t"`` mean a tab). By default
        ``.tsv`` files use a tab and other CSV files the separator sniffed from their first
        lines among ``,`` ``;`` tab and ``|`` (``,`` when it cannot be told).
    na_values : sequence of str, optional
        Extra markers of missing cells (such as ``["?", "-"]``), *added* to pyarrow's defaults
        (``""``, ``NA``, ``N/A``, ``NaN``, ``nan``, ``NULL``, ``null``, ``#N/A`` and a few more).
        Quoted cells are never missing (a quoted ``""`` is an empty string).
    strip_whitespace : bool, default=False
        Remove leading and trailing blanks from column names and string cells (numbers and
        dates are read without their blanks anyway). A cell that becomes a missing marker once
        stripped (``" ?"`` with ``na_values=["?"]``) is missing.
    text_columns : sequence of str, optional
        Columns kept as strings exactly as written (``001`` stays ``"001"``), never converted
        to numbers or dates. Names as in the header (after stripping with
        ``strip_whitespace``); an unknown name is an error.

    Returns
    -------
    pandas.DataFrame
        Columns in file order. Parquet files written by pandas come back with their exact dtypes;
        CSV columns are inferred (integers with missing cells as ``Int64``, strings as ``object``
        with ``NaN``, ISO timestamps as ``datetime64[ns]``, see Notes).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DataValidationError
        Unknown extension, an empty file, duplicate column names, a file pyarrow cannot parse, a
        one-column CSV table whose name contains a separator (read with the wrong ``sep``), an
        unknown name in ``text_columns``, or CSV options given for a Parquet file.

    Warns
    -----
    UserWarning
        A column kept as text although it looks like numbers or dates, or because its digits
        have leading zeros; numbers that read two ways (``1,234``), read by the file's
        convention.

    Notes
    -----
    Besides pyarrow's own inference, CSV text columns are read as (see
    :mod:`synthgan.io.text_values`):

    * numbers with thousands separators or a decimal comma (``1,234,567``, ``1.234,5``,
      ``1,5`` in a ``;``-separated file) when every value reads one way;
    * dates such as ``24/08/2015``, ``08/24/2015``, ``24.08.2015``, ``2015/08/24`` (optionally
      with ``HH:MM[:SS]``) when every value parses with one format; a day/month order no value
      decides (``05/08/2015``) keeps the column as text, with a warning;
    * integers whose digits have leading zeros (``007``) stay text, with a warning.

    Examples
    --------
    >>> from synthgan.io import read_table
    >>> df = read_table("adult.csv")  # doctest: +SKIP
    >>> df = read_table("eu.csv", sep=";", na_values=["?"], text_columns=["zip"])  # doctest: +SKIP
    """
    source = Path(path)
    table_format = _resolve_format(source, format)
    options = CsvOptions.create(
        sep=sep, na_values=na_values, strip_whitespace=strip_whitespace, text_columns=text_columns
    )
    if table_format.kind == "parquet" and not options.is_default:
        raise DataValidationError(
            "sep, na_values, strip_whitespace and text_columns apply to CSV files only; "
            f"{str(source)!r} is read as Parquet, which stores its own types. Leave them out."
        )
    _check_readable(source)
    table, categories, messages = _read_arrow(source, table_format, options)
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=2)
    frame = _to_pandas(table)
    _restore_categories(frame, categories)
    return frame


def _read_arrow(
    source: Path, table_format: _TableFormat, options: CsvOptions
) -> tuple[pa.Table, dict, list[str]]:
    try:
        if table_format.kind == "parquet":
            table = pq.read_table(source)
            check_unique_columns(table.column_names, source)
            return table, _stored_categories(table.schema), []
        csv_source = CsvSource(source, table_format.compression, table_format.delimiter)
        table, messages = read_csv_table(csv_source, options)
        return _normalise_csv_types(table), {}, messages
    except PermissionError:
        raise
    except (pa.ArrowException, OSError) as exc:  # pyarrow reports bad gzip data as OSError
        raise DataValidationError(
            f"Could not read {str(source)!r} as {table_format.kind.upper()}: {exc}. Check that the "
            "file is complete and in the format its extension says (or pass format=...)."
        ) from exc


def write_table(
    df: pd.DataFrame,
    path: StrPath,
    *,
    format: str | None = None,
    overwrite: bool = False,
    protect: Iterable[StrPath] = (),
) -> Path:
    """Write a DataFrame to CSV or Parquet, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table. Column names must be unique; the index is not written.
    path : str or PathLike
        Destination; the format follows the extension as in :func:`read_table`. Missing parent
        directories are created.
    format : {"csv", "parquet"}, optional
        Force a format whatever the extension.
    overwrite : bool, default=False
        Replace an existing file at ``path``.
    protect : iterable of str or PathLike, default=()
        Files never to write onto, even with ``overwrite=True`` (pass the input files).

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false, or ``path`` is in ``protect``.
    DataValidationError
        Unknown extension, duplicate column names, or a column pyarrow cannot store.

    Notes
    -----
    CSV cannot carry dtypes: categories come back as strings, time zones as UTC, and float columns
    are written with a decimal point (``3.0``) so that they are read back as floats.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthgan.io import write_table
    >>> write_table(pd.DataFrame({"a": [1, 2]}), "out.parquet")  # doctest: +SKIP
    PosixPath('out.parquet')
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"write_table expects a pandas DataFrame, got {type(df).__name__}.")
    target = Path(path)
    table_format = _resolve_format(target, format)
    table = frame_to_arrow(df, target)  # the category metadata is read back from Parquet only
    with atomic_path(target, overwrite=overwrite, protect=protect) as tmp:
        if table_format.kind == "parquet":
            pq.write_table(table, tmp)
        else:
            _write_csv(table, tmp, table_format)
    return target


# -- format and file checks ---------------------------------------------------------------------
def _resolve_format(path: Path, format: str | None) -> _TableFormat:
    name = path.name.lower()
    by_extension = _format_by_extension(path)
    if format is None:
        if by_extension is None:
            raise DataValidationError(
                f"Cannot tell the table format of {str(path)!r} from its extension. Supported "
                f"extensions: {', '.join(SUPPORTED_EXTENSIONS)}; or pass format='csv' or "
                "format='parquet'."
            )
        return by_extension
    if format not in _FORMATS:
        raise DataValidationError(f"format must be one of {_FORMATS} or None, got {format!r}.")
    if by_extension is not None and by_extension.kind == format:
        return by_extension
    compression = "gzip" if name.endswith(".gz") and format == "csv" else None
    return _TableFormat(format, compression=compression)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "table file not found", str(path))
    if not path.is_file():
        raise DataValidationError(f"{str(path)!r} is not a file; pass the path of a table file.")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{str(path)!r} is empty (0 bytes); there is no table to read.")


# -- CSV ----------------------------------------------------------------------------------------
def _normalise_csv_types(table: pa.Table) -> pa.Table:
    # Dates and timestamps of any unit become nanosecond timestamps, pandas' default.
    for index, field in enumerate(table.schema):
        if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
            tz = getattr(field.type, "tz", None)
            try:
                column = table.column(index).cast(pa.timestamp("ns", tz=tz))
            except pa.ArrowInvalid:  # outside the nanosecond range (years 1677-2262): keep it
                continue
            table = table.set_column(index, field.name, column)
    return table


def _write_csv(table: pa.Table, path: Path, table_format: _TableFormat) -> None:
    table = csv_columns(table, coarsen_timestamps=True)
    options = pacsv.WriteOptions(delimiter=table_format.delimiter or ",")
    with pa.output_stream(str(path), compression=table_format.compression) as sink:
        pacsv.write_csv(table, sink, options)


def csv_columns(table: pa.Table, *, coarsen_timestamps: bool) -> pa.Table:
    """``table`` as it is written to CSV: categories as their values, floats with a decimal
    point, and (``coarsen_timestamps``) dates as dates and whole seconds without a fraction."""
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if pa.types.is_dictionary(field.type):  # categories are written as their values
            table = table.set_column(index, field.name, column.cast(field.type.value_type))
        elif pa.types.is_floating(field.type):
            table = table.set_column(index, field.name, _format_floats(column))
        elif coarsen_timestamps and pa.types.is_timestamp(field.type) and field.type.tz is None:
            table = table.set_column(index, field.name, _coarsest_timestamps(column))
    return table


def has_table_extension(path: StrPath) -> bool:
    """Whether ``path``'s name ends in a table extension (:data:`SUPPORTED_EXTENSIONS`)."""
    return _format_by_extension(Path(path)) is not None


def _format_by_extension(path: Path) -> _TableFormat | None:
    name = path.name.lower()
    return next(
        (fmt for ext, fmt in _BY_EXTENSION.items() if name.endswith(ext) and name != ext), None
    )


def table_format_of(path: StrPath, format: str | None = None) -> _TableFormat:
    """The format a table path names (see :func:`read_table`); raises for an unknown one."""
    return _resolve_format(Path(path), format)


def frame_to_arrow(df: pd.DataFrame, path: StrPath) -> pa.Table:
    """``df`` as the Arrow table :func:`write_table` writes to Parquet (pandas and category
    metadata included); ``path`` is only named in errors."""
    check_unique_columns(list(df.columns), Path(path))
    return _with_category_metadata(_to_arrow(df, Path(path)), df)


def _coarsest_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates as dates (``2018-09-01``), whole seconds without a fraction; otherwise unchanged.

    pyarrow writes every ``timestamp[ns]`` with nine fractional digits; a column of dates
    (every value at midnight, as read from a date-only CSV column) is written as dates.
    """
    for unit, target in (("day", pa.date32()), ("second", pa.timestamp("s"))):
        floored = pc.floor_temporal(column, unit=unit)
        if pc.all(pc.equal(floored, column)).as_py() is not False:  # all equal, or all missing
            return column.cast(target)
    return column


def _format_floats(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # pyarrow writes 3.0 as "3", which reads back as an integer; keep a decimal point.
    text = pc.cast(column, pa.string())
    integral = pc.match_substring_regex(text, r"^-?\d+$")
    return pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)


# -- arrow <-> pandas ---------------------------------------------------------------------------
def _to_arrow(df: pd.DataFrame, path: Path) -> pa.Table:
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise DataValidationError(
            f"Cannot write the table to {str(path)!r}: {exc}. Give each column a single type "
            "(for example convert mixed object columns with .astype(str))."
        ) from exc


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        # Columns stored by pandas as the index are no longer in frame.columns.
        if name in frame.columns:
            _restore_missing(frame, name, column)
    return frame


def _restore_missing(frame: pd.DataFrame, name: str, column: pa.ChunkedArray) -> None:
    kind = frame[name].dtype.kind
    nullable = _NULLABLE_DTYPES.get(column.type)
    if nullable is not None and kind in "fO":
        # Converted straight from arrow: going through float would round integers above 2**53.
        frame[name] = column.to_pandas(types_mapper={column.type: nullable}.get).array
    elif _is_text(column.type) and kind == "O" and column.null_count:
        values = frame[name].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = np.nan  # pyarrow gives None; pandas convention is NaN
        frame[name] = pd.Series(values, index=frame.index, dtype=object)


# -- categories in Parquet ----------------------------------------------------------------------
# Parquet keeps a dictionary type only for string values, and never keeps unused categories: an
# integer category column would come back as int64. write_table stores every category column's
# exact categories (values, dtype, order) in the file's schema metadata under this key.
_CATEGORY_KEY = b"synthgan.categories"


def _with_category_metadata(table: pa.Table, df: pd.DataFrame) -> pa.Table:
    stored = {}
    for name in df.columns:
        dtype = df[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            values = cats.astype(str) if cats.dtype.kind in "mM" else cats
            stored[str(name)] = {
                "categories": values.tolist(),
                "dtype": str(cats.dtype),
                "ordered": bool(dtype.ordered),
            }
    if not stored:
        return table
    try:
        encoded = json.dumps(stored, allow_nan=False).encode()
    except (TypeError, ValueError):  # categories JSON cannot carry: keep pandas' own metadata
        return table
    return table.replace_schema_metadata({**(table.schema.metadata or {}), _CATEGORY_KEY: encoded})


def _stored_categories(schema: pa.Schema) -> dict:
    metadata = schema.metadata or {}
    if _CATEGORY_KEY in metadata:
        try:
            return json.loads(metadata[_CATEGORY_KEY])
        except ValueError:
            return {}
    # Written by another tool: pandas' metadata still says which columns were categorical.
    pandas_meta = schema.pandas_metadata or {}
    return {
        c["name"]: None
        for c in pandas_meta.get("columns", [])
        if c.get("pandas_type") == "categorical" and c.get("name") is not None
    }


def _restore_categories(frame: pd.DataFrame, stored: dict) -> None:
    for name, spec in stored.items():
        if name not in frame.columns:
            continue
        column = frame[name]
        if spec is None:
            if not isinstance(column.dtype, pd.CategoricalDtype):
                frame[name] = column.astype("category")
            continue
        categories = pd.Index(spec["categories"]).astype(spec["dtype"])
        values = column.astype(object).where(column.notna(), np.nan)
        frame[name] = pd.Categorical(values, categories=categories, ordered=spec["ordered"])


def _is_text(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_null(arrow_type)
    )
