"""Read a CSV file into an arrow table: dialect, missing markers, blanks, text and codes.

The steps, each with a maintained reader (no hand-written parser):

1. **Dialect.** The separator is ``sep`` when given, tab for ``.tsv`` files, and otherwise
   sniffed by :class:`csv.Sniffer` on the first lines among ``,`` ``;`` tab and ``|`` (``,`` when
   the sniffer cannot tell, as for a one-column file); the quote character is sniffed too.
2. **Read** with pyarrow's CSV reader and that dialect; unquoted empty cells and pyarrow's
   missing markers (plus ``na_values``) are missing.
3. **Refuse** a table of one column whose name contains a separator character: the file was
   read with the wrong separator, and every row would be one "value" copied into synthetic data.
4. **Text kept as written**: the columns in ``text_columns``, and integer columns whose digits
   have leading zeros (``007``; with a warning), are read again as strings.
5. **Text that is numbers or dates** (``1,234``, ``1,5``, ``24/08/2015``) is converted when it
   reads one way only (see :mod:`synthgan.io.text_values`); otherwise it stays text, with a
   warning when it looks like numbers or dates.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from synthgan.exceptions import DataValidationError
from synthgan.io.text_values import has_leading_zeros, leading_zeros_message, parse_text_column

__all__ = ["CsvOptions", "CsvSource", "check_unique_columns", "read_csv_table"]

SEPARATORS = ",;\t|"
_SEP_ALIASES = {"\\t": "\t", "tab": "\t", "TAB": "\t"}
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 100
_DEFAULT_NULLS = tuple(pacsv.ConvertOptions().null_values)


@dataclass(frozen=True)
class CsvOptions:
    """The user's choices for reading a CSV file (validated by :meth:`create`)."""

    sep: str | None = None
    na_values: tuple[str, ...] = ()
    strip_whitespace: bool = False
    text_columns: tuple[str, ...] = ()

    @classmethod
    def create(
        cls,
        *,
        sep: str | None,
        na_values: Iterable[str] | None,
        strip_whitespace: bool,
        text_columns: Iterable[str] | None,
    ) -> CsvOptions:
        """Check the arguments of :func:`synthgan.io.read_table` that concern CSV files."""
        if not isinstance(strip_whitespace, bool):
            raise TypeError(f"strip_whitespace must be True or False, got {strip_whitespace!r}.")
        return cls(
            sep=_check_sep(sep),
            na_values=_strings("na_values", na_values, "['?', '-']"),
            strip_whitespace=strip_whitespace,
            text_columns=_strings("text_columns", text_columns, "['zip', 'id']"),
        )

    @property
    def is_default(self) -> bool:
        return self == CsvOptions()

    @property
    def null_values(self) -> list[str]:
        # na_values are added to pyarrow's markers (which include "", "NA", "NaN", "null").
        return [*_DEFAULT_NULLS, *(v for v in self.na_values if v not in _DEFAULT_NULLS)]


@dataclass(frozen=True)
class CsvSource:
    """Where to read: the file, its compression, and the separator its extension imposes."""

    path: Path
    compression: str | None = None
    delimiter: str | None = None  # None: sniff it


def read_csv_table(source: CsvSource, options: CsvOptions) -> tuple[pa.Table, list[str]]:
    """Read ``source`` following ``options``.

    Returns
    -------
    table : pyarrow.Table
        Columns in file order, with the header names (stripped with ``strip_whitespace``).
    messages : list of str
        Warnings for the caller to issue (columns kept as text, numbers read by convention).
    """
    delimiter, quote_char = _dialect(source, options.sep)
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char=quote_char)
    try:
        table = _read(source, parse, options)
    except pa.ArrowInvalid as exc:  # rows of unequal length: often the wrong separator
        _refuse_other_separator(source, delimiter, exc)
        raise
    _refuse_one_column(table.column_names, delimiter, source.path)
    names = list(table.column_names)
    if options.strip_whitespace:
        names = [name.strip() for name in names]
    check_unique_columns(names, source.path)
    text = _text_indices(names, options.text_columns, source.path)
    table, kept, messages = _keep_as_text(table, names, text, source, parse, options)
    columns, more = _typed_columns(table, names, kept, delimiter, options)
    return pa.table(columns, names=names), messages + more


def check_unique_columns(names: list[object], path: Path) -> None:
    """Refuse duplicate column names, naming them."""
    counts = Counter(names)
    duplicates = sorted(str(name) for name, count in counts.items() if count > 1)
    if duplicates:
        raise DataValidationError(
            f"Table {str(path)!r} has duplicate column names {duplicates}; give every column a "
            "unique name."
        )


# -- arguments ----------------------------------------------------------------------------------
def _check_sep(sep: str | None) -> str | None:
    if sep is None:
        return None
    sep = _SEP_ALIASES.get(sep, sep) if isinstance(sep, str) else sep
    if not isinstance(sep, str) or len(sep) != 1 or sep in '"\r\n':
        raise DataValidationError(
            f"sep must be one character such as ',', ';', '\\t' (or 'tab') or '|', got {sep!r}."
        )
    return sep


def _strings(argument: str, values: Iterable[str] | None, example: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        raise DataValidationError(
            f"{argument} must be a list of strings, got the string {values!r}; pass "
            f"[{values!r}] (for example {argument}={example})."
        )
    values = tuple(values)
    wrong = [v for v in values if not isinstance(v, str)]
    if wrong:
        raise DataValidationError(f"{argument} must hold strings only, got {wrong!r}.")
    return values


# -- dialect ------------------------------------------------------------------------------------
def _dialect(source: CsvSource, sep: str | None) -> tuple[str, str]:
    """Separator and quote character: given, imposed by the extension, or sniffed."""
    sample = _sample(source)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=SEPARATORS)
        delimiter, quote_char = sniffed.delimiter, sniffed.quotechar or '"'
    except csv.Error:  # one column, or no consistent separator: pyarrow's default
        delimiter, quote_char = ",", '"'
    if sep is not None or source.delimiter is not None:
        delimiter = sep or source.delimiter
    if quote_char == delimiter:
        quote_char = '"'
    return delimiter, quote_char


def _sniffed_separator(source: CsvSource) -> str | None:
    try:
        return csv.Sniffer().sniff(_sample(source), delimiters=SEPARATORS).delimiter
    except csv.Error:
        return None


def _refuse_other_separator(source: CsvSource, delimiter: str, exc: Exception) -> None:
    """A parse error on a file that sniffs as separated by another character: say which."""
    likely = _sniffed_separator(source)
    if likely is None or likely == delimiter:
        return
    shown, used = ("\\t" if c == "\t" else c for c in (likely, delimiter))
    raise DataValidationError(
        f"Could not read {str(source.path)!r} with the separator {used!r} ({exc}); the file "
        f"looks {shown!r}-separated. Pass sep={shown!r} (--sep '{shown}' on the command line)."
    ) from exc


def _sample(source: CsvSource) -> str:
    """The first lines of the file as text (decompressed, without a byte-order mark)."""
    with pa.input_stream(str(source.path), compression=source.compression) as stream:
        head = stream.read(_SNIFF_BYTES)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if len(head) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    return "".join(lines[:_SNIFF_LINES])


def _refuse_one_column(names: list[str], delimiter: str, path: Path) -> None:
    if len(names) != 1:
        return
    counts = {c: names[0].count(c) for c in SEPARATORS if c != delimiter and c in names[0]}
    if not counts:
        return
    likely = max(counts, key=counts.get)
    shown = "\\t" if likely == "\t" else likely
    raise DataValidationError(
        f"{str(path)!r} was read as one column named {names[0][:80]!r}, which contains "
        f"{shown!r}: the file is probably {shown!r}-separated (it was read with {delimiter!r}). "
        f"Pass sep={shown!r} (--sep '{shown}' on the command line). A table of one column is "
        "refused when its name holds a separator; rename the column if that is its real name."
    )


# -- reading ------------------------------------------------------------------------------------
def _read(
    source: CsvSource,
    parse: pacsv.ParseOptions,
    options: CsvOptions,
    text: list[str] | None = None,
) -> pa.Table:
    # Unquoted empty cells are missing; a quoted "" is an empty string, as write_table writes it.
    # ``text``: read only these columns, as strings.
    convert = pacsv.ConvertOptions(
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=options.null_values,
        include_columns=text,
        column_types=None if text is None else dict.fromkeys(text, pa.string()),
    )
    with pa.input_stream(str(source.path), compression=source.compression) as stream:
        return pacsv.read_csv(stream, parse_options=parse, convert_options=convert)


def _text_indices(names: list[str], wanted: tuple[str, ...], path: Path) -> set[int]:
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise DataValidationError(
            f"text_columns names {unknown}, which are not columns of {str(path)!r} (columns: "
            f"{names}); give the names as in the file's header."
        )
    return {names.index(name) for name in wanted}


def _keep_as_text(
    table: pa.Table,
    names: list[str],
    text: set[int],
    source: CsvSource,
    parse: pacsv.ParseOptions,
    options: CsvOptions,
) -> tuple[pa.Table, set[int], list[str]]:
    """Read again, as strings, the ``text_columns`` and the integer columns with leading zeros.

    Returns the table, the indices of the columns now kept as text, and the warnings.
    """
    integers = {i for i, f in enumerate(table.schema) if pa.types.is_integer(f.type)}
    wanted = sorted(text | integers)
    if not wanted:
        return table, set(), []
    raw_names = [table.column_names[i] for i in wanted]
    raw = _read(source, parse, options, text=raw_names)
    kept, messages = set(), []
    for index, raw_name in zip(wanted, raw_names, strict=True):
        strings = _stripped(raw.column(raw_name), options)
        if index not in text:
            if not has_leading_zeros(strings):
                continue
            messages.append(leading_zeros_message(names[index], strings))
        table = table.set_column(index, raw_name, strings)
        kept.add(index)
    return table, kept, messages


def _typed_columns(
    table: pa.Table, names: list[str], kept: set[int], delimiter: str, options: CsvOptions
) -> tuple[list[pa.ChunkedArray], list[str]]:
    """Strip string cells if asked, then convert the text columns holding numbers or dates."""
    columns, messages = [], []
    for index, column in enumerate(table.columns):
        if index in kept or not pa.types.is_string(column.type):
            columns.append(column)
            continue
        column, message = parse_text_column(names[index], _stripped(column, options), delimiter)
        columns.append(column)
        if message is not None:
            messages.append(message)
    return columns, messages


def _stripped(column: pa.ChunkedArray, options: CsvOptions) -> pa.ChunkedArray:
    """With ``strip_whitespace``: cells without their blanks; a cell that becomes a missing
    marker once stripped (``" ?"`` with ``na_values=["?"]``, ``"  "``) is missing."""
    if not options.strip_whitespace:
        return column
    stripped = pc.utf8_trim_whitespace(column)
    became_null = pc.and_(
        pc.is_in(stripped, value_set=pa.array(options.null_values)),
        pc.not_equal(stripped, column),
    )
    return pc.if_else(became_null, pa.scalar(None, pa.string()), stripped)
