"""The trusted metadata of one GUN: an I/O-free state machine that accepts bytes only in the order notary's
client update workflow allows, and only when every check passes.

Order: root (and each intermediate root of a rotation), timestamp, snapshot, targets, then delegations parent
first. Each ``update_*`` takes the bytes as received, parses them once, checks them and either keeps them or
raises a typed error -- leaving what was trusted before untouched. Nothing here reads a file or a socket, so the
whole security logic is tested with bytes alone (python-tuf's ``TrustedMetadataSet`` is the model).

Checks: signatures and thresholds from the right keys (each key ID once); expiry of every role against an
injectable clock; no rollback below the versions trusted before (an equal version is accepted, as notary does);
the timestamp → snapshot → roles chain by length and sha256; delegations only as direct children named by their
parent, with their paths restricted by prefix through the whole chain.

Signature checks may be remembered across runs (:class:`VerificationMemo`, which the reader keeps beside its
metadata cache): a check is skipped only when the very same bytes passed it before under the very same keys and
threshold. Why that is sound: a signature check is a pure function of exactly three inputs -- the file's bytes
(which fix both the signed content, hence its canonical form, and the signatures), the key IDs and threshold
the trusted delegator assigns to the role, and those keys' contents. A memo entry is named by the sha256 of all
three (:func:`verification_token`) and holds the key IDs whose signatures were valid; it is written only after
a check passed in full. So a hit replays the result the full check would compute now, bit for bit. Everything
that is not a pure function of those inputs is still checked every time: the hash chain from the timestamp
(each file's length and sha256/sha512 against its parent's entry), parsing and validation of every entry,
versions (rollback) and expiry (time moves on). A new key, a changed threshold, a rotated root or one changed
byte give another token, so the full check runs. The memo lives in the trust directory next to the cached root,
which is already trusted as the anchor of every check (whoever can write there can replace the root itself), so
it adds no new trust assumption.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple

import attrs

from trustkit._encoding import paused_gc
from trustkit.errors import (
    ExpiredMetadataError,
    HashMismatchError,
    RollbackError,
    RootMismatchError,
    TrustkitError,
    UnknownRoleError,
    VerificationError,
)
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import MetaFile, TargetFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation, parent_role, path_allowed
from trustkit.metadata.parsed_targets import ParsedTargets, slot_setter
from trustkit.metadata.roles import Root, Snapshot, Targets, Timestamp
from trustkit.metadata.verification import VerificationResult
from trustkit.trust.pinning import TrustPinning, validate_root, validate_root_rotation

__all__ = [
    "Accelerator",
    "TargetMatch",
    "TargetRow",
    "TrustedMetadataSet",
    "UpdateOrderError",
    "VerificationMemo",
    "utc_now",
    "verification_token",
]

Clock = Callable[[], datetime]


class UpdateOrderError(TrustkitError):
    """An ``update_*`` call out of the workflow's order (for example a snapshot before a timestamp)."""


@attrs.frozen(unsafe_hash=False)
class TargetMatch:
    """A trusted target: its name, its metadata and the role that signed it."""

    name: str
    target: TargetFile
    role: str

    def _repr_html_(self) -> str:
        """For Jupyter: the target as a one-row table (name, sha256 in hex, size, signing role)."""
        from trustkit._tables import Table

        digest = f"sha256:{self.target.sha256_hex}" if self.target.sha256_hex else "(no sha256)"
        row = (self.name, digest, str(self.target.length), self.role)
        return Table("Trusted target", ("NAME", "DIGEST", "SIZE", "SIGNED BY"), [row], "none").html()


class TargetRow(NamedTuple):
    """A trusted target as plain values (:meth:`TrustedMetadataSet.list_target_rows`): what listing many needs."""

    name: str
    sha256_hex: str | None
    """The sha256 as hex (docker's digest), or None when the target has none."""
    length: int
    role: str
    """The role that signed it."""


_new_row = functools.partial(tuple.__new__, TargetRow)  # TargetRow._make without its Python-level checks
_SET_NAME = slot_setter(TargetMatch, "name")
_SET_TARGET = slot_setter(TargetMatch, "target")
_SET_ROLE = slot_setter(TargetMatch, "role")


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC: the default clock of every check of expiry in trustkit."""
    return datetime.now(timezone.utc)


_TOKEN_SCHEME = b"trustkit signature check v1"


def verification_token(
    role: str, data: bytes, keyids: Iterable[str], threshold: int, keys: Mapping[str, PublicKey]
) -> str:
    """The sha256 naming one signature check: the file's exact bytes, and the key IDs, threshold and key
    contents the delegator gives ``role`` -- every input of the check, nothing else."""
    digest = hashlib.sha256(_TOKEN_SCHEME)
    for part in (role.encode(), hashlib.sha256(data).digest(), str(threshold).encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    for keyid in sorted(set(keyids)):
        key = keys.get(keyid)
        for part in (keyid.encode(), b"" if key is None else key.keytype.encode(), b"" if key is None else key.public):
            digest.update(len(part).to_bytes(8, "big") + part)
        digest.update(b"\x01" if key is not None else b"\x00")
    return digest.hexdigest()


class VerificationMemo:
    """Signature checks that passed, by :func:`verification_token`: each token maps to the key IDs whose
    signatures were valid. ``records`` are those kept from earlier runs (see the module documentation for why
    replaying them is sound); :meth:`records` gives what this run used or added, to keep for the next."""

    def __init__(self, records: Mapping[str, Iterable[str]] | None = None) -> None:
        self._known: dict[str, frozenset[str]] = {t: frozenset(ids) for t, ids in (records or {}).items()}
        self._used: dict[str, frozenset[str]] = {}
        self.changed = False
        """Whether this run added a record (or dropped none it had): whether :meth:`records` is worth storing."""

    def lookup(self, token: str) -> frozenset[str] | None:
        """The valid key IDs of a check that passed before, or None."""
        found = self._known.get(token)
        if found is not None:
            self._used[token] = found
        return found

    def record(self, token: str, signed: Iterable[str]) -> None:
        """Remember a check that passed in full, with the key IDs whose signatures were valid."""
        self._known[token] = self._used[token] = frozenset(signed)
        self.changed = True

    def records(self) -> dict[str, list[str]]:
        """The records this run looked up or made (older ones are dropped), as JSON-ready lists."""
        return {token: sorted(ids) for token, ids in self._used.items()}

    def worth_storing(self) -> bool:
        """Whether :meth:`records` differs from what was loaded."""
        return self.changed or set(self._used) != set(self._known)


_REPR_ROLES = 8  # roles a repr names before counting the rest


@attrs.frozen
class Accelerator:
    """What spares a :class:`TrustedMetadataSet` work on bytes it has seen before, in one object; either part
    may be absent. Neither changes a result: only how it is reached.

    ``memo`` remembers signature checks of timestamp, snapshot and targets roles that passed, to skip repeating
    them on identical bytes under identical keys (see the module documentation).
    ``parse`` (role, bytes -> :class:`Metadata` or None) may give an earlier parse of the same bytes, for every
    role but root (a reader passes one that rebuilds big roles from :mod:`trustkit.metadata._compact`); one is
    used only if its signatures are checked over those very bytes (:meth:`Metadata.parsed_from`), else the
    bytes are parsed.
    """

    memo: VerificationMemo | None = None
    parse: Callable[[str, bytes], Metadata[Any] | None] | None = None


class TrustedMetadataSet:
    """Trusted metadata for ``gun``, grown one verified file at a time.

    ``root_data`` is the starting root: one trusted before (from the cache, ``first_contact=False``), or the
    first one ever seen (``first_contact=True``), which must then pass the certificate checks and ``pinning``.
    ``min_versions`` are the versions trusted before for each role (from the cache); nothing older is accepted.
    ``accelerator`` may spare repeated signature checks and parses of bytes seen before (:class:`Accelerator`).
    """

    def __init__(
        self,
        root_data: bytes,
        *,
        gun: str,
        first_contact: bool,
        pinning: TrustPinning | None = None,
        min_versions: Mapping[str, int] | None = None,
        clock: Clock = utc_now,
        accelerator: Accelerator | None = None,
    ) -> None:
        self.gun = gun
        self._clock = clock
        self._memo = None if accelerator is None else accelerator.memo
        self._parse_with = None if accelerator is None else accelerator.parse
        self._min_versions = dict(min_versions or {})
        self._bytes: dict[str, bytes] = {}
        self._metadata: dict[str, Metadata[Any]] = {}
        self._paths: dict[str, tuple[str, ...]] = {TARGETS: ("",)}
        self._blocked: dict[str, str] = {}  # delegations that could not be trusted and stop lookups, with why
        root = self._parse_root(root_data)
        if first_contact:
            validate_root(root, gun, pinning=pinning, now=clock())
        else:
            root.signed.verify_delegate(ROOT, root)
        self._check_version(ROOT, root.signed.version)
        self._accept(ROOT, root_data, root)

    # --- reading what is trusted ---------------------------------------------------------------------------

    @property
    def root(self) -> Metadata[Root]:
        """The trusted root."""
        return self._metadata[ROOT]

    @property
    def timestamp(self) -> Metadata[Timestamp] | None:
        """The trusted timestamp, once loaded."""
        return self._metadata.get(TIMESTAMP)

    @property
    def snapshot(self) -> Metadata[Snapshot] | None:
        """The trusted snapshot, once loaded."""
        return self._metadata.get(SNAPSHOT)

    @property
    def targets(self) -> Metadata[Targets] | None:
        """The trusted top-level targets, once loaded."""
        return self._metadata.get(TARGETS)

    def __repr__(self) -> str:
        """What is trusted: the GUN and each role's version (the first few, then how many more)."""
        held = [f"{role} v{metadata.signed.version}" for role, metadata in self._metadata.items()]
        more = len(held) - _REPR_ROLES
        listed = ", ".join(held[:_REPR_ROLES]) + (f", … and {more} more" if more > 0 else "")
        return f"<TrustedMetadataSet of {self.gun}: {listed}>"

    def __getitem__(self, role: str) -> Metadata[Any]:
        try:
            return self._metadata[role]
        except KeyError:
            raise UnknownRoleError(f"{role} is not trusted (not loaded)") from None

    def __contains__(self, role: object) -> bool:
        return role in self._metadata

    def raw(self, role: str) -> bytes:
        """The exact bytes of a trusted role, as received (what the cache stores)."""
        try:
            return self._bytes[role]
        except KeyError:
            raise UnknownRoleError(f"{role} is not trusted (not loaded)") from None

    def roles(self) -> list[str]:
        """The trusted roles, in the order they were accepted."""
        return list(self._metadata)

    def delegation_paths(self, role: str) -> tuple[str, ...]:
        """The paths ``role`` may sign once restricted by every ancestor's paths (``targets``: everything)."""
        if role not in self._paths:
            raise UnknownRoleError(f"{role} is not a trusted targets role")
        return self._paths[role]

    @property
    def blocked(self) -> Mapping[str, str]:
        """Delegations their trusted parent names that could not be trusted, with the reason (see
        :meth:`block_delegation`): no target they could hold is taken from a lower-priority role."""
        return dict(self._blocked)

    def block_delegation(self, role: str, reason: str) -> None:
        """Record that delegation ``role``, named by its trusted parent, cannot be trusted now (a snapshot trusted
        before listed it and the current one dropped it, or it is needed offline and not cached).

        TUF's rule: a lookup must not fall through such a role. :meth:`get_target` raises
        :class:`VerificationError` for a name the role could hold (within its restricted paths) instead of
        answering from a lower-priority role, and listings leave such names out of lower-priority roles.
        """
        parent_name = parent_role(role)
        parent = self._metadata.get(parent_name)
        if parent is None or not isinstance(parent.signed, Targets) or parent_name not in self._paths:
            raise UpdateOrderError(f"{role}: its parent {parent_name} must be trusted first")
        self._paths[role] = self._restricted(parent_name, parent.signed.delegations.get(role).paths)
        self._blocked[role] = reason

    # --- the workflow --------------------------------------------------------------------------------------

    def update_root(self, data: bytes, *, intermediate: bool = False) -> Metadata[Root]:
        """Accept a newer root (one step of a rotation): signed by the old root's threshold and its own.

        ``intermediate`` roots of a chain may have expired certificates and expiry dates, as notary allows; the
        last root must not. Only allowed before the timestamp is loaded.
        """
        if TIMESTAMP in self._metadata:
            raise UpdateOrderError("the root can only be updated before the timestamp")
        new = self._parse_root(data)
        previous = self.root.signed
        if new.signed.version < previous.version:
            raise RollbackError(f"root version {new.signed.version} is lower than current version {previous.version}")
        validate_root_rotation(previous, new, self.gun, now=self._clock(), check_expiry=not intermediate)
        if not intermediate:
            self._check_expiry(ROOT, new)
        self._accept(ROOT, data, new)
        return new

    def update_timestamp(self, data: bytes) -> Metadata[Timestamp]:
        """Accept a timestamp signed by root's timestamp keys, unexpired and not older than trusted before."""
        self._check_expiry(ROOT, self.root)
        if SNAPSHOT in self._metadata:
            raise UpdateOrderError("the timestamp must be loaded before the snapshot")
        timestamp = self._checked(self.root.signed, TIMESTAMP, data)
        self._accept(TIMESTAMP, data, timestamp)
        return timestamp

    def update_snapshot(self, data: bytes) -> Metadata[Snapshot]:
        """Accept the snapshot the timestamp names (by length and hashes), signed by root's snapshot keys.

        Raises :class:`RootMismatchError` when it lists another root than the trusted one: update the root first.
        """
        timestamp = self._require(TIMESTAMP, "the snapshot")
        if TARGETS in self._metadata:
            raise UpdateOrderError("the snapshot must be loaded before targets")
        timestamp.signed.snapshot_meta.verify_data(data, what=SNAPSHOT)
        snapshot = self._checked(self.root.signed, SNAPSHOT, data)
        root_meta = snapshot.signed.meta[ROOT]
        try:
            root_meta.verify_data(self._bytes[ROOT], what=ROOT)
        except HashMismatchError:
            raise RootMismatchError(
                "the snapshot lists a different root than the trusted one: update the root first",
                expected_sha256=root_meta.hashes["sha256"].hex(),
            ) from None
        self._accept(SNAPSHOT, data, snapshot)
        return snapshot

    def update_targets(self, data: bytes) -> Metadata[Targets]:
        """Accept the top-level targets named by the snapshot, signed by root's targets keys."""
        snapshot = self._require(SNAPSHOT, "targets")
        self._snapshot_entry(snapshot, TARGETS).verify_data(data, what=TARGETS)
        targets = self._checked(self.root.signed, TARGETS, data)
        self._accept(TARGETS, data, targets)
        return targets

    def update_delegation(self, role: str, data: bytes) -> Metadata[Targets]:
        """Accept delegated role ``role``: named by its (trusted) parent, listed in the snapshot, signed by the
        parent's threshold of its keys, unexpired and not rolled back."""
        if not is_delegation(role):
            raise UnknownRoleError(f"{role!r} is not a delegation name")
        parent_name = parent_role(role)
        parent = self._metadata.get(parent_name)
        if parent is None or not isinstance(parent.signed, Targets):
            raise UpdateOrderError(f"{role}: its parent {parent_name} must be trusted first")
        delegated = parent.signed.delegations.get(role)
        snapshot = self._require(SNAPSHOT, role)
        self._snapshot_entry(snapshot, role).verify_data(data, what=role)
        metadata = self._checked(parent.signed, role, data)
        restricted = self._restricted(parent_name, delegated.paths)
        self._accept(role, data, metadata)
        self._paths[role] = restricted
        self._blocked.pop(role, None)
        return metadata

    def _restricted(self, parent_name: str, paths: tuple[str, ...]) -> tuple[str, ...]:
        parent_paths = self._paths[parent_name]
        return tuple(p for p in paths if path_allowed(p, parent_paths))

    # --- targets -------------------------------------------------------------------------------------------

    def walk(self, start: str = TARGETS, *, skip: frozenset[str] = frozenset()) -> Iterator[str]:
        """Trusted targets roles breadth-first from ``start``, in each parent's delegation order, leaving out the
        subtrees of the roles in ``skip``."""
        return (role for role in self._walk(start, skip) if role not in self._blocked)

    def _walk(self, start: str, skip: frozenset[str]) -> Iterator[str]:
        """:meth:`walk`, with the blocked delegations in their places (they have no subtree)."""
        if start in self._blocked:
            yield start
            return
        if start not in self._metadata or start not in self._paths:
            return
        queue = deque([start])
        known, blocked = self._metadata, self._blocked
        while queue:
            role = queue.popleft()
            yield role
            if role in blocked:
                continue
            signed = known[role].signed
            queue.extend(
                d.name
                for d in signed.delegations.roles
                if (d.name in known or d.name in blocked) and d.name not in skip
            )

    def _walk_roles(self, roles: tuple[str, ...]) -> Iterator[str]:
        """Notary's walk with a role priority list: each listed role's subtree, skipping the other listed roles;
        blocked delegations are yielded in their places."""
        listed = frozenset(roles)
        for role in roles:
            yield from self._walk(role, listed - {role})

    def get_target(self, name: str, *, roles: tuple[str, ...] = (TARGETS,)) -> TargetMatch | None:
        """The first trusted role, breadth-first (within ``roles``, in priority order), whose restricted paths
        cover ``name`` and that lists it -- notary's ``GetTargetByName``."""
        for role in self._walk_roles(roles):
            if not path_allowed(name, self._paths[role]):
                continue
            if role in self._blocked:
                raise VerificationError(
                    f"{role} could hold {name!r} but cannot be trusted ({self._blocked[role]}): the lookup stops "
                    "there rather than take an answer from a lower-priority role; retry once the repository is "
                    "consistent"
                )
            target = self._metadata[role].signed.targets.get(name)
            if target is not None:
                return TargetMatch(name, target, role)
        return None

    def list_targets(self, *, roles: tuple[str, ...] = (TARGETS,)) -> list[TargetMatch]:
        """Every trusted target (within ``roles``, in priority order), each from the first role allowed to sign
        it that lists it -- notary's ``ListTargets``."""
        found: list[TargetMatch] = []
        with paused_gc():  # 100k new objects: keep the cyclic GC from re-walking the parsed files meanwhile
            for role, signed, names in self._listed(roles):
                targets = signed.targets  # a model is built only for a name that is listed (lazy targets)
                values = targets.get_many(names) if isinstance(targets, ParsedTargets) else [targets[n] for n in names]
                new, set_name, set_target, set_role = object.__new__, _SET_NAME, _SET_TARGET, _SET_ROLE
                for name, target in zip(names, values, strict=True):  # TargetMatch(name, target, role), 100k times
                    match = new(TargetMatch)
                    set_name(match, name)
                    set_target(match, target)
                    set_role(match, role)
                    found.append(match)
        return found

    def list_target_rows(self, *, roles: tuple[str, ...] = (TARGETS,)) -> list[TargetRow]:
        """What :meth:`list_targets` lists, as plain :class:`TargetRow` values: no model per target, so listing a
        100k-tag repository costs a fraction of it (what ``notary list`` and inspect tools print)."""
        rows: list[TargetRow] = []
        with paused_gc():
            for role, signed, names in self._listed(roles):
                digests, lengths = signed.sha256_hex_and_lengths(names)
                rows.extend(map(_new_row, zip(names, digests, lengths, itertools.repeat(role))))
        return rows

    def _listed(self, roles: tuple[str, ...]) -> Iterator[tuple[str, Targets, list[str]]]:
        """Each role in listing order with its payload and the names it is the first to list (within its paths)."""
        seen: set[str] = set()
        stops: list[tuple[str, ...]] = []  # the paths of the blocked delegations met so far
        for role in self._walk_roles(roles):
            paths = self._paths[role]
            if role in self._blocked:
                stops.append(paths)
                continue
            signed = self._metadata[role].signed
            targets = signed.targets
            if "" in paths:
                names = [name for name in targets if name not in seen]
            else:
                names = [n for n in targets if n not in seen and path_allowed(n, paths)]
            if stops:  # names a blocked, higher-priority delegation could hold: not answered from here
                names = [n for n in names if not any(path_allowed(n, stop) for stop in stops)]
            if names:
                seen.update(names)
                yield role, signed, names

    # --- helpers -------------------------------------------------------------------------------------------

    def _parse_root(self, data: bytes) -> Metadata[Root]:
        return self._parse(ROOT, data)

    def _parse(self, role: str, data: bytes) -> Metadata[Any]:
        if self._parse_with is not None and role != ROOT:
            kept = self._parse_with(role, data)
            if kept is not None and kept.parsed_from(data):
                return kept
        return Metadata.from_bytes(data, role=role)

    def _checked(self, delegator: Root | Targets, role: str, data: bytes) -> Metadata[Any]:
        """``data`` parsed as ``role``, signed by ``delegator``'s threshold for it, not rolled back, unexpired."""
        metadata = self._parse(role, data)
        self._verify(delegator, role, metadata, data)
        self._check_version(role, metadata.signed.version)
        self._check_expiry(role, metadata)
        return metadata

    def _verify(self, delegator: Root | Targets, role: str, metadata: Metadata[Any], data: bytes) -> None:
        """``delegator.verify_delegate(role, metadata)``, or the same result replayed from the memo."""
        memo = self._memo
        if memo is None:
            delegator.verify_delegate(role, metadata)
            return
        keyids, threshold, keys = delegator.signers(role)
        token = verification_token(role, data, keyids, threshold, keys)
        if memo.lookup(token) is not None:
            return
        result: VerificationResult = delegator.verify_delegate(role, metadata)
        memo.record(token, result.signed)

    def _require(self, role: str, what: str) -> Metadata[Any]:
        metadata = self._metadata.get(role)
        if metadata is None:
            raise UpdateOrderError(f"{what} needs a trusted {role} first")
        return metadata

    @staticmethod
    def _snapshot_entry(snapshot: Metadata[Snapshot], role: str) -> MetaFile:
        entry = snapshot.signed.meta.get(role)
        if entry is None:
            raise UnknownRoleError(f"the snapshot does not list {role}")
        return entry

    def _check_version(self, role: str, version: int) -> None:
        minimum = self._min_versions.get(role, 0)
        current = self._metadata.get(role)
        if current is not None:
            minimum = max(minimum, current.signed.version)
        if version < minimum:
            raise RollbackError(f"{role} version {version} is lower than current version {minimum}")

    def _check_expiry(self, role: str, metadata: Metadata[Any]) -> None:
        now = self._clock()
        if metadata.signed.is_expired(now):
            raise ExpiredMetadataError(
                f"{role} expired at {metadata.signed.expires_text}, judged as of {now.isoformat(timespec='seconds')}: "
                "its signer must re-sign it; to judge saved trust data as it was, give a time when it was valid "
                "(an archive: open_archive(..., at='capture') or at=<datetime>; a policy rule: verify_at)"
            )

    def _accept(self, role: str, data: bytes, metadata: Metadata[Any]) -> None:
        self._bytes[role] = data
        self._metadata[role] = metadata
        self._min_versions[role] = max(self._min_versions.get(role, 0), metadata.signed.version)
