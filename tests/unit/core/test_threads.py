"""Thread counts: explicit, process-wide, from the environment, and the idle cores."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from synthgan.core import threads
from synthgan.core.threads import (
    available_cores,
    configure_threads,
    idle_cores,
    resolve_threads,
    thread_scope,
)


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    configure_threads(None)
    torch.set_num_threads(before)


def test_explicit_count_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads(2) == 2


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_counts_name_the_argument(value, error):
    with pytest.raises(error, match="n_threads"):
        resolve_threads(value)


def test_environment_is_the_standing_choice(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads(None) == 3


def test_configure_threads_sets_the_process_default(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert configure_threads(1) == 1
    assert resolve_threads(None) == 1
    assert torch.get_num_threads() == 1
    configure_threads(None)
    assert resolve_threads(None) == 3


def test_scope_restores_torch_threads():
    torch.set_num_threads(2)
    with thread_scope(1) as used:
        assert used == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_auto_leaves_a_busy_core_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = available_cores()
    spinner = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
    try:
        time.sleep(0.5)
        busy = idle_cores(window=0.3)
    finally:
        spinner.kill()
        spinner.wait()
    assert 1 <= busy <= max(1, cores - 1)
    assert resolve_threads(None) >= 1


def test_without_proc_stat_every_core_counts(monkeypatch):
    monkeypatch.setattr(threads, "_core_times", lambda cores: None)
    assert idle_cores(window=0.0) == available_cores()


def test_fit_uses_and_reports_its_threads(tiny, tiny_table):
    torch.set_num_threads(2)
    model = tiny(n_threads=1).fit(tiny_table)
    assert model.n_threads_ == 1
    assert torch.get_num_threads() == 2  # restored after the fit


@pytest.fixture
def tiny_table():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], size=60)})


def test_evaluation_uses_and_reports_its_threads(tiny_table):
    from synthgan import evaluate

    torch.set_num_threads(2)
    report = evaluate(tiny_table, tiny_table.sample(frac=1.0, random_state=1), n_threads=1)
    assert report["threads"] == 1
    assert torch.get_num_threads() == 2


def test_automatic_choice_is_measured_once_for_many_fits(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    calls = []
    monkeypatch.setattr(threads, "idle_cores", lambda: calls.append(1) or 1)
    monkeypatch.setattr(threads, "_measured", None)
    clock = [100.0]
    monkeypatch.setattr(threads, "_now", lambda: clock[0])
    assert resolve_threads(None) == 1 and resolve_threads(None) == 1
    assert len(calls) == 1
    clock[0] += threads._REUSE + 1  # a later fit measures again
    resolve_threads(None)
    assert len(calls) == 2
