"""Label coding for image sets: label values in, ``int64`` codes and a sorted class list out.

:func:`code_labels` is what :func:`~synthgan.image.readers.read_images` does with the labels it
is given; :func:`label_values` checks labels of any kind (a list, an array, a tensor) and is
shared with :func:`~synthgan.image.writers.write_images`; :func:`class_list` checks a class
list given by the user (``fit(..., classes=...)``). Labels are integers or strings, never a mix,
so that they round-trip through JSON, a ``.npz`` file and folder names.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np
import torch

from synthgan.exceptions import DataValidationError

__all__ = ["class_list", "code_labels", "label_values", "shorten"]


def code_labels(labels, n: int, where: str) -> tuple[torch.Tensor | None, tuple]:
    """Labels as int64 codes into sorted unique values, and those values as python objects."""
    if labels is None:
        return None, ()
    values = label_values(labels, where)
    if len(values) != n:
        raise DataValidationError(
            f"{where}: {len(values)} labels for {n} images; pass exactly one label per image."
        )
    classes, codes = np.unique(values, return_inverse=True)
    codes = torch.from_numpy(codes.reshape(-1).astype(np.int64))
    return codes, tuple(value.item() for value in classes)  # np.int64 -> int, np.str_ -> str


def label_values(labels, where: str) -> np.ndarray:
    """Labels as a 1-D int64 or unicode array; NaN, None and mixed kinds are refused."""
    if isinstance(labels, torch.Tensor):
        array = labels.detach().cpu().numpy()
    elif isinstance(labels, np.ndarray):
        array = labels
    else:
        array = np.asarray(labels, dtype=object)  # no silent int -> str coercion of a mix
    if array.ndim != 1:
        raise DataValidationError(
            f"{where} must be 1-D, one label per image; got shape {array.shape}."
        )
    kind = array.dtype.kind
    if kind in "biu":
        return array.astype(np.int64)
    if kind == "U":
        return array
    if kind == "f":
        return _integral(array, where)
    if kind == "O":
        return _object_labels(array, where)
    raise DataValidationError(
        f"{where} has dtype {array.dtype}; labels must be integers or strings."
    )


def _object_labels(array: np.ndarray, where: str) -> np.ndarray:
    missing = [i for i, value in enumerate(array) if value is None or _is_nan(value)]
    if missing:
        raise DataValidationError(
            f"{where} contain None or NaN ({len(missing)} of {len(array)}, first at position "
            f"{missing[0]}); every image needs a label. Drop those images, or pass labels=None."
        )
    if all(isinstance(value, str) for value in array):
        return array.astype(str)
    if all(isinstance(value, numbers.Integral) for value in array):
        return array.astype(np.int64)  # exact, even beyond float precision
    if all(isinstance(value, numbers.Real) for value in array):
        return _integral(array.astype(np.float64), where)
    kinds = sorted({type(value).__name__ for value in array})
    raise DataValidationError(
        f"{where} mix value types ({', '.join(kinds)}); labels must be all integers or all strings."
    )


def _is_nan(value) -> bool:
    return isinstance(value, numbers.Real) and math.isnan(value)


def _integral(array: np.ndarray, where: str) -> np.ndarray:
    """Float labels holding whole numbers (as pandas makes them) as int64."""
    if np.isnan(array).any():
        raise DataValidationError(
            f"{where} contain NaN ({int(np.isnan(array).sum())} of {len(array)}); every image "
            "needs a label. Drop those images, or pass labels=None."
        )
    if not np.array_equal(array, np.round(array)):
        raise DataValidationError(
            f"{where} are fractional numbers; labels must be integers or strings (class names)."
        )
    return array.astype(np.int64)


def class_list(classes) -> tuple:
    """A given class list as a tuple of python ints or strings, checked."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise DataValidationError(
            f"classes must be a list of class labels (ints or strings), got {classes!r}."
        )
    values = [v.item() if isinstance(v, (np.generic, torch.Tensor)) else v for v in classes]
    kinds = {
        int if isinstance(v, numbers.Integral) and not isinstance(v, bool) else type(v)
        for v in values
    }
    if not values or not (kinds <= {int} or kinds <= {str}):
        raise DataValidationError(
            f"classes must be a non-empty list of ints or of strings (not both, no booleans), "
            f"got {shorten(values) or 'an empty list'}."
        )
    values = [int(v) for v in values] if kinds == {int} else values
    duplicates = sorted({repr(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise DataValidationError(f"classes lists {', '.join(duplicates)} more than once.")
    return tuple(values)


def shorten(values: Iterable, limit: int = 20) -> str:
    """The reprs of at most ``limit`` values, joined, and the count when some are left out."""
    values = list(values)
    listed = ", ".join(repr(value) for value in values[:limit])
    return listed if len(values) <= limit else f"{listed} ... ({len(values)} in all)"
