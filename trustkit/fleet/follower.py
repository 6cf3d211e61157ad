"""Following a server's changefeed: what changed in each repository, verified, from a cursor kept on disk.

The changefeed only says that a repository has a new timestamp (or was deleted). :class:`ChangefeedFollower` reads
each repository it names through the ordinary verified read (a :class:`~trustkit.client.Reader` with a cache under
the follower's folder, so a root that changes without a valid rotation is refused, not reported as news) and
compares the result with what it saw last: tags added, removed and re-pointed, signer roles added and removed, the
repository deleted. Its cursor and the last state of every repository are written atomically after each poll, so
a follower that is stopped (or killed) resumes where it was; a feed that starts over (a server on the memory store
restarted, a database restored) is noticed and every known repository checked again, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path

import attrs

from trustkit._fs import atomic_write, ensure_private_dir
from trustkit._tables import plain_fields
from trustkit.client import MetadataCache, Reader
from trustkit.errors import (
    FileAccessError,
    InvalidArgumentError,
    NotFoundError,
    ServerUnavailableError,
    TrustkitError,
)
from trustkit.fleet.state import RepositoryState, read_state
from trustkit.remote import ChangeRecord, Remote
from trustkit.remote.changefeed import DEFAULT_PAGE, changefeed_records
from trustkit.trust import TrustPinning

__all__ = ["STATE_FILE", "ChangefeedFollower", "RepositoryEvent"]

logger = logging.getLogger(__name__)

STATE_FILE = "follower-state.json"
"""The follower's cursor and the last verified state of every repository, in its folder."""
_FORMAT = 1


@attrs.frozen
class RepositoryEvent:
    """What changed in one repository, from a verified read compared with the previous one.

    ``kind`` is ``created`` (first seen), ``changed``, ``deleted`` (gone from the server) or ``error`` (the new
    state did not verify or could not be read: ``error`` says why, and the previous state is kept, so the next
    change is compared with the last good one). Tags are ``(name, digest)``; ``tags_repointed`` holds
    ``(name, old digest, new digest)``; signers are delegation roles (``targets/alice``). Immutable, so safe to
    share between threads.
    """

    gun: str
    kind: str
    change_id: str
    """The changefeed record this event answers (the last one naming the repository in its poll)."""
    timestamp_version: int | None = None
    tags_added: tuple[tuple[str, str], ...] = ()
    tags_removed: tuple[tuple[str, str], ...] = ()
    tags_repointed: tuple[tuple[str, str, str], ...] = ()
    signers_added: tuple[str, ...] = ()
    signers_removed: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The event as JSON-ready data (``json.dumps(event.to_dict())``)."""
        return plain_fields(self)


def _difference(gun: str, change_id: str, old: RepositoryState | None, new: RepositoryState) -> RepositoryEvent:
    before = old.tags if old is not None else {}
    signers_before = set(old.signers) if old is not None else set()
    return RepositoryEvent(
        gun,
        "created" if old is None else "changed",
        change_id,
        new.timestamp_version,
        tags_added=tuple(sorted((name, digest) for name, digest in new.tags.items() if name not in before)),
        tags_removed=tuple(sorted((name, digest) for name, digest in before.items() if name not in new.tags)),
        tags_repointed=tuple(
            sorted(
                (name, before[name], digest)
                for name, digest in new.tags.items()
                if name in before and before[name] != digest
            )
        ),
        signers_added=tuple(sorted(set(new.signers) - signers_before)),
        signers_removed=tuple(sorted(signers_before - set(new.signers))),
    )


class ChangefeedFollower:
    """Events for every repository a server changes, from its changefeed, resumable.

    ``remote`` is the server (a :class:`~trustkit.remote.NotaryServer`, or any remote with a changefeed);
    ``folder`` holds the follower's state (:data:`STATE_FILE`) and the verified cache of every repository it reads
    (``<folder>/tuf/<gun>``); ``prefix`` limits it to GUNs starting with that text; ``poll_interval`` is the
    seconds :meth:`follow` waits between polls; ``pinning`` applies to first contact with each repository
    (trust on first use otherwise, as notary does).

    The first poll from an empty folder reports every repository on the server as ``created``. :meth:`follow`
    gives every event at least once (see there); :meth:`afollow` is the same for asyncio. Not thread-safe: one
    follower (and one process) per folder; it may run in its own thread (or task) while the caller stops it with
    :meth:`stop`.
    """

    def __init__(
        self,
        remote: Remote,
        folder: str | Path,
        *,
        prefix: str | None = None,
        poll_interval: float = 5.0,
        page: int = DEFAULT_PAGE,
        pinning: TrustPinning | None = None,
    ) -> None:
        if not poll_interval >= 0:
            raise InvalidArgumentError(f"poll_interval must be a number of seconds >= 0, not {poll_interval!r}")
        self.remote = remote
        self.folder = Path(folder)
        self.prefix = prefix
        self.poll_interval = poll_interval
        self.page = page
        self.pinning = pinning
        self._stop = threading.Event()
        self._cursor = "0"
        self._cursor_record = ""  # "<gun> <timestamp sha256>" of the cursor's record: a feed starting over reuses IDs
        self._states: dict[str, RepositoryState] = {}
        self._recheck_all = False
        self._load()

    def __repr__(self) -> str:
        return f"<ChangefeedFollower of {self.remote!r} at change {self._cursor}: {len(self._states)} repositories>"

    @property
    def cursor(self) -> str:
        """The ID of the last changefeed record handled ("0" before the first)."""
        return self._cursor

    @property
    def repositories(self) -> dict[str, RepositoryState]:
        """The last verified state of every repository seen and not deleted (a copy)."""
        return dict(self._states)

    # --- persistence ---------------------------------------------------------------------------------------

    @property
    def _state_path(self) -> Path:
        return self.folder / STATE_FILE

    def _load(self) -> None:
        """Take the saved cursor and states (the start of the feed and none when nothing is saved)."""
        self._cursor, self._cursor_record, self._states, self._recheck_all = "0", "", {}, False
        try:
            raw = self._state_path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise FileAccessError(f"cannot read {self._state_path}: {exc.strerror or exc}") from None
        try:
            obj = json.loads(raw)
            if obj.get("format") != _FORMAT or obj.get("prefix") != self.prefix:
                raise ValueError("written for another format or prefix")
            cursor, cursor_record = obj["cursor"], obj["cursor_record"]
            if not isinstance(cursor, str) or not isinstance(cursor_record, str):
                raise ValueError("cursor must be text")
            states = {str(gun): RepositoryState.from_json(state) for gun, state in obj["repositories"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FileAccessError(
                f"{self._state_path} is not a follower state for this server and prefix ({exc}): move it away to "
                "start over (every repository is then reported as created)"
            ) from None
        self._cursor, self._cursor_record, self._states = cursor, cursor_record, states

    def _save(self) -> None:
        data = {
            "format": _FORMAT,
            "prefix": self.prefix,
            "cursor": self._cursor,
            "cursor_record": self._cursor_record,
            "repositories": {gun: state.to_json() for gun, state in sorted(self._states.items())},
        }
        ensure_private_dir(self.folder)
        atomic_write(self._state_path, json.dumps(data, sort_keys=True).encode(), root=self.folder)

    # --- polling -------------------------------------------------------------------------------------------

    # The polling logic is written once, without network I/O (a planned asyncio driver reuses it): the driver
    # asks for the records, reads the repositories the plan names and hands back each outcome.

    def _started_over(self, before_next: list[ChangeRecord]) -> bool:
        """Whether the record at the cursor is no longer the one handled, given the feed's answer for the record
        before ``cursor + 1``: the feed is shorter than the cursor, or another record (another repository, or another
        timestamp: a repository published again after a restart) has its ID."""
        if not any(r.id == self._cursor and f"{r.gun} {r.sha256}" == self._cursor_record for r in before_next):
            logger.warning(
                "the changefeed of %r no longer has record %s: it started over; checking every repository again",
                self.remote,
                self._cursor,
            )
            self._cursor, self._cursor_record, self._recheck_all = "0", "", True
            return True
        return False

    def _plan(self, records: Iterable[ChangeRecord]) -> tuple[dict[str, str], ChangeRecord | None]:
        """The repositories to read (GUN -> the ID of the last record naming it, in feed order) after ``records``,
        and the last record."""
        latest: dict[str, str] = {}
        last = None
        for record in records:
            last = record
            if self.prefix is None or record.gun.startswith(self.prefix):
                latest.pop(record.gun, None)
                latest[record.gun] = record.id
            if record.category == "deletion":
                # notary-server's memory store deletes every GUN that starts with the deleted one (deleting
                # "a/b" deletes "a/bc" too) and records only the one: check the others it may have taken
                for gun in self._states:
                    if gun.startswith(record.gun) and gun != record.gun:
                        latest.setdefault(gun, record.id)
        if self._recheck_all:
            for gun in self._states:
                latest.setdefault(gun, last.id if last is not None else self._cursor)
        return latest, last

    def _outcome(self, gun: str, change_id: str, result: RepositoryState | TrustkitError) -> RepositoryEvent | None:
        """The event for ``gun`` given the result of reading it (None when its verified state is what it was)."""
        old = self._states.get(gun)
        if isinstance(result, NotFoundError):  # RepositoryNotFoundError: the server has no timestamp for it
            cache = MetadataCache(self.folder, gun)
            for role in cache.roles():
                cache.remove(role)  # a repository created again under the name starts a new trust
            if self._states.pop(gun, None) is None:
                return None
            return RepositoryEvent(gun, "deleted", change_id)
        if isinstance(result, TrustkitError):
            logger.warning("the new trust data of %s was not accepted: %s", gun, result)
            return RepositoryEvent(gun, "error", change_id, error=f"{type(result).__name__}: {result}")
        self._states[gun] = result
        if old is not None and old.tags == result.tags and old.signers == result.signers:
            return None
        return _difference(gun, change_id, old, result)

    def _finish(self, last: ChangeRecord | None) -> None:
        """Move the cursor past ``last`` and save the state."""
        if last is not None:
            self._cursor, self._cursor_record = last.id, f"{last.gun} {last.sha256}"
        self._recheck_all = False
        self._save()

    def poll(self) -> list[RepositoryEvent]:
        """Read the changefeed after the cursor once, and return the events of the repositories it names (one
        event per repository, for its latest state). Saves the cursor and states before returning them."""
        events, last = self._changes()
        self._finish(last)
        return events

    def _changes(self) -> tuple[list[RepositoryEvent], ChangeRecord | None]:
        """The events after the cursor and the last record read, not saved yet."""
        if self._cursor.isdigit() and self._cursor != "0":
            self._started_over(self.remote.changefeed(None, change_id=int(self._cursor) + 1, records=-1))
        checks, last = self._plan(changefeed_records(self.remote, change_id=self._cursor, page=self.page))
        events = []
        for gun, change_id in checks.items():
            event = self._outcome(gun, change_id, self._read(gun))
            if event is not None:
                events.append(event)
        return events, last

    def _read(self, gun: str) -> RepositoryState | TrustkitError:
        """The verified state of ``gun`` now, or the error that stopped its read (an unreachable server raises:
        the poll fails whole and is retried, since it is no news about a repository)."""
        reader = Reader(gun, self.remote, cache=MetadataCache(self.folder, gun), pinning=self.pinning, max_cache_age=0)
        try:
            return read_state(reader)
        except ServerUnavailableError:
            raise
        except TrustkitError as exc:
            return exc

    def follow(self, *, sleep: Callable[[float], object] | None = None) -> Iterator[RepositoryEvent]:
        """Poll forever (until :meth:`stop`), ``poll_interval`` seconds apart, yielding each event as it comes.

        Events come at least once: the cursor and states are saved only once the events of a poll have all been
        taken, so a follower killed while the caller handles them reports them again when it is started again.
        An unreachable server is retried at the next poll (logged), never a reason to stop.
        """
        wait = sleep if sleep is not None else self._stop.wait
        self._stop.clear()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                events, last = self._changes()
            except (TrustkitError, OSError) as exc:
                logger.warning("polling the changefeed of %r failed: %s; retrying", self.remote, exc)
                self._load()  # forget what the failed poll changed in memory: the next one starts from the saved state
                events, last = [], None
            yield from events
            if events or last is not None:
                self._finish(last)
            if self._stop.is_set():
                return
            wait(max(0.0, self.poll_interval - (time.monotonic() - started)))

    def __iter__(self) -> Iterator[RepositoryEvent]:
        return self.follow()

    async def afollow(self) -> AsyncIterator[RepositoryEvent]:
        """:meth:`follow` for asyncio: each poll (its requests and reads) runs in a worker thread, so the event
        loop never waits on the network, and the wait between polls is ``asyncio.sleep``. Same guarantees: at
        least once, retried after a failed poll, ended by :meth:`stop` (from any thread or task).
        ``async for event in follower.afollow(): ...`` (or ``async for event in follower``)."""
        self._stop.clear()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                events, last = await asyncio.to_thread(self._changes)
            except (TrustkitError, OSError) as exc:
                logger.warning("polling the changefeed of %r failed: %s; retrying", self.remote, exc)
                self._load()
                events, last = [], None
            for event in events:
                yield event
            if events or last is not None:
                await asyncio.to_thread(self._finish, last)
            if self._stop.is_set():
                return
            await asyncio.sleep(max(0.0, self.poll_interval - (time.monotonic() - started)))

    def __aiter__(self) -> AsyncIterator[RepositoryEvent]:
        return self.afollow()

    def stop(self) -> None:
        """Make :meth:`follow` return after the poll under way (safe to call from another thread)."""
        self._stop.set()
