"""Image grids: many images laid out in rows, for a file or for a report (DESIGN.md §5, §6).

One layout serves the synthesizers' ``save_grid`` / ``synthgan sample-images grid.png``
(:func:`synthgan.image.writers.write_grid`) and the evaluation report's sample grids
(:func:`synthgan.evaluation.images.sample_grid_png`): :func:`grid_array` places the images,
``nrow`` to a row in reading order, in cells ``padding`` pixels apart and from the edge, on a
``background`` colour; with ``captions``, each cell gets a 12-pixel strip above its image with
its caption written in white. :func:`write_grid_image` writes a grid atomically (PNG or JPEG)
and :func:`grid_png_bytes` returns it as the bytes of a PNG file.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath, atomic_path

__all__ = ["CAPTION_HEIGHT", "grid_array", "grid_png_bytes", "write_grid_image"]

CAPTION_HEIGHT = 12  # pixels of the strip above a captioned image: one line of PIL's font
_JPEG_SUFFIXES = (".jpg", ".jpeg")


def grid_array(
    images,
    nrow: int = 8,
    *,
    padding: int = 2,
    background: int = 0,
    captions: Sequence[object] | None = None,
) -> np.ndarray:
    """Lay images out in a grid, ``nrow`` to a row, and return it as one image.

    Parameters
    ----------
    images : Tensor or ndarray
        uint8 ``(n, C, H, W)`` with ``n >= 1`` and ``C`` in {1, 3}.
    nrow : int, default 8
        Images per row.
    padding : int, default 2
        Pixels between cells and around the grid.
    background : int, default 0
        Grey level (0 black .. 255 white) of the padding and caption strips.
    captions : sequence, optional
        One caption per image (written with ``str``), above it in a strip of
        :data:`CAPTION_HEIGHT` pixels.

    Returns
    -------
    ndarray
        uint8 ``(height, width, C)``: ``height = rows * (caption + H + padding) + padding`` and
        ``width = min(nrow, n) * (W + padding) + padding``, with ``rows = ceil(n / nrow)`` and
        ``caption`` 12 with captions, else 0.
    """
    pixels = _check_images(images)  # (n, C, H, W)
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise ValueError(f"nrow must be a positive integer (images per row), got {nrow!r}.")
    if captions is not None and len(captions) != len(pixels):
        raise ValueError(
            f"captions holds {len(captions)} captions for {len(pixels)} images; give one per "
            "image, or None."
        )
    strip = 0 if captions is None else CAPTION_HEIGHT
    grid, corners = _place(pixels, int(nrow), padding, background, strip)
    return grid if captions is None else _write_captions(grid, corners, captions)


def write_grid_image(path: StrPath, grid: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write a grid of :func:`grid_array` atomically: JPEG for ``.jpg``/``.jpeg``, else PNG.

    A one-channel grid gives a grayscale file, a three-channel one an RGB file. Returns
    ``path`` as a :class:`pathlib.Path`; an existing file is replaced only with ``overwrite``.
    """
    jpeg = Path(path).suffix.lower() in _JPEG_SUFFIXES
    with atomic_path(path, overwrite=overwrite) as tmp:
        _as_pil(grid).save(tmp, "JPEG" if jpeg else "PNG")
    return Path(path)


def grid_png_bytes(grid: np.ndarray) -> bytes:
    """The content of a PNG file of a grid of :func:`grid_array` (grey or RGB, as it is)."""
    buffer = io.BytesIO()
    _as_pil(grid).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_images(images) -> np.ndarray:
    batch = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else images
    batch = np.asarray(batch)
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[1] not in (1, 3) or not len(batch):
        raise DataValidationError(
            f"images must be a uint8 tensor or array (n, C, H, W) with n >= 1 and C in "
            f"{{1, 3}}, got {batch.dtype} {batch.shape}."
        )
    return batch


def _place(pixels: np.ndarray, nrow: int, padding: int, background: int, strip: int):
    """The grid ``(height, width, C)`` and the top-left corner ``(x, y)`` of every cell."""
    n, channels, height, width = pixels.shape
    cols, rows = min(nrow, n), math.ceil(n / nrow)
    cell_h, cell_w = strip + height + padding, width + padding
    shape = (rows * cell_h + padding, cols * cell_w + padding, channels)
    grid = np.full(shape, background, dtype=np.uint8)
    corners = []
    for i, image in enumerate(pixels.transpose(0, 2, 3, 1)):  # (H, W, C) each
        top, left = padding + (i // nrow) * cell_h, padding + (i % nrow) * cell_w
        grid[top + strip : top + strip + height, left : left + width] = image
        corners.append((left, top))
    return grid, corners


def _write_captions(grid: np.ndarray, corners: list, captions: Sequence[object]) -> np.ndarray:
    image = _as_pil(grid)
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    white = 255 if image.mode == "L" else (255, 255, 255)
    for (left, top), caption in zip(corners, captions, strict=True):
        draw.text((left + 1, top), str(caption), fill=white, font=font)
    return np.array(image).reshape(grid.shape)  # a grey PIL image reads back as (H, W)


def _as_pil(grid: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(grid[:, :, 0] if grid.shape[2] == 1 else grid))
