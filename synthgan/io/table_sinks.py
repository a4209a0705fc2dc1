"""Writers of streamed tables (:mod:`synthgan.io.streams`): a Parquet dataset directory, one
Parquet file, or one CSV file, each written chunk by chunk.

The first chunk fixes the schema (a column with no value in it, which Arrow types ``null``, is
taken as text); every later chunk is cast to it, so all files of a dataset share one schema and
read back as one table (``pyarrow.dataset.dataset(path)``, ``pandas.read_parquet(path)``).
Every chunk is one Parquet row group; a directory dataset starts a new file every
``file_rows`` rows.

With ``partition_by``, the directory is Hive-partitioned: rows with value ``v`` of the column go
to ``column=v/part-00000.parquet`` ... (values URI-encoded; missing values under
``__HIVE_DEFAULT_PARTITION__``, as Spark and pyarrow write them). The column is then held by the
folder names, not in the files, as Hive readers expect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synthgan.exceptions import DataValidationError
from synthgan.io.streams import file_entry
from synthgan.io.tables import csv_columns, table_format_of

__all__ = ["CsvFileSink", "ParquetDatasetSink", "ParquetFileSink", "TableBlocks"]

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


class TableBlocks:
    """The block producer of tables: ``model.sample(rows, conditions=...)`` as an Arrow table.

    Parameters
    ----------
    conditions : mapping or None
        Passed to the model's ``sample`` (already checked by the caller).
    """

    def __init__(self, conditions=None) -> None:
        self.conditions = dict(conditions) if conditions else None

    def __call__(self, model, rows: int, start: int, rng) -> pa.Table:
        from synthgan.io.tables import frame_to_arrow

        frame = model.sample(rows, conditions=self.conditions, random_state=rng)
        return frame_to_arrow(frame, "sample_to output")

    def concat(self, parts: list[pa.Table]) -> pa.Table:
        return pa.concat_tables(parts, promote_options="permissive")

    def slice(self, payload: pa.Table, lo: int, hi: int) -> pa.Table:
        return payload.slice(lo, hi - lo)

    def rows(self, payload: pa.Table) -> int:
        return payload.num_rows


class _Schema:
    """The stream's schema, fixed by its first chunk; later chunks are cast to it."""

    def __init__(self) -> None:
        self.schema: pa.Schema | None = None

    def fit(self, table: pa.Table) -> pa.Table:
        if self.schema is None:
            fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                      for f in table.schema]  # fmt: skip
            self.schema = pa.schema(fields, metadata=table.schema.metadata)
        try:
            return table.cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise DataValidationError(
                f"A generated chunk does not fit the schema of the first one ({error}); a "
                "column holds values of several types. Give the training column one type."
            ) from error


class ParquetFileSink:
    """All chunks into one Parquet file, one row group each."""

    def __init__(self, path: Path) -> None:
        self.path, self._schema, self._writer = path, _Schema(), None

    def write(self, table: pa.Table) -> None:
        table = self._schema.fit(table)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema.schema)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def close(self) -> dict[str, Any]:
        if self._writer is not None:
            self._writer.close()
        return {}


class CsvFileSink:
    """All chunks into one CSV file (compressed by its extension), the header once."""

    def __init__(self, path: Path, name: str) -> None:
        self._format = table_format_of(name)
        self._stream = pa.output_stream(str(path), compression=self._format.compression)
        self._schema, self._writer = _Schema(), None

    def write(self, table: pa.Table) -> None:
        # Each chunk's timestamps at their coarsest exact form (dates, whole seconds): chunks may
        # differ, and CSV readers parse a column mixing the ISO forms as one timestamp column.
        table = csv_columns(self._schema.fit(table), coarsen_timestamps=True)
        if self._writer is None:
            options = pacsv.WriteOptions(delimiter=self._format.delimiter or ",")
            self._writer = pacsv.CSVWriter(self._stream, table.schema, write_options=options)
        self._writer.write_table(table)

    def close(self) -> dict[str, Any]:
        if self._writer is not None:
            self._writer.close()
        self._stream.close()
        return {}


class ParquetDatasetSink:
    """A directory of Parquet files of ``file_rows`` rows or fewer, optionally Hive-partitioned.

    Parameters
    ----------
    root : Path
        The (staging) directory.
    file_rows : int
        A new file is started once a file holds this many rows (whole chunks: a file may hold
        up to one chunk more).
    partition_by : str or None
        Column whose values name the sub-directories.
    """

    def __init__(self, root: Path, file_rows: int, partition_by: str | None = None) -> None:
        self.root, self.file_rows, self.partition_by = root, file_rows, partition_by
        self._schema = _Schema()
        self._open: dict[str, _PartFile] = {}  # by partition folder ("" when not partitioned)
        self._done: list[dict[str, Any]] = []

    def write(self, table: pa.Table) -> None:
        table = self._schema.fit(table)
        if self.partition_by is None:
            self._append("", table)
            return
        column = table.column(self.partition_by)
        rest = table.drop_columns([self.partition_by])
        for value in column.unique().to_pylist():
            mask = pc.is_null(column) if value is None else pc.equal(column, value)
            self._append(_folder(self.partition_by, value), rest.filter(mask))

    def _append(self, folder: str, table: pa.Table) -> None:
        part = self._open.get(folder)
        if part is None:
            number = sum(1 for e in self._done if Path(e["path"]).parent == Path(folder))
            part = self._open[folder] = _PartFile(self.root / folder, number, table.schema)
        part.write(table)
        if part.rows >= self.file_rows:
            self._done.append(part.close(self.root))
            del self._open[folder]

    def close(self) -> dict[str, Any]:
        self._done.extend(part.close(self.root) for part in self._open.values())
        self._open.clear()
        return {"files": sorted(self._done, key=lambda entry: entry["path"])}


class _PartFile:
    def __init__(self, folder: Path, number: int, schema: pa.Schema) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"part-{number:05d}.parquet"
        self.rows, self._writer = 0, pq.ParquetWriter(self.path, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.rows += table.num_rows

    def close(self, root: Path) -> dict[str, Any]:
        self._writer.close()
        return file_entry(root, self.path, self.rows)


def _folder(column: str, value: Any) -> str:
    text = HIVE_NULL if value is None else quote(str(value), safe="")
    return f"{quote(column, safe='')}={text}"
