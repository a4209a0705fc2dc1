"""Tables in and out through pyarrow: dtypes, column order, atomic and protected writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthgan.io.tables as tables_module
from synthgan.exceptions import DataValidationError
from synthgan.io import atomic_path, atomic_write_bytes, read_table, write_table


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """One column of every dtype synthgan must round-trip, in a deliberately unsorted order."""
    return pd.DataFrame(
        {
            "zeta_int": np.array([1, -2, 3, 2**62], dtype="int64"),
            "float_nan": [1.5, np.nan, 3.0, -0.1],
            "whole_floats": [1.0, 2.0, np.nan, 4.0],
            "flag": [True, False, True, True],
            "colour": pd.Categorical(["red", "blue", "red", np.nan]),
            "when": pd.to_datetime(
                ["2020-01-01", "2021-05-03 12:00:01.5", "1999-12-31 23:59:59", "2024-02-29"],
                format="ISO8601",
            ),
            "alpha_text": ["x", np.nan, "NA", 'comma, "quoted"'],
            "counts": pd.array([1, None, 3, 2**62 + 1], dtype="Int64"),
        }
    )


def _temp_files(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip_keeps_exact_dtypes_and_values(tmp_path, mixed_frame, suffix):
    path = write_table(mixed_frame, tmp_path / f"table{suffix}")

    result = read_table(path)

    pd.testing.assert_frame_equal(result, mixed_frame, check_exact=True)
    assert result["counts"].dtype == "Int64"
    assert result["colour"].dtype == mixed_frame["colour"].dtype  # same categories
    assert result["alpha_text"].dtype == object
    assert result["alpha_text"][1] is np.nan  # NaN, not None, for a missing string


def test_parquet_keeps_non_string_unused_and_ordered_categories(tmp_path):
    # Parquet itself keeps a dictionary type only for strings and drops unused categories.
    frame = pd.DataFrame(
        {
            "ints": pd.Series([1, 2, 1, None], dtype="category"),
            "floats": pd.Series([1.5, 2.5, None, 1.5], dtype=pd.CategoricalDtype([1.5, 2.5, 9.0])),
            "ordered": pd.Series(
                ["a", "b", "a", None], dtype=pd.CategoricalDtype(["b", "a", "z"], ordered=True)
            ),
            "dates": pd.Series(
                pd.to_datetime(["2020-01-01", "2021-06-01", None, "2020-01-01"])
            ).astype("category"),
            "flags": pd.Series([True, False, True, None]).astype("category"),
        }
    )
    path = write_table(frame, tmp_path / "categories.parquet")

    result = read_table(path)

    pd.testing.assert_frame_equal(result, frame, check_exact=True)
    assert list(result["floats"].cat.categories) == [1.5, 2.5, 9.0]
    assert result["ordered"].cat.ordered


def test_parquet_written_elsewhere_keeps_its_category_columns(tmp_path):
    frame = pd.DataFrame({"code": pd.Series([3, 4, 3], dtype="category"), "x": [1.0, 2.0, 3.0]})
    path = tmp_path / "other.parquet"
    frame.to_parquet(path, index=False)

    result = read_table(path)

    assert isinstance(result["code"].dtype, pd.CategoricalDtype)
    assert result["code"].tolist() == [3, 4, 3]
    assert result["x"].dtype == np.float64


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".tsv", ".tsv.gz"])
def test_csv_round_trip_keeps_values_and_dtypes_csv_can_carry(tmp_path, mixed_frame, suffix):
    path = write_table(mixed_frame, tmp_path / f"table{suffix}")

    result = read_table(path)

    # CSV has no category type: categories come back as their string values.
    expected = mixed_frame.astype({"colour": object})
    expected["colour"] = expected["colour"].where(expected["colour"].notna(), np.nan)
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    assert list(result.columns) == list(mixed_frame.columns)


def test_gzip_csv_is_really_compressed(tmp_path, mixed_frame):
    path = write_table(mixed_frame, tmp_path / "table.csv.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic number


def test_csv_written_elsewhere_gets_synthgan_dtypes(tmp_path):
    path = tmp_path / "foreign.csv"
    path.write_text(
        "n,text,day,stamp,ok,empty\n"
        "1,a,2020-01-01,2020-01-01 10:00:00,true,\n"
        ",,2021-06-30,2021-06-30T11:30:00,,\n"
        "3,c,2022-12-31,2022-12-31 23:59:59,false,\n"
    )

    result = read_table(path)

    assert list(result.columns) == ["n", "text", "day", "stamp", "ok", "empty"]
    assert result["n"].dtype == "Int64"  # integers with a gap stay integers
    assert result["n"].tolist() == [1, pd.NA, 3]
    assert result["text"].dtype == object
    assert result["text"][1] is np.nan
    assert result["day"].dtype == "datetime64[ns]"
    assert result["stamp"].dtype == "datetime64[ns]"
    assert result["stamp"][1] == pd.Timestamp("2021-06-30 11:30:00")
    assert result["ok"].dtype == "boolean"
    assert result["empty"].isna().all()


def test_csv_type_inference_sees_rows_after_the_first_block(tmp_path):
    # pyarrow infers types from the first 1 MiB; a float far below must still be read.
    path = tmp_path / "late_float.csv"
    path.write_text("value\n" + "1\n" * 600_000 + "1.5\n")

    result = read_table(path)

    assert result["value"].dtype == np.float64
    assert len(result) == 600_001
    assert result["value"].iloc[-1] == 1.5


def test_explicit_format_overrides_extension(tmp_path, mixed_frame):
    path = write_table(mixed_frame, tmp_path / "table.dat", format="parquet")
    pd.testing.assert_frame_equal(read_table(path, format="parquet"), mixed_frame)
    with pytest.raises(DataValidationError, match="format must be one of"):
        read_table(path, format="excel")


# -- errors when reading ------------------------------------------------------------------------
def test_unknown_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"not a table")
    with pytest.raises(DataValidationError) as excinfo:
        read_table(path)
    message = str(excinfo.value)
    assert "table.xlsx" in message
    for extension in (".csv", ".csv.gz", ".tsv", ".parquet", ".pq"):
        assert extension in message
    with pytest.raises(DataValidationError, match="Supported extensions"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.json")


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(FileNotFoundError, match=r"absent\.csv"):
        read_table(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_empty_file_is_a_clear_error(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(DataValidationError, match="empty"):
        read_table(tmp_path / name)


def test_unreadable_parquet_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    with pytest.raises(DataValidationError, match=r"broken\.parquet.*PARQUET"):
        read_table(path)


def test_corrupt_gzip_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data" * 4)
    with pytest.raises(DataValidationError, match=r"broken\.csv\.gz.*as CSV"):
        read_table(path)


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataValidationError, match=r"duplicate column names \['a'\]"):
        read_table(path)
    frame = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.raises(DataValidationError, match="duplicate"):
        write_table(frame, tmp_path / "dup.parquet")
    assert not (tmp_path / "dup.parquet").exists()


# -- atomic, refusing and protected writes ------------------------------------------------------
def test_write_creates_parents_and_leaves_no_temporary_files(tmp_path, mixed_frame):
    target = tmp_path / "new" / "nested" / "table.parquet"
    returned = write_table(mixed_frame, target)
    assert returned == target
    assert target.is_file()
    assert os.listdir(target.parent) == ["table.parquet"]


def test_new_file_permissions_follow_the_umask(tmp_path, mixed_frame):
    umask = os.umask(0o022)
    os.umask(umask)
    path = write_table(mixed_frame, tmp_path / "table.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_existing_file_is_refused_without_overwrite(tmp_path, mixed_frame):
    path = tmp_path / "table.csv"
    path.write_text("keep me\n")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_table(mixed_frame, path)
    assert path.read_text() == "keep me\n"

    write_table(mixed_frame, path, overwrite=True)
    pd.testing.assert_series_equal(read_table(path)["zeta_int"], mixed_frame["zeta_int"])


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path, mixed_frame, monkeypatch
):
    path = tmp_path / "table.parquet"
    path.write_bytes(b"previous content")

    def write_half_then_fail(table, where):
        Path(where).write_bytes(b"PAR1 half written")
        raise OSError("disk full")

    monkeypatch.setattr(tables_module.pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_table(mixed_frame, path, overwrite=True)

    assert path.read_bytes() == b"previous content"
    assert _temp_files(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_input_files_are_never_overwritten(tmp_path, mixed_frame, overwrite):
    source = tmp_path / "input.csv"
    write_table(mixed_frame, source)
    before = source.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    roundabout = tmp_path / "sub" / ".." / "input.csv"

    for target in (source, link, roundabout, str(source)):
        with pytest.raises(FileExistsError, match="input file"):
            write_table(mixed_frame, target, overwrite=overwrite, protect=[source])

    assert source.read_bytes() == before
    assert _temp_files(tmp_path) == []


def test_protect_allows_other_destinations(tmp_path, mixed_frame):
    source = write_table(mixed_frame, tmp_path / "input.csv")
    out = write_table(mixed_frame, tmp_path / "output.csv", protect=[source])
    assert out.is_file()


# -- atomic helpers -----------------------------------------------------------------------------
def test_atomic_write_bytes_writes_and_refuses_to_replace(tmp_path):
    path = atomic_write_bytes(tmp_path / "a" / "blob.bin", b"first")
    assert path.read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        atomic_write_bytes(path, b"second")
    atomic_write_bytes(path, b"second", overwrite=True)
    assert path.read_bytes() == b"second"
    assert _temp_files(path.parent) == []


def test_atomic_path_removes_temporary_when_the_block_raises(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        assert tmp.parent == target.parent  # same directory: the rename is atomic
        raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_path_never_clobbers_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(FileExistsError), atomic_path(target) as tmp:
        tmp.write_bytes(b"ours")
        target.write_bytes(b"theirs")  # another process wins the race
    assert target.read_bytes() == b"theirs"
    assert _temp_files(tmp_path) == []


def test_atomic_path_refuses_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError), atomic_path(tmp_path, overwrite=True):
        pass


def test_csv_writes_dates_as_dates_and_whole_seconds_without_a_fraction(tmp_path):
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2018-09-01", None, "2019-02-03"]),
            "at": pd.to_datetime(["2018-01-01 10:00:01", "2018-01-01 11:00:00", None]),
            "fine": pd.to_datetime(
                ["2018-01-01 10:00:01.5", "2018-01-01 00:00:00", None], format="ISO8601"
            ),
        }
    )
    path = write_table(frame, tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    assert lines[1].startswith("2018-09-01,2018-01-01 10:00:01,2018-01-01 10:00:01.5")
    assert "2018-09-01 00:00:00" not in path.read_text()
    back = read_table(path)
    pd.testing.assert_frame_equal(back, frame)
