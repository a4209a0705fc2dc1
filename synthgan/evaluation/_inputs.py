"""Inputs and progress of ``synthgan.evaluate`` / ``synthgan.evaluate_images`` (private).

Tables may be given as DataFrames or as CSV / Parquet paths (read with
:func:`synthgan.io.read_table`, as ``fit`` reads them); image sets as arrays or as a folder or
``.npz`` path (read with :func:`synthgan.image.readers.read_images`). :class:`Stages` times the
stages of an evaluation and shows them on a tqdm bar when asked.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

__all__ = ["Stages", "as_images", "as_table", "encode_image_labels"]


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def as_table(data, name: str) -> pd.DataFrame | None:
    """``data`` itself, or the table at ``data`` when it is a path (None passes through).

    Parameters
    ----------
    data : DataFrame, str, PathLike or None
        A table, or a CSV / Parquet file (see :func:`synthgan.io.read_table`).
    name : str
        The argument's name, for errors.

    Returns
    -------
    DataFrame or None
    """
    if not _is_path(data):
        return data
    from synthgan.io import read_table

    if not os.path.isfile(data):
        raise FileNotFoundError(
            f"{name}: no such file {os.fspath(data)!r}; pass a DataFrame or the path of a CSV or "
            "Parquet file."
        )
    return read_table(data)


def as_images(images, labels, name: str) -> tuple[object, object, bool]:
    """Images (and labels) as given, or read from a folder or ``.npz`` path.

    Returns
    -------
    tuple
        ``(images, labels, from_path)``: for a path, ``uint8`` images ``(N, C, H, W)`` and the
        original label values (class folder names, or the labels stored in the ``.npz``), or
        the ``labels`` given when the path holds none.
    """
    if images is None or not _is_path(images):
        return images, labels, False
    from synthgan.image.readers import read_images

    data = read_images(images, labels, name=name)
    values = None
    if data.labels is not None:
        values = [data.classes[code] for code in data.labels.tolist()]
    return data.images.numpy(), values, True


def encode_image_labels(label_sets: list, from_path: bool) -> tuple[list, list | None]:
    """Integer labels for the image metrics, one class numbering shared by every set.

    Labels read from paths can be class names (strings): then every set's labels are numbered
    by their position in the sorted union of all sets' labels (as strings), so that ``"3"`` in
    a folder and ``3`` in an array are one class. Otherwise the labels pass through unchanged.

    Returns
    -------
    tuple
        ``(label_sets, classes)``: ``classes`` is the sorted union when labels were renumbered,
        else None.
    """
    given = [labels for labels in label_sets if labels is not None]
    if not from_path or not given:
        return label_sets, None
    if all(np.asarray(labels).dtype.kind in "iub" for labels in given):
        return label_sets, None
    classes = sorted({str(value) for labels in given for value in np.asarray(labels).tolist()})
    index = {value: code for code, value in enumerate(classes)}
    encoded = [
        None if labels is None else np.array([index[str(v)] for v in np.asarray(labels).tolist()])
        for labels in label_sets
    ]
    return encoded, classes


class Stages:
    """Times the named stages of an evaluation; with ``verbose``, a tqdm bar shows them.

    Parameters
    ----------
    total : int
        Number of stages, the length of the bar.
    verbose : bool
        Show the bar (on stderr); nothing is printed otherwise.
    """

    def __init__(self, total: int, verbose: bool) -> None:
        from tqdm.auto import tqdm

        self.verbose = verbose
        self.timings: dict[str, float] = {}
        self._bar = tqdm(total=total, desc="evaluate", unit="stage", disable=not verbose)

    @contextlib.contextmanager
    def stage(self, key: str, description: str) -> Iterator[None]:
        """Time the block as ``timings[key]`` and show ``description`` while it runs."""
        self._bar.set_postfix_str(description, refresh=True)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[key] = round(time.perf_counter() - start, 3)
            self._bar.update(1)

    def each(self, items: Iterable, description: str) -> Iterable:
        """``items``, with a second bar over them (per column, say) when verbose."""
        from tqdm.auto import tqdm

        items = list(items)
        return tqdm(items, desc=description, leave=False, disable=not self.verbose)

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
