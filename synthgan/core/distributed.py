"""Data-parallel training on ``torch.distributed``: what a fit session needs to run on N ranks.

A fit runs distributed when a process group is initialised, or when the process was started by
``torchrun`` (the ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` environment variables, with
``WORLD_SIZE > 1``); :func:`setup` then initialises the group itself (gloo on the CPU, NCCL on
CUDA) with a timeout (``SYNTHGAN_DIST_TIMEOUT`` seconds, default 600), so that a rank that dies
makes the others fail instead of waiting forever.

How a distributed fit stays one fit (``docs/scaling.md``, "Distributed training"):

* every rank reads the whole training data and continues the *same* numpy stream (rank 0's
  seed is broadcast before preprocessing), so the encoders, the steps per epoch and every draw
  that defines a batch (rows, conditions, shuffles, noise, penalty mixing weights) are the same
  on all ranks; each rank keeps its block of the global batch (:meth:`Distributed.rows`);
* draws inside the networks (dropout masks, DiffAugment) come from torch's global generator,
  seeded per rank from the fit's seed (:func:`synthgan.core.random.rank_seed`);
* the trained networks are wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`,
  which broadcasts rank 0's weights at the start and averages the gradients of every backward;
* every rank runs the same number of steps: the loop's length is checked equal on all ranks
  before training, the epoch's figures are averaged over ranks and a stop (time limit, early
  stopping, privacy budget) is agreed by all ranks before anyone acts on it;
* with differential privacy, record ``i`` of a sample drawn from the shared stream belongs to
  rank ``i mod world_size`` (:meth:`Distributed.owns`): the ranks' shards of a Poisson sample
  are exactly the one-process sample, and a rank whose shard is empty still steps. The
  network that reads real records is not wrapped in DDP: the privacy wrapper sums its clipped
  gradients over ranks and adds the noise once (``synthgan.privacy.engine``).
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from synthgan.exceptions import InvalidParameterError

__all__ = [
    "Distributed",
    "DistributedError",
    "check_batch",
    "current",
    "launch",
    "setup",
]

TIMEOUT_ENV = "SYNTHGAN_DIST_TIMEOUT"
SYNC_BATCHNORM_ENV = "SYNTHGAN_SYNC_BATCHNORM"
_DEFAULT_TIMEOUT = 600.0


class DistributedError(RuntimeError):
    """A distributed fit cannot run as configured (the message says what to change)."""


@dataclass(frozen=True)
class Distributed:
    """This process's place in a data-parallel fit (one process: rank 0 of 1).

    Attributes
    ----------
    rank, world_size, local_rank : int
    backend : str or None
        The process group's backend ("gloo", "nccl"), None without a group.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that writes files and shows progress."""
        return self.rank == 0

    def rows(self, n_global: int) -> slice:
        """This rank's block of a global batch of ``n_global`` rows (``n_global / world``)."""
        share = n_global // self.world_size
        return slice(self.rank * share, (self.rank + 1) * share)

    def owns(self, index: torch.Tensor) -> torch.Tensor:
        """Which records of a sample drawn alike on every rank this rank steps, ``(b,)`` bool.

        Record ``i`` belongs to rank ``i mod world_size`` (every record to exactly one rank),
        so the ranks' shards of a Poisson sample over the whole data make up that sample: each
        rank's shard is the Poisson sample of its own records at the same rate. All true in
        one process.
        """
        return torch.remainder(index, self.world_size) == self.rank

    @torch.no_grad()
    def roll_rows(self, block: torch.Tensor) -> torch.Tensor:
        """This rank's block of the global batch rolled down by one row (``torch.roll(x, 1,
        0)`` of the whole batch): the first row is the previous rank's last row. Every rank
        must call it alike (one all-gather of a row per rank)."""
        if not self.active:
            return block.roll(1, dims=0)
        last = block[-1:].contiguous()  # (1, ...)
        rows = [torch.empty_like(last) for _ in range(self.world_size)]
        dist.all_gather(rows, last)
        previous = rows[(self.rank - 1) % self.world_size]
        return torch.cat([previous, block[:-1]], dim=0)

    def device(self, device: torch.device) -> torch.device:
        """The rank's device: ``cuda`` becomes ``cuda:LOCAL_RANK`` (one GPU per process)."""
        if not self.active or device.type != "cuda" or device.index is not None:
            return device
        return torch.device("cuda", self.local_rank)

    # -- collectives (no-ops in one process) -----------------------------------------------------
    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, value: Any) -> list[Any]:
        """Every rank's ``value``, by rank, on every rank."""
        if not self.active:
            return [value]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any rank (every rank gets the same answer)."""
        if not self.active:
            return bool(flag)
        return any(self.gather_objects(bool(flag)))

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def average_figures(self, logs: Mapping[str, float]) -> dict[str, float]:
        """An epoch's figures averaged over ranks (``seconds``: the slowest rank's)."""
        if not self.active:
            return dict(logs)
        gathered = self.gather_objects(dict(logs))
        keys = list(dict.fromkeys(k for g in gathered for k in g))  # rank 0's order first
        out = {k: float(np.mean([g.get(k, np.nan) for g in gathered])) for k in keys}
        if "seconds" in out:
            out["seconds"] = max(g.get("seconds", 0.0) for g in gathered)
        return out

    @torch.no_grad()
    def average_buffers(self, modules: Iterable[nn.Module]) -> None:
        """Average the floating-point buffers (BatchNorm running statistics) over ranks.

        With ``broadcast_buffers=False`` (see :meth:`wrap`) each rank's running statistics
        follow its own block of every batch; their mean estimates those of the global batch.
        """
        if not self.active:
            return
        for module in modules:
            for buffer in module.buffers():
                if buffer.is_floating_point():
                    dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
                    buffer.div_(self.world_size)

    @torch.no_grad()
    def broadcast_modules(self, modules: Iterable[nn.Module]) -> None:
        """Give every rank rank 0's parameters and buffers (the fitted model is rank 0's)."""
        if not self.active:
            return
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in DistributedDataParallel, or as it is in one process.

        ``broadcast_buffers=False``: DDP would otherwise copy rank 0's buffers into the module
        in place at *every* forward pass; a step with two discriminator passes before one
        backward (real, then generated images through BatchNorm) would then fail in backward
        ("modified by an inplace operation"). The running statistics are averaged over ranks
        at checkpoints and at the end instead (:meth:`average_buffers`); training-mode
        BatchNorm never reads them.
        """
        if not self.active:
            return module
        if _sync_batchnorm_wanted():
            module = _to_sync_batchnorm(module, device)
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(
            module, device_ids=ids, find_unused_parameters=False, **_no_forward_buffer_sync()
        )

    def check_same(self, what: str, value: Any) -> None:
        """Raise on every rank when ranks disagree on ``value`` (they would hang later)."""
        values = self.gather_objects(value)
        if any(v != values[0] for v in values):
            raise DistributedError(
                f"The ranks of this distributed fit disagree on {what}: {values} (by rank). "
                "Every rank must read the same training data with the same options, or the "
                "ranks would run different numbers of steps and hang."
            )


def current() -> Distributed:
    """This process's place without initialising anything: the process group's ranks when one
    is initialised, else those torchrun set in the environment, else rank 0 of 1."""
    if dist.is_available() and dist.is_initialized():
        return _from_group()
    env = os.environ
    if "RANK" not in env or int(env.get("WORLD_SIZE", "1")) <= 1:
        return Distributed()
    return Distributed(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> Distributed:
    """The distributed context of this process, initialising the process group if needed.

    Parameters
    ----------
    device : torch.device
        The fit's device; CUDA chooses the NCCL backend when this function creates the group.

    Returns
    -------
    Distributed
        Rank 0 of 1 when no group is initialised and the process was not started by torchrun.
    """
    if dist.is_available() and dist.is_initialized():
        return _from_group()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or "RANK" not in os.environ:
        return Distributed()
    if not dist.is_available():
        raise DistributedError(
            f"WORLD_SIZE={world} asks for a distributed fit, but this torch build has no "
            "torch.distributed. Run one process, or install a torch with distributed support."
        )
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timeout())
    return _from_group()


def timeout() -> datetime.timedelta:
    """The process group's timeout: ``SYNTHGAN_DIST_TIMEOUT`` seconds (default 600)."""
    text = os.environ.get(TIMEOUT_ENV, str(_DEFAULT_TIMEOUT))
    try:
        seconds = float(text)
    except ValueError:
        raise InvalidParameterError(
            f"{TIMEOUT_ENV}={text!r} is not a number of seconds; set it to, e.g., 600."
        ) from None
    return datetime.timedelta(seconds=seconds)


def _from_group() -> Distributed:
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return Distributed(dist.get_rank(), dist.get_world_size(), local, dist.get_backend())


def _no_forward_buffer_sync() -> dict[str, bool]:
    """DDP's option for "no buffer broadcast at each forward" (renamed in torch 2.14; both
    still broadcast rank 0's buffers once, when the wrapper is built)."""
    params = inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    if "forward_sync_buffers" in params:
        return {"forward_sync_buffers": False}
    return {"broadcast_buffers": False}


def _sync_batchnorm_wanted() -> bool:
    return os.environ.get(SYNC_BATCHNORM_ENV, "0") not in ("", "0", "false", "False")


def _to_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """SyncBatchNorm (statistics over the global batch) on CUDA; refused on the CPU."""
    if device.type != "cuda":
        raise DistributedError(
            f"{SYNC_BATCHNORM_ENV}=1 asks for SyncBatchNorm, which runs on CUDA only; this fit "
            f"runs on {device}. Unset {SYNC_BATCHNORM_ENV} (each rank then normalises its own "
            "block of the batch), or train on GPUs."
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)


def check_batch(batch_size: int, unit: int, world: Distributed, unit_name: str = "") -> int:
    """The per-rank batch ``batch_size / world_size``; an error names the fix when it is not a
    whole number of ``unit`` rows (PacGAN packs for CTGAN)."""
    step = unit * world.world_size
    if batch_size % step == 0:
        return batch_size // world.world_size
    lower, upper = (batch_size // step) * step, (batch_size // step + 1) * step
    packs = f" of whole packs ({unit_name}={unit})" if unit > 1 else ""
    raise InvalidParameterError(
        f"batch_size={batch_size} is the global batch of a fit on {world.world_size} ranks, and "
        f"cannot be split into {world.world_size} equal per-rank batches{packs}. Use a "
        f"batch_size that is a multiple of {step} (e.g. {lower or upper} or {upper})."
    )


def launch(fn: Callable[..., Any], world_size: int, args: Sequence[Any] = (), *,
           port: int | None = None, timeout_s: float = 120.0) -> None:  # fmt: skip
    """Run ``fn(*args)`` in ``world_size`` fresh CPU processes forming one gloo group.

    The Python equivalent of ``torchrun --nproc_per_node N`` on one machine, for scripts and
    tests: each process gets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT`` (a free local port), so a fit inside ``fn`` runs distributed by itself.
    ``fn`` must be importable (defined at module level). Raises
    :class:`torch.multiprocessing.ProcessRaisedException` or ``ProcessExitedException`` when a
    process fails; the others are then terminated.
    """
    import torch.multiprocessing as mp

    port = port or _free_port()
    mp.start_processes(
        _child, args=(fn, world_size, port, timeout_s, tuple(args)), nprocs=world_size,
        join=True, start_method="spawn",
    )  # fmt: skip


def _child(rank: int, fn, world_size: int, port: int, timeout_s: float, args) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))  # fmt: skip
    os.environ[TIMEOUT_ENV] = str(timeout_s)
    try:
        fn(*args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
