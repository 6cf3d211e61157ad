"""cosign's encrypted private key format, for keeping a key (a DCT delegation key, say) in use with cosign-format
signing tools (cosign, ``skopeo --sign-by-sigstore-private-key``).

A PEM block ``ENCRYPTED COSIGN PRIVATE KEY`` whose body is JSON: ``kdf`` (scrypt, N=32768, r=8, p=1, a 32-byte
salt), ``cipher`` (``nacl/secretbox`` with a 24-byte nonce) and ``ciphertext`` (the secretbox output, 16-byte
Poly1305 tag first) of the key's PKCS#8 DER; the box key is ``scrypt(passphrase, salt, dkLen=32)``. containers/image
5.22 to 5.24 read only this PEM type and only these scrypt parameters (``sigstore-attachments.md`` §6).

The NaCl secretbox comes from PyNaCl, an optional dependency: ``pip install 'trustkit-dct[cosign]'``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from trustkit.errors import ConfigurationError, KeyFormatError, PassphraseError
from trustkit.keys.private import PrivateKey

__all__ = ["COSIGN_KEY_PEM_TYPE", "export_cosign_key", "load_cosign_key"]

COSIGN_KEY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
"""The PEM type cosign and containers/image 5.22+ read."""
_SCRYPT = {"N": 32768, "r": 8, "p": 1}
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


def _secretbox() -> Any:
    try:
        import nacl.exceptions
        import nacl.secret
    except ImportError:
        raise ConfigurationError(
            "cosign-format private keys need PyNaCl (NaCl secretbox): pip install 'trustkit-dct[cosign]'"
        ) from None
    return nacl


def _box_key(passphrase: str | bytes, salt: bytes, params: dict[str, int]) -> bytes:
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    n, r, p = params["N"], params["r"], params["p"]
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * r * n * p + (32 << 20))


def export_cosign_key(key: PrivateKey, passphrase: str | bytes) -> bytes:
    """``key`` in cosign's encrypted format (PEM bytes), encrypted under ``passphrase``.

    An empty passphrase is allowed (cosign allows it) but the key is then only as safe as the file.
    """
    nacl = _secretbox()
    der = key.crypto_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt = os.urandom(32)
    nonce = os.urandom(24)
    box = nacl.secret.SecretBox(_box_key(passphrase, salt, _SCRYPT))
    ciphertext = box.encrypt(der, nonce).ciphertext
    document = {
        "kdf": {"name": "scrypt", "params": dict(_SCRYPT), "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    body = base64.b64encode(json.dumps(document).encode()).decode()
    lines = "".join(body[i : i + 64] + "\n" for i in range(0, len(body), 64))
    return f"-----BEGIN {COSIGN_KEY_PEM_TYPE}-----\n{lines}-----END {COSIGN_KEY_PEM_TYPE}-----\n".encode()


def load_cosign_key(data: bytes | str, passphrase: str | bytes) -> PrivateKey:
    """Read a cosign encrypted private key (``cosign.key``, a key skopeo signs with).

    Raises :class:`~trustkit.errors.PassphraseError` when ``passphrase`` does not decrypt it and
    :class:`~trustkit.errors.KeyFormatError` for anything else that is not such a key (other PEM types, other KDF
    or cipher, scrypt parameters containers/image refuses).
    """
    raw = data.encode() if isinstance(data, str) else data
    match = _PEM.search(raw)
    if match is None or match.group(1).decode() != COSIGN_KEY_PEM_TYPE:
        found = match.group(1).decode() if match else "none"
        raise KeyFormatError(f"not a cosign private key: expected a PEM block {COSIGN_KEY_PEM_TYPE!r}, found {found}")
    try:
        document = json.loads(base64.b64decode(b"".join(match.group(2).split()), validate=True))
        kdf, cipher = document["kdf"], document["cipher"]
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
        params = {name: kdf["params"][name] for name in ("N", "r", "p")}
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise KeyFormatError(f"malformed cosign private key: {exc}") from None
    if kdf.get("name") != "scrypt" or params != _SCRYPT:
        raise KeyFormatError(f"cosign private key: unexpected kdf parameters {kdf.get('name')!r} {params}")
    if cipher.get("name") != "nacl/secretbox" or len(nonce) != 24:
        raise KeyFormatError(f"cosign private key: unsupported cipher {cipher.get('name')!r}")
    nacl = _secretbox()
    try:
        der = nacl.secret.SecretBox(_box_key(passphrase, salt, params)).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise PassphraseError("cosign private key: decryption failed (wrong passphrase?)") from None
    try:
        crypto_key = serialization.load_der_private_key(der, None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"cosign private key: the decrypted key is not PKCS#8: {exc}") from None
    if not isinstance(crypto_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFormatError(f"cosign private key: unsupported key type {type(crypto_key).__name__}")
    return PrivateKey(crypto_key)
