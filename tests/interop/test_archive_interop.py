"""Archives of repositories on the real notary-server, built by the real docker and notary CLIs: the archive alone,
after the repository is deleted on the server, proves what ``notary list`` and ``docker trust inspect`` showed."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop._publish import notary_list, notary_sign
from tests.interop.harness import DockerTrustCLI, NotaryServer
from tests.support.flips import assert_refused_or_unchanged
from trustkit.archive import (
    ArchiveRemote,
    export_repository,
    export_server,
    load_verified_targets,
    open_archive,
    trust_archived_root,
)
from trustkit.client.repository import Repository
from trustkit.dct import DockerTrust
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


def server_remote(server: NotaryServer) -> NotaryServerRemote:
    return NotaryServerRemote(server.url, ca=server.ca_path)


def archived_list(reader: tk.Reader) -> dict[str, tuple[str, str, str]]:
    """The archive's answer in ``notary list``'s columns."""
    return {m.name: (m.target.sha256_hex or "", str(m.target.length), m.role) for m in reader.list_targets()}


def test_archive_outlives_the_server(docker_cli: DockerTrustCLI, notary_server: NotaryServer, gun: str) -> None:
    # docker creates the repository and its signers; notary signs tags, moves the snapshot key to the server and
    # rotates the root key
    home = docker_cli.home
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(home))
    docker_cli.run("trust", "signer", "add", "--key", str(home / "alice.pub"), "alice", gun)
    notary = docker_cli.notary()
    original_root = (notary.tuf_dir(gun) / "root.json").read_bytes()
    notary_sign(notary, gun, "v1", "targets/releases", "targets/alice")
    notary.run("addhash", gun, "top", "12", "--sha256", "cc" * 32, "-p")
    notary.run("key", "rotate", gun, "snapshot", "--server-managed")
    notary.run("key", "rotate", gun, "root", input="yes\n")
    notary_sign(notary, gun, "v2", "targets/releases", "targets/alice", digest="dd" * 32, size=7)
    expected = notary_list(notary, gun)
    assert {row[2] for row in expected.values()} == {"targets", "targets/alice"}  # notary list: the first signer
    docker_view = DockerTrust(env=docker_cli.env).inspect(gun).to_json()
    assert docker_view == docker_cli.run("trust", "inspect", gun).stdout

    archive = home / "archive"
    captured = datetime.now(timezone.utc)
    result = export_repository(server_remote(notary_server), gun, archive, root=original_root, clock=lambda: captured)
    manifest = result.manifest
    assert manifest is not None and manifest.verified, manifest
    assert manifest.source == notary_server.url
    assert sorted(e.version for e in manifest.files if e.role == "root") == [1, 2, 3]  # snapshot move, rotation
    assert {r.role for r in manifest.roles} >= {"root", "timestamp", "snapshot", "targets", "targets/releases"}

    notary.run("delete", gun, "--remote")
    with pytest.raises(tk.RepositoryNotFoundError):
        tk.Reader(gun, server_remote(notary_server)).refresh()

    # a year later, the archive alone, from the root docker kept before the rotation
    reader = open_archive(archive, gun, root=original_root, at="capture")
    assert archived_list(reader) == expected
    verified = load_verified_targets(archive, gun)
    assert [tuple(row[:4]) for row in verified] == reader.list_target_rows()
    # notary list names targets/alice for v1 and v2; docker pulls them from targets/releases
    assert {row.name: row.released_by for row in verified if row.role == "targets/alice"} == {
        "v1": "targets/releases",
        "v2": "targets/releases",
    }
    released = {tag["SignedTag"] for tag in json.loads(docker_view)[0]["SignedTags"]}  # what docker releases
    assert {row.name for row in verified if row.released_by is not None} == released
    a_year_later = captured + timedelta(days=365)
    with pytest.raises(tk.ExpiredMetadataError):
        open_archive(archive, gun, root=original_root, at=a_year_later)
    first = tk.Metadata.from_bytes(original_root, role="root").signed
    pinning = tk.TrustPinning(certs={gun: first.roles["root"].keyids})
    assert archived_list(open_archive(archive, gun, pinning=pinning, at="capture")) == expected

    # a wrong pin is refused
    stranger = tk.make_root_key(tk.generate_private_key(), gun)
    with pytest.raises(tk.UntrustedRootError):
        open_archive(archive, gun, pinning=tk.TrustPinning(certs={gun: (stranger.key_id,)}), at="capture")
    with pytest.raises(tk.ConfigurationError):
        open_archive(archive, gun, at="capture")

    # docker's own view, from the archive through DockerTrust
    config = home / "offline-docker"
    trust_archived_root(archive, gun, config / "trust", root=original_root, at="capture")
    with DockerTrust(config_dir=config, remote=ArchiveRemote(archive), clock=lambda: captured, env={}) as trust:
        assert trust.inspect(gun).to_json() == docker_view

    # a flipped bit anywhere is refused or changes nothing
    outcomes = assert_refused_or_unchanged(
        archive, lambda: archived_list(open_archive(archive, gun, root=original_root, at="capture")), expected
    )
    assert outcomes["refused"] > 100 and outcomes["same"] > 0, outcomes


def test_hundred_repositories_by_discovery(notary_server: NotaryServer, tmp_path: Path) -> None:
    remote = server_remote(notary_server)
    prefix = f"localhost:5000/archive-{uuid.uuid4().hex[:8]}"
    roots: dict[str, bytes] = {}
    for index in range(100):
        gun = f"{prefix}/r{index:03d}"
        repo = Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "client")
        repo.initialize(server_managed_snapshot=index % 2 == 0)
        repo.add_target(f"tag{index}", tk.TargetFile.from_data(gun.encode()), publish=True)
        roots[gun] = remote.get_role(gun, "root", max_size=1 << 20)
    Repository(f"{prefix}/r000", remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "x").delete(remote=True)
    archive = tmp_path / "archive"
    done: list[int] = []
    report = export_server(
        remote, archive, pattern=f"{prefix}/*", trust_on_first_use=True, progress=lambda p: done.append(p.done)
    )
    alive = sorted(roots)[1:]
    assert report.archived == tuple(alive) and not report.failures
    assert done == list(range(1, 100))
    assert export_server(remote, archive, pattern=f"{prefix}/*", trust_on_first_use=True).archived == ()
    assert ArchiveRemote(archive).repositories() == alive
    for gun in alive:
        reader = open_archive(archive, gun, root=roots[gun], at="now")
        assert [(m.name, m.role) for m in reader.list_targets()] == [(f"tag{int(gun[-3:])}", "targets")]
