"""Exceptions raised by synthgan.

Every error names the column or argument at fault, what was found, what was expected and how to
fix it. The classes also derive from the built-in exception a caller would naturally catch
(``ValueError`` for bad data, ``TypeError`` for a wrong type).
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError

__all__ = [
    "CheckpointError",
    "DataValidationError",
    "InvalidParameterError",
    "ModelFileError",
    "NotFittedError",
    "PrivacyBudgetError",
    "SynthganError",
]


class SynthganError(Exception):
    """Base class of every exception raised by synthgan itself."""


class DataValidationError(SynthganError, ValueError):
    """The data handed to ``fit`` (or a condition handed to ``sample``) cannot be modelled."""


class ModelFileError(SynthganError, ValueError):
    """A model file is truncated, tampered with, of an unknown format, or carries unsafe content."""


class PrivacyBudgetError(SynthganError, ValueError):
    """The requested privacy budget cannot be met, or would be exceeded."""


class InvalidParameterError(SynthganError, ValueError, TypeError):
    """A hyperparameter or argument has the wrong type or value.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's error of the same name), so that
    ``epochs=2.0`` and ``epochs=0`` are caught by the same ``except`` whichever the family.
    """


class CheckpointError(SynthganError, ValueError):
    """A checkpoint is damaged, foreign, or from another fit (other data or hyperparameters)."""
