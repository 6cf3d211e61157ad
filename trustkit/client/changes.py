"""Applying changes: notary's ``applyChangelist`` over a working copy of the trusted state, with no I/O.

Staged changes and the trusted state go in (:meth:`WorkingCopy.from_trusted`); the roles to re-sign come out
(:attr:`WorkingCopy.targets`, :attr:`WorkingCopy.dirty`, :attr:`WorkingCopy.root`). Nothing here reads files or
the network, or signs: whether the keystore can sign a role is a question the caller answers (``holds``), and
:class:`~trustkit.client.repository.Repository` does the fetching, signing and uploading around
:func:`apply_changes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from trustkit.client.changelist import Change, StagedChange
from trustkit.errors import MalformedMetadataError, SigningError, TrustkitError, UnknownRoleError
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import TargetFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation, parent_role, path_allowed
from trustkit.metadata.roles import DelegatedRole, Delegations, Role, Root, Snapshot, Targets, default_expiry
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = ["InvalidChangeError", "WorkingCopy", "apply_changes"]

logger = logging.getLogger("trustkit.client.repository")  # the records' logger name users filter on


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
class WorkingCopy:
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

    @classmethod
    def from_trusted(cls, trusted: TrustedMetadataSet, skipped: Mapping[str, bytes]) -> WorkingCopy:
        """A working copy of a refreshed trusted state, with the delegations its refresh skipped (``Reader.invalid``:
        a witness change may bring one back)."""
        work = cls(
            root=trusted.root.signed,
            original_root_role=trusted.root.signed.roles[ROOT],
            root_bytes=trusted.raw(ROOT),
            targets={role: trusted[role].signed for role in trusted.walk()},
            raw={role: trusted.raw(role) for role in trusted.walk()},
            snapshot=trusted.snapshot.signed if trusted.snapshot else None,
        )
        for role, data in skipped.items():
            try:
                work.invalid[role] = Metadata.from_bytes(data, role=role).signed
            except MalformedMetadataError:
                continue
        return work

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


def apply_changes(
    work: WorkingCopy,
    staged: Sequence[StagedChange],
    *,
    holds: Callable[[str, PublicKey], bool],
    clock: Callable[[], datetime],
) -> WorkingCopy:
    """Apply ``staged`` to ``work`` in order, with notary's rules, and return it with every change applied.

    ``holds(key_id, key)`` says whether the keystore can sign with a role's key (a role nobody can sign cannot be
    changed); ``clock`` dates the roles a change creates. A change that cannot apply raises
    :class:`InvalidChangeError` naming it (or :class:`~trustkit.errors.SigningError` for a role without keys).
    """
    changes = _Application(holds, clock)
    for item in staged:
        try:
            changes.apply(work, item.change)
        except InvalidChangeError as exc:
            raise InvalidChangeError(f"{item.change.describe()}: {exc}") from exc
    work.apply_pending()
    return work


class _Application:
    """One run of :func:`apply_changes`: the rules, with the caller's keystore question and clock."""

    def __init__(self, holds: Callable[[str, PublicKey], bool], clock: Callable[[], datetime]) -> None:
        self._holds = holds
        self._clock = clock

    def apply(self, work: WorkingCopy, change: Change) -> None:
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

    def _can_sign(self, work: WorkingCopy, role: str) -> bool:
        keyids, _, keys = work.role_keys(role)
        return any(self._holds(kid, keys[kid]) for kid in keyids if kid in keys)

    def _require_signable(self, work: WorkingCopy, role: str) -> None:
        if not self._can_sign(work, role):
            keyids, _, keys = work.role_keys(role)
            wanted = ", ".join(keys[k].canonical_id for k in keyids if k in keys) or "none"
            raise SigningError(f"no usable keys for {role}: the keystore holds none of its keys ({wanted})")

    def _ensure_targets(self, work: WorkingCopy, role: str) -> Targets:
        if role not in work.targets:
            if role != TARGETS:
                work.paths_of(role)  # raises when the parent does not delegate to it
            work.targets[role] = Targets(version=0, expires=default_expiry(TARGETS, now=self._clock()))
        return work.targets[role]

    def _require_signable_in_run(self, work: WorkingCopy, role: str) -> None:
        if role not in work.signable:
            self._require_signable(work, role)
            work.signable.add(role)

    def _add_target(self, work: WorkingCopy, role: str, name: str, target: TargetFile) -> None:
        self._require_signable_in_run(work, role)
        if not path_allowed(name, work.paths_of(role)):
            raise InvalidChangeError(f"Could not add all targets: {role} may not sign {name!r}")
        self._ensure_targets(work, role)
        pending = work.pending_targets(role)
        if pending.get(name) == target:
            return
        pending.add(name, target)
        work.dirty.add(role)

    def _remove_target(self, work: WorkingCopy, role: str, name: str) -> None:
        if role not in work.targets or work.pending_targets(role).get(name) is None:
            return
        self._require_signable_in_run(work, role)
        work.pending_targets(role).remove(name)
        work.dirty.add(role)

    def _change_delegation(self, work: WorkingCopy, change: Change) -> None:
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
            if remove_ids and not keyids:
                new_role = new_role.without_keys(())  # the last key removed: null, as notary writes it
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

    def _purge(self, work: WorkingCopy, under: str, canonical_ids: Sequence[str]) -> None:
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
            roles = [r.without_keys(doomed) for r in targets.delegations.roles]
            work.targets[role] = _with_delegations(targets, keys, roles)
            work.dirty.add(role)

    def _witness(self, work: WorkingCopy, role: str) -> None:
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

    def _replace_base_keys(self, work: WorkingCopy, role: str, keys: Sequence[PublicKey]) -> None:
        if role not in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP):
            raise InvalidChangeError(f"{role} is not a base role")
        work.root = work.root.with_role_keys(role, keys)
        work.root_dirty = True
        if role == TARGETS and TARGETS in work.targets:
            work.dirty.add(TARGETS)


def _with_delegations(targets: Targets, keys: Mapping[str, PublicKey], roles: Sequence[DelegatedRole]) -> Targets:
    """A copy of ``targets`` with these delegations, dropping keys no role uses (notary's ``RemoveUnusedKeys``)."""
    used = {kid for role in roles for kid in role.keyids}
    return attrs.evolve(targets, delegations=Delegations({k: v for k, v in keys.items() if k in used}, roles))
