"""``sample_to``: a table synthesizer's rows streamed to Parquet or CSV (see
:mod:`synthgan.io.streams` for the chunks, seeds, workers and atomic completion)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from synthgan.core.params import check_int
from synthgan.exceptions import DataValidationError
from synthgan.io import streams
from synthgan.io.streams import stream_to
from synthgan.io.table_sinks import CsvFileSink, ParquetDatasetSink, ParquetFileSink, TableBlocks
from synthgan.io.tables import has_table_extension, table_format_of

__all__ = ["DEFAULT_CHUNK_ROWS", "DEFAULT_FILE_ROWS", "StreamedTableSampling"]

DEFAULT_CHUNK_ROWS = 131_072  # 8 seed blocks: about 10-100 MB of rows in flight per chunk
DEFAULT_FILE_ROWS = 1_048_576  # rows per Parquet file of a directory dataset
_PARTITION_KINDS = ("discrete", "constant")


class StreamedTableSampling:
    """Mixin of the table synthesizers: :meth:`sample_to` on top of their ``sample``."""

    def sample_to(
        self,
        path: str | PathLike[str],
        n: int,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        conditions: Mapping[str, Any] | None = None,
        random_state: int | np.random.Generator | None = None,
        workers: int = 1,
        partition_by: str | None = None,
        file_rows: int = DEFAULT_FILE_ROWS,
        overwrite: bool = False,
        progress: bool | None = None,
    ) -> Path:
        """Generate ``n`` rows into a Parquet dataset, a Parquet file or a CSV file, in chunks.

        Peak memory depends on ``chunk_rows`` and ``workers``, never on ``n``. The rows are
        defined by the seed alone: the same seed gives the same rows whatever ``chunk_rows``
        and ``workers`` (they differ from :meth:`sample`'s rows for that seed, which are drawn
        in one piece). A run that fails or is killed leaves nothing under ``path``.

        Parameters
        ----------
        path : str or PathLike
            A name with a table extension (``.parquet``, ``.csv``, ``.csv.gz``, ``.tsv`` ...)
            is one file. Any other name is a directory, written as a Parquet dataset:
            ``part-00000.parquet`` ... of ``file_rows`` rows, a manifest ``_synthgan.json``
            (rows, seed, files) and an empty ``_SUCCESS``, all renamed into place at the end.
        n : int
            Number of rows, at least 1.
        chunk_rows : int, default=131072
            Rows generated and written at a time (one Parquet row group).
        conditions : mapping, optional
            As for :meth:`sample`: every row matches every condition.
        random_state : int, numpy Generator or None
            Seed. With None a fresh one is drawn and recorded in the manifest.
        workers : int, default=1
            Processes that generate chunks in parallel (each with its share of the threads).
            They are spawned: a script that passes ``workers > 1`` must call ``sample_to``
            under ``if __name__ == "__main__":``.
        partition_by : str, optional
            A discrete column: the directory is Hive-partitioned by its values
            (``column=value/part-00000.parquet``).
        file_rows : int, default=1048576
            Rows per file of a directory dataset (whole chunks).
        overwrite : bool, default=False
            Replace an existing output: a file, or a directory written by ``sample_to``
            (never a directory of other files).
        progress : bool or None, default=None
            Show a progress bar with rows/s; None shows it on a terminal only.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        self._check_fitted()
        n, chunk_rows, workers, file_rows = _check_sizes(n, chunk_rows, workers, file_rows)
        target = Path(path)
        directory = not has_table_extension(target)
        sink = self._table_sink(target, directory, partition_by, file_rows)
        self.sample(1, conditions=conditions, random_state=0)  # checks the conditions early
        _warn_identifier_repeats(self.transformer_, n)
        return stream_to(
            self, target, n, producer=TableBlocks(conditions), sink=sink, directory=directory,
            chunk_rows=chunk_rows, random_state=random_state, workers=workers,
            overwrite=overwrite, progress=progress,
            manifest={"kind": "parquet", "partition_by": partition_by},
        )  # fmt: skip

    def _table_sink(self, target: Path, directory: bool, partition_by, file_rows: int):
        if partition_by is not None:
            self._check_partition_column(partition_by, directory, target)
        if directory:
            return lambda root: ParquetDatasetSink(root, file_rows, partition_by)
        if table_format_of(target).kind == "parquet":
            return ParquetFileSink
        return lambda tmp: CsvFileSink(tmp, target.name)

    def _check_partition_column(self, column: str, directory: bool, target: Path) -> None:
        if not directory:
            raise DataValidationError(
                f"partition_by needs a directory output, but {str(target)!r} names one "
                f"table file; pass a directory name such as {target.stem!r}."
            )
        kinds = self.column_kinds_
        if column not in kinds:
            raise DataValidationError(
                f"partition_by={column!r} is not a column of the generated table; its columns: "
                f"{list(kinds)}."
            )
        if kinds[column] not in _PARTITION_KINDS:
            raise DataValidationError(
                f"partition_by={column!r} is a {kinds[column]} column; partition by a discrete "
                "column (one folder per category), such as "
                f"{[c for c, k in kinds.items() if k == 'discrete'][:5]}."
            )


def _warn_identifier_repeats(transformer, n: int) -> None:
    """Warn when identifiers drawn block by block are likely to repeat across blocks.

    Identifiers are distinct within a seed block; two rows of different blocks are equal with
    the column's pair probability, so the expected number of equal pairs is that times the
    number of cross-block pairs (and the chance both are present)."""
    from synthgan.tabular.identifiers import IdentifierEncoder

    block = streams.BLOCK_ROWS
    full, rest = divmod(n, block)
    within = full * block * (block - 1) / 2 + rest * (rest - 1) / 2
    cross = n * (n - 1) / 2 - within
    for encoder in transformer.encoders_:
        if not isinstance(encoder, IdentifierEncoder):
            continue
        expected = cross * (1 - encoder.missing_rate) ** 2 * encoder.pair_probability()
        if expected >= 0.5:
            warnings.warn(
                f"Identifier column {encoder.name!r}: about {expected:,.0f} pairs of the {n:,} "
                "rows are expected to share a value. sample_to draws identifiers per block of "
                f"{block:,} rows, distinct within a block but not across blocks. Declare a wider "
                "'pattern' in the metadata, or deduplicate the column after writing.",
                UserWarning,
                stacklevel=3,
            )


def _check_sizes(n, chunk_rows, workers, file_rows) -> tuple[int, int, int, int]:
    return (
        check_int("n", n, minimum=1),
        check_int("chunk_rows", chunk_rows, minimum=1),
        check_int("workers", workers, minimum=1),
        check_int("file_rows", file_rows, minimum=1),
    )
