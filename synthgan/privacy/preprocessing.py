"""The preprocessing's Gaussian release, planned from public facts before any statistic is read.

A model family declares what it must release (how many histograms, how many of them name
categories read from the data, how many value bins a range histogram has) and
:func:`plan_gaussian_release` fixes the noise before training is planned:

* every histogram is released in **one** Gaussian release: one record adds one to one bin of
  each of the ``k`` histograms, so the vector of all counts has L2 sensitivity ``√k``, and noise
  of standard deviation ``σ = z·√k`` on every count is the Gaussian mechanism with noise
  multiplier ``z`` (not ``k`` releases, each with its own share);
* ``z`` comes from the share of the budget (:meth:`ResolvedPrivacy.preprocessing_multiplier`),
  given or sized by need (``"auto"``, :func:`auto_share`);
* categories read from the data are named only above the threshold of
  :func:`~synthgan.privacy.mechanisms.gaussian_threshold`, with a tenth of δ as its additive δ;
* the release is one step of sampling rate 1 in the accountant that also composes DP-SGD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy.config import AUTO_SHARE_RANGE, ResolvedPrivacy
from synthgan.privacy.mechanisms import Release, gaussian_release, gaussian_threshold

__all__ = ["BIN_FALSE_RATE", "GaussianPlan", "auto_share", "plan_gaussian_release"]

BIN_FALSE_RATE = 0.01  # chance that an empty bin of a public grid passes its threshold, per column
AUTO_TARGET_SHARE = 0.01  # "auto": a category or bin holding 1 % of the records passes
AUTO_COUNT_NOISE = 0.002  # "auto", public lists only: noise std at most 0.2 % of the records


@dataclass(frozen=True)
class GaussianPlan:
    """One planned Gaussian release of ``histograms`` histograms (see the module docstring).

    Attributes
    ----------
    name : str
        The release's name in ``privacy_spent_.breakdown``.
    share : float
        The share of the budget's ``1/z²`` it takes.
    auto : bool
        Whether the share was sized by :func:`auto_share`.
    noise_multiplier : float
        z: the noise std divided by the L2 sensitivity ``√histograms``.
    histograms : int
        Histograms released together (one count per record in each).
    threshold_delta : float
        Additive δ of the category threshold (0 when every list is public).
    secret_columns : int
        Histograms whose categories are read from the data.
    n_records : int
        Records (public, as for DP-SGD's sampling rate).
    fraction : float
        The part of the preprocessing's share this release takes (when a family makes several).
    """

    name: str
    share: float
    auto: bool
    noise_multiplier: float
    histograms: int
    threshold_delta: float
    secret_columns: int
    n_records: int
    fraction: float = 1.0

    @property
    def sigma(self) -> float:
        """Standard deviation of the noise on every count."""
        return self.noise_multiplier * math.sqrt(self.histograms)

    @property
    def category_threshold(self) -> float | None:
        """τ above which a category read from the data is named (None: all lists public)."""
        if not self.secret_columns:
            return None
        return gaussian_threshold(self.sigma, self.threshold_delta, self.secret_columns)

    def bin_threshold(self, bins: int) -> float:
        """τ above which a bin of a public grid of ``bins`` bins counts as occupied.

        The grid is public, so this costs nothing; it keeps the chance that any empty bin of a
        column passes at :data:`BIN_FALSE_RATE`.
        """
        from scipy.special import ndtri

        return -self.sigma * float(ndtri(BIN_FALSE_RATE / bins))

    def planned(self) -> dict[str, Release]:
        """``{name: release}`` with no value yet: what DP-SGD is calibrated around."""
        return {self.name: self.release(None)}

    def release(self, value: Any) -> Release:
        """The release of ``value`` (the noisy counts and what was derived from them)."""
        return gaussian_release(
            value, self.noise_multiplier, threshold_delta=self.threshold_delta,
            mechanism=f"Gaussian counts of {self.histograms} histograms (σ = {self.sigma:.3g})",
        )  # fmt: skip

    def describe(self) -> str:
        """One plain-language line for the privacy report."""
        how = "sized by need ('auto')" if self.auto else "as configured"
        part = "" if self.fraction == 1.0 else f"{self.fraction:.0%} of the "
        line = (
            f"{self.name}: {self.histograms} histograms released together by the Gaussian "
            f"mechanism (noise std σ = {self.sigma:.3g} on every count, noise multiplier "
            f"{self.noise_multiplier:.3g}), {part}{self.share:.1%} of the budget ({how})"
        )
        tau = self.category_threshold
        if tau is not None:
            line += (
                f"; categories read from the data are named when their noisy count exceeds "
                f"{tau:.0f} (δ = {self.threshold_delta:.2g} for the threshold)"
            )
        return line + "."


def auto_share(
    resolved: ResolvedPrivacy,
    histograms: int,
    n_records: int,
    secret_columns: int,
    bins: int,
    fraction: float = 1.0,
) -> float:
    """The smallest share in ``AUTO_SHARE_RANGE`` at which the release does its job.

    With categories read from the data (or a value range to find on a grid of ``bins`` bins):
    one holding 1 % of the records passes the threshold. With public lists only: the noise std
    is at most 0.2 % of the records. ``n_records`` is treated as public, as for DP-SGD.
    """
    from scipy.special import ndtri

    thresholds = secret_columns > 0
    z_budget = resolved.budget_multiplier(thresholds)
    target = AUTO_TARGET_SHARE * n_records
    if thresholds:
        delta = resolved.threshold_delta(True) / secret_columns
        sigma = max(target - 1.0, 1e-9) / -float(ndtri(delta))
    elif bins:
        sigma = target / -float(ndtri(BIN_FALSE_RATE / bins))
    else:
        sigma = AUTO_COUNT_NOISE * n_records
    share = (math.sqrt(histograms) * z_budget / sigma) ** 2 / fraction
    low, high = AUTO_SHARE_RANGE
    return float(min(max(share, low), high))


def plan_gaussian_release(
    resolved: ResolvedPrivacy,
    *,
    name: str,
    histograms: int,
    n_records: int,
    secret_columns: int = 0,
    bins: int = 0,
    what: str = "its statistics",
    fraction: float = 1.0,
    share: float | None = None,
    ledger_thresholds: bool | None = None,
) -> GaussianPlan:
    """Plan the release (see the module docstring); ``what`` names it in errors.

    A family that makes several releases plans each with its ``fraction`` of one ``share``
    (the first one sizes it, the others pass it) and the same ``ledger_thresholds`` (whether
    the ledger keeps δ for a category threshold: its δ, hence every z, depends on it).
    """
    auto = resolved.preprocessing_share is None
    if share is None:
        share = resolved.preprocessing_share
        if auto:
            share = auto_share(resolved, histograms, n_records, secret_columns, bins, fraction)
    if not share > 0:
        raise PrivacyBudgetError(
            f"preprocessing_epsilon_share is 0, but DP mode must release {what}. Give a "
            "positive share ('auto', the default, sizes it), or give what is released as "
            "public metadata."
        )
    thresholds = secret_columns > 0 if ledger_thresholds is None else ledger_thresholds
    return GaussianPlan(
        name=name,
        share=float(share),
        auto=auto,
        noise_multiplier=resolved.preprocessing_multiplier(share * fraction, thresholds),
        histograms=int(histograms),
        threshold_delta=resolved.threshold_delta(secret_columns > 0),
        secret_columns=int(secret_columns),
        n_records=int(n_records),
        fraction=float(fraction),
    )
