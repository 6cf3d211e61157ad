"""A minimal DER reader and writer: just enough ASN.1 for PKCS#8 and PBES2 as notary writes them."""

from __future__ import annotations

from trustkit.errors import KeyFormatError

__all__ = [
    "DerReader",
    "der_integer",
    "der_octets",
    "der_oid",
    "der_sequence",
    "der_tlv",
    "oid_text",
]

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06


class DerReader:
    """Reads consecutive TLVs from a DER buffer; every malformation is a :class:`KeyFormatError`."""

    def __init__(self, data: bytes, what: str = "key") -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= len(self._data)

    def peek_tag(self) -> int | None:
        """The tag of the next TLV, or None at the end."""
        return None if self.at_end() else self._data[self._pos]

    def read(self, expected_tag: int | None = None) -> tuple[int, bytes]:
        """Read one TLV and return (tag, contents)."""
        data, pos = self._data, self._pos
        if pos + 2 > len(data):
            raise KeyFormatError(f"{self._what}: truncated DER")
        tag, length = data[pos], data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or pos + count > len(data):
                raise KeyFormatError(f"{self._what}: bad DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > len(data):
            raise KeyFormatError(f"{self._what}: truncated DER")
        if expected_tag is not None and tag != expected_tag:
            raise KeyFormatError(f"{self._what}: expected DER tag {expected_tag:#x}, found {tag:#x}")
        self._pos = pos + length
        return tag, data[pos : pos + length]

    def read_raw(self) -> bytes:
        """Read one TLV and return its whole encoding."""
        start = self._pos
        self.read()
        return self._data[start : self._pos]

    def sequence(self) -> DerReader:
        """Read a SEQUENCE and return a reader over its contents."""
        return DerReader(self.read(SEQUENCE)[1], self._what)

    def integer(self) -> int:
        """Read an INTEGER."""
        return int.from_bytes(self.read(INTEGER)[1], "big", signed=True)

    def octets(self) -> bytes:
        """Read an OCTET STRING."""
        return self.read(OCTET_STRING)[1]

    def oid(self) -> str:
        """Read an OBJECT IDENTIFIER in dotted form."""
        return oid_text(self.read(OID)[1])


def oid_text(body: bytes) -> str:
    """Dotted text of an OID's DER contents."""
    if not body:
        raise KeyFormatError("empty OID")
    first = body[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def der_tlv(tag: int, body: bytes) -> bytes:
    """Encode one TLV."""
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + body


def der_sequence(*items: bytes) -> bytes:
    """Encode a SEQUENCE of already-encoded items."""
    return der_tlv(SEQUENCE, b"".join(items))


def der_integer(value: int) -> bytes:
    """Encode a non-negative INTEGER."""
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return der_tlv(INTEGER, body)


def der_octets(value: bytes) -> bytes:
    """Encode an OCTET STRING."""
    return der_tlv(OCTET_STRING, value)


def der_oid(dotted: str) -> bytes:
    """Encode an OBJECT IDENTIFIER from dotted text."""
    numbers = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * numbers[0] + numbers[1]])
    for number in numbers[2:]:
        chunk = [number & 0x7F]
        rest = number >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body.extend(reversed(chunk))
    return der_tlv(OID, bytes(body))
