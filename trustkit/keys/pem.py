"""PEM blocks as Go's ``encoding/pem`` reads and writes them, headers included (notary's ``role:``/``gun:``):
shared by the keys and the key stores, which read and write notary's PEM files."""

from __future__ import annotations

import base64
import binascii
import bisect
import re

import attrs

from trustkit.errors import KeyFormatError

__all__ = ["PemBlock", "decode_pem_blocks", "encode_pem"]

_BEGIN = re.compile(rb"-----BEGIN ([^\r\n-]+)-----\r?\n")
_END = re.compile(rb"-----END ([^\r\n-]+)-----[ \t]*(?:\r?\n|\Z)")


@attrs.frozen
class PemBlock:
    """One PEM block: its type, its headers in file order, and its decoded body."""

    type: str
    headers: dict[str, str]
    der: bytes


def decode_pem_blocks(data: bytes, *, what: str = "PEM data", strict: bool = False) -> list[PemBlock]:
    """Every PEM block in ``data``, in order; raises :class:`KeyFormatError` when there is none.

    Like Go's ``pem.Decode``, text around the blocks is skipped -- unless ``strict``, which refuses anything but
    whitespace outside the blocks (for private keys: a file with more in it than its keys is not a key file).
    The END lines are indexed once and each BEGIN finds its END by bisection, so hostile input (thousands of
    BEGIN lines without an END) is scanned in linear time.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise KeyFormatError(f"{what}: PEM is bytes or text, not {type(data).__name__}")
    ends: dict[bytes, list[tuple[int, int]]] = {}
    for match in _END.finditer(data):
        ends.setdefault(match.group(1), []).append((match.start(), match.end()))
    blocks: list[PemBlock] = []
    position = 0
    for begin in _BEGIN.finditer(data):
        if begin.start() < position:
            continue
        candidates = ends.get(begin.group(1), [])
        index = bisect.bisect_left(candidates, (begin.end(), -1))
        if index == len(candidates):
            continue
        end_start, end_stop = candidates[index]
        blocks.append(_block(begin.group(1), data[begin.end() : end_start], what))
        if strict and data[position : begin.start()].strip():
            raise KeyFormatError(f"{what}: text before or between PEM blocks: give the PEM blocks alone")
        position = end_stop
    if not blocks:
        raise KeyFormatError(f"{what}: no PEM block found")
    if strict and data[position:].strip():
        raise KeyFormatError(f"{what}: text after the last PEM block: give the PEM blocks alone")
    return blocks


def _block(block_type: bytes, body: bytes, what: str) -> PemBlock:
    lines = body.splitlines()
    headers: dict[str, str] = {}
    body_start = 0
    if lines and b":" in lines[0]:
        for index, line in enumerate(lines):
            if not line.strip():
                body_start = index + 1
                break
            name, sep, value = line.partition(b":")
            if not sep:
                raise KeyFormatError(f"{what}: malformed PEM header line")
            try:
                headers[name.strip().decode("utf-8")] = value.strip().decode("utf-8")
            except UnicodeDecodeError:
                raise KeyFormatError(f"{what}: PEM header is not UTF-8") from None
        else:
            raise KeyFormatError(f"{what}: PEM headers are not followed by a blank line")
    try:
        der = base64.b64decode(b"".join(line.strip() for line in lines[body_start:]), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError(f"{what}: PEM body is not valid base64") from None
    return PemBlock(block_type.decode("ascii", "replace"), headers, der)


def encode_pem(block_type: str, der: bytes, headers: dict[str, str] | None = None) -> bytes:
    """Encode like Go's ``pem.Encode``: sorted headers (Proc-Type first), a blank line, 64-character lines."""
    out = [f"-----BEGIN {block_type}-----\n"]
    if headers:
        names = sorted(headers, key=lambda name: (name != "Proc-Type", name))
        out.extend(f"{name}: {headers[name]}\n" for name in names)
        out.append("\n")
    text = base64.b64encode(der).decode("ascii")
    out.extend(text[i : i + 64] + "\n" for i in range(0, len(text), 64))
    out.append(f"-----END {block_type}-----\n")
    return "".join(out).encode("utf-8")
