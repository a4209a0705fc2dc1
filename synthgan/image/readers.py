"""Reading training images: :func:`read_images` and its helpers (DESIGN.md §1, §5).

:func:`read_images` turns every accepted input, a numpy array, a torch tensor, a nested list, a
map-style dataset (a torchvision dataset, say), a folder of image files or a ``.npz`` file, into
one :class:`~synthgan.image.dataset.ImageData`. Everything is checked once, here, with errors
that name the input and say how to fix it.

Images of any size up to 1024 pixels a side load, square or not: the size rules of a network
(the DCGAN's sides, :func:`synthgan.image.networks.check_size`) are checked by the model that
has them, so an image-to-image translator can read 256x256 or 256x512 images here too.
"""

from __future__ import annotations

import errno
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from synthgan.exceptions import DataValidationError
from synthgan.image.dataset import ImageData
from synthgan.image.labels import code_labels, shorten
from synthgan.io.images import RANGE_TOLERANCE, ImageSet, as_numpy, detect_layout, detect_scale
from synthgan.io.streams import STREAM_FILES

__all__ = ["IMAGE_EXTENSIONS", "MAX_SIDE", "read_images"]

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
# Longest side read. A guard against reading photographs unresized (a 4000x3000 one takes 36 MB
# as uint8), not a limit of the models: 1024 x 1024 RGB images take 3 MB each.
MAX_SIDE = 1024
_VALUE_RANGES = {"uint8": (0.0, 255.0), "unit": (0.0, 1.0), "signed": (-1.0, 1.0)}
_AUTO_FROM_DTYPE = "auto, from the dtype only"  # read_images(detect_float_range=False)
_PROGRESS_FROM = 2000  # a progress bar for more items than this (reading 2,000 takes ~1 s)
_CHUNK = 4096  # images converted at a time, so a float copy of the whole set is never made
_LISTED = 5  # offending files named in an error message
_NPZ_IMAGE_KEYS = ("images", "x_train", "x")
_NPZ_LABEL_KEYS = ("labels", "y_train", "y")

Item = tuple[np.ndarray | None, object]  # (C, H, W) pixels, or None for an unreadable file; label


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
          anywhere below it. Names starting with ``"."`` are ignored, and so are the
          ``_synthgan.json`` and ``_SUCCESS`` files of a ``sample_to`` folder;
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
        Fewer than 2 images, images with a side above 1024 pixels (:data:`MAX_SIDE`), of
        different sizes, with other than 1 or 3 channels, of a non-numeric dtype, with NaN,
        infinite or out-of-range values; files that are not images; labels that do not match
        the images. Any other size reads, square or not: a model with size rules (the DCGAN's,
        :func:`synthgan.image.networks.check_size`) checks them when it fits.
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
    codes, classes = code_labels(labels, len(pixels), f"{name} labels")
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
    """Refuse empty images and sides above :data:`MAX_SIDE`; any other size reads."""
    _channels, height, width = shape  # channels are 1 or 3 once the layout is known
    if min(height, width) < 1:
        raise DataValidationError(
            f"{where}: images are {height}x{width} (height x width); every image needs at "
            "least one pixel."
        )
    longest = max(height, width)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        fitted = (max(1, round(height * scale)), max(1, round(width * scale)))
        raise DataValidationError(
            f"{where}: images are {height}x{width} (height x width), larger than the "
            f"{MAX_SIDE}-pixel side read here. Resize them first, e.g. with "
            f"torchvision.transforms.Resize({fitted}) (or PIL's Image.resize)."
        )


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
    entries = sorted(path for path in root.iterdir() if not _skipped(path.name))
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
                f"{where}: class folder(s) {shorten(empty)} hold no files; remove them or add "
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


def _skipped(name: str) -> bool:
    """Hidden names, and the manifest and marker of a ``sample_to`` folder."""
    return name.startswith(".") or name in STREAM_FILES


def _walk(folder: Path) -> list[Path]:
    """Every non-hidden file below ``folder``, sorted, skipping hidden sub-folders."""
    found = []
    for directory, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(sub for sub in subfolders if not sub.startswith("."))
        found.extend(Path(directory) / name for name in sorted(names) if name[0] != ".")
    return found


def _shorten_paths(paths: list[Path], root: Path) -> str:
    return shorten([str(path.relative_to(root)) for path in paths], _LISTED)


def _raise_not_images(paths: list[Path], where: str, why: str) -> None:
    raise DataValidationError(
        f"{where}: {len(paths)} file(s) are not images ({why}): "
        f"{shorten([str(path) for path in paths], _LISTED)}. Move them out of the folder "
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
