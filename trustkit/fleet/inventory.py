"""An inventory of many repositories at once: signed tags, signers, expiries, health and policy verdicts.

:func:`iter_inventory` reads each repository through the ordinary verified read in a bounded pool of threads (one
:class:`~trustkit.client.Reader` each; the remote's connection pool is shared) and yields one
:class:`InventoryRow` per repository as it completes, calling ``progress`` after each. :func:`take_inventory`
collects them into an :class:`Inventory`, which converts to dicts, JSON lines or a pandas DataFrame and shows as a
paged HTML table in a notebook. One repository's failure is its row's ``error``; the others go on.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

from trustkit._tables import Table, plain, plain_fields
from trustkit.client import MetadataCache, Reader, health_report
from trustkit.client.health import DEFAULT_WINDOW
from trustkit.errors import ConfigurationError, InvalidArgumentError, TrustkitError
from trustkit.fleet.state import read_state
from trustkit.remote import Remote
from trustkit.remote.changefeed import server_repositories
from trustkit.trust import TrustPinning

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.policy import Verifier  # the policy layer (and DCT below it) loads only for a verifier's user
else:  # resolved on demand by typing.get_type_hints, through the package root's lazy table
    from typing import ForwardRef

    import trustkit.fleet  # noqa: F401 -- binds the name trustkit, in which the references below are resolved

    Verifier = ForwardRef("trustkit.Verifier")

__all__ = ["DEFAULT_PAGE_SIZE", "Inventory", "InventoryProgress", "InventoryRow", "iter_inventory", "take_inventory"]

DEFAULT_PAGE_SIZE = 50
"""Rows an :class:`Inventory` shows per HTML page."""


@attrs.frozen
class InventoryRow:
    """One repository in an inventory.

    ``tags`` are ``(name, digest)`` as ``notary list`` shows them; ``signers`` the trusted delegation roles;
    ``expires`` each trusted role's expiry, soonest first; ``problems`` what its health report finds (expiring or
    expired roles and certificates, roles below threshold); ``verdicts`` ``(image, allowed, message)`` for each
    image the policy was asked about. A repository that could not be read has only ``error``. Immutable, so safe
    to share between threads.
    """

    gun: str
    timestamp_version: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    signers: tuple[str, ...] = ()
    expires: tuple[tuple[str, datetime], ...] = ()
    problems: tuple[str, ...] = ()
    verdicts: tuple[tuple[str, bool, str], ...] = ()
    error: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether it was read and its health report found nothing."""
        return self.error is None and not self.problems

    @property
    def next_expiry(self) -> datetime | None:
        """The soonest expiry of its trusted roles."""
        return self.expires[0][1] if self.expires else None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data: every field (times as ISO 8601 UTC), plus ``healthy``, ``next_expiry``
        and ``tag_count``."""
        data = plain_fields(self)
        data.update(healthy=self.healthy, tag_count=len(self.tags), next_expiry=plain(self.next_expiry))
        return data

    def _cells(self) -> tuple[str, ...]:
        if self.error is not None:
            return (self.gun, "", "", "", "", f"error: {self.error}")
        next_expiry = self.next_expiry
        allowed = sum(1 for _, ok, _ in self.verdicts if ok)
        return (
            self.gun,
            str(len(self.tags)),
            ", ".join(role.removeprefix("targets/") for role in self.signers),
            "" if next_expiry is None else next_expiry.strftime("%Y-%m-%d"),
            f"{allowed}/{len(self.verdicts)} allowed" if self.verdicts else "",
            "ok" if not self.problems else "; ".join(self.problems),
        )


@attrs.frozen
class InventoryProgress:
    """Passed to ``progress`` after each repository: how many are done of how many, and the row just made.
    Immutable."""

    done: int
    total: int
    row: InventoryRow


def _read_row(
    gun: str,
    remote: Remote,
    *,
    trust_dir: Path | None,
    pinning: TrustPinning | None,
    verifier: Verifier | None,
    verify_tags: Collection[str],
    window: timedelta,
    now: Callable[[], datetime],
) -> InventoryRow:
    try:
        cache = MetadataCache(trust_dir, gun) if trust_dir is not None else None
        reader = Reader(gun, remote, cache=cache, pinning=pinning, max_cache_age=0)
        state = read_state(reader)
        moment = now()
        report = health_report(reader, window=window, now=moment)
        trusted = reader.trusted
        expires = sorted(((role, trusted[role].signed.expires) for role in trusted.roles()), key=lambda e: e[1])
    except TrustkitError as exc:
        return InventoryRow(gun, error=f"{type(exc).__name__}: {exc}")
    verdicts = []
    if verifier is not None:
        for tag in sorted(set(verify_tags) & set(state.tags)):
            verdict = verifier.verify(f"{gun}:{tag}")
            verdicts.append((verdict.image, verdict.allowed, verdict.message))
    return InventoryRow(
        gun,
        state.timestamp_version,
        tuple(sorted(state.tags.items())),
        tuple(sorted(state.signers)),
        tuple(expires),
        tuple(report.problems()),
        tuple(verdicts),
    )


def iter_inventory(
    remote: Remote,
    guns: Iterable[str] | None = None,
    *,
    prefix: str | None = None,
    workers: int = 8,
    progress: Callable[[InventoryProgress], None] | None = None,
    trust_dir: str | Path | None = None,
    pinning: TrustPinning | None = None,
    verifier: Verifier | None = None,
    verify_tags: Collection[str] = ("latest",),
    window: timedelta = DEFAULT_WINDOW,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> Iterator[InventoryRow]:
    """One row per repository, yielded as each completes (not in order), at most ``workers`` read at once.

    ``guns`` are the repositories, else every repository the server's changefeed names
    (:func:`~trustkit.remote.changefeed.server_repositories`); only those starting with ``prefix`` when given.
    ``trust_dir`` keeps a verified cache per repository (a second inventory then downloads only what changed);
    ``pinning`` applies to first contact. With ``verifier``, each tag of ``verify_tags`` a repository signs gets
    the policy's verdict. ``window`` is how soon an expiry counts as a problem (see
    :func:`~trustkit.client.health_report`). ``progress`` is called in the caller's thread after each row.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgumentError(f"workers must be a number of threads >= 1, not {workers!r}")
    names = sorted(set(guns)) if guns is not None else server_repositories(remote, prefix=prefix)
    if prefix is not None:
        names = [gun for gun in names if gun.startswith(prefix)]
    folder = Path(trust_dir) if trust_dir is not None else None
    pending = iter(names)
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trustkit-inventory") as pool:
        running: set[Future[InventoryRow]] = set()

        def submit() -> None:
            for gun in pending:
                running.add(
                    pool.submit(
                        _read_row,
                        gun,
                        remote,
                        trust_dir=folder,
                        pinning=pinning,
                        verifier=verifier,
                        verify_tags=verify_tags,
                        window=window,
                        now=clock,
                    )
                )
                if len(running) >= 2 * workers:  # bounded: never more than this many rows in memory
                    return

        submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            running.difference_update(finished)
            submit()
            for future in finished:
                row = future.result()
                done += 1
                if progress is not None:
                    progress(InventoryProgress(done, len(names), row))
                yield row


@attrs.frozen
class Inventory:
    """The rows of an inventory, sorted by GUN. Immutable, so thread-safe to share."""

    rows: tuple[InventoryRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[InventoryRow]:
        return iter(self.rows)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every row as JSON-ready data."""
        return [row.to_dict() for row in self.rows]

    def to_json_lines(self) -> str:
        """One JSON object a line per repository (``jq``, log shippers, ``pandas.read_json(lines=True)``)."""
        return "".join(json.dumps(row, sort_keys=True) + "\n" for row in self.to_dicts())

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame``, one row per repository, a column per :meth:`InventoryRow.to_dict` key.

        pandas is optional: raises :class:`~trustkit.errors.ConfigurationError` saying how to install it."""
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise ConfigurationError(
                "Inventory.to_dataframe needs pandas, which is not installed: pip install pandas (or "
                "'trustkit-dct[pandas]'), or use to_dicts() / to_json_lines()"
            ) from None
        return pandas.DataFrame.from_records(self.to_dicts())

    def _table(self, rows: Sequence[InventoryRow], title: str) -> Table:
        headers = ("repository", "tags", "signers", "next expiry", "policy", "health")
        return Table(title, headers, [row._cells() for row in rows], "no repositories")

    def page_html(self, page: int = 0, *, page_size: int = DEFAULT_PAGE_SIZE) -> str:
        """Page ``page`` (from 0) of the HTML table, ``page_size`` rows, titled with its place among the pages."""
        if page_size < 1 or page < 0:
            raise InvalidArgumentError("page must be >= 0 and page_size >= 1")
        pages = max(1, -(-len(self.rows) // page_size))
        shown = self.rows[page * page_size : (page + 1) * page_size]
        title = f"Inventory of {len(self.rows)} repositories: page {page + 1} of {pages}"
        if pages > 1:
            title += " (Inventory.page_html(n) shows page n + 1)"
        return self._table(shown, title).html(max_rows=page_size)

    def __str__(self) -> str:
        return self._table(self.rows, f"Inventory of {len(self.rows)} repositories").text()

    def _repr_html_(self) -> str:
        return self.page_html(0)


def take_inventory(remote: Remote, guns: Iterable[str] | None = None, **options: Any) -> Inventory:
    """:func:`iter_inventory` collected, sorted by GUN (same arguments)."""
    return Inventory(tuple(sorted(iter_inventory(remote, guns, **options), key=lambda row: row.gun)))
