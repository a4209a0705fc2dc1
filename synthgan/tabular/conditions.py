"""Conditional sampling: turn ``{column: value}`` into what the generator is fed.

CTGAN's generator is trained with one active condition per row, so one condition can be fed to
it directly: the rows are generated *given* that value, and the value is written into the
conditioned column (the generator was trained to produce it). With several conditions, the
rarest is fed to the generator and the others are met by keeping the generated rows that satisfy
them; the loop draws batches until exactly ``n`` rows match, and stops with a clear error if the
combination is so rare that the generator almost never produces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthgan.exceptions import DataValidationError
from synthgan.tabular.columns import ConstantEncoder, DiscreteEncoder, _to_py, restore_dtype
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.transformer import TableTransformer

__all__ = ["ConditionPlan", "plan_conditions"]

_MAX_DRAWS_PER_ROW = 200  # give up when fewer than 1 in 200 generated rows match
_MIN_DRAWS = 50_000
# Appended to an unknown-value error when the column had missing values; the command line
# rewrites it in its own words (a condition with an empty value).
MISSING_HINT = " (or None, NaN or pd.NA for a missing value)"


@dataclass(frozen=True)
class _Condition:
    column: str
    position: int  # index among the span table's softmax spans
    code: int  # category slot within the column
    slot: int  # global slot in the conditional vector
    count: int  # training frequency of the slot (for choosing the rarest)
    forced_value: Any = None  # set when the value lives in a compacted column's "other" slot


@dataclass
class ConditionPlan:
    """What to feed the generator and which generated rows to keep."""

    primary: _Condition
    others: list[_Condition] = field(default_factory=list)
    dtypes: dict[str, dict] = field(default_factory=dict)

    @property
    def slot(self) -> int:
        return self.primary.slot

    def accept(self, codes: np.ndarray) -> np.ndarray:
        """Write the primary category into ``codes`` and return the mask of rows to keep."""
        codes[:, self.primary.position] = self.primary.code
        keep = np.ones(len(codes), dtype=bool)
        for cond in self.others:
            keep &= codes[:, cond.position] == cond.code
        return keep

    def check_progress(self, drawn: int, accepted: int, wanted: int) -> None:
        if accepted < wanted and drawn >= max(_MIN_DRAWS, _MAX_DRAWS_PER_ROW * wanted):
            names = {c.column: c for c in [self.primary, *self.others]}
            raise DataValidationError(
                f"The conditions on {sorted(names)} are jointly too rare for this model: only "
                f"{accepted} of {drawn} rows generated with {self.primary.column!r} fixed "
                "matched the other conditions. Condition on fewer columns, or sample with the "
                "rarest condition only and filter."
            )

    def apply_values(self, frame: pd.DataFrame) -> None:
        """Put values that the encoding could not represent exactly (rare-value slots)."""
        for cond in [self.primary, *self.others]:
            if cond.forced_value is not None:
                column = np.empty(len(frame), dtype=object)
                column[:] = cond.forced_value
                frame[cond.column] = restore_dtype(column, self.dtypes[cond.column], cond.column)


def plan_conditions(
    transformer: TableTransformer,
    sampler: ConditionSampler,
    conditions: Mapping[str, Any] | None,
) -> ConditionPlan | None:
    """Validate ``conditions`` and plan how to meet them (``None`` when there are none)."""
    if conditions is None or len(conditions) == 0:
        return None
    if not isinstance(conditions, Mapping):
        raise TypeError(
            "conditions must be a mapping {column: value}, e.g. {'income': '>50K'}; got "
            f"{type(conditions).__name__}."
        )
    encoders = {e.name: e for e in transformer.encoders_}
    discrete = [e.name for e in transformer.discrete_encoders_]
    parsed = []
    for column, value in conditions.items():
        encoder = encoders.get(column)
        if encoder is None:
            raise DataValidationError(
                f"Unknown column {column!r} in conditions; discrete columns you can condition "
                f"on: {discrete}."
            )
        if isinstance(encoder, ConstantEncoder) and _to_py(value) == encoder.value:
            continue  # every generated row already has it
        if not isinstance(encoder, DiscreteEncoder):
            raise DataValidationError(
                f"Column {column!r} is {encoder.kind}; conditions are supported on discrete "
                f"columns only ({discrete}). For a range of a continuous column, sample and "
                "filter the result."
            )
        parsed.append(_locate(transformer, sampler, encoder, value))
    if not parsed:
        return None
    parsed.sort(key=lambda c: c.count)
    dtypes = {c.column: encoders[c.column].dtype for c in parsed}
    return ConditionPlan(primary=parsed[0], others=parsed[1:], dtypes=dtypes)


def _locate(
    transformer: TableTransformer,
    sampler: ConditionSampler,
    encoder: DiscreteEncoder,
    value: Any,
) -> _Condition:
    key = _to_py(value)
    forced = None
    if key in encoder.categories:
        code = encoder.categories.index(key)
    elif encoder.has_other and key in encoder.other_values:
        code, forced = len(encoder.categories) - 1, value
    else:
        raise _unknown_value(encoder, value, key)
    j = [e.name for e in transformer.discrete_encoders_].index(encoder.name)
    position = next(
        i
        for i, span in enumerate(transformer.span_table_.softmax_spans)
        if span.column == encoder.name and span.role == "category"
    )
    slot = int(sampler.offsets[j] + code)
    return _Condition(encoder.name, position, code, slot, int(sampler.counts[slot]), forced)


def _unknown_value(encoder: DiscreteEncoder, value: Any, key: Any) -> DataValidationError:
    """The error for a value the column never had, listing the values it had."""
    valid = [v for v in encoder.categories if v is not None and not _is_other(v)]
    valid += list(encoder.other_values or [])
    shown = ", ".join(repr(v) for v in valid[:20])
    more = f" ... and {len(valid) - 20} more" if len(valid) > 20 else ""
    if key is None:  # None, NaN or pd.NA: the missing category, absent from this column
        return DataValidationError(
            f"Column {encoder.name!r} had no missing values in training, so the model cannot "
            f"generate them: condition on one of its values instead ({shown}{more})."
        )
    missing = MISSING_HINT if None in encoder.categories else ""
    return DataValidationError(
        f"Value {value!r} is not a category of column {encoder.name!r} seen in training; "
        f"valid values: {shown}{more}{missing}."
    )


def _is_other(value: Any) -> bool:
    return type(value).__name__ == "_OtherSlot"
