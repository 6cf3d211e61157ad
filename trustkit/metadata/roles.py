"""The four Notary v1 role payloads and their parts, as immutable models.

Each model reads the decoded ``signed`` object with notary's validation rules (``from_dict``) and writes the
object notary would write (``to_dict``), so that a file written by notary parses and serialises back to the same
bytes. Models hold no I/O and never change once built: use :func:`attrs.evolve` or the ``with_*`` helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import attrs

from trustkit._encoding import GoTime
from trustkit.errors import MalformedMetadataError, UnknownRoleError
from trustkit.keys.public import PublicKey
from trustkit.metadata.files import (
    MetaFile,
    TargetFile,
    _freeze,
    _get,
    _integer,
    _keys,
    _str_tuple,
    _string_list,
    _to_gotime,
)
from trustkit.metadata.names import (
    BASE_ROLES,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    is_delegation,
    parent_role,
    path_allowed,
)
from trustkit.metadata.parsed_targets import ParsedTargets as _ParsedTargets
from trustkit.metadata.parsed_targets import digests_and_lengths, read_target_files
from trustkit.metadata.verification import Delegator, Signers

__all__ = [
    "DEFAULT_EXPIRY",
    "DelegatedRole",
    "Delegations",
    "Role",
    "Root",
    "Signed",
    "Snapshot",
    "Targets",
    "Timestamp",
    "default_expiry",
]


DEFAULT_EXPIRY: Mapping[str, timedelta] = MappingProxyType(
    {
        ROOT: timedelta(days=10 * 365),
        TARGETS: timedelta(days=3 * 365),
        SNAPSHOT: timedelta(days=3 * 365),
        TIMESTAMP: timedelta(days=14),
    }
)
"""Notary's default lifetimes (client and server): root 10 years, targets and snapshot 3, timestamp 14 days."""


def default_expiry(role: str, *, now: datetime | None = None) -> datetime:
    """When metadata signed now for ``role`` expires by notary's defaults (delegations count as targets)."""
    kind = TARGETS if is_delegation(role) else role
    if kind not in DEFAULT_EXPIRY:
        raise UnknownRoleError(f"no default expiry for role {role!r}")
    return (now or datetime.now(timezone.utc)) + DEFAULT_EXPIRY[kind]


def _freeze_targets(value: Mapping[str, TargetFile]) -> Mapping[str, TargetFile]:
    """A read-only copy of a ``targets`` map; a parsed one (read-only already) as it is."""
    return value if isinstance(value, _ParsedTargets) else _freeze(value)


def _index_by_name(roles: Iterable[DelegatedRole]) -> dict[str, DelegatedRole]:
    """The first role of each name, by name."""
    index: dict[str, DelegatedRole] = {}
    for role in roles:
        index.setdefault(role.name, role)
    return index


def _roles_tuple(value: Iterable[DelegatedRole]) -> tuple[DelegatedRole, ...]:
    return tuple(value)


# --- parts ------------------------------------------------------------------------------------------------


class _GoNulls:
    """Which of a model's lists and maps the parsed file held as null (Go writes a nil slice or map so), remembered
    so that the file round-trips.

    The frozen model holds it in a field that is not an init field, so every new instance -- built, or a copy by
    :func:`attrs.evolve` -- starts with none set and is written as built (``[]``, ``{}``): only the parser and
    :meth:`Role.without_keys` (notary's ``RemoveKeys``, on the copy it has just made) set them, by plain attribute
    writes. A plain slotted class: one attrs class less to build at import.
    """

    __slots__ = ("keyids", "keys", "roles")

    def __init__(self) -> None:
        self.keyids = False  # Role.keyids was null
        self.keys = False  # Delegations.keys was null (or the whole ``delegations`` object absent)
        self.roles = False  # Delegations.roles was null (or the whole ``delegations`` object absent)


_R = TypeVar("_R", bound="Role")


@attrs.frozen(unsafe_hash=False)
class Role:
    """A root ``roles`` entry: which keys sign a base role and how many must."""

    keyids: tuple[str, ...] = attrs.field(converter=_str_tuple)
    threshold: int
    # Go writes a nil slice as null: remembered from parsing so that files round-trip (never set when building;
    # not an init field, so that attrs.evolve does not carry it into a changed copy)
    _nulls: _GoNulls = attrs.field(init=False, factory=_GoNulls, eq=False, repr=False)

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> Role:
        """Read ``{"keyids": […], "threshold": n}`` (``keyids`` may be null, as notary writes when empty)."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        role = cls(
            _string_list(obj, "keyids", where, nullable=True),
            _integer(obj, "threshold", where, minimum=1),
        )
        role._nulls.keyids = obj.get("keyids") is None
        return role

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes."""
        return {"keyids": None if self._nulls.keyids else list(self.keyids), "threshold": self.threshold}

    def without_keys(self: _R, keyids: Iterable[str]) -> _R:
        """A copy without ``keyids``, as notary's ``RemoveKeys`` leaves a role: with no key left, Go's nil slice,
        which it writes as ``"keyids":null`` (so a change that removes a role's last key writes notary's bytes)."""
        removed = set(keyids)
        copy = attrs.evolve(self, keyids=tuple(kid for kid in self.keyids if kid not in removed))
        copy._nulls.keyids = not copy.keyids
        return copy


@attrs.frozen(unsafe_hash=False)
class DelegatedRole(Role):
    """A delegation: a named role, its keys and threshold, and the target-name prefixes it may sign."""

    name: str = attrs.field(kw_only=True)
    paths: tuple[str, ...] = attrs.field(kw_only=True, default=(), converter=_str_tuple)

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> DelegatedRole:
        """Read ``{"keyids", "name", "paths", "threshold"}`` (no globs, hash prefixes or terminating flag)."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        name = _get(obj, "name", str, where)
        if not is_delegation(name):
            raise MalformedMetadataError(f"{where}: delegation role {name!r} invalid")
        role = cls(
            _string_list(obj, "keyids", f"{where} {name}", nullable=True),
            _integer(obj, "threshold", f"{where} {name}", minimum=1),
            name=name,
            paths=_string_list(obj, "paths", f"{where} {name}", nullable=True),
        )
        role._nulls.keyids = obj.get("keyids") is None
        return role

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes (``paths`` omitted when empty)."""
        out: dict[str, Any] = {
            "keyids": None if self._nulls.keyids else list(self.keyids),
            "name": self.name,
            "threshold": self.threshold,
        }
        if self.paths:
            out["paths"] = list(self.paths)
        return out

    def covers(self, target_name: str) -> bool:
        """Whether this role may sign ``target_name``: a string-prefix match, ``""`` covers everything."""
        return path_allowed(target_name, self.paths)


@attrs.frozen(unsafe_hash=False)
class Delegations:
    """A targets role's delegations: the keys they use and the roles, in priority order."""

    keys: Mapping[str, PublicKey] = attrs.field(factory=dict, converter=_freeze)
    roles: tuple[DelegatedRole, ...] = attrs.field(default=(), converter=_roles_tuple)
    # Go's nil map and nil slice are written as null: remembered from parsing so that files round-trip (not an init
    # field, so that attrs.evolve does not carry them into a changed copy)
    _nulls: _GoNulls = attrs.field(init=False, factory=_GoNulls, eq=False, repr=False)
    # the roles by name, built with the roles (and again by attrs.evolve): a walk over many delegations must not
    # scan the list for each
    _by_name: dict[str, DelegatedRole] = attrs.field(
        default=attrs.Factory(lambda self: _index_by_name(self.roles), takes_self=True),
        init=False,
        eq=False,
        repr=False,
    )

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> Delegations:
        """Read ``{"keys": {…}, "roles": […]}``; ``null`` fields read as empty."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: delegations must be an object")
        raw_keys, raw_roles = obj.get("keys"), obj.get("roles")
        keys = _keys({} if raw_keys is None else raw_keys, f"{where} delegations")
        raw_roles = [] if raw_roles is None else raw_roles
        if not isinstance(raw_roles, list):
            raise MalformedMetadataError(f"{where}: delegations.roles must be a list")
        roles = tuple(DelegatedRole.from_dict(role, where=f"{where} delegation") for role in raw_roles)
        names = [role.name for role in roles]
        if len(set(names)) != len(names):
            raise MalformedMetadataError(f"{where}: a delegation role is listed twice")
        delegations = cls(keys, roles)
        delegations._nulls.keys = raw_keys is None
        delegations._nulls.roles = obj.get("roles") is None
        return delegations

    @classmethod
    def absent(cls) -> Delegations:
        """What Go makes of a targets file without ``delegations``: written back as ``{"keys":null,"roles":null}``."""
        delegations = cls()
        delegations._nulls.keys = delegations._nulls.roles = True
        return delegations

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes (always present, ``{"keys":{},"roles":[]}`` when empty)."""
        return {
            "keys": None if self._nulls.keys else {kid: key.to_dict() for kid, key in self.keys.items()},
            "roles": None if self._nulls.roles else [role.to_dict() for role in self.roles],
        }

    def get(self, name: str) -> DelegatedRole:
        """The delegated role called ``name``; :class:`UnknownRoleError` if there is none."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownRoleError(f"no delegation named {name!r}") from None


# --- payloads ---------------------------------------------------------------------------------------------

S = TypeVar("S", bound="Signed")


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Signed:
    """The fields every role shares: ``version`` and ``expires`` (``_type`` comes from the class)."""

    type: ClassVar[str] = ""
    role: ClassVar[str] = ""

    version: int
    _expires: GoTime = attrs.field(alias="expires", converter=_to_gotime)

    @property
    def expires(self) -> datetime:
        """When this metadata expires, as an aware datetime (notary keeps nanoseconds; see ``expires_text``)."""
        return self._expires.datetime

    @property
    def expires_text(self) -> str:
        """The ``expires`` string exactly as written (Go RFC 3339 with nanoseconds and the signer's offset)."""
        return self._expires.text

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether ``expires`` is before ``now`` (default: the current time)."""
        return self.expires < (now or datetime.now(timezone.utc))

    @staticmethod
    def _common(obj: Mapping[str, Any], cls_type: str, where: str) -> dict[str, Any]:
        found = obj.get("_type")
        if found != cls_type:
            raise MalformedMetadataError(f"{where} type metadata invalid: expected type {cls_type}, not {found}")
        version = _integer(obj, "version", where, minimum=1)
        expires = GoTime.parse(_get(obj, "expires", str, where), field=f"{where} expires")
        return {"version": version, "expires": expires}

    def _common_dict(self) -> dict[str, Any]:
        return {"_type": self.type, "expires": self._expires.text, "version": self.version}

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        raise NotImplementedError

    def bump(self: S, *, expires: datetime | None = None) -> S:
        """A copy with the version incremented and (optionally) a new expiry, as notary does on each signing."""
        changes: dict[str, Any] = {"version": self.version + 1}
        if expires is not None:
            changes["expires"] = expires
        return attrs.evolve(self, **changes)


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Root(Signed, Delegator):
    """The root role: every base role's keys and thresholds (the delegator of the base roles)."""

    type: ClassVar[str] = "Root"
    role: ClassVar[str] = ROOT

    keys: Mapping[str, PublicKey] = attrs.field(converter=_freeze)
    roles: Mapping[str, Role] = attrs.field(converter=_freeze)
    consistent_snapshot: bool = False

    def __attrs_post_init__(self) -> None:
        for name in BASE_ROLES:
            if name not in self.roles:
                raise MalformedMetadataError(f"root type metadata invalid: missing {name} role")
        for name, role in self.roles.items():
            for keyid in role.keyids:
                if keyid not in self.keys:
                    raise MalformedMetadataError(f"root type metadata invalid: {name} key {keyid} not in keys")

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Root:
        """Read a ``signed`` object of ``_type`` Root with notary's rules."""
        where = "root"
        common = cls._common(obj, cls.type, where)
        raw_roles = _get(obj, "roles", dict, where)
        consistent = obj.get("consistent_snapshot", False)
        if not isinstance(consistent, bool):
            raise MalformedMetadataError("root: consistent_snapshot must be a boolean")
        return cls(
            keys=_keys(_get(obj, "keys", dict, where), where),
            roles={name: Role.from_dict(role, where=f"root role {name}") for name, role in raw_roles.items()},
            consistent_snapshot=consistent,
            **common,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        out = self._common_dict()
        out["consistent_snapshot"] = self.consistent_snapshot
        out["keys"] = {kid: key.to_dict() for kid, key in self.keys.items()}
        out["roles"] = {name: role.to_dict() for name, role in self.roles.items()}
        return out

    def role_keys(self, role: str) -> dict[str, PublicKey]:
        """The keys of base role ``role``, by key ID."""
        entry = self._role(role)
        return {kid: self.keys[kid] for kid in entry.keyids}

    def _role(self, role: str) -> Role:
        try:
            return self.roles[role]
        except KeyError:
            raise UnknownRoleError(f"root has no role {role!r}") from None

    def signers(self, role: str) -> Signers:
        """Base role ``role``'s key IDs and threshold, and root's keys; :class:`UnknownRoleError` if root has no
        such role."""
        entry = self._role(role)
        return entry.keyids, entry.threshold, self.keys

    def with_role_keys(self, role: str, keys: Iterable[PublicKey], *, threshold: int | None = None) -> Root:
        """A copy whose ``role`` uses exactly ``keys`` (notary's ``ReplaceBaseKeys``).

        Keys no role uses any more are dropped, except old root keys, which notary keeps for rotation.
        """
        key_list = list(keys)
        entry = self.roles.get(role)
        new_threshold = threshold if threshold is not None else (entry.threshold if entry else 1)
        roles = dict(self.roles)
        roles[role] = Role(tuple(key.key_id for key in key_list), new_threshold)
        all_keys = dict(self.keys)
        all_keys.update((key.key_id, key) for key in key_list)
        used = {kid for r in roles.values() for kid in r.keyids}
        old_root = set(self.roles[ROOT].keyids) if ROOT in self.roles else set()
        kept = {kid: key for kid, key in all_keys.items() if kid in used or kid in old_root}
        return attrs.evolve(self, keys=kept, roles=roles)


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Targets(Signed, Delegator):
    """The targets role or a delegated targets role: target files and further delegations (whose delegator it
    is)."""

    type: ClassVar[str] = "Targets"
    role: ClassVar[str] = TARGETS

    targets: Mapping[str, TargetFile] = attrs.field(factory=dict, converter=_freeze_targets)
    delegations: Delegations = attrs.field(factory=Delegations)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, role: str | None = TARGETS) -> Targets:
        """Read a ``signed`` object of ``_type`` Targets; delegations must be direct children of ``role``.

        ``role=None`` reads a targets file whose role is not known (``Metadata.from_bytes`` without ``role``):
        the direct-child check then waits until the role is known -- a delegated role that delegates further
        (``targets/a`` naming ``targets/a/b``) is valid, so it cannot be checked against ``targets``.
        """
        where = role or "targets metadata"
        common = cls._common(obj, cls.type, where)
        targets = read_target_files(_get(obj, "targets", dict, where), role or TARGETS)
        raw_delegations = obj.get("delegations")
        delegations = (
            Delegations.absent() if raw_delegations is None else Delegations.from_dict(raw_delegations, where=where)
        )
        for entry in delegations.roles if role is not None else ():
            if parent_role(entry.name) != role:
                raise MalformedMetadataError(f"{role} type metadata invalid: delegation role {entry.name} invalid")
        return cls(targets=targets, delegations=delegations, **common)

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        out = self._common_dict()
        out["delegations"] = self.delegations.to_dict()
        targets = self.targets
        if isinstance(targets, _ParsedTargets):  # without building a model per entry
            out["targets"] = targets.json_objects()
        else:
            out["targets"] = {name: meta.to_dict() for name, meta in targets.items()}
        return out

    def signers(self, role: str) -> Signers:
        """Delegation ``role``'s key IDs and threshold, and the delegation keys; :class:`UnknownRoleError` if
        there is no such delegation."""
        entry = self.delegations.get(role)
        return entry.keyids, entry.threshold, self.delegations.keys

    def sha256_hex_and_lengths(self, names: list[str]) -> tuple[list[str | None], list[int]]:
        """The sha256 hex (None without one) and length of each of ``names`` (every name must be a target):
        for many names at once, with no model built per target when the file was parsed."""
        targets = self.targets
        if isinstance(targets, _ParsedTargets):
            return targets.sha256_hex_and_lengths(names)
        return digests_and_lengths([targets[name] for name in names])

    def with_target(self, name: str, target: TargetFile) -> Targets:
        """A copy with ``name`` added or replaced."""
        if isinstance(self.targets, _ParsedTargets):  # parsed: an overlay, not a copy of every entry
            return attrs.evolve(self, targets=self.targets.with_target(name, target))
        return attrs.evolve(self, targets={**self.targets, name: target})

    def without_target(self, name: str) -> Targets:
        """A copy without ``name`` (unchanged if absent)."""
        if isinstance(self.targets, _ParsedTargets):
            return attrs.evolve(self, targets=self.targets.without_target(name))
        return attrs.evolve(self, targets={k: v for k, v in self.targets.items() if k != name})

    def with_changes(self, added: Mapping[str, TargetFile], removed: Iterable[str]) -> Targets:
        """A copy without ``removed`` and then with ``added``: what :meth:`without_target` for each of ``removed``
        and then :meth:`with_target` for each of ``added`` (in order) give, in one copy instead of one per change
        (applying k staged changes one by one is O(k^2))."""
        if isinstance(self.targets, _ParsedTargets):
            return attrs.evolve(self, targets=self.targets.with_changes(added, removed))
        drop = set(removed)
        targets = {name: target for name, target in self.targets.items() if name not in drop}
        targets.update(added)
        return attrs.evolve(self, targets=targets)

    def with_delegation(self, role: DelegatedRole, keys: Iterable[PublicKey] = ()) -> Targets:
        """A copy where ``role`` is added (or replaced in place) and ``keys`` added to the delegation keys."""
        roles = list(self.delegations.roles)
        for index, existing in enumerate(roles):
            if existing.name == role.name:
                roles[index] = role
                break
        else:
            roles.append(role)
        all_keys = dict(self.delegations.keys)
        all_keys.update((key.key_id, key) for key in keys)
        missing = [kid for kid in role.keyids if kid not in all_keys]
        if missing:
            raise MalformedMetadataError(f"delegation {role.name}: keys {missing} are not provided")
        return attrs.evolve(self, delegations=Delegations(all_keys, roles))


M = TypeVar("M", bound="_MetaRole")


class _MetaRole(Signed):
    """A role that lists other roles' files by length and hashes (``meta``): snapshot and timestamp share how it is
    read and written (a plain base: one attrs class less to build at import)."""

    __slots__ = ()
    meta: Mapping[str, MetaFile]
    _required: ClassVar[tuple[str, ...]] = ()
    """The roles ``meta`` must list with a sha256."""

    def __attrs_post_init__(self) -> None:
        for name in self._required:
            entry = self.meta.get(name)
            if entry is None or "sha256" not in entry.hashes:
                raise MalformedMetadataError(f"{self.role} type metadata invalid: missing {name} meta with sha256")

    @classmethod
    def from_dict(cls: type[M], obj: Mapping[str, Any]) -> M:
        """Read a ``signed`` object of this role's ``_type`` with notary's rules."""
        common = cls._common(obj, cls.type, cls.role)
        raw = _get(obj, "meta", dict, cls.role)
        meta = {name: MetaFile.from_dict(m, where=f"{cls.role} meta {name}") for name, m in raw.items()}
        return cls(meta=meta, **common)  # type: ignore[call-arg]  # each subclass declares the meta field

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        out = self._common_dict()
        out["meta"] = {name: meta.to_dict() for name, meta in self.meta.items()}
        return out


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Snapshot(_MetaRole):
    """The snapshot role: the length and hashes of root, targets and every delegation file (``meta``)."""

    type: ClassVar[str] = "Snapshot"
    role: ClassVar[str] = SNAPSHOT
    _required: ClassVar[tuple[str, ...]] = (ROOT, TARGETS)

    meta: Mapping[str, MetaFile] = attrs.field(converter=_freeze)


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Timestamp(_MetaRole):
    """The timestamp role: the length and hashes of the current snapshot (``meta``)."""

    type: ClassVar[str] = "Timestamp"
    role: ClassVar[str] = TIMESTAMP
    _required: ClassVar[tuple[str, ...]] = (SNAPSHOT,)

    meta: Mapping[str, MetaFile] = attrs.field(converter=_freeze)

    @property
    def snapshot_meta(self) -> MetaFile:
        """The entry describing snapshot.json."""
        return self.meta[SNAPSHOT]
