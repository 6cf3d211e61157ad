"""Layer 1: keys and signing -- public keys and IDs, private keys, root certificates, notary's methods."""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.errors import PassphraseError
    from trustkit.keys.certs import (
        check_certificate,
        cn_matches_gun,
        make_root_certificate,
        make_root_key,
    )
    from trustkit.keys.private import (
        MIN_PBKDF2_ITERATIONS,
        PBKDF2_ITERATIONS,
        PrivateKey,
        generate_private_key,
        is_weakly_encrypted,
        load_private_key,
    )
    from trustkit.keys.public import KEY_TYPES, PublicKey
    from trustkit.keys.signing import METHODS, on_signer_thread, sign_message

__all__ = [
    "KEY_TYPES",
    "METHODS",
    "MIN_PBKDF2_ITERATIONS",
    "PBKDF2_ITERATIONS",
    "PassphraseError",
    "PrivateKey",
    "PublicKey",
    "check_certificate",
    "cn_matches_gun",
    "generate_private_key",
    "is_weakly_encrypted",
    "load_private_key",
    "make_root_certificate",
    "make_root_key",
    "on_signer_thread",
    "sign_message",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "trustkit.errors": ("PassphraseError",),
        "trustkit.keys.certs": (
            "check_certificate",
            "cn_matches_gun",
            "make_root_certificate",
            "make_root_key",
        ),
        "trustkit.keys.private": (
            "MIN_PBKDF2_ITERATIONS",
            "PBKDF2_ITERATIONS",
            "PrivateKey",
            "generate_private_key",
            "is_weakly_encrypted",
            "load_private_key",
        ),
        "trustkit.keys.public": (
            "KEY_TYPES",
            "PublicKey",
        ),
        "trustkit.keys.signing": (
            "METHODS",
            "on_signer_thread",
            "sign_message",
        ),
    },
)
