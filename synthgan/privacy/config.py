"""User-facing privacy settings: :class:`PrivacyConfig` and its resolved form.

A synthesizer receives ``privacy=PrivacyConfig(...)`` (or ``None`` for no differential privacy).
The config only holds hyperparameters; :meth:`PrivacyConfig.validate` checks them against the size
of the training table and returns a :class:`ResolvedPrivacy` with every default filled in and the
budget split between preprocessing and DP-SGD.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

from synthgan.privacy.accounting import available_accountants

__all__ = ["AUTO_SHARE_RANGE", "PrivacyConfig", "ResolvedPrivacy", "default_delta"]

THRESHOLD_DELTA_SHARE = 0.1  # of δ, for partition selection when category lists are not public
AUTO_SHARE_RANGE = (0.02, 0.25)  # what preprocessing_epsilon_share="auto" may choose


def default_delta(n_records: int) -> float:
    """The default δ, ``1 / (n · sqrt(n))``, well below ``1 / n``.

    δ bounds the probability that the guarantee fails outright; a mechanism that publishes one
    random record in the clear is (0, 1/n)-DP, so δ must be far below ``1 / n``. ``n ** -1.5`` is
    ``1/n`` divided by ``sqrt(n)`` (about 180 for the 32,561 Adult rows).
    """
    return float(n_records) ** -1.5


@dataclass(frozen=True)
class ResolvedPrivacy:
    """A :class:`PrivacyConfig` checked against a table of ``n_records`` rows, defaults filled in.

    Attributes
    ----------
    target_epsilon, target_delta : float
        The (ε, δ) the whole pipeline must respect.
    delta_is_default : bool
        True when δ was chosen by :func:`default_delta` rather than given by the user.
    max_grad_norm : float
        Per-record clipping norm of DP-SGD.
    accountant : str
        Name in the accountant registry (:func:`synthgan.privacy.accounting.create_accountant`).
    preprocessing_share : float or None
        The share of the budget the preprocessing's Gaussian releases take (a share of the
        budget's ``1/z²``, see :meth:`preprocessing_multiplier`); None: sized by the model
        family from what it must release and the number of records ("auto").
    noise_multiplier : float or None
        Fixed noise multiplier, or None to calibrate it to the budget.
    n_records : int
        Number of training records the budget was resolved for.
    strict : bool
        Refuse, rather than warn, when DP leaves a column with no released category.
    """

    target_epsilon: float
    target_delta: float
    delta_is_default: bool
    max_grad_norm: float
    accountant: str
    preprocessing_share: float | None
    noise_multiplier: float | None
    n_records: int
    strict: bool = False

    def threshold_delta(self, thresholds: bool) -> float:
        """The additive δ of the partition-selection thresholds: a tenth of δ when some
        category list is read from the data (``thresholds``), else 0."""
        return THRESHOLD_DELTA_SHARE * self.target_delta if thresholds else 0.0

    def ledger_delta(self, thresholds: bool) -> float:
        """The δ at which the accountant composes every Gaussian release and DP-SGD."""
        return self.target_delta - self.threshold_delta(thresholds)

    def budget_multiplier(self, thresholds: bool) -> float:
        """z of one Gaussian release that alone would spend the whole budget."""
        from synthgan.privacy.accounting import gaussian_budget_multiplier

        delta = self.ledger_delta(thresholds)
        return gaussian_budget_multiplier(self.target_epsilon, delta, self.accountant)

    def preprocessing_multiplier(self, share: float, thresholds: bool) -> float:
        """The noise multiplier of the preprocessing's releases for a ``share`` in (0, 1).

        Gaussian releases compose exactly: releases of multipliers ``z_i`` cost what one of
        ``(Σ 1/z_i²)^(-1/2)`` costs. A share ``s`` is the release of ``z / √s``, with ``z`` the
        multiplier that alone spends the budget: it takes ``s`` of the budget's ``1/z²``, and
        DP-SGD is calibrated for the rest (in the same accountant: see
        :func:`~synthgan.privacy.accounting.plan_dp_sgd`, ``prior``).
        """
        if not 0.0 < share < 1.0:
            raise ValueError(f"share must lie in (0, 1), got {share!r}.")
        return self.budget_multiplier(thresholds) / math.sqrt(share)

    def delta_note(self) -> str:
        """One line telling where δ came from, for the plain-language privacy report."""
        if self.delta_is_default:
            return (
                f"δ = {self.target_delta:.3g} was chosen by default as 1/(n·√n) for "
                f"n = {self.n_records} records (well below 1/n = {1 / self.n_records:.3g})."
            )
        return f"δ = {self.target_delta:.3g} was given by the user (n = {self.n_records} records)."


@dataclass(frozen=True)
class PrivacyConfig:
    """Differential privacy for a synthesizer: DP-SGD on the discriminator plus DP preprocessing.

    Only the discriminator sees real records, so only it is trained with DP-SGD (Abadi et al.
    2016) through Opacus: Poisson sampling, per-record gradient clipping and Gaussian noise. The
    generator learns from the discriminator alone, which is post-processing. Statistics read from
    the data outside DP-SGD (column bounds, category lists, category frequencies) are released
    with the mechanisms of :mod:`synthgan.privacy.mechanisms` and charged to the same budget, so
    the reported ``privacy_spent_`` covers the whole pipeline.

    Parameters
    ----------
    target_epsilon : float
        Total ε for the whole pipeline; positive and finite. Common choices lie in 1–10.
        ``float("inf")`` is not differential privacy: pass ``privacy=None`` instead.
    target_delta : float or None, default None
        Total δ. None picks ``1 / (n · sqrt(n))`` for ``n`` training records (see
        :func:`default_delta`); the chosen value is reported. Must lie in ``(0, 1/n)``.
    max_grad_norm : float, default 1.0
        Per-record L2 clipping norm C of DP-SGD. The noise standard deviation is
        ``noise_multiplier · C``; 1.0 suits discriminators whose gradient norms are of order one
        (Opacus' own default).
    accountant : {"prv", "rdp"}, default "prv"
        Privacy accountant. ``"prv"`` (Gopi et al. 2021) gives the tightest ε for Poisson
        subsampled Gaussian steps, hence less noise for the same ε; ``"rdp"`` (Mironov 2017) is
        the classic looser bound. Any name registered with
        :func:`synthgan.privacy.accounting.register_accountant` is accepted.
    preprocessing_epsilon_share : float or "auto", default "auto"
        Share of the budget for the statistics preprocessing releases (category counts and
        lists, value ranges), in ``[0, 1)``. They are released together by the Gaussian
        mechanism and composed with DP-SGD in one accountant; the share is a share of the
        budget's ``1/z²`` (:meth:`ResolvedPrivacy.preprocessing_multiplier`), so 0.1 costs
        DP-SGD about 5 % more noise, not 10 % of ε. ``"auto"`` sizes it from what must be
        released and the number of records: the smallest share in [0.02, 0.25] at which a
        category or value bin holding 1 % of the records passes the threshold (or, with only
        public category lists, at which the counts' noise is at most 0.2 % of the records); the
        fit reports the choice. What is public (metadata) costs nothing; with nothing to
        release the share is 0. With 0 every bound and category list must be public.
    strict : bool, default False
        When no category of a column passes the DP threshold, the column is generated from its
        public type alone (its values all share one slot, generated as missing) with a warning;
        ``strict=True`` raises instead.
    noise_multiplier : float or None, default None
        None calibrates the noise multiplier up front so that the planned number of steps ends
        exactly within the budget. A fixed positive value is used as is, and ``fit`` fails early
        if the planned steps would exceed the budget.

    Examples
    --------
    >>> config = PrivacyConfig(target_epsilon=3.0)
    >>> resolved = config.validate(n_records=10_000)
    >>> resolved.target_delta
    1e-06
    >>> PrivacyConfig.from_dict(config.to_dict()) == config
    True
    """

    target_epsilon: float
    target_delta: float | None = None
    max_grad_norm: float = 1.0
    accountant: str = "prv"
    preprocessing_epsilon_share: float | str = "auto"
    noise_multiplier: float | None = None
    strict: bool = False

    def validate(self, n_records: int) -> ResolvedPrivacy:
        """Check every field against a table of ``n_records`` rows and fill in the defaults.

        Raises
        ------
        ValueError
            A field is out of range; the message names it and the accepted values.
        """
        _check_n_records(n_records)
        epsilon = _check_epsilon(self.target_epsilon)
        delta = self._resolve_delta(n_records)
        _check_positive_finite("max_grad_norm", self.max_grad_norm)
        self._check_accountant()
        share = _check_share(self.preprocessing_epsilon_share)
        if self.noise_multiplier is not None:
            _check_positive_finite("noise_multiplier", self.noise_multiplier)
        if not isinstance(self.strict, bool):
            raise TypeError(f"strict must be True or False, got {self.strict!r}.")
        return ResolvedPrivacy(
            target_epsilon=epsilon,
            target_delta=delta,
            delta_is_default=self.target_delta is None,
            max_grad_norm=float(self.max_grad_norm),
            accountant=self.accountant,
            preprocessing_share=share,
            noise_multiplier=None
            if self.noise_multiplier is None
            else float(self.noise_multiplier),
            n_records=int(n_records),
            strict=self.strict,
        )

    def _resolve_delta(self, n_records: int) -> float:
        if self.target_delta is None:
            return default_delta(n_records)
        delta = _as_float("target_delta", self.target_delta)
        if not 0.0 < delta < 1.0 / n_records:
            raise ValueError(
                f"target_delta must lie in (0, 1/n) = (0, {1 / n_records:.3g}) for n = "
                f"{n_records} records, got {delta!r}: δ ≥ 1/n allows publishing a whole record. "
                "Leave target_delta=None for the default 1/(n·√n)."
            )
        return delta

    def _check_accountant(self) -> None:
        if self.accountant not in available_accountants():
            raise ValueError(
                f"accountant must be one of {available_accountants()}, got {self.accountant!r}; "
                "register others with synthgan.privacy.accounting.register_accountant."
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dict (``json.dumps`` works on it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrivacyConfig:
        """Rebuild a config from :meth:`to_dict`'s output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown PrivacyConfig fields {unknown}; expected a subset of {sorted(known)}."
            )
        if "target_epsilon" not in data:
            raise ValueError("PrivacyConfig data lacks the required field 'target_epsilon'.")
        return cls(**data)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r}).")
    return float(value)


def _check_epsilon(value: Any) -> float:
    epsilon = _as_float("target_epsilon", value)
    if math.isinf(epsilon) and epsilon > 0:
        raise ValueError(
            "target_epsilon=inf is not differential privacy: pass privacy=None to train "
            "without DP, or give a finite target_epsilon (for example 1.0 to 10.0)."
        )
    if not epsilon > 0 or math.isnan(epsilon):
        raise ValueError(f"target_epsilon must be a positive finite number, got {value!r}.")
    return epsilon


def _check_positive_finite(name: str, value: Any) -> float:
    number = _as_float(name, value)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return number


def _check_share(value: Any) -> float | None:
    if value == "auto":
        return None
    if isinstance(value, str):
        raise ValueError(
            f"preprocessing_epsilon_share must be 'auto' or a number in [0, 1), got {value!r}."
        )
    share = _as_float("preprocessing_epsilon_share", value)
    if not 0.0 <= share < 1.0:
        raise ValueError(
            f"preprocessing_epsilon_share must lie in [0, 1), got {value!r}; 0 means every "
            "bound and category list is public metadata, and DP-SGD needs some budget."
        )
    return share


def _check_n_records(n_records: Any) -> None:
    if isinstance(n_records, bool) or not isinstance(n_records, numbers.Integral) or n_records < 1:
        raise ValueError(f"n_records must be a positive integer, got {n_records!r}.")
