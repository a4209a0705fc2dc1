"""Seeded randomness that never touches global RNG state.

numpy work uses a :class:`numpy.random.Generator`; torch work runs inside :func:`torch_seed_scope`,
which forks torch's global generator, seeds the fork and restores the caller's state on exit. Layers
that only draw from the global generator (``nn.Linear`` initialisation, ``nn.Dropout``) are thereby
reproducible without leaking state to, or from, the user's program.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["check_random_state", "derive_seed", "rank_seed", "torch_seed_scope"]

SeedLike = int | np.integer | np.random.Generator | None


def check_random_state(seed: SeedLike) -> np.random.Generator:
    """Turn ``seed`` into a :class:`numpy.random.Generator`.

    ``None`` gives a generator seeded from the operating system, an integer a generator seeded
    with it, and a Generator is returned as is (so callers can share a stream).
    """
    if seed is None or isinstance(seed, numbers.Integral):
        if seed is not None and int(seed) < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {seed}.")
        return np.random.default_rng(None if seed is None else int(seed))
    if isinstance(seed, np.random.Generator):
        return seed
    raise TypeError(
        "random_state must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(seed).__name__}."
    )


def derive_seed(rng: np.random.Generator) -> int:
    """Draw a 63-bit seed from ``rng`` to seed a torch generator or a child stream."""
    return int(rng.integers(0, 2**63 - 1))


def rank_seed(seed: int, rank: int) -> int:
    """A 63-bit seed for ``rank``'s own stream, derived from the fit's ``seed``.

    Rank 0 keeps ``seed`` itself, so a one-process fit is unchanged; other ranks get independent
    streams (numpy's SeedSequence over ``(seed, rank)``).
    """
    if rank == 0:
        return int(seed)
    state = np.random.SeedSequence([int(seed), int(rank)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


@contextlib.contextmanager
def torch_seed_scope(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with torch's global RNG seeded to ``seed``, restoring it afterwards."""
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=True):
        torch.manual_seed(seed)
        yield
