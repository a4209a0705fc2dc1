"""Training CTGAN on a Parquet table larger than memory (``docs/scaling.md``).

The transformer is fitted from one pass of streamed statistics
(:mod:`synthgan.tabular.stream_stats`); training then reads the table again and again through a
**shuffle buffer** (:class:`ShuffleBuffer`): ``buffer_rows`` encoded rows drawn from row groups
taken in a random order, each new piece of a row group overwriting random rows of the buffer as
training consumes them. Training-by-sampling runs on the buffer: a condition (column, category)
is drawn with the whole table's exact category frequencies, then a buffered row with that
category. A category no buffered row has is served from the **reserve**, the few rows of every
category kept by the statistics pass, so every condition always has real rows.

An epoch is ``n_rows // batch_size`` steps, as in memory. The buffer is rebuilt at the start of
every epoch from a stream seeded by the fit's seed and the epoch number, so its content at any
step is a function of the seed and the step: the same seed gives the same model, and a fit
resumed from a checkpoint (taken at the end of an epoch) continues exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from synthgan.core.session import TrainingContext
from synthgan.exceptions import DataValidationError
from synthgan.io.datasets import ParquetDataset
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.steps import TabularGANSteps, one_hot_conditions
from synthgan.tabular.stream_stats import MAX_DISTINCT, StreamStatistics
from synthgan.tabular.transformer import TableTransformer
from synthgan.tabular.validation import ColumnPlan, plan_columns

__all__ = ["PLANNING_ROWS", "RESERVE_ROWS", "ShuffleBuffer", "StreamSource",
           "StreamedTabularSteps", "plan_streamed_columns", "stream_source"]  # fmt: skip

PLANNING_ROWS = 20_000  # uniform sample of whole rows the column plans are decided on
RESERVE_ROWS = 8  # rows kept per category (the reserve) by the statistics pass
PIECE_ROWS = 16_384  # rows read and encoded at a time into the buffer


def plan_streamed_columns(
    stats: StreamStatistics,
    *,
    discrete_columns,
    metadata: Mapping[str, Any] | None,
    high_cardinality_threshold: int,
) -> list[ColumnPlan]:
    """:func:`~synthgan.tabular.validation.plan_columns` on the planning sample, checked
    against the whole table's statistics (infinite values, uncountable discrete columns).

    The sample holds every value of every column with at most ``high_cardinality_threshold``
    distinct values, so constant and high-cardinality columns are found as in memory.
    """
    plans = plan_columns(
        stats.frame, discrete_columns=discrete_columns, metadata=metadata,
        high_cardinality_threshold=high_cardinality_threshold,
    )  # fmt: skip
    for plan in plans:
        _check_plan(plan, stats)
    return plans


def _check_plan(plan: ColumnPlan, stats: StreamStatistics) -> None:
    summary = stats.numeric.get(plan.name)
    if plan.kind in ("continuous", "datetime") and summary is not None and summary.n_inf:
        raise DataValidationError(
            f"Column {plan.name!r} contains {summary.n_inf} infinite value(s); they cannot be "
            "modelled faithfully. Replace them (with NaN for missing, or a finite cap) before "
            "fitting."
        )
    if plan.kind == "discrete" and stats.counts[plan.name].overflow:
        raise DataValidationError(
            f"Column {plan.name!r} is discrete with more than {MAX_DISTINCT:,} distinct values: "
            "a streamed fit keeps exact category counts and cannot hold that many. Declare it "
            'an identifier ({"kind": "id"}) or free text ({"kind": "text"}) in the metadata, '
            "generalise it (fewer distinct values), or drop it."
        )


@dataclass(frozen=True)
class StreamSource:
    """What streamed training reads: the dataset, its encoder, the encoded reserve rows and
    the whole table's category counts (one array per discrete column)."""

    dataset: ParquetDataset
    transformer: TableTransformer
    reserve_matrix: np.ndarray  # (n_reserve, output_width)
    reserve_codes: np.ndarray  # (n_reserve, n_discrete)
    counts: list[np.ndarray]
    log_frequency: bool
    buffer_rows: int

    @property
    def n_categories(self) -> list[int]:
        return [len(c) for c in self.counts]


def stream_source(
    dataset: ParquetDataset, transformer: TableTransformer, stats: StreamStatistics,
    rng: np.random.Generator, *, buffer_rows: int, log_frequency: bool,
) -> StreamSource:  # fmt: skip
    """Encode the reserve rows of the discrete columns and gather what training reads."""
    discrete = [e.name for e in transformer.discrete_encoders_]
    reserve = stats.reserve_frame(discrete)
    matrix, codes = _encode(transformer, reserve, rng)
    counts = [np.asarray(e.counts, dtype=np.int64) for e in transformer.discrete_encoders_]
    return StreamSource(dataset, transformer, matrix, codes, counts, log_frequency,
                        min(buffer_rows, dataset.n_rows))  # fmt: skip


def _encode(transformer: TableTransformer, frame: pd.DataFrame, rng) -> tuple[np.ndarray, ...]:
    if len(frame) == 0:
        n_discrete = len(transformer.discrete_encoders_)
        return (np.zeros((0, transformer.output_width), np.float32),
                np.zeros((0, n_discrete), np.int64))  # fmt: skip
    return transformer.transform(frame, rng)


class ShuffleBuffer:
    """Encoded rows of the table, refreshed from shuffled row groups as training goes on.

    The pool holds the ``capacity`` buffered rows followed by the reserve rows. ``at(step)``
    brings the buffer to its state at critic step ``step``: at the start of an epoch it is
    refilled from a stream seeded with ``(seed, epoch)``; within an epoch a new piece is read
    each time training has consumed as many rows (``batch_size`` per critic step) as were read.

    Parameters
    ----------
    source : StreamSource
    seed : int
        Seed of the stream (row-group order, buffer positions, mode sampling of the encoding).
    batch_size : int
        Real rows per critic step.
    steps_per_epoch : int
        Critic steps per epoch.
    """

    def __init__(self, source: StreamSource, *, seed: int, batch_size: int,
                 steps_per_epoch: int) -> None:  # fmt: skip
        self.source, self.seed = source, seed
        self.batch_size, self.steps_per_epoch = batch_size, steps_per_epoch
        self.capacity = source.buffer_rows
        self.piece_rows = min(PIECE_ROWS, self.capacity)
        width, n_discrete = source.reserve_matrix.shape[1], source.reserve_codes.shape[1]
        self.matrix = np.zeros((self.capacity + len(source.reserve_matrix), width), np.float32)
        self.codes = np.zeros((len(self.matrix), n_discrete), np.int64)
        self.matrix[self.capacity :], self.codes[self.capacity :] = (
            source.reserve_matrix, source.reserve_codes)  # fmt: skip
        self.offsets = np.concatenate([[0], np.cumsum(source.n_categories)])[:-1].astype(np.int64)
        self.epoch, self.sampler, self.rows_read = None, None, 0
        self.filled, self._pieces, self._rng = 0, iter(()), np.random.default_rng(seed)

    def at(self, step: int) -> ConditionSampler:
        """The training sampler over the buffer as it is at critic step ``step``."""
        epoch, within = divmod(step, self.steps_per_epoch)
        if epoch != self.epoch:
            self._start(epoch)
        changed = False
        while self.rows_read < within * self.batch_size:
            self.rows_read += self._write(next(self._pieces))
            changed = True
        if changed:
            self._reindex()
        return self.sampler

    def _start(self, epoch: int) -> None:
        self._rng = np.random.default_rng([self.seed, epoch])
        self._pieces, self.filled, self.epoch = self._piece_stream(), 0, epoch
        while self.filled < self.capacity:
            self._write(next(self._pieces))
        self.rows_read = 0
        self._reindex()

    def _piece_stream(self) -> Iterator[pd.DataFrame]:
        """Pieces of the row groups in a random order, a new order after each pass."""
        groups = self.source.dataset.row_groups
        while True:
            for index in self._rng.permutation(len(groups)):
                yield from self.source.dataset.read_row_group(groups[index], self.piece_rows)

    def _write(self, frame: pd.DataFrame) -> int:
        """Encode ``frame`` into the buffer: free rows first, then random rows; its length."""
        matrix, codes = _encode(self.source.transformer, frame, self._rng)
        n, free = len(frame), self.capacity - self.filled
        first = np.arange(self.filled, self.filled + min(n, free))
        rest = self._rng.choice(self.capacity, size=max(0, n - free), replace=False)
        positions = np.concatenate([first, rest])
        self.matrix[positions], self.codes[positions] = matrix, codes
        self.filled = min(self.capacity, self.filled + n)
        return n

    def _reindex(self) -> None:
        """The sampler over the buffered rows, plus the reserve rows of the categories the
        buffer lacks (the reserve is a fallback, not extra weight on a few rows)."""
        cap = self.capacity
        slots = self.codes + self.offsets  # (pool, n_discrete) global slots
        buffered = slots[:cap].reshape(-1)
        n_slots = int(sum(self.source.n_categories))
        present = np.bincount(buffered, minlength=n_slots) > 0
        use = ~present[slots[cap:]]  # (n_reserve, n_discrete)
        reserve_rows = np.broadcast_to(np.arange(cap, len(slots))[:, None], use.shape)[use]
        rows = np.concatenate([np.repeat(np.arange(cap), slots.shape[1]), reserve_rows])
        self.sampler = ConditionSampler.over_pairs(
            rows, np.concatenate([buffered, slots[cap:][use]]), cap,
            self.source.n_categories, self.source.counts, self.source.log_frequency,
        )  # fmt: skip


class StreamedTabularSteps(TabularGANSteps):
    """CTGAN's steps with real rows from a :class:`ShuffleBuffer` instead of a matrix.

    The checkpointed position is the critic step count, as in memory: the buffer is derived
    from it (see :meth:`ShuffleBuffer.at`).
    """

    def __init__(self, context: TrainingContext, buffer: ShuffleBuffer, spans, loss,
                 options) -> None:  # fmt: skip
        super().__init__(context, None, None, spans, loss, options)
        self.buffer = buffer

    def _train_sampler(self):
        return self.buffer.at(self._critic_steps)  # the same buffer on every rank

    def _real_rows(self, rows: np.ndarray) -> Tensor:
        return torch.as_tensor(self.buffer.matrix[rows], device=self.device)  # (batch, data_dim)

    def _generator_conditions(self, batch: int) -> tuple[Tensor, Tensor | None]:
        # Conditions only: the buffer is not advanced (nor refilled for the end-of-fit
        # calibration of the averaged generator).
        sampler = self.buffer.sampler or self.buffer.at(self._critic_steps)
        mine = self.context.rows(batch)  # this rank's block of the global batch
        slots, _ = sampler.sample_train(batch, self.rng)
        slots = None if slots is None else slots[mine]
        size = len(range(batch)[mine])
        cond = one_hot_conditions(slots, self.spans.condition_width, size, self.device)
        return cond, None if slots is None else torch.as_tensor(slots, device=self.device)
