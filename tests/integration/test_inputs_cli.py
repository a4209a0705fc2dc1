"""Issue 15, findings 1 to 3, as a new user meets them: through the command line, on a messy CSV.

Each test ran against the code before the fix and failed: the ';'-separated file was one column
whose sampled "rows" were verbatim real rows, identifiers and formatted numbers were copied,
and wrong metadata was accepted in silence.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthgan.cli import main
from synthgan.io import read_table

TINY = ["--epochs", "1", "--seed", "0", "--quiet", "--batch-size", "100"]
WORDS = ["good", "bad", "service", "slow", "fast", "price", "ok", "never", "again", "great"]


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def messy_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    days, months = rng.integers(1, 29, n), rng.integers(1, 13, n)
    years = rng.integers(2000, 2020, n)
    return pd.DataFrame(
        {
            "customer_id": [f"CUST-{i:06d}" for i in rng.permutation(100_000)[:n]],
            "age": rng.integers(17, 90, n),
            "income": [f"{v:,}" for v in rng.integers(1_000, 2_000_000, n)],
            "joined": [f"{d:02d}/{m:02d}/{y}" for d, m, y in zip(days, months, years, strict=True)],
            "day": (pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"))
            .strftime("%Y-%m-%d")
            .tolist(),
            "zip": [f"{z:05d}" for z in rng.integers(0, 2_000, n)],
            "label": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        }
    )


@pytest.fixture(scope="module")
def semicolon_model(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("inputs")
    frame = messy_frame()
    source, model = folder / "semicolon.csv", folder / "m.synthgan"
    frame.to_csv(source, sep=";", index=False)
    assert main([str(a) for a in ("fit", source, "-o", model, *TINY)]) == 0
    return source, model, frame


def test_semicolon_file_is_read_as_its_columns_and_not_copied(semicolon_model, tmp_path, capsys):
    source, model, frame = semicolon_model
    out = tmp_path / "synthetic.parquet"
    code, _, err = run(capsys, "sample", model, "-n", 300, "-o", out, "--seed", 1)
    assert code == 0, err
    synthetic = read_table(out)
    assert list(synthetic.columns) == list(frame.columns)
    real_rows = set(read_table(source).astype(str).itertuples(index=False))
    copied = sum(row in real_rows for row in synthetic.astype(str).itertuples(index=False))
    assert copied == 0


def test_a_wrong_separator_is_refused_naming_the_right_one(semicolon_model, tmp_path, capsys):
    source, _, _ = semicolon_model
    code, _, err = run(capsys, "fit", source, "-o", tmp_path / "m.synthgan", "--sep", ",", *TINY)
    assert code == 2
    assert "';'" in err and "--sep" in err


def test_identifiers_and_formatted_values(semicolon_model, tmp_path, capsys):
    _, model, frame = semicolon_model
    out = tmp_path / "synthetic.parquet"
    assert run(capsys, "sample", model, "-n", 300, "-o", out, "--seed", 2)[0] == 0
    synthetic = read_table(out)
    assert not set(synthetic["customer_id"]) & set(frame["customer_id"])  # exact-copy rate 0
    assert synthetic["customer_id"].str.fullmatch(r"CUST-\d+").all()
    assert pd.api.types.is_numeric_dtype(synthetic["income"])  # "1,234,567" read as a number
    assert pd.api.types.is_datetime64_any_dtype(synthetic["joined"])  # dd/mm/yyyy parsed
    assert (synthetic["day"] == synthetic["day"].dt.normalize()).all()  # dates stay dates
    assert synthetic["zip"].str.fullmatch(r"\d{5}").all()  # leading zeros kept as text
    code, out_text, err = run(capsys, "info", model, "--json")
    assert code == 0, err
    kinds = {column["name"]: column["kind"] for column in json.loads(out_text)["columns"]}
    assert kinds["customer_id"] == "id" and kinds["zip"] == "discrete"


def test_free_text_is_refused_with_the_ways_out(tmp_path, capsys):
    frame = messy_frame()
    rng = np.random.default_rng(1)
    frame["comment"] = [" ".join(rng.choice(WORDS, 6)) for _ in range(len(frame))]
    source = tmp_path / "text.csv"
    frame.to_csv(source, index=False)
    code, _, err = run(capsys, "fit", source, "-o", tmp_path / "m.synthgan", *TINY)
    assert code == 2
    assert "comment" in err and '"kind": "text"' in err


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"age": {"type": "continuous"}}, "columns"),  # no "columns" key
        ({"columns": {"age": {"mn": 20}}}, "min"),  # a typo, answered with the valid keys
    ],
)
def test_wrong_metadata_is_refused(tmp_path, capsys, metadata, expected):
    source = tmp_path / "t.csv"
    messy_frame().to_csv(source, index=False)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(metadata))
    code, _, err = run(capsys, "fit", source, "-o", tmp_path / "m.synthgan", "--metadata", meta)
    assert code == 2 and expected in err


def test_metadata_that_changes_the_data_warns(tmp_path, capsys):
    source = tmp_path / "t.csv"
    messy_frame().to_csv(source, index=False)
    meta = tmp_path / "meta.json"
    columns = {"age": {"min": 20, "max": 30}, "label": {"categories": ["yes", "no"]}}
    meta.write_text(json.dumps({"columns": columns}))
    code, _, err = run(
        capsys, "fit", source, "-o", tmp_path / "m.synthgan", "--metadata", meta, *TINY
    )
    assert code == 0, err
    assert "exclude" in err and "'age'" in err  # the clipped ages, with their count
    assert "categories" in err and "privacy" in err  # a DP-only key used without DP
