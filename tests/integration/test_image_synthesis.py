"""Image synthesizers end to end on scikit-learn's digits: they learn, they explain bad input,
and the ``fit-images`` / ``sample-images`` commands work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import synthgan
from synthgan import ConditionalGANSynthesizer, DCGANSynthesizer
from synthgan.cli import main
from synthgan.exceptions import DataValidationError
from synthgan.image.data import read_images

SMALL = dict(generator_width=16, discriminator_width=16, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return np.rint(bunch.images * (255 / 16)).astype(np.uint8), bunch.target  # (1797, 8, 8)


@pytest.fixture(scope="module")
def reader(digits) -> LogisticRegression:
    """A digit classifier trained on the real digits (97% accurate on them)."""
    images, labels = digits
    return LogisticRegression(max_iter=2000).fit(images.reshape(len(images), -1) / 255, labels)


def _accuracy(reader, images: np.ndarray, labels) -> float:
    return float(reader.score(images.reshape(len(images), -1) / 255, np.asarray(labels)))


def test_conditional_samples_are_recognised_as_their_class(digits, reader):
    images, labels = digits
    wanted = np.repeat(np.arange(10), 30)
    untrained = ConditionalGANSynthesizer(epochs=1, **SMALL).fit(images[:64], labels[:64])
    trained = ConditionalGANSynthesizer(epochs=20, **SMALL).fit(images, labels)
    before = _accuracy(reader, untrained.sample(labels=wanted, random_state=0), wanted)
    after = _accuracy(reader, trained.sample(labels=wanted, random_state=0), wanted)
    print(f"accuracy before {before:.3f}, after {after:.3f}")
    assert after > 0.6, (before, after)  # chance is 0.1
    assert after > before + 0.3
    history = trained.loss_history_
    assert {"diversity", "class_coverage", "generator_loss"} <= set(history.columns)
    # Generated digits grow more varied as training goes on (they start as one blur).
    assert history["diversity"].iloc[-1] > history["diversity"].iloc[0] + 0.1


def test_unconditional_samples_move_towards_the_data(digits, reader):
    images, _ = digits
    real = images.reshape(len(images), -1).astype(float)

    def nearest(model) -> float:  # mean distance from a generated image to its nearest digit
        fake = model.sample(200, random_state=0).reshape(200, -1).astype(float)
        d2 = (fake**2).sum(1)[:, None] - 2 * fake @ real.T + (real**2).sum(1)[None, :]
        return float(np.sqrt(np.maximum(d2.min(axis=1), 0)).mean())

    untrained = DCGANSynthesizer(epochs=1, **SMALL).fit(images[:64])
    trained = DCGANSynthesizer(epochs=20, **SMALL).fit(images)
    assert nearest(trained) < 0.6 * nearest(untrained)

    # It covers the modes: the classifier reads many different digits in its samples.
    def digits_read(model) -> int:
        pixels = model.sample(200, random_state=1).reshape(200, -1) / 255
        return len(np.unique(reader.predict(pixels)))

    assert digits_read(trained) >= 7, (digits_read(untrained), digits_read(trained))


@pytest.mark.parametrize(
    "options",
    [
        {"spectral_norm": True, "loss": "hinge", "discriminator_norm": "none"},
        {"diff_augment": "color,translation,cutout", "label_smoothing": 0.1},
        {"conditioning": "concat", "ema_decay": None, "discriminator_norm": "group"},
    ],
)
def test_stability_options_train(digits, options):
    images, labels = digits
    model = ConditionalGANSynthesizer(epochs=2, **SMALL, **options).fit(images[:300], labels[:300])
    out = model.sample(labels={0: 3, 9: 2}, random_state=0)
    assert out.shape == (5, 8, 8, 1)
    assert np.isfinite(model.loss_history_["generator_loss"]).all()


def test_sampling_by_class(digits):
    images, labels = digits
    model = ConditionalGANSynthesizer(epochs=1, **SMALL).fit(images[:200], labels[:200])
    out, drawn = model.sample_with_labels(labels={2: 3, 5: 1}, random_state=0)
    assert out.shape[0] == 4 and drawn.tolist() == [2, 2, 2, 5]
    out, drawn = model.sample_with_labels(50, random_state=0)
    assert len(out) == 50 and set(drawn) <= set(range(10))
    assert np.array_equal(model.sample(50, random_state=0), out)  # the same images
    with pytest.raises(ValueError, match=r"Unknown class 12.*\[0, 1, 2"):
        model.sample(labels=[1, 12])
    with pytest.raises(ValueError, match="n=3"):
        model.sample(3, labels=[1, 2])
    with pytest.raises(ValueError, match="Pass n"):
        model.sample()


# -- bad input ---------------------------------------------------------------------------------
def test_conditional_model_needs_labels_and_two_classes(digits):
    images, _ = digits
    with pytest.raises(DataValidationError, match="needs one label per image"):
        ConditionalGANSynthesizer(**SMALL).fit(images[:50])
    with pytest.raises(DataValidationError, match="at least two"):
        ConditionalGANSynthesizer(**SMALL).fit(images[:50], np.zeros(50, dtype=int))


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((1, 8, 8), np.uint8), None, "single image|at least 2|2 images"),
        (np.full((4, 8, 8), np.nan, np.float32), None, "NaN"),
        (np.zeros((4, 8, 8), np.complex64), None, "dtype"),
        (np.full((4, 8, 8), 300, np.int32), None, "0..255"),
        (np.zeros((4, 8, 10), np.uint8), None, "square"),
        (np.zeros((4, 10, 10), np.uint8), None, "16"),
        (np.zeros((4, 8, 8), np.uint8), [0, 1, 0], "3 labels|length|one label per image"),
    ],
)
def test_bad_images_are_explained(images, labels, message):
    with pytest.raises((DataValidationError, TypeError), match=message):
        DCGANSynthesizer(**SMALL).fit(images, labels)


def test_folder_with_mixed_sizes_or_stray_files(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    Image.new("L", (8, 8)).save(folder / "a" / "1.png")
    Image.new("L", (16, 16)).save(folder / "b" / "2.png")
    with pytest.raises(DataValidationError, match=r"8.*16|16.*8"):
        ConditionalGANSynthesizer(**SMALL).fit(folder)
    Image.new("L", (8, 8)).save(folder / "b" / "2.png")
    (folder / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(DataValidationError, match=r"notes\.txt"):
        ConditionalGANSynthesizer(**SMALL).fit(folder)


def test_bad_hyperparameters(digits):
    images, labels = digits
    cases = [
        ({"label_smoothing": 0.1, "loss": "hinge"}, "non-saturating"),
        ({"diff_augment": "flip"}, "flip"),
        ({"discriminator_norm": "weird"}, "discriminator_norm"),
        ({"conditioning": "film"}, "conditioning"),
        ({"max_time": 0}, "max_time"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            ConditionalGANSynthesizer(**SMALL, **options).fit(images[:50], labels[:50])


# -- command line ------------------------------------------------------------------------------
def test_fit_images_and_sample_images_commands(digits, tmp_path, capsys):
    images, labels = digits
    data = tmp_path / "digits.npz"
    np.savez_compressed(data, images=images[:300], labels=labels[:300])
    model = tmp_path / "digits.synthgan"
    fit = ["fit-images", data, "-o", model, "--conditional", "--epochs", "1", "--seed", "0"]
    assert main([str(a) for a in [*fit, "--quiet"]]) == 0
    assert isinstance(synthgan.load(model), ConditionalGANSynthesizer)

    out = tmp_path / "fake.npz"
    args = ["sample-images", model, "-n", "7", "-o", out, "--label", "3", "--label", "8"]
    assert main([str(a) for a in [*args, "--seed", "1"]]) == 0
    written = read_images(out)
    assert written.n_images == 7 and written.size == 8
    assert sorted(written.decode_labels(written.labels)) == [3, 3, 3, 3, 8, 8, 8]

    folder = tmp_path / "pngs"
    assert main([str(a) for a in ["sample-images", model, "-n", "5", "-o", folder]]) == 0
    assert len(list(folder.rglob("*.png"))) == 5
    capsys.readouterr()
    assert main([str(a) for a in ["sample-images", model, "-n", "5", "-o", folder]]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([str(a) for a in ["sample-images", model, "-n", "2", "-o", out, "--label", "x",
                                  "--overwrite"]]) == 2  # fmt: skip
    assert "Unknown class 'x'" in capsys.readouterr().err


def test_fit_images_refuses_to_overwrite_its_input(digits, tmp_path, capsys):
    images, _ = digits
    data = tmp_path / "digits.npz"
    np.savez_compressed(data, images=images[:50])
    before = data.read_bytes()
    assert main(["fit-images", str(data), "-o", str(data), "--overwrite", "--quiet"]) == 2
    assert data.read_bytes() == before
    assert Path(data).exists()


def test_fit_images_command_with_differential_privacy(digits, tmp_path, capsys):
    images, labels = digits
    data = tmp_path / "digits.npz"
    np.savez_compressed(data, images=images[:300], labels=labels[:300])
    model = tmp_path / "dp.synthgan"
    fit = ["fit-images", data, "-o", model, "--conditional", "--epochs", "1", "--seed", "0",
           "--epsilon", "5", "--classes", ",".join(str(c) for c in range(10))]  # fmt: skip
    assert main([str(a) for a in fit]) == 0
    out = capsys.readouterr().out
    assert "differentially private" in out and "class counts" in out
    epsilon, delta = synthgan.load(model).privacy_spent_
    assert 4.75 <= epsilon <= 5.0 and delta < 1 / 300
    assert main([str(a) for a in [*fit[:-2], "--overwrite"]]) == 2  # no public class list
    assert "classes" in capsys.readouterr().err
