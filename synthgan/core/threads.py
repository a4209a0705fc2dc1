"""How many CPU threads torch uses for a fit, a sampling run or an evaluation.

:func:`configure_threads` is the one place that sets torch's intra-op thread count; the command
line's ``--threads`` and the synthesizers' ``n_threads`` go through it.
"""

from __future__ import annotations

import numbers

import torch

__all__ = ["configure_threads"]


def configure_threads(n_threads: int | None = None) -> int:
    """Set torch's intra-op thread count and return the count in force.

    Parameters
    ----------
    n_threads : int or None
        Threads to use, at least 1. None keeps torch's current setting.

    Returns
    -------
    int
        The number of threads torch now uses.
    """
    if n_threads is None:
        return torch.get_num_threads()
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a whole number, got {n_threads!r}.")
    if n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}.")
    torch.set_num_threads(int(n_threads))
    return torch.get_num_threads()
