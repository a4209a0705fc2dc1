"""DP-SGD for a fit session: the implementation of ``synthgan.core.session.PrivacyWrapper``.

Every family plans its privacy the same way, in this order:

1. :class:`DPSGDTraining` is made from the resolved budget, the number of records, the expected
   batch and the planned discriminator steps, with the releases the family's preprocessing
   *will* make (their noise multipliers and thresholds' δ, planned from public information).
   It calibrates DP-SGD's noise multiplier σ at once for the composition of both in one
   accountant, so an impossible budget fails here, before any statistic of the data is
   released.
2. The family's preprocessing releases what it planned and records each release
   (:meth:`DPSGDTraining.record`); a release that was not planned, or with less noise, is an
   error.
3. The session wraps the network that reads real records (:meth:`wrap`, a
   :class:`~synthgan.privacy.engine.PrivateCritic`), steps it, checkpoints and restores the
   accountant (:meth:`state_dict`), and unwraps it at the end.

In a distributed fit every rank makes this plan and the preprocessing releases alike: each
reads the same data and continues the same numpy stream, so each draws the same noise and
publishes the same statistics, which are one release, charged once (the template fit checks
that every rank holds the same, :meth:`digest`). Each rank's accountant charges the same global
steps at the global rate q, so ε is the one-process figure on every rank.
4. :meth:`spent` composes the releases with DP-SGD into the model's ``privacy_spent_``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from synthgan.core.distributed import Distributed
from synthgan.exceptions import PrivacyBudgetError
from synthgan.privacy.accounting import PrivacySpent, plan_dp_sgd
from synthgan.privacy.config import ResolvedPrivacy
from synthgan.privacy.engine import PrivateCritic
from synthgan.privacy.mechanisms import Release

__all__ = ["DPSGDTraining"]


class DPSGDTraining:
    """The DP-SGD plan and state of one fit (see the module docstring).

    Parameters
    ----------
    resolved : ResolvedPrivacy
        The budget, checked against the number of records.
    n_records : int
        Training records n (rows or images).
    batch_size : int
        Expected real batch ``q · n``.
    steps : int
        Discriminator steps planned (epochs × steps per epoch × discriminator steps).
    preprocessing : mapping of str to Release
        The releases the family's preprocessing will make (``value`` None: planned, not yet
        made), by name; DP-SGD is calibrated for what they leave.
    records : str
        What a record is called in messages ("rows", "images").

    Attributes
    ----------
    sample_rate, noise_multiplier : float
        q and σ, fixed here.
    releases : dict of str to Release
        The preprocessing releases recorded so far.
    critic : PrivateCritic or None
        The wrapped discriminator (after :meth:`wrap`).
    """

    def __init__(self, resolved: ResolvedPrivacy, *, n_records: int, batch_size: int,
                 steps: int, preprocessing: Mapping[str, Release] | None = None,
                 records: str = "records") -> None:  # fmt: skip
        self.resolved, self.n_records, self.steps = resolved, int(n_records), int(steps)
        self.sample_rate = batch_size / n_records
        self.planned = dict(preprocessing or {})
        self.prior = [r.accountant_entry for r in self.planned.values() if r.accountant_entry]
        pure_eps = sum(r.cost[0] for r in self.planned.values())
        additive = sum(r.cost[1] for r in self.planned.values())
        self.epsilon = resolved.target_epsilon - pure_eps
        self.delta = resolved.target_delta - additive
        if not (self.epsilon > 0 and self.delta > 0):
            raise PrivacyBudgetError(
                f"The planned preprocessing spends (ε={pure_eps:.4g}, δ={additive:.3g}) outside "
                f"the accountant, all of the budget (ε={resolved.target_epsilon:g}, "
                f"δ={resolved.target_delta:.3g}); this is a bug in the model family's plan."
            )
        self.noise_multiplier = self._calibrate(batch_size, records)
        self.releases: dict[str, Release] = {}
        self.critic: PrivateCritic | None = None
        self.preprocessing: Any = None  # the family's GaussianPlan, set by the template

    def _calibrate(self, batch_size: int, records: str) -> float:
        try:
            return plan_dp_sgd(
                self.epsilon, self.delta, self.sample_rate, self.steps, self.resolved.accountant,
                noise_multiplier=self.resolved.noise_multiplier, prior=self.prior,
            )  # fmt: skip
        except PrivacyBudgetError as error:
            target = self.resolved.target_epsilon
            share = (
                f"the target ε={target:g}, composed with the preprocessing releases,"
                if self.planned
                else f"the whole target ε={target:g}"
            )
            raise PrivacyBudgetError(
                f"DP-SGD gets {share} for {self.steps} discriminator steps on {self.n_records} "
                f"{records} (batch_size={batch_size}): {error} Fewer epochs or "
                "discriminator_steps mean fewer steps."
            ) from None

    def record(self, releases: Mapping[str, Release]) -> None:
        """Add preprocessing releases; each must have been planned, with at least its noise."""
        for name, release in releases.items():
            planned = self.planned.get(name)
            if planned is None or name in self.releases or not _within(release, planned):
                raise PrivacyBudgetError(
                    f"Preprocessing release {name!r} ({release.mechanism}) was not planned "
                    f"before training as made (planned: {planned}); this is a bug in the "
                    "model family's privacy plan."
                )
            self.releases[name] = release

    # -- core.session.PrivacyWrapper -------------------------------------------------------------
    def wrap(self, module: nn.Module, optimizer: torch.optim.Optimizer, *,
             noise: torch.Generator, world: Distributed | None = None,
             grad_sampler: str = "hooks") -> PrivateCritic:  # fmt: skip
        """Wrap the discriminator for DP-SGD with the planned q, σ and step count (on the
        ranks of ``world``: clipped gradients summed over ranks, the noise added once)."""
        if self.critic is not None:
            raise RuntimeError("This DP-SGD plan already wrapped a network.")
        self.critic = PrivateCritic(
            module, optimizer, n_records=self.n_records, sample_rate=self.sample_rate,
            noise_multiplier=self.noise_multiplier, max_grad_norm=self.resolved.max_grad_norm,
            max_steps=self.steps, accountant=self.resolved.accountant, generator=noise,
            grad_sampler=grad_sampler, world=world,
        )  # fmt: skip
        return self.critic

    def digest(self) -> str:
        """A fingerprint of the preprocessing releases made (values, costs, noise): equal on
        every rank of a distributed fit, or the ranks did not release the same statistics."""
        entries = sorted(
            (name, r.mechanism, r.epsilon, r.delta, r.noise_multiplier, r.value)
            for name, r in self.releases.items()
        )
        text = json.dumps(entries, default=_plain, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def exhausted(self) -> bool:
        return self.critic is not None and self.critic.exhausted

    @property
    def steps_taken(self) -> int:
        return 0 if self.critic is None else self.critic.steps_taken

    def state_dict(self) -> dict[str, Any]:
        """The accountant's history and the steps taken (JSON), as saved with the model."""
        if self.critic is None:
            raise RuntimeError("No network was wrapped: there is no DP-SGD state yet.")
        return self.critic.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the accountant: a resumed fit is charged for its earlier steps once."""
        if self.critic is None:
            raise RuntimeError("Wrap the network before restoring its DP-SGD state.")
        for key in ("noise_multiplier", "sample_rate", "max_steps"):
            if abs(float(state[key]) - float(getattr(self.critic, key))) > 1e-12 * max(
                1.0, abs(float(state[key]))
            ):
                raise PrivacyBudgetError(
                    f"The saved DP-SGD state has {key}={state[key]!r}, this fit plans "
                    f"{getattr(self.critic, key)!r}: it is not the same private training."
                )
        self.critic.load_state_dict(state)

    def unwrap(self) -> None:
        if self.critic is not None:
            self.critic.to_standard_module()

    # -- the result ------------------------------------------------------------------------------
    def spent(self, notes: tuple[str, ...] = ()) -> PrivacySpent:
        """Preprocessing releases composed with the DP-SGD steps taken."""
        described = () if self.preprocessing is None else (self.preprocessing.describe(),)
        notes = (self.resolved.delta_note(), *described, *notes)
        if self.critic is None:
            raise RuntimeError("No network was wrapped: nothing was trained under DP-SGD.")
        return self.critic.privacy_spent(
            self.resolved.target_delta, self.releases,
            target_epsilon=self.resolved.target_epsilon, notes=notes,
        )  # fmt: skip


def _within(release: Release, planned: Release) -> bool:
    """Whether ``release`` costs no more than ``planned``: as much noise, no more ε or δ."""
    tolerance = 1e-9
    eps_ok = release.epsilon <= planned.epsilon * (1 + tolerance) + 1e-12
    delta_ok = release.delta <= planned.delta * (1 + tolerance) + 1e-18
    if planned.noise_multiplier is None:
        return eps_ok and delta_ok and release.noise_multiplier is None
    noise_ok = (
        release.noise_multiplier is not None
        and release.noise_multiplier >= planned.noise_multiplier * (1 - tolerance)
    )
    return eps_ok and delta_ok and noise_ok


def _plain(value: Any) -> Any:
    """JSON for what a release may hold besides plain types (arrays, numpy scalars)."""
    if isinstance(value, np.ndarray | np.generic | torch.Tensor):
        return np.asarray(value).tolist()
    return repr(value)
