"""Private keys: generation, and loading every PEM form notary and ``docker trust key load`` accept.

Notary's own PKCS#8 is non-standard (ECDSA with version 1, RSA without the NULL parameter, Ed25519 under a
private OID as a 96-byte blob) and is encrypted with PBES2/PBKDF2-HMAC-SHA1/AES-256-CBC; ``cryptography`` reads
none of those quirks, so the envelope is decrypted and the inner structure normalised here before handing it to
``cryptography``. Written keys use the same encryption, with a standard inner PKCS#8 that Go also reads.
"""

from __future__ import annotations

import hmac
import os
from typing import Any, Literal

import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from trustkit.errors import KeyFormatError, PassphraseError
from trustkit.keys._der import (
    NULL,
    SEQUENCE,
    DerReader,
    der_integer,
    der_octets,
    der_oid,
    der_sequence,
    der_tlv,
)
from trustkit.keys.pem import decode_pem_blocks, encode_pem
from trustkit.keys.public import MIN_RSA_BITS, PublicKey

__all__ = [
    "MIN_PBKDF2_ITERATIONS",
    "PBKDF2_ITERATIONS",
    "KeyType",
    "PrivateKey",
    "generate_private_key",
    "is_weakly_encrypted",
    "load_private_key",
]

KeyType = Literal["ecdsa", "ed25519"]

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_PBKDF2 = "1.2.840.113549.1.5.12"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_OID_EC = "1.2.840.10045.2.1"
_OID_RSA = "1.2.840.113549.1.1.1"
_OID_ED25519_NOTARY = "1.3.6.1.4.1.11591.15.1"
_OID_ED25519 = "1.3.101.112"
_PRF_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
PBKDF2_ITERATIONS = 2048
"""The PBKDF2 iterations of every key trustkit encrypts: notary's and docker's (``tuf/utils/pkcs8.go``)."""
MIN_PBKDF2_ITERATIONS = 1000
"""Fewer PBKDF2 iterations than this and an encrypted private key is refused (RFC 8018 recommends at least 1000;
notary, docker and OpenSSL write 2048): its passphrase could be guessed at millions of tries per second."""
_MAX_PBKDF2_ITERATIONS = 10_000_000

CryptoPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@attrs.frozen(eq=False)
class PrivateKey:
    """A private signing key, with the ``role`` and ``gun`` notary records beside it in its PEM headers."""

    crypto_key: CryptoPrivateKey = attrs.field(repr=False)
    role: str | None = None
    gun: str | None = None

    @property
    def public_key(self) -> PublicKey:
        """The bare public key (``ecdsa``, ``rsa`` or ``ed25519``)."""
        return PublicKey.from_crypto(self.crypto_key.public_key())

    @property
    def key_id(self) -> str:
        """The canonical key ID: notary's file name for this key."""
        return self.public_key.canonical_id

    @property
    def keytype(self) -> str:
        """Notary's key type of the bare public key."""
        return self.public_key.keytype

    def signer(self) -> Any:
        """A securesystemslib ``CryptoSigner`` for this key, with notary's signing scheme."""
        from securesystemslib.signer import CryptoSigner

        return CryptoSigner(self.crypto_key, self.public_key.to_sslib_key())

    def to_pem(self, passphrase: str | bytes | None = None) -> bytes:
        """The key as notary writes it: PKCS#8, encrypted when a passphrase is given, ``gun``/``role`` headers.

        Ed25519 keys use notary's own inner encoding (its private OID and the 96-byte ``pub ‖ seed ‖ pub`` blob):
        notary and docker cannot read the RFC 8410 form. ECDSA and RSA use standard PKCS#8, which Go reads.
        """
        inner = _pkcs8_inner(self.crypto_key)
        headers = {name: value for name, value in (("role", self.role), ("gun", self.gun)) if value}
        if passphrase is None or passphrase in ("", b""):
            return encode_pem("PRIVATE KEY", inner, headers)
        return encode_pem("ENCRYPTED PRIVATE KEY", _pbes2_encrypt(inner, _as_bytes(passphrase)), headers)


def generate_private_key(keytype: KeyType = "ecdsa", *, role: str | None = None, gun: str | None = None) -> PrivateKey:
    """Generate a key as notary does: ECDSA P-256 by default, or Ed25519. (RSA keys can only be imported.)"""
    key: CryptoPrivateKey
    if keytype == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif keytype == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyFormatError(f"cannot generate {keytype!r} keys: use 'ecdsa' or 'ed25519' (RSA keys are imported)")
    return PrivateKey(key, role=role, gun=gun)


def load_private_key(data: bytes | str, passphrase: str | bytes | None = None) -> PrivateKey:
    """Load a private key from PEM: SEC1, PKCS#1, PKCS#8 (notary's variants too), encrypted PKCS#8 (PBES2),
    legacy OpenSSL-encrypted PEM and notary's legacy ``ED25519 PRIVATE KEY``.

    Raises :class:`PassphraseError` when the key is encrypted and the passphrase is missing or wrong, and
    :class:`KeyFormatError` for anything else that is not a usable key: text around the PEM block or a second
    block (which notary ignores), or PBKDF2 encryption with fewer than :data:`MIN_PBKDF2_ITERATIONS` iterations.
    """
    raw = data.encode() if isinstance(data, str) else data
    blocks = decode_pem_blocks(raw, what="private key", strict=True)
    if len(blocks) != 1:
        raise KeyFormatError(f"private key: {len(blocks)} PEM blocks where one key was expected: give one key per file")
    block = blocks[0]
    role, gun = block.headers.get("role") or None, block.headers.get("gun") or None
    if block.type == "ENCRYPTED PRIVATE KEY":
        params = _strong_pbes2_parameters(block.der)
        if passphrase is None:
            raise PassphraseError("the private key is encrypted: a passphrase is needed")
        key = _load_pkcs8(_pbes2_decrypt(params, _as_bytes(passphrase)))
    elif block.type == "PRIVATE KEY":
        key = _load_pkcs8(block.der)
    elif block.type == "ED25519 PRIVATE KEY":
        key = _ed25519_from_notary_blob(block.der)
    elif block.type in ("EC PRIVATE KEY", "RSA PRIVATE KEY"):
        key = _load_traditional(raw, block.headers, passphrase)
    else:
        raise KeyFormatError(f"unsupported private key PEM type {block.type!r}")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(f"RSA keys must have at least {MIN_RSA_BITS} bits, not {key.key_size}")
    return PrivateKey(key, role=role, gun=gun)


def _pkcs8_inner(key: CryptoPrivateKey) -> bytes:
    """Unencrypted PKCS#8 PrivateKeyInfo that notary 0.7 parses (``tuf/utils/pkcs8.go`` ``parsePKCS8ToTufKey``)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        seed = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return der_sequence(
            der_integer(0),
            der_sequence(der_oid(_OID_ED25519_NOTARY)),
            der_octets(public + seed + public),
        )
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _as_bytes(passphrase: str | bytes) -> bytes:
    return passphrase.encode() if isinstance(passphrase, str) else passphrase


def _load_traditional(raw: bytes, headers: dict[str, str], passphrase: str | bytes | None) -> CryptoPrivateKey:
    encrypted = "DEK-Info" in headers
    if encrypted and passphrase is None:
        raise PassphraseError("the private key is encrypted: a passphrase is needed")
    # cryptography reads OpenSSL's traditional PEM (and its DEK-Info encryption) but not notary's extra headers.
    kept = {k: v for k, v in headers.items() if k in ("Proc-Type", "DEK-Info")}
    block = decode_pem_blocks(raw, what="private key")[0]
    pem = encode_pem(block.type, block.der, kept)
    try:
        key = serialization.load_pem_private_key(pem, _as_bytes(passphrase) if encrypted and passphrase else None)
    except (TypeError, ValueError, UnsupportedAlgorithm) as exc:
        if encrypted:
            raise PassphraseError(f"could not decrypt the private key: {exc}") from None
        raise KeyFormatError(f"invalid private key: {exc}") from None
    return _check_supported(key)


def _check_supported(key: Any) -> CryptoPrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise KeyFormatError(f"unsupported private key type {type(key).__name__}")


def _load_pkcs8(der: bytes) -> CryptoPrivateKey:
    """Read PKCS#8 PrivateKeyInfo, standard or as notary writes it."""
    info = DerReader(der, "PKCS#8 private key").sequence()
    info.integer()  # notary writes 1 for ECDSA; Go ignores the version and so do we
    algorithm_der = info.read_raw()
    algorithm = DerReader(algorithm_der, "PKCS#8 algorithm").sequence()
    oid = algorithm.oid()
    private = info.octets()
    if oid == _OID_ED25519_NOTARY:
        return _ed25519_from_notary_blob(private)
    if oid == _OID_RSA:
        algorithm_der = der_sequence(der_oid(_OID_RSA), der_tlv(NULL, b""))
    elif oid not in (_OID_EC, _OID_ED25519):
        raise KeyFormatError(f"unsupported private key algorithm {oid}")
    rest = b""
    while not info.at_end():  # optional attributes / public key: keep them
        rest += info.read_raw()
    normalised = der_sequence(der_integer(0), algorithm_der, der_octets(private), rest)
    try:
        return _check_supported(serialization.load_der_private_key(normalised, None))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"invalid private key: {exc}") from None


def _ed25519_from_notary_blob(blob: bytes) -> ed25519.Ed25519PrivateKey:
    """Notary's Ed25519 private key: ``public(32) ‖ seed(32) ‖ public(32)``."""
    if len(blob) != 96:
        raise KeyFormatError(f"notary ed25519 private keys are 96 bytes, not {len(blob)}")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(blob[32:64])
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if not hmac.compare_digest(public, blob[:32]):
        raise KeyFormatError("ed25519 private key does not match its public key")
    return key


def is_weakly_encrypted(data: bytes | str) -> bool:
    """Whether an encrypted private key PEM is protected more weakly than trustkit encrypts keys: PBKDF2 with fewer
    than :data:`PBKDF2_ITERATIONS` iterations, or OpenSSL's legacy PEM encryption (``DEK-Info``: one MD5 round).
    Such a key is encrypted again with trustkit's parameters when it is imported. False for an unencrypted key.
    Raises :class:`KeyFormatError` for PEM that is not one private key.
    """
    raw = data.encode() if isinstance(data, str) else data
    block = decode_pem_blocks(raw, what="private key", strict=True)[0]
    if block.type == "ENCRYPTED PRIVATE KEY":
        return _pbes2_parameters(block.der).iterations < PBKDF2_ITERATIONS
    return "DEK-Info" in block.headers


@attrs.frozen
class _Pbes2:
    salt: bytes
    iterations: int
    prf: type[hashes.HashAlgorithm]
    iv: bytes
    ciphertext: bytes


def _pbes2_parameters(der: bytes) -> _Pbes2:
    """The PBES2 parameters of PKCS#8 EncryptedPrivateKeyInfo (PBKDF2, AES-256-CBC), checked."""
    what = "encrypted private key"
    outer = DerReader(der, what).sequence()
    algorithm = outer.sequence()
    if algorithm.oid() != _OID_PBES2:
        raise KeyFormatError(f"{what}: only PBES2 encryption is supported")
    params = algorithm.sequence()
    kdf = params.sequence()
    if kdf.oid() != _OID_PBKDF2:
        raise KeyFormatError(f"{what}: only PBKDF2 key derivation is supported")
    kdf_params = kdf.sequence()
    salt = kdf_params.octets()
    iterations = kdf_params.integer()
    prf: type[hashes.HashAlgorithm] = hashes.SHA1
    while not kdf_params.at_end():
        if kdf_params.peek_tag() == SEQUENCE:
            prf_oid = kdf_params.sequence().oid()
            if prf_oid not in _PRF_HASHES:
                raise KeyFormatError(f"{what}: unsupported PBKDF2 PRF {prf_oid}")
            prf = _PRF_HASHES[prf_oid]
        else:
            kdf_params.read()  # keyLength
    cipher = params.sequence()
    if cipher.oid() != _OID_AES256_CBC:
        raise KeyFormatError(f"{what}: only AES-256-CBC is supported")
    iv = cipher.octets()
    ciphertext = outer.octets()
    if len(iv) != 16 or not ciphertext or len(ciphertext) % 16 or not 0 < iterations <= _MAX_PBKDF2_ITERATIONS:
        raise KeyFormatError(f"{what}: malformed PBES2 parameters")
    return _Pbes2(salt, iterations, prf, iv, ciphertext)


def _strong_pbes2_parameters(der: bytes) -> _Pbes2:
    """:func:`_pbes2_parameters`, refusing fewer than :data:`MIN_PBKDF2_ITERATIONS` iterations."""
    params = _pbes2_parameters(der)
    if params.iterations < MIN_PBKDF2_ITERATIONS:
        raise KeyFormatError(
            f"encrypted private key: encrypted with only {params.iterations} PBKDF2 iteration(s), trustkit requires "
            f"at least {MIN_PBKDF2_ITERATIONS}: decrypt it with the tool that wrote it (openssl pkcs8) and load or "
            "import the unencrypted key, which trustkit encrypts with notary's parameters"
        )
    return params


def _pbes2_decrypt(params: _Pbes2, passphrase: bytes) -> bytes:
    """Decrypt PKCS#8 EncryptedPrivateKeyInfo with PBES2 + PBKDF2 + AES-256-CBC, as notary's pkcs8.go does."""
    what = "encrypted private key"
    key = PBKDF2HMAC(algorithm=params.prf(), length=32, salt=params.salt, iterations=params.iterations).derive(
        passphrase
    )
    decryptor = Cipher(algorithms.AES(key), modes.CBC(params.iv)).decryptor()
    padded = decryptor.update(params.ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        DerReader(plain, what).sequence()
    except (ValueError, KeyFormatError):
        raise PassphraseError("could not decrypt the private key: wrong passphrase") from None
    return plain


def _pbes2_encrypt(plain: bytes, passphrase: bytes) -> bytes:
    """Encrypt like notary: PBKDF2-HMAC-SHA1 (2048 rounds, 8-byte salt), AES-256-CBC, PKCS#7 padding."""
    salt, iv = os.urandom(8), os.urandom(16)
    key = PBKDF2HMAC(
        algorithm=hashes.SHA1(),  # noqa: S303 -- notary's PBKDF2 PRF; interop requires it
        length=32,
        salt=salt,
        iterations=PBKDF2_ITERATIONS,
    ).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    algorithm = der_sequence(
        der_oid(_OID_PBES2),
        der_sequence(
            der_sequence(
                der_oid(_OID_PBKDF2),
                der_sequence(der_octets(salt), der_integer(PBKDF2_ITERATIONS)),
            ),
            der_sequence(der_oid(_OID_AES256_CBC), der_octets(iv)),
        ),
    )
    return der_sequence(algorithm, der_octets(ciphertext))
