"""Type checkers' view of ``trustkit/keys/__init__.py``: the names of its ``_EXPORTS`` table, imported from the
same modules (``tests/unit/test_lazy_imports.py`` keeps the two equal)."""

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
