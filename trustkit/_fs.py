"""Atomic, permission-aware file writes shared by every layer that stores something.

A crash or a kill at any point leaves either the old file or the new one, never a torn file: the bytes go to a
temporary file in the same folder (or a sibling folder on the same file system, for a folder whose every file is
read as data), are fsynced, and are renamed over the target; the folder is fsynced after. Derived data that can
be rebuilt may skip the fsyncs (``durable=False``).
Folders are created 0700 and files 0600, as notary does for everything under a trust directory.

Given the ``root`` they write under (the trust directory), writes refuse a symbolic link or a file in place of a
folder anywhere below it (a hostile trust directory cannot redirect them), and report every failure as
:class:`~trustkit.errors.FileAccessError`. :func:`write_files` writes many files with one flush of the file system.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from trustkit.errors import FileAccessError

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "atomic_write",
    "check_no_links",
    "ensure_private_dir",
    "remove_file",
    "write_files",
]

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


def check_no_links(root: Path, folder: Path) -> None:
    """Raise :class:`~trustkit.errors.FileAccessError` unless every existing folder from ``root`` (excluded: a
    trust directory may itself be a link) down to ``folder`` is a real folder, not a symbolic link or a file."""
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        raise FileAccessError(f"{folder} is not inside {root}: trustkit writes only inside it") from None
    if root.exists() and not root.is_dir():
        raise FileAccessError(f"{root} is a file, not a folder: give the path of a trust directory")
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise FileAccessError(
                f"{current} is a symbolic link: trustkit does not write through links inside {root}; replace it "
                "with a real folder"
            )
        if current.exists() and not current.is_dir():
            raise FileAccessError(f"{current} is a file where a folder must be: move it away")


def _create_temporary(path: Path, folder: Path) -> tuple[int, str]:
    """A new private file ``.<name>.<random>.tmp`` in ``folder``, open for writing (``tempfile.mkstemp``'s
    contract without importing tempfile, which is slow to import for a read-only process)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        name = str(folder / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int = PRIVATE_FILE_MODE,
    durable: bool = True,
    temp_dir: Path | None = None,
    root: Path | None = None,
) -> None:
    """Replace ``path`` with ``data`` atomically and (unless not ``durable``: for data that can be rebuilt)
    durably, creating private parent folders as needed.

    The temporary file is written beside ``path``, or in ``temp_dir`` (on the same file system) for a folder whose
    every file a reader takes as data, as notary takes every file of a changelist folder. With ``root``, the
    folders below it must not be links (:func:`check_no_links`) and failures are ``FileAccessError``.
    """
    with _access(root, path):
        folder = _prepare(root, path, temp_dir)
        tmp_name = _write_temporary(path, data, folder, mode, sync=durable)
        _replace(tmp_name, path)
        if durable:
            _fsync_dir(path.parent)


def write_files(
    files: Sequence[tuple[Path, bytes]],
    *,
    mode: int = PRIVATE_FILE_MODE,
    temp_dir: Path | None = None,
    root: Path | None = None,
) -> None:
    """Write several files, each atomically, all durably, with one flush of the file system for them all.

    Each file goes to a temporary file (as :func:`atomic_write`); once all are written, the file system is flushed
    once (``syncfs``; where it is missing, each file is fsynced), then they are renamed in order and each folder
    is fsynced. A kill leaves a prefix of them in place, each whole; a crash after the return loses none.
    """
    if len(files) <= 1:
        for path, data in files:
            atomic_write(path, data, mode=mode, temp_dir=temp_dir, root=root)
        return
    with _access(root, files[0][0]):
        written: list[tuple[str, Path]] = []
        renamed = 0
        folders: dict[Path, Path] = {}
        try:
            for path, data in files:
                folder = folders.get(path.parent) or folders.setdefault(path.parent, _prepare(root, path, temp_dir))
                written.append((_write_temporary(path, data, folder, mode, sync=False), path))
            _flush(folder, [name for name, _ in written])
            for name, path in written:
                _replace(name, path)
                renamed += 1
        finally:
            for name, _ in written[renamed:]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
        for parent in dict.fromkeys(path.parent for path, _ in files):
            _fsync_dir(parent)


@contextlib.contextmanager
def _access(root: Path | None, path: Path) -> Iterator[None]:
    """Report an ``OSError`` of a write under ``root`` as ``FileAccessError`` naming the path."""
    if root is None:
        yield
        return
    try:
        yield
    except OSError as exc:
        raise FileAccessError(
            f"cannot write {path}: {exc.strerror or exc}: check that {root} is a folder you can write to, on a "
            "disk with room"
        ) from None


def _prepare(root: Path | None, path: Path, temp_dir: Path | None) -> Path:
    """Check and create the folders of ``path`` (and ``temp_dir``); return the folder of its temporary file."""
    folder = path.parent if temp_dir is None else temp_dir
    if root is not None:
        check_no_links(root, path.parent)
        check_no_links(root, folder)
    ensure_private_dir(path.parent)
    ensure_private_dir(folder)
    return folder


def _write_temporary(path: Path, data: bytes, folder: Path, mode: int, *, sync: bool) -> str:
    """A new temporary file for ``path`` in ``folder`` holding ``data`` (fsynced with ``sync``); its name."""
    fd, tmp_name = _create_temporary(path, folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return tmp_name


def _replace(tmp_name: str, path: Path) -> None:
    try:
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _flush(folder: Path, names: list[str]) -> None:
    """Make the data of the files ``names`` durable: one ``syncfs`` of ``folder``'s file system, else an fsync
    of each."""
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for name in names:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(2)``, or None where the C library has none."""
    try:
        import ctypes

        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
    return function


def remove_file(path: Path, *, root: Path | None = None) -> bool:
    """Remove ``path`` durably; False when it did not exist. With ``root``, never through a link below it
    (:func:`check_no_links`), and failures are ``FileAccessError``."""
    with _access(root, path):
        if root is not None:
            check_no_links(root, path.parent)
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
