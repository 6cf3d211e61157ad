"""trustkit.fleet over an in-memory remote: discovery's prefix filter and paging, the follower's verified differences,
its saved cursor (atomic, resumable, a feed that starts over, a corrupt state), and the inventory's rows, progress,
bounded concurrency, verdicts and conversions (dicts, JSON lines, a DataFrame through a stand-in pandas, paged
HTML). The same against the real notary-server, on memory and PostgreSQL: tests/interop/test_fleet_interop.py."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from trustkit.fleet import (
    ChangefeedFollower,
    Inventory,
    InventoryProgress,
    iter_inventory,
    server_repositories,
    take_inventory,
)
from trustkit.fleet.follower import STATE_FILE
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import MemoryRemote, changefeed_records, latest_change_id

PREFIX = "example.com/team/"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make(remote: MemoryRemote, tmp_path: Path, gun: str, tags: dict[str, str]) -> tk.Repository:
    repo = tk.Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "signer")
    repo.initialize()
    if tags:
        repo.add_targets({name: tk.TargetFile.from_digest(digest * 32, 10) for name, digest in tags.items()})
        repo.publish()
    return repo


@pytest.fixture
def remote() -> MemoryRemote:
    return MemoryRemote()


def test_discovery_filters_by_prefix_pages_and_drops_deleted(remote: MemoryRemote, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        make(remote, tmp_path, PREFIX + name, {"v1": "aa"})
    make(remote, tmp_path, "example.com/other/x", {"v1": "aa"})
    remote.delete(PREFIX + "b")
    assert server_repositories(remote, prefix=PREFIX, page=1) == [PREFIX + "a", PREFIX + "c"]
    assert server_repositories(remote) == ["example.com/other/x", PREFIX + "a", PREFIX + "c"]
    records = list(changefeed_records(remote, page=2))
    assert [int(r.id) for r in records] == list(range(1, len(records) + 1))
    assert latest_change_id(remote) == len(records)
    assert list(changefeed_records(remote, change_id=latest_change_id(remote) + 5)) == []
    with pytest.raises(tk.InvalidArgumentError):
        server_repositories(remote, page=0)


def test_follower_reports_verified_differences_and_resumes(remote: MemoryRemote, tmp_path: Path) -> None:
    app = make(remote, tmp_path, PREFIX + "app", {"v1": "aa", "v2": "bb"})
    folder = tmp_path / "follower"
    follower = ChangefeedFollower(remote, folder, prefix=PREFIX, poll_interval=0)
    [created] = follower.poll()
    assert created.kind == "created" and created.tags_added == (
        ("v1", "sha256:" + "aa" * 32),
        ("v2", "sha256:" + "bb" * 32),
    )
    app.add_target("v3", tk.TargetFile.from_digest("cc" * 32, 1))
    app.remove_target("v1")
    app.add_target("v2", tk.TargetFile.from_digest("dd" * 32, 1))
    app.publish()
    [changed] = follower.poll()
    assert changed.to_dict()["tags_added"] == [["v3", "sha256:" + "cc" * 32]]
    assert changed.tags_removed == (("v1", "sha256:" + "aa" * 32),)
    assert changed.tags_repointed == (("v2", "sha256:" + "bb" * 32, "sha256:" + "dd" * 32),)
    state = json.loads((folder / STATE_FILE).read_text())
    assert state["cursor"] == follower.cursor and PREFIX + "app" in state["repositories"]
    assert (folder / STATE_FILE).stat().st_mode & 0o777 == 0o600

    # another follower on the same folder resumes: nothing old again
    again = ChangefeedFollower(remote, folder, prefix=PREFIX)
    assert again.cursor == follower.cursor and again.poll() == []
    remote.delete(PREFIX + "app")
    assert [(e.gun, e.kind) for e in again.poll()] == [(PREFIX + "app", "deleted")]
    assert again.repositories == {}


def test_follower_notices_a_feed_that_started_over(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    make(remote, tmp_path, PREFIX + "web", {"v1": "aa"})
    folder = tmp_path / "follower"
    assert len(ChangefeedFollower(remote, folder, prefix=PREFIX).poll()) == 2
    # the server restarts empty and gets more records than before, for other repositories: IDs are reused
    fresh = MemoryRemote()
    for name in ("x", "y", "z"):
        make(fresh, tmp_path / name, PREFIX + name, {"t": "ee"})
    make(fresh, tmp_path / "app2", PREFIX + "app", {"v1": "aa"})  # same name, new root: a new trust
    events = {e.gun: e for e in ChangefeedFollower(fresh, folder, prefix=PREFIX).poll()}
    assert {gun: e.kind for gun, e in events.items()} == {
        PREFIX + "x": "created",
        PREFIX + "y": "created",
        PREFIX + "z": "created",
        PREFIX + "web": "deleted",
        PREFIX + "app": "error",
    }
    # app came back under the same name with a new root, and the follower never saw it deleted: the new root is
    # not trusted (a hostile server could do the same), so it is an error, not news
    assert "UntrustedRootError" in (events[PREFIX + "app"].error or "")


def test_follower_refuses_a_root_swap_and_keeps_the_last_good_state(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    follower = ChangefeedFollower(remote, tmp_path / "follower", prefix=PREFIX)
    follower.poll()
    before = follower.repositories[PREFIX + "app"]
    remote.delete(PREFIX + "app")  # a hostile server swaps the repository for one with its own root, same name
    make(remote, tmp_path / "evil", PREFIX + "app", {"v1": "ff"})
    records = list(changefeed_records(remote))
    assert records[-1].category == "update"
    # one poll sees the deletion and the re-creation: the last record names an update; the follower re-reads it
    # through the cache that still holds the old root and refuses the new one
    [event] = follower.poll()
    assert event.kind == "error" and "UntrustedRootError" in (event.error or "")
    assert follower.repositories[PREFIX + "app"] == before


def test_corrupt_state_is_a_typed_error_saying_what_to_do(remote: MemoryRemote, tmp_path: Path) -> None:
    folder = tmp_path / "follower"
    folder.mkdir()
    (folder / STATE_FILE).write_text('{"format": 1, "cursor": 5}')
    with pytest.raises(tk.FileAccessError, match="move it away"):
        ChangefeedFollower(remote, folder)
    with pytest.raises(tk.InvalidArgumentError):
        ChangefeedFollower(remote, tmp_path / "other", poll_interval=-1)


def test_follow_yields_events_between_polls_and_stops(remote: MemoryRemote, tmp_path: Path) -> None:
    app = make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    follower = ChangefeedFollower(remote, tmp_path / "follower", prefix=PREFIX, poll_interval=0.01)
    stream = follower.follow()
    assert next(stream).kind == "created"
    app.add_target("v2", tk.TargetFile.from_digest("bb" * 32, 1))
    app.publish()
    assert next(stream).tags_added == (("v2", "sha256:" + "bb" * 32),)
    follower.stop()
    assert list(stream) == []


def test_inventory_rows_progress_and_bounded_concurrency(remote: MemoryRemote, tmp_path: Path) -> None:
    for index in range(7):
        make(remote, tmp_path, f"{PREFIX}r{index}", {"latest": "aa", f"v{index}": "bb"})
    make(remote, tmp_path, "example.com/other/x", {"v1": "aa"})
    active, peak, lock = 0, 0, threading.Lock()
    original = remote.get_role

    def counting(*args: Any, **kwargs: Any) -> bytes:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                active -= 1

    remote.get_role = counting  # type: ignore[method-assign]
    seen: list[InventoryProgress] = []
    rows = list(iter_inventory(remote, prefix=PREFIX, workers=2, progress=seen.append))
    assert sorted(row.gun for row in rows) == [f"{PREFIX}r{i}" for i in range(7)]
    assert [p.done for p in seen] == list(range(1, 8)) and {p.total for p in seen} == {7}
    assert 1 <= peak <= 2
    row = next(r for r in rows if r.gun == PREFIX + "r3")
    assert dict(row.tags) == {"latest": "sha256:" + "aa" * 32, "v3": "sha256:" + "bb" * 32}
    assert row.error is None and row.healthy and row.next_expiry is not None
    assert row.expires[0][0] == "timestamp"
    missing = take_inventory(remote, ["example.com/nobody"])
    assert missing.rows[0].error is not None and "RepositoryNotFoundError" in missing.rows[0].error
    assert not missing.rows[0].healthy
    with pytest.raises(tk.InvalidArgumentError):
        list(iter_inventory(remote, workers=0))


def test_inventory_policy_verdicts(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"latest": "aa"})
    policy = tk.Policy([tk.Rule(PREFIX + "*", anchor=tk.TrustAnchor(tofu=True))])
    with tk.Verifier(policy, trust_dir=tmp_path / "verifier", remote=remote) as verifier:
        [row] = take_inventory(remote, prefix=PREFIX, verifier=verifier).rows
    [(image, allowed, message)] = row.verdicts
    assert image == PREFIX + "app:latest" and allowed and "allowed" in message


def test_inventory_converts_to_json_lines_a_dataframe_and_paged_html(
    remote: MemoryRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(3):
        make(remote, tmp_path, f"{PREFIX}r{index}", {"v1": "aa"})
    inventory = take_inventory(remote, prefix=PREFIX)
    assert [row.gun for row in inventory] == [f"{PREFIX}r{i}" for i in range(3)]
    lines = inventory.to_json_lines().splitlines()
    assert [json.loads(line)["gun"] for line in lines] == [row.gun for row in inventory]
    assert json.loads(lines[0])["tag_count"] == 1 and json.loads(lines[0])["next_expiry"].endswith("Z")

    monkeypatch.setitem(sys.modules, "pandas", None)  # pandas absent
    with pytest.raises(tk.ConfigurationError, match="pip install pandas"):
        inventory.to_dataframe()
    made: list[list[dict[str, Any]]] = []
    fake = types.ModuleType("pandas")
    fake.DataFrame = types.SimpleNamespace(from_records=lambda records: made.append(records) or "frame")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert inventory.to_dataframe() == "frame" and made == [inventory.to_dicts()]

    page = inventory.page_html(1, page_size=2)
    assert "page 2 of 2" in page and f"{PREFIX}r2" in page and f"{PREFIX}r0" not in page
    assert "page 1 of 1" in Inventory(inventory.rows)._repr_html_()
    assert "page 1 of 2" in inventory.page_html(0, page_size=2) and f"{PREFIX}r2" not in inventory.page_html(
        0, page_size=2
    )
    assert f"{PREFIX}r0" in str(inventory)


class EndlessFeed:
    """A hostile server: the same page whatever the cursor, or IDs that are not numbers."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.requests = 0

    def changefeed(self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100) -> list[Any]:
        self.requests += 1
        return [tk.ChangeRecord(i, "example.com/x", 1, "ab" * 32, "update", NOW) for i in self.ids]


def test_a_hostile_changefeed_cannot_make_discovery_loop() -> None:
    same_page = EndlessFeed(["1", "2"])
    assert server_repositories(same_page, page=2) == ["example.com/x"]  # type: ignore[arg-type]
    assert same_page.requests == 2  # the second page moved nothing forward: the end
    with pytest.raises(tk.RemoteError, match="not a decimal changefeed ID"):
        server_repositories(EndlessFeed(["a", "b"]), page=2)  # type: ignore[arg-type]


def test_follow_gives_events_at_least_once(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    make(remote, tmp_path, PREFIX + "web", {"v1": "aa"})
    folder = tmp_path / "follower"
    stream = ChangefeedFollower(remote, folder, prefix=PREFIX, poll_interval=0).follow()
    first = next(stream)
    stream.close()  # the process dies while its caller handles the first event
    again = ChangefeedFollower(remote, folder, prefix=PREFIX).poll()
    assert first.gun in {event.gun for event in again} and len(again) == 2


def test_follow_retries_a_failed_poll_from_the_saved_state(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    make(remote, tmp_path, PREFIX + "web", {"v1": "aa"})
    original, failures = remote.get_role, []

    def flaky(gun: str, role: str, **kwargs: Any) -> bytes:
        if gun == PREFIX + "web" and not failures:
            failures.append(gun)
            raise tk.ServerUnavailableError("connection refused")
        return original(gun, role, **kwargs)

    remote.get_role = flaky  # type: ignore[method-assign]
    follower = ChangefeedFollower(remote, tmp_path / "follower", prefix=PREFIX, poll_interval=0)
    stream = follower.follow()
    events = [next(stream), next(stream)]  # the first poll failed on web: app's event is not lost with it
    assert failures and sorted(e.gun for e in events) == [PREFIX + "app", PREFIX + "web"]


def test_afollow_is_an_async_iterator_that_keeps_the_loop_free(remote: MemoryRemote, tmp_path: Path) -> None:
    app = make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    follower = ChangefeedFollower(remote, tmp_path / "follower", prefix=PREFIX, poll_interval=0.02)

    async def run() -> tuple[list[str], int]:
        ticks = 0

        async def ticker() -> None:  # runs while polls wait on their worker thread
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        kinds = []
        async for event in follower:
            kinds.append(event.kind)
            if event.kind == "created":
                app.add_target("v2", tk.TargetFile.from_digest("bb" * 32, 1))
                await asyncio.to_thread(app.publish)
            else:
                follower.stop()
        task.cancel()
        return kinds, ticks

    kinds, ticks = asyncio.run(run())
    assert kinds == ["created", "changed"] and ticks > 0
    assert follower.repositories[PREFIX + "app"].tags["v2"] == "sha256:" + "bb" * 32


def test_a_feed_that_started_over_to_the_same_length_is_noticed(remote: MemoryRemote, tmp_path: Path) -> None:
    make(remote, tmp_path, PREFIX + "app", {"v1": "aa"})
    folder = tmp_path / "follower"
    assert [e.kind for e in ChangefeedFollower(remote, folder, prefix=PREFIX).poll()] == ["created"]
    fresh = MemoryRemote()  # restarted empty; the same repository published again: the same IDs, the same GUN
    make(fresh, tmp_path / "again", PREFIX + "app", {"v1": "aa"})
    assert [r.id for r in changefeed_records(fresh)] == [r.id for r in changefeed_records(remote)]
    [event] = ChangefeedFollower(fresh, folder, prefix=PREFIX).poll()
    assert event.kind == "error" and "UntrustedRootError" in (event.error or "")
