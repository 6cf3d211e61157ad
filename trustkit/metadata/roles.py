"""The four Notary v1 role payloads and their parts, as immutable models.

Each model reads the decoded ``signed`` object with notary's validation rules (``from_dict``) and writes the
object notary would write (``to_dict``), so that a file written by notary parses and serialises back to the same
bytes. Models hold no I/O and never change once built: use :func:`attrs.evolve` or the ``with_*`` helpers.
"""

from __future__ import annotations

import array
import base64
import binascii
import functools
import hashlib
import hmac
import itertools
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType, MemberDescriptorType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from trustkit._encoding import GoTime, normalise_json
from trustkit.errors import (
    HashMismatchError,
    KeyFormatError,
    KeyIdMismatchError,
    MalformedMetadataError,
    ThresholdError,
    UnknownRoleError,
)
from trustkit.keys.public import PublicKey
from trustkit.metadata.names import (
    BASE_ROLES,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    is_delegation,
    parent_role,
)

if TYPE_CHECKING:
    from trustkit.metadata.envelope import Metadata

__all__ = [
    "DEFAULT_EXPIRY",
    "DelegatedRole",
    "Delegations",
    "MetaFile",
    "Role",
    "Root",
    "Signed",
    "Snapshot",
    "TargetFile",
    "Targets",
    "Timestamp",
    "VerificationResult",
    "check_signatures",
    "default_expiry",
]

_MAX_INT = 2**53  # Go verifies over float64 values: larger integers cannot be signed and verified alike

if sys.version_info >= (3, 11):

    def _b64decode(text: str) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10

    def _b64decode(text: str) -> bytes:
        return base64.b64decode(text, validate=True)


if sys.version_info >= (3, 11):
    _strict_b64: Callable[[str], bytes] = functools.partial(binascii.a2b_base64, strict_mode=True)
    """:func:`_b64decode` without a Python frame per call, for loops over many entries."""
else:  # pragma: no cover - Python 3.10
    _strict_b64 = _b64decode

_HASH_SIZES = {"sha256": 32, "sha512": 64}
_HASHERS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}

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


# --- field readers ----------------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if name not in obj:
        raise MalformedMetadataError(f"{where}: missing field {name!r}")
    value = obj[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise MalformedMetadataError(f"{where}: field {name!r} must be {expected}, not {type(value).__name__}")
    return value


def _integer(obj: Mapping[str, Any], name: str, where: str, *, minimum: int) -> int:
    value = _get(obj, name, int, where)
    if not minimum <= value <= _MAX_INT:
        bound = f"at least {minimum}" if value < minimum else "at most 2**53 (Go verifies it as a float64)"
        raise MalformedMetadataError(f"{where}: {name} must be {bound}, not {value}")
    return int(value)


def _string_list(obj: Mapping[str, Any], name: str, where: str, *, nullable: bool = False) -> tuple[str, ...]:
    value = obj.get(name)
    if value is None and (nullable or name not in obj):
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedMetadataError(f"{where}: {name} must be a list of strings")
    return tuple(value)


def _hashes(obj: Mapping[str, Any], where: str) -> Mapping[str, bytes]:
    raw = _get(obj, "hashes", dict, where)
    hashes: dict[str, bytes] = {}
    for algorithm, text in raw.items():
        if not isinstance(text, str):
            raise MalformedMetadataError(f"{where}: hash {algorithm!r} must be a base64 string")
        try:
            digest = _b64decode(text)
        except (binascii.Error, ValueError):
            raise MalformedMetadataError(f"{where}: hash {algorithm!r} is not valid base64") from None
        size = _HASH_SIZES.get(algorithm)
        if size is not None and len(digest) != size:
            raise MalformedMetadataError(f"{where}: {algorithm} hash must be {size} bytes, not {len(digest)}")
        hashes[algorithm] = digest
    return MappingProxyType(hashes)


def _encode_hashes(hashes: Mapping[str, bytes]) -> dict[str, str]:
    return {algorithm: base64.b64encode(digest).decode() for algorithm, digest in hashes.items()}


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _roles_tuple(value: Iterable[DelegatedRole]) -> tuple[DelegatedRole, ...]:
    return tuple(value)


def _custom(value: Any) -> Any:
    return None if value is None else normalise_json(value, what="custom")


def _freeze(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    if isinstance(value, MappingProxyType | _ParsedTargets):
        return value
    return MappingProxyType(dict(value))


def _to_gotime(value: datetime | GoTime | str) -> GoTime:
    if isinstance(value, GoTime):
        return value
    if isinstance(value, datetime):
        return GoTime.from_datetime(value)
    return GoTime.parse(value)


def _keys(raw: Any, where: str) -> Mapping[str, PublicKey]:
    if not isinstance(raw, dict):
        raise MalformedMetadataError(f"{where}: keys must be an object")
    try:
        return MappingProxyType({kid: PublicKey.from_dict(key, where=f"{where} key {kid}") for kid, key in raw.items()})
    except KeyFormatError as exc:
        raise MalformedMetadataError(str(exc)) from None


# --- parts ------------------------------------------------------------------------------------------------


def _digests(data: bytes, algorithms: Iterable[str]) -> dict[str, bytes]:
    """``data``'s digest with each algorithm; :class:`MalformedMetadataError` for text or an unknown algorithm."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedMetadataError(f"a file's hashes are computed over bytes, not {type(data).__name__}: encode it")
    names = tuple(algorithms)
    unknown = [alg for alg in names if alg not in _HASHERS]
    if unknown:
        raise MalformedMetadataError(f"unsupported hash algorithm(s) {unknown}: use {sorted(_HASHERS)}")
    return {alg: _HASHERS[alg](data).digest() for alg in names}


def _hashes_repr(hashes: Mapping[str, bytes]) -> str:
    """``{'sha256': 'ab12…'}``: digests as the hex everyone reads them in, not as bytes."""
    return "{" + ", ".join(f"{name!r}: {digest.hex()!r}" for name, digest in hashes.items()) + "}"


@attrs.frozen(unsafe_hash=False)
class MetaFile:
    """A snapshot or timestamp entry: the length and hashes of another role's file."""

    length: int
    hashes: Mapping[str, bytes] = attrs.field(converter=_freeze, repr=_hashes_repr)

    @classmethod
    def from_data(cls, data: bytes, *, algorithms: Iterable[str] = ("sha256", "sha512")) -> MetaFile:
        """Describe ``data`` (a role file's bytes) as notary does: sha256 and sha512 by default."""
        return cls(len(data), _digests(data, algorithms))

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> MetaFile:
        """Read ``{"hashes": {…}, "length": n}``."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        return cls(_integer(obj, "length", where, minimum=0), _hashes(obj, where))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes."""
        return {"hashes": _encode_hashes(self.hashes), "length": self.length}

    def verify_data(self, data: bytes, *, what: str = "data") -> None:
        """Check ``data`` against every known hash present (notary's ``CheckHashes``) and the length.

        Raises :class:`HashMismatchError`; at least one of sha256/sha512 must be present.
        """
        known = [alg for alg in self.hashes if alg in _HASHERS]
        if not known:
            raise HashMismatchError(f"{what}: no supported hash algorithm to check against")
        if len(data) != self.length:
            raise HashMismatchError(f"{what}: length {len(data)} does not match expected {self.length}")
        for algorithm in known:
            digest = _HASHERS[algorithm](data).digest()
            if not hmac.compare_digest(digest, self.hashes[algorithm]):
                raise HashMismatchError(
                    f"{algorithm} checksum for {what} did not match: expected {self.hashes[algorithm].hex()}"
                )


_NO_CUSTOM: Any = None


@attrs.frozen(unsafe_hash=False)
class TargetFile(MetaFile):
    """A target: length, hashes and optional ``custom`` JSON (``None`` when absent, as notary omits it)."""

    custom: Any = attrs.field(
        default=_NO_CUSTOM,
        converter=_custom,
    )

    @classmethod
    def from_data(
        cls,
        data: bytes,
        *,
        algorithms: Iterable[str] = ("sha256", "sha512"),
        custom: Any = _NO_CUSTOM,
    ) -> TargetFile:
        """Describe content bytes as ``notary add`` does (sha256 and sha512)."""
        return cls(len(data), _digests(data, algorithms), custom)

    @classmethod
    def from_digest(cls, sha256: bytes | str, length: int, *, custom: Any = _NO_CUSTOM) -> TargetFile:
        """A target as docker signs a tag: the manifest's sha256 (32 bytes, or 64 hex digits with or without
        ``sha256:``) and size, nothing else. Raises :class:`~trustkit.errors.MalformedMetadataError` for another
        algorithm, a digest that is not 32 bytes, or a size that is not a non-negative integer."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise MalformedMetadataError(f"a target's length is a non-negative integer (bytes), not {length!r}")
        if isinstance(sha256, str):
            algorithm, _, hex_digest = sha256.rpartition(":")
            if algorithm not in ("", "sha256"):
                raise MalformedMetadataError(f"docker signs sha256 digests, not {algorithm}: give sha256:<64 hex>")
            try:
                digest = bytes.fromhex(hex_digest)
            except ValueError:
                raise MalformedMetadataError(f"not a sha256 digest: {sha256!r}: give sha256:<64 hex>") from None
        elif isinstance(sha256, bytes):
            digest = sha256
        else:
            raise MalformedMetadataError(f"a sha256 digest is bytes or hex text, not {type(sha256).__name__}")
        if len(digest) != 32:
            raise MalformedMetadataError(f"a sha256 digest is 32 bytes (64 hex digits), not {len(digest)}")
        return cls(length, {"sha256": digest}, custom)

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> TargetFile:
        """Read ``{"custom": …, "hashes": {…}, "length": n}``."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        return cls(_integer(obj, "length", where, minimum=0), _hashes(obj, where), obj.get("custom"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes (``custom`` omitted when absent)."""
        out: dict[str, Any] = {"hashes": _encode_hashes(self.hashes), "length": self.length}
        if self.custom is not None:
            out["custom"] = self.custom
        return out

    @property
    def sha256_hex(self) -> str | None:
        """The sha256 as hex (what docker calls the digest), or None when the target has none."""
        digest = self.hashes.get("sha256")
        return digest.hex() if digest is not None else None


@attrs.frozen(unsafe_hash=False)
class Role:
    """A root ``roles`` entry: which keys sign a base role and how many must."""

    keyids: tuple[str, ...] = attrs.field(converter=_str_tuple)
    threshold: int
    # Go writes a nil slice as null: remembered from parsing so that files round-trip (never set when building)
    _null_keyids: bool = attrs.field(default=False, init=False, eq=False, repr=False)

    @classmethod
    def from_dict(cls, obj: Any, *, where: str) -> Role:
        """Read ``{"keyids": […], "threshold": n}`` (``keyids`` may be null, as notary writes when empty)."""
        if not isinstance(obj, dict):
            raise MalformedMetadataError(f"{where}: must be an object")
        role = cls(
            _string_list(obj, "keyids", where, nullable=True),
            _integer(obj, "threshold", where, minimum=1),
        )
        object.__setattr__(role, "_null_keyids", obj.get("keyids") is None)
        return role

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes."""
        return {"keyids": None if self._null_keyids else list(self.keyids), "threshold": self.threshold}


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
        object.__setattr__(role, "_null_keyids", obj.get("keyids") is None)
        return role

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes (``paths`` omitted when empty)."""
        out: dict[str, Any] = {
            "keyids": None if self._null_keyids else list(self.keyids),
            "name": self.name,
            "threshold": self.threshold,
        }
        if self.paths:
            out["paths"] = list(self.paths)
        return out

    def covers(self, target_name: str) -> bool:
        """Whether this role may sign ``target_name``: a string-prefix match, ``""`` covers everything."""
        return any(target_name.startswith(prefix) for prefix in self.paths)


@attrs.frozen(unsafe_hash=False)
class Delegations:
    """A targets role's delegations: the keys they use and the roles, in priority order."""

    keys: Mapping[str, PublicKey] = attrs.field(factory=dict, converter=_freeze)
    roles: tuple[DelegatedRole, ...] = attrs.field(default=(), converter=_roles_tuple)
    # Go's nil map and nil slice are written as null: remembered from parsing so that files round-trip
    _null_keys: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    _null_roles: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    _by_name: dict[str, DelegatedRole] | None = attrs.field(default=None, init=False, eq=False, repr=False)

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
        object.__setattr__(delegations, "_null_keys", raw_keys is None)
        object.__setattr__(delegations, "_null_roles", obj.get("roles") is None)
        return delegations

    @classmethod
    def absent(cls) -> Delegations:
        """What Go makes of a targets file without ``delegations``: written back as ``{"keys":null,"roles":null}``."""
        delegations = cls()
        object.__setattr__(delegations, "_null_keys", True)
        object.__setattr__(delegations, "_null_roles", True)
        return delegations

    def to_dict(self) -> dict[str, Any]:
        """The JSON object notary writes (always present, ``{"keys":{},"roles":[]}`` when empty)."""
        return {
            "keys": None if self._null_keys else {kid: key.to_dict() for kid, key in self.keys.items()},
            "roles": None if self._null_roles else [role.to_dict() for role in self.roles],
        }

    def get(self, name: str) -> DelegatedRole:
        """The delegated role called ``name``; :class:`UnknownRoleError` if there is none."""
        index = self._by_name
        if index is None:  # built once: a walk over many delegations must not scan the list for each
            index = {}
            for role in self.roles:
                index.setdefault(role.name, role)
            object.__setattr__(self, "_by_name", index)
        try:
            return index[name]
        except (KeyError, TypeError):
            raise UnknownRoleError(f"no delegation named {name!r}") from None


_B64_ZERO_TAIL = frozenset("AEIMQUYcgkosw048")
_B64_ZERO_TAIL_BYTES = b"AEIMQUYcgkosw048"
"""Base64 characters whose two low bits are zero: the last character of a canonical 32-byte digest is one."""


def _target_files(raw: dict[str, Any], role: str) -> _ParsedTargets:
    """Read a ``targets`` map: every entry is validated now, as notary validates it at load; models are built
    on first use.

    Tens of thousands of entries are common, almost all shaped as docker signs a tag (``{"hashes": {"sha256":
    <32 bytes>}, "length": n}``): those are checked (all at once when they all are) and kept compact -- the
    lengths in an array, the digests' base64 in one bytes object -- so that the parsed objects can all go.
    Every other entry is read by the full reader now (:meth:`TargetFile.from_dict`, or its fast equivalent),
    with its error message.
    """
    bulk = _all_docker_shaped(raw)
    if bulk is not None:
        canonical, lengths, digests = bulk
        # new name strings, so that no parsed object outlives the parse (the allocator can then give its
        # memory back: a 100k-entry file parses to some 60 MB of small objects)
        names = _fresh_strings(list(raw))
        slots = dict(zip(names, range(len(names)), strict=True))
        return _ParsedTargets(slots, array.array("q", lengths), digests, {}, {}, canonical)
    b64 = _strict_b64
    slots = {}
    kept_lengths: list[int] = []
    texts: list[str] = []
    built: dict[str, TargetFile] = {}
    full: dict[str, Any] = {}
    canonical = True
    for name, meta in raw.items():
        try:
            if type(meta) is dict and len(meta) == 2:
                length, raw_hashes = meta["length"], meta["hashes"]
                if (
                    type(length) is int
                    and 0 <= length <= _MAX_INT
                    and type(raw_hashes) is dict
                    and len(raw_hashes) == 1
                ):
                    text = raw_hashes["sha256"]
                    if len(b64(text)) == 32:  # so text is 44 ASCII characters
                        if canonical and text[42] not in _B64_ZERO_TAIL:
                            canonical = False  # notary re-encodes it: so must to_dict
                        slots[name] = len(texts)
                        kept_lengths.append(length)
                        texts.append(text)
                        continue
            length, raw_hashes, custom = meta["length"], meta["hashes"], meta.get("custom")
            if type(length) is not int or not 0 <= length <= _MAX_INT or type(raw_hashes) is not dict:
                raise ValueError
            target: TargetFile = object.__new__(TargetFile)
            object.__setattr__(target, "length", length)
            object.__setattr__(target, "hashes", _hashes(meta, ""))
            object.__setattr__(target, "custom", None if custom is None else _custom(custom))
        except (TypeError, KeyError, ValueError, AttributeError, MalformedMetadataError):
            target = TargetFile.from_dict(meta, where=f"{role} target {name!r}")
        slots[name] = -1
        built[name] = target
        full[name] = meta
    digests = "".join(texts).encode("ascii")
    return _ParsedTargets(slots, array.array("q", kept_lengths), digests, built, full, canonical)


def _digests_and_lengths(targets: list[TargetFile]) -> tuple[list[str | None], list[int]]:
    """The sha256 hex and length of each of ``targets`` (models already built)."""
    return [target.sha256_hex for target in targets], [target.length for target in targets]


def _fresh_strings(strings: list[str]) -> list[str]:
    """Equal strings that are new objects (in one C pass when no string holds a NUL)."""
    joined = "\0".join(strings)
    if joined.count("\0") == len(strings) - 1:
        return joined.split("\0") if strings else []
    return [text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass") for text in strings]


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_GET_LENGTH, _GET_HASHES, _GET_SHA256 = (operator.itemgetter(key) for key in ("length", "hashes", "sha256"))


def _all_docker_shaped(raw: dict[str, Any]) -> tuple[bool, list[int], bytes] | None:
    """Check every entry at once, in C loops, against what the entry-by-entry loop of :func:`_target_files`
    takes as docker-shaped: ``{"hashes": {"sha256": <base64 of 32 bytes>}, "length": <int in 0..2**53>}``.

    Returns None when any entry is not exactly that (the loop then reads them one by one), else whether every
    digest is in canonical base64, the lengths and the digests' base64 texts joined (44 bytes each). A string
    of 43 base64 characters and ``=`` is what strict base64 decodes to 32 bytes (and nothing else is); it is
    canonical when its last character has zero low bits.
    """
    metas = list(raw.values())
    count = len(metas)
    try:  # only a dict takes a string subscript, and str.join only strings: no separate type checks
        if not count or set(map(len, metas)) != {2}:
            return None
        lengths = list(map(_GET_LENGTH, metas))
        hashes = list(map(_GET_HASHES, metas))
        if set(map(len, hashes)) != {1}:
            return None
        texts = list(map(_GET_SHA256, hashes))
        joined = "".join(texts).encode("ascii")
    except (KeyError, TypeError, UnicodeEncodeError):
        return None
    if set(map(type, lengths)) != {int} or min(lengths) < 0 or max(lengths) > _MAX_INT:
        return None
    if set(map(len, texts)) != {44} or joined[43::44] != b"=" * count:
        return None
    if joined.translate(None, _B64_ALPHABET) != b"=" * count:
        return None  # each is 43 alphabet characters then "=", and "=" is nowhere else
    return not joined[42::44].translate(None, _B64_ZERO_TAIL_BYTES), lengths, joined


def _canonical_b64(text: str) -> str:
    """A 32-byte digest's base64 as notary re-writes it (the text itself unless its padding bits are set)."""
    if len(text) == 44 and text[42] in _B64_ZERO_TAIL:
        return text
    return base64.b64encode(_strict_b64(text)).decode()


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of slot ``name`` of an attrs slotted class (its member descriptor: half the cost of
    ``object.__setattr__``), for building many frozen instances; ``object.__setattr__`` when there is none."""
    for klass in cls.__mro__:
        found = vars(klass).get(name)
        if isinstance(found, MemberDescriptorType):
            return found.__set__
    return lambda obj, value: object.__setattr__(obj, name, value)  # pragma: no cover - attrs classes have slots


_SET_LENGTH = _slot_setter(MetaFile, "length")
_SET_HASHES = _slot_setter(MetaFile, "hashes")
_SET_CUSTOM = _slot_setter(TargetFile, "custom")


def _docker_target(length: int, text: bytes) -> TargetFile:
    """The model of a docker-shaped entry :func:`_target_files` validated: its length and sha256 only (already
    checked as strict base64 of 32 bytes, so plain decoding gives the same bytes)."""
    target: TargetFile = object.__new__(TargetFile)
    _SET_LENGTH(target, length)
    _SET_HASHES(target, MappingProxyType({"sha256": binascii.a2b_base64(text)}))
    _SET_CUSTOM(target, None)
    return target


class _ParsedTargets(Mapping[str, TargetFile]):
    """The read-only ``targets`` mapping of a parsed targets file, in file order.

    Docker-shaped entries are kept as validated ``(length, digest text)`` pairs until a :class:`TargetFile` is
    asked for, which is then built once and kept; iteration, ``len`` and ``in`` never build one.
    :meth:`Targets.with_target` and :meth:`Targets.without_target` return an overlay on the same parsed
    entries, so changing one tag in a 100k-entry role copies nothing but the changes. Behaves as the
    ``MappingProxyType`` it replaces.
    """

    __slots__ = (
        "_built",
        "_cache",
        "_canonical",
        "_digests",
        "_extra",
        "_full",
        "_lengths",
        "_raw",
        "_removed",
        "_replaced",
    )
    __hash__ = None  # type: ignore[assignment]  # unhashable, as the mappingproxy it stands for

    def __init__(  # noqa: PLR0917 -- private: built by _target_files only
        self,
        raw: dict[str, int],
        lengths: array.array[int],
        digests: bytes,
        built: dict[str, TargetFile],
        full: dict[str, Any],
        canonical: bool,
    ) -> None:
        self._raw = raw  # name -> slot of a docker-shaped entry (-1 for the others); in file order; never changed
        self._lengths = lengths  # slot -> length
        self._digests = digests  # slot -> the sha256's base64, bytes [44 * slot, 44 * slot + 44)
        self._built = built  # the entries that are not docker-shaped, read in full at load
        self._full = full  # ... and their parsed JSON
        self._cache: dict[str, TargetFile] = {}  # docker-shaped entries built so far (shared by overlays)
        self._canonical = canonical  # every docker-shaped digest is in canonical base64
        self._replaced: dict[str, TargetFile] = {}
        self._removed: frozenset[str] = frozenset()
        self._extra: dict[str, TargetFile] = {}  # names added after the parsed ones, in order

    @property
    def parsed_names(self) -> list[str]:
        """The names of the parsed file, in file order (changes not included)."""
        return list(self._raw)

    @property
    def full_entries(self) -> Mapping[str, Any]:
        """The parsed JSON of the entries that are not docker-shaped, by name."""
        return self._full

    @property
    def changed(self) -> bool:
        """Whether this is an overlay with changes on the parsed entries."""
        return bool(self._replaced or self._removed or self._extra)

    def _overlay(
        self, replaced: dict[str, TargetFile], removed: frozenset[str], extra: dict[str, TargetFile]
    ) -> _ParsedTargets:
        new: _ParsedTargets = object.__new__(_ParsedTargets)
        new._raw, new._lengths, new._digests = self._raw, self._lengths, self._digests
        new._built, new._full, new._cache, new._canonical = self._built, self._full, self._cache, self._canonical
        new._replaced, new._removed, new._extra = replaced, removed, extra
        return new

    def _parsed(self, name: str) -> TargetFile:
        found = self._cache.get(name)
        if found is None:
            slot = self._raw[name]
            if slot < 0:
                return self._built[name]
            found = self._cache[name] = _docker_target(self._lengths[slot], self._digests[44 * slot : 44 * slot + 44])
        return found

    def __getitem__(self, name: str) -> TargetFile:
        if self._extra and name in self._extra:
            return self._extra[name]
        if name in self._removed or name not in self._raw:
            raise KeyError(name)
        if self._replaced and name in self._replaced:
            return self._replaced[name]
        return self._parsed(name)

    def __contains__(self, name: object) -> bool:
        return (name in self._extra) or (name not in self._removed and name in self._raw)

    def get_many(self, names: Iterable[str]) -> list[TargetFile]:
        """``[self[name] for name in names]``, faster for many names (every name must be present)."""
        if self._extra or self._removed or self._replaced or self._built:
            return [self[name] for name in names]
        raw, lengths, digests, cache, found = self._raw, self._lengths, self._digests, self._cache, []
        new, proxy, a2b = object.__new__, MappingProxyType, binascii.a2b_base64
        set_length, set_hashes, set_custom = _SET_LENGTH, _SET_HASHES, _SET_CUSTOM
        for name in names:
            target = cache.get(name)
            if target is None:  # _docker_target, inline: 100k of them in a listing
                slot = raw[name]
                target = cache[name] = new(TargetFile)
                set_length(target, lengths[slot])
                set_hashes(target, proxy({"sha256": a2b(digests[44 * slot : 44 * slot + 44])}))
                set_custom(target, None)
            found.append(target)
        return found

    def columns(self) -> tuple[array.array[int], bytes, bool]:
        """The docker-shaped entries as parsed, in slot order: lengths, digests' base64 (44 bytes each), and
        whether every digest is canonical base64 (for :mod:`trustkit.metadata._compact`)."""
        return self._lengths, self._digests, self._canonical

    def sha256_hex_and_lengths(self, names: list[str]) -> tuple[list[str | None], list[int]]:
        """The sha256 hex (None without one) and length of each of ``names`` (every name must be present), with
        no model built for a docker-shaped entry: all their digests are decoded in one pass."""
        if self._extra or self._removed or self._replaced or 16 * len(names) < len(self._raw):
            # an overlay, or a few names (one tag of a 100k-tag role): their models, not every digest decoded
            return _digests_and_lengths([self[name] for name in names])
        slots = list(map(self._raw.__getitem__, names))
        # each digest is 43 base64 characters and "=": with "A" for "=" all decode at once, 33 bytes each (the
        # digest and a spare byte), whatever the padding bits
        hexes = binascii.a2b_base64(self._digests.replace(b"=", b"A")).hex()
        lengths = self._lengths
        if not self._built:
            return [hexes[66 * slot : 66 * slot + 64] for slot in slots], [lengths[slot] for slot in slots]
        built = self._built  # the entries that are not docker-shaped (slot -1) have models already
        return (
            [hexes[66 * s : 66 * s + 64] if s >= 0 else built[n].sha256_hex for n, s in zip(names, slots, strict=True)],
            [lengths[s] if s >= 0 else built[n].length for n, s in zip(names, slots, strict=True)],
        )

    def __iter__(self) -> Iterator[str]:
        if not self._removed and not self._extra:
            return iter(self._raw)
        removed = self._removed
        return itertools.chain((name for name in self._raw if name not in removed), self._extra)

    def __len__(self) -> int:
        return len(self._raw) - len(self._removed) + len(self._extra)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return repr(MappingProxyType(dict(self.items())))

    def with_target(self, name: str, target: TargetFile) -> _ParsedTargets:
        """A copy with ``name`` added (at the end) or replaced (in place), as ``{**self, name: target}``."""
        if name in self._extra or name in self._removed or name not in self._raw:
            return self._overlay(self._replaced, self._removed, {**self._extra, name: target})
        return self._overlay({**self._replaced, name: target}, self._removed, self._extra)

    def without_target(self, name: str) -> _ParsedTargets:
        """A copy without ``name`` (unchanged if absent)."""
        if name in self._extra:
            return self._overlay(self._replaced, self._removed, {k: v for k, v in self._extra.items() if k != name})
        if name in self._raw and name not in self._removed:
            replaced = {k: v for k, v in self._replaced.items() if k != name}
            return self._overlay(replaced, self._removed | {name}, self._extra)
        return self

    def with_changes(self, added: Mapping[str, TargetFile], removed: Iterable[str]) -> _ParsedTargets:
        """:meth:`without_target` for each of ``removed``, then :meth:`with_target` for each of ``added`` in order,
        in one copy of the changes instead of one per name."""
        replaced, gone, extra, raw = dict(self._replaced), set(self._removed), dict(self._extra), self._raw
        for name in removed:
            if name in extra:
                del extra[name]
            elif name in raw and name not in gone:
                replaced.pop(name, None)
                gone.add(name)
        for name, target in added.items():
            if name in extra or name in gone or name not in raw:
                extra[name] = target
            else:
                replaced[name] = target
        return self._overlay(replaced, frozenset(gone), extra)

    def json_objects(self) -> dict[str, Any]:
        """name -> the JSON object notary writes for it (new objects), in order."""
        changed = {**self._built, **self._replaced}
        removed = self._removed
        canonical = self._canonical
        out: dict[str, Any] = {}
        lengths, texts = self._lengths, self._digests.decode("ascii")  # one str: slices are new objects anyway
        if not changed and not removed and canonical:  # the usual case, in one comprehension
            out.update(
                (name, {"hashes": {"sha256": texts[44 * slot : 44 * slot + 44]}, "length": lengths[slot]})
                for name, slot in self._raw.items()
            )
        else:
            for name, slot in self._raw.items():
                if name in removed:
                    continue
                target = changed.get(name)
                if target is not None:
                    out[name] = target.to_dict()
                elif slot >= 0:
                    text = texts[44 * slot : 44 * slot + 44]
                    sha256 = text if canonical else _canonical_b64(text)
                    out[name] = {"hashes": {"sha256": sha256}, "length": lengths[slot]}
        for name, target in self._extra.items():
            out[name] = target.to_dict()
        return out


# --- verification -----------------------------------------------------------------------------------------


@attrs.frozen(unsafe_hash=False)
class VerificationResult:
    """Which of a role's keys signed a piece of metadata, against the role's threshold."""

    role: str
    threshold: int
    signed: frozenset[str]
    """Key IDs of the role that made a valid signature."""
    unsigned: frozenset[str]
    """Key IDs of the role with no valid signature."""

    @property
    def verified(self) -> bool:
        """Whether the threshold is met."""
        return len(self.signed) >= self.threshold

    def __bool__(self) -> bool:
        return self.verified


def check_signatures(
    role: str,
    keyids: Iterable[str],
    threshold: int,
    keys: Mapping[str, PublicKey],
    metadata: Metadata[Any],
    *,
    enough: bool = False,
) -> VerificationResult:
    """Count distinct valid signatures by the role's keys, as notary's ``VerifySignatures`` does.

    The work is bounded by the role's keys, never by the signatures a file carries: each key ID's first
    signature is the only one checked (a later signature by a key ID whose signature failed is not tried -- notary
    tries it, but never writes two signatures by one key), signatures by key IDs the role does not list cost
    nothing, and a check of a file of several signatures that failed before in this process is not made again.
    With ``enough``, checking stops once ``threshold`` signatures are valid (what a yes/no check needs).

    Distinct *keys* count, not key IDs: one public key listed under several IDs (bare and in a certificate, in
    two certificates, an EC point compressed and not) counts once (notary counts each ID).
    """
    allowed = set(keyids)
    valid: set[str] = set()
    tried: set[str] = set()
    counted: set[bytes] = set()  # the key material of the valid signatures
    message = metadata.signed_bytes
    # several signatures over one (10 MB) file: hashed once for all of them
    digest = hashlib.sha256(message).digest() if len(metadata.signatures) > 1 else None
    for signature in metadata.signatures:
        keyid = signature.keyid
        if keyid not in allowed or keyid in tried or keyid not in keys:
            continue
        tried.add(keyid)
        key = keys[keyid]
        if key.key_id != keyid:
            raise KeyIdMismatchError(f"{role}: key ID {keyid} is not valid for key content (it is {key.key_id})")
        try:
            material = key._material
        except KeyFormatError:  # a key notary cannot read never verifies
            continue
        if material in counted:  # the same key under another ID: counted already
            continue
        failure = None
        if digest is not None:  # a file of several signatures: a check that failed before is not made again
            failure = hashlib.sha256(b"\0".join((keyid.encode(), signature.method.encode(), signature.sig, digest)))
            if failure.digest() in _FAILED_CHECKS:
                continue
        if key._verify(signature.method, signature.sig, message, digest):
            valid.add(keyid)
            counted.add(material)
            if enough and len(valid) >= threshold:
                break
        elif failure is not None:
            if len(_FAILED_CHECKS) >= _MAX_FAILED_CHECKS:
                _FAILED_CHECKS.clear()
            _FAILED_CHECKS.add(failure.digest())
    return VerificationResult(role, threshold, frozenset(valid), frozenset(allowed - valid))


_FAILED_CHECKS: set[bytes] = set()
"""Signature checks that failed in this process, each named by the sha256 of (key ID, method, signature, sha256
of the message): a check is a pure function of those (the key ID is the hash of the key), so a flood of bogus
signatures costs its checks once, not again in every refresh (or twice in one, after a root rotation)."""
_MAX_FAILED_CHECKS = 16384


def _raise_unless_verified(result: VerificationResult, metadata: Metadata[Any]) -> VerificationResult:
    if not result.verified:
        detail = "data has no signatures" if not metadata.signatures else f"{len(result.signed)}/{result.threshold}"
        raise ThresholdError(f"valid signatures did not meet threshold for {result.role} ({detail})")
    return result


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
class Root(Signed):
    """The root role: every base role's keys and thresholds."""

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

    def get_verification_result(self, role: str, metadata: Metadata[Any]) -> VerificationResult:
        """Which of ``role``'s keys signed ``metadata`` (never raises for a missed threshold)."""
        entry = self._role(role)
        return check_signatures(role, entry.keyids, entry.threshold, self.keys, metadata)

    def verify_delegate(self, role: str, metadata: Metadata[Any]) -> VerificationResult:
        """Check that ``metadata`` meets base role ``role``'s threshold; raise :class:`ThresholdError` if not
        (checking stops at the threshold: ``signed`` then lists the keys that met it)."""
        entry = self._role(role)
        result = check_signatures(role, entry.keyids, entry.threshold, self.keys, metadata, enough=True)
        return _raise_unless_verified(result, metadata)

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
class Targets(Signed):
    """The targets role or a delegated targets role: target files and further delegations."""

    type: ClassVar[str] = "Targets"
    role: ClassVar[str] = TARGETS

    targets: Mapping[str, TargetFile] = attrs.field(factory=dict, converter=_freeze)
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
        targets = _target_files(_get(obj, "targets", dict, where), role or TARGETS)
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

    def get_verification_result(self, role: str, metadata: Metadata[Any]) -> VerificationResult:
        """Which of delegation ``role``'s keys signed ``metadata`` (never raises for a missed threshold)."""
        entry = self.delegations.get(role)
        return check_signatures(role, entry.keyids, entry.threshold, self.delegations.keys, metadata)

    def verify_delegate(self, role: str, metadata: Metadata[Any]) -> VerificationResult:
        """Check ``metadata`` meets delegation ``role``'s threshold; raise :class:`ThresholdError` if not
        (checking stops at the threshold: ``signed`` then lists the keys that met it)."""
        entry = self.delegations.get(role)
        result = check_signatures(role, entry.keyids, entry.threshold, self.delegations.keys, metadata, enough=True)
        return _raise_unless_verified(result, metadata)

    def sha256_hex_and_lengths(self, names: list[str]) -> tuple[list[str | None], list[int]]:
        """The sha256 hex (None without one) and length of each of ``names`` (every name must be a target):
        for many names at once, with no model built per target when the file was parsed."""
        targets = self.targets
        if isinstance(targets, _ParsedTargets):
            return targets.sha256_hex_and_lengths(names)
        return _digests_and_lengths([targets[name] for name in names])

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


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Snapshot(Signed):
    """The snapshot role: the length and hashes of root, targets and every delegation file."""

    type: ClassVar[str] = "Snapshot"
    role: ClassVar[str] = SNAPSHOT

    meta: Mapping[str, MetaFile] = attrs.field(converter=_freeze)

    def __attrs_post_init__(self) -> None:
        for name in (ROOT, TARGETS):
            entry = self.meta.get(name)
            if entry is None or "sha256" not in entry.hashes:
                raise MalformedMetadataError(f"snapshot type metadata invalid: missing {name} meta with sha256")

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Snapshot:
        """Read a ``signed`` object of ``_type`` Snapshot with notary's rules."""
        common = cls._common(obj, cls.type, SNAPSHOT)
        raw = _get(obj, "meta", dict, SNAPSHOT)
        return cls(
            meta={name: MetaFile.from_dict(m, where=f"snapshot meta {name}") for name, m in raw.items()},
            **common,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        out = self._common_dict()
        out["meta"] = {name: meta.to_dict() for name, meta in self.meta.items()}
        return out


@attrs.frozen(kw_only=True, unsafe_hash=False)
class Timestamp(Signed):
    """The timestamp role: the length and hashes of the current snapshot."""

    type: ClassVar[str] = "Timestamp"
    role: ClassVar[str] = TIMESTAMP

    meta: Mapping[str, MetaFile] = attrs.field(converter=_freeze)

    def __attrs_post_init__(self) -> None:
        entry = self.meta.get(SNAPSHOT)
        if entry is None or "sha256" not in entry.hashes:
            raise MalformedMetadataError("timestamp type metadata invalid: missing snapshot meta with sha256")

    @property
    def snapshot_meta(self) -> MetaFile:
        """The entry describing snapshot.json."""
        return self.meta[SNAPSHOT]

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Timestamp:
        """Read a ``signed`` object of ``_type`` Timestamp with notary's rules."""
        common = cls._common(obj, cls.type, TIMESTAMP)
        raw = _get(obj, "meta", dict, TIMESTAMP)
        return cls(
            meta={name: MetaFile.from_dict(m, where=f"timestamp meta {name}") for name, m in raw.items()},
            **common,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``signed`` JSON object notary writes."""
        out = self._common_dict()
        out["meta"] = {name: meta.to_dict() for name, meta in self.meta.items()}
        return out
