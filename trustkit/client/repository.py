"""Repository transactions: every change ``notary`` can make, staged in notary's changelist and applied by one
atomic :meth:`Repository.publish`.

Publishing fetches and verifies the latest trusted state (or, for a repository the server does not know yet,
the state :meth:`Repository.initialize` left in the cache), applies the staged changes in order with notary's
rules (``client/helpers.go`` ``applyChangelist`` and ``tuf/tuf.go``), re-signs what changed -- and root when it
changed or nears expiry, with the old and the new root keys -- and uploads every role in one request. Any
failure leaves the changelist as it was; success removes only the changes it applied.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Change, Changelist, StagedChange
from trustkit.client.reader import MAX_ROOT_SIZE, Reader, _roles
from trustkit.errors import (
    ConflictError,
    InvalidArgumentError,
    MalformedMetadataError,
    NotFoundError,
    RepositoryNotFoundError,
    SigningError,
    TrustkitError,
    UnknownKeyError,
    UnknownRoleError,
)
from trustkit.keys import PrivateKey, PublicKey, generate_private_key, make_root_key
from trustkit.keystore import KeyStore
from trustkit.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    default_expiry,
)
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation, parent_role, path_allowed
from trustkit.remote import Remote
from trustkit.trust import TrustedMetadataSet, TrustPinning
from trustkit.trust.trusted_set import utc_now

__all__ = ["InvalidChangeError", "Repository"]

logger = logging.getLogger(__name__)

_NEAR_EXPIRY = timedelta(days=183)  # notary's AddDate(0, 6, 0)


class InvalidChangeError(TrustkitError):
    """A staged change that cannot be applied (notary's ``ErrInvalidRole``, "Could not add all targets", …)."""


def _subtract(values: Sequence[str], remove: Iterable[str]) -> tuple[str, ...]:
    drop = set(remove)
    return tuple(v for v in values if v not in drop)


def _merge(values: Sequence[str], add: Iterable[str]) -> tuple[str, ...]:
    merged = list(values)
    for value in add:
        if value not in merged:
            merged.append(value)
    return tuple(merged)


def _restrict(paths: Sequence[str], parent_paths: Sequence[str]) -> list[str]:
    return [p for p in paths if path_allowed(p, parent_paths)]


class _PendingTargets:
    """Target adds and removes for one role, kept aside to be applied in one copy (:meth:`Targets.with_changes`).

    Applied one by one, each change copies the role's changes so far (``with_target`` makes a new overlay), so k
    changes to one role cost O(k^2); gathered here they cost O(k). :meth:`get` answers as the role would after
    the changes so far, and :meth:`apply` gives what ``with_target``/``without_target`` one by one would.
    """

    __slots__ = ("added", "base", "removed")

    def __init__(self, base: Targets) -> None:
        self.base = base
        self.added: dict[str, TargetFile] = {}
        """Names added or replaced, in order: ``with_changes`` replaces a name ``base`` still holds in place and
        adds any other at the end, in this order."""
        self.removed: set[str] = set()
        """Names of ``base`` removed (and maybe added again, at the end)."""

    def get(self, name: str) -> TargetFile | None:
        """``name``'s target after the changes so far, or None."""
        if name in self.added:
            return self.added[name]
        return None if name in self.removed else self.base.targets.get(name)

    def add(self, name: str, target: TargetFile) -> None:
        """As ``with_target``: a present name keeps its place (in ``base`` or in ``added``), any other goes last."""
        self.added[name] = target

    def remove(self, name: str) -> None:
        """As ``without_target``."""
        self.added.pop(name, None)
        if name in self.base.targets:
            self.removed.add(name)

    def apply(self) -> Targets:
        """``base`` with the changes, in one copy."""
        if not self.added and not self.removed:
            return self.base
        return self.base.with_changes(self.added, self.removed)


@attrs.define
class _Work:
    """The mutable working copy a publish applies changes to (models stay immutable; this maps them).

    Target changes wait in ``pending`` until :meth:`apply_pending`, which must run before anything else reads or
    replaces ``targets`` (every other change, and signing).
    """

    root: Root
    original_root_role: Role
    root_bytes: bytes
    targets: dict[str, Targets]
    raw: dict[str, bytes]
    snapshot: Snapshot | None
    invalid: dict[str, Targets] = attrs.field(factory=dict)
    dirty: set[str] = attrs.field(factory=set)
    root_dirty: bool = False
    deleted: set[str] = attrs.field(factory=set)
    pending: dict[str, _PendingTargets] = attrs.field(factory=dict)
    signable: set[str] = attrs.field(factory=set)
    """Roles the keystore was found able to sign during the current run of target changes (nothing in a run
    changes keys, so one look at the keystore a role serves the run)."""

    def pending_targets(self, role: str) -> _PendingTargets:
        """The target changes gathered for ``role`` (which must be in ``targets``)."""
        found = self.pending.get(role)
        if found is None:
            found = self.pending[role] = _PendingTargets(self.targets[role])
        return found

    def apply_pending(self) -> None:
        """Apply the gathered target changes to their roles, one copy a role."""
        for role, pending in self.pending.items():
            self.targets[role] = pending.apply()
        self.pending.clear()
        self.signable.clear()

    def paths_of(self, role: str) -> tuple[str, ...]:
        """``role``'s paths restricted by every ancestor's (``targets``: everything)."""
        if role == TARGETS:
            return ("",)
        parent = parent_role(role)
        if parent not in self.targets:
            raise InvalidChangeError(f"{role}: its parent {parent} does not exist")
        entry = self._delegation(parent, role)
        return tuple(_restrict(entry.paths, self.paths_of(parent)))

    def _delegation(self, parent: str, role: str) -> DelegatedRole:
        try:
            return self.targets[parent].delegations.get(role)
        except UnknownRoleError:
            raise InvalidChangeError(f"{role} does not exist") from None

    def role_keys(self, role: str) -> tuple[tuple[str, ...], int, Mapping[str, PublicKey]]:
        """The key IDs, threshold and key map of ``role``, base or delegated."""
        if role in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP):
            entry = self.root.roles[role]
            return entry.keyids, entry.threshold, self.root.keys
        parent = parent_role(role)
        if parent not in self.targets:
            raise InvalidChangeError(f"{role} does not exist: its parent {parent} is not loaded")
        delegation = self._delegation(parent, role)
        return delegation.keyids, delegation.threshold, self.targets[parent].delegations.keys


class Repository:
    """The trust data of one GUN, changed through staged changes and published atomically.

    ``remote`` is any :class:`~trustkit.remote.Remote`; ``keystore`` any :class:`~trustkit.keystore.KeyStore`;
    ``trust_dir`` holds the metadata cache and the changelist in notary's layout (so the real ``notary`` CLI sees
    the same staged changes); ``pinning`` applies when the repository is first read.
    """

    def __init__(
        self,
        gun: str,
        *,
        remote: Remote,
        keystore: KeyStore,
        trust_dir: Path | str,
        pinning: TrustPinning | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.gun = gun
        self.remote = remote
        self.keystore = keystore
        self.trust_dir = Path(trust_dir)
        self.pinning = pinning
        self.cache = MetadataCache(self.trust_dir, gun)
        self.changelist = Changelist(self.trust_dir, gun)
        self._clock = clock

    # --- reading -------------------------------------------------------------------------------------------

    def reader(self, *, offline: bool = False) -> Reader:
        """A :class:`~trustkit.client.Reader` on this repository's remote and cache."""
        return Reader(
            self.gun,
            None if offline else self.remote,
            cache=self.cache,
            pinning=self.pinning,
            offline=offline,
            clock=self._clock,
        )

    # --- staging -------------------------------------------------------------------------------------------

    def _stage(self, changes: Sequence[Change], publish: bool) -> list[StagedChange]:
        staged = self.changelist.extend(changes)
        if publish:
            self.publish()
        return staged

    def add_target(
        self, name: str, target: TargetFile, *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage adding ``target`` as ``name`` to each of ``roles`` (``notary add``/``addhash --roles``)."""
        if not isinstance(target, TargetFile):
            raise InvalidArgumentError(
                f"target is a TargetFile (TargetFile.from_digest or from_data), not {type(target).__name__}"
            )
        return self._stage([Change.add_target(name, target, role=role) for role in _roles(roles)], publish)

    def add_targets(
        self, targets: Mapping[str, TargetFile], *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage adding every ``name -> target`` of ``targets`` to each of ``roles``, in one staging call: the
        changes are flushed to disk once for them all, not once per target (2,000 targets in a fraction of the
        time of 2,000 :meth:`add_target` calls). A kill stages a prefix of them, each whole."""
        changes = [Change.add_target(name, target, role=role) for name, target in targets.items() for role in roles]
        return self._stage(changes, publish)

    def remove_target(
        self, name: str, *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage removing ``name`` from each of ``roles`` (``notary remove``)."""
        return self._stage([Change.remove_target(name, role=role) for role in _roles(roles)], publish)

    def add_delegation(
        self,
        role: str,
        *,
        keys: Sequence[PublicKey | Any] = (),
        paths: Sequence[str] = (),
        all_paths: bool = False,
        publish: bool = False,
    ) -> list[StagedChange]:
        """Stage ``notary delegation add``: keys (creating the role, threshold 1) and then paths.

        ``keys`` are trustkit :class:`~trustkit.keys.PublicKey` values or securesystemslib ``Key`` values (what
        ``HSMSigner.import_`` returns); anything else raises :class:`~trustkit.errors.KeyFormatError`."""
        changes = []
        if keys:
            changes.append(Change.create_delegation(role, keys=keys))
        if isinstance(paths, str):
            raise InvalidArgumentError(f"paths is a list of path prefixes: write paths=[{paths!r}] (or all_paths=True)")
        wanted = [""] if all_paths else list(paths)
        if wanted:
            changes.append(Change.create_delegation(role, paths=wanted))
        if not changes:
            raise InvalidChangeError(f"delegation {role}: give keys or paths to add")
        return self._stage(changes, publish)

    def remove_delegation_keys(self, role: str, key_ids: Sequence[str], *, publish: bool = False) -> list[StagedChange]:
        """Stage removing keys (canonical IDs) from delegation ``role`` (``notary delegation remove ROLE ID``)."""
        return self._stage([Change.update_delegation(role, remove_keys=key_ids)], publish)

    def remove_delegation_paths(
        self, role: str, paths: Sequence[str] = (), *, clear: bool = False, publish: bool = False
    ) -> list[StagedChange]:
        """Stage removing paths from delegation ``role``, or all of them with ``clear``."""
        return self._stage([Change.update_delegation(role, remove_paths=paths, clear_paths=clear)], publish)

    def remove_delegation(self, role: str, *, publish: bool = False) -> list[StagedChange]:
        """Stage deleting delegation ``role`` entirely."""
        return self._stage([Change.delete_delegation(role)], publish)

    def purge_keys(self, key_ids: Sequence[str], *, under: str = TARGETS, publish: bool = False) -> list[StagedChange]:
        """Stage removing keys (canonical IDs) from every delegation below ``under`` (``notary delegation purge``)."""
        return self._stage([Change.update_delegation(f"{under}/*", remove_keys=key_ids)], publish)

    def witness(self, *roles: str, publish: bool = False) -> list[StagedChange]:
        """Stage re-signing ``roles`` as they are (``notary witness``), e.g. after their keys changed."""
        return self._stage([Change.witness(role) for role in roles], publish)

    def status(self) -> list[StagedChange]:
        """The staged changes, in the order they will apply (``notary status``)."""
        return self.changelist.list()

    def reset(self, ids: Iterable[str] | None = None) -> int:
        """Unstage the changes with these IDs, or all (``notary reset``); returns how many were removed."""
        return self.changelist.clear() if ids is None else self.changelist.remove(ids)

    # --- initialising --------------------------------------------------------------------------------------

    def initialize(self, *, root_key_ids: Sequence[str] = (), server_managed_snapshot: bool = False) -> Root:
        """Create the repository's keys and first metadata locally, as ``notary init`` does.

        The root key is the given one, else the first root key in the keystore, else a new ECDSA key, wrapped in
        a certificate for the GUN; a new targets key, a new snapshot key unless the server is to manage it; the
        server's timestamp key. Root, targets and snapshot (if local) version 1 go to the cache; nothing is
        uploaded until :meth:`publish`.

        A repository the server already has trust data for is refused (:class:`~trustkit.errors.ConflictError`)
        before any key is made: its root could only be replaced by a rotation signed with its root key.
        """
        self._refuse_existing()
        root_ids = list(root_key_ids) or sorted(info.key_id for info in self.keystore.list_keys(role=ROOT))[:1]
        if root_ids:
            root_signers = [(self.keystore.get_signer(kid), kid) for kid in root_ids]
        else:
            key = generate_private_key()
            self.keystore.add_key(key, role=ROOT)
            root_signers = [(self.keystore.get_signer(key.key_id), key.key_id)]
        root_certs = []
        for signer, _ in root_signers:
            bare = PublicKey.from_sslib_key(signer.public_key)
            root_certs.append(_certificate_for(signer, bare, self.gun, self._clock()))
        targets_key = self._new_key(TARGETS)
        snapshot_key = self.remote.get_key(self.gun, SNAPSHOT) if server_managed_snapshot else self._new_key(SNAPSHOT)
        timestamp_key = self.remote.get_key(self.gun, TIMESTAMP)
        base = {TARGETS: [targets_key], SNAPSHOT: [snapshot_key], TIMESTAMP: [timestamp_key], ROOT: root_certs}
        now = self._clock()
        root = Root(
            version=1,
            expires=default_expiry(ROOT, now=now),
            keys={key.key_id: key for keys in base.values() for key in keys},
            roles={name: Role([key.key_id for key in keys], 1) for name, keys in base.items()},
        )
        root_md: Metadata[Root] = Metadata(root)
        for (signer, _), cert in zip(root_signers, root_certs, strict=True):
            root_md = root_md.sign(signer, key=cert)
        targets_md = self._sign_with_role(
            Metadata(Targets(version=1, expires=default_expiry(TARGETS, now=now))), [targets_key], 1
        )
        self.cache.store(ROOT, root_md.to_bytes())
        self.cache.store(TARGETS, targets_md.to_bytes())
        if not server_managed_snapshot:
            snapshot = Snapshot(
                version=1,
                expires=default_expiry(SNAPSHOT, now=now),
                meta={ROOT: MetaFile.from_data(root_md.to_bytes()), TARGETS: MetaFile.from_data(targets_md.to_bytes())},
            )
            self.cache.store(SNAPSHOT, self._sign_with_role(Metadata(snapshot), [snapshot_key], 1).to_bytes())
        else:
            self.cache.remove(SNAPSHOT)
        return root

    def _refuse_existing(self) -> None:
        try:
            self.remote.get_role(self.gun, ROOT, max_size=MAX_ROOT_SIZE)
        except NotFoundError:
            return
        raise ConflictError(
            f"repository {self.gun} already exists on the server: initializing it again would replace its root, "
            f'which the server refuses ("could not rotate trust"). Read or change it as it is (reader(), '
            f"add_target, publish; rotate_key('root') with its root key), or delete it first (delete(remote=True)) "
            f"to start over"
        )

    def _new_key(self, role: str) -> PublicKey:
        key = generate_private_key()
        self.keystore.add_key(key, role=role, gun=self.gun)
        return key.public_key

    # --- key rotation and deletion -------------------------------------------------------------------------

    def rotate_key(
        self, role: str, *, server_managed: bool = False, keys: Sequence[PrivateKey] = ()
    ) -> list[PublicKey]:
        """Replace every key of base role ``role`` and publish at once, as ``notary key rotate`` does.

        ``timestamp`` can only be server-managed; ``snapshot`` either; ``targets`` and ``root`` are local (a new
        ECDSA key, or ``keys``). A new root is signed by the old and the new root keys.
        """
        if role not in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP):
            raise InvalidChangeError(f"{role} is not a base role")
        if role == TIMESTAMP and not server_managed:
            raise InvalidChangeError("the timestamp key can only be rotated to the server (server_managed=True)")
        if role in (ROOT, TARGETS) and server_managed:
            raise InvalidChangeError(f"the {role} key cannot be managed by the server")
        if server_managed:
            new_keys = [self.remote.rotate_key(self.gun, role)]
        else:
            privates = list(keys) or [generate_private_key()]
            new_keys = []
            for private in privates:
                self.keystore.add_key(private, role=role, gun=None if role == ROOT else self.gun)
                if role == ROOT:
                    signer = self.keystore.get_signer(private.key_id)
                    new_keys.append(_certificate_for(signer, private.public_key, self.gun, self._clock()))
                else:
                    new_keys.append(private.public_key)
        self._publish([StagedChange("rotation", Change.replace_base_keys(role, new_keys))], remove_staged=False)
        return new_keys

    def delete(self, *, remote: bool = False) -> None:
        """Delete the local trust data of the GUN (cache and changelist, never private keys), and with ``remote``
        the server's too (``notary delete [--remote]``)."""
        if remote:
            self.remote.delete(self.gun)
        self.changelist.clear()
        for role in {*self.cache.roles(), *self.cache.invalid_roles()}:
            self.cache.remove(role)

    # --- publishing ----------------------------------------------------------------------------------------

    def publish(self) -> None:
        """Apply every staged change and upload the result in one request; see the module documentation."""
        staged = list(self.changelist.iter_for_publish())
        self._publish(staged, remove_staged=True)

    def publish_changes(self, changes: Sequence[Change]) -> None:
        """Apply ``changes`` in order and publish the result in one request, without staging them.

        The changelist is neither read nor changed, so changes staged by notary or by :meth:`add_target` and
        friends stay staged; it is how one operation (adding a signer, signing a tag) publishes exactly its own
        changes. Nothing is uploaded unless every change applies.
        """
        if not changes:
            raise InvalidChangeError("no changes to publish")
        self._publish([StagedChange(f"unstaged-{n}", change) for n, change in enumerate(changes)], remove_staged=False)

    def _publish(self, staged: list[StagedChange], *, remove_staged: bool) -> None:
        work, initial = self._load_for_write()
        for item in staged:
            try:
                self._apply(work, item.change)
            except InvalidChangeError as exc:
                raise InvalidChangeError(f"{item.change.describe()}: {exc}") from exc
        work.apply_pending()
        files = self._sign(work, initial)
        if files:  # changes already applied (a retried publish) leave nothing to upload
            self.remote.publish(self.gun, files)
        if remove_staged:
            self.changelist.remove(item.id for item in staged)

    def _load_for_write(self) -> tuple[_Work, bool]:
        reader = self.reader()
        try:
            trusted = reader.refresh()
        except RepositoryNotFoundError:
            return self._local_work(), True
        work = _Work(
            root=trusted.root.signed,
            original_root_role=trusted.root.signed.roles[ROOT],
            root_bytes=trusted.raw(ROOT),
            targets={role: trusted[role].signed for role in trusted.walk()},
            raw={role: trusted.raw(role) for role in trusted.walk()},
            snapshot=trusted.snapshot.signed if trusted.snapshot else None,
        )
        for role, data in reader.invalid.items():
            try:
                work.invalid[role] = Metadata.from_bytes(data, role=role).signed
            except MalformedMetadataError:
                continue
        return work, False

    def _local_work(self) -> _Work:
        """The state ``initialize`` cached, for a first publish (notary's ``bootstrapRepo``)."""
        root_data, targets_data = self.cache.load(ROOT), self.cache.load(TARGETS)
        if root_data is None or targets_data is None:
            raise RepositoryNotFoundError(
                f"trust data missing for remote repository {self.gun}: initialize the repository first"
            )
        trusted = TrustedMetadataSet(
            root_data, gun=self.gun, first_contact=True, pinning=self.pinning, clock=self._clock
        )
        root = trusted.root.signed
        targets = Metadata.from_bytes(targets_data, role=TARGETS)
        root.verify_delegate(TARGETS, targets)
        snapshot_data = self.cache.load(SNAPSHOT)
        snapshot = Metadata.from_bytes(snapshot_data, role=SNAPSHOT).signed if snapshot_data else None
        return _Work(
            root=root,
            original_root_role=root.roles[ROOT],
            root_bytes=root_data,
            targets={TARGETS: targets.signed},
            raw={TARGETS: targets_data},
            snapshot=snapshot,
        )

    # --- applying changes (notary's applyChangelist) -------------------------------------------------------

    def _apply(self, work: _Work, change: Change) -> None:
        scope = change.scope
        if change.type != "target":
            work.apply_pending()  # runs of target changes apply in one step; the rest sees them applied
        if scope == ROOT:
            if change.type != "role" or change.action != "create":
                raise InvalidChangeError(f"root change {change.action}/{change.type} is not supported")
            role, keys = change.base_keys()
            self._replace_base_keys(work, role, keys)
        elif scope != TARGETS and not is_delegation(scope) and not scope.endswith("/*"):
            raise InvalidChangeError(f"scope not supported: {scope}")
        elif change.type == "target":
            if change.action == "create":
                self._add_target(work, scope, change.path, change.target())
            elif change.action == "delete":
                self._remove_target(work, scope, change.path)
            else:
                raise InvalidChangeError(f"action not yet supported: {change.action}")
        elif change.type == "delegation":
            self._change_delegation(work, change)
        elif change.type == "witness":
            self._witness(work, scope)
        else:
            raise InvalidChangeError(f"only target meta and delegations changes supported, not {change.type}")

    def _can_sign(self, work: _Work, role: str) -> bool:
        keyids, _, keys = work.role_keys(role)
        return any(self._find_key(kid, keys[kid]) is not None for kid in keyids if kid in keys)

    def _require_signable(self, work: _Work, role: str) -> None:
        if not self._can_sign(work, role):
            keyids, _, keys = work.role_keys(role)
            wanted = ", ".join(keys[k].canonical_id for k in keyids if k in keys) or "none"
            raise SigningError(f"no usable keys for {role}: the keystore holds none of its keys ({wanted})")

    def _find_key(self, keyid: str, key: PublicKey) -> str | None:
        """The keystore ID holding ``key`` (by its TUF or canonical ID), or None."""
        candidates = [keyid]
        with contextlib.suppress(TrustkitError):
            candidates.append(key.canonical_id)
        for candidate in candidates:
            try:
                self.keystore.get_key_info(candidate)
            except (UnknownKeyError, ValueError):
                continue
            return candidate
        return None

    def _ensure_targets(self, work: _Work, role: str) -> Targets:
        if role not in work.targets:
            if role != TARGETS:
                work.paths_of(role)  # raises when the parent does not delegate to it
            work.targets[role] = Targets(version=0, expires=default_expiry(TARGETS, now=self._clock()))
        return work.targets[role]

    def _require_signable_in_run(self, work: _Work, role: str) -> None:
        if role not in work.signable:
            self._require_signable(work, role)
            work.signable.add(role)

    def _add_target(self, work: _Work, role: str, name: str, target: TargetFile) -> None:
        self._require_signable_in_run(work, role)
        if not path_allowed(name, work.paths_of(role)):
            raise InvalidChangeError(f"Could not add all targets: {role} may not sign {name!r}")
        self._ensure_targets(work, role)
        pending = work.pending_targets(role)
        if pending.get(name) == target:
            return
        pending.add(name, target)
        work.dirty.add(role)

    def _remove_target(self, work: _Work, role: str, name: str) -> None:
        if role not in work.targets or work.pending_targets(role).get(name) is None:
            return
        self._require_signable_in_run(work, role)
        work.pending_targets(role).remove(name)
        work.dirty.add(role)

    def _change_delegation(self, work: _Work, change: Change) -> None:
        role = change.scope
        payload = change.delegation()
        if role.endswith("/*"):
            self._purge(work, role[:-2], payload.remove_keys)
            return
        parent = parent_role(role)
        self._require_signable(work, parent)
        if change.action == "delete":
            work.targets.pop(role, None)
            work.deleted.add(role)
            if parent in work.targets:
                parent_md = work.targets[parent]
                roles = [r for r in parent_md.delegations.roles if r.name != role]
                if len(roles) != len(parent_md.delegations.roles):
                    work.targets[parent] = _with_delegations(parent_md, parent_md.delegations.keys, roles)
                    work.dirty.add(parent)
            return
        parent_md = self._ensure_targets(work, parent)
        parent_paths = work.paths_of(parent)
        if len(_restrict(payload.add_paths, parent_paths)) != len(payload.add_paths):
            raise InvalidChangeError(f"delegation {role} invalid: invalid paths to add to role")
        existing = next((r for r in parent_md.delegations.roles if r.name == role), None)
        remove_ids: list[str] = []
        if existing is not None and payload.remove_keys:
            by_canonical = {key.canonical_id: kid for kid, key in parent_md.delegations.keys.items()}
            remove_ids = [by_canonical[c] for c in payload.remove_keys if c in by_canonical]
        if existing is None:
            if payload.threshold < 1:
                raise InvalidChangeError(f"delegation {role} invalid: threshold must be at least 1 (add keys first)")
            keyids: tuple[str, ...] = tuple(k.key_id for k in payload.add_keys)
            new_role = DelegatedRole(keyids, payload.threshold, name=role, paths=payload.add_paths)
        else:
            paths = _subtract(existing.paths, payload.remove_paths)
            if payload.clear_paths:
                paths = ()
            paths = _merge(paths, payload.add_paths)
            keyids = _merge(_subtract(existing.keyids, remove_ids), [k.key_id for k in payload.add_keys])
            new_role = DelegatedRole(keyids, existing.threshold, name=role, paths=paths)
        if len(new_role.keyids) < new_role.threshold:
            logger.warning(
                "role %s has fewer keys than its threshold of %d; it will not be usable until keys are added to it",
                role,
                new_role.threshold,
            )
        keys = dict(parent_md.delegations.keys)
        keys.update((k.key_id, k) for k in payload.add_keys)
        roles = list(parent_md.delegations.roles)
        if existing is None:
            roles.append(new_role)
        else:
            roles[roles.index(existing)] = new_role
        work.targets[parent] = _with_delegations(parent_md, keys, roles)
        work.dirty.add(parent)

    def _purge(self, work: _Work, under: str, canonical_ids: Sequence[str]) -> None:
        """Remove keys from every delegation below ``under`` that this client can sign (``PurgeDelegationKeys``)."""
        purge = set(canonical_ids)
        for role in list(work.targets):
            if role != under and not role.startswith(under + "/"):
                continue
            targets = work.targets[role]
            doomed = [kid for kid, key in targets.delegations.keys.items() if key.canonical_id in purge]
            if not doomed:
                continue
            if not self._can_sign(work, role):
                logger.warning(
                    "role %s contains keys being purged but you do not have the keys to sign it; keys "
                    "will not be purged from %s or its immediate children",
                    role,
                    role,
                )
                continue
            keys = {kid: key for kid, key in targets.delegations.keys.items() if kid not in doomed}
            roles = [attrs.evolve(r, keyids=_subtract(r.keyids, doomed)) for r in targets.delegations.roles]
            work.targets[role] = _with_delegations(targets, keys, roles)
            work.dirty.add(role)

    def _witness(self, work: _Work, role: str) -> None:
        if role in work.targets:
            work.dirty.add(role)
            return
        if role in work.invalid:
            keyids, threshold, _ = work.role_keys(role)
            if len(keyids) >= threshold:
                work.targets[role] = work.invalid.pop(role)
                work.dirty.add(role)
                return
        raise InvalidChangeError(f"cannot witness {role}: it does not exist or has fewer keys than its threshold")

    def _replace_base_keys(self, work: _Work, role: str, keys: Sequence[PublicKey]) -> None:
        if role not in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP):
            raise InvalidChangeError(f"{role} is not a base role")
        work.root = work.root.with_role_keys(role, keys)
        work.root_dirty = True
        if role == TARGETS and TARGETS in work.targets:
            work.dirty.add(TARGETS)

    # --- signing -------------------------------------------------------------------------------------------

    def _sign(self, work: _Work, initial: bool) -> dict[str, bytes]:
        now = self._clock()
        files: dict[str, bytes] = {}
        root_bytes = work.root_bytes
        if work.root_dirty or work.root.expires < now + _NEAR_EXPIRY:
            root = attrs.evolve(work.root, version=work.root.version + 1, expires=default_expiry(ROOT, now=now))
            roles_to_sign = [work.root.roles[ROOT]]
            if work.original_root_role != work.root.roles[ROOT]:
                roles_to_sign.insert(0, work.original_root_role)
            root_bytes = self._sign_root(Metadata(root), roles_to_sign, work.root.keys).to_bytes()
            files[ROOT] = root_bytes
        elif initial:
            files[ROOT] = root_bytes
        if initial:
            work.dirty.add(TARGETS)
        signed_roles = {ROOT: root_bytes}
        for role, targets in work.targets.items():
            if role in work.dirty:
                bumped = targets.bump(expires=default_expiry(TARGETS, now=now))
                keyids, threshold, keys = work.role_keys(role)
                data = self._sign_with_role(
                    Metadata(bumped), [keys[k] for k in keyids if k in keys], threshold, role=role
                ).to_bytes()
                files[role] = data
                signed_roles[role] = data
            elif role in work.raw:
                signed_roles[role] = work.raw[role]
        snapshot_keys = [work.root.keys[k] for k in work.root.roles[SNAPSHOT].keyids if k in work.root.keys]
        if any(self._find_key(k.key_id, k) is not None for k in snapshot_keys):
            previous = work.snapshot
            meta = {} if previous is None else {r: m for r, m in previous.meta.items() if r not in work.deleted}
            meta.update((role, MetaFile.from_data(data)) for role, data in signed_roles.items())
            snapshot = Snapshot(
                version=(previous.version if previous else 0) + 1,
                expires=default_expiry(SNAPSHOT, now=now),
                meta=meta,
            )
            threshold = work.root.roles[SNAPSHOT].threshold
            files[SNAPSHOT] = self._sign_with_role(
                Metadata(snapshot), snapshot_keys, threshold, role=SNAPSHOT
            ).to_bytes()
        return files

    def _sign_root(
        self, metadata: Metadata[Root], roles: Sequence[Role], keys: Mapping[str, PublicKey]
    ) -> Metadata[Root]:
        """Sign with every available key of each root role given (old and new, for a rotation)."""
        for entry in roles:
            found = 0
            for keyid in entry.keyids:
                key = keys.get(keyid)
                store_id = self._find_key(keyid, key) if key is not None else None
                if key is None or store_id is None:
                    continue
                metadata = metadata.sign(self.keystore.get_signer(store_id), key=key)
                found += 1
            if found < entry.threshold:
                raise SigningError(
                    f"signing keys not available: need {entry.threshold} keys from {len(entry.keyids)} possible "
                    f"keys for root"
                )
        return metadata

    def _sign_with_role(
        self, metadata: Metadata[Any], keys: Sequence[PublicKey], threshold: int, *, role: str = ""
    ) -> Metadata[Any]:
        found = 0
        for key in keys:
            store_id = self._find_key(key.key_id, key)
            if store_id is None:
                continue
            metadata = metadata.sign(self.keystore.get_signer(store_id), key=key)
            found += 1
        if found < threshold:
            raise SigningError(
                f"signing keys not available: need {threshold} keys from {len(keys)} possible keys for "
                f"{role or metadata.signed.role}"
            )
        return metadata


def _with_delegations(targets: Targets, keys: Mapping[str, PublicKey], roles: Sequence[DelegatedRole]) -> Targets:
    """A copy of ``targets`` with these delegations, dropping keys no role uses (notary's ``RemoveUnusedKeys``)."""
    used = {kid for role in roles for kid in role.keyids}
    return attrs.evolve(targets, delegations=Delegations({k: v for k, v in keys.items() if k in used}, roles))


def _certificate_for(signer: Any, bare: PublicKey, gun: str, now: datetime) -> PublicKey:
    """The root certificate key for a root signer (the certificate is signed with the private key itself, so
    root keys must be local keys: securesystemslib ``CryptoSigner``s)."""
    private = getattr(signer, "private_key", None) or getattr(signer, "_private_key", None)
    if private is None:
        raise SigningError("root keys must be local keys that can sign their own certificate")
    cert = make_root_key(PrivateKey(private), gun, now=now)
    if cert.canonical_id != bare.key_id:
        raise SigningError("the root signer's private key does not match its public key")
    return cert
