"""Embedded remotes: :class:`LocalRemote` (a folder, the default) and :class:`MemoryRemote` (tests, notebooks).

Both run notary-server's rules (validation, server-made snapshot and timestamp, versions, changefeed) over a small
storage interface, so they accept and refuse what a real server does. The folder is laid out as a static web
server serves notary's read routes, so pointing one at it (``/v2/`` → the folder) serves read-only clients::

    <path>/<gun>/_trust/tuf/<role>.json              the current file of each role
    <path>/<gun>/_trust/tuf/<role>.<sha256>.json     every stored file, by the hex sha256 of its bytes
    <path>/<gun>/_trust/tuf/<version>.<role>.json    every stored file, by version
    <path>/.trustkit/keys/<gun>/<keyid>.key          the remote's timestamp and snapshot keys (0600)
    <path>/.trustkit/changefeed.json                 the changefeed

The private ``.trustkit`` folder can be put elsewhere (``private_dir=``) so that a web server serving
``<path>`` never sees the keys. Every file is written atomically (temp file, fsync, rename); a publish writes all
content- and version-addressed files first and the current ``timestamp.json`` last. As notary-server does, the
current version of every role is found through the timestamp and the hashes its snapshot lists, so
``timestamp.json`` is the one commit point: a publish interrupted before it leaves the repository as it was.
Publishes from several threads or processes are serialised by a lock file in the private folder.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from trustkit._encoding import json_of_type, loads
from trustkit._fs import atomic_write, ensure_private_dir
from trustkit.errors import (
    KeyFormatError,
    MalformedMetadataError,
    OversizedResponseError,
    RemoteError,
    UnknownRoleError,
)
from trustkit.keys.private import KeyType, PrivateKey, generate_private_key, load_private_key
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import ROOT, SNAPSHOT, TIMESTAMP
from trustkit.remote import _EXPORTS
from trustkit.remote._notary_rules import Update, prepare_update, refresh_timestamp
from trustkit.remote.base import (
    SERVER_KEY_ROLES,
    ChangeRecord,
    ConfigurationError,
    check_gun,
    check_upload,
    metadata_name,
    notary_error,
)
from trustkit.remote.tls import StrPath

if sys.platform != "win32":
    import fcntl

__all__ = list(_EXPORTS[__name__])  # the package's table lists them (trustkit/remote/__init__.py)

PRIVATE_FOLDER = ".trustkit"
"""The folder (inside a :class:`LocalRemote`'s path, unless moved) holding its keys and changefeed."""

_TUF = "_trust/tuf"
_CHANGEFEED = f"{PRIVATE_FOLDER}/changefeed.json"
_KEYS = f"{PRIVATE_FOLDER}/keys"
_PUBLIC_DIR_MODE = 0o755
_PUBLIC_FILE_MODE = 0o644
_DEFAULT_RECORDS = 100


class _Storage(Protocol):
    """Named byte blobs (``/``-separated names) with a lock: all a stored remote needs."""

    where: str

    def read(self, name: str, limit: int | None = None) -> bytes | None:
        """The blob, or None; with ``limit``, at most ``limit + 1`` bytes are read."""
        ...

    def write(self, name: str, data: bytes, *, private: bool = False) -> None:
        """Store a blob atomically (``private`` ones readable by the owner only)."""
        ...

    def remove_tree(self, prefix: str) -> bool:
        """Remove every blob below ``prefix/``; whether there was any."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive access for a read-modify-write."""
        ...


class _MemoryStorage:
    def __init__(self) -> None:
        self.where = "memory remote"
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.RLock()

    def read(self, name: str, limit: int | None = None) -> bytes | None:
        data = self._blobs.get(name)
        return data if data is None or limit is None else data[: limit + 1]

    def write(self, name: str, data: bytes, *, private: bool = False) -> None:
        self._blobs[name] = bytes(data)

    def remove_tree(self, prefix: str) -> bool:
        with self._lock:
            doomed = [name for name in self._blobs if name.startswith(prefix + "/")]
            for name in doomed:
                del self._blobs[name]
            return bool(doomed)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


class _DirectoryStorage:
    def __init__(self, root: Path, private: Path) -> None:
        self.root = root
        self.private = private
        self.where = f"local remote {root}"
        self._thread_lock = threading.Lock()

    def _path(self, name: str) -> tuple[Path, bool]:
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):  # pragma: no cover - names are built from checked parts
            raise ConfigurationError(f"invalid storage name {name!r}")
        if parts[0] == PRIVATE_FOLDER:
            return self.private.joinpath(*parts[1:]), True
        return self.root.joinpath(*parts), False

    def read(self, name: str, limit: int | None = None) -> bytes | None:
        path, _ = self._path(name)
        try:
            with path.open("rb") as handle:
                return handle.read() if limit is None else handle.read(limit + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise RemoteError(f"{self.where}: cannot read {path}: {exc}") from None

    def write(self, name: str, data: bytes, *, private: bool = False) -> None:
        path, in_private = self._path(name)
        try:
            if private or in_private:
                atomic_write(path, data)
            else:
                path.parent.mkdir(mode=_PUBLIC_DIR_MODE, parents=True, exist_ok=True)
                atomic_write(path, data, mode=_PUBLIC_FILE_MODE)
        except OSError as exc:
            raise RemoteError(f"{self.where}: cannot write {path}: {exc}") from None

    def remove_tree(self, prefix: str) -> bool:
        path, _ = self._path(prefix)
        if not path.exists():
            return False
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise RemoteError(f"{self.where}: cannot remove {path}: {exc}") from None
        top = self.private if path.is_relative_to(self.private) else self.root
        parent = path.parent
        while parent != top and parent.is_relative_to(top):
            try:
                parent.rmdir()  # only empty folders go
            except OSError:
                break
            parent = parent.parent
        return True

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            ensure_private_dir(self.private)
            fd = os.open(self.private / "lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if sys.platform != "win32":
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the flock


class _StoredRemote:
    """notary-server's behaviour over a :class:`_Storage`; see :class:`LocalRemote`."""

    def __init__(
        self,
        storage: _Storage,
        *,
        key_type: KeyType,
        passphrase: str | None,
        clock: Callable[[], datetime] | None,
    ) -> None:
        self._storage = storage
        self._key_type: KeyType = key_type
        self._passphrase = passphrase
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    # --- names ----------------------------------------------------------------------------------------------

    def _check_gun(self, gun: str) -> str:
        check_gun(gun)
        for part in gun.split("/"):
            if part.startswith(".") or part == "_trust":
                raise ConfigurationError(f"invalid GUN {gun!r} for a stored remote: no '_trust' or '.'-prefixed parts")
        return gun

    @staticmethod
    def _file(gun: str, name: str) -> str:
        return f"{gun}/{_TUF}/{name}"

    def _current(self, gun: str) -> Callable[[str], bytes | None]:
        """The current bytes of each role, found as notary-server's ``TUFMetaStorage`` finds them: the current
        timestamp, the snapshot with the sha256 it names, then each role by the sha256 the snapshot names.

        ``timestamp.json`` is therefore the one commit point of a publish: files written before it (by a
        publish that crashed) are never current.
        """
        timestamp_bytes = self._storage.read(self._file(gun, f"{TIMESTAMP}.json"))
        snapshot_cache: list[bytes | None] = []

        def snapshot() -> bytes | None:
            if not snapshot_cache:
                digest = _meta_sha256(timestamp_bytes, SNAPSHOT) if timestamp_bytes is not None else None
                snapshot_cache.append(None if digest is None else self._by_hash(gun, SNAPSHOT, digest))
            return snapshot_cache[0]

        def lookup(role: str) -> bytes | None:
            if role == TIMESTAMP:
                return timestamp_bytes
            snapshot_bytes = snapshot()
            if role == SNAPSHOT or snapshot_bytes is None:
                return snapshot_bytes
            digest = _meta_sha256(snapshot_bytes, role)
            return None if digest is None else self._by_hash(gun, role, digest)

        return lookup

    def _by_hash(self, gun: str, role: str, digest: str) -> bytes | None:
        return self._storage.read(self._file(gun, f"{role}.{digest}.json"))

    # --- the Remote protocol --------------------------------------------------------------------------------

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """The current file of ``role``, or the one with sha256 ``checksum`` (hex), or ``version``.

        Reading the current timestamp or snapshot first re-signs them when they expired (or the timestamp no
        longer matches the snapshot) and the remote holds the keys, as notary-server does.
        """
        self._check_gun(gun)
        name = metadata_name(role, checksum=checksum, version=version)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be a positive integer, not {max_size!r}")
        if checksum is None and version is None:
            if role in (TIMESTAMP, SNAPSHOT):
                with self._storage.lock():
                    updates = refresh_timestamp(self._current(gun), self._signers(gun), now=self._clock())
                    if updates:
                        self._store(gun, updates)
            data = self._current(gun)(role)
            data = None if data is None else data[: max_size + 1]
        else:
            data = self._storage.read(self._file(gun, name), max_size)
        if data is None:
            raise notary_error("METADATA_NOT_FOUND", where=self._storage.where, gun=gun, what=name)
        if len(data) > max_size:
            raise OversizedResponseError(
                f"{self._storage.where}: {name} of {gun} is larger than the {max_size} bytes allowed"
            )
        return data

    def publish(self, gun: str, files: Mapping[str, bytes]) -> None:
        """Validate and store an update as notary-server does (see :mod:`trustkit.remote._notary_rules`)."""
        self._check_gun(gun)
        uploads = check_upload(files)
        with self._storage.lock():
            updates = prepare_update(
                gun, uploads, self._current(gun), self._signers(gun), where=self._storage.where, now=self._clock()
            )
            self._store(gun, updates)

    def get_key(self, gun: str, role: str) -> PublicKey:
        """The key root lists for ``role`` that this remote holds; else the newest one made before the GUN had
        a root; else a new one."""
        self._check_gun(gun)
        self._check_key_role(role)
        with self._storage.lock():
            index = self._key_index(gun)
            held = index.get(role, [])
            root_bytes = self._current(gun)(ROOT)
            if root_bytes is not None:
                try:
                    listed = Metadata.from_bytes(root_bytes, role=ROOT).signed.roles[role].keyids
                except (MalformedMetadataError, KeyError):
                    listed = ()
                for keyid in listed:
                    if keyid in held:
                        return self._load_key(gun, keyid).public_key
            elif held:
                return self._load_key(gun, held[-1]).public_key
            return self._new_key(gun, role, index)

    def rotate_key(self, gun: str, role: str) -> PublicKey:
        """A new key for ``role``; it is used once a published root lists it."""
        self._check_gun(gun)
        self._check_key_role(role)
        with self._storage.lock():
            return self._new_key(gun, role, self._key_index(gun))

    def delete(self, gun: str) -> None:
        """Delete the GUN's metadata and keys; a deletion record is added when there was metadata."""
        self._check_gun(gun)
        with self._storage.lock():
            existed = self._storage.remove_tree(f"{gun}/_trust")
            self._storage.remove_tree(f"{_KEYS}/{gun}")
            if existed:
                self._record(gun, 0, "", "deletion")

    def changefeed(self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100) -> list[ChangeRecord]:
        """Records after ``change_id`` as notary-server's memory store pages them (without its panic on
        ``change_id=0, records<0``, which gives no records here)."""
        if gun is not None:
            self._check_gun(gun)
        if isinstance(records, bool) or not isinstance(records, int):
            raise ValueError(f"records must be an integer, not {records!r}")
        try:
            start = 0 if change_id in ("", 0) else int(change_id)
        except (TypeError, ValueError):
            raise notary_error(
                "INVALID_PARAMETERS",
                where=self._storage.where,
                gun=gun,
                what="the changefeed",
                detail=f"change ID expected to be integer, provided ID was: {change_id}",
            ) from None
        changes = self._changes()
        reverse = start < 0 or records < 0
        count = abs(records) or _DEFAULT_RECORDS
        if reverse:
            window = changes if start < 0 or start > len(changes) else changes[: max(start - 1, 0)]
        else:
            window = changes[start:]
        if gun is not None:
            window = [change for change in window if change.gun == gun]
        return window[-count:] if reverse else window[:count]

    # --- internals ------------------------------------------------------------------------------------------

    @staticmethod
    def _check_key_role(role: str) -> None:
        if role not in SERVER_KEY_ROLES:
            raise UnknownRoleError(f"a server only holds timestamp and snapshot keys, not {role!r}")

    def _store(self, gun: str, updates: list[Update]) -> None:
        """Write every file by hash and by version, then the current copies, ``timestamp.json`` last."""
        for update in updates:
            digest = hashlib.sha256(update.data).hexdigest()
            self._storage.write(self._file(gun, f"{update.role}.{digest}.json"), update.data)
            self._storage.write(self._file(gun, f"{update.version}.{update.role}.json"), update.data)
        ordered = sorted(updates, key=lambda update: update.role == TIMESTAMP)
        for update in ordered:
            self._storage.write(self._file(gun, f"{update.role}.json"), update.data)
            if update.role == TIMESTAMP:
                self._record(gun, update.version, hashlib.sha256(update.data).hexdigest(), "update")

    def _changes(self) -> list[ChangeRecord]:
        raw = self._storage.read(_CHANGEFEED)
        if raw is None:
            return []
        corrupt = f"{self._storage.where}: the changefeed file is corrupt"
        items = json_of_type(
            raw, list, not_json=lambda _: RemoteError(corrupt), wrong_type=lambda: RemoteError(corrupt)
        )
        return [ChangeRecord.from_dict(item) for item in items]

    def _record(self, gun: str, version: int, sha256: str, category: str) -> None:
        changes = self._changes()
        changes.append(ChangeRecord(str(len(changes) + 1), gun, version, sha256, category, self._clock()))
        self._storage.write(_CHANGEFEED, json.dumps([c.to_dict() for c in changes]).encode(), private=True)

    def _key_index(self, gun: str) -> dict[str, list[str]]:
        raw = self._storage.read(f"{_KEYS}/{gun}/index.json")
        if raw is None:
            return {}
        try:
            index = json.loads(raw)
        except (ValueError, RecursionError):
            index = None
        if not isinstance(index, dict) or not all(
            isinstance(v, list) and all(isinstance(k, str) for k in v) for v in index.values()
        ):
            raise RemoteError(f"{self._storage.where}: the key index of {gun} is corrupt")
        return index

    def _new_key(self, gun: str, role: str, index: dict[str, list[str]]) -> PublicKey:
        key = generate_private_key(self._key_type, role=role, gun=gun)
        self._storage.write(f"{_KEYS}/{gun}/{key.key_id}.key", key.to_pem(self._passphrase), private=True)
        index.setdefault(role, []).append(key.key_id)
        self._storage.write(f"{_KEYS}/{gun}/index.json", json.dumps(index, sort_keys=True).encode(), private=True)
        return key.public_key

    def _load_key(self, gun: str, keyid: str) -> PrivateKey:
        pem = self._storage.read(f"{_KEYS}/{gun}/{keyid}.key")
        if pem is None:
            raise RemoteError(f"{self._storage.where}: the key {keyid} of {gun} is missing")
        try:
            return load_private_key(pem, self._passphrase)
        except KeyFormatError as exc:
            raise RemoteError(f"{self._storage.where}: the key {keyid} of {gun} cannot be loaded: {exc}") from None

    def _signers(self, gun: str) -> Callable[[str, tuple[str, ...]], list[PrivateKey]]:
        def signers(role: str, keyids: tuple[str, ...]) -> list[PrivateKey]:
            held = self._key_index(gun).get(role, [])
            return [self._load_key(gun, keyid) for keyid in keyids if keyid in held]

        return signers


def _meta_sha256(data: bytes, role: str) -> str | None:
    """The hex sha256 a timestamp or snapshot file lists for ``role`` (None when it lists none)."""
    try:
        encoded = loads(data, what="stored metadata")["signed"]["meta"][role]["hashes"]["sha256"]
        digest = base64.b64decode(encoded, validate=True)
    except (MalformedMetadataError, TypeError, KeyError, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


class LocalRemote(_StoredRemote):
    """A folder that holds published trust data as a notary server would: the embedded default remote.

    It validates every publish as notary-server does and signs the timestamp (and the snapshot, when the
    client holds no snapshot key) with keys it keeps in ``private_dir`` (default ``<path>/.trustkit``), made with
    ``key_type`` (``ecdsa`` as notary-signer, or ``ed25519`` as notary-server's local signer) and encrypted
    with ``passphrase`` when one is given. ``clock`` replaces the current time (simulations and tests).
    """

    def __init__(
        self,
        path: StrPath,
        *,
        private_dir: StrPath | None = None,
        key_type: KeyType = "ecdsa",
        passphrase: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        root = Path(path)
        private = Path(private_dir) if private_dir is not None else root / PRIVATE_FOLDER
        self.path = root
        """The folder served to readers."""
        self.private_dir = private
        """The folder holding the remote's keys and changefeed."""
        super().__init__(_DirectoryStorage(root, private), key_type=key_type, passphrase=passphrase, clock=clock)

    def __repr__(self) -> str:
        return f"LocalRemote({str(self.path)!r})"


class MemoryRemote(_StoredRemote):
    """A remote in memory, with notary-server's behaviour: for tests, notebooks and simulations."""

    def __init__(self, *, key_type: KeyType = "ecdsa", clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(_MemoryStorage(), key_type=key_type, passphrase=None, clock=clock)

    def __repr__(self) -> str:
        return "MemoryRemote()"
