"""Docker's login flow for DCT against a real notary-server behind registry token auth: without ``docker login``
the DCT layer raises UnauthorizedError saying to log in; with the credentials docker stored, it works, and the
real docker CLI (same config.json) reads the result."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.harness import DockerTrustCLI, NotaryServer, make_tls_material, require_binary
from tests.interop.token_issuer import ConfiguredNotaryServer, TokenIssuer
from trustkit.dct import DockerTrust

pytestmark = pytest.mark.interop

REGISTRY = "localhost:5000"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryServer]:
    require_binary("notary-server", "notary")
    workdir = tmp_path_factory.mktemp("dct-token-auth")
    tls = make_tls_material(workdir / "tls")
    with TokenIssuer(workdir / "issuer", tls=tls) as issuer:
        auth = {
            "type": "token",
            "options": {
                "realm": issuer.realm,
                "service": "notary-test",
                "issuer": "test-issuer",
                "rootcertbundle": str(issuer.cert_path),
            },
        }
        with ConfiguredNotaryServer(workdir / "server", tls=tls, extra_config={"auth": auth}) as server:
            yield server


def docker_env(tmp_path: Path, server: NotaryServer, logins: dict[str, object]) -> dict[str, str]:
    config = tmp_path / "docker-config"
    (config / "tls" / server.host_port).mkdir(parents=True)
    shutil.copyfile(server.ca_path, config / "tls" / server.host_port / "ca.crt")
    (config / "config.json").write_text(json.dumps({"auths": logins}))
    return {
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(config),
        "DOCKER_CONTENT_TRUST_SERVER": server.url,
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
