"""Image metrics on crafted inputs: normalisation, errors, FD, KID, PRDC, memorisation, grid."""

from __future__ import annotations

import io
import json
import math
import socket

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.linalg import sqrtm

from synthgan.evaluation import _image_features, images
from synthgan.evaluation.images import (
    ExtractorConfig,
    available_feature_extractors,
    create_feature_extractor,
    frechet_distance,
    image_scores,
    kernel_distance,
    normalize_images,
    prdc,
    register_feature_extractor,
    sample_grid_png,
)

RNG = np.random.default_rng(0)
COLOUR = RNG.integers(0, 256, size=(4, 3, 5, 6), dtype=np.uint8)  # (N, C, H, W)
GREY = RNG.integers(0, 256, size=(4, 5, 6), dtype=np.uint8)  # (N, H, W)


def _stripes(n: int, seed: int, side: int = 8):
    """Two classes of noisy grey images: bright left half (0) or bright right half (1)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    pictures = rng.uniform(0.0, 0.3, size=(n, side, side))
    for i, label in enumerate(labels):
        half = slice(0, side // 2) if label == 0 else slice(side // 2, side)
        pictures[i, :, half] += 0.6
    return pictures, labels


# --------------------------------------------------------------------------------------------
# Input normalisation.
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    [
        COLOUR,  # (N, C, H, W) uint8
        COLOUR.transpose(0, 2, 3, 1),  # (N, H, W, C)
        COLOUR.astype(np.int64),  # any integer dtype is 0..255
        COLOUR / 255.0,  # float in [0, 1]
        (COLOUR / 255.0 * 2.0 - 1.0).astype(np.float32),  # float in [-1, 1]
        torch.from_numpy(COLOUR),
        torch.from_numpy(COLOUR.transpose(0, 2, 3, 1) / 127.5 - 1.0),
        torch.from_numpy(COLOUR / 255.0).to(torch.bfloat16),
    ],
    ids=["nchw", "nhwc", "int64", "unit", "signed", "torch", "torch-nhwc-signed", "bf16"],
)
def test_colour_layouts_and_ranges_normalise_alike(given):
    out = normalize_images(given)
    assert out.dtype == torch.float32 and tuple(out.shape) == (4, 3, 5, 6)
    atol = 5e-3 if isinstance(given, torch.Tensor) and given.dtype == torch.bfloat16 else 1e-6
    np.testing.assert_allclose(out.numpy(), COLOUR / 255.0, atol=atol)


@pytest.mark.parametrize(
    "given",
    [GREY, GREY[..., None], GREY[:, None], GREY / 255.0, torch.from_numpy(GREY[:, None])],
    ids=["nhw", "nhw1", "n1hw", "unit", "torch"],
)
def test_grey_layouts_normalise_to_one_channel(given):
    out = normalize_images(given)
    assert tuple(out.shape) == (4, 1, 5, 6)
    np.testing.assert_allclose(out[:, 0].numpy(), GREY / 255.0, atol=1e-6)


def test_ambiguous_layout_reads_channels_first_and_booleans_as_unit():
    assert tuple(normalize_images(np.zeros((2, 3, 4, 3), np.uint8)).shape) == (2, 3, 4, 3)
    out = normalize_images(np.eye(4, dtype=bool)[None])
    assert out.sum() == 4 and out.max() == 1.0


@pytest.mark.parametrize(
    ("given", "error", "match"),
    [
        (np.zeros((5, 5), np.uint8), ValueError, "2 dimension"),
        (np.zeros((1, 1, 5, 5, 1), np.uint8), ValueError, "5 dimension"),
        (np.zeros((0, 5, 5), np.uint8), ValueError, "empty"),
        (np.full((2, 5, 5), np.nan), ValueError, "NaN"),
        (np.full((2, 5, 5), 200.0), ValueError, "uint8"),
        (np.full((2, 5, 5), 300, np.int32), ValueError, "0..255"),
        (np.full((2, 5, 5), -2.0), ValueError, r"\[-1, 1\]"),
        (np.zeros((2, 2, 5, 2), np.uint8), ValueError, "1 or 3 channels"),
        (np.full((2, 5, 5), "a"), TypeError, "dtype"),
        (None, ValueError, "None"),
    ],
)
def test_bad_images_raise_clear_errors(given, error, match):
    with pytest.raises(error, match=match):
        normalize_images(given)


def test_mismatched_sets_and_labels_name_the_argument():
    real, labels = _stripes(20, 0)
    with pytest.raises(ValueError, match="generated"):
        image_scores(real, real[:, :4, :4], labels, labels)
    with pytest.raises(ValueError, match="holdout"):
        image_scores(real, real, labels, labels, holdout=np.repeat(real[..., None], 3, axis=3))
    with pytest.raises(ValueError, match="real_labels"):
        image_scores(real, real, labels[:5], labels)
    with pytest.raises(ValueError, match="1-D"):
        image_scores(real, real, labels[:, None], labels)
    with pytest.raises(TypeError, match="integers"):
        image_scores(real, real, labels.astype(float), labels)
    with pytest.raises(ValueError, match="holdout_labels"):
        image_scores(real, real, labels, labels, holdout_labels=labels)
    with pytest.raises(ValueError, match="empty"):
        image_scores(real, real[:0], labels)


def test_bad_options_and_missing_labels_raise():
    real, labels = _stripes(20, 0)
    with pytest.raises(ValueError, match="k must"):
        image_scores(real, real, labels, k=0)
    with pytest.raises(ValueError, match="max_images"):
        image_scores(real, real, labels, max_images=1)
    with pytest.raises(ValueError, match="classifier_epochs"):
        image_scores(real, real, labels, classifier_epochs=0)
    with pytest.raises(ValueError, match="more than k"):
        image_scores(real, real, labels, max_images=5)
    with pytest.raises(ValueError, match=r"real_labels.*'pixels'"):
        image_scores(real, real)  # the classifier extractor needs labels
    with pytest.raises(ValueError, match="two classes"):
        image_scores(real, real, np.zeros(20, dtype=int))


# --------------------------------------------------------------------------------------------
# Fréchet distance and KID.
# --------------------------------------------------------------------------------------------
def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_mean_shift():
    x = np.random.default_rng(1).normal(size=(300, 6))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    shifts = [frechet_distance(x, x + delta) for delta in (0.5, 1.0, 2.0)]
    # Equal covariances: the distance is exactly |shift|^2 = d * delta^2.
    np.testing.assert_allclose(shifts, [6 * 0.25, 6 * 1.0, 6 * 4.0], rtol=1e-8)


def test_frechet_distance_matches_the_sqrtm_formula():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5)) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sqrtm(cov_a @ cov_b).real
    diff = a.mean(0) - b.mean(0)
    expected = diff @ diff + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-7)
    # Scaling a centred set by 2 multiplies its covariance by 4: FD = |mu|^2 + tr(S).
    centred = a - a.mean(0)
    assert frechet_distance(centred, 2 * centred) == pytest.approx(np.trace(cov_a), rel=1e-7)


def test_kid_estimator_matches_the_unbiased_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(6, 3)) + 0.5

    def kernel(a, b):
        return (a @ b / 3 + 1) ** 3

    within_x = sum(kernel(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    within_y = sum(kernel(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
    cross = sum(kernel(a, b) for a in x for b in y) / 30
    expected = within_x + within_y - 2 * cross
    assert images._mmd2_unbiased(x, y) == pytest.approx(expected, rel=1e-10)


def test_kid_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(4)
    same = [
        kernel_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)))["mean"]
        for _ in range(40)
    ]
    spread = np.std(same)
    assert abs(np.mean(same)) < 3 * spread / math.sqrt(len(same))
    assert min(same) < 0  # a biased (always positive) estimator would never go below 0
    shifted = kernel_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 1.0)
    assert shifted["mean"] > 20 * spread


def test_kid_subsets_are_seeded_and_sized():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 4)), rng.normal(size=(50, 4))
    first = kernel_distance(x, y, n_subsets=7, subset_size=20, random_state=3)
    assert first == kernel_distance(x, y, n_subsets=7, subset_size=20, random_state=3)
    assert first["subset_size"] == 20 and first["n_subsets"] == 7 and first["std"] > 0
    whole = kernel_distance(x[:50], y, n_subsets=7, subset_size=100)
    assert whole["subset_size"] == 50 and whole["n_subsets"] == 1  # one draw covers all


def test_feature_metrics_reject_bad_matrices():
    with pytest.raises(ValueError, match="columns"):
        frechet_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n >= 2"):
        kernel_distance(np.zeros((1, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        prdc(np.full((9, 2), np.nan), np.zeros((9, 2)))
    with pytest.raises(ValueError, match="more than k"):
        prdc(np.zeros((5, 2)), np.zeros((9, 2)), k=5)


# --------------------------------------------------------------------------------------------
# Precision, recall, density, coverage.
# --------------------------------------------------------------------------------------------
def test_prdc_by_hand_in_one_dimension():
    # Real 0, 1, 3 with k = 1 have radii 1, 1, 2. Generated 0.5 lies in the balls of 0 and 1,
    # 10 in none; the two generated points are 9.5 apart, so their balls hold every real point.
    scores = prdc([[0.0], [1.0], [3.0]], [[0.5], [10.0]], k=1)
    assert scores == {"precision": 0.5, "recall": 1.0, "density": 1.0, "coverage": 2 / 3}


def test_prdc_of_a_set_with_itself():
    x = np.random.default_rng(6).normal(size=(200, 3))
    scores = prdc(x, x, k=4)
    # Each real ball holds its centre and its 4 neighbours: density (k + 1) / k.
    assert scores == pytest.approx({"precision": 1, "recall": 1, "density": 5 / 4, "coverage": 1})


def test_prdc_on_point_clouds():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(1000, 2))
    same = prdc(real, rng.normal(size=(1000, 2)), k=5)
    assert same["precision"] > 0.8 and same["recall"] > 0.8
    assert same["density"] == pytest.approx(1.0, abs=0.15)
    assert same["coverage"] == pytest.approx(1 - 0.5**5, abs=0.03)  # expected 1 - 2^-k
    fresh = rng.normal(size=(2000, 2))
    half = prdc(real, fresh[fresh[:, 0] > 0][:1000], k=5)  # one half of the modes dropped
    assert half["precision"] > 0.9
    assert half["recall"] < 0.65 and half["coverage"] < 0.65
    far = prdc(real, rng.normal(size=(1000, 2)) + 20.0, k=5)
    assert far["precision"] == far["density"] == far["coverage"] == 0.0


# --------------------------------------------------------------------------------------------
# image_scores end to end (tiny images; pixel and classifier features).
# --------------------------------------------------------------------------------------------
def test_copies_and_unseen_images_in_pixel_space():
    train, train_y = _stripes(60, 1)
    holdout, _ = _stripes(60, 2)
    copied = image_scores(train, train, holdout=holdout, feature_extractor="pixels")
    assert copied["exact_copy_rate"] == 1.0
    assert copied["exact_copy_rate_holdout_baseline"] == 0.0
    for space in ("pixel", "feature"):
        assert copied["memorisation"][space]["share_closer_to_train"] == 1.0
        assert copied["memorisation"][space]["median_distance_to_train"] < 1e-6
    assert copied["frechet_distance"] == pytest.approx(0, abs=1e-9)
    like_holdout = image_scores(train, holdout, holdout=holdout, feature_extractor="pixels")
    assert like_holdout["memorisation"]["pixel"]["share_closer_to_train"] == 0.0
    assert like_holdout["exact_copy_rate"] == 0.0
    # Float copies of uint8 images still count as copies (compared at 8 bits).
    as_uint8 = np.rint(train * 255).astype(np.uint8)
    float_copy = image_scores(as_uint8, as_uint8 / 127.5 - 1, train_y, feature_extractor="pixels")
    assert float_copy["exact_copy_rate"] == 1.0


def test_memorisation_ceiling_reflects_the_reference_sample():
    train, _ = _stripes(80, 1)
    holdout, _ = _stripes(40, 2)
    scores = image_scores(train, train, holdout=holdout, feature_extractor="pixels")
    assert scores["memorisation"]["share_if_copied"] == pytest.approx(0.5 + 0.5 * 40 / 80)
    assert scores["sizes"]["memorisation"] == {"train": 40, "holdout": 40, "generated": 80}
    share = scores["memorisation"]["pixel"]["share_closer_to_train"]
    assert share == pytest.approx(scores["memorisation"]["share_if_copied"], abs=0.15)


@pytest.fixture(scope="module")
def tiny():
    real, real_y = _stripes(80, 0)
    fake, fake_y = _stripes(40, 1)
    holdout, holdout_y = _stripes(40, 2)
    return real, real_y, fake, fake_y, holdout, holdout_y


def test_a_trained_classifier_is_remembered_not_retrained(few_steps):
    import torch

    from synthgan.evaluation import _image_features as features

    images, labels = _stripes(40, 0)
    x = torch.as_tensor(images, dtype=torch.float32).unsqueeze(1)  # (40, 1, 8, 8)
    options = {"epochs": 1, "seed": 0, "device": "cpu"}
    first = features.train_classifier(x, labels, 2, **options)
    assert features.train_classifier(x, labels, 2, **options) is first  # the same inputs
    assert features.train_classifier(x, labels, 2, **{**options, "seed": 1}) is not first
    assert features.train_classifier(x.flip(0), labels, 2, **options) is not first


def test_small_training_sets_get_the_minimum_of_400_steps():
    from synthgan.evaluation._image_features import epochs_run

    assert epochs_run(80, 2) == 200  # 2 batches of 64 an epoch
    assert epochs_run(2000, 2) == 13  # 32 batches an epoch: 13 epochs reach 400 steps
    assert epochs_run(100_000, 2) == 2  # 1563 steps already


@pytest.fixture
def few_steps(monkeypatch):
    """CNNs of 16 steps, not 400: the tests on 80 striped images check what the scores hold,
    not how good a classifier gets (the calibration tests train them in full)."""
    from synthgan.evaluation import _image_features

    monkeypatch.setattr(_image_features, "_MIN_STEPS", 16)


def test_full_call_is_json_ready_and_reproducible(tiny, few_steps):
    real, real_y, fake, fake_y, holdout, holdout_y = tiny
    # The legacy global numpy RNG is read on purpose: it must be left as it was.
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    options = {"classifier_epochs": 2, "random_state": 5}
    scores = image_scores(real, fake, real_y, fake_y, holdout, holdout_y, **options)
    assert torch.equal(torch.get_rng_state(), torch_state)  # global RNGs untouched
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()  # noqa: NPY002
    json.dumps(scores, allow_nan=False)
    from synthgan.evaluation import _image_features

    again = image_scores(real, fake, real_y, fake_y, holdout, holdout_y, **options)
    _image_features._TRAINED.clear()  # trained afresh: reproducible, not only remembered
    assert (
        scores == again == image_scores(real, fake, real_y, fake_y, holdout, holdout_y, **options)
    )
    assert scores["feature_extractor"]["name"] == "classifier"
    assert scores["feature_extractor"]["feature_dim"] == 128
    # 80 images are 2 batches an epoch: 8 epochs reach the (patched) minimum of 16 steps.
    assert scores["feature_extractor"]["epochs_requested"] == 2
    assert scores["feature_extractor"]["epochs"] == 8
    assert scores["utility_test_set"] == "holdout"
    assert set(scores["tstr"]) == {"accuracy", "macro_f1"}
    assert scores["sizes"]["tstr"] == {"train": 40, "test": 40}
    assert scores["sizes"]["trts"] == {"train": 40, "test": 40}
    assert scores["sizes"]["prdc"] == {"real": 80, "generated": 40}
    assert scores["holdout_baseline"]["frechet_distance"] >= 0
    assert any("share_if_copied" in note for note in scores["notes"])  # 40 of 80 compared


def test_without_holdout_a_labelled_split_tests_utility(tiny, few_steps):
    real, real_y, fake, fake_y, _, _ = tiny
    scores = image_scores(real, fake, real_y, fake_y, classifier_epochs=1)
    assert scores["utility_test_set"] == "real split"
    n_test = scores["sizes"]["tstr"]["test"]
    assert n_test == pytest.approx(0.2 * 80, abs=2)
    assert scores["sizes"]["feature_extractor_fit"] == 80 - n_test
    assert scores["memorisation"] is None and scores["holdout_baseline"] is None
    assert any("set aside" in note for note in scores["notes"])
    unlabelled = image_scores(real, fake, real_y, classifier_epochs=1)
    assert unlabelled["tstr"] is None and unlabelled["sizes"]["feature_extractor_fit"] == 80


def test_max_images_caps_every_sample(tiny, few_steps):
    real, real_y, fake, _, holdout, _ = tiny
    scores = image_scores(real, fake, real_y, holdout=holdout, max_images=30, classifier_epochs=1)
    assert scores["sizes"]["frechet_distance"] == {"real": 30, "generated": 30}
    assert scores["sizes"]["exact_copy_rate"] == {"real": 80, "generated": 40}  # full sets
    assert scores["sizes"]["holdout_baseline"] == {"real": 30, "holdout": 30}


# --------------------------------------------------------------------------------------------
# Extractor registry and the inception extractor.
# --------------------------------------------------------------------------------------------
class _MeanBrightness:
    """A two-feature extractor: mean brightness of the left and right halves."""

    name = "halves"
    needs_labels = False

    def __init__(self, config: ExtractorConfig) -> None:
        self.config = config

    def fit(self, images_, codes, n_classes):
        return self

    def transform(self, batch):
        half = batch.shape[-1] // 2
        means = [batch[..., :half].mean((1, 2, 3)), batch[..., half:].mean((1, 2, 3))]
        return torch.stack(means, 1).numpy()  # (n, 2)

    def describe(self):
        return {"name": self.name, "description": "left/right mean brightness", "feature_dim": 2}


def test_registry_creates_registered_extractors(monkeypatch):
    monkeypatch.setattr(_image_features, "_EXTRACTORS", dict(_image_features._EXTRACTORS))
    assert {"classifier", "pixels", "inception"} <= set(available_feature_extractors())
    with pytest.raises(ValueError, match=r"Unknown feature extractor 'nope'.*classifier"):
        create_feature_extractor("nope")
    with pytest.raises(TypeError, match="callable"):
        register_feature_extractor("bad", "not a factory")
    with pytest.raises(TypeError, match="non-empty"):
        register_feature_extractor("", _MeanBrightness)
    register_feature_extractor("halves", _MeanBrightness)
    extractor = create_feature_extractor("halves", ExtractorConfig(epochs=1, seed=3))
    assert extractor.config.seed == 3
    (real, _), (fake, _) = _stripes(30, 0), _stripes(30, 1)
    scores = image_scores(real, fake, feature_extractor="halves")
    assert scores["feature_extractor"]["description"] == "left/right mean brightness"
    assert scores["precision"] > 0.5


def test_inception_without_local_weights_fails_clearly_and_offline(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("the inception extractor tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    expected = tmp_path / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    real, real_y = _stripes(20, 0)
    with pytest.raises(FileNotFoundError, match="never downloads") as caught:
        image_scores(real, real, real_y, feature_extractor="inception")
    assert str(expected) in str(caught.value)


def test_inception_reads_local_weights(monkeypatch, tmp_path):
    from torchvision.models import inception_v3

    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        # A randomly initialised network stands in for the real weights (same keys, shapes).
        weights = inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict()
    torch.save(weights, checkpoints / "inception_v3_google-0cc3c7bd.pth")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    pictures = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    extractor = create_feature_extractor("inception").fit(pictures, None, 1)
    features = extractor.transform(pictures)
    assert features.shape == (3, 2048) and np.isfinite(features).all()
    assert extractor.describe()["weights"].endswith("inception_v3_google-0cc3c7bd.pth")


# --------------------------------------------------------------------------------------------
# Sample grid.
# --------------------------------------------------------------------------------------------
def test_grid_png_of_grey_images_has_the_documented_size_and_pixels():
    pictures = np.random.default_rng(8).integers(0, 256, size=(10, 5, 7), dtype=np.uint8)
    png = sample_grid_png(pictures, nrow=4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "L"
    assert image.size == (4 * (7 + 2) + 2, 3 * (5 + 2) + 2)  # (width, height)
    canvas = np.asarray(image)
    np.testing.assert_array_equal(canvas[2:7, 2:9], pictures[0])
    np.testing.assert_array_equal(canvas[2 + 7 : 2 + 7 + 5, 2:9], pictures[4])  # second row


def test_grid_png_of_labelled_colour_images():
    pictures = torch.rand(3, 3, 16, 16) * 2 - 1  # (N, C, H, W) in [-1, 1]
    png = sample_grid_png(pictures, nrow=8, labels=[0, 1, 2])
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGB"
    assert image.size == (3 * (16 + 2) + 2, 1 * (16 + 2 + 12) + 2)
    assert np.asarray(image)[2:14, 2:18].max() > 200  # a light caption was drawn (antialiased)
    with pytest.raises(ValueError, match="nrow"):
        sample_grid_png(pictures, nrow=0)
    with pytest.raises(ValueError, match="labels"):
        sample_grid_png(pictures, labels=[1])
