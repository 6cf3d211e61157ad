"""The client update workflow over a remote and the verified cache (I/O against a fake remote and tmp dirs).

The scenarios that read through :func:`reader` run twice: over the blocking driver (:class:`Reader`) and over the
asyncio driver (:class:`AsyncReader`, with the same remote's answers given by coroutines): one workflow, one suite.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.support.async_remote import AsyncSource
from tests.support.repo_sim import GUN, NOW, Delegation, DownRemote, FakeRemote, RepoSim, small_repo
from tests.support.repo_sim import reader as blocking_reader
from trustkit.client import AsyncReader, MetadataCache, Reader


@pytest.fixture
def sim() -> RepoSim:
    return small_repo()


@pytest.fixture
def remote(sim: RepoSim) -> FakeRemote:
    remote = FakeRemote()
    remote.serve(sim.publish())
    return remote


class AsyncDriven:
    """An AsyncReader behind Reader's blocking methods (each runs an event loop), for the shared scenarios."""

    def __init__(self, inner: AsyncReader) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def refresh(self) -> tk.TrustedMetadataSet:
        return asyncio.run(self.inner.refresh())

    @property
    def trusted(self) -> tk.TrustedMetadataSet:
        return self.inner.trusted if self.inner._trusted is not None else self.refresh()

    def list_targets(self, **kwargs: Any) -> list[tk.TargetMatch]:
        return asyncio.run(self.inner.list_targets(**kwargs))

    def get_target(self, name: str, **kwargs: Any) -> tk.TargetMatch:
        return asyncio.run(self.inner.get_target(name, **kwargs))

    def verify_target(self, name: str, data: bytes, **kwargs: Any) -> tk.TargetMatch:
        return asyncio.run(self.inner.verify_target(name, data, **kwargs))


DRIVER = ["sync"]


@pytest.fixture(params=["sync", "async"], autouse=True)
def driver(request: pytest.FixtureRequest) -> Iterator[str]:
    DRIVER[0] = request.param
    yield request.param
    DRIVER[0] = "sync"


def reader(remote: Any, tmp_path: Path, **kwargs: Any) -> Any:
    cache = MetadataCache(tmp_path, GUN)
    if DRIVER[0] == "async":
        source = None if remote is None else AsyncSource(remote)
        return AsyncDriven(AsyncReader(GUN, source, cache=cache, clock=lambda: NOW, **kwargs))
    return blocking_reader(remote, tmp_path, **kwargs)


def test_first_contact_caches_in_notary_layout(remote: FakeRemote, tmp_path: Path) -> None:
    client = reader(remote, tmp_path)
    names = [(m.name, m.role) for m in client.list_targets()]
    assert names == [("v1", "targets"), ("v2", "targets/releases")]
    metadata = tmp_path / "tuf" / "localhost:5000" / "sim" / "app" / "metadata"
    assert sorted(p.relative_to(metadata).as_posix() for p in metadata.rglob("*.json")) == [
        "root.json",
        "snapshot.json",
        "targets.json",
        "targets/releases.json",
        "timestamp.json",
    ]
    assert (metadata / "targets.json").read_bytes() == remote.files["targets"]
    fetched = [(role, checksum is not None) for role, checksum, _ in remote.requests]
    assert fetched == [
        ("root", False),
        ("timestamp", False),
        ("snapshot", True),
        ("targets", True),
        ("targets/releases", True),
    ]


def test_warm_cache_downloads_only_the_timestamp(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    remote.requests.clear()
    reader(remote, tmp_path).refresh()
    assert [role for role, _, _ in remote.requests] == ["timestamp"]


def test_new_version_is_downloaded(sim: RepoSim, remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    sim.targets["v3"] = tk.TargetFile.from_digest("33" * 32, 3)
    remote.serve(sim.publish())
    assert reader(remote, tmp_path).get_target("v3").role == "targets"


def test_offline_from_cache_and_refusing_expired(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    offline = Reader(GUN, None, cache=MetadataCache(tmp_path, GUN), offline=True, clock=lambda: NOW)
    assert offline.get_target("v2").target.length == 200
    later = NOW + timedelta(days=15)  # past the timestamp's 14 days
    expired = Reader(GUN, None, cache=MetadataCache(tmp_path, GUN), offline=True, clock=lambda: later)
    with pytest.raises(tk.ExpiredMetadataError, match="timestamp expired"):
        expired.refresh()
    with pytest.raises(tk.RepositoryNotFoundError):
        Reader(GUN, None, cache=MetadataCache(tmp_path / "empty", GUN), offline=True).refresh()


def test_unavailable_server_falls_back_to_cached_timestamp(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    remote.files.pop("timestamp")
    assert reader(remote, tmp_path).get_target("v1").role == "targets"


def test_rollback_against_the_cache_keeps_the_last_good_state(sim: RepoSim, tmp_path: Path) -> None:
    remote = FakeRemote()
    old = sim.publish()
    remote.serve(sim.publish())
    reader(remote, tmp_path).refresh()
    cached_before = {p: p.read_bytes() for p in tmp_path.rglob("*.json")}
    remote.serve(old)  # a consistent, validly signed, older repository
    with pytest.raises(tk.RollbackError, match="timestamp version 1 is lower than current version 2"):
        reader(remote, tmp_path).refresh()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.json")} == cached_before


def test_malformed_timestamp_keeps_cache(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    cached = MetadataCache(tmp_path, GUN).load("timestamp")
    remote.files["timestamp"] = b'{"signed": nope'
    with pytest.raises(tk.MalformedMetadataError):
        reader(remote, tmp_path).refresh()
    assert MetadataCache(tmp_path, GUN).load("timestamp") == cached


def test_root_rotation_is_followed(sim: RepoSim, remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    new_key = tk.generate_private_key()
    sim.add_root_cert(new_key)
    sim.signing_root_keys = [sim.root_keys[0], new_key]
    remote.serve(sim.publish(new_root=True))
    client = reader(remote, tmp_path)
    assert client.trusted.root.signed.version == 2
    assert MetadataCache(tmp_path, GUN).load("root") == remote.files["root"]


def test_skipped_intermediate_roots_are_walked(sim: RepoSim, remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    key2, key3 = tk.generate_private_key(), tk.generate_private_key()
    sim.add_root_cert(key2)
    sim.signing_root_keys = [sim.root_keys[0], key2]
    remote.serve(sim.publish(new_root=True))
    sim.add_root_cert(key3)
    sim.signing_root_keys = [key2, key3]
    remote.serve(sim.publish(new_root=True))
    client = reader(remote, tmp_path)
    assert client.trusted.root.signed.version == 3
    assert ("root", None, 2) in remote.requests


def test_rotation_not_signed_by_old_root_is_refused(sim: RepoSim, remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    attacker = tk.generate_private_key()
    sim.add_root_cert(attacker)
    sim.signing_root_keys = [attacker]
    remote.serve(sim.publish(new_root=True))
    with pytest.raises(tk.UntrustedRootError):
        reader(remote, tmp_path).refresh()
    assert tk.Metadata.from_bytes(MetadataCache(tmp_path, GUN).load("root") or b"").signed.version == 1


def test_expired_delegation_is_skipped(sim: RepoSim, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim.expires["targets/releases"] = NOW - timedelta(days=1)
    remote = FakeRemote()
    remote.serve(sim.publish())
    with caplog.at_level(logging.WARNING):
        names = [m.name for m in reader(remote, tmp_path).list_targets()]
    assert names == ["v1"]
    assert "skipping targets/releases" in caplog.text


def test_oversized_download_is_an_error(sim: RepoSim, remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    remote.files["timestamp"] = b" " * (1024 * 1024 + 1)
    with pytest.raises(tk.OversizedResponseError):
        reader(remote, tmp_path).refresh()


def test_verify_and_lookup(remote: FakeRemote, tmp_path: Path) -> None:
    client = reader(remote, tmp_path)
    assert client.verify_target("v1", b"content one").role == "targets"
    with pytest.raises(tk.HashMismatchError, match="data not present in the trusted collection"):
        client.verify_target("v1", b"content two")
    with pytest.raises(tk.TargetNotFoundError, match="No valid trust data for nope"):
        client.get_target("nope")
    assert [m.name for m in client.list_targets(roles=["targets/releases"])] == ["v2"]


def test_unknown_repository(tmp_path: Path) -> None:
    with pytest.raises(tk.RepositoryNotFoundError, match="trust data missing for remote repository"):
        reader(FakeRemote(), tmp_path).refresh()


def test_reads_need_a_remote_unless_offline() -> None:
    with pytest.raises(ValueError, match="remote"):
        Reader(GUN, None)


def test_fresh_read_is_not_from_cache(remote: FakeRemote, tmp_path: Path) -> None:
    fresh = reader(remote, tmp_path)
    fresh.refresh()
    assert fresh.cache_age is None


def test_cache_fallback_is_recorded_with_its_age(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    stamp = MetadataCache(tmp_path, GUN).path / "timestamp.json"
    old = stamp.stat().st_mtime - 120
    os.utime(stamp, (old, old))
    fallback = reader(DownRemote(), tmp_path)  # type: ignore[arg-type]
    assert fallback.get_target("v1").role == "targets"
    assert fallback.cache_age is not None and 119 <= fallback.cache_age < 200
    lost = reader(remote, tmp_path)
    remote.files.pop("timestamp")  # the server lost the repository
    lost.refresh()
    assert lost.cache_age is not None and lost.cache_age >= 119


def test_max_cache_age_zero_fails_closed(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    with pytest.raises(tk.ServerUnavailableError, match="max_cache_age allows 0 s"):
        reader(DownRemote(), tmp_path, max_cache_age=0).refresh()  # type: ignore[arg-type]
    remote.files.pop("timestamp")
    with pytest.raises(tk.NotFoundError, match=r"fetched .* s ago, and max_cache_age allows 0 s"):
        reader(remote, tmp_path, max_cache_age=0).refresh()


def test_max_cache_age_allows_a_recent_cache_only(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    recent = reader(DownRemote(), tmp_path, max_cache_age=60)  # type: ignore[arg-type]
    recent.refresh()
    assert recent.cache_age is not None and recent.cache_age <= 60
    stamp = MetadataCache(tmp_path, GUN).path / "timestamp.json"
    old = stamp.stat().st_mtime - 600
    os.utime(stamp, (old, old))
    with pytest.raises(tk.ServerUnavailableError, match=r"fetched 6.. s ago"):
        reader(DownRemote(), tmp_path, max_cache_age=60).refresh()  # type: ignore[arg-type]


def test_offline_reads_say_how_old_the_cache_is(remote: FakeRemote, tmp_path: Path) -> None:
    reader(remote, tmp_path).refresh()
    offline = Reader(GUN, None, cache=MetadataCache(tmp_path, GUN), offline=True, clock=lambda: NOW)
    offline.refresh()
    assert offline.cache_age is not None and offline.cache_age < 60


def test_max_cache_age_must_be_a_non_negative_number() -> None:
    with pytest.raises(ValueError, match="max_cache_age"):
        Reader(GUN, None, offline=True, max_cache_age=-1)


def test_reprs_say_what_a_reader_and_its_trusted_set_hold(tmp_path: Path) -> None:
    """In a notebook, a Reader, its trusted set and a target say what they hold: digests in hex, never bytes."""
    remote = tk.MemoryRemote()
    repo = tk.Repository(GUN, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=tmp_path / "admin")
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_digest("ab" * 32, 10), publish=True)
    reader = Reader(GUN, remote)
    assert repr(reader) == f"<Reader of {GUN} from MemoryRemote(): not refreshed yet>"
    reader.refresh()
    held = f"<TrustedMetadataSet of {GUN}: root v1, timestamp v1, snapshot v2, targets v2>"
    assert repr(reader.trusted) == held
    assert repr(reader) == f"<Reader of {GUN} from MemoryRemote(): {held}>"
    match = reader.get_target("v1")
    assert repr(match.target) == f"TargetFile(length=10, hashes={{'sha256': '{'ab' * 32}'}}, custom=None)"
    assert "\\xab" not in repr(match) and f"'{'ab' * 32}'" in repr(match)
    page = match._repr_html_()
    assert ">v1</td>" in page and f">sha256:{'ab' * 32}</td>" in page and ">10</td>" in page and ">targets</td>" in page
    offline = Reader(GUN, None, offline=True)
    assert repr(offline) == f"<Reader of {GUN} from the cache, offline: not refreshed yet>"


def test_a_signed_length_never_raises_the_download_cap_past_notarys(sim: RepoSim, tmp_path: Path) -> None:
    """A timestamp (usually signed by the server's key) announcing a 2 GB snapshot lets the server stream up to
    notary's MaxDownloadSize (100 MiB), not 2 GB."""
    files = sim.publish()
    snapshot = tk.MetaFile.from_data(files["snapshot"])
    files["timestamp"] = sim.sign_timestamp(tk.MetaFile(2 << 30, snapshot.hashes))
    remote = FakeRemote()
    remote.serve(files)
    with pytest.raises(tk.TrustkitError):
        reader(remote, tmp_path).refresh()  # the snapshot's length is not 2 GB
    assert ("snapshot", 100 * 1024 * 1024) in remote.caps
    assert max(cap for _, cap in remote.caps) <= 100 * 1024 * 1024


def _delegating(sim: RepoSim, name: str, count: int) -> FakeRemote:
    """``sim`` with ``count`` more delegations of ``targets`` (``targets/<name>NN``, one target each), served."""
    for index in range(count):
        role = f"targets/{name}{index:02d}"
        sim.delegations[role] = Delegation(tk.generate_private_key(), [""])
        sim.delegations[role].targets[f"{name}{index}"] = tk.TargetFile.from_digest(f"{index:02d}" * 32, index + 1)
    remote = FakeRemote()
    remote.serve(sim.publish())
    return remote


def test_the_async_driver_fetches_delegations_concurrently_and_bounded(sim: RepoSim, tmp_path: Path) -> None:
    """Twelve delegations of one repository: the asyncio driver has several requests in flight (never more than
    ``concurrency``), the blocking one a single request at a time; both trust the same targets."""
    remote = _delegating(sim, "team", 12)
    in_flight, peak = [0], [0]

    class Slow(AsyncSource):
        async def get_role(self, gun: str, role: str, **kwargs: Any) -> bytes:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            try:
                await asyncio.sleep(0.01)
                return await super().get_role(gun, role, **kwargs)
            finally:
                in_flight[0] -= 1

    client = AsyncReader(GUN, Slow(remote), cache=MetadataCache(tmp_path / "a", GUN), clock=lambda: NOW, concurrency=4)
    names = sorted(m.name for m in asyncio.run(client.list_targets(roles=["targets", *sim.delegations])))
    blocking = Reader(GUN, remote, cache=MetadataCache(tmp_path / "s", GUN), clock=lambda: NOW)
    assert names == sorted(m.name for m in blocking.list_targets(roles=["targets", *sim.delegations]))
    assert len(names) == 14
    assert peak[0] == 4
    with pytest.raises(ValueError, match="concurrency"):
        AsyncReader(GUN, Slow(remote), concurrency=0)
    with pytest.raises(ValueError, match=r"await reader\.refresh"):
        AsyncReader(GUN, Slow(remote)).trusted  # noqa: B018


def test_the_blocking_driver_fetches_delegations_on_bounded_threads_in_the_callers_context(
    sim: RepoSim, tmp_path: Path
) -> None:
    """Twelve delegations: :class:`Reader` fetches a level's delegations on up to ``concurrency`` worker threads,
    each seeing the caller's context variables (the operation's deadline is one), and trusts what a one-by-one
    read (``concurrency=1``, every call in the calling thread) trusts."""
    remote = _delegating(sim, "team", 12)
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    lock = threading.Lock()
    calls: list[tuple[int, str]] = []
    in_flight, peak = [0], [0]

    class Slow:
        def get_role(self, gun: str, role: str, **kwargs: Any) -> bytes:
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
                calls.append((threading.get_ident(), marker.get()))
            try:
                time.sleep(0.01)
                return remote.get_role(gun, role, **kwargs)
            finally:
                with lock:
                    in_flight[0] -= 1

    roles = ["targets", *sim.delegations]
    marker.set("caller")
    threaded = Reader(GUN, Slow(), cache=MetadataCache(tmp_path / "t", GUN), clock=lambda: NOW, concurrency=4)
    names = sorted(m.name for m in threaded.list_targets(roles=roles))
    assert len(names) == 14 and peak[0] == 4 and in_flight[0] == 0  # no request outlives the refresh
    assert {value for _, value in calls} == {"caller"}
    assert len({ident for ident, _ in calls} - {threading.get_ident()}) >= 2
    calls.clear()
    peak[0] = 0
    one_by_one = Reader(GUN, Slow(), cache=MetadataCache(tmp_path / "o", GUN), clock=lambda: NOW, concurrency=1)
    assert sorted(m.name for m in one_by_one.list_targets(roles=roles)) == names
    assert peak[0] == 1 and {ident for ident, _ in calls} == {threading.get_ident()}
    with pytest.raises(tk.InvalidArgumentError, match="concurrency"):
        Reader(GUN, remote, concurrency=0)


@pytest.mark.parametrize("driver", ["blocking", "asyncio"])
def test_fetching_ahead_downloads_at_most_the_budget_more_than_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str
) -> None:
    """A chain of delegations eight deep, each level wider than the next, with a budget of eight roles: the walk
    visits the chain and blocks every other sibling. What the drivers fetch ahead is sized to what earlier
    announcements leave of the budget, so they download at most the budget more than the walk (without the
    reservation, a batch per level: 36 files here), and trust and block what the one-by-one walk does."""
    import trustkit.client.reader as reader_module

    monkeypatch.setattr(reader_module, "MAX_DELEGATIONS", 8)
    sim, parent = RepoSim(now=NOW), "targets"
    for width in range(8, 0, -1):
        for index in range(width):
            sim.delegations[f"{parent}/d{index:02d}"] = Delegation(tk.generate_private_key(), [""])
        parent = f"{parent}/d00"
    remote = FakeRemote()
    remote.serve(sim.publish())

    def delegations_fetched() -> list[str]:
        return [role for role, _, _ in remote.requests if role.startswith("targets/")]

    walk = Reader(GUN, remote, cache=MetadataCache(tmp_path / "o", GUN), clock=lambda: NOW, concurrency=1).refresh()
    walked = delegations_fetched()
    remote.requests.clear()
    cache = MetadataCache(tmp_path / "c", GUN)
    if driver == "blocking":
        ahead = Reader(GUN, remote, cache=cache, clock=lambda: NOW, concurrency=8).refresh()
    else:
        ahead = asyncio.run(AsyncReader(GUN, AsyncSource(remote), cache=cache, clock=lambda: NOW).refresh())
    assert len(walked) == 8 and sorted(ahead.blocked) == sorted(walk.blocked) and len(walk.blocked) == 28
    assert set(walked) <= set(delegations_fetched()) and len(delegations_fetched()) <= len(walked) + 8


def test_an_interrupt_is_not_held_up_by_a_request_fetched_ahead(sim: RepoSim, tmp_path: Path) -> None:
    """Ctrl-C while the walk waits for a file fetched ahead ends the refresh at once, as it does when the request
    runs in the calling thread, not when the stalled request gives up."""
    remote = _delegating(sim, "team", 3)

    class Stalled:
        def get_role(self, gun: str, role: str, **kwargs: Any) -> bytes:
            if role == "targets/team00":
                time.sleep(3)  # a server that does not answer (bounded only by the remote's timeouts)
            return remote.get_role(gun, role, **kwargs)

    client = Reader(GUN, Stalled(), cache=MetadataCache(tmp_path, GUN), clock=lambda: NOW, concurrency=8)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))  # a real signal, as Ctrl-C sends
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.refresh()
    finally:
        timer.cancel()
    assert time.monotonic() - start < 2


def test_the_async_driver_fetches_no_delegation_past_the_walks_budget(
    sim: RepoSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parent delegating to more roles than one read visits: the concurrent driver asks only for those the walk
    will visit, and blocks the same roles as the blocking one."""
    import trustkit.client.reader as reader_module

    remote = _delegating(sim, "many", 6)
    monkeypatch.setattr(reader_module, "MAX_DELEGATIONS", 3)
    client = AsyncReader(GUN, AsyncSource(remote), cache=MetadataCache(tmp_path / "a", GUN), clock=lambda: NOW)
    concurrent = asyncio.run(client.refresh())
    fetched = [role for role, _, _ in remote.requests if role.startswith("targets/")]
    remote.requests.clear()
    blocking = Reader(GUN, remote, cache=MetadataCache(tmp_path / "s", GUN), clock=lambda: NOW).refresh()
    assert len(fetched) == 3
    assert fetched == [role for role, _, _ in remote.requests if role.startswith("targets/")]
    assert sorted(concurrent.blocked) == sorted(blocking.blocked) and len(blocking.blocked) == 4
