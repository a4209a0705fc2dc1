"""Differential privacy for synthgan: DP-SGD on the discriminator plus DP preprocessing.

* :mod:`~synthgan.privacy.config` – :class:`PrivacyConfig`, the user-facing hyperparameters.
* :mod:`~synthgan.privacy.accounting` – accountants, noise calibration, composition and
  :class:`PrivacySpent` (the fitted model's ``privacy_spent_``).
* :mod:`~synthgan.privacy.mechanisms` – DP counts, histograms, frequencies and quantiles.
* :mod:`~synthgan.privacy.engine` – :class:`PrivateCritic`, Opacus DP-SGD for the discriminator.
"""

from synthgan.privacy.accounting import (
    DPSGDSummary,
    PrivacySpent,
    accountant_state,
    available_accountants,
    compose_privacy,
    create_accountant,
    plan_dp_sgd,
    register_accountant,
    restore_accountant,
)
from synthgan.privacy.config import PrivacyConfig, ResolvedPrivacy

# The engine imports Opacus (seconds); load it on first use so `import synthgan` stays fast.
_ENGINE_NAMES = ("PrivateCritic", "check_dp_module", "per_sample_grads", "poisson_batch")


def __getattr__(name: str) -> object:
    if name in _ENGINE_NAMES:
        from synthgan.privacy import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'synthgan.privacy' has no attribute {name!r}")


__all__ = [
    "DPSGDSummary",
    "PrivacyConfig",
    "PrivacySpent",
    "PrivateCritic",
    "ResolvedPrivacy",
    "accountant_state",
    "available_accountants",
    "check_dp_module",
    "compose_privacy",
    "create_accountant",
    "per_sample_grads",
    "plan_dp_sgd",
    "poisson_batch",
    "register_accountant",
    "restore_accountant",
]
