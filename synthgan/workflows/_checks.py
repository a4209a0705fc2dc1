"""Checks and settings that the commands make before any long work (private).

An output is checked before a fit or an evaluation starts, so that a run is never lost to a file
that cannot be written: it may not exist (unless overwriting), may never be an input, and must
carry an extension that says what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from synthgan.core.distributed import current
from synthgan.exceptions import DataValidationError
from synthgan.io.atomic import StrPath, check_destination
from synthgan.io.tables import SUPPORTED_EXTENSIONS, has_table_extension

__all__ = [
    "MODEL_EXTENSION",
    "check_device",
    "check_extension",
    "check_model_output",
    "check_output",
    "check_table_extension",
    "is_main_process",
    "save_fitted",
    "set_threads",
]

MODEL_EXTENSION = ".synthgan"


def check_output(path: StrPath, *, overwrite: bool, inputs: Iterable[Path]) -> Path:
    """``path`` as a Path, once it is known to be writable and none of ``inputs``."""
    output = Path(path)
    check_destination(output, overwrite=overwrite, protect=inputs)
    return output


def check_model_output(path: StrPath, *, overwrite: bool, inputs: Iterable[Path]) -> Path:
    """As :func:`check_output`, for a model file: the name must end in ``.synthgan``."""
    output = check_output(path, overwrite=overwrite, inputs=inputs)
    if output.suffix.lower() != MODEL_EXTENSION:
        raise DataValidationError(
            f"The model file {str(output)!r} must end in {MODEL_EXTENSION}, so that it is not "
            f"taken for a table or an image; name it for example {output.stem or 'model'}"
            f"{MODEL_EXTENSION}."
        )
    return output


def check_table_extension(path: Path) -> None:
    """Refuse a table name whose extension names no format :func:`synthgan.io.write_table` has."""
    if not has_table_extension(path):
        raise DataValidationError(
            f"Cannot tell the table format of {str(path)!r} from its extension; use one of "
            f"{', '.join(SUPPORTED_EXTENSIONS)} (e.g. synthetic.parquet or synthetic.csv)."
        )


def check_extension(path: Path, allowed: Sequence[str], what: str, example: str) -> None:
    """Refuse ``path`` unless it ends in one of ``allowed``; ``what`` and ``example`` explain."""
    if path.suffix.lower() not in allowed:
        raise DataValidationError(
            f"{what} {str(path)!r} must end in {' or '.join(allowed)}, not "
            f"{path.suffix or 'no extension'!r}: the file would not open as what it holds. "
            f"Name it for example {example}."
        )


def check_device(device: str | None) -> None:
    """Refuse a bad ``device`` option (a CUDA device without one) before any work."""
    if device is not None:
        from synthgan.core.device import check_device as check

        check(device)


def set_threads(threads: int | None) -> None:
    """Set the CPU threads of this process's work, unless ``threads`` is None."""
    if threads is not None:
        from synthgan.core.threads import configure_threads

        configure_threads(threads)


def is_main_process() -> bool:
    """Whether this process writes outputs and reports: always in one process, rank 0 only in
    a distributed fit (``torchrun ... -m synthgan fit``)."""
    return current().is_main


def save_fitted(model, output: Path, *, overwrite: bool) -> Path:
    """Save a fitted model on rank 0 only; in a distributed fit every rank holds the same model
    (the session gives all ranks rank 0's weights), and the others wait until it is written."""
    world = current()
    if world.is_main:
        output = model.save(output, overwrite=overwrite)
    world.barrier()
    return output
