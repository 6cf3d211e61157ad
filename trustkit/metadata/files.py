"""The entries that describe files: :class:`MetaFile` (a role file, in snapshot and timestamp) and
:class:`TargetFile` (a target, in a targets role), as immutable models."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from trustkit.errors import HashMismatchError, MalformedMetadataError
from trustkit.metadata._fields import _HASHERS, _custom, _encode_hashes, _freeze, _hashes, _integer

__all__ = ["MetaFile", "TargetFile"]


@attrs.frozen(unsafe_hash=False)
class MetaFile:
    """A snapshot or timestamp entry: the length and hashes of another role's file."""

    length: int
    hashes: Mapping[str, bytes] = attrs.field(converter=_freeze)

    @classmethod
    def from_data(cls, data: bytes, *, algorithms: Iterable[str] = ("sha256", "sha512")) -> MetaFile:
        """Describe ``data`` (a role file's bytes) as notary does: sha256 and sha512 by default."""
        return cls(len(data), {alg: _HASHERS[alg](data).digest() for alg in algorithms})

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
        return cls(len(data), {alg: _HASHERS[alg](data).digest() for alg in algorithms}, custom)

    @classmethod
    def from_digest(cls, sha256: bytes | str, length: int, *, custom: Any = _NO_CUSTOM) -> TargetFile:
        """A target as docker signs a tag: the manifest's sha256 (bytes or hex) and size, nothing else."""
        digest = bytes.fromhex(sha256.removeprefix("sha256:")) if isinstance(sha256, str) else sha256
        if len(digest) != 32:
            raise MalformedMetadataError("a sha256 digest is 32 bytes")
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
