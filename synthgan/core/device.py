"""Which torch device a fit or a loaded model runs on (``device="auto"|"cpu"|"cuda"``)."""

from __future__ import annotations

import logging
import warnings

import torch

from synthgan.exceptions import InvalidParameterError

__all__ = ["check_device", "resolve_device"]

logger = logging.getLogger("synthgan")


def check_device(setting: object) -> None:
    """Refuse a ``device`` that is not "auto", "cpu", "cuda" or "cuda:N", or a CUDA device on a
    machine without one (before any work: torch's own error comes late and reads "Torch not
    compiled with CUDA enabled")."""
    _check_spelling(setting)
    if setting != "auto" and torch.device(setting).type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"device={setting!r} was asked for, but torch sees no CUDA GPU on this machine "
            f"(torch {torch.__version__}: torch.cuda.is_available() is False). Use "
            "device='auto' or 'cpu'."
        )


def _check_spelling(setting: object) -> None:
    ok = isinstance(setting, str) and (
        setting in ("auto", "cpu", "cuda")
        or (setting.startswith("cuda:") and setting[5:].isdigit())
    )
    if not ok:
        raise InvalidParameterError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {setting!r}."
        )


def resolve_device(setting: str, *, loading: bool = False) -> torch.device:
    """The device for ``setting``; logs one line saying which (and why, for "auto").

    ``"auto"`` is the first CUDA device when there is one, else the CPU. An explicit CUDA device
    without CUDA is an error when fitting, and falls back to the CPU with a warning when
    ``loading`` a model file (a model trained on a GPU machine must still load on a laptop).
    """
    _check_spelling(setting)
    if setting == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        reason = "CUDA is available" if device.type == "cuda" else "no CUDA device"
        logger.info("synthgan: using device %s (device='auto': %s)", device, reason)
        return device
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        if not loading:
            check_device(setting)  # raises, naming the device
        warnings.warn(
            f"The model asks for device={setting!r}, but there is no CUDA device here; it runs "
            "on the CPU.",
            UserWarning,
            stacklevel=3,
        )
        device = torch.device("cpu")
    logger.info("synthgan: using device %s", device)
    return device
