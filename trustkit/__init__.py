"""trustkit: a typed Python SDK for Docker Content Trust and Notary v1 trust data.

The names users type live here; each layer's package (``trustkit.keys``, ``trustkit.metadata``) holds the rest.

Importing ``trustkit`` is cheap: each name below is imported from its layer the first time it is used (module
``__getattr__``, PEP 562), so a program that only reads trust data never loads httpx, securesystemslib or the
keystores until it needs them. Type checkers and IDEs see ordinary imports (the ``TYPE_CHECKING`` block).
"""

from __future__ import annotations

import importlib
import logging

__version__ = "0.1.0"

# trustkit's warnings and debug records go where the application sends them; with no logging configured, nowhere
# (not to stderr through logging's last-resort handler)
logging.getLogger(__name__).addHandler(logging.NullHandler())

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (16 ms): type checkers take it as True
if TYPE_CHECKING:
    from typing import Any

    from trustkit.client import (
        HealthReport,
        InvalidChangeError,
        MetadataCache,
        Reader,
        Repository,
        RepositorySummary,
        health_report,
        repository_summary,
    )
    from trustkit.dct import DockerTrust, RepositoryTrust, TrustInspection
    from trustkit.errors import (
        CanonicalizationError,
        ConfigurationError,
        ConflictError,
        ExpiredMetadataError,
        HashMismatchError,
        KeyFormatError,
        KeyIdMismatchError,
        MalformedMetadataError,
        NotFoundError,
        OversizedResponseError,
        PassphraseError,
        RemoteError,
        RepositoryNotFoundError,
        RollbackError,
        RootMismatchError,
        ServerUnavailableError,
        SigningError,
        TargetNotFoundError,
        ThresholdError,
        TrustkitError,
        UnauthorizedError,
        UnknownKeyError,
        UnknownRoleError,
        UntrustedRootError,
        VerificationError,
    )
    from trustkit.keys import (
        PrivateKey,
        PublicKey,
        generate_private_key,
        load_private_key,
        make_root_certificate,
        make_root_key,
    )
    from trustkit.keystore import (
        CallbackPassphrase,
        ChainedKeyStore,
        DockerEnvPassphrase,
        ExternalKeyStore,
        FileKeyStore,
        KeyInfo,
        KeyStore,
        MemoryKeyStore,
        NotaryEnvPassphrase,
        RolePassphrases,
        docker_trust_dir,
        notary_trust_dir,
    )
    from trustkit.metadata import (
        DelegatedRole,
        Delegations,
        Metadata,
        MetaFile,
        Role,
        Root,
        Signature,
        Snapshot,
        TargetFile,
        Targets,
        Timestamp,
        VerificationResult,
        default_expiry,
    )
    from trustkit.remote import ChangeRecord, Credentials, LocalRemote, MemoryRemote, NotaryServer, Remote
    from trustkit.trust import TargetMatch, TargetRow, TrustedMetadataSet, TrustPinning

_LAZY: dict[str, str] = {
    "HealthReport": "trustkit.client",
    "RepositorySummary": "trustkit.client",
    "health_report": "trustkit.client",
    "repository_summary": "trustkit.client",
    "DockerTrust": "trustkit.dct",
    "RepositoryTrust": "trustkit.dct",
    "TrustInspection": "trustkit.dct",
    "InvalidChangeError": "trustkit.client",
    "MetadataCache": "trustkit.client",
    "Reader": "trustkit.client",
    "Repository": "trustkit.client",
    "CanonicalizationError": "trustkit.errors",
    "ConfigurationError": "trustkit.errors",
    "ConflictError": "trustkit.errors",
    "ExpiredMetadataError": "trustkit.errors",
    "HashMismatchError": "trustkit.errors",
    "KeyFormatError": "trustkit.errors",
    "KeyIdMismatchError": "trustkit.errors",
    "MalformedMetadataError": "trustkit.errors",
    "NotFoundError": "trustkit.errors",
    "OversizedResponseError": "trustkit.errors",
    "PassphraseError": "trustkit.errors",
    "RemoteError": "trustkit.errors",
    "RepositoryNotFoundError": "trustkit.errors",
    "RollbackError": "trustkit.errors",
    "RootMismatchError": "trustkit.errors",
    "ServerUnavailableError": "trustkit.errors",
    "SigningError": "trustkit.errors",
    "TargetNotFoundError": "trustkit.errors",
    "ThresholdError": "trustkit.errors",
    "TrustkitError": "trustkit.errors",
    "UnauthorizedError": "trustkit.errors",
    "UnknownKeyError": "trustkit.errors",
    "UnknownRoleError": "trustkit.errors",
    "UntrustedRootError": "trustkit.errors",
    "VerificationError": "trustkit.errors",
    "PrivateKey": "trustkit.keys",
    "PublicKey": "trustkit.keys",
    "generate_private_key": "trustkit.keys",
    "load_private_key": "trustkit.keys",
    "make_root_certificate": "trustkit.keys",
    "make_root_key": "trustkit.keys",
    "CallbackPassphrase": "trustkit.keystore",
    "ChainedKeyStore": "trustkit.keystore",
    "DockerEnvPassphrase": "trustkit.keystore",
    "ExternalKeyStore": "trustkit.keystore",
    "FileKeyStore": "trustkit.keystore",
    "KeyInfo": "trustkit.keystore",
    "KeyStore": "trustkit.keystore",
    "MemoryKeyStore": "trustkit.keystore",
    "NotaryEnvPassphrase": "trustkit.keystore",
    "RolePassphrases": "trustkit.keystore",
    "docker_trust_dir": "trustkit.keystore",
    "notary_trust_dir": "trustkit.keystore",
    "DelegatedRole": "trustkit.metadata",
    "Delegations": "trustkit.metadata",
    "Metadata": "trustkit.metadata",
    "MetaFile": "trustkit.metadata",
    "Role": "trustkit.metadata",
    "Root": "trustkit.metadata",
    "Signature": "trustkit.metadata",
    "Snapshot": "trustkit.metadata",
    "TargetFile": "trustkit.metadata",
    "Targets": "trustkit.metadata",
    "Timestamp": "trustkit.metadata",
    "VerificationResult": "trustkit.metadata",
    "default_expiry": "trustkit.metadata",
    "ChangeRecord": "trustkit.remote",
    "Credentials": "trustkit.remote",
    "LocalRemote": "trustkit.remote",
    "MemoryRemote": "trustkit.remote",
    "NotaryServer": "trustkit.remote",
    "Remote": "trustkit.remote",
    "TargetMatch": "trustkit.trust",
    "TargetRow": "trustkit.trust",
    "TrustedMetadataSet": "trustkit.trust",
    "TrustPinning": "trustkit.trust",
}
"""Where each public name lives: imported on first use."""

__all__ = [
    "CallbackPassphrase",
    "CanonicalizationError",
    "ChainedKeyStore",
    "ChangeRecord",
    "ConfigurationError",
    "ConflictError",
    "Credentials",
    "DelegatedRole",
    "Delegations",
    "DockerEnvPassphrase",
    "DockerTrust",
    "ExpiredMetadataError",
    "ExternalKeyStore",
    "FileKeyStore",
    "HashMismatchError",
    "HealthReport",
    "InvalidChangeError",
    "KeyFormatError",
    "KeyIdMismatchError",
    "KeyInfo",
    "KeyStore",
    "LocalRemote",
    "MalformedMetadataError",
    "MemoryKeyStore",
    "MemoryRemote",
    "MetaFile",
    "Metadata",
    "MetadataCache",
    "NotFoundError",
    "NotaryEnvPassphrase",
    "NotaryServer",
    "OversizedResponseError",
    "PassphraseError",
    "PrivateKey",
    "PublicKey",
    "Reader",
    "Remote",
    "RemoteError",
    "Repository",
    "RepositoryNotFoundError",
    "RepositorySummary",
    "RepositoryTrust",
    "Role",
    "RolePassphrases",
    "RollbackError",
    "Root",
    "RootMismatchError",
    "ServerUnavailableError",
    "Signature",
    "SigningError",
    "Snapshot",
    "TargetFile",
    "TargetMatch",
    "TargetNotFoundError",
    "TargetRow",
    "Targets",
    "ThresholdError",
    "Timestamp",
    "TrustInspection",
    "TrustPinning",
    "TrustedMetadataSet",
    "TrustkitError",
    "UnauthorizedError",
    "UnknownKeyError",
    "UnknownRoleError",
    "UntrustedRootError",
    "VerificationError",
    "VerificationResult",
    "__version__",
    "default_expiry",
    "docker_trust_dir",
    "generate_private_key",
    "health_report",
    "load_private_key",
    "make_root_certificate",
    "make_root_key",
    "notary_trust_dir",
    "repository_summary",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its layer on first use, and keep it here (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trustkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
