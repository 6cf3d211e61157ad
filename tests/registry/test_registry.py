"""Registry.resolve over an injected httpx transport: every branch of HEAD/GET, digests, auth, errors and caps.

The fake registry answers as distribution 2.8.2 does (headers and error bodies captured from the real
``docker-registry``; the interop tests in tests/interop/test_registry.py provoke them for real).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import trustkit as tk
from trustkit.dct.registry import (
    DOCKER_HUB_REGISTRY,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_ACCEPT,
    MAX_MANIFEST_SIZE,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestInfo,
    Registry,
    registry_url,
)
from trustkit.remote import Credentials, ImageReference

Handler = Callable[[httpx.Request], httpx.Response]
URL = "https://registry.test:5000"
REALM = "https://auth.test/token"

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    },
    indent=3,
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
OTHER_DIGEST = "sha256:" + "b" * 64


def _registry(handler: Handler, **options: Any) -> Registry:
    options.setdefault("retries", 1)
    return Registry(URL, transport=httpx.MockTransport(handler), backoff=0, **options)


def _head(
    digest: str | None = DIGEST, length: str | None = str(len(MANIFEST)), media_type: str | None = DOCKER_MANIFEST
) -> httpx.Response:
    headers = {"Docker-Distribution-Api-Version": "registry/2.0"}
    if digest is not None:
        headers["Docker-Content-Digest"] = digest
    if length is not None:
        headers["Content-Length"] = length
    if media_type is not None:
        headers["Content-Type"] = media_type
    return httpx.Response(200, headers=headers)


def _get(
    body: bytes = MANIFEST, *, digest: str | None = DIGEST, media_type: str | None = DOCKER_MANIFEST
) -> httpx.Response:
    headers = {}
    if digest is not None:
        headers["Docker-Content-Digest"] = digest
    if media_type is not None:
        headers["Content-Type"] = media_type
    return httpx.Response(200, headers=headers, content=body)


def _errors(status: int, code: str, message: str, detail: Any = None, **headers: str) -> httpx.Response:
    body = {"errors": [{"code": code, "message": message, "detail": detail if detail is not None else {}}]}
    return httpx.Response(
        status,
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
        content=json.dumps(body).encode(),
    )


class Recorder:
    """A handler that answers from a script (by method) and records every request."""

    def __init__(self, **answers: Callable[[httpx.Request], httpx.Response] | httpx.Response) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[request.method]
        if callable(answer):
            return answer(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)  # a fresh copy

    @property
    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.raw_path.decode()) for r in self.requests]


# --- HEAD, then GET ----------------------------------------------------------------------------------------


def test_head_with_digest_is_enough() -> None:
    recorder = Recorder(HEAD=_head())
    with _registry(recorder) as registry:
        info = registry.resolve("registry.test:5000/ns/app:v1")
    assert info == ManifestInfo(DIGEST, len(MANIFEST), DOCKER_MANIFEST)
    assert recorder.calls == [("HEAD", "/v2/ns/app/manifests/v1")]
    request = recorder.requests[0]
    assert request.headers["accept"] == MANIFEST_ACCEPT
    assert request.headers["accept-encoding"] == "identity"  # Content-Length is the manifest's own length
    assert request.headers["user-agent"].startswith("trustkit")
    assert "authorization" not in request.headers


def test_accept_header_is_containerds_list() -> None:
    assert MANIFEST_ACCEPT == (
        "application/vnd.docker.distribution.manifest.v2+json, "
        "application/vnd.docker.distribution.manifest.list.v2+json, "
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*"
    )


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        ("alpine", "/v2/library/alpine/manifests/latest"),
        ("docker.io/library/alpine:3.20", "/v2/library/alpine/manifests/3.20"),
        ("index.docker.io/ns/app:v1", "/v2/ns/app/manifests/v1"),
        ("localhost:5000/a/b/c:v1", "/v2/a/b/c/manifests/v1"),
        (ImageReference.parse("localhost/app:x"), "/v2/app/manifests/x"),
    ],
)
def test_reference_paths(reference: str | ImageReference, path: str) -> None:
    recorder = Recorder(HEAD=_head())
    with _registry(recorder) as registry:
        registry.resolve(reference)
    assert recorder.calls == [("HEAD", path)]


@pytest.mark.parametrize(
    "head",
    [
        _head(digest=None),  # no digest: GET, as containerd does
        _head(length=None),  # no length
        _head(media_type=None),  # no media type
        _head(media_type="text/html"),
        _head(length="0"),  # a proxy's HEAD
        httpx.Response(200, headers={**_head().headers, "Content-Encoding": "gzip"}),  # compressed length
        _head(digest="sha512:" + "c" * 128),  # docker content trust needs the sha256
        httpx.Response(405),  # a registry without HEAD
    ],
    ids=["no-digest", "no-length", "no-type", "html", "zero-length", "gzip", "sha512", "405"],
)
def test_head_without_usable_answer_falls_back_to_get(head: httpx.Response) -> None:
    recorder = Recorder(HEAD=head, GET=_get(digest=None))
    with _registry(recorder) as registry:
        info = registry.resolve("registry.test:5000/ns/app:v1")
    assert info == ManifestInfo(DIGEST, len(MANIFEST), DOCKER_MANIFEST)
    assert recorder.calls == [("HEAD", "/v2/ns/app/manifests/v1"), ("GET", "/v2/ns/app/manifests/v1")]
    assert recorder.requests[1].headers["accept"] == MANIFEST_ACCEPT


def test_get_checks_the_registrys_digest() -> None:
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(digest=OTHER_DIGEST))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert caught.value.code == "DIGEST_INVALID"
    assert OTHER_DIGEST in str(caught.value)
    assert "does not match" in str(caught.value)


def test_get_checks_a_sha512_header_too() -> None:
    sha512 = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
    recorder = Recorder(HEAD=_head(digest=sha512), GET=_get(digest=sha512))
    with _registry(recorder) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(digest="sha512:" + "0" * 128))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError, match="does not match"):
        registry.resolve("registry.test:5000/ns/app:v1")


@pytest.mark.parametrize(
    "header", ["sha256:xyz", "sha256:" + "A" * 64, "md5:" + "0" * 32, "sha256:" + "0" * 63, "garbage"]
)
def test_malformed_digest_header_is_an_error(header: str) -> None:
    for recorder in (Recorder(HEAD=_head(digest=header)), Recorder(HEAD=_head(digest=None), GET=_get(digest=header))):
        with _registry(recorder) as registry, pytest.raises(tk.RemoteError) as caught:
            registry.resolve("registry.test:5000/ns/app:v1")
        assert caught.value.code == "DIGEST_INVALID"
        assert "malformed Docker-Content-Digest" in str(caught.value)


def test_redirects_are_followed() -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.host == "registry.test":
            if "authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            return httpx.Response(307, headers={"Location": "https://mirror.test/v2/ns/app/manifests/v1"})
        return _head()

    with _registry(handler, auth=Credentials("alice", "secret")) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
    assert seen[-1] == ("https://mirror.test/v2/ns/app/manifests/v1", None)  # credentials stay with the registry


# --- digest references -------------------------------------------------------------------------------------


def test_digest_reference_is_fetched_and_verified() -> None:
    recorder = Recorder(GET=_get(digest=None))  # no header needed: the reference is the digest
    with _registry(recorder) as registry:
        info = registry.resolve(f"registry.test:5000/ns/app@{DIGEST}")
    assert info == ManifestInfo(DIGEST, len(MANIFEST), DOCKER_MANIFEST)
    assert recorder.calls == [("GET", f"/v2/ns/app/manifests/{DIGEST}")]


def test_digest_wins_over_tag() -> None:
    recorder = Recorder(GET=_get())
    with _registry(recorder) as registry:
        registry.resolve(f"registry.test:5000/ns/app:v1@{DIGEST}")
    assert recorder.calls == [("GET", f"/v2/ns/app/manifests/{DIGEST}")]


@pytest.mark.parametrize("header", [OTHER_DIGEST, DIGEST, None], ids=["lying-header", "echoed-header", "no-header"])
def test_digest_reference_does_not_trust_the_server(header: str | None) -> None:
    tampered = MANIFEST.replace(b'"layers"', b'"Layers"')
    recorder = Recorder(GET=_get(tampered, digest=header))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError) as caught:
        registry.resolve(f"registry.test:5000/ns/app@{DIGEST}")
    assert caught.value.code == "DIGEST_INVALID"
    assert "the reference gives" in str(caught.value)


def test_digest_reference_with_right_body_but_lying_header_fails() -> None:
    recorder = Recorder(GET=_get(digest=OTHER_DIGEST))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError, match="the registry gives"):
        registry.resolve(f"registry.test:5000/ns/app@{DIGEST}")


def test_sha512_digest_reference() -> None:
    sha512 = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
    recorder = Recorder(GET=_get(digest=sha512))
    with _registry(recorder) as registry:
        info = registry.resolve(f"registry.test:5000/ns/app@{sha512}")
    assert info.digest == DIGEST  # docker content trust records the sha256
    assert recorder.calls == [("GET", f"/v2/ns/app/manifests/{sha512}")]


# --- media types -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX])
def test_every_manifest_type_resolves(media_type: str) -> None:
    recorder = Recorder(HEAD=_head(media_type=f"{media_type}; charset=utf-8"))
    with _registry(recorder) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").media_type == media_type


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}, OCI_INDEX),
        ({"schemaVersion": 2, "manifests": []}, OCI_INDEX),  # OCI before 1.1 omits mediaType
        ({"schemaVersion": 2, "config": {}, "layers": []}, OCI_MANIFEST),
    ],
)
def test_media_type_from_the_body_when_the_header_says_nothing(body: dict[str, Any], expected: str) -> None:
    data = json.dumps(body).encode()
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(data, digest=None, media_type="application/octet-stream"))
    with _registry(recorder) as registry:
        info = registry.resolve("registry.test:5000/ns/app:v1")
    assert info == ManifestInfo("sha256:" + hashlib.sha256(data).hexdigest(), len(data), expected)


def test_schema1_is_unsupported() -> None:
    recorder = Recorder(HEAD=_head(media_type="application/vnd.docker.distribution.manifest.v1+prettyjws"))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError, match="docker content trust does not sign"):
        registry.resolve("registry.test:5000/ns/app:v1")


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (b'{"schemaVersion":1,"name":"ns/app"}', "application/json"),
        (b"{}", "application/vnd.docker.distribution.manifest.v1+json"),
        (b'{"schemaVersion":2,"mediaType":"application/vnd.example+json"}', None),
        (b'{"schemaVersion":3}', None),
    ],
    ids=["schema1-body", "schema1-type", "unknown-type", "unknown-shape"],
)
def test_unsupported_manifests(body: bytes, media_type: str | None) -> None:
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(body, digest=None, media_type=media_type))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError, match="docker content trust does not sign"):
        registry.resolve("registry.test:5000/ns/app:v1")


@pytest.mark.parametrize("body", [b"<html>hi</html>", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_no_manifest(body: bytes) -> None:
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(body, digest=None, media_type=OCI_MANIFEST))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError, match=r"not (JSON|a JSON object)"):
        registry.resolve("registry.test:5000/ns/app:v1")


# --- authentication ----------------------------------------------------------------------------------------


def _challenge(scope: str = "repository:ns/app:pull", error: str | None = None) -> httpx.Response:
    value = f'Bearer realm="{REALM}",service="registry.test",scope="{scope}"'
    if error:
        value += f',error="{error}"'
    detail = [{"Type": "repository", "Class": "", "Name": "ns/app", "Action": "pull"}]
    return _errors(401, "UNAUTHORIZED", "authentication required", detail, **{"WWW-Authenticate": value})


class TokenRegistry:
    """A registry behind token auth: the token server grants ``good-token`` to alice:secret (or anonymously)."""

    def __init__(self, *, anonymous: bool = False) -> None:
        self.anonymous = anonymous
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "auth.test":
            basic = "Basic " + base64.b64encode(b"alice:secret").decode()
            if request.headers.get("authorization") == basic or (
                self.anonymous and "authorization" not in request.headers
            ):
                return httpx.Response(200, json={"token": "good-token", "expires_in": 300})
            return httpx.Response(401, json={"details": "invalid credentials"})
        if request.headers.get("authorization") != "Bearer good-token":
            return _challenge(error="invalid_token" if "authorization" in request.headers else None)
        return _head() if request.method == "HEAD" else _get()


def test_token_flow() -> None:
    fake = TokenRegistry()
    with _registry(fake, auth=Credentials("alice", "secret")) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
        assert registry.resolve("registry.test:5000/ns/app:v2").digest == DIGEST  # the token is reused
    hosts = [(r.method, r.url.host, r.headers.get("authorization")) for r in fake.requests]
    assert hosts == [
        ("HEAD", "registry.test", None),
        ("GET", "auth.test", "Basic " + base64.b64encode(b"alice:secret").decode()),
        ("HEAD", "registry.test", "Bearer good-token"),
        ("HEAD", "registry.test", "Bearer good-token"),
    ]
    token_request = fake.requests[1]
    assert dict(token_request.url.params) == {
        "account": "alice",
        "service": "registry.test",
        "scope": "repository:ns/app:pull",
    }


def test_anonymous_token_flow() -> None:
    fake = TokenRegistry(anonymous=True)
    with _registry(fake) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
    token_request = fake.requests[1]
    assert "authorization" not in token_request.headers
    assert "account" not in token_request.url.params


def test_credentials_are_looked_up_when_first_needed() -> None:
    calls: list[int] = []

    def source() -> Credentials:
        calls.append(1)
        return Credentials("alice", "secret")

    fake = TokenRegistry()
    with _registry(fake, auth=source) as registry:
        registry.resolve("registry.test:5000/ns/app:v1")
        registry.resolve("registry.test:5000/ns/app:v1")
    assert calls == [1]


def test_wrong_password_is_unauthorized() -> None:
    with (
        _registry(TokenRegistry(), auth=Credentials("alice", "wrong")) as registry,
        pytest.raises(tk.UnauthorizedError) as caught,
    ):
        registry.resolve("registry.test:5000/ns/app:v1")
    assert caught.value.status == 401
    assert "docker login" in str(caught.value)


def test_token_without_the_scope_is_unauthorized_with_a_hint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "weak-token"})
        if "authorization" in request.headers:
            return _challenge(error="insufficient_scope")
        return _challenge()

    with (
        _registry(handler, auth=Credentials("alice", "secret")) as registry,
        pytest.raises(tk.UnauthorizedError) as caught,
    ):
        registry.resolve("registry.test:5000/ns/app:v1")
    message = str(caught.value)
    assert caught.value.status == 401
    assert "insufficient_scope" in message
    assert "repository:ns/app:pull" in message
    assert "docker login registry.test:5000" in message
    assert "Registry(url, auth=Credentials(username, password))" in message
    assert "with the credentials given" in message


def test_anonymous_refusal_says_no_credentials_were_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _errors(403, "DENIED", "requested access to the resource is denied")

    with _registry(handler) as registry, pytest.raises(tk.UnauthorizedError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert caught.value.status == 403
    assert "no credentials were sent" in str(caught.value)


def test_docker_hub_login_hint() -> None:
    handler = Recorder(HEAD=httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}))
    hub = Registry(DOCKER_HUB_REGISTRY, transport=httpx.MockTransport(handler), retries=0)
    with hub, pytest.raises(tk.UnauthorizedError, match=r"log in with `docker login` \(trustkit"):
        hub.resolve("alpine")


def test_basic_auth() -> None:
    basic = "Basic " + base64.b64encode(b"alice:secret").decode()
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != basic:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="Registry Realm"'})
        return _head()

    with _registry(handler, auth=Credentials("alice", "secret")) as registry:
        registry.resolve("registry.test:5000/ns/app:v1")
        registry.resolve("registry.test:5000/ns/app:v1")
    assert seen == [None, basic, basic]  # once the registry asked for basic, it is sent up front


# --- not found, failures, retries, caps --------------------------------------------------------------------


def test_unknown_tag_head() -> None:
    recorder = Recorder(HEAD=httpx.Response(404, headers={"Content-Type": "application/json; charset=utf-8"}))
    with _registry(recorder) as registry, pytest.raises(tk.NotFoundError) as caught:
        registry.resolve("registry.test:5000/ns/app:v9")
    assert caught.value.status == 404
    assert "registry.test:5000 has no manifest ns/app:v9" in str(caught.value)
    assert len(recorder.requests) == 1  # a 404 is not retried


def test_unknown_digest_get() -> None:
    detail = {"Name": "ns/app", "Revision": OTHER_DIGEST}
    recorder = Recorder(GET=_errors(404, "MANIFEST_UNKNOWN", "manifest unknown", detail))
    with _registry(recorder) as registry, pytest.raises(tk.NotFoundError) as caught:
        registry.resolve(f"registry.test:5000/ns/app@{OTHER_DIGEST}")
    assert caught.value.code == "MANIFEST_UNKNOWN"
    assert caught.value.detail == detail
    assert f"no manifest ns/app@{OTHER_DIGEST}: MANIFEST_UNKNOWN: manifest unknown" in str(caught.value)


def test_unknown_repository_get() -> None:
    recorder = Recorder(
        HEAD=_head(digest=None), GET=_errors(404, "NAME_UNKNOWN", "repository name not known to registry")
    )
    with _registry(recorder) as registry, pytest.raises(tk.NotFoundError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert caught.value.code == "NAME_UNKNOWN"


def test_other_client_errors_keep_the_code() -> None:
    recorder = Recorder(HEAD=_head(digest=None), GET=_errors(400, "MANIFEST_INVALID", "manifest invalid"))
    with _registry(recorder) as registry, pytest.raises(tk.RemoteError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert type(caught.value) is tk.RemoteError
    assert caught.value.status == 400
    assert caught.value.code == "MANIFEST_INVALID"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_failures_are_retried(status: int) -> None:
    answers: Iterator[httpx.Response] = iter([httpx.Response(status), _head()])
    recorder = Recorder(HEAD=lambda request: next(answers))
    with _registry(recorder, retries=2) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
    assert len(recorder.requests) == 2


def test_persistent_failure_is_server_unavailable() -> None:
    recorder = Recorder(HEAD=_errors(503, "UNAVAILABLE", "service unavailable"))
    with _registry(recorder, retries=2) as registry, pytest.raises(tk.ServerUnavailableError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert caught.value.status == 503
    assert "after 3 attempts" in str(caught.value)
    assert len(recorder.requests) == 3


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_network_failures_are_server_unavailable(error: httpx.HTTPError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with _registry(handler, retries=1) as registry, pytest.raises(tk.ServerUnavailableError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert "gave up after 2 attempts" in str(caught.value)


def test_oversized_manifest_announced_by_head() -> None:
    recorder = Recorder(HEAD=_head(length=str(MAX_MANIFEST_SIZE + 1)))
    with _registry(recorder) as registry, pytest.raises(tk.OversizedResponseError) as caught:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert str(MAX_MANIFEST_SIZE) in str(caught.value)
    assert len(recorder.requests) == 1


def test_oversized_manifest_body_is_cut_off() -> None:
    def stream() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024

    recorder = Recorder(
        HEAD=_head(digest=None),
        GET=lambda request: httpx.Response(200, headers={"Content-Type": OCI_MANIFEST}, content=stream()),
    )
    with _registry(recorder, max_manifest_size=10_000) as registry, pytest.raises(tk.OversizedResponseError):
        registry.resolve("registry.test:5000/ns/app:v1")


def test_manifest_at_the_cap_is_fine() -> None:
    recorder = Recorder(HEAD=_head(digest=None), GET=_get(digest=None))
    with _registry(recorder, max_manifest_size=len(MANIFEST)) as registry:
        assert registry.resolve("registry.test:5000/ns/app:v1").size == len(MANIFEST)


# --- configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["ns/UPPER:v1", "app:bad tag", "app@sha256:123", "", "a" * 64])
def test_bad_references_are_configuration_errors(reference: str) -> None:
    with _registry(Recorder()) as registry, pytest.raises(tk.ConfigurationError):
        registry.resolve(reference)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="max_manifest_size"):
        Registry(URL, max_manifest_size=0)
    with pytest.raises(tk.ConfigurationError):
        Registry("ftp://registry.test")


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        ("alpine", DOCKER_HUB_REGISTRY),
        ("docker.io/library/alpine:3", DOCKER_HUB_REGISTRY),
        ("index.docker.io/ns/app", DOCKER_HUB_REGISTRY),
        ("localhost:5000/ns/app:v1", "https://localhost:5000"),
        ("localhost/app", "https://localhost"),
        ("[::1]:5000/app", "https://[::1]:5000"),
        ("ghcr.io/o/app@sha256:" + "0" * 64, "https://ghcr.io"),
        (ImageReference.parse("quay.io/o/app"), "https://quay.io"),
    ],
)
def test_registry_url(reference: str | ImageReference, url: str) -> None:
    assert registry_url(reference) == url


def test_registry_url_rejects_nonsense() -> None:
    with pytest.raises(tk.ConfigurationError):
        registry_url("localhost:5000/UPPER")


def test_from_reference_uses_docker_config_and_certs_dir(tmp_path: Path) -> None:
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(b"alice:secret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {"registry.test:5000": {"auth": auth}}}))
    certs = tmp_path / "certs.d" / "registry.test:5000"
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_text("not used by the mock transport")
    fake = TokenRegistry()
    env = {"DOCKER_CONFIG": str(config), "HOME": str(tmp_path)}
    with Registry.from_reference(
        "registry.test:5000/ns/app:v1",
        certs_dir=tmp_path / "certs.d",
        env=env,
        transport=httpx.MockTransport(fake),
        backoff=0,
    ) as registry:
        assert registry.url == "https://registry.test:5000"
        assert registry.resolve("registry.test:5000/ns/app:v1").digest == DIGEST
        assert registry.authenticator.credentials == Credentials("alice", "secret")
    assert fake.requests[1].headers["authorization"] == "Basic " + base64.b64encode(b"alice:secret").decode()


def test_from_reference_docker_hub_and_overrides(tmp_path: Path) -> None:
    with Registry.from_reference("alpine", env={"DOCKER_CONFIG": str(tmp_path)}) as hub:
        assert hub.url == DOCKER_HUB_REGISTRY
        assert repr(hub) == f"Registry({DOCKER_HUB_REGISTRY!r})"
        assert hub.authenticator.credentials is None  # no config.json: anonymous
    with Registry.from_reference("localhost:5000/app", url="http://127.0.0.1:5000/", certs_dir=None) as local:
        assert local.url == "http://127.0.0.1:5000"


def test_manifest_info_hashes() -> None:
    info = ManifestInfo(DIGEST, 10, OCI_MANIFEST)
    assert info.sha256 == DIGEST.removeprefix("sha256:")
    assert info.hashes == {"sha256": hashlib.sha256(MANIFEST).digest()}


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_token_servers_redirect_is_refused_not_followed(status: int) -> None:
    """The identity token's POST form must not be re-sent to wherever (here plain http, another host) the realm
    points."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.test":
            return httpx.Response(status, headers={"Location": "http://evil.test/token"})
        if request.url.host == "evil.test":
            return httpx.Response(200, json={"token": "evil"})
        return _challenge()

    with (
        _registry(handler, auth=Credentials(identity_token="REFRESH")) as registry,
        pytest.raises(tk.RemoteError, match="does not follow a token server's redirects"),
    ):
        registry.resolve("registry.test:5000/ns/app:v1")
    assert [request.url.host for request in seen] == ["registry.test", "auth.test"]


def test_a_challenge_from_where_a_redirect_led_is_not_answered() -> None:
    """The registry redirects to another host that asks for credentials: they are not sent there, nor a token
    fetched for it."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "registry.test":
            return httpx.Response(302, headers={"Location": f"https://other.test{request.url.path}"})
        if request.url.host == "other.test":
            if request.headers.get("authorization") is None:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="other"'})
            return _head()
        return httpx.Response(200, json={"token": "t"})

    refused = pytest.raises(tk.UnauthorizedError, match=r"from other\.test, where a redirect led")
    with _registry(handler, auth=Credentials("alice", "secret"), retries=0) as registry, refused:
        registry.resolve("registry.test:5000/ns/app:v1")
    assert [(r.url.host, r.headers.get("authorization")) for r in seen] == [
        ("registry.test", None),
        ("other.test", None),
    ]
