"""Streamed output: write ``n`` generated rows or images chunk by chunk, with bounded memory.

``sample_to`` (tables and images) goes through :func:`stream_to`. The output is defined by the
seed alone, not by how it is produced:

* rows are generated in **seed blocks** of :data:`BLOCK_ROWS` rows; block ``b`` (rows
  ``b * BLOCK_ROWS`` onwards) is generated from its own generator,
  ``numpy.random.default_rng([seed, b])``. A chunk (the unit of work and of writing, of any
  size) is made of the blocks it overlaps, cut to its range, so the rows written are the same
  whatever the chunk size and the number of worker processes;
* ``workers > 1`` runs the generation in that many processes (spawned, each loading a copy of
  the model from a safe model file and using its share of the CPU threads); the parent writes
  the chunks in order, with at most ``2 * workers`` chunks in flight, so peak memory depends on
  the chunk size and the number of workers, never on ``n``;
* completion is atomic. A file output is written under a temporary name and renamed when
  complete. A directory output is filled under a hidden temporary name (``.name.<hex>.tmp``,
  next to the destination), gets a manifest :data:`MANIFEST` (rows, seed, files and their row
  counts) and an empty ``_SUCCESS`` marker, and is then renamed into place. A crashed or killed
  run therefore never leaves anything under the destination's name; a failed one (a full disk)
  deletes its partial output and says how far it got. :func:`check_complete` is the reader's
  check.
"""

from __future__ import annotations

import concurrent.futures as cf
import errno
import json
import multiprocessing
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath, atomic_directory, atomic_path, check_directory_destination

__all__ = [
    "BLOCK_ROWS",
    "MANIFEST",
    "BlockProducer",
    "Chunk",
    "Sink",
    "check_complete",
    "plan_chunks",
    "resolve_seed",
    "stream_to",
]

BLOCK_ROWS = 16_384  # rows per seed block: part of the definition of a stream's rows
MANIFEST = "_synthgan.json"  # written last into a directory output, before the rename
SUCCESS = "_SUCCESS"  # the empty marker Hadoop / Spark readers look for
STREAM_FILES = frozenset({MANIFEST, SUCCESS})  # skipped by the image folder reader
FORMAT_NAME = "synthgan.stream"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Chunk:
    """Rows ``start`` to ``stop`` (excluded) of the output, the ``index``-th chunk."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


class BlockProducer(Protocol):
    """What a model family generates for one seed block (picklable, for worker processes)."""

    def __call__(self, model: Any, rows: int, start: int, rng: np.random.Generator) -> Any:
        """The payload of rows ``start`` .. ``start + rows`` (``rng`` is the block's own)."""

    def concat(self, parts: list[Any]) -> Any: ...

    def slice(self, payload: Any, lo: int, hi: int) -> Any: ...

    def rows(self, payload: Any) -> int: ...


class Sink(Protocol):
    """Writes payloads in order into a staging file or directory."""

    def write(self, payload: Any) -> None: ...

    def close(self) -> dict[str, Any]:
        """Finish writing; what the manifest of a directory output records (``"files"``:
        ``{"path": relative, "rows": k}`` entries, and the sink's own entries)."""


def plan_chunks(n: int, chunk_rows: int) -> list[Chunk]:
    """Consecutive chunks of ``chunk_rows`` rows (the last one shorter) covering ``n`` rows."""
    return [
        Chunk(index, start, min(start + chunk_rows, n))
        for index, start in enumerate(range(0, n, chunk_rows))
    ]


def resolve_seed(random_state: int | np.random.Generator | None) -> int:
    """The stream's base seed: the given int, one drawn from a Generator, or fresh entropy
    (recorded in the manifest, so that any output can be reproduced)."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    integral = isinstance(random_state, (int, np.integer))
    if isinstance(random_state, (bool, np.bool_)) or not integral:
        raise TypeError(
            f"random_state must be an int, a numpy Generator or None, got "
            f"{type(random_state).__name__}."
        )
    if random_state < 0:
        raise ValueError(f"random_state must be non-negative, got {random_state}.")
    return int(random_state)


def produce_chunk(model: Any, producer: BlockProducer, chunk: Chunk, n: int, seed: int) -> Any:
    """The payload of ``chunk``: the seed blocks it overlaps, each cut to the chunk's range."""
    parts = []
    for block in range(chunk.start // BLOCK_ROWS, (chunk.stop - 1) // BLOCK_ROWS + 1):
        first = block * BLOCK_ROWS
        size = min(BLOCK_ROWS, n - first)  # only the last block of the stream is shorter
        payload = producer(model, size, first, np.random.default_rng([seed, block]))
        lo, hi = max(chunk.start, first) - first, min(chunk.stop, first + size) - first
        parts.append(payload if (lo, hi) == (0, size) else producer.slice(payload, lo, hi))
    return parts[0] if len(parts) == 1 else producer.concat(parts)


# -- the driver ---------------------------------------------------------------------------------
def stream_to(
    model: Any,
    path: StrPath,
    n: int,
    *,
    producer: BlockProducer,
    sink: Callable[[Path], Sink],
    directory: bool,
    chunk_rows: int,
    random_state: int | np.random.Generator | None,
    workers: int,
    overwrite: bool,
    progress: bool | None,
    manifest: dict[str, Any] | None = None,
    unit: str = "rows",
) -> Path:
    """Generate ``n`` rows in chunks and write them through ``sink`` (see the module docstring).

    ``sink(staging)`` opens the writer on the staging file (``directory=False``) or directory;
    ``manifest`` holds the family's own entries (kind, schema...). Returns ``path``.
    """
    target = Path(path)
    chunks = plan_chunks(n, chunk_rows)
    seed = resolve_seed(random_state)
    with _staging(target, directory, overwrite) as staging:
        writer = sink(staging)
        written = _write_all(model, producer, writer, chunks, n, seed, workers, progress, unit)
        written_up = _close(writer, written, n)
        if directory:
            record = _manifest(model, n, seed, chunk_rows, {**(manifest or {}), **written_up})
            (staging / MANIFEST).write_text(json.dumps(record, indent=2))
            (staging / SUCCESS).touch()
    return target


def _write_all(model, producer, writer, chunks, n, seed, workers, progress, unit) -> int:
    written = 0
    bar = tqdm(total=n, unit=f" {unit}", unit_scale=True, disable=_no_bar(progress), leave=False)
    try:
        for payload in _payloads(model, producer, chunks, n, seed, workers):
            try:
                writer.write(payload)
            except OSError as error:
                raise _write_error(error, written, n) from error
            written += producer.rows(payload)
            bar.update(producer.rows(payload))
    finally:
        bar.close()
    return written


def _close(writer: Sink, written: int, n: int) -> dict[str, Any]:
    try:
        return writer.close()
    except OSError as error:
        raise _write_error(error, written, n) from error


def _no_bar(progress: bool | None) -> bool | None:
    # None: tqdm decides (shown on a terminal, hidden in logs and pipes).
    return None if progress is None else not progress


def _write_error(error: OSError, written: int, n: int) -> OSError:
    why = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
    return OSError(
        error.errno,
        f"writing stopped after {written:,} of {n:,} rows because {why}; the partial output was "
        "deleted and nothing was written under the destination's name. Free some space or "
        "choose another path, then run again (the same seed gives the same rows)",
        getattr(error, "filename", None),
    )


@contextmanager
def _staging(target: Path, directory: bool, overwrite: bool) -> Iterator[Path]:
    if not directory:
        with atomic_path(target, overwrite=overwrite) as tmp:
            yield tmp
        return
    check_directory_destination(target, overwrite=overwrite)
    if overwrite:
        _check_replaceable(target)
    with atomic_directory(target, overwrite=overwrite) as tmp:
        yield tmp


def _check_replaceable(target: Path) -> None:
    """Only an empty directory or a previous stream output may be replaced: a directory of
    the user's own files is never deleted, even with ``overwrite=True``."""
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise FileExistsError(
            errno.EEXIST,
            f"refusing to replace a directory that is not a synthgan output (it has no "
            f"{MANIFEST}), even with overwrite=True; choose another path or empty it",
            str(target),
        )


def _manifest(model, n: int, seed: int, chunk_rows: int, extra) -> dict[str, Any]:
    from synthgan import __version__

    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "complete": True,
        "rows": n,
        "seed": str(seed),  # as text: it may exceed what JSON readers hold in a double
        "block_rows": BLOCK_ROWS,
        "chunk_rows": chunk_rows,
        "model": type(model).__name__,
        "synthgan_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": [],
        **extra,
    }


# -- worker processes ---------------------------------------------------------------------------
def _payloads(model, producer, chunks, n: int, seed: int, workers: int) -> Iterator[Any]:
    if workers == 1:
        for chunk in chunks:
            yield produce_chunk(model, producer, chunk, n, seed)
        return
    with _pool(model, workers) as pool:
        pending: deque[cf.Future] = deque()
        queued = iter(chunks)
        for chunk in queued:
            pending.append(pool.submit(_worker_chunk, producer, chunk, n, seed))
            if len(pending) >= 2 * workers:  # bounded: the parent never holds more
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())


@contextmanager
def _pool(model, workers: int) -> Iterator[cf.ProcessPoolExecutor]:
    import torch

    threads = max(1, torch.get_num_threads() // workers)
    with tempfile.TemporaryDirectory(prefix="synthgan-workers-") as folder:
        model_file = model.save(Path(folder) / "model.synthgan")
        # spawn, not fork: a forked copy of a process that has run torch's thread pools can
        # deadlock; each worker loads the model from the safe file instead.
        context = multiprocessing.get_context("spawn")
        arguments = (str(model_file), threads)
        with cf.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=arguments
        ) as pool:
            yield pool


_WORKER_MODEL: Any = None


def _init_worker(model_file: str, threads: int) -> None:
    global _WORKER_MODEL
    import torch

    from synthgan.base import load

    torch.set_num_threads(threads)
    _WORKER_MODEL = load(model_file)


def _worker_chunk(producer: BlockProducer, chunk: Chunk, n: int, seed: int) -> Any:
    return produce_chunk(_WORKER_MODEL, producer, chunk, n, seed)


def _result(future: cf.Future) -> Any:
    try:
        return future.result()
    except cf.process.BrokenProcessPool as error:
        raise RuntimeError(
            "a sampling worker process died (killed, out of memory, or it could not start: a "
            "script that calls sample_to with workers > 1 must do so under "
            "'if __name__ == \"__main__\":', since workers are spawned and import the script); "
            "nothing was written under the destination's name. Run again with fewer workers or "
            "a smaller chunk_rows."
        ) from error


# -- readers ------------------------------------------------------------------------------------
def check_complete(path: StrPath) -> dict[str, Any]:
    """The manifest of a complete directory output of ``sample_to``; raise if it is not one.

    Parameters
    ----------
    path : str or PathLike
        A directory written by ``sample_to``.

    Returns
    -------
    dict
        The manifest: ``rows``, ``seed``, ``files`` (relative paths and row counts) and more.

    Raises
    ------
    DataValidationError
        No manifest (not a ``sample_to`` output, or one copied before it was complete), or a
        file it lists is missing.
    """
    root = Path(path)
    record_path = root / MANIFEST
    if not record_path.is_file():
        raise DataValidationError(
            f"{str(root)!r} has no {MANIFEST}: it is not a complete sample_to output (a run "
            "that did not finish never renames its output into place; a copy taken while one "
            "ran may be partial). Generate it again."
        )
    record = json.loads(record_path.read_text())
    missing = [f["path"] for f in record.get("files", []) if not (root / f["path"]).is_file()]
    if record.get("format") != FORMAT_NAME or not record.get("complete"):
        raise DataValidationError(
            f"{str(root)!r} is not a complete sample_to output: its {MANIFEST} is not a "
            "synthgan stream manifest."
        )
    if missing:
        raise DataValidationError(
            f"{str(root)!r} is not a complete sample_to output: {len(missing)} files its "
            f"manifest lists are missing (e.g. {missing[0]!r})."
        )
    return record


def file_entry(root: Path, file: Path, rows: int) -> dict[str, Any]:
    """A manifest entry: the path relative to the output's root (POSIX form) and rows."""
    return {"path": file.relative_to(root).as_posix(), "rows": int(rows)}
