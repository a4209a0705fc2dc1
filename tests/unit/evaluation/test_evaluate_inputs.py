"""synthgan.evaluate / evaluate_images read file paths as fit does, and show progress when asked
(issue 15: finding 4's "evaluate() refuses file paths that fit() accepts", and finding 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import synthgan
from synthgan.evaluation import api
from synthgan.io import write_table


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {"x": x, "colour": rng.choice(["red", "blue"], n), "y": np.where(x > 0, "yes", "no")}
    )


@pytest.fixture(scope="module")
def frames():
    return _table(120, 0), _table(120, 1), _table(80, 2)


def _figures(report) -> dict:
    return {
        k: v for k, v in report.to_dict(plots=False).items() if k not in ("created", "timings_s")
    }


def test_evaluate_reads_csv_and_parquet_paths_like_fit(frames, tmp_path):
    real, synthetic, holdout = frames
    paths = [
        write_table(real, tmp_path / "real.csv"),
        write_table(synthetic, tmp_path / "synthetic.parquet"),
        write_table(holdout, tmp_path / "holdout.csv"),
    ]
    options = {"target": "y", "max_rows": 200}
    from_paths = synthgan.evaluate(str(paths[0]), paths[1], holdout=paths[2], **options)
    from_frames = synthgan.evaluate(real, synthetic, holdout=holdout, **options)
    assert from_paths["data"]["holdout_rows"] == 80
    assert from_paths["headline"] == pytest.approx(from_frames["headline"])
    assert _figures(from_paths)["verdict"] == _figures(from_frames)["verdict"]


def test_a_missing_path_names_the_argument(frames, tmp_path):
    real, _, _ = frames
    with pytest.raises(FileNotFoundError, match=r"synthetic: no such file .*absent\.csv"):
        synthgan.evaluate(real, tmp_path / "absent.csv")
    with pytest.raises(TypeError, match="synthetic must be a pandas DataFrame or the path"):
        synthgan.evaluate(real, real.to_numpy())


def test_verbose_shows_a_progress_bar_over_the_stages_and_quiet_shows_none(frames, capsys):
    real, synthetic, _ = frames
    synthgan.evaluate(real, synthetic, max_rows=200)
    assert capsys.readouterr().err == ""
    report = synthgan.evaluate(real, synthetic, max_rows=200, verbose=True)
    err = capsys.readouterr().err
    assert "evaluate" in err and "5/5" in err
    for stage in ("fidelity", "utility", "privacy", "plots (3 columns)", "column plots"):
        assert stage in err
    assert set(report["timings_s"]) == {"fidelity", "per_class", "utility", "privacy", "plots"}


# -- images -------------------------------------------------------------------------------------
def _digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 grey images of two classes (a bright left or right half), sorted by class."""
    rng = np.random.default_rng(seed)
    labels = np.sort(rng.integers(0, 2, n))
    images = rng.integers(0, 60, (n, 8, 8)).astype(np.uint8)
    for image, label in zip(images, labels, strict=True):
        image[:, 4 * label : 4 * label + 4] += 180
    return images, labels


def _write_class_folders(root, images, labels):
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    return root


def test_evaluate_images_reads_a_npz_file_and_a_flat_folder(tmp_path):
    real, _ = _digits(40, 0)
    generated, _ = _digits(40, 1)
    np.savez(tmp_path / "real.npz", images=real)
    folder = tmp_path / "generated"
    folder.mkdir()
    for index, image in enumerate(generated):
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    options = {"feature_extractor": "pixels", "random_state": 0}  # no labels: no CNN to train

    from_paths = synthgan.evaluate_images(tmp_path / "real.npz", str(folder), **options)
    from_arrays = synthgan.evaluate_images(real, generated, **options)
    assert from_paths["data"]["real_images"] == 40 and from_paths["data"]["generated_images"] == 40
    assert from_paths["headline"]["frechet_distance"] > 0
    assert from_paths["headline"] == pytest.approx(from_arrays["headline"])


def test_class_folder_and_npz_labels_share_one_class_numbering(tmp_path):
    real, real_labels = _digits(20, 0)
    generated, generated_labels = _digits(20, 1)
    np.savez(tmp_path / "real.npz", images=real, labels=real_labels)  # integer labels
    folder = _write_class_folders(tmp_path / "generated", generated, generated_labels)  # "0", "1"
    holdout, holdout_labels = _digits(20, 2)
    real_out, generated_out, holdout_out, labels, classes = api._image_inputs(
        (tmp_path / "real.npz", folder, holdout), (None, None, holdout_labels)
    )
    assert classes == ["0", "1"]
    np.testing.assert_array_equal(labels[0], real_labels)
    np.testing.assert_array_equal(labels[1], generated_labels)  # the folder names, as codes
    np.testing.assert_array_equal(labels[2], holdout_labels)
    np.testing.assert_array_equal(real_out[:, 0], real)
    assert generated_out.shape == (20, 1, 8, 8) and generated_out.dtype == np.uint8
    np.testing.assert_array_equal(generated_out[:, 0], generated)
    assert holdout_out is holdout  # arrays pass through untouched
    # Arrays alone are never renumbered.
    _, _, _, same, none = api._image_inputs((real, real, None), (real_labels, real_labels, None))
    assert none is None and same[0] is real_labels


def test_evaluate_images_refuses_labels_given_twice(tmp_path):
    real, real_labels = _digits(20, 0)
    np.savez(tmp_path / "real.npz", images=real, labels=real_labels)
    with pytest.raises(ValueError, match="do not pass labels= as well"):
        synthgan.evaluate_images(tmp_path / "real.npz", real, real_labels, real_labels)
