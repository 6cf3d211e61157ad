"""Layer 3: deciding what to believe -- root trust and pinning, and the trusted-metadata state machine (no I/O)."""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "trustkit.trust.pinning": (
            "TrustPinning",
            "valid_root_keys",
            "validate_root",
            "validate_root_rotation",
        ),
        "trustkit.trust.trusted_set": (
            "TargetMatch",
            "TargetRow",
            "TrustedMetadataSet",
            "UpdateOrderError",
        ),
    },
)
