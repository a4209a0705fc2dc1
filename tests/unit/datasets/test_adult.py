"""The bundled Adult table: schema, missing values, and fidelity to the original copy."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan.datasets import adult_metadata, load_adult

# The shared data folder sits next to the project root (see ../shared/data/README.md).
SOURCE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "adult.csv"
COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]
CONTINUOUS = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
WITH_MISSING = {"workclass", "occupation", "native-country"}


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()


def _bundled_bytes() -> bytes:
    return resources.files("synthgan.datasets").joinpath("data", "adult.csv.gz").read_bytes()


def test_shape_and_column_order(adult):
    assert adult.shape == (32561, 15)
    assert list(adult.columns) == COLUMNS


def test_dtypes(adult):
    for name in COLUMNS:
        expected = np.int64 if name in CONTINUOUS else object
        assert adult[name].dtype == expected, name


def test_missing_values_only_where_the_original_has_question_marks(adult):
    missing = adult.isna().sum()
    assert set(missing[missing > 0].index) == WITH_MISSING
    assert missing.to_dict() == {**dict.fromkeys(COLUMNS, 0), **_question_mark_counts()}
    assert missing[["workclass", "occupation", "native-country"]].tolist() == [1836, 1843, 583]
    assert adult.loc[adult["workclass"].isna(), "workclass"].map(type).eq(float).all()  # NaN


def test_strings_have_no_surrounding_spaces_and_no_question_marks(adult):
    for name in set(COLUMNS) - CONTINUOUS:
        values = adult[name].dropna()
        assert values.map(type).eq(str).all(), name
        assert (values == values.str.strip()).all(), name
        assert not (values == "?").any(), name


def test_income_has_two_classes_in_the_documented_proportion(adult):
    counts = adult["income"].value_counts()
    assert set(counts.index) == {"<=50K", ">50K"}
    assert counts["<=50K"] == 24720
    assert counts["<=50K"] / len(adult) == pytest.approx(0.759, abs=0.001)


def test_matches_the_original_file_parsed_independently(adult):
    original = pd.read_csv(SOURCE, skipinitialspace=True, na_values=["?"], keep_default_na=False)
    pd.testing.assert_frame_equal(adult, original)


def test_bundled_file_is_the_documented_deterministic_cleaning_of_the_original():
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    cleaned = "".join(
        ",".join("" if cell.strip() == "?" else cell.strip() for cell in line.split(",")) + "\n"
        for line in lines
    )
    bundled = _bundled_bytes()
    assert gzip.decompress(bundled).decode("utf-8") == cleaned
    assert bundled[4:8] == b"\x00\x00\x00\x00"  # gzip header mtime 0: reproducible bytes
    assert bundled[8] == 2  # gzip "maximum compression" flag (level 9)


def test_as_frame_false_returns_the_values(adult):
    values = load_adult(as_frame=False)
    assert isinstance(values, np.ndarray)
    assert values.shape == (32561, 15)
    assert values[0, 1] == adult.iloc[0, 1] == "State-gov"


def test_each_call_returns_an_independent_frame():
    first = load_adult()
    first.loc[0, "age"] = -1
    assert load_adult().loc[0, "age"] == 39


def test_metadata_types_and_target():
    metadata = adult_metadata()
    assert metadata["target"] == "income"
    assert list(metadata["columns"]) == COLUMNS
    for name, spec in metadata["columns"].items():
        assert spec == {"type": "continuous" if name in CONTINUOUS else "discrete"}
    metadata["columns"]["age"]["type"] = "changed"
    assert adult_metadata()["columns"]["age"] == {"type": "continuous"}


def test_attribution_ships_with_the_data():
    text = resources.files("synthgan.datasets").joinpath("data", "ADULT_ATTRIBUTION.md").read_text()
    for required in ("UCI Machine Learning Repository", "Becker", "Kohavi", "1996"):
        assert required in text
    assert "https://doi.org/10.24432/C5XW20" in text
    assert "CC BY 4.0" in text


def _question_mark_counts() -> dict[str, int]:
    original = pd.read_csv(SOURCE, skipinitialspace=True, dtype=str, keep_default_na=False)
    counts = (original == "?").sum()
    return {name: int(count) for name, count in counts.items() if count}
