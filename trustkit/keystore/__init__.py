"""Layer 4: private keys at rest -- in a docker/notary trust directory, in memory, or behind any securesystemslib
signer URI (HSM, cloud KMS) -- and the passphrases that unlock them.

Higher layers use only the :class:`KeyStore` protocol: list keys (:class:`KeyInfo`), get a signer for a key ID, add,
export and remove keys.
"""

from trustkit.keystore.base import ChainedKeyStore, KeyInfo, KeyStore, is_key_id, key_gun, private_key_id
from trustkit.keystore.external import ExternalKeyStore, SecretsHandler, signer_from_uri, sslib_public_key
from trustkit.keystore.file import FileKeyStore, docker_trust_dir, notary_trust_dir
from trustkit.keystore.memory import MemoryKeyStore
from trustkit.keystore.operations import (
    generate_delegation_key,
    generate_key,
    load_key_file,
    public_key_pem,
    validate_key_name,
    validate_signer_name,
)
from trustkit.keystore.passphrase import (
    DEFAULT_MAX_ATTEMPTS,
    NO_PASSPHRASE,
    CallbackPassphrase,
    DockerEnvPassphrase,
    NotaryEnvPassphrase,
    PassphraseRetriever,
    PassphraseSource,
    RolePassphrases,
    as_retriever,
    new_passphrase,
    unlock_private_key,
    unlock_with_passphrase,
)
from trustkit.keystore.pemstore import PemKeyStore, StoredKey

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "NO_PASSPHRASE",
    "CallbackPassphrase",
    "ChainedKeyStore",
    "DockerEnvPassphrase",
    "ExternalKeyStore",
    "FileKeyStore",
    "KeyInfo",
    "KeyStore",
    "MemoryKeyStore",
    "NotaryEnvPassphrase",
    "PassphraseRetriever",
    "PassphraseSource",
    "PemKeyStore",
    "RolePassphrases",
    "SecretsHandler",
    "StoredKey",
    "as_retriever",
    "docker_trust_dir",
    "generate_delegation_key",
    "generate_key",
    "is_key_id",
    "key_gun",
    "load_key_file",
    "new_passphrase",
    "notary_trust_dir",
    "private_key_id",
    "public_key_pem",
    "signer_from_uri",
    "sslib_public_key",
    "unlock_private_key",
    "unlock_with_passphrase",
    "validate_key_name",
    "validate_signer_name",
]
