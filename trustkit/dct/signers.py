"""Signers: ``docker trust signer add`` and ``signer remove`` over a :class:`~trustkit.client.Repository`.

A docker *signer* NAME is the delegation ``targets/NAME`` (all paths) whose keys are also in
``targets/releases``, the role docker reads released tags from. Adding one stages exactly what docker's
``addStagedSigner`` stages (``targets/NAME`` keys, then its paths ``[""]``, then the same for
``targets/releases``) and publishes, initialising the repository first when the server has none (root key reused or
created, a new repository key, snapshot and timestamp left to the server).

Removing one is what docker 28 means to do and, in most cases, silently does not (its ``signer remove`` returns
before publishing unless the signer is the last one and the prompt is answered ``y``): the signer's keys leave
``targets/releases`` (except keys another signer also holds) and ``targets/NAME`` is deleted, in one publish; the
result warns when ``targets/releases`` is left with fewer keys than its threshold, or no longer verifies, and lists
the tags that need re-signing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from trustkit.client.changelist import Change
from trustkit.client.repository import Repository
from trustkit.dct._errors import logged
from trustkit.dct._format import natural_sort_key
from trustkit.dct.inspect import (
    RELEASES_ROLE,
    delegation_roles,
    inspect_trusted,
    signer_role,
)
from trustkit.errors import InvalidArgumentError, KeyFormatError, RepositoryNotFoundError, UnknownRoleError
from trustkit.keys.certs import check_certificate
from trustkit.keys.public import PublicKey
from trustkit.keystore.operations import validate_signer_name
from trustkit.metadata.names import TARGETS, parent_role

__all__ = [
    "MAX_PUBLIC_KEY_FILE_SIZE",
    "AddedSigner",
    "RemovedSigner",
    "SignerKeySource",
    "add_signer",
    "read_signer_key",
    "remove_signer",
    "signer_changes",
]

logger = logging.getLogger(__name__)

MAX_PUBLIC_KEY_FILE_SIZE = 1 << 20
"""docker reads at most 1 MiB of a ``--key`` file."""

SignerKeySource = PublicKey | bytes | str | os.PathLike[str] | Any
"""A signer's public key: a :class:`~trustkit.keys.PublicKey`, a securesystemslib ``Key`` (what
``HSMSigner.import_`` returns), PEM bytes or text, or the path of a PEM file."""


def read_signer_key(source: SignerKeySource) -> PublicKey:
    """A signer's public key as ``docker trust signer add --key`` reads it (notary's ``ParsePEMPublicKey``).

    A ``PUBLIC KEY`` PEM gives a bare ``ecdsa``/``rsa`` key, a ``CERTIFICATE`` an ``ecdsa-x509``/``rsa-x509`` key
    whose certificate must be valid now (not expired, no SHA-1 signature). RSA keys need at least 2048 bits; Ed25519
    is refused, as docker refuses it. ``source`` is a key (trustkit's or securesystemslib's), PEM bytes, PEM text,
    or a file path. Raises
    :class:`~trustkit.errors.KeyFormatError` naming the file.
    """
    where = "public key"
    if not isinstance(source, bytes | str | os.PathLike):
        key = PublicKey.from_key(source)  # a PublicKey, or a securesystemslib Key; KeyFormatError otherwise
    else:
        if isinstance(source, bytes):
            data = source
        elif isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
            data = source.encode()
        else:
            path = Path(source)
            where = str(path)
            try:
                with open(path, "rb") as handle:
                    data = handle.read(MAX_PUBLIC_KEY_FILE_SIZE)
            except OSError as exc:
                raise KeyFormatError(f"unable to read public key from file {path}: {exc.strerror or exc}") from None
        try:
            key = PublicKey.from_pem(data)
        except (KeyFormatError, ValueError) as exc:  # ValueError: a certificate whose key cryptography refuses
            raise KeyFormatError(f"could not parse public key from {where}: {exc}") from None
    if key.keytype not in ("ecdsa", "rsa", "ecdsa-x509", "rsa-x509"):
        raise KeyFormatError(f"could not parse public key from {where}: unknown public key format {key.keytype!r}")
    try:
        for certificate in key.certificates[:1]:
            check_certificate(certificate)
        key.crypto_key  # noqa: B018 - RSA under 2048 bits or an unreadable key fails now rather than at publish
    except (KeyFormatError, ValueError) as exc:
        raise KeyFormatError(f"could not parse public key from {where}: {exc}") from None
    return key


def signer_changes(name: str, keys: Sequence[PublicKey]) -> list[Change]:
    """The four changes docker's ``addStagedSigner`` stages for signer ``name`` with ``keys``."""
    role = signer_role(name)
    return [
        Change.create_delegation(role, keys=keys),
        Change.create_delegation(role, paths=[""]),
        Change.create_delegation(RELEASES_ROLE, keys=keys),
        Change.create_delegation(RELEASES_ROLE, paths=[""]),
    ]


@attrs.frozen
class AddedSigner:
    """A signer added to a repository: its name, the keys added (to ``targets/<name>`` and ``targets/releases``),
    and whether the repository was initialised for it."""

    name: str
    gun: str
    keys: tuple[PublicKey, ...]
    initialized: bool

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The keys' canonical IDs (as ``docker trust inspect`` and ``notary delegation list`` show them)."""
        return tuple(key.canonical_id for key in self.keys)


def add_signer(repository: Repository, name: str, keys: Sequence[SignerKeySource]) -> AddedSigner:
    """``docker trust signer add --key K… NAME REPO`` on ``repository``; see the module documentation.

    Raises :class:`~trustkit.errors.InvalidArgumentError` for a name docker refuses (``releases`` is reserved) or
    no key, :class:`~trustkit.errors.KeyFormatError` for an unusable key, and the repository's errors otherwise.
    """
    validate_signer_name(name)
    if not keys:
        raise InvalidArgumentError(
            "give the signer's public key(s): a path to a PEM public key or certificate, or its bytes"
        )
    public_keys = [read_signer_key(source) for source in keys]
    initialized = False
    try:
        repository.reader().refresh()
    except RepositoryNotFoundError:
        logger.info("initialising signed repository for %s", repository.gun)
        repository.initialize(server_managed_snapshot=True)
        initialized = True
    repository.publish_changes(signer_changes(name, public_keys))
    return AddedSigner(name, repository.gun, tuple(public_keys), initialized)


@attrs.frozen
class RemovedSigner:
    """What removing a signer did, and what is left to do.

    ``removed_key_ids`` left ``targets/releases``; ``kept_key_ids`` stayed there because another signer holds them
    too. ``releases_keys`` and ``releases_threshold`` describe ``targets/releases`` afterwards (a role with fewer
    keys than its threshold cannot release tags). ``needs_witness`` is True when the current
    ``targets/releases`` metadata is no longer signed by enough of its keys (its tags are ignored until it is
    re-signed with :meth:`~trustkit.dct.DockerTrust.witness`); ``witnessed`` when it was re-signed in the same
    publish. ``tags_to_resign`` are the released tags no other signer signed, and every tag of ``targets/releases``
    when it needs a witness. ``warnings`` says all of this in words (each was also logged).
    """

    name: str
    gun: str
    removed_key_ids: tuple[str, ...]
    kept_key_ids: tuple[str, ...]
    releases_keys: int
    releases_threshold: int
    needs_witness: bool
    witnessed: bool
    tags_to_resign: tuple[str, ...]
    warnings: tuple[str, ...]


def remove_signer(repository: Repository, name: str, *, witness: bool = False) -> RemovedSigner:
    """``docker trust signer remove NAME REPO`` done right on ``repository``; see the module documentation.

    With ``witness``, ``targets/releases`` is also re-signed in the same publish with the keys of it that remain
    and that the keystore holds, so that the tags it lists stay valid. Raises
    :class:`~trustkit.errors.InvalidArgumentError` for ``releases`` or an invalid name and
    :class:`~trustkit.errors.UnknownRoleError` when the repository has no such signer.
    """
    if name == "releases":
        raise InvalidArgumentError("releases is a reserved keyword and cannot be removed")
    validate_signer_name(name)
    gun = repository.gun
    role = signer_role(name)
    reader = repository.reader()
    trusted = reader.refresh()
    roles = {delegation.name: (delegation, ids) for delegation, ids in delegation_roles(trusted)}
    if role not in roles:
        raise UnknownRoleError(f"no signer {name} for repository {gun}: docker trust inspect {gun} lists its signers")
    signer_ids = roles[role][1]
    releases = roles.get(RELEASES_ROLE)
    releases_ids = releases[1] if releases is not None else ()
    others = {
        key_id
        for other, (delegation, ids) in roles.items()
        if other not in (role, RELEASES_ROLE) and parent_role(delegation.name) == TARGETS
        for key_id in ids
    }
    removed = tuple(dict.fromkeys(k for k in signer_ids if k in releases_ids and k not in others))
    kept = tuple(dict.fromkeys(k for k in signer_ids if k in releases_ids and k in others))
    changes = []
    if removed:
        changes.append(Change.update_delegation(RELEASES_ROLE, remove_keys=removed))
    changes.append(Change.delete_delegation(role))
    if witness and releases is not None:
        changes.append(Change.witness(RELEASES_ROLE))
    before = inspect_trusted(trusted, name=gun, gun=gun)
    released_by_signer = [tag.name for tag in before.signed_tags if set(tag.signers) == {name}]
    releases_tags = list(trusted[RELEASES_ROLE].signed.targets) if RELEASES_ROLE in trusted else []
    repository.publish_changes(changes)

    after_reader = repository.reader()
    after_reader.refresh()
    needs_witness = RELEASES_ROLE in after_reader.invalid
    left = len(set(releases_ids) - set(removed))
    threshold = releases[0].threshold if releases is not None else 1
    tags = set(released_by_signer) | (set(releases_tags) if needs_witness else set())
    tags_to_resign = tuple(sorted(tags, key=natural_sort_key))
    warnings = []
    if releases is not None and left < threshold:
        warnings.append(
            f"{RELEASES_ROLE} of {gun} has {left} key(s), fewer than its threshold of {threshold}: no tag can be "
            f"released until a signer is added (DockerTrust.add_signer)"
        )
    if needs_witness:
        warnings.append(
            f"{RELEASES_ROLE} of {gun} is no longer signed by enough of its keys: valid signatures did not meet "
            f"threshold for {RELEASES_ROLE}; re-sign it with DockerTrust.witness({gun!r}, {RELEASES_ROLE!r}) (notary "
            f"witness {gun} {RELEASES_ROLE} --publish) using a remaining signer's key"
        )
    if tags_to_resign:
        warnings.append(f"tags of {gun} to re-sign by an active signer (DockerTrust.sign): {', '.join(tags_to_resign)}")
    said = logged(logger, warnings)
    return RemovedSigner(
        name=name,
        gun=gun,
        removed_key_ids=removed,
        kept_key_ids=kept,
        releases_keys=left,
        releases_threshold=threshold,
        needs_witness=needs_witness,
        witnessed=witness and releases is not None,
        tags_to_resign=tags_to_resign,
        warnings=said,
    )
