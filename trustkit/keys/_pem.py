"""PEM blocks as Go's ``encoding/pem`` reads and writes them, headers included (notary's ``role:``/``gun:``)."""

from __future__ import annotations

import base64
import binascii
import re

import attrs

from trustkit.errors import KeyFormatError

__all__ = ["PemBlock", "decode_pem_blocks", "encode_pem"]

_BLOCK = re.compile(
    rb"-----BEGIN (?P<type>[^\r\n-]+)-----\r?\n(?P<body>.*?)-----END (?P=type)-----[ \t]*(?:\r?\n|\Z)",
    re.DOTALL,
)


@attrs.frozen
class PemBlock:
    """One PEM block: its type, its headers in file order, and its decoded body."""

    type: str
    headers: dict[str, str]
    der: bytes


def decode_pem_blocks(data: bytes, *, what: str = "PEM data") -> list[PemBlock]:
    """Every PEM block in ``data``, in order; raises :class:`KeyFormatError` when there is none."""
    blocks: list[PemBlock] = []
    for match in _BLOCK.finditer(data):
        lines = match.group("body").splitlines()
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
                headers[name.strip().decode("ascii", "replace")] = value.strip().decode("utf-8", "replace")
            else:
                raise KeyFormatError(f"{what}: PEM headers are not followed by a blank line")
        try:
            der = base64.b64decode(b"".join(line.strip() for line in lines[body_start:]), validate=True)
        except (binascii.Error, ValueError):
            raise KeyFormatError(f"{what}: PEM body is not valid base64") from None
        blocks.append(PemBlock(match.group("type").decode("ascii", "replace"), headers, der))
    if not blocks:
        raise KeyFormatError(f"{what}: no PEM block found")
    return blocks


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
    return "".join(out).encode("ascii")
