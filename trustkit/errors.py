"""The one exception hierarchy of trustkit.

Every failure that trustkit detects in its input or in the trust data it is given is raised as a subclass of
:class:`TrustkitError`, with a message that names the role, key ID or field at fault. Callers that only want to
know "was this trustworthy" catch :class:`VerificationError`; callers that want to tell a corrupt file from an
attack catch the narrower types.
"""

from __future__ import annotations

__all__ = [
    "CanonicalizationError",
    "ConfigurationError",
    "ConflictError",
    "ExpiredMetadataError",
    "FileAccessError",
    "HashMismatchError",
    "InvalidArgumentError",
    "KeyFormatError",
    "KeyIdMismatchError",
    "MalformedMetadataError",
    "NotFoundError",
    "OversizedResponseError",
    "PassphraseError",
    "RemoteError",
    "RepositoryNotFoundError",
    "RollbackError",
    "RootMismatchError",
    "ServerUnavailableError",
    "ServiceRetiredError",
    "SigningError",
    "TargetNotFoundError",
    "ThresholdError",
    "TrustkitError",
    "UnauthorizedError",
    "UnknownKeyError",
    "UnknownRoleError",
    "UntrustedRootError",
    "VerificationError",
]


class TrustkitError(Exception):
    """Base class of every error trustkit raises on purpose."""


class InvalidArgumentError(TrustkitError, ValueError):
    """An argument trustkit cannot use: no remote and not offline, a malformed digest or size, no key where one is
    needed. A mistake in the calling code rather than in trust data; the message says what to give instead. It is
    also a ``ValueError``, so code written against earlier releases that caught ``ValueError`` still catches it."""


class MalformedMetadataError(TrustkitError):
    """Metadata bytes that are not valid Notary v1 trust data (bad JSON, wrong types, missing fields)."""


class CanonicalizationError(MalformedMetadataError):
    """A value that docker/go's canonical JSON cannot represent (a non-integral number, a control character)."""


class ConfigurationError(TrustkitError):
    """Configuration that cannot be used: a malformed docker or notary config file, a credential helper that
    fails, TLS files that do not load, an invalid server URL or image reference."""


class FileAccessError(ConfigurationError):
    """A file or folder trustkit cannot or will not use: missing or unreadable, a file where a folder must be, a
    symbolic link inside a trust directory where trustkit writes, or a private key file (or the ``private/``
    folder) that others can read or write. The message names the path and what to change."""


class KeyFormatError(TrustkitError):
    """A public key, private key or certificate that cannot be read or is not usable with Notary."""


class PassphraseError(KeyFormatError):
    """An encrypted private key that the passphrase given (or its absence) does not decrypt."""


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


class UntrustedRootError(VerificationError):
    """A root that fails notary's root checks: certificates (CN, expiry, SHA-1, RSA size), trust pinning, or
    the rotation rule that a new root is signed by the previous root's threshold."""


class RootMismatchError(HashMismatchError):
    """A snapshot that lists a different root than the one trusted: the root must be updated first.

    ``expected_sha256`` is the hex sha256 of the root the snapshot lists, to download it by checksum.
    """

    def __init__(self, message: str, *, expected_sha256: str) -> None:
        super().__init__(message)
        self.expected_sha256 = expected_sha256


class RemoteError(TrustkitError):
    """A notary server or other remote refused a request or could not be reached.

    ``status`` is the HTTP status (None when there was no response), ``code`` and ``detail`` come from notary's
    ``{"errors":[{"code","message","detail"}]}`` body when there was one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, detail: object = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


class NotFoundError(RemoteError):
    """The remote has no such trust data (notary's ``ErrMetaNotFound``, HTTP 404)."""


class UnauthorizedError(RemoteError):
    """The remote refused the credentials, or there were none (HTTP 401/403)."""


class ConflictError(RemoteError):
    """The remote rejected an update: a stale version, or metadata that does not validate (HTTP 400)."""


class ServerUnavailableError(RemoteError):
    """The remote failed (5xx), timed out or dropped the connection, after any retries."""


class ServiceRetiredError(RemoteError):
    """The notary service asked for has shut down for good (Docker Hub's, on 2026-12-08): nothing can be read from
    or published to it, so trustkit does not try. The message says what to do instead."""


class OversizedResponseError(RemoteError):
    """The remote sent more bytes than allowed for what was asked (notary's ``ErrMaliciousServer``)."""


class RepositoryNotFoundError(NotFoundError):
    """The remote has no trust data for the GUN and nothing is cached (notary's ``ErrRepositoryNotExist``)."""


class TargetNotFoundError(TrustkitError):
    """No trusted role signs a target of that name (notary's ``ErrNoSuchTarget``)."""
