"""What notary-server does with an update, without the HTTP: validation, snapshot and timestamp generation.

This mirrors ``server/handlers/validation.go`` (``validateUpdate``) and the memory store's ``UpdateMany`` of
notary 0.7, so that :class:`~trustkit.remote.LocalRemote` and :class:`~trustkit.remote.MemoryRemote` accept and
refuse exactly what a real server does, with the same error codes and ``detail`` objects:

1. the stored root, and the uploaded root (version current or current+1, valid against the previous root's
   certificates and its own, not expired);
2. uploaded targets and delegations, shallowest first, each signed by its parent (from the upload or the store);
3. the uploaded snapshot (signed, not expired, hashes matching every role loaded), or a generated one when the
   remote holds the snapshot key root lists;
4. a new timestamp, always (an uploaded one is ignored);
5. every stored role's version strictly increasing (``VERSION``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
from cryptography.x509.oid import NameOID

from trustkit._encoding import loads
from trustkit.errors import (
    KeyFormatError,
    KeyIdMismatchError,
    MalformedMetadataError,
    RemoteError,
    ThresholdError,
    UnknownRoleError,
)
from trustkit.keys.certs import check_certificate, cn_matches_gun
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import MetaFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation, is_valid_role, parent_role
from trustkit.metadata.roles import Root, Snapshot, Targets, Timestamp, default_expiry
from trustkit.remote.base import notary_error

__all__ = ["CurrentLookup", "SignerLookup", "Update", "generate_timestamp", "prepare_update", "refresh_timestamp"]

CurrentLookup = Callable[[str], "bytes | None"]
"""The current stored bytes of a role of the GUN at hand, or None."""
SignerLookup = Callable[[str, "tuple[str, ...]"], "list[PrivateKey]"]
"""The private keys the remote holds for a role, among the given key IDs."""

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


@attrs.frozen
class Update:
    """A role's new bytes to store, and its version."""

    role: str
    version: int
    data: bytes


class _RejectionError(Exception):
    """An ``INVALID_UPDATE`` in the making: notary's validation error name, message and extra fields."""

    def __init__(self, name: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.extra = extra


def _invalid(where: str, gun: str, rejection: _RejectionError) -> RemoteError:
    detail: dict[str, Any] = {"Name": rejection.name, "Error": {**rejection.extra, "Msg": rejection.message}}
    return notary_error("INVALID_UPDATE", where=where, gun=gun, what="the update", detail=detail)


def _valid_signers(metadata: Metadata[Any], keys: Mapping[str, PublicKey]) -> set[str]:
    valid: set[str] = set()
    message = metadata.signed_bytes
    for signature in metadata.signatures:
        key = keys.get(signature.keyid)
        if key is None or signature.keyid in valid or key.key_id != signature.keyid:
            continue
        if key.verify(signature.method, signature.sig, message):
            valid.add(signature.keyid)
    return valid


def _root_certificates(root: Root, gun: str, now: datetime, *, check_expiry: bool) -> dict[str, PublicKey]:
    """The root role's certificate keys notary accepts for ``gun``: CN matching, not SHA-1, (not expired)."""
    usable: dict[str, PublicKey] = {}
    for keyid in root.roles[ROOT].keyids:
        key = root.keys[keyid]
        if not key.is_certificate:
            continue
        try:
            leaf = key.certificates[0]
            names = [attr.value for attr in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
            if not names or not cn_matches_gun(str(names[0]), gun):
                continue
            check_certificate(leaf, now=now, check_expiry=check_expiry)
        except (KeyFormatError, IndexError, ValueError):
            continue
        usable[keyid] = key
    return usable


def _check_root(gun: str, new: Metadata[Root], previous: Root | None, now: datetime) -> None:
    """notary's ``trustpinning.ValidateRoot`` with TOFU: previous root's certificates, then the new root's own."""
    if new.signed.is_expired(now):
        raise _RejectionError("ErrBadRoot", f"root expired at {new.signed.expires_text}")
    if previous is not None:
        old_keys = _root_certificates(previous, gun, now, check_expiry=False)
        if len(_valid_signers(new, old_keys)) < previous.roles[ROOT].threshold:
            raise _RejectionError(
                "ErrBadRoot",
                "could not rotate trust to a new trusted root: "
                "failed to validate data with current trusted certificates",
            )
    own = _root_certificates(new.signed, gun, now, check_expiry=True)
    if not own:
        raise _RejectionError(
            "ErrBadRoot", "could not validate the path to a trusted root: unable to retrieve valid leaf certificates"
        )
    if len(_valid_signers(new, own)) < new.signed.roles[ROOT].threshold:
        raise _RejectionError(
            "ErrBadRoot", "could not validate the path to a trusted root: failed to validate integrity of roots"
        )


def _parse_upload(role: str, data: bytes, *, where: str, gun: str) -> int:
    """The version notary reads from an uploaded part (``MALFORMED_JSON`` when it cannot be decoded)."""
    try:
        obj = loads(data, what=role)
    except MalformedMetadataError:
        raise notary_error("MALFORMED_JSON", where=where, gun=gun, what="the update") from None
    signed = obj.get("signed", {}) if isinstance(obj, dict) else None
    version = signed.get("version", 0) if isinstance(signed, dict) else None
    if isinstance(version, bool) or not isinstance(version, int):
        raise notary_error("MALFORMED_JSON", where=where, gun=gun, what="the update")
    return version


def _load(role: str, data: bytes, name: str) -> Metadata[Any]:
    try:
        return Metadata.from_bytes(data, role=role)
    except MalformedMetadataError as exc:
        raise _RejectionError(name, str(exc)) from None


def _sign(signed: Any, keys: list[PrivateKey]) -> Metadata[Any]:
    metadata: Metadata[Any] = Metadata(signed)
    for key in keys:
        metadata = metadata.sign(key.signer())
    return metadata


def _check_hashes(role: str, data: bytes, meta: MetaFile | None) -> None:
    """notary's ``CheckHashes``: every known algorithm present must match, and at least one must be present."""
    known = {alg: digest for alg, digest in (meta.hashes.items() if meta else ()) if alg in _HASHES}
    if not known:
        raise _RejectionError("ErrBadSnapshot", f"sha256 checksum required for {role}")
    for algorithm, digest in known.items():
        if not hmac.compare_digest(_HASHES[algorithm](data).digest(), digest):
            raise _RejectionError(
                "ErrBadSnapshot", f"{algorithm} checksum for {role} did not match: expected {digest.hex()}"
            )


def prepare_update(
    gun: str,
    uploads: Mapping[str, bytes],
    current: CurrentLookup,
    signers: SignerLookup,
    *,
    where: str,
    now: datetime,
) -> list[Update]:
    """Validate ``uploads`` (role → bytes) against the stored state as notary-server does.

    Returns what to store, in order (root, targets roles, snapshot, timestamp last). Raises the same errors a
    real server's answer maps to: ``MALFORMED_JSON`` / ``INVALID_ROLE`` as :class:`RemoteError`,
    ``INVALID_UPDATE`` and ``VERSION`` as :class:`~trustkit.errors.ConflictError`.
    """
    versions: dict[str, int] = {}
    parts: dict[str, bytes] = {}
    for name, data in uploads.items():
        role = name.removesuffix(".json")
        if not role:
            raise notary_error(
                "NO_FILENAME", where=where, gun=gun, what="the update", message="No file/role name provided."
            )
        if not is_valid_role(role):
            raise notary_error("INVALID_ROLE", where=where, gun=gun, what="the update", detail=role)
        versions[role] = _parse_upload(role, data, where=where, gun=gun)
        parts[role] = bytes(data)
    try:
        updates = _validate(gun, parts, current, signers, now)
    except _RejectionError as rejection:
        raise _invalid(where, gun, rejection) from None
    for update in updates:
        stored = current(update.role)
        if stored is not None and _stored_version(stored) >= update.version:
            raise notary_error("VERSION", where=where, gun=gun, what="the update", detail={})
    return updates


def _stored_version(data: bytes) -> int:
    try:
        version = loads(data, what="stored metadata")["signed"]["version"]
    except (MalformedMetadataError, TypeError, KeyError):
        return 0
    return version if isinstance(version, int) else 0


def _validate(
    gun: str, parts: Mapping[str, bytes], current: CurrentLookup, signers: SignerLookup, now: datetime
) -> list[Update]:
    updates: list[Update] = []
    root, root_bytes, root_update = _validate_root(gun, parts, current, now)
    if root_update is not None:
        updates.append(root_update)
    loaded = _validate_targets(root, parts, current, now)
    updates.extend(
        Update(role, metadata.signed.version, data) for role, (metadata, data) in loaded.items() if role in parts
    )
    checked = {ROOT: root_bytes, **{role: data for role, (_, data) in loaded.items()}}
    if SNAPSHOT in parts:
        snapshot_update = _validate_snapshot(root, parts[SNAPSHOT], checked, now)
    else:
        snapshot_update = _generate_snapshot(root, checked, current(SNAPSHOT), signers, now)
    updates.append(snapshot_update)
    updates.append(generate_timestamp(root, snapshot_update.data, current(TIMESTAMP), signers, now))
    return updates


def _validate_root(
    gun: str, parts: Mapping[str, bytes], current: CurrentLookup, now: datetime
) -> tuple[Root, bytes, Update | None]:
    """The root to validate the rest with, its bytes, and the root update (if one was uploaded)."""
    stored_bytes = current(ROOT)
    stored: Root | None = None
    if stored_bytes is not None:
        try:
            stored = Metadata.from_bytes(stored_bytes, role=ROOT).signed
        except MalformedMetadataError as exc:
            raise _RejectionError("ErrValidation", f"stored root cannot be read: {exc}") from None
    if ROOT in parts:
        uploaded: Metadata[Root] = _load(ROOT, parts[ROOT], "ErrBadRoot")
        current_version = stored.version if stored is not None else 1
        new_version = uploaded.signed.version
        if new_version not in (current_version, current_version + 1):
            raise _RejectionError(
                "ErrBadRoot",
                f"Root modifications must increment the version. Current {current_version}, new {new_version}",
            )
        _check_root(gun, uploaded, stored, now)
        return uploaded.signed, parts[ROOT], Update(ROOT, new_version, parts[ROOT])
    if stored is None or stored_bytes is None:
        raise _RejectionError("ErrValidation", "no pre-existing root and no root provided in update.")
    return stored, stored_bytes, None


def _validate_targets(
    root: Root, parts: Mapping[str, bytes], current: CurrentLookup, now: datetime
) -> dict[str, tuple[Metadata[Targets], bytes]]:
    """Uploaded targets and delegations, shallowest first, each verified by its parent; ancestors that were not
    uploaded are loaded from the store. Returns every role loaded (uploaded or not), in load order."""
    loaded: dict[str, tuple[Metadata[Targets], bytes]] = {}
    for role in sorted((r for r in parts if r == TARGETS or is_delegation(r)), key=lambda r: (r.count("/"), r)):
        chain = []
        ancestor = role
        while ancestor != TARGETS:
            ancestor = parent_role(ancestor)
            if ancestor not in loaded:
                chain.append(ancestor)
        for name in reversed(chain):
            stored = current(name)
            if stored is not None:
                try:
                    loaded[name] = (Metadata.from_bytes(stored, role=name), stored)
                except MalformedMetadataError as exc:
                    raise _RejectionError("ErrValidation", f"stored {name} cannot be read: {exc}") from None
        metadata: Metadata[Targets] = _load(role, parts[role], "ErrBadTargets")
        try:
            if role == TARGETS:
                root.verify_delegate(TARGETS, metadata)
            else:
                parent = loaded.get(parent_role(role))
                if parent is None:
                    raise _RejectionError(
                        "ErrBadTargets", f"{role} cannot be loaded: its parent {parent_role(role)} does not exist"
                    )
                parent[0].signed.verify_delegate(role, metadata)
        except (ThresholdError, UnknownRoleError, KeyIdMismatchError) as exc:
            raise _RejectionError("ErrBadTargets", str(exc)) from None
        if metadata.signed.is_expired(now):
            raise _RejectionError("ErrBadTargets", f"{role} expired at {metadata.signed.expires_text}")
        loaded[role] = (metadata, parts[role])
    return loaded


def _validate_snapshot(root: Root, data: bytes, checked: Mapping[str, bytes], now: datetime) -> Update:
    """An uploaded snapshot: signed by root's snapshot keys, not expired, hashes matching every loaded role."""
    snapshot: Metadata[Snapshot] = _load(SNAPSHOT, data, "ErrBadSnapshot")
    try:
        root.verify_delegate(SNAPSHOT, snapshot)
    except (ThresholdError, KeyIdMismatchError) as exc:
        raise _RejectionError("ErrBadSnapshot", str(exc)) from None
    if snapshot.signed.is_expired(now):
        raise _RejectionError("ErrBadSnapshot", f"snapshot expired at {snapshot.signed.expires_text}")
    for role, role_bytes in checked.items():
        _check_hashes(role, role_bytes, snapshot.signed.meta.get(role))
    return Update(SNAPSHOT, snapshot.signed.version, data)


def _generate_snapshot(
    root: Root, checked: Mapping[str, bytes], previous: bytes | None, signers: SignerLookup, now: datetime
) -> Update:
    """notary's ``GenerateSnapshot``: the previous snapshot with the loaded roles' entries updated, version+1."""
    meta: dict[str, MetaFile] = {}
    version = 1
    if previous is not None:
        try:
            prev: Snapshot = Metadata.from_bytes(previous, role=SNAPSHOT).signed
        except MalformedMetadataError as exc:
            raise _RejectionError("ErrValidation", f"stored snapshot cannot be read: {exc}") from None
        meta.update(prev.meta)
        version = prev.version + 1
    elif TARGETS not in checked:
        raise _RejectionError("ErrValidation", "targets must be loaded first")
    keys = signers(SNAPSHOT, root.roles[SNAPSHOT].keyids)
    if not keys:
        raise _RejectionError(
            "ErrBadHierarchy",
            "no snapshot was included in update and server does not hold current snapshot key for repository",
            Missing=SNAPSHOT,
        )
    for role, data in checked.items():
        meta[role] = MetaFile.from_data(data)
    snapshot = Snapshot(version=version, expires=default_expiry(SNAPSHOT, now=now), meta=meta)
    signed = _sign(snapshot, keys)
    try:
        root.verify_delegate(SNAPSHOT, signed)
    except ThresholdError:
        raise _RejectionError(
            "ErrBadHierarchy",
            "no snapshot was included in update and server does not hold current snapshot key for repository",
            Missing=SNAPSHOT,
        ) from None
    return Update(SNAPSHOT, version, signed.to_bytes())


def generate_timestamp(
    root: Root, snapshot_bytes: bytes, previous: bytes | None, signers: SignerLookup, now: datetime
) -> Update:
    """notary's ``GenerateTimestamp``: version previous+1 (or 1), 14 days, sha256+sha512 of the snapshot bytes."""
    version = 1
    if previous is not None:
        try:
            version = Metadata.from_bytes(previous, role=TIMESTAMP).signed.version + 1
        except MalformedMetadataError as exc:
            raise _RejectionError("ErrValidation", f"stored timestamp cannot be read: {exc}") from None
    keys = signers(TIMESTAMP, root.roles[TIMESTAMP].keyids)
    if not keys:
        raise _RejectionError("ErrBadRoot", "no  timestamp keys exist on the server")
    timestamp = Timestamp(
        version=version,
        expires=default_expiry(TIMESTAMP, now=now),
        meta={SNAPSHOT: MetaFile.from_data(snapshot_bytes)},
    )
    signed = _sign(timestamp, keys)
    try:
        root.verify_delegate(TIMESTAMP, signed)
    except ThresholdError:
        raise _RejectionError("ErrBadRoot", "no  timestamp keys exist on the server") from None
    return Update(TIMESTAMP, version, signed.to_bytes())


def refresh_timestamp(current: CurrentLookup, signers: SignerLookup, *, now: datetime) -> list[Update]:
    """notary's ``GetOrCreateTimestamp`` on a read: re-sign an expired snapshot (when the key is held) and an
    expired or stale timestamp. Returns what to store (nothing when all is current or cannot be re-signed)."""
    root_bytes, snapshot_bytes, timestamp_bytes = current(ROOT), current(SNAPSHOT), current(TIMESTAMP)
    if root_bytes is None or snapshot_bytes is None or timestamp_bytes is None:
        return []
    try:
        root: Root = Metadata.from_bytes(root_bytes, role=ROOT).signed
        snapshot: Snapshot = Metadata.from_bytes(snapshot_bytes, role=SNAPSHOT).signed
        timestamp: Timestamp = Metadata.from_bytes(timestamp_bytes, role=TIMESTAMP).signed
    except MalformedMetadataError:
        return []
    updates: list[Update] = []
    if snapshot.is_expired(now):
        keys = signers(SNAPSHOT, root.roles[SNAPSHOT].keyids)
        if keys:
            renewed = attrs.evolve(snapshot, version=snapshot.version + 1, expires=default_expiry(SNAPSHOT, now=now))
            snapshot_bytes = _sign(renewed, keys).to_bytes()
            updates.append(Update(SNAPSHOT, renewed.version, snapshot_bytes))
    stale = timestamp.snapshot_meta.hashes.get("sha256") != hashlib.sha256(snapshot_bytes).digest()
    if timestamp.is_expired(now) or stale:
        try:
            updates.append(generate_timestamp(root, snapshot_bytes, timestamp_bytes, signers, now))
        except _RejectionError:
            return []
    return updates
