"""Byte positions to damage in an archive, one of each class, for the "refused or unchanged" property."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trustkit as tk


def flip_cases(archive: Path) -> list[tuple[Path, int]]:
    """Byte positions of every class in every archived file: first and last bytes, inside the signed part, inside
    each signature, each hash and key, each version and expiry, and a spread over the whole file."""
    cases = []
    for path in sorted(p for p in archive.rglob("*") if p.is_file()):
        data = path.read_bytes()
        positions = {0, 1, len(data) // 2, len(data) - 2, len(data) - 1}
        positions.update(range(0, len(data), max(1, len(data) // 40)))
        for marker in (b'"sig"', b'"sha256"', b'"public"', b'"version"', b'"expires"', b'"keyid"', b'"length"'):
            at = data.find(marker)
            if at >= 0:
                positions.update({at + 1, at + len(marker) + 3, at + len(marker) + 10})
        cases.extend((path, p) for p in sorted(positions) if 0 <= p < len(data))
    return cases


def assert_refused_or_unchanged(archive: Path, answer: Callable[[], object], expected: object) -> dict[str, int]:
    """Flip one bit at each position of :func:`flip_cases` in turn: ``answer()`` must raise a trustkit error or
    give ``expected``, never another accepted answer. Returns how many were refused and how many unchanged."""
    outcomes = {"refused": 0, "same": 0}
    for path, position in flip_cases(archive):
        original = path.read_bytes()
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        try:
            got = answer()
        except tk.TrustkitError:
            outcomes["refused"] += 1
        else:
            assert got == expected, f"{path} byte {position} changed the answer"
            outcomes["same"] += 1
        finally:
            path.write_bytes(original)
    return outcomes
