"""Every notary-server 0.7 route driven from trustkit's NotaryServer, against the real server over TLS.

Data comes from the real ``notary`` CLI (``init`` writes root, targets and snapshot to its cache; trustkit
publishes them; the CLI then reads them back and publishes on top), and the server's real error bodies are
provoked and mapped: unknown GUN, stale version, malformed upload, invalid update, bad parameters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.interop.harness import NotaryCLI, NotaryServer, make_tls_material, require_binary
from tests.interop.token_issuer import ConfiguredNotaryServer
from tests.support.repo_sim import RepoSim, parse
from trustkit.remote import MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE, LocalRemote, docker_server_config, notary_server_config
from trustkit.remote import NotaryServer as Remote

pytestmark = pytest.mark.interop


@pytest.fixture(params=["local", "signer"])
def server(request: pytest.FixtureRequest) -> NotaryServer:
    """notary-server with its local signing service (ed25519 keys) and with notary-signer (ecdsa keys)."""
    return request.getfixturevalue("notary_server" if request.param == "local" else "notary_server_with_signer")  # type: ignore[no-any-return]


@pytest.fixture
def remote(server: NotaryServer) -> Iterator[Remote]:
    with Remote(server.url, ca=server.ca_path, timeout=10.0) as client:
        yield client


@pytest.fixture
def cli(server: NotaryServer, tmp_path: Path) -> NotaryCLI:
    require_binary("notary", "notary")
    return NotaryCLI(server, tmp_path / "trust", tmp_path / "home")


def _cache(cli: NotaryCLI, gun: str) -> dict[str, bytes]:
    folder = cli.tuf_dir(gun)
    return {p.relative_to(folder).as_posix().removesuffix(".json"): p.read_bytes() for p in folder.rglob("*.json")}


def test_publish_notary_cli_data_and_read_it_back(remote: Remote, cli: NotaryCLI, gun: str, tmp_path: Path) -> None:
    cli.run("init", gun)  # offline: root, targets and a client snapshot in the cache; only timestamp.key is fetched
    made = _cache(cli, gun)
    assert set(made) == {"root", "targets", "snapshot"}
    remote.publish(gun, made)

    listed = cli.run("list", gun)
    assert "No targets present in this repository." in listed.stdout
    for role, data in made.items():
        assert remote.get_role(gun, role, max_size=MAX_ROOT_SIZE) == data
        assert remote.get_role(gun, role, max_size=MAX_ROOT_SIZE, version=1) == data
        assert remote.get_role(gun, role, max_size=MAX_ROOT_SIZE, checksum=hashlib.sha256(data).hexdigest()) == data

    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"hello from notary\n")
    cli.run("add", gun, "v1", str(payload))
    cli.run("publish", gun)
    cli.run("list", gun)  # refreshes the CLI's cache from the server
    after = _cache(cli, gun)

    # Follow the chain as a client does: timestamp -> snapshot by checksum -> targets by checksum.
    timestamp = parse(remote.get_role(gun, "timestamp", max_size=MAX_TIMESTAMP_SIZE), "timestamp").signed
    assert timestamp.version == 2
    snapshot_meta = timestamp.snapshot_meta
    snapshot_bytes = remote.get_role(
        gun, "snapshot", max_size=snapshot_meta.length, checksum=snapshot_meta.hashes["sha256"].hex()
    )
    assert snapshot_bytes == after["snapshot"]
    targets_meta = parse(snapshot_bytes, "snapshot").signed.meta["targets"]
    targets_bytes = remote.get_role(
        gun, "targets", max_size=targets_meta.length, checksum=targets_meta.hashes["sha256"].hex()
    )
    assert targets_bytes == after["targets"]
    target = parse(targets_bytes, "targets").signed.targets["v1"]
    assert target.hashes["sha256"] == hashlib.sha256(payload.read_bytes()).digest()
    assert remote.get_role(gun, "targets", max_size=MAX_ROOT_SIZE, version=1) == made["targets"]
    assert remote.get_role(gun, "targets", max_size=MAX_ROOT_SIZE, version=2) == after["targets"]

    # The CLI's own v1 targets and snapshot again: valid, but stale -- the server's real VERSION error.
    with pytest.raises(tk.ConflictError) as stale:
        remote.publish(gun, {"targets": made["targets"], "snapshot": made["snapshot"]})
    assert (stale.value.status, stale.value.code, stale.value.detail) == (400, "VERSION", {})


def test_server_keys_match_what_the_cli_put_in_root(
    remote: Remote, cli: NotaryCLI, server: NotaryServer, gun: str
) -> None:
    cli.run("init", "-p", gun)
    root = parse(remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE), "root").signed
    timestamp_key = remote.get_key(gun, "timestamp")
    assert root.roles["timestamp"].keyids == (timestamp_key.key_id,)
    assert timestamp_key.keytype == ("ecdsa" if server.with_signer else "ed25519")
    assert remote.get_key(gun, "timestamp") == timestamp_key  # stable once root lists it

    rotated = remote.rotate_key(gun, "snapshot")
    assert rotated.keytype == timestamp_key.keytype
    assert rotated.key_id not in root.keys
    cli.run("key", "rotate", gun, "snapshot", "-r")  # the CLI asks for yet another key and publishes a root with it
    root = parse(remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE), "root").signed
    assert remote.get_key(gun, "snapshot").key_id in root.roles["snapshot"].keyids


def test_delete_and_changefeed(remote: Remote, cli: NotaryCLI, gun: str) -> None:
    cli.run("init", "-p", gun)
    records = remote.changefeed(gun)
    assert [(r.gun, r.version, r.category) for r in records] == [(gun, 1, "update")]
    timestamp_bytes = remote.get_role(gun, "timestamp", max_size=MAX_TIMESTAMP_SIZE)
    assert records[0].sha256 == hashlib.sha256(timestamp_bytes).hexdigest()
    assert records[0] in remote.changefeed(None, change_id=int(records[0].id) - 1, records=1)

    remote.delete(gun)
    with pytest.raises(tk.NotFoundError):
        remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    result = cli.run("list", gun, check=False)
    assert result.returncode != 0
    assert f"does not have trust data for {gun}" in result.stdout + result.stderr
    deletion = remote.changefeed(gun)[-1]
    assert (deletion.category, deletion.version, deletion.sha256) == ("deletion", 0, "")


def test_real_error_bodies_are_mapped(remote: Remote, gun: str) -> None:
    with pytest.raises(tk.NotFoundError) as unknown:
        remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    assert (unknown.value.status, unknown.value.code, unknown.value.detail) == (404, "METADATA_NOT_FOUND", {})
    assert f"does not have trust data for {gun}" in str(unknown.value)

    with pytest.raises(tk.RemoteError) as malformed:
        remote.publish(gun, {"root": b"this is not json"})
    assert type(malformed.value) is tk.RemoteError
    assert (malformed.value.status, malformed.value.code) == (400, "MALFORMED_JSON")
    assert "JSON sent by the client could not be parsed by the server" in str(malformed.value)

    repo = RepoSim.for_remote(remote, gun)
    files = repo.initial_files()
    files["root"] = b'{"signed":"not an object","signatures":[]}'  # JSON, but not the envelope Go decodes
    with pytest.raises(tk.RemoteError) as broken:
        remote.publish(gun, files)
    assert broken.value.code == "MALFORMED_JSON"

    files = repo.initial_files()
    del files["root"]
    with pytest.raises(tk.ConflictError) as invalid:
        remote.publish(gun, files)
    assert invalid.value.code == "INVALID_UPDATE"
    assert invalid.value.detail == {
        "Name": "ErrValidation",
        "Error": {"Msg": "no pre-existing root and no root provided in update."},
    }

    with pytest.raises(tk.RemoteError) as params:
        remote.changefeed(gun, change_id="not-a-number")
    assert (params.value.status, params.value.code) == (400, "INVALID_PARAMETERS")


def test_health_metrics_and_ping(remote: Remote) -> None:
    assert remote.health() == {}
    assert "# HELP" in remote.metrics()
    remote.ping()


def test_docker_trust_inspect_reads_what_trustkit_published(
    notary_server: NotaryServer, docker_cli: Any, gun: str
) -> None:
    with Remote(notary_server.url, ca=notary_server.ca_path) as remote:
        repo = RepoSim.for_remote(remote, gun)
        remote.publish(gun, repo.initial_files())
        remote.publish(gun, repo.add_release("v1", tk.TargetFile.from_digest("ab" * 32, 528)))
    (entry,) = docker_cli.inspect(gun)
    assert entry["Name"] == gun
    assert [(t["SignedTag"], t["Digest"]) for t in entry["SignedTags"]] == [("v1", "ab" * 32)]


# --- TLS and configuration -------------------------------------------------------------------------------------


def test_wrong_ca_is_a_tls_error_not_retried(notary_server: NotaryServer, tmp_path: Path, gun: str) -> None:
    other = make_tls_material(tmp_path / "other")
    with (
        Remote(notary_server.url, ca=other.ca_cert, retries=5, backoff=2.0) as remote,
        pytest.raises(tk.RemoteError) as caught,
    ):
        remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    assert not isinstance(caught.value, tk.ServerUnavailableError)  # no retries, so no 2 s backoff either
    assert "TLS" in str(caught.value)
    assert "certificate verify failed" in str(caught.value) or "unable to get local issuer" in str(caught.value)
    assert f"tls/{notary_server.host_port}/ca.crt" in str(caught.value)


def test_plain_http_to_the_tls_port_says_it_speaks_https(notary_server: NotaryServer, gun: str) -> None:
    plain = notary_server.url.replace("https://", "http://")
    with Remote(plain, retries=0) as remote, pytest.raises(tk.RemoteError) as caught:
        remote.get_key(gun, "timestamp")
    assert "speaks HTTPS" in str(caught.value)
    assert f"use {notary_server.url}" in str(caught.value)


def test_docker_tls_folder_and_server_variable(notary_server: NotaryServer, tmp_path: Path, gun: str) -> None:
    config_dir = tmp_path / "docker"
    (config_dir / "tls" / notary_server.host_port).mkdir(parents=True)
    shutil.copyfile(notary_server.ca_path, config_dir / "tls" / notary_server.host_port / "root-ca.crt")
    env = {"DOCKER_CONFIG": str(config_dir), "DOCKER_CONTENT_TRUST_SERVER": notary_server.url, "HOME": str(tmp_path)}
    config = docker_server_config(f"{gun}:latest", env=env)
    assert config.url == notary_server.url
    with Remote.from_config(config) as remote:
        with pytest.raises(tk.NotFoundError):
            remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
        assert remote.health() == {}


def test_notary_config_file_with_relative_paths(notary_server: NotaryServer, tmp_path: Path, gun: str) -> None:
    folder = tmp_path / "notary"
    (folder / "certs").mkdir(parents=True)
    shutil.copyfile(notary_server.ca_path, folder / "certs" / "ca.crt")
    (folder / "config.json").write_text(
        json.dumps({"remote_server": {"url": notary_server.url, "root_ca": "certs/ca.crt"}})
    )
    auth = base64.b64encode(b"unused:credentials").decode()
    config = notary_server_config(config_file=folder / "config.json", env={"HOME": str(tmp_path), "NOTARY_AUTH": auth})
    with Remote.from_config(config) as remote:
        repo = RepoSim.for_remote(remote, gun)
        files = repo.initial_files()
        remote.publish(gun, files)
        assert remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE) == files["root"]
        assert parse(remote.get_role(gun, "timestamp", max_size=MAX_TIMESTAMP_SIZE), "timestamp").signed.version == 1


@pytest.fixture(scope="module")
def mtls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryServer]:
    """A notary-server that requires a client certificate (``server.client_ca_file``)."""
    require_binary("notary-server", "notary")
    workdir = tmp_path_factory.mktemp("mtls")
    tls = make_tls_material(workdir / "tls")
    with ConfiguredNotaryServer(
        workdir, tls=tls, extra_config={"server": {"client_ca_file": str(tls.ca_cert)}}
    ) as process:
        yield process


def test_client_certificates(mtls_server: NotaryServer, gun: str) -> None:
    tls = mtls_server.tls
    with Remote(mtls_server.url, ca=tls.ca_cert, client_cert=(tls.server_cert, tls.server_key)) as remote:
        with pytest.raises(tk.NotFoundError):
            remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
        repo = RepoSim.for_remote(remote, gun)
        remote.publish(gun, repo.initial_files())
    with Remote(mtls_server.url, ca=tls.ca_cert, retries=0) as anonymous, pytest.raises(tk.RemoteError) as caught:
        anonymous.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    assert type(caught.value) is tk.RemoteError  # a TLS refusal: reported at once, not retried as "unavailable"
    assert "client_cert=" in str(caught.value)


# --- notary-server 0.7 quirks that trustkit documents (and LocalRemote does not copy) ---------------------------


def test_server_delete_takes_every_gun_it_prefixes(notary_server: NotaryServer, gun: str, tmp_path: Path) -> None:
    siblings = [gun, f"{gun}2", f"{gun}/sub"]
    local = LocalRemote(tmp_path)
    with Remote(notary_server.url, ca=notary_server.ca_path) as server:
        for remote in (server, local):
            for name in siblings:
                remote.publish(name, RepoSim.for_remote(remote, name).initial_files())
            remote.delete(gun)
        for name in siblings[1:]:
            with pytest.raises(tk.NotFoundError):  # the memory store deletes keys by string prefix
                server.get_role(name, "root", max_size=MAX_ROOT_SIZE)
            assert local.get_role(name, "root", max_size=MAX_ROOT_SIZE)


def test_server_changefeed_panic_is_a_clear_error(notary_server: NotaryServer) -> None:
    with Remote(notary_server.url, ca=notary_server.ca_path, retries=1, backoff=0) as server:
        with pytest.raises(tk.ServerUnavailableError, match="dropped the connection"):
            server.changefeed(change_id=0, records=-2)  # "slice bounds out of range" in the server's log
        server.health()  # the server survives its panic
    assert "panic serving" in notary_server.log_path.read_text()
