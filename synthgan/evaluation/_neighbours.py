"""Exact nearest neighbours and pairwise distances, in blocks that bound memory (private).

Both the table privacy scores (:mod:`synthgan.evaluation.privacy`: distance to closest record,
attacks) and the image scores (:mod:`synthgan.evaluation.images`: memorisation, PRDC) search
by brute force, which is exact and, at the sizes the evaluation samples (a few thousand rows),
as fast as a tree. Nothing here allocates more than a few blocks of ``_BLOCK_CELLS`` float
values, however large the sets or the rows (a 256x256 colour image is 196,608 values).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_BLOCK_CELLS = 2**22  # query rows x reference rows per block of pairwise distances (32 MiB)
_DIFF_CELLS = 2**24  # query rows x candidates x width of the exact recomputation (128 MiB)
_MAX_ROWS = 4096  # query rows per block of nearest() at most
_DECIMALS = 9  # nearest() rounds distances to 1e-9, so equal distances compare equal


def nearest(query: np.ndarray, reference: np.ndarray, k: int = 1) -> tuple[np.ndarray, ...]:
    """Euclidean distances (ascending) and indices of the ``k`` nearest reference rows.

    Candidates are shortlisted with ``|r|^2 - 2 q.r`` (fast, but inexact near 0), then their
    distances are recomputed directly, so an exact copy is at distance exactly 0 and equal
    distances compare equal (they are rounded to 1e-9).

    Parameters
    ----------
    query : ndarray of shape (n, d)
        Rows to find neighbours for.
    reference : ndarray of shape (m, d)
        Rows to search, ``m >= 1``.
    k : int, default 1
        Neighbours per query row; at most ``m`` are returned.

    Returns
    -------
    distances : ndarray of shape (n, min(k, m))
        Ascending per row.
    indices : ndarray of shape (n, min(k, m))
        Rows of ``reference``; among equal distances, the order of the shortlist.
    """
    k = min(k, len(reference))
    n_candidates = min(k + 2, len(reference))  # two spare: the shortlist's rounding errors
    ref_sq = np.einsum("ij,ij->i", reference, reference)  # (n_ref,)
    step = _rows_per_block(len(reference), n_candidates, reference.shape[1])
    dist = np.empty((len(query), k))
    index = np.empty((len(query), k), dtype=np.intp)
    for lo in range(0, len(query), step):
        block = query[lo : lo + step]  # (chunk, width)
        approx = ref_sq[None, :] - 2.0 * block @ reference.T  # (chunk, n_ref); |q|^2 dropped
        cand = np.argpartition(approx, n_candidates - 1, axis=1)[:, :n_candidates]
        diff = block[:, None, :] - reference[cand]  # (chunk, n_candidates, width)
        exact = np.round(np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)), _DECIMALS)
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        dist[lo : lo + step] = np.take_along_axis(exact, order, axis=1)
        index[lo : lo + step] = np.take_along_axis(cand, order, axis=1)
    return dist, index


def _rows_per_block(n_reference: int, n_candidates: int, width: int) -> int:
    """Query rows per block of :func:`nearest`, so that both its arrays stay within budget.

    The shortlist is ``(rows, n_reference)`` and the recomputation ``(rows, n_candidates,
    width)``; for tables only the first bound bites, for large images the second.
    """
    by_shortlist = _BLOCK_CELLS // n_reference
    by_recomputation = _DIFF_CELLS // (n_candidates * max(1, width))
    return max(1, min(_MAX_ROWS, by_shortlist, by_recomputation))


def squared_distance_blocks(
    query: np.ndarray, reference: np.ndarray
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, block)``: ``block[i, j] = |query[start + i] - reference[j]|^2``.

    Computed as ``|q|^2 + |r|^2 - 2 q.r`` and clipped at 0, a block of at most
    ``_BLOCK_CELLS`` values at a time: fast, for comparisons with radii computed the same way
    (PRDC's k-NN balls), but not exact near 0; :func:`nearest` is, for distances themselves.
    """
    ref_sq = np.einsum("ij,ij->i", reference, reference)  # (n_ref,)
    step = max(1, _BLOCK_CELLS // len(reference))
    for lo in range(0, len(query), step):
        rows = query[lo : lo + step]  # (chunk, d)
        rows_sq = np.einsum("ij,ij->i", rows, rows)
        block = rows_sq[:, None] + ref_sq[None, :] - 2.0 * rows @ reference.T  # (chunk, n_ref)
        yield lo, np.maximum(block, 0.0)
