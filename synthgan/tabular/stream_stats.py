"""One pass over a Parquet dataset: the statistics a streamed fit needs, in bounded memory.

For a table that does not fit in memory, the transformer is fitted from what one pass in record
batches can keep (:func:`scan_dataset`):

* **exact category counts** of every column with at most :data:`MAX_DISTINCT` distinct values
  (missing counted as the value ``None``), in first-appearance order, as the in-memory fit sees
  them; a column with more stops being counted;
* **exact moments and bounds** of every numeric or datetime column: observed and missing counts,
  mean and standard deviation (Chan's parallel update), minimum and maximum, infinite values;
* a **uniform reservoir** of at most ``mixture_rows`` observed values per numeric column (the
  sample the column's Gaussian mixture is fitted on, as the in-memory fit subsamples
  ``mixture_max_rows`` values);
* a **planning sample**: a uniform reservoir of ``planning_rows`` whole rows, with the first
  ``reserve_rows`` rows of every value of every column that has at most ``track_limit``
  distinct values (and of the first ``track_limit + 1`` values of the others). Every value of
  a low-cardinality column is therefore present in it, so the column plans decided on it
  (constant columns, high cardinality) are those of the whole table. The reserve rows also
  guarantee that training-by-sampling finds a real row of every category.

The reservoirs keep the rows with the smallest uniform random keys (bottom-k sampling): a
uniform sample without replacement, fixed by the seed and the reading order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synthgan.exceptions import DataValidationError
from synthgan.io.datasets import ParquetDataset
from synthgan.tabular.columns import _to_py

__all__ = ["MAX_DISTINCT", "StreamStatistics", "scan_dataset"]

MAX_DISTINCT = 100_000  # distinct values counted per column; a discrete column with more is refused
SCAN_BATCH_ROWS = 65_536  # rows per record batch of the statistics pass


@dataclass
class ValueSummary:
    """Streaming summary of one numeric or datetime column (values as float64, NaN missing)."""

    n: int = 0  # finite observed values
    n_missing: int = 0
    n_inf: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    minimum: float = np.inf
    maximum: float = -np.inf
    sample: np.ndarray = field(default_factory=lambda: np.zeros(0))
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def has_missing(self) -> bool:
        return self.n_missing > 0

    @property
    def center(self) -> float:
        return float(self.mean)

    @property
    def scale(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else 0.0

    def update(self, values: np.ndarray, rng: np.random.Generator, capacity: int) -> None:
        missing = np.isnan(values)
        finite = values[np.isfinite(values)]
        self.n_missing += int(missing.sum())
        self.n_inf += int(values.size - missing.sum() - finite.size)
        self.sample, self.keys = bottom_k(self.sample, self.keys, finite, rng, capacity)
        if not finite.size:
            return
        n_b, mean_b = finite.size, float(finite.mean())
        m2_b = float(((finite - mean_b) ** 2).sum())
        total, delta = self.n + n_b, mean_b - self.mean
        self.mean += delta * n_b / total  # Chan et al. (1979): merge two (n, mean, M2)
        self.m2 += m2_b + delta**2 * self.n * n_b / total
        self.n = total
        self.minimum = min(self.minimum, float(finite.min()))
        self.maximum = max(self.maximum, float(finite.max()))


@dataclass
class ValueCounts:
    """Exact counts of one column's values in first-appearance order (``None`` is missing);
    ``overflow`` once the column has more than :data:`MAX_DISTINCT` distinct values."""

    counts: dict = field(default_factory=dict)
    overflow: bool = False

    @property
    def values(self) -> list:
        return list(self.counts)

    @property
    def frequencies(self) -> np.ndarray:
        return np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts))

    def update(self, keys: list, counts: np.ndarray) -> None:
        for key, count in zip(keys, counts.tolist(), strict=True):
            self.counts[key] = self.counts.get(key, 0) + count
        if len(self.counts) > MAX_DISTINCT:
            self.overflow, self.counts = True, {}


@dataclass
class StreamStatistics:
    """What :func:`scan_dataset` found (see the module docstring).

    ``frame`` is the planning sample with the reserve rows (indexed by row number in the
    dataset), in the dtypes the whole table reads with; ``reserve[column]`` the row numbers
    kept in it for the values of ``column``.
    """

    n_rows: int
    numeric: dict[str, ValueSummary]
    counts: dict[str, ValueCounts]
    frame: pd.DataFrame
    reserve: dict[str, np.ndarray]
    planning_rows: int
    reserve_rows: int

    def summaries(self) -> dict:
        """Per column, what the transformer fits from: a ValueSummary or ValueCounts."""
        return {**{k: v for k, v in self.counts.items() if not v.overflow}, **self.numeric}

    def reserve_frame(self, columns: list[str]) -> pd.DataFrame:
        """The reserve rows kept for the values of ``columns`` (each row once)."""
        ids = [self.reserve[c] for c in columns if c in self.reserve]
        rows = np.unique(np.concatenate(ids)) if ids else np.zeros(0, dtype=np.int64)
        return self.frame.loc[rows]


def bottom_k(kept: np.ndarray, keys: np.ndarray, new: np.ndarray, rng: np.random.Generator,
             k: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Keep the ``k`` items with the smallest uniform keys among ``kept`` and ``new``: a
    uniform sample without replacement of everything seen so far."""
    new_keys = rng.random(new.shape[0])
    items, all_keys = np.concatenate([kept, new]), np.concatenate([keys, new_keys])
    if all_keys.size <= k:
        return items, all_keys
    keep = np.argpartition(all_keys, k - 1)[:k]
    return items[keep], all_keys[keep]


class _Scanner:
    """Accumulates the statistics batch by batch (one instance per pass).

    It works on arrow batches and keeps arrow rows: converting every batch to pandas would
    create millions of short-lived Python strings, and the few kept among them would pin
    Python's memory arenas, so the process would grow with the table.
    """

    def __init__(self, dataset: ParquetDataset, rng, *, mixture_rows: int, planning_rows: int,
                 reserve_rows: int, track_limit: int) -> None:  # fmt: skip
        self.dataset, self.rng = dataset, rng
        self.mixture_rows, self.planning_rows = mixture_rows, planning_rows
        self.reserve_rows, self.track_limit = reserve_rows, track_limit
        empty = dataset.empty_frame()
        self.numeric_columns = {n for n in empty.columns if _is_numeric(empty[n])}
        self.counts = {name: ValueCounts() for name in dataset.columns}
        self.numeric: dict[str, ValueSummary] = {}
        self.kept: dict[str, dict] = {name: {} for name in dataset.columns}  # value -> rows kept
        self.reserve: dict[str, list[np.ndarray]] = {name: [] for name in dataset.columns}
        self.pieces: list[tuple[np.ndarray, pa.Table]] = []  # (row numbers, rows): the reserve
        self.sample, self.sample_ids, self.sample_keys = None, np.zeros(0, np.int64), np.zeros(0)
        self.nulls = dict.fromkeys(dataset.columns, 0)
        self.seen = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self._add_sample(batch)
        chosen = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            self.nulls[name] += column.null_count
            if name in self.numeric_columns:
                summary = self.numeric.setdefault(name, ValueSummary())
                summary.update(_as_float(column), self.rng, self.mixture_rows)
            if not self.counts[name].overflow:
                chosen.append(self._count(name, column))
        rows = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
        if rows.size:
            self.pieces.append((rows + self.seen, pa.Table.from_batches([batch.take(rows)])))
        self.seen += batch.num_rows

    def _add_sample(self, batch: pa.RecordBatch) -> None:
        keys = self.rng.random(batch.num_rows)
        ids = np.arange(self.seen, self.seen + batch.num_rows)
        if len(self.sample_keys) >= self.planning_rows:
            keep = np.flatnonzero(keys < self.sample_keys.max())  # rows that can enter
            ids, keys = ids[keep], keys[keep]
            batch = batch.take(keep)
        table = pa.Table.from_batches([batch])
        table = table if self.sample is None else pa.concat_tables([self.sample, table])
        ids, keys = np.concatenate([self.sample_ids, ids]), np.concatenate([self.sample_keys, keys])
        if keys.size > self.planning_rows:
            keep = np.sort(np.argpartition(keys, self.planning_rows - 1)[: self.planning_rows])
            table, ids, keys = table.take(keep), ids[keep], keys[keep]
        self.sample, self.sample_ids, self.sample_keys = table.combine_chunks(), ids, keys

    def _count(self, name: str, column: pa.Array) -> np.ndarray:
        """Count the batch's values; return the batch positions of its new reserve rows."""
        codes, keys = _factorize(column)
        counts = np.bincount(codes, minlength=len(keys))
        self.counts[name].update(keys, counts)
        need = self._reserve_needs(name, keys)
        order = np.argsort(codes, kind="stable")  # rows grouped by value, in file order
        grouped = codes[order]
        rank = np.arange(grouped.size) - np.searchsorted(grouped, grouped)  # rank in its group
        rows = np.sort(order[rank < need[grouped]])
        for key, n_needed, n_seen in zip(keys, need.tolist(), counts.tolist(), strict=True):
            if n_needed:
                self.kept[name][key] = self.kept[name].get(key, 0) + min(n_needed, n_seen)
        if rows.size:
            self.reserve[name].append(rows + self.seen)
        return rows

    def _reserve_needs(self, name: str, keys: list) -> np.ndarray:
        """Rows still wanted per value: values are admitted while the column has at most
        ``track_limit + 1`` (so a high-cardinality column still shows as one)."""
        kept, need = self.kept[name], np.zeros(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            if key in kept or len(kept) <= self.track_limit:
                kept.setdefault(key, 0)
                need[i] = self.reserve_rows - kept[key]
        return need

    def result(self) -> StreamStatistics:
        ids = np.concatenate([self.sample_ids, *(i for i, _ in self.pieces)])
        table = pa.concat_tables([self.sample, *(t for _, t in self.pieces)])
        frame = self.dataset.to_pandas(table.combine_chunks())
        frame.index = pd.Index(ids)
        frame = frame[~frame.index.duplicated()].sort_index()
        reserve = {n: np.concatenate(ids) for n, ids in self.reserve.items() if ids}
        return StreamStatistics(
            n_rows=self.seen, numeric=self.numeric, counts=self.counts,
            frame=_conform(frame, self.dataset, self.nulls), reserve=reserve,
            planning_rows=self.planning_rows, reserve_rows=self.reserve_rows,
        )  # fmt: skip


def _factorize(column: pa.Array) -> tuple[np.ndarray, list]:
    """Codes of the values in first-appearance order and the values as the in-memory fit
    names them (``synthgan.tabular.columns._to_py`` of pandas' values: ``None`` for missing,
    NaN included, ISO text for timestamps)."""
    if pa.types.is_dictionary(column.type):  # categories: count the values, not the codes
        column = column.dictionary_decode()
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    values = encoded.dictionary.to_pylist()
    if pa.types.is_timestamp(column.type):
        values = [None if v is None else pd.Timestamp(v).isoformat() for v in values]
    keys = [_to_py(v) for v in values]
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(set(keys)) < len(keys):  # NaN and null are both missing: merge them
        first = {}
        remap = np.array([first.setdefault(k, len(first)) for k in keys], dtype=np.int64)
        codes, keys = remap[codes], list(first)
    return codes, keys


def scan_dataset(
    dataset: ParquetDataset,
    rng: np.random.Generator,
    *,
    mixture_rows: int,
    planning_rows: int,
    reserve_rows: int,
    track_limit: int,
) -> StreamStatistics:
    """Read ``dataset`` once in record batches and keep its statistics (module docstring).

    Memory is bounded by the batch, ``planning_rows`` rows, ``mixture_rows`` values per numeric
    column, the counts of at most :data:`MAX_DISTINCT` values per column and
    ``reserve_rows * (track_limit + 1)`` reserve rows per column.
    """
    scanner = _Scanner(dataset, rng, mixture_rows=mixture_rows, planning_rows=planning_rows,
                       reserve_rows=reserve_rows, track_limit=track_limit)  # fmt: skip
    for batch in dataset.record_batches(SCAN_BATCH_ROWS):
        scanner.add(batch)
    if scanner.seen < 2:
        raise DataValidationError(
            f"The Parquet dataset has {scanner.seen} row(s); at least 2 are needed to learn a "
            "distribution (and many more for a useful one)."
        )
    return scanner.result()


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)


def _as_float(column: pa.Array) -> np.ndarray:
    """float64 values of a numeric or timestamp column, NaN for missing (timestamps in ns
    since the epoch, UTC, as :func:`synthgan.tabular.transformer._numeric` gives them)."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("ns", tz=column.type.tz)).cast(pa.int64())
    values = column.to_numpy(zero_copy_only=False)  # nulls: NaN (float) or None (object)
    if column.null_count and values.dtype == object:
        values = np.where(pd.isna(values), np.nan, values)
    return values.astype(np.float64)


def _conform(frame: pd.DataFrame, dataset: ParquetDataset, nulls: dict[str, int]) -> pd.DataFrame:
    """The planning frame in the dtypes the whole table reads with: an integer or boolean
    column with a missing cell anywhere is nullable (``Int64``, ``boolean``), as
    :func:`synthgan.io.read_table` makes it, whether or not the sample holds that cell."""
    empty = dataset.empty_frame()
    out = {}
    for name in frame.columns:
        target = empty[name].dtype
        if nulls[name] and target.kind in "iub":
            target = pd.api.types.pandas_dtype(_NULLABLE[target.kind] + _width(target))
        if isinstance(target, pd.CategoricalDtype) and not len(target.categories):
            target = "category"  # categories not stored in the file: those present
        out[name] = frame[name].astype(target)
    return pd.DataFrame(out, index=frame.index)


_NULLABLE = {"i": "Int", "u": "UInt", "b": "boolean"}


def _width(dtype) -> str:
    return "" if dtype.kind == "b" else str(dtype.itemsize * 8)
