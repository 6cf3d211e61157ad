"""The one exception hierarchy of trustkit.

Every failure that trustkit detects in its input or in the trust data it is given is raised as a subclass of
:class:`TrustkitError`, with a message that names the role, key ID or field at fault. Callers that only want to
know "was this trustworthy" catch :class:`VerificationError`; callers that want to tell a corrupt file from an
attack catch the narrower types.
"""

from __future__ import annotations

__all__ = [
    "CanonicalizationError",
    "ExpiredMetadataError",
    "HashMismatchError",
    "KeyFormatError",
    "KeyIdMismatchError",
    "MalformedMetadataError",
    "RollbackError",
    "SigningError",
    "ThresholdError",
    "TrustkitError",
    "UnknownKeyError",
    "UnknownRoleError",
    "VerificationError",
]


class TrustkitError(Exception):
    """Base class of every error trustkit raises on purpose."""


class MalformedMetadataError(TrustkitError):
    """Metadata bytes that are not valid Notary v1 trust data (bad JSON, wrong types, missing fields)."""


class CanonicalizationError(MalformedMetadataError):
    """A value that docker/go's canonical JSON cannot represent (a non-integral number, a control character)."""


class KeyFormatError(TrustkitError):
    """A public key, private key or certificate that cannot be read or is not usable with Notary."""


class SigningError(TrustkitError):
    """A signer failed, or produces signatures that Notary cannot verify."""


class UnknownRoleError(TrustkitError):
    """A role name that the metadata at hand does not define (or that is not a valid role name)."""


class UnknownKeyError(TrustkitError):
    """A key ID that the metadata or key store at hand does not hold."""


class VerificationError(TrustkitError):
    """Trust data that must not be trusted: a failed signature, hash, expiry or version check."""


class ThresholdError(VerificationError):
    """Fewer distinct keys than a role's threshold produced valid signatures."""


class KeyIdMismatchError(VerificationError):
    """A key listed under a key ID whose content hashes to a different ID."""


class ExpiredMetadataError(VerificationError):
    """Metadata whose ``expires`` time has passed."""


class RollbackError(VerificationError):
    """Metadata whose version is lower than the version already trusted."""


class HashMismatchError(VerificationError):
    """Bytes whose length or hashes differ from what trusted metadata says they must be."""
