"""Checks of hyperparameters shared by every family (one behaviour, one exception type)."""

from __future__ import annotations

import numbers
from typing import Any

from synthgan.exceptions import InvalidParameterError

__all__ = ["check_fraction", "check_int", "check_positive"]


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """``value`` as an int, or :class:`InvalidParameterError` naming ``name``.

    Booleans and floats (``2.0``) are refused: a whole number of epochs, rows or channels is
    asked for, and a float usually means a unit mix-up.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})."
        )
    if value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """``value`` as a float > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (value >= 0 if allow_zero else value > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(f"{name} must be a number {bound}, got {value!r}.")
    return float(value)


def check_fraction(name: str, value: Any, *, optional: bool = False) -> float | None:
    """``value`` in the open interval (0, 1) (or None when ``optional``), such as a decay."""
    if value is None and optional:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < 1
    if not ok:
        none = "None or " if optional else ""
        raise InvalidParameterError(f"{name} must be {none}a number in (0, 1), got {value!r}.")
    return float(value)
