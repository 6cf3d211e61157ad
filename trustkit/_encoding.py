"""Byte-exact JSON and time encodings of docker/go and notary.

Three encodings matter for interop (see ``docs/formats.md``):

* ``canonical(obj)``: docker/go ``MarshalCanonical`` of a decoded JSON value -- the bytes every Notary signature
  is over. Sorted keys, no whitespace, only ``"`` and ``\\`` escaped (control characters raw), integral numbers
  as integers, anything else an error.
* ``go_html_escape(canonical_bytes)``: how Go's envelope ``Marshal`` writes that RawMessage to a file: ``<>&`` and
  U+2028/U+2029 escaped; a raw control character cannot be written at all.
* RFC3339Nano times, exactly as Go's ``time.Time`` formats them.

The fast path uses ``json.dumps`` and is taken only where it is provably byte-identical to docker/go (no escapes
that decode to control characters or surrogates, no floats, no integers past 2**53); everything else goes
through the exact encoder.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from trustkit.errors import CanonicalizationError, MalformedMetadataError

__all__ = [
    "GoStruct",
    "GoTime",
    "canonical",
    "decode",
    "go_html_escape",
    "go_marshal",
    "go_string",
    "loads",
    "normalise_json",
    "paused_gc",
]

_MAX_EXACT_INT = 2**53
# In json.dumps output: any escape other than \" and \\ (conservative: a false hit only costs speed).
_RISKY_DUMPED = re.compile(r'\\[^"\\]')
_SURROGATE = re.compile("[\ud800-\udfff]")
_HTML_UNSAFE = re.compile(b"[<>&]|\xe2\x80[\xa8\xa9]|[\x00-\x1f]")
_CONTROL_BYTES = bytes(range(0x20))
_HTML_ESCAPES = {
    b"<": b"\\u003c",
    b">": b"\\u003e",
    b"&": b"\\u0026",
    b"\xe2\x80\xa8": b"\\u2028",
    b"\xe2\x80\xa9": b"\\u2029",
}


def decode(data: bytes, *, what: str = "metadata") -> tuple[Any, bool]:
    """Parse JSON as notary's Go decoder would see it, and say whether the value is *plain*.

    Floats come back as :class:`~decimal.Decimal`, so the canonical encoder can reproduce Go's float64 handling
    exactly and the role models can reject ``5.0`` where Go's ``int`` fields do. The value is plain when it holds
    no float and no integer of 16 digits or more: then :func:`canonical` may take its fast path.
    """
    unusual: list[str] = []

    def parse_float(text: str) -> Decimal:
        unusual.append(text)
        return Decimal(text)

    def parse_int(text: str) -> int:
        if len(text) > 15:
            unusual.append(text)
        return int(text)

    try:
        value = json.loads(data, parse_float=parse_float, parse_int=parse_int, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedMetadataError(f"{what} is not valid JSON: {exc}") from None
    return value, not unusual


def loads(data: bytes, *, what: str = "metadata") -> Any:
    """Parse JSON as :func:`decode` does, returning only the value."""
    return decode(data, what=what)[0]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def canonical(obj: Any, *, plain: bool = False) -> bytes:
    """Return docker/go's ``MarshalCanonical`` of a decoded JSON value.

    ``plain`` promises that ``obj`` holds no float and no integer beyond 2**53 (as :func:`decode` reports, and as
    trustkit's models guarantee); ``json.dumps`` then gives Go's bytes unless its output holds an escape, which
    the exact encoder handles.
    """
    if plain:
        try:
            text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            if "\\" not in text or _RISKY_DUMPED.search(text) is None:
                return text.encode()
        except (TypeError, ValueError):  # a Decimal, a lone surrogate: the exact encoder decides
            pass
    out: list[str] = []
    _encode(obj, out)
    return "".join(out).encode("utf-8")


def normalise_json(value: Any, *, what: str = "value") -> Any:
    """A JSON value with every number as an ``int``, as docker/go's canonical form will write it.

    Raises :class:`CanonicalizationError` for a number notary cannot verify: not integral, or beyond 2**53 (Go
    verifies over float64 values, so the signed text and the verified text would differ).
    """
    if isinstance(value, dict):
        return {str(k): normalise_json(v, what=what) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_json(v, what=what) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value) if not isinstance(value, int) else value
        if isinstance(number, float) and (not math.isfinite(number) or math.floor(number) != number):
            raise CanonicalizationError(f"{what}: canonical JSON cannot encode the number {value}")
        if abs(number) > _MAX_EXACT_INT:
            raise CanonicalizationError(f"{what}: {value} is beyond 2**53, which notary cannot verify")
        return int(number)
    raise CanonicalizationError(f"{what}: {type(value).__name__} is not a JSON value")


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Keep Python's cyclic GC out of a large parse: JSON trees hold no cycles, and the GC's passes over
    hundreds of thousands of new objects cost a third of the time. Nested and concurrent uses are counted.
    """
    global _gc_pauses  # noqa: PLW0603 -- one process-wide switch needs one process-wide count
    with _gc_lock:
        if _gc_pauses == 0 and not gc.isenabled():
            owned = False  # the application turned the GC off itself: leave it alone
        else:
            owned = True
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if owned:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


def _go_int_from_float(value: float) -> int:
    """``int64(f)`` as Go on amd64 computes it: out-of-range values become the minimum int64."""
    if not -(2**63) <= value < 2**63:
        return -(2**63)
    return int(value)


def _encode(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_canonical_string(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        # Go decodes every number to float64 before canonicalising.
        out.append(str(obj if -_MAX_EXACT_INT <= obj <= _MAX_EXACT_INT else _go_int_from_float(float(obj))))
    elif isinstance(obj, float | Decimal):
        number = float(obj)
        if not math.isfinite(number) or math.floor(number) != number:
            raise CanonicalizationError(f"canonical JSON cannot encode the number {obj}")
        out.append(str(_go_int_from_float(number)))
    elif isinstance(obj, dict):
        items = sorted(
            ((_fix_surrogates(k) if isinstance(k, str) else k, v) for k, v in obj.items()),
            key=lambda kv: kv[0].encode("utf-8"),
        )
        out.append("{")
        for index, (key, value) in enumerate(items):
            if index:
                out.append(",")
            out.append(_canonical_string(key))
            out.append(":")
            _encode(value, out)
        out.append("}")
    elif isinstance(obj, list | tuple):
        out.append("[")
        for index, value in enumerate(obj):
            if index:
                out.append(",")
            _encode(value, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"canonical JSON cannot encode a {type(obj).__name__}")


def _fix_surrogates(text: str) -> str:
    """Go's decoder turns a lone surrogate escape into U+FFFD; Python's keeps it."""
    return _SURROGATE.sub("\ufffd", text)


def _canonical_string(text: str) -> str:
    return '"' + _fix_surrogates(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_html_escape(canonical_bytes: bytes, *, what: str = "metadata") -> bytes:
    """Escape canonical JSON as Go's ``compact(..., escapeHTML=true)`` does when it writes a RawMessage.

    Raises :class:`CanonicalizationError` for a raw control character, which Go's writer cannot emit either.
    """
    if (
        b"<" not in canonical_bytes
        and b">" not in canonical_bytes
        and b"&" not in canonical_bytes
        and b"\xe2\x80" not in canonical_bytes
        and len(canonical_bytes.translate(None, _CONTROL_BYTES)) == len(canonical_bytes)
    ):
        return canonical_bytes

    def _sub(match: re.Match[bytes]) -> bytes:
        token = match.group()
        if token in _HTML_ESCAPES:
            return _HTML_ESCAPES[token]
        raise CanonicalizationError(f"{what} contains a control character, which Notary cannot serialise")

    return _HTML_UNSAFE.sub(_sub, canonical_bytes)


_GO_STRING_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_STRING_UNSAFE = re.compile('[\\\\"<>&\u2028\u2029\x00-\x1f\ud800-\udfff]')


class GoStruct(dict[str, Any]):
    """A JSON object written in insertion order, as Go writes a struct's fields in declaration order
    (a plain ``dict`` is written with sorted keys, as Go writes a map)."""


def go_marshal(value: Any) -> str:
    """JSON as Go's ``encoding/json.Marshal`` writes it: compact, HTML-safe strings, maps sorted by key,
    structs (:class:`GoStruct`) in field order. Numbers must be integers."""
    if isinstance(value, str):
        return go_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, GoStruct):
        return "{" + ",".join(f"{go_string(k)}:{go_marshal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_string(k)}:{go_marshal(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_marshal(v) for v in value) + "]"
    raise CanonicalizationError(f"cannot marshal a {type(value).__name__} as Go does")


def go_string(text: str) -> str:
    """A JSON string as Go's non-canonical ``json.Marshal`` writes it (HTML-safe, ``\\u00XX`` for controls)."""

    def _sub(match: re.Match[str]) -> str:
        char = match.group()
        if char in _GO_STRING_ESCAPES:
            return _GO_STRING_ESCAPES[char]
        if "\ud800" <= char <= "\udfff":
            return "\\ufffd"
        return f"\\u{ord(char):04x}"

    return '"' + _GO_STRING_UNSAFE.sub(_sub, text) + '"'


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z", re.ASCII)


class GoTime:
    """A Go ``time.Time`` as notary writes it: nanosecond precision and the signer's UTC offset kept.

    Python's ``datetime`` stops at microseconds, so the text form is kept alongside to round-trip exactly.
    """

    __slots__ = ("datetime", "text")

    def __init__(self, text: str, value: datetime) -> None:
        self.text = text
        self.datetime = value

    @classmethod
    def parse(cls, text: str, *, field: str = "expires") -> GoTime:
        """Parse RFC 3339 as Go's ``time.Parse(time.RFC3339, ...)`` accepts it, normalised as Go re-writes it."""
        match = _RFC3339.match(text) if isinstance(text, str) else None
        if match is None:
            raise MalformedMetadataError(f"{field} is not an RFC 3339 time: {text!r}")
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        nanos = int((fraction or "0")[:9].ljust(9, "0"))
        try:
            offset = timedelta(0)
            if zone != "Z":
                sign = -1 if zone[0] == "-" else 1
                hours, minutes = int(zone[1:3]), int(zone[4:6])
                if hours > 23 or minutes > 59:
                    raise ValueError("offset out of range")
                offset = sign * timedelta(hours=hours, minutes=minutes)
            value = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                nanos // 1000,
                tzinfo=timezone(offset),
            )
        except ValueError as exc:
            raise MalformedMetadataError(f"{field} is not a valid time: {text!r} ({exc})") from None
        return cls(_format(value, nanos), value)

    @classmethod
    def from_datetime(cls, value: datetime) -> GoTime:
        """Wrap an aware ``datetime``; its offset is kept, and UTC is written as ``Z``."""
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("expires must be a timezone-aware datetime")
        return cls(_format(value, value.microsecond * 1000), value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"GoTime({self.text!r})"


def _format(value: datetime, nanos: int) -> str:
    stamp = value.strftime("%Y-%m-%dT%H:%M:%S")
    if len(stamp) < 19:  # years before 1000 are not zero-padded by strftime on every platform
        stamp = f"{value.year:04d}" + stamp[stamp.index("-") :]
    if nanos:
        stamp += "." + f"{nanos:09d}".rstrip("0")
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return stamp + "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{stamp}{sign}{hours:02d}:{minutes:02d}"
