"""Signing and revoking tags as ``docker trust sign`` and ``docker trust revoke`` do.

A tag's target is ``{"hashes": {"sha256": <manifest digest>}, "length": <manifest size>}``
(:meth:`~trustkit.metadata.TargetFile.from_digest`). It goes into every *signable* role, docker's
``AddToAllSignableRoles``: the delegations that are direct children of ``targets``, whose paths allow the tag and
for which the keystore holds a private key (by canonical key ID); ``targets`` itself when the repository has no
delegation at all. Revoking removes the tag from the same roles.

Where docker signs silently into roles that do not release the tag, trustkit refuses with what to do:
``targets/releases`` with fewer keys than its threshold ("no usable keys"), or metadata of a role to sign that no
longer verifies ("valid signatures did not meet threshold": witness it first).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Protocol, runtime_checkable

import attrs

from trustkit.client.changelist import Change
from trustkit.dct.inspect import RELEASES_ROLE, delegation_roles, invalid_role_error
from trustkit.dct.registry import ManifestInfo
from trustkit.errors import SigningError
from trustkit.metadata.files import TargetFile
from trustkit.metadata.names import TARGETS, parent_role, path_allowed
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = [
    "Revocation",
    "TagResolver",
    "TagSignature",
    "check_releases",
    "check_signable",
    "revoke_changes",
    "sign_changes",
    "signable_roles",
]

logger = logging.getLogger(__name__)

_RELEASED_ROLES = (RELEASES_ROLE, TARGETS)


@runtime_checkable
class TagResolver(Protocol):
    """Anything that resolves an image reference to its manifest's digest and size, as the registry reports them:
    :class:`trustkit.dct.registry.Registry` does it over the distribution API."""

    def resolve(self, reference: str) -> ManifestInfo:
        """The manifest ``reference`` (``REPO:TAG``) names: its ``digest`` (``sha256:<hex>``) and ``size``."""
        ...


def signable_roles(trusted: TrustedMetadataSet, local_key_ids: Collection[str], tag: str) -> list[str]:
    """docker's ``GetSignableRoles``: the direct children of ``targets`` whose paths allow ``tag`` and that list a
    key in ``local_key_ids`` (canonical IDs), in ``targets.json``'s order; ``["targets"]`` when the repository
    has no delegation. Raises :class:`~trustkit.errors.SigningError` when there are delegations but none is
    signable."""
    roles = delegation_roles(trusted)
    if not roles:
        return [TARGETS]
    local = set(local_key_ids)
    signable = [
        delegation.name
        for delegation, ids in roles
        if parent_role(delegation.name) == TARGETS
        and path_allowed(tag, delegation.paths)
        and any(key_id in local for key_id in ids)
    ]
    if not signable:
        names = ", ".join(delegation.name for delegation, _ in roles if parent_role(delegation.name) == TARGETS)
        raise SigningError(
            f"no valid signing keys for delegation roles: the keystore holds no key of {names or 'any delegation'} "
            f"that may sign {tag!r}; load the signer's private key (DockerTrust.load_key) or add a signer with a "
            f"key you hold (DockerTrust.add_signer)"
        )
    return signable


def check_releases(trusted: TrustedMetadataSet, *, gun: str) -> None:
    """Refuse to sign when ``targets/releases`` exists with fewer keys than its threshold: docker would sign into
    the signers' own roles only, and no tag could be released. Raises :class:`~trustkit.errors.SigningError`
    ("no usable keys in targets/releases")."""
    releases = next((d for d, _ in delegation_roles(trusted) if d.name == RELEASES_ROLE), None)
    if releases is not None and len(releases.keyids) < releases.threshold:
        raise SigningError(
            f"no usable keys in {RELEASES_ROLE} of {gun}: it has {len(releases.keyids)} key(s) for a threshold of "
            f"{releases.threshold} (role {RELEASES_ROLE} has fewer keys than its threshold of {releases.threshold}; "
            f"it will not be usable until keys are added to it): add a signer (DockerTrust.add_signer) before "
            f"signing again"
        )


def check_signable(
    trusted: TrustedMetadataSet, roles: Sequence[str], invalid: dict[str, bytes], *, gun: str
) -> list[str]:
    """Refuse what docker would sign uselessly; return warnings for what it would do anyway.

    Raises :class:`~trustkit.errors.ThresholdError` (or :class:`~trustkit.errors.ExpiredMetadataError`) when a role
    in ``roles`` has metadata that no longer verifies: it must be witnessed first, or signing would replace every
    tag it holds. Warns when the tag will not be released (``targets/releases`` exists and is not in ``roles``).
    """
    for role in roles:
        if role in invalid:
            error = invalid_role_error(trusted, role, invalid[role], gun=gun)
            raise type(error)(f"cannot sign into {error}")
    warnings = []
    has_releases = any(d.name == RELEASES_ROLE for d, _ in delegation_roles(trusted))
    if has_releases and RELEASES_ROLE not in roles:
        warnings.append(
            f"the tag will not be released: the keystore holds no key of {RELEASES_ROLE} of {gun}, so docker and "
            f"trustkit will not show it as signed (signed into {', '.join(roles)} only)"
        )
    return warnings


def sign_changes(tag: str, target: TargetFile, roles: Sequence[str]) -> list[Change]:
    """Add ``target`` as ``tag`` to each role (docker's ``AddTarget(target, roles...)``)."""
    return [Change.add_target(tag, target, role=role) for role in roles]


def revoke_changes(tag: str, roles: Sequence[str]) -> list[Change]:
    """Remove ``tag`` from each role (docker's ``RemoveTarget(tag, roles...)``)."""
    return [Change.remove_target(tag, role=role) for role in roles]


@attrs.frozen
class TagSignature:
    """A signed tag: the target published for it and the roles that now sign it.

    ``initialized`` tells whether the repository was created for it (with ``signer``'s delegation, as ``docker
    trust sign`` does on a new repository); ``released`` whether ``targets/releases`` or ``targets`` holds it, so that
    docker shows it as signed; ``warnings`` what deserves attention (each was also logged).
    """

    gun: str
    tag: str
    target: TargetFile
    roles: tuple[str, ...]
    initialized: bool = False
    signer: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """The manifest digest, ``sha256:<hex>``."""
        return f"sha256:{self.target.sha256_hex}"

    @property
    def released(self) -> bool:
        """Whether the tag is in a role docker reads released tags from."""
        return any(role in _RELEASED_ROLES for role in self.roles)


@attrs.frozen
class Revocation:
    """Tags whose signatures were removed, with the roles each was removed from.

    ``warnings`` names the tags that stay released because they are in a role the keystore holds no key of.
    """

    gun: str
    roles: tuple[tuple[str, tuple[str, ...]], ...]
    warnings: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        """The revoked tags."""
        return tuple(tag for tag, _ in self.roles)
