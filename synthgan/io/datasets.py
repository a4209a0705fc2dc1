"""Parquet datasets read in record batches: one file, a directory of files, or a list of files.

A :class:`ParquetDataset` is opened from the files' footers only (schemas, row counts, row
groups), so opening a table of any size costs almost nothing. The files must share one schema:
the same column names in the same order with the same types; a mismatch is reported with the
files and the columns concerned. Batches come back as pandas frames with the conventions of
:func:`synthgan.io.read_table` (nullable integers for integer columns with missing cells,
``NaN`` in string columns, the categories stored by :func:`synthgan.io.write_table`).

Reading uses :mod:`pyarrow.dataset`; a *unit* is one row group of one file, the smallest part a
reader can fetch on its own, which is what a shuffled stream draws from.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from synthgan.exceptions import DataValidationError
from synthgan.io.tables import _restore_categories, _stored_categories, _to_pandas

__all__ = ["ParquetDataset", "is_dataset_source", "open_dataset"]

PARQUET_EXTENSIONS = (".parquet", ".pq")
# The scanner's default read-ahead (16 batches, 4 files) decodes far ahead of a consumer that
# converts batches to pandas, which can hold hundreds of MB; one batch ahead keeps the read
# overlapped with the conversion and memory to a few batches.
_READ = {
    "batch_readahead": 1,
    "fragment_readahead": 1,
    "use_threads": False,
    "fragment_scan_options": pads.ParquetFragmentScanOptions(pre_buffer=False),
}


@dataclass(frozen=True)
class RowGroup:
    """One readable unit of the dataset: row group ``index`` of file ``file`` (a position)."""

    file: int
    index: int
    n_rows: int


class ParquetDataset:
    """The files of a Parquet dataset with their shared schema and row groups.

    Build it with :func:`open_dataset`.

    Attributes
    ----------
    files : list of pathlib.Path
        The data files, in reading order (sorted by path).
    schema : pyarrow.Schema
        The schema every file shares.
    row_groups : list of RowGroup
        Every row group of every file, in reading order.
    n_rows : int
        Rows of the whole dataset (from the footers).
    """

    def __init__(self, files: list[Path], schema: pa.Schema, row_groups: list[RowGroup]) -> None:
        self.files, self.schema, self.row_groups = files, schema, row_groups
        self.n_rows = sum(group.n_rows for group in row_groups)
        self._categories = _stored_categories(schema)
        dataset = pads.dataset([str(f) for f in files], format="parquet")
        self._fragments = list(dataset.get_fragments())  # one per file, in the files' order

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def to_pandas(self, table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
        """A batch as pandas, with :func:`synthgan.io.read_table`'s conventions."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        frame = _to_pandas(table)
        _restore_categories(frame, self._categories)
        return frame

    def record_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Every row once, in file and row-group order, in arrow batches of at most
        ``batch_rows`` rows."""
        for fragment in self._fragments:
            for batch in fragment.to_batches(batch_size=batch_rows, **_READ):
                if batch.num_rows:
                    yield batch

    def batches(self, batch_rows: int) -> Iterator[pd.DataFrame]:
        """:meth:`record_batches` as pandas frames."""
        for batch in self.record_batches(batch_rows):
            yield self.to_pandas(batch)

    def empty_frame(self) -> pd.DataFrame:
        """No rows, with the columns and dtypes a batch reads with."""
        return self.to_pandas(self.schema.empty_table())

    def read_row_group(self, group: RowGroup, batch_rows: int) -> Iterator[pd.DataFrame]:
        """The rows of one row group, as frames of at most ``batch_rows`` rows."""
        fragment = self._fragments[group.file].subset(row_group_ids=[group.index])
        for batch in fragment.to_batches(batch_size=batch_rows, **_READ):
            if batch.num_rows:
                yield self.to_pandas(batch)

    def to_frame(self) -> pd.DataFrame:
        """The whole dataset as one DataFrame (for tables that fit in memory)."""
        tables = [fragment.to_table() for fragment in self._fragments]
        return self.to_pandas(pa.concat_tables(tables).combine_chunks())

    def fingerprint(self) -> str:
        """A digest of the files' names, sizes and footers (row counts, schema, statistics).

        Reading every value to hash it would cost a full pass; the footer holds each row
        group's column statistics, so a change of data almost always changes it.
        """
        from synthgan.base import data_digest

        parts = []
        for path in self.files:
            meta = pq.ParquetFile(path).metadata.to_dict()
            parts.append(json.dumps([path.name, path.stat().st_size, meta], default=str))
        return data_digest(*parts)


def is_dataset_source(data: Any) -> bool:
    """Whether ``data`` names a Parquet dataset: a directory, a Parquet file or a list of files."""
    if isinstance(data, (list, tuple)):
        return bool(data) and all(isinstance(d, (str, PathLike)) for d in data)
    if not isinstance(data, (str, PathLike)):
        return False
    path = Path(data)
    return path.is_dir() or path.name.lower().endswith(PARQUET_EXTENSIONS)


def open_dataset(source: str | PathLike | Sequence[str | PathLike]) -> ParquetDataset:
    """Open a Parquet dataset from its footers, checking that the files share one schema.

    Parameters
    ----------
    source : path or sequence of paths
        A Parquet file, a directory (every ``.parquet`` / ``.pq`` file below it, hidden files
        and files starting with ``_`` or ``.`` skipped, as pyarrow does) or a list of files.

    Returns
    -------
    ParquetDataset

    Raises
    ------
    FileNotFoundError
        A path does not exist.
    DataValidationError
        No Parquet file, no rows, a file that cannot be read as Parquet, or files whose
        schemas differ (named with the columns concerned).
    """
    files = _list_files(source)
    schemas = [_read_schema(path) for path in files]
    _check_same_schema(files, schemas)
    groups = [_row_groups(i, path) for i, path in enumerate(files)]
    row_groups = [group for file_groups in groups for group in file_groups]
    if sum(group.n_rows for group in row_groups) == 0:
        names = ", ".join(str(f) for f in files[:5])
        raise DataValidationError(f"The Parquet dataset has no rows (files: {names}).")
    return ParquetDataset(files, schemas[0], row_groups)


def _list_files(source) -> list[Path]:
    paths = [Path(s) for s in source] if isinstance(source, (list, tuple)) else [Path(source)]
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "Parquet dataset path not found", str(path))
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if _is_data_file(p, path))
        else:
            files.append(path)
    if not files:
        raise DataValidationError(
            f"No Parquet file found in {', '.join(str(p) for p in paths)}: a dataset directory "
            f"holds files ending in {' or '.join(PARQUET_EXTENSIONS)}."
        )
    return files


def _is_data_file(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    hidden = any(part.startswith((".", "_")) for part in parts)
    return path.is_file() and not hidden and path.name.lower().endswith(PARQUET_EXTENSIONS)


def _read_schema(path: Path) -> pa.Schema:
    if path.stat().st_size == 0:
        raise DataValidationError(f"{str(path)!r} is empty (0 bytes); it holds no Parquet table.")
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(
            f"Could not read {str(path)!r} as Parquet: {exc}. Check that the file is complete "
            "(not still being written) and is a Parquet file; remove it from the dataset "
            "otherwise."
        ) from exc


def _row_groups(position: int, path: Path) -> list[RowGroup]:
    meta = pq.ParquetFile(path).metadata
    return [RowGroup(position, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups)]


def _check_same_schema(files: list[Path], schemas: list[pa.Schema]) -> None:
    """Every file against the first: the same columns, in the same order, of the same types."""
    reference, problems = schemas[0], []
    for path, schema in zip(files[1:], schemas[1:], strict=True):
        problem = _schema_difference(reference, schema)
        if problem:
            problems.append(f"{path} {problem}")
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise DataValidationError(
            f"The files of the Parquet dataset do not share one schema. Compared with "
            f"{files[0]} (columns {reference.names}): {shown}. Rewrite the files with the same "
            "columns and types (or fit on the files that match)."
        )


def _schema_difference(reference: pa.Schema, schema: pa.Schema) -> str:
    missing = [n for n in reference.names if n not in schema.names]
    extra = [n for n in schema.names if n not in reference.names]
    if missing or extra:
        return f"lacks columns {missing} and has extra columns {extra}"
    if schema.names != reference.names:
        return f"has the columns in another order: {schema.names}"
    types = [
        f"{name!r} is {schema.field(name).type} (not {reference.field(name).type})"
        for name in reference.names
        if not schema.field(name).type.equals(reference.field(name).type)
    ]
    return "has column types that differ: " + ", ".join(types) if types else ""
