"""synthgan: synthetic tables and images with GANs.

Public API::

    from synthgan import CTGANSynthesizer, load
    model = CTGANSynthesizer(epochs=300).fit(df)
    synthetic = model.sample(1000)
    X_res, y_res = synthgan.Rebalancer(random_state=0).fit_resample(X, y)
    report = synthgan.evaluate(df, synthetic, holdout=holdout, target="income")
    model.save("model.synthgan"); same = load("model.synthgan")
"""

__version__ = "0.1.0"

from synthgan.base import BaseSynthesizer, load
from synthgan.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
    PrivacyBudgetError,
)
from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer
from synthgan.privacy import PrivacyConfig, PrivacySpent
from synthgan.tabular import CTGANSynthesizer

__all__ = [
    "BaseSynthesizer",
    "CTGANSynthesizer",
    "CheckpointError",
    "ConditionalGANSynthesizer",
    "DCGANSynthesizer",
    "DataValidationError",
    "EvaluationReport",
    "ImageRebalancer",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "PrivacyBudgetError",
    "PrivacyConfig",
    "PrivacySpent",
    "Rebalancer",
    "__version__",
    "evaluate",
    "evaluate_images",
    "load",
    "rebalance",
]

# The evaluation imports scikit-learn and sdmetrics: loaded on first use, not on import synthgan.
_LAZY = {
    "evaluate": "synthgan.evaluation.api",
    "evaluate_images": "synthgan.evaluation.api",
    "EvaluationReport": "synthgan.evaluation.report",
    # imbalanced-learn is imported with the rebalancer, not on import synthgan.
    "Rebalancer": "synthgan.augmentation.rebalance",
    "rebalance": "synthgan.augmentation.rebalance",
    "ImageRebalancer": "synthgan.augmentation.images",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgan' has no attribute {name!r}")
