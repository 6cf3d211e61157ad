"""cosign-format ("simple signing") signatures: the payload, signing it, and verifying it as strictly as
containers/image (skopeo, podman, CRI-O) does with a ``sigstoreSigned`` policy.

A signature is a JSON payload ``{"critical": {"identity": {"docker-reference": R}, "image":
{"docker-manifest-digest": D}, "type": "cosign container image signature"}, "optional": {...} | null}`` and an
ASN.1 DER ECDSA (or RSA PKCS#1 v1.5, or Ed25519) signature over the payload's exact bytes, always with SHA-256.
The payload is stored as a blob and the signature, base64, in the layer annotation
``dev.cosignproject.cosign/signature`` of the ``sha256-<hex>.sig`` attachment (:mod:`trustkit.migrate.attachments`).

Verification here follows containers/image 5.22/5.23 (measured, ``sigstore-attachments.md`` §3.2 and §6) and
uses its messages: the cryptographic check first, then the payload parsed strictly (exactly ``critical`` and
``optional``; exactly ``type``, ``image`` and ``identity``; no duplicate keys, nothing after the object), then the
digest, then the identity under a ``signedIdentity`` rule. Every rejection is a
:class:`~trustkit.errors.VerificationError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from trustkit.errors import ConfigurationError, KeyFormatError, SigningError, VerificationError
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.keys.signing import sign_message
from trustkit.remote.config import ImageReference

__all__ = [
    "PAYLOAD_TYPE",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "SignedIdentity",
    "SimpleSigningPayload",
    "check_identity",
    "load_verification_key",
    "make_payload",
    "parse_payload",
    "sign_payload",
    "verify_payload",
    "verify_payload_signature",
]

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
"""The media type of a signature layer (the payload blob)."""
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
"""The layer annotation holding the base64 signature."""
PAYLOAD_TYPE = "cosign container image signature"
"""``critical.type`` of every cosign-format payload."""

SignedIdentity = Literal["matchRepoDigestOrExact", "matchExact", "matchRepository"]
"""containers/image's ``signedIdentity`` rules (the default, ``matchRepoDigestOrExact``, when none is set)."""

_ECDSA_FAILURE = (
    "cryptographic signature verification failed: invalid signature when validating ASN.1 encoded signature"
)


@attrs.frozen
class SimpleSigningPayload:
    """A parsed payload: ``docker_reference`` (``critical.identity.docker-reference``), ``manifest_digest``
    (``critical.image.docker-manifest-digest``) and ``optional`` (None for JSON null)."""

    docker_reference: str
    manifest_digest: str
    optional: Mapping[str, Any] | None = None

    @property
    def creator(self) -> str | None:
        """``optional.creator``: who wrote the signature."""
        return None if self.optional is None else self.optional.get("creator")

    @property
    def timestamp(self) -> int | None:
        """``optional.timestamp``: when, in Unix seconds."""
        return None if self.optional is None else self.optional.get("timestamp")


def make_payload(
    docker_reference: str,
    manifest_digest: str,
    *,
    optional: Mapping[str, Any] | None = None,
    creator: str | None = None,
    timestamp: int | None = None,
) -> bytes:
    """The payload bytes to sign for the image ``manifest_digest`` (``sha256:<hex>``) under ``docker_reference``
    (``registry/repo:tag``, as skopeo writes it: the tag, no digest).

    Written compact with sorted keys, as containers/image writes it. ``optional`` holds extra keys (the DCT
    provenance, for a migration); ``creator`` and ``timestamp`` (default: now) are added to it.
    """
    ImageReference.parse(docker_reference)  # ConfigurationError for a reference no verifier would accept
    if not isinstance(manifest_digest, str) or not manifest_digest.startswith("sha256:") or len(manifest_digest) != 71:
        raise ConfigurationError(f"not a sha256 manifest digest: {manifest_digest!r}")
    extra = dict(optional or {})
    if creator is not None:
        extra["creator"] = creator
    extra["timestamp"] = int(time.time()) if timestamp is None else int(timestamp)
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": extra,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# --- parsing as containers/image's paranoid JSON reader ---------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise VerificationError(f'Duplicate key "{key}"')
        seen[key] = value
    return seen


def _not_json(name: str) -> Any:
    """Python reads ``NaN`` and ``Infinity``; Go's JSON (and so containers/image) does not."""
    raise VerificationError(f"invalid character {name[0]!r} looking for beginning of value")


def _exact_object(value: Any, keys: Sequence[str]) -> dict[str, Any]:
    """containers/image's ``ParanoidUnmarshalJSONObjectExactFields``."""
    if not isinstance(value, dict):
        raise VerificationError(f"JSON object expected, got {json.dumps(value)[:100]}")
    for key in value:
        if key not in keys:
            raise VerificationError(f'Unknown key "{key}"')
    for key in keys:
        if key not in value:
            raise VerificationError(f'Key "{key}" missing in a JSON object')
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise VerificationError(f"json: cannot unmarshal {type(value).__name__} into Go value of type string ({name})")
    return value


def parse_payload(data: bytes) -> SimpleSigningPayload:
    """Parse payload bytes as strictly as containers/image; :class:`~trustkit.errors.VerificationError` with its
    message for anything it rejects."""
    try:
        text = data.decode("utf-8")
        decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_not_json)
        document, end = decoder.raw_decode(text.lstrip(" \t\r\n"))
    except UnicodeDecodeError:
        raise VerificationError("invalid payload: not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise VerificationError(f"invalid payload JSON: {exc}") from None
    rest = text.lstrip(" \t\r\n")[end:].strip(" \t\r\n")
    if rest:
        raise VerificationError(f"invalid character {rest[0]!r} after top-level value")
    top = _exact_object(document, ("critical", "optional"))
    critical = _exact_object(top["critical"], ("type", "image", "identity"))
    kind = _string(critical["type"], "critical.type")
    if kind != PAYLOAD_TYPE:
        raise VerificationError(f"Unrecognized signature type {kind}")
    image = _exact_object(critical["image"], ("docker-manifest-digest",))
    identity = _exact_object(critical["identity"], ("docker-reference",))
    optional = top["optional"]
    if optional is not None:
        if not isinstance(optional, dict):
            raise VerificationError(f"JSON object expected, got {json.dumps(optional)[:100]}")
        if "creator" in optional:
            _string(optional["creator"], "optional.creator")
        stamp = optional.get("timestamp")
        if "timestamp" in optional and (isinstance(stamp, bool) or not isinstance(stamp, int)):
            raise VerificationError("Field optional.timestamp is not is not an integer")
    return SimpleSigningPayload(
        docker_reference=_string(identity["docker-reference"], "critical.identity.docker-reference"),
        manifest_digest=_string(image["docker-manifest-digest"], "critical.image.docker-manifest-digest"),
        optional=optional,
    )


# --- keys, signing and the cryptographic check ----------------------------------------------------------------

VerificationKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


KeyInput = VerificationKey | PublicKey | PrivateKey | bytes | str | Any
"""What a verifier takes as the public key: see :func:`load_verification_key`."""

_VERIFICATION_TYPES = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)


def load_verification_key(key: KeyInput) -> VerificationKey:
    """The public key a verifier uses: a :class:`~trustkit.keys.PublicKey`, the public half of a
    :class:`~trustkit.keys.PrivateKey`, a securesystemslib ``Key`` (a signer's ``public_key``), a
    ``cryptography`` public key, or PEM ``PUBLIC KEY`` bytes (a cosign ``.pub`` file, a policy's ``keyData``
    decoded). Raises :class:`~trustkit.errors.KeyFormatError` for anything else, naming what was given."""
    if isinstance(key, _VERIFICATION_TYPES):
        return key
    if isinstance(key, PrivateKey):
        key = key.public_key
    if isinstance(key, str | bytes):
        raw = key.encode() if isinstance(key, str) else key
        try:
            loaded: Any = serialization.load_pem_public_key(raw)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"not a PEM public key: {exc}") from None
    else:
        try:
            public = PublicKey.from_key(key)
        except KeyFormatError:
            raise KeyFormatError(
                f"expected a verification key (a trustkit PublicKey or PrivateKey, a securesystemslib Key, a "
                f"cryptography public key or PEM bytes), not {type(key).__name__}: read a cosign .pub file with "
                "load_verification_key(open(path, 'rb').read())"
            ) from None
        loaded = public.bare().crypto_key
    if not isinstance(loaded, _VERIFICATION_TYPES):
        raise KeyFormatError(f"unsupported public key type {type(loaded).__name__}: use ECDSA, RSA or Ed25519")
    return loaded


def verify_payload_signature(key: KeyInput, signature: bytes, payload: bytes) -> None:
    """Check ``signature`` over ``payload`` as sigstore's verifiers do: ECDSA ASN.1 DER with SHA-256 (any
    curve), RSA PKCS#1 v1.5 with SHA-256, pure Ed25519. ``key`` is anything :func:`load_verification_key`
    takes. Raises :class:`~trustkit.errors.VerificationError`."""
    key = load_verification_key(key)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            try:
                key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                raise VerificationError(_ECDSA_FAILURE) from None
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, payload)
    except (InvalidSignature, ValueError):
        algorithm = "crypto/rsa" if isinstance(key, rsa.RSAPublicKey) else "ed25519"
        raise VerificationError(
            f"cryptographic signature verification failed: {algorithm}: verification error"
        ) from None


def sign_payload(signer: PrivateKey | Any, payload: bytes) -> bytes:
    """The signature a cosign-format verifier accepts for ``payload``: ASN.1 DER ECDSA over SHA-256, or Ed25519.

    ``signer`` is a :class:`~trustkit.keys.PrivateKey` or any securesystemslib ``Signer`` (an HSM, a cloud KMS,
    a DCT delegation key reused) with scheme ``ecdsa-sha2-nistp256`` or ``ed25519``; RSA-PSS signers are refused
    (containers/image rejects PSS). The signature is checked before it is returned. Raises
    :class:`~trustkit.errors.SigningError`.
    """
    sslib_signer = signer.signer() if isinstance(signer, PrivateKey) else signer
    scheme = getattr(getattr(sslib_signer, "public_key", None), "scheme", None)
    if scheme not in ("ecdsa-sha2-nistp256", "ed25519"):
        raise SigningError(
            f"signing scheme {scheme!r} makes signatures cosign-format verifiers reject: use an ECDSA P-256 "
            "(ecdsa-sha2-nistp256) or Ed25519 key"
        )
    method, raw, public = sign_message(sslib_signer, payload)
    if method == "ecdsa":
        size = len(raw) // 2
        raw = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    try:
        verify_payload_signature(load_verification_key(public), raw, payload)
    except (VerificationError, KeyFormatError) as exc:
        raise SigningError(f"the signer produced a signature cosign-format verifiers reject: {exc}") from None
    return raw


# --- identity rules -------------------------------------------------------------------------------------------


def check_identity(signed: str, pulled: str, rule: SignedIdentity = "matchRepoDigestOrExact") -> None:
    """Apply containers/image's ``signedIdentity`` ``rule`` to the payload's ``signed`` reference and the
    reference the image is ``pulled`` as. Raises :class:`~trustkit.errors.VerificationError` ("Signature for
    identity … is not accepted") when the rule refuses it, or when ``signed`` is not a valid reference."""
    refused = VerificationError(f"Signature for identity {signed} is not accepted")
    try:
        signed_ref = ImageReference.parse(signed)
    except ConfigurationError:
        raise refused from None
    pulled_ref = ImageReference.parse(pulled)
    if rule not in ("matchRepository", "matchExact", "matchRepoDigestOrExact"):
        raise ConfigurationError(
            f"unknown signedIdentity rule {rule!r}: use matchRepoDigestOrExact, matchExact or matchRepository"
        )
    if rule == "matchRepository":
        ok = signed_ref.name == pulled_ref.name
    elif signed_ref.tag is None and signed_ref.digest is None:
        ok = False  # a repository-only identity (what cosign writes) passes only matchRepository (measured)
    elif rule == "matchRepoDigestOrExact":
        if pulled_ref.digest is not None:
            ok = signed_ref.name == pulled_ref.name
        else:
            ok = pulled_ref.tag is not None and str(signed_ref) == str(pulled_ref)
    else:
        ok = (pulled_ref.tag is not None or pulled_ref.digest is not None) and str(signed_ref) == str(pulled_ref)
    if not ok:
        raise refused


def verify_payload(
    key: KeyInput,
    payload: bytes,
    signature_b64: str | None,
    *,
    manifest_digest: str,
    reference: str,
    signed_identity: SignedIdentity = "matchRepoDigestOrExact",
) -> SimpleSigningPayload:
    """Verify one signature layer as containers/image does: ``signature_b64`` (the annotation; None when the layer
    has none) over ``payload``, then the payload, its digest against ``manifest_digest`` (of the manifest being
    used) and its identity against ``reference`` (how the image is pulled). ``key`` is anything
    :func:`load_verification_key` takes. Returns the parsed payload; raises
    :class:`~trustkit.errors.VerificationError` with containers/image's message."""
    if signature_b64 is None:
        raise VerificationError(f"missing {SIGNATURE_ANNOTATION} annotation")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"base64 decoding: illegal base64 data ({exc})") from None
    verify_payload_signature(key, signature, payload)
    parsed = parse_payload(payload)
    if parsed.manifest_digest != manifest_digest:
        raise VerificationError(f"Signature for digest {parsed.manifest_digest} does not match")
    check_identity(parsed.docker_reference, reference, signed_identity)
    return parsed
