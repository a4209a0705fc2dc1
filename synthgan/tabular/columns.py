"""Per-column encoders of the table transformer.

Each encoder knows one column: how many spans it occupies, how to encode a column of values into
(scalar values, codes), how to decode them back, and how to describe itself as JSON. The
:class:`~synthgan.tabular.transformer.TableTransformer` strings them together.

* :class:`ContinuousEncoder` — mode-specific normalisation: a variational Gaussian mixture on the
  standardised values; a value is encoded as its mode (sampled from the posterior, as in the
  CTGAN paper) and ``alpha = (z - mean_k) / (4 std_k)``. Missing values get an extra mode.
* :class:`DiscreteEncoder` — one-hot over the observed categories (missing is a category). Above
  a cardinality threshold the rarest values share one ``other`` slot and are redrawn from their
  empirical frequencies when decoding, so memory stays linear and bounded.
* :class:`ConstantEncoder` — a column with one value (or only missing values) takes no spans.
* :class:`~synthgan.tabular.identifiers.IdentifierEncoder` — an identifier column takes no spans
  either: fresh values are drawn from its format (see :mod:`synthgan.tabular.identifiers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthgan.tabular.identifiers import IdentifierEncoder
from synthgan.tabular.mixture import fit_mixture_1d, responsibilities
from synthgan.tabular.spans import ColumnSpan

__all__ = ["ConstantEncoder", "ContinuousEncoder", "DiscreteEncoder", "encoder_from_json"]


# ---------------------------------------------------------------------------------------------
# dtypes: remember the input dtype and restore it on output
# ---------------------------------------------------------------------------------------------
def dtype_info(series: pd.Series, *, resolution: bool = True) -> dict[str, Any]:
    """JSON description of ``series.dtype`` sufficient to restore it.

    For a datetime column, ``resolution=True`` also records under ``"resolution"`` the coarsest
    unit (``"day"``, ``"hour"``, ... ``"microsecond"``) that every non-missing value is a whole
    multiple of, in wall-clock time, so that generated values are rounded to it: a column of
    dates comes back as dates. That reads the values; pass ``False`` where nothing may be.
    """
    dtype = series.dtype
    info: dict[str, Any] = {"dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        info["dtype"] = "category"
        info["categories"] = [_to_py(v) for v in dtype.categories]
        info["categories_dtype"] = str(dtype.categories.dtype)
        info["ordered"] = bool(dtype.ordered)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        info["dtype"] = "datetime64[ns]"
        info["tz"] = str(dtype.tz)
    elif pd.api.types.is_datetime64_dtype(dtype):
        info["dtype"] = "datetime64[ns]"
    if resolution and info["dtype"] == "datetime64[ns]":
        unit = _datetime_resolution(series)
        if unit is not None:
            info["resolution"] = unit
    return info


# Units a datetime column may be rounded to, coarsest first, with their pandas frequency.
_RESOLUTIONS = {
    "day": "D",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
    "microsecond": "us",
}


def _datetime_resolution(series: pd.Series) -> str | None:
    """Coarsest unit of ``_RESOLUTIONS`` every non-missing value is a multiple of, or None."""
    values = series.dropna()
    if values.empty:
        return None
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # wall-clock time: a date is at local midnight
    ns = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    for unit, freq in _RESOLUTIONS.items():
        if not (ns % pd.Timedelta(1, freq).value).any():
            return unit
    return None


def _round_datetimes(out: pd.DatetimeIndex, unit: str | None) -> pd.DatetimeIndex:
    """Round generated datetimes to the training values' resolution (no key: no rounding)."""
    if unit is None:
        return out
    freq = _RESOLUTIONS[unit]
    if out.tz is None:
        return out.round(freq)
    # Round the wall-clock time; a rounded time that a DST change skips moves forward.
    wall = out.tz_localize(None).round(freq)
    dst = np.zeros(len(wall), dtype=bool)
    return wall.tz_localize(out.tz, ambiguous=dst, nonexistent="shift_forward")


def restore_dtype(values: np.ndarray, info: dict[str, Any], name: str) -> pd.Series:
    """Build the output column from decoded ``values`` with the input's dtype."""
    dtype = info["dtype"]
    if dtype == "category":
        categories = pd.Index(info["categories"])
        if info.get("categories_dtype"):
            categories = categories.astype(info["categories_dtype"])
        cat_type = pd.CategoricalDtype(categories, ordered=info["ordered"])
        return pd.Series(pd.Categorical(values, dtype=cat_type), name=name)
    if dtype.startswith("datetime64"):
        out = pd.to_datetime(values, unit="ns")
        if "tz" in info:
            out = out.tz_localize("UTC").tz_convert(info["tz"])
        return pd.Series(_round_datetimes(out, info.get("resolution")), name=name)
    if dtype == "object":  # strings: no conversion (and no costly missing-value scan) needed
        return pd.Series(values, name=name, dtype=object)
    if dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        if pd.isna(values).any():  # cannot happen when the input had this dtype; stay honest
            return pd.Series(values, name=name).astype(f"{dtype[0].upper()}{dtype[1:]}")
        return pd.Series(np.asarray(values, dtype=np.float64).round().astype(dtype), name=name)
    if dtype in ("bool",) and not pd.isna(values).any():
        return pd.Series(np.asarray(values, dtype=bool), name=name)
    if dtype in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
        numbers = pd.array(values, dtype="Float64").round()
        return pd.Series(numbers, name=name).astype(dtype)
    return pd.Series(values, name=name).astype(dtype)


def _to_py(value: Any) -> Any:
    """Plain JSON value of a numpy / pandas scalar (missing becomes None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------------
# encoders
# ---------------------------------------------------------------------------------------------
@dataclass
class ContinuousEncoder:
    """Mode-specific normalisation of one numeric or datetime column."""

    kind: ClassVar[str] = "continuous"
    name: str
    dtype: dict[str, Any]
    center: float = 0.0
    scale: float = 1.0
    means: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,), standardised units
    stds: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,)
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,)
    minimum: float = 0.0
    maximum: float = 0.0
    has_missing: bool = False

    @property
    def n_modes(self) -> int:
        return self.means.size + int(self.has_missing)

    def spans(self, start: int) -> list[ColumnSpan]:
        return [
            ColumnSpan(self.name, start, start + 1, "tanh", "value"),
            ColumnSpan(self.name, start + 1, start + 1 + self.n_modes, "softmax", "mode"),
        ]

    def fit(
        self,
        values: np.ndarray,
        rng: np.random.Generator,
        *,
        max_modes: int,
        weight_threshold: float,
        max_rows: int,
        bounds: tuple[float | None, float | None] = (None, None),
    ) -> ContinuousEncoder:
        """Fit on ``values`` (float64, NaN for missing)."""
        observed = values[~np.isnan(values)]
        self.has_missing = bool(observed.size < values.size)
        self.center = float(observed.mean())
        self.scale = float(observed.std()) or 1.0
        self._set_bounds(float(observed.min()), float(observed.max()), bounds)
        z = (observed - self.center) / self.scale
        if z.size > max_rows:  # a bounded random subsample keeps the fit O(max_rows)
            z = rng.choice(z, size=max_rows, replace=False)
        return self._fit_modes(z, max_modes, weight_threshold)

    def fit_summary(
        self,
        summary: Any,
        *,
        max_modes: int,
        weight_threshold: float,
        bounds: tuple[float | None, float | None] = (None, None),
    ) -> ContinuousEncoder:
        """Fit from streamed statistics instead of the values.

        ``summary`` has ``has_missing``, ``center`` (the mean), ``scale`` (the standard
        deviation), ``minimum``, ``maximum`` of the observed values and ``sample``, a uniform
        sample of them on which the mixture is fitted (see
        :class:`synthgan.tabular.stream_stats.ValueSummary`).
        """
        self.has_missing = bool(summary.has_missing)
        self.center = float(summary.center)
        self.scale = float(summary.scale) or 1.0
        self._set_bounds(float(summary.minimum), float(summary.maximum), bounds)
        z = (np.asarray(summary.sample, dtype=np.float64) - self.center) / self.scale
        return self._fit_modes(z, max_modes, weight_threshold)

    def _set_bounds(self, low: float, high: float, bounds) -> None:
        lo, hi = bounds
        self.minimum = low if lo is None else float(lo)
        self.maximum = high if hi is None else float(hi)

    def _fit_modes(self, z: np.ndarray, max_modes: int, weight_threshold: float):
        mix = fit_mixture_1d(z, max_modes)
        keep = mix.weights > weight_threshold
        if not keep.any():
            keep = mix.weights == mix.weights.max()
        self.means = mix.means[keep]
        self.stds = np.sqrt(np.maximum(mix.variances[keep], 1e-12))
        self.weights = mix.weights[keep] / mix.weights[keep].sum()
        return self

    def encode(self, values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(alpha, mode)``: normalised value in [-0.99, 0.99] and mode index per row."""
        missing = np.isnan(values)
        z = (np.where(missing, self.center, values) - self.center) / self.scale
        probs = responsibilities(z, self.weights, self.means, self.stds)  # (n, K)
        # Sample the mode from the posterior (inverse CDF, one uniform per row).
        u = rng.random(z.size)[:, None]
        mode = np.minimum((probs.cumsum(axis=1) < u).sum(axis=1), self.means.size - 1)
        alpha = np.clip((z - self.means[mode]) / (4 * self.stds[mode]), -0.99, 0.99)
        if self.has_missing:
            mode = np.where(missing, self.means.size, mode)
            alpha = np.where(missing, 0.0, alpha)
        return alpha, mode

    def decode(self, alpha: np.ndarray, mode: np.ndarray, clip: bool) -> np.ndarray:
        """Inverse of :meth:`encode` (float64 array with NaN where the missing mode was drawn)."""
        missing = mode >= self.means.size
        mode = np.minimum(mode, self.means.size - 1)
        z = np.clip(alpha, -1.0, 1.0) * 4 * self.stds[mode] + self.means[mode]
        x = z * self.scale + self.center
        if clip:
            x = np.clip(x, self.minimum, self.maximum)
        return np.where(missing, np.nan, x)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "dtype": self.dtype,
            "center": self.center,
            "scale": self.scale,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "weights": self.weights.tolist(),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "has_missing": self.has_missing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContinuousEncoder:
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("means", "stds", "weights")}
        scalars = {k: data[k] for k in ("center", "scale", "minimum", "maximum", "has_missing")}
        return cls(name=data["name"], dtype=data["dtype"], **arrays, **scalars)


@dataclass
class DiscreteEncoder:
    """One-hot encoding of a discrete column; missing values are a category of their own.

    ``categories`` are the one-hot slots (``None`` is the missing category). When the column had
    more distinct values than the cardinality threshold, the last slot is the ``other`` slot, and
    ``other_values`` / ``other_counts`` hold the values it stands for and their counts.
    ``fallback`` (DP mode) is the slot of values outside the categories when there is no other
    slot: the released categories were found to cover the column.
    """

    kind: ClassVar[str] = "discrete"
    name: str
    dtype: dict[str, Any]
    categories: list[Any] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    other_values: list[Any] | None = None
    other_counts: np.ndarray | None = None
    fallback: int | None = None

    @property
    def has_other(self) -> bool:
        return self.other_values is not None

    def spans(self, start: int) -> list[ColumnSpan]:
        return [ColumnSpan(self.name, start, start + len(self.categories), "softmax", "category")]

    def fit(self, series: pd.Series, *, max_categories: int | None) -> DiscreteEncoder:
        codes, uniques = pd.factorize(series, use_na_sentinel=False)
        counts = np.bincount(codes, minlength=len(uniques))
        values = [_to_py(v) for v in np.asarray(uniques, dtype=object)]
        return self.fit_counts(values, counts, max_categories=max_categories)

    def fit_counts(
        self, values: list[Any], counts: np.ndarray, *, max_categories: int | None
    ) -> DiscreteEncoder:
        """Fit from the column's distinct ``values`` (in first-appearance order, ``None`` for
        missing) and their ``counts``, as a streamed pass counts them."""
        order = np.argsort(-np.asarray(counts), kind="stable")  # most frequent first
        values = [values[i] for i in order]
        counts = np.asarray(counts)[order]
        if max_categories is not None and len(values) > max_categories:
            keep = max_categories - 1
            self.other_values, self.other_counts = values[keep:], counts[keep:]
            values = [*values[:keep], _OTHER]
            counts = np.append(counts[:keep], counts[keep:].sum())
        self.categories, self.counts = values, counts.astype(np.int64)
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        """Slot index of every value (``other`` for values outside the kept categories)."""
        known = [v for v in self.categories if v is not None and v is not _OTHER]
        codes = pd.Index(known, dtype=object).get_indexer(series.astype(object))
        # get_indexer numbers the known values in list order; map to slot positions.
        slots = np.array(
            [i for i, v in enumerate(self.categories) if v is not None and v is not _OTHER]
        )
        codes = np.where(codes >= 0, slots[np.maximum(codes, 0)] if slots.size else -1, -1)
        isna = pd.isna(series).to_numpy()
        if None in self.categories:
            codes[isna] = self.categories.index(None)
        if self.has_other:  # every other value shares the last slot, missing included when it
            codes[codes < 0] = len(self.categories) - 1  # has no slot (rare, or not released)
        elif self.fallback is not None:
            codes[codes < 0] = self.fallback
        values = series.to_numpy()
        if (codes < 0).any():
            bad = values[codes < 0][0]
            raise ValueError(f"Column {self.name!r}: value {bad!r} was not seen during fit.")
        return codes

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        table = np.empty(len(self.categories), dtype=object)
        table[:] = [np.nan if v is None else v for v in self.categories]
        values = table[codes]
        if self.has_other:
            other = codes == len(self.categories) - 1
            p = self.other_counts / self.other_counts.sum()
            tail = np.empty(len(self.other_values), dtype=object)
            tail[:] = [np.nan if v is None else v for v in self.other_values]
            values[other] = tail[rng.choice(tail.size, size=int(other.sum()), p=p)]
        return values

    def to_json(self) -> dict[str, Any]:
        data = {
            "kind": self.kind,
            "name": self.name,
            "dtype": self.dtype,
            "categories": [None if v is _OTHER else v for v in self.categories],
            "counts": self.counts.tolist(),
        }
        if self.has_other:
            data["other_values"] = self.other_values
            data["other_counts"] = self.other_counts.tolist()
        if self.fallback is not None:
            data["fallback"] = self.fallback
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiscreteEncoder:
        categories = list(data["categories"])
        other_values = data.get("other_values")
        if other_values is not None:
            categories[-1] = _OTHER
        return cls(
            name=data["name"],
            dtype=data["dtype"],
            categories=categories,
            counts=np.asarray(data["counts"], dtype=np.int64),
            other_values=other_values,
            other_counts=None
            if other_values is None
            else np.asarray(data["other_counts"], dtype=np.int64),
            fallback=data.get("fallback"),
        )


class _OtherSlot:
    """Sentinel for the slot standing for the rare values of a high-cardinality column."""

    def __repr__(self) -> str:
        return "<other>"


_OTHER = _OtherSlot()


@dataclass
class ConstantEncoder:
    """A column with a single value (possibly missing everywhere): no spans, value reproduced."""

    kind: ClassVar[str] = "constant"
    name: str
    dtype: dict[str, Any]
    value: Any = None

    def spans(self, start: int) -> list[ColumnSpan]:
        return []

    def decode(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=object)
        out[:] = np.nan if self.value is None else self.value
        return out

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "dtype": self.dtype, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConstantEncoder:
        return cls(name=data["name"], dtype=data["dtype"], value=data["value"])


Encoder = ContinuousEncoder | DiscreteEncoder | ConstantEncoder | IdentifierEncoder
_ENCODERS = {
    c.kind: c for c in (ContinuousEncoder, DiscreteEncoder, ConstantEncoder, IdentifierEncoder)
}


def encoder_from_json(data: dict[str, Any]) -> Encoder:
    """Rebuild an encoder from its :meth:`to_json` form."""
    return _ENCODERS[data["kind"]].from_json(data)
