"""Layer 1: keys and signing -- public keys and IDs, private keys, root certificates, notary's methods."""

from trustkit._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
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
}
"""Where each name of the package lives (module -> names); type checkers read ``__init__.pyi``, which imports the
same names from the same modules."""

# lazy: the read path imports this package but not all of it (see trustkit/_lazy.py)
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
