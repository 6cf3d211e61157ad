"""Discovery, the changefeed follower and the inventory against the real notary-server -- on its memory store and on
PostgreSQL, as production runs it -- with repositories made and changed by the real notary CLI: each agrees with
``notary list``, the follower reports what the CLI did, and resumes after a restart of itself and of the server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop._publish import add_delegation, notary_list
from tests.interop.harness import NotaryCLI, NotaryServer, require_binary
from tests.interop.postgres_harness import PostgresCluster, postgres_bin
from trustkit.fleet import ChangefeedFollower, RepositoryEvent, server_repositories, take_inventory
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=["memory", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryServer]:
    """A notary-server of this module's own (the tests restart it) on the memory store, or on a fresh PostgreSQL
    cluster with notary's schema."""
    require_binary("notary-server", "notary")
    workdir = tmp_path_factory.mktemp(f"fleet-{request.param}")
    if request.param == "memory":
        with NotaryServer(workdir) as server:
            yield server
        return
    postgres_bin("initdb")
    with PostgresCluster() as cluster, NotaryServer(workdir, storage=cluster.storage()) as server:
        yield server


@pytest.fixture
def cli(server: NotaryServer, tmp_path: Path) -> NotaryCLI:
    require_binary("notary", "notary")
    return NotaryCLI(server, tmp_path / "trust", tmp_path / "home")


def remote(server: NotaryServer) -> NotaryServerRemote:
    return NotaryServerRemote(server.url, ca=server.ca_path)


def tags_of(cli: NotaryCLI, gun: str) -> dict[str, str]:
    return {name: f"sha256:{digest}" for name, (digest, _, _) in notary_list(cli, gun).items()}


def by_gun(events: list[RepositoryEvent]) -> dict[str, RepositoryEvent]:
    assert len({e.gun for e in events}) == len(events), events
    return {event.gun: event for event in events}


def test_discovery_inventory_and_follower_agree_with_notary(
    server: NotaryServer, cli: NotaryCLI, tmp_path: Path
) -> None:
    prefix = f"localhost:5000/fleet-{uuid.uuid4().hex[:8]}/"
    app, web, gone = prefix + "app", prefix + "web", prefix + "gone"
    for gun in (app, web, gone):
        cli.run("init", gun, "-p")
    cli.run("addhash", app, "v1", "3", "--sha256", "aa" * 32, "-p")
    cli.run("addhash", app, "v2", "4", "--sha256", "bb" * 32, "-p")
    add_delegation(cli, web, "targets/releases", tmp_path, [])
    add_delegation(cli, web, "targets/alice", tmp_path, [])
    cli.run("addhash", web, "latest", "5", "--sha256", "cc" * 32, "--roles", "targets/releases", "-p")
    cli.run("addhash", gone, "v1", "6", "--sha256", "dd" * 32, "-p")
    other = f"localhost:5000/elsewhere-{uuid.uuid4().hex[:8]}"
    cli.run("init", other, "-p")
    server_remote = remote(server)

    # discovery: what the changefeed names under the prefix, nothing else
    assert server_repositories(server_remote, prefix=prefix) == sorted([app, web, gone])
    assert other in server_repositories(server_remote)

    # inventory: the tags notary list shows, the signers, health
    inventory = take_inventory(server_remote, prefix=prefix, workers=3)
    rows = {row.gun: row for row in inventory}
    for gun in (app, web, gone):
        assert dict(rows[gun].tags) == tags_of(cli, gun)
        assert rows[gun].error is None and rows[gun].healthy
    assert rows[web].signers == ("targets/alice", "targets/releases")
    assert rows[app].signers == ()

    # the follower: a first poll reports what exists, as notary list shows it
    folder = tmp_path / "follower"
    follower = ChangefeedFollower(server_remote, folder, prefix=prefix, poll_interval=0)
    first = by_gun(follower.poll())
    assert set(first) == {app, web, gone} and {e.kind for e in first.values()} == {"created"}
    assert dict(first[app].tags_added) == tags_of(cli, app)
    assert first[web].signers_added == ("targets/alice", "targets/releases")
    assert follower.poll() == []

    # a tag added, a tag removed, a tag re-pointed, a signer removed, a repository deleted
    cli.run("addhash", app, "v3", "7", "--sha256", "ee" * 32, "-p")
    cli.run("remove", app, "v1", "-p")
    cli.run("addhash", app, "v2", "8", "--sha256", "ff" * 32, "-p")
    cli.run("delegation", "remove", web, "targets/alice", "-p", input="yes\n")
    cli.run("delete", gone, "--remote")
    cli.run("addhash", other, "x", "1", "--sha256", "11" * 32, "-p")  # outside the prefix: no event
    events = by_gun(follower.poll())
    assert set(events) == {app, web, gone}
    assert events[app].kind == "changed"
    assert events[app].tags_added == (("v3", "sha256:" + "ee" * 32),)
    assert events[app].tags_removed == (("v1", "sha256:" + "aa" * 32),)
    assert events[app].tags_repointed == (("v2", "sha256:" + "bb" * 32, "sha256:" + "ff" * 32),)
    assert {name: digest for name, digest in follower.repositories[app].tags.items()} == tags_of(cli, app)
    assert events[web].signers_removed == ("targets/alice",) and events[web].signers_added == ()
    assert events[gone].kind == "deleted"
    assert server_repositories(server_remote, prefix=prefix) == sorted([app, web])

    # a restart of the follower: it resumes from its saved cursor, and reports only what is new
    cursor = follower.cursor
    resumed = ChangefeedFollower(server_remote, folder, prefix=prefix, poll_interval=0)
    assert resumed.cursor == cursor and resumed.poll() == []
    cli.run("addhash", web, "v9", "9", "--sha256", "99" * 32, "--roles", "targets/releases", "-p")
    assert [(e.gun, e.tags_added) for e in resumed.poll()] == [(web, (("v9", "sha256:" + "99" * 32),))]


def test_follower_resumes_after_a_server_restart(server: NotaryServer, cli: NotaryCLI, tmp_path: Path) -> None:
    prefix = f"localhost:5000/restart-{uuid.uuid4().hex[:8]}/"
    app = prefix + "app"
    cli.run("init", app, "-p")
    cli.run("addhash", app, "v1", "3", "--sha256", "aa" * 32, "-p")
    folder = tmp_path / "follower"
    assert [e.kind for e in ChangefeedFollower(remote(server), folder, prefix=prefix).poll()] == ["created"]

    cli.run("addhash", app, "v2", "4", "--sha256", "bb" * 32, "-p")  # while the follower is stopped
    server.restart()
    follower = ChangefeedFollower(remote(server), folder, prefix=prefix)
    if server.storage["backend"] == "memory":
        # the memory store forgets everything: the feed started over, and the follower says the repository is gone
        assert [(e.gun, e.kind) for e in follower.poll()] == [(app, "deleted")]
        assert server_repositories(remote(server), prefix=prefix) == []
        return
    # a database keeps the repositories and the feed: the change made before the restart, alone
    events = follower.poll()
    assert [(e.gun, e.kind, e.tags_added) for e in events] == [(app, "changed", (("v2", "sha256:" + "bb" * 32),))]
    assert dict(follower.repositories[app].tags) == tags_of(cli, app)
    assert follower.poll() == []
    # (the local trust service keeps the server's timestamp keys in memory: after a restart nothing of the old
    # repositories can be published again, but they can be deleted)
    cli.run("delete", app, "--remote")
    assert [(e.gun, e.kind) for e in follower.poll()] == [(app, "deleted")]


def test_a_deletion_on_the_memory_store_takes_every_name_it_prefixes(
    server: NotaryServer, cli: NotaryCLI, tmp_path: Path
) -> None:
    """notary-server's memory store deletes every GUN that starts with the deleted one and records only that one in
    the changefeed; PostgreSQL deletes exactly the GUN. The follower reports what really happened on both."""
    base = f"localhost:5000/prefix-{uuid.uuid4().hex[:8]}/app"
    longer = base + "-web"
    for gun in (base, longer):
        cli.run("init", gun, "-p")
    follower = ChangefeedFollower(remote(server), tmp_path / "follower", prefix=base)
    assert sorted(e.gun for e in follower.poll()) == [base, longer]
    cli.run("delete", base, "--remote")
    deleted = sorted(e.gun for e in follower.poll() if e.kind == "deleted")
    if server.storage["backend"] == "memory":
        assert deleted == [base, longer]
        assert server_repositories(remote(server), prefix=base) == [longer]  # the feed still names it
        [row] = take_inventory(remote(server), [longer]).rows
        assert row.error is not None and "RepositoryNotFoundError" in row.error
    else:
        assert deleted == [base]
        assert "No targets present" in cli.run("list", longer).stdout  # still there (notary list reads it)
        assert server_repositories(remote(server), prefix=base) == [longer]
