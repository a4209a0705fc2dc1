"""The one image-grid layout behind write_grid and the evaluation report's sample grids."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from synthgan.exceptions import DataValidationError
from synthgan.io.grid import CAPTION_HEIGHT, grid_array, grid_png_bytes, write_grid_image

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (5, 1, 4, 6), dtype=np.uint8)  # (n, C, H, W)
COLOUR = RNG.integers(0, 256, (5, 3, 4, 6), dtype=np.uint8)


@pytest.mark.parametrize("images", [GREY, COLOUR, torch.from_numpy(COLOUR)], ids=["1", "3", "t"])
def test_cells_are_placed_row_major_with_padding(images):
    grid = grid_array(images, nrow=3, padding=2, background=7)
    channels = images.shape[1]
    assert grid.dtype == np.uint8 and grid.shape == (2 * (4 + 2) + 2, 3 * (6 + 2) + 2, channels)
    pixels = np.asarray(images).transpose(0, 2, 3, 1)  # (n, H, W, C)
    for i in range(5):
        top, left = 2 + (i // 3) * 6, 2 + (i % 3) * 8
        np.testing.assert_array_equal(grid[top : top + 4, left : left + 6], pixels[i])
    assert (grid[:2] == 7).all() and (grid[:, :2] == 7).all()  # the frame
    assert (grid[6 + 2 :, 2 * 8 + 2 :] == 7).all()  # the empty sixth cell


def test_fewer_images_than_a_row_make_one_short_row_and_padding_may_be_zero():
    assert grid_array(GREY[:2], nrow=8).shape == (4 + 4, 2 * 8 + 2, 1)
    np.testing.assert_array_equal(grid_array(GREY[:1], padding=0)[:, :, 0], GREY[0, 0])


def test_captions_get_a_strip_above_each_image():
    grid = grid_array(COLOUR[:2], nrow=2, background=0, captions=["3", "x"])
    assert grid.shape == (CAPTION_HEIGHT + 4 + 2 + 2, 2 * (6 + 2) + 2, 3)
    assert grid[2 : 2 + CAPTION_HEIGHT].max() > 200  # light text on the black strip
    below = grid[2 + CAPTION_HEIGHT : 2 + CAPTION_HEIGHT + 4, 2:8]
    np.testing.assert_array_equal(below, COLOUR[0].transpose(1, 2, 0))  # image untouched


@pytest.mark.parametrize(
    ("images", "options", "error", "match"),
    [
        (GREY.astype(np.float32), {}, DataValidationError, "uint8 tensor or array"),
        (GREY[:0], {}, DataValidationError, "n >= 1"),
        (GREY[:, 0], {}, DataValidationError, r"\(n, C, H, W\)"),
        (GREY, {"nrow": 0}, ValueError, "nrow"),
        (GREY, {"nrow": True}, ValueError, "nrow"),
        (GREY, {"captions": ["a"]}, ValueError, "one per image"),
    ],
    ids=["float", "empty", "3-d", "nrow-0", "nrow-bool", "captions"],
)
def test_bad_arguments_are_refused(images, options, error, match):
    with pytest.raises(error, match=match):
        grid_array(images, **options)


def test_png_bytes_and_files_keep_grey_or_colour(tmp_path):
    for images, mode in ((GREY, "L"), (COLOUR, "RGB")):
        grid = grid_array(images, nrow=2)
        with Image.open(io.BytesIO(grid_png_bytes(grid))) as image:
            assert image.format == "PNG" and image.mode == mode
            np.testing.assert_array_equal(np.asarray(image).reshape(grid.shape), grid)
    path = write_grid_image(tmp_path / "grid.JPG", grid)
    with Image.open(path) as image:
        assert image.format == "JPEG" and image.size == (grid.shape[1], grid.shape[0])
    with pytest.raises(FileExistsError):
        write_grid_image(path, grid)
    write_grid_image(path, grid, overwrite=True)
