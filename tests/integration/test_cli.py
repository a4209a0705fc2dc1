"""The ``synthgan`` command, run in-process through ``main(argv)`` on a 300-row Adult sample."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest

from synthgan import __version__, workflows
from synthgan.cli import main
from synthgan.datasets import load_adult
from synthgan.exceptions import DataValidationError
from synthgan.io import read_table, write_table

FIT_FAST = ["--epochs", "1", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the 300-row sample as CSV and Parquet, and a model fitted on it."""
    folder = tmp_path_factory.mktemp("cli")
    small = load_adult().sample(300, random_state=0).reset_index(drop=True)
    write_table(small, folder / "adult.csv")
    write_table(small, folder / "adult.parquet")
    model = folder / "m.synthgan"
    assert main(["fit", str(folder / "adult.parquet"), "-o", str(model), *FIT_FAST]) == 0
    return folder


@pytest.fixture
def model(data_dir: Path) -> Path:
    return data_dir / "m.synthgan"


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- fit and sample -----------------------------------------------------------------------------
def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"synthgan {__version__}"


def test_fit_from_csv_then_sample_parquet_and_csv(data_dir, tmp_path, capsys):
    model = tmp_path / "adult.synthgan"
    code, out, err = run(capsys, "fit", data_dir / "adult.csv", "-o", model, "--epochs", "1")
    assert code == 0, err
    assert f"Model written to {model}" in out
    assert "--batch-size 300" in err  # the batch-size warning, shown in CLI words

    for name in ("synthetic.parquet", "synthetic.csv"):
        code, out, err = run(capsys, "sample", model, "-n", 120, "-o", tmp_path / name)
        assert code == 0, err
        assert f"120 rows written to {tmp_path / name}" in out
        synthetic = read_table(tmp_path / name)
        assert synthetic.shape == (120, 15)
        assert list(synthetic.columns) == list(load_adult().columns)
    parquet = read_table(tmp_path / "synthetic.parquet")
    assert parquet["age"].dtype == "int64"
    assert parquet["income"].isin(["<=50K", ">50K"]).all()


def test_sample_with_seed_is_reproducible(model, tmp_path, capsys):
    for name in ("a.parquet", "b.parquet"):
        assert run(capsys, "sample", model, "-n", 50, "-o", tmp_path / name, "--seed", 7)[0] == 0
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "a.parquet"), read_table(tmp_path / "b.parquet")
    )


def test_conditions_give_only_matching_rows(model, tmp_path, capsys):
    out_path = tmp_path / "rich_women.parquet"
    code, _, err = run(
        capsys, "sample", model, "-n", 40, "-o", out_path, "--seed", 0,
        "--condition", "income=>50K", "--condition", "sex=Female",
    )  # fmt: skip
    assert code == 0, err
    synthetic = read_table(out_path)
    assert len(synthetic) == 40
    assert (synthetic["income"] == ">50K").all()
    assert (synthetic["sex"] == "Female").all()


def test_condition_on_an_integer_discrete_column(data_dir, tmp_path, capsys):
    model = tmp_path / "m.synthgan"
    args = ["--discrete-columns", "education-num, income", *FIT_FAST]
    assert run(capsys, "fit", data_dir / "adult.csv", "-o", model, *args)[0] == 0
    out_path = tmp_path / "s.parquet"
    code, _, err = run(
        capsys, "sample", model, "-n", 20, "-o", out_path, "--condition", "education-num=13"
    )
    assert code == 0, err
    synthetic = read_table(out_path)
    assert synthetic["education-num"].dtype == "int64"
    assert (synthetic["education-num"] == 13).all()


def test_fit_with_metadata_file(data_dir, tmp_path, capsys):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"columns": {"age": {"type": "continuous", "min": 17, "max": 90}}}))
    model = tmp_path / "m.synthgan"
    code, _, err = run(
        capsys, "fit", data_dir / "adult.csv", "-o", model, "--metadata", meta, *FIT_FAST
    )
    assert code == 0, err
    assert model.stat().st_size > 0


# -- files that must not be written -------------------------------------------------------------
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_fit_refuses_to_write_onto_its_input(data_dir, capsys, overwrite):
    source = data_dir / "adult.csv"
    before = source.read_bytes()
    code, _, err = run(capsys, "fit", source, "-o", source, *FIT_FAST, *overwrite)
    assert code == 2
    assert err.startswith("synthgan: error: ")
    assert "input file" in err and str(source) in err
    assert source.read_bytes() == before


def test_sample_refuses_to_write_onto_the_model(model, capsys):
    before = model.read_bytes()
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", model, "--overwrite")
    assert code == 2
    assert "input file" in err
    assert model.read_bytes() == before


def test_existing_output_needs_overwrite(data_dir, model, tmp_path, capsys):
    out_path = tmp_path / "s.csv"
    out_path.write_text("keep me\n")
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", out_path)
    assert code == 2
    assert "already exists" in err and "--overwrite" in err
    assert out_path.read_text() == "keep me\n"
    assert run(capsys, "sample", model, "-n", 5, "-o", out_path, "--overwrite")[0] == 0
    assert len(read_table(out_path)) == 5

    model_out = tmp_path / "m.synthgan"
    model_out.write_bytes(b"old")
    code, _, err = run(capsys, "fit", data_dir / "adult.csv", "-o", model_out, *FIT_FAST)
    assert code == 2 and "already exists" in err
    assert model_out.read_bytes() == b"old"


# -- errors: exit code 2, one clear line, no traceback ------------------------------------------
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("income=rich", ["'income'", "'rich'", ">50K"]),
        ("salary=high", ["'salary'", "income"]),
        ("income", ["'income'", "COLUMN=VALUE"]),
        ("age=39", ["'age'", "discrete"]),
    ],
)
def test_bad_condition(model, tmp_path, capsys, condition, expected):
    out_path = tmp_path / "s.csv"
    code, _, err = run(capsys, "sample", model, "-n", 5, "-o", out_path, "--condition", condition)
    assert code == 2
    assert err.startswith("synthgan: error: ")
    assert "Traceback" not in err
    for text in expected:
        assert text in err
    assert not out_path.exists()


@pytest.mark.parametrize("damage", ["flip", "truncate", "pickle"])
def test_tampered_model_file(model, tmp_path, capsys, damage):
    bad = tmp_path / "bad.synthgan"
    content = bytearray(model.read_bytes())
    if damage == "flip":
        content[len(content) // 2] ^= 0xFF
    elif damage == "truncate":
        content = content[: len(content) // 2]
    else:
        content = bytearray(pickle.dumps({"generator": [1.0, 2.0]}))
    bad.write_bytes(bytes(content))
    code, _, err = run(capsys, "sample", bad, "-n", 5, "-o", tmp_path / "s.csv")
    assert code == 2
    assert err.startswith(f"synthgan: error: {bad}")
    assert "Traceback" not in err
    assert ("pickle" if damage == "pickle" else "corrupted") in err
    assert not (tmp_path / "s.csv").exists()


def test_missing_files_and_bad_arguments(data_dir, tmp_path, capsys):
    code, _, err = run(capsys, "fit", tmp_path / "nope.csv", "-o", tmp_path / "m.synthgan")
    assert code == 2
    assert err.strip() == f"synthgan: error: {tmp_path / 'nope.csv'}: table file not found"

    meta = tmp_path / "meta.json"
    meta.write_text("{not json")
    code, _, err = run(
        capsys, "fit", data_dir / "adult.csv", "-o", tmp_path / "m.synthgan", "--metadata", meta
    )
    assert code == 2 and "not valid JSON" in err

    code, _, err = run(capsys, "sample", data_dir / "m.synthgan", "-n", 5, "-o", tmp_path / "s.txt")
    assert code == 2 and "extension" in err

    code, _, err = run(capsys, "sample", data_dir / "m.synthgan", "-o", tmp_path / "s.csv")
    assert code == 2 and "-n/--rows" in err  # argparse usage error

    fit_args = ["-o", tmp_path / "m.synthgan", "--epochs", "0", "--quiet"]
    code, _, err = run(capsys, "fit", data_dir / "adult.csv", *fit_args)
    assert code == 2 and "epochs must be an integer >= 1" in err


def test_no_command_is_a_usage_error(capsys):
    code, _, err = run(capsys)
    assert code == 2
    assert "usage: synthgan" in err


# -- library functions behind the commands ------------------------------------------------------
def test_parse_conditions_splits_on_the_first_equals_sign():
    assert workflows.parse_conditions(["income=>50K", "note=a=b", " sex =Female"]) == {
        "income": ">50K",
        "note": "a=b",
        "sex": "Female",
    }
    assert workflows.parse_conditions(None) == {}
    with pytest.raises(DataValidationError, match="'=x'"):
        workflows.parse_conditions(["=x"])
    with pytest.raises(DataValidationError, match="'sex' is conditioned twice"):
        workflows.parse_conditions(["sex=Male", "sex=Female"])


def test_demo_command_passes_its_options(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(workflows, "run_demo", lambda *a, **k: calls.append((a, k)))
    assert run(capsys, "demo", "--output-dir", tmp_path, "--epochs", 3)[0] == 0
    assert calls == [((str(tmp_path),), {"epochs": 3, "random_state": 0})]


def test_evaluate_writes_html_and_json(data_dir, tmp_path, capsys):
    adult = load_adult().sample(1200, random_state=1).reset_index(drop=True)
    write_table(adult.iloc[:600], tmp_path / "real.parquet")
    write_table(adult.iloc[600:900], tmp_path / "synthetic.csv")
    write_table(adult.iloc[900:], tmp_path / "holdout.parquet")
    args = [
        "evaluate",
        "--real", tmp_path / "real.parquet",
        "--synthetic", tmp_path / "synthetic.csv",
        "--holdout", tmp_path / "holdout.parquet",
        "--target", "income",
        "-o", tmp_path / "report.html",
        "--json", tmp_path / "report.json",
    ]  # fmt: skip
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "membership_inference_auc=" in out and "leakage=" in out
    figures = json.loads((tmp_path / "report.json").read_text())
    assert figures["data"]["holdout_rows"] == 300
    assert 0.3 < figures["headline"]["membership_inference_auc"] < 0.7
    assert "Leakage verdict" in (tmp_path / "report.html").read_text()
    # Outputs are checked first: existing files need --overwrite; inputs are never replaced.
    code, _, err = run(capsys, *args)
    assert code == 2 and "exists" in err
    code, _, err = run(capsys, *args[:-2], "--json", tmp_path / "real.parquet", "--overwrite")
    assert code == 2 and "input" in err
    code, _, err = run(capsys, *args[:-4])
    assert code == 2 and "Give an output" in err


@pytest.mark.filterwarnings("ignore:batch_size=500 exceeds")
def test_run_demo_smoke(tmp_path, capsys):
    summary = workflows.run_demo(tmp_path / "out", epochs=1, rows=600, verbose=True)
    out = capsys.readouterr().out
    output = tmp_path / "out" / "synthetic_adult.parquet"
    assert summary["output_path"] == output.resolve()
    synthetic = read_table(output)
    assert synthetic.shape == (480, 15)  # trained on the 80% split of the 600 rows
    assert summary["rows"] == 480 and summary["holdout_rows"] == 120 and summary["epochs"] == 1
    for key in ("overall", "column_shapes", "column_pair_trends"):
        assert 0 <= summary["quality"][key] <= 1
    assert 0 <= summary["income_share"]["synthetic"] <= 1
    assert summary["income_share"]["real"] == pytest.approx(real_share(rows=600), abs=0.01)
    for text in ("fit time", "quality overall", "column pair trends", "membership", "report"):
        assert text in out
    report = tmp_path / "out" / "evaluation_report.html"
    assert summary["report_path"] == report.resolve()
    assert "Privacy leakage" in report.read_text()
    figures = json.loads((tmp_path / "out" / "evaluation_report.json").read_text())
    assert figures["utility"]["target"] == "income"
    # A second run replaces the demo's own outputs.
    workflows.run_demo(tmp_path / "out", epochs=1, rows=600, verbose=False)


def real_share(*, rows: int) -> float:
    sample = load_adult().sample(rows, random_state=0)
    return float((sample["income"] == ">50K").mean())


def test_fit_with_differential_privacy(data_dir, tmp_path, capsys):
    from synthgan import load
    from synthgan.datasets import adult_metadata

    metadata = adult_metadata(public_domains=True)
    bounds = {"age": (0, 100), "fnlwgt": (0, 1_500_000), "education-num": (1, 16),
              "capital-gain": (0, 100_000), "capital-loss": (0, 5_000),
              "hours-per-week": (1, 99)}  # fmt: skip
    for name, (low, high) in bounds.items():
        metadata["columns"][name].update(min=low, max=high)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(metadata))
    out = tmp_path / "dp.synthgan"
    code, stdout, _ = run(
        capsys, "fit", data_dir / "adult.csv", "--epsilon", "3", "--delta", "1e-6",
        "--metadata", meta, "-o", out, "--epochs", "1", "--seed", "0",
    )  # fmt: skip
    assert code == 0
    assert "differentially private" in stdout and "δ = 1e-06 was given by the user" in stdout
    epsilon, delta = load(out).privacy_spent_
    assert 2.8 < epsilon <= 3.0 and delta == pytest.approx(1e-6)
    code, _, err = run(capsys, "fit", data_dir / "adult.csv", "--delta", "1e-6", "-o",
                       tmp_path / "x.synthgan")  # fmt: skip
    assert code != 0 and "--delta needs --epsilon" in err


def test_fit_with_differential_privacy_and_no_metadata(tmp_path, capsys):
    # Issue 18: the bundled Adult (missing values in discrete columns) without any metadata, a
    # small sample at ε = 1: it fits, the guarantee holds, one warning says what DP did to the
    # schema, and an impossible setting is refused with the CLI's flags.
    from synthgan import load

    table = load_adult().sample(3000, random_state=1).reset_index(drop=True)
    assert table["native-country"].isna().any() and table["occupation"].isna().any()
    path = tmp_path / "adult.parquet"
    write_table(table, path)
    out = tmp_path / "dp.synthgan"
    code, _, err = run(capsys, "fit", path, "-o", out, "--epsilon", "1", *FIT_FAST)
    assert code == 0, err
    assert "warning: Differential privacy changed the schema" in err
    assert "'native-country'" in err and "'missing': false" in err and "--metadata" in err
    model = load(out)
    epsilon, _ = model.privacy_spent_
    assert 0.95 <= epsilon <= 1.0
    assert "categories read from the data are named when" in model.privacy_report()
    sample = model.sample(200, random_state=0)
    assert list(sample.columns) == list(table.columns)
    assert set(sample["income"].dropna()) <= set(table["income"].dropna())
    code, _, err = run(capsys, "fit", path, "-o", tmp_path / "x.synthgan", "--epsilon", "1",
                       "--preprocessing-epsilon-share", "0", *FIT_FAST)  # fmt: skip
    assert code != 0 and "--preprocessing-epsilon-share is 0" in err
    assert "'native-country'" in err  # the error names the columns
