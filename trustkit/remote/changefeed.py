"""Reading a server's whole changefeed: every record after a cursor, page by page, and the repositories it names.

notary-server records a new timestamp version of every GUN (``update``) and every deletion (``deletion``) in its
changefeed, ``GET /v2/_trust/changefeed`` (which needs the catalog scope ``*`` on a server with token
authentication). Any :class:`~trustkit.remote.Remote` serves it; this module pages through it for the capture of a
whole server (:func:`trustkit.archive.export_server`), discovery and the changefeed follower
(:mod:`trustkit.fleet`). Nothing here keeps state: the functions are safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Iterator

from trustkit.errors import InvalidArgumentError, RemoteError
from trustkit.remote.base import ChangeRecord, Remote

__all__ = ["DEFAULT_PAGE", "changefeed_records", "latest_change_id", "server_repositories"]

DEFAULT_PAGE = 100
"""Records asked for per request: notary-server's own default page size."""


def _check_page(page: int) -> None:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidArgumentError(f"page must be a number of records >= 1, not {page!r}")


def changefeed_records(remote: Remote, *, change_id: int | str = 0, page: int = DEFAULT_PAGE) -> Iterator[ChangeRecord]:
    """Every changefeed record after ``change_id`` (0: from the start), in order, ``page`` records a request.

    Stops at the end of the feed: a short page, or one with nothing after the cursor. A hostile or broken server
    cannot make it loop: records must have decimal IDs, and only those above the cursor count (each request moves
    the cursor forward or ends the read); anything else is a :class:`~trustkit.errors.RemoteError`.
    """
    _check_page(page)
    cursor = _decimal(str(change_id), what="change_id")
    while True:
        records = remote.changefeed(None, change_id=str(cursor), records=page)
        fresh = [record for record in records if _decimal(record.id, what="a changefeed record ID") > cursor]
        yield from fresh
        if not fresh or len(records) < page:
            return
        cursor = max(int(record.id) for record in fresh)


def _decimal(text: str, *, what: str) -> int:
    """``text`` as a changefeed ID (notary-server's are decimal; 0 is the start)."""
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise RemoteError(f"{what} {text[:40]!r} is not a decimal changefeed ID: is this a notary server?")
    return int(text)


def latest_change_id(remote: Remote) -> int:
    """The ID of the newest changefeed record, 0 for an empty feed (one request: ``change_id=-1``).

    A follower whose saved cursor is above it knows that the feed started over (a server on the memory store was
    restarted, or its database restored).
    """
    records = remote.changefeed(None, change_id=-1, records=1)
    ids = [int(record.id) for record in records if record.id.isdigit()]
    return max(ids, default=0)


def server_repositories(remote: Remote, *, prefix: str | None = None, page: int = DEFAULT_PAGE) -> list[str]:
    """Every repository a server's changefeed names that has not been deleted since, sorted; only those whose
    GUN starts with ``prefix`` when given (``"registry.example.com/team/"``).

    Reads the whole feed from the start, ``page`` records a request.
    """
    alive: dict[str, bool] = {}
    for record in changefeed_records(remote, page=page):
        if prefix is None or record.gun.startswith(prefix):
            alive[record.gun] = record.category != "deletion"
    return sorted(gun for gun, present in alive.items() if present)
