"""ImageRebalancer: exact class counts for imbalanced-learn's strategies, real images kept as given,
seeded and clone-safe fits, clear errors on bad input, and the folder round trip."""

from __future__ import annotations

import filecmp
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from imblearn.utils import check_sampling_strategy
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits

from synthgan.augmentation import ImageRebalancer
from synthgan.augmentation.images import RebalanceSummary, _generated_names
from synthgan.exceptions import DataValidationError, InvalidParameterError
from synthgan.image import ConditionalGANSynthesizer, DCGANSynthesizer, read_images, write_images

# A GAN that trains in a fraction of a second on 8x8 digits: the tests check counts, order and
# bookkeeping, not image quality.
TINY = dict(
    epochs=1, batch_size=32, latent_dim=8, generator_width=4, discriminator_width=4,
    embedding_dim=2, monitor_diversity=False, verbose=False, random_state=0,
)  # fmt: skip
COUNTS = {0: 40, 1: 20, 2: 10}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """70 uint8 digits (70, 8, 8): 40 zeros, 20 ones, 10 twos, in mixed order."""
    bunch = load_digits()
    pixels = np.rint(bunch.images * (255 / 16)).astype(np.uint8)
    index = np.concatenate([np.flatnonzero(bunch.target == c)[:n] for c, n in COUNTS.items()])
    index = np.random.default_rng(0).permutation(index)
    return pixels[index], bunch.target[index]


def _rebalancer(strategy="auto", **kwargs) -> ImageRebalancer:
    return ImageRebalancer(ConditionalGANSynthesizer(**TINY), strategy, **kwargs)


def _counts(labels) -> dict:
    return dict(Counter(np.asarray(labels).tolist()))


# -- counts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("auto", {0: 40, 1: 40, 2: 40}),
        ("not majority", {0: 40, 1: 40, 2: 40}),
        ("minority", {0: 40, 1: 20, 2: 40}),
        ("not minority", {0: 40, 1: 40, 2: 10}),
        ("all", {0: 40, 1: 40, 2: 40}),
        ({1: 25, 2: 33}, {0: 40, 1: 25, 2: 33}),
        (lambda y: {2: 2 * int((y == 2).sum())}, {0: 40, 1: 20, 2: 20}),
    ],
    ids=["auto", "not-majority", "minority", "not-minority", "all", "dict", "callable"],
)
def test_class_counts_are_exact(digits, strategy, expected):
    images, labels = digits
    rebalancer = _rebalancer(strategy, random_state=0)
    images_res, labels_res = rebalancer.fit_resample(images, labels)
    assert _counts(labels_res) == expected
    assert len(images_res) == len(labels_res) == sum(expected.values())
    # sampling_strategy_ is what imbalanced-learn computes: the new images per class
    assert dict(rebalancer.sampling_strategy_) == dict(
        check_sampling_strategy(strategy, labels, "over-sampling")
    )
    for label, n in COUNTS.items():
        assert expected[label] == n + rebalancer.sampling_strategy_.get(label, 0)


def test_float_strategy_on_two_classes(digits):
    images, labels = digits
    binary = labels != 1  # 40 zeros, 10 twos
    rebalancer = _rebalancer(0.5, random_state=0)
    _, labels_res = rebalancer.fit_resample(images[binary], labels[binary])
    assert _counts(labels_res) == {0: 40, 2: 20}  # the minority becomes 0.5 x the majority
    assert dict(rebalancer.sampling_strategy_) == {2: 10}


# -- the real images, the generated ones ----------------------------------------------------------
def _layout(images: np.ndarray, form: str) -> np.ndarray:
    if form == "NHW uint8":
        return images
    if form == "NHWC rgb uint8":
        return np.repeat(images[..., None], 3, axis=3)
    if form == "NHWC grey uint8":
        return images[..., None]
    if form == "NHW float64 signed":
        return images / 127.5 - 1.0  # [-1, 1], as a tanh output
    return (images[:, None] / 255.0).astype(np.float32)  # "NCHW float32", [0, 1]


@pytest.mark.parametrize(
    "form", ["NHW uint8", "NHWC rgb uint8", "NHWC grey uint8", "NCHW float32", "NHW float64 signed"]
)
def test_real_images_come_first_unchanged_and_generated_match_their_form(digits, form):
    images, labels = digits
    given = _layout(images, form)
    images_res, labels_res = _rebalancer({2: 14}, random_state=0).fit_resample(given, labels)
    n = len(given)
    assert images_res.dtype == given.dtype
    assert images_res.shape == (n + 4, *given.shape[1:])
    np.testing.assert_array_equal(images_res[:n], given)
    np.testing.assert_array_equal(labels_res[:n], labels)
    assert labels_res[n:].tolist() == [2, 2, 2, 2]
    generated = images_res[n:]
    if form == "NCHW float32":  # back in [0, 1], on the 8-bit grid the model generates
        assert generated.min() >= 0.0 and generated.max() <= 1.0
        np.testing.assert_allclose(generated * 255, np.rint(generated * 255), atol=1e-3)
    if form == "NHW float64 signed":  # back in [-1, 1]
        assert generated.min() >= -1.0 and generated.max() <= 1.0
        np.testing.assert_allclose((generated + 1) * 127.5, np.rint((generated + 1) * 127.5))


def test_string_labels_keep_their_dtype_and_classes_come_sorted(digits):
    images, labels = digits
    names = np.asarray(["zero", "one", "two"])[labels]
    _, labels_res = _rebalancer("auto", random_state=0).fit_resample(images, names)
    assert labels_res.dtype == names.dtype
    assert _counts(labels_res) == {"zero": 40, "one": 40, "two": 40}
    assert labels_res[len(names) :].tolist() == ["one"] * 20 + ["two"] * 30  # sorted classes


def test_same_seed_same_images_other_seed_other_images(digits):
    images, labels = digits
    first = _rebalancer("auto", random_state=3).fit_resample(images, labels)
    again = _rebalancer("auto", random_state=3).fit_resample(images, labels)
    other = _rebalancer("auto", random_state=4).fit_resample(images, labels)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0][len(images) :], other[0][len(images) :])


def test_the_users_synthesizer_is_cloned_never_fitted(digits):
    images, labels = digits
    gan = ConditionalGANSynthesizer(**TINY)
    params = gan.get_params()
    rebalancer = ImageRebalancer(gan, random_state=5)
    assert rebalancer.get_params()["synthesizer"] is gan  # stored unchanged
    rebalancer.fit_resample(images, labels)
    assert not hasattr(gan, "generator_")  # still unfitted
    assert gan.get_params() == params
    fitted = rebalancer.synthesizer_
    assert fitted is not gan and isinstance(fitted, ConditionalGANSynthesizer)
    assert fitted.classes_ == [0, 1, 2]
    assert fitted.random_state != gan.random_state  # seeded from the rebalancer's random_state
    assert fitted.sample(labels={1: 3}, random_state=0).shape == (3, 8, 8, 1)


def test_default_synthesizer_is_a_conditional_gan():
    rebalancer = ImageRebalancer()
    assert rebalancer.synthesizer is None
    assert rebalancer.get_params() == {
        "synthesizer": None, "sampling_strategy": "auto", "random_state": None,
    }  # fmt: skip


class _Stamp(BaseEstimator):
    """A conditional stand-in: fits instantly, draws images filled with their class's value."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, images, labels):
        self.calls_ = []
        return self

    def sample(self, n=None, *, labels=None, random_state=None):
        self.calls_.append((dict(labels), random_state))
        return np.concatenate([np.full((k, 8, 8, 1), 10 * c, np.uint8) for c, k in labels.items()])


def test_any_conditional_synthesizer_is_asked_for_exact_counts_per_class(digits):
    images, labels = digits
    rebalancer = ImageRebalancer(_Stamp(), "auto", random_state=0)
    images_res, labels_res = rebalancer.fit_resample(images, labels)
    (asked, seed), *more = rebalancer.synthesizer_.calls_
    assert not more and asked == {1: 20, 2: 30} and isinstance(seed, int)
    assert all(type(label) is int for label in asked)  # python values, as the model knows them
    generated = images_res[len(images) :]
    np.testing.assert_array_equal(generated[:, 0, 0] // 10, labels_res[len(images) :])


def test_bad_random_state_is_refused_even_with_nothing_to_generate(digits):
    with pytest.raises(ValueError, match="random_state"):
        _rebalancer(dict(COUNTS), random_state=-1).fit_resample(*digits)


def test_nothing_to_generate_returns_the_input(digits):
    images, labels = digits
    rebalancer = _rebalancer(dict(COUNTS))  # every class already at its count
    images_res, labels_res = rebalancer.fit_resample(images, labels)
    np.testing.assert_array_equal(images_res, images)
    np.testing.assert_array_equal(labels_res, labels)
    assert rebalancer.synthesizer_ is None  # no GAN trained for nothing
    assert set(rebalancer.sampling_strategy_.values()) == {0}


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda x, y: (x, np.zeros_like(y)), DataValidationError, "single class"),
        (lambda x, y: (x, None), DataValidationError, "labels is None"),
        (lambda x, y: (x, np.where(y == 1, np.nan, y)), DataValidationError, "missing value"),
        (lambda x, y: (x, np.where(y == 1, None, y)), DataValidationError, "missing value"),
        (lambda x, y: (x, y + 0.5), DataValidationError, "continuous"),
        (lambda x, y: (x, y[:-1]), DataValidationError, "one label per image"),
        (lambda x, y: (x, y[:, None]), DataValidationError, "1-D"),
        (lambda x, y: (x, np.asarray([*y[:-1], "a"], object)), DataValidationError, "mix"),
        (lambda x, y: ("images/", y), TypeError, "fit_resample_folder"),
        (lambda x, y: (x[:, :6, :6], y), DataValidationError, "not supported"),  # 6x6
    ],
    ids=[
        "one-class", "no-labels", "nan", "none", "continuous", "length", "2-d", "mixed",
        "path", "size",
    ],
)  # fmt: skip
def test_bad_data_is_refused_clearly(digits, change, error, match):
    images, labels = change(*digits)
    with pytest.raises(error, match=match):
        _rebalancer().fit_resample(images, labels)


@pytest.mark.parametrize(
    ("strategy", "match"),
    [
        ({7: 50}, "not present in the data"),  # imbalanced-learn's own wording
        ({1: 5}, "greater or equal to the original number"),
        (0.5, "binary"),
        ("majority", "cannot be used with over-sampler"),
        ("most", "needs to be one of"),
        ((1, 2), "sampling_strategy must be"),
    ],
)
def test_bad_sampling_strategy_gets_imbalanced_learns_errors(digits, strategy, match):
    with pytest.raises(ValueError, match=match):
        _rebalancer(strategy).fit_resample(*digits)


@pytest.mark.parametrize(
    ("synthesizer", "match"),
    [
        (DCGANSynthesizer(**{k: v for k, v in TINY.items() if k != "embedding_dim"}),
         "DCGANSynthesizer cannot generate images of a chosen class.*ConditionalGANSynthesizer"),
        (ConditionalGANSynthesizer, "pass an instance"),
        ("cgan", "ConditionalGANSynthesizer"),
    ],
    ids=["unconditional", "class", "string"],
)  # fmt: skip
def test_synthesizer_that_cannot_condition_is_refused(digits, synthesizer, match):
    with pytest.raises(InvalidParameterError, match=match):
        ImageRebalancer(synthesizer).fit_resample(*digits)


def test_synthesizer_returning_other_counts_is_an_error(digits):
    class Short(_Stamp):
        def sample(self, n=None, *, labels=None, random_state=None):
            return super().sample(labels=labels)[:-1]

    with pytest.raises(RuntimeError, match="expected uint8"):
        ImageRebalancer(Short()).fit_resample(*digits)


# -- folders --------------------------------------------------------------------------------------
@pytest.fixture
def src(tmp_path, digits):
    """A class-folder set: 12 images of "a", 4 of "b"."""
    images, _ = digits
    return write_images(tmp_path / "src", images[:16], labels=["a"] * 12 + ["b"] * 4)


def _listing(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_folder_round_trip(tmp_path, src):
    before = _listing(src)
    summary = _rebalancer(random_state=0).fit_resample_folder(src, tmp_path / "dst")
    assert isinstance(summary, RebalanceSummary)
    assert summary.real == {"a": 12, "b": 4} and summary.generated == {"a": 0, "b": 8}
    assert summary.counts == summary.written == {"a": 12, "b": 12}
    data = read_images(tmp_path / "dst")
    assert data.classes == ("a", "b")
    assert np.bincount(data.labels.numpy()).tolist() == [12, 12]
    for name in before:  # the real files, copied byte for byte
        if name.endswith(".png"):
            assert filecmp.cmp(src / name, tmp_path / "dst" / name, shallow=False)
    assert len(list((tmp_path / "dst" / "b").glob("synthetic_*.png"))) == 8
    assert _listing(src) == before  # the input is untouched


def test_folder_with_only_generated_images(tmp_path, src):
    rebalancer = _rebalancer(random_state=0)
    summary = rebalancer.fit_resample_folder(src, tmp_path / "gen", include_real=False)
    assert summary.written == {"b": 8}
    assert _listing(tmp_path / "gen") == ["b"] + [f"b/synthetic_{i:05d}.png" for i in range(8)]


def test_folder_destination_rules(tmp_path, src):
    rebalancer = _rebalancer(random_state=0)
    for bad in (src, src / "a" / "out", tmp_path):  # src itself, inside src, holding src
        with pytest.raises(FileExistsError, match="src"):
            rebalancer.fit_resample_folder(src, bad, overwrite=True)
    dst = tmp_path / "dst"
    rebalancer.fit_resample_folder(src, dst)
    with pytest.raises(FileExistsError, match="not empty"):
        rebalancer.fit_resample_folder(src, dst)
    rebalancer.set_params(sampling_strategy={"b": 6}).fit_resample_folder(src, dst, overwrite=True)
    assert len(list((dst / "b").iterdir())) == 6  # the previous output was replaced
    (dst / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="other files than images"):
        rebalancer.fit_resample_folder(src, dst, overwrite=True)
    assert (dst / "notes.txt").read_text() == "mine"


def test_flat_folder_is_refused(tmp_path, digits):
    flat = write_images(tmp_path / "flat", digits[0][:6])
    with pytest.raises(DataValidationError, match="class sub-folders"):
        _rebalancer().fit_resample_folder(flat, tmp_path / "dst")


def test_generated_names_avoid_real_files():
    labels = np.asarray(["b", "b", "a"])
    names = [str(p) for p in _generated_names(labels, [])]
    assert names == ["b/synthetic_00000.png", "b/synthetic_00001.png", "a/synthetic_00000.png"]
    renamed = [str(p) for p in _generated_names(labels, [Path(names[0])])]
    assert renamed[0] == "b/synthetic2_00000.png" and not set(renamed) & set(names)
