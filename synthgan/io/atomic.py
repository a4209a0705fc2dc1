"""Atomic file writing: the one implementation every synthgan writer goes through.

A writer never writes its destination in place. It writes a temporary file in the destination's
directory (same file system, so the final rename is atomic), flushes it to disk and then moves it
into place. A reader therefore sees either the old file or the complete new one, never half a
file, and a failed write leaves nothing behind (DESIGN.md §5).
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "check_destination", "same_file"]

StrPath = str | PathLike[str]


@contextmanager
def atomic_path(
    path: StrPath, *, overwrite: bool = False, protect: Iterable[StrPath] = ()
) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` atomically when the block succeeds.

    The temporary file is created (empty) next to ``path``; the caller writes it in the ``with``
    block. On success it is synced to disk and renamed onto ``path``; if the block raises, it is
    deleted and ``path`` is left untouched.

    Parameters
    ----------
    path : str or PathLike
        Final destination. Missing parent directories are created.
    overwrite : bool, default=False
        Replace an existing file at ``path``. Without it an existing file is an error, checked
        both before writing and again, atomically, when the file is moved into place.
    protect : iterable of str or PathLike, default=()
        Paths that must never be written, even with ``overwrite=True`` (typically the caller's
        input files). Paths are compared after resolving symbolic links.

    Yields
    ------
    pathlib.Path
        The temporary file to write.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false, or ``path`` is one of ``protect``.
    IsADirectoryError
        ``path`` is a directory.

    Examples
    --------
    >>> with atomic_path("out/report.json", overwrite=True) as tmp:  # doctest: +SKIP
    ...     tmp.write_text("{}")
    """
    target = Path(path)
    check_destination(target, overwrite=overwrite, protect=protect)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp_file(target)
    try:
        yield tmp
        _fsync(tmp)
        _publish(tmp, target, overwrite=overwrite)
    finally:
        # After a successful os.replace the temporary name is gone and this is a no-op.
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: StrPath, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or PathLike
        Destination file.
    data : bytes
        The complete file content.
    overwrite : bool, default=False
        Replace an existing file at ``path``.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def check_destination(target: Path, *, overwrite: bool, protect: Iterable[StrPath] = ()) -> None:
    """Raise unless ``target`` may be written: never one of ``protect`` (the inputs), never a
    directory, and an existing file only with ``overwrite``. Called by :func:`atomic_path`, and
    before long work that ends in a write so that it fails early."""
    for protected in protect:
        if same_file(target, Path(protected)):
            raise FileExistsError(
                errno.EEXIST,
                "refusing to write onto an input file (inputs are never overwritten, even with "
                "overwrite=True); choose another output path",
                str(target),
            )
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "destination is a directory, not a file", str(target))
    if not overwrite and target.exists():
        raise _exists_error(target)


def same_file(first: Path, second: Path) -> bool:
    """True when both paths name the same file (also through links or case folding)."""
    if first.resolve() == second.resolve():
        return True
    # Hard links and case-insensitive file systems: equal files under different names.
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def _exists_error(target: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST,
        "file already exists; pass overwrite=True (--overwrite on the command line) to replace it",
        str(target),
    )


def _create_temp_file(target: Path) -> Path:
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would leave the final file readable by its owner only).
    for _ in range(16):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "could not create a temporary file next to", str(target))


def _fsync(path: Path) -> None:
    # Without a sync a crash right after the rename can leave an empty file under the new name.
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        # A hard link is created atomically and fails if the target appeared meanwhile, so a
        # file written concurrently by someone else is never clobbered.
        os.link(tmp, target)
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError:
        # File systems without hard links: check, then rename.
        if target.exists():
            raise _exists_error(target) from None
        os.replace(tmp, target)
