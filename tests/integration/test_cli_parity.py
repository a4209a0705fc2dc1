"""The command line says what the API can (issue 15, finding 4), driven through ``main(argv)``.

Tiny data throughout: a 300-row table with missing values, 200 8x8 digits, one-epoch fits.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

import synthgan
from synthgan import CTGANSynthesizer
from synthgan.cli import cli_words, main
from synthgan.core.threads import configure_threads
from synthgan.exceptions import DataValidationError
from synthgan.io import read_table, write_table

FIT_FAST = ["--epochs", "1", "--seed", "0", "--quiet"]
TINY = dict(epochs=1, verbose=False, random_state=0, generator_dim=(16,), discriminator_dim=(16,))


def table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    work = rng.choice(["private", "state", "self"], n).astype(object)
    work[rng.random(n) < 0.3] = None  # 30% missing: the missing category is common
    return pd.DataFrame(
        {
            "workclass": work,
            "sex": rng.choice(["F", "M"], n),
            "age": rng.integers(18, 90, n),
            "hours": rng.normal(40, 8, n),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The table, a model of it, a labelled .npz of digits and a conditional model of them."""
    folder = tmp_path_factory.mktemp("parity")
    paths = {
        "table": folder / "t.parquet",
        "model": folder / "t.synthgan",
        "digits": folder / "digits.npz",
        "images": folder / "digits.synthgan",
    }
    write_table(table(), paths["table"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the batch-size warning of a 300-row table
        assert main(["fit", str(paths["table"]), "-o", str(paths["model"]), *FIT_FAST]) == 0
    bunch = load_digits()
    images = np.rint(bunch.images[:200] * (255 / 16)).astype(np.uint8)
    np.savez_compressed(paths["digits"], images=images, labels=bunch.target[:200])
    fit = ["fit-images", paths["digits"], "-o", paths["images"], "--conditional", *FIT_FAST]
    assert main([str(a) for a in fit]) == 0
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. conditioning on a missing value ---------------------------------------------------------
@pytest.mark.parametrize(
    "condition", [["--condition", "workclass="], ["--condition-missing", "workclass"]]
)
def test_sample_conditioned_on_a_missing_value(files, tmp_path, capsys, condition):
    out = tmp_path / "missing.parquet"
    code, _, err = run(capsys, "sample", files["model"], "-n", 30, "-o", out, *condition)
    assert code == 0, err
    assert read_table(out)["workclass"].isna().all()


def test_missing_value_conditions_combine_with_others(files, tmp_path, capsys):
    out = tmp_path / "s.parquet"
    code, _, err = run(
        capsys, "sample", files["model"], "-n", 20, "-o", out,
        "--condition-missing", "workclass", "--condition", "sex=F",
    )  # fmt: skip
    assert code == 0, err
    synthetic = read_table(out)
    assert synthetic["workclass"].isna().all() and (synthetic["sex"] == "F").all()
    code, _, err = run(
        capsys, "sample", files["model"], "-n", 5, "-o", out, "--overwrite",
        "--condition", "workclass=self", "--condition-missing", "workclass",
    )  # fmt: skip
    assert code == 2 and "conditioned twice" in err


def test_condition_none_text_gets_a_hint_in_cli_words(files, tmp_path, capsys):
    code, _, err = run(
        capsys, "sample", files["model"], "-n", 5, "-o", tmp_path / "s.csv",
        "--condition", "workclass=None",
    )  # fmt: skip
    assert code == 2
    assert "Value 'None' is not a category of column 'workclass'" in err
    assert "--condition 'workclass='" in err  # the way to ask for a missing value on the CLI
    assert "pd.NA" not in err and "or None" not in err


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_api_condition_on_missing(files, missing):
    model = synthgan.load(files["model"])
    synthetic = model.sample(25, conditions={"workclass": missing}, random_state=0)
    assert synthetic["workclass"].isna().all()


def test_api_condition_on_missing_in_a_column_without_missing_values(files, tmp_path, capsys):
    model = synthgan.load(files["model"])
    with pytest.raises(DataValidationError, match="'sex' had no missing values in training"):
        model.sample(5, conditions={"sex": None})
    code, _, err = run(
        capsys, "sample", files["model"], "-n", 5, "-o", tmp_path / "s.csv", "--condition", "sex="
    )
    assert code == 2 and "'sex' had no missing values" in err and "'F'" in err


# -- 2. the wrong kind of model -----------------------------------------------------------------
def test_sample_on_an_image_model_points_at_sample_images(files, tmp_path, capsys):
    code, _, err = run(capsys, "sample", files["images"], "-n", 5, "-o", tmp_path / "s.csv")
    assert code == 2
    assert "image model" in err and "synthgan sample-images" in err
    assert "unexpected keyword" not in err
    assert not (tmp_path / "s.csv").exists()


def test_sample_images_on_a_table_model_points_at_sample(files, tmp_path, capsys):
    code, _, err = run(capsys, "sample-images", files["model"], "-n", 5, "-o", tmp_path / "x.npz")
    assert code == 2
    assert "not an image model" in err and "'synthgan sample'" in err


# -- 3. grid output -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "image_format"), [("grid.png", "PNG"), ("grid.JPG", "JPEG")])
def test_sample_images_writes_one_grid_image(files, tmp_path, capsys, name, image_format):
    out = tmp_path / name
    code, stdout, err = run(capsys, "sample-images", files["images"], "-n", 9, "-o", out)
    assert code == 0, err
    assert out.is_file() and f"9 images written to {out}" in stdout
    with Image.open(out) as grid:
        assert grid.format == image_format
        assert grid.size == (3 * (8 + 2) + 2, 3 * (8 + 2) + 2)  # 3 x 3 grid of 8x8 images
    out2 = tmp_path / ("row_" + name)
    args = ["sample-images", files["images"], "-n", 4, "-o", out2, "--nrow", 4, "--label", 1]
    assert run(capsys, *args)[0] == 0
    with Image.open(out2) as grid:
        assert grid.size == (4 * 10 + 2, 12)


def test_sample_images_refuses_an_unknown_extension(files, tmp_path, capsys):
    out = tmp_path / "fake.gif"
    code, _, err = run(capsys, "sample-images", files["images"], "-n", 4, "-o", out)
    assert code == 2
    assert "'.gif'" in err and ".npz" in err and "grid.png" in err and "folder" in err
    assert not out.exists()


# -- 4. output extensions, checked before any work ----------------------------------------------
def test_evaluate_refuses_wrong_report_extensions(files, tmp_path, capsys):
    base = ["evaluate", "--real", files["table"], "--synthetic", files["table"]]
    code, _, err = run(capsys, *base, "-o", tmp_path / "r.pdf")
    assert code == 2 and "'.pdf'" in err and ".html" in err
    code, _, err = run(capsys, *base, "--json", tmp_path / "r.txt")
    assert code == 2 and ".json" in err
    assert not (tmp_path / "r.pdf").exists() and not (tmp_path / "r.txt").exists()


def test_fit_refuses_a_model_file_without_the_synthgan_extension(files, tmp_path, capsys):
    for name in ("model.pkl", "synthetic.csv"):
        code, _, err = run(capsys, "fit", files["table"], "-o", tmp_path / name, *FIT_FAST)
        assert code == 2 and ".synthgan" in err, err
        assert not (tmp_path / name).exists()
    fit = ["fit-images", files["digits"], "-o", tmp_path / "m.npz", *FIT_FAST]
    code, _, err = run(capsys, *fit)
    assert code == 2 and ".synthgan" in err


# -- 5. a time limit that stops a fit says so ---------------------------------------------------
def test_max_time_warns_when_it_stops_a_table_fit(files, tmp_path, capsys):
    args = ["--epochs", "3", "--max-time", "0.001", "--quiet"]
    code, _, err = run(capsys, "fit", files["table"], "-o", tmp_path / "m.synthgan", *args)
    assert code == 0, err
    assert "synthgan: warning: Training stopped after 1 of 3 epochs" in err
    assert "the --max-time limit of 0.001 s was reached" in err
    info = synthgan.load(tmp_path / "m.synthgan")
    assert info.max_time == 0.001 and len(info.loss_history_) == 1


def test_max_time_warns_when_it_stops_an_image_fit(files, tmp_path, capsys):
    fit = ["fit-images", files["digits"], "-o", tmp_path / "m.synthgan", "--epochs", "2"]
    code, _, err = run(capsys, *fit, "--max-time", "0.001", "--quiet")
    assert code == 0, err
    assert "stopped after 1 of 2 epochs: the --max-time limit of 0.001 s" in err


def test_max_time_warning_in_python_names_the_argument():
    with pytest.warns(UserWarning, match=r"stopped after 1 of 2 epochs: the time limit \(max_time"):
        CTGANSynthesizer(**{**TINY, "epochs": 2}, max_time=1e-6, batch_size=100).fit(table(200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a limit that is never reached says nothing
        CTGANSynthesizer(**TINY, max_time=3600, batch_size=100).fit(table(200))


# -- 6. --quiet never hides a privacy report ----------------------------------------------------
def test_quiet_keeps_the_privacy_report(files, tmp_path, capsys):
    columns = {
        "workclass": {"type": "discrete", "categories": ["private", "state", "self"]},
        "sex": {"type": "discrete", "categories": ["F", "M"]},
        "age": {"type": "continuous", "min": 18, "max": 90},
        "hours": {"type": "continuous", "min": 0, "max": 100},
    }
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"columns": columns}))
    out = tmp_path / "dp.synthgan"
    dp = ["--epsilon", 3, "--metadata", meta]
    code, stdout, err = run(capsys, "fit", files["table"], "-o", out, *FIT_FAST, *dp)
    assert code == 0, err
    assert "differentially private" in stdout
    assert "Model written" not in stdout  # the rest of the summary is quiet
    code, stdout, _ = run(capsys, "info", out)
    assert code == 0 and "differentially private" in stdout


# -- 7. errors in CLI words ---------------------------------------------------------------------
def test_errors_name_the_cli_flags(files, tmp_path, capsys):
    existing = tmp_path / "s.csv"
    existing.write_text("keep\n")
    code, _, err = run(capsys, "sample", files["model"], "-n", 5, "-o", existing)
    assert code == 2 and "pass --overwrite" in err and "overwrite=True" not in err
    fit = ["fit-images", files["digits"], "-o", tmp_path / "dp.synthgan", "--conditional"]
    code, _, err = run(capsys, *fit, "--epsilon", 5, *FIT_FAST)
    assert code == 2 and "--classes A,B" in err
    assert "fit(images" not in err and "classes=" not in err
    code, _, err = run(capsys, "fit", files["table"], "-o", tmp_path / "m.synthgan",
                       "--batch-size", 0, *FIT_FAST)  # fmt: skip
    assert code == 2 and "--batch-size must be an integer >= 1" in err


def test_cli_words_translation_table():
    assert cli_words("fit(images, labels, classes=[...]). Reading") == "--classes A,B. Reading"
    assert cli_words("batch_size=500 exceeds; using batch_size=300.") == (
        "--batch-size 500 exceeds; using --batch-size 300."
    )
    assert cli_words("set random_state=0 or n_threads") == "set --seed 0 or --threads"
    assert cli_words("Training stopped: the time limit (max_time=90 s) was reached.") == (
        "Training stopped: the --max-time limit of 90 s was reached."
    )
    assert cli_words("np.savez(path, images=..., labels=...)") == (
        "np.savez(path, images=..., labels=...)"  # Python that the user must write stays
    )
    both = "Pass text_columns=['zip'] (--text-columns zip on the command line) to keep it."
    assert cli_words(both) == "Pass --text-columns zip to keep it."
    assert cli_words("pass sep=';' (--sep ';' on the command line).") == "pass --sep ';'."


# -- 8. fit flags -------------------------------------------------------------------------------
def test_fit_training_flags_reach_the_synthesizer(files, tmp_path, capsys):
    out = tmp_path / "m.synthgan"
    flags = ["--batch-size", 50, "--max-time", 600, "--threads", 1, "--device", "cpu"]
    try:
        code, _, err = run(capsys, "fit", files["table"], "-o", out, *flags, *FIT_FAST)
        assert code == 0, err
        assert torch.get_num_threads() == 1
    finally:
        configure_threads(None)
    model = synthgan.load(out)
    assert (model.batch_size, model.max_time, model.device) == (50, 600, "cpu")
    fit = ["fit-images", files["digits"], "-o", tmp_path / "i.synthgan", *FIT_FAST]
    code, _, err = run(capsys, *fit, "--batch-size", 32, "--device", "cpu")
    assert code == 0, err
    assert synthgan.load(tmp_path / "i.synthgan").batch_size == 32


def test_fit_images_with_epsilon_uses_the_dp_recipe(files, tmp_path, capsys):
    """--epsilon alone gives the library's DP mode: the CLI passes no explicit default that
    would override the "auto" hyperparameters (issue 18)."""
    out = tmp_path / "dp.synthgan"
    private = ["--conditional", "--classes", ",".join(map(str, range(10))), "--epsilon", 10]
    code, _, err = run(capsys, "fit-images", files["digits"], "-o", out, *private, *FIT_FAST)
    assert code == 0, err
    model = synthgan.load(out)
    params = model.get_params()
    auto = ("batch_size", "discriminator_steps", "discriminator_width", "mode_seeking")
    assert all(params[name] is None for name in auto)
    assert model.privacy_spent_.dp_sgd.expected_batch_size == pytest.approx(128)
    assert model.privacy_spent_.dp_sgd.steps == (200 // 128) * 5  # one epoch, 5 critic steps
    assert model.network_config_.discriminator_width == 32
    assert "mode_seeking_ratio" in model.loss_history_
    assert main(["fit-images", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal
    assert "dp10_ms" in help_text and "128 with --epsilon" in help_text


def test_fit_device_cuda_without_a_gpu_is_a_clear_error(files, tmp_path, capsys):
    out = tmp_path / "m.synthgan"
    code, _, err = run(capsys, "fit", files["table"], "-o", out, "--device", "cuda", *FIT_FAST)
    if torch.cuda.is_available():
        assert code == 0, err
    else:
        assert code == 2 and "--device cuda" in err and "no CUDA GPU" in err
        assert not out.exists()


def test_demo_seed(monkeypatch, tmp_path, capsys):
    from synthgan import workflows

    calls = []
    monkeypatch.setattr(workflows, "run_demo", lambda *a, **k: calls.append((a, k)))
    assert run(capsys, "demo", "--output-dir", tmp_path, "--epochs", 3, "--seed", 7)[0] == 0
    assert calls == [((str(tmp_path),), {"epochs": 3, "random_state": 7})]


# -- 9. info and evaluate-images ----------------------------------------------------------------
def test_info_on_a_table_model(files, capsys):
    code, out, err = run(capsys, "info", files["model"])
    assert code == 0, err
    assert "CTGANSynthesizer" in out and "epochs          1 of 1" in out
    assert "workclass" in out and "hours" in out and "fitted without differential privacy" in out
    code, out, _ = run(capsys, "info", files["model"], "--json")
    info = json.loads(out)
    assert info["kind"] == "ctgan" and info["hyperparameters"]["epochs"] == 1
    assert [c["name"] for c in info["columns"]] == ["workclass", "sex", "age", "hours"]
    assert info["training"]["epochs_run"] == 1 and not info["training"]["stopped_early"]
    assert info["training"]["timings"]["total"] > 0 and info["privacy"] is None


def test_info_on_an_image_model(files, capsys):
    code, out, err = run(capsys, "info", files["images"], "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["synthesizer"] == "ConditionalGANSynthesizer"
    assert info["images"]["side"] == 8 and info["images"]["channels"] == 1
    assert sum(info["images"]["classes"].values()) == 200
    # the "auto" (None) hyperparameters with the values the fit used (no privacy: DCGAN's)
    assert info["auto_hyperparameters"]["discriminator_steps"] == 1
    code, out, _ = run(capsys, "info", files["images"])
    assert "discriminator_steps  None (auto: 1)" in out


def test_info_on_a_damaged_file(tmp_path, capsys):
    bad = tmp_path / "bad.synthgan"
    bad.write_bytes(b"not a zip")
    code, _, err = run(capsys, "info", bad)
    assert code == 2 and err.startswith(f"synthgan: error: {bad}")


def test_evaluate_images_writes_html_and_json(files, tmp_path, capsys):
    generated = tmp_path / "fake"  # a folder of class sub-folders, labels as text
    assert run(capsys, "sample-images", files["images"], "-n", 60, "-o", generated)[0] == 0
    html, figures = tmp_path / "r.html", tmp_path / "r.json"
    args = ["evaluate-images", "--real", files["digits"], "--generated", generated,
            "--model", files["images"], "-o", html, "--json", figures, "--feature-extractor",
            "pixels", "--max-images", 60, "--classifier-epochs", 1]  # fmt: skip
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert f"written {html}" in out and f"written {figures}" in out
    report = json.loads(figures.read_text())
    assert report["data"]["generated_images"] == 60 and report["data"]["real_images"] == 200
    assert report["headline"]["frechet_distance"] > 0
    assert "<html" in html.read_text().lower()
    code, _, err = run(capsys, *args)  # outputs exist now
    assert code == 2 and "--overwrite" in err
    code, _, err = run(capsys, *args[:-10], "-o", tmp_path / "r.pdf")
    assert code == 2 and ".html" in err


# -- 8. reading flags, and the kinds summary after a fit -----------------------------------------
def messy_csv(path: Path) -> Path:
    """A ';'-separated table with '?' for missing, blanks around cells and leading zeros."""
    frame = table(200)
    lines = ["code ; workclass ; sex ; age ; hours"]
    for i, row in frame.iterrows():
        work = "?" if row["workclass"] is None else row["workclass"]
        code = f"{i % 7:03d}"
        lines.append(f"{code} ; {work} ; {row['sex']} ; {row['age']} ; {row['hours']:.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


READ_FLAGS = ["--sep", ";", "--na-values", "?", "--strip-whitespace", "--text-columns", "code"]


def test_fit_reading_flags_and_kinds_summary(tmp_path, capsys):
    source = messy_csv(tmp_path / "messy.csv")
    model = tmp_path / "m.synthgan"
    code, out, err = run(capsys, "fit", source, "-o", model, *READ_FLAGS, "--epochs", 1)
    assert code == 0, err
    assert "Columns: " in out and "continuous" in out and "discrete" in out  # B's summary line
    sampled = tmp_path / "s.parquet"
    args = ["sample", model, "-n", 20, "-o", sampled, "--condition-missing", "workclass"]
    code, _, err = run(capsys, *args, "--condition", "sex=F")
    assert code == 0, err  # '?' was read as missing, ' F ' as 'F'
    synthetic = read_table(sampled)
    assert list(synthetic.columns) == ["code", "workclass", "sex", "age", "hours"]
    assert synthetic["code"].map(lambda v: isinstance(v, str) and len(v) == 3).all()


def test_metadata_command(tmp_path, capsys):
    source = messy_csv(tmp_path / "messy.csv")
    code, out, err = run(capsys, "metadata", source, *READ_FLAGS)
    assert code == 0, err
    detected = json.loads(out)
    kinds = {name: column["kind"] for name, column in detected["columns"].items()}
    assert list(kinds) == ["code", "workclass", "sex", "age", "hours"]
    assert kinds["hours"] == "continuous" and kinds["sex"] == "discrete"
    assert all(column["reasons"] for column in detected["columns"].values())
    meta = tmp_path / "meta.json"
    code, out, err = run(capsys, "metadata", source, *READ_FLAGS, "-o", meta)
    assert code == 0 and out == "" and str(meta) in err
    assert json.loads(meta.read_text()) == detected
    model = tmp_path / "m.synthgan"
    fit = ["fit", source, "-o", model, "--metadata", meta, *READ_FLAGS, *FIT_FAST]
    assert run(capsys, *fit)[0] == 0  # the reviewed file goes back to fit
    code, _, err = run(capsys, "metadata", source, "-o", tmp_path / "meta.txt")
    assert code == 2 and ".json" in err
    code, _, err = run(capsys, "metadata", source, *READ_FLAGS, "-o", meta)
    assert code == 2 and "--overwrite" in err


def test_closed_pipe_is_not_an_error(files):
    import subprocess
    import sys

    code = "import sys; from synthgan.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "info", str(files["model"]), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader goes away, as `| head -c 0` would
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err


# -- checkpoints (issue 14) ---------------------------------------------------------------------
def test_fit_checkpoints_and_resumes_from_the_command_line(files, capsys, tmp_path):
    ck, model = tmp_path / "ck", tmp_path / "m.synthgan"
    fit = ["fit", files["table"], "-o", model, "--epochs", "2", "--seed", "0", "--quiet",
           "--batch-size", "100", "--checkpoint-dir", ck]  # fmt: skip
    code, _, err = run(capsys, *fit[:-2], "--resume")
    assert code == 2 and "--resume needs --checkpoint-dir" in err
    assert run(capsys, *fit)[0] == 0
    code, _, err = run(capsys, *fit, "--overwrite")  # a second fit would replace the checkpoint
    assert code == 2 and "Pass --resume" in err and "resume=True" not in err
    code, _, err = run(capsys, *fit[:5], "3", *fit[6:], "--resume", "--overwrite")
    assert code == 2 and "epochs=2 in the checkpoint, 3 now" in err
    assert run(capsys, *fit, "--resume", "--overwrite")[0] == 0  # a finished fit: the same model
    again = synthgan.load(model).sample(20, random_state=0)
    direct = CTGANSynthesizer(epochs=2, batch_size=100, random_state=0, verbose=False)
    pd.testing.assert_frame_equal(
        again, direct.fit(read_table(files["table"])).sample(20, random_state=0)
    )
