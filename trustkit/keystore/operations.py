"""Key operations with the semantics of the CLIs they replace, over any :class:`~trustkit.keystore.KeyStore`.

- :func:`generate_delegation_key`: ``docker trust key generate NAME [--dir DIR]``;
- :func:`load_key_file`: ``docker trust key load FILE [--name NAME]``;
- :func:`generate_key`: ``notary key generate [--role ROLE]``;
- :func:`validate_key_name` / :func:`validate_signer_name`: docker's name rules.

``notary key import/export/remove/passwd`` are methods of the PEM keystores (``import_keys``, ``export_keys``,
``remove_key``, ``change_passphrase``), and ``export_key``/``remove_key`` of every keystore.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from trustkit._fs import atomic_write
from trustkit.errors import InvalidArgumentError, KeyFormatError, UnknownKeyError
from trustkit.keys.pem import decode_pem_blocks, encode_pem
from trustkit.keys.private import KeyType, PrivateKey, generate_private_key
from trustkit.keys.public import PublicKey
from trustkit.keystore.base import KeyInfo, KeyStore, key_gun
from trustkit.keystore.file import _read_key_file
from trustkit.keystore.passphrase import (
    DEFAULT_MAX_ATTEMPTS,
    PassphraseSource,
    as_retriever,
    unlock_private_key,
)
from trustkit.keystore.pemstore import DEFAULT_IMPORT_ROLE, PRIVATE_KEY_PEM_TYPES

__all__ = [
    "DEFAULT_LOAD_NAME",
    "KEY_NAME_PATTERN",
    "LOAD_PASSPHRASE_ROLE",
    "RESERVED_SIGNER_NAMES",
    "generate_delegation_key",
    "generate_key",
    "load_key_file",
    "public_key_pem",
    "validate_key_name",
    "validate_signer_name",
]

KEY_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\_\-]*$")
"""docker's rule for key and signer names (``validKeyName``)."""

RESERVED_SIGNER_NAMES = frozenset({"releases"})
"""Signer names docker refuses: ``targets/releases`` holds every signer's keys."""

DEFAULT_LOAD_NAME = "signer"
"""The name ``docker trust key load`` gives a key without ``--name``."""

LOAD_PASSPHRASE_ROLE = "encrypted"  # noqa: S105 -- a role alias, not a passphrase
"""The alias docker asks a passphrase for when it decrypts a file being loaded (its REPOSITORY passphrase)."""


def validate_key_name(name: str) -> str:
    """Return ``name`` if docker accepts it for a key (``^[a-z0-9][a-z0-9_-]*$``), else raise
    :class:`~trustkit.errors.InvalidArgumentError`."""
    # fullmatch, not match: "$" would accept a trailing newline
    if not isinstance(name, str) or not KEY_NAME_PATTERN.fullmatch(name):
        raise InvalidArgumentError(
            f'key name "{name}" must start with lowercase alphanumeric characters and can include "-" or "_" '
            "after the first character"
        )
    return name


def validate_signer_name(name: str) -> str:
    """:func:`validate_key_name`, and refuse the reserved ``releases`` (``docker trust signer add``)."""
    validate_key_name(name)
    if name in RESERVED_SIGNER_NAMES:
        raise InvalidArgumentError(f"{name} is a reserved keyword and cannot be used as a signer name")
    return name


def public_key_pem(key: PublicKey, *, role: str | None = None) -> bytes:
    """A ``PUBLIC KEY`` PEM (DER SubjectPublicKeyInfo) with a ``role:`` header, as docker writes ``NAME.pub``.

    This is what ``docker trust signer add --key`` and ``notary delegation add`` read (certificates are
    unwrapped to their bare key).
    """
    der = key.bare().crypto_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return encode_pem("PUBLIC KEY", der, {"role": role} if role else None)


def generate_delegation_key(
    store: KeyStore,
    name: str,
    *,
    directory: str | os.PathLike[str] | None = None,
    keytype: KeyType = "ecdsa",
) -> PublicKey:
    """Generate a signer key as ``docker trust key generate NAME --dir DIRECTORY`` does, and return its public key.

    The key (ECDSA P-256 unless ``keytype`` says ``"ed25519"``, which docker's own commands cannot use) is stored
    with ``role: NAME`` and no GUN, encrypted with the passphrase the store's retriever gives for role ``NAME``
    (``DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE`` with :class:`~trustkit.keystore.DockerEnvPassphrase`). With
    ``directory``, ``NAME.pub`` is written there (mode 0600, a ``PUBLIC KEY`` PEM with a ``role: NAME`` header);
    as docker, the directory must exist and ``NAME.pub`` must not, checked before anything is generated.
    Raises :class:`~trustkit.errors.InvalidArgumentError` for a bad name, ``FileNotFoundError``/``FileExistsError``
    for the public key file.
    """
    validate_key_name(name)
    pub_path = None
    if directory is not None:
        folder = Path(directory)
        if not folder.is_dir():
            raise FileNotFoundError(f'public key path does not exist: "{folder}"')
        pub_path = folder / f"{name}.pub"
        if pub_path.exists():
            raise FileExistsError(f'public key file already exists: "{pub_path}"')
    key = generate_private_key(keytype, role=name)
    store.add_key(key, role=name, gun=None)
    if pub_path is not None:
        atomic_write(pub_path, public_key_pem(key.public_key, role=name), mode=0o600)
    return key.public_key


def generate_key(store: KeyStore, role: str, *, gun: str | None = None, keytype: KeyType = "ecdsa") -> PublicKey:
    """Generate a key for ``role`` in ``store`` (``notary key generate --role ROLE``; root keys by default there).

    The GUN is kept for targets, snapshot and timestamp keys only.
    """
    key = generate_private_key(keytype, role=role, gun=gun)
    store.add_key(key, role=role, gun=gun)
    return key.public_key


def load_key_file(
    store: KeyStore,
    path: str | os.PathLike[str],
    *,
    name: str = DEFAULT_LOAD_NAME,
    passphrase: PassphraseSource = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[KeyInfo]:
    """Load the private key(s) of a PEM file into ``store``, as ``docker trust key load FILE --name NAME`` does.

    Like docker: ``name`` must pass :func:`validate_key_name`; a file that is missing, a folder, a symbolic link or
    has any group or other permission bit is refused (:class:`~trustkit.errors.FileAccessError`); the file must
    hold private key PEM and nothing else (``KeyFormatError``); each key keeps its
    ``role:`` header, else gets ``name``; only targets/snapshot/timestamp keys keep a ``gun:`` header; the store
    encrypts each key with its own retriever's passphrase for that role. A key already in the store is never
    replaced: loading it again with the same role (and GUN) changes nothing, and with another role is a
    ``KeyFormatError`` that loads nothing (it replaced the key file, its role and passphrase, before).

    An encrypted file is decrypted with ``passphrase`` (a retriever, asked for role ``"encrypted"`` as docker does,
    which :class:`~trustkit.keystore.DockerEnvPassphrase` answers with the REPOSITORY passphrase). docker 28 reports
    success and silently imports nothing for an encrypted PKCS#8 file; trustkit imports the key. Ed25519 keys
    (which docker refuses) are accepted. Returns the stored keys' entries.
    """
    if name:
        validate_key_name(name)
    file_path = Path(path)
    data = _read_key_file(file_path)
    try:
        blocks = decode_pem_blocks(data, what=str(file_path), strict=True)
    except KeyFormatError:
        blocks = []
    if not blocks or blocks[0].type not in PRIVATE_KEY_PEM_TYPES:
        raise KeyFormatError(
            f"provided file {file_path} is not a supported private key - to add a signer's public key use "
            "docker trust signer add"
        )
    retriever = as_retriever(passphrase)
    keys: list[PrivateKey] = []
    for number, block in enumerate(blocks, 1):
        if block.type not in PRIVATE_KEY_PEM_TYPES:
            raise KeyFormatError(f"{file_path}: block {number} is not a private key (PEM type {block.type!r})")
        key = unlock_private_key(
            encode_pem(block.type, block.der, block.headers),
            retriever,
            key_id="",
            role=LOAD_PASSPHRASE_ROLE,
            max_attempts=max_attempts,
            where=f"{file_path}" if len(blocks) == 1 else f"{file_path} (block {number})",
        )
        keys.append(key)
    plans: list[tuple[PrivateKey, str, KeyInfo | None]] = []
    for key in keys:  # all checked before any is stored: a refused file loads nothing
        role = key.role or name or DEFAULT_IMPORT_ROLE
        try:
            existing: KeyInfo | None = store.get_key_info(key.key_id)
        except UnknownKeyError:
            existing = None
        if existing is not None and (existing.role, existing.gun) != (role, key_gun(role, key.gun)):
            raise KeyFormatError(
                f"{file_path}: key {key.key_id} is already in the store as role {existing.role!r}"
                f"{f' of {existing.gun}' if existing.gun else ''}: loading it as {role!r} would replace that key "
                "file (its role and passphrase); remove the stored key first if you mean to, or load another key"
            )
        plans.append((key, role, existing))
    return [
        existing if existing is not None else store.add_key(key, role=role, gun=key.gun)
        for key, role, existing in plans
    ]
