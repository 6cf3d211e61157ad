"""Private keys in memory, for tests, notebooks and ephemeral CI signing.

A :class:`MemoryKeyStore` is notary's ``KeyMemoryStore``: the same PEM text a trust directory would hold, kept in a
dict, so listing, export, import and passphrases behave exactly as with a :class:`~trustkit.keystore.FileKeyStore`.
By default keys are kept unencrypted and no passphrase is ever asked.
"""

from __future__ import annotations

from trustkit.errors import InvalidArgumentError
from trustkit.keys.private import PrivateKey
from trustkit.keystore.base import is_key_id
from trustkit.keystore.passphrase import DEFAULT_MAX_ATTEMPTS, PassphraseSource
from trustkit.keystore.pemstore import PemKeyStore, StoredKey

__all__ = ["MemoryKeyStore"]


class MemoryKeyStore(PemKeyStore):
    """Keys held in this process only.

    ``passphrase`` defaults to ``""``: keys are stored unencrypted. Give one (a string, a mapping by role or a
    :class:`~trustkit.keystore.PassphraseRetriever`) to keep them encrypted as notary would. ``keys`` are added
    first, each under its own role and GUN.
    """

    def __init__(
        self,
        *keys: PrivateKey,
        passphrase: PassphraseSource = "",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        super().__init__(passphrase=passphrase, max_attempts=max_attempts)
        self._pems: dict[str, bytes] = {}
        for key in keys:
            self.add_key(key)

    @property
    def location(self) -> str:
        """Always ``"memory"``."""
        return "memory"

    def __len__(self) -> int:
        return len(self._pems)

    def __repr__(self) -> str:
        return f"MemoryKeyStore(<{len(self._pems)} key(s)>, passphrase={self._retriever!r})"

    def _entries(self) -> list[StoredKey]:
        return [StoredKey(key_id, key_id) for key_id in sorted(self._pems)]

    def _read(self, entry: StoredKey) -> bytes:
        return self._pems[entry.name]

    def _write(self, key_id: str, data: bytes) -> StoredKey:
        if not is_key_id(key_id):
            raise InvalidArgumentError(f"not a key ID: {key_id!r}")
        self._pems[key_id] = data
        return StoredKey(key_id, key_id)

    def _delete(self, entry: StoredKey) -> None:
        self._pems.pop(entry.name, None)
