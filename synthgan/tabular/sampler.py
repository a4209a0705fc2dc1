"""Conditional vectors and training-by-sampling (Xu et al. 2019, section 4.3), vectorised.

For a batch, every row picks a discrete column uniformly at random, then one of its categories
with probability proportional to the log of its frequency (or to its frequency), then a real
training row that has this category. The chosen (column, category) pair is the row's *condition
slot*: its position in the conditional vector, which concatenates the category one-hots of all
discrete columns.

Everything is precomputed once as flat arrays so that a batch costs a handful of numpy
operations, whatever the number of columns:

* ``cum_probs[j, :]`` — cumulative category probabilities of discrete column ``j`` (padded with
  1.0 to the widest column), for inverse-CDF sampling of a category;
* ``rows_by_slot`` — the training row indices grouped by condition slot, with ``slot_start`` and
  ``slot_count`` giving each slot's range, so "a random row with this category" is one lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ConditionSampler"]


class ConditionSampler:
    """Samples condition slots (and matching real rows) for training and generation.

    Parameters
    ----------
    codes : ndarray of shape (n_rows, n_discrete)
        Category slot of every discrete column for every training row (may have 0 columns).
    n_categories : sequence of int
        Number of slots of each discrete column.
    log_frequency : bool, default=True
        Sample categories by log frequency during training (reference behaviour).
    """

    def __init__(
        self, codes: np.ndarray, n_categories: Sequence[int], log_frequency: bool = True
    ) -> None:
        counts = [np.bincount(codes[:, j], minlength=k) for j, k in enumerate(n_categories)]
        self._set_frequencies(n_categories, counts, log_frequency)
        self.n_rows = codes.shape[0]
        global_slots = (codes + self.offsets).T.reshape(-1)  # column j's rows, then j+1's...
        self._index_rows(np.tile(np.arange(self.n_rows), codes.shape[1]), global_slots)

    def _index_rows(self, rows: np.ndarray, slots: np.ndarray) -> None:
        """Group ``rows`` by their global ``slots`` (pairs, one per (row, column)): the stable
        order keeps each slot's rows in row order."""
        small = np.int16 if self.n_slots < 2**15 else np.int64  # numpy radix-sorts 16-bit keys
        self.rows_by_slot = rows[np.argsort(slots.astype(small), kind="stable")]
        self.slot_count = np.bincount(slots, minlength=self.n_slots)
        self.slot_start = np.concatenate([[0], np.cumsum(self.slot_count)])[:-1]

    def _set_frequencies(
        self, n_categories: Sequence[int], counts: Sequence[np.ndarray], log_frequency: bool
    ) -> None:
        self.log_frequency = log_frequency
        self.n_categories = np.asarray(n_categories, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_categories)])[:-1].astype(np.int64)
        self.n_slots = int(self.n_categories.sum())
        self.counts = np.concatenate(counts) if len(counts) else np.zeros(0, dtype=np.int64)
        self.train_cum_probs = self._cumulative(counts, log_frequency)
        self.original_cum_probs = self._cumulative(counts, False)

    @classmethod
    def over_pairs(
        cls,
        rows: np.ndarray,
        slots: np.ndarray,
        n_rows: int,
        n_categories: Sequence[int],
        counts: Sequence[np.ndarray],
        log_frequency: bool = True,
    ) -> ConditionSampler:
        """A training sampler over explicit ``(row, global slot)`` pairs (a streamed fit's
        buffer), with category probabilities from ``counts`` (those of the whole table).

        A slot with no pair is never drawn: its probability is set to zero (the others of its
        column are renormalised), since there is no real row to pair with it.
        """
        sampler = cls.__new__(cls)
        n_slots = int(np.sum(n_categories))
        slot_count = np.bincount(slots, minlength=n_slots)
        flat = np.concatenate(counts) if len(counts) else np.zeros(0, dtype=np.int64)
        drawable = np.where(slot_count > 0, flat, 0)
        split = np.split(drawable, np.cumsum(n_categories)[:-1]) if len(counts) else []
        sampler._set_frequencies(n_categories, split, log_frequency)
        sampler.counts = flat  # the table's counts, as saved
        sampler.n_rows = n_rows
        sampler._index_rows(rows, slots)
        return sampler

    def for_generation(self) -> ConditionSampler:
        """A copy holding only category frequencies (no training row indices)."""
        return ConditionSampler.from_json(self.to_json())

    @classmethod
    def from_json(cls, data: dict) -> ConditionSampler:
        """Rebuild a generation-only sampler from :meth:`to_json`."""
        sampler = cls.__new__(cls)
        counts = np.asarray(data["counts"], dtype=np.int64)
        n_categories = np.asarray(data["n_categories"], dtype=np.int64)
        split = np.split(counts, np.cumsum(n_categories)[:-1]) if n_categories.size else []
        sampler._set_frequencies(n_categories, split, bool(data.get("log_frequency", True)))
        sampler.n_rows = 0
        return sampler

    @property
    def n_discrete(self) -> int:
        return self.n_categories.size

    def _cumulative(self, counts: list[np.ndarray], log_frequency: bool) -> np.ndarray:
        width = int(self.n_categories.max()) if self.n_discrete else 0
        cum = np.ones((self.n_discrete, width))
        for j, count in enumerate(counts):
            weight = np.log1p(count) if log_frequency else count.astype(np.float64)
            if weight.sum() == 0:  # no observed category (cannot happen for fitted data)
                weight = np.ones_like(weight, dtype=np.float64)
            cum[j, : count.size] = np.cumsum(weight / weight.sum())
        return cum

    def _draw_slots(
        self, batch: int, cum_probs: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        column = rng.integers(0, self.n_discrete, size=batch)  # (batch,)
        u = rng.random(batch)[:, None]
        category = (cum_probs[column] < u).sum(axis=1)  # inverse CDF, (batch,)
        category = np.minimum(category, self.n_categories[column] - 1)
        return self.offsets[column] + category

    def sample_train(
        self, batch: int, rng: np.random.Generator
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """Condition slots (``None`` without discrete columns) and matching real row indices."""
        if self.n_discrete == 0:
            return None, rng.integers(0, self.n_rows, size=batch)
        slots = self._draw_slots(batch, self.train_cum_probs, rng)
        pick = (rng.random(batch) * self.slot_count[slots]).astype(np.int64)
        return slots, self.rows_by_slot[self.slot_start[slots] + pick]

    def sample_original(self, batch: int, rng: np.random.Generator) -> np.ndarray | None:
        """Condition slots for generation, categories drawn by their true frequency."""
        if self.n_discrete == 0:
            return None
        return self._draw_slots(batch, self.original_cum_probs, rng)

    def to_json(self) -> dict:
        """Only what generation needs: slot counts per column (training rows are not saved)."""
        return {
            "n_categories": self.n_categories.tolist(),
            "counts": self.counts.tolist(),
            "log_frequency": self.log_frequency,
        }
