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

When the optional ``orjson`` package is installed it replaces ``json.dumps`` on that fast path (its output is
checked the same way), and parses the ``signed`` part of metadata files whose text is then proven canonical
(:func:`decode_envelope`, :func:`is_canonical_text`): on that subset of JSON -- no escapes, no whitespace, no
floats, no duplicate keys, short integers -- every conforming parser returns the same value. Anything else
goes through the standard library. Set :data:`USE_ORJSON` to False to never use it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, overload

from trustkit.errors import CanonicalizationError, MalformedMetadataError

_orjson: Any
try:  # the optional accelerator (``pip install 'trustkit-dct[fast]'``): used only where provably byte-identical
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

__all__ = [
    "GoStruct",
    "GoTime",
    "TextSpan",
    "canonical",
    "decode",
    "decode_envelope",
    "go_html_escape",
    "go_marshal",
    "go_string",
    "json_of_type",
    "loads",
    "normalise_json",
    "paused_gc",
]

USE_ORJSON = _orjson is not None
"""Whether the optional ``orjson`` accelerator is used (False when it is not installed)."""


@overload
def _pattern(source: str) -> re.Pattern[str]: ...
@overload
def _pattern(source: bytes) -> re.Pattern[bytes]: ...
@functools.lru_cache(maxsize=None, typed=True)
def _pattern(source: str | bytes) -> re.Pattern[str] | re.Pattern[bytes]:
    """``source`` compiled on its first use, then kept: a pattern that only writing or an unusual input needs costs
    a process that only reads nothing."""
    return re.compile(source)


_MAX_EXACT_INT = 2**53
# In json.dumps output: any escape other than \" and \\ (conservative: a false hit only costs speed).
_RISKY_DUMPED = r'\\[^"\\]'
_RISKY_DUMPED_BYTES = rb'\\[^"\\]'
_SURROGATE = "[\ud800-\udfff]"
_HTML_UNSAFE = b"[<>&]|\xe2\x80[\xa8\xa9]|[\x00-\x1f]"
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
    if isinstance(data, bytes | bytearray):
        if data[:3] == _UTF8_BOM or b"\x00" in data[:4] or data[:2] in _UTF16_BOMS:
            # json.loads guesses UTF-16/32 and skips a BOM; Go's decoder reads UTF-8 only and refuses both
            raise MalformedMetadataError(f"{what} is not valid JSON: not UTF-8 (a byte order mark, or UTF-16/32)")
        check_density(data, what=what)
    hooks, unusual = _decoder(data)
    try:
        value = json.loads(data, **hooks)
        if isinstance(data, bytes | bytearray) and _SURROGATE_ESCAPE.search(data) is not None:
            value = _fix_tree(value)
    except (
        ValueError,
        RecursionError,
        ArithmeticError,
    ) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedMetadataError(f"{what} is not valid JSON: {exc}") from None
    return value, not unusual


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_DENSITY_FLOOR = 4096
_MIN_BYTES_PER_CONTAINER = 12
_MIN_BYTES_PER_FLOAT = 64


def check_density(data: bytes | bytearray, *, what: str = "metadata") -> None:
    """Refuse JSON packed with more objects and arrays than any trust data holds, before parsing it.

    Parsing costs memory per object or array (60 to 230 bytes each), so a file of empty objects costs 50 times
    its size: 5 GB for a 100 MB root. Notary files hold at most one per 18 bytes or so (a docker target entry is
    two in some 75 bytes, with five strings); beyond 4,096 plus one per 12 bytes (every ``{`` and ``[`` counted,
    and a quarter of every ``"``, in strings too) a file is refused, which keeps parsing within some 16 times the
    file's size. Non-integer numbers are bounded as they are parsed (:func:`_decoder`).
    """
    size = len(data)
    if size < _DENSITY_FLOOR * _MIN_BYTES_PER_CONTAINER:
        return
    # a string costs a quarter of a container or so: every four quotes (two strings) count as one
    containers = data.count(b"{") + data.count(b"[") + data.count(b'"') // 4
    if containers > _DENSITY_FLOOR + size // _MIN_BYTES_PER_CONTAINER:
        raise MalformedMetadataError(
            f"{what}: {containers} JSON objects and arrays (and pairs of strings) in {size} bytes, more than trust "
            "data holds (refused before parsing, which would cost too much memory)"
        )


_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _fix_tree(value: Any) -> Any:
    """Lone surrogates become U+FFFD everywhere, keys included (a later key wins), as Go's decoder does."""
    if isinstance(value, str):
        return _fix_surrogates(value)
    if isinstance(value, list):
        return [_fix_tree(item) for item in value]
    if isinstance(value, dict):
        return {_fix_surrogates(key): _fix_tree(item) for key, item in value.items()}
    return value


def _decoder(data: bytes | str) -> tuple[dict[str, Any], list[str]]:
    """The ``json.loads`` hooks of :func:`decode`, and the list they fill with unusual numbers."""
    unusual: list[str] = []
    floats = _DENSITY_FLOOR + len(data) // _MIN_BYTES_PER_FLOAT

    def parse_float(text: str) -> Decimal:
        # a float costs some 165 bytes parsed (its Decimal and its text): 10 MiB of "1.0," cost 550 MB. notary
        # writes no floats, so a file dense with them is refused as it is parsed
        if len(unusual) >= floats:
            raise MalformedMetadataError(
                f"more than {floats} non-integer numbers in {len(data)} bytes, more than trust data holds (refused "
                "while parsing, which would cost too much memory)"
            )
        unusual.append(text)
        return Decimal(text)

    def parse_int(text: str) -> int:
        if len(text) > 15:
            unusual.append(text)
        return int(text)

    # An integer of 16 digits or more is a run of 16 digits in the bytes. Without one anywhere (in strings
    # too: a conservative test), no integer needs looking at, and json.loads reads them at C speed.
    hooks = {
        "parse_float": parse_float,
        "parse_int": None if _has_no_long_digit_run(data) else parse_int,
        "parse_constant": _reject_constant,
    }
    return hooks, unusual


class TextSpan(NamedTuple):
    """``data[start:end]`` without the copy: the JSON text of a file's ``signed`` value, inside the file."""

    data: bytes
    start: int
    end: int

    def tobytes(self) -> bytes:
        """The text as bytes (a copy)."""
        return self.data[self.start : self.end]

    def find(self, token: bytes) -> int:
        """``tobytes().find(token)``, without the copy (-1, or the offset in ``data``)."""
        return self.data.find(token, self.start, self.end)


_ENVELOPE_START = b'{"signed":'
_SIGNATURES_MEMBER = b',"signatures":'


def decode_envelope(
    data: bytes, *, what: str = "metadata", accelerate: bool = True
) -> tuple[Any, bool, TextSpan | None, bool]:
    """:func:`decode` of a metadata file, and the exact bytes of its ``signed`` value's JSON text.

    Returns ``(value, plain, signed_text, provisional)``. The text is found only in a file that starts with
    ``{"signed":`` and is UTF-8 (as notary and trustkit write every file); otherwise it is None. Unless
    ``provisional``, the value and the plain flag are exactly those of :func:`decode`.

    ``provisional`` values come from the optional ``orjson`` parser (with ``accelerate``): they equal
    :func:`decode`'s only if ``signed_text`` then passes :func:`is_canonical_text` with every key counted by
    :func:`count_sorted_keys` (which refuses floats and integers beyond 2**53) -- the caller must check that,
    and call again with ``accelerate=False`` if it does not. (A value passing those checks is plain, except
    that an integer may have 16 digits: one up to 2**53, which canonical JSON writes the same either way.)
    The split between ``signed`` and the rest is exact: both halves must parse on their own, and a proper
    prefix or extension of a JSON value is never one.
    """
    if data.startswith(_ENVELOPE_START):
        check_density(data, what=what)
        if accelerate and USE_ORJSON and _orjson is not None:
            split = data.rfind(_SIGNATURES_MEMBER)
            if split > len(_ENVELOPE_START):
                span = TextSpan(data, len(_ENVELOPE_START), split)
                try:
                    signed = _orjson.loads(memoryview(data)[span.start : span.end])
                except _orjson.JSONDecodeError:
                    signed = None
                if isinstance(signed, dict):
                    tail = b"{" + data[split + 1 :]
                    hooks, unusual = _decoder(tail)
                    try:
                        others = json.loads(tail, **hooks)
                        if _SURROGATE_ESCAPE.search(tail) is not None:
                            others = _fix_tree(others)
                    except (ValueError, RecursionError, ArithmeticError):
                        others = None
                    if isinstance(others, dict) and "signed" not in others:
                        return {"signed": signed, **others}, not unusual, span, True
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None:
            hooks, unusual = _decoder(data)
            decoder = json.JSONDecoder(**hooks)
            try:
                signed, end = decoder.raw_decode(decoded, len(_ENVELOPE_START))
                rest = decoded[end:]
                others = decoder.decode("{" + rest[1:]) if rest[:1] == "," else None
            except (ValueError, RecursionError, ArithmeticError):
                others = None  # the full parser below gives the error
            if isinstance(others, dict) and "signed" not in others:
                # json.loads of the whole file gives this object: "signed" first, then the other members
                if len(decoded) == len(data):  # ASCII: character offsets are byte offsets
                    span = TextSpan(data, len(_ENVELOPE_START), end)
                else:
                    text = decoded[len(_ENVELOPE_START) : end].encode()
                    span = TextSpan(text, 0, len(text))
                value = {"signed": signed, **others}
                if _SURROGATE_ESCAPE.search(data) is not None:
                    value = _fix_tree(value)
                return value, not unusual, span, False
    value, plain = decode(data, what=what)
    return value, plain, None, False


# Bytes that cannot occur in the canonical form of a plain value written without escapes: whitespace (any other
# raw control character is refused by the parsers inside strings, and is no JSON outside them) and backslashes.
_NOT_CANONICAL = (b" ", b"\\", b"\n", b"\t", b"\r")
_MINUS_ZERO = re.compile(rb"-0[,}\]]")  # an integer written -0, which canonical writes 0


def is_canonical_text(text: TextSpan, value: Any, *, sorted_keys: int) -> bool:
    """Whether ``text`` -- the exact JSON text ``value`` was decoded from (:func:`decode_envelope`), with
    ``value`` plain -- is already ``canonical(value)``, byte for byte, so it need not be built.

    ``sorted_keys`` is the number of object keys in ``value`` when every object's keys are in increasing order
    (-1 otherwise; see :func:`count_sorted_keys`). The proof: no whitespace byte means no whitespace between
    tokens; no backslash means every string token is its decoded text between quotes (the JSON parsers refuse
    raw control characters in strings), which is how canonical writes a string without ``"`` or ``\\``; a plain value's
    integers are written by canonical as ``str(n)``, which is the token unless it was ``-0``; ``true``,
    ``false``, ``null`` and the punctuation are the same. Keys: without backslashes every ``":`` ends a key
    (or starts a string that begins with a colon), so ``text.count(b'":')`` is at least the number of key
    tokens, which is at least the number of keys ``value`` kept; equality means no key was given twice, so the
    keys appear in ``text`` in the order ``value`` keeps them, which is increasing -- canonical's order.
    """
    if sorted_keys < 0:
        return False
    for token in _NOT_CANONICAL:
        if text.find(token) >= 0:
            return False
    if text.find(b"-0") >= 0 and _MINUS_ZERO.search(text.data, text.start, text.end) is not None:
        return False
    return text.data.count(b'":', text.start, text.end) == sorted_keys


def count_sorted_keys(value: Any) -> int:
    """The number of object keys in a decoded JSON value, or -1 when some object's keys are not in increasing
    (canonical) order, or it holds a number canonical JSON does not write as its text: a float, or an integer
    beyond 2**53 (which Go verifies as a rounded float64)."""
    if isinstance(value, dict):
        keys = list(value)
        if len(keys) > 1 and keys != sorted(keys):
            return -1
        total = len(keys)
        for item in value.values():
            count = count_sorted_keys(item)
            if count < 0:
                return -1
            total += count
        return total
    if isinstance(value, list):
        total = 0
        for item in value:
            count = count_sorted_keys(item)
            if count < 0:
                return -1
            total += count
        return total
    if isinstance(value, float | Decimal) or (
        isinstance(value, int) and not -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT
    ):
        return -1
    return 0


_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 16


def _has_no_long_digit_run(data: bytes | str) -> bool:
    """Whether ``data`` holds no run of 16 ASCII digits (one C pass; a ``str`` is not scanned: False)."""
    if not isinstance(data, bytes | bytearray):
        return False
    return _LONG_DIGIT_RUN not in data.translate(_DIGITS_AS_ZERO)


def loads(data: bytes, *, what: str = "metadata") -> Any:
    """Parse JSON as :func:`decode` does, returning only the value."""
    return decode(data, what=what)[0]


_J = TypeVar("_J", dict[str, Any], list[Any])


def json_of_type(
    data: bytes | str,
    kind: type[_J],
    *,
    not_json: Callable[[Exception], Exception],
    wrong_type: Callable[[], Exception],
) -> _J:
    """``data`` parsed as plain JSON (``json.loads``) that must be a ``kind`` (an object or an array): the one place
    that says what a peer's or a file's unparsable or wrongly shaped JSON raises -- ``not_json(the parse error)``,
    ``wrong_type()`` -- so each caller only words its own messages."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise not_json(exc) from None
    if not isinstance(value, kind):
        raise wrong_type()
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def canonical(obj: Any, *, plain: bool = False) -> bytes:
    """Return docker/go's ``MarshalCanonical`` of a decoded JSON value.

    ``plain`` promises that ``obj`` holds no float and no integer beyond 2**53 (as :func:`decode` reports, and as
    trustkit's models guarantee); ``json.dumps`` then gives Go's bytes unless its output holds an escape, which
    the exact encoder handles.
    """
    if plain:
        if USE_ORJSON and _orjson is not None:
            try:
                data: bytes = _orjson.dumps(obj, option=_orjson.OPT_SORT_KEYS)
            except TypeError:  # a Decimal, a lone surrogate, a non-string key, a huge integer: see below
                pass
            else:
                if b"\\" not in data or _pattern(_RISKY_DUMPED_BYTES).search(data) is None:
                    return data
        try:
            text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            if "\\" not in text or _pattern(_RISKY_DUMPED).search(text) is None:
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
        if -_MAX_EXACT_INT <= obj <= _MAX_EXACT_INT:
            out.append(str(obj))
        else:
            try:
                out.append(str(_go_int_from_float(float(obj))))
            except OverflowError:  # beyond float64: Go cannot decode it either
                raise CanonicalizationError(f"canonical JSON cannot encode the number {obj}") from None
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
    return _pattern(_SURROGATE).sub("\ufffd", text)


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

    return _pattern(_HTML_UNSAFE).sub(_sub, canonical_bytes)


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
_GO_STRING_UNSAFE = '[\\\\"<>&\u2028\u2029\x00-\x1f\ud800-\udfff]'


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

    return '"' + _pattern(_GO_STRING_UNSAFE).sub(_sub, text) + '"'


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
