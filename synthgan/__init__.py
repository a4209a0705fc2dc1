"""synthgan: synthetic tables and images with GANs.

Public API::

    from synthgan import CTGANSynthesizer, load
    model = CTGANSynthesizer(epochs=300).fit(df)
    synthetic = model.sample(1000)
    model.save("model.synthgan"); same = load("model.synthgan")
"""

__version__ = "0.1.0"

from synthgan.base import BaseSynthesizer, load
from synthgan.exceptions import (
    DataValidationError,
    ModelFileError,
    NotFittedError,
    PrivacyBudgetError,
)
from synthgan.tabular import CTGANSynthesizer

__all__ = [
    "BaseSynthesizer",
    "CTGANSynthesizer",
    "DataValidationError",
    "ModelFileError",
    "NotFittedError",
    "PrivacyBudgetError",
    "__version__",
    "load",
]
