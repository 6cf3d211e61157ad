"""An in-process registry (httpx.MockTransport) that behaves as distribution 2.8.2 does where it matters: upload
Locations with a query, Content-Type checked on manifest PUT, per-repository blobs. Shared by the registry write
tests and the migration tests; the real registry is in the interop tests."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from trustkit.dct import Registry
from trustkit.dct.registry import OCI_MANIFEST

REPO = "ns/app"
BASE = "https://registry.test"


def digest_of(data: bytes) -> str:
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
            if digest_of(request.content) != digest:
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
            self.manifests[(repo, digest_of(body))] = (body, media_type)
            return httpx.Response(201, headers={"Docker-Content-Digest": digest_of(body)})
        stored = self.manifests.get((repo, reference))
        if stored is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
        body, media_type = stored
        headers = {"Content-Type": media_type, "Docker-Content-Digest": digest_of(body)}
        return httpx.Response(200, content=b"" if request.method == "HEAD" else body, headers=headers)

    def registry(self) -> Registry:
        return Registry(BASE, transport=httpx.MockTransport(self.handler), retries=0)

    def add_image(self, tag: str) -> str:
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": None, "layers": []}).encode()
        self.manifests[(REPO, tag)] = (body, OCI_MANIFEST)
        self.manifests[(REPO, digest_of(body))] = (body, OCI_MANIFEST)
        return digest_of(body)
