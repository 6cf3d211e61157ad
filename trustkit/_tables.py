"""Titled tables rendered two ways -- padded text for a terminal, HTML for Jupyter -- from one model, so that both
show the same thing. Shared by every layer whose results display themselves (health reports, repository summaries,
``docker trust inspect`` results, target matches); nothing here does I/O.

A notebook cell must stay small whatever the repository: HTML tables show at most :data:`MAX_HTML_ROWS` rows and
then say how many more there are (``str()`` and the data itself stay complete).
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

import attrs

__all__ = [
    "MAX_HTML_ROWS",
    "Cell",
    "Document",
    "Rendered",
    "Table",
    "by_name",
    "date_cell",
    "duration_cell",
    "plain",
    "plain_fields",
    "relative_cell",
]

MAX_HTML_ROWS = 200
"""The most rows an HTML table shows; the rest are counted ("… and 19,800 more"). A 20,000-tag summary otherwise
renders megabytes of HTML into one notebook cell."""

Cell = str | tuple[str, ...]
"""A table cell: one value, or several shown one a line."""

_CELL = "text-align:left;vertical-align:top;padding:2px 10px 2px 0;border-bottom:1px solid rgba(128,128,128,0.3)"


def _lines(cell: Cell) -> tuple[str, ...]:
    return (cell,) if isinstance(cell, str) else cell


def _td(cell: Cell) -> str:
    return f"<td style='{_CELL}'>" + "<br>".join(html.escape(line) for line in _lines(cell)) + "</td>"


@attrs.frozen
class Table:
    """A titled table: the one model both renderings read, so that a terminal and a notebook show the same."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    """A cell holding several values shows them one a line."""
    empty: str
    """Said after the title instead of an empty table."""

    def text(self) -> str:
        """Columns padded to their widest cell, a cell's values one a line; the title alone when there are no rows."""
        if not self.rows:
            return f"{self.title}: {self.empty}"
        physical: list[tuple[str, ...]] = [self.headers]
        for row in self.rows:
            cells = [_lines(cell) for cell in row]
            height = max(len(cell) for cell in cells)
            for index in range(height):
                physical.append(tuple(cell[index] if index < len(cell) else "" for cell in cells))
        widths = [max(len(line[column]) for line in physical) for column in range(len(self.headers))]
        table = "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in physical
        )
        return f"{self.title}\n{table}"

    def html(self, *, max_rows: int = MAX_HTML_ROWS) -> str:
        """A ``<table>`` with the title as caption, a cell's values split by ``<br>``; a paragraph when empty. At
        most ``max_rows`` rows, then one saying how many more there are."""
        title = html.escape(self.title)
        if not self.rows:
            return f"<p><strong>{title}</strong>: {html.escape(self.empty)}</p>"
        head = "".join(f"<th style='{_CELL}'>{html.escape(header)}</th>" for header in self.headers)
        shown = self.rows[:max_rows]
        body = "".join("<tr>" + "".join(_td(cell) for cell in row) + "</tr>" for row in shown)
        if len(self.rows) > len(shown):
            more = f"… and {len(self.rows) - len(shown):,} more (print() or the data itself lists them all)"
            body += f"<tr><td style='{_CELL}' colspan='{len(self.headers)}'><em>{html.escape(more)}</em></td></tr>"
        return (
            f"<table style='border-collapse:collapse;margin-bottom:1em'>"
            f"<caption style='text-align:left'><strong>{title}</strong></caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


@attrs.frozen
class Document:
    """A report or summary to render: a title, then its tables."""

    title: str
    css_class: str
    tables: tuple[Table, ...]

    def text(self) -> str:
        """For a terminal: the title and each table, a blank line apart."""
        return "\n\n".join([self.title, *(table.text() for table in self.tables)])

    def html(self) -> str:
        """For Jupyter: a ``<div>`` of the title as a heading and each table."""
        parts = [f"<h4>{html.escape(self.title)}</h4>", *(table.html() for table in self.tables)]
        return f"<div class='{self.css_class}'>" + "\n".join(parts) + "</div>"


class Rendered:
    """A result that shows itself from one :class:`Document` (its ``_document()``): ``str()`` as text for a
    terminal, ``_repr_html_`` as HTML for Jupyter, so that both show the same."""

    __slots__ = ()

    def _document(self) -> Document:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._document().text()

    def _repr_html_(self) -> str:
        return self._document().html()


_Named = TypeVar("_Named", bound="_HasName")


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


def by_name(items: Iterable[_Named], name: str) -> _Named:
    """The first of ``items`` called ``name`` (a result's lookup by role, signer or tag); ``KeyError`` if none is."""
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)


def plain_fields(instance: attrs.AttrsInstance, *, omit: Collection[str] = ()) -> dict[str, Any]:
    """The fields of an attrs instance as JSON-ready data (see :func:`plain`), in their order, for ``to_dict()``
    methods; ``omit`` names fields that are not part of the JSON form."""
    return {
        field.name: plain(getattr(instance, field.name))
        for field in attrs.fields(type(instance))
        if field.name not in omit
    }


def plain(value: object) -> object:
    """``value`` as JSON-ready data: attrs instances as dicts of their fields, datetimes as ISO 8601 UTC text
    (``…Z``), durations as seconds, tuples and sets as lists."""
    cls = type(value)
    if attrs.has(cls):
        return {field.name: plain(getattr(value, field.name)) for field in attrs.fields(cls)}
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


def date_cell(moment: datetime) -> str:
    """A moment as a table shows it: UTC to the minute (``2026-06-01 12:00 UTC``), zero-padded years."""
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:  # after year 9999 or before year 1 once in UTC: shown in its own offset
        return f"{moment.year:04d}-{moment:%m-%d %H:%M} UTC{moment:%z}"
    return f"{utc.year:04d}-{utc:%m-%d %H:%M} UTC"  # strftime's %Y drops the zeros of years before 1000


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def duration_cell(delta: timedelta) -> str:
    """A length of time in its largest whole unit (``3 days``), or in years past two years (``2.5 years``)."""
    seconds = abs(delta.total_seconds())
    if seconds >= 730 * 86400:
        return f"{seconds / (365 * 86400):.1f} years"
    unit, size = next(((u, s) for u, s in _UNITS if seconds >= s), ("second", 1))
    count = int(seconds // size)
    return f"{count} {unit}{'' if count == 1 else 's'}"


def relative_cell(delta: timedelta, *, past: str = "expired", future: str = "in") -> str:
    """A time from now: ``in 3 days``, or ``expired 3 days ago`` (``past`` and ``future`` name the two sides)."""
    if delta <= timedelta(0):
        return f"{past} {duration_cell(delta)} ago"
    return f"{future} {duration_cell(delta)}"
