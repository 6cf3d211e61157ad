"""Staged changes in notary's own on-disk format (``<trust_dir>/tuf/<gun>/changelist/``).

Each change is one file named ``<%020d unix nanoseconds>_<uuid4>.change``, applied in file-name order, holding
Go's ``json.Marshal`` of notary's ``TUFChange``: ``{"action","role","type","path","data"}`` where ``data`` is the
base64 of a JSON payload (or null). The real ``notary status`` lists what trustkit stages and ``notary publish``
applies it; trustkit lists and applies what the real ``notary`` staged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from trustkit._encoding import GoStruct, go_marshal, json_of_type, normalise_json
from trustkit._fs import remove_file, write_files
from trustkit.errors import FileAccessError, KeyFormatError, MalformedMetadataError
from trustkit.keys.public import PublicKey
from trustkit.metadata.files import TargetFile
from trustkit.metadata.names import ROOT, TARGETS, check_gun, is_delegation, is_valid_role

__all__ = [
    "Action",
    "Change",
    "ChangeType",
    "Changelist",
    "DelegationChange",
    "StagedChange",
]

logger = logging.getLogger(__name__)

Action = Literal["create", "update", "delete"]
ChangeType = Literal["target", "delegation", "witness", "role"]
_ACTIONS = ("create", "update", "delete")
_TYPES = ("target", "delegation", "witness", "role")


def _key_struct(key: PublicKey) -> GoStruct:
    """A TUFKey as Go's non-canonical Marshal writes it: keytype, keyval{public, private} in field order."""
    return GoStruct(
        keytype=key.keytype,
        keyval=GoStruct(public=base64.b64encode(key.public).decode(), private=None),
    )


@attrs.frozen(unsafe_hash=False)
class DelegationChange:
    """The payload of a delegation change (notary's ``TUFDelegation``)."""

    new_name: str = ""
    threshold: int = 0
    add_keys: tuple[PublicKey, ...] = ()
    remove_keys: tuple[str, ...] = ()
    add_paths: tuple[str, ...] = ()
    remove_paths: tuple[str, ...] = ()
    clear_paths: bool = False

    def to_json(self) -> bytes:
        """Go's Marshal of ``TUFDelegation``: fields in declaration order, empty ones omitted."""
        fields = GoStruct()
        if self.new_name:
            fields["new_name"] = self.new_name
        if self.threshold:
            fields["threshold"] = self.threshold
        if self.add_keys:
            fields["add_keys"] = [_key_struct(k) for k in self.add_keys]
        if self.remove_keys:
            fields["remove_keys"] = list(self.remove_keys)
        if self.add_paths:
            fields["add_paths"] = list(self.add_paths)
        if self.remove_paths:
            fields["remove_paths"] = list(self.remove_paths)
        if self.clear_paths:
            fields["clear_paths"] = True
        return go_marshal(fields).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DelegationChange:
        """Read a ``TUFDelegation`` payload."""
        obj = _payload_object(data, "delegation change")

        def strings(name: str) -> tuple[str, ...]:
            value = obj.get(name) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise MalformedMetadataError(f"delegation change: {name} must be a list of strings")
            return tuple(value)

        keys = obj.get("add_keys") or []
        if not isinstance(keys, list):
            raise MalformedMetadataError("delegation change: add_keys must be a list")
        try:
            add_keys = tuple(PublicKey.from_dict(k, where="delegation change key") for k in keys)
        except KeyFormatError as exc:
            raise MalformedMetadataError(str(exc)) from None
        threshold, new_name, clear = obj.get("threshold", 0), obj.get("new_name", ""), obj.get("clear_paths", False)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise MalformedMetadataError("delegation change: threshold must be a non-negative integer")
        if not isinstance(new_name, str) or not isinstance(clear, bool):
            raise MalformedMetadataError("delegation change: new_name must be a string, clear_paths a boolean")
        return cls(
            new_name=new_name,
            threshold=threshold,
            add_keys=add_keys,
            remove_keys=strings("remove_keys"),
            add_paths=strings("add_paths"),
            remove_paths=strings("remove_paths"),
            clear_paths=clear,
        )


def _payload_object(data: bytes, what: str) -> dict[str, Any]:
    return json_of_type(
        data,
        dict,
        not_json=lambda exc: MalformedMetadataError(f"{what} payload is not valid JSON: {exc}"),
        wrong_type=lambda: MalformedMetadataError(f"{what} payload must be a JSON object"),
    )


@attrs.frozen(unsafe_hash=False)
class Change:
    """One staged change: what to do (``action``), to which role (``scope``), of which ``type``, for which
    target ``path``, with its raw JSON payload ``data`` (None for deletes and witnesses)."""

    action: Action
    scope: str
    type: ChangeType
    path: str = ""
    data: bytes | None = attrs.field(default=None, repr=False)

    # --- constructors for every change notary stages -------------------------------------------------------

    @classmethod
    def add_target(cls, name: str, target: TargetFile, *, role: str = TARGETS) -> Change:
        """Add (or replace) target ``name`` in ``role`` (``notary add``/``addhash``)."""
        payload = GoStruct(length=target.length, hashes=base64_hashes(target))
        if target.custom is not None:
            payload["custom"] = normalise_json(target.custom, what="custom")
        return cls("create", _targets_scope(role), "target", name, go_marshal(payload).encode())

    @classmethod
    def remove_target(cls, name: str, *, role: str = TARGETS) -> Change:
        """Remove target ``name`` from ``role`` (``notary remove``)."""
        return cls("delete", _targets_scope(role), "target", name, None)

    @classmethod
    def create_delegation(
        cls, role: str, *, keys: Sequence[PublicKey | Any] = (), paths: Sequence[str] = (), threshold: int = 1
    ) -> Change:
        """Create ``role`` (or add keys and paths to it) as ``notary delegation add`` does; a new role needs keys.

        ``keys`` are :class:`~trustkit.keys.PublicKey` or securesystemslib keys (:meth:`PublicKey.from_key`)."""
        _delegation_scope(role)
        added = tuple(PublicKey.from_key(key) for key in keys)
        payload = DelegationChange(threshold=threshold if added else 0, add_keys=added, add_paths=tuple(paths))
        return cls("create", role, "delegation", "", payload.to_json())

    @classmethod
    def update_delegation(
        cls,
        role: str,
        *,
        add_keys: Sequence[PublicKey | Any] = (),
        remove_keys: Sequence[str] = (),
        add_paths: Sequence[str] = (),
        remove_paths: Sequence[str] = (),
        clear_paths: bool = False,
    ) -> Change:
        """Change a delegation's keys (``remove_keys`` are canonical IDs) or paths (``notary delegation remove``).

        ``role`` may be a wildcard such as ``targets/*`` with only ``remove_keys``: a purge of those keys from
        every delegation under its parent (``notary delegation purge``).
        """
        if role.endswith("/*"):
            if not is_valid_role(role[:-2]) or add_keys or add_paths or remove_paths or clear_paths:
                raise MalformedMetadataError(f"wildcard {role!r} only purges keys from the delegations below it")
        else:
            _delegation_scope(role)
        payload = DelegationChange(
            add_keys=tuple(PublicKey.from_key(key) for key in add_keys),
            remove_keys=tuple(remove_keys),
            add_paths=tuple(add_paths),
            remove_paths=tuple(remove_paths),
            clear_paths=clear_paths,
        )
        return cls("update", role, "delegation", "", payload.to_json())

    @classmethod
    def delete_delegation(cls, role: str) -> Change:
        """Remove delegation ``role`` entirely."""
        _delegation_scope(role)
        return cls("delete", role, "delegation", "", None)

    @classmethod
    def witness(cls, role: str) -> Change:
        """Re-sign ``role`` as it is (``notary witness``)."""
        return cls("update", _targets_scope(role), "witness", "", None)

    @classmethod
    def replace_base_keys(cls, role: str, keys: Sequence[PublicKey]) -> Change:
        """Replace every key of base role ``role`` (how ``notary key rotate`` stages a rotation)."""
        payload = GoStruct(keys=[_key_struct(k) for k in keys], role=role)
        return cls("create", ROOT, "role", role, go_marshal(payload).encode())

    # --- payloads ------------------------------------------------------------------------------------------

    def target(self) -> TargetFile:
        """The target a ``target``/``create`` change adds."""
        if self.type != "target" or self.data is None:
            raise MalformedMetadataError(f"{self._label()}: has no target payload")
        return TargetFile.from_dict(_payload_object(self.data, "target change"), where=f"staged target {self.path!r}")

    def delegation(self) -> DelegationChange:
        """The payload of a ``delegation`` change (empty for a delete)."""
        if self.type != "delegation":
            raise MalformedMetadataError(f"{self._label()}: not a delegation change")
        return DelegationChange() if self.data is None else DelegationChange.from_json(self.data)

    def base_keys(self) -> tuple[str, tuple[PublicKey, ...]]:
        """The base role and its new keys, for a ``role`` change."""
        if self.type != "role" or self.data is None:
            raise MalformedMetadataError(f"{self._label()}: not a base-key change")
        obj = _payload_object(self.data, "role change")
        role, keys = obj.get("role"), obj.get("keys")
        if not isinstance(role, str) or not isinstance(keys, list):
            raise MalformedMetadataError("role change: needs a role name and a list of keys")
        try:
            return role, tuple(PublicKey.from_dict(k, where="role change key") for k in keys)
        except KeyFormatError as exc:
            raise MalformedMetadataError(str(exc)) from None

    def _label(self) -> str:
        """A short label built from the envelope alone (safe for any payload, unlike :meth:`describe`)."""
        return f"{self.action} {self.type} change of {self.scope} {self.path!r}".rstrip(" '")

    def describe(self) -> str:
        """A readable one-line description, for review before publishing (never raises)."""
        try:
            return self._describe()
        except MalformedMetadataError as exc:
            return f"{self._label()} (unreadable: {exc})"

    def _describe(self) -> str:
        if self.type == "target":
            verb = "add target" if self.action == "create" else "remove target"
            return f"{verb} {self.path!r} in {self.scope}"
        if self.type == "witness":
            return f"re-sign {self.scope}"
        if self.type == "role":
            role, keys = self.base_keys()
            return f"replace the keys of {role} with {', '.join(k.key_id[:12] for k in keys)}"
        if self.action == "delete":
            return f"delete delegation {self.scope}"
        change = self.delegation()
        parts = [f"{'create' if self.action == 'create' else 'update'} delegation {self.scope}:"]
        if change.add_keys:
            parts.append("add keys " + ", ".join(k.canonical_id[:12] for k in change.add_keys))
        if change.remove_keys:
            parts.append("remove keys " + ", ".join(k[:12] for k in change.remove_keys))
        if change.clear_paths:
            parts.append("clear paths")
        if change.remove_paths:
            parts.append("remove paths " + ", ".join(repr(p) for p in change.remove_paths))
        if change.add_paths:
            parts.append("add paths " + ", ".join(repr(p) for p in change.add_paths))
        return " ".join(parts)

    # --- the file ------------------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The change file's bytes: Go's Marshal of ``TUFChange`` (no trailing newline)."""
        data = None if self.data is None else base64.b64encode(self.data).decode()
        fields = GoStruct(action=self.action, role=self.scope, type=self.type, path=self.path, data=data)
        return go_marshal(fields).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, *, where: str = "change") -> Change:
        """Read a change file."""
        obj = _payload_object(raw, where)
        action, scope, kind, path, data = (obj.get(k) for k in ("action", "role", "type", "path", "data"))
        if action not in _ACTIONS or kind not in _TYPES:
            raise MalformedMetadataError(f"{where}: unknown action {action!r} or type {kind!r}")
        if not isinstance(scope, str) or not isinstance(path, str) or not (data is None or isinstance(data, str)):
            raise MalformedMetadataError(f"{where}: role and path must be strings, data base64 or null")
        try:
            payload = None if data is None else base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedMetadataError(f"{where}: data is not valid base64") from None
        return cls(action, scope, kind, path, payload)


def base64_hashes(target: TargetFile) -> dict[str, str]:
    """A target's hashes as notary's JSON writes them (base64)."""
    return {alg: base64.b64encode(digest).decode() for alg, digest in target.hashes.items()}


def _targets_scope(role: str) -> str:
    if role != TARGETS and not is_delegation(role):
        raise MalformedMetadataError(f"{role!r} is not a targets role")
    return role


def _delegation_scope(role: str) -> None:
    if not is_delegation(role):
        raise MalformedMetadataError(f"{role!r} is not a valid delegation name")


@attrs.frozen(unsafe_hash=False)
class StagedChange:
    """A change in a changelist, with the file name that orders it and identifies it."""

    id: str
    change: Change


_STALE_TEMPORARY_SECONDS = 60.0


STAGING_DIR = ".changelist-staging"
"""The folder, directly below ``<trust_dir>/tuf/``, of the temporary files of staged changes: changelist folders
are ``tuf/<gun>/changelist``, two levels down or more, so it is never one, and notary reads nothing in it."""


def _remove_if_stale(entry: os.DirEntry[str]) -> None:
    """Remove a temporary file a killed write left, once it is a minute old (never a write in flight)."""
    with contextlib.suppress(FileNotFoundError):
        if time.time() - entry.stat(follow_symlinks=False).st_mtime > _STALE_TEMPORARY_SECONDS:
            os.unlink(entry.path)


def _sweep_temporaries(folder: Path, marker: str) -> None:
    """:func:`_remove_if_stale` for the hidden ``.tmp`` files of ``folder`` whose name holds ``marker``."""
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with entries:
        for entry in entries:
            name = entry.name
            if (
                name.startswith(".")
                and name.endswith(".tmp")
                and marker in name
                and entry.is_file(follow_symlinks=False)
            ):
                _remove_if_stale(entry)


class Changelist:
    """The staged changes of one GUN, in notary's changelist folder.

    Raises :class:`~trustkit.errors.ConfigurationError` for a GUN that would not name one folder below
    ``<trust_dir>/tuf/`` (:func:`~trustkit.metadata.names.check_gun`).
    """

    def __init__(self, trust_dir: Path | str, gun: str) -> None:
        self.gun = check_gun(gun)
        self.trust_dir = Path(trust_dir)
        self.path = self.trust_dir / "tuf" / Path(*gun.split("/")) / "changelist"

    def add(self, change: Change) -> StagedChange:
        """Stage ``change`` after every change already staged."""
        return self.extend([change])[0]

    def extend(self, changes: Iterable[Change]) -> list[StagedChange]:
        """Stage several changes, in order, durably when it returns: the folder is listed once and the disk is
        flushed once for them all (:func:`~trustkit._fs.write_files`), not once per change. A kill stages a prefix
        of them. Raises :class:`~trustkit.errors.FileAccessError` when the folder cannot be written (a symbolic
        link inside the trust directory, a file in the way)."""
        existing = self._names(sweep=True)
        _sweep_temporaries(self.path.parent, ".change.")  # left beside the folder by a killed write (0.1.x)
        staging = self.trust_dir / "tuf" / STAGING_DIR
        _sweep_temporaries(staging, ".change.")  # left by a killed write
        last = existing[-1] if existing else ""
        staged = []
        for change in changes:
            name = f"{time.time_ns():020d}_{uuid.uuid4()}.change"
            if name <= last:  # keep the apply order even if the clock went backwards or did not move
                name = f"{int(last.split('_', 1)[0]) + 1:020d}_{uuid.uuid4()}.change"
            staged.append(StagedChange(name, change))
            last = name
        # the temporary files go to a folder that is no changelist folder, for any GUN: notary reads every file
        # of a changelist folder, a kill's leftovers too (beside the folder, tuf/<gun>/, is GUN <gun>'s parent's
        # changelist folder when <gun> ends in /changelist)
        write_files(
            [(self.path / item.id, item.change.to_bytes()) for item in staged],
            temp_dir=staging,
            root=self.trust_dir,
        )
        return staged

    def _names(self, *, sweep: bool = False) -> list[str]:
        """The change files, in order. With ``sweep``, also remove the temporary files that trustkit 0.1.0 wrote
        in the folder and a killed write left behind (notary reads them as changes); only those older than a
        minute, never a write in flight."""
        try:
            entries = os.scandir(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:  # a link loop, no permission
            raise FileAccessError(
                f"cannot list the staged changes of {self.gun} in {self.path}: {exc.strerror or exc}: check that it "
                "is a folder you can read"
            ) from None
        names = []
        with entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if not entry.name.startswith("."):
                    names.append(entry.name)
                elif sweep and entry.name.endswith(".tmp"):
                    _remove_if_stale(entry)
        return sorted(names)

    def list(self) -> list[StagedChange]:
        """The staged changes in apply order; an unreadable file is skipped with a warning (``notary status``)."""
        staged = []
        for name in self._names():
            try:
                staged.append(StagedChange(name, self._read(name)))
            except MalformedMetadataError as exc:
                logger.warning("skipping unreadable staged change %s: %s", self.path / name, exc)
        return staged

    def iter_for_publish(self) -> Iterator[StagedChange]:
        """The staged changes in apply order; an unreadable file is an error, as it aborts notary's publish."""
        for name in self._names():
            yield StagedChange(name, self._read(name))

    def _read(self, name: str) -> Change:
        try:
            raw = (self.path / name).read_bytes()
        except OSError as exc:
            raise MalformedMetadataError(f"staged change {self.path / name} cannot be read: {exc}") from None
        return Change.from_bytes(raw, where=f"staged change {self.path / name}")

    def remove(self, ids: Iterable[str]) -> int:
        """Unstage the changes with these IDs (file names); returns how many were removed."""
        return sum(
            remove_file(self.path / name, root=self.trust_dir)
            for name in set(ids)
            if "/" not in name and name not in ("", ".", "..")
        )

    def clear(self) -> int:
        """Unstage everything (``notary reset --all``)."""
        return self.remove(self._names())
