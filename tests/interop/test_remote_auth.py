"""NotaryServer against a real notary-server 0.7 behind registry token authentication.

The server runs ``auth.type: token`` with a test token issuer (tests/interop/token_issuer.py) whose JWTs follow
distribution 2.8.2's rules. Credentials come the ways docker users have them: ``config.json`` ``auths``, a
credential helper on PATH (``credHelpers``, ``credsStore``), an identity token; configuration is resolved as
docker resolves it (``DOCKER_CONFIG``, ``DOCKER_CONTENT_TRUST_SERVER``, ``tls/<host:port>/``).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop._auth_setup import TokenAuthServer, docker_config_env, token_auth_notary_server
from tests.support.repo_sim import RepoSim, parse
from trustkit.remote import MAX_ROOT_SIZE, Credentials, docker_server_config
from trustkit.remote import NotaryServer as Remote

pytestmark = pytest.mark.interop

REGISTRY = "localhost:5000"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenAuthServer]:
    with token_auth_notary_server(tmp_path_factory, "token-auth", refresh_tokens={"refresh-alice": "alice"}) as server:
        yield server


@pytest.fixture
def gun() -> str:
    return f"{REGISTRY}/auth/t-{uuid.uuid4().hex[:8]}"


def _helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, answer: dict[str, str]) -> Path:
    """Put ``docker-credential-<name>`` on PATH; it logs what docker's protocol sends and prints ``answer``."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.log"
    script = folder / f"docker-credential-{name}"
    script.write_text(f"#!/bin/sh\necho \"$1\" >> {log}\ncat >> {log}\nprintf '%s' '{json.dumps(answer)}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def _alice(token_server: TokenAuthServer) -> Remote:
    return Remote(token_server.server.url, ca=token_server.server.ca_path, auth=Credentials("alice", "secret"))


def test_unauthenticated_publish_is_unauthorised(token_server: TokenAuthServer, gun: str) -> None:
    with _alice(token_server) as alice:
        repo = RepoSim.for_remote(alice, gun)  # the server keys need push access
    files = repo.initial_files()
    with Remote(token_server.server.url, ca=token_server.server.ca_path) as anonymous:
        with pytest.raises(tk.UnauthorizedError) as caught:
            anonymous.publish(gun, files)
        with pytest.raises(tk.UnauthorizedError):
            anonymous.get_key(gun, "timestamp")
        with pytest.raises(tk.NotFoundError):  # anonymous pull is allowed: nothing was stored
            anonymous.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    error = caught.value
    assert error.status == 401
    assert error.code == "UNAUTHORIZED"
    assert "insufficient_scope" in str(error)
    assert "docker login" in str(error)
    assert isinstance(error.detail, list)  # the accesses the server wanted, in Go map order
    assert sorted(error.detail, key=lambda access: access["Action"]) == [
        {"Type": "repository", "Class": "", "Name": gun, "Action": action} for action in ("pull", "push")
    ]
    anonymous_requests = [r for r in token_server.issuer.requests if r.user is None and gun in " ".join(r.scopes)]
    assert anonymous_requests and all(r.granted[0]["actions"] == ["pull"] for r in anonymous_requests)


def test_publish_with_docker_config_auths(token_server: TokenAuthServer, gun: str, tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:secret").decode()
    env = docker_config_env(tmp_path, token_server.server, {"auths": {f"https://{REGISTRY}": {"auth": auth}}})
    config = docker_server_config(f"{gun}:v1", env=env)
    assert config.registry == REGISTRY
    with Remote.from_config(config) as remote:
        repo = RepoSim.for_remote(remote, gun)
        remote.publish(gun, repo.initial_files())
        remote.publish(gun, repo.add_release("v1", b"one"))
        assert parse(remote.get_role(gun, "timestamp", max_size=MAX_ROOT_SIZE), "timestamp").signed.version == 2
    mine = [r for r in token_server.issuer.requests if gun in " ".join(r.scopes)]
    assert {r.user for r in mine} == {"alice"}
    assert any(r.granted[0]["actions"] == ["push", "pull"] for r in mine)


def test_publish_with_a_credential_helper(
    token_server: TokenAuthServer, gun: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _helper(
        tmp_path, monkeypatch, "trustkit-test", {"ServerURL": REGISTRY, "Username": "alice", "Secret": "secret"}
    )
    env = docker_config_env(tmp_path, token_server.server, {"credHelpers": {REGISTRY: "trustkit-test"}})
    with Remote.from_config(docker_server_config(gun, env=env)) as remote:
        repo = RepoSim.for_remote(remote, gun)
        files = repo.initial_files()
        remote.publish(gun, files)
        assert remote.get_role(gun, "targets/releases", max_size=MAX_ROOT_SIZE) == files["targets/releases"]
        remote.delete(gun)  # needs the "*" scope, which alice is granted
        with pytest.raises(tk.NotFoundError):
            remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    assert log.read_text() == f"get\n{REGISTRY}"  # docker's protocol: `get`, the server on stdin; asked once
    scopes = {scope for r in token_server.issuer.requests for scope in r.scopes if gun in scope}
    assert f"repository:{gun}:*" in scopes


def test_publish_with_a_creds_store_identity_token(
    token_server: TokenAuthServer, gun: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _helper(tmp_path, monkeypatch, "trustkit-store", {"Username": "<token>", "Secret": "refresh-alice"})
    env = docker_config_env(tmp_path, token_server.server, {"credsStore": "trustkit-store"})
    with Remote.from_config(docker_server_config(gun, env=env)) as remote:
        repo = RepoSim.for_remote(remote, gun)
        remote.publish(gun, repo.initial_files())
        new_key = remote.rotate_key(gun, "timestamp")
        remote.publish(gun, repo.use_timestamp_key(new_key))
        assert remote.get_key(gun, "timestamp") == new_key
    oauth = [r for r in token_server.issuer.requests if r.method == "POST" and gun in " ".join(r.scopes)]
    assert oauth
    assert all(r.form["grant_type"] == "refresh_token" and r.user == "alice" for r in oauth)


def test_wrong_password_is_unauthorised(token_server: TokenAuthServer, gun: str) -> None:
    with (
        Remote(token_server.server.url, ca=token_server.server.ca_path, auth=Credentials("alice", "wrong")) as remote,
        pytest.raises(tk.UnauthorizedError) as caught,
    ):
        remote.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
    assert "refused the credentials of alice" in str(caught.value)


def test_anonymous_reads_and_changefeed_scopes(token_server: TokenAuthServer, gun: str) -> None:
    with _alice(token_server) as alice:
        repo = RepoSim.for_remote(alice, gun)
        files = repo.initial_files()
        alice.publish(gun, files)
        assert any(r.gun == gun for r in alice.changefeed())  # all GUNs: registry:catalog:* for alice
        alice.ping()
    with Remote(token_server.server.url, ca=token_server.server.ca_path) as anonymous:
        assert anonymous.get_role(gun, "root", max_size=MAX_ROOT_SIZE) == files["root"]
        assert [r.version for r in anonymous.changefeed(gun)] == [1]
        with pytest.raises(tk.UnauthorizedError):
            anonymous.changefeed()  # the catalog scope is not given anonymously
        assert anonymous.health() == {}  # the health check needs no token
