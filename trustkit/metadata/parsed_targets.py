"""The storage of a large parsed targets role: :class:`ParsedTargets`, the read-only ``targets`` mapping of a
parsed targets file, and :func:`read_target_files`, which validates a ``targets`` object into one.

Tens of thousands of entries are common, almost all shaped as docker signs a tag; they are kept compact (lengths
in an array, digests' base64 in one bytes object) and a :class:`~trustkit.metadata.files.TargetFile` is built
only when asked for. :mod:`trustkit.metadata._compact` stores this form on disk for warm reads.
"""

from __future__ import annotations

import array
import base64
import binascii
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType, MemberDescriptorType
from typing import Any

from trustkit.errors import MalformedMetadataError
from trustkit.metadata.files import _MAX_INT, MetaFile, TargetFile, _custom, _hashes, _strict_b64

__all__ = ["ParsedTargets", "digests_and_lengths", "read_target_files", "slot_setter"]


_B64_ZERO_TAIL = frozenset("AEIMQUYcgkosw048")
_B64_ZERO_TAIL_BYTES = b"AEIMQUYcgkosw048"
"""Base64 characters whose two low bits are zero: the last character of a canonical 32-byte digest is one."""


def read_target_files(raw: dict[str, Any], role: str) -> ParsedTargets:
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
        # memory back: a 100k-entry file parses to many small objects)
        names = _fresh_strings(list(raw))
        slots = dict(zip(names, range(len(names)), strict=True))
        return ParsedTargets(slots, array.array("q", lengths), digests, {}, {}, canonical)
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
            target: TargetFile = object.__new__(TargetFile)  # TargetFile(...) without its converters again
            _SET_LENGTH(target, length)
            _SET_HASHES(target, _hashes(meta, ""))
            _SET_CUSTOM(target, None if custom is None else _custom(custom))
        except (TypeError, KeyError, ValueError, AttributeError, MalformedMetadataError):
            target = TargetFile.from_dict(meta, where=f"{role} target {name!r}")
        slots[name] = -1
        built[name] = target
        full[name] = meta
    digests = "".join(texts).encode("ascii")
    return ParsedTargets(slots, array.array("q", kept_lengths), digests, built, full, canonical)


def digests_and_lengths(targets: list[TargetFile]) -> tuple[list[str | None], list[int]]:
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
    """Check every entry at once, in C loops, against what the entry-by-entry loop of :func:`read_target_files`
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


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of slot ``name`` of an attrs slotted class: its member descriptor's ``__set__``, for building
    many frozen instances fast (target models here, the trusted set's matches): it fills a new instance's fields
    as attrs' generated ``__init__`` of a frozen class does, minus the converters and validators, for values that
    are checked already. Callers use it on instances they have just made with ``object.__new__``, never to change
    a built one.

    Only for a class that has the slot (every attrs class here is slotted): a class without it is refused when
    the setter is made, at import -- there is no slower fallback that writes past the class's frozenness."""
    for klass in cls.__mro__:
        found = vars(klass).get(name)
        if isinstance(found, MemberDescriptorType):
            return found.__set__
    raise TypeError(f"{cls.__qualname__} has no slot {name!r}: slot_setter is for slotted attrs classes")


_SET_LENGTH = slot_setter(MetaFile, "length")
_SET_HASHES = slot_setter(MetaFile, "hashes")
_SET_CUSTOM = slot_setter(TargetFile, "custom")


def _docker_target(length: int, text: bytes) -> TargetFile:
    """The model of a docker-shaped entry :func:`read_target_files` validated: its length and sha256 only (already
    checked as strict base64 of 32 bytes, so plain decoding gives the same bytes)."""
    target: TargetFile = object.__new__(TargetFile)
    _SET_LENGTH(target, length)
    _SET_HASHES(target, MappingProxyType({"sha256": binascii.a2b_base64(text)}))
    _SET_CUSTOM(target, None)
    return target


class ParsedTargets(Mapping[str, TargetFile]):
    """The read-only ``targets`` mapping of a parsed targets file, in file order (built by
    :func:`read_target_files`; :attr:`Targets.targets <trustkit.metadata.roles.Targets.targets>` of a parsed file).

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

    def __init__(  # noqa: PLR0917 -- built by read_target_files and _compact only
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
    ) -> ParsedTargets:
        new: ParsedTargets = object.__new__(ParsedTargets)
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
            return digests_and_lengths([self[name] for name in names])
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

    def with_target(self, name: str, target: TargetFile) -> ParsedTargets:
        """A copy with ``name`` added (at the end) or replaced (in place), as ``{**self, name: target}``."""
        if name in self._extra or name in self._removed or name not in self._raw:
            return self._overlay(self._replaced, self._removed, {**self._extra, name: target})
        return self._overlay({**self._replaced, name: target}, self._removed, self._extra)

    def without_target(self, name: str) -> ParsedTargets:
        """A copy without ``name`` (unchanged if absent)."""
        if name in self._extra:
            return self._overlay(self._replaced, self._removed, {k: v for k, v in self._extra.items() if k != name})
        if name in self._raw and name not in self._removed:
            replaced = {k: v for k, v in self._replaced.items() if k != name}
            return self._overlay(replaced, self._removed | {name}, self._extra)
        return self

    def with_changes(self, added: Mapping[str, TargetFile], removed: Iterable[str]) -> ParsedTargets:
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
