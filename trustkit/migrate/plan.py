"""Migrating a repository off Docker Content Trust: re-sign, by digest, every image DCT released, as cosign-format
signatures recording where the trust came from.

A DCT signature covers a targets file, not an image, so it cannot be converted: each released tag's manifest
digest is signed again. :func:`released_tags` reads docker's release rule from *verified* trust data (a tag is
released when ``targets/releases`` or ``targets`` holds it; ``targets/releases`` wins, as ``docker pull`` looks
there first). :func:`plan_migration` (a dry run) checks each against the registry: a tag that now points to
another digest is **drift** (reported, never signed: the new digest was never DCT-signed); a tag that is gone is
reported missing; an image index brings its platform manifests (containers/image evaluates a policy on each
platform's manifest). Tags of the registry that DCT never released, and ``sha256-*.sig`` attachment tags, are
reported and left alone. :func:`run_migration` signs what the plan says and is idempotent: a digest already carrying a
signature by the same key for the same identity is skipped, so a run that stopped half way is simply run again.
Each outcome is a :class:`MigrationRecord`, written as a JSON line to ``report`` and passed to ``progress``.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import IO, Any, Literal

import attrs

from trustkit._tables import plain_fields
from trustkit._version import __version__
from trustkit.client.reader import Reader
from trustkit.dct.inspect import RELEASES_ROLE, delegation_roles, inspect_trusted
from trustkit.dct.registry import DOCKER_MANIFEST_LIST, OCI_INDEX, Registry
from trustkit.dct.registry_write import get_manifest, list_tags
from trustkit.errors import (
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    TrustkitError,
    VerificationError,
)
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.metadata.names import TARGETS
from trustkit.migrate.attachments import SignatureLayer, append_signatures, read_signatures, verify_signature_layers
from trustkit.migrate.simplesigning import (
    VerificationKey,
    load_verification_key,
    make_payload,
    sign_payload,
)
from trustkit.remote.config import ImageReference
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = [
    "PROVENANCE_KEY",
    "MigrationRecord",
    "MigrationStatus",
    "ReleasedTag",
    "plan_migration",
    "released_tags",
    "run_migration",
]

PROVENANCE_KEY = "dev.trustkit.dct"
"""The key in a payload's ``optional`` object recording the DCT provenance (verifiers ignore unknown keys)."""

MigrationStatus = Literal["planned", "signed", "already-signed", "drifted", "missing", "not-released", "failed"]
"""What happened to a tag: ``planned`` (dry run), ``signed``, ``already-signed`` (nothing added), ``drifted``
(the registry serves another digest: not signed), ``missing`` (the registry no longer has the tag),
``not-released`` (a registry tag DCT never released: not signed), ``failed`` (see ``reason``)."""

_SIG_TAG = re.compile(r"sha(256|384|512)-[0-9a-f]+\.(sig|att|sbom)\Z")
_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)


@attrs.frozen
class ReleasedTag:
    """A tag DCT released: its manifest ``digest`` (``sha256:<hex>``) and ``size``, the ``role`` that released it
    (``targets/releases`` or ``targets``) with its canonical ``key_ids`` and ``version``, and the docker signer
    names (``Repo Admin`` when no signer's own delegation holds it)."""

    tag: str
    digest: str
    size: int
    role: str
    signers: tuple[str, ...]
    key_ids: tuple[str, ...]
    version: int

    def provenance(self, gun: str) -> dict[str, Any]:
        """What a re-signed payload records about this DCT signature (under :data:`PROVENANCE_KEY`)."""
        return {
            "gun": gun,
            "tag": self.tag,
            "role": self.role,
            "signers": list(self.signers),
            "keyIDs": list(self.key_ids),
            "targetsVersion": self.version,
        }


@attrs.frozen
class MigrationRecord:
    """One line of a migration report: the ``tag``, its ``status``, the DCT ``digest`` and ``size`` (None for a
    tag DCT never released), the ``registry_digest`` the registry serves, the ``manifests`` to sign or signed (the
    image and, for an index, its platform manifests), the DCT ``role`` and ``signers``, and a ``reason``."""

    tag: str
    status: MigrationStatus
    digest: str | None = None
    size: int | None = None
    registry_digest: str | None = None
    manifests: tuple[str, ...] = ()
    role: str | None = None
    signers: tuple[str, ...] = ()
    reason: str = ""
    released: ReleasedTag | None = attrs.field(default=None, repr=False, eq=False)

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON object (what a report line holds): every field but ``released``."""
        return plain_fields(self, omit=("released",))

    def to_json(self) -> str:
        """The record as one JSON line (no newline)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def released_tags(trusted: TrustedMetadataSet, *, gun: str) -> list[ReleasedTag]:
    """Every tag DCT released in the verified ``trusted`` state of ``gun``, by docker's rule: the tag's entry in
    ``targets/releases`` if it holds one, else in ``targets``. Tags are in docker's order; a tag without a sha256
    is left out (docker cannot pull it by digest either)."""
    inspected = inspect_trusted(trusted, name=gun, gun=gun)
    signers = {(tag.name, tag.digest): tag.signers for tag in inspected.signed_tags}
    key_ids = {TARGETS: tuple(trusted.root.signed.roles[TARGETS].keyids)}
    try:
        for delegation, ids in delegation_roles(trusted):
            key_ids.setdefault(delegation.name, ids)
    except TrustkitError:
        pass  # the role's key IDs are then not recorded; its tags still verified
    found: dict[str, ReleasedTag] = {}
    for name, _ in signers:
        if name in found:
            continue
        for role in (RELEASES_ROLE, TARGETS):
            target = trusted[role].signed.targets.get(name) if role in trusted else None
            if target is None:
                continue
            if target.sha256_hex is not None:
                found[name] = ReleasedTag(
                    tag=name,
                    digest=f"sha256:{target.sha256_hex}",
                    size=target.length,
                    role=role,
                    signers=signers.get((name, target.sha256_hex), ()),
                    key_ids=key_ids.get(role, ()),
                    version=trusted[role].signed.version,
                )
            break
    return list(found.values())


def _platform_manifests(registry: Registry, path: str, digest: str, media_type: str) -> tuple[str, ...]:
    if media_type not in _INDEX_TYPES:
        return ()
    index = get_manifest(registry, path, digest).json()
    children = index.get("manifests")
    if not isinstance(children, list):
        return ()
    return tuple(
        child["digest"] for child in children if isinstance(child, dict) and isinstance(child.get("digest"), str)
    )


def _repository(repository: object, registry: object, function: str) -> ImageReference:
    """The repository named by ``repository`` (a GUN), refusing arguments a migration cannot use up front."""
    if not isinstance(registry, Registry):
        raise InvalidArgumentError(
            f"{function} needs the registry serving the images, a trustkit.dct.Registry such as "
            f"Registry('https://registry.example.com'), not {type(registry).__name__}"
        )
    if not isinstance(repository, str):
        raise InvalidArgumentError(
            f"{function} needs the repository as a string, its GUN such as 'registry.example.com/team/app', not "
            f"{type(repository).__name__}"
        )
    image = ImageReference.parse(repository)
    if image.tag is not None or image.digest is not None:
        raise InvalidArgumentError(
            f"{repository!r} names an image, not a repository: pass the repository {image.name!r} ({function} "
            "covers every tag DCT released)"
        )
    return image


def plan_migration(
    trusted: TrustedMetadataSet | Reader,
    registry: Registry,
    repository: str,
    *,
    include_unreleased: bool = True,
) -> list[MigrationRecord]:
    """The dry run for ``repository`` (the GUN, ``host/path``), whose verified DCT state is ``trusted``: one
    ``planned`` record per released tag the registry still serves at its DCT digest (with the platform manifests
    of an index), ``drifted`` and ``missing`` records for the others, and with ``include_unreleased`` a
    ``not-released`` record per registry tag DCT never released (``sha256-*.sig`` attachment tags are ignored).

    ``trusted`` may also be the :class:`~trustkit.client.Reader` of the repository (its last refreshed state is
    used, refreshing it if it never was). Misused arguments (another type, a repository given with a tag or
    digest) raise :class:`~trustkit.errors.InvalidArgumentError` before anything is read."""
    image = _repository(repository, registry, "plan_migration")
    path = image.path
    if isinstance(trusted, Reader):
        if trusted.gun not in (repository, image.gun):
            raise InvalidArgumentError(
                f"the Reader reads {trusted.gun}, not {repository}: pass the reader of the repository to migrate"
            )
        trusted = trusted.trusted
    elif not isinstance(trusted, TrustedMetadataSet):
        raise InvalidArgumentError(
            "plan_migration needs the verified DCT state of the repository: pass "
            "trust.repository(gun).reader().refresh() (a TrustedMetadataSet) or the Reader itself, not "
            f"{type(trusted).__name__}"
        )
    records: list[MigrationRecord] = []
    releases = [released for released in released_tags(trusted, gun=repository) if not _SIG_TAG.match(released.tag)]
    for released in releases:
        base = MigrationRecord(
            released.tag,
            "planned",
            digest=released.digest,
            size=released.size,
            role=released.role,
            signers=released.signers,
            released=released,
        )
        try:
            info = registry.resolve(f"{repository}:{released.tag}")
        except NotFoundError as exc:
            records.append(attrs.evolve(base, status="missing", reason=str(exc)))
            continue
        except ConfigurationError as exc:
            reason = f"{released.tag!r} is not a docker tag, so no image can be pulled by it: not signed ({exc})"
            records.append(attrs.evolve(base, status="failed", reason=reason))
            continue
        if info.digest != released.digest:
            reason = (
                f"the registry serves {info.digest} under {released.tag}, DCT released {released.digest}: not "
                "signed (the new digest was never DCT-signed; push the released image again or sign the new one "
                "deliberately)"
            )
            records.append(attrs.evolve(base, status="drifted", registry_digest=info.digest, reason=reason))
            continue
        manifests = (released.digest, *_platform_manifests(registry, path, released.digest, info.media_type))
        records.append(attrs.evolve(base, registry_digest=info.digest, manifests=manifests))
    if include_unreleased:
        known = {released.tag for released in releases}
        for tag in list_tags(registry, path):
            if tag not in known and not _SIG_TAG.match(tag):
                records.append(MigrationRecord(tag, "not-released", reason="DCT never released this tag: not signed"))
    return records


def _public(signer: PrivateKey | Any) -> VerificationKey:
    """The public key of ``signer``, refusing what cannot sign before anything is signed."""
    if isinstance(signer, PrivateKey):
        return load_verification_key(signer)
    from securesystemslib.signer import Signer

    if not isinstance(signer, Signer):
        raise InvalidArgumentError(
            f"run_migration signs with a trustkit PrivateKey or a securesystemslib Signer, not "
            f"{type(signer).__name__}: read a cosign key with load_cosign_key(open('cosign.key', 'rb').read(), "
            "passphrase) or make one with trustkit.keys.generate_private_key()"
        )
    return load_verification_key(PublicKey.from_sslib_key(signer.public_key))


def run_migration(
    plan: Sequence[MigrationRecord],
    registry: Registry,
    repository: str,
    signer: PrivateKey | Any,
    *,
    identity: str | None = None,
    report: IO[str] | None = None,
    progress: Callable[[MigrationRecord, int, int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> list[MigrationRecord]:
    """Sign what ``plan`` (from :func:`plan_migration`) says for ``repository`` (the GUN) with ``signer`` (a
    :class:`~trustkit.keys.PrivateKey` or a securesystemslib signer: ECDSA P-256 or Ed25519).

    Each ``planned`` tag's manifests are signed with identity ``<identity>:<tag>`` (``identity`` defaults to the
    repository's name, ``host/path``: set it to the name consumers pull) and the DCT provenance, unless a
    signature by the same key for the same identity is already there (``already-signed``). Other records are
    passed through. A failure of one tag is recorded (``failed``, with the error) and the run goes on. Each
    record is written to ``report`` as a JSON line and given to ``progress(record, done, total)``.

    Misused arguments (a signer that is not a key or signer, a repository with a tag, a plan that is not
    :class:`MigrationRecord` values) raise :class:`~trustkit.errors.InvalidArgumentError` before anything is signed.
    """
    image = _repository(repository, registry, "run_migration")
    if not all(isinstance(record, MigrationRecord) for record in plan):
        raise InvalidArgumentError("run_migration needs the plan plan_migration returned (MigrationRecord values)")
    name = identity if identity is not None else image.name
    key = _public(signer)
    results: list[MigrationRecord] = []
    for index, record in enumerate(plan, 1):
        outcome = record
        if record.status == "planned" and record.released is not None:
            try:
                outcome = _sign_tag(
                    registry, image, f"{name}:{record.tag}", record, signer=signer, key=key, clock=clock
                )
            except TrustkitError as exc:
                outcome = attrs.evolve(record, status="failed", reason=str(exc))
        results.append(outcome)
        if report is not None:
            report.write(outcome.to_json() + "\n")
            report.flush()
        if progress is not None:
            progress(outcome, index, len(plan))
    return results


def _sign_tag(
    registry: Registry,
    image: ImageReference,
    reference: str,
    record: MigrationRecord,
    *,
    signer: PrivateKey | Any,
    key: VerificationKey,
    clock: Callable[[], float],
) -> MigrationRecord:
    """Sign each manifest of ``record`` as ``reference`` unless this key already signed it so."""
    released = record.released
    if released is None:
        raise InvalidArgumentError(f"record of {record.tag} has no DCT release to sign")
    wrote = False
    for digest in record.manifests:
        current = read_signatures(registry, image.path, digest)
        try:
            verify_signature_layers(
                current.layers, key, manifest_digest=digest, reference=reference, signed_identity="matchExact"
            )
            continue  # already signed by this key for this identity
        except VerificationError:
            pass
        payload = make_payload(
            reference,
            digest,
            optional={PROVENANCE_KEY: released.provenance(image.gun)},
            creator=f"trustkit {__version__}",
            timestamp=int(clock()),
        )
        signature = base64.b64encode(sign_payload(signer, payload)).decode()
        wrote |= append_signatures(registry, image.path, digest, [SignatureLayer.create(payload, signature)])
    return attrs.evolve(record, status="signed" if wrote else "already-signed")
