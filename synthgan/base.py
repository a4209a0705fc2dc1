"""Base classes shared by every synthesizer: the estimator contract and safe save / load.

A synthesizer follows scikit-learn's estimator contract (DESIGN.md §2): hyperparameters are
keyword arguments of ``__init__`` stored unchanged, ``fit`` returns ``self`` and sets learned
state in attributes ending in ``_``, ``sample`` raises :class:`NotFittedError` before ``fit``.

Saving writes a model file through :mod:`synthgan.io.serialization`: JSON for hyperparameters and
learned non-tensor state, safetensors for tensors; nothing in the file can run code when loaded.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import torch
from sklearn.base import BaseEstimator

from synthgan.exceptions import ModelFileError, NotFittedError

__all__ = ["BaseSynthesizer", "load", "register_model_kind"]

_MODEL_KINDS: dict[str, type[BaseSynthesizer]] = {}


def register_model_kind(cls: type[BaseSynthesizer]) -> type[BaseSynthesizer]:
    """Class decorator: make ``cls`` loadable by :func:`synthgan.load` under ``cls.model_kind``."""
    _MODEL_KINDS[cls.model_kind] = cls
    return cls


class BaseSynthesizer(BaseEstimator, metaclass=ABCMeta):
    """Common behaviour of synthgan synthesizers.

    Subclasses set ``model_kind`` (the name written into model files), implement ``fit`` and
    ``sample``, name their fitted marker attribute in ``_fitted_attribute`` and implement
    ``_get_state`` / ``_set_state`` which turn the learned state into JSON-able data plus a flat
    mapping of tensors, and back.
    """

    model_kind: ClassVar[str] = ""
    _fitted_attribute: ClassVar[str] = "generator_"

    # -- fitted-state helpers -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "training data before using this method."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    # -- subclass hooks -------------------------------------------------------------------------
    @abstractmethod
    def _get_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Return ``(json_state, tensors)`` describing everything learned by ``fit``."""

    @abstractmethod
    def _set_state(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`_get_state` returned onto a freshly constructed instance."""

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the fitted model to ``path`` (a single zip file), atomically.

        The file holds ``config.json`` (hyperparameters, library and format version),
        ``state.json``, ``tensors.safetensors`` and ``manifest.json`` (the SHA-256 of the other
        three, checked on load); loading it never executes code.

        Parameters
        ----------
        path : str or PathLike
            Destination. The conventional extension is ``.synthgan``.
        overwrite : bool, default=False
            Replace an existing file at ``path``; without it an existing file is an error.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from synthgan.io.serialization import save_model

        self._check_fitted()
        state, tensors = self._get_state()
        return save_model(
            path,
            kind=self.model_kind,
            params=_params_for_file(self.get_params(deep=False)),
            state=state,
            tensors=tensors,
            overwrite=overwrite,
        )

    def privacy_report(self) -> str:
        """The privacy guarantee in plain language: ε, δ, where they went, DP-SGD's settings.

        Raises
        ------
        ValueError
            The model was fitted without ``privacy``.
        """
        self._check_fitted()
        spent = getattr(self, "privacy_spent_", None)
        if spent is None:
            raise ValueError(
                "This model was fitted without differential privacy (privacy=None), so it has "
                "no privacy guarantee to report. Fit with privacy=PrivacyConfig(...)."
            )
        return spent.report()

    @classmethod
    def load(cls, path: str | PathLike[str]) -> BaseSynthesizer:
        """Load a model saved with :meth:`save`; refuses files of another kind."""
        model = load(path)
        if not isinstance(model, cls):
            raise ModelFileError(
                f"{path!s} holds a {type(model).__name__}, not a {cls.__name__}; "
                "use synthgan.load(path) to load any model file."
            )
        return model


def load(path: str | PathLike[str]) -> BaseSynthesizer:
    """Load any synthgan model file written by ``save``.

    Parameters
    ----------
    path : str or PathLike
        A file written by a synthesizer's ``save`` method.

    Returns
    -------
    BaseSynthesizer
        The fitted synthesizer; it samples exactly as the saved one did for a given seed.

    Raises
    ------
    ModelFileError
        The file is truncated, tampered with, of an unknown kind or format version, or carries a
        pickle payload (which synthgan never writes and never reads).
    """
    from synthgan.io.serialization import read_model

    model_file = read_model(path)
    try:
        cls = _MODEL_KINDS[model_file.kind]
    except KeyError:
        known = ", ".join(sorted(_MODEL_KINDS)) or "none registered"
        raise ModelFileError(
            f"{path!s} holds a model of kind {model_file.kind!r}, which this version of synthgan "
            f"does not know (known kinds: {known})."
        ) from None
    try:
        model = cls(**_params_from_file(model_file.params))
        model._set_state(model_file.state, model_file.tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{path!s} could not be restored as a {cls.__name__}: {exc}. The file was written by "
            "another synthgan version or was altered."
        ) from exc
    return model


def _params_for_file(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values: a PrivacyConfig is stored as its dict of fields."""
    from synthgan.privacy.config import PrivacyConfig

    return {k: v.to_dict() if isinstance(v, PrivacyConfig) else v for k, v in params.items()}


def _params_from_file(params: dict[str, Any]) -> dict[str, Any]:
    from synthgan.privacy.config import PrivacyConfig

    privacy = params.get("privacy")
    if isinstance(privacy, dict):
        return {**params, "privacy": PrivacyConfig.from_dict(privacy)}
    return params
