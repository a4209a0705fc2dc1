"""Writing images: :func:`write_images` (``.npz`` or PNG folders) and :func:`write_grid`.

:func:`write_images` writes generated images to a ``.npz`` file or a folder of PNG files (class
sub-folders when labelled), which :func:`~synthgan.image.readers.read_images` reads back;
:func:`write_grid` writes a grid of images as one PNG or JPEG (the layout is
:func:`synthgan.io.grid.grid_array`'s). Every write is atomic and never replaces existing files
unasked (DESIGN.md §5).
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from synthgan.exceptions import DataValidationError
from synthgan.image.labels import label_values
from synthgan.io.atomic import atomic_directory, atomic_path
from synthgan.io.grid import grid_array, write_grid_image

__all__ = ["write_grid", "write_images"]


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
        codes = label_values(labels, "labels")
        if codes.dtype.kind != "i" or codes.min() < 0 or codes.max() >= len(classes):
            raise DataValidationError(
                f"labels must be codes in 0..{len(classes) - 1} indexing classes (given), or "
                "the label values themselves with classes=()."
            )
        labels = np.asarray(list(classes), dtype=object)[codes]
    values = label_values(labels, "labels")
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
    folders = class_folders(np.unique(values).tolist())
    return [Path(folders[value]) / file for value, file in zip(values.tolist(), files, strict=True)]


def class_folders(classes: list) -> dict:
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
    """Write ``images`` as one PNG grid, atomically (black padding of 2 pixels).

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
    batch = torch.as_tensor(images)  # a numpy array or a nested list as well
    # A single image has no border, as torchvision's make_grid (which this replaced) wrote it.
    single = batch.ndim == 4 and len(batch) == 1
    grid = grid_array(batch, nrow, padding=0 if single else 2)  # (height, width, C), black
    return write_grid_image(path, grid, overwrite=overwrite)
