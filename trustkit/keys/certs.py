"""Root certificates: made exactly as notary makes them, and checked as notary checks them."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from trustkit.errors import KeyFormatError
from trustkit.keys.public import MIN_RSA_BITS, PublicKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from trustkit.keys.private import PrivateKey
else:  # resolved on demand by typing.get_type_hints, through the lazy package
    from typing import ForwardRef

    import trustkit.keys  # noqa: F401 -- binds the name trustkit, in which the references below are resolved

    PrivateKey = ForwardRef("trustkit.keys.PrivateKey")

__all__ = [
    "ROOT_CERT_VALIDITY",
    "check_certificate",
    "cn_matches_gun",
    "make_root_certificate",
    "make_root_key",
]

ROOT_CERT_VALIDITY = timedelta(days=10 * 365)
"""Notary's root certificate lifetime: ten 365-day years."""

_SHA1_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1,
    SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1,
}


def make_root_certificate(
    key: PrivateKey,
    gun: str,
    *,
    now: datetime | None = None,
    validity: timedelta = ROOT_CERT_VALIDITY,
) -> x509.Certificate:
    """The self-signed certificate notary wraps a root key in: CN = GUN, codeSigning, not a CA, 10 years."""
    private = key.crypto_key
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyFormatError("root certificates need an ECDSA or RSA key")
    start = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gun)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(int.from_bytes(os.urandom(16), "big") or 1)
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    return builder.sign(private, hashes.SHA256())


def make_root_key(key: PrivateKey, gun: str, *, now: datetime | None = None) -> PublicKey:
    """The ``ecdsa-x509``/``rsa-x509`` root key notary writes in root.json for ``key`` and ``gun``."""
    return PublicKey.from_certificate(make_root_certificate(key, gun, now=now))


def cn_matches_gun(common_name: str, gun: str) -> bool:
    """Notary's ``MatchCNToGun``: equal, or a trailing ``*`` wildcard matching by prefix."""
    if common_name.endswith("*"):
        return gun.startswith(common_name[:-1])
    return common_name == gun


def check_certificate(certificate: x509.Certificate, *, now: datetime | None = None, check_expiry: bool = True) -> None:
    """Notary's ``ValidateCertificate``: no SHA-1 signature, RSA ≥ 2048 bits, and (when asked) within validity.

    Raises :class:`KeyFormatError` naming what is wrong.
    """
    subject = certificate.subject.rfc4514_string()
    before, after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if before > after:
        raise KeyFormatError(f"certificate {subject} has a validity that ends before it starts")
    if certificate.signature_algorithm_oid in _SHA1_SIGNATURES:
        raise KeyFormatError(f"certificate {subject} uses a SHA-1 signature, which is not allowed")
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"certificate {subject} has a public key that cannot be read: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(f"certificate {subject} has an RSA key under {MIN_RSA_BITS} bits")
    if check_expiry:
        moment = now or datetime.now(timezone.utc)
        if moment > after:
            raise KeyFormatError(f"certificate {subject} expired at {after.isoformat()}")
        if before > moment + timedelta(days=1):
            raise KeyFormatError(f"certificate {subject} is not valid until {before.isoformat()}")
