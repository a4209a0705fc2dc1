"""Image input/output: every accepted input kind, value ranges, validation errors, writers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from synthgan.exceptions import DataValidationError
from synthgan.image import data as data_module
from synthgan.image import networks
from synthgan.image.data import (
    ImageData,
    read_images,
    write_grid,
    write_images,
)
from synthgan.image.networks import check_size, supported_sizes


def _digits(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """``n`` scikit-learn 8x8 digits as uint8 (n, 8, 8) in 0..255, and their labels."""
    bunch = load_digits()
    return np.rint(bunch.images[:n] * (255 / 16)).astype(np.uint8), bunch.target[:n]


DIGITS, TARGET = _digits()
EXPECTED = torch.from_numpy(DIGITS[:, None].copy())  # (12, 1, 8, 8)
COLOUR = np.stack([DIGITS, 255 - DIGITS, DIGITS // 2], axis=-1)  # (12, 8, 8, 3)
EXPECTED_COLOUR = torch.from_numpy(COLOUR.transpose(0, 3, 1, 2).copy())  # (12, 3, 8, 8)


class PairDataset:
    """A map-style dataset of (image, label) pairs, or bare images when labels is None."""

    def __init__(self, images: list, labels: list | None = None):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i] if self.labels is None else (self.images[i], self.labels[i])


def _save(folder, names_and_images: dict) -> None:
    """Write each (relative name -> PIL image) below ``folder``."""
    for name, image in names_and_images.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)


# --------------------------------------------------------------------------------------------
# Sizes.
# --------------------------------------------------------------------------------------------
def test_supported_sizes_are_four_or_seven_times_powers_of_two():
    assert supported_sizes() == [8, 14, 16, 28, 32, 56, 64, 112, 128]
    check_size(28)
    with pytest.raises(DataValidationError, match=r"31 is not supported.*Resize\(32\)"):
        check_size(31)
    with pytest.raises(DataValidationError, match=r"^side 10 is not supported.*8, 14, 16"):
        check_size(10, name="side")


def test_size_rules_are_the_networks_and_still_importable_from_data():
    import synthgan.image

    assert data_module.check_size is networks.check_size is synthgan.image.check_size
    assert data_module.supported_sizes is networks.supported_sizes
    assert synthgan.image.supported_sizes is networks.supported_sizes


@pytest.mark.parametrize("side", [10, 256])
def test_arrays_of_any_side_load(side):
    """The readers no longer apply the DCGAN's sides: a translator reads 256x256 images."""
    pictures = np.random.default_rng(side).integers(0, 256, (3, side, side, 3), dtype=np.uint8)
    data = read_images(pictures)
    assert (data.n_images, data.channels, data.height, data.width) == (3, 3, side, side)
    assert data.size == side
    assert torch.equal(data.images, torch.from_numpy(pictures.transpose(0, 3, 1, 2).copy()))


@pytest.mark.parametrize("side", [10, 256])
def test_folders_of_pngs_of_any_side_load(tmp_path, side):
    pictures = np.random.default_rng(side).integers(0, 256, (3, side, side), dtype=np.uint8)
    _save(tmp_path, {f"{i}.png": Image.fromarray(pictures[i]) for i in range(3)})
    data = read_images(tmp_path)
    assert (data.n_images, data.channels, data.size) == (3, 1, side)
    assert torch.equal(data.images, torch.from_numpy(pictures[:, None].copy()))


def test_non_square_images_load_and_only_size_refuses_them(tmp_path):
    pictures = np.arange(2 * 8 * 16, dtype=np.uint8).reshape(2, 8, 16)
    _save(tmp_path, {f"{i}.png": Image.fromarray(pictures[i]) for i in range(2)})
    for given in (pictures, tmp_path):
        data = read_images(given)
        assert (data.height, data.width) == (8, 16)
        assert torch.equal(data.images, torch.from_numpy(pictures[:, None].copy()))
        with pytest.raises(DataValidationError, match=r"8x16 \(height x width\).*square"):
            _ = data.size


# --------------------------------------------------------------------------------------------
# In-memory inputs.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    [
        DIGITS,  # (N, H, W)
        DIGITS[..., None],  # (N, H, W, 1)
        DIGITS[:, None],  # (N, 1, H, W)
        DIGITS.astype(np.int32),  # any integer dtype in 0..255
        torch.from_numpy(DIGITS),
        DIGITS.tolist(),
        DIGITS / 255.0,  # unit floats
        (DIGITS / 127.5 - 1.0).astype(np.float32),  # signed floats
        torch.from_numpy(DIGITS[:, None] / 255.0).float(),
    ],
    ids=["nhw", "nhw1", "n1hw", "int32", "tensor", "list", "unit", "signed", "tensor-unit"],
)
def test_grey_arrays_tensors_and_lists_read_alike(given):
    data = read_images(given)
    assert data.images.dtype == torch.uint8 and data.images.is_contiguous()
    assert torch.equal(data.images, EXPECTED)
    assert (data.n_images, data.channels, data.size, data.n_classes) == (12, 1, 8, 0)
    assert data.labels is None and data.classes == ()


@pytest.mark.parametrize(
    "given",
    [COLOUR, COLOUR.transpose(0, 3, 1, 2), torch.from_numpy(COLOUR), COLOUR / 255.0],
    ids=["nhwc", "nchw", "tensor", "unit"],
)
def test_colour_layouts_read_as_nchw(given):
    assert torch.equal(read_images(given).images, EXPECTED_COLOUR)


def test_sources_are_described():
    assert read_images(DIGITS).source == "numpy array"
    assert read_images(torch.from_numpy(DIGITS)).source == "torch tensor"
    assert read_images(DIGITS.tolist()).source == "nested list"


def test_booleans_read_as_black_and_white():
    data = read_images(DIGITS > 127)
    assert torch.equal(data.images, torch.from_numpy(np.where(DIGITS > 127, 255, 0)[:, None]))


# --------------------------------------------------------------------------------------------
# Value ranges.
# --------------------------------------------------------------------------------------------
def test_explicit_signed_range_reads_data_without_negatives_as_signed():
    upper = np.clip(DIGITS / 127.5 - 1.0, 0.0, 1.0)  # [-1, 1] data with no negative value
    expected = np.rint((upper + 1.0) / 2.0 * 255.0).astype(np.uint8)[:, None]
    assert torch.equal(read_images(upper, value_range="signed").images, torch.from_numpy(expected))
    auto = read_images(upper).images  # detected as [0, 1]: why an explicit range exists
    assert torch.equal(auto, torch.from_numpy(np.rint(upper * 255.0).astype(np.uint8)[:, None]))


def test_explicit_uint8_and_unit_ranges():
    assert torch.equal(read_images(DIGITS.astype(float), value_range="uint8").images, EXPECTED)
    ones = read_images((DIGITS > 127).astype(np.uint8), value_range="unit").images
    assert set(ones.unique().tolist()) == {0, 255}


@pytest.mark.parametrize(
    ("given", "value_range", "match"),
    [
        (DIGITS / 255.0 - 0.5, "unit", r"from -0\.5 to 0\.5, outside value_range='unit'"),
        (DIGITS / 100.0, "signed", r"from 0 to 2\.55, outside value_range='signed'"),
        (DIGITS.astype(float) - 1.0, "uint8", r"from -1 to 254"),
    ],
)
def test_data_outside_an_explicit_range_is_refused_naming_min_and_max(given, value_range, match):
    with pytest.raises(DataValidationError, match=match):
        read_images(given, value_range=value_range)


def test_unknown_value_range_is_refused():
    with pytest.raises(ValueError, match="value_range must be"):
        read_images(DIGITS, value_range="0-255")


# --------------------------------------------------------------------------------------------
# Labels and ImageData.
# --------------------------------------------------------------------------------------------
def test_integer_labels_become_codes_with_python_int_classes():
    data = read_images(DIGITS, TARGET + 10)
    assert data.classes == tuple(range(10, 20)) and type(data.classes[0]) is int
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == TARGET.tolist()
    json.dumps(data.classes)  # serialisable


def test_string_labels_are_sorted_classes():
    names = ["odd" if value % 2 else "even" for value in TARGET]
    data = read_images(DIGITS, names)
    assert data.classes == ("even", "odd") and type(data.classes[0]) is str
    assert data.decode_labels(data.labels) == names


def test_whole_float_labels_and_tensor_labels_are_integers():
    assert read_images(DIGITS, TARGET.astype(float)).classes == tuple(range(10))
    assert read_images(DIGITS, torch.from_numpy(TARGET)).labels.tolist() == TARGET.tolist()


def test_to_model_range_maps_0_255_to_minus_one_one():
    data = read_images(DIGITS)
    full = data.to_model_range()
    assert full.dtype == torch.float32 and tuple(full.shape) == (12, 1, 8, 8)
    torch.testing.assert_close(full, EXPECTED.float() / 127.5 - 1.0)
    assert full.min() >= -1.0 and full.max() <= 1.0
    index = torch.tensor([3, 0])
    torch.testing.assert_close(data.to_model_range(index), full[index])


def test_encode_labels_maps_values_and_lists_the_classes_of_unknown_ones():
    data = read_images(DIGITS, TARGET)
    assert data.encode_labels([3, 0]).tolist() == [3, 0]
    assert data.encode_labels("7").tolist() == [7]  # digits typed on a command line
    with pytest.raises(DataValidationError, match=r"unknown class label 12.*0, 1, 2"):
        data.encode_labels([12])
    strings = read_images(DIGITS, [str(value) for value in TARGET])
    assert strings.encode_labels([4]).tolist() == [4]  # int names the class "4"
    with pytest.raises(DataValidationError, match="unlabelled"):
        read_images(DIGITS).encode_labels([0])


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (TARGET[:3], "3 labels for 12 images"),
        (np.where(TARGET == 3, np.nan, TARGET), "NaN"),
        ([None, *TARGET[1:].tolist()], "None or NaN"),
        (["a", *TARGET[1:].tolist()], "mix value types"),
        (TARGET + 0.5, "fractional"),
        (TARGET[:, None], "1-D"),
    ],
    ids=["length", "nan", "none", "mixed", "fractional", "2-d"],
)
def test_bad_labels_are_refused(labels, match):
    with pytest.raises(DataValidationError, match=match):
        read_images(DIGITS, labels)


# --------------------------------------------------------------------------------------------
# Bad images.
# --------------------------------------------------------------------------------------------
RAGGED = [[[0] * 8] * 8, [[0] * 8] * 7]


@pytest.mark.parametrize(
    ("given", "match"),
    [
        (np.zeros((2, 1025, 512), np.uint8), r"1025x512.*1024.*Resize\(\(1024, 512\)\)"),
        (np.zeros((3, 0, 8), np.uint8), "at least one pixel"),
        (np.zeros((3, 8, 8, 2), np.uint8), "1 or 3 channels"),
        (np.zeros((3, 4, 8, 8), np.uint8), "1 or 3 channels"),
        (np.zeros((3, 8, 8), object), "dtype object"),
        (np.zeros((3, 8, 8), complex), "dtype complex"),
        (np.full((3, 8, 8), "a"), "dtype <U1"),
        (np.full((3, 8, 8), np.nan), "NaN"),
        (np.full((3, 8, 8), np.inf), "infinite"),
        (np.full((3, 8, 8), 300), "0..255"),
        (np.full((3, 8, 8), 3.0), "floats from 3 to 3"),
        (np.zeros((1, 8, 8), np.uint8), "a single image"),
        (np.zeros((0, 8, 8), np.uint8), "no images"),
        (np.zeros((8, 8), np.uint8), "2 dimension"),
        (RAGGED, "ragged"),
    ],
    ids=[
        "too-large",
        "no-pixels",
        "channels-last",
        "channels-first",
        "object",
        "complex",
        "strings",
        "nan",
        "inf",
        "int-range",
        "float-range",
        "single",
        "empty",
        "2-d",
        "ragged",
    ],
)
def test_bad_images_raise_data_validation_errors(given, match):
    with pytest.raises(DataValidationError, match=match):
        read_images(given)


def test_error_messages_name_the_argument():
    with pytest.raises(DataValidationError, match=r"^real \(numpy array\)"):
        read_images(np.zeros((1, 8, 8), np.uint8), name="real")


def test_unsupported_input_kind_is_a_type_error():
    with pytest.raises(TypeError, match="got int"):
        read_images(42)


# --------------------------------------------------------------------------------------------
# Datasets.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "images",
    [
        [Image.fromarray(image) for image in DIGITS],  # PIL "L"
        [torch.from_numpy(image[None] / 255.0).float() for image in DIGITS],  # ToTensor (1,H,W)
        list(DIGITS),  # (H, W) arrays
        [image[..., None] for image in DIGITS],  # (H, W, 1) arrays
    ],
    ids=["pil", "to-tensor", "hw", "hw1"],
)
def test_datasets_of_pairs_read_images_and_labels(images):
    data = read_images(PairDataset(images, TARGET.tolist()))
    assert torch.equal(data.images, EXPECTED)
    assert data.labels.tolist() == TARGET.tolist() and data.classes == tuple(range(10))
    assert data.source == "dataset PairDataset"


def test_dataset_of_bare_images_is_unlabelled():
    data = read_images(PairDataset([Image.fromarray(image) for image in COLOUR]))
    assert torch.equal(data.images, EXPECTED_COLOUR) and data.labels is None


def test_torchvision_dataset_with_and_without_to_tensor_reads_the_same():
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    plain = read_images(FakeData(size=6, image_size=(3, 8, 8), num_classes=3))
    tensors = read_images(
        FakeData(size=6, image_size=(3, 8, 8), num_classes=3, transform=ToTensor())
    )
    assert plain.images.shape == (6, 3, 8, 8) and plain.source == "dataset FakeData"
    assert torch.equal(plain.images, tensors.images)
    assert torch.equal(plain.labels, tensors.labels) and set(plain.classes) <= {0, 1, 2}


def test_dataset_mixing_grey_and_colour_reads_all_as_rgb():
    images = [Image.fromarray(DIGITS[0]), Image.fromarray(COLOUR[1])]
    data = read_images(PairDataset(images))
    assert data.channels == 3
    assert torch.equal(data.images[0], torch.from_numpy(np.repeat(DIGITS[:1], 3, axis=0)))
    assert torch.equal(data.images[1], EXPECTED_COLOUR[1])


@pytest.mark.parametrize(
    ("dataset", "labels", "match"),
    [
        (PairDataset(list(DIGITS), TARGET.tolist()), TARGET, "do not pass labels"),
        (PairDataset(list(DIGITS), [None, *TARGET[1:].tolist()]), None, "item 0 has no label"),
        (PairDataset([DIGITS[0], np.zeros((16, 16), np.uint8)]), None, "item 0 is 8x8 but item 1"),
        (PairDataset([DIGITS[0], DIGITS[1] / 255.0]), None, "item 1 has float64 pixels"),
        (PairDataset([DIGITS[0]]), None, "a single image"),
        (PairDataset([np.zeros((8, 8, 5))] * 2), None, r"shape \(8, 8, 5\)"),
    ],
    ids=["labels-twice", "partly-labelled", "sizes", "dtypes", "single", "channels"],
)
def test_bad_datasets_are_refused(dataset, labels, match):
    with pytest.raises(DataValidationError, match=match):
        read_images(dataset, labels)


# --------------------------------------------------------------------------------------------
# Folders.
# --------------------------------------------------------------------------------------------
def test_class_folders_give_string_classes_in_folder_then_file_order(tmp_path):
    names = ["odd" if value % 2 else "even" for value in TARGET]
    _save(
        tmp_path,
        {f"{name}/{i:02d}.png": Image.fromarray(DIGITS[i]) for i, name in enumerate(names)},
    )
    data = read_images(tmp_path)
    order = sorted(range(12), key=lambda i: (names[i], i))
    assert torch.equal(data.images, EXPECTED[order])
    assert data.classes == ("even", "odd")
    assert data.decode_labels(data.labels) == [names[i] for i in order]
    assert data.source == f"folder {tmp_path}"


def test_flat_folder_is_unlabelled_ignores_hidden_entries_and_accepts_labels(tmp_path):
    _save(tmp_path, {f"{i:02d}.PNG": Image.fromarray(DIGITS[i]) for i in range(12)})
    (tmp_path / ".DS_Store").write_bytes(b"\x00junk")
    _save(tmp_path / ".cache", {"x.txt.png": Image.fromarray(DIGITS[0])})  # hidden folder
    data = read_images(str(tmp_path))
    assert torch.equal(data.images, EXPECTED) and data.labels is None
    assert read_images(tmp_path, TARGET).classes == tuple(range(10))


def test_folder_of_colour_jpegs_reads_what_pil_decodes(tmp_path):
    _save(tmp_path, {f"{i}.jpg": Image.fromarray(COLOUR[i]) for i in range(3)})
    data = read_images(tmp_path)
    decoded = [np.array(Image.open(tmp_path / f"{i}.jpg")) for i in range(3)]  # lossy
    assert torch.equal(data.images, torch.from_numpy(np.stack(decoded).transpose(0, 3, 1, 2)))


def test_image_modes_convert_to_grey_or_rgb(tmp_path):
    palette = Image.fromarray(COLOUR[0]).convert("P")
    _save(
        tmp_path,
        {
            "grey.png": Image.fromarray(DIGITS[0]),
            "rgba.png": Image.fromarray(np.dstack([COLOUR[1], np.zeros((8, 8), np.uint8)])),
            "palette.png": palette,
        },
    )
    data = read_images(tmp_path)  # sorted: grey, palette, rgba; grey and colour mixed -> RGB
    assert data.channels == 3
    assert torch.equal(data.images[0], EXPECTED[0].expand(3, 8, 8))
    assert torch.equal(
        data.images[1], torch.from_numpy(np.array(palette.convert("RGB")).transpose(2, 0, 1))
    )
    assert torch.equal(data.images[2], EXPECTED_COLOUR[1])  # alpha dropped, colour kept


def test_bilevel_and_16_bit_grey_read_as_8_bit(tmp_path):
    _save(
        tmp_path,
        {
            "a.png": Image.fromarray(DIGITS[0] > 127).convert("1"),
            "b.png": Image.fromarray(DIGITS[1].astype(np.uint16) * 257),  # 16-bit grey
        },
    )
    data = read_images(tmp_path)
    assert data.channels == 1
    assert torch.equal(
        data.images[0, 0], torch.from_numpy(np.where(DIGITS[0] > 127, 255, 0).astype(np.uint8))
    )
    assert torch.equal(data.images[1], EXPECTED[1])


def test_mixed_sizes_in_a_folder_name_two_files(tmp_path):
    _save(tmp_path, {"a.png": Image.fromarray(DIGITS[0]), "b.png": Image.new("L", (16, 16))})
    with pytest.raises(DataValidationError, match=r"a\.png is 8x8 but b\.png is 16x16"):
        read_images(tmp_path)


def test_non_image_files_are_listed_with_their_count(tmp_path):
    _save(tmp_path, {f"{i}.png": Image.fromarray(DIGITS[i]) for i in range(2)})
    for i in range(7):
        (tmp_path / f"note{i}.txt").write_text("not an image")
    with pytest.raises(
        DataValidationError, match=r"7 file\(s\) are not images.*note0\.txt.*7 in all"
    ):
        read_images(tmp_path)


def test_files_pil_cannot_open_are_listed(tmp_path):
    _save(tmp_path, {f"{i}.png": Image.fromarray(DIGITS[i]) for i in range(2)})
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(
        DataValidationError, match=r"1 file\(s\) are not images \(PIL cannot.*broken"
    ):
        read_images(tmp_path)


def test_bad_folder_layouts_are_refused(tmp_path):
    with pytest.raises(DataValidationError, match="is empty"):
        read_images(tmp_path)
    _save(
        tmp_path,
        {"cats/a.png": Image.fromarray(DIGITS[0]), "loose.png": Image.fromarray(DIGITS[1])},
    )
    with pytest.raises(DataValidationError, match="both sub-folders"):
        read_images(tmp_path)
    (tmp_path / "loose.png").unlink()
    (tmp_path / "dogs").mkdir()
    with pytest.raises(DataValidationError, match=r"class folder\(s\) 'dogs' hold no files"):
        read_images(tmp_path)
    _save(tmp_path, {"dogs/b.png": Image.fromarray(DIGITS[1])})
    with pytest.raises(DataValidationError, match="do not pass labels"):
        read_images(tmp_path, [0, 1])


def test_missing_path_and_plain_file_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        read_images(tmp_path / "nope")
    Image.fromarray(DIGITS[0]).save(tmp_path / "one.png")
    with pytest.raises(DataValidationError, match="expected a folder"):
        read_images(tmp_path / "one.png")


# --------------------------------------------------------------------------------------------
# .npz files.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image_key", "label_key"), [("images", "labels"), ("x_train", "y_train"), ("x", "y")]
)
def test_npz_keys(tmp_path, image_key, label_key):
    path = tmp_path / "data.npz"
    np.savez(path, **{image_key: DIGITS, label_key: TARGET})
    data = read_images(path)
    assert torch.equal(data.images, EXPECTED) and data.labels.tolist() == TARGET.tolist()
    assert data.source == f"file {path}"


def test_bad_npz_files_are_refused(tmp_path):
    np.savez(tmp_path / "keys.npz", pixels=DIGITS, target=TARGET)
    with pytest.raises(DataValidationError, match=r"holds \['pixels', 'target'\]"):
        read_images(tmp_path / "keys.npz")
    np.savez(tmp_path / "objects.npz", images=np.array([DIGITS[0], "x"], dtype=object))
    with pytest.raises(DataValidationError, match="plain arrays"):
        read_images(tmp_path / "objects.npz")
    np.savez(tmp_path / "labelled.npz", images=DIGITS, labels=TARGET)
    with pytest.raises(DataValidationError, match="do not pass labels"):
        read_images(tmp_path / "labelled.npz", TARGET)


# --------------------------------------------------------------------------------------------
# Writing.
# --------------------------------------------------------------------------------------------
def _nhwc(data: ImageData) -> np.ndarray:
    return data.images.permute(0, 2, 3, 1).numpy()


def test_npz_round_trip_keeps_images_and_label_values(tmp_path):
    data = read_images(DIGITS, TARGET + 10)
    path = write_images(tmp_path / "out.npz", _nhwc(data), data.labels, data.classes)
    back = read_images(path)
    assert torch.equal(back.images, data.images) and back.classes == data.classes
    assert torch.equal(back.labels, data.labels)
    with np.load(path, allow_pickle=False) as archive:
        assert archive["labels"].dtype == np.int64 and archive["images"].shape == (12, 8, 8, 1)


def test_npz_round_trip_of_string_labels_needs_no_pickle(tmp_path):
    names = ["odd" if value % 2 else "even" for value in TARGET]
    path = write_images(tmp_path / "out.npz", COLOUR, names)
    with np.load(path, allow_pickle=False) as archive:
        assert archive["labels"].dtype.kind == "U"
    back = read_images(path)
    assert torch.equal(back.images, EXPECTED_COLOUR) and back.decode_labels(back.labels) == names


def test_folder_round_trip_unlabelled_keeps_order(tmp_path):
    path = write_images(tmp_path / "out", COLOUR)
    assert sorted(p.name for p in path.iterdir())[:2] == ["00000.png", "00001.png"]
    assert torch.equal(read_images(path).images, EXPECTED_COLOUR)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary left behind


def test_folder_round_trip_labelled_gives_class_folders(tmp_path):
    data = read_images(DIGITS, TARGET)
    path = write_images(tmp_path / "out", _nhwc(data), data.labels, data.classes)
    back = read_images(path)
    assert back.classes == tuple(str(value) for value in data.classes)  # folder names: strings
    order = sorted(range(12), key=lambda i: (str(TARGET[i]), i))
    assert torch.equal(back.images, EXPECTED[order])
    assert back.decode_labels(back.labels) == [str(TARGET[i]) for i in order]


def test_class_names_are_made_safe_and_collisions_refused(tmp_path):
    path = write_images(tmp_path / "out", DIGITS[:3], ["a/b", ".hidden", "ok"])
    assert sorted(p.name for p in path.iterdir()) == ["_.hidden", "a_b", "ok"]
    with pytest.raises(DataValidationError, match="both become the folder"):
        write_images(tmp_path / "clash", DIGITS[:2], ["Cat", "cat"])
    assert not (tmp_path / "clash").exists()


def test_existing_destinations_are_refused_without_overwrite(tmp_path):
    npz = write_images(tmp_path / "out.npz", DIGITS)
    with pytest.raises(FileExistsError):
        write_images(npz, DIGITS[:2])
    write_images(npz, DIGITS[:2], overwrite=True)
    assert read_images(npz).n_images == 2
    folder = write_images(tmp_path / "out", DIGITS)
    with pytest.raises(FileExistsError, match="not empty"):
        write_images(folder, DIGITS[:2])
    write_images(folder, DIGITS[:2], overwrite=True)
    assert read_images(folder).n_images == 2
    (tmp_path / "empty").mkdir()
    assert read_images(write_images(tmp_path / "empty", DIGITS)).n_images == 12


def test_overwrite_never_deletes_a_folder_holding_other_files(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="other files than PNG"):
        write_images(tmp_path / "mine", DIGITS, overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="a file exists"):
        write_images(tmp_path / "file", DIGITS, overwrite=True)


@pytest.mark.parametrize(
    ("images", "labels", "classes", "match"),
    [
        (DIGITS.astype(np.float32), None, (), "uint8 numpy array"),
        (np.zeros((2, 8, 8, 4), np.uint8), None, (), r"shape \(2, 8, 8, 4\)"),
        (DIGITS, TARGET[:3], (), "3 labels for 12 images"),
        (DIGITS, TARGET, ("a", "b"), r"codes in 0\.\.1"),
    ],
)
def test_write_images_validates_its_arguments(tmp_path, images, labels, classes, match):
    with pytest.raises(DataValidationError, match=match):
        write_images(tmp_path / "out.npz", images, labels, classes)


# --------------------------------------------------------------------------------------------
# Grids.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("images", "mode"), [(EXPECTED[:10], "L"), (EXPECTED_COLOUR[:10], "RGB")])
def test_grid_is_a_png_of_the_expected_size(tmp_path, images, mode):
    path = write_grid(tmp_path / "grid.png", images, nrow=4)
    with Image.open(path) as grid:
        assert grid.format == "PNG" and grid.mode == mode
        assert grid.size == (4 * (8 + 2) + 2, 3 * (8 + 2) + 2)  # (width, height): 4 x 3 images
        pixels = np.asarray(grid)
    np.testing.assert_array_equal(pixels[2:10, 2:10, ...].reshape(8, 8, -1)[..., 0], DIGITS[0])
    with pytest.raises(FileExistsError):
        write_grid(path, images)
    write_grid(path, images[:2], overwrite=True)


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("images", [EXPECTED, EXPECTED_COLOUR], ids=["grey", "colour"])
def test_grid_pixels_are_those_of_torchvision_make_grid(tmp_path, images, n):
    from torchvision.utils import make_grid  # what write_grid used to call

    expected = make_grid(images[:n], nrow=4, padding=2)  # (3, height, width) uint8
    expected = expected[0] if images.shape[1] == 1 else expected.permute(1, 2, 0)
    with Image.open(write_grid(tmp_path / "grid.png", images[:n], nrow=4)) as grid:
        np.testing.assert_array_equal(np.asarray(grid), expected.numpy())


def test_grid_refuses_bad_images_and_nrow(tmp_path):
    with pytest.raises(DataValidationError, match="uint8 tensor"):
        write_grid(tmp_path / "g.png", EXPECTED.float())
    with pytest.raises(ValueError, match="nrow"):
        write_grid(tmp_path / "g.png", EXPECTED, nrow=0)


def test_failed_folder_write_leaves_the_old_folder_and_no_temporary(tmp_path, monkeypatch):
    folder = write_images(tmp_path / "out", DIGITS, TARGET)  # class sub-folders
    calls = []

    def fail_on_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return save(self, *args, **kwargs)

    save = Image.Image.save
    monkeypatch.setattr(Image.Image, "save", fail_on_third)
    with pytest.raises(OSError, match="disk full"):
        write_images(folder, DIGITS[:4], overwrite=True)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert read_images(folder).n_images == 12  # untouched
    write_images(folder, DIGITS[:4], overwrite=True)  # a class-folder output may be replaced
    assert read_images(folder).n_images == 4


def test_image_data_refuses_unvalidated_tensors():
    with pytest.raises(TypeError, match="uint8"):
        ImageData(EXPECTED.float(), None, (), "test")
    with pytest.raises(ValueError, match="one per image"):
        ImageData(EXPECTED, torch.zeros(3, dtype=torch.int64), (0,), "test")
