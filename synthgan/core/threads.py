"""How many CPU threads a fit, a sampling run or an evaluation uses.

On a machine whose cores are shared with other work, OpenMP's thread teams collapse: every
parallel region waits at a barrier for its slowest thread, and a thread that shares its core with
another busy process is the slowest by a whole scheduler time slice. Beside another torch job on
a 2-core machine, an evaluation on two threads took 2.3 times as long as on one, and 4.6 times
its idle time (docs/benchmarks.md, "Threads on a shared CPU"). So synthgan does not take
torch's default (one thread per core) blindly:

* ``n_threads`` given (the synthesizers' and :func:`synthgan.evaluate`'s argument, the command
  line's ``--threads``, or :func:`configure_threads`): exactly that many;
* else ``OMP_NUM_THREADS`` set in the environment: that many (the user's standing choice);
* else the cores this process may run on (``os.sched_getaffinity``) that other processes leave
  idle, measured over 0.2 s from ``/proc/stat`` when the work starts (and reused for 30 s, so
  that many small fits in a row measure once); at least one.

:func:`thread_scope` applies the choice to torch and, through threadpoolctl, to the OpenMP and
BLAS pools of scikit-learn and numpy, and restores the previous settings afterwards.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["available_cores", "configure_threads", "idle_cores", "resolve_threads", "thread_scope"]

_WINDOW = 0.2  # seconds over which the other processes' load is measured
_BUSY = 0.5  # a core busier than this (share of its time, from other processes) is not used
_REUSE = 30.0  # seconds an automatic choice is reused (many small fits in a row measure once)
_chosen: int | None = None  # set by configure_threads: the process-wide choice
_measured: tuple[float, int] | None = None  # (monotonic time, idle cores) of the last measure
_now = time.monotonic


def configure_threads(n_threads: int | None = None) -> int:
    """Choose the thread count of every later fit, sampling run and evaluation in this process.

    Parameters
    ----------
    n_threads : int or None
        Threads to use, at least 1. None goes back to the automatic choice (see the module
        documentation).

    Returns
    -------
    int
        The number of threads torch now uses.
    """
    global _chosen
    _chosen = None if n_threads is None else _check_threads(n_threads)
    torch.set_num_threads(resolve_threads(None))
    return torch.get_num_threads()


def resolve_threads(n_threads: int | None) -> int:
    """The thread count to use for ``n_threads`` (None: the process-wide or automatic choice)."""
    if n_threads is not None:
        return _check_threads(n_threads)
    if _chosen is not None:
        return _chosen
    from_env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    return _recent_idle_cores()


def _recent_idle_cores() -> int:
    global _measured
    now = _now()
    if _measured is None or now - _measured[0] > _REUSE:
        _measured = (now, idle_cores())
    return _measured[1]


@contextmanager
def thread_scope(n_threads: int | None) -> Iterator[int]:
    """Run the body with :func:`resolve_threads` threads in torch, OpenMP and BLAS pools.

    Yields the count used; the previous settings are restored on exit.
    """
    from threadpoolctl import threadpool_limits

    count = resolve_threads(n_threads)
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count):
            yield count
    finally:
        torch.set_num_threads(previous)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def idle_cores(window: float = _WINDOW) -> int:
    """Cores of this process's affinity that other processes leave mostly idle, at least 1.

    Reads ``/proc/stat`` twice ``window`` seconds apart and counts the cores whose busy share,
    less this process's own use, is under one half. Where ``/proc/stat`` cannot be read (not
    Linux), every available core counts as idle.
    """
    cores = _affinity()
    before, own_before = _core_times(cores), _own_cpu_seconds()
    if before is None:
        return available_cores()
    time.sleep(window)
    after, own_after = _core_times(cores), _own_cpu_seconds()
    if after is None:
        return available_cores()
    busy = {c: (after[c][0] - before[c][0]) / max(after[c][1] - before[c][1], 1) for c in cores}
    own = (own_after - own_before) / window  # in cores; subtracted from the busiest ones
    for core in sorted(busy, key=busy.get, reverse=True):
        taken = min(own, busy[core])
        busy[core] -= taken
        own -= taken
    return max(1, sum(share < _BUSY for share in busy.values()))


def _affinity() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def _core_times(cores: list[int]) -> dict[int, tuple[int, int]] | None:
    """``{core: (busy jiffies, total jiffies)}`` from /proc/stat, or None where unreadable."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    wanted = {f"cpu{c}": c for c in cores}
    times: dict[int, tuple[int, int]] = {}
    for line in lines:
        name, *fields = line.split()
        if name in wanted:
            values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            idle = values[3] + values[4]
            times[wanted[name]] = (sum(values) - idle, sum(values))
    return times if len(times) == len(cores) else None


def _own_cpu_seconds() -> float:
    usage = os.times()
    return usage.user + usage.system


def _check_threads(n_threads: object) -> int:
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a whole number, got {n_threads!r}.")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}.")
    return int(n_threads)
