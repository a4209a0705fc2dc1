"""Privacy accounting: accountants, noise calibration, composition and the spent-budget report.

Neighbouring datasets differ by adding or removing one record, the notion under which Opacus'
accountants analyse Poisson-subsampled Gaussian steps; the preprocessing mechanisms of
:mod:`synthgan.privacy.mechanisms` use the same notion.

Composition is *basic sequential composition* (Dwork & Roth 2014, Theorem 3.16): running
mechanisms that are (ε_i, δ_i)-DP on the same data is (Σ ε_i, Σ δ_i)-DP. It holds for pure
(δ_i = 0) and approximate mechanisms alike, adaptively chosen or not. DP-SGD is composed over its
steps by the accountant (RDP or PRV, much tighter than basic composition), then once more with the
preprocessing releases by basic composition: DP-SGD receives ``δ − Σ δ_pre`` and its ε at that δ
is added to ``Σ ε_pre``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from synthgan.exceptions import PrivacyBudgetError

if TYPE_CHECKING:  # opacus is imported lazily: importing PrivacyConfig stays cheap
    from opacus.accountants import IAccountant

__all__ = [
    "DP_SGD_KEY",
    "MAX_NOISE_MULTIPLIER",
    "DPSGDSummary",
    "PrivacySpent",
    "accountant_state",
    "available_accountants",
    "compose_privacy",
    "create_accountant",
    "epsilon_after",
    "max_steps_within_budget",
    "plan_dp_sgd",
    "register_accountant",
    "restore_accountant",
]

DP_SGD_KEY = "DP-SGD"
# Above this noise multiplier the noise on the summed gradient (σ·C) dwarfs any realistic
# clipped signal; a budget that needs more is treated as unreachable for the planned training.
MAX_NOISE_MULTIPLIER = 100.0

_BUDGET_ADVICE = (
    "Train fewer epochs, use a smaller batch (lower q), use more records, or raise target_epsilon."
)
AccountantFactory = Callable[[], "IAccountant"]
_ACCOUNTANTS: dict[str, AccountantFactory] = {}


def register_accountant(name: str, factory: AccountantFactory) -> None:
    """Register a factory of Opacus-style accountants (``history``, ``step``, ``get_epsilon``)."""
    _ACCOUNTANTS[name] = factory


def available_accountants() -> list[str]:
    """Names accepted by :func:`create_accountant`."""
    return sorted(_ACCOUNTANTS)


def create_accountant(name: str) -> IAccountant:
    """A fresh accountant ``name`` with an empty history; the error lists the valid names."""
    try:
        return _ACCOUNTANTS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown accountant {name!r}; choose one of {available_accountants()} or register "
            "your own with synthgan.privacy.accounting.register_accountant."
        ) from None


def _rdp_accountant() -> IAccountant:
    # Rényi DP (Mironov 2017; Mironov, Talwar & Zhang 2019).
    from opacus.accountants import RDPAccountant

    return RDPAccountant()


def _prv_accountant() -> IAccountant:
    # Numerical composition of privacy loss random variables (Gopi, Lee & Wutschitz 2021).
    from opacus.accountants import PRVAccountant

    return PRVAccountant()


register_accountant("rdp", _rdp_accountant)
register_accountant("prv", _prv_accountant)


def accountant_state(accountant: IAccountant) -> dict[str, Any]:
    """The accountant's state as a JSON-safe dict.

    Opacus accountants keep only ``history``, a list of ``(noise_multiplier, sample_rate,
    steps)`` runs, from which ε is recomputed on demand; that list is the whole state.
    """
    history = [[float(sigma), float(q), int(steps)] for sigma, q, steps in accountant.history]
    return {"mechanism": accountant.mechanism(), "history": history}


def restore_accountant(name: str, state: Mapping[str, Any]) -> IAccountant:
    """Rebuild accountant ``name`` from :func:`accountant_state`'s output (after JSON)."""
    accountant = create_accountant(name)
    if state.get("mechanism") != accountant.mechanism():
        raise ValueError(
            f"Accountant state is for mechanism {state.get('mechanism')!r} but accountant "
            f"{name!r} is {accountant.mechanism()!r}; save and load with the same accountant."
        )
    accountant.history = [_history_entry(entry) for entry in state.get("history", [])]
    return accountant


def _history_entry(entry: Any) -> tuple[float, float, int]:
    # Opacus merges a step into the last run by comparing tuples, so restore tuples.
    ok = isinstance(entry, (list, tuple)) and len(entry) == 3
    if not ok or not isinstance(entry[2], numbers.Integral) or entry[2] < 0:
        raise ValueError(
            f"Accountant history entries must be [noise_multiplier, sample_rate, steps], got "
            f"{entry!r}."
        )
    return float(entry[0]), float(entry[1]), int(entry[2])


def epsilon_after(
    accountant: str, *, noise_multiplier: float, sample_rate: float, steps: int, delta: float
) -> float:
    """ε after ``steps`` Poisson-subsampled Gaussian steps, as accountant ``accountant`` says."""
    if steps == 0:
        return 0.0
    acc = create_accountant(accountant)
    acc.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    return float(acc.get_epsilon(delta=delta))


def _probe(accountant: str, sigma: float, sample_rate: float, steps: int, delta: float) -> float:
    # A search probes far-off σ and step counts, where Opacus warns (RDP: "optimal order is the
    # largest alpha"; PRV: log(0) at q = 1) about bounds that are never reported; silence them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return epsilon_after(
            accountant, noise_multiplier=sigma, sample_rate=sample_rate, steps=steps, delta=delta
        )


def plan_dp_sgd(
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: int,
    accountant: str = "prv",
    *,
    noise_multiplier: float | None = None,
    max_noise_multiplier: float = MAX_NOISE_MULTIPLIER,
    rtol: float = 0.01,
) -> float:
    """The noise multiplier σ for ``steps`` DP-SGD steps to end within (ε, δ).

    Calibration (``noise_multiplier=None``) doubles σ, then bisects, keeping a σ whose ε is at
    most the target (never overshoots) and within ``rtol · target_epsilon`` of it. Raises
    :class:`PrivacyBudgetError`, with the numbers, when σ > ``max_noise_multiplier`` would be
    needed or a fixed ``noise_multiplier`` overspends; ``ValueError`` on bad arguments.
    """
    _check_plan_args(target_epsilon, target_delta, sample_rate, steps, accountant)

    def eps_of(sigma: float) -> float:
        return _probe(accountant, sigma, sample_rate, steps, target_delta)

    if noise_multiplier is not None:
        _check_fixed_noise(
            eps_of, noise_multiplier, target_epsilon, target_delta, sample_rate, steps, accountant
        )
        return float(noise_multiplier)
    low, high, eps_high = _bracket(eps_of, target_epsilon, max_noise_multiplier)
    if high is None:
        budget = f"ε={target_epsilon:g}, δ={target_delta:.3g}"
        raise PrivacyBudgetError(
            f"The budget {budget} cannot be met with sample rate q={sample_rate:.4g} over "
            f"{steps} steps: even noise multiplier {max_noise_multiplier:g} spends "
            f"ε={eps_high:.4g}. {_BUDGET_ADVICE}"
        )
    return _bisect(eps_of, target_epsilon, low, (high, eps_high), rtol)


def _bracket(
    eps_of: Callable[[float], float], target: float, max_sigma: float
) -> tuple[float, float | None, float]:
    # ε(σ) decreases with σ. Double σ from 1 until ε(σ) <= target: cheap, since realistic σ are
    # small and the PRV accountant slows down for large σ. Returns (low, high, ε(high)), with
    # high None (and ε at max_sigma) when even max_sigma is not enough.
    low, high = 0.0, min(1.0, max_sigma)
    while (eps := eps_of(high)) > target:
        if high >= max_sigma:
            return low, None, eps
        low, high = high, min(2.0 * high, max_sigma)
    return low, high, eps


def _bisect(
    eps_of: Callable[[float], float],
    target: float,
    low: float,
    bracket: tuple[float, float],
    rtol: float,
) -> float:
    # Invariant: ε(high) <= target < ε(low) (ε(0) is infinite), so high never overshoots.
    high, eps_high = bracket
    for _ in range(60):
        if target - eps_high <= rtol * target or high - low <= 1e-6 * high:
            break
        middle = 0.5 * (low + high)
        eps_middle = eps_of(middle)
        if eps_middle <= target:
            high, eps_high = middle, eps_middle
        else:
            low = middle
    return high


def _check_fixed_noise(
    eps_of: Callable[[float], float],
    sigma: float,
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    steps: int,
    accountant: str,
) -> None:
    if not (isinstance(sigma, numbers.Real) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"noise_multiplier must be a positive finite number, got {sigma!r}.")
    spent = eps_of(sigma)
    if spent <= target_epsilon:
        return
    allowed = max_steps_within_budget(
        target_epsilon, target_delta, sample_rate, sigma, accountant, upper=steps
    )
    raise PrivacyBudgetError(
        f"With noise_multiplier={sigma:g} and sample rate q={sample_rate:.4g}, the planned "
        f"{steps} steps spend ε={spent:.4g} > target ε={target_epsilon:g} (δ={target_delta:.3g}); "
        f"the budget allows at most {allowed} steps. Train fewer epochs, raise the noise "
        "multiplier, or leave noise_multiplier=None to calibrate it."
    )


def max_steps_within_budget(
    target_epsilon: float,
    target_delta: float,
    sample_rate: float,
    noise_multiplier: float,
    accountant: str = "prv",
    *,
    upper: int,
) -> int:
    """The largest number of steps, at most ``upper``, whose ε stays within ``target_epsilon``."""

    def fits(steps: int) -> bool:
        return (
            _probe(accountant, noise_multiplier, sample_rate, steps, target_delta) <= target_epsilon
        )

    low, high = 0, int(upper)  # invariant: fits(low); ε grows with the number of steps
    if fits(high):
        return high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _check_plan_args(
    epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str
) -> None:
    create_accountant(accountant)  # fail early on an unknown name
    if not (isinstance(epsilon, numbers.Real) and 0 < epsilon < math.inf):
        raise ValueError(f"target_epsilon must be a positive finite number, got {epsilon!r}.")
    if not (isinstance(delta, numbers.Real) and 0 < delta < 1):
        raise ValueError(f"target_delta must lie in (0, 1), got {delta!r}.")
    if not (isinstance(sample_rate, numbers.Real) and 0 < sample_rate <= 1):
        raise ValueError(
            f"sample_rate must lie in (0, 1] (expected batch size / number of records), got "
            f"{sample_rate!r}."
        )
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")


@dataclass(frozen=True)
class DPSGDSummary:
    """What DP-SGD did, for the report: the numbers that determine its ε.

    Attributes
    ----------
    accountant : str
        Accountant name.
    noise_multiplier : float
        σ; the Gaussian noise added to the summed clipped gradients has std ``σ · C``.
    sample_rate : float
        q; each record joins each step's batch independently with probability q.
    steps : int
        Number of DP-SGD steps taken.
    max_grad_norm : float
        C, the per-record L2 clipping norm.
    expected_batch_size : float
        ``q · n``; the noisy sum is divided by it (not by the random batch size).
    """

    accountant: str
    noise_multiplier: float
    sample_rate: float
    steps: int
    max_grad_norm: float
    expected_batch_size: float

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-safe dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DPSGDSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class PrivacySpent:
    """The privacy budget a fitted model spent: ``(epsilon, delta)`` plus where it went.

    Unpacks as a pair: ``epsilon, delta = model.privacy_spent_``.

    Attributes
    ----------
    epsilon, delta : float
        The whole pipeline is (epsilon, delta)-DP (basic composition of the breakdown).
    breakdown : dict of str to (float, float)
        (ε, δ) of every mechanism, e.g. ``{"preprocessing: bounds": (0.1, 0.0), "DP-SGD":
        (2.8, 1e-7)}``; they add up to ``(epsilon, delta)``.
    dp_sgd : DPSGDSummary or None
        DP-SGD's settings, None when no DP-SGD step ran.
    target_epsilon : float or None
        The ε that was asked for, if known.
    notes : tuple of str
        Extra plain-language lines for :meth:`report` (e.g. how δ was chosen).

    Examples
    --------
    >>> spent = PrivacySpent(1.0, 1e-6, {"DP-SGD": (1.0, 1e-6)})
    >>> epsilon, delta = spent
    """

    epsilon: float
    delta: float
    breakdown: Mapping[str, tuple[float, float]]
    dp_sgd: DPSGDSummary | None = None
    target_epsilon: float | None = None
    notes: tuple[str, ...] = field(default=())

    def __iter__(self) -> Iterator[float]:
        yield self.epsilon
        yield self.delta

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (breakdown pairs become two-element lists)."""
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "breakdown": {name: [eps, dlt] for name, (eps, dlt) in self.breakdown.items()},
            "dp_sgd": None if self.dp_sgd is None else self.dp_sgd.to_dict(),
            "target_epsilon": self.target_epsilon,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacySpent:
        """Inverse of :meth:`to_dict`."""
        dp_sgd = data.get("dp_sgd")
        return cls(
            epsilon=float(data["epsilon"]),
            delta=float(data["delta"]),
            breakdown={k: (float(v[0]), float(v[1])) for k, v in data["breakdown"].items()},
            dp_sgd=None if dp_sgd is None else DPSGDSummary.from_dict(dp_sgd),
            target_epsilon=data.get("target_epsilon"),
            notes=tuple(data.get("notes", ())),
        )

    def report(self) -> str:
        """A plain-language, multi-line account of the guarantee and how it was spent."""
        target = "" if self.target_epsilon is None else f" (target ε = {self.target_epsilon:g})"
        lines = [
            f"The model is (ε = {self.epsilon:.4g}, δ = {self.delta:.3g})-differentially private "
            f"for the whole pipeline{target}: adding or removing any one training record changes "
            f"the probability of any outcome by a factor of at most e^{self.epsilon:.3g}, except "
            f"with probability {self.delta:.3g}.",
            "Composition: basic sequential composition, the ε and δ below add up.",
        ]
        width = max((len(name) for name in self.breakdown), default=0)
        lines += [
            f"  - {name:<{width}}  ε = {eps:.4g}, δ = {dlt:.3g}"
            for name, (eps, dlt) in self.breakdown.items()
        ]
        if self.dp_sgd is not None:
            lines += _dp_sgd_lines(self.dp_sgd)
        return "\n".join([*lines, *self.notes])


def _dp_sgd_lines(s: DPSGDSummary) -> list[str]:
    return [
        f"DP-SGD trained the discriminator only (the generator never sees real records), "
        f"{s.steps} steps, accounted with {s.accountant.upper()}:",
        f"  - sampling: every record joined each batch independently with probability "
        f"q = {s.sample_rate:.4g} (Poisson sampling, {s.expected_batch_size:.1f} expected)",
        f"  - clipping: each record's gradient clipped to L2 norm C = {s.max_grad_norm:g}",
        f"  - noise: Gaussian with standard deviation σ·C = {s.noise_multiplier:.4g} × "
        f"{s.max_grad_norm:g} on the summed gradient (noise multiplier σ = "
        f"{s.noise_multiplier:.4g})",
    ]


def compose_privacy(
    preprocessing: Mapping[str, tuple[float, float]],
    *,
    delta: float,
    accountant: IAccountant | None = None,
    dp_sgd: DPSGDSummary | None = None,
    target_epsilon: float | None = None,
    notes: tuple[str, ...] = (),
) -> PrivacySpent:
    """Compose preprocessing releases with DP-SGD into one :class:`PrivacySpent`.

    Parameters
    ----------
    preprocessing : mapping of str to (float, float)
        (ε, δ) of every preprocessing release, by name.
    delta : float
        Total δ of the pipeline; DP-SGD's ε is computed at ``delta − Σ δ_pre``.
    accountant : IAccountant or None
        DP-SGD's accountant; None or an empty history means no DP-SGD step ran.
    dp_sgd, target_epsilon, notes : passed through to :class:`PrivacySpent`.
    """
    breakdown = {name: (float(eps), float(dlt)) for name, (eps, dlt) in preprocessing.items()}
    pre_delta = sum(dlt for _, dlt in breakdown.values())
    if accountant is not None and accountant.history:
        sgd_delta = delta - pre_delta
        if not sgd_delta > 0:
            raise PrivacyBudgetError(
                f"Preprocessing spent δ={pre_delta:.3g}, all of the total δ={delta:.3g}; "
                "DP-SGD needs some δ left. Raise target_delta or spend less δ on preprocessing."
            )
        breakdown[DP_SGD_KEY] = (float(accountant.get_epsilon(delta=sgd_delta)), sgd_delta)
    return PrivacySpent(
        epsilon=sum(eps for eps, _ in breakdown.values()),
        delta=sum(dlt for _, dlt in breakdown.values()),
        breakdown=breakdown,
        dp_sgd=dp_sgd,
        target_epsilon=target_epsilon,
        notes=tuple(notes),
    )
