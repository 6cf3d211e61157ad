"""The keystore interface: what higher layers use to find private keys and sign with them.

A :class:`KeyStore` holds private keys by their canonical key ID (notary's file name for a key), with the ``role``
and ``gun`` notary records beside each. It lists them without asking for a passphrase, gives back a
securesystemslib ``Signer`` for a key, and adds, exports and removes keys. :class:`KeyInfo` is one listing entry.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

from trustkit.errors import InvalidArgumentError, TrustkitError, UnknownKeyError
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.metadata.names import check_gun

__all__ = [
    "ChainedKeyStore",
    "KeyInfo",
    "KeyStore",
    "is_key_id",
    "key_gun",
    "private_key_id",
]

_KEY_ID = re.compile(r"[0-9a-f]{64}\Z")
_BASE_ROLES_WITH_GUN = frozenset({"targets", "snapshot", "timestamp"})


@attrs.frozen
class KeyInfo:
    """One private key a keystore holds, as ``notary key list`` shows it.

    ``key_id`` is the canonical key ID (the bare public key's ID, which names notary's key files); ``role`` and
    ``gun`` are the ``role:`` and ``gun:`` notary records (``None`` when absent: root, delegation and docker signer
    keys have no GUN). ``location`` is where the key lives (the ``private`` folder of a trust directory,
    ``"memory"``, or a private-key URI) and ``path`` its file, if it has one. ``encrypted`` tells whether reading
    the key needs a passphrase (always False for keys that never leave an HSM or KMS).
    """

    key_id: str
    role: str | None
    gun: str | None
    location: str
    path: Path | None = None
    encrypted: bool = False


@runtime_checkable
class KeyStore(Protocol):
    """Private keys by canonical key ID, role and GUN; the only keystore API trustkit's higher layers use.

    Errors: :class:`~trustkit.errors.UnknownKeyError` for a key ID the store does not hold,
    :class:`~trustkit.errors.PassphraseError` when a key cannot be decrypted, and
    :class:`~trustkit.errors.KeyFormatError` for a stored key that cannot be read (naming its file) or an
    operation the store cannot do (exporting a key that never leaves an HSM).
    """

    def list_keys(self, *, role: str | None = None, gun: str | None = None) -> list[KeyInfo]:
        """Every key, or those with this ``role`` and/or ``gun``; never asks for a passphrase."""
        ...

    def get_key_info(self, key_id: str) -> KeyInfo:
        """The listing entry of one key; raises :class:`~trustkit.errors.UnknownKeyError`."""
        ...

    def get_signer(self, key_id: str) -> Any:
        """A securesystemslib ``Signer`` for the key (asking for its passphrase if needed)."""
        ...

    def add_key(self, key: PrivateKey, *, role: str | None = None, gun: str | None = None) -> KeyInfo:
        """Store ``key`` under ``role``/``gun`` (default: the key's own), as notary's ``AddKey`` does."""
        ...

    def export_key(self, key_id: str) -> bytes:
        """The key's PEM as ``notary key export`` writes it (as stored, with a ``path:`` header)."""
        ...

    def remove_key(self, key_id: str) -> KeyInfo:
        """Delete the key (``notary key remove``) and return what it was."""
        ...


def is_key_id(value: str) -> bool:
    """Whether ``value`` looks like a notary key ID: 64 lowercase hex digits."""
    return isinstance(value, str) and _KEY_ID.match(value) is not None


def private_key_id(keystore: KeyStore, key: PublicKey, *, key_id: str | None = None) -> str | None:
    """The ID under which ``keystore`` holds the private key of ``key``, or None when it holds none.

    A role lists a key under its TUF key ID (``key_id``, by default ``key.key_id``); notary files private keys
    under the canonical ID, which differs for x509 keys, so both are tried, the listed one first. A key the store
    does not hold (:class:`~trustkit.errors.UnknownKeyError`, or an ID it cannot hold: ``ValueError``) is None;
    any other failure (an unreadable key file) is raised, never taken for a missing key. The one lookup the
    repository's signing and the health report's missing-key check share.
    """
    candidates = [key.key_id if key_id is None else key_id]
    with contextlib.suppress(TrustkitError):  # a key with no canonical form is listed under its TUF ID only
        candidates.append(key.canonical_id)
    for candidate in dict.fromkeys(candidates):
        try:
            keystore.get_key_info(candidate)
        except (UnknownKeyError, ValueError):
            continue
        return candidate
    return None


def key_gun(role: str | None, gun: str | None) -> str | None:
    """The GUN notary stores with a key of ``role`` (``GenericKeyStore.AddKey``).

    Only ``targets``, ``snapshot`` and ``timestamp`` keys belong to one repository and keep their GUN; root keys,
    delegation keys (``targets/…``) and every other role (docker signer names) are shared between repositories and
    are stored without one. (``notary key generate --role targets`` stores a targets key without a GUN; notary
    finds keys by ID, so such a key still signs, but ``notary key import`` refuses it.) A GUN kept must pass
    :func:`~trustkit.metadata.names.check_gun` (``ConfigurationError``): it is written into the key's PEM headers.
    """
    if role in _BASE_ROLES_WITH_GUN:
        return check_gun(gun) if gun else None
    return None


class ChainedKeyStore:
    """Several keystores seen as one, as the notary CLI chains its key stores (a YubiKey, then the trust directory).

    A key ID is looked up in each store in order and the first that holds it answers; listings merge the stores (a
    key held twice is listed once, from the first store); new keys go to the first store; :meth:`remove_key`
    removes the key from every store that holds it. Typical use: an :class:`~trustkit.keystore.ExternalKeyStore`
    with HSM keys in front of the trust directory's :class:`~trustkit.keystore.FileKeyStore`.
    """

    def __init__(self, *stores: KeyStore) -> None:
        if not stores:
            raise InvalidArgumentError("ChainedKeyStore needs at least one keystore")
        self.stores: tuple[KeyStore, ...] = stores

    def __repr__(self) -> str:
        return f"ChainedKeyStore({', '.join(map(repr, self.stores))})"

    def _holder(self, key_id: str) -> KeyStore:
        for store in self.stores:
            try:
                store.get_key_info(key_id)
            except UnknownKeyError:
                continue
            return store
        raise UnknownKeyError(f"no private key {key_id} in any of {len(self.stores)} keystore(s)")

    def list_keys(self, *, role: str | None = None, gun: str | None = None) -> list[KeyInfo]:
        """Every store's keys (the first store's entry for a key held twice), sorted by role, GUN and key ID."""
        merged: dict[str, KeyInfo] = {}
        for store in self.stores:
            for info in store.list_keys(role=role, gun=gun):
                merged.setdefault(info.key_id, info)
        return sorted(merged.values(), key=lambda info: (info.role or "", info.gun or "", info.key_id))

    def get_key_info(self, key_id: str) -> KeyInfo:
        """The entry of the first store that holds the key."""
        return self._holder(key_id).get_key_info(key_id)

    def get_signer(self, key_id: str) -> Any:
        """The signer of the first store that holds the key."""
        return self._holder(key_id).get_signer(key_id)

    def add_key(self, key: PrivateKey, *, role: str | None = None, gun: str | None = None) -> KeyInfo:
        """Add the key to the first store."""
        return self.stores[0].add_key(key, role=role, gun=gun)

    def export_key(self, key_id: str) -> bytes:
        """Export from the first store that holds the key."""
        return self._holder(key_id).export_key(key_id)

    def remove_key(self, key_id: str) -> KeyInfo:
        """Remove the key from every store that holds it; returns the first store's entry."""
        removed: list[KeyInfo] = []
        for store in self.stores:
            try:
                removed.append(store.remove_key(key_id))
            except UnknownKeyError:
                continue
        if not removed:
            raise UnknownKeyError(f"no private key {key_id} in any of {len(self.stores)} keystore(s)")
        return removed[0]
