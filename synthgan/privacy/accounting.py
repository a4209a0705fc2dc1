"""Privacy accounting: accountants, noise calibration, composition and the spent-budget report.

Neighbouring datasets differ by adding or removing one record, the notion under which Opacus'
accountants analyse Poisson-subsampled Gaussian steps; the preprocessing mechanisms of
:mod:`synthgan.privacy.mechanisms` use the same notion.

**One ledger.** Every Gaussian release of the preprocessing (a vector of noisy counts with a
known L2 sensitivity) is one step of sampling rate 1 for the accountant, and DP-SGD's steps are
the rest of the same accountant's history: ε is computed once, for the whole history, at the
δ left after the partition-selection thresholds' additive δ (:func:`compose_privacy`). The
noise of DP-SGD is calibrated with the preprocessing already in the history
(:func:`plan_dp_sgd` ``prior=``), so the total lands on the target. Pure ε-DP releases (the
Laplace functions, kept for callers of :mod:`~synthgan.privacy.mechanisms`) are added by basic
sequential composition (Dwork & Roth 2014, Theorem 3.16).
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    "gaussian_budget_multiplier",
    "history_epsilon",
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


HistoryEntry = tuple[float, float, int]  # (noise multiplier, sample rate, steps)


def epsilon_after(
    accountant: str,
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    prior: Sequence[HistoryEntry] = (),
) -> float:
    """ε after ``prior`` and then ``steps`` Poisson-subsampled Gaussian steps (``accountant``)."""
    history = [_history_entry(entry) for entry in prior]
    if steps:
        history.append((float(noise_multiplier), float(sample_rate), int(steps)))
    return history_epsilon(accountant, history, delta)


def history_epsilon(accountant: str, history: Sequence[HistoryEntry], delta: float) -> float:
    """ε at ``delta`` of an accountant history (0 for an empty one)."""
    history = [entry for entry in history if entry[2] > 0]
    if not history:
        return 0.0
    acc = create_accountant(accountant)
    acc.history = [_history_entry(entry) for entry in history]
    with warnings.catch_warnings():
        # Opacus' PRV accountant takes log(0) at q = 1 (a Gaussian release) in a branch whose
        # result it discards; the figure is right.
        warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)
        warnings.filterwarnings("ignore", "Optimal order is the largest alpha", UserWarning)
        return float(acc.get_epsilon(delta=delta))


@functools.lru_cache(maxsize=64)
def gaussian_budget_multiplier(epsilon: float, delta: float, accountant: str = "prv") -> float:
    """The noise multiplier z of one Gaussian release that, alone, spends (ε, δ).

    A preprocessing share s of the budget is then the release with multiplier ``z / √s``:
    Gaussian releases compose exactly (their ``1/z²`` add up), so the share is a share of the
    budget's ``1/z²``, whatever else the ledger holds. Cached: a fit asks for it several times.
    """
    return plan_dp_sgd(epsilon, delta, 1.0, 1, accountant, rtol=0.001, max_noise_multiplier=1e5)


def _probe(
    accountant: str,
    sigma: float,
    sample_rate: float,
    steps: int,
    delta: float,
    prior: Sequence[HistoryEntry] = (),
) -> float:
    # A search probes far-off σ and step counts, where Opacus warns (RDP: "optimal order is the
    # largest alpha"; PRV: log(0) at q = 1) about bounds that are never reported; silence them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return epsilon_after(
            accountant, noise_multiplier=sigma, sample_rate=sample_rate, steps=steps,
            delta=delta, prior=prior,
        )  # fmt: skip


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
    prior: Sequence[HistoryEntry] = (),
) -> float:
    """The noise multiplier σ for ``steps`` DP-SGD steps to end within (ε, δ).

    ``prior`` is what the ledger holds before DP-SGD (the preprocessing's Gaussian releases,
    ``(z, 1.0, 1)`` each): σ is calibrated for the composition of both.

    Calibration (``noise_multiplier=None``) doubles σ, then bisects, keeping a σ whose ε is at
    most the target (never overshoots) and within ``rtol · target_epsilon`` of it. Raises
    :class:`PrivacyBudgetError`, with the numbers, when σ > ``max_noise_multiplier`` would be
    needed or a fixed ``noise_multiplier`` overspends; ``ValueError`` on bad arguments.
    """
    _check_plan_args(target_epsilon, target_delta, sample_rate, steps, accountant)

    def eps_of(sigma: float) -> float:
        return _probe(accountant, sigma, sample_rate, steps, target_delta, prior)

    if noise_multiplier is not None:
        _check_fixed_noise(
            eps_of, noise_multiplier, target_epsilon, target_delta, sample_rate, steps, accountant,
            prior,
        )  # fmt: skip
        return float(noise_multiplier)
    low, high, eps_high = _bracket(eps_of, target_epsilon, max_noise_multiplier)
    if high is None:
        budget = f"ε={target_epsilon:g}, δ={target_delta:.3g}"
        before = ""
        if prior:
            alone = _probe(accountant, 1.0, 1.0, 0, target_delta, prior)
            before = f" after the preprocessing releases (ε={alone:.4g} alone)"
        raise PrivacyBudgetError(
            f"The budget {budget} cannot be met with sample rate q={sample_rate:.4g} over "
            f"{steps} steps{before}: even noise multiplier {max_noise_multiplier:g} spends "
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
    prior: Sequence[HistoryEntry] = (),
) -> None:
    if not (isinstance(sigma, numbers.Real) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"noise_multiplier must be a positive finite number, got {sigma!r}.")
    spent = eps_of(sigma)
    if spent <= target_epsilon:
        return
    allowed = max_steps_within_budget(
        target_epsilon, target_delta, sample_rate, sigma, accountant, upper=steps, prior=prior
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
    prior: Sequence[HistoryEntry] = (),
) -> int:
    """The largest number of steps, at most ``upper``, whose ε stays within ``target_epsilon``."""

    def fits(steps: int) -> bool:
        spent = _probe(accountant, noise_multiplier, sample_rate, steps, target_delta, prior)
        return spent <= target_epsilon

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
        The whole pipeline is (epsilon, delta)-DP.
    breakdown : dict of str to (float, float)
        (ε, δ) of every mechanism, e.g. ``{"preprocessing: column statistics": (0.41, 2e-8),
        "DP-SGD": (2.8, 2e-7)}``. With ``composition="accountant"`` each ε is what that
        mechanism would spend *alone*: composed in one accountant they cost less than their
        sum, and ``epsilon`` is the composed figure. With ``"basic"`` they add up.
    dp_sgd : DPSGDSummary or None
        DP-SGD's settings, None when no DP-SGD step ran.
    target_epsilon : float or None
        The ε that was asked for, if known.
    notes : tuple of str
        Extra plain-language lines for :meth:`report` (e.g. how δ was chosen).
    composition : {"accountant", "basic"}
        How the breakdown was composed (models saved before the one ledger say "basic").
    accountant : str or None
        The accountant that composed the ledger.
    ledger : tuple of (str, float, float, int)
        The accountant's whole history, ``(mechanism, noise multiplier, sample rate, steps)``
        per entry, and ``ledger_delta``, the δ its ε was computed at: enough to recompute
        ``epsilon`` independently with any implementation of the accountant.

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
    composition: str = "basic"
    accountant: str | None = None
    ledger: tuple[tuple[str, float, float, int], ...] = ()
    ledger_delta: float | None = None

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
            "composition": self.composition,
            "accountant": self.accountant,
            "ledger": [list(entry) for entry in self.ledger],
            "ledger_delta": self.ledger_delta,
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
            composition=data.get("composition", "basic"),
            accountant=data.get("accountant"),
            ledger=tuple(
                (str(n), float(z), float(q), int(t)) for n, z, q, t in data.get("ledger", ())
            ),
            ledger_delta=data.get("ledger_delta"),
        )

    def report(self) -> str:
        """A plain-language, multi-line account of the guarantee and how it was spent."""
        target = "" if self.target_epsilon is None else f" (target ε = {self.target_epsilon:g})"
        lines = [
            f"The model is (ε = {self.epsilon:.4g}, δ = {self.delta:.3g})-differentially private "
            f"for the whole pipeline{target}: adding or removing any one training record changes "
            f"the probability of any outcome by a factor of at most e^{self.epsilon:.3g}, except "
            f"with probability {self.delta:.3g}.",
            self._composition_line(),
        ]
        width = max((len(name) for name in self.breakdown), default=0)
        lines += [
            f"  - {name:<{width}}  ε = {eps:.4g}, δ = {dlt:.3g}"
            for name, (eps, dlt) in self.breakdown.items()
        ]
        if self.dp_sgd is not None:
            lines += _dp_sgd_lines(self.dp_sgd)
        return "\n".join([*lines, *self.notes])

    def _composition_line(self) -> str:
        if self.composition != "accountant":
            return "Composition: basic sequential composition, the ε and δ below add up."
        name = (self.accountant or "the").upper()
        return (
            f"Composition: every Gaussian release and every DP-SGD step in one {name} "
            "accountant; each line's ε is what that mechanism would spend alone (they do not "
            "add up: the total above is the composed figure), each line's δ adds up to the total."
        )


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
    releases: Mapping[str, Any],
    *,
    delta: float,
    accountant: IAccountant | None = None,
    accountant_name: str | None = None,
    dp_sgd: DPSGDSummary | None = None,
    target_epsilon: float | None = None,
    notes: tuple[str, ...] = (),
) -> PrivacySpent:
    """Compose the preprocessing releases with DP-SGD into one :class:`PrivacySpent`.

    Parameters
    ----------
    releases : mapping of str to Release or (float, float)
        Every preprocessing release by name: a :class:`~synthgan.privacy.mechanisms.Release`
        (Gaussian ones carry a noise multiplier and go into the accountant; their ``delta`` is
        the additive δ of a threshold) or a pure ``(ε, δ)`` pair (basic composition).
    delta : float
        Total δ of the pipeline: the accountant's ε is computed at ``delta − Σ δ_additive``.
    accountant : IAccountant or None
        DP-SGD's accountant; None or an empty history means no DP-SGD step ran.
    accountant_name : str or None
        The registry name of the accountant that composes everything; needed when some
        release is Gaussian or ``accountant`` is given.
    dp_sgd, target_epsilon, notes : passed through to :class:`PrivacySpent`.
    """
    entries, pure = _split_releases(releases)
    sgd_history = list(accountant.history) if accountant is not None else []
    additive = sum(dlt for _, dlt in pure.values())
    if not entries and not sgd_history:
        breakdown = dict(pure)
        return PrivacySpent(
            epsilon=sum(eps for eps, _ in breakdown.values()), delta=additive,
            breakdown=breakdown, dp_sgd=dp_sgd, target_epsilon=target_epsilon, notes=notes,
        )  # fmt: skip
    if accountant_name is None:
        raise ValueError("compose_privacy needs accountant_name to compose Gaussian releases.")
    ledger_delta = delta - additive
    if not ledger_delta > 0:
        raise PrivacyBudgetError(
            f"The thresholds and pure releases spent δ={additive:.3g}, all of the total "
            f"δ={delta:.3g}; the accountant needs some δ left. Raise target_delta."
        )
    breakdown = _standalone(accountant_name, entries, sgd_history, pure, ledger_delta)
    history = [entry for entry, _ in entries.values()] + sgd_history
    composed = history_epsilon(accountant_name, history, ledger_delta)
    ledger = [(name, *entry) for name, (entry, _) in entries.items()]
    ledger += [(DP_SGD_KEY, float(z), float(q), int(t)) for z, q, t in sgd_history]
    return PrivacySpent(
        epsilon=composed + sum(eps for eps, _ in pure.values()),
        delta=ledger_delta + additive,
        breakdown=breakdown,
        dp_sgd=dp_sgd,
        target_epsilon=target_epsilon,
        notes=tuple(notes),
        composition="accountant",
        accountant=accountant_name,
        ledger=tuple(ledger),
        ledger_delta=ledger_delta,
    )


def _split_releases(
    releases: Mapping[str, Any],
) -> tuple[dict[str, tuple[HistoryEntry, float]], dict[str, tuple[float, float]]]:
    """Gaussian releases ``{name: (history entry, additive δ)}`` and pure ones ``{name: (ε, δ)}``;
    a Gaussian release's additive δ also counts in the pure part (it adds up like δ's do)."""
    entries, pure = {}, {}
    for name, release in releases.items():
        entry = getattr(release, "accountant_entry", None)
        eps, dlt = release.cost if hasattr(release, "cost") else release
        if entry is not None:
            entries[name] = (entry, float(dlt))
            if eps:
                raise ValueError(f"Release {name!r} has both a noise multiplier and a pure ε.")
        pure[name] = (float(eps), float(dlt))
    return entries, pure


def _standalone(
    accountant_name: str,
    entries: Mapping[str, tuple[HistoryEntry, float]],
    sgd_history: list,
    pure: Mapping[str, tuple[float, float]],
    ledger_delta: float,
) -> dict[str, tuple[float, float]]:
    # Each Gaussian release alone at the ledger's δ, with its threshold's δ as its own δ.
    breakdown = {}
    for name, (eps, dlt) in pure.items():
        if name in entries:
            entry, _ = entries[name]
            eps = history_epsilon(accountant_name, [entry], ledger_delta)
        breakdown[name] = (eps, dlt)
    if sgd_history:
        sgd_eps = history_epsilon(accountant_name, sgd_history, ledger_delta)
        breakdown[DP_SGD_KEY] = (sgd_eps, ledger_delta)
    return breakdown
