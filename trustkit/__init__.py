"""trustkit: a typed Python SDK for Docker Content Trust and Notary v1 trust data.

The names users type live here; each layer's package (``trustkit.keys``, ``trustkit.metadata``) holds the rest.
"""

from trustkit.errors import (
    CanonicalizationError,
    ExpiredMetadataError,
    HashMismatchError,
    KeyFormatError,
    KeyIdMismatchError,
    MalformedMetadataError,
    RollbackError,
    SigningError,
    ThresholdError,
    TrustkitError,
    UnknownKeyError,
    UnknownRoleError,
    VerificationError,
)
from trustkit.keys import (
    PassphraseError,
    PrivateKey,
    PublicKey,
    generate_private_key,
    load_private_key,
    make_root_certificate,
    make_root_key,
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

__version__ = "0.1.0.dev0"

__all__ = [
    "CanonicalizationError",
    "DelegatedRole",
    "Delegations",
    "ExpiredMetadataError",
    "HashMismatchError",
    "KeyFormatError",
    "KeyIdMismatchError",
    "MalformedMetadataError",
    "MetaFile",
    "Metadata",
    "PassphraseError",
    "PrivateKey",
    "PublicKey",
    "Role",
    "RollbackError",
    "Root",
    "Signature",
    "SigningError",
    "Snapshot",
    "TargetFile",
    "Targets",
    "ThresholdError",
    "Timestamp",
    "TrustkitError",
    "UnknownKeyError",
    "UnknownRoleError",
    "VerificationError",
    "VerificationResult",
    "__version__",
    "default_expiry",
    "generate_private_key",
    "load_private_key",
    "make_root_certificate",
    "make_root_key",
]
