"""Registry pushes and sigstore attachments against an in-process registry (httpx.MockTransport) that behaves as
distribution 2.8.2 does where it matters: upload Locations with a query, Content-Type checked on manifest PUT,
per-repository blobs. The real registry is in tests/interop/test_migrate_registry.py."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from trustkit.dct import Registry
from trustkit.dct.registry import DOCKER_MANIFEST, OCI_MANIFEST
from trustkit.dct.registry_write import get_blob, list_tags, push_blob, put_manifest
from trustkit.errors import ConfigurationError, KeyFormatError, NotFoundError, RemoteError, VerificationError
from trustkit.keys import PrivateKey, generate_private_key
from trustkit.migrate import (
    SignatureLayer,
    append_signatures,
    load_verification_key,
    make_payload,
    read_signatures,
    sign_payload,
    signature_tag,
    verify_image,
)
from trustkit.remote import NotaryServer

REPO = "ns/app"
BASE = "https://registry.test"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """Blobs, manifests and uploads of one registry, in memory."""

    def __init__(self, *, upload_origin: str = BASE, slow_put: float = 0.0) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.upload_origin = upload_origin
        self.slow_put = slow_put
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        path = url.path
        self.requests.append((request.method, path))
        if "/blobs/uploads/" in path:
            repo = path.split("/v2/")[1].split("/blobs/")[0]
            if request.method == "POST":
                return httpx.Response(
                    202, headers={"Location": f"{self.upload_origin}/v2/{repo}/blobs/uploads/u1?_state=s"}
                )
            query = parse_qs(urlsplit(str(url)).query)
            if query.get("_state") != ["s"]:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "lost"}]})
            digest = query["digest"][0]
            if _digest(request.content) != digest:
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "mismatch"}]})
            self.blobs[(repo, digest)] = request.content
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if "/blobs/" in path:
            repo, digest = path.split("/v2/")[1].split("/blobs/")
            blob = self.blobs.get((repo, digest))
            if blob is None:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})
            return httpx.Response(200, content=b"" if request.method == "HEAD" else blob)
        if path.endswith("/tags/list"):
            repo = path.split("/v2/")[1].removesuffix("/tags/list")
            tags = sorted(ref for r, ref in self.manifests if r == repo and not ref.startswith("sha256:"))
            return httpx.Response(200, json={"name": repo, "tags": tags})
        repo, reference = path.split("/v2/")[1].split("/manifests/")
        if request.method == "PUT":
            if self.slow_put:
                time.sleep(self.slow_put)
            media_type = request.headers["content-type"]
            body = request.content
            document = json.loads(body)
            if document.get("mediaType") not in (None, media_type):
                return httpx.Response(400, json={"errors": [{"code": "MANIFEST_INVALID", "message": "bad"}]})
            for child in [document.get("config"), *document.get("layers", [])]:
                if child and (repo, child["digest"]) not in self.blobs:
                    return httpx.Response(400, json={"errors": [{"code": "MANIFEST_BLOB_UNKNOWN", "message": "x"}]})
            self.manifests[(repo, reference)] = (body, media_type)
            self.manifests[(repo, _digest(body))] = (body, media_type)
            return httpx.Response(201, headers={"Docker-Content-Digest": _digest(body)})
        stored = self.manifests.get((repo, reference))
        if stored is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
        body, media_type = stored
        headers = {"Content-Type": media_type, "Docker-Content-Digest": _digest(body)}
        return httpx.Response(200, content=b"" if request.method == "HEAD" else body, headers=headers)

    def registry(self) -> Registry:
        return Registry(BASE, transport=httpx.MockTransport(self.handler), retries=0)

    def add_image(self, tag: str) -> str:
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": None, "layers": []}).encode()
        self.manifests[(REPO, tag)] = (body, OCI_MANIFEST)
        self.manifests[(REPO, _digest(body))] = (body, OCI_MANIFEST)
        return _digest(body)


def _layer(key: PrivateKey, reference: str, digest: str, *, timestamp: int = 1) -> SignatureLayer:
    payload = make_payload(reference, digest, timestamp=timestamp)
    return SignatureLayer.create(payload, base64.b64encode(sign_payload(key, payload)).decode())


def test_push_blob_keeps_the_location_query_and_skips_existing_blobs() -> None:
    fake = FakeRegistry()
    with fake.registry() as registry:
        digest = push_blob(registry, REPO, b"payload")
        assert get_blob(registry, REPO, digest) == b"payload"
        uploads = sum(1 for method, _ in fake.requests if method == "POST")
        assert push_blob(registry, REPO, b"payload") == digest
        assert sum(1 for method, _ in fake.requests if method == "POST") == uploads


def test_upload_location_on_another_origin_is_refused() -> None:
    fake = FakeRegistry(upload_origin="https://elsewhere.test")
    with fake.registry() as registry, pytest.raises(RemoteError, match="another origin"):
        push_blob(registry, REPO, b"payload")
    assert not any("elsewhere" in path for _, path in fake.requests)


def test_put_manifest_sends_its_media_type() -> None:
    fake = FakeRegistry()
    with fake.registry() as registry:
        config = push_blob(registry, REPO, b"{}")
        body = json.dumps({"mediaType": OCI_MANIFEST, "config": {"digest": config}, "layers": []}).encode()
        assert put_manifest(registry, REPO, "v1", body, OCI_MANIFEST) == _digest(body)
        assert fake.manifests[(REPO, "v1")] == (body, OCI_MANIFEST)
        assert list_tags(registry, REPO) == ["v1"]


def test_append_signs_verifies_and_skips_duplicates() -> None:
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    key = generate_private_key()
    layer = _layer(key, "registry.test/ns/app:v1", digest)
    with fake.registry() as registry:
        assert append_signatures(registry, REPO, digest, [layer, layer]) is True
        assert append_signatures(registry, REPO, digest, [layer]) is False
        attachment = read_signatures(registry, REPO, digest)
        assert attachment.tag == signature_tag(digest) and len(attachment.layers) == 1
        manifest = attachment.manifest
        assert manifest is not None and manifest["mediaType"] == OCI_MANIFEST
        config = json.loads(get_blob(registry, REPO, manifest["config"]["digest"]))  # type: ignore[index]
        assert config["rootfs"]["diff_ids"] == [layer.descriptor["digest"]]
        (accepted,) = verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))
        assert accepted.payload.manifest_digest == digest
        unsigned = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "v": 2}).encode()
        fake.manifests[(REPO, "v2")] = (unsigned, OCI_MANIFEST)
        with pytest.raises(VerificationError, match="A signature was required, but no signature exists"):
            verify_image(registry, "registry.test/ns/app:v2", load_verification_key(key))


def test_a_non_oci_attachment_is_refused_not_overwritten() -> None:
    """skopeo 1.9.3 silently writes nothing when the .sig tag holds a v2s2 manifest; trustkit says so."""
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    fake.manifests[(REPO, signature_tag(digest))] = (b'{"schemaVersion":2}', DOCKER_MANIFEST)
    key = generate_private_key()
    with fake.registry() as registry:
        with pytest.raises(RemoteError, match="unexpected MIME type for sigstore attachment manifest"):
            append_signatures(registry, REPO, digest, [_layer(key, "registry.test/ns/app:v1", digest)])
        with pytest.raises(RemoteError, match="unexpected MIME type for sigstore attachment manifest"):
            verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))
    assert fake.manifests[(REPO, signature_tag(digest))][1] == DOCKER_MANIFEST


def test_concurrent_appends_to_one_tag_keep_every_layer() -> None:
    fake = FakeRegistry(slow_put=0.05)
    digest = fake.add_image("v1")
    keys = [generate_private_key() for _ in range(4)]
    layers = [_layer(key, "registry.test/ns/app:v1", digest) for key in keys]
    with fake.registry() as registry:
        threads = [
            threading.Thread(target=append_signatures, args=(registry, REPO, digest, [layer])) for layer in layers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(read_signatures(registry, REPO, digest).layers) == 4
        for key in keys:
            verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))


def test_verify_image_takes_trustkit_and_securesystemslib_keys() -> None:
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    key = generate_private_key()
    with fake.registry() as registry:
        append_signatures(registry, REPO, digest, [_layer(key, "registry.test/ns/app:v1", digest)])
        for given in (key, key.public_key, key.signer().public_key, load_verification_key(key)):
            (accepted,) = verify_image(registry, "registry.test/ns/app:v1", given)
            assert accepted.payload.manifest_digest == digest
        asked = len(fake.requests)
        for wrong in ("/tmp/cosign.pub", 42, None):
            with pytest.raises(KeyFormatError, match=r"PEM public key|expected a verification key"):
                verify_image(registry, "registry.test/ns/app:v1", wrong)
        assert len(fake.requests) == asked  # refused before the registry is asked


def test_a_missing_repository_is_named_plainly() -> None:
    registry = Registry(BASE, transport=httpx.MockTransport(_unknown_repository), retries=0)
    with registry, pytest.raises(NotFoundError) as caught:
        list_tags(registry, "team/other")
    assert str(caught.value).startswith("registry.test has no repository team/other (")


def _unknown_repository(request: httpx.Request) -> httpx.Response:
    body = {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}]}
    return httpx.Response(404, json=body)


def test_a_registry_url_without_scheme_names_the_registry() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Registry("127.0.0.1:5000")
    message = str(caught.value)
    assert "for registry" in message and "trust server" not in message
    assert message.endswith("give the scheme, e.g. 'https://127.0.0.1:5000'")
    with pytest.raises(ConfigurationError, match=r"required for trust server, got 'notary\.example'"):
        NotaryServer("notary.example")
