"""The ``private/`` folder of a docker or notary trust directory, read and written as notary 0.7 does.

Layout (notary 0.4 and later, and docker): ``<trust_dir>/private/<canonical key ID>.key``, one PEM per key with
``role:`` (and for targets/snapshot/timestamp keys ``gun:``) headers, files 0600 in 0700 folders. Older notary
versions kept keys in ``private/root_keys/<id>[_root].key`` and ``private/tuf_keys/<gun>/<id>[_<role>].key``;
those are read where they are (role from the file name, GUN from the folder, as notary's migration derives them),
and :meth:`FileKeyStore.migrate_legacy_keys` moves them as notary does when it opens a trust directory.

Every write is atomic (a temporary file, fsync, rename): a crash leaves the old key or the new one, never a torn
file. The default trust directories are :func:`docker_trust_dir` and :func:`notary_trust_dir`.

Stricter than notary 0.7, which trusts its trust directory: keys are never written through a symbolic link below
the trust directory (a linked ``private/`` is refused), ``private/`` is created 0700 or tightened to 0700 before a
key is written into it, and a key file that others can read or write (any group or other permission bit) is
refused with :class:`~trustkit.errors.FileAccessError`, as ``docker trust key load`` refuses such a file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from trustkit import _config
from trustkit._fs import PRIVATE_DIR_MODE, READ_FLAGS, atomic_write, check_no_links, remove_file
from trustkit.errors import FileAccessError, InvalidArgumentError, KeyFormatError
from trustkit.keys.pem import decode_pem_blocks, encode_pem
from trustkit.keystore.base import KeyInfo, is_key_id
from trustkit.keystore.passphrase import DEFAULT_MAX_ATTEMPTS, PassphraseSource
from trustkit.keystore.pemstore import PemKeyStore, StoredKey

__all__ = [
    "KEY_EXTENSION",
    "LEGACY_ROOT_KEYS_DIR",
    "LEGACY_TUF_KEYS_DIR",
    "MAX_KEY_FILE_SIZE",
    "PRIVATE_DIR",
    "FileKeyStore",
    "docker_trust_dir",
    "notary_trust_dir",
]

logger = logging.getLogger("trustkit.keystore")

PRIVATE_DIR = "private"
"""The folder of a trust directory that holds private keys (``notary.PrivDir``)."""
KEY_EXTENSION = ".key"
"""The extension of key files (``notary.KeyExtension``)."""
LEGACY_ROOT_KEYS_DIR = "root_keys"
"""notary ≤ 0.3's folder for root keys, below ``private/``."""
LEGACY_TUF_KEYS_DIR = "tuf_keys"
"""notary ≤ 0.3's folder for the other keys, below ``private/``, with one sub-folder per GUN."""
MAX_KEY_FILE_SIZE = 1 << 20
"""Larger ``.key`` files are not read: no private key PEM comes near this."""
_GROUP_OTHER_BITS = 0o077


class FileKeyStore(PemKeyStore):
    """The private keys of the trust directory ``trust_dir`` (docker's ``~/.docker/trust``, notary's ``~/.notary``).

    ``passphrase`` decrypts keys and encrypts new ones: a :class:`~trustkit.keystore.PassphraseRetriever` (for
    instance :class:`~trustkit.keystore.DockerEnvPassphrase`), one passphrase for every key, a mapping by role, or
    ``None`` (then encrypted keys cannot be used and adding a key raises
    :class:`~trustkit.errors.PassphraseError`; pass ``""`` to store keys unencrypted). ``max_attempts`` bounds the
    passphrases tried per key. With ``migrate`` the legacy layouts are migrated first, as notary does on open;
    otherwise opening the store changes nothing on disk.
    """

    def __init__(
        self,
        trust_dir: str | os.PathLike[str],
        *,
        passphrase: PassphraseSource = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        migrate: bool = False,
    ) -> None:
        super().__init__(passphrase=passphrase, max_attempts=max_attempts)
        self._trust_dir = Path(trust_dir)
        self._private_dir = self._trust_dir / PRIVATE_DIR
        if migrate:
            self.migrate_legacy_keys()

    @property
    def trust_dir(self) -> Path:
        """The trust directory."""
        return self._trust_dir

    @property
    def private_dir(self) -> Path:
        """``<trust_dir>/private``, where the key files are."""
        return self._private_dir

    @property
    def location(self) -> str:
        """The ``private`` folder, as the LOCATION column of ``notary key list`` shows it."""
        return str(self._private_dir)

    def key_path(self, key_id: str) -> Path:
        """Where the key ``key_id`` is (or would be) stored in the current layout."""
        if not is_key_id(key_id):
            raise InvalidArgumentError(f"not a key ID: {key_id!r}")
        return self._private_dir / f"{key_id}{KEY_EXTENSION}"

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._trust_dir)!r}, passphrase={self._retriever!r})"

    # --- storage -------------------------------------------------------------------------------------------

    def _entries(self) -> list[StoredKey]:
        """``private/*.key``, then the legacy ``root_keys``/``tuf_keys`` files; symlinks are skipped, as notary does."""
        root = self._private_dir
        if not root.is_dir():
            return []
        current: list[StoredKey] = []
        legacy: list[StoredKey] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            folder = Path(dirpath)
            parts = folder.relative_to(root).parts
            if parts and parts[0] not in (LEGACY_ROOT_KEYS_DIR, LEGACY_TUF_KEYS_DIR):
                dirnames.clear()  # notary cannot use keys in other sub-folders
                continue
            for name in sorted(filenames):
                if not name.endswith(KEY_EXTENSION) or name == KEY_EXTENSION:
                    continue
                path = folder / name
                if path.is_symlink():
                    continue
                stem = name[: -len(KEY_EXTENSION)]
                if not parts:
                    current.append(StoredKey(stem, stem, path))
                    continue
                role = None
                key_id = stem
                if "_" in stem:  # notary's moveKeyTo0Dot4Location: "<id>_<role>"
                    role = stem.split("_")[1]
                    key_id = stem.removesuffix("_" + role)
                gun = "/".join(parts[1:]) or None
                name_in_store = "/".join((*parts, stem))
                legacy.append(StoredKey(key_id, name_in_store, path, role=role, gun=gun, legacy=True))
        return current + legacy

    def _read(self, entry: StoredKey) -> bytes:
        return _read_key_file(_path_of(entry))

    def _write(self, key_id: str, data: bytes) -> StoredKey:
        path = self.key_path(key_id)
        self._tighten_private_dir()
        atomic_write(path, data, root=self._trust_dir)
        return StoredKey(key_id, key_id, path)

    def _tighten_private_dir(self) -> None:
        """Refuse a linked ``private/``; make an existing one 0700 (with a warning) before a key goes in."""
        check_no_links(self._trust_dir, self._private_dir)
        if os.name == "nt" or not self._private_dir.is_dir():
            return  # atomic_write creates it 0700
        mode = self._private_dir.stat().st_mode & 0o777
        if mode & _GROUP_OTHER_BITS:
            try:
                os.chmod(self._private_dir, PRIVATE_DIR_MODE)
            except OSError as exc:
                raise FileAccessError(
                    f"{self._private_dir} is open to others (mode {mode:o}) and cannot be made 0700: "
                    f"{exc.strerror or exc}; run chmod 700 on it as its owner"
                ) from None
            logger.warning("%s was open to others (mode %o): made it 0700 before storing a key", self.location, mode)

    def _delete(self, entry: StoredKey) -> None:
        remove_file(_path_of(entry), root=self._trust_dir)

    # --- legacy layouts ------------------------------------------------------------------------------------

    def legacy_keys(self) -> list[KeyInfo]:
        """The keys still in notary ≤ 0.3's ``root_keys``/``tuf_keys`` layouts (unreadable files are skipped)."""
        infos = []
        for entry in self._entries():
            if entry.legacy:
                try:
                    infos.append(self._info(entry, self._load(entry)))
                except (KeyFormatError, FileAccessError) as exc:
                    logger.warning("skipping unreadable legacy key file: %s", exc)
        return infos

    def migrate_legacy_keys(self) -> list[KeyInfo]:
        """Move legacy key files to ``private/<id>.key`` as notary's ``migrateTo0Dot4`` does, and return them.

        The PEM gets the ``role:`` from the old file name and the ``gun:`` from the old folder, and is otherwise
        unchanged (still encrypted with its old passphrase). Each key is written atomically before its old file is
        removed, and emptied legacy folders are removed. Unlike notary, a file that is not a PEM is left where it
        is (with a warning) rather than deleted with its folder, a key already in the current layout is not
        overwritten, and ``private/trusted_certificates`` (unused since 0.4) is left alone.
        """
        moved = []
        for entry in self._entries():
            if not entry.legacy:
                continue
            try:
                data = self._load(entry)
                block = decode_pem_blocks(data, what=str(entry.path))[0]
            except (KeyFormatError, FileAccessError) as exc:
                logger.warning("not migrating legacy key file: %s", exc)
                continue
            if not is_key_id(entry.key_id):
                logger.warning("not migrating legacy key file %s: its name is not a key ID", entry.path)
                continue
            target = self.key_path(entry.key_id)
            if target.exists():
                logger.warning("not migrating legacy key file %s: %s already exists", entry.path, target)
                continue
            headers = dict(block.headers)
            if entry.gun:
                headers["gun"] = entry.gun
            if entry.role:
                headers["role"] = entry.role
            new = self._write(entry.key_id, encode_pem(block.type, block.der, headers))
            self._delete(entry)
            moved.append(self._info(new, self._load(new)))
            logger.info("migrated legacy key file %s to %s", entry.path, target)
        for folder in (LEGACY_TUF_KEYS_DIR, LEGACY_ROOT_KEYS_DIR):
            _remove_empty_dirs(self._private_dir / folder)
        return moved


def _read_key_file(path: Path) -> bytes:
    """The bytes of a private key file, refused unless it is a regular file (not a link) that only its owner can
    read or write, as ``docker trust key load`` requires. Raises :class:`~trustkit.errors.FileAccessError` (missing,
    a folder, a link, unreadable, open to others) or :class:`~trustkit.errors.KeyFormatError` (too large)."""
    try:
        fd = os.open(path, READ_FLAGS)  # a FIFO does not block the open: refused below
    except OSError as exc:
        raise FileAccessError(
            f"cannot read private key file {path}: {exc.strerror or exc}: give the path of a PEM private key file "
            "(not a folder or a symbolic link) that you can read"
        ) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise FileAccessError(f"{path} is not a regular file: give the path of a PEM private key file")
        mode = status.st_mode & 0o777
        if os.name != "nt" and mode & _GROUP_OTHER_BITS:
            raise FileAccessError(
                f"private key file {path} can be read or written by others (mode {mode:o}): run chmod 600 on it "
                "(docker trust key load refuses such files too), and replace the key if others may have read it"
            )
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_KEY_FILE_SIZE + 1)
    if len(data) > MAX_KEY_FILE_SIZE:
        raise KeyFormatError(f"{path}: too large for a key file")
    return data


def _path_of(entry: StoredKey) -> Path:
    if entry.path is None:  # pragma: no cover - every entry of a FileKeyStore has a path
        raise InvalidArgumentError(f"key {entry.key_id} has no file")
    return entry.path


def _remove_empty_dirs(top: Path) -> None:
    if not top.is_dir() or top.is_symlink():
        return
    for dirpath, _dirnames, _filenames in sorted(os.walk(top, topdown=False), key=lambda t: -len(t[0])):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)  # only succeeds when empty


def docker_trust_dir(*, environ: Mapping[str, str] | None = None) -> Path:
    """docker's trust directory: ``$DOCKER_CONFIG/trust``, else ``~/.docker/trust`` (``trust.GetTrustDirectory``)."""
    return _config.docker_trust_dir(os.environ if environ is None else environ)


def notary_trust_dir(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Path:
    """The ``notary`` CLI's trust directory: ``trust_dir`` from its config file, else ``~/.notary``.

    ``config_file`` defaults to ``~/.notary/config.json`` (a missing default file is fine, a missing given one is
    ``FileNotFoundError``). A leading ``~`` is expanded with ``$HOME``; a relative ``trust_dir`` is taken relative
    to the current directory (``cwd``), which is what notary 0.7 does, although its documentation says relative to
    the config file. Keys are case-insensitive, as notary reads them. Raises
    :class:`~trustkit.errors.ConfigurationError` (also a ``ValueError``) for a config file that is not a JSON
    object or whose ``trust_dir`` is not a string.
    """
    config = _config.read_notary_config(config_file, environ=os.environ if environ is None else environ)
    return config.trust_dir(cwd=cwd)
