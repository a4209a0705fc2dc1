"""Checkpoint files: a fit's complete state after an epoch, to resume it after a crash.

A checkpoint is written like a model file (:mod:`synthgan.io.serialization`: one zip of JSON and
safetensors with a SHA-256 manifest, written to a temporary file and renamed over the previous
checkpoint), so a kill during a write leaves the last complete checkpoint in place and loading
one never runs code. It holds the networks, optimizers, weight averages, every RNG state, the
step model's position, the privacy accountant and the history (see
:meth:`synthgan.core.session.FitSession.snapshot`), plus what identifies the fit: the model
kind, the hyperparameters, a fingerprint of the training data and the fit's initial RNG state.

A checkpoint holds the RNG states of the fit, including the DP noise generator: like the
training data, and unlike the fitted model, it is not a differentially private release. Keep
it where the data is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from synthgan.exceptions import CheckpointError, ModelFileError
from synthgan.io.serialization import read_model, save_model, to_jsonable

__all__ = ["CHECKPOINT_FILE", "Checkpoint", "CheckpointFile", "read_checkpoint"]

CHECKPOINT_FILE = "checkpoint.synthgan"
_KIND = "checkpoint"  # the model-file kind of every checkpoint (synthgan.load refuses it)
# Hyperparameters that may change between a fit and its resumption: they do not change what
# is computed (the time limit counts from the start of each run).
RUNTIME_PARAMS = frozenset(
    {"verbose", "n_threads", "checkpoint_dir", "checkpoint_every", "max_time"}
)


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A checkpoint as read back: identification, then the session's state and tensors."""

    path: Path
    model_kind: str
    params: dict[str, Any]
    fingerprint: str
    initial_rng: dict[str, Any]
    state: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @property
    def epoch(self) -> int:
        return int(self.state["epoch"])

    def check_matches(self, model_kind: str, params: Mapping[str, Any]) -> None:
        """Refuse a checkpoint of another model kind or other hyperparameters, naming them."""
        if model_kind != self.model_kind:
            raise CheckpointError(
                f"{self.path} is a checkpoint of a {self.model_kind!r} model, not of this "
                f"{model_kind!r} model."
            )
        differ = _differences(self.params, comparable_params(params))
        if differ:
            raise CheckpointError(
                f"{self.path} was written by a fit with other hyperparameters: "
                f"{'; '.join(differ)}. Resume with the same hyperparameters, or start a new fit "
                "in an empty checkpoint_dir."
            )

    def check_data(self, fingerprint: str) -> None:
        if fingerprint != self.fingerprint:
            raise CheckpointError(
                f"{self.path} was written by a fit on other training data (its data fingerprint "
                f"is {self.fingerprint[:12]}…, this data's is {fingerprint[:12]}…). Resume with "
                "the same data, or start a new fit in an empty checkpoint_dir."
            )


class CheckpointFile:
    """The checkpoint store of one fit (implements ``core.session.CheckpointStore``).

    Parameters
    ----------
    directory : path
        The fit's ``checkpoint_dir``; created when missing.
    model_kind : str
    params : mapping
        The estimator's hyperparameters (``get_params``).
    fingerprint : str
        Of the training data.
    initial_rng : dict
        The numpy bit generator's state when the fit started.
    """

    def __init__(self, directory: str | Path, *, model_kind: str, params: Mapping[str, Any],
                 fingerprint: str, initial_rng: Mapping[str, Any]) -> None:  # fmt: skip
        self.path = Path(directory) / CHECKPOINT_FILE
        self.identity = {
            "model_kind": model_kind,
            "params": comparable_params(params),
            "fingerprint": fingerprint,
            "initial_rng": to_jsonable(dict(initial_rng), "initial_rng"),
        }

    def save(self, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Replace the checkpoint atomically with this one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_model(self.path, kind=_KIND, params=self.identity, state=state, tensors=tensors,
                   overwrite=True)  # fmt: skip


def checkpoint_path(directory: str | Path) -> Path:
    return Path(directory) / CHECKPOINT_FILE


def read_checkpoint(directory: str | Path) -> Checkpoint:
    """Read the checkpoint in ``directory``; :class:`CheckpointError` when missing or damaged."""
    path = checkpoint_path(directory)
    if not path.is_file():
        raise CheckpointError(
            f"There is no checkpoint to resume in {Path(directory)} (no {CHECKPOINT_FILE}). "
            "Start the fit without resume, with checkpoint_dir set."
        )
    try:
        model_file = read_model(path)
    except ModelFileError as error:
        raise CheckpointError(f"The checkpoint {path} cannot be used: {error}") from error
    identity = model_file.params
    if model_file.kind != _KIND or not {"model_kind", "params", "fingerprint"} <= set(identity):
        raise CheckpointError(
            f"{path} is a synthgan file of kind {model_file.kind!r}, not a checkpoint."
        )
    return Checkpoint(
        path, identity["model_kind"], identity["params"], identity["fingerprint"],
        identity["initial_rng"], model_file.state, model_file.tensors,
    )  # fmt: skip


def comparable_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON, less the runtime ones; values that JSON cannot hold (a numpy
    Generator as ``random_state``) are described by their type."""
    result = {}
    for name, value in params.items():
        if name in RUNTIME_PARAMS:
            continue
        try:
            result[name] = json.loads(json.dumps(to_jsonable(value, name)))
        except TypeError:
            result[name] = f"<{type(value).__name__}>"
    return result


def _differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    names = sorted(set(saved) | set(current))
    return [
        f"{name}={saved.get(name, '<absent>')!r} in the checkpoint, "
        f"{current.get(name, '<absent>')!r} now"
        for name in names
        if saved.get(name, "<absent>") != current.get(name, "<absent>")
    ]
