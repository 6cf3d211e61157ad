"""AsyncNotaryServer over an injected httpx transport: the blocking server's routes, authentication flow, caps,
deadlines and retries, awaited (one implementation behind both: these are the blocking tests' scenarios)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

import trustkit as tk
from trustkit.remote import AsyncNotaryServer, Credentials, NotaryServer, overall_deadline

GUN = "localhost:5000/ns/app"
REALM = "https://auth.test/token"


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


def _server(handler: Callable[[httpx.Request], Any], **options: Any) -> AsyncNotaryServer:
    options = {"retries": 1, "backoff": 0, **options}
    return AsyncNotaryServer("https://notary.test:4443/", transport=httpx.MockTransport(handler), **options)


def _token_handler(log: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.host == "auth.test":
            if request.headers.get("authorization") != Credentials("alice", "secret").basic_header():
                return httpx.Response(401, json={"details": "nope"})
            return httpx.Response(200, json={"token": f"tok-{request.url.params['scope']}", "expires_in": 300})
        wanted = f"repository:{GUN}:pull"
        if request.headers.get("authorization") != f"Bearer tok-{wanted}":
            challenge = f'Bearer realm="{REALM}",service="notary",scope="{wanted}"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge}, json={"errors": []})
        return httpx.Response(200, content=b"ok")

    return handler


def test_the_token_flow_runs_as_for_the_blocking_server() -> None:
    """The same requests, in the same order, as NotaryServer sends: a 401, a token, the retry, the token reused."""
    logs: dict[str, list[httpx.Request]] = {"sync": [], "async": []}

    async def read() -> list[bytes]:
        async with _server(_token_handler(logs["async"]), auth=Credentials("alice", "secret")) as server:
            return [await server.get_role(GUN, "root", max_size=10), await server.get_role(GUN, "targets", max_size=10)]

    assert run(read()) == [b"ok", b"ok"]
    transport = httpx.MockTransport(_token_handler(logs["sync"]))
    alice = Credentials("alice", "secret")
    with NotaryServer("https://notary.test:4443/", transport=transport, auth=alice) as blocking:
        blocking.get_role(GUN, "root", max_size=10)
        blocking.get_role(GUN, "targets", max_size=10)

    def shape(log: list[httpx.Request]) -> list[tuple[str, str, str | None]]:
        return [(r.method, r.url.host, r.headers.get("authorization")) for r in log]

    assert shape(logs["async"]) == shape(logs["sync"])
    assert [host for _, host, _ in shape(logs["async"])] == ["notary.test", "auth.test", "notary.test", "notary.test"]


def test_a_refusing_token_server_is_unauthorised() -> None:
    with pytest.raises(tk.UnauthorizedError, match="refused the credentials of bob"):
        run(_server(_token_handler([]), auth=Credentials("bob", "x")).get_role(GUN, "root", max_size=10))


def test_credentials_never_go_to_a_plain_http_realm_of_an_https_server() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.test/t",service="s"'})

    with pytest.raises(tk.RemoteError, match="does not send credentials in clear text"):
        run(_server(handler, auth=Credentials("alice", "secret")).get_role(GUN, "root", max_size=10))
    assert [r.url.host for r in sent] == ["notary.test"]


def test_bodies_are_capped() -> None:
    big = httpx.Response(200, content=b"x" * 100)
    with pytest.raises(tk.OversizedResponseError):
        run(_server(lambda request: big).get_role(GUN, "root", max_size=10))
    creds = Credentials("bob", "pw")

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"y" * 65536
            await asyncio.sleep(0)

    def challenging(request: httpx.Request) -> httpx.Response:
        """An endless 401 body before the retry: the flow reads it within its cap, never to the end."""
        if request.headers.get("authorization") == creds.basic_header():
            return httpx.Response(200, content=b"ok")
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'}, content=endless())

    assert run(_server(challenging, auth=creds, total_timeout=10).get_role(GUN, "root", max_size=10)) == b"ok"


def test_basic_auth_and_error_mapping() -> None:
    creds = Credentials("bob", "pw")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("targets.json"):
            return httpx.Response(404, json={"errors": [{"code": "METADATA_NOT_FOUND", "message": "x"}]})
        if request.headers.get("authorization") == creds.basic_header():
            return httpx.Response(200, content=b"ok")
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'})

    async def read() -> bytes:
        async with _server(handler, auth=creds) as server:
            with pytest.raises(tk.NotFoundError):
                await server.get_role(GUN, "targets", max_size=10)
            return await server.get_role(GUN, "root", max_size=10)

    assert run(read()) == b"ok"


def test_server_failures_are_retried_then_reported() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503)

    with pytest.raises(tk.ServerUnavailableError, match="after 3 attempts"):
        run(_server(handler, retries=2).get_role(GUN, "root", max_size=10))
    assert len(calls) == 3


def test_total_timeout_and_overall_deadline_bound_a_slow_server() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, content=b"late")

    started = time.monotonic()
    with pytest.raises(tk.ServerUnavailableError, match=r"total_timeout"):
        run(_server(slow, total_timeout=0.2).get_role(GUN, "root", max_size=10))

    async def within() -> bytes:
        with overall_deadline(0.2):
            return await _server(slow).get_role(GUN, "root", max_size=10)

    with pytest.raises(tk.ServerUnavailableError, match="overall deadline"):
        run(within())
    assert time.monotonic() - started < 2


def test_the_other_reads() -> None:
    key = {"keytype": "ed25519", "keyval": {"public": base64.b64encode(b"k" * 32).decode(), "private": None}}
    record = {"ID": "1", "CreatedAt": "2026-01-01T00:00:00Z", "GUN": GUN, "Version": 1, "SHA256": "ab" * 32}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("timestamp.key"):
            return httpx.Response(200, content=json.dumps(key).encode())
        if path.endswith("changefeed"):
            return httpx.Response(200, json={"count": 1, "records": [{**record, "Category": "update"}]})
        if path == "/_notary_server/health":
            return httpx.Response(503, json={})
        if path == "/metrics":
            return httpx.Response(200, content=b"# metrics")
        return httpx.Response(200, content=b"{}")

    async def read() -> tuple[Any, ...]:
        async with _server(handler) as server:
            await server.ping()
            return (
                await server.get_key(GUN, "timestamp"),
                await server.changefeed(GUN),
                await server.health(),
                await server.metrics(),
            )

    public, feed, health, metrics = run(read())
    assert public.keytype == "ed25519"
    assert [(r.gun, r.version) for r in feed] == [(GUN, 1)]
    assert health == {"server": "unhealthy"}
    assert metrics == "# metrics"


def test_a_blocking_transport_is_refused() -> None:
    with pytest.raises(TypeError, match="asyncio httpx transport"):
        AsyncNotaryServer("https://notary.test", transport=httpx.HTTPTransport())


class _Following(AsyncNotaryServer):
    _follow_redirects = True  # as the registry client does


def test_a_token_servers_redirect_is_refused_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.test":
            return httpx.Response(307, headers={"Location": "http://evil.test/token"})
        if request.url.host == "evil.test":
            return httpx.Response(200, json={"token": "evil"})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.test/t",service="s"'})

    server = _Following(
        "https://notary.test:4443/",
        transport=httpx.MockTransport(handler),
        auth=Credentials(identity_token="REFRESH"),
        retries=0,
    )

    async def main() -> None:
        async with server:
            await server.get_role("example.com/app", "root", max_size=100)

    with pytest.raises(tk.RemoteError, match="does not follow a token server's redirects"):
        asyncio.run(main())
    assert [request.url.host for request in seen] == ["notary.test", "auth.test"]


def test_cookies_a_server_sets_are_not_sent_back() -> None:
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"}, content=b"data")

    async def reads() -> None:
        async with _server(handler) as server:
            assert await server.get_role(GUN, "root", max_size=10) == b"data"
            assert await server.get_role(GUN, "timestamp", max_size=10) == b"data"

    run(reads())
    assert cookies == [None, None]
