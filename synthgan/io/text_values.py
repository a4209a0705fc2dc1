"""Read the text columns of a CSV file that hold numbers, dates or codes written for people.

pyarrow's CSV reader types numbers with a decimal point and ISO-8601 dates. Everything else is
text, and a text column is modelled as a discrete column whose real values are copied into the
synthetic table. This module looks again at each text column, after the file is read:

* **codes with leading zeros** (``001``, ``0420``): every value a digit string, at least one
  starting with ``0``. They stay text, exactly as written, with a warning (they are identifiers
  or codes, and reading them as integers would lose the zeros);
* **numbers with separators**: ``1,234,567`` or ``1,234.5`` (thousands comma, decimal point) and
  ``1.234.567`` or ``1,5`` (thousands point, decimal comma). A column is converted when one of
  the two readings parses every value; when both do and disagree (``1,234``), the separator of
  the file decides (a ``,``-separated file cannot use the decimal comma unquoted: thousands; any
  other separator: decimal comma), with a warning;
* **dates** as ``24/08/2015``, ``08/24/2015``, ``24.08.2015``, ``2015/08/24`` (with an optional
  ``HH:MM`` or ``HH:MM:SS`` time): converted when every value parses with one format. Day and
  month order is known only when some value has a first field above 12 (or with ``.``, which is
  always day first); otherwise the column stays text with a warning.

A column that mostly looks like numbers or dates but has values that fit no single reading stays
text, with a warning naming the column, examples of the values that do not fit, and what to do.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["has_leading_zeros", "leading_zeros_message", "parse_text_column"]

# Share of the values that must look like numbers (or dates) for a mismatch to be worth a warning.
_LOOKS_LIKE = 0.5

_DIGITS = r"^\d+$"
_LEADING_ZERO = r"^0\d"
# Integer parts never start with 0 unless they are 0: "007" is a code, not the number 7.
_THOUSANDS_COMMA = r"^-?(0|[1-9]\d{0,2}(,\d{3})+|[1-9]\d*)(\.\d+)?$"
_DECIMAL_COMMA = r"^-?(0|[1-9]\d{0,2}(\.\d{3})+|[1-9]\d*)(,\d+)?$"

# RE2 (pyarrow's regex engine) has no back-references: one alternative per separator.
_DAY_FIRST = [rf"\d{{1,2}}{s}\d{{1,2}}{s}\d{{4}}" for s in ("/", r"\.", "-")]
_YEAR_FIRST = [rf"\d{{4}}{s}\d{{1,2}}{s}\d{{1,2}}" for s in ("/", r"\.")]
_DATE = rf"^({'|'.join(_DAY_FIRST + _YEAR_FIRST)})( \d{{1,2}}:\d{{2}}(:\d{{2}})?)?$"
_TIME_FORMATS = {0: "", 1: " %H:%M", 2: " %H:%M:%S"}  # by the number of ':' in the time


def has_leading_zeros(values: pa.ChunkedArray | pa.Array) -> bool:
    """True when every non-missing value is a digit string and one starts with ``0`` (``007``)."""
    present = pc.utf8_trim_whitespace(pc.drop_null(values))
    if len(present) == 0:
        return False
    return bool(
        pc.all(pc.match_substring_regex(present, _DIGITS)).as_py()
        and pc.any(pc.match_substring_regex(present, _LEADING_ZERO)).as_py()
    )


def leading_zeros_message(name: str, values: pa.ChunkedArray | pa.Array) -> str:
    """Say that column ``name`` is kept as text because of its leading zeros."""
    present = pc.utf8_trim_whitespace(pc.drop_null(values))
    example = pc.filter(present, pc.match_substring_regex(present, _LEADING_ZERO))[0].as_py()
    return (
        f"Column {name!r} holds digit strings with leading zeros (such as {example!r}); it is "
        "kept as text, exactly as written, so that the zeros are not lost. Pass "
        f"text_columns=[{name!r}] (--text-columns {name} on the command line) to say so and "
        "silence this warning, or convert the column yourself if these are numbers."
    )


def parse_text_column(
    name: str, column: pa.ChunkedArray, delimiter: str
) -> tuple[pa.ChunkedArray, str | None]:
    """Convert a text column to numbers or timestamps when it reads one way only.

    Parameters
    ----------
    name : str
        Column name, for the messages.
    column : pyarrow.ChunkedArray
        A string column as read from the file (nulls for missing cells).
    delimiter : str
        The file's field separator: it decides between thousands and decimal commas.

    Returns
    -------
    column : pyarrow.ChunkedArray
        ``int64`` / ``float64`` for numbers, ``timestamp[ns]`` for dates, or ``column`` itself.
    message : str or None
        What the caller should warn about: a column kept as text that looks like codes, numbers
        or dates, or numbers read by the file's convention where two readings were possible.
    """
    # The checks look at distinct values only: cheap for the usual low-cardinality column.
    values = pc.unique(pc.utf8_trim_whitespace(pc.drop_null(column)))
    if len(values) == 0:
        return column, None
    if has_leading_zeros(values):
        return column, leading_zeros_message(name, values)
    trimmed = pc.utf8_trim_whitespace(column)
    numbers, message = _parse_numbers(name, trimmed, values, delimiter)
    if numbers is not None or message is not None:
        return (column if numbers is None else numbers), message
    dates, message = _parse_dates(name, trimmed, values)
    return (column if dates is None else dates), message


# -- numbers ------------------------------------------------------------------------------------
def _parse_numbers(
    name: str, column: pa.ChunkedArray, values: pa.ChunkedArray, delimiter: str
) -> tuple[pa.ChunkedArray | None, str | None]:
    thousands = pc.match_substring_regex(values, _THOUSANDS_COMMA)
    decimal = pc.match_substring_regex(values, _DECIMAL_COMMA)
    readings = []
    if pc.all(thousands).as_py():
        readings.append(("thousands comma", _convert(column, group=",", point=".")))
    if pc.all(decimal).as_py():
        readings.append(("decimal comma", _convert(column, group=".", point=",")))
    if len(readings) == 2 and not readings[0][1].equals(readings[1][1]):
        chosen, converted = readings[0 if delimiter == "," else 1]
        return converted, _ambiguous_numbers(name, values, chosen, delimiter)
    if readings:
        return readings[0][1], None
    return None, _mostly(name, values, pc.or_(thousands, decimal), "numbers")


def _convert(column: pa.ChunkedArray, *, group: str, point: str) -> pa.ChunkedArray:
    # "1.234,5" -> "1234.5": drop the group separator, then make the decimal mark a point.
    text = pc.replace_substring(column, group, "")
    if not pc.any(pc.match_substring(text, point)).as_py():
        try:
            return pc.cast(text, pa.int64())
        except pa.ArrowInvalid:  # beyond int64: read as floats
            pass
    return pc.cast(pc.replace_substring(text, point, "."), pa.float64())


def _ambiguous_numbers(name: str, values: pa.ChunkedArray, chosen: str, sep: str) -> str:
    example = pc.filter(values, pc.match_substring(values, ","))[0].as_py()
    other = "decimal comma" if chosen == "thousands comma" else "thousands comma"
    return (
        f"Column {name!r} holds numbers such as {example!r} that read with a {chosen} or with "
        f"a {other}; they are read with a {chosen}, the convention of a {sep!r}-separated file. "
        f"If that is wrong, convert the column yourself, or pass text_columns=[{name!r}] "
        f"(--text-columns {name} on the command line) to keep it as text."
    )


# -- dates --------------------------------------------------------------------------------------
def _parse_dates(
    name: str, column: pa.ChunkedArray, values: pa.ChunkedArray
) -> tuple[pa.ChunkedArray | None, str | None]:
    shaped = pc.match_substring_regex(values, _DATE)
    if not pc.any(shaped).as_py():
        return None, None
    example = pc.filter(values, shaped)[0].as_py()
    text = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
    parsed = {fmt: _strict_dates(text, fmt) for fmt in _date_formats(example)}
    complete = [fmt for fmt, dates in parsed.items() if dates.notna().all()]
    if len(complete) == 1:
        return _dates_to_arrow(column, complete[0]), None
    if len(complete) > 1:
        return None, _ambiguous_dates(name, example, complete)
    best = max(parsed, key=lambda fmt: parsed[fmt].notna().sum())
    fits = pa.array(parsed[best].notna().to_numpy())
    return None, _mostly(name, values, fits, f"dates in the format {best!r}")


def _date_formats(example: str) -> list[str]:
    """Candidate formats for a value shaped like ``_DATE``: separator, field order, time."""
    date, _, time = example.partition(" ")
    sep = re.sub(r"\d", "", date)[0]
    suffix = _TIME_FORMATS[time.count(":")] if time else ""
    if len(date.split(sep)[0]) == 4:
        return [f"%Y{sep}%m{sep}%d{suffix}"]
    if sep == ".":  # 24.08.2015: the day-first convention of the countries that write dots
        return [f"%d.%m.%Y{suffix}"]
    return [f"%d{sep}%m{sep}%Y{suffix}", f"%m{sep}%d{sep}%Y{suffix}"]


def _strict_dates(text: pd.Series, fmt: str) -> pd.Series:
    # pandas refuses 31/02/2015 where pyarrow's strptime rolls it over into March.
    return pd.to_datetime(text.str.strip(), format=fmt, errors="coerce")


def _dates_to_arrow(column: pa.ChunkedArray, fmt: str) -> pa.ChunkedArray:
    text = pd.Series(column.to_numpy(zero_copy_only=False), dtype=object)
    dates = _strict_dates(text, fmt)
    return pa.chunked_array([pa.array(dates, type=pa.timestamp("ns"))])


def _ambiguous_dates(name: str, example: str, formats: list[str]) -> str:
    return (
        f"Column {name!r} holds dates such as {example!r} that read as {formats[0]!r} and as "
        f"{formats[1]!r} (no value has a first field above 12); it is kept as text, and a text "
        "column's real values are copied into synthetic data. Write the dates as ISO "
        f"(2015-08-24), or parse the column yourself (pd.to_datetime(df[{name!r}], "
        f"format={formats[0]!r})) and pass the DataFrame."
    )


# -- columns that almost parse ------------------------------------------------------------------
def _mostly(name: str, values: pa.ChunkedArray, fits: pa.Array, what: str) -> str | None:
    """A message when most values of a text column are ``what`` but some are not."""
    n_fit = int(pc.sum(fits).as_py() or 0)
    if n_fit < _LOOKS_LIKE * len(values):
        return None
    misfits = pc.filter(values, pc.invert(fits))
    examples = ", ".join(repr(v) for v in misfits[:3].to_pylist())
    return (
        f"Column {name!r} looks like {what} ({n_fit} of {len(values)} distinct values), but "
        f"{len(values) - n_fit} do not fit (such as {examples}); it is read as text, and a text "
        "column's real values are copied into synthetic data. Correct those values, list them "
        "in na_values=[...] (--na-values) if they mark missing cells, or pass "
        f"text_columns=[{name!r}] (--text-columns {name}) to keep the column as text."
    )
