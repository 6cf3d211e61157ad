"""Public keys as Notary v1 writes them in metadata, with notary's key IDs and signature verification.

A :class:`PublicKey` is the pair (``keytype``, ``public`` bytes) that a metadata key object carries. Its
:attr:`~PublicKey.key_id` is the TUF ID notary writes in ``keys`` maps and signatures; its
:attr:`~PublicKey.canonical_id` is the ID of the bare public key, which names private key files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import cached_property
from typing import Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from trustkit._encoding import canonical
from trustkit.errors import KeyFormatError
from trustkit.keys._der import DerReader
from trustkit.keys.pem import decode_pem_blocks, encode_pem

__all__ = [
    "ECDSA",
    "ECDSA_X509",
    "ED25519",
    "KEY_TYPES",
    "RSA",
    "RSA_X509",
    "CryptoPublicKey",
    "PublicKey",
]

ECDSA = "ecdsa"
RSA = "rsa"
ED25519 = "ed25519"
ECDSA_X509 = "ecdsa-x509"
RSA_X509 = "rsa-x509"
KEY_TYPES = (ECDSA, RSA, ED25519, ECDSA_X509, RSA_X509)
"""The key types notary reads; any other ``keytype`` is kept but can never verify."""

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
"""The largest RSA modulus trustkit reads: Go's TLS stack caps RSA keys at 8,192 bits (notary 0.7 sets no
maximum, and writes 2,048 or 4,096). A larger key only makes every signature check slower."""
MAX_RSA_EXPONENT = 2**31 - 1
"""The largest RSA public exponent: Go's ``crypto/rsa`` refuses a larger one, so notary cannot read such a key
(OpenSSL takes any exponent, and a 3,000-bit one costs a full-size exponentiation per signature check)."""

CryptoPublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_EXPLICIT_VERSION = 0xA0  # [0] EXPLICIT Version of a TBS certificate
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def _check_rsa(key: rsa.RSAPublicKey, what: str) -> None:
    """Refuse an RSA key Go (so notary) cannot read, or whose checks cost more than any real key's."""
    exponent = key.public_numbers().e
    if exponent > MAX_RSA_EXPONENT:
        raise KeyFormatError(
            f"{what} has a {exponent.bit_length()}-bit public exponent: notary (Go) reads exponents up to 2**31-1; "
            "use a key with the usual exponent 65537"
        )
    if key.key_size > MAX_RSA_BITS:
        raise KeyFormatError(
            f"{what} has {key.key_size} bits: trustkit reads RSA keys of at most {MAX_RSA_BITS} bits; use a "
            "2048- to 4096-bit key"
        )


def _key_id(keytype: str, public: bytes) -> str:
    obj = {
        "keytype": keytype,
        "keyval": {"private": None, "public": base64.b64encode(public).decode()},
    }
    return hashlib.sha256(canonical(obj, plain=True)).hexdigest()


@attrs.frozen(eq=False)
class PublicKey:
    """A Notary public key: ``keytype`` and the raw bytes of ``keyval.public``.

    ``public`` is DER SubjectPublicKeyInfo for ``ecdsa`` and ``rsa``, the raw 32 bytes for ``ed25519``, and the
    PEM text of the certificate (leaf first, then intermediates) for ``ecdsa-x509`` and ``rsa-x509``.
    """

    keytype: str
    public: bytes = attrs.field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.keytype, self.public) == (
            other.keytype,
            other.public,
        )

    def __hash__(self) -> int:
        return hash((self.keytype, self.public))

    # --- identifiers -------------------------------------------------------------------------------------

    @cached_property
    def key_id(self) -> str:
        """The TUF key ID: sha256 of the canonical key object, as notary's ``TUFKey.ID()``."""
        return _key_id(self.keytype, self.public)

    @cached_property
    def canonical_id(self) -> str:
        """The ID of the bare public key (certificates unwrapped), which names notary's private key files."""
        if self.keytype not in (ECDSA_X509, RSA_X509):
            return self.key_id
        return self.bare().key_id

    @property
    def is_certificate(self) -> bool:
        """Whether the key is an x509 certificate (``ecdsa-x509``/``rsa-x509``)."""
        return self.keytype in (ECDSA_X509, RSA_X509)

    # --- metadata objects --------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, obj: Any, *, where: str = "key") -> PublicKey:
        """Read a metadata key object ``{"keytype": …, "keyval": {"public": …, "private": null}}``."""
        if not isinstance(obj, dict):
            raise KeyFormatError(f"{where}: a key must be a JSON object")
        keytype, keyval = obj.get("keytype"), obj.get("keyval")
        if not isinstance(keytype, str):
            raise KeyFormatError(f"{where}: keytype must be a string")
        if not isinstance(keyval, dict):
            raise KeyFormatError(f"{where}: keyval must be an object")
        if keyval.get("private") is not None:
            raise KeyFormatError(f"{where}: a metadata key must not carry private key material")
        public = keyval.get("public")
        if not isinstance(public, str):
            raise KeyFormatError(f"{where}: keyval.public must be a base64 string")
        try:
            raw = base64.b64decode(public, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFormatError(f"{where}: keyval.public is not valid base64") from None
        return cls(keytype, raw)

    def to_dict(self) -> dict[str, Any]:
        """The metadata key object, exactly as notary writes it."""
        return {
            "keytype": self.keytype,
            "keyval": {"private": None, "public": base64.b64encode(self.public).decode()},
        }

    # --- loading -----------------------------------------------------------------------------------------

    @classmethod
    def from_crypto(cls, key: Any) -> PublicKey:
        """A bare key (``ecdsa``, ``rsa`` or ``ed25519``) from a ``cryptography`` public key."""
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(
                ED25519,
                key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
            )
        if isinstance(key, ec.EllipticCurvePublicKey):
            keytype = ECDSA
        elif isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_BITS:
                raise KeyFormatError(f"RSA keys must have at least {MIN_RSA_BITS} bits, not {key.key_size}")
            _check_rsa(key, "RSA key")
            keytype = RSA
        else:
            raise KeyFormatError(f"unsupported public key type: {type(key).__name__}")
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(keytype, der)

    @classmethod
    def from_certificate(
        cls, certificate: x509.Certificate, *, intermediates: tuple[x509.Certificate, ...] = ()
    ) -> PublicKey:
        """An ``ecdsa-x509``/``rsa-x509`` key holding the certificate (and chain) as Go PEM-encodes it."""
        try:
            key = certificate.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"the certificate's public key cannot be read: {exc}") from None
        if isinstance(key, ec.EllipticCurvePublicKey):
            keytype = ECDSA_X509
        elif isinstance(key, rsa.RSAPublicKey):
            keytype = RSA_X509
        else:
            raise KeyFormatError(f"certificates must hold an ECDSA or RSA key, not {type(key).__name__}")
        pem = b"".join(
            encode_pem("CERTIFICATE", cert.public_bytes(serialization.Encoding.DER))
            for cert in (certificate, *intermediates)
        )
        return cls(keytype, pem)

    @classmethod
    def from_pem(cls, data: bytes | str, *, chain: bool = False) -> PublicKey:
        """Read a PEM ``PUBLIC KEY`` or ``CERTIFICATE``, as ``notary delegation add``/``docker trust`` do.

        For certificates only the first block is used, as notary's ``ParsePEMPublicKey`` does; with ``chain``
        every following certificate is kept as an intermediate (notary's ``CertBundleToKey``).
        """
        raw = data.encode() if isinstance(data, str) else data
        blocks = decode_pem_blocks(raw, what="public key")
        block = blocks[0]
        if block.type == "CERTIFICATE":
            if not chain:
                return cls.from_der(block.der)
            try:
                certs = [x509.load_der_x509_certificate(b.der) for b in blocks if b.type == "CERTIFICATE"]
            except (ValueError, x509.InvalidVersion) as exc:
                raise KeyFormatError(f"invalid certificate: {exc}") from None
            return cls.from_certificate(certs[0], intermediates=tuple(certs[1:]))
        if block.type == "PUBLIC KEY":
            return cls.from_der(block.der)
        raise KeyFormatError(f"unsupported PEM block type {block.type!r}: expected PUBLIC KEY or CERTIFICATE")

    @classmethod
    def from_der(cls, der: bytes) -> PublicKey:
        """Read a DER SubjectPublicKeyInfo or certificate."""
        try:
            return cls.from_crypto(serialization.load_der_public_key(der))
        except (ValueError, UnsupportedAlgorithm):
            pass
        try:
            certificate = x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion):
            raise KeyFormatError("not a DER public key or certificate") from None
        return cls.from_certificate(certificate)

    @classmethod
    def from_key(cls, key: object) -> PublicKey:
        """Any public key trustkit takes, as a trustkit key: a :class:`PublicKey` (returned as is), a
        securesystemslib ``Key`` such as the ``SSlibKey`` that ``HSMSigner.import_`` returns (its bare notary key),
        or a ``cryptography`` public key. So a key read from an HSM can be delegated to without converting it.

        Raises :class:`~trustkit.errors.KeyFormatError` for anything else, naming what was given.
        """
        if isinstance(key, PublicKey):
            return key
        if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
            return cls.from_crypto(key)
        if isinstance(getattr(key, "keyval", None), dict) and isinstance(getattr(key, "keytype", None), str):
            return cls.from_sslib_key(key)
        raise KeyFormatError(
            f"expected a public key (a trustkit PublicKey, a securesystemslib Key or a cryptography public key), "
            f"not {type(key).__name__}: read PEM text or files with PublicKey.from_pem"
        )

    def to_pem(self) -> bytes:
        """The key as PEM, as ``notary key export``/``docker trust key generate`` write public keys: a
        ``PUBLIC KEY`` block (DER SubjectPublicKeyInfo) for a bare key, the certificate blocks (leaf first) for an
        ``ecdsa-x509``/``rsa-x509`` key. :meth:`from_pem` reads it back (``chain=True`` keeps the intermediates);
        it is what ``docker trust signer add --key`` and :meth:`trustkit.dct.DockerTrust.add_signer` take.
        Raises :class:`~trustkit.errors.KeyFormatError` when the key's bytes do not hold a key."""
        if self.is_certificate:
            self.certificates  # noqa: B018 - a key whose PEM does not parse fails here, not in a reader
            return self.public
        der = self.crypto_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return encode_pem("PUBLIC KEY", der)

    # --- the cryptographic key ---------------------------------------------------------------------------

    @cached_property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """The certificates of an x509 key, leaf first; empty for a bare key."""
        if not self.is_certificate:
            return ()
        blocks = decode_pem_blocks(self.public, what=f"key {self.key_id}")
        try:
            return tuple(x509.load_der_x509_certificate(b.der) for b in blocks if b.type == "CERTIFICATE")
        except (ValueError, x509.InvalidVersion) as exc:
            raise KeyFormatError(f"key {self.key_id}: invalid certificate: {exc}") from None

    @cached_property
    def crypto_key(self) -> CryptoPublicKey:
        """The ``cryptography`` public key; raises :class:`KeyFormatError` when the bytes do not hold one."""
        key: Any
        try:
            if self.keytype == ED25519:
                if len(self.public) != 32:
                    raise KeyFormatError(f"ed25519 key {self.key_id} must be 32 bytes")
                return ed25519.Ed25519PublicKey.from_public_bytes(self.public)
            if self.keytype in (ECDSA, RSA):
                key = serialization.load_der_public_key(self.public)
            elif self.is_certificate:
                if not self.certificates:
                    raise KeyFormatError(f"key {self.key_id} holds no certificate")
                key = self.certificates[0].public_key()
            else:
                raise KeyFormatError(f"key {self.key_id} has unsupported keytype {self.keytype!r}")
        except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion) as exc:
            raise KeyFormatError(f"key {self.key_id} ({self.keytype}) cannot be read: {exc}") from None
        expected = ec.EllipticCurvePublicKey if self.keytype in (ECDSA, ECDSA_X509) else rsa.RSAPublicKey
        if not isinstance(key, expected):
            raise KeyFormatError(f"key {self.key_id} is not an {self.keytype} key")
        if isinstance(key, rsa.RSAPublicKey):
            _check_rsa(key, f"key {self.key_id} ({self.keytype})")
        # notary reads keys with Go's ParsePKIXPublicKey/ParseCertificate: a PKIX key with an uncompressed EC
        # point only. OpenSSL also reads PKCS#1 RSA keys and compressed points: refused, as notary refuses them.
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        readable_by_go = (self._leaf_spki if self.is_certificate else self.public) == spki
        if not readable_by_go:
            raise KeyFormatError(
                f"key {self.key_id} ({self.keytype}) is not a PKIX public key with an uncompressed point: notary "
                "cannot read it"
            )
        return key

    @property
    def _leaf_spki(self) -> bytes:
        """The leaf certificate's subjectPublicKeyInfo, exactly as it is encoded in the certificate (the seventh
        field of the TBS certificate, after the optional version): what Go parses the key from."""
        fields = DerReader(self.certificates[0].tbs_certificate_bytes, f"key {self.key_id}").sequence()
        if fields.peek_tag() == _EXPLICIT_VERSION:
            fields.read()
        for _ in range(5):  # serialNumber, signature, issuer, validity, subject
            fields.read()
        return fields.read_raw()

    @cached_property
    def material(self) -> bytes:
        """The public key itself, whatever wraps it (a certificate, another key ID): two key IDs with the same
        material are one key, counted once toward a threshold. Raises :class:`KeyFormatError` as
        :attr:`crypto_key` does."""
        key = self.crypto_key
        if isinstance(key, ed25519.Ed25519PublicKey):
            return b"ed25519:" + self.public
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def bare(self) -> PublicKey:
        """The key without its certificate: ``ecdsa-x509`` → ``ecdsa``, ``rsa-x509`` → ``rsa``."""
        if not self.is_certificate:
            return self
        return PublicKey.from_crypto(self.crypto_key)

    def verify(self, method: str, signature: bytes, message: bytes, *, message_sha256: bytes | None = None) -> bool:
        """Check a signature with notary's rules for ``method``; False for any failure, never an exception.

        ECDSA digests are always SHA-256 (whatever the curve) with raw fixed-width ``r‖s``; RSA keys and
        signatures need 2048 bits and PSS uses a 32-byte salt; Ed25519 signatures are 64 bytes.
        ``message_sha256`` (when not None) is the SHA-256 of ``message``, computed by the caller: ECDSA and RSA
        then verify over it instead of hashing the message again (:func:`~trustkit.metadata.check_signatures`
        hashes a file once for all its signatures).
        """
        return self._verify(method, signature, message, message_sha256)

    def _verify(self, method: str, signature: bytes, message: bytes, message_sha256: bytes | None) -> bool:
        try:
            key = self.crypto_key
        except KeyFormatError:
            return False
        method = method.lower()
        try:
            if method == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
                size = (key.curve.key_size + 7) // 8
                if len(signature) != 2 * size:
                    return False
                r = int.from_bytes(signature[:size], "big")
                s = int.from_bytes(signature[size:], "big")
                if message_sha256 is None:
                    key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
                else:
                    key.verify(encode_dss_signature(r, s), message_sha256, ec.ECDSA(Prehashed(hashes.SHA256())))
            elif method == "eddsa" and isinstance(key, ed25519.Ed25519PublicKey):
                if len(signature) != 64:
                    return False
                key.verify(signature, message)
            elif method in ("rsapss", "rsapkcs1v15") and isinstance(key, rsa.RSAPublicKey):
                if key.key_size < MIN_RSA_BITS or len(signature) < MIN_RSA_BITS // 8:
                    return False
                pad = _PSS if method == "rsapss" else padding.PKCS1v15()
                if message_sha256 is None:
                    key.verify(signature, message, pad, hashes.SHA256())
                else:
                    key.verify(signature, message_sha256, pad, Prehashed(hashes.SHA256()))
            else:
                return False
        except (InvalidSignature, ValueError):
            return False
        return True

    # --- securesystemslib --------------------------------------------------------------------------------

    def to_sslib_key(self, keyid: str | None = None) -> Any:
        """This key as a securesystemslib ``SSlibKey`` (its ID defaults to :attr:`canonical_id`)."""
        from securesystemslib.signer import SSlibKey

        key = self.crypto_key
        if isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise KeyFormatError("securesystemslib ECDSA keys must be P-256 to match notary's SHA-256")
            scheme = "ecdsa-sha2-nistp256"
        elif isinstance(key, rsa.RSAPublicKey):
            scheme = "rsassa-pss-sha256"
        else:
            scheme = "ed25519"
        return SSlibKey.from_crypto(key, keyid or self.canonical_id, scheme)

    @classmethod
    def from_sslib_key(cls, key: Any) -> PublicKey:
        """The bare Notary key of a securesystemslib ``Key`` (ecdsa, rsa or ed25519)."""
        public = key.keyval.get("public") if isinstance(getattr(key, "keyval", None), dict) else None
        if not isinstance(public, str):
            raise KeyFormatError("securesystemslib key has no public value")
        if key.keytype == "ed25519":
            try:
                return cls(ED25519, bytes.fromhex(public))
            except ValueError:
                raise KeyFormatError("securesystemslib ed25519 key is not hex") from None
        try:
            return cls.from_crypto(serialization.load_pem_public_key(public.encode()))
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"securesystemslib key cannot be read: {exc}") from None
