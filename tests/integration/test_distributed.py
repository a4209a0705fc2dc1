"""Distributed training: 2 gloo processes on the CPU against one process (tiny data).

Tolerances, stated in docs/scaling.md ("Distributed training") too:

* networks whose layers act on each row alone (CTGAN with a LayerNorm generator and no dropout,
  DCGAN with GroupNorm): the two ranks' blocks are the one-process batch, so the weights agree
  with one process to float rounding (``EXACT = 1e-5``; 3e-8 measured);
* with BatchNorm (each rank normalises its own block) and dropout (each rank's own masks), a
  2-process fit is another random draw of the same training: the ranks agree with each other
  exactly, and with one process only statistically (not tested value for value);
* DP-SGD (the "exact" networks, ``mode_seeking=0`` for the DCGAN): within ``EXACT`` of the
  one-process DP fit with the same seed, noise and clipping on or off (the ranks' shards are
  the one-process Poisson sample and rank 0 adds the one-process noise draw).
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


DP_CASES = ["ctgan_dp_oracle", "ctgan_dp", "ctgan_dp_record", "ctgan_dp_tiny", "dcgan_dp"]


def test_dp_sgd_on_two_ranks_is_the_one_process_dp_fit(tmp_path, monkeypatch):
    """DP under DDP: the ranks' shards are the one-process Poisson sample, clipped gradients are
    summed over ranks with the noise added once, and every rank's accountant reports the
    one-process ε, steps, q and σ (the preprocessing release charged once)."""
    from synthgan.privacy.engine import PrivateCritic

    params = {"ctgan_dp": {"checkpoint_dir": str(tmp_path / "ck")}}
    launch(cases.rank_fits, 2, (str(tmp_path), DP_CASES, params))
    for name in DP_CASES:
        shards: list[int] = []
        monkeypatch.setattr(PrivateCritic, "step", cases.shard_logger(PrivateCritic.step, shards))
        single = cases.fit(name)
        monkeypatch.undo()
        ranks = [_load(tmp_path, name, rank) for rank in (0, 1)]
        assert _max_difference(ranks[0]["weights"], ranks[1]["weights"]) == 0.0
        # The oracle (no noise, no clipping) and the private fits alike: the one-process fit.
        assert _max_difference(cases.weights(single), ranks[0]["weights"]) < EXACT, name
        # Every rank stepped every step; the two shards make the one-process sample.
        assert len(ranks[0]["shards"]) == len(ranks[1]["shards"]) == len(shards)
        np.testing.assert_array_equal(np.add(ranks[0]["shards"], ranks[1]["shards"]), shards)
        figures = cases.privacy_figures(single)
        assert ranks[0]["privacy"] == ranks[1]["privacy"] == figures, name
        assert figures["steps"] == len(shards)
    tiny = [_load(tmp_path, "ctgan_dp_tiny", rank)["shards"] for rank in (0, 1)]
    assert 0 in tiny[0] and 0 in tiny[1]  # empty local batches happened, and still stepped
    ledger = _load(tmp_path, "ctgan_dp", 1)["privacy"]["ledger"]
    assert [entry[0] for entry in ledger] == ["preprocessing: column statistics", "DP-SGD"]
    assert ledger[0][3] == 1  # the release is charged once, not once per rank
    assert _load(tmp_path, "ctgan_dp_oracle", 0)["privacy"]["epsilon"] == float("inf")
    saved = read_checkpoint(tmp_path / "ck").state["privacy"]  # rank 0's accountant, saved
    assert saved["steps_taken"] == saved["max_steps"] == 20


def test_record_shards_partition_every_sample():
    index = torch.tensor([0, 3, 4, 7, 8, 13])  # a Poisson sample's record numbers
    masks = [Distributed(rank=r, world_size=3).owns(index) for r in range(3)]
    np.testing.assert_array_equal(torch.stack(masks).sum(0).numpy(), np.ones(6))
    np.testing.assert_array_equal(index[masks[1]].numpy(), [4, 7, 13])  # i mod 3 == 1
    assert Distributed().owns(index).all()
    block = torch.arange(6.0).reshape(3, 2)
    assert torch.equal(Distributed().roll_rows(block), block.roll(1, dims=0))


def test_the_preprocessing_digest_changes_with_any_released_value():
    from synthgan.privacy.config import PrivacyConfig
    from synthgan.privacy.mechanisms import Release
    from synthgan.privacy.training import DPSGDTraining

    def digest(counts) -> str:
        planned = {"counts": Release(None, 0.0, 1e-7, "Gaussian", 20.0)}
        resolved = PrivacyConfig(3.0, accountant="rdp").validate(1000)
        plan = DPSGDTraining(resolved, n_records=1000, batch_size=100, steps=10,
                             preprocessing=planned)  # fmt: skip
        plan.record({"counts": Release(np.array(counts), 0.0, 1e-7, "Gaussian", 20.0)})
        return plan.digest()

    assert digest([3.5, 7.25]) == digest([3.5, 7.25])
    assert digest([3.5, 7.25]) != digest([3.5, 7.5])
