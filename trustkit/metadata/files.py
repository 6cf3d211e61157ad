"""The entries that describe files: :class:`MetaFile` (a role file, in snapshot and timestamp) and
:class:`TargetFile` (a target, in a targets role), as immutable models -- and the readers of the fields of notary's
metadata JSON that every model of this package shares (private: each checks a field as notary's Go code does and
raises :class:`MalformedMetadataError` naming where).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from trustkit._encoding import GoTime, normalise_json
from trustkit.errors import HashMismatchError, KeyFormatError, MalformedMetadataError
from trustkit.keys.public import PublicKey

__all__ = ["MetaFile", "TargetFile"]

# --- field readers ----------------------------------------------------------------------------------------

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


def _custom(value: Any) -> Any:
    return None if value is None else normalise_json(value, what="custom")


def _freeze(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    if isinstance(value, MappingProxyType):
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


# --- file entries -----------------------------------------------------------------------------------------


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
