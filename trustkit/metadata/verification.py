"""Verification over bytes and signatures: which of a role's keys signed a piece of metadata.

The checks need only the signed bytes and the signatures (anything with ``signed_bytes`` and ``signatures``, such
as :class:`~trustkit.metadata.envelope.Metadata`), never the models of the envelope, so the role models can use
them without importing the envelope. A role that delegates (root to the base roles, a targets role to its
delegations) is a :class:`Delegator`: it says which keys and threshold sign a role (:meth:`Delegator.signers`),
and verifying is the same for both (python-tuf's delegator mixin is the model).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from trustkit._encoding import go_string
from trustkit.errors import KeyFormatError, KeyIdMismatchError, MalformedMetadataError, ThresholdError
from trustkit.keys.public import PublicKey

__all__ = [
    "Delegator",
    "Signature",
    "Signers",
    "VerificationResult",
    "check_signatures",
    "raise_unless_verified",
]


@attrs.frozen(unsafe_hash=False)
class Signature:
    """One signature: the signing key's TUF ID, notary's method name (lowercase) and the raw signature bytes."""

    keyid: str
    method: str
    sig: bytes = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, obj: Any, *, where: str = "signature") -> Signature:
        """Read ``{"keyid": …, "method": …, "sig": <base64>}``; the method is lowercased, as notary does."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        keyid, method, sig = obj.get("keyid"), obj.get("method"), obj.get("sig")
        if not isinstance(keyid, str) or not isinstance(method, str) or not isinstance(sig, str):
            raise MalformedMetadataError(f"{where}: keyid, method and sig must be strings")
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMetadataError(f"{where} by {keyid}: sig is not valid base64") from None
        return cls(keyid, method.lower(), raw)

    def to_json(self) -> str:
        """The JSON object as notary's Go ``Marshal`` writes it: keyid, method, sig in that order."""
        sig = base64.b64encode(self.sig).decode()
        return f'{{"keyid":{go_string(self.keyid)},"method":{go_string(self.method)},"sig":"{sig}"}}'


class SignedContent(Protocol):
    """What a signature check reads: the bytes the signatures are over and the signatures."""

    @property
    def signed_bytes(self) -> bytes:
        """The bytes the signatures are over."""

    @property
    def signatures(self) -> Sequence[Signature]:
        """The signatures, in file order."""


@attrs.frozen(unsafe_hash=False)
class VerificationResult:
    """Which of a role's keys signed a piece of metadata, against the role's threshold."""

    role: str
    threshold: int
    signed: frozenset[str]
    """Key IDs of the role that made a valid signature."""
    unsigned: frozenset[str]
    """Key IDs of the role with no valid signature."""

    @property
    def verified(self) -> bool:
        """Whether the threshold is met."""
        return len(self.signed) >= self.threshold

    def __bool__(self) -> bool:
        return self.verified


def check_signatures(
    role: str,
    keyids: Iterable[str],
    threshold: int,
    keys: Mapping[str, PublicKey],
    metadata: SignedContent,
    *,
    enough: bool = False,
) -> VerificationResult:
    """Count distinct valid signatures by the role's keys, as notary's ``VerifySignatures`` does.

    The work is bounded by the role's keys, never by the signatures a file carries: each key ID's first
    signature is the only one checked (a later signature by a key ID whose signature failed is not tried -- notary
    tries it, but never writes two signatures by one key), signatures by key IDs the role does not list cost
    nothing, and a check of a file of several signatures that failed before in this process is not made again.
    With ``enough``, checking stops once ``threshold`` signatures are valid (what a yes/no check needs).

    Distinct *keys* count, not key IDs: one public key listed under several IDs (bare and in a certificate, in
    two certificates, an EC point compressed and not) counts once (notary counts each ID).
    """
    allowed = set(keyids)
    valid: set[str] = set()
    tried: set[str] = set()
    counted: set[bytes] = set()  # the key material of the valid signatures
    message = metadata.signed_bytes
    # several signatures over one (large) file: hashed once for all of them
    digest = hashlib.sha256(message).digest() if len(metadata.signatures) > 1 else None
    for signature in metadata.signatures:
        keyid = signature.keyid
        if keyid not in allowed or keyid in tried or keyid not in keys:
            continue
        tried.add(keyid)
        key = keys[keyid]
        if key.key_id != keyid:
            raise KeyIdMismatchError(f"{role}: key ID {keyid} is not valid for key content (it is {key.key_id})")
        try:
            material = key.material
        except KeyFormatError:  # a key notary cannot read never verifies
            continue
        if material in counted:  # the same key under another ID: counted already
            continue
        failure = None
        if digest is not None:  # a file of several signatures: a check that failed before is not made again
            failure = hashlib.sha256(b"\0".join((keyid.encode(), signature.method.encode(), signature.sig, digest)))
            if failure.digest() in _FAILED_CHECKS:
                continue
        if key.verify(signature.method, signature.sig, message, message_sha256=digest):
            valid.add(keyid)
            counted.add(material)
            if enough and len(valid) >= threshold:
                break
        elif failure is not None:
            if len(_FAILED_CHECKS) >= _MAX_FAILED_CHECKS:
                _FAILED_CHECKS.clear()
            _FAILED_CHECKS.add(failure.digest())
    return VerificationResult(role, threshold, frozenset(valid), frozenset(allowed - valid))


_FAILED_CHECKS: set[bytes] = set()
"""Signature checks that failed in this process, each named by the sha256 of (key ID, method, signature, sha256
of the message): a check is a pure function of those (the key ID is the hash of the key), so a flood of bogus
signatures costs its checks once, not again in every refresh (or twice in one, after a root rotation)."""
_MAX_FAILED_CHECKS = 16384


def raise_unless_verified(result: VerificationResult, metadata: SignedContent) -> VerificationResult:
    """``result``, or :class:`ThresholdError` when it misses the threshold (with notary's message)."""
    if not result.verified:
        detail = "data has no signatures" if not metadata.signatures else f"{len(result.signed)}/{result.threshold}"
        raise ThresholdError(f"valid signatures did not meet threshold for {result.role} ({detail})")
    return result


Signers = tuple[tuple[str, ...], int, Mapping[str, PublicKey]]
"""The keys and threshold a delegator gives a role -- who may sign it and how many must: the role's key IDs, its
threshold and the delegator's keys by key ID (a superset of the key IDs)."""


class Delegator:
    """A role that delegates: root (to the base roles) or a targets role (to its delegations).

    Subclasses say who signs a role (:meth:`signers`); checking the signatures is the same for all.
    """

    __slots__ = ()

    def signers(self, role: str) -> Signers:
        """The key IDs, threshold and keys that sign ``role``; :class:`UnknownRoleError` when this delegator does
        not delegate to it."""
        raise NotImplementedError

    def get_verification_result(self, role: str, metadata: SignedContent) -> VerificationResult:
        """Which of ``role``'s keys signed ``metadata`` (never raises for a missed threshold)."""
        keyids, threshold, keys = self.signers(role)
        return check_signatures(role, keyids, threshold, keys, metadata)

    def verify_delegate(self, role: str, metadata: SignedContent) -> VerificationResult:
        """Check that ``metadata`` meets ``role``'s threshold; raise :class:`ThresholdError` if not
        (checking stops at the threshold: ``signed`` then lists the keys that met it)."""
        keyids, threshold, keys = self.signers(role)
        result = check_signatures(role, keyids, threshold, keys, metadata, enough=True)
        return raise_unless_verified(result, metadata)
