"""Keys that never leave an HSM, a cloud KMS or another signing service: securesystemslib private-key URIs.

securesystemslib names such a key with a URI (``hsm:2?label=test`` for a PKCS#11 token, ``awskms:…``,
``gcpkms:…``, ``azurekms:…``, ``hv:…`` for Vault, ``file2:…`` for a plain key file) and builds its ``Signer`` with
``Signer.from_priv_key_uri(uri, public_key, secrets_handler)``. :func:`signer_from_uri` does that with the checks
notary needs, and :class:`ExternalKeyStore` maps notary key IDs to URIs behind the :class:`~trustkit.keystore.KeyStore`
interface, so higher layers sign with these keys exactly as with key files. Metadata signing converts the signature
(DER ECDSA → notary's raw ``r‖s``) and names it with notary's key ID.

Only keys notary can verify are accepted: ECDSA P-256 (notary always hashes ECDSA with SHA-256, so a P-384 HSM key
would sign with SHA-384 and never verify), Ed25519, and RSA with RSASSA-PSS/SHA-256.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs

from trustkit.errors import InvalidArgumentError, KeyFormatError, SigningError, UnknownKeyError
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.keys.signing import method_for_scheme, on_signer_thread
from trustkit.keystore.base import KeyInfo, key_gun

__all__ = ["ExternalKeyStore", "SecretsHandler", "signer_from_uri", "sslib_public_key"]

SecretsHandler = Callable[[str], str]
"""securesystemslib's secrets handler: called with the name of a secret (``"pin"``, ``"passphrase"``)."""


def sslib_public_key(public_key: Any) -> tuple[Any, PublicKey]:
    """The securesystemslib key to build a signer with, and the notary key it signs as.

    ``public_key`` is a trustkit :class:`~trustkit.keys.PublicKey` (certificates are unwrapped) or a
    securesystemslib ``Key`` (such as the one ``HSMSigner.import_`` returns). Raises
    :class:`~trustkit.errors.KeyFormatError` when notary could not verify what the key signs.
    """
    if isinstance(public_key, PublicKey):
        bare = public_key.bare()
        return bare.to_sslib_key(), bare
    scheme = getattr(public_key, "scheme", None)
    if not isinstance(scheme, str):
        raise KeyFormatError("expected a trustkit PublicKey or a securesystemslib Key")
    try:
        method_for_scheme(scheme)
    except SigningError as exc:
        raise KeyFormatError(str(exc)) from None
    notary_key = PublicKey.from_sslib_key(public_key)
    notary_key.to_sslib_key()  # refuses ECDSA curves other than P-256
    return public_key, notary_key


def signer_from_uri(uri: str, public_key: Any, *, secrets_handler: SecretsHandler | None = None) -> Any:
    """``Signer.from_priv_key_uri`` for a key notary can verify; raises ``KeyFormatError`` or ``SigningError``.

    ``secrets_handler`` gives PINs and passphrases the signer asks for (an HSM's user PIN).
    """
    from securesystemslib.signer import Signer

    sslib_key, _ = sslib_public_key(public_key)
    try:
        # built on the signer thread, where it signs: loading a PKCS#11 module may leave OpenSSL errors behind
        return on_signer_thread(Signer.from_priv_key_uri, uri, sslib_key, secrets_handler)
    except Exception as exc:  # unknown schemes, missing optional dependencies, unreachable services
        scheme = uri.split(":", 1)[0]
        raise SigningError(f"cannot make a signer for a {scheme}: key: {type(exc).__name__}: {exc}") from None


@attrs.frozen
class _ExternalKey:
    uri: str
    sslib_key: Any = attrs.field(repr=False)
    info: KeyInfo


class ExternalKeyStore:
    """A :class:`~trustkit.keystore.KeyStore` of keys behind securesystemslib private-key URIs.

    Register each key with :meth:`add_uri`; :meth:`get_signer` then builds its signer. ``secrets_handler`` answers
    the signers' requests for secrets (an HSM PIN); it is never shown in a ``repr``. Private key material is never
    held here: :meth:`add_key` and :meth:`export_key` raise :class:`~trustkit.errors.KeyFormatError`, and
    :meth:`remove_key` only forgets the mapping.
    """

    def __init__(self, *, secrets_handler: SecretsHandler | None = None) -> None:
        self._secrets_handler = secrets_handler
        self._keys: dict[str, _ExternalKey] = {}
        self._signers: dict[str, Any] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        handler = None if self._secrets_handler is None else "<set>"
        return f"ExternalKeyStore(<{len(self._keys)} key(s)>, secrets_handler={handler})"

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def add_uri(self, uri: str, public_key: Any, *, role: str | None = None, gun: str | None = None) -> KeyInfo:
        """Register the key at ``uri`` whose public key is ``public_key`` (a trustkit ``PublicKey`` or a
        securesystemslib ``Key``), under ``role``/``gun`` (the GUN is kept for targets/snapshot/timestamp only).
        Returns its listing entry; its key ID is notary's canonical ID of the public key.
        """
        if not isinstance(uri, str) or ":" not in uri:
            raise InvalidArgumentError(f"not a private key URI: {uri!r}")
        sslib_key, notary_key = sslib_public_key(public_key)
        info = KeyInfo(notary_key.canonical_id, role or None, key_gun(role, gun), uri)
        with self._lock:
            self._keys[info.key_id] = _ExternalKey(uri, sslib_key, info)
            self._signers.pop(info.key_id, None)
        return info

    def uri(self, key_id: str) -> str:
        """The URI a key ID maps to."""
        return self._get(key_id).uri

    def _get(self, key_id: str) -> _ExternalKey:
        try:
            return self._keys[key_id]
        except (KeyError, TypeError):
            raise UnknownKeyError(f"no key {key_id} in this external key store") from None

    def list_keys(self, *, role: str | None = None, gun: str | None = None) -> list[KeyInfo]:
        """The registered keys (or those of ``role`` and/or ``gun``), sorted by role, GUN and key ID."""
        infos = [
            key.info
            for key in self._keys.values()
            if (role is None or key.info.role == role) and (gun is None or key.info.gun == gun)
        ]
        return sorted(infos, key=lambda info: (info.role or "", info.gun or "", info.key_id))

    def get_key_info(self, key_id: str) -> KeyInfo:
        """The listing entry of one key; raises :class:`~trustkit.errors.UnknownKeyError`."""
        return self._get(key_id).info

    def get_signer(self, key_id: str) -> Any:
        """The key's securesystemslib signer (built once, then reused)."""
        with self._lock:
            signer = self._signers.get(key_id)
            if signer is None:
                key = self._get(key_id)
                signer = signer_from_uri(key.uri, key.sslib_key, secrets_handler=self._secrets_handler)
                self._signers[key_id] = signer
            return signer

    def add_key(self, key: PrivateKey, *, role: str | None = None, gun: str | None = None) -> KeyInfo:
        """Refused: an external store holds no private keys (register URIs with :meth:`add_uri`)."""
        raise KeyFormatError("an ExternalKeyStore holds no private keys: register the key's URI with add_uri()")

    def export_key(self, key_id: str) -> bytes:
        """Refused: the private key never leaves its HSM or KMS."""
        key = self._get(key_id)
        scheme = key.uri.split(":", 1)[0]
        raise KeyFormatError(f"key {key_id} is held behind a {scheme}: URI and cannot be exported")

    def remove_key(self, key_id: str) -> KeyInfo:
        """Forget the key's URI (the key itself stays in its HSM or KMS)."""
        with self._lock:
            key = self._get(key_id)
            del self._keys[key_id]
            self._signers.pop(key_id, None)
        return key.info
