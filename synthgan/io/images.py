"""Image batches in memory: validation, layout and value-range detection.

Every image batch the metrics accept, a numpy array, a torch tensor or a nested list, becomes an
:class:`ImageSet` first. It checks the batch once and remembers how to read it, but converts
images to float only when a sample is taken, so that a 60,000-image training set is never held
in memory as float32 just to draw 5,000 images from it. The detection helpers
(:func:`as_numpy`, :func:`detect_layout`, :func:`detect_scale`) are shared with
:mod:`synthgan.image.readers`, which reads the image synthesizers' training data, so both read a
batch the same way.

Bad data raises :class:`~synthgan.exceptions.DataValidationError` (a ``ValueError``); an input of
the wrong type or dtype raises ``TypeError``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from synthgan.exceptions import DataValidationError

__all__ = [
    "ImageSet",
    "as_image_set",
    "as_numpy",
    "check_labels",
    "check_same_geometry",
    "detect_layout",
    "detect_scale",
    "normalize_images",
]

_CHANNELS = (1, 3)
RANGE_TOLERANCE = 1e-3  # float inputs may overshoot [0, 1] or [-1, 1] by this much (rounding)
_CHUNK = 2048  # images converted at a time when every image of a set is read (hashing)


@dataclass(frozen=True)
class ImageSet:
    """A validated image batch, read lazily as float ``(n, C, H, W)`` in [0, 1].

    Attributes
    ----------
    name : str
        Argument name used in error messages.
    array : ndarray
        The images as given (a numpy view of a CPU tensor; never copied as a whole).
    layout : str
        ``"NHW"``, ``"NHWC"`` or ``"NCHW"``.
    scale : str
        ``"uint8"`` (integers in 0..255), ``"unit"`` (floats in [0, 1] or booleans) or
        ``"signed"`` (floats in [-1, 1]).
    """

    name: str
    array: np.ndarray
    layout: str
    scale: str

    def __len__(self) -> int:
        return int(self.array.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        shape = self.array.shape
        if self.layout == "NHW":
            return 1, shape[1], shape[2]
        if self.layout == "NHWC":
            return shape[3], shape[1], shape[2]
        return shape[1], shape[2], shape[3]

    def take(self, index: np.ndarray | None = None) -> torch.Tensor:
        """Images ``index`` (all when None) as a float32 tensor ``(n, C, H, W)`` in [0, 1]."""
        raw = self.array if index is None else self.array[np.asarray(index, dtype=np.intp)]
        values = raw.astype(np.float32)
        if self.scale == "uint8":
            values /= 255.0
        elif self.scale == "signed":
            values = (values + 1.0) / 2.0  # [-1, 1] -> [0, 1]
        np.clip(values, 0.0, 1.0, out=values)  # within-tolerance overshoot is clipped
        if self.layout == "NHW":
            values = values[:, None, :, :]  # (n, 1, H, W)
        elif self.layout == "NHWC":
            values = values.transpose(0, 3, 1, 2)  # (n, H, W, C) -> (n, C, H, W)
        return torch.from_numpy(np.ascontiguousarray(values))

    def digests(self) -> list[bytes]:
        """One 16-byte BLAKE2 digest per image of its 8-bit quantisation ``round(255 x)``.

        Quantising first makes a float image that rounds to a stored uint8 image count as its
        copy, which is what a viewer (or a saved PNG) would show.
        """
        out = []
        for lo in range(0, len(self), _CHUNK):
            block = self.take(np.arange(lo, min(lo + _CHUNK, len(self))))  # (chunk, C, H, W)
            quantised = np.rint(block.numpy() * 255.0).astype(np.uint8)
            out.extend(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in quantised)
        return out


def as_numpy(images, name: str) -> np.ndarray:
    """``images`` as a numpy array (a view of a CPU tensor; half floats widened to float32)."""
    if isinstance(images, torch.Tensor):
        tensor = images.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):  # no numpy bfloat16
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(images, np.ndarray):
        return images
    try:
        return np.asarray(images)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a numpy array or a torch tensor of images, got "
            f"{type(images).__name__} ({error})."
        ) from None


def detect_layout(shape: tuple, name: str) -> str:
    """Channel layout from the shape; channel-first wins when both readings are possible."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        if shape[1] in _CHANNELS:
            return "NCHW"
        if shape[3] in _CHANNELS:
            return "NHWC"
        raise DataValidationError(
            f"{name} has shape {shape}: a 4-D batch needs 1 or 3 channels on axis 1 (N, C, H, W) "
            "or on axis 3 (N, H, W, C)."
        )
    raise DataValidationError(
        f"{name} has {len(shape)} dimension(s) (shape {shape}); expected a batch of images of "
        "shape (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3}. Add a batch axis to a "
        "single image with images[None]."
    )


def detect_scale(array: np.ndarray, name: str) -> str:
    """Detect the value range: integers are 0..255, floats [0, 1] or, with negatives, [-1, 1]."""
    if array.dtype == np.bool_:
        return "unit"
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise DataValidationError(
                f"{name} holds integers from {low} to {high}; integer images must lie in 0..255."
            )
        return "uint8"
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} has dtype {array.dtype}; expected integer or float images.")
    if not np.isfinite(array).all():
        raise DataValidationError(
            f"{name} contains NaN or infinite values; every pixel must be finite."
        )
    low, high = float(array.min()), float(array.max())
    tol = RANGE_TOLERANCE
    if low >= -tol and high <= 1 + tol:
        return "unit"
    if low >= -1 - tol and high <= 1 + tol:
        return "signed"
    raise DataValidationError(
        f"{name} holds floats from {low:g} to {high:g}; float images must lie in [0, 1] or "
        "[-1, 1] (a tanh output). Pass 0..255 images as uint8, or divide them by 255."
    )


def as_image_set(images, name: str) -> ImageSet:
    """Validate ``images`` and describe how to read them (see :func:`normalize_images`)."""
    if images is None:
        raise DataValidationError(f"{name} is None; pass a batch of images.")
    array = as_numpy(images, name)
    layout = detect_layout(array.shape, name)
    if array.size == 0:
        raise DataValidationError(
            f"{name} is empty (shape {array.shape}); pass at least one image."
        )
    return ImageSet(name, array, layout, detect_scale(array, name))


def normalize_images(images, name: str = "images") -> torch.Tensor:
    """Convert an image batch to float32 ``(N, C, H, W)`` in [0, 1].

    Parameters
    ----------
    images : ndarray, Tensor or nested list
        Shape ``(N, H, W)`` (grayscale), ``(N, H, W, C)`` or ``(N, C, H, W)`` with ``C`` in
        {1, 3}. When both axis 1 and axis 3 could hold channels (say ``(N, 3, 5, 3)``), axis 1
        is taken, the torch convention. Values: integers (any integer dtype) must lie in 0..255
        and are divided by 255; booleans map to 0 and 1; floats lying in [0, 1] are kept, and
        floats with any value below 0 are read as [-1, 1] (a tanh output) and mapped by
        ``(x + 1) / 2``. The range is detected per batch, so a [-1, 1] batch whose values happen
        to be all non-negative would be misread: rescale such a batch yourself.
    name : str, default "images"
        Argument name used in error messages.

    Returns
    -------
    Tensor
        ``(N, C, H, W)`` float32 in [0, 1] on the CPU.
    """
    return as_image_set(images, name).take()


def check_same_geometry(reference: ImageSet, other: ImageSet) -> None:
    """Raise if ``other`` differs from ``reference`` in channels or size."""
    if other.shape != reference.shape:
        raise DataValidationError(
            f"{other.name} images have (C, H, W) = {other.shape} but {reference.name} images "
            f"have {reference.shape}; both must share channels and size (resize or convert "
            f"{other.name} first)."
        )


def check_labels(labels, n_images: int, name: str) -> np.ndarray | None:
    """Labels as a 1-D int64 array of length ``n_images`` (None passes through)."""
    if labels is None:
        return None
    values = as_numpy(labels, name)
    if values.ndim != 1:
        raise DataValidationError(
            f"{name} must be 1-D (one label per image), got shape {values.shape}."
        )
    if not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
        raise TypeError(
            f"{name} has dtype {values.dtype}; labels must be integers (class indices). Encode "
            "string or float labels as integers first."
        )
    if len(values) != n_images:
        raise DataValidationError(
            f"{name} has {len(values)} labels for {n_images} images; pass one label per image."
        )
    return values.astype(np.int64)
