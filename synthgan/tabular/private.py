"""Differential privacy for CTGAN: DP preprocessing and DP-SGD discriminator steps.

In DP mode nothing is read from the table for free (see ``docs/privacy.md``):

* **Column kinds** come from the dtypes (schema, public), ``discrete_columns`` and metadata;
  constant, identifier and free-text columns are not detected (that reads the data) and
  high-cardinality columns are not compacted (that reads frequencies). A declared identifier
  needs a public ``pattern`` and is drawn from it; a declared text column is not read (or,
  with ``allow_copy``, is released as a discrete column).
* **Category lists** come from metadata ``"categories"`` (public) or from a thresholded noisy
  histogram (:func:`~synthgan.privacy.mechanisms.dp_histogram`, (ε, δ)); values that do not pass
  the threshold share one slot that is generated as missing.
* **Category frequencies** (training-by-sampling at generation time, and the counts saved with
  the model) are the Laplace-noised counts of that same release (or of a Laplace count over the
  public list): ε-DP, rounded and clamped at zero before they are stored.
* **Continuous bounds** come from metadata ``"min"``/``"max"`` or are estimated: first a coarse
  public-grid range (Laplace counts over sign-and-power-of-two bins, ε/2), then the 0.5 % and
  99.5 % quantiles inside it by the exponential mechanism (ε/2).
* **Mode-specific normalisation** is *replaced*: a variational Gaussian mixture fitted on raw
  values would need a DP mixture fit, and its means would be a release of their own. DP mode uses
  ``grid_modes`` equal-width modes over the bounds instead: the same (value, mode) encoding, so the
  networks are unchanged, computed from public or DP quantities only.

Every release spends an equal share of ``PrivacyConfig.preprocessing_epsilon_share · ε`` (and
the histograms an equal share of the preprocessing δ); what preprocessing does not need goes to
DP-SGD.

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
from synthgan.exceptions import DataValidationError, PrivacyBudgetError
from synthgan.privacy.config import ResolvedPrivacy
from synthgan.privacy.mechanisms import Release, dp_bounds, dp_histogram, noisy_counts
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
    "PrivateColumnPlan",
    "PrivatePreprocessing",
    "PrivateTabularSteps",
    "coarse_range",
    "fit_private_transformer",
    "plan_private_columns",
]

BOUNDS_TAIL = 0.005  # quantiles estimated as a continuous column's bounds
_POWERS = np.arange(-20, 64)  # coarse-range bins: [2^k, 2^(k+1)) on each side of zero


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


@dataclass
class PrivatePreprocessing:
    """The DP-fitted transformer and every release it took."""

    transformer: TableTransformer
    releases: dict[str, Release] = field(default_factory=dict)

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
        if kind == "continuous":
            bounds = _public_bounds(name, meta)
            plans.append(PrivateColumnPlan(name, kind, info, bounds=bounds, nullable=nullable))
        else:
            categories = _public_categories(name, meta, series, nullable)
            plans.append(PrivateColumnPlan(name, "discrete", info, categories=categories,
                                           nullable=nullable))  # fmt: skip
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
# fitting: every statistic is a DP release
# ---------------------------------------------------------------------------------------------
def preprocessing_cost(
    plans: Sequence[PrivateColumnPlan], resolved: ResolvedPrivacy
) -> tuple[float, float]:
    """The (ε, δ) :func:`fit_private_transformer` will spend, known from the plans alone.

    Bounds to estimate and category frequencies share the preprocessing ε; category lists that
    are not public share its δ. What is not needed goes to DP-SGD.
    """
    estimated = [p for p in plans if p.kind == "continuous" and p.bounds is None]
    discrete = [p for p in plans if p.kind == "discrete"]
    secret = [p for p in discrete if p.categories is None]
    epsilon = resolved.preprocessing_epsilon if estimated or discrete else 0.0
    return epsilon, resolved.preprocessing_delta if secret else 0.0


def fit_private_transformer(
    df: pd.DataFrame,
    plans: Sequence[PrivateColumnPlan],
    resolved: ResolvedPrivacy,
    rng: np.random.Generator,
    *,
    grid_modes: int = 10,
) -> PrivatePreprocessing:
    """Fit the table transformer with DP releases only (see the module docstring)."""
    estimated = [p.name for p in plans if p.kind == "continuous" and p.bounds is None]
    discrete = [p.name for p in plans if p.kind == "discrete"]
    secret_lists = [p.name for p in plans if p.kind == "discrete" and p.categories is None]
    n_releases = len(estimated) + len(discrete)
    if n_releases and not resolved.preprocessing_epsilon > 0:
        raise PrivacyBudgetError(
            f"preprocessing_epsilon_share is 0, but DP mode must release the category "
            f"frequencies of {discrete} and the bounds of {estimated}. Give a positive share "
            "(0.1 is the default)."
        )
    eps = resolved.preprocessing_epsilon / max(n_releases, 1)
    delta = resolved.preprocessing_delta / max(len(secret_lists), 1)
    if secret_lists and not delta > 0:
        raise PrivacyBudgetError(
            f"The category lists of {secret_lists} are not public, and releasing categories "
            "read from the data needs δ > 0: give them as metadata {'columns': {name: "
            "{'categories': [...]}}} or a positive preprocessing_epsilon_share."
        )
    result = PrivatePreprocessing(TableTransformer(max_modes=grid_modes))
    encoders = []
    for plan in plans:
        if plan.kind == "continuous":
            encoders.append(_continuous(df[plan.name], plan, eps, rng, grid_modes, result))
        elif plan.kind == "discrete":
            encoders.append(_discrete(df[plan.name], plan, eps, delta, rng, result))
        elif plan.kind == "id":  # drawn from the public pattern: reads no value, costs nothing
            encoders.append(fit_identifier(df[plan.name], pattern=plan.pattern, read_values=False))
    transformer = result.transformer
    transformer.columns_ = [p.name for p in plans if p.kind != "text"]
    transformer.encoders_ = encoders
    transformer._build_layout()
    return result


def _continuous(series, plan, eps, rng, grid_modes, result) -> ContinuousEncoder:
    if plan.bounds is not None:
        lo, hi = plan.bounds
    else:
        values = _numeric(series)
        values = values[~np.isnan(values)]
        coarse = coarse_range(values, eps / 2, rng)
        bounds = dp_bounds(values, *coarse.value, eps / 2, rng, tail=BOUNDS_TAIL)
        lo, hi = bounds.value
        if _integer_like(plan.dtype):  # whole units: widen to the enclosing integers
            lo, hi = _whole(lo, math.floor), _whole(hi, math.ceil)
        if not hi > lo:
            hi = lo + 1.0
        result.releases[f"preprocessing: bounds of {plan.name!r}"] = Release(
            (lo, hi), eps, 0.0, "coarse range (Laplace) + exponential-mechanism quantiles"
        )
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
    # A bound within 1e-6 of an integer is that integer (the zero bin of the coarse range is
    # ±2^-20 wide: a column of zeros must not get a bound of -1).
    nearest = round(value)
    return float(nearest if abs(value - nearest) < 1e-6 else direction(value))


def _integer_like(info: dict[str, Any]) -> bool:
    return info["dtype"].lower().lstrip("u").startswith("int")


def coarse_range(values: np.ndarray, epsilon: float, rng: np.random.Generator) -> Release:
    """ε-DP coarse range of ``values``, on a public grid: no public bounds needed.

    The bins are zero and ``±[2^k, 2^(k+1))`` for k in −20..63 (beyond: the outermost bins).
    Every record falls in one bin, so Laplace(1/ε) counts are ε-DP; the range spans the bins
    whose noisy count exceeds ``2 ln(#bins) / ε`` (post-processing), from the lower edge of the
    lowest to the upper edge of the highest.
    """
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        power = np.clip(np.floor(np.log2(magnitude)), _POWERS[0], _POWERS[-1])
    k = len(_POWERS)  # bins: k negative (most negative first), zero, k positive
    offset = power - _POWERS[0]
    index = np.where(values > 0, k + 1 + offset, k - 1 - offset)
    index = np.where(magnitude < 2.0 ** _POWERS[0], k, index)
    counts = np.bincount(index.astype(np.int64), minlength=2 * k + 1)  # (2k + 1,) bins, sorted
    noisy = noisy_counts(counts, epsilon, rng).value
    kept = np.flatnonzero(noisy > 2.0 * math.log(len(counts)) / epsilon)
    if kept.size == 0:
        raise PrivacyBudgetError(
            f"Too few records to estimate a column's range under DP with ε={epsilon:.3g}: no "
            "bin's noisy count passed the threshold. Give the column's 'min' and 'max' as "
            "public metadata, or raise ε or preprocessing_epsilon_share."
        )
    edges = _bin_edges()
    return Release(
        (float(edges[kept[0]][0]), float(edges[kept[-1]][1])), epsilon, 0.0, "coarse range"
    )


def _bin_edges() -> list[tuple[float, float]]:
    small = 2.0 ** float(_POWERS[0])
    negative = [(-(2.0 ** (p + 1.0)), -(2.0**p)) for p in _POWERS[::-1]]
    positive = [(2.0**p, 2.0 ** (p + 1.0)) for p in _POWERS]
    return [*negative, (-small, small), *positive]


def _discrete(series, plan, eps, delta, rng, result) -> DiscreteEncoder:
    values = [_to_py(v) for v in series.astype(object).to_numpy()]
    if plan.categories is not None:
        public = list(plan.categories)
        known = set(map(repr, public))
        outside = next((v for v in values if repr(v) not in known), _OTHER)
        if outside is not _OTHER:
            raise DataValidationError(
                f"Column {plan.name!r} holds {outside!r}, which is not in its public category "
                f"list {public}; add it to the metadata's 'categories' (and 'missing': true for "
                "missing values)."
            )
        release = dp_histogram(values, eps, rng, categories=public)
        categories, noisy = public, list(release.value.values())
        other = None
    else:
        release = dp_histogram(values, eps, rng, delta=delta)
        categories, noisy = list(release.value), list(release.value.values())
        if not categories:
            raise PrivacyBudgetError(
                f"No category of column {plan.name!r} passed the DP threshold (noisy count > "
                f"{1 + math.log(1 / (2 * delta)) / eps:.0f} at ε={eps:.3g}, δ={delta:.2g}): too "
                "few records for this budget. Give its categories as public metadata."
            )
        other = [None]  # unreleased values share one slot, generated as missing
    counts = np.clip(np.rint(noisy), 0, None).astype(np.int64)
    name = "category counts" if plan.categories is not None else "categories and counts"
    result.releases[f"preprocessing: {name} of {plan.name!r}"] = release
    if other is None:
        return DiscreteEncoder(plan.name, plan.dtype, categories, counts)
    return DiscreteEncoder(
        plan.name,
        plan.dtype,
        [*categories, _OTHER],
        np.append(counts, 0),
        other_values=other,
        other_counts=np.ones(1, dtype=np.int64),
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

    def _public_conditions(self, batch: int) -> tuple[Tensor, Tensor | None]:
        """Conditions drawn from the DP frequencies (no real record involved)."""
        slots = self.sampler.sample_original(batch, self.rng)
        cond = one_hot_conditions(slots, self.spans.condition_width, batch, self.device)
        return cond, None if slots is None else torch.as_tensor(slots, device=self.device)

    def _own_conditions(self, index: Tensor) -> Tensor:
        """Each real record's condition: its category in a uniformly drawn discrete column."""
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
        real = torch.cat([self.data[index], self._own_conditions(index)], dim=1)  # (b, d + c)
        penalise = opts.gp_lambda > 0 and self._critic_steps % opts.gp_every == 0
        self._critic_steps += 1
        cond, slots = self._public_conditions(self.fake_batch)
        with torch.set_grad_enabled(opts.reuse_fake):
            logits, fake = self._generate(cond)
        fake_in = torch.cat([fake.detach(), cond], dim=1)
        weight = opts.gp_lambda * opts.gp_every
        if penalise and self.penalty == "record":
            inputs, record_loss = self._record_penalty_inputs(real), self._record_loss(weight)
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
        # Points between each fake row and another (other noise, other condition).
        alpha = torch.rand(fake_in.shape[0], 1, device=self.device, generator=self.torch_generator)
        mixed = torch.lerp(fake_in.roll(1, dims=0), fake_in, alpha).detach()

        def loss(critic) -> Tensor:
            point = mixed.requires_grad_(True)
            return weight * gradient_penalty(critic(point), point).mean()

        return loss

    def _record_penalty_inputs(self, real: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # A fake for every record, generated for the record's own condition: only that record's
        # loss reads it, so it is clipped with the record.
        width = self.spans.width
        with torch.no_grad():
            _, own_fake = self._generate(real[:, width:])
        partner = torch.cat([own_fake, real[:, width:]], dim=1)
        alpha = torch.rand(real.shape[0], 1, device=self.device, generator=self.torch_generator)
        return real, partner, alpha

    def _record_loss(self, weight: float):
        from synthgan.privacy.engine import critic_input_gradient

        def loss(critic, x: Tensor, partner: Tensor, alpha: Tensor) -> Tensor:
            point = torch.lerp(partner, x, alpha)
            grad = critic_input_gradient(critic, point).reshape(len(point), -1)
            return self._real_loss(critic, x) + weight * (grad.norm(2, dim=1) - 1.0) ** 2

        return loss
