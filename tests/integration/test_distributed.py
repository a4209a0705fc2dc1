"""Distributed training: 2 gloo processes on the CPU against one process (tiny data).

Tolerances, stated in docs/scaling.md ("Distributed training") too:

* networks whose layers act on each row alone (CTGAN with a LayerNorm generator and no dropout,
  DCGAN with GroupNorm): the two ranks' blocks are the one-process batch, so the weights agree
  with one process to float rounding (``EXACT = 1e-5``; 3e-8 measured);
* with BatchNorm (each rank normalises its own block) and dropout (each rank's own masks), a
  2-process fit is another random draw of the same training: the ranks agree with each other
  exactly, and with one process only statistically (not tested value for value).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).parent))  # spawned ranks import ddp_cases by name

import ddp_cases as cases

from synthgan.core.distributed import Distributed, check_batch, launch
from synthgan.exceptions import InvalidParameterError
from synthgan.io.checkpoints import read_checkpoint

EXACT = 1e-5


def _load(out: Path, name: str, rank: int) -> dict:
    return torch.load(out / f"{name}.rank{rank}.pt", weights_only=True)


def _max_difference(a: dict, b: dict) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def test_two_ranks_train_as_one_process_and_only_rank_0_writes(tmp_path):
    names = ["ctgan_exact", "dcgan_exact", "ctgan", "dcgan", "ctgan_streamed_exact"]
    params = {"ctgan_exact": {"checkpoint_dir": str(tmp_path / "ck")}}
    launch(cases.rank_fits, 2, (str(tmp_path), names, params))
    for name in names:  # every rank ends with rank 0's model and the same history
        r0, r1 = _load(tmp_path, name, 0), _load(tmp_path, name, 1)
        assert _max_difference(r0["weights"], r1["weights"]) == 0.0
        assert torch.equal(r0["history"], r1["history"])
        assert torch.isfinite(r0["history"]).all()
    for name in ["ctgan_exact", "dcgan_exact", "ctgan_streamed_exact"]:
        single = cases.fit(name)
        ddp = _load(tmp_path, name, 0)
        assert _max_difference(cases.weights(single), ddp["weights"]) < EXACT
        figures = single.loss_history_.drop(columns=["seconds"]).to_numpy()
        np.testing.assert_allclose(ddp["history"].numpy(), figures, atol=1e-3)
    assert (tmp_path / "writes.txt").read_text().split() == ["0", "0"]  # 2 epochs, rank 0
    assert read_checkpoint(tmp_path / "ck").epoch == 2


def test_a_rank_that_dies_fails_the_job_and_the_fit_resumes_under_ddp(tmp_path):
    ck = str(tmp_path / "ck")
    died = {"ctgan_exact": {"epochs": 3, "checkpoint_dir": ck, "die_at": (1, 4)}}
    with pytest.raises(mp.ProcessExitedException):  # rank 1 exits 3: the job fails
        launch(cases.rank_fits, 2, (str(tmp_path), ["ctgan_exact"], died), timeout_s=60)
    assert read_checkpoint(ck).epoch == 1  # the last checkpoint, intact
    resumed = {"ctgan_exact": {"epochs": 3, "checkpoint_dir": ck, "resume": True}}
    launch(cases.rank_fits, 2, (str(tmp_path), ["ctgan_exact"], resumed))
    assert read_checkpoint(ck).epoch == 3
    single = cases.fit("ctgan_exact", epochs=3)  # never interrupted, one process
    ddp = _load(tmp_path, "ctgan_exact", 0)
    assert _max_difference(cases.weights(single), ddp["weights"]) < EXACT
    assert ddp["history"].shape[0] == 3  # the resumed run kept the first epoch's figures


def test_the_per_rank_batch_must_be_whole_packs():
    world = Distributed(rank=0, world_size=3)
    assert check_batch(60, 10, world) == 20
    with pytest.raises(InvalidParameterError, match=r"multiple of 30 \(e.g. 480 or 510\)"):
        check_batch(500, 10, world, "pac")


def test_rank_blocks_partition_the_global_batch():
    blocks = [Distributed(rank=r, world_size=4).rows(40) for r in range(4)]
    covered = np.concatenate([np.arange(40)[block] for block in blocks])
    np.testing.assert_array_equal(covered, np.arange(40))


def test_rank_streams_differ_and_rank_0_keeps_the_fit_seed():
    from synthgan.core.random import rank_seed

    seeds = [rank_seed(12345, rank) for rank in range(4)]
    assert seeds[0] == 12345 and len(set(seeds)) == 4
    assert all(0 <= seed < 2**63 for seed in seeds)


def test_privacy_is_refused_in_a_distributed_fit():
    from synthgan.core.distributed import DistributedError, refuse_privacy

    refuse_privacy(Distributed())  # one process: fine
    with pytest.raises(DistributedError, match="not supported in a distributed fit"):
        refuse_privacy(Distributed(rank=1, world_size=2))
