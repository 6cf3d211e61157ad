"""docker trust sign end to end without a daemon: the tag is resolved from a real registry (Debian's
docker-registry, with a manifest pushed through the distribution API), signed by trustkit on the real
notary-server, and `docker trust inspect` shows the pushed manifest's digest."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.harness import DockerTrustCLI, NotaryServer, require_binary
from tests.interop.registry_harness import DockerRegistry, push_image
from trustkit.dct import DockerTrust, Registry
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    require_binary("docker-registry", "docker-registry")
    with DockerRegistry(tmp_path_factory.mktemp("sign-registry")) as server:
        yield server


def test_sign_a_pushed_tag(
    registry: DockerRegistry, notary_server: NotaryServer, docker_cli: DockerTrustCLI, tmp_path: Path
) -> None:
    path = f"trustkit/sign-{uuid.uuid4().hex[:8]}"
    with registry.client() as client:
        pushed = push_image(client, path, "v1", kind="oci")
        stored = client.get(f"/v2/{path}/manifests/v1", headers={"Accept": pushed.media_type}).content
    repo = f"localhost:5000/{path}"
    trust = DockerTrust(
        config_dir=docker_cli.config_dir,
        remote=NotaryServerRemote(notary_server.url, ca=notary_server.ca_path),
        resolver=Registry(registry.url, ca=registry.ca_path),
        env=docker_cli.env,
    )
    trust.add_signer("alice", repo, keys=[trust.generate_key("alice", directory=tmp_path)])
    signature = trust.sign(f"{repo}:v1")
    assert signature.target.sha256_hex == hashlib.sha256(stored).hexdigest()
    assert signature.target.length == len(stored)
    inspected = json.loads(docker_cli.run("trust", "inspect", repo).stdout)
    (row,) = inspected[0]["SignedTags"]
    assert row == {"SignedTag": "v1", "Digest": hashlib.sha256(stored).hexdigest(), "Signers": ["alice"]}
