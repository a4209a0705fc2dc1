"""The table transformer: DataFrame <-> the encoded matrix the networks see.

Column by column (see :mod:`synthgan.tabular.columns`): mode-specific normalisation for
continuous columns, one-hot for discrete ones, nothing for constant and identifier ones
(identifiers are drawn fresh when decoding, see :mod:`synthgan.tabular.identifiers`). The
layout of the result is described once by :attr:`TableTransformer.span_table_`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgan.tabular.columns import (
    ConstantEncoder,
    ContinuousEncoder,
    DiscreteEncoder,
    Encoder,
    _to_py,
    dtype_info,
    encoder_from_json,
    restore_dtype,
)
from synthgan.tabular.identifiers import IdentifierEncoder, fit_identifier
from synthgan.tabular.spans import SpanTable
from synthgan.tabular.validation import ColumnPlan

__all__ = ["TableTransformer"]


class TableTransformer:
    """Encode a table for the GAN and decode generated rows back to a DataFrame.

    Parameters
    ----------
    max_modes : int, default=10
        Mixture components per continuous column before pruning.
    weight_threshold : float, default=0.005
        Components whose weight is not above this are dropped.
    mixture_max_rows : int, default=5000
        The mixtures are fitted on a random subsample of at most this many rows per column
        (the encoding itself uses every row).
    max_categories : int, default=100
        One-hot slots kept for a high-cardinality column (the last is the shared ``other``).

    Attributes
    ----------
    encoders_ : list
        One encoder per column, in column order.
    span_table_ : SpanTable
        Layout of the encoded matrix.
    columns_ : list of str
        Column order of the training table.
    """

    def __init__(
        self,
        *,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        mixture_max_rows: int = 5000,
        max_categories: int = 100,
    ) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.mixture_max_rows = mixture_max_rows
        self.max_categories = max_categories

    # ------------------------------------------------------------------------------------------
    def fit(
        self, df: pd.DataFrame, plans: Sequence[ColumnPlan], rng: np.random.Generator
    ) -> TableTransformer:
        """Fit one encoder per column following ``plans`` (from ``plan_columns``).

        Excluded (``"text"``) columns get no encoder and are absent from decoded tables.
        """
        plans = [plan for plan in plans if plan.kind != "text"]
        self.columns_ = [plan.name for plan in plans]
        self.encoders_: list[Encoder] = [self._fit_column(df[p.name], p, rng) for p in plans]
        self._build_layout()
        return self

    def fit_streamed(
        self, frame: pd.DataFrame, plans: Sequence[ColumnPlan], summaries: Mapping[str, Any]
    ) -> TableTransformer:
        """Fit from streamed statistics (a table read in batches, never whole).

        ``summaries[name]`` is what one pass kept of column ``name``: for a continuous or
        datetime column a :class:`~synthgan.tabular.stream_stats.ValueSummary` (exact moments
        and bounds, a uniform sample of at most ``mixture_max_rows`` values for the mixture),
        for a discrete one a :class:`~synthgan.tabular.stream_stats.ValueCounts` (exact
        counts). ``frame`` is a sample of the table in its dtypes: constant and identifier
        columns, and every column's dtype, are read from it.
        """
        plans = [plan for plan in plans if plan.kind != "text"]
        self.columns_ = [plan.name for plan in plans]
        self.encoders_ = [self._fit_summary(frame[p.name], p, summaries) for p in plans]
        self._build_layout()
        return self

    def _fit_summary(self, series: pd.Series, plan: ColumnPlan, summaries: Mapping[str, Any]):
        if plan.kind in ("continuous", "datetime"):
            return ContinuousEncoder(plan.name, dtype_info(series)).fit_summary(
                summaries[plan.name], max_modes=self.max_modes,
                weight_threshold=self.weight_threshold, bounds=plan.bounds,
            )  # fmt: skip
        if plan.kind == "discrete":
            counts = summaries[plan.name]
            limit = self.max_categories if plan.compact else None
            encoder = DiscreteEncoder(plan.name, dtype_info(series))
            return encoder.fit_counts(counts.values, counts.frequencies, max_categories=limit)
        return self._fit_column(series, plan, np.random.default_rng(0))  # reads no randomness

    def _fit_column(self, series: pd.Series, plan: ColumnPlan, rng: np.random.Generator):
        info = dtype_info(series)
        if plan.kind == "constant":
            value = series.dropna().iloc[0] if series.notna().any() else None
            if value is not None and info["dtype"].startswith("datetime64"):
                value = int(pd.Timestamp(value).value)
            return ConstantEncoder(plan.name, info, _to_py(value))
        if plan.kind == "id":  # fresh values from the format: no span, no value kept
            return fit_identifier(series, pattern=plan.pattern)
        if plan.kind in ("continuous", "datetime"):
            return ContinuousEncoder(plan.name, info).fit(
                _numeric(series),
                rng,
                max_modes=self.max_modes,
                weight_threshold=self.weight_threshold,
                max_rows=self.mixture_max_rows,
                bounds=plan.bounds,
            )
        limit = self.max_categories if plan.compact else None
        return DiscreteEncoder(plan.name, info).fit(series, max_categories=limit)

    def _build_layout(self) -> None:
        spans, start = [], 0
        for encoder in self.encoders_:
            column_spans = encoder.spans(start)
            spans.extend(column_spans)
            start = column_spans[-1].end if column_spans else start
        self.span_table_ = SpanTable(spans)
        self.discrete_encoders_ = [e for e in self.encoders_ if isinstance(e, DiscreteEncoder)]

    def condition_targets(self) -> tuple[np.ndarray, np.ndarray]:
        """For every conditional-vector slot: its softmax-span position and category code.

        Slots follow the discrete columns in order, categories in order within a column.
        """
        positions = {
            span.column: i
            for i, span in enumerate(self.span_table_.softmax_spans)
            if span.role == "category"
        }
        slot_position, slot_code = [], []
        for encoder in self.discrete_encoders_:
            slot_position += [positions[encoder.name]] * len(encoder.categories)
            slot_code += list(range(len(encoder.categories)))
        return np.asarray(slot_position, dtype=np.int64), np.asarray(slot_code, dtype=np.int64)

    # ------------------------------------------------------------------------------------------
    @property
    def output_width(self) -> int:
        return self.span_table_.width

    def transform(
        self, df: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode ``df``.

        Returns
        -------
        matrix : ndarray of shape (n_rows, output_width), float32
            Tanh values and one-hot blocks, laid out as ``span_table_`` says.
        category_codes : ndarray of shape (n_rows, n_discrete_columns), int64
            The category slot of every discrete column (used by the conditional sampler).
        """
        n = len(df)
        matrix = np.zeros((n, self.output_width), dtype=np.float32)
        rows = np.arange(n)
        codes = []
        spans = iter(self.span_table_.spans)
        for encoder in self.encoders_:
            if isinstance(encoder, ContinuousEncoder):
                value_span, mode_span = next(spans), next(spans)
                alpha, mode = encoder.encode(_numeric(df[encoder.name]), rng)
                matrix[:, value_span.start] = alpha
                matrix[rows, mode_span.start + mode] = 1.0
            elif isinstance(encoder, DiscreteEncoder):
                span = next(spans)
                code = encoder.encode(df[encoder.name])
                matrix[rows, span.start + code] = 1.0
                codes.append(code)
        category_codes = np.stack(codes, axis=1) if codes else np.zeros((n, 0), dtype=np.int64)
        return matrix, category_codes

    def decode(
        self,
        values: np.ndarray,
        codes: np.ndarray,
        rng: np.random.Generator,
        *,
        clip: bool = True,
    ) -> pd.DataFrame:
        """Build a DataFrame from tanh ``values`` ``(n, n_tanh)`` and softmax ``codes``
        ``(n, n_softmax_spans)``, as produced from the generator's output."""
        n = values.shape[0]
        out: dict[str, pd.Series] = {}
        v = c = 0  # running positions in values / codes
        for encoder in self.encoders_:
            if isinstance(encoder, ContinuousEncoder):
                raw = encoder.decode(values[:, v], codes[:, c], clip)
                v, c = v + 1, c + 1
            elif isinstance(encoder, DiscreteEncoder):
                raw = encoder.decode(codes[:, c], rng)
                c += 1
            elif isinstance(encoder, IdentifierEncoder):  # typed already
                out[encoder.name] = encoder.decode(n, rng)
                continue
            else:
                raw = encoder.decode(n)
            out[encoder.name] = restore_dtype(raw, encoder.dtype, encoder.name)
        return pd.DataFrame(out, columns=self.columns_)

    def inverse_transform(
        self, matrix: np.ndarray | torch.Tensor, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode an encoded matrix (argmax of each softmax block)."""
        encoded = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
        codes = self.span_table_.argmax_codes(encoded).numpy()
        values = encoded[:, self.span_table_.tanh_index].numpy()
        return self.decode(values, codes, rng or np.random.default_rng(0), clip=False)

    # ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "params": {
                "max_modes": self.max_modes,
                "weight_threshold": self.weight_threshold,
                "mixture_max_rows": self.mixture_max_rows,
                "max_categories": self.max_categories,
            },
            "columns": self.columns_,
            "encoders": [encoder.to_json() for encoder in self.encoders_],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableTransformer:
        transformer = cls(**data["params"])
        transformer.columns_ = list(data["columns"])
        transformer.encoders_ = [encoder_from_json(e) for e in data["encoders"]]
        transformer._build_layout()
        return transformer


def _numeric(series: pd.Series) -> np.ndarray:
    """float64 view of a numeric or datetime column, NaN for missing (datetimes in ns)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dt.tz_convert("UTC") if series.dt.tz is not None else series
        ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        return np.where(series.isna().to_numpy(), np.nan, ns)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)
