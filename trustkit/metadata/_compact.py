"""A parsed targets file in compact form: loading it again costs a fraction of parsing the file (warm reads).

Parsing a 100k-entry targets file (10 MB of JSON) is most of a warm read's time, and its result depends on the
file's bytes alone. :func:`dump_parsed` writes what :meth:`Metadata.from_bytes` built from such a file -- the
names, lengths and digests of its docker-shaped entries in three flat sections, everything else as a small
metadata file of its own -- and :func:`load_parsed` rebuilds an equal :class:`Metadata` from it, for exactly the
same bytes only: the form carries the sha256 of the file it was parsed from and is refused for any other.

Nothing is trusted for being in this form. The rebuilt metadata keeps the span of the file's own ``signed`` text
(proven canonical when the file was parsed), so signatures are still checked over the file's bytes, and every
section is checked as the parser checks it (counts, name order and uniqueness, lengths in range, digests in
strict base64). The form is kept beside the cached file it comes from, with the same protection, and is only
worth keeping for files whose every entry is docker-shaped and whose text was canonical -- the others give None.
"""

from __future__ import annotations

import array
import hashlib
import struct
from typing import Any

import attrs

from trustkit._encoding import TextSpan
from trustkit.errors import TrustkitError
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.roles import _B64_ALPHABET, _MAX_INT, Targets, _ParsedTargets

__all__ = ["dump_parsed", "load_parsed"]

_MAGIC = b"trustkit parsed targets v1\n"
_HEADER = struct.Struct("<32s32s8Q")
"""sha256 of the source file, sha256 of the rest, then: skeleton, names, lengths and digests sizes, entry count,
span start and end, canonical flag."""


def dump_parsed(metadata: Metadata[Any], data: bytes, *, min_entries: int = 1000) -> bytes | None:
    """The compact form of ``metadata``, parsed from ``data`` -- or None when it would not pay (fewer than
    ``min_entries`` targets, an entry that is not docker-shaped, a changed or non-canonical file)."""
    signed, span = metadata.signed, metadata._verify_span
    if not isinstance(signed, Targets) or span is None or span.data is not data:
        return None
    targets = signed.targets
    if (
        not isinstance(targets, _ParsedTargets)
        or targets.changed
        or targets.full_entries
        or len(targets) < max(min_entries, 1)
    ):
        return None
    names = targets.parsed_names
    joined = "\0".join(names).encode("utf-8", "surrogatepass")
    if joined.count(b"\0") != len(names) - 1:
        return None  # a name holding a NUL: not worth a separate format
    lengths, digests, canonical = targets.columns()
    skeleton = Metadata(attrs.evolve(signed, targets={}), metadata.signatures).to_bytes()
    body = b"".join((skeleton, joined, lengths.tobytes(), digests))
    header = _HEADER.pack(
        hashlib.sha256(data).digest(),
        hashlib.sha256(body).digest(),
        len(skeleton),
        len(joined),
        len(lengths) * 8,
        len(digests),
        len(names),
        span.start,
        span.end,
        int(canonical),
    )
    return _MAGIC + header + body


def load_parsed(form: bytes, data: bytes, *, role: str) -> Metadata[Any] | None:
    """The metadata :func:`dump_parsed` kept for ``data``, or None when ``form`` is not a sound compact form of
    exactly these bytes (the caller then parses ``data``)."""
    try:
        return _load(form, data, role)
    except (TrustkitError, ValueError, TypeError, OverflowError, UnicodeDecodeError, struct.error):
        return None


def _load(form: bytes, data: bytes, role: str) -> Metadata[Any] | None:
    start = len(_MAGIC) + _HEADER.size
    if form[: len(_MAGIC)] != _MAGIC or len(form) < start:
        return None
    source, checksum, *sizes, count, span_start, span_end, canonical = _HEADER.unpack_from(form, len(_MAGIC))
    body = memoryview(form)[start:]
    if sum(sizes) != len(body) or hashlib.sha256(body).digest() != checksum:
        return None
    if hashlib.sha256(data).digest() != source or not 0 <= span_start < span_end <= len(data):
        return None
    skeleton_size, names_size, lengths_size, digests_size = sizes
    if lengths_size != 8 * count or digests_size != 44 * count or canonical not in (0, 1):
        return None
    offset = skeleton_size
    names = bytes(body[offset : offset + names_size]).decode("utf-8", "surrogatepass").split("\0")
    offset += names_size
    lengths = array.array("q")
    lengths.frombytes(body[offset : offset + lengths_size])
    digests = bytes(body[offset + lengths_size :])
    if len(names) != count or names != sorted(names) or min(lengths) < 0 or max(lengths) > _MAX_INT:
        return None
    slots = dict(zip(names, range(count), strict=True))
    if len(slots) != count or digests[43::44] != b"=" * count or digests.translate(None, _B64_ALPHABET) != b"=" * count:
        return None
    skeleton = Metadata.from_bytes(bytes(body[:skeleton_size]), role=role)
    if not isinstance(skeleton.signed, Targets) or skeleton.signed.targets:
        return None
    targets = _ParsedTargets(slots, lengths, digests, {}, {}, bool(canonical))
    metadata: Metadata[Any] = Metadata(attrs.evolve(skeleton.signed, targets=targets), skeleton.signatures)
    object.__setattr__(metadata, "_verify_span", TextSpan(data, span_start, span_end))
    return metadata
