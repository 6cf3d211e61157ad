"""Layer 2: Notary v1 metadata as immutable models (no I/O)."""

from trustkit.metadata.envelope import Metadata, Signature
from trustkit.metadata.roles import (
    DEFAULT_EXPIRY,
    DelegatedRole,
    Delegations,
    MetaFile,
    Role,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
    VerificationResult,
    check_signatures,
    default_expiry,
)

__all__ = [
    "DEFAULT_EXPIRY",
    "DelegatedRole",
    "Delegations",
    "MetaFile",
    "Metadata",
    "Role",
    "Root",
    "Signature",
    "Signed",
    "Snapshot",
    "TargetFile",
    "Targets",
    "Timestamp",
    "VerificationResult",
    "check_signatures",
    "default_expiry",
]
