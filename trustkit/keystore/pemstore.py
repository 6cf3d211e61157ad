"""Private keys kept as notary's PEM files, over any storage: notary's ``GenericKeyStore``.

:class:`PemKeyStore` holds what notary holds for each key -- the PEM text, named by the canonical key ID, with the
``role:`` and ``gun:`` headers -- and does what notary does with it: list keys from the headers alone, decrypt with
a passphrase retriever when a key is used, encrypt new keys as notary does, import and export PEM bundles with
``path:`` headers (``notary key import/export``) and re-encrypt a key (``notary key passwd``).
:class:`~trustkit.keystore.FileKeyStore` and :class:`~trustkit.keystore.MemoryKeyStore` put the PEM text in a
trust directory's ``private/`` folder and in a dict.
"""

from __future__ import annotations

import abc
import logging
import posixpath
import re
import threading
from pathlib import Path
from typing import Any

import attrs

from trustkit.errors import FileAccessError, InvalidArgumentError, KeyFormatError, UnknownKeyError
from trustkit.keys.pem import PemBlock, decode_pem_blocks, encode_pem
from trustkit.keys.private import PrivateKey, is_weakly_encrypted, load_private_key
from trustkit.keystore.base import KeyInfo, key_gun
from trustkit.keystore.passphrase import (
    DEFAULT_MAX_ATTEMPTS,
    PassphraseSource,
    as_retriever,
    new_passphrase,
    unlock_private_key,
    unlock_with_passphrase,
)

__all__ = ["DEFAULT_IMPORT_ROLE", "PRIVATE_KEY_PEM_TYPES", "PemKeyStore", "StoredKey"]

logger = logging.getLogger("trustkit.keystore")

PRIVATE_KEY_PEM_TYPES = frozenset(
    {"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ED25519 PRIVATE KEY"}
)
"""The PEM types notary accepts in its key store (``ExtractPrivateKeyAttributes``)."""

DEFAULT_IMPORT_ROLE = "delegation"
"""The role notary gives an imported key that has no ``role:`` header and no ``--role`` (``DefaultImportRole``)."""

_LEGACY_NAME = re.compile(r"(?P<id>[0-9a-f]{64})(?:_(?P<role>[^_/]+))?\Z")


@attrs.frozen
class StoredKey:
    """Where a store keeps one key: its ID, its storage name, its file (if any), and legacy role/GUN overrides.

    Keys in notary's legacy layouts carry their role in the file name and their GUN in the folder; ``role`` and
    ``gun`` hold those (they win over the PEM headers, as notary's migration makes them).
    """

    key_id: str
    name: str
    path: Path | None = None
    role: str | None = None
    gun: str | None = None
    legacy: bool = False


class PemKeyStore(abc.ABC):
    """A keystore of PEM key files as notary writes them; subclasses say where the bytes live.

    ``passphrase`` is a :class:`~trustkit.keystore.PassphraseRetriever`, one passphrase for every key, a mapping by
    role, or ``None``; ``max_attempts`` bounds how many passphrases are tried for one key.
    """

    def __init__(self, *, passphrase: PassphraseSource = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        if max_attempts < 1:
            raise InvalidArgumentError("max_attempts must be at least 1")
        self._retriever = as_retriever(passphrase)
        self._max_attempts = max_attempts
        self._signers: dict[str, Any] = {}
        self._lock = threading.RLock()

    # --- storage, implemented by subclasses ----------------------------------------------------------------

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the keys live, as ``notary key list`` shows it."""

    @abc.abstractmethod
    def _entries(self) -> list[StoredKey]:
        """Every stored key file, current layout first."""

    @abc.abstractmethod
    def _read(self, entry: StoredKey) -> bytes:
        """The stored bytes (``OSError`` when they cannot be read)."""

    @abc.abstractmethod
    def _write(self, key_id: str, data: bytes) -> StoredKey:
        """Store ``data`` as the key ``key_id`` (atomically replacing any previous one)."""

    @abc.abstractmethod
    def _delete(self, entry: StoredKey) -> None:
        """Delete one stored key."""

    # --- helpers -------------------------------------------------------------------------------------------

    def _where(self, entry: StoredKey) -> str:
        return str(entry.path) if entry.path is not None else f"{self.location}:{entry.name}"

    def _find(self, key_id: str) -> list[StoredKey]:
        if not isinstance(key_id, str) or not key_id:
            raise UnknownKeyError(f"not a key ID: {key_id!r}")
        return [entry for entry in self._entries() if entry.key_id == key_id]

    def _first(self, key_id: str) -> StoredKey:
        found = self._find(key_id)
        if not found:
            raise UnknownKeyError(f"no private key {key_id} in {self.location}")
        return found[0]

    def _load(self, entry: StoredKey) -> bytes:
        try:
            return self._read(entry)
        except OSError as exc:
            raise KeyFormatError(f"{self._where(entry)}: cannot read the key file: {exc.strerror or exc}") from None

    def _blocks(self, entry: StoredKey, data: bytes) -> list[PemBlock]:
        where = self._where(entry)
        blocks = decode_pem_blocks(data, what=where)
        if blocks[0].type not in PRIVATE_KEY_PEM_TYPES:
            raise KeyFormatError(f"{where}: not a private key (PEM type {blocks[0].type!r})")
        return blocks

    def _info(self, entry: StoredKey, data: bytes) -> KeyInfo:
        block = self._blocks(entry, data)[0]
        role = entry.role or block.headers.get("role") or None
        gun = entry.gun or block.headers.get("gun") or None
        encrypted = block.type == "ENCRYPTED PRIVATE KEY" or "DEK-Info" in block.headers
        return KeyInfo(entry.key_id, role, gun, self.location, entry.path, encrypted)

    # --- the KeyStore protocol -----------------------------------------------------------------------------

    def list_keys(self, *, role: str | None = None, gun: str | None = None, strict: bool = False) -> list[KeyInfo]:
        """Every key (or those of ``role`` and/or ``gun``), sorted by role, GUN and key ID, from headers alone.

        A file that is not a readable private key PEM is skipped with a warning on the ``trustkit.keystore``
        logger naming its path, as notary skips it; with ``strict`` it raises
        :class:`~trustkit.errors.KeyFormatError` instead (:class:`~trustkit.errors.FileAccessError` for a key
        file that others can read, which a file store refuses). A key in both the current and a legacy layout is listed
        once, from the current file.
        """
        infos: dict[str, KeyInfo] = {}
        for entry in self._entries():
            if entry.key_id in infos:
                continue
            try:
                info = self._info(entry, self._load(entry))
            except (KeyFormatError, FileAccessError) as exc:
                if strict:
                    raise
                logger.warning("skipping unreadable key file: %s", exc)
                continue
            infos[entry.key_id] = info
        selected = [
            info for info in infos.values() if (role is None or info.role == role) and (gun is None or info.gun == gun)
        ]
        return sorted(selected, key=lambda info: (info.role or "", info.gun or "", info.key_id))

    def get_key_info(self, key_id: str) -> KeyInfo:
        """The listing entry of one key. Raises ``UnknownKeyError``, or ``KeyFormatError`` naming a bad file."""
        entry = self._first(key_id)
        return self._info(entry, self._load(entry))

    def get_private_key(self, key_id: str) -> PrivateKey:
        """The decrypted key, with the role and GUN it is stored under.

        Asks the passphrase retriever as notary does (see :func:`~trustkit.keystore.unlock_private_key`). Raises
        ``UnknownKeyError``, ``PassphraseError``, or ``KeyFormatError`` (naming the file) when the file is not a
        key or holds a key whose ID is not the one it is stored under.
        """
        entry = self._first(key_id)
        data = self._load(entry)
        info = self._info(entry, data)
        where = self._where(entry)
        key = unlock_private_key(
            data,
            self._retriever,
            key_id=key_id,
            role=info.role or "",
            max_attempts=self._max_attempts,
            where=where,
        )
        if key.key_id != key_id:
            raise KeyFormatError(f"{where}: holds key {key.key_id}, not {key_id}")
        return attrs.evolve(key, role=info.role, gun=info.gun)

    def get_signer(self, key_id: str) -> Any:
        """A securesystemslib ``Signer`` for the key; the key is decrypted once and then kept by this store."""
        with self._lock:
            signer = self._signers.get(key_id)
            if signer is None:
                signer = self.get_private_key(key_id).signer()
                self._signers[key_id] = signer
            return signer

    def add_key(self, key: PrivateKey, *, role: str | None = None, gun: str | None = None) -> KeyInfo:
        """Store ``key`` as notary's ``AddKey`` does, under ``role``/``gun`` (default: the key's own).

        The GUN is kept only for targets, snapshot and timestamp keys.
        The passphrase comes from the retriever with ``create_new=True``; ``""`` stores the key unencrypted.
        An existing key with the same ID is replaced atomically.
        """
        role = key.role if role is None else role
        gun = key.gun if gun is None else gun
        gun = key_gun(role, gun)
        key_id = key.key_id
        passphrase = new_passphrase(self._retriever, key_id=key_id, role=role or "", max_attempts=self._max_attempts)
        stored_key = attrs.evolve(key, role=role or None, gun=gun)
        with self._lock:
            entry = self._write(key_id, stored_key.to_pem(passphrase))
            self._signers[key_id] = stored_key.signer()
        logger.debug("stored %s key %s in %s", role or "no-role", key_id, self._where(entry))
        return KeyInfo(key_id, role or None, gun, self.location, entry.path, passphrase != "")

    def export_key(self, key_id: str) -> bytes:
        """The key as ``notary key export --key ID`` writes it: the stored PEM, unchanged (still encrypted), with
        a ``path: <key ID>`` header. Keys in legacy layouts are exported with the headers notary's migration gives.
        """
        entry = self._first(key_id)
        data = self._load(entry)
        out = []
        for block in self._blocks(entry, data):
            headers = dict(block.headers)
            if entry.role:
                headers["role"] = entry.role
            if entry.gun:
                headers["gun"] = entry.gun
            headers["path"] = entry.key_id
            out.append(encode_pem(block.type, block.der, headers))
        return b"".join(out)

    def remove_key(self, key_id: str) -> KeyInfo:
        """Delete the key (every copy, legacy layouts included), as ``notary key remove`` does."""
        with self._lock:
            found = self._find(key_id)
            if not found:
                raise UnknownKeyError(f"no private key {key_id} in {self.location}")
            try:
                info = self._info(found[0], self._load(found[0]))
            except (KeyFormatError, FileAccessError):
                info = KeyInfo(key_id, found[0].role, found[0].gun, self.location, found[0].path)
            for entry in found:
                self._delete(entry)
            self._signers.pop(key_id, None)
        logger.debug("removed key %s from %s", key_id, self.location)
        return info

    # --- notary key import / export / passwd ---------------------------------------------------------------

    def export_keys(self, *, key_ids: list[str] | tuple[str, ...] | None = None, gun: str | None = None) -> bytes:
        """A bundle as ``notary key export`` writes it: every key (by key ID), or the given ``key_ids``, or those
        whose GUN is ``gun``. Unknown key IDs raise ``UnknownKeyError``.
        """
        if key_ids is not None:
            return b"".join(self.export_key(key_id) for key_id in key_ids)
        infos = self.list_keys(gun=gun) if gun is not None else self.list_keys()
        return b"".join(self.export_key(info.key_id) for info in sorted(infos, key=lambda info: info.key_id))

    def import_keys(self, data: bytes | str, *, role: str | None = None, gun: str | None = None) -> list[KeyInfo]:
        """Import every PEM block of ``data`` as ``notary key import [--role ROLE] [--gun GUN]`` does.

        Each block keeps its ``role:`` header, else gets ``role`` (else ``"delegation"``); its ``gun:``, else
        ``gun``. Targets, snapshot and timestamp keys need a GUN; other keys lose theirs. A block is stored under
        its ``path:`` header (a legacy ``tuf_keys/<gun>/<id>_<role>`` path also gives the GUN and role), else
        under its key ID. Encrypted blocks are stored as they are (no passphrase needed), which requires a
        ``path:``; unencrypted ones are encrypted with a passphrase from the retriever (``create_new=True``).
        A block encrypted more weakly than trustkit encrypts (fewer than 2048 PBKDF2 iterations, or OpenSSL's
        legacy ``DEK-Info`` encryption) is decrypted with a passphrase from the retriever and encrypted again,
        under the same passphrase, with notary's parameters; fewer than
        :data:`~trustkit.keys.private.MIN_PBKDF2_ITERATIONS` iterations are refused.

        Unlike notary, which silently drops bad blocks when another one imports and overwrites a key file that a
        block's ``path:`` names, nothing is imported when a block is invalid or names a key already in the store
        (remove that key first to replace it): :class:`~trustkit.errors.KeyFormatError` lists every problem.
        """
        raw = data.encode() if isinstance(data, str) else data
        blocks = decode_pem_blocks(raw, what="key import", strict=True)
        staged: list[tuple[str, bytes, PrivateKey | None, KeyInfo]] = []
        problems: list[str] = []
        seen = {entry.key_id for entry in self._entries()}
        for number, block in enumerate(blocks, 1):
            try:
                item = self._stage_import(block, role, gun)
            except (KeyFormatError, ValueError) as exc:
                problems.append(f"block {number}: {exc}")
                continue
            if item[0] in seen:
                problems.append(
                    f"block {number}: key {item[0]} is already in {self.location} and is not overwritten: remove "
                    "it first (remove_key, notary key remove) to replace it"
                )
            seen.add(item[0])
            staged.append(item)
        if problems:
            raise KeyFormatError(f"cannot import {len(problems)} of {len(blocks)} key(s): " + "; ".join(problems))
        infos = []
        with self._lock:
            for key_id, pem, key, info in staged:
                entry = self._write(key_id, pem)
                self._signers.pop(key_id, None)
                if key is not None:
                    self._signers[key_id] = key.signer()
                infos.append(attrs.evolve(info, path=entry.path))
        logger.debug("imported %d key(s) into %s", len(infos), self.location)
        return infos

    def _stage_import(
        self, block: PemBlock, role: str | None, gun: str | None
    ) -> tuple[str, bytes, PrivateKey | None, KeyInfo]:
        if block.type not in PRIVATE_KEY_PEM_TYPES:
            raise KeyFormatError(f"not a private key (PEM type {block.type!r})")
        headers = dict(block.headers)
        path = headers.pop("path", "")
        if path and posixpath.basename(path) != path:  # notary's handleLegacyPath
            folder = posixpath.dirname(path)
            if folder.startswith("tuf_keys"):
                legacy_gun = folder[len("tuf_keys") :].strip("/")
                if legacy_gun:
                    headers["gun"] = legacy_gun
            path = posixpath.basename(path)
        if path:
            match = _LEGACY_NAME.match(path)
            if match is None:
                raise KeyFormatError(f"path header {path!r} is not a key ID")
            path = match["id"]
            if match["role"] and not headers.get("role"):
                headers["role"] = match["role"]
        if not headers.get("gun") and gun:
            headers["gun"] = gun
        if not headers.get("role"):
            headers["role"] = role or DEFAULT_IMPORT_ROLE
        key_role = headers["role"]
        stored_gun = key_gun(key_role, headers.get("gun"))
        if key_role in ("targets", "snapshot", "timestamp") and not stored_gun:
            raise KeyFormatError(f"a {key_role} key needs a gun: give one, the key's repository")
        headers.pop("gun", None)
        if stored_gun:
            headers["gun"] = stored_gun
        encrypted = block.type == "ENCRYPTED PRIVATE KEY" or "DEK-Info" in headers
        pem = encode_pem(block.type, block.der, headers)
        if encrypted and not is_weakly_encrypted(pem):
            if not path:
                raise KeyFormatError("an encrypted key without a path header: its key ID cannot be known")
            info = KeyInfo(path, key_role, stored_gun, self.location, None, True)
            return path, pem, None, info
        if encrypted:  # weakly: decrypt it now and encrypt it again, as trustkit encrypts keys
            key, passphrase = unlock_with_passphrase(
                pem,
                self._retriever,
                key_id=path,
                role=key_role,
                max_attempts=self._max_attempts,
                where="a key encrypted more weakly than notary encrypts keys, which trustkit encrypts again on "
                "import (give the store's passphrase retriever its passphrase)",
            )
        else:
            key, passphrase = load_private_key(pem), ""
        if path and key.key_id != path:
            raise KeyFormatError(f"path header {path} does not match the key's ID {key.key_id}")
        key = attrs.evolve(key, role=key_role, gun=stored_gun)
        if not encrypted:
            passphrase = new_passphrase(
                self._retriever, key_id=key.key_id, role=key_role, max_attempts=self._max_attempts
            )
        info = KeyInfo(key.key_id, key_role, stored_gun, self.location, None, passphrase != "")
        return key.key_id, key.to_pem(passphrase), key, info

    def change_passphrase(self, key_id: str, *, new_passphrase: PassphraseSource = None) -> KeyInfo:
        """Re-encrypt a key, as ``notary key passwd`` does: decrypt it with this store's retriever, then encrypt it
        with a passphrase from ``new_passphrase`` (default: this store's retriever, asked with
        ``create_new=True``); ``""`` stores it unencrypted. A key in a legacy layout moves to the current one.
        """
        key = self.get_private_key(key_id)
        retriever = self._retriever if new_passphrase is None else as_retriever(new_passphrase)
        with self._lock:
            old = self._find(key_id)
            chosen = _new_passphrase(retriever, key, self._max_attempts)
            entry = self._write(key_id, key.to_pem(chosen))
            for stale in old:
                if stale.legacy:
                    self._delete(stale)
            self._signers[key_id] = key.signer()
        logger.debug("changed the passphrase of key %s", key_id)
        return KeyInfo(key_id, key.role, key.gun, self.location, entry.path, chosen != "")

    def forget_decrypted_keys(self) -> None:
        """Drop the decrypted keys this store keeps after first use; the next use asks for passphrases again."""
        with self._lock:
            self._signers.clear()

    def __contains__(self, key_id: object) -> bool:
        return isinstance(key_id, str) and bool(key_id) and bool(self._find(key_id))


def _new_passphrase(retriever: Any, key: PrivateKey, max_attempts: int) -> str:
    return new_passphrase(retriever, key_id=key.key_id, role=key.role or "", max_attempts=max_attempts)
