"""Readers of the fields of notary's metadata JSON, shared by the metadata models (private to this package).

Each reader checks a field as notary's Go code does and raises :class:`MalformedMetadataError` naming where.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from trustkit._encoding import GoTime, normalise_json
from trustkit.errors import KeyFormatError, MalformedMetadataError
from trustkit.keys.public import PublicKey

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
        raise MalformedMetadataError(f"{where}: {name} must be at least {minimum}, not {value}")
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
