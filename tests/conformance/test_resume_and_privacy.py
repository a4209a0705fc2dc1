"""Conformance of every family, with and without privacy: a fit killed with SIGKILL in the
middle of an epoch resumes to the model of an uninterrupted fit (and, under DP, to its ε); a
private fit keeps its guarantee through save and load."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthgan
from synthgan.io.checkpoints import read_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from resume_cases import CASES, PRIVATE, fit_arguments, write_data

CHILD = Path(__file__).parent / "resume_child.py"


def _samples(model, seed: int):
    return model.sample(60, random_state=seed)


def _assert_same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert np.array_equal(a, b)


def _kill_mid_epoch(name: str, data: Path, out: Path, *, epoch: int = 2) -> None:
    """Run the child and SIGKILL it during step 2 (or later) of ``epoch`` (0-based)."""
    child = subprocess.Popen([sys.executable, str(CHILD), name, str(data), str(out)])
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            assert child.poll() is None, "the child ended before it could be killed"
            progress = out / "progress"
            if progress.exists():
                at_epoch, step = map(int, progress.read_text().split())
                if at_epoch >= epoch and step >= 2:
                    child.send_signal(signal.SIGKILL)
                    child.wait()
                    assert at_epoch == epoch  # killed inside the epoch, not after the fit
                    return
            time.sleep(0.005)
        raise AssertionError("the child did not reach the epoch in time")
    finally:
        if child.poll() is None:
            child.kill()


# Every family, and DP for both kinds of data (the DCGAN's DP path is the conditional one's).
KILLED = ["conditional_gan_dp", "ctgan", "ctgan_dp", "dcgan"]


@pytest.mark.parametrize("name", KILLED)
def test_a_fit_killed_mid_epoch_resumes_to_the_uninterrupted_model(name, tmp_path):
    make, kind = CASES[name]
    data = write_data(kind, tmp_path)
    args, kwargs = fit_arguments(kind, data)
    reference = make().fit(*args, **kwargs)
    _kill_mid_epoch(name, data, tmp_path)
    assert read_checkpoint(tmp_path / "ck").epoch == 2  # the last complete one
    resumed = make(checkpoint_dir=str(tmp_path / "ck")).fit(*args, **kwargs, resume=True)
    _assert_same(_samples(resumed, 1), _samples(reference, 1))
    columns = [c for c in reference.loss_history_.columns if c != "seconds"]
    pd.testing.assert_frame_equal(resumed.loss_history_[columns], reference.loss_history_[columns])
    if name in PRIVATE:  # charged once for every step: never twice, never forgotten
        assert resumed.privacy_spent_ == reference.privacy_spent_
        assert resumed.privacy_state_ == reference.privacy_state_
        assert resumed.privacy_state_["steps_taken"] == reference.privacy_state_["max_steps"]


@pytest.mark.parametrize("name", PRIVATE)
def test_a_private_fit_keeps_its_guarantee_through_save_and_load(name, tmp_path):
    make, kind = CASES[name]
    args, kwargs = fit_arguments(kind, write_data(kind, tmp_path))
    model = make().fit(*args, **kwargs)
    epsilon, delta = model.privacy_spent_
    assert 0 < epsilon <= 10.0 and 0 < delta < 1 / model.privacy_spent_.dp_sgd.expected_batch_size
    assert "DP-SGD" in model.privacy_spent_.breakdown
    assert "fake" in " ".join(model.loss_history_.columns)  # only fake-side figures logged
    assert not any(c in model.loss_history_ for c in ("discriminator_loss", "real_score"))
    loaded = synthgan.load(model.save(tmp_path / "m.synthgan"))
    assert loaded.privacy_spent_ == model.privacy_spent_
    assert loaded.privacy_state_ == model.privacy_state_
    assert loaded.privacy_report() == model.privacy_report()
    _assert_same(_samples(loaded, 2), _samples(model, 2))
    twin = make().fit(*args, **kwargs)
    _assert_same(_samples(twin, 2), _samples(model, 2))
