"""Trusted reads: notary's client update workflow over any remote, with a verified cache.

:class:`Reader` downloads what the trusted state says it needs -- ``timestamp.json``, then snapshot, targets and
delegations by their sha256 (as notary does), each capped at the length the parent lists -- feeds every file
through a :class:`~trustkit.trust.TrustedMetadataSet`, and caches only what verified. It starts from the cached
root, rotates the root when the server's data says so (walking every intermediate root version), can work
offline from the cache, and refuses -- never guesses -- when the cache has expired. Reads never need a private
key or a passphrase.

The workflow is written once, without I/O: a generator that yields the files it needs and is sent their bytes
(as python-tuf's trusted metadata set and h11 work). :class:`Reader` drives it with a blocking remote;
:class:`AsyncReader` with an asyncio one, fetching the delegations of one level together (bounded).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from trustkit.client.cache import MetadataCache
from trustkit.errors import (
    ExpiredMetadataError,
    HashMismatchError,
    InvalidArgumentError,
    MalformedMetadataError,
    NotFoundError,
    RemoteError,
    RepositoryNotFoundError,
    RootMismatchError,
    ServerUnavailableError,
    TargetNotFoundError,
    ThresholdError,
    TrustkitError,
    UntrustedRootError,
    VerificationError,
)
from trustkit.metadata import dump_parsed, load_parsed  # the public names of metadata/_compact.py
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import MetaFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_delegation, parent_role
from trustkit.metadata.roles import DelegatedRole, Root
from trustkit.trust.pinning import TrustPinning
from trustkit.trust.trusted_set import (
    Accelerator,
    TargetMatch,
    TargetRow,
    TrustedMetadataSet,
    VerificationMemo,
    utc_now,
)

if TYPE_CHECKING:  # asyncio is imported when an AsyncReader refreshes: the blocking read path does without it
    import asyncio
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_DOWNLOAD_SIZE",
    "MAX_ROOT_SIZE",
    "MAX_TIMESTAMP_SIZE",
    "AsyncMetadataSource",
    "AsyncReader",
    "MetadataSource",
    "Reader",
]

logger = logging.getLogger(__name__)

MAX_ROOT_SIZE = 10 * 1024 * 1024
"""The cap for a root whose size nothing trusted states (first contact, rotations): 10 MiB, a tenth of notary's
``MaxDownloadSize``. A root holds the keys of four roles (a few kB; a thousand certificates would be 1 MB), and
an unauthenticated 100 MB root is parsed before anything can refuse it."""
MAX_DOWNLOAD_SIZE = 100 * 1024 * 1024
"""notary's ``MaxDownloadSize``: the most a length stated by signed metadata may make the reader download."""
MAX_TIMESTAMP_SIZE = 1024 * 1024
"""notary's ``MaxTimestampSize``."""
_MAX_ROOT_WALK = 1000
MAX_DELEGATIONS = 256
"""The most delegated roles one refresh visits. notary 0.7 sets no bound; python-tuf visits 32 per lookup. Docker
repositories hold ``targets/releases`` and one role per signer: a handful."""
MAX_DELEGATION_KEYS = 4096
"""The most keys of delegated roles one refresh checks signatures with (a role file costs at most one check per
key of its role): past it, the remaining delegations are blocked. A hostile signer delegating to many roles of
1,024 keys each cost seconds of CPU per read."""
_VERSION_TAIL_BYTES = 2 * 1024 * 1024  # the version, then at most 1,024 signatures (1.5 kB each at most)
_VERSION_TAIL = re.compile(rb',"version":([0-9]{1,16})\},"signatures":\[')


class MetadataSource(Protocol):
    """What the reader needs from a remote: one role's bytes, current, by sha256 or by version, capped."""

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """The bytes of ``role`` (at most ``max_size``; more is an error)."""
        ...


class AsyncMetadataSource(Protocol):
    """What :class:`AsyncReader` needs from an asyncio remote (:class:`~trustkit.remote.AsyncNotaryServer`): the
    coroutine twin of :class:`MetadataSource`."""

    async def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """The bytes of ``role`` (at most ``max_size``; more is an error)."""
        ...


DEFAULT_CONCURRENCY = 8
"""How many delegations of one repository :class:`Reader` and :class:`AsyncReader` fetch at once, unless told
otherwise."""

_Source = TypeVar("_Source")
_T = TypeVar("_T")


class _Fetch:
    """What the workflow asks its driver for: one file of one GUN (``get_role``'s arguments)."""

    __slots__ = ("checksum", "gun", "max_size", "role", "version")

    def __init__(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> None:
        self.gun = gun
        self.role = role
        self.max_size = max_size
        self.checksum = checksum
        self.version = version

    @property
    def key(self) -> tuple[str, str | None, int | None]:
        """Which file this is (the cap aside)."""
        return (self.role, self.checksum, self.version)

    def send(self, remote: MetadataSource) -> bytes:
        """Fetch it with a blocking remote."""
        return remote.get_role(
            self.gun, self.role, max_size=self.max_size, checksum=self.checksum, version=self.version
        )

    def send_async(self, remote: AsyncMetadataSource) -> Awaitable[bytes]:
        """Fetch it with an asyncio remote."""
        return remote.get_role(
            self.gun, self.role, max_size=self.max_size, checksum=self.checksum, version=self.version
        )


class _FetchBatch:
    """Files the workflow will ask for next (each as a ``_Fetch`` of its own, in the walk's order): the driver may
    start fetching them all at once and answer each later ``_Fetch`` of the same file with that fetch's outcome,
    so the walk verifies one while the others download. Answered with nothing."""

    __slots__ = ("fetches",)

    def __init__(self, fetches: tuple[_Fetch, ...]) -> None:
        self.fetches = fetches


_Need = _Fetch | _FetchBatch
Workflow = Generator[_Need, Any, _T]
"""A step of the update workflow: yields what it needs, is sent the answer, returns its result."""


class _Steps(Generic[_T]):
    """What a workflow needs, one need at a time, for the two drivers: before taking the next need a driver sets
    :attr:`answer` (or :attr:`error`, which the workflow handles where the remote's call used to be); once the
    workflow has finished, :attr:`result` holds what it returned."""

    def __init__(self, flow: Workflow[_T], remote: object) -> None:
        self._flow = flow
        self._remote = remote
        self.answer: Any = None
        self.error: BaseException | None = None
        self.result: _T

    def __iter__(self) -> Iterator[_Need]:
        while True:
            answer, error = self.answer, self.error
            self.answer, self.error = None, None
            try:
                need = self._flow.send(answer) if error is None else self._flow.throw(error)
            except StopIteration as stop:
                self.result = stop.value
                return
            if self._remote is None:  # pragma: no cover - the workflow asks for nothing without a remote
                raise AssertionError("the workflow asked for a file without a remote")
            yield need


def _drive(flow: Workflow[_T], remote: MetadataSource | None, limit: int = 1) -> _T:
    """Run ``flow`` with blocking calls to ``remote``; the files of a batch are fetched ahead on at most ``limit``
    worker threads."""
    steps = _Steps(flow, remote)
    ahead = _Ahead(remote, limit)  # type: ignore[arg-type]
    try:
        for need in steps:
            if isinstance(need, _FetchBatch):
                ahead.start(need.fetches)
                continue
            try:
                steps.answer = ahead.take(need)
            except Exception as exc:  # the workflow handles it where the remote's call used to be
                steps.error = exc
    except BaseException as exc:
        ahead.close(wait=isinstance(exc, Exception))  # an interrupt ends the read now, not when a request does
        raise
    ahead.close(wait=True)
    return steps.result


class _Ahead:
    """The blocking driver's fetches started ahead of the walk, on up to ``limit`` worker threads, each running in
    a copy of the caller's context (the operation's deadline is a context variable). Once there are workers, a
    file not started ahead is fetched on one too, so no more than ``limit`` requests run at once; before, in the
    calling thread. :meth:`close` cancels what was never started and waits for the rest, so no request outlives
    the refresh (except after an interrupt, which is not held up: those requests end within their deadline)."""

    def __init__(self, remote: MetadataSource, limit: int) -> None:
        self._remote = remote
        self._limit = limit
        self._pool: ThreadPoolExecutor | None = None
        self._started: dict[tuple[str, str | None, int | None], Future[bytes]] = {}

    def start(self, fetches: tuple[_Fetch, ...]) -> None:
        if self._limit < 2 or len(fetches) < 2:
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # only reads with delegations to fetch pay for it

            self._pool = ThreadPoolExecutor(self._limit, thread_name_prefix="trustkit-fetch")
        for fetch in fetches:
            if fetch.key not in self._started:
                self._started[fetch.key] = self._submit(self._pool, fetch)

    def _submit(self, pool: ThreadPoolExecutor, fetch: _Fetch) -> Future[bytes]:
        import contextvars

        return pool.submit(contextvars.copy_context().run, fetch.send, self._remote)

    def take(self, fetch: _Fetch) -> bytes:
        started = self._started.pop(fetch.key, None)
        if started is None:
            if self._pool is None:
                return fetch.send(self._remote)
            started = self._submit(self._pool, fetch)
        return started.result()

    def close(self, *, wait: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)


async def _drive_async(flow: Workflow[_T], remote: AsyncMetadataSource | None, limit: asyncio.Semaphore) -> _T:
    """Run ``flow`` with ``remote``'s coroutines; the files of a batch are fetched ahead as tasks, at most
    ``limit`` at a time, and tasks never taken are cancelled when the flow ends."""
    import asyncio

    async def bounded(fetch: _Fetch) -> bytes:
        async with limit:
            return await fetch.send_async(remote)  # type: ignore[arg-type]

    started: dict[tuple[str, str | None, int | None], asyncio.Task[bytes]] = {}
    steps = _Steps(flow, remote)
    try:
        for need in steps:
            if isinstance(need, _FetchBatch):
                for fetch in need.fetches:
                    if fetch.key not in started:
                        started[fetch.key] = asyncio.ensure_future(bounded(fetch))
                continue
            task = started.pop(need.key, None)
            try:  # through the same bound as the tasks, so no more than ``limit`` requests run at once
                steps.answer = await (bounded(need) if task is None else task)
            except Exception as exc:
                steps.error = exc
    finally:
        for task in started.values():
            task.cancel()
        if started:
            await asyncio.gather(*started.values(), return_exceptions=True)
    return steps.result


def _by_meta(meta: MetaFile) -> dict[str, Any]:
    """How to fetch a file its parent lists: by sha256 (by name when only sha512 is listed, as notary does), capped
    at the signed length and never beyond notary's MaxDownloadSize (a server-held timestamp key would otherwise
    make the reader accept a stream of any size)."""
    sha256 = meta.hashes.get("sha256")
    return {"max_size": min(meta.length, MAX_DOWNLOAD_SIZE), "checksum": None if sha256 is None else sha256.hex()}


def _may_have_form(role: str) -> bool:
    """Whether ``role`` is a targets role, the kind a compact parsed form is kept for."""
    return role == TARGETS or is_delegation(role)


def _reference_hint(gun: str) -> str:
    """What to write instead when ``gun`` looks like an image reference with a tag or digest (``repo:v1``,
    ``repo@sha256:…``) rather than a GUN, for "trust data missing" messages; empty otherwise."""
    name, at, _ = gun.partition("@")
    if at:
        return f" ({gun} is an image reference with a digest: the GUN is {name})"
    name, colon, tag = gun.rpartition(":")
    if colon and "/" in name and "/" not in tag:
        return f" ({gun} looks like IMAGE:TAG: the GUN is {name}; ask for the tag with get_target({tag!r}))"
    return ""


def _name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidArgumentError(f"a target name is a string (a tag), not {type(name).__name__}")
    return name


def _roles(roles: Iterable[str]) -> tuple[str, ...]:
    """``roles`` as a tuple; a single string is refused rather than read as one role per character."""
    if isinstance(roles, str):
        raise InvalidArgumentError(f"roles is a list of role names: write roles=[{roles!r}]")
    return tuple(roles)


class _UpdateWorkflow(Generic[_Source]):
    """The state and the update workflow of a reader, without I/O: :class:`Reader` and :class:`AsyncReader` drive
    the same workflow (:meth:`_workflow`), one with a remote's blocking calls, the other with coroutines."""

    def __init__(
        self,
        gun: str,
        remote: _Source | None,
        *,
        cache: MetadataCache | None = None,
        pinning: TrustPinning | None = None,
        offline: bool = False,
        clock: Callable[[], datetime] = utc_now,
        max_cache_age: float | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidArgumentError(f"concurrency must be a positive integer, not {concurrency!r}")
        self.concurrency = concurrency
        if remote is None and not offline:
            raise InvalidArgumentError(
                f"no remote given for {gun}: pass a remote (NotaryServer, LocalRemote, ...) or offline=True to read "
                "from the cache alone"
            )
        if max_cache_age is not None and not max_cache_age >= 0:
            raise InvalidArgumentError(f"max_cache_age must be None or a number of seconds >= 0, not {max_cache_age!r}")
        self.max_cache_age = max_cache_age
        self.cache_age: float | None = None  # documented on Reader
        self.gun = gun
        self.remote = remote
        self.cache = cache
        self.pinning = pinning
        self.offline = offline
        self._clock = clock
        self._trusted: TrustedMetadataSet | None = None
        self._memo: VerificationMemo | None = None
        self._read: dict[str, bytes | None] = {}  # cached files read during this refresh
        self._from_forms: set[str] = set()  # roles this refresh rebuilt from their compact parsed form
        self._cached_timestamp = False  # whether this refresh fell back to the cached timestamp (server down)
        self._concurrent = False  # whether the driver fetches batches of delegations concurrently
        self._ahead: dict[str, int] = {}
        self._fetched_targets = False
        self._previous_snapshot: bytes | None = None  # the cached snapshot the refresh started from
        self.invalid: dict[str, bytes] = {}
        self.skipped: dict[str, str] = {}

    def __repr__(self) -> str:
        """Which GUN from where, and what the last refresh trusted (or that there was none yet)."""
        source = "the cache, offline" if self.offline else repr(self.remote)
        state = "not refreshed yet" if self._trusted is None else repr(self._trusted)
        skipped = f"; skipped {', '.join(sorted(self.skipped))}" if self.skipped else ""
        return f"<{type(self).__name__} of {self.gun} from {source}: {state}{skipped}>"

    # --- the workflow ---

    def _workflow(self, *, concurrent: bool) -> Workflow[TrustedMetadataSet]:
        """The update workflow, without I/O: it yields the files it needs (a ``_Fetch``, or a
        ``_FetchBatch`` of delegations when ``concurrent``) and is sent their bytes (or thrown the remote's
        error); its return value is the trusted state. ``_drive`` and ``_drive_async`` run it."""
        self._concurrent = concurrent
        self._read = {}
        self.cache_age = None
        self._memo = None if self.cache is None else VerificationMemo(self.cache.load_verified())
        try:
            cached_root = self._cached(ROOT)
            self._previous_snapshot = self._cached(SNAPSHOT)
            self.invalid = {}
            try:
                trusted = yield from self._update(cached_root)
            except (VerificationError, MalformedMetadataError) as first_error:
                if self.offline:
                    raise
                # notary re-bootstraps from the trusted root, rotates it if the server has a newer one, tries again
                logger.info("update of %s failed (%s): checking for a new root", self.gun, first_error)
                rotated = yield from self._rotate_root(cached_root, first_error)
                if rotated is None:
                    raise
                trusted = yield from self._update(rotated)
            self._keep_memo()
        finally:
            self._read = {}
        self._trusted = trusted
        return trusted

    def _keep_memo(self) -> None:
        """Store the signature checks of this refresh beside the cache, for the next (a failure only costs the
        next refresh the checks)."""
        memo, cache = self._memo, self.cache
        if memo is None or cache is None or not memo.worth_storing():
            return
        try:
            cache.store_verified(memo.records())
        except (OSError, TrustkitError) as exc:  # an optimisation: never a reason to fail a read
            logger.warning("could not store the verified-signature memo of %s: %s", self.gun, exc)

    def _update(self, root_data: bytes | None) -> Workflow[TrustedMetadataSet]:
        self._from_forms = set()
        self._cached_timestamp = False
        self._fetched_targets = False  # whether this refresh fetched a targets role (delegations may have changed)
        self._ahead = {}  # delegations announced to the driver and not reached yet -> their key counts
        self.skipped = {}
        trusted = yield from self._bootstrap(root_data)
        yield from self._load_timestamp(trusted)
        yield from self._load_snapshot(trusted)
        yield from self._load_role(trusted, TARGETS)
        yield from self._load_delegations(trusted)
        return trusted

    def _bootstrap(self, root_data: bytes | None) -> Workflow[TrustedMetadataSet]:
        versions = self._cached_versions()
        if root_data is not None:
            return TrustedMetadataSet(
                root_data,
                gun=self.gun,
                first_contact=False,
                min_versions=versions,
                clock=self._clock,
                accelerator=Accelerator(memo=self._memo, parse=self._parse),
            )
        if self.offline:
            raise RepositoryNotFoundError(
                f"no cached trust data for {self.gun}, and offline{_reference_hint(self.gun)}"
            )
        try:
            data = yield from self._fetch(ROOT, max_size=MAX_ROOT_SIZE)
        except NotFoundError:
            raise RepositoryNotFoundError(
                f"trust data missing for remote repository {self.gun}: the server does not have trust data for it"
                f"{_reference_hint(self.gun)}"
            ) from None
        trusted = TrustedMetadataSet(
            data,
            gun=self.gun,
            first_contact=True,
            pinning=self.pinning,
            min_versions=versions,
            clock=self._clock,
            accelerator=Accelerator(memo=self._memo, parse=self._parse),
        )
        self._store(ROOT, data)
        return trusted

    def _load_timestamp(self, trusted: TrustedMetadataSet) -> Workflow[None]:
        cached = None
        if not self.offline:
            try:
                data = yield from self._fetch(TIMESTAMP, max_size=MAX_TIMESTAMP_SIZE)
            except NotFoundError as exc:
                cached = self._cached(TIMESTAMP)
                if cached is None:
                    raise RepositoryNotFoundError(
                        f"trust data missing for remote repository {self.gun}: {exc}{_reference_hint(self.gun)}",
                        status=exc.status,
                    ) from None
                self._fall_back_to_cache(exc, "not found on the remote")
            except ServerUnavailableError as exc:
                cached = self._cached(TIMESTAMP)
                if cached is None:
                    raise
                self._fall_back_to_cache(exc, "unavailable")
            else:
                trusted.update_timestamp(data)
                self._store(TIMESTAMP, data)
                return
        else:
            cached = self._cached(TIMESTAMP)
            self.cache_age = self._timestamp_age()
        if cached is None:
            raise RepositoryNotFoundError(f"no cached timestamp for {self.gun}, and offline")
        trusted.update_timestamp(cached)
        self._cached_timestamp = True

    def _timestamp_age(self) -> float:
        """Seconds since the cached timestamp was fetched (stored after every successful contact)."""
        stored = None if self.cache is None else self.cache.stored_at(TIMESTAMP)
        return 0.0 if stored is None else max(0.0, time.time() - stored)

    def _fall_back_to_cache(self, error: RemoteError, what: str) -> None:
        """Answer from the cached timestamp instead of the server's, if :attr:`max_cache_age` allows it (else
        raise ``error``, saying so); record the age in :attr:`cache_age`."""
        age = self._timestamp_age()
        limit = self.max_cache_age
        if limit is not None and age > limit:
            raise type(error)(
                f"{error} (the cached trust data of {self.gun} was fetched {age:.0f} s ago, and max_cache_age "
                f"allows {limit:g} s: restore access to the server, or allow an older cache)",
                status=error.status,
            ) from error
        self.cache_age = age
        logger.warning("timestamp of %s %s (%s): using the cached one, %.0f s old", self.gun, what, error, age)

    def _load_snapshot(self, trusted: TrustedMetadataSet) -> Workflow[None]:
        meta = trusted[TIMESTAMP].signed.snapshot_meta
        yield from self._load_by_meta(trusted, SNAPSHOT, meta, trusted.update_snapshot)

    def _load_role(self, trusted: TrustedMetadataSet, role: str) -> Workflow[None]:
        entry = trusted[SNAPSHOT].signed.meta.get(role)
        if entry is None:
            raise MalformedMetadataError(f"the snapshot does not list {role}")

        def update(data: bytes) -> object:
            if role == TARGETS:
                return trusted.update_targets(data)
            return trusted.update_delegation(role, data)

        yield from self._load_by_meta(trusted, role, entry, update)

    def _load_delegations(self, trusted: TrustedMetadataSet) -> Workflow[None]:
        """Fetch delegations depth-first (pre-order); anything not listed below is fatal.

        Skipped with its subtree, as notary does (names fall through to lower-priority roles; :attr:`skipped`
        says why): a delegation that is expired or under-signed (online, or from the bytes kept in the cache),
        and one the snapshot does not list and no snapshot trusted before listed (never signed into).
        Blocked (lookups of names it could hold stop there; TUF 5.5.5: a new snapshot keeps every targets
        file the old one listed): one a trusted snapshot listed before, the new one drops, and its parent still
        delegates to; and one needed from the cache alone (offline, the server down) that is not cached."""
        listed = trusted[SNAPSHOT].signed.meta

        def block(name: str, reason: str) -> None:
            logger.warning("%s of %s: %s; names it could hold are not looked up further", name, self.gun, reason)
            trusted.block_delegation(name, reason)

        def skip(name: str, reason: str) -> None:
            logger.warning("skipping %s of %s and its delegations: %s", name, self.gun, reason)
            self.skipped[name] = reason

        budget = {"roles": MAX_DELEGATIONS, "keys": MAX_DELEGATION_KEYS}

        def visit(parent: str) -> Workflow[None]:
            yield from self._prefetch(trusted, trusted[parent].signed.delegations.roles, budget)
            for delegation in trusted[parent].signed.delegations.roles:
                name = delegation.name
                if name not in listed:
                    if self._listed_before(name):
                        block(name, _dropped(name, parent, self.gun))
                    else:
                        skip(name, f"{parent} delegates to it but the snapshot does not list it: never signed into")
                    continue
                self._ahead.pop(name, None)
                budget["roles"] -= 1
                budget["keys"] -= len(delegation.keyids)
                if budget["roles"] < 0 or budget["keys"] < 0:
                    block(
                        name,
                        f"one read visits at most {MAX_DELEGATIONS} delegated roles with {MAX_DELEGATION_KEYS} keys "
                        "in all (trustkit.client.reader.MAX_DELEGATIONS, MAX_DELEGATION_KEYS)",
                    )
                    continue
                try:
                    yield from self._load_role(trusted, name)
                except (ExpiredMetadataError, ThresholdError) as exc:
                    skip(name, str(exc))
                    continue
                except RemoteError as exc:  # offline or the server down: the online read never had it
                    if not (self.offline or self._cached_timestamp):
                        raise
                    block(name, f"not cached, and the server cannot give it now ({exc})")
                    continue
                yield from visit(name)

        yield from visit(TARGETS)
        if self._fetched_targets:  # only a new parent can have stopped delegating
            self._forget_removed(trusted)

    def _listed_before(self, role: str) -> bool:
        """Whether a snapshot trusted before this refresh listed ``role``: the one trusted earlier in this
        process (or blocked by its last refresh), the cached one the refresh started from, or (kept after the
        snapshot moved on) its cached file, trusted or invalid. Only asked for a role the new snapshot does not
        list."""
        before = self._trusted
        previous = None if before is None else before.snapshot
        if before is not None and (role in before.blocked or (previous is not None and role in previous.signed.meta)):
            return True
        if self.cache is not None and (self._cached(role) is not None or self._kept_invalid(role) is not None):
            return True
        if self._previous_snapshot is None:
            return False
        try:
            return role in Metadata.from_bytes(self._previous_snapshot, role=SNAPSHOT).signed.meta
        except MalformedMetadataError:
            return False

    def _forget_removed(self, trusted: TrustedMetadataSet) -> None:
        """Forget the cached files of delegations whose trusted parent no longer delegates to them (deleted by
        their owner): were the delegation created again, its absence from the snapshot must not look like a
        role the snapshot dropped."""
        if self.cache is None:
            return
        for role in {*self.cache.roles(), *self.cache.invalid_roles()}:
            parent = parent_role(role) if is_delegation(role) else None
            if parent is None or parent not in trusted or role in trusted.blocked:
                continue
            if role not in {d.name for d in trusted[parent].signed.delegations.roles}:
                logger.info("%s of %s is no longer delegated: forgetting its cached file", role, self.gun)
                self.cache.remove(role)

    def _load_by_meta(
        self, trusted: TrustedMetadataSet, role: str, meta: MetaFile, update: Callable[[bytes], object]
    ) -> Workflow[None]:
        """Load ``role`` as its parent's entry ``meta`` describes it: from the cache when it matches, else fetched
        by sha256 (by name when the entry has only sha512, as notary does) and capped at the listed length."""
        length = meta.length
        if length < 1:
            raise HashMismatchError(f"{role} is listed with length {length}: no metadata file is empty")
        if not any(algorithm in meta.hashes for algorithm in ("sha256", "sha512")):
            raise MalformedMetadataError(f"{role} is listed without a sha256 or sha512 hash: it cannot be checked")
        cached = self._cached(role, max_size=length)
        if cached is not None:
            # the update checks the length and hashes the parent lists first: a stale cached file is refused
            # before anything else, and then fetched (one hashing of the cached bytes, not two)
            try:
                self._apply(role, cached, update)
            except RootMismatchError:
                raise
            except HashMismatchError:
                pass
            else:
                self._keep_parsed(trusted, role)
                return
        kept = self._apply_invalid(role, length, update) if is_delegation(role) else None
        if kept is not None:  # trusted now (its parent lowered the threshold, say)
            self._store(role, kept)
            self._keep_parsed(trusted, role)
            return
        if self.offline:
            raise RepositoryNotFoundError(f"{role} of {self.gun} is not cached, and offline")
        data = yield from self._fetch(role, **_by_meta(meta))
        try:
            self._apply(role, data, update)
        except (ExpiredMetadataError, ThresholdError):
            if self.cache is not None and is_delegation(role):  # a read from the cache skips it for the same reason
                self.cache.store_invalid(role, data)
            raise
        self._store(role, data)
        self._keep_parsed(trusted, role)
        self._fetched_targets = self._fetched_targets or _may_have_form(role)

    def _apply_invalid(self, role: str, length: int, update: Callable[[bytes], object]) -> bytes | None:
        """Check the bytes of ``role`` a read kept as invalid, when they are the ones the snapshot lists: the
        same failure as online (raised), or the bytes when they are trusted now; None when there are none."""
        data = self._kept_invalid(role)
        if data is None or len(data) > length:
            return None
        try:
            self._apply(role, data, update)
        except HashMismatchError:
            return None
        return data

    def _parse(self, role: str, data: bytes) -> Metadata[Any] | None:
        """The compact form the cache kept of these exact bytes (big targets roles), rebuilt; else None, and
        the trusted set parses them."""
        if self.cache is None or not _may_have_form(role):
            return None
        form = self.cache.load_parsed(role)
        metadata = None if form is None else load_parsed(form, data, role=role)
        if metadata is not None:
            self._from_forms.add(role)
        return metadata

    def _keep_parsed(self, trusted: TrustedMetadataSet, role: str) -> None:
        """Keep the compact form of ``role``, just parsed and trusted, for the next read (when it pays)."""
        if self.cache is None or role in self._from_forms or not _may_have_form(role):
            return
        metadata, data = trusted[role], trusted.raw(role)
        try:
            form = dump_parsed(metadata, data)
            if form is not None:
                self.cache.store_parsed(role, form)
        except (OSError, TrustkitError, ValueError) as exc:  # an optimisation: never a reason to fail a read
            logger.warning("could not keep the parsed form of %s: %s", role, exc)

    def _apply(self, role: str, data: bytes, update: Callable[[bytes], object]) -> None:
        try:
            update(data)
        except (ExpiredMetadataError, ThresholdError):
            self.invalid[role] = data  # kept for a witness to re-sign, as notary keeps its "invalid" repo
            raise

    def _rotate_root(self, cached_root: bytes | None, error: TrustkitError) -> Workflow[bytes | None]:
        """Download a newer root and rotate to it (through every intermediate version when the newest is not
        signed by the trusted root's keys). Returns the new root's bytes, or None when there is nothing newer."""
        if cached_root is None:
            return None
        trusted = TrustedMetadataSet(cached_root, gun=self.gun, first_contact=False, clock=self._clock)
        previous = trusted.root.signed
        if isinstance(error, RootMismatchError):
            newest = yield from self._fetch(ROOT, max_size=MAX_ROOT_SIZE, checksum=error.expected_sha256)
        else:
            newest = yield from self._fetch(ROOT, max_size=MAX_ROOT_SIZE)
        if newest == cached_root:
            return None
        try:
            trusted.update_root(newest)
        except UntrustedRootError:
            newest_version = Metadata.from_bytes(newest, role=ROOT).signed.version
            current = trusted.root.signed.version
            if newest_version - current > _MAX_ROOT_WALK:
                raise
            for version in range(current + 1, newest_version):
                older = yield from self._fetch(ROOT, max_size=MAX_ROOT_SIZE, version=version)
                trusted.update_root(older, intermediate=True)
            trusted.update_root(newest)
        self._forget_rotated(previous, trusted.root.signed)
        self._store(ROOT, newest)
        return newest

    def _forget_rotated(self, old: Root, new: Root) -> None:
        """When a new root rotates the timestamp or snapshot keys, forget the cached timestamp and snapshot (TUF
        5.3.11): their versions no longer bind anything, and a version once fast-forwarded by a compromised
        timestamp or snapshot key would otherwise refuse every honest file for ever."""
        if all(set(old.roles[role].keyids) == set(new.roles[role].keyids) for role in (TIMESTAMP, SNAPSHOT)):
            return
        logger.warning(
            "the new root of %s rotates the timestamp or snapshot keys: forgetting their cached versions", self.gun
        )
        for role in (TIMESTAMP, SNAPSHOT):
            if self.cache is not None:
                self.cache.remove(role)
            self._read[role] = None

    # --- I/O -----------------------------------------------------------------------------------------------

    def _fetch(
        self, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> Workflow[bytes]:
        """Ask the driver for one file (which it may have started fetching with a batch)."""
        if self.remote is None:
            raise RepositoryNotFoundError(f"{role} of {self.gun} is needed, and offline")
        fetch = _Fetch(self.gun, role, max_size=max_size, checksum=checksum, version=version)
        data: bytes = yield fetch
        return data

    def _prefetch(
        self, trusted: TrustedMetadataSet, delegations: Iterable[DelegatedRole], budget: dict[str, int]
    ) -> Workflow[None]:
        """With a concurrent driver, announce the ``delegations`` that the snapshot lists, that the walk's
        ``budget`` still allows and that no cached file can stand for, all at once; :meth:`_fetch` then takes them
        in the usual order (so errors, skips and blocks are those of the one-by-one walk)."""
        if not self._concurrent or self.offline:
            return
        listed = trusted[SNAPSHOT].signed.meta
        # the budget that delegations announced before (siblings of an ancestor) will take is not this batch's: so
        # the files downloaded ahead and never used are at most MAX_DELEGATIONS (a sibling's subtree may still
        # spend what a later sibling was announced with, and the walk then blocks that one)
        roles, keys = budget["roles"] - len(self._ahead), budget["keys"] - sum(self._ahead.values())
        fetches = []
        announced: dict[str, int] = {}
        for delegation in delegations:
            role = delegation.name
            meta = listed.get(role)
            if meta is None:
                continue  # the walk skips or blocks it, as it would one by one
            roles, keys = roles - 1, keys - len(delegation.keyids)
            if roles < 0 or keys < 0:
                break  # the walk blocks it and every later one
            if meta.length < 1 or not any(a in meta.hashes for a in ("sha256", "sha512")):
                continue  # the walk refuses it
            cached = self._cached(role, max_size=meta.length)
            if cached is None and is_delegation(role):
                cached = self._kept_invalid(role)  # the walk checks the bytes kept as invalid first
            if cached is not None and len(cached) == meta.length:
                continue  # may be current: the walk checks it, and fetches it if it is not
            fetches.append(_Fetch(self.gun, role, **_by_meta(meta)))
            announced[role] = len(delegation.keyids)
        if len(fetches) < 2:
            return
        self._ahead.update(announced)
        yield _FetchBatch(tuple(fetches))

    def _cached(self, role: str, *, max_size: int | None = None) -> bytes | None:
        if self.cache is None:
            return None
        if role in self._read:  # each cached file is read once per refresh
            data = self._read[role]
        else:
            # capped as the network is: at the length its parent lists, else notary's timestamp cap or the root cap
            cap = max_size if max_size is not None else MAX_TIMESTAMP_SIZE if role == TIMESTAMP else MAX_ROOT_SIZE
            try:
                data = self.cache.load(role, max_size=cap)
            except RemoteError:  # an oversized cached file: ignore it, as notary does
                data = None
            self._read[role] = data
        if data is not None and max_size is not None and len(data) > max_size:
            return None  # larger than its parent allows: ignored, as notary does
        return data

    def _kept_invalid(self, role: str) -> bytes | None:
        if self.cache is None:
            return None
        try:
            return self.cache.load_invalid(role)
        except RemoteError:  # oversized: ignored, as an oversized cached file is
            return None

    def _store(self, role: str, data: bytes) -> None:
        if self.cache is not None:
            self.cache.store(role, data)
            self._read[role] = data

    def _cached_versions(self) -> dict[str, int]:
        """Versions of the cached metadata: the floor below which nothing is accepted (rollback protection)."""
        versions: dict[str, int] = {}
        if self.cache is None:
            return versions
        for role in self.cache.roles():
            try:
                tail = self.cache.load_tail(role, _VERSION_TAIL_BYTES)
            except RemoteError:  # pragma: no cover - a tail is never oversized
                tail = None
            version = None if tail is None else _version_of(tail, whole=len(tail) < _VERSION_TAIL_BYTES)
            if version is None:
                logger.warning("ignoring unreadable cached %s of %s", role, self.gun)
            else:
                versions[role] = version
        return versions


def _dropped(role: str, parent: str, gun: str) -> str:
    """Why ``role`` is blocked when a snapshot trusted before listed it and the new one does not."""
    return (
        f"a snapshot trusted before listed it, the new snapshot of {gun} does not, and {parent} still delegates to "
        "it: the server may be hiding it (a new snapshot must keep every role the old one listed, TUF 5.5.5). If "
        f"its owner deleted and re-created the delegation and no one has signed into it since, have a signer sign "
        f"into it (or forget the cached copy: MetadataCache(trust_dir, {gun!r}).remove({role!r})); otherwise ask "
        "the server's operator"
    )


def _version_of(tail: bytes, *, whole: bool) -> int | None:
    """The version of cached metadata from the end of its file (``tail``; the ``whole`` file when it is short):
    found at the end of canonical ``signed`` (where sorted keys put it), without reading or parsing a file that
    may hold 100k targets, else by parsing a short file. A file that is neither gives no rollback floor."""
    match = _VERSION_TAIL.search(tail, max(0, tail.rfind(b'"signatures":[') - 40))
    if match is not None:
        return int(match.group(1))
    if not whole:
        return None
    try:
        return int(Metadata.from_bytes(tail).signed.version)
    except MalformedMetadataError:
        return None


class Reader(_UpdateWorkflow[MetadataSource]):
    """Reads and verifies the trust data of one GUN.

    ``remote`` is any remote (``NotaryServer``, ``LocalRemote``, ``MemoryRemote``); ``cache`` keeps verified
    metadata between runs (``MetadataCache(trust_dir, gun)``, or None for none); ``pinning`` applies on first
    contact; ``offline`` works from the cache alone.

    ``max_cache_age`` says what a read does when the server cannot be reached (``ServerUnavailableError``) or no
    longer has the repository (``NotFoundError`` on ``timestamp.json``) while a verified state is cached: None
    (the default, notary's behaviour) answers from the cache whatever its age, a number of seconds answers from
    it only when the cached timestamp was fetched at most that long ago, and 0 always fails with the server's
    error. Either way :attr:`cache_age` says whether, and how old, the answer came from the cache: a fallback is
    never silent.

    ``concurrency`` is how many delegations of the repository are fetched at once: the walk asks for each level's
    delegations together, and the Reader fetches them on up to that many worker threads (each with the calling
    thread's context, so :func:`~trustkit.remote.overall_deadline` still bounds them), then verifies them in
    notary's order, so what is skipped or blocked is what a one-by-one walk skips or blocks. The remote must then
    be safe to call from several threads, as trustkit's remotes are; ``concurrency=1`` keeps every call in the
    calling thread. A Reader is not thread-safe: give each thread its own (they may share a cache folder).
    """

    remote: MetadataSource | None

    cache_age: float | None
    """None when the last refresh got a current timestamp from the server; else how many seconds before that
    refresh the cached timestamp it used was fetched (offline, or the server unreachable or without the repository
    and ``max_cache_age`` allowing it)."""
    invalid: dict[str, bytes]
    """Bytes of roles the last refresh downloaded (or found kept in the cache) but could not trust (expired,
    under-signed): the delegations it skipped that have a file. A witness can re-sign them."""
    skipped: dict[str, str]
    """Every delegation the last refresh skipped, with why: those in :attr:`invalid`, and those their parent names
    but the snapshot does not list because no one has signed into them yet (notary skips them too). Names they
    could hold are looked up in lower-priority roles, as notary does. Delegations whose lookups are stopped instead
    are in the trusted set's :attr:`~trustkit.trust.TrustedMetadataSet.blocked`."""

    # --- results -------------------------------------------------------------------------------------------

    @property
    def trusted(self) -> TrustedMetadataSet:
        """The trusted state of the last :meth:`refresh` (refreshing first if there was none)."""
        if self._trusted is None:
            return self.refresh()
        return self._trusted

    def list_targets(self, *, roles: Iterable[str] = (TARGETS,)) -> list[TargetMatch]:
        """Every trusted target with the role that signed it (notary's ``ListTargets``; ``roles`` in priority)."""
        return self.trusted.list_targets(roles=_roles(roles))

    def list_target_rows(self, *, roles: Iterable[str] = (TARGETS,)) -> list[TargetRow]:
        """:meth:`list_targets` as plain :class:`~trustkit.trust.TargetRow` values (name, sha256 hex, length,
        role): no model per target, for listing or printing many."""
        return self.trusted.list_target_rows(roles=_roles(roles))

    def get_target(self, name: str, *, roles: Iterable[str] = (TARGETS,)) -> TargetMatch:
        """The trusted target ``name`` (breadth-first, first match wins); :class:`TargetNotFoundError` if none."""
        return _get_target(self.trusted, name, roles)

    def verify_target(self, name: str, data: bytes, *, roles: Iterable[str] = (TARGETS,)) -> TargetMatch:
        """Check content bytes against trusted target ``name`` (what ``notary verify`` does)."""
        return _verify_target(self.get_target(name, roles=roles), name, data)

    # --- the workflow (the driver) -------------------------------------------------------------------------

    def refresh(self) -> TrustedMetadataSet:
        """Run the update workflow and return the trusted state (also kept as :attr:`trusted`).

        On failure nothing already trusted or cached is lost: the error propagates and the cache still holds
        the last good state.
        """
        return _drive(self._workflow(concurrent=self.concurrency > 1), self.remote, self.concurrency)


class AsyncReader(_UpdateWorkflow[AsyncMetadataSource]):
    """:class:`Reader` for asyncio: the same update workflow (one implementation, driven with coroutines), over an
    asyncio remote such as :class:`~trustkit.remote.AsyncNotaryServer`.

    The options are :class:`Reader`'s; ``concurrency`` bounds the delegations fetched at once as tasks of the
    event loop. The cache is read and written with blocking file calls (small files, a few milliseconds for most
    repositories).

    :attr:`~Reader.cache_age`, :attr:`~Reader.invalid` and :attr:`~Reader.skipped` say what they say on
    :class:`Reader`. Not thread-safe, and one refresh at a time: give each task its own AsyncReader (readers of
    different GUNs may share a remote, whose requests run concurrently, and a cache folder).
    """

    async def refresh(self) -> TrustedMetadataSet:
        """Run the update workflow and return the trusted state (also kept as :attr:`trusted`); see
        :meth:`Reader.refresh`."""
        import asyncio

        limit = asyncio.Semaphore(self.concurrency)
        return await _drive_async(self._workflow(concurrent=True), self.remote, limit)

    @property
    def trusted(self) -> TrustedMetadataSet:
        """The trusted state of the last :meth:`refresh`; :class:`~trustkit.errors.InvalidArgumentError` before
        the first (a property cannot await one)."""
        if self._trusted is None:
            raise InvalidArgumentError(f"{self.gun} was not read yet: await reader.refresh() first")
        return self._trusted

    async def _current(self) -> TrustedMetadataSet:
        return self._trusted if self._trusted is not None else await self.refresh()

    async def list_targets(self, *, roles: Iterable[str] = (TARGETS,)) -> list[TargetMatch]:
        """:meth:`Reader.list_targets`, refreshing first if there was no refresh yet."""
        return (await self._current()).list_targets(roles=_roles(roles))

    async def list_target_rows(self, *, roles: Iterable[str] = (TARGETS,)) -> list[TargetRow]:
        """:meth:`Reader.list_target_rows`, refreshing first if there was no refresh yet."""
        return (await self._current()).list_target_rows(roles=_roles(roles))

    async def get_target(self, name: str, *, roles: Iterable[str] = (TARGETS,)) -> TargetMatch:
        """:meth:`Reader.get_target`, refreshing first if there was no refresh yet."""
        return _get_target(await self._current(), name, roles)

    async def verify_target(self, name: str, data: bytes, *, roles: Iterable[str] = (TARGETS,)) -> TargetMatch:
        """:meth:`Reader.verify_target`, refreshing first if there was no refresh yet."""
        return _verify_target(await self.get_target(name, roles=roles), name, data)


def _get_target(trusted: TrustedMetadataSet, name: str, roles: Iterable[str]) -> TargetMatch:
    match = trusted.get_target(_name(name), roles=_roles(roles))
    if match is None:
        raise TargetNotFoundError(f"No valid trust data for {name}")
    return match


def _verify_target(match: TargetMatch, name: str, data: bytes) -> TargetMatch:
    try:
        match.target.verify_data(data, what=name)
    except HashMismatchError as exc:
        raise HashMismatchError(f"data not present in the trusted collection: {exc}") from None
    return match
