"""Layer 2: Notary v1 metadata as immutable models (no I/O)."""

from trustkit.metadata._compact import dump_parsed, load_parsed
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import MetaFile, TargetFile
from trustkit.metadata.roles import (
    DEFAULT_EXPIRY,
    DelegatedRole,
    Delegations,
    Role,
    Root,
    Signed,
    Snapshot,
    Targets,
    Timestamp,
    default_expiry,
)
from trustkit.metadata.verification import Signature, VerificationResult, check_signatures

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
    "dump_parsed",
    "load_parsed",
]
