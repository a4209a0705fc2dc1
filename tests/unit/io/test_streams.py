"""The streaming engine (synthgan.io.streams) with a pure-numpy producer: chunks, seeds,
atomic completion, failures."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from synthgan.exceptions import DataValidationError
from synthgan.io import streams
from synthgan.io.streams import MANIFEST, check_complete, plan_chunks, stream_to


class Numbers:
    """Payload: an int array of ``rows`` draws from the block's generator, tagged with row
    positions so that tests can see where each row came from."""

    def __call__(self, model, rows, start, rng):
        return np.stack([np.arange(start, start + rows), rng.integers(0, 2**31, rows)], axis=1)

    def concat(self, parts):
        return np.concatenate(parts)

    def slice(self, payload, lo, hi):
        return payload[lo:hi]

    def rows(self, payload):
        return len(payload)


class NpySink:
    """One .npy file per chunk (a directory output) or all in one file."""

    def __init__(self, root: Path) -> None:
        self.root, self.parts = root, []

    def write(self, payload) -> None:
        path = self.root / f"part-{len(self.parts):03d}.npy"
        np.save(path, payload)
        self.parts.append(streams.file_entry(self.root, path, len(payload)))

    def close(self):
        return {"files": self.parts}


def _run(path, n, chunk_rows, *, seed=0, sink=NpySink, overwrite=False):
    return stream_to(
        None, path, n, producer=Numbers(), sink=sink, directory=True, chunk_rows=chunk_rows,
        random_state=seed, workers=1, overwrite=overwrite, progress=False,
    )  # fmt: skip


def _read(path) -> np.ndarray:
    record = check_complete(path)
    return np.concatenate([np.load(Path(path) / f["path"]) for f in record["files"]])


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(streams, "BLOCK_ROWS", 100)


def test_plan_chunks_cover_the_rows_once():
    chunks = plan_chunks(1050, 500)
    assert [(c.start, c.stop) for c in chunks] == [(0, 500), (500, 1000), (1000, 1050)]
    assert sum(c.rows for c in chunks) == 1050


@pytest.mark.parametrize("chunk_rows", [1, 37, 100, 250, 1000])
def test_rows_depend_on_the_seed_only_not_on_the_chunk_size(tmp_path, small_blocks, chunk_rows):
    reference = _read(_run(tmp_path / "ref", 777, 777))
    rows = _read(_run(tmp_path / "out", 777, chunk_rows))
    np.testing.assert_array_equal(rows, reference)
    np.testing.assert_array_equal(rows[:, 0], np.arange(777))  # in order, none twice
    assert len(np.unique(rows[:, 1])) > 700  # blocks are not copies of each other
    other = _read(_run(tmp_path / "seed1", 777, chunk_rows, seed=1))
    assert not np.array_equal(other[:, 1], rows[:, 1])


def test_manifest_records_rows_seed_and_files_and_success_marker(tmp_path, small_blocks):
    out = _run(tmp_path / "out", 250, 100, seed=12)
    record = json.loads((out / MANIFEST).read_text())
    assert record["rows"] == 250 and record["seed"] == "12" and record["complete"] is True
    assert [f["rows"] for f in record["files"]] == [100, 100, 50]
    assert (out / "_SUCCESS").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def test_fresh_seed_is_recorded_and_reproduces_the_rows(tmp_path, small_blocks):
    out = _run(tmp_path / "a", 300, 64, seed=None)
    seed = int(check_complete(out)["seed"])
    again = _run(tmp_path / "b", 300, 128, seed=seed)
    np.testing.assert_array_equal(_read(out), _read(again))


def test_existing_output_is_refused_and_only_own_outputs_are_replaced(tmp_path, small_blocks):
    out = _run(tmp_path / "out", 50, 10)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        _run(out, 50, 10)
    _run(out, 60, 10, overwrite=True)
    assert check_complete(out)["rows"] == 60
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a synthgan output"):
        _run(mine, 50, 10, overwrite=True)
    assert (mine / "thesis.tex").read_text() == "keep me"


def test_a_failing_run_leaves_nothing_under_the_name(tmp_path, small_blocks):
    class Failing(NpySink):
        def write(self, payload):
            if self.parts:
                raise RuntimeError("generator exploded")
            super().write(payload)

    with pytest.raises(RuntimeError, match="exploded"):
        _run(tmp_path / "out", 500, 100, sink=Failing)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_reported_with_the_progress_and_cleaned_up(tmp_path, small_blocks):
    class FullDisk(NpySink):
        def write(self, payload):
            if len(self.parts) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(self.root))
            super().write(payload)

    with pytest.raises(OSError, match="after 200 of 500 rows because the disk is full") as info:
        _run(tmp_path / "out", 500, 100, sink=FullDisk)
    assert info.value.errno == errno.ENOSPC
    assert "partial output was deleted" in str(info.value)
    assert list(tmp_path.iterdir()) == []


_KILLED = """
import sys, time
import numpy as np
from synthgan.io import streams
sys.path.insert(0, {tests!r})
from test_streams import Numbers, NpySink

class Slow(NpySink):
    def write(self, payload):
        super().write(payload)
        time.sleep(0.2)

streams.stream_to(None, {out!r}, 10_000, producer=Numbers(), sink=Slow, directory=True,
                  chunk_rows=100, random_state=0, workers=1, overwrite=False, progress=False)
"""


def test_a_killed_run_never_leaves_a_complete_looking_output(tmp_path):
    out = tmp_path / "out"
    script = _KILLED.format(tests=str(Path(__file__).parent), out=str(out))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*.tmp/part-001.npy")) and time.monotonic() < deadline:
        assert child.poll() is None, "the writer ended before it could be killed"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not out.exists()  # only the hidden staging directory is left
    assert [p.name.startswith(".out.") for p in tmp_path.iterdir()] == [True]
    with pytest.raises(DataValidationError, match="not a complete sample_to output"):
        check_complete(next(tmp_path.iterdir()))


def test_check_complete_catches_a_missing_file(tmp_path, small_blocks):
    out = _run(tmp_path / "out", 300, 100)
    (out / "part-001.npy").unlink()
    with pytest.raises(DataValidationError, match="1 files its manifest lists are missing"):
        check_complete(out)


def test_seed_argument_is_checked():
    with pytest.raises(TypeError, match="random_state"):
        streams.resolve_seed("7")
    with pytest.raises(ValueError, match="non-negative"):
        streams.resolve_seed(-1)
    assert streams.resolve_seed(np.random.default_rng(0)) == streams.resolve_seed(
        np.random.default_rng(0)
    )
