"""Layer 1: keys and signing -- public keys and IDs, private keys, root certificates, notary's methods."""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.errors import PassphraseError as PassphraseError
    from trustkit.keys.certs import check_certificate as check_certificate
    from trustkit.keys.certs import cn_matches_gun as cn_matches_gun
    from trustkit.keys.certs import make_root_certificate as make_root_certificate
    from trustkit.keys.certs import make_root_key as make_root_key
    from trustkit.keys.private import MIN_PBKDF2_ITERATIONS as MIN_PBKDF2_ITERATIONS
    from trustkit.keys.private import PBKDF2_ITERATIONS as PBKDF2_ITERATIONS
    from trustkit.keys.private import PrivateKey as PrivateKey
    from trustkit.keys.private import generate_private_key as generate_private_key
    from trustkit.keys.private import is_weakly_encrypted as is_weakly_encrypted
    from trustkit.keys.private import load_private_key as load_private_key
    from trustkit.keys.public import KEY_TYPES as KEY_TYPES
    from trustkit.keys.public import PublicKey as PublicKey
    from trustkit.keys.signing import METHODS as METHODS
    from trustkit.keys.signing import on_signer_thread as on_signer_thread
    from trustkit.keys.signing import sign_message as sign_message

# lazy: the read path imports this package but not all of it (see trustkit/_lazy.py)
__getattr__, __dir__, __all__ = lazy_exports(
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
