"""Mutations of valid inputs: byte-level (truncation, bit flips, splices) and JSON-aware (fields deleted, retyped,
duplicated, numbers turned to floats/huge/negative, strings with control characters, lone surrogates and HTML,
deep nesting), plus PEM-aware ones (the DER inside re-encoded, headers changed).

Every operator takes a ``random.Random``: the fallback fuzzer passes a seeded one, the hypothesis properties pass
``st.randoms()`` so that hypothesis drives (and shrinks) the choices. Nothing here imports trustkit.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "DICTIONARY",
    "NASTY_STRINGS",
    "Dup",
    "Raw",
    "dumps",
    "mutate",
    "mutate_bytes",
    "mutate_json",
    "mutate_pem",
]


class Raw:
    """JSON text written verbatim by :func:`dumps` (a float, a huge number, deep nesting)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Dup:
    """A JSON object written with these (possibly repeated) key/value pairs, in this order."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


def dumps(value: Any) -> str:
    """Compact JSON text; strings are ASCII-escaped, so lone surrogates survive as ``\\udXXX`` escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Dup):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


NASTY_STRINGS = (
    "",
    "\x00",
    "\x01\x1f",
    "\n\r\t",
    "\x7f",
    "\ud800",
    "\udfff",
    "a\udc00b",
    "<script>alert(1)</script>",
    "&amp;<>",
    "\u2028\u2029",
    "\ufeff",
    "\ufffd",
    "\U0001f600",
    "caf\u00e9",
    "../../etc/passwd",
    "targets/releases",
    "targets/../root",
    "TARGETS/X",
    "targets/" + "a" * 300,
    "2030-01-01T00:00:00Z",
    "sha256",
    "ecdsa-x509",
    "=" * 8,
    "AAAA",
    "\\",
    '"',
    "x" * 5000,
)

NASTY_NUMBERS = (
    "0",
    "-0",
    "-1",
    "1.0",
    "5.5",
    "1e0",
    "1E+2",
    "-1e-7",
    "9007199254740993",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e308",
    "1e400",
    "-1e400",
    "1e999999999999999999",
    "1e9999999999999999999999",
    "0." + "0" * 400 + "1",
    "9" * 400,
)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice((0, 1, -1, 2**31, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 2**64))
    if kind == 3:
        return Raw(rng.choice(NASTY_NUMBERS))
    if kind in (4, 5):
        return rng.choice(NASTY_STRINGS)
    if kind == 6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 7:
        return {rng.choice(NASTY_STRINGS[:12]): _random_value(rng, depth + 1) for _ in range(rng.randrange(3))}
    return Raw("[" * 50 + "]" * 50)


def _paths(value: Any, limit: int = 400) -> list[tuple[Any, Any]]:
    """(container, key) pairs of every value inside ``value``, breadth-first, at most ``limit``."""
    found: list[tuple[Any, Any]] = []
    queue = [value]
    while queue and len(found) < limit:
        current = queue.pop(0)
        if isinstance(current, dict):
            items: Sequence[tuple[Any, Any]] = list(current.items())
        elif isinstance(current, list):
            items = list(enumerate(current))
        else:
            continue
        for key, child in items:
            found.append((current, key))
            queue.append(child)
    return found


def _tweak_number(rng: random.Random, number: int) -> Any:
    return rng.choice(
        (
            Raw(f"{number}.0"),
            Raw(f"{number}e0"),
            Raw(f"{number}.5"),
            -number,
            number + 1,
            number - 1,
            0,
            2**53 + 1,
            2**63,
            Raw("1e400"),
            Raw(rng.choice(NASTY_NUMBERS)),
        )
    )


def _tweak_string(rng: random.Random, text: str) -> str:
    nasty = rng.choice(NASTY_STRINGS)
    choice = rng.randrange(5)
    if choice == 0:
        return nasty
    if choice == 1 or not text:
        return text + nasty
    position = rng.randrange(len(text) + 1)
    if choice == 2:
        return text[:position] + nasty + text[position:]
    if choice == 3:
        return text[:position]
    return text.upper() if rng.random() < 0.5 else text * 2


def _deep(rng: random.Random, value: Any) -> Raw:
    depth = rng.choice((10, 100, 300, 490, 510, 700, 990, 1000, 3000, 50_000))
    opener, closer = ("[", "]") if rng.random() < 0.7 else ('{"a":', "}")
    return Raw(opener * depth + dumps(value) + closer * depth)


def _structural_op(rng: random.Random, root: Any) -> Any:
    """Apply one JSON-aware mutation in place (or return a replacement for the root)."""
    paths = _paths(root)
    if not paths:
        return _random_value(rng)
    container, key = rng.choice(paths)
    value = container[key]
    op = rng.randrange(10)
    if op == 0:  # delete the field / element
        del container[key]
    elif op == 1:  # retype
        container[key] = _random_value(rng)
    elif op == 2 and isinstance(container, dict):  # duplicate the key (same or another value)
        pairs = list(container.items())
        pairs.append((key, value if rng.random() < 0.5 else _random_value(rng)))
        rng.shuffle(pairs)
        container.clear()
        container["\x00dup"] = Dup(pairs)  # replaced below by _resolve_dups
    elif op == 3 and isinstance(value, int) and not isinstance(value, bool):
        container[key] = _tweak_number(rng, value)
    elif op == 4 and isinstance(value, str):
        container[key] = _tweak_string(rng, value)
    elif op == 5:  # deep nesting
        container[key] = _deep(rng, value)
    elif op == 6 and isinstance(container, dict):  # rename the key
        del container[key]
        container[_tweak_string(rng, str(key))] = value
    elif op == 7 and isinstance(container, dict):  # add an unknown field
        container[rng.choice(NASTY_STRINGS[:14])] = _random_value(rng)
    elif op == 8:  # swap with another value of the tree (copies: one may hold the other, no cycle may form)
        other_container, other_key = rng.choice(paths)
        with contextlib.suppress(KeyError, IndexError):
            other = copy.deepcopy(other_container[other_key])
            container[key], other_container[other_key] = other, copy.deepcopy(value)
    else:  # many copies (a wide container)
        container[key] = [value] * rng.choice((2, 10, 1000)) if rng.random() < 0.5 else Raw(dumps(value))
    return root


def _resolve_dups(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "\x00dup" in value and isinstance(value["\x00dup"], Dup):
            return Dup([(k, _resolve_dups(v)) for k, v in value["\x00dup"].pairs])
        return {k: _resolve_dups(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_dups(v) for v in value]
    return value


def mutate_json(rng: random.Random, data: bytes) -> bytes:
    """1-3 JSON-aware mutations of a JSON document (byte mutations when it does not decode)."""
    try:
        root = json.loads(data)
    except (ValueError, RecursionError):
        return mutate_bytes(rng, data)
    for _ in range(rng.randrange(1, 4)):
        root = _structural_op(rng, root)
    return dumps(_resolve_dups(root)).encode()


_TOKENS = (
    b'"',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\u0000",
    b"\\ud800",
    b"\\u003c",
    b"1e999",
    b"-",
    b"null",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\n",
    b"-----END ",
    b"-----BEGIN PRIVATE KEY-----\n",
)


def mutate_bytes(rng: random.Random, data: bytes, others: Sequence[bytes] = ()) -> bytes:
    """1-4 byte-level mutations: truncation, bit flips, byte changes, token inserts, deletes, copies, splices."""
    out = bytearray(data)
    for _ in range(rng.randrange(1, 5)):
        op = rng.randrange(8)
        size = len(out)
        if op == 0 and size:
            del out[rng.randrange(size) :]
        elif op == 1 and size:
            for _ in range(rng.randrange(1, 4)):
                out[rng.randrange(size)] ^= 1 << rng.randrange(8)
        elif op == 2 and size:
            out[rng.randrange(size)] = rng.randrange(256)
        elif op == 3:
            position = rng.randrange(size + 1)
            out[position:position] = rng.choice(_TOKENS)
        elif op == 4 and size:
            start = rng.randrange(size)
            del out[start : start + rng.randrange(1, 64)]
        elif op == 5 and size:
            start = rng.randrange(size)
            chunk = out[start : start + rng.randrange(1, 64)]
            position = rng.randrange(size + 1)
            out[position:position] = chunk
        elif op == 6 and others:
            other = rng.choice(others)
            cut, other_cut = rng.randrange(size + 1), rng.randrange(len(other) + 1)
            out = out[:cut] + other[other_cut:]
        else:
            position = rng.randrange(size + 1)
            out[position:position] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    return bytes(out)


_PEM = re.compile(rb"(-----BEGIN ([^\r\n-]+)-----\r?\n)(.*?)(-----END \2-----)", re.DOTALL)


def mutate_pem(rng: random.Random, data: bytes) -> bytes:
    """Mutate the DER inside a PEM block and re-encode it, or change its headers; bytes otherwise."""
    match = _PEM.search(data)
    if match is None:
        return mutate_bytes(rng, data)
    body = match.group(3)
    lines = body.split(b"\n")
    headers, b64 = [], []
    for line in lines:
        (headers if b":" in line else b64).append(line)
    try:
        der = base64.b64decode(b"".join(line.strip() for line in b64), validate=True)
    except (binascii.Error, ValueError):
        return mutate_bytes(rng, data)
    choice = rng.randrange(4)
    if choice == 0:  # change the headers
        extra = rng.choice(
            (
                b"role: targets/\xff",
                b"gun: ",
                b"Proc-Type: 4,ENCRYPTED",
                b"DEK-Info: AES-256-CBC,00",
                b"DEK-Info: AES-128-CBC," + b"0" * 32,
                b"no colon here",
                b": empty name",
            )
        )
        headers = [*headers[: rng.randrange(len(headers) + 1)], extra]
    else:
        der = mutate_bytes(rng, der)
    text = base64.b64encode(der)
    new_body = b"\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    head = b"\n".join(h for h in headers if h) + b"\n\n" if any(headers) else b""
    rebuilt = match.group(1) + head + new_body + b"\n" + match.group(4)
    return data[: match.start()] + rebuilt + data[match.end() :]


_FIELDS = [
    "_type",
    "signed",
    "signatures",
    "keyid",
    "method",
    "sig",
    "expires",
    "version",
    "targets",
    "delegations",
    "keys",
    "roles",
    "paths",
    "threshold",
    "keyids",
    "hashes",
    "length",
    "custom",
    "meta",
    "consistent_snapshot",
    "keytype",
    "keyval",
    "public",
    "private",
    "Root",
    "Targets",
    "Snapshot",
    "Timestamp",
    "root",
    "snapshot",
    "timestamp",
    "targets/",
    "ecdsa",
    "rsa",
    "ed25519",
    "ecdsa-x509",
    "rsa-x509",
    "eddsa",
    "rsapss",
    "rsapkcs1v15",
    "sha256",
    "sha512",
    "action",
    "role",
    "type",
    "path",
    "data",
    "create",
    "update",
    "delete",
    "target",
    "delegation",
    "witness",
    "new_name",
    "add_keys",
    "remove_keys",
    "add_paths",
    "remove_paths",
    "clear_paths",
    "trust_pinning",
    "certs",
    "ca",
    "disable_tofu",
]
_PEM_WORDS = (
    b"-----BEGIN ",
    b"-----END ",
    b"-----\n",
    b"CERTIFICATE",
    b"PUBLIC KEY",
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"ED25519 PRIVATE KEY",
    b"Proc-Type: 4,ENCRYPTED\n",
    b"DEK-Info: AES-256-CBC,",
    b"role: ",
    b"gun: ",
)
_REMOTE_FIELDS = (
    "errors",
    "code",
    "message",
    "detail",
    "token",
    "access_token",
    "expires_in",
    "auths",
    "auth",
    "username",
    "password",
    "identitytoken",
    "credsStore",
    "credHelpers",
    "ServerURL",
    "Username",
    "Secret",
    "<token>",
)
_REMOTE_WORDS = (
    b"\r\n\r\n",
    b"WWW-Authenticate: ",
    b"Retry-After: ",
    b"Bearer ",
    b"Basic ",
    b"realm=",
    b"service=",
    b"scope=",
    b"error=",
    b"repository:",
    b":push,pull",
    b"https://",
    b"http://",
    b"[::1]:",
    b"xn--",
    b"localhost:5000/",
    b"index.docker.io/",
    b"library/",
    b"@sha256:",
    b"credentials not found in native keychain",
)
DICTIONARY: tuple[bytes, ...] = (
    *_TOKENS,
    *(number.encode()[:64] for number in NASTY_NUMBERS),
    *(json.dumps(text).encode()[:64] for text in NASTY_STRINGS),
    *(json.dumps(name).encode() for name in (*_FIELDS, *_REMOTE_FIELDS)),
    *_PEM_WORDS,
    *_REMOTE_WORDS,
)
"""Tokens worth splicing into inputs (libFuzzer's ``-dict``): JSON syntax, hostile numbers and strings, every
field name notary uses, PEM markers; the remote layer's field names, header and URL pieces."""


def libfuzzer_dictionary() -> str:
    """:data:`DICTIONARY` in libFuzzer's ``-dict`` file format."""
    lines = []
    for token in dict.fromkeys(DICTIONARY):
        escaped = "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}" for b in token)
        lines.append(f'"{escaped}"')
    return "\n".join(lines) + "\n"


Mutator = Callable[[random.Random, bytes], bytes]


def mutate(rng: random.Random, data: bytes, others: Sequence[bytes] = ()) -> bytes:
    """Any of the mutations, picked by what ``data`` looks like."""
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN") and rng.random() < 0.7:
        return mutate_pem(rng, data)
    if stripped[:1] in (b"{", b"[") and rng.random() < 0.6:
        return mutate_json(rng, data)
    return mutate_bytes(rng, data, others)
