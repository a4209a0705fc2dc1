"""Differentially private primitives for preprocessing, as pure seeded functions.

Every function takes a :class:`numpy.random.Generator` (same generator state → same release) and
returns a :class:`Release`: the released value plus the (ε, δ) it spent, to be composed by
:func:`synthgan.privacy.accounting.compose_privacy`. Neighbouring datasets differ by adding or
removing one record (as in Opacus' accountants); each function reads one column, where every
record holds one value.

What is released, exactly:

* :func:`noisy_counts` – every bin's count plus Laplace(1/ε) noise.
* :func:`dp_histogram` – a noisy count for every category in the *public* list (zero counts
  included), and, only when ``delta > 0``, the names and noisy counts of categories outside that
  list whose noisy count exceeds the threshold ``τ = 1 + ln(1/(2δ))/ε``. A category held by one
  record passes with probability at most δ; categories never seen are never named.
* :func:`noisy_frequencies` – category probabilities from a public-list histogram (post-
  processing: clamped at zero, renormalised), for training-by-sampling.
* :func:`dp_quantile` / :func:`dp_bounds` – quantiles inside a *public* clamp range
  ``[lower, upper]`` by the exponential mechanism over order statistics (Smith 2011).
* :func:`gaussian_counts` / :func:`gaussian_threshold` – the Gaussian mechanism and the
  partition-selection threshold that the model families use: a Gaussian release is one step of
  sampling rate 1 for the same accountant as DP-SGD (:func:`gaussian_release`), so the
  preprocessing and the training compose in one RDP/PRV ledger rather than by adding ε's.

The Laplace functions are pure ε-DP and compose by basic composition (their ε's add up); the
model families no longer use them, because many releases of one table compose far more tightly
as Gaussian releases inside the accountant (see ``docs/privacy.md``, "One ledger").
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = [
    "Release",
    "dp_bounds",
    "dp_histogram",
    "dp_quantile",
    "frequencies_from_counts",
    "gaussian_counts",
    "gaussian_release",
    "gaussian_threshold",
    "histogram_threshold",
    "noisy_counts",
    "noisy_frequencies",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Release(Generic[T]):
    """A differentially private release: ``value`` cost ``(epsilon, delta)``.

    Attributes
    ----------
    value : object
        What may be published.
    epsilon, delta : float
        Privacy spent under add/remove-one-record neighbours.
    mechanism : str
        Short description, for reports.
    """

    value: T
    epsilon: float
    delta: float
    mechanism: str
    noise_multiplier: float | None = None

    @property
    def cost(self) -> tuple[float, float]:
        """``(epsilon, delta)`` composed by basic composition (for a Gaussian release: 0 and the
        additive δ of its threshold; its noise is composed by the accountant)."""
        return self.epsilon, self.delta

    @property
    def accountant_entry(self) -> tuple[float, float, int] | None:
        """``(noise_multiplier, 1.0, 1)`` for the accountant's history, None if not Gaussian."""
        if self.noise_multiplier is None:
            return None
        return float(self.noise_multiplier), 1.0, 1


def _check_epsilon(epsilon: float) -> float:
    if not (isinstance(epsilon, (int, float, np.floating)) and 0 < epsilon < math.inf):
        raise ValueError(f"epsilon must be a positive finite number, got {epsilon!r}.")
    return float(epsilon)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}."
        )
    return rng


def noisy_counts(counts: Sequence[float], epsilon: float, rng: np.random.Generator) -> Release:
    """Counts of disjoint bins plus Laplace noise of scale ``1/ε``: ε-DP.

    Each record falls in one bin, so adding or removing it changes one count by one (L1
    sensitivity 1) and Laplace(1/ε) on every count is ε-DP (Dwork et al. 2006).

    Parameters
    ----------
    counts : sequence of float
        True counts, shape ``(bins,)``.
    epsilon : float
        Privacy parameter.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    Release
        ``value`` is a float array of shape ``(bins,)`` (noisy counts, possibly negative).
    """
    epsilon = _check_epsilon(epsilon)
    counts = np.asarray(counts, dtype=float)  # (bins,)
    noise = _check_rng(rng).laplace(0.0, 1.0 / epsilon, size=counts.shape)
    return Release(counts + noise, epsilon, 0.0, f"Laplace counts (scale 1/ε = {1 / epsilon:.3g})")


def histogram_threshold(epsilon: float, delta: float) -> float:
    """Noisy-count threshold ``τ = 1 + ln(1/(2δ))/ε`` for releasing non-public categories.

    A category held by a single record has noisy count ``1 + Laplace(1/ε)``, which exceeds τ with
    probability ``½ exp(−ε(τ − 1)) = δ``: its very existence leaks with probability at most δ
    (stability-based histogram; Korolova et al. 2009, Bun et al. 2016).
    """
    epsilon = _check_epsilon(epsilon)
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1) to threshold categories, got {delta!r}.")
    return 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon


def dp_histogram(
    values: Iterable[Hashable],
    epsilon: float,
    rng: np.random.Generator,
    *,
    categories: Sequence[Hashable] | None = None,
    delta: float = 0.0,
) -> Release:
    """Noisy category counts of one column: ε-DP, or (ε, δ)-DP when naming unseen categories.

    Parameters
    ----------
    values : iterable of hashable
        The column, one value per record (map missing values to a category first).
    epsilon : float
        Privacy parameter of the Laplace noise; ``rng`` is its source.
    categories : sequence, optional
        Public category list (metadata, not read from the data); all are released.
    delta : float, default 0.0
        With ``delta > 0`` categories outside ``categories`` are released when their noisy
        count exceeds :func:`histogram_threshold`; with 0 they are dropped.

    Returns
    -------
    Release
        ``value`` maps category to noisy count: public ones in order, then extras sorted.
    """
    public = list(categories or [])
    _check_histogram_args(public, delta)
    observed, known = _count(values), set(public)  # category -> true count
    extra = sorted((c for c in observed if c not in known), key=repr) if delta > 0 else []
    noisy = noisy_counts([observed.get(c, 0) for c in public + extra], epsilon, rng).value
    released = {c: float(n) for c, n in zip(public, noisy[: len(public)], strict=True)}
    if delta > 0:  # non-public categories: only those above the threshold are named
        tau = histogram_threshold(epsilon, delta)
        named = zip(extra, noisy[len(public) :], strict=True)
        released |= {c: float(n) for c, n in named if n > tau}
    # δ is charged whenever asked for, never only when extras exist: that would reveal them.
    return Release(released, float(epsilon), max(float(delta), 0.0), "thresholded histogram")


def _check_histogram_args(public: list[Hashable], delta: float) -> None:
    if not public and not delta > 0:
        raise ValueError(
            "dp_histogram needs a public category list (categories=...) or delta > 0: naming "
            "categories read from the data reveals them unless they pass a noisy threshold."
        )
    if not 0 <= delta < 1:
        raise ValueError(f"delta must lie in [0, 1), got {delta!r}.")


def _count(values: Iterable[Hashable]) -> dict[Hashable, int]:
    counts: dict[Hashable, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def frequencies_from_counts(noisy: Mapping[Hashable, float] | Sequence[float]) -> np.ndarray:
    """Probabilities from noisy counts: clamp at zero, renormalise; uniform if all are zero.

    Pure post-processing of a DP release, so it costs no privacy.
    """
    counts = np.asarray(list(noisy.values()) if isinstance(noisy, Mapping) else noisy, float)
    clamped = np.clip(counts, 0.0, None)  # (categories,)
    total = clamped.sum()
    if not total > 0:
        return np.full(len(clamped), 1.0 / max(len(clamped), 1))
    return clamped / total


def noisy_frequencies(
    values: Iterable[Hashable],
    categories: Sequence[Hashable],
    epsilon: float,
    rng: np.random.Generator,
) -> Release:
    """ε-DP category frequencies over a public category list, for training-by-sampling.

    Returns
    -------
    Release
        ``value`` is a probability array of shape ``(len(categories),)`` in the given order.
        The list may come from a previous DP release (reusing it is free post-processing).
    """
    if not categories:
        raise ValueError("noisy_frequencies needs a non-empty public category list.")
    counts = dp_histogram(values, epsilon, rng, categories=categories)
    frequencies = frequencies_from_counts(counts.value)
    return Release(frequencies, counts.epsilon, 0.0, "Laplace frequencies")


def dp_quantile(
    values: Sequence[float],
    quantile: float,
    lower: float,
    upper: float,
    epsilon: float,
    rng: np.random.Generator,
) -> Release:
    """ε-DP quantile inside the public range ``[lower, upper]`` (exponential mechanism).

    Smith (2011): sort the clamped values ``x_(1) <= ... <= x_(n)`` and set ``z_0 = lower``,
    ``z_(n+1) = upper``. Every point of the gap ``[z_k, z_(k+1)]`` has rank k, with utility
    ``u_k = −|k − q·n|``; adding or removing a record moves ``k − q·n`` by at most
    ``max(q, 1 − q) <= 1``. Draw a gap with probability ``∝ (z_(k+1) − z_k) · exp(ε u_k / 2)``,
    then a point uniformly inside it. NaNs are dropped.

    Returns
    -------
    Release
        ``value`` is a float in ``[lower, upper]``.
    """
    epsilon = _check_epsilon(epsilon)
    _check_range(lower, upper)
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must lie in [0, 1], got {quantile!r}.")
    x = np.asarray(values, dtype=float)
    x = np.sort(np.clip(x[~np.isnan(x)], lower, upper))  # (n,)
    z = np.concatenate([[lower], x, [upper]])  # (n + 2,) gap edges
    ranks = np.arange(len(x) + 1)  # rank k of gap [z_k, z_(k+1)]
    with np.errstate(divide="ignore"):
        log_weight = np.log(np.diff(z)) - 0.5 * epsilon * np.abs(ranks - quantile * len(x))
    # Gumbel-max trick: argmax(log w + Gumbel) is a draw proportional to w, stable in log space.
    k = int(np.argmax(log_weight + _check_rng(rng).gumbel(size=log_weight.shape)))
    point = float(rng.uniform(z[k], z[k + 1]))
    return Release(point, epsilon, 0.0, f"exponential-mechanism {quantile:g}-quantile")


def _check_range(lower: float, upper: float) -> None:
    if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
        raise ValueError(
            f"The public range must satisfy lower < upper, both finite, got [{lower!r}, "
            f"{upper!r}]; give the column's possible range as metadata (not from the data)."
        )


def dp_bounds(
    values: Sequence[float],
    lower: float,
    upper: float,
    epsilon: float,
    rng: np.random.Generator,
    *,
    tail: float = 0.01,
) -> Release:
    """ε-DP estimate of a numeric column's range inside the public range ``[lower, upper]``.

    The ``tail`` and ``1 − tail`` quantiles, each with ε/2 (:func:`dp_quantile`; basic
    composition). A small positive tail makes the estimate robust to outliers; values beyond the
    bounds are to be clipped by the caller. The pair is sorted (free post-processing).

    Returns
    -------
    Release
        ``value`` is ``(low, high)`` with ``lower <= low <= high <= upper``.
    """
    epsilon = _check_epsilon(epsilon)
    if not 0.0 <= tail < 0.5:
        raise ValueError(f"tail must lie in [0, 0.5), got {tail!r}.")
    low = dp_quantile(values, tail, lower, upper, epsilon / 2, rng).value
    high = dp_quantile(values, 1.0 - tail, lower, upper, epsilon / 2, rng).value
    return Release((min(low, high), max(low, high)), epsilon, 0.0, "exponential-mechanism bounds")


# ---------------------------------------------------------------------------------------------
# the Gaussian mechanism, composed by the accountant
# ---------------------------------------------------------------------------------------------
def gaussian_release(
    value: T, noise_multiplier: float, *, threshold_delta: float = 0.0, mechanism: str
) -> Release[T]:
    """A Gaussian-mechanism release for the ledger.

    ``noise_multiplier`` is the noise standard deviation divided by the L2 sensitivity of the
    whole released vector: the release is then one step of sampling rate 1 of the subsampled
    Gaussian mechanism that Opacus' accountants analyse (RDP ``α / (2 z²)``; PRV: the exact
    Gaussian privacy loss), and composes with DP-SGD's steps in the same accountant.
    ``threshold_delta`` is the additive δ of a partition-selection threshold (the chance that a
    category held by one record is named), added to the ledger's δ as is.
    """
    if not (isinstance(noise_multiplier, (int, float)) and 0 < noise_multiplier < math.inf):
        raise ValueError(f"noise_multiplier must be positive and finite, got {noise_multiplier!r}.")
    if not 0 <= threshold_delta < 1:
        raise ValueError(f"threshold_delta must lie in [0, 1), got {threshold_delta!r}.")
    return Release(value, 0.0, float(threshold_delta), mechanism, float(noise_multiplier))


def gaussian_counts(counts: Sequence[float], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``counts`` plus independent N(0, σ²) noise (the released vector, shape ``(bins,)``).

    What this costs depends on the L2 sensitivity of all the counts released together: one
    record adds one to one bin of each of ``k`` histograms, so a vector of ``k`` histograms has
    sensitivity ``√k`` and noise multiplier ``σ / √k`` (:func:`gaussian_release`).
    """
    if not (isinstance(sigma, (int, float, np.floating)) and 0 < sigma < math.inf):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}.")
    counts = np.asarray(counts, dtype=float)
    return counts + _check_rng(rng).normal(0.0, float(sigma), size=counts.shape)


def gaussian_threshold(sigma: float, delta: float, columns: int = 1) -> float:
    """Threshold τ above which a noisy count may name a category read from the data.

    A category that only one record holds has count 1; it is named when ``1 + N(0, σ²) > τ``.
    One record holds one category in each of ``columns`` histograms, so the chance that any of
    its own categories is named is at most ``columns · P(N(0, 1) > (τ − 1)/σ)``; τ makes that
    ``delta`` (Gaussian partition selection: Korolova et al. 2009, Gopi et al. 2020; the union
    bound over columns). That chance is an additive δ of the release; categories held by
    both neighbours are covered by the Gaussian mechanism itself.
    """
    from scipy.special import ndtri

    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1) to threshold categories, got {delta!r}.")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive integer, got {columns!r}.")
    return 1.0 - float(sigma) * float(ndtri(delta / columns))  # upper tail, accurate for small δ
