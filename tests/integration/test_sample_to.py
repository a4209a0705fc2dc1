"""``sample_to`` of the table and image synthesizers, and the streaming ``sample`` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from sklearn.datasets import load_digits

from synthgan import ConditionalGANSynthesizer, DCGANSynthesizer
from synthgan.cli import main
from synthgan.exceptions import DataValidationError
from synthgan.image.data import read_images
from synthgan.io import check_complete, read_table, streams


@pytest.fixture(scope="module")
def fitted():
    """A tiny CTGAN on a frame of every dtype (missing values, datetimes, Int64, category)."""
    from synthgan import CTGANSynthesizer

    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "i": rng.integers(0, 100, n),
        "f": np.where(rng.random(n) < 0.1, np.nan, rng.normal(5, 2, n)),
        "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        "s": np.where(rng.random(n) < 0.05, None, rng.choice(["red", "blue"], n)).astype(object),
        "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        "n": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)), dtype="Int64"),
    })  # fmt: skip
    model = CTGANSynthesizer(
        epochs=1, generator_dim=(8,), discriminator_dim=(8,), batch_size=20, pac=2,
        embedding_dim=8, verbose=False, random_state=0,
    ).fit(frame)  # fmt: skip
    return model, frame


@pytest.fixture
def small_blocks(monkeypatch):
    """Seed blocks of 64 rows, so that a few hundred rows span several blocks and chunks."""
    monkeypatch.setattr(streams, "BLOCK_ROWS", 64)


def _dataset(path) -> pd.DataFrame:
    return pd.read_parquet(path).reset_index(drop=True)


def test_directory_dataset_keeps_dtypes_and_is_the_same_whatever_the_chunks(
    fitted, tmp_path, small_blocks
):
    model, frame = fitted
    a = model.sample_to(tmp_path / "a", 300, chunk_rows=300, random_state=5, progress=False)
    b = model.sample_to(tmp_path / "b", 300, chunk_rows=45, file_rows=100, random_state=5)
    record = check_complete(b)
    assert record["rows"] == 300 and sum(f["rows"] for f in record["files"]) == 300
    assert len(record["files"]) == 3  # 100 rows per file, whole chunks: 135, 135, 30
    first, second = _dataset(a), _dataset(b)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == list(frame.columns)
    assert (first.dtypes == frame.dtypes).all()
    assert first["f"].isna().any() and first["n"].isna().any()
    other = _dataset(model.sample_to(tmp_path / "c", 300, chunk_rows=45, random_state=6))
    assert not other.equals(first)


def test_files_of_one_table_parquet_and_csv(fitted, tmp_path, small_blocks):
    model, frame = fitted
    parquet = model.sample_to(tmp_path / "s.parquet", 200, chunk_rows=30, random_state=1)
    assert (read_table(parquet).dtypes == frame.dtypes).all()
    csv = model.sample_to(tmp_path / "s.csv.gz", 200, chunk_rows=70, random_state=1)
    whole = _dataset(model.sample_to(tmp_path / "dir", 200, random_state=1))
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), whole)
    from_csv = read_table(csv)
    assert from_csv.shape == whole.shape
    np.testing.assert_allclose(from_csv["f"], whole["f"], rtol=1e-12)
    assert (from_csv["d"] == whole["d"]).all() and (from_csv["s"].isna() == whole["s"].isna()).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "s.csv.gz", "s.parquet"]


def test_two_workers_write_the_same_rows_as_one(fitted, tmp_path):
    # Real seed blocks: spawned workers do not see a monkeypatched block size.
    model, _ = fitted
    one = model.sample_to(tmp_path / "one", 400, chunk_rows=50, random_state=3)
    two = model.sample_to(tmp_path / "two", 400, chunk_rows=50, random_state=3, workers=2)
    pd.testing.assert_frame_equal(_dataset(one), _dataset(two))


def test_conditions_hold_on_every_row(fitted, tmp_path, small_blocks):
    model, _ = fitted
    out = model.sample_to(tmp_path / "x", 150, chunk_rows=40, conditions={"c": "x"}, random_state=0)
    assert (_dataset(out)["c"] == "x").all()
    with pytest.raises(DataValidationError, match="not a category"):
        model.sample_to(tmp_path / "bad", 10, conditions={"c": "nope"})
    assert not (tmp_path / "bad").exists()


def test_partitioned_dataset_by_a_discrete_column(fitted, tmp_path, small_blocks):
    model, _ = fitted
    out = model.sample_to(tmp_path / "p", 300, chunk_rows=64, partition_by="c", random_state=2)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert set(folders) <= {"c=x", "c=y", "c=z"} and len(folders) >= 2
    table = ds.dataset(out, format="parquet", partitioning="hive").to_table().to_pandas()
    plain = _dataset(model.sample_to(tmp_path / "flat", 300, chunk_rows=64, random_state=2))
    assert len(table) == 300
    assert (
        table["c"].astype(str).value_counts().to_dict()
        == plain["c"].astype(str).value_counts().to_dict()
    )
    assert sum(f["rows"] for f in check_complete(out)["files"]) == 300
    with pytest.raises(DataValidationError, match="discrete column"):
        model.sample_to(tmp_path / "q", 10, partition_by="f")
    with pytest.raises(DataValidationError, match="not a column"):
        model.sample_to(tmp_path / "q", 10, partition_by="nope")
    with pytest.raises(DataValidationError, match="needs a directory output"):
        model.sample_to(tmp_path / "q.parquet", 10, partition_by="c")


@pytest.mark.parametrize(
    ("argument", "value"), [("n", 0), ("chunk_rows", 0), ("workers", 0), ("file_rows", 1.5)]
)
def test_bad_sizes_name_the_argument(fitted, tmp_path, argument, value):
    model, _ = fitted
    options = {"n": 10, argument: value}
    with pytest.raises(ValueError, match=argument):
        model.sample_to(tmp_path / "out", **options)


# -- images -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    return np.rint(bunch.images[:160] * (255 / 16)).astype(np.uint8), bunch.target[:160]


_TINY_IMAGE = dict(epochs=1, batch_size=32, latent_dim=8, generator_width=4,
                   discriminator_width=4, verbose=False, random_state=0)  # fmt: skip


def test_png_folder_and_npz_shards_hold_the_same_images(digits, tmp_path, small_blocks):
    images, _ = digits
    model = DCGANSynthesizer(**_TINY_IMAGE).fit(images)
    png = model.sample_to(tmp_path / "png", 150, chunk_images=40, random_state=4)
    npz = model.sample_to(tmp_path / "npz", 150, chunk_images=64, format="npz", random_state=4)
    from_png = read_images(png).images.permute(0, 2, 3, 1).numpy()
    record = check_complete(npz)
    shards = [np.load(npz / f["path"])["images"] for f in record["files"]]
    assert [len(s) for s in shards] == [64, 64, 22]
    np.testing.assert_array_equal(from_png, np.concatenate(shards))
    assert check_complete(png)["folders"] == {".": 150}


def test_conditional_folders_by_class_with_counts(digits, tmp_path, small_blocks):
    images, labels = digits
    model = ConditionalGANSynthesizer(**_TINY_IMAGE, embedding_dim=4).fit(images, labels)
    out = model.sample_to(tmp_path / "by_class", labels={3: 70, 7: 30}, chunk_images=25)
    read = read_images(out)
    assert read.classes == ("3", "7")
    assert np.bincount(read.labels.numpy()).tolist() == [70, 30]
    assert json.loads((out / "_synthgan.json").read_text())["folders"] == {"3": 70, "7": 30}
    with pytest.raises(DataValidationError, match="labels ask for 100"):
        model.sample_to(tmp_path / "bad", 5, labels={3: 70, 7: 30})
    with pytest.raises(DataValidationError, match="unconditional"):
        DCGANSynthesizer(**_TINY_IMAGE).fit(images).sample_to(tmp_path / "bad", labels={3: 1})


# -- the command line ---------------------------------------------------------------------------
def test_cli_sample_to_a_directory_with_workers_and_partitions(fitted, tmp_path, capsys):
    model, _ = fitted
    path = model.save(tmp_path / "m.synthgan")
    argv = ["sample", str(path), "-n", "500", "-o", str(tmp_path / "out"), "--seed", "1",
            "--chunk-rows", "128", "--partition-by", "c", "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert check_complete(tmp_path / "out")["partition_by"] == "c"
    code = main(argv)
    assert code == 2 and "overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert main(["sample", str(path), "-n", "5", "-o", str(tmp_path / "t.txt")]) == 2
    assert "Cannot tell the table format" in capsys.readouterr().err


def test_cli_sample_images_to_shards(digits, tmp_path, capsys):
    images, _ = digits
    path = DCGANSynthesizer(**_TINY_IMAGE).fit(images).save(tmp_path / "img.synthgan")
    argv = ["sample-images", str(path), "-n", "40", "-o", str(tmp_path / "shards"), "--shards",
            "--chunk-rows", "16", "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert [f["rows"] for f in check_complete(tmp_path / "shards")["files"]] == [16, 16, 8]


def test_cli_fits_a_parquet_directory_streamed_and_samples_it_back(fitted, tmp_path, capsys):
    """The round trip of issue 19 on the command line: a directory dataset in, streamed fit,
    a directory dataset out."""
    model, _ = fitted
    source = model.sample_to(tmp_path / "source", 400, chunk_rows=100, file_rows=100)
    out = tmp_path / "m.synthgan"
    argv = ["fit", str(source), "-o", str(out), "--epochs", "1", "--batch-size", "40",
            "--streaming", "on", "--seed", "0", "--quiet"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    import synthgan

    refit = synthgan.load(out)
    assert refit.streaming_["files"] == 4 and refit.streaming_["rows"] == 400
    assert main(["sample", str(out), "-n", "50", "-o", str(tmp_path / "back"), "--quiet"]) == 0
    assert list(_dataset(tmp_path / "back").columns) == list(_dataset(source).columns)
