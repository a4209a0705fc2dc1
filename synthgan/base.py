"""Base classes shared by every synthesizer: the estimator contract and safe save / load.

A synthesizer follows scikit-learn's estimator contract (DESIGN.md §2): hyperparameters are
keyword arguments of ``__init__`` stored unchanged, ``fit`` returns ``self`` and sets learned
state in attributes ending in ``_``, ``sample`` raises :class:`NotFittedError` before ``fit``.

Saving writes a model file through :mod:`synthgan.io.serialization`: JSON for hyperparameters and
learned non-tensor state, safetensors for tensors; nothing in the file can run code when loaded.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from synthgan.core.callbacks import Callback, check_max_time
from synthgan.core.device import check_device, resolve_device
from synthgan.core.distributed import setup as distributed_setup
from synthgan.core.params import check_int
from synthgan.core.precision import resolve_autocast
from synthgan.core.random import check_random_state
from synthgan.core.session import FitPlan, FitSession, SessionResult, add_prefixed, prefixed
from synthgan.core.threads import thread_scope
from synthgan.exceptions import (
    CheckpointError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
)

__all__ = ["BaseSynthesizer", "load", "register_model_kind"]

_MODEL_KINDS: dict[str, type[BaseSynthesizer]] = {}


def register_model_kind(cls: type[BaseSynthesizer]) -> type[BaseSynthesizer]:
    """Class decorator: make ``cls`` loadable by :func:`synthgan.load` under ``cls.model_kind``."""
    _MODEL_KINDS[cls.model_kind] = cls
    return cls


class BaseSynthesizer(BaseEstimator, metaclass=ABCMeta):
    """Common behaviour of synthgan synthesizers: the template ``fit`` and generic save / load.

    A family's public ``fit`` reads its arguments and calls :meth:`_fit_template`, which runs
    the same steps for every family (``docs/architecture.md``):

    1. check the hyperparameters (:meth:`_validate_params`, plus the shared ones);
    2. find the checkpoint to resume, if asked, and set up the fit's random stream;
    3. read the data (:meth:`_read`: no statistic released) and, with ``privacy``, plan DP-SGD
       (:meth:`_plan_privacy`): the noise is calibrated before anything is released;
    4. prepare the data (:meth:`_prepare`: encoders, DP releases recorded on the plan);
    5. describe the networks and steps (:meth:`_fit_plan`) and run a
       :class:`~synthgan.core.session.FitSession`;
    6. gather the learned state (:meth:`_learned`) and set it all at once: a fit that fails
       leaves the previous learned state as it was.

    Saving writes every kept network (``_kept_networks``, as the attribute ``name + "_"``) by
    name, with the history, timings, privacy state and the family's own state
    (:meth:`_family_state`); loading rebuilds the kept networks (:meth:`_empty_networks`) and
    fills them.
    """

    model_kind: ClassVar[str] = ""
    _fitted_attribute: ClassVar[str] = "generator_"
    _kept_networks: ClassVar[tuple[str, ...]] = ("generator",)
    _records: ClassVar[str] = "records"  # what one training record is called in messages

    # -- fitted-state helpers -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "training data before using this method."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    # -- the template fit -----------------------------------------------------------------------
    def _fit_template(self, read: Callable[[], Any], *, callbacks: Sequence[Callback] | None,
                      resume: bool) -> BaseSynthesizer:  # fmt: skip
        """Run the fit (see the class docstring); ``read()`` returns the family's data."""
        with thread_scope(getattr(self, "n_threads", None)) as threads:
            learned = self._learn(read, tuple(callbacks or ()), resume)
        learned["n_threads_"] = threads
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)  # nothing of an earlier fit survives
        for name, value in learned.items():
            setattr(self, name, value)
        self._on_learned()
        return self

    def _learn(self, read: Callable[[], Any], callbacks: tuple[Callback, ...],
               resume: bool) -> dict[str, Any]:  # fmt: skip
        start = time.perf_counter()
        self._validate_shared()
        self._validate_params()
        checkpoint = self._checkpoint_to_resume(resume)
        device = resolve_device(self.device)
        world = distributed_setup(device)  # one process: rank 0 of 1
        rng = check_random_state(self.random_state)
        if checkpoint is not None:
            rng.bit_generator.state = checkpoint.initial_rng
        # Every rank continues rank 0's stream (random_state=None differs by process).
        rng.bit_generator.state = world.broadcast_object(rng.bit_generator.state)
        initial_rng = rng.bit_generator.state
        data = read()
        store = self._checkpoint_store(data, checkpoint, initial_rng)
        autocast = resolve_autocast(self.autocast, device)
        privacy = self._plan_privacy(data)
        prepared = self._prepare(data, rng, privacy)
        if privacy is not None:  # every rank made the one release (same data, same stream)
            world.check_same("the DP preprocessing releases (digest)", privacy.digest())
        prepared_seconds = time.perf_counter() - start
        plan = self._fit_plan(prepared, privacy)
        plan.steps_per_epoch = self._steps_per_epoch(data)  # the count DP-SGD was planned for
        plan.batch_size, plan.batch_unit = self._batch_size(data), self._batch_unit()
        session = FitSession(
            plan, device=device, autocast=autocast, rng=rng,
            privacy=privacy, callbacks=callbacks, max_time=self.max_time, verbose=self.verbose,
            checkpoints=store, checkpoint_every=self.checkpoint_every,
            resume=None if checkpoint is None else (checkpoint.state, checkpoint.tensors),
            distributed=world,
        )  # fmt: skip
        result = session.run()
        learned = self._learned(prepared, result)
        learned.update({f"{name}_": module for name, module in result.networks.items()})
        learned.update(self._privacy_learned(privacy))
        total = time.perf_counter() - start + result.seconds_before  # a resumed fit: all runs
        learned.update(
            loss_history_=result.history, autocast_=autocast,
            timings_=self._timings(result, prepared_seconds, total, data),
        )  # fmt: skip
        return learned

    def _timings(self, result: SessionResult, preparation: float, total: float, data: Any):
        """One schema for every family: seconds of preparation, training and the whole fit,
        the epochs run and the training throughput in records per second."""
        records = len(result.history) * self._steps_per_epoch(data) * self._batch_size(data)
        return {
            "preparation": preparation,
            "training": result.seconds,
            "total": total,
            "epochs": int(result.epochs_run),
            "records_per_second": records / max(result.seconds, 1e-9),
        }

    def _validate_shared(self) -> None:
        check_device(self.device)
        check_max_time(self.max_time)
        check_int("checkpoint_every", self.checkpoint_every, minimum=1)
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, str | PathLike):
            raise InvalidParameterError(
                f"checkpoint_dir must be None or a directory path, got {self.checkpoint_dir!r}."
            )
        self._privacy_config()  # type check

    # -- checkpoints -----------------------------------------------------------------------------
    def _checkpoint_to_resume(self, resume: bool):
        from synthgan.io.checkpoints import checkpoint_path, read_checkpoint

        if self.checkpoint_dir is None:
            if resume:
                raise InvalidParameterError(
                    "resume=True needs checkpoint_dir: the directory the interrupted fit wrote "
                    "its checkpoints to."
                )
            return None
        if not resume:
            path = checkpoint_path(self.checkpoint_dir)
            if path.exists():
                raise CheckpointError(
                    f"{path} holds the checkpoint of an earlier fit. Pass resume=True (synthgan "
                    "fit --resume) to continue it, or remove it or choose an empty "
                    "checkpoint_dir to start again."
                )
            return None
        checkpoint = read_checkpoint(self.checkpoint_dir)
        checkpoint.check_matches(self.model_kind, _params_for_file(self.get_params(deep=False)))
        return checkpoint

    def _checkpoint_store(self, data: Any, checkpoint, initial_rng: Mapping[str, Any]):
        if self.checkpoint_dir is None:
            return None
        from synthgan.io.checkpoints import CheckpointFile

        fingerprint = self._fingerprint(data)
        if checkpoint is not None:
            checkpoint.check_data(fingerprint)
        return CheckpointFile(
            self.checkpoint_dir, model_kind=self.model_kind, fingerprint=fingerprint,
            params=_params_for_file(self.get_params(deep=False)), initial_rng=initial_rng,
        )  # fmt: skip

    # -- privacy ---------------------------------------------------------------------------------
    def _privacy_config(self):
        from synthgan.privacy.config import PrivacyConfig

        if self.privacy is None or isinstance(self.privacy, PrivacyConfig):
            return self.privacy
        if isinstance(self.privacy, Mapping):
            return PrivacyConfig.from_dict(dict(self.privacy))
        raise InvalidParameterError(
            f"privacy must be a synthgan.PrivacyConfig, a dict of its fields or None, got "
            f"{type(self.privacy).__name__} ({self.privacy!r})."
        )

    def _plan_privacy(self, data: Any):
        """DP-SGD planned for this fit (σ calibrated here, before any release), or None."""
        config = self._privacy_config()
        if config is None:
            return None
        from synthgan.privacy.training import DPSGDTraining

        resolved = config.validate(self._n_records(data))
        steps = self.epochs * self._steps_per_epoch(data) * self._discriminator_steps()
        preprocessing = self._plan_preprocessing(data, resolved)
        privacy = DPSGDTraining(
            resolved, n_records=self._n_records(data), batch_size=self._batch_size(data),
            steps=steps, preprocessing=None if preprocessing is None else preprocessing.planned(),
            records=self._records,
        )  # fmt: skip
        privacy.preprocessing = preprocessing
        return privacy

    def _privacy_learned(self, privacy) -> dict[str, Any]:
        if privacy is None:
            return {"privacy_spent_": None, "privacy_state_": None}
        return {
            "privacy_spent_": privacy.spent(self._privacy_notes(privacy)),
            "privacy_state_": privacy.state_dict(),
        }

    # -- family hooks ----------------------------------------------------------------------------
    @abstractmethod
    def _validate_params(self) -> None:
        """Check the family's hyperparameters (the shared ones are checked by the template)."""

    @abstractmethod
    def _n_records(self, data: Any) -> int:
        """Training records in ``data`` (rows, images, pairs)."""

    @abstractmethod
    def _batch_size(self, data: Any) -> int:
        """The batch size used on ``data`` (the expected real batch under DP)."""

    def _steps_per_epoch(self, data: Any) -> int:
        return max(1, self._n_records(data) // self._batch_size(data))

    def _batch_unit(self) -> int:
        """Rows a per-rank batch must be a whole number of (CTGAN: ``pac``); 1 by default."""
        return 1

    def _discriminator_steps(self) -> int:
        """Discriminator (DP-SGD) steps per generator step, as the loop will run them."""
        return getattr(self, "discriminator_steps", 1)

    def _plan_preprocessing(self, data: Any, resolved):
        """The family's DP preprocessing release, planned from public facts
        (a :class:`~synthgan.privacy.preprocessing.GaussianPlan`), or None (the default)."""
        return None

    def _privacy_notes(self, privacy) -> tuple[str, ...]:
        """Plain-language lines for the privacy report (what is public, what is saved)."""
        return ()

    @abstractmethod
    def _fingerprint(self, data: Any) -> str:
        """A digest of the training data: a checkpoint of other data is refused."""

    @abstractmethod
    def _prepare(self, data: Any, rng: np.random.Generator, privacy) -> Any:
        """Fit encoders and release what DP needs (recorded on ``privacy``)."""

    @abstractmethod
    def _fit_plan(self, prepared: Any, privacy) -> FitPlan:
        """The networks, the step model and the loop's schedule."""

    @abstractmethod
    def _learned(self, prepared: Any, result: SessionResult) -> dict[str, Any]:
        """The family's learned attributes (the kept networks are added by the template)."""

    def _on_learned(self) -> None:
        """Recompute derived, unsaved helpers after a fit or a load."""

    @abstractmethod
    def _family_state(self) -> dict[str, Any]:
        """The family's learned non-tensor state as JSON (kept networks are saved generically)."""

    @abstractmethod
    def _set_family_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`_family_state` on a fresh instance."""

    @abstractmethod
    def _empty_networks(self) -> dict[str, torch.nn.Module]:
        """The kept networks, freshly built from the restored family state, to load weights."""

    # -- generic state ---------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """``(json_state, tensors)``: the family's state, history, timings, privacy, networks."""
        state = {
            **self._family_state(),
            "loss_history": self.loss_history_.to_dict(orient="list"),
            "timings": self.timings_,
            "autocast": self.autocast_,
        }
        if getattr(self, "privacy_spent_", None) is not None:
            state["privacy"] = {
                "spent": self.privacy_spent_.to_dict(),
                "accountant": self.privacy_state_,
            }
        tensors: dict[str, torch.Tensor] = {}
        for name in self._kept_networks:
            add_prefixed(tensors, f"{name}.", getattr(self, f"{name}_").state_dict())
        return state, tensors

    def _set_state(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`_get_state` returned onto a freshly constructed instance."""
        from synthgan.privacy.accounting import PrivacySpent

        self._set_family_state(state)
        self.loss_history_ = pd.DataFrame(state["loss_history"])
        self.timings_ = dict(state["timings"])
        self.autocast_ = bool(state["autocast"])
        privacy = state.get("privacy")  # absent from files of models fitted without privacy
        self.privacy_spent_ = None if privacy is None else PrivacySpent.from_dict(privacy["spent"])
        self.privacy_state_ = None if privacy is None else dict(privacy["accountant"])
        device = resolve_device(self.device, loading=True)
        for name, module in self._empty_networks().items():
            module.load_state_dict(prefixed(tensors, f"{name}."), strict=True)
            setattr(self, f"{name}_", module.to(device).eval())
        self._on_learned()

    def _sampling_device(self) -> torch.device:
        return next(getattr(self, f"{self._kept_networks[0]}_").parameters()).device

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


def data_digest(*arrays: np.ndarray | torch.Tensor | bytes | str) -> str:
    """SHA-256 of the bytes of ``arrays`` (with their shapes and dtypes), for fingerprints."""
    digest = hashlib.sha256()
    for item in arrays:
        if isinstance(item, str):
            item = item.encode()
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().contiguous().numpy()
        if isinstance(item, np.ndarray):
            digest.update(f"{item.dtype}{item.shape}".encode())
            item = np.ascontiguousarray(item).tobytes()
        digest.update(item)
    return digest.hexdigest()


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
