"""Parquet datasets read in record batches: schemas checked across files, bad inputs named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgan.exceptions import DataValidationError
from synthgan.io import read_table, write_table
from synthgan.io.datasets import is_dataset_source, open_dataset


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)), "Int64"),
            "c": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "z"]),
            "s": rng.choice(["u", "v"], n).astype(object),
        }
    )


def test_a_directory_reads_back_as_read_table_reads_each_file(tmp_path):
    frames = [_frame(50, 0), _frame(30, 1)]
    for i, frame in enumerate(frames):
        write_table(frame, tmp_path / f"p{i}.parquet")
    (tmp_path / "_SUCCESS").write_text("")  # marker files are not data
    dataset = open_dataset(tmp_path)
    assert dataset.n_rows == 80 and len(dataset.files) == 2
    whole = dataset.to_frame()
    expected = pd.concat([read_table(tmp_path / "p0.parquet"), read_table(tmp_path / "p1.parquet")])
    pd.testing.assert_frame_equal(whole, expected.reset_index(drop=True))
    batches = list(dataset.batches(16))
    assert sum(len(b) for b in batches) == 80
    assert all(list(b["c"].cat.categories) == ["a", "b", "z"] for b in batches)


def test_mixed_column_sets_are_refused_naming_the_files_and_columns(tmp_path):
    write_table(_frame(10), tmp_path / "a.parquet")
    write_table(_frame(10).rename(columns={"s": "t"}), tmp_path / "b.parquet")
    with pytest.raises(DataValidationError, match=r"b\.parquet lacks columns \['s'\].*\['t'\]"):
        open_dataset(tmp_path)


def test_incompatible_types_are_refused_naming_the_column(tmp_path):
    write_table(_frame(10), tmp_path / "a.parquet")
    write_table(_frame(10).assign(x=lambda f: f["x"].astype(str)), tmp_path / "b.parquet")
    with pytest.raises(DataValidationError, match=r"b\.parquet has column types.*'x' is string"):
        open_dataset([tmp_path / "a.parquet", tmp_path / "b.parquet"])


def test_empty_and_unreadable_inputs_are_named(tmp_path):
    with pytest.raises(DataValidationError, match="No Parquet file found"):
        open_dataset(tmp_path)
    write_table(_frame(0), tmp_path / "empty.parquet")
    with pytest.raises(DataValidationError, match="has no rows"):
        open_dataset(tmp_path)
    (tmp_path / "bad.parquet").write_bytes(b"not a parquet file at all")
    with pytest.raises(DataValidationError, match=r"bad\.parquet.*as Parquet"):
        open_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "missing")


def test_dataset_sources_are_told_apart(tmp_path):
    assert is_dataset_source(tmp_path) and is_dataset_source("t.parquet")
    assert is_dataset_source([tmp_path / "a.pq"])
    assert not is_dataset_source("t.csv") and not is_dataset_source(_frame(3))
