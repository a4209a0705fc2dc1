"""Differential privacy for CTGAN: DP preprocessing and DP-SGD discriminator steps.

In DP mode nothing is read from the table for free (see ``docs/privacy.md``):

* **Column kinds** come from the dtypes (schema, public), ``discrete_columns`` and metadata;
  constant, identifier and free-text columns are not detected (that reads the data) and
  high-cardinality columns are not compacted (that reads frequencies). A declared identifier
  needs a public ``pattern`` and is drawn from it; a declared text column is not read (or,
  with ``allow_copy``, is released as a discrete column).
* **One release** holds every statistic (:func:`plan_private_statistics`): the counts of every
  discrete column (over its public list, or over the values seen) and, for every continuous
  column without public bounds, its counts over a public grid of value bins (:data:`GRID_EDGES`:
  zero and four bins per power of two on each side, the same for every table). One record adds
  one to one bin of each of the ``k`` histograms, so the whole vector has L2 sensitivity ``√k``
  and gets Gaussian noise of std ``σ = z·√k`` once: the Gaussian mechanism with noise
  multiplier ``z``, composed with DP-SGD in the same accountant. Nothing else is read.
* **Category lists** come from metadata ``"categories"`` (public) or from that release: a
  category read from the data is named when its noisy count passes the Gaussian threshold
  (:func:`~synthgan.privacy.mechanisms.gaussian_threshold`, a tenth of δ). The values that did
  not pass share an "other" slot generated as missing, unless the released counts leave nothing
  for it (the public n minus their sum is within twice its noise): then there is no such slot
  and any unreleased value is counted as the most frequent released category. A column with no
  released category is generated from its public type alone (``strict=True`` refuses).
* **Category frequencies** (training-by-sampling at generation time, and the counts saved with
  the model) are the noisy counts of that release, rounded and clamped at zero.
* **Continuous bounds** come from metadata ``"min"``/``"max"`` or from the grid counts: the
  bins above a threshold (public grid: no δ), trimmed by 0.5 % of their mass at each end; then
  a second Gaussian release (:data:`RANGES`, a fifth of the share) counts each such column in
  64 equal-width bins over that coarse range, and the refined range is their trimmed extent
  (kept only when the bins that pass hold half the records).
* **Mode-specific normalisation** is *replaced*: a variational Gaussian mixture fitted on raw
  values would need a DP mixture fit, and its means would be a release of their own. DP mode uses
  ``grid_modes`` equal-width modes over the bounds instead: the same (value, mode) encoding, so the
  networks are unchanged, computed from public or DP quantities only.

The release takes ``PrivacyConfig.preprocessing_epsilon_share`` of the budget (sized by need
with ``"auto"``); everything is planned from public facts before anything is read, and a
column that cannot succeed at this size and budget is named before any release. One warning
at fit time lists what DP did to each column's schema.

Training steps (:class:`PrivateTabularSteps`): Poisson-sampled real rows, ``pac = 1``; each real
row is conditioned on its *own* category in a discrete column drawn uniformly at random (the
reference's training-by-sampling picks rows by category, which is not the Poisson sampling the
accountant assumes). Per record the loss is ``real_term(D(x_i, c_i))`` plus, on penalty steps,
the gradient penalty at a point between the record and a fake generated for the record's own
condition: clipped together, with per-record gradients from ``torch.func``. Fake rows for the
fake term are conditioned on categories drawn from the DP frequencies, so that term reads no
real record: each fake row's gradient is clipped to C like a record's (the two terms must keep
their balance: clipping only the real term left the critic learning mostly from the fakes), and
their mean is added after the noise, uncharged. The default penalty, between pairs of fakes,
reads no real record either and is added unclipped.

In a distributed fit every rank draws the *global* Poisson sample and every per-record draw
(its condition column, its penalty partner's noise and mixing weight) from the shared streams,
and keeps its own records (record i is rank ``i mod W``'s, :meth:`TrainingContext.own_records`);
the fakes' conditions, noise and penalty weights are drawn for the global fake batch and each
rank keeps its block, and the fake-pair penalty pairs each fake with the previous one of the
*global* batch (:meth:`~synthgan.core.distributed.Distributed.roll_rows`). So the ranks together
step exactly the one-process step, and a rank with no record in the sample still steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from synthgan.core.losses import AdversarialLoss, gradient_penalty
from synthgan.core.session import TrainingContext
from synthgan.core.warn import warn_user
from synthgan.exceptions import DataValidationError, PrivacyBudgetError
from synthgan.privacy.config import ResolvedPrivacy
from synthgan.privacy.mechanisms import Release, gaussian_counts
from synthgan.privacy.preprocessing import GaussianPlan, plan_gaussian_release
from synthgan.tabular.columns import (
    _OTHER,
    ContinuousEncoder,
    DiscreteEncoder,
    _to_py,
    dtype_info,
)
from synthgan.tabular.identifiers import fit_identifier
from synthgan.tabular.metadata import bound_number as _number
from synthgan.tabular.sampler import ConditionSampler
from synthgan.tabular.spans import SpanTable
from synthgan.tabular.steps import StepOptions, TabularGANSteps, one_hot_conditions
from synthgan.tabular.transformer import TableTransformer, _numeric
from synthgan.tabular.validation import (
    _check_values,
    _column_metadata,
    _declared_kind,
    _inferred_kind,
)

__all__ = [
    "GRID_EDGES",
    "STATISTICS",
    "PrivateColumnPlan",
    "PrivatePreprocessing",
    "PrivateTabularSteps",
    "TablePrivacyPlan",
    "check_public_categories",
    "fit_private_transformer",
    "grid_histogram",
    "plan_private_columns",
    "plan_private_statistics",
    "range_from_grid",
]

BOUNDS_TAIL = 0.005  # share of the released mass trimmed at each end of a value range


@dataclass(frozen=True)
class PrivateColumnPlan:
    """How one column is modelled in DP mode, and what is public about it."""

    name: str
    kind: str  # "continuous" or "discrete"
    dtype: dict[str, Any]
    bounds: tuple[float, float] | None = None  # public (metadata) bounds
    categories: tuple[Any, ...] | None = None  # public category list
    nullable: bool = True  # a missing mode / category is modelled (schema, not data)
    pattern: str | None = None  # the public format of an identifier column
    missing_declared: bool = False  # metadata says whether the column has missing values


@dataclass
class PrivatePreprocessing:
    """The DP-fitted transformer and every release it took."""

    transformer: TableTransformer
    releases: dict[str, Release] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # what DP did to the schema, per column

    @property
    def costs(self) -> dict[str, tuple[float, float]]:
        return {name: release.cost for name, release in self.releases.items()}


# ---------------------------------------------------------------------------------------------
# planning: public information only
# ---------------------------------------------------------------------------------------------
def plan_private_columns(
    df: pd.DataFrame,
    *,
    discrete_columns: Iterable[str] | None,
    metadata: Mapping[str, Any] | None,
) -> list[PrivateColumnPlan]:
    """Column plans from the schema and metadata only (no statistic of the values)."""
    column_meta = _column_metadata(df, metadata)
    discrete = set(discrete_columns or ())
    unknown = sorted(discrete - set(df.columns))
    if unknown:
        raise DataValidationError(
            f"discrete_columns names {unknown}, which are not columns of the data "
            f"(columns: {list(df.columns)})."
        )
    plans = []
    for name in df.columns:
        series, meta = df[name], column_meta.get(name, {})
        kind = _private_kind(name, meta, discrete) or _inferred_kind(series)
        if kind in ("id", "text"):
            plans.append(_unmodelled_plan(name, kind, meta, dtype_info(series, resolution=False)))
            continue
        _check_values(series, kind)
        info = dtype_info(series, resolution=False)  # reading the values is not DP
        nullable = bool(meta.get("missing", _dtype_can_be_missing(series.dtype)))
        declared = "missing" in meta
        if kind == "continuous":
            bounds = _public_bounds(name, meta)
            plans.append(PrivateColumnPlan(name, kind, info, bounds=bounds, nullable=nullable,
                                           missing_declared=declared))  # fmt: skip
        else:
            categories = _public_categories(name, meta, series, nullable)
            plans.append(PrivateColumnPlan(
                name, "discrete", info, categories=categories, nullable=nullable,
                missing_declared=declared,
            ))  # fmt: skip
    check_public_categories(df, plans)
    return plans


def _private_kind(name: str, meta: Mapping[str, Any], discrete: set[str]) -> str | None:
    """The declared kind as DP mode models it (only declarations: detection reads values)."""
    kind = _declared_kind(name, meta, discrete)
    if kind == "text" and meta.get("allow_copy", False):
        return "discrete"  # released like any discrete column: a thresholded DP histogram
    # "constant" is not declared here: its value would be read from the records.
    return {"datetime": "continuous", "constant": None}.get(kind, kind)


def _unmodelled_plan(name: str, kind: str, meta: Mapping[str, Any], info) -> PrivateColumnPlan:
    """An identifier (drawn from its public pattern) or an excluded text column."""
    if kind == "id" and meta.get("pattern") is None:
        raise DataValidationError(
            f"Column {name!r} is declared an identifier; with privacy its format cannot be "
            "learned from the records (that is a statistic outside the privacy budget). Give "
            'the format as a public pattern, e.g. {"kind": "id", "pattern": "CUST-[0-9]{10}"}, '
            "or drop the column."
        )
    return PrivateColumnPlan(name, kind, info, nullable=False, pattern=meta.get("pattern"))


def plan_kinds(plans: Sequence[PrivateColumnPlan]) -> dict[str, str]:
    """``{column: kind}`` of DP plans, in the vocabulary of ``column_kinds_``."""
    return {
        p.name: "datetime"
        if p.kind == "continuous" and p.dtype["dtype"].startswith("datetime")
        else p.kind
        for p in plans
    }


def _dtype_can_be_missing(dtype: Any) -> bool:
    """Whether the dtype can hold a missing value (numpy ints and bools cannot)."""
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return False
    return not (pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype))


def _public_bounds(name: str, meta: Mapping[str, Any]) -> tuple[float, float] | None:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is None and hi is None:
        return None
    if lo is None or hi is None:
        raise DataValidationError(
            f"metadata for column {name!r} gives only one of 'min' and 'max'; in DP mode give "
            "both (public bounds) or neither (bounds estimated under DP)."
        )
    lo, hi = _number(name, lo), _number(name, hi)
    if not lo < hi:
        raise DataValidationError(f"metadata for column {name!r}: min ({lo}) must be < max ({hi}).")
    return lo, hi


def _public_categories(
    name: str, meta: Mapping[str, Any], series: pd.Series, nullable: bool
) -> tuple[Any, ...] | None:
    listed = meta.get("categories")
    if listed is None:
        if pd.api.types.is_bool_dtype(series.dtype):
            listed = [False, True]
        elif isinstance(series.dtype, pd.CategoricalDtype):
            listed = list(series.dtype.categories)  # part of the dtype: schema
        else:
            return None
    if isinstance(listed, str) or not isinstance(listed, Sequence | np.ndarray | pd.Index):
        raise DataValidationError(
            f"metadata for column {name!r}: 'categories' must be a list, got {listed!r}."
        )
    values = [_to_py(v) for v in listed]
    values = [v for v in values if v is not None]
    if len(set(map(repr, values))) != len(values):
        raise DataValidationError(f"metadata for column {name!r}: 'categories' has duplicates.")
    if not values:
        raise DataValidationError(f"metadata for column {name!r}: 'categories' is empty.")
    return (*values, None) if nullable else tuple(values)


# ---------------------------------------------------------------------------------------------
# fitting: one Gaussian release of every statistic
# ---------------------------------------------------------------------------------------------
STATISTICS = "preprocessing: column statistics"  # the releases' names in privacy_spent_
RANGES = "preprocessing: value ranges, refined"
RANGE_FRACTION = 0.2  # of the preprocessing share, for refining the value ranges
FINE_BINS = 64  # equal-width bins over a column's coarse range, for its refined range


@dataclass(frozen=True)
class TablePrivacyPlan:
    """The table's planned releases: every statistic at once, then the refined value ranges.

    ``stats`` releases every histogram (category counts and the coarse range grids); ``refine``
    (only with numeric columns without public bounds) releases, for each of them, a histogram of
    ``FINE_BINS`` equal-width bins over the coarse range the first release found, whose trimmed
    extent is the column's range. Both are Gaussian releases in the same ledger; ``refine`` takes
    ``RANGE_FRACTION`` of the share.
    """

    stats: GaussianPlan
    refine: GaussianPlan | None = None

    def planned(self) -> dict[str, Release]:
        planned = self.stats.planned()
        if self.refine is not None:
            planned |= self.refine.planned()
        return planned

    def describe(self) -> str:
        lines = [self.stats.describe()]
        if self.refine is not None:
            lines.append(self.refine.describe())
        return "\n".join(lines)


def plan_private_statistics(
    plans: Sequence[PrivateColumnPlan], resolved: ResolvedPrivacy, n_records: int
) -> TablePrivacyPlan | None:
    """The table's Gaussian releases, or None when everything is public.

    Every discrete column releases its counts (over its public list, or over the categories
    seen, named above a threshold); every continuous column without public bounds releases a
    histogram over the public grid :data:`GRID_EDGES`. All of them together are one release of
    L2 sensitivity ``√k`` for ``k`` histograms; the ranges are then refined by a second release
    (:class:`TablePrivacyPlan`). Checks, before any release, that each can succeed at this size
    and budget, and says which columns cannot, all at once.
    """
    discrete = [p for p in plans if p.kind == "discrete"]
    ranges = [p for p in plans if p.kind == "continuous" and p.bounds is None]
    if not discrete and not ranges:
        return None
    secret = [p for p in discrete if p.categories is None]
    what = _release_list(discrete, ranges)
    fraction = 1.0 - RANGE_FRACTION if ranges else 1.0
    stats = plan_gaussian_release(
        resolved, name=STATISTICS, histograms=len(discrete) + len(ranges), n_records=n_records,
        secret_columns=len(secret), bins=len(GRID_EDGES) if ranges else 0, what=what,
        fraction=fraction,
    )  # fmt: skip
    refine = None
    if ranges:
        refine = plan_gaussian_release(
            resolved, name=RANGES, histograms=len(ranges), n_records=n_records, what=what,
            fraction=RANGE_FRACTION, share=stats.share, ledger_thresholds=bool(secret),
        )  # fmt: skip
    _check_ranges_possible(stats, ranges, n_records)
    _check_categories_possible(stats, secret, n_records, resolved.strict)
    return TablePrivacyPlan(stats, refine)


def _release_list(discrete, ranges) -> str:
    parts = []
    if discrete:
        parts.append(f"the category counts of {[p.name for p in discrete]}")
    if ranges:
        parts.append(f"the value ranges of {[p.name for p in ranges]}")
    return " and ".join(parts)


def _check_ranges_possible(stats: GaussianPlan, ranges, n: int) -> None:
    if not ranges:
        return
    needed = stats.bin_threshold(len(GRID_EDGES)) + 2.0 * stats.sigma
    if n >= needed:
        return
    names = [p.name for p in ranges]
    raise PrivacyBudgetError(
        f"The value ranges of {names} cannot be estimated under DP at this budget: a range "
        f"needs about {needed:.0f} records in one bin of the public grid (noise σ = "
        f"{stats.sigma:.3g} per count, bin threshold {stats.bin_threshold(len(GRID_EDGES)):.0f}, "
        f"{stats.share:.1%} of the budget), and the table has {n} rows. Give "
        "their bounds as public metadata, e.g. {'columns': {" + repr(names[0]) + ": {'min': 0, "
        "'max': 100}}} (`synthgan metadata data.csv` writes a draft to edit), or raise ε or "
        "preprocessing_epsilon_share."
    )


def _check_categories_possible(stats: GaussianPlan, secret, n: int, strict: bool) -> None:
    tau = stats.category_threshold
    if tau is None or n >= tau + 2.0 * stats.sigma:
        return
    names = [p.name for p in secret]
    strict_or_required = [p.name for p in secret if strict or not p.nullable]
    message = (
        f"No category of {names} can pass the DP threshold at this budget: a category must "
        f"hold more than {tau:.0f} records (noise σ = {stats.sigma:.3g} per count), and the "
        f"table has {n} rows."
    )
    fix = (
        " Give their categories as public metadata, e.g. {'columns': {" + repr(names[0])
        + ": {'categories': [...]}}} (costs nothing), or raise ε or "
        "preprocessing_epsilon_share."
    )  # fmt: skip
    if strict_or_required:
        why = "strict=True" if strict else f"{strict_or_required} cannot hold missing values"
        raise PrivacyBudgetError(message + f" ({why}.)" + fix)
    warn_user(
        message + " They will be generated from their public type alone (every value shares "
        "one slot, generated as missing)." + fix
    )


def fit_private_transformer(
    df: pd.DataFrame,
    plans: Sequence[PrivateColumnPlan],
    planned: TablePrivacyPlan | None,
    rng: np.random.Generator,
    *,
    grid_modes: int = 10,
    strict: bool = False,
) -> PrivatePreprocessing:
    """Fit the table transformer from the planned Gaussian releases (the module docstring)."""
    result = PrivatePreprocessing(TableTransformer(max_modes=grid_modes))
    stats = None if planned is None else planned.stats
    released = _release_statistics(df, plans, stats, rng) if stats is not None else {}
    notices: list[str] = []
    ranges = _release_ranges(df, plans, released, planned, rng, notices)
    encoders = []
    for plan in plans:
        if plan.kind == "continuous":
            encoders.append(_continuous(plan, ranges.get(plan.name), grid_modes, notices))
        elif plan.kind == "discrete":
            encoders.append(_discrete(plan, released[plan.name], stats, notices))
        elif plan.kind == "id":  # drawn from the public pattern: reads no value, costs nothing
            encoders.append(fit_identifier(df[plan.name], pattern=plan.pattern, read_values=False))
    if stats is not None:
        summary = {e.name: _released_summary(e) for e in encoders if e.name in released}
        result.releases[STATISTICS] = stats.release(summary)
    if planned is not None and planned.refine is not None:
        result.releases[RANGES] = planned.refine.release({n: list(r) for n, r in ranges.items()})
    _check_strict(encoders, strict)
    result.notices = notices
    transformer = result.transformer
    transformer.columns_ = [p.name for p in plans if p.kind != "text"]
    transformer.encoders_ = encoders
    transformer._build_layout()
    return result


def _release_statistics(df, plans, stats: GaussianPlan, rng) -> dict[str, tuple[list, np.ndarray]]:
    """``{column: (labels, noisy counts)}``: every histogram, noised in one draw."""
    histograms = {}
    for plan in plans:
        if plan.kind == "discrete":
            histograms[plan.name] = _category_histogram(df[plan.name], plan)
        elif plan.kind == "continuous" and plan.bounds is None:
            histograms[plan.name] = (None, grid_histogram(df[plan.name]))
    counts = np.concatenate([h for _, h in histograms.values()])  # (Σ bins,) one vector
    noisy = gaussian_counts(counts, stats.sigma, rng)
    released, start = {}, 0
    for name, (labels, h) in histograms.items():
        released[name] = (labels, noisy[start : start + len(h)])
        start += len(h)
    return released


def _category_histogram(series: pd.Series, plan: PrivateColumnPlan) -> tuple[list, np.ndarray]:
    values = [_to_py(v) for v in series.astype(object).to_numpy()]
    observed: dict[Any, int] = {}
    for value in values:
        observed[value] = observed.get(value, 0) + 1
    # Read from the data (named later only above the threshold), or the public list.
    labels = sorted(observed, key=repr) if plan.categories is None else list(plan.categories)
    return labels, np.array([observed.get(v, 0) for v in labels], dtype=float)


def check_public_categories(df: pd.DataFrame, plans: Sequence[PrivateColumnPlan]) -> None:
    """Every value lies in its column's public list; one error naming every column that fails."""
    problems = []
    for plan in plans:
        if plan.kind != "discrete" or plan.categories is None:
            continue
        known = set(map(repr, plan.categories))
        distinct = [_to_py(v) for v in pd.unique(df[plan.name].astype(object))]
        outside = [v for v in distinct if repr(v) not in known]
        if outside:
            listed = list(plan.categories)
            problems.append(
                f"{plan.name!r} holds {outside[0]!r} ({len(outside)} value(s) outside its "
                f"public category list {listed})"
            )
    if problems:
        raise DataValidationError(
            "Values outside the public category lists: " + "; ".join(problems) + ". Add them "
            "to the metadata's 'categories' (and 'missing': true for missing values)."
        )


def _release_ranges(df, plans, released, planned, rng, notices) -> dict[str, tuple[float, float]]:
    """``{column: (low, high)}`` of the numeric columns without public bounds: the coarse range
    of the first release, refined by the second (post-processing of both, but for the counts)."""
    columns = [p for p in plans if p.kind == "continuous" and p.bounds is None]
    if not columns:
        return {}
    threshold = planned.stats.bin_threshold(len(GRID_EDGES))
    coarse = {}
    for plan in columns:
        coarse[plan.name], found = range_from_grid(released[plan.name][1], threshold)
        if not found:
            low, high = coarse[plan.name]
            notices.append(f"{plan.name!r}: no value bin passed the threshold; its range "
                           f"[{low:.4g}, {high:.4g}] is the bin with the largest noisy count "
                           "(give 'min' and 'max')")  # fmt: skip
    fine = [fine_histogram(df[p.name], *coarse[p.name]) for p in columns]  # (FINE_BINS,) each
    noisy = gaussian_counts(np.concatenate(fine), planned.refine.sigma, rng)
    fine_threshold = planned.refine.bin_threshold(FINE_BINS)
    ranges = {}
    for k, plan in enumerate(columns):
        counts = noisy[k * FINE_BINS : (k + 1) * FINE_BINS]
        lo, hi = range_from_fine(counts, *coarse[plan.name], fine_threshold, len(df))
        if _integer_like(plan.dtype):  # whole units: widen to the enclosing integers
            lo, hi = _whole(lo, math.floor), _whole(hi, math.ceil)
        ranges[plan.name] = (lo, hi if hi > lo else lo + 1.0)
        notices.append(f"{plan.name!r}: range [{lo:.6g}, {ranges[plan.name][1]:.6g}] estimated "
                       "under DP; values outside it are generated at its ends (give 'min' and "
                       "'max')")  # fmt: skip
    return ranges


def fine_histogram(series: pd.Series, low: float, high: float) -> np.ndarray:
    """Counts of a numeric column in ``FINE_BINS`` equal-width bins over ``[low, high]``
    (values outside are clipped to the end bins; missing values are not counted)."""
    values = _numeric(series)
    values = values[~np.isnan(values)]
    width = (high - low) / FINE_BINS
    index = np.clip(np.floor((values - low) / width), 0, FINE_BINS - 1).astype(np.int64)
    return np.bincount(index, minlength=FINE_BINS).astype(float)


def range_from_fine(
    noisy: np.ndarray,
    low: float,
    high: float,
    threshold: float,
    n_records: int,
    tail: float = BOUNDS_TAIL,
) -> tuple[float, float]:
    """The refined range: the occupied fine bins, ``tail`` of their mass trimmed at each end.

    The coarse range itself when the bins that pass hold less than half the (public) number of
    records: the fine counts are then too noisy for their extent to mean anything (at small n
    and ε a few bins pass by their noise alone).
    """
    mass = np.where(noisy > threshold, noisy, 0.0)
    if mass.sum() < 0.5 * n_records:
        return low, high
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, tail, side="right"))
    last = max(int(np.searchsorted(cumulative, 1.0 - tail, side="left")), first)
    width = (high - low) / FINE_BINS
    return low + first * width, low + (min(last, FINE_BINS - 1) + 1) * width


def _continuous(plan, released_range, grid_modes, notices) -> ContinuousEncoder:
    lo, hi = plan.bounds if plan.bounds is not None else released_range
    if plan.nullable and not plan.missing_declared:
        notices.append(f"{plan.name!r} may generate missing values (its type allows them; "
                       "give 'missing': false if it has none)")  # fmt: skip
    return grid_encoder(plan.name, plan.dtype, lo, hi, grid_modes, plan.nullable)


def grid_encoder(
    name: str, dtype: dict[str, Any], lo: float, hi: float, modes: int, nullable: bool
) -> ContinuousEncoder:
    """Mode-specific encoding with ``modes`` equal-width modes over ``[lo, hi]`` (no data)."""
    center, scale = (lo + hi) / 2, (hi - lo) / 2
    means = -1.0 + (2.0 * np.arange(modes) + 1.0) / modes  # bin centres in [-1, 1]
    return ContinuousEncoder(
        name,
        dtype,
        center=float(center),
        scale=float(scale),
        means=means,
        stds=np.full(modes, 1.0 / modes),  # half a bin: alpha = ±0.25 at the bin's edges
        weights=np.full(modes, 1.0 / modes),
        minimum=float(lo),
        maximum=float(hi),
        has_missing=nullable,
    )


def _whole(value: float, direction) -> float:
    # A bound within 1e-6 of an integer is that integer (the zero bin of the grid is ±2^-20
    # wide: a column of zeros must not get a bound of -1).
    nearest = round(value)
    return float(nearest if abs(value - nearest) < 1e-6 else direction(value))


def _integer_like(info: dict[str, Any]) -> bool:
    return info["dtype"].lower().lstrip("u").startswith("int")


def _range_grid() -> np.ndarray:
    """The public grid of value bins, ``(bins, 2)`` edges in increasing order.

    A zero bin ``[-2^-20, 2^-20]`` and, on each side of zero, ``GRID_PER_OCTAVE`` bins per
    power of two from ``2^-20`` to ``2^64`` (each bin about 19 % wide): the same for every
    column and every table, so it reads nothing.
    """
    steps = np.arange(_GRID_LOW * GRID_PER_OCTAVE, _GRID_HIGH * GRID_PER_OCTAVE)
    lower = 2.0 ** (steps / GRID_PER_OCTAVE)
    upper = 2.0 ** ((steps + 1) / GRID_PER_OCTAVE)
    positive = np.stack([lower, upper], axis=1)
    negative = -positive[::-1, ::-1]
    zero = np.array([[-(2.0**_GRID_LOW), 2.0**_GRID_LOW]])
    return np.concatenate([negative, zero, positive])


GRID_PER_OCTAVE = 4
_GRID_LOW, _GRID_HIGH = -20, 64
GRID_EDGES = _range_grid()  # (673, 2)


def grid_histogram(series: pd.Series) -> np.ndarray:
    """Counts of a numeric column over :data:`GRID_EDGES` (missing values not counted)."""
    values = _numeric(series)
    values = values[~np.isnan(values)]
    side = (len(GRID_EDGES) - 1) // 2
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        step = np.floor(np.log2(np.maximum(magnitude, 2.0**_GRID_LOW)) * GRID_PER_OCTAVE)
    offset = np.clip(step - _GRID_LOW * GRID_PER_OCTAVE, 0, side - 1)
    index = np.where(values > 0, side + 1 + offset, side - 1 - offset)
    index = np.where(magnitude < 2.0**_GRID_LOW, side, index).astype(np.int64)
    return np.bincount(index, minlength=len(GRID_EDGES)).astype(float)


def range_from_grid(
    noisy: np.ndarray, threshold: float, tail: float = BOUNDS_TAIL
) -> tuple[tuple[float, float], bool]:
    """``((low, high), found)`` from noisy grid counts (post-processing only).

    Bins whose noisy count exceeds ``threshold`` are occupied; ``tail`` of their mass is trimmed
    at each end (the range holds the ``tail`` to ``1 − tail`` quantiles, to the bin), and the
    range runs from the lower edge of the first bin kept to the upper edge of the last. When no
    bin passes (``found`` False) the range is the bin with the largest noisy count.
    """
    mass = np.where(noisy > threshold, noisy, 0.0)
    if not mass.any():
        best = int(np.argmax(noisy))
        return (float(GRID_EDGES[best, 0]), float(GRID_EDGES[best, 1])), False
    cumulative = np.cumsum(mass) / mass.sum()
    first = int(np.searchsorted(cumulative, tail, side="right"))
    last = int(np.searchsorted(cumulative, 1.0 - tail, side="left"))
    last = min(max(last, first), len(GRID_EDGES) - 1)
    return (float(GRID_EDGES[first, 0]), float(GRID_EDGES[last, 1])), True


def _discrete(plan, released, stats: GaussianPlan, notices) -> DiscreteEncoder:
    labels, noisy = released
    counts = np.clip(np.rint(noisy), 0, None).astype(np.int64)
    if plan.categories is not None:  # public list: every category and its noisy count
        return DiscreteEncoder(plan.name, plan.dtype, list(labels), counts)
    kept = np.flatnonzero(noisy > stats.category_threshold)
    categories = [labels[i] for i in kept]
    other = stats.n_records - float(noisy[kept].sum())  # public n minus what was released
    # The released counts' sum has noise σ·√m: below twice that, nothing is left for "other".
    noise = 2.0 * stats.sigma * math.sqrt(kept.size)
    keep_other = plan.nullable and (not kept.size or other > noise)
    if keep_other:
        share = max(other, 0.0) / stats.n_records
        notices.append(
            f"{plan.name!r}: {_categories(kept.size)} released; the values outside them (about "
            f"{share:.1%} of the rows) share an 'other' slot, generated as missing"
            if kept.size
            else f"{plan.name!r}: no category passed the DP threshold; generated from its "
            "public type alone (missing)"
        )
        return DiscreteEncoder(
            plan.name, plan.dtype, [*categories, _OTHER],
            np.append(counts[kept], max(round(other), 0)).astype(np.int64),
            other_values=[None], other_counts=np.ones(1, dtype=np.int64),
        )  # fmt: skip
    if not kept.size:
        raise PrivacyBudgetError(
            f"No category of column {plan.name!r} passed the DP threshold (noisy count > "
            f"{stats.category_threshold:.0f}), and the column cannot hold missing values. Give "
            "its categories as public metadata, or raise ε or preprocessing_epsilon_share."
        )
    modal = int(np.argmax(counts[kept]))
    notices.append(f"{plan.name!r}: {_categories(kept.size)} released; any value outside them "
                   f"is counted as {categories[modal]!r}")  # fmt: skip
    return DiscreteEncoder(plan.name, plan.dtype, categories, counts[kept], fallback=modal)


def _categories(count: int) -> str:
    return f"{count} categor{'y' if count == 1 else 'ies'}"


def _released_summary(encoder) -> dict[str, Any]:
    """What the release published about one column (for ``privacy_spent_``-side inspection)."""
    if isinstance(encoder, DiscreteEncoder):
        names = ["<other>" if v is _OTHER else v for v in encoder.categories]
        return {"categories": names, "counts": [int(c) for c in encoder.counts]}
    return {"min": encoder.minimum, "max": encoder.maximum}


def warn_schema(notices: Sequence[str]) -> None:
    """One warning listing what DP did to the schema, column by column (nothing if nothing)."""
    if not notices:
        return
    warn_user(
        "Differential privacy changed the schema of the synthetic data (only released "
        "figures are shown):\n" + "\n".join(f"  - {n}" for n in notices) + "\nGiving what is "
        "public as public metadata avoids this at no privacy cost: {'columns': {name: "
        "{'categories': [...], 'missing': false, 'min': ..., 'max': ...}}} "
        "(`synthgan metadata data.csv` writes a draft to review)."
    )


def _check_strict(encoders: Sequence, strict: bool) -> None:
    """With ``strict``, refuse the columns of which DP released no category (all of them)."""
    empty = [
        e.name for e in encoders if isinstance(e, DiscreteEncoder) and e.categories == [_OTHER]
    ]
    if strict and empty:
        raise PrivacyBudgetError(
            f"strict=True: DP released no category of column(s) {empty}; they would be "
            "generated from their public type alone. Give their categories as public metadata, "
            "or raise ε or preprocessing_epsilon_share."
        )


def private_sampler(transformer: TableTransformer, log_frequency: bool) -> ConditionSampler:
    """A generation sampler over the DP (noisy, rounded) category counts."""
    encoders = transformer.discrete_encoders_
    return ConditionSampler.from_json(
        {
            "n_categories": [len(e.categories) for e in encoders],
            "counts": [int(c) for e in encoders for c in e.counts],
            "log_frequency": log_frequency,
        }
    )


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
class PrivateTabularSteps(TabularGANSteps):
    """CTGAN's steps with a :class:`~synthgan.privacy.engine.PrivateCritic` discriminator.

    ``codes`` are the training rows' category codes (n, n_discrete); ``sampler`` holds only the
    DP counts (no rows). The generator step is CTGAN's (inherited), with conditions from the DP
    frequencies; the critic is the session's wrapped ``discriminator``.
    """

    def __init__(
        self,
        context: TrainingContext,
        data: Tensor,
        codes: np.ndarray,
        sampler: ConditionSampler,
        spans: SpanTable,
        loss: AdversarialLoss,
        options: StepOptions,
        penalty: str = "fake",
    ) -> None:
        if not loss.separable:
            raise ValueError(
                f"Loss {loss.name!r} does not give per-record real and fake terms "
                "(AdversarialLoss.real_term / fake_term), which DP-SGD needs."
            )
        super().__init__(context, data, sampler, spans, loss, options)
        self.critic = context.critics["discriminator"]
        self.torch_generator = context.generator("poisson_sampling")
        self.penalty = penalty
        self.codes = torch.as_tensor(codes, device=self.device)  # (n, n_discrete)
        self.offsets = torch.as_tensor(sampler.offsets, device=self.device)
        self.fake_batch = max(1, round(self.critic.expected_batch_size))
        _check_fake_batch(self.fake_batch, context.world.world_size)

    def _public_conditions(self, batch: int) -> tuple[Tensor, Tensor | None]:
        """Conditions drawn from the DP frequencies (no real record involved): this rank's
        block of a global draw of ``batch`` (all of it in one process)."""
        slots = self.sampler.sample_original(batch, self.rng)
        mine = self.context.rows(batch)
        slots = None if slots is None else slots[mine]
        local = len(range(batch)[mine])
        cond = one_hot_conditions(slots, self.spans.condition_width, local, self.device)
        return cond, None if slots is None else torch.as_tensor(slots, device=self.device)

    def _own_conditions(self, index: Tensor) -> Tensor:
        """Each real record's condition: its category in a uniformly drawn discrete column
        (for every record of the sample ``index``, the global one in a distributed fit)."""
        width, batch = self.spans.condition_width, index.shape[0]
        if self.codes.shape[1] == 0:
            return torch.zeros(batch, width, device=self.device)
        column = torch.randint(0, self.codes.shape[1], (batch,), device=self.device,
                               generator=self.torch_generator)  # fmt: skip
        slots = self.offsets[column] + self.codes[index, column]
        return one_hot_conditions(slots, width, batch, self.device)

    def _generator_conditions(self, batch: int) -> tuple[Tensor, Tensor | None]:
        return self._public_conditions(batch)

    def discriminator_step(self) -> dict[str, float]:
        from synthgan.privacy.engine import poisson_batch

        opts = self.options
        index = poisson_batch(self.data.shape[0], self.critic.sample_rate, self.torch_generator)
        mine = self.context.own_records(index)  # (b,) this rank's records of the global sample
        conditions = self._own_conditions(index)  # (b, c)
        real = torch.cat([self.data[index[mine]], conditions[mine]], dim=1)  # (b_r, d + c)
        penalise = opts.gp_lambda > 0 and self._critic_steps % opts.gp_every == 0
        self._critic_steps += 1
        cond, slots = self._public_conditions(self.fake_batch)
        with torch.set_grad_enabled(opts.reuse_fake):
            logits, fake = self._generate(cond)
        fake_in = torch.cat([fake.detach(), cond], dim=1)
        weight = opts.gp_lambda * opts.gp_every
        if penalise and self.penalty == "record":
            inputs = self._record_penalty_inputs(real, conditions, mine)
            record_loss = self._record_loss(weight)
        else:
            inputs, record_loss = (real,), self._real_loss
        fake_loss = self._fake_loss(fake_in, weight if penalise and self.penalty == "fake" else 0)
        losses = self.critic.step(inputs, record_loss, fake_loss, (fake_in, self._fake_records))
        self._cached = (logits, fake, cond, slots) if opts.reuse_fake else None
        # Only the fake term is logged: the real term's value is an unnoised statistic of the
        # real records, and the loss history is part of the model file.
        return {"discriminator_fake_loss": float(losses.fake)}

    def _real_loss(self, critic, x: Tensor) -> Tensor:
        # float32: the clip factor must come from the exact per-record gradient norm.
        return self.loss.real_term(critic(x).reshape(-1))  # (b,)

    def _fake_records(self, critic, fake_in: Tensor) -> Tensor:
        # One fake-term loss per generated row: clipped per row like the real records (float32
        # for the same exact norms), so the two terms of the critic's objective keep their
        # balance; no noise, nothing charged.
        return self.loss.fake_term(critic(fake_in).reshape(-1))  # (m,)

    def _fake_loss(self, fake_in: Tensor, weight: float):
        """The penalty between pairs of fakes (none when ``weight`` is 0)."""
        if not weight:
            return None
        # Points between each fake row and the previous one of the global batch (other noise,
        # other condition); the weights drawn for the global batch, this rank's block kept.
        alpha = torch.rand(self.fake_batch, 1, device=self.device, generator=self.torch_generator)
        alpha = alpha[self.context.rows(self.fake_batch)]  # (m_r, 1)
        partner = self.context.world.roll_rows(fake_in.detach())
        mixed = torch.lerp(partner, fake_in, alpha).detach()

        def loss(critic) -> Tensor:
            point = mixed.requires_grad_(True)
            return weight * gradient_penalty(critic(point), point).mean()

        return loss

    def _record_penalty_inputs(
        self, real: Tensor, conditions: Tensor, mine: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        # A fake for every record, generated for the record's own condition: only that record's
        # loss reads it, so it is clipped with the record. Every rank generates the fakes of the
        # whole sample (the same draws and BatchNorm statistics as one process) and keeps its
        # records' (``mine``): a generator pass without gradients, cheap next to DP-SGD's.
        total = conditions.shape[0]
        noise = self.context.normal(total, self.options.noise_dim, whole=True)  # (b, z)
        with torch.no_grad(), self.context.precision():
            logits = self.generator(torch.cat([noise, conditions], dim=1)).float()
        uniform = self.context.uniform(*logits.shape, whole=True)  # (b, data_dim)
        own_fake = self.spans.activate(logits, self.options.tau, uniform)
        partner = torch.cat([own_fake, conditions], dim=1)[mine]  # (b_r, d + c)
        alpha = torch.rand(total, 1, device=self.device, generator=self.torch_generator)[mine]
        return real, partner, alpha

    def _record_loss(self, weight: float):
        from synthgan.privacy.engine import critic_input_gradient

        def loss(critic, x: Tensor, partner: Tensor, alpha: Tensor) -> Tensor:
            point = torch.lerp(partner, x, alpha)
            grad = critic_input_gradient(critic, point).reshape(len(point), -1)
            return self._real_loss(critic, x) + weight * (grad.norm(2, dim=1) - 1.0) ** 2

        return loss


def _check_fake_batch(fake_batch: int, world_size: int) -> None:
    """The fakes of a step (the expected real batch) split into equal blocks over the ranks."""
    if fake_batch % world_size:
        raise ValueError(
            f"The expected real batch of this DP fit, {fake_batch} rows, does not split into "
            f"{world_size} equal blocks of generated rows, one per rank; use a batch_size that "
            f"is a multiple of {world_size}."
        )
