"""Atomic, permission-aware file writes shared by every layer that stores something.

A crash or a kill at any point leaves either the old file or the new one, never a torn file: the bytes go to a
temporary file in the same folder (or a sibling folder on the same file system, for a folder whose every file is
read as data), are fsynced, and are renamed over the target; the folder is fsynced after. Derived data that can
be rebuilt may skip the fsyncs (``durable=False``).
Folders are created 0700 and files 0600, as notary does for everything under a trust directory.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "atomic_write", "ensure_private_dir", "remove_file"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (existing folders are left as they are)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        os.chmod(folder, PRIVATE_DIR_MODE)


def _create_temporary(path: Path, folder: Path) -> tuple[int, str]:
    """A new private file ``.<name>.<random>.tmp`` in ``folder``, open for writing (``tempfile.mkstemp``'s
    contract without importing tempfile, which costs a read-only process 10 ms)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        name = str(folder / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def atomic_write(
    path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE, durable: bool = True, temp_dir: Path | None = None
) -> None:
    """Replace ``path`` with ``data`` atomically and (unless not ``durable``: for data that can be rebuilt)
    durably, creating private parent folders as needed.

    The temporary file is written beside ``path``, or in ``temp_dir`` (on the same file system) for a folder whose
    every file a reader takes as data, as notary takes every file of a changelist folder.
    """
    ensure_private_dir(path.parent)
    folder = path.parent if temp_dir is None else temp_dir
    ensure_private_dir(folder)
    fd, tmp_name = _create_temporary(path, folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if durable:
        _fsync_dir(path.parent)


def remove_file(path: Path) -> bool:
    """Remove ``path`` durably; False when it did not exist."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    return True


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
