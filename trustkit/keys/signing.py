"""Signing with notary's methods through any securesystemslib ``Signer``.

securesystemslib signers return hex signatures in their own encodings (DER for ECDSA); Notary wants raw bytes
(fixed-width ``r‖s`` for ECDSA) under its own method names. The conversion happens here and nowhere else, so a
file key, an HSM or a cloud KMS signer can sign Notary metadata unchanged.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trustkit.errors import KeyFormatError, SigningError
from trustkit.keys.public import PublicKey

__all__ = ["METHODS", "method_for_scheme", "sign_message"]

METHODS = ("ecdsa", "eddsa", "rsapss", "rsapkcs1v15")
"""Signature methods notary verifies (``rsapkcs1v15`` is verify-only: trustkit never produces it)."""

_SCHEME_METHODS = {
    "ecdsa-sha2-nistp256": "ecdsa",
    "ed25519": "eddsa",
    "rsassa-pss-sha256": "rsapss",
}


def method_for_scheme(scheme: str) -> str:
    """Notary's ``method`` for a securesystemslib signing scheme, or :class:`SigningError` if there is none."""
    try:
        return _SCHEME_METHODS[scheme]
    except KeyError:
        raise SigningError(
            f"signing scheme {scheme!r} makes signatures notary cannot verify "
            f"(use one of {', '.join(sorted(_SCHEME_METHODS))})"
        ) from None


def sign_message(signer: Any, message: bytes) -> tuple[str, bytes, PublicKey]:
    """Sign ``message`` with a securesystemslib ``Signer``.

    Returns notary's method name, the raw signature bytes and the signer's bare public key.
    """
    sslib_key = getattr(signer, "public_key", None)
    if sslib_key is None:
        raise SigningError("the signer has no public_key")
    method = method_for_scheme(sslib_key.scheme)
    try:
        public = PublicKey.from_sslib_key(sslib_key)
    except KeyFormatError as exc:
        raise SigningError(f"the signer's public key is not usable with notary: {exc}") from None
    try:
        result = signer.sign(message)
        raw = bytes.fromhex(result.signature)
    except Exception as exc:  # a signer may fail in any way (HSM, network, KMS): wrap it
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__  # a wrong HSM PIN: PinIncorrect
        raise SigningError(f"signer {sslib_key.keyid} failed: {reason}") from exc
    if method == "ecdsa":
        key = public.crypto_key
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise SigningError(f"signer {sslib_key.keyid} uses scheme {sslib_key.scheme} with a non-ECDSA key")
        size = (key.curve.key_size + 7) // 8
        try:
            r, s = decode_dss_signature(raw)
        except ValueError:
            raise SigningError(f"signer {sslib_key.keyid} returned a malformed ECDSA signature") from None
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if not public.verify(method, raw, message):
        raise SigningError(f"signer {sslib_key.keyid} produced a signature that does not verify")
    return method, raw, public
