"""NotaryServer over an injected httpx transport: request shapes, error mapping, the token flow, response parsing.

The error bodies are notary-server 0.7's own, as captured from the real server (see the interop tests, which
provoke each of them for real).
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import trustkit as tk
from trustkit.remote import Authenticator, Credentials, NotaryServer, Scope, TLSConfig

GUN = "localhost:5000/ns/app"
Handler = Callable[[httpx.Request], httpx.Response]


def _server(handler: Handler, **options: Any) -> NotaryServer:
    return NotaryServer(
        "https://notary.test:4443/", transport=httpx.MockTransport(handler), retries=1, backoff=0, **options
    )


def _errors(code: str, message: str, detail: Any = None, status: int = 400) -> httpx.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return httpx.Response(status, content=json.dumps({"errors": [error]}).encode() + b"\n")


def test_routes_and_request_shapes() -> None:
    seen: list[httpx.Request] = []
    key = {"keytype": "ed25519", "keyval": {"public": base64.b64encode(b"k" * 32).decode(), "private": None}}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith(".key"):
            return httpx.Response(200, json=key)
        if "changefeed" in request.url.path:
            return httpx.Response(200, content=b'{"count":0,"records":null}')
        return httpx.Response(200, content=b"data")

    with _server(handler) as server:
        assert server.url == "https://notary.test:4443"
        assert server.get_role(GUN, "root", max_size=10) == b"data"
        server.get_role(GUN, "targets/releases", max_size=10, checksum="AB" * 32)
        server.get_role(GUN, "snapshot", max_size=10, version=3)
        server.publish(GUN, {"root.json": b"R", "targets/releases": b"T"})
        assert server.get_key(GUN, "timestamp") == tk.PublicKey("ed25519", b"k" * 32)
        assert server.rotate_key(GUN, "snapshot") == tk.PublicKey("ed25519", b"k" * 32)
        server.delete(GUN)
        assert server.changefeed(GUN, change_id=5, records=2) == []
        assert server.changefeed() == []

    paths = [(r.method, r.url.raw_path.decode()) for r in seen]
    base = f"/v2/{GUN}/_trust"
    assert paths == [
        ("GET", f"{base}/tuf/root.json"),
        ("GET", f"{base}/tuf/targets/releases.{'ab' * 32}.json"),
        ("GET", f"{base}/tuf/3.snapshot.json"),
        ("POST", f"{base}/tuf/"),
        ("GET", f"{base}/tuf/timestamp.key"),
        ("POST", f"{base}/tuf/snapshot.key"),
        ("DELETE", f"{base}/tuf/"),
        ("GET", f"{base}/changefeed?change_id=5&records=2"),
        ("GET", "/v2/_trust/changefeed?change_id=0&records=100"),
    ]
    publish = seen[3]
    assert publish.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = publish.read()
    assert b'Content-Disposition: form-data; name="files"; filename="root"\r\n' in body
    assert b'Content-Disposition: form-data; name="files"; filename="targets/releases"\r\n' in body
    assert b"Content-Type: application/octet-stream\r\n\r\nR\r\n" in body
    assert all(r.headers["user-agent"].startswith("trustkit") for r in seen)
    assert all("authorization" not in r.headers for r in seen)


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (
            _errors("METADATA_NOT_FOUND", "You have requested metadata that does not exist.", {}, 404),
            tk.NotFoundError,
            "METADATA_NOT_FOUND",
        ),
        (httpx.Response(404), tk.NotFoundError, "METADATA_NOT_FOUND"),
        (_errors("VERSION", "A newer version of metadata is already available.", {}), tk.ConflictError, "VERSION"),
        (
            _errors(
                "INVALID_UPDATE",
                "Update sent by the client is invalid.",
                {"Name": "ErrBadRoot", "Error": {"Msg": "no  timestamp keys exist on the server"}},
            ),
            tk.ConflictError,
            "INVALID_UPDATE",
        ),
        (
            _errors("INVALID_ROLE", "The role you are attempting to operate on is invalid.", "bogus"),
            tk.RemoteError,
            "INVALID_ROLE",
        ),
        (_errors("MALFORMED_UPLOAD", "The body of your request is malformed."), tk.RemoteError, "MALFORMED_UPLOAD"),
        (httpx.Response(400, content=b"<html>bad</html>"), tk.RemoteError, None),
        (httpx.Response(418), tk.RemoteError, None),
        (
            _errors("UPDATING", "An error has occurred while updating the TUF repository.", status=500),
            tk.ServerUnavailableError,
            "UPDATING",
        ),
    ],
)
def test_error_mapping(response: httpx.Response, error: type[tk.RemoteError], code: str | None) -> None:
    with _server(lambda request: response) as server, pytest.raises(error) as caught:
        server.publish(GUN, {"root": b"{}"})
    assert type(caught.value) is error
    assert caught.value.status == response.status_code
    assert caught.value.code == code


def test_conflict_keeps_the_validation_detail() -> None:
    detail = {"Name": "ErrBadTargets", "Error": {"Msg": "valid signatures did not meet threshold for targets"}}
    response = _errors("INVALID_UPDATE", "Update sent by the client is invalid.", detail)
    with _server(lambda request: response) as server, pytest.raises(tk.ConflictError) as caught:
        server.publish(GUN, {"targets": b"{}"})
    assert caught.value.detail == detail
    assert str(caught.value) == (
        f"notary.test:4443 rejected the update of {GUN}: Update sent by the client is invalid. "
        "(ErrBadTargets: valid signatures did not meet threshold for targets)"
    )


@pytest.mark.parametrize("status", [401, 403])
def test_unauthorised_says_how_to_log_in(status: int) -> None:
    body = {
        "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": [{"Type": "repository"}]}]
    }
    with (
        _server(lambda request: httpx.Response(status, json=body)) as server,
        pytest.raises(tk.UnauthorizedError) as caught,
    ):
        server.get_role(GUN, "root", max_size=100)
    message = str(caught.value)
    assert f"server returned {status}" in message
    assert "docker login" in message
    assert "auth=Credentials" in message
    assert caught.value.code == "UNAUTHORIZED"
    assert caught.value.detail == [{"Type": "repository"}]


def test_token_flow_against_a_mocked_realm() -> None:
    realm = "https://auth.test/token"
    log: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.host == "auth.test":
            assert request.headers["authorization"] == Credentials("alice", "secret").basic_header()
            scope = request.url.params["scope"]
            return httpx.Response(200, json={"token": f"tok-{scope}", "expires_in": 300})
        wanted = "repository:localhost:5000/ns/app:" + ("pull" if request.method == "GET" else "push,pull")
        if request.headers.get("authorization") != f"Bearer tok-{wanted}":
            challenge = f'Bearer realm="{realm}",service="notary",scope="{wanted}"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge}, json={"errors": []})
        return httpx.Response(200, content=b"ok")

    with _server(handler, auth=Credentials("alice", "secret")) as server:
        assert server.get_role(GUN, "root", max_size=10) == b"ok"
        assert server.get_role(GUN, "targets", max_size=10) == b"ok"  # the cached token is reused
        server.publish(GUN, {"root": b"{}"})
    hosts = [(r.method, r.url.host) for r in log]
    assert hosts == [
        ("GET", "notary.test"),
        ("GET", "auth.test"),
        ("GET", "notary.test"),
        ("GET", "notary.test"),
        ("POST", "notary.test"),
        ("GET", "auth.test"),
        ("POST", "notary.test"),
    ]
    token_request = log[1]
    assert dict(token_request.url.params) == {
        "account": "alice",
        "service": "notary",
        "scope": "repository:localhost:5000/ns/app:pull",
    }


def test_basic_challenge_sends_basic_credentials() -> None:
    creds = Credentials("bob", "pw")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == creds.basic_header():
            return httpx.Response(200, content=b"ok")
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'})

    authenticator = Authenticator(creds)
    with _server(handler, auth=authenticator) as server:
        assert server.get_role(GUN, "root", max_size=10) == b"ok"
    pull = Scope.repository(GUN, "pull")
    assert authenticator.authorization(pull, origin="https://notary.test:4443") == creds.basic_header()  # up front
    assert authenticator.authorization(pull, origin="https://NOTARY.test:4443/v2/") == creds.basic_header()
    assert authenticator.authorization(pull, origin="http://notary.test:4443") is None  # another origin


def test_the_request_sent_again_after_a_challenge_keeps_the_timeouts() -> None:
    """The request answered with credentials after a 401 carries the same socket timeouts as the first (without
    them a stalled server would be bounded by ``total_timeout`` alone)."""
    creds = Credentials("bob", "pw")
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions.get("timeout", {})))
        if request.headers.get("authorization") == creds.basic_header():
            return httpx.Response(200, content=b"ok")
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'})

    with _server(handler, auth=Authenticator(creds)) as server:
        assert server.get_role(GUN, "root", max_size=10) == b"ok"
    assert len(seen) == 2 and seen[0] and seen[1] == seen[0]


@pytest.mark.parametrize("challenge", ['Basic realm="a"', 'Bearer realm="https://auth.test/t",service="a"'])
def test_one_authenticator_keeps_each_servers_answers_to_that_server(challenge: str) -> None:
    """A's basic decision or token is not sent to B (even plain http, here) through a shared authenticator."""
    creds = Credentials("bob", "pw")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "a-token"})
        if request.url.host == "a.test" and "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, content=b"ok")

    authenticator = Authenticator(creds)
    transport = httpx.MockTransport(handler)
    with (
        NotaryServer("https://a.test", transport=transport, auth=authenticator) as a,
        NotaryServer("http://b.test", transport=transport, auth=authenticator) as b,
    ):
        assert a.get_role(GUN, "root", max_size=10) == b"ok"
        assert b.get_role(GUN, "root", max_size=10) == b"ok"
        assert a.get_role(GUN, "root", max_size=10) == b"ok"
    sent = [(r.url.host, r.headers.get("authorization")) for r in seen if r.url.host != "auth.test"]
    answer = creds.basic_header() if challenge.startswith("Basic") else "Bearer a-token"
    assert sent == [("a.test", None), ("a.test", answer), ("b.test", None), ("a.test", answer)]


def test_basic_challenge_without_credentials_is_unauthorised() -> None:
    response = httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'})
    with _server(lambda request: response) as server, pytest.raises(tk.UnauthorizedError, match="no credentials"):
        server.get_role(GUN, "root", max_size=10)


def test_a_refusing_token_server() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(401, json={"details": "nope"})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t",service="s"'})

    with _server(handler, auth=Credentials("alice", "wrong")) as server, pytest.raises(tk.UnauthorizedError) as caught:
        server.get_role(GUN, "root", max_size=10)
    assert "refused the credentials of alice" in str(caught.value)
    assert "docker login" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"token": ""}', b'{"token": 5}', b'{"token": "has space"}'],
)
def test_a_nonsense_token_answer(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            return httpx.Response(200, content=body)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t"'})

    with _server(handler) as server, pytest.raises(tk.RemoteError, match="token server"):
        server.get_role(GUN, "root", max_size=10)


@pytest.mark.parametrize("realm", ["", "ftp://x/y", "/relative"])
def test_a_challenge_without_a_usable_realm(realm: str) -> None:
    response = httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})
    with _server(lambda request: response) as server, pytest.raises(tk.RemoteError, match="no usable realm"):
        server.get_role(GUN, "root", max_size=10)


@pytest.mark.parametrize(
    "body",
    [b"{}", b"[]", b'{"keytype":"ecdsa","keyval":{"public":"%%%","private":null}}', b"nope"],
)
def test_a_malformed_key_answer(body: bytes) -> None:
    with _server(lambda request: httpx.Response(200, content=body)) as server, pytest.raises(tk.RemoteError) as caught:
        server.get_key(GUN, "timestamp")
    assert "malformed timestamp key" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b'{"count":1}',
        b'{"records":[1]}',
        b'{"records":[{"ID":1,"CreatedAt":"x","GUN":"g","Version":1,"SHA256":"","Category":"update"}]}',
        b'{"records":[{"ID":"1","CreatedAt":"yesterday","GUN":"g","Version":1,"SHA256":"","Category":"update"}]}',
        b'{"records":[{"ID":"1","CreatedAt":"2026-01-01T00:00:00Z","GUN":"g","Version":true,"SHA256":"","Category":"u"}]}',
    ],
)
def test_a_malformed_changefeed(body: bytes) -> None:
    with _server(lambda request: httpx.Response(200, content=body)) as server, pytest.raises(tk.RemoteError):
        server.changefeed(GUN)


def test_changefeed_records_are_parsed() -> None:
    body = (
        b'{"count":1,"records":[{"ID":"7","CreatedAt":"2026-11-25T22:41:18.302672838Z","GUN":"g","Version":3,'
        b'"SHA256":"ab","Category":"update"}]}'
    )
    with _server(lambda request: httpx.Response(200, content=body)) as server:
        (record,) = server.changefeed("g")
    assert (record.id, record.gun, record.version, record.sha256, record.category) == ("7", "g", 3, "ab", "update")
    assert record.created_at.isoformat() == "2026-11-25T22:41:18.302672+00:00"
    assert record.to_dict()["CreatedAt"] == "2026-11-25T22:41:18.302672Z"


def test_health_and_metrics() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/metrics":
            return httpx.Response(200, content=b"# HELP x\n")
        if request.url.path == "/v2/":
            return httpx.Response(200, content=b"{}")
        return httpx.Response(503, json={"DB": "unreachable"})

    with _server(handler) as server:
        assert server.health() == {"DB": "unreachable"}
        assert server.metrics() == "# HELP x\n"
        server.ping()


def test_oversized_error_bodies_are_truncated_not_fatal() -> None:
    body = b'{"errors":[{"code":"VERSION","message":"m"}]}' + b" " * (1 << 20)
    with _server(lambda request: httpx.Response(400, content=body)) as server, pytest.raises(tk.RemoteError) as caught:
        server.publish(GUN, {"root": b"{}"})
    assert caught.value.status == 400  # the body was cut at 64 KiB, so its JSON is lost but not the status


def test_publish_success_body_does_not_matter() -> None:
    with _server(lambda request: httpx.Response(200, content=b"x" * (2 << 20))) as server:
        server.publish(GUN, {"root": b"{}"})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_size": 0}, ValueError),
        ({"max_size": True}, ValueError),
        ({"max_size": 10, "version": -1}, ValueError),
    ],
)
def test_get_role_argument_checks(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with _server(lambda request: httpx.Response(200)) as server, pytest.raises(error):
        server.get_role(GUN, "root", **kwargs)


def test_publish_argument_checks() -> None:
    with _server(lambda request: httpx.Response(200)) as server:
        with pytest.raises(ValueError, match="twice"):
            server.publish(GUN, {"root": b"a", "root.json": b"b"})
        with pytest.raises(TypeError):
            server.publish(GUN, {"root": "text"})  # type: ignore[dict-item]
        with pytest.raises(tk.UnknownRoleError):
            server.rotate_key(GUN, "root")


@pytest.mark.parametrize("url", ["ftp://x", "notary.test", "https://", "https://h/?q=1", "https://h:99999"])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(tk.TrustkitError, match="URL"):
        NotaryServer(url)


def test_tls_options_are_exclusive(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="not both"):
        NotaryServer("https://h", tls=TLSConfig(), ca=tmp_path)
    with pytest.raises(tk.TrustkitError, match="does not exist"):
        NotaryServer("https://h", ca=tmp_path / "missing.crt")


def test_retry_after_is_honoured_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("trustkit.remote._http.time.sleep", sleeps.append)
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(503, headers={"Retry-After": "999"}),
            httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            httpx.Response(200, content=b"ok"),
        ]
    )
    with NotaryServer("https://n.test", transport=httpx.MockTransport(lambda r: next(answers)), retries=3) as server:
        assert server.get_role(GUN, "root", max_size=10) == b"ok"
    assert sleeps[0] == 3.0
    assert sleeps[1] == 10.0  # capped
    assert 0 < sleeps[2] <= 1.0  # plain backoff (0.25 s * 4, with jitter)


def test_tls_failures_are_told_apart_from_cut_connections() -> None:
    def fail(exc: Exception) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("failed", request=request) from exc

        return handler

    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    with _server(fail(verify)) as server, pytest.raises(tk.RemoteError, match=r"TLS with notary\.test:4443") as caught:
        server.get_role(GUN, "root", max_size=10)
    assert type(caught.value) is tk.RemoteError
    with _server(fail(ssl.SSLEOFError(8, "EOF occurred"))) as server, pytest.raises(tk.ServerUnavailableError):
        server.get_role(GUN, "root", max_size=10)


@pytest.mark.parametrize("cls", ["NotaryServer", "Registry"])
def test_repr_hides_the_password_of_the_url(cls: str) -> None:
    from trustkit.dct import Registry

    factory = {"NotaryServer": NotaryServer, "Registry": Registry}[cls]
    refused = pytest.raises(tk.ConfigurationError, match=r"'https://alice:\*\*\*@notary.test:4443' carries user info")
    with refused as error:
        factory("https://alice:s3cret@notary.test:4443")
    assert "s3cret" not in str(error.value)
    for bad in ("https://alice:s3cret@notary.test:99999", "ftp://alice:s3cret@notary.test", "alice:s3cret@notary.test"):
        with pytest.raises(tk.ConfigurationError) as error:
            factory(bad)
        assert "s3cret" not in str(error.value)
    with factory("https://notary.test", proxy="http://proxyuser:pr0xy@proxy.test:3128") as plain:
        assert repr(plain) == f"{cls}('https://notary.test')"
        assert plain.options.proxy == "http://proxyuser:pr0xy@proxy.test:3128"  # the proxy needs its credentials
        assert "pr0xy" not in repr(plain.options)
        assert "'http://proxyuser:***@proxy.test:3128'" in repr(plain.options)


def test_server_config_repr_hides_a_password() -> None:
    from trustkit.remote.config import ServerConfig

    assert "s3cret" not in repr(ServerConfig("https://alice:s3cret@notary.test"))


def _challenging(realm: str, seen: list[httpx.Request]) -> Handler:
    """A server on notary.test answering 401 with a Bearer challenge for ``realm``, and a token server anywhere."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token":
            return httpx.Response(200, json={"token": "tok"})
        if request.headers.get("authorization") == "Bearer tok":
            return httpx.Response(200, content=b"data")
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="notary"'})

    return handler


@pytest.mark.parametrize("cls", ["NotaryServer", "Registry"])
@pytest.mark.parametrize(
    "creds", [Credentials("alice", "secret"), Credentials(identity_token="refresh")], ids=["password", "identity"]
)
def test_credentials_never_go_to_a_plain_http_realm_of_an_https_server(cls: str, creds: Credentials) -> None:
    from trustkit.dct import Registry

    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_challenging("http://other.test/token", seen))
    factory = {"NotaryServer": NotaryServer, "Registry": Registry}[cls]
    with (
        factory("https://notary.test", transport=transport, auth=creds, retries=0) as server,
        pytest.raises(tk.RemoteError, match="does not send credentials in clear text") as caught,
    ):
        if isinstance(server, NotaryServer):
            server.get_role(GUN, "root", max_size=100)
        else:
            server.resolve("notary.test/ns/app:v1")
    assert not isinstance(caught.value, tk.ServerUnavailableError)
    assert [request.url.host for request in seen] == ["notary.test"]  # nothing went to the realm


def test_an_anonymous_token_may_come_from_a_plain_http_realm() -> None:
    seen: list[httpx.Request] = []
    with _server(_challenging("http://other.test/token", seen)) as server:
        assert server.get_role(GUN, "root", max_size=100) == b"data"
    token_request = next(request for request in seen if request.url.host == "other.test")
    assert "authorization" not in token_request.headers
    assert "account" not in token_request.url.params


@pytest.mark.parametrize(
    ("url", "realm"),
    [("https://notary.test", "https://auth.other.test/token"), ("http://notary.test", "http://other.test/token")],
)
def test_credentials_go_to_the_realm_docker_would_send_them_to(url: str, realm: str) -> None:
    """docker sends the registry's credentials to whatever realm the server names (Docker Hub's registry names
    auth.docker.io); trustkit too, over https, or over http when the server itself is plain http."""
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_challenging(realm, seen))
    with NotaryServer(url, transport=transport, auth=Credentials("alice", "secret")) as server:
        assert server.get_role(GUN, "root", max_size=100) == b"data"
    token_request = next(request for request in seen if request.url.path == "/token")
    assert token_request.headers["authorization"] == Credentials("alice", "secret").basic_header()


def _engine_error() -> httpx.ReadError:
    """What httpx raised when a native library had left an OpenSSL error on the thread's queue."""
    cause = ssl.SSLError(1, "[ENGINE: NO_SUCH_ENGINE] no such engine (_ssl.c:2580)")
    cause.reason = "NO_SUCH_ENGINE"
    error = httpx.ReadError("[ENGINE: NO_SUCH_ENGINE] no such engine (_ssl.c:2580)")
    error.__cause__ = cause
    return error


def test_a_tls_error_that_is_not_about_certificates_does_not_blame_the_ca() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise _engine_error()

    with _server(handler) as server, pytest.raises(tk.ServerUnavailableError) as caught:
        server.get_role(GUN, "timestamp", max_size=100)
    assert "NO_SUCH_ENGINE" in str(caught.value)
    assert "not a certificate problem" in str(caught.value)
    assert "CA" not in str(caught.value)


@pytest.mark.parametrize("stored", [True, False], ids=["server-took-it", "server-did-not"])
def test_a_publish_whose_answer_is_lost_asks_the_server(stored: bool, caplog: pytest.LogCaptureFixture) -> None:
    import hashlib

    files = {"targets": b'{"signed":"t"}', "snapshot": b'{"signed":"s"}'}
    held = {hashlib.sha256(data).hexdigest(): data for data in files.values()} if stored else {}
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise _engine_error()  # after the request was sent: the outcome is unknown
        asked.append(request.url.path.rsplit("/", 1)[1])
        checksum = request.url.path.rsplit(".", 2)[1]
        if checksum in held:
            return httpx.Response(200, content=held[checksum])
        return _errors("METADATA_NOT_FOUND", "not found", status=404)

    with _server(handler) as server:
        if stored:
            server.publish(GUN, files)
            assert "the publish succeeded" in caplog.text
        else:
            with pytest.raises(tk.ServerUnavailableError, match="NO_SUCH_ENGINE"):
                server.publish(GUN, files)
    assert asked[0] == f"targets.{hashlib.sha256(files['targets']).hexdigest()}.json"
    assert len(asked) == (2 if stored else 1)


def test_cookies_a_server_sets_are_not_sent_back() -> None:
    # As docker (whose HTTP clients have no cookie jar): a Set-Cookie is not kept, nor sent with a later request
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, content=b"data")

    with _server(handler) as server:
        assert server.get_role(GUN, "root", max_size=10) == b"data"
        assert server.get_role(GUN, "timestamp", max_size=10) == b"data"
        server.ping()
    assert cookies == [None, None, None]
