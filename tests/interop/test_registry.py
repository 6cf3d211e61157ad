"""Registry.resolve against Debian's real ``docker-registry`` (distribution 2.8.2) on loopback with TLS.

Each test pushes its own image through the distribution API (tests/interop/registry_harness.py), then checks that
trustkit resolves tag and digest to exactly what the registry stores: the sha256 and length of the manifest bytes
the registry serves (fetched and hashed here, independently of trustkit) and of the bytes pushed. A second registry
runs registry token auth with the test token issuer (tests/interop/token_issuer.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import trustkit as tk
from tests.interop.harness import require_binary, ssl_context
from tests.interop.registry_harness import (
    DOCKER_MANIFEST,
    DockerRegistry,
    PushedManifest,
    TokenRegistry,
    get_manifest,
    push_image,
    push_index,
)
from tests.interop.token_issuer import SERVICE
from trustkit.dct.registry import ManifestInfo, Registry
from trustkit.remote import Credentials

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    require_binary("docker-registry", "docker-registry")
    with DockerRegistry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture
def name() -> str:
    return f"trustkit/t-{uuid.uuid4().hex[:8]}"


class RecordingTransport(httpx.HTTPTransport):
    """The real transport, remembering each request's method and path."""

    def __init__(self, ca: Path) -> None:
        super().__init__(verify=ssl_context(ca))
        self.calls: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        return super().handle_request(request)


def _stored(client: httpx.Client, name: str, reference: str) -> ManifestInfo:
    """What the registry stores under ``reference``, computed here: sha256 and length of the served bytes."""
    response = get_manifest(client, name, reference)
    content_type = response.headers["content-type"]
    return ManifestInfo("sha256:" + hashlib.sha256(response.content).hexdigest(), len(response.content), content_type)


def _check_pushed(registry: DockerRegistry, resolver: Registry, client: httpx.Client, pushed: PushedManifest) -> None:
    expected = ManifestInfo(pushed.digest, pushed.size, pushed.media_type)
    assert pushed.server_digest == pushed.digest
    assert _stored(client, pushed.name, pushed.tag or pushed.digest) == expected
    if pushed.tag is not None:
        assert resolver.resolve(f"{registry.host_port}/{pushed.name}:{pushed.tag}") == expected
    assert resolver.resolve(f"{registry.host_port}/{pushed.name}@{pushed.digest}") == expected


# --- resolving -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["docker", "oci"])
def test_resolve_image_manifest(registry: DockerRegistry, name: str, kind: str) -> None:
    transport = RecordingTransport(registry.ca_path)
    with registry.client() as client, Registry(registry.url, transport=transport) as resolver:
        pushed = push_image(client, name, "v1", kind=kind)
        _check_pushed(registry, resolver, client, pushed)
    # A tag takes one HEAD (the registry gives digest, length and type); a digest is fetched and verified.
    assert transport.calls == [("HEAD", f"/v2/{name}/manifests/v1"), ("GET", f"/v2/{name}/manifests/{pushed.digest}")]


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_resolve_index_or_manifest_list(registry: DockerRegistry, name: str, kind: str) -> None:
    with registry.client() as client, Registry(registry.url, ca=registry.ca_path) as resolver:
        amd64 = push_image(client, name, None, kind=kind, architecture="amd64")
        arm64 = push_image(client, name, None, kind=kind, architecture="arm64")
        index = push_index(client, name, "multi", [amd64, arm64], kind=kind)
        _check_pushed(registry, resolver, client, index)
        for child in (amd64, arm64):
            _check_pushed(registry, resolver, client, child)
        # The tag is the index's, never a child's (docker signs the index of a multi-platform image).
        assert resolver.resolve(f"{registry.host_port}/{name}:multi").digest not in (amd64.digest, arm64.digest)


def test_accept_header_matters(registry: DockerRegistry, name: str) -> None:
    """Why every type is sent: 2.8.2 answers a manifest list tag asked for with schema2 only with the amd64 child,
    an OCI index tag with 404, and a schema2 tag asked for with no Accept with 400."""
    with registry.client() as client, Registry(registry.url, ca=registry.ca_path) as resolver:
        amd64 = push_image(client, name, "plain", kind="docker", architecture="amd64")
        arm64 = push_image(client, name, None, kind="docker", architecture="arm64")
        push_index(client, name, "list", [amd64, arm64], kind="docker")
        push_index(client, name, "index", [amd64, arm64], kind="oci")
        narrow = client.head(f"/v2/{name}/manifests/list", headers={"Accept": DOCKER_MANIFEST})
        assert narrow.status_code == 200
        assert narrow.headers["docker-content-digest"] == amd64.digest  # not the list's digest
        assert client.head(f"/v2/{name}/manifests/index", headers={"Accept": DOCKER_MANIFEST}).status_code == 404
        assert client.get(f"/v2/{name}/manifests/plain").status_code == 400
        assert resolver.resolve(f"{registry.host_port}/{name}:list").digest != amd64.digest


def test_pushed_by_digest_only(registry: DockerRegistry, name: str) -> None:
    with registry.client() as client, Registry(registry.url, ca=registry.ca_path) as resolver:
        pushed = push_image(client, name, None, kind="oci")
        info = resolver.resolve(f"{registry.host_port}/{name}@{pushed.digest}")
        assert info == ManifestInfo(pushed.digest, pushed.size, pushed.media_type)
        with pytest.raises(tk.NotFoundError):
            resolver.resolve(f"{registry.host_port}/{name}")  # no tag: latest does not exist


def test_not_found(registry: DockerRegistry, name: str) -> None:
    with registry.client() as client, Registry(registry.url, ca=registry.ca_path, retries=0) as resolver:
        push_image(client, name, "v1")
        with pytest.raises(tk.NotFoundError, match="has no manifest") as unknown_tag:
            resolver.resolve(f"{registry.host_port}/{name}:v2")
        with pytest.raises(tk.NotFoundError):
            resolver.resolve(f"{registry.host_port}/{name}-missing:v1")
        with pytest.raises(tk.NotFoundError) as unknown_digest:
            resolver.resolve(f"{registry.host_port}/{name}@sha256:{'0' * 64}")
    assert unknown_tag.value.status == 404
    assert unknown_digest.value.code == "MANIFEST_UNKNOWN"


def test_retag_resolves_to_the_new_manifest(registry: DockerRegistry, name: str) -> None:
    with registry.client() as client, Registry(registry.url, ca=registry.ca_path) as resolver:
        first = push_image(client, name, "v1")
        second = push_image(client, name, "v1")
        assert first.digest != second.digest
        assert resolver.resolve(f"{registry.host_port}/{name}:v1").digest == second.digest
        assert resolver.resolve(f"{registry.host_port}/{name}@{first.digest}").digest == first.digest


def test_tls_without_the_ca_fails_with_a_hint(registry: DockerRegistry, name: str) -> None:
    with Registry(registry.url, retries=0) as resolver, pytest.raises(tk.RemoteError) as caught:
        resolver.resolve(f"{registry.host_port}/{name}:v1")
    assert type(caught.value) is tk.RemoteError
    assert "unable to get local issuer certificate" in str(caught.value)
    assert f"/etc/docker/certs.d/{registry.host_port}/ca.crt" in str(caught.value)


def test_from_reference_uses_the_certs_dir(registry: DockerRegistry, name: str, tmp_path: Path) -> None:
    certs = tmp_path / "certs.d" / registry.host_port
    certs.mkdir(parents=True)
    shutil.copyfile(registry.ca_path, certs / "ca.crt")
    reference = f"{registry.host_port}/{name}:v1"
    with registry.client() as client:
        pushed = push_image(client, name, "v1")
    env = {"DOCKER_CONFIG": str(tmp_path / "docker"), "HOME": str(tmp_path)}
    with Registry.from_reference(reference, certs_dir=tmp_path / "certs.d", env=env) as resolver:
        assert resolver.url == registry.url
        assert resolver.resolve(reference).digest == pushed.digest


# --- token auth ----------------------------------------------------------------------------------------------


def test_token_auth_with_credentials(token_registry: TokenRegistry, name: str) -> None:
    server = token_registry.server
    with token_registry.push_client(name) as client:
        pushed = push_image(client, name, "v1", kind="oci")
        stored = _stored(client, name, "v1")
    before = len(token_registry.issuer.requests)
    with Registry(server.url, ca=server.ca_path, auth=Credentials("alice", "secret")) as resolver:
        assert resolver.resolve(f"{server.host_port}/{name}:v1") == stored
        assert resolver.resolve(f"{server.host_port}/{name}@{pushed.digest}") == stored
    requests = token_registry.issuer.requests[before:]
    assert [(r.user, r.scopes, r.service, r.status) for r in requests] == [
        ("alice", [f"repository:{name}:pull"], SERVICE, 200)  # one token, reused for the second request
    ]


def test_token_auth_anonymous_pull(token_registry: TokenRegistry, name: str) -> None:
    server = token_registry.server
    with token_registry.push_client(name) as client:
        pushed = push_image(client, name, "v1")
    with Registry(server.url, ca=server.ca_path) as resolver:
        assert resolver.resolve(f"{server.host_port}/{name}:v1").digest == pushed.digest
    assert token_registry.issuer.requests[-1].user is None


def test_token_auth_wrong_password(token_registry: TokenRegistry, name: str) -> None:
    server = token_registry.server
    with (
        Registry(server.url, ca=server.ca_path, auth=Credentials("alice", "wrong")) as resolver,
        pytest.raises(tk.UnauthorizedError) as caught,
    ):
        resolver.resolve(f"{server.host_port}/{name}:v1")
    assert caught.value.status == 401
    assert "docker login" in str(caught.value)


def test_registry_refuses_a_token_for_another_repository(token_registry: TokenRegistry, name: str) -> None:
    """A token for another repository is refused by the registry itself: 401 insufficient_scope."""
    server = token_registry.server
    other = token_registry.issuer.make_token("alice", [{"type": "repository", "name": "other", "actions": ["pull"]}])
    with server.client(authorization=f"Bearer {other}") as client:
        response = client.head(f"/v2/{name}/manifests/v1")
    assert response.status_code == 401
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_token_auth_with_docker_config(token_registry: TokenRegistry, name: str, tmp_path: Path) -> None:
    server = token_registry.server
    with token_registry.push_client(name) as client:
        pushed = push_image(client, name, "v1")
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"alice:secret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {server.host_port: {"auth": auth}}}))
    certs = tmp_path / "certs.d" / server.host_port
    certs.mkdir(parents=True)
    shutil.copyfile(server.ca_path, certs / "ca.crt")
    reference = f"{server.host_port}/{name}:v1"
    env = {"DOCKER_CONFIG": str(config), "HOME": str(tmp_path)}
    with Registry.from_reference(reference, certs_dir=tmp_path / "certs.d", env=env) as resolver:
        assert resolver.resolve(reference).digest == pushed.digest
    assert token_registry.issuer.requests[-1].user == "alice"
