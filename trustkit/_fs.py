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
import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from trustkit.errors import FileAccessError

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "READ_FLAGS",
    "NotRegularFileError",
    "atomic_write",
    "check_no_links",
    "ensure_private_dir",
    "read_regular_file",
    "remove_file",
    "write_files",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
"""How trustkit opens a file it reads from a trust directory: never through a final symbolic link (``ELOOP``),
and without blocking, so a FIFO in place of the file cannot hang the open (the caller then requires a regular
file by ``fstat``; ``O_NONBLOCK`` changes nothing for one)."""


class NotRegularFileError(OSError):
    """A FIFO, device or socket where a regular file must be."""


def read_regular_file(path: Path, limit: int, *, tail: bool = False) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (so the caller sees an oversized file), or with ``tail`` its last
    ``limit`` bytes at most, opened with :data:`READ_FLAGS`. Raises ``FileNotFoundError``, ``IsADirectoryError``
    for a folder, :class:`NotRegularFileError` for a FIFO or device, and the ``OSError`` of the open (``ELOOP``
    for a link, ``ENAMETOOLONG``, ``EACCES``, ...)."""
    fd = os.open(path, READ_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, "not a regular file", str(path))
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if tail:
            handle.seek(max(0, size - limit))
            return handle.read(min(limit, size))
        return handle.read(min(limit, size) + 1)  # read(n) allocates n bytes first: not the whole cap


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
    parts = _parts_below(root, folder)
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise _link_error(root, current)
        if current.exists() and not current.is_dir():
            raise _file_error(current)


def _parts_below(root: Path, folder: Path) -> tuple[str, ...]:
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        raise FileAccessError(f"{folder} is not inside {root}: trustkit writes only inside it") from None
    if root.exists() and not root.is_dir():
        raise FileAccessError(f"{root} is a file, not a folder: give the path of a trust directory")
    return parts


def _link_error(root: Path, path: Path) -> FileAccessError:
    return FileAccessError(
        f"{path} is a symbolic link: trustkit does not write through links inside {root}; replace it with a real folder"
    )


def _file_error(path: Path) -> FileAccessError:
    return FileAccessError(f"{path} is a file where a folder must be: move it away")


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_folder(root: Path | None, folder: Path, *, create: bool = True) -> int:
    """A descriptor of ``folder``, its missing folders created 0700 (unless not ``create``: then
    ``FileNotFoundError``). Below ``root`` the folders are opened one at a time, each relative to the one above
    and never through a link (``O_NOFOLLOW``): a folder swapped for a link between a check and a write cannot
    redirect the write, as the write goes through the descriptor (``dir_fd``)."""
    if root is None or os.open not in os.supports_dir_fd or not _NOFOLLOW:
        if root is not None:
            check_no_links(root, folder)
        if create:
            ensure_private_dir(folder)
        return os.open(folder, _DIR_FLAGS)
    parts = _parts_below(root, folder)
    if create:
        ensure_private_dir(root)
    fd = os.open(root, _DIR_FLAGS)
    current = root
    try:
        for part in parts:
            current = current / part
            created = False
            if create:
                try:
                    os.mkdir(part, PRIVATE_DIR_MODE, dir_fd=fd)
                    created = True
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                try:
                    is_link = stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode)
                except OSError:
                    raise exc from None
                raise (_link_error(root, current) if is_link else _file_error(current)) from None
            if created:
                os.fchmod(child, PRIVATE_DIR_MODE)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _create_temporary(path: Path, folder_fd: int) -> tuple[int, str]:
    """A new private file ``.<name>.<random>.tmp`` in the folder ``folder_fd``, open for writing
    (``tempfile.mkstemp``'s contract without importing tempfile, which is slow to import for a read-only process)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | _NOFOLLOW
    while True:
        name = f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(name, flags, 0o600, dir_fd=folder_fd), name
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue


class _Folders:
    """Descriptors of the folders one write uses (opened once each), closed on exit."""

    def __init__(self, root: Path | None, temp_dir: Path | None) -> None:
        self.root = root
        self.temp_dir = temp_dir
        self.fds: dict[Path, int] = {}

    def open(self, folder: Path) -> int:
        fd = self.fds.get(folder)
        if fd is None:
            fd = self.fds[folder] = _open_folder(self.root, folder)
        return fd

    def temporary(self, path: Path) -> int:
        """The folder of ``path``'s temporary file (``temp_dir``, or its own folder)."""
        self.open(path.parent)
        return self.open(path.parent if self.temp_dir is None else self.temp_dir)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


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
    folders below it must not be links, checked as they are opened (:func:`_open_folder`: a folder swapped for
    a link meanwhile cannot redirect the write), and failures are ``FileAccessError``.
    """
    with _access(root, path):
        folders = _Folders(root, temp_dir)
        try:
            temp_fd = folders.temporary(path)
            target_fd = folders.open(path.parent)
            tmp_name = _write_temporary(path, data, temp_fd, mode, sync=durable)
            _replace((temp_fd, tmp_name), (target_fd, path))
            if durable:
                _fsync_fd(target_fd)
        finally:
            folders.close()


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
        folders = _Folders(root, temp_dir)
        written: list[tuple[tuple[int, str], Path]] = []
        renamed = 0
        try:
            for path, data in files:
                temp_fd = folders.temporary(path)
                written.append(((temp_fd, _write_temporary(path, data, temp_fd, mode, sync=False)), path))
            _flush(written[-1][0][0], [temporary for temporary, _ in written])
            for temporary, path in written:
                _replace(temporary, (folders.open(path.parent), path))
                renamed += 1
            for parent in dict.fromkeys(path.parent for path, _ in files):
                _fsync_fd(folders.open(parent))
        finally:
            for (fd, name), _ in written[renamed:]:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=fd)
            folders.close()


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


def _write_temporary(path: Path, data: bytes, folder_fd: int, mode: int, *, sync: bool) -> str:
    """A new temporary file for ``path`` in the folder ``folder_fd`` holding ``data`` (fsynced with ``sync``);
    its name in that folder."""
    fd, tmp_name = _create_temporary(path, folder_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name, dir_fd=folder_fd)
        raise
    return tmp_name


def _replace(temporary: tuple[int, str], target: tuple[int, Path]) -> None:
    """Rename the temporary file (folder descriptor, name) over the target (folder descriptor, path)."""
    (temp_fd, tmp_name), (target_fd, path) = temporary, target
    try:
        os.replace(tmp_name, path.name, src_dir_fd=temp_fd, dst_dir_fd=target_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name, dir_fd=temp_fd)
        raise


def _flush(folder_fd: int, temporaries: list[tuple[int, str]]) -> None:
    """Make the data of the ``temporaries`` (folder descriptor, name) durable: one ``syncfs`` of the file system
    of ``folder_fd``, else an fsync of each."""
    syncfs = _syncfs()
    if syncfs is not None and syncfs(folder_fd) == 0:
        return
    for dir_fd, name in temporaries:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
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
    (the folders are opened as :func:`atomic_write` opens them), and failures are ``FileAccessError``."""
    with _access(root, path):
        try:
            fd = _open_folder(root, path.parent, create=False)
        except FileNotFoundError:
            return False
        try:
            try:
                os.unlink(path.name, dir_fd=fd)
            except FileNotFoundError:
                return False
            _fsync_fd(fd)
        finally:
            os.close(fd)
    return True


def _fsync_fd(fd: int) -> None:
    with contextlib.suppress(OSError):  # pragma: no cover - platforms that cannot fsync folders
        os.fsync(fd)
