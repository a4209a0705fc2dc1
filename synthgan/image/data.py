"""Training images in and out for the image synthesizers (DESIGN.md §1, §5).

:func:`read_images` turns every accepted input, a numpy array, a torch tensor, a nested list, a
map-style dataset (a torchvision dataset, say), a folder of image files or a ``.npz`` file, into
one :class:`ImageData`: ``uint8`` images ``(N, C, H, W)`` and, when labelled, integer label codes
with the original label values beside them. Everything is checked once, here, with errors that
name the input and say how to fix it, so the models can trust what they receive.

Images are stored as 8-bit integers whatever they came as: 8 bits is what images are displayed
and saved as, so nothing a viewer could see is lost, and 60,000 MNIST digits take 47 MB instead
of 188 MB as float32. The models read batches through :meth:`ImageData.to_model_range`.

:func:`write_images` writes generated images to a ``.npz`` file or a folder of PNG files (class
sub-folders when labelled), which :func:`read_images` reads back; :func:`write_grid` writes a
grid of images as one PNG. Every write is atomic and never replaces existing files unasked.
"""

from __future__ import annotations

import errno
import math
import numbers
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import atomic_directory, atomic_path
from synthgan.io.images import RANGE_TOLERANCE, ImageSet, as_numpy, detect_layout, detect_scale

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageData",
    "check_size",
    "read_images",
    "supported_sizes",
    "write_grid",
    "write_images",
]

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
_VALUE_RANGES = {"uint8": (0.0, 255.0), "unit": (0.0, 1.0), "signed": (-1.0, 1.0)}
_AUTO_FROM_DTYPE = "auto, from the dtype only"  # read_images(detect_float_range=False)
_SIDE_BASES = (4, 7)  # the generator starts from a 4x4 or 7x7 map and doubles it
_MIN_SIDE, _MAX_SIDE = 8, 128
_PROGRESS_FROM = 2000  # a progress bar for more items than this (reading 2,000 takes ~1 s)
_CHUNK = 4096  # images converted at a time, so a float copy of the whole set is never made
_LISTED = 5  # offending files named in an error message
_NPZ_IMAGE_KEYS = ("images", "x_train", "x")
_NPZ_LABEL_KEYS = ("labels", "y_train", "y")

Item = tuple[np.ndarray | None, object]  # (C, H, W) pixels, or None for an unreadable file; label


# ---------------------------------------------------------------------------------------------
# The validated image set.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageData:
    """A validated set of square images, with optional class labels.

    Build it with :func:`read_images`, which checks everything below.

    Parameters
    ----------
    images : Tensor
        ``uint8`` images ``(N, C, H, W)`` on the CPU, contiguous, ``C`` in {1, 3}, ``H == W``.
    labels : Tensor or None
        ``int64`` codes ``(N,)`` in ``0 .. n_classes - 1`` indexing ``classes``; None when the
        images are unlabelled.
    classes : tuple
        The original label values (python ``int`` or ``str``, so they serialise to JSON),
        sorted; ``labels[i]`` is image ``i``'s position in it. Empty when unlabelled.
    source : str
        What the images were read from, for messages: ``"numpy array"``, ``"folder /x/y"``,
        ``"dataset MNIST"`` ...

    Attributes
    ----------
    n_images, channels, size, n_classes : int
        Number of images, channels (1 or 3), side in pixels and number of classes (0 when
        unlabelled).

    Examples
    --------
    >>> import numpy as np
    >>> data = read_images(np.zeros((4, 8, 8), np.uint8), labels=["a", "b", "a", "b"])
    >>> data.images.shape, data.classes, data.labels.tolist()
    (torch.Size([4, 1, 8, 8]), ('a', 'b'), [0, 1, 0, 1])
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    classes: tuple
    source: str

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8):
            raise TypeError("ImageData.images must be a uint8 tensor; build it with read_images.")
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"ImageData.images must be (N, C, H, W), got {tuple(images.shape)}.")
        if labels is not None and (labels.dtype != torch.int64 or labels.shape != images.shape[:1]):
            raise ValueError("ImageData.labels must be int64 codes, one per image, or None.")

    @property
    def n_images(self) -> int:
        """Number of images."""
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        """Channels per image: 1 (grayscale) or 3 (RGB)."""
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        """Side of the (square) images in pixels."""
        return int(self.images.shape[2])

    @property
    def n_classes(self) -> int:
        """Number of classes; 0 when the images are unlabelled."""
        return len(self.classes)

    def to_model_range(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``index`` (all when None) as float32 ``(n, C, H, W)`` in [-1, 1].

        [-1, 1] is the range of the generator's tanh output: ``x / 127.5 - 1`` maps 0 to -1
        and 255 to 1.
        """
        batch = self.images if index is None else self.images[index]
        return batch.float().div_(127.5).sub_(1.0)

    def encode_labels(self, values) -> torch.Tensor:
        """Codes (``int64`` tensor, one per value) of original label values, e.g. a user's.

        ``values`` is one label or a sequence of them. For integer classes, strings of digits
        (``"3"``, as typed on a command line) are accepted too; for string classes (a folder's
        ``"0"``, ``"1"`` ...), integers are.

        Raises
        ------
        DataValidationError
            The images are unlabelled, or a value is not one of ``classes`` (the message lists
            them).
        """
        if not self.classes:
            raise DataValidationError(
                f"the images ({self.source}) are unlabelled, so there are no classes to "
                "condition on; read labelled images (pass labels=) to use class labels."
            )
        lookup = {value: code for code, value in enumerate(self.classes)}
        items = values.tolist() if isinstance(values, (np.ndarray, torch.Tensor)) else values
        items = list(items) if isinstance(items, (list, tuple)) else [items]
        return torch.tensor([self._code(value, lookup) for value in items], dtype=torch.int64)

    def decode_labels(self, codes) -> list:
        """The original label values of ``codes`` (a sequence or tensor of class codes)."""
        codes = codes.tolist() if isinstance(codes, (np.ndarray, torch.Tensor)) else list(codes)
        if any(not 0 <= int(code) < self.n_classes for code in codes):
            raise DataValidationError(
                f"label codes must lie in 0..{self.n_classes - 1} (one per class), got {codes}."
            )
        return [self.classes[int(code)] for code in codes]

    def with_classes(self, classes) -> ImageData:
        """The same images with their labels re-coded against a given class list.

        ``classes`` (ints or strings, no duplicates) becomes ``classes`` in the given order, so
        it may hold classes that no image has; ``labels[i]`` is image i's position in it. The
        int / string leniency of :meth:`encode_labels` applies (a folder's ``"3"`` is class 3).

        Raises
        ------
        DataValidationError
            The images are unlabelled, ``classes`` is not a list of distinct ints or strings, or
            a label is not in it.
        """
        if self.labels is None:
            raise DataValidationError(
                f"the images ({self.source}) are unlabelled; classes= re-codes labels, so pass "
                "labels= (or a dataset or class folders that carry them) as well."
            )
        given = _class_list(classes)
        recoded = replace(self, classes=given)
        lookup = {value: code for code, value in enumerate(given)}
        table = []
        for value in self.classes:
            try:
                table.append(recoded._code(value, lookup))
            except DataValidationError:
                raise DataValidationError(
                    f"the labels hold {value!r}, which is not among the given classes "
                    f"{_shorten(given)}; add it to classes= or drop those images."
                ) from None
        codes = torch.tensor(table, dtype=torch.int64)[self.labels]  # (N,)
        return replace(recoded, labels=codes)

    def _code(self, value, lookup: dict) -> int:
        # Digits typed on a command line name integer classes; integers name the string
        # classes "0", "1" ... that a folder of class sub-folders gives.
        if isinstance(value, str) and isinstance(self.classes[0], int):
            value = int(value) if re.fullmatch(r"\s*-?\d+\s*", value) else value
        elif isinstance(value, numbers.Integral) and isinstance(self.classes[0], str):
            value = str(int(value))
        try:
            return lookup[value]
        except (KeyError, TypeError):  # TypeError: an unhashable value
            raise DataValidationError(
                f"unknown class label {value!r}; the images' classes are {_shorten(self.classes)}."
            ) from None


def _class_list(classes) -> tuple:
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
            f"got {_shorten(values) or 'an empty list'}."
        )
    values = [int(v) for v in values] if kinds == {int} else values
    duplicates = sorted({repr(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise DataValidationError(f"classes lists {', '.join(duplicates)} more than once.")
    return tuple(values)


def _shorten(values: Iterable, limit: int = 20) -> str:
    values = list(values)
    listed = ", ".join(repr(value) for value in values[:limit])
    return listed if len(values) <= limit else f"{listed} ... ({len(values)} in all)"


# ---------------------------------------------------------------------------------------------
# Sizes.
# ---------------------------------------------------------------------------------------------
def supported_sizes() -> list[int]:
    """Image sides the models support: ``4 * 2**k`` or ``7 * 2**k`` from 8 to 128.

    The generator grows a 4x4 or 7x7 map by doubling it, so only these sides come out.

    Returns
    -------
    list of int
        ``[8, 14, 16, 28, 32, 56, 64, 112, 128]``.
    """
    sides = {base * 2**k for base in _SIDE_BASES for k in range(8)}
    return sorted(side for side in sides if _MIN_SIDE <= side <= _MAX_SIDE)


def check_size(side: int, name: str = "image side") -> None:
    """Raise :class:`DataValidationError` unless ``side`` is in :func:`supported_sizes`.

    Parameters
    ----------
    side : int
        Side of square images, in pixels.
    name : str, default "image side"
        What to call ``side`` in the message.
    """
    sizes = supported_sizes()
    if side in sizes:
        return
    nearest = _nearest_size(side)
    raise DataValidationError(
        f"{name} {side} is not supported; the image models support sides "
        f"{', '.join(map(str, sizes))} (4 or 7 times a power of 2). Resize the images first, "
        f"e.g. to {nearest} with torchvision.transforms.Resize({nearest}) (or PIL's "
        "Image.resize)."
    )


def _nearest_size(side: int) -> int:
    return min(supported_sizes(), key=lambda size: (abs(size - side), size))


# ---------------------------------------------------------------------------------------------
# Reading.
# ---------------------------------------------------------------------------------------------
def read_images(
    images,
    labels=None,
    *,
    value_range: str = "auto",
    name: str = "images",
    detect_float_range: bool = True,
) -> ImageData:
    """Read and validate images for the image synthesizers.

    Parameters
    ----------
    images : ndarray, Tensor, nested list, dataset, str or PathLike
        One of:

        * an array, tensor or nested list of shape ``(N, H, W)``, ``(N, H, W, C)`` or
          ``(N, C, H, W)`` with ``C`` in {1, 3} (axis 1 wins when both could hold channels),
          of integers in 0..255, booleans or floats (see ``value_range``);
        * a map-style dataset (anything with ``__len__`` and ``__getitem__``, such as a
          torchvision dataset) whose items are ``(image, label)`` pairs or bare images; an
          image is a PIL image, a ``(C, H, W)`` tensor (torchvision's ``ToTensor`` gives floats
          in [0, 1]), or an ``(H, W)`` / ``(H, W, C)`` array. Every item is read (with a
          progress bar beyond 2,000 items);
        * the path of a folder of image files (extensions .bmp .gif .jpeg .jpg .png .tif
          .tiff .webp, any case; the rest is an error), either flat
          (unlabelled; images in file-name order) or in torchvision's ``ImageFolder`` layout:
          one sub-folder per class, the sub-folder name being the class (a string), images
          anywhere below it. Names starting with ``"."`` are ignored;
        * the path of a ``.npz`` file with the images under ``images``, ``x_train`` or ``x``
          and optional labels under ``labels``, ``y_train`` or ``y`` (read without pickle).
    labels : sequence or Tensor, optional
        One label per image, integers or strings, for arrays, tensors, lists, flat folders
        (in file-name order) and ``.npz`` files without labels. Datasets, class folders and
        ``.npz`` files with labels carry their own, and passing ``labels`` too is an error.
    value_range : {"auto", "uint8", "unit", "signed"}, default "auto"
        Range of the pixel values: ``"uint8"`` 0..255, ``"unit"`` [0, 1], ``"signed"``
        [-1, 1] (a tanh output). ``"auto"`` reads integers as 0..255, booleans and floats in
        [0, 1] as ``"unit"`` and floats with any negative value as ``"signed"``: a [-1, 1]
        batch that happens to hold no negative value would be misread, so state the range
        when you know it. Values outside an explicit range are an error.
    name : str, default "images"
        What to call the input in error messages.
    detect_float_range : bool, default True
        With False, ``value_range="auto"`` refuses float pixels, whose range it would choose
        from their values, and reads only integer and boolean pixels, whose range follows from
        the dtype. Differential privacy uses this: a choice made from the pixel values is a
        release about them that nothing accounts for.

    Returns
    -------
    ImageData
        The images as ``uint8`` ``(N, C, H, W)``, labels as codes into sorted ``classes``.

    Raises
    ------
    DataValidationError
        Fewer than 2 images, images that are not square, of an unsupported side (see
        :func:`supported_sizes`), of different sizes, with other than 1 or 3 channels, of a
        non-numeric dtype, with NaN, infinite or out-of-range values; files that are not
        images; labels that do not match the images.
    TypeError
        ``images`` is of no accepted kind.
    FileNotFoundError
        The path does not exist.

    Notes
    -----
    Pixels are quantised to 8 bits, ``round(255 x)`` for [0, 1] floats: see the module
    docstring for why. Image files are read with PIL: grayscale (``"L"``, ``"1"``, and
    ``"LA"`` without its alpha) gives one channel; 16-bit grayscale (``"I;16"``, ``"I"``) is
    scaled to 8 bits by ``round(v / 257)``; 32-bit float images (``"F"``) are refused; every
    other mode (palette ``"P"``, ``"RGBA"``, ``"CMYK"`` ...) is converted to RGB. Alpha is
    dropped, not composited, so transparent pixels show their stored colour. When grayscale
    and colour images are mixed (in a folder or a dataset), all are read as RGB. An animated
    image gives its first frame.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> data = read_images(digits.images / 16.0, digits.target, value_range="unit")
    >>> data.n_images, data.channels, data.size, data.classes[:3]
    (1797, 1, 8, (0, 1, 2))
    """
    if value_range != "auto" and value_range not in _VALUE_RANGES:
        raise ValueError(
            f"value_range must be 'auto', 'uint8', 'unit' or 'signed', got {value_range!r}."
        )
    if value_range == "auto" and not detect_float_range:
        value_range = _AUTO_FROM_DTYPE  # passed down to _resolve_scale like any range
    if isinstance(images, (str, os.PathLike)):
        return _read_path(Path(images), labels, value_range, name)
    if isinstance(images, (np.ndarray, torch.Tensor, list, tuple)):
        return _from_array(images, labels, value_range, name, _array_source(images))
    if hasattr(images, "__len__") and hasattr(images, "__getitem__"):
        return _read_dataset(images, labels, value_range, name)
    raise TypeError(
        f"{name} must be a numpy array, a torch tensor, a nested list, a map-style dataset, or "
        f"the path of a folder of images or of a .npz file; got {type(images).__name__}."
    )


def _array_source(images) -> str:
    if isinstance(images, np.ndarray):
        return "numpy array"
    return "torch tensor" if isinstance(images, torch.Tensor) else "nested list"


def _from_array(images, labels, value_range: str, name: str, source: str) -> ImageData:
    """The common end of every reader: an in-memory batch (any layout) becomes ImageData."""
    where = f"{name} ({source})"
    array = _numeric_array(images, where)
    layout = detect_layout(array.shape, where)
    _check_count(array.shape[0], where)
    image_set = ImageSet(where, array, layout, scale="uint8")  # a placeholder until checked
    _check_geometry(image_set.shape, where)  # before the scan of every value below
    scale = _resolve_scale(array, value_range, where)
    pixels = _quantise(replace(image_set, scale=scale))
    codes, classes = _encode(labels, len(pixels), f"{name} labels")
    return ImageData(pixels, codes, classes, source)


def _numeric_array(images, where: str) -> np.ndarray:
    if isinstance(images, (list, tuple)):
        try:
            images = np.asarray(images)
        except ValueError:  # numpy refuses ragged nesting
            raise DataValidationError(
                f"{where} is a ragged nested list (images or rows of different lengths); every "
                "image must have the same shape."
            ) from None
    array = as_numpy(images, where)
    if array.dtype.kind not in "biuf":
        raise DataValidationError(
            f"{where} has dtype {array.dtype}; pixels must be integers (0..255), booleans or "
            "real floats, not objects, complex numbers or strings. Convert with "
            "np.asarray(images, dtype=np.float32) or np.uint8."
        )
    return array


def _check_count(n: int, where: str) -> None:
    if n < 2:
        found = "no images" if n == 0 else "a single image"
        raise DataValidationError(
            f"{where} holds {found}; a GAN needs at least 2 training images (and in practice "
            "hundreds). Pass a batch of shape (N, H, W), (N, H, W, C) or (N, C, H, W)."
        )


def _check_geometry(shape: tuple[int, int, int], where: str) -> None:
    _channels, height, width = shape  # channels are 1 or 3 once the layout is known
    if height != width:
        side = _nearest_size(max(height, width))
        raise DataValidationError(
            f"{where}: images are {height}x{width} (height x width); the image models need "
            f"square images. Crop or resize them, e.g. with torchvision.transforms.CenterCrop("
            f"{min(height, width)}) or Resize(({side}, {side}))."
        )
    check_size(height, f"{where}: image side")


def _resolve_scale(array: np.ndarray, value_range: str, where: str) -> str:
    """The scale to read ``array`` with: detected, or the explicit one once checked."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        count = int(array.size - np.isfinite(array).sum())
        raise DataValidationError(
            f"{where} contains {count} NaN or infinite pixel value(s); every pixel must be "
            "finite. Drop or repair those images."
        )
    if value_range == _AUTO_FROM_DTYPE and array.dtype.kind == "f":
        raise DataValidationError(
            f"{where} holds float pixels, and value_range='auto' would choose between [0, 1] "
            "and [-1, 1] from their values. With differential privacy that choice is a release "
            "about the private images that nothing accounts for, so state the range: "
            "value_range='unit' ([0, 1]) or 'signed' ([-1, 1]), or pass uint8 images (0..255, "
            "a range the dtype gives)."
        )
    if value_range in ("auto", _AUTO_FROM_DTYPE):
        return detect_scale(array, where)  # integers and booleans: from the dtype
    low, high = float(array.min()), float(array.max())
    lower, upper = _VALUE_RANGES[value_range]
    slack = RANGE_TOLERANCE * (upper - lower)  # rounding overshoot, clipped when read
    if low < lower - slack or high > upper + slack:
        raise DataValidationError(
            f"{where} holds values from {low:g} to {high:g}, outside value_range="
            f"{value_range!r} ([{lower:g}, {upper:g}]); pass the range the data is in, or "
            "value_range='auto' to detect it."
        )
    return value_range


def _quantise(image_set: ImageSet) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` of ``round(255 x)``, converted a chunk at a time."""
    n = len(image_set)
    out = torch.empty((n, *image_set.shape), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        index = np.arange(start, min(start + _CHUNK, n))
        block = image_set.take(index)  # (chunk, C, H, W) float32 in [0, 1]
        out[start : start + len(index)] = block.mul_(255.0).round_().to(torch.uint8)
    return out


# -- labels ------------------------------------------------------------------------------------
def _encode(labels, n: int, where: str) -> tuple[torch.Tensor | None, tuple]:
    """Labels as int64 codes into sorted unique values, and those values as python objects."""
    if labels is None:
        return None, ()
    values = _label_values(labels, where)
    if len(values) != n:
        raise DataValidationError(
            f"{where}: {len(values)} labels for {n} images; pass exactly one label per image."
        )
    classes, codes = np.unique(values, return_inverse=True)
    codes = torch.from_numpy(codes.reshape(-1).astype(np.int64))
    return codes, tuple(value.item() for value in classes)  # np.int64 -> int, np.str_ -> str


def _label_values(labels, where: str) -> np.ndarray:
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


# -- datasets, folders and files ----------------------------------------------------------------
def _read_dataset(dataset, labels, value_range: str, name: str) -> ImageData:
    source = f"dataset {type(dataset).__name__}"
    where = f"{name} ({source})"
    if labels is not None:
        raise DataValidationError(
            f"{where}: labels come from the dataset's items; do not pass labels= as well."
        )
    n = len(dataset)
    _check_count(n, where)
    items = (_dataset_item(dataset[i], f"{where} item {i}") for i in range(n))
    pixels, item_labels = _stack(items, n, lambda i: f"item {i}", where)
    return _from_array(pixels, _item_labels(item_labels, where), value_range, name, source)


def _dataset_item(item, where: str) -> Item:
    """``(pixels (C, H, W), label or None)`` of a dataset item: an image or (image, label)."""
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise DataValidationError(
                f"{where} is a sequence of {len(item)}; dataset items must be an image or an "
                "(image, label) pair."
            )
        image, label = item
    else:
        image, label = item, None
    if isinstance(label, (torch.Tensor, np.ndarray, np.generic)):
        label = label.item()  # a 0-d tensor or numpy scalar -> python int or str
    return _to_chw(image, where), label


def _to_chw(image, where: str) -> np.ndarray:
    """One image (PIL, tensor, array) as ``(C, H, W)``, keeping its dtype."""
    array = _pil_pixels(image, where) if isinstance(image, Image.Image) else as_numpy(image, where)
    if array.ndim == 2:
        return array[None]  # (1, H, W)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        return array  # (C, H, W), the torch convention
    if array.ndim == 3 and array.shape[2] in (1, 3):
        return array.transpose(2, 0, 1)  # (H, W, C) -> (C, H, W)
    raise DataValidationError(
        f"{where} is an image of shape {array.shape}; expected (H, W), (C, H, W) or (H, W, C) "
        "with C in {1, 3}."
    )


def _item_labels(labels: list, where: str) -> list | None:
    """Per-item labels, or None when no item has one; a partly labelled dataset is an error."""
    missing = [i for i, label in enumerate(labels) if label is None]
    if len(missing) == len(labels):
        return None
    if missing:
        raise DataValidationError(
            f"{where}: item {missing[0]} has no label but others do ({len(missing)} of "
            f"{len(labels)} items lack one); every item must be an (image, label) pair, or none."
        )
    return labels


def _stack(
    items: Iterator[Item], n: int, describe: Callable[[int], str], where: str
) -> tuple[np.ndarray, list]:
    """Collect ``n`` items into one ``(n, C, H, W)`` array (preallocated: no second copy).

    Grayscale items are widened to RGB as soon as a colour item appears. Items whose pixels are
    None (unreadable files) are skipped; the caller reports them.
    """
    buffer, first, labels = None, 0, []
    progress = tqdm(
        items, total=n, desc=f"reading {where}", unit="image", disable=n <= _PROGRESS_FROM
    )
    for i, (pixels, label) in enumerate(progress):
        labels.append(label)
        if pixels is None:
            continue
        if buffer is None:  # the first image sets size and dtype; check it before reading on
            _check_geometry(pixels.shape, f"{where}: {describe(i)}")
            buffer, first = np.empty((n, *pixels.shape), dtype=pixels.dtype), i
        buffer = _fit(buffer, pixels, lambda a=first, b=i: (describe(a), describe(b)), where)
        buffer[i] = pixels  # (1, H, W) broadcasts into a 3-channel buffer
    if buffer is None:
        raise DataValidationError(f"{where} holds no readable images.")
    return buffer, labels


def _fit(buffer: np.ndarray, pixels: np.ndarray, names: Callable, where: str) -> np.ndarray:
    """``buffer``, widened to RGB if ``pixels`` is colour; raise if ``pixels`` cannot join it.

    ``names()`` gives the first image's and this image's names, for messages.
    """
    if pixels.shape[1:] != buffer.shape[2:]:
        first, this = names()
        (height, width), (other_height, other_width) = buffer.shape[2:], pixels.shape[1:]
        raise DataValidationError(
            f"{where}: images differ in size: {first} is {height}x{width} but {this} is "
            f"{other_height}x{other_width}. Resize them to one size first, e.g. with "
            f"torchvision.transforms.Resize({height})."
        )
    if _number_kind(pixels.dtype) != _number_kind(buffer.dtype):
        first, this = names()
        raise DataValidationError(
            f"{where}: {this} has {pixels.dtype} pixels but {first} has {buffer.dtype}; "
            "all images must share one value range (all integers 0..255, or all floats)."
        )
    if pixels.dtype != buffer.dtype:
        buffer = buffer.astype(np.result_type(buffer, pixels))
    if pixels.shape[0] == 3 and buffer.shape[1] == 1:
        buffer = np.repeat(buffer, 3, axis=1)  # grey, as RGB: the three channels equal
    return buffer


def _number_kind(dtype: np.dtype) -> str:
    return "integer" if dtype.kind in "iu" else dtype.kind


def _pil_pixels(image: Image.Image, where: str) -> np.ndarray:
    """``(H, W)`` or ``(H, W, 3)`` uint8 pixels of a PIL image (modes: see read_images)."""
    mode = image.mode
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode in ("1", "LA"):
        return np.asarray(image.convert("L"))  # bilevel -> 0/255; alpha dropped
    if mode == "I" or mode.startswith("I;16"):
        return _from_16_bit(np.asarray(image), where)
    if mode == "F":
        raise DataValidationError(
            f"{where} is a 32-bit float image (PIL mode 'F'), whose value range is unknown; "
            "convert it to 8-bit first (e.g. with numpy, then PIL.Image.fromarray)."
        )
    if mode in ("P", "PA"):
        image = image.convert("RGBA")  # palette transparency becomes alpha, dropped below
    return np.asarray(image.convert("RGB"))


def _from_16_bit(values: np.ndarray, where: str) -> np.ndarray:
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > 65535:
        raise DataValidationError(
            f"{where} is a 32-bit integer image with values {low}..{high}; only 8- and 16-bit "
            "images can be read. Convert it to 8-bit first."
        )
    return np.rint(values / 257.0).astype(np.uint8)  # 65535 / 257 = 255 exactly


def _read_path(path: Path, labels, value_range: str, name: str) -> ImageData:
    if not path.exists():
        raise FileNotFoundError(
            errno.ENOENT, f"{name}: no such folder or .npz file (check the path)", str(path)
        )
    if path.is_dir():
        return _read_folder(path, labels, value_range, name)
    if path.suffix.lower() == ".npz":
        return _read_npz(path, labels, value_range, name)
    raise DataValidationError(
        f"{name} is the file {path}; expected a folder of image files (flat, or with one "
        "sub-folder per class) or a .npz file. To read image files, put them in a folder."
    )


def _read_folder(root: Path, labels, value_range: str, name: str) -> ImageData:
    source = f"folder {root}"
    where = f"{name} ({source})"
    files, folder_labels = _list_folder(root, where)
    if folder_labels is not None and labels is not None:
        raise DataValidationError(
            f"{where}: labels come from the class sub-folders; do not pass labels= as well."
        )
    _check_count(len(files), where)
    unreadable: list[Path] = []
    items = _folder_items(files, folder_labels or [None] * len(files), unreadable)
    names = [str(path.relative_to(root)) for path in files]
    pixels, _ = _stack(items, len(files), names.__getitem__, where)
    if unreadable:
        _raise_not_images(unreadable, where, "PIL cannot open them")
    given = folder_labels if folder_labels is not None else labels
    return _from_array(pixels, given, value_range, name, source)


def _folder_items(files: list[Path], labels: list, unreadable: list[Path]) -> Iterator[Item]:
    for path, label in zip(files, labels, strict=True):
        try:
            with Image.open(path) as image:
                pixels = _pil_pixels(image, str(path))  # reads the pixels while open
        except (OSError, SyntaxError):  # not an image, or a damaged one
            unreadable.append(path)
            pixels = None
        yield (None if pixels is None else _to_chw(pixels, str(path))), label


def _list_folder(root: Path, where: str) -> tuple[list[Path], list[str] | None]:
    """Image files in read order and, for the class-folder layout, their class names."""
    entries = sorted(path for path in root.iterdir() if not path.name.startswith("."))
    folders = [path for path in entries if path.is_dir()]
    loose = [path for path in entries if not path.is_dir()]
    if folders and loose:
        raise DataValidationError(
            f"{where} holds both sub-folders ({_shorten_paths(folders, root)}) and files "
            f"({_shorten_paths(loose, root)}); use one layout: images directly in the folder "
            "(unlabelled), or only class sub-folders holding the images."
        )
    if not folders:
        files, labels = loose, None
    else:
        per_class = [(folder.name, _walk(folder)) for folder in folders]
        empty = [label for label, found in per_class if not found]
        if empty:
            raise DataValidationError(
                f"{where}: class folder(s) {_shorten(empty)} hold no files; remove them or add "
                "their images."
            )
        files = [path for _, found in per_class for path in found]
        labels = [label for label, found in per_class for _ in found]
    if not files:
        raise DataValidationError(f"{where} is empty; it must hold image files.")
    others = [path for path in files if path.suffix.lower() not in IMAGE_EXTENSIONS]
    if others:
        _raise_not_images(others, where, f"extensions other than {' '.join(IMAGE_EXTENSIONS)}")
    return files, labels


def _walk(folder: Path) -> list[Path]:
    """Every non-hidden file below ``folder``, sorted, skipping hidden sub-folders."""
    found = []
    for directory, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(sub for sub in subfolders if not sub.startswith("."))
        found.extend(Path(directory) / name for name in sorted(names) if name[0] != ".")
    return found


def _shorten_paths(paths: list[Path], root: Path) -> str:
    return _shorten([str(path.relative_to(root)) for path in paths], _LISTED)


def _raise_not_images(paths: list[Path], where: str, why: str) -> None:
    raise DataValidationError(
        f"{where}: {len(paths)} file(s) are not images ({why}): "
        f"{_shorten([str(path) for path in paths], _LISTED)}. Move them out of the folder "
        "(names starting with '.' are ignored)."
    )


def _read_npz(path: Path, labels, value_range: str, name: str) -> ImageData:
    source = f"file {path}"
    where = f"{name} ({source})"
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            image_key = next((key for key in _NPZ_IMAGE_KEYS if key in keys), None)
            label_key = next((key for key in _NPZ_LABEL_KEYS if key in keys), None)
            images = None if image_key is None else archive[image_key]
            stored = None if label_key is None else archive[label_key]
    except (OSError, ValueError, zipfile.BadZipFile) as error:  # not a zip, or pickled arrays
        raise DataValidationError(
            f"{where} cannot be read as a .npz of plain arrays ({error}); save it with "
            "np.savez(path, images=..., labels=...) from numeric or string arrays."
        ) from None
    if images is None:
        raise DataValidationError(
            f"{where} has no images under {' / '.join(_NPZ_IMAGE_KEYS)}; it holds "
            f"{keys or 'nothing'}. Save the images under the key 'images'."
        )
    if stored is not None and labels is not None:
        raise DataValidationError(
            f"{where} holds labels under {label_key!r}; do not pass labels= as well."
        )
    return _from_array(images, stored if stored is not None else labels, value_range, name, source)


# ---------------------------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------------------------
def write_images(
    path, images: np.ndarray, labels=None, classes=(), *, overwrite: bool = False
) -> Path:
    """Write images to a ``.npz`` file or a folder of PNG files, atomically.

    Both read back with :func:`read_images`.

    Parameters
    ----------
    path : str or PathLike
        Ending in ``.npz`` (any case): a compressed archive with ``images`` ``(N, H, W, C)``
        uint8 and, when labelled, ``labels`` (the original values, as int64 or unicode: no
        pickled objects). Otherwise a folder, which must not exist or be empty: PNG files
        ``00000.png``, ``00001.png`` ... or, when labelled, ``<class>/<index>.png`` (class
        names with characters other than letters, digits, ``-``, ``_``, ``.`` and space
        replaced by ``_``, and a leading ``.`` prefixed with ``_``). Reading the folder back
        gives the class names as strings: class 3 comes back as ``"3"``.
    images : ndarray
        uint8 ``(N, H, W, C)`` with ``C`` in {1, 3}, or ``(N, H, W)``.
    labels : sequence or Tensor, optional
        One per image: codes into ``classes`` when ``classes`` is given, else the label values
        themselves (integers or strings).
    classes : sequence, default ()
        The label values the codes in ``labels`` stand for (:attr:`ImageData.classes`).
    overwrite : bool, default False
        Replace an existing file, or an existing folder that holds only PNG files (at most one
        sub-folder deep, as written here); a folder holding anything else is never deleted.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        The destination exists and ``overwrite`` is false, or it is a folder holding other
        files.
    DataValidationError
        Images not uint8 ``(N, H, W, C)``, labels not one per image, class names that collide
        once made safe for the file system.
    """
    pixels = _check_nhwc(images)
    values = _label_list(labels, classes, len(pixels))
    target = Path(path)
    if target.suffix.lower() == ".npz":
        _write_npz(target, pixels, values, overwrite)
    else:
        _write_folder(target, pixels, values, overwrite)
    return target


def _check_nhwc(images) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        found = images.dtype if hasattr(images, "dtype") else type(images).__name__
        raise DataValidationError(
            f"images must be a uint8 numpy array (N, H, W, C), got {found}; for ImageData use "
            "data.images.permute(0, 2, 3, 1).numpy()."
        )
    pixels = images[..., None] if images.ndim == 3 else images  # (N, H, W) -> (N, H, W, 1)
    if pixels.ndim != 4 or pixels.shape[3] not in (1, 3) or len(pixels) == 0:
        raise DataValidationError(
            f"images has shape {images.shape}; expected (N, H, W, C) with N >= 1 and C in "
            "{1, 3}, or (N, H, W)."
        )
    return pixels


def _label_list(labels, classes, n: int) -> np.ndarray | None:
    """The original label values as an int64 or unicode array, one per image."""
    if labels is None:
        return None
    if len(classes):
        codes = _label_values(labels, "labels")
        if codes.dtype.kind != "i" or codes.min() < 0 or codes.max() >= len(classes):
            raise DataValidationError(
                f"labels must be codes in 0..{len(classes) - 1} indexing classes (given), or "
                "the label values themselves with classes=()."
            )
        labels = np.asarray(list(classes), dtype=object)[codes]
    values = _label_values(labels, "labels")
    if len(values) != n:
        raise DataValidationError(f"{len(values)} labels for {n} images; pass one per image.")
    return values


def _write_npz(target: Path, pixels: np.ndarray, values, overwrite: bool) -> None:
    arrays = {"images": pixels} if values is None else {"images": pixels, "labels": values}
    # An open file, not a name: numpy would append ".npz" to the temporary file's name.
    with atomic_path(target, overwrite=overwrite) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _write_folder(target: Path, pixels: np.ndarray, values, overwrite: bool) -> None:
    if overwrite:
        _check_replaceable(target)
    names = _png_names(len(pixels), values)
    with atomic_directory(target, overwrite=overwrite) as tmp:
        for sub in {name.parent for name in names} - {Path(".")}:
            (tmp / sub).mkdir()
        for name, image in zip(names, pixels, strict=True):
            grey = image.shape[2] == 1
            Image.fromarray(image[:, :, 0] if grey else image).save(tmp / name, format="PNG")


def _png_names(n: int, values: np.ndarray | None) -> list[Path]:
    width = max(5, len(str(n - 1)))  # zero-padded, so file-name order is image order
    files = [f"{i:0{width}d}.png" for i in range(n)]
    if values is None:
        return [Path(file) for file in files]
    folders = _class_folders(np.unique(values).tolist())
    return [Path(folders[value]) / file for value, file in zip(values.tolist(), files, strict=True)]


def _class_folders(classes: list) -> dict:
    """A file-system-safe folder name per class; names equal up to case are refused."""
    folders = {}
    for value in classes:
        folder = re.sub(r"[^\w\-. ]", "_", str(value)).strip() or "_"
        folders[value] = "_" + folder if folder.startswith(".") else folder  # not hidden
    seen: dict[str, object] = {}
    for value, folder in folders.items():
        clash = seen.setdefault(folder.casefold(), value)
        if clash != value:
            raise DataValidationError(
                f"classes {clash!r} and {value!r} both become the folder {folder!r} (names are "
                "made safe and compared ignoring case); rename one, or write a .npz file."
            )
    return folders


def _check_replaceable(target: Path) -> None:
    """Refuse to replace a folder holding anything but PNG files (not our output: keep it)."""
    if not target.is_dir():
        return
    for entry in target.iterdir():
        inner = list(entry.iterdir()) if entry.is_dir() and entry.name[0] != "." else [entry]
        foreign = [path for path in inner if not _is_png_or_hidden_file(path)]
        if foreign:
            raise FileExistsError(
                errno.EEXIST,
                f"refusing to replace a folder that holds other files than PNG images (such as "
                f"{foreign[0]}), even with overwrite=True; choose another path or empty it",
                str(target),
            )


def _is_png_or_hidden_file(path: Path) -> bool:
    return path.is_file() and (path.suffix.lower() == ".png" or path.name.startswith("."))


def write_grid(path, images, nrow: int = 8, *, overwrite: bool = False) -> Path:
    """Write ``images`` as one PNG grid, atomically (torchvision's ``make_grid``, padding 2).

    Parameters
    ----------
    path : str or PathLike
        Destination file: JPEG when it ends in ``.jpg`` or ``.jpeg``, PNG otherwise.
    images : Tensor
        uint8 ``(n, C, H, W)``, ``C`` in {1, 3}, e.g. :attr:`ImageData.images`.
    nrow : int, default 8
        Images per row.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        ``path``. The grid is ``rows * (H + 2) + 2`` pixels high and ``min(nrow, n) * (W + 2)
        + 2`` wide, black between images (a single image is written without a border);
        grayscale images give a grayscale PNG.
    """
    from torchvision.utils import make_grid  # torchvision is slow to import; only here

    batch = torch.as_tensor(images)
    if (
        batch.dtype != torch.uint8
        or batch.ndim != 4
        or batch.shape[1] not in (1, 3)
        or not len(batch)
    ):
        raise DataValidationError(
            f"images must be a uint8 tensor (n, C, H, W) with n >= 1 and C in {{1, 3}}, got "
            f"{batch.dtype} {tuple(batch.shape)}."
        )
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow must be a positive integer (images per row), got {nrow!r}.")
    grid = make_grid(batch.detach().cpu(), nrow=nrow, padding=2)  # (3, height, width) uint8
    pixels = grid[0] if batch.shape[1] == 1 else grid.permute(1, 2, 0)  # grey: 3 equal planes
    with atomic_path(path, overwrite=overwrite) as tmp:
        jpeg = Path(path).suffix.lower() in (".jpg", ".jpeg")
        Image.fromarray(np.ascontiguousarray(pixels.numpy())).save(tmp, "JPEG" if jpeg else "PNG")
    return Path(path)
