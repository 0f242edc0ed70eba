"""One room for file safety: the atomic writer, output-path checks and regular-file checks.

Every writer and reader in backproplab goes through these helpers, so that a failed save never
destroys an existing file, an output path is checked before any work starts, and no special file
(a FIFO, ``/dev/zero``, a directory) is ever read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

__all__ = ["ModelFileError", "atomic_write", "check_output_path", "check_regular_file", "check_distinct_paths", "open_atomic"]

PathLike = str | os.PathLike[str]


class ModelFileError(ValueError):
    """A file that is not a readable backproplab model; the message names the file and the reason."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def open_atomic(path: PathLike, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    The temporary file has an unpredictable name (``tempfile.mkstemp``, ``O_EXCL``), so no planted
    symlink is followed. On any failure (including KeyboardInterrupt) it is removed and ``path`` is left
    as it was. The result gets the existing file's mode, or the usual ``0o666 & ~umask`` for a new file.
    Errors name ``path``, never the temporary file.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    if os.path.isdir(target):  # refused before anything is written (os.replace would fail at the end)
        raise IsADirectoryError(errno.EISDIR, f"cannot write {target}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as error:
        raise OSError(error.errno, f"cannot write {target}: {error.strerror}") from None
    try:
        try:
            mode_bits = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode_bits = 0o666 & ~_current_umask()
        os.fchmod(fd, mode_bits)
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            fd = -1
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        tmp = ""
        _fsync_folder(folder)
    except OSError as error:
        raise OSError(error.errno, f"cannot write {target}: {error.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            with contextlib.suppress(OSError):
                os.remove(tmp)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, data: bytes | str | Callable[[IO[Any]], None], *, encoding: str = "utf-8") -> str:
    """Write ``data`` (bytes, text, or a function that writes to a binary handle) to ``path`` atomically.

    Returns ``path`` as a string. See :func:`open_atomic` for the guarantees.
    """
    if isinstance(data, str):
        with open_atomic(path, "w", encoding=encoding, newline="") as handle:
            handle.write(data)
    elif isinstance(data, bytes | bytearray | memoryview):
        with open_atomic(path, "wb") as handle:
            handle.write(data)
    else:
        with open_atomic(path, "wb") as handle:
            data(handle)
    return os.fspath(path)


def check_output_path(path: PathLike, argument: str) -> str:
    """Refuse, before any work starts, an output path that cannot be written.

    Raises ValueError naming ``argument`` and the path when its folder is missing, when it is a
    directory or another non-regular file, or when the folder or the existing file is not writable.
    """
    target = os.fspath(path)
    if not target:
        raise ValueError(f"{argument} is empty; expected a file path")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise ValueError(f"{argument} {target!r}: folder {folder!r} does not exist")
    if os.path.lexists(target):
        info = os.stat(target) if os.path.exists(target) else None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{argument} {target!r} is a directory; expected a file path")
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{argument} {target!r} is not a regular file")
        if info is not None and not os.access(target, os.W_OK):
            raise ValueError(f"{argument} {target!r} is not writable")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{argument} {target!r}: folder {folder!r} is not writable")
    return target


def check_regular_file(path: PathLike, argument: str) -> str:
    """Refuse anything to read that is not an existing regular file (after following links)."""
    target = os.fspath(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        raise ValueError(f"{argument} {target!r} does not exist") from None
    except OSError as error:
        raise ValueError(f"{argument} {target!r} cannot be read: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{argument} {target!r} is a directory; expected a file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{argument} {target!r} is not a regular file (a device, FIFO or socket)")
    return target


def _identity(path: str) -> tuple[int, int] | str:
    try:
        info = os.stat(path)
        return (info.st_dev, info.st_ino)
    except OSError:
        return os.path.realpath(path)


def check_distinct_paths(inputs: Iterable[tuple[str, PathLike | None]], outputs: Iterable[tuple[str, PathLike | None]]) -> None:
    """Refuse an output that is one of the inputs or another output (same file, by inode or real path).

    ``inputs`` and ``outputs`` are ``(argument name, path or None)`` pairs.
    """
    seen: dict[tuple[int, int] | str, str] = {}
    for argument, path in inputs:
        if path is not None:
            seen.setdefault(_identity(os.fspath(path)), argument)
    for argument, path in outputs:
        if path is None:
            continue
        key = _identity(os.fspath(path))
        if key in seen:
            raise ValueError(f"{argument} {os.fspath(path)!r} is the same file as {seen[key]}; refusing to overwrite it")
        seen[key] = argument
