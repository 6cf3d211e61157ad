"""Signing with notary's methods through any securesystemslib ``Signer``.

securesystemslib signers return hex signatures in their own encodings (DER for ECDSA); Notary wants raw bytes
(fixed-width ``r‖s`` for ECDSA) under its own method names. The conversion happens here and nowhere else, so a
file key, an HSM or a cloud KMS signer can sign Notary metadata unchanged.

Signers other than securesystemslib's in-process ``CryptoSigner`` run on one dedicated thread
(:func:`on_signer_thread`): native libraries behind them (a PKCS#11 module such as SoftHSM2, a KMS SDK) may leave
errors on OpenSSL's per-thread error queue, and Python's ``ssl`` reports such an error on the next read of a
kept-alive TLS connection of the same thread (``NO_SUCH_ENGINE`` after an HSM signature). On their own thread,
their library state never reaches the thread doing the I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trustkit.errors import KeyFormatError, SigningError
from trustkit.keys.public import PublicKey

__all__ = ["METHODS", "method_for_scheme", "on_signer_thread", "sign_message"]

_Result = TypeVar("_Result")
_SIGNER_THREAD = "trustkit-signer"

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


class _SignerThread:
    """The one thread external signers run on, started when first needed (concurrent.futures is imported then)."""

    executor: ThreadPoolExecutor | None = None
    lock = threading.Lock()


def on_signer_thread(function: Callable[..., _Result], *args: Any) -> _Result:
    """Run ``function(*args)`` on trustkit's signer thread and return (or raise) what it does.

    External signers, and the code that builds them, run there, so that what their native libraries leave on
    per-thread state (OpenSSL's error queue) never reaches the caller's thread and its TLS connections. One thread
    for every signer: an HSM session or a library that expects to be used from one thread keeps working.
    """
    if threading.current_thread().name.startswith(_SIGNER_THREAD):
        return function(*args)  # already there (a signer that signs through another): no deadlock
    with _SignerThread.lock:
        if _SignerThread.executor is None:
            from concurrent.futures import ThreadPoolExecutor

            _SignerThread.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_SIGNER_THREAD)
        executor = _SignerThread.executor
    return executor.submit(function, *args).result()


def _in_process(signer: Any) -> bool:
    """Whether ``signer`` is securesystemslib's ``CryptoSigner`` (pyca/cryptography in this process, which leaves
    no OpenSSL errors behind): it signs on the caller's thread, without a thread switch."""
    cls = type(signer)
    return cls.__name__ == "CryptoSigner" and cls.__module__.startswith("securesystemslib.")


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
        result = signer.sign(message) if _in_process(signer) else on_signer_thread(signer.sign, message)
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
