"""Docker's login flow for DCT against a real notary-server behind registry token auth: without ``docker login``
the DCT layer raises UnauthorizedError saying to log in; with the credentials docker stored, it works, and the
real docker CLI (same config.json) reads the result."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop._auth_setup import docker_config_env, token_auth_notary_server
from tests.interop.harness import DockerTrustCLI, NotaryServer, require_binary
from trustkit.dct import DockerTrust

pytestmark = pytest.mark.interop

REGISTRY = "localhost:5000"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryServer]:
    with token_auth_notary_server(tmp_path_factory, "dct-token-auth") as token_auth:
        yield token_auth.server


def docker_env(tmp_path: Path, server: NotaryServer, logins: dict[str, object]) -> dict[str, str]:
    return {
        **docker_config_env(tmp_path, server, {"auths": logins}),
        "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": "auth root passphrase",
        "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "auth repository passphrase",
    }


def test_signer_add_needs_a_login(token_server: NotaryServer, tmp_path: Path) -> None:
    gun = f"{REGISTRY}/auth/t-{uuid.uuid4().hex[:8]}"
    anonymous = DockerTrust(env=docker_env(tmp_path / "anonymous", token_server, {}))
    key = anonymous.generate_key("jeff")
    with pytest.raises(tk.UnauthorizedError) as raised:
        anonymous.add_signer("jeff", gun, keys=[key])
    assert raised.value.status == 401
    assert "docker login localhost:5000" in str(raised.value)
    anonymous.close()

    auth = base64.b64encode(b"alice:secret").decode()
    env = docker_env(tmp_path / "logged-in", token_server, {REGISTRY: {"auth": auth}})
    with DockerTrust(env=env) as logged_in:
        added = logged_in.add_signer("jeff", gun, keys=[key])
        assert added.initialized
        assert logged_in.inspect(gun)[0].signer("jeff").key_ids == (key.key_id,)
        wrong = DockerTrust(env=env, credentials=tk.Credentials("alice", "not the password"))
        with pytest.raises(tk.UnauthorizedError, match="docker login"):
            wrong.add_signer("ben", gun, keys=[key])
        wrong.close()

    require_binary("docker", "docker.io")
    docker = DockerTrustCLI(token_server, Path(env["DOCKER_CONFIG"]), tmp_path / "docker-home")
    (Path(env["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": auth}}}))
    [shown] = docker.inspect(gun)
    assert shown["Signers"] == [{"Name": "jeff", "Keys": [{"ID": key.key_id}]}]
