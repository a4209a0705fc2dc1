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
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

__all__ = [
    "atomic_directory",
    "atomic_path",
    "atomic_write_bytes",
    "check_destination",
    "check_directory_destination",
    "same_file",
]

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


@contextmanager
def atomic_directory(path: StrPath, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that replaces the directory ``path`` when the block succeeds.

    The temporary directory is created next to ``path`` (same file system); the caller fills it
    in the ``with`` block. On success it is renamed onto ``path``, so a reader sees either no
    directory, the old one or the complete new one; if the block raises, it is deleted and
    ``path`` is left untouched. The files inside are not synced one by one (a folder of 60,000
    images would take minutes), so a power cut right after the rename may leave some empty.

    Parameters
    ----------
    path : str or PathLike
        Final directory. Missing parent directories are created. An existing empty directory
        is replaced.
    overwrite : bool, default=False
        Replace an existing non-empty directory, deleting everything in it. Callers decide
        what may be deleted before they pass it (see :mod:`synthgan.image.writers`).

    Yields
    ------
    pathlib.Path
        The temporary directory to fill.

    Raises
    ------
    FileExistsError
        ``path`` is a file, or a non-empty directory and ``overwrite`` is false.
    """
    target = Path(path)
    check_directory_destination(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp_dir(target)
    try:
        yield tmp
        _publish_dir(tmp, target, overwrite=overwrite)
    finally:
        # After a successful rename the temporary name is gone and this is a no-op.
        shutil.rmtree(tmp, ignore_errors=True)


def check_directory_destination(target: Path, *, overwrite: bool) -> None:
    """Raise unless the directory ``target`` may be written: never onto a file, and onto a
    non-empty directory only with ``overwrite``."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(
            errno.EEXIST, "a file exists where the output directory should go", str(target)
        )
    if not overwrite and _non_empty_dir(target):
        raise FileExistsError(
            errno.EEXIST,
            "directory exists and is not empty; pass overwrite=True (--overwrite on the "
            "command line) to replace it, or choose a new path",
            str(target),
        )


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


def _non_empty_dir(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _create_temp_dir(target: Path, tag: str = "tmp") -> Path:
    # os.mkdir lets the umask decide the permissions (tempfile.mkdtemp would make the final
    # directory readable by its owner only).
    for _ in range(16):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.{tag}")
        try:
            os.mkdir(tmp)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(
        errno.EEXIST, "could not create a temporary directory next to", str(target)
    )


def _publish_dir(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite and _non_empty_dir(target):
        # Move the old directory aside, the new one in, then delete the old one; should the
        # second rename fail, the old directory is put back.
        old = _create_temp_dir(target, "old")
        old.rmdir()  # only the free name is wanted: renaming onto a directory fails on Windows
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except OSError:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    if target.is_dir():
        target.rmdir()  # empty: removed so that the rename below works on every OS
    try:
        # POSIX rename refuses a non-empty directory (or a file) that appeared meanwhile.
        os.rename(tmp, target)
    except OSError as error:
        if target.exists():
            raise FileExistsError(
                errno.EEXIST, "output directory appeared while it was written", str(target)
            ) from error
        raise
