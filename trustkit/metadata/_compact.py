"""A parsed targets file in compact form: loading it again costs a fraction of parsing the file (warm reads).

Parsing a 100k-entry targets file is most of a warm read's time, and its result depends on the
file's bytes alone. :func:`dump_parsed` writes what :meth:`Metadata.from_bytes` built from such a file -- the
names, lengths and digests of its docker-shaped entries in three flat sections, everything else as a small
metadata file of its own (the skeleton) -- and :func:`load_parsed` rebuilds an equal :class:`Metadata` from it,
for exactly the same bytes only.

What binds the form to the file: the sha256 of the file it was parsed from (a form is refused for any other
bytes); the span of the file's own ``signed`` text, so that signatures are checked over the file's bytes; and the
skeleton's canonical text, which must frame that span exactly (version, expiry, delegations and the keys in them
are the file's). A checksum over everything else catches a torn or damaged form, and every section is checked as
the parser checks it (counts, name order and uniqueness, lengths in range, digests in strict base64).

What is trusted: the target names, lengths and digests come from the form, not from a parse of the file. So the
form is exactly as trustworthy as the trust directory that holds it -- the same assumption as the cached root and
the verified-reads record beside it (see :mod:`trustkit.trust.trusted_set`): whoever can write there can replace
the cached root already. Only files whose every entry is docker-shaped and whose text was canonical get a form.
"""

from __future__ import annotations

import array
import hashlib
import struct
import sys
from typing import Any

import attrs

from trustkit._encoding import TextSpan
from trustkit.errors import TrustkitError
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import _MAX_INT
from trustkit.metadata.parsed_targets import _B64_ALPHABET, _B64_ZERO_TAIL_BYTES, ParsedTargets
from trustkit.metadata.roles import Targets

__all__ = ["dump_parsed", "load_parsed"]

_MAGIC = b"trustkit parsed targets v2\n"
_HEADER = struct.Struct("<32s32s7Q")
"""sha256 of the source file, the checksum, then: skeleton, names, lengths and digests sizes, entry count, span
start and end."""
_FIELDS = struct.Struct("<7Q")
_EMPTY_TARGETS = b'"targets":{}'


def dump_parsed(metadata: Metadata[Any], data: bytes, *, min_entries: int = 1000) -> bytes | None:
    """The compact form of ``metadata``, parsed from ``data`` -- or None when it would not pay (fewer than
    ``min_entries`` targets, an entry that is not docker-shaped, a changed or non-canonical file)."""
    signed, span = metadata.signed, metadata._bytes.verify_span
    if not isinstance(signed, Targets) or span is None or span.data is not data:
        return None
    targets = signed.targets
    if (
        not isinstance(targets, ParsedTargets)
        or targets.changed
        or targets.full_entries
        or len(targets) < max(min_entries, 1)
    ):
        return None
    names = targets.parsed_names
    joined = "\0".join(names).encode("utf-8", "surrogatepass")
    if joined.count(b"\0") != len(names) - 1:
        return None  # a name holding a NUL: not worth a separate format
    lengths, digests, _ = targets.columns()
    skeleton = Metadata(attrs.evolve(signed, targets={}), metadata.signatures)
    if not _frames(skeleton.signed_bytes, span):
        return None  # the model does not write this file's text back (a field it does not keep)
    skeleton_bytes = skeleton.to_bytes()
    body = b"".join((skeleton_bytes, joined, _little_endian(lengths), digests))
    source = hashlib.sha256(data).digest()
    fields = (
        len(skeleton_bytes),
        len(joined),
        8 * len(lengths),
        len(digests),
        len(names),
        span.start,
        span.end,
    )
    return _MAGIC + _HEADER.pack(source, _checksum(source, fields, body), *fields) + body


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
    source, checksum, *fields = _HEADER.unpack_from(form, len(_MAGIC))
    if hashlib.sha256(data).digest() != source:  # first: a form of an older version of the role is common
        return None
    body = memoryview(form)[start:]
    skeleton_size, names_size, lengths_size, digests_size, count, span_start, span_end = fields
    if skeleton_size + names_size + lengths_size + digests_size != len(body):
        return None
    if _checksum(source, tuple(fields), body) != checksum or not 0 <= span_start < span_end <= len(data):
        return None
    if lengths_size != 8 * count or digests_size != 44 * count:
        return None
    offset = skeleton_size
    names = bytes(body[offset : offset + names_size]).decode("utf-8", "surrogatepass").split("\0")
    offset += names_size
    lengths = array.array("q")
    lengths.frombytes(body[offset : offset + lengths_size])
    if sys.byteorder == "big":  # pragma: no cover - written little-endian everywhere
        lengths.byteswap()
    digests = bytes(body[offset + lengths_size :])
    if len(names) != count or names != sorted(names) or min(lengths) < 0 or max(lengths) > _MAX_INT:
        return None
    slots = dict(zip(names, range(count), strict=True))
    if len(slots) != count or digests[43::44] != b"=" * count or digests.translate(None, _B64_ALPHABET) != b"=" * count:
        return None
    skeleton = Metadata.from_bytes(bytes(body[:skeleton_size]), role=role)
    span = TextSpan(data, span_start, span_end)
    if not isinstance(skeleton.signed, Targets) or skeleton.signed.targets or not _frames(skeleton.signed_bytes, span):
        return None
    canonical = not digests[42::44].translate(None, _B64_ZERO_TAIL_BYTES)
    targets = ParsedTargets(slots, lengths, digests, {}, {}, canonical)
    metadata: Metadata[Any] = Metadata(attrs.evolve(skeleton.signed, targets=targets), skeleton.signatures)
    metadata._bytes.verify_span = span
    return metadata


def _frames(skeleton_text: bytes, span: TextSpan) -> bool:
    """Whether the canonical text of the skeleton (``"targets":{}``) is the file's ``signed`` text around its
    targets: everything but the entries is then the file's own."""
    head, found, tail = skeleton_text.partition(_EMPTY_TARGETS)
    if not found or _EMPTY_TARGETS in tail:
        return False
    head += _EMPTY_TARGETS[:-1]
    tail = b"}" + tail
    if span.end - span.start < len(head) + len(tail):
        return False
    data = span.data
    return data.startswith(head, span.start) and data.endswith(tail, span.start, span.end)


def _checksum(source: bytes, fields: tuple[int, ...], body: bytes | memoryview) -> bytes:
    """Over everything in the form: its version, the source's sha256, the header's fields and the body."""
    digest = hashlib.sha256(_MAGIC)
    digest.update(source)
    digest.update(_FIELDS.pack(*fields))
    digest.update(body)
    return digest.digest()


def _little_endian(lengths: array.array[int]) -> bytes:
    if sys.byteorder == "big":  # pragma: no cover
        swapped = array.array("q", lengths)
        swapped.byteswap()
        return swapped.tobytes()
    return lengths.tobytes()
