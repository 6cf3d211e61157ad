"""Layer 3: deciding what to believe -- root trust and pinning, and the trusted-metadata state machine (no I/O)."""

from trustkit.trust.pinning import TrustPinning, valid_root_keys, validate_root, validate_root_rotation
from trustkit.trust.trusted_set import TargetMatch, TargetRow, TrustedMetadataSet, UpdateOrderError

__all__ = [
    "TargetMatch",
    "TargetRow",
    "TrustPinning",
    "TrustedMetadataSet",
    "UpdateOrderError",
    "valid_root_keys",
    "validate_root",
    "validate_root_rotation",
]
