"""Repository transactions against the real notary-server, checked with the real notary CLI, both ways."""

from __future__ import annotations

import hashlib
import json

import pytest

import trustkit as tk
from tests.interop.harness import NotaryCLI, NotaryServer
from trustkit.client.repository import Repository
from trustkit.keystore import FileKeyStore, NotaryEnvPassphrase
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


def repository(notary_cli: NotaryCLI, server: NotaryServer, gun: str) -> Repository:
    """A trustkit repository on the notary CLI's own trust dir, keys and passphrases."""
    keystore = FileKeyStore(notary_cli.trust_dir, passphrase=NotaryEnvPassphrase(environ=notary_cli.env))
    remote = NotaryServerRemote(server.url, ca=server.ca_path)
    return Repository(gun, remote=remote, keystore=keystore, trust_dir=notary_cli.trust_dir)


def test_trustkit_writes_are_seen_by_notary(notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str) -> None:
    repo = repository(notary_cli, notary_server, gun)
    repo.initialize()
    digest = hashlib.sha256(b"one").hexdigest()
    repo.add_target("v1", tk.TargetFile.from_digest(digest, 3))
    releases = tk.generate_private_key()
    repo.keystore.add_key(releases, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[releases.public_key], all_paths=True)
    repo.add_target("r1", tk.TargetFile.from_data(b"release"), roles=["targets/releases"])
    repo.publish()
    listing = notary_cli.run("list", gun).stdout
    assert "v1" in listing and digest in listing
    releases_listing = notary_cli.run("list", gun, "--roles", "targets/releases").stdout
    assert "r1" in releases_listing and "targets/releases" in releases_listing
    delegations = notary_cli.run("delegation", "list", gun).stdout
    assert "targets/releases" in delegations and releases.key_id in delegations
    keys = notary_cli.run("key", "list").stdout
    for info in repo.keystore.list_keys():
        assert info.key_id in keys
    # and notary itself can keep publishing with the keys trustkit made
    notary_cli.run("addhash", gun, "v2", "5", "--sha256", "ab" * 32, "-p")
    assert {m.name for m in repo.reader().list_targets()} == {"v1", "v2", "r1"}


def test_notary_staged_changes_published_by_trustkit(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str
) -> None:
    notary_cli.run("init", gun, "-p")
    notary_cli.run("addhash", gun, "staged", "7", "--sha256", "cd" * 32)
    repo = repository(notary_cli, notary_server, gun)
    assert [s.change.path for s in repo.status()] == ["staged"]
    repo.publish()
    assert "staged" in notary_cli.run("list", gun).stdout
    assert "No unpublished changes" in notary_cli.run("status", gun).stdout


def test_root_rotation_accepted_by_notary_that_trusted_the_old_root(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str
) -> None:
    notary_cli.run("init", gun)
    notary_cli.run("addhash", gun, "before", "1", "--sha256", "01" * 32, "-p")
    assert "before" in notary_cli.run("list", gun).stdout  # notary now trusts and caches the old root
    repo = repository(notary_cli, notary_server, gun)
    (new_root,) = repo.rotate_key("root")
    repo.rotate_key("snapshot", server_managed=True)
    (new_targets,) = repo.rotate_key("targets")
    repo.add_target("after", tk.TargetFile.from_digest("02" * 32, 2), publish=True)
    listing = notary_cli.run("list", gun).stdout
    assert "before" in listing and "after" in listing
    root = tk.Metadata.from_bytes(repo.cache.load("root") or b"")
    assert root.signed.roles["root"].keyids == (new_root.key_id,)
    assert root.signed.roles["targets"].keyids == (new_targets.key_id,)
    notary_cli.run("addhash", gun, "by-notary", "3", "--sha256", "03" * 32, "-p")
    assert "by-notary" in notary_cli.run("list", gun).stdout


def test_witness_and_delete(notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str) -> None:
    repo = repository(notary_cli, notary_server, gun)
    repo.initialize()
    key = tk.generate_private_key()
    repo.keystore.add_key(key, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[key.public_key], all_paths=True)
    repo.add_target("w", tk.TargetFile.from_data(b"w"), roles=["targets/releases"])
    repo.publish()
    repo.witness("targets/releases", publish=True)
    assert "w" in notary_cli.run("list", gun, "--roles", "targets/releases").stdout
    repo.delete(remote=True)
    result = notary_cli.run("list", gun, check=False)
    assert result.returncode != 0 and "does not have trust data" in result.stdout + result.stderr


def test_removals_and_purge_seen_by_notary(notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str) -> None:
    repo = repository(notary_cli, notary_server, gun)
    repo.initialize()
    shared, other = tk.generate_private_key(), tk.generate_private_key()
    for key, role in ((shared, "targets/a"), (other, "targets/b")):
        repo.keystore.add_key(key, role=role)
    repo.add_delegation("targets/a", keys=[shared.public_key, other.public_key], paths=["a/", "x/"])
    repo.add_delegation("targets/b", keys=[shared.public_key, other.public_key], all_paths=True)
    repo.add_target("gone", tk.TargetFile.from_data(b"gone"))
    repo.add_target("kept", tk.TargetFile.from_data(b"kept"))
    repo.publish()
    repo.remove_target("gone")
    repo.remove_delegation_paths("targets/a", ["x/"])
    repo.remove_delegation_keys("targets/a", [other.key_id])
    repo.purge_keys([shared.key_id])
    repo.remove_delegation("targets/b")
    repo.publish()
    listing = notary_cli.run("list", gun).stdout
    assert "kept" in listing and "gone" not in listing
    delegations = notary_cli.run("delegation", "list", gun).stdout
    assert "targets/b" not in delegations
    row = next(line for line in delegations.splitlines() if line.startswith("targets/a"))
    assert row.split()[:2] == ["targets/a", "a/"] and "x/" not in row
    assert shared.key_id not in row and other.key_id not in row
    # its last key removed, the role keeps Go's nil slice as notary writes it (test_notary_data has notary's own)
    served = json.loads(repo.remote.get_role(gun, "targets", max_size=1 << 20))
    assert [r["keyids"] for r in served["signed"]["delegations"]["roles"]] == [None]
