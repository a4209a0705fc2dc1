"""``synthgan rebalance``: a table in, the same table with its small classes topped up, out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgan.cli import main
from synthgan.io import read_table, write_table
from synthgan.workflows import parse_strategy


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 50.0, n),
            "channel": rng.choice(["web", "shop", "phone"], n),
            "fraud": np.where(rng.random(n) < 0.1, 1, 0),
        }
    )
    path = tmp_path / "train.csv"
    write_table(frame, path)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_rebalance_writes_the_real_rows_then_the_new_ones(table, tmp_path, capsys):
    out = tmp_path / "balanced.parquet"
    code, stdout, err = run(capsys, "rebalance", table, "--target", "fraud", "-o", out,
                            "--epochs", "1", "--seed", "0")  # fmt: skip
    assert code == 0, err
    real, balanced = read_table(table), read_table(out)
    counts = balanced["fraud"].value_counts()
    assert counts[0] == counts[1] == (real["fraud"] == 0).sum()
    pd.testing.assert_frame_equal(balanced.iloc[: len(real)], real, check_dtype=False)
    assert "fraud: {'0': " in stdout and f"written {out}" in stdout


def test_rebalance_with_a_count_strategy_and_with_privacy(table, tmp_path, capsys):
    out = tmp_path / "more.csv"
    code, _, err = run(capsys, "rebalance", table, "--target", "fraud", "-o", out, "--epochs",
                       "1", "--strategy", '{"1": 60}', "--quiet")  # fmt: skip
    assert code == 0, err
    assert (read_table(out)["fraud"] == 1).sum() == 60
    shared = tmp_path / "shared.parquet"
    code, _, err = run(capsys, "rebalance", table, "--target", "fraud", "-o", shared, "--epochs",
                       "1", "--epsilon", "5", "--quiet")  # fmt: skip
    assert code == 0, err
    synthetic = read_table(shared)
    assert synthetic["fraud"].value_counts().nunique() == 1  # balanced, all synthetic
    assert not np.isin(synthetic["amount"], read_table(table)["amount"]).any()


def test_rebalance_errors_name_the_problem(table, tmp_path, capsys):
    out = tmp_path / "x.parquet"
    code, _, err = run(capsys, "rebalance", table, "--target", "label", "-o", out)
    assert code == 2 and "--target 'label' is not a column" in err and "fraud" in err
    code, _, err = run(capsys, "rebalance", table, "--target", "fraud", "-o", out,
                       "--strategy", "most")  # fmt: skip
    assert code == 2 and "--strategy 'most' is not one of auto" in err
    code, _, err = run(capsys, "rebalance", table, "--target", "fraud", "-o", table)
    assert code == 2 and "input" in err.lower()


def test_parse_strategy_matches_json_keys_to_the_classes():
    target = pd.Series([0, 0, 1, 2])
    assert parse_strategy('{"1": 5, "2": 6}', target) == {1: 5, 2: 6}
    assert parse_strategy("0.5", target) == 0.5
    assert parse_strategy("not minority", target) == "not minority"
