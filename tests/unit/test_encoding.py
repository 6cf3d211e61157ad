"""docker/go canonical JSON, Go's envelope escaping and RFC3339Nano times (notary-v1-format.md §2, §3.1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustkit._encoding import (
    GoTime,
    _encode,
    canonical,
    decode,
    go_html_escape,
    go_string,
    loads,
    normalise_json,
    paused_gc,
)
from trustkit.errors import CanonicalizationError, MalformedMetadataError


def exact(obj: Any) -> bytes:
    out: list[str] = []
    _encode(obj, out)
    return "".join(out).encode()


def go_canonical_of_text(text: bytes) -> bytes:
    """What notary's verifier computes: decode the JSON text, then MarshalCanonical."""
    value, plain = decode(text)
    return canonical(value, plain=plain)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"a":"a\\nb"}', b'{"a":"a\nb"}'),  # control characters are written raw
        (b'{"a":"\\u0001"}', b'{"a":"\x01"}'),
        (b'{"a":"<&>"}', b'{"a":"<&>"}'),  # no HTML escaping in canonical form
        (b'{"a":"\\u2028"}', '{"a":"\u2028"}'.encode()),
        (b'{"a":"\\"\\\\/"}', b'{"a":"\\"\\\\/"}'),  # only " and \ are escaped
        ('{"\\uffff":1,"\U0001f600":2}'.encode(), '{"\uffff":1,"\U0001f600":2}'.encode()),  # bytewise order
        (b'{"b":1,"a":[3,2,1]}', b'{"a":[3,2,1],"b":1}'),
        (b'{"a":1.0,"b":1e3,"c":-0.0}', b'{"a":1,"b":1000,"c":0}'),
        (b'{"a":9007199254740993}', b'{"a":9007199254740992}'),  # float64 rounding, as Go decodes
        (b'{"a":9223372036854775808}', b'{"a":-9223372036854775808}'),  # int64 overflow as on amd64
        (b'{"a":"\\ud800x"}', '{"a":"\ufffdx"}'.encode()),  # lone surrogate becomes U+FFFD
        (b'{"a":true,"b":false,"c":null}', b'{"a":true,"b":false,"c":null}'),
    ],
)
def test_canonical_matches_docker_go(text: bytes, expected: bytes) -> None:
    assert go_canonical_of_text(text) == expected


def test_canonical_rejects_non_integral_numbers() -> None:
    with pytest.raises(CanonicalizationError, match=r"1\.5"):
        go_canonical_of_text(b'{"a":1.5}')
    with pytest.raises(CanonicalizationError):
        canonical({"a": float("nan")})


def test_loads_rejects_bad_json() -> None:
    for bad in (b"", b"{", b'{"a":NaN}', b'{"a":"\x01"}', b"\xff\xfe"):
        with pytest.raises(MalformedMetadataError):
            loads(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_fast_paths_equal_exact_encoder(value: Any) -> None:
    text = json.dumps({"v": value}).encode()
    decoded, plain = decode(text)
    assert canonical(decoded, plain=plain) == exact(decoded)
    assert canonical(decoded) == exact(decoded)


def test_go_html_escape() -> None:
    assert (
        go_html_escape('{"a":"<>&\u2028\u2029é"}'.encode()) == '{"a":"\\u003c\\u003e\\u0026\\u2028\\u2029é"}'.encode()
    )
    with pytest.raises(CanonicalizationError, match="control character"):
        go_html_escape(b'{"a":"\n"}')


def test_go_string() -> None:
    assert go_string('a"\\\n\r\t\x01\x7f<é') == '"a\\"\\\\\\n\\r\\t\\u0001\x7f\\u003cé"'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2116-07-03T17:56:36.027379879-05:00", "2116-07-03T17:56:36.027379879-05:00"),
        ("2116-07-03T23:08:08.447842546Z", "2116-07-03T23:08:08.447842546Z"),
        ("2030-01-01T00:00:00.120000Z", "2030-01-01T00:00:00.12Z"),
        ("2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00+00:00", "2030-01-01T00:00:00Z"),
        ("2030-01-01T00:00:00.1234567891234Z", "2030-01-01T00:00:00.123456789Z"),
    ],
)
def test_gotime_normalises_as_go_rewrites(text: str, written: str) -> None:
    parsed = GoTime.parse(text)
    assert parsed.text == written
    assert parsed.datetime.tzinfo is not None


def test_gotime_value() -> None:
    parsed = GoTime.parse("2116-07-03T17:56:36.027379879-05:00")
    assert parsed.datetime == datetime(2116, 7, 3, 22, 56, 36, 27379, tzinfo=timezone.utc)
    assert GoTime.from_datetime(datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)).text == "2030-01-02T03:04:05Z"
    offset = timezone(timedelta(hours=5, minutes=30))
    assert GoTime.from_datetime(datetime(2030, 1, 2, 3, 4, 5, 500, tzinfo=offset)).text == (
        "2030-01-02T03:04:05.0005+05:30"
    )


@pytest.mark.parametrize(
    "bad", ["2030-01-01t00:00:00Z", "2030-01-01T00:00:00", "2030-13-01T00:00:00Z", "2030-01-01T00:00:00+25:00", "x"]
)
def test_gotime_rejects(bad: str) -> None:
    with pytest.raises(MalformedMetadataError):
        GoTime.parse(bad)


def test_gotime_needs_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        GoTime.from_datetime(datetime(2030, 1, 1))


def test_decimal_from_loads() -> None:
    assert loads(b'{"a":5.0}') == {"a": Decimal("5.0")}


def test_decode_reports_plain() -> None:
    assert decode(b'{"a":[1,"x"]}') == ({"a": [1, "x"]}, True)
    assert decode(b'{"a":1.0}')[1] is False
    assert decode(b'{"a":1234567890123456}')[1] is False


def test_normalise_json() -> None:
    assert normalise_json({"a": [Decimal("2.0"), 3.0, True, None]}) == {"a": [2, 3, True, None]}
    with pytest.raises(CanonicalizationError, match="2\\*\\*53"):
        normalise_json(2**53 + 1)
    with pytest.raises(CanonicalizationError):
        normalise_json({"a": object()})


def test_paused_gc_restores_state() -> None:
    import gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
