"""The text machinery behind ``docker trust inspect``'s output, reimplemented from its documented behaviour.

- :func:`natural_sort_key`: fvbommel/sortorder's ``NaturalLess`` (digit runs compared by value, fewer leading
  zeros first, digits before other bytes), which orders tags in docker's output;
- :func:`go_indent`: Go's ``json.Indent`` with a four-space indent, as ``docker inspect`` prints its JSON array;
- :func:`tab_table`: docker's ``formatter`` tables (Go's elastic-tabstop ``tabwriter`` with minimum width 10,
  padding 3, space padding);
- :func:`truncate_id`: docker's ``stringid.TruncateID`` (12 characters, any ``algo:`` prefix dropped).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

__all__ = ["go_indent", "natural_less", "natural_sort_key", "tab_table", "truncate_id"]

_TRUNCATED_LENGTH = 12
_MIN_WIDTH = 10
_PADDING = 3


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def natural_less(left: str, right: str) -> bool:
    """Whether ``left`` sorts before ``right`` in docker's natural order ("v2" < "v10", "2" < "02").

    Non-digit runs compare bytewise (UTF-8), digit runs by value; for equal values the one with fewer leading
    zeros comes first; a digit sorts before any other character; a prefix sorts first.
    """
    a, b = left.encode(), right.encode()
    i = j = 0
    while i < len(a) and j < len(b):
        ca, cb = chr(a[i]), chr(b[j])
        digit_a, digit_b = _is_digit(ca), _is_digit(cb)
        if digit_a != digit_b:
            return digit_a
        if not digit_a:
            if a[i] != b[j]:
                return a[i] < b[j]
            i += 1
            j += 1
            continue
        while i < len(a) and a[i] == 0x30:
            i += 1
        while j < len(b) and b[j] == 0x30:
            j += 1
        start_a, start_b = i, j
        while i < len(a) and _is_digit(chr(a[i])):
            i += 1
        while j < len(b) and _is_digit(chr(b[j])):
            j += 1
        if i - start_a != j - start_b:
            return i - start_a < j - start_b
        if a[start_a:i] != b[start_b:j]:
            return a[start_a:i] < b[start_b:j]
        if start_a != start_b:
            return start_a < start_b
    return len(a) < len(b)


def _natural_compare(left: str, right: str) -> int:
    if natural_less(left, right):
        return -1
    if natural_less(right, left):
        return 1
    return 0


natural_sort_key = functools.cmp_to_key(_natural_compare)
"""A ``key=`` for :func:`sorted` giving docker's natural order."""


def go_indent(compact: str, indent: str = "    ") -> str:
    """Go's ``json.Indent(dst, src, "", indent)`` of compact JSON: one element per line, ``": "`` after keys,
    empty arrays and objects kept as ``[]`` and ``{}``."""
    out: list[str] = []
    depth = 0
    in_string = escaped = need_indent = False
    for char in compact:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if need_indent and char not in "]}":
            need_indent = False
            depth += 1
            out.append("\n" + indent * depth)
        if char == '"':
            in_string = True
            out.append(char)
        elif char in "[{":
            need_indent = True
            out.append(char)
        elif char == ",":
            out.append(",\n" + indent * depth)
        elif char == ":":
            out.append(": ")
        elif char in "]}":
            if need_indent:
                need_indent = False
            else:
                depth -= 1
                out.append("\n" + indent * depth)
            out.append(char)
        else:
            out.append(char)
    return "".join(out)


def _width(text: str) -> int:
    """Display width in terminal cells (East Asian wide characters count 2, combining marks 0)."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def tab_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells aligned as docker's table formatter prints them (each line ends with a newline).

    Every cell but a line's last is tab-terminated and padded to its column's width: the widest cell of the
    column's block of consecutive lines plus 3, at least 10. The last cell is written as is.
    """
    lines = [list(row) for row in rows]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(first: int, last: int) -> None:
        for line in lines[first:last]:
            for column, cell in enumerate(line):
                out.append(cell)
                if column < len(widths):
                    out.append(" " * (widths[column] - _width(cell)))
            out.append("\n")

    def format_block(first: int, last: int) -> None:
        column = len(widths)
        this = first
        while this < last:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(first, this)
            first = this
            width = _MIN_WIDTH
            while this < last and column < len(lines[this]) - 1:
                width = max(width, _width(lines[this][column]) + _PADDING)
                this += 1
            widths.append(width)
            format_block(first, this)
            widths.pop()
            first = this
            this += 1
        write_lines(first, last)

    format_block(0, len(lines))
    return "".join(out)


def truncate_id(key_id: str) -> str:
    """docker's ``TruncateID``: drop an ``algorithm:`` prefix and keep 12 characters."""
    head, separator, tail = key_id.partition(":")
    return (tail if separator else head)[:_TRUNCATED_LENGTH]
