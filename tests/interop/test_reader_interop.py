"""Trusted reads against the real notary: the same target lists as `notary list`, caches shared both ways,
root rotation and server-managed keys followed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop._publish import add_delegation, notary_list
from tests.interop.harness import DockerTrustCLI, NotaryCLI, NotaryServer
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


def reader(server: NotaryServer, gun: str, trust_dir: Path, **kwargs: object) -> tk.Reader:
    remote = NotaryServerRemote(server.url, ca=server.ca_path)
    return tk.Reader(gun, remote, cache=tk.MetadataCache(trust_dir, gun), **kwargs)  # type: ignore[arg-type]


def trustkit_list(r: tk.Reader, *roles: str) -> dict[str, tuple[str, str, str]]:
    matches = r.list_targets(roles=roles or ("targets",))
    return {m.name: (m.target.sha256_hex or "", str(m.target.length), m.role) for m in matches}


def test_same_targets_as_notary_list_for_each_role(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", gun, "-p")
    add_delegation(notary_cli, gun, "targets/releases", tmp_path, [])
    add_delegation(notary_cli, gun, "targets/team", tmp_path, ["team/"])
    notary_cli.run("addhash", gun, "top", "10", "--sha256", "aa" * 32, "-p")
    notary_cli.run("addhash", gun, "v1", "11", "--sha256", "bb" * 32, "--roles", "targets/releases", "-p")
    notary_cli.run("addhash", gun, "team/x", "12", "--sha256", "cc" * 32, "--roles", "targets/team", "-p")
    r = reader(notary_server, gun, tmp_path / "tk")
    r.refresh()
    assert trustkit_list(r) == notary_list(notary_cli, gun)
    for roles in (("targets/releases",), ("targets/team",), ("targets/releases", "targets")):
        assert trustkit_list(r, *roles) == notary_list(notary_cli, gun, *roles)
    match = r.get_target("v1")
    assert match.role == "targets/releases"
    assert notary_cli.run("lookup", gun, "v1").stdout.split()[1] == f"sha256:{match.target.sha256_hex}"


def test_docker_trust_data_reads_like_notary(
    docker_cli: DockerTrustCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(tmp_path))
    docker_cli.run("trust", "signer", "add", "--key", str(tmp_path / "alice.pub"), "alice", gun)
    notary = docker_cli.notary()
    notary.run(
        "addhash",
        gun,
        "latest",
        "528",
        "--sha256",
        "dd" * 32,
        "--roles",
        "targets/releases",
        "--roles",
        "targets/alice",
        "-p",
    )
    r = reader(notary_server, gun, tmp_path / "tk")
    r.refresh()
    assert trustkit_list(r, "targets/releases", "targets") == notary_list(notary, gun, "targets/releases", "targets")
    assert trustkit_list(r, "targets/alice") == notary_list(notary, gun, "targets/alice")


def test_caches_are_shared_both_ways(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", gun, "-p")
    notary_cli.run("addhash", gun, "one", "1", "--sha256", "01" * 32, "-p")
    notary_cli.run("list", gun)  # notary writes its cache
    # trustkit reads notary's cache offline
    offline = tk.Reader(gun, None, cache=tk.MetadataCache(notary_cli.trust_dir, gun), offline=True)
    assert {m.name for m in offline.list_targets()} == {"one"}
    # trustkit's cache, copied into a fresh notary trust dir, is used by notary (it still lists with the server down)
    tk_dir = tmp_path / "tk"
    reader(notary_server, gun, tk_dir).refresh()
    fresh = NotaryCLI(notary_server, tmp_path / "fresh-notary", tmp_path / "fresh-home")
    shutil.copytree(tk_dir / "tuf", fresh.trust_dir / "tuf")
    broken = NotaryCLI(notary_server, fresh.trust_dir, tmp_path / "fresh-home")
    listing = broken.run("-s", "https://127.0.0.1:1", "list", gun).stdout
    assert "one" in listing


def test_root_rotation_and_server_keys(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", gun, "-p")
    notary_cli.run("addhash", gun, "before", "1", "--sha256", "01" * 32, "-p")
    tk_dir = tmp_path / "tk"
    reader(notary_server, gun, tk_dir).refresh()
    notary_cli.run("key", "rotate", gun, "root", input="yes\n")
    notary_cli.run("key", "rotate", gun, "root", input="yes\n")  # two rotations: trustkit must walk v2
    notary_cli.run("key", "rotate", gun, "snapshot", "-r")
    notary_cli.run("key", "rotate", gun, "timestamp", "-r")
    notary_cli.run("addhash", gun, "after", "2", "--sha256", "02" * 32, "-p")
    r = reader(notary_server, gun, tk_dir)
    trusted = r.refresh()
    assert trusted.root.signed.version >= 3
    assert {m.name for m in r.list_targets()} == {"before", "after"}
    assert trustkit_list(r) == notary_list(notary_cli, gun)


def test_verify_content_like_notary_verify(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(b"signed content")
    notary_cli.run("init", gun, "-p")
    notary_cli.run("add", gun, "file", str(payload), "-p")
    r = reader(notary_server, gun, tmp_path / "tk")
    assert r.verify_target("file", b"signed content").role == "targets"
    with pytest.raises(tk.HashMismatchError):
        r.verify_target("file", b"tampered content")
    with pytest.raises(tk.TargetNotFoundError):
        r.get_target("nope")
