"""The HTTP core shared by trustkit's clients of notary-server and of registries, over httpx.

A service (:class:`~trustkit.remote.NotaryServer`, :class:`~trustkit.dct.Registry`) subclasses
:class:`HTTPService` for its routes and its wording of refusals; everything about talking to a server safely is
here, once, so that both behave alike:

* TLS from a :class:`~trustkit.remote.TLSConfig`, no redirects unless the service follows them, no certificates
  from the environment; the proxy docker would use (:func:`environment_proxy`: ``HTTPS_PROXY``/``NO_PROXY``,
  never for loopback) unless one is given; bodies asked for without content encoding (``identity``); no cookies
  kept (as docker keeps none).
* Bodies are read as a stream with a cap on the *decoded* bytes: a ``Content-Length`` over the cap fails before
  anything is read, a body that goes past it fails as soon as it does
  (:class:`~trustkit.errors.OversizedResponseError`), and a ``Content-Encoding`` a server sends anyway is undone
  in bounded steps as it arrives. A body is held once, never copied.
* One operation (a request with its retries and their delays, connecting, headers, body, token fetch) ends within
  ``total_timeout``: every socket wait is shortened to what is left of it, so a server that trickles its headers
  or its body cannot hold a caller past it.
* A 401 is answered once more with the credentials or token its ``WWW-Authenticate`` asks for
  (:class:`~trustkit.remote.Authenticator`; never credentials to a plain-http realm of an https server); tokens
  are fetched with the same TLS, deadline and caps.
* Idempotent requests are retried on connection failures, timeouts, 5xx and 429, with exponential backoff and
  jitter (and ``Retry-After``, capped); writes are never retried. What is left after the retries is a
  :class:`~trustkit.errors.ServerUnavailableError`; a certificate failure is a :class:`~trustkit.errors.RemoteError`
  that says how to trust the server, and is not retried; another TLS failure is a ServerUnavailableError that does
  not blame the CA. Requests, statuses and retries are ``DEBUG`` records of this module's logger.
"""

from __future__ import annotations

import functools
import http.cookiejar
import io
import ipaddress
import json
import logging
import math
import os
import random
import ssl
import threading
import time
import zlib
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import attrs
import httpcore
import httpx

from trustkit._version import __version__
from trustkit.errors import InvalidArgumentError, OversizedResponseError, RemoteError, ServerUnavailableError
from trustkit.remote import _EXPORTS
from trustkit.remote.base import Scope, check_server_url, redact_url
from trustkit.remote.tls import StrPath, TLSConfig

if TYPE_CHECKING:  # trustkit.remote.auth is imported when credentials are given or a server first asks for them
    from trustkit.remote.auth import Authenticator, AuthOption, TokenRequest
else:  # names typing.get_type_hints resolves on demand through the lazy package (importing the module then)
    from typing import ForwardRef

    import trustkit.remote  # noqa: F401 -- binds the name trustkit, in which the references below are resolved

    Authenticator, AuthOption, TokenRequest = (
        ForwardRef(f"trustkit.remote.{name}") for name in ("Authenticator", "AuthOption", "TokenRequest")
    )

__all__ = list(_EXPORTS[__name__])  # what trustkit.remote exports from here (its table), and:
__all__ += ["redact_url"]

logger = logging.getLogger(__name__)

_SMALL_LIMIT = 1 << 20
"""The cap on a body when a request names none (1 MiB)."""
_ERROR_BODY_LIMIT = 64 << 10
_TOKEN_LIMIT = 1 << 20
_MARKS_AUTH_FETCH = "trustkit.token_request"
"""The request extension marking a token request (whose redirects are refused)."""
_MAX_BACKOFF = 10.0
_DECODE_STEP = 64 << 10
"""The most one step of undoing a ``Content-Encoding`` layer may produce (so a bomb is caught as it grows)."""
_CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_PLAIN_HTTP_TO_TLS = b"Client sent an HTTP request to an HTTPS server"
"""What Go's TLS servers (notary-server, distribution) answer, with a 400, to plain HTTP."""
_ANONYMOUS_AUTH = threading.Lock()
"""Held while a service without credentials makes its :class:`~trustkit.remote.Authenticator`, on first need."""


class _Deadline:
    """When the operation running in this context must be over (``time.monotonic()``), and what set it."""

    __slots__ = ("at", "label")

    def __init__(self, at: float, label: str) -> None:
        self.at = at
        self.label = label


_DEADLINE: ContextVar[_Deadline | None] = ContextVar("trustkit_http_deadline", default=None)

DEFAULT_TOTAL_TIMEOUT = 120.0
"""The default ``total_timeout``: the most one operation (a request with its retries, their delays, connecting,
headers, body and any token fetch) may take, in seconds."""

_Service = TypeVar("_Service", bound="HTTPService")
_AsyncService = TypeVar("_AsyncService", bound="AsyncHTTPService")


def _user_agent() -> str:
    return f"trustkit/{__version__}"


class Reply:
    """A response read in full (within its cap). A plain class: an attrs one would cost every process that
    imports the read path a millisecond."""

    __slots__ = ("body", "headers", "status", "url")

    def __init__(self, status: int, headers: httpx.Headers, body: bytes, *, url: str | None = None) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
        """Where the answer came from (after redirects), when known."""

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300


class ErrorBody:
    """The first ``{"code","message","detail"}`` of an error body ``{"errors":[...]}``: notary-server and the
    distribution API write the same shape. Each part is None when the body does not hold it."""

    __slots__ = ("code", "detail", "message")

    def __init__(self, code: str | None = None, message: str | None = None, detail: object = None) -> None:
        self.code = code
        self.message = message
        self.detail = detail

    @classmethod
    def parse(cls, body: bytes) -> ErrorBody:
        """Read ``body``; anything but that shape gives an empty :class:`ErrorBody`."""
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            return cls()
        errors = obj.get("errors") if isinstance(obj, dict) else None
        if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
            return cls()
        first = errors[0]
        code = first.get("code") if isinstance(first.get("code"), str) else None
        message = first.get("message") if isinstance(first.get("message"), str) else None
        return cls(code, message, first.get("detail"))


def _retry_after(headers: httpx.Headers) -> float:
    """A ``Retry-After`` in seconds (capped; dates and nonsense count as 0)."""
    try:
        seconds = float(headers.get("retry-after", "0"))
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), _MAX_BACKOFF) if math.isfinite(seconds) else 0.0


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx failure, unless it is a connection cut short (which is worth a retry)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError):
            return None
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


# --- deadlines: every socket operation waits no longer than what is left of the operation's time ----------------


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before the running operation's deadline; ``expired`` is raised when
    nothing is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline.at - time.monotonic()
    if remaining <= 0:
        raise expired("the operation's deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the operation's deadline: a server that
    trickles its headers one byte at a time cannot hold a caller past it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with connections that keep the operation's deadline (:class:`_DeadlineStream`)."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - trustkit connects over TCP only
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _transport(verify: ssl.SSLContext | bool, proxy: str | None) -> httpx.HTTPTransport:
    """httpx's transport, its connections keeping the operation's deadline. httpx has no option for a network
    backend: the pool it builds gets ours in place of its own (``tests/remote/test_misbehaving_server.py`` fails
    if that stops working)."""
    transport = httpx.HTTPTransport(verify=verify, proxy=proxy, trust_env=False)
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class _NoCookieJar(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        """Keep nothing."""


class _NoCookies(httpx.Cookies):
    """The cookies of trustkit's clients: none. A ``Set-Cookie`` is not kept (docker keeps none either), and a
    response is not even searched for one."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing."""


_NO_COOKIES = _NoCookies(_NoCookieJar())


class _Cookieless:
    """httpx's client, keeping no cookies (:data:`_NO_COOKIES`, which no one can fill)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise InvalidArgumentError("trustkit's HTTP clients keep no cookies")


class _Client(_Cookieless, httpx.Client):
    """httpx's blocking client, keeping no cookies."""


class _AsyncClient(_Cookieless, httpx.AsyncClient):
    """httpx's asyncio client, keeping no cookies."""


_CACHED_URL_LENGTH = 512
"""The longest URL kept parsed: metadata paths are short; a query or a long path comes from a server (a registry's
``Link`` pages, an upload's ``Location``) and is parsed each time, so a server cannot fill the cache."""


@functools.lru_cache(maxsize=1024)
def _cached_url(url: str) -> httpx.URL:
    return httpx.URL(url)


def _parsed_url(url: str) -> httpx.URL:
    """``url`` parsed (httpx's URLs are immutable): a service reads the same few paths again and again (every
    refresh asks for ``timestamp.json``), and parsing is the largest part of building a request. Only short URLs
    without a query are kept (at most 1,024 of at most 512 characters)."""
    if len(url) <= _CACHED_URL_LENGTH and "?" not in url:
        return _cached_url(url)
    return httpx.URL(url)


def _deadline_passed() -> bool:
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() >= deadline.at


@contextmanager
def _within(seconds: float | None, label: str) -> Iterator[None]:
    """Run the block with a deadline ``seconds`` from now, or the one already running if that is sooner."""
    outer = _DEADLINE.get()
    chosen = outer
    if seconds is not None:
        at = time.monotonic() + seconds
        if outer is None or at < outer.at:
            chosen = _Deadline(at, label)
    token = _DEADLINE.set(chosen)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def overall_deadline(seconds: float) -> Iterator[None]:
    """Every request trustkit's HTTP remotes (:class:`~trustkit.remote.NotaryServer`,
    :class:`~trustkit.dct.Registry`) make in this block, in this thread (or asyncio task), ends within ``seconds``
    from now, whatever their own ``total_timeout``: a whole :meth:`~trustkit.client.Reader.refresh`, an inspect or
    a sign under one budget (an admission webhook has 10 s). What runs out of time raises
    :class:`~trustkit.errors.ServerUnavailableError` naming the deadline. Blocks nest: the sooner deadline holds.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise InvalidArgumentError(f"seconds must be a positive number, not {seconds!r}")
    with _within(seconds, f"{seconds} s (overall deadline)"):
        yield


# --- proxies, as docker (Go's net/http) picks them ------------------------------------------------------------


def environment_proxy(url: str, *, env: Mapping[str, str] | None = None) -> str | None:
    """The proxy docker would use for ``url``, from ``env`` (default ``os.environ``) as Go's ``net/http`` reads
    it: ``HTTPS_PROXY`` for an https URL, ``HTTP_PROXY`` for http (uppercase names first); none for a host
    ``NO_PROXY`` lists (``*``, names, domain suffixes, IP addresses and CIDR ranges, optionally with a port), and
    none for ``localhost`` or a loopback address (Go never proxies those)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if host == "localhost" or host.endswith(".localhost") or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    environ: Mapping[str, str] = os.environ if env is None else env

    def variable(name: str) -> str:  # Go's getEnvAny: the uppercase name first
        return environ.get(name.upper()) or environ.get(name.lower()) or ""

    proxy = variable(f"{parts.scheme}_proxy") if parts.scheme in ("http", "https") else ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not proxy or _bypassed(host, port, variable("no_proxy")):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names ``host`` (Go's rules: ``*``, a host, ``.suffix`` or ``suffix``, an IP, a CIDR
    range; an entry with a port matches that port only)."""
    host = host.lower()
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            network = ipaddress.ip_network(entry, strict=False) if "/" in entry else None
        except ValueError:
            network = None
        if network is not None:
            try:
                if ipaddress.ip_address(host) in network:
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and str(port) != entry_port:
            continue
        name = name or entry
        if host.endswith("." + name.lstrip(".")) or (host == name and not name.startswith(".")):
            return True  # "corp.com" is that host and its subdomains; ".corp.com" its subdomains only
    return False


# --- bodies: Content-Encoding undone step by step, so that caps count decoded bytes as they arrive -------------


class _Decoder:
    """Undoes a response's ``Content-Encoding`` layers (gzip, deflate) incrementally, each step producing at most
    :data:`_DECODE_STEP` bytes: a 13 kB double-gzip bomb is stopped at the cap, not decoded to 8 GB first."""

    def __init__(self, codings: Sequence[str]) -> None:
        self._layers = [zlib.decompressobj(_CODINGS[coding]) for coding in reversed(codings) if coding != "identity"]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes ``data`` gives, in bounded pieces (raises :class:`zlib.error` for a corrupt body)."""
        return self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        layer = self._layers[index]
        while not layer.eof:  # bytes after a layer's end are dropped (as httpx does), not piled up in unused_data
            out = layer.decompress(data, _DECODE_STEP)
            data = layer.unconsumed_tail
            yield from self._through(index + 1, out)
            if not data and len(out) < _DECODE_STEP:
                return


def _codings(response: httpx.Response) -> list[str]:
    """The ``Content-Encoding`` layers of ``response``, in the order they were applied."""
    values = ",".join(response.headers.get_list("content-encoding"))
    return [coding.strip().lower() for coding in values.split(",") if coding.strip()]


def _about_certificates(error: ssl.SSLError) -> bool:
    """Whether a TLS failure is about a certificate: the peer's (unknown CA, expired, bad name) or ours (the
    server wants a client certificate, or refused it)."""
    text = f"{getattr(error, 'reason', '') or ''} {error}".upper()
    return "CERTIFICATE" in text or "UNKNOWN_CA" in text or "UNKNOWN CA" in text


def _redacted(url: str | None) -> str:
    """The repr of a URL field, its password hidden."""
    return repr(url if url is None else redact_url(url))


@attrs.frozen
class HTTPOptions:
    """How one service talks to its server, checked once: the base URL, the host it names in messages, and the
    timeouts, retries and proxy of :class:`~trustkit.remote.NotaryServer`'s options."""

    url: str = attrs.field(repr=_redacted)
    where: str
    timeout: float
    total_timeout: float | None
    retries: int
    backoff: float
    proxy: str | None = attrs.field(repr=_redacted)

    @classmethod
    def create(
        cls,
        url: str,
        *,
        timeout: float = 30.0,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.25,
        proxy: str | None = None,
        proxy_from_environment: bool = True,
        service: str = "trust server",
    ) -> HTTPOptions:
        """Check the options (:class:`~trustkit.errors.InvalidArgumentError`, or
        :class:`~trustkit.errors.ConfigurationError` for the URL, which names ``service``) and pick the environment's
        proxy when none is given and ``proxy_from_environment``."""
        url = check_server_url(url, service=service)
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise InvalidArgumentError("retries and backoff must be >= 0, timeout > 0")
        if total_timeout is not None and not total_timeout > 0:
            raise InvalidArgumentError("total_timeout must be > 0 seconds, or None")
        if proxy is None and proxy_from_environment:
            proxy = environment_proxy(url)
        where = urlsplit(url).netloc.rpartition("@")[2]
        return cls(url, where, timeout, total_timeout, retries, backoff, proxy)


@attrs.frozen
class HTTPRequest:
    """One operation of a service: what to send, what for (``what`` names it in messages, ``gun`` the
    repository), the token ``scope`` it needs (None: no authentication), the cap on its answer, whether it may be
    retried (writes are not), which failed statuses are answers (``accept``), and its body (``files``: multipart
    parts; ``content``: raw bytes, with ``headers``)."""

    method: str
    path: str
    scope: Scope | None
    what: str
    gun: str | None
    max_size: int = _SMALL_LIMIT
    params: Mapping[str, str] | None = None
    files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None
    idempotent: bool = True
    accept: tuple[int, ...] = ()
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


class _Body:
    """A response body read with a cap on its decoded bytes, fed chunk by chunk (by a blocking or an asyncio
    loop): a ``Content-Length`` over the cap fails before anything is read, more than the cap fails (or, with
    ``truncate``, is cut off) as soon as it arrives, a ``Content-Encoding`` (gzip, deflate) is undone in bounded
    steps. The body is kept once (no copy of it is made)."""

    def __init__(self, where: str, response: httpx.Response, limit: int, *, truncate: bool, what: str) -> None:
        self.where, self.limit, self.truncate, self.what = where, limit, truncate, what
        self.status = response.status_code
        # A response built in memory (httpx.MockTransport) was read, and decoded, when it was made
        self.codings = [] if response.is_stream_consumed else _codings(response)
        announced = response.headers.get("content-length")
        if announced is not None and not truncate and not self.codings:
            try:
                length = int(announced)
            except ValueError:
                length = -1
            if length > limit:
                raise OversizedResponseError(
                    f"{where} announced {length} bytes for {what}, more than the {limit} allowed", status=self.status
                )
        unknown = [coding for coding in self.codings if coding != "identity" and coding not in _CODINGS]
        if unknown:
            raise RemoteError(
                f"{where} sent {what} with Content-Encoding {', '.join(unknown)} although trustkit asked for "
                "none (Accept-Encoding: identity): check the proxies in between",
                status=self.status,
            )
        self.decoder = _Decoder(self.codings)
        self.raw_limit = limit + _DECODE_STEP  # what an encoding may add; a stream that decodes to nothing is no excuse
        self.raw = 0
        self.body = io.BytesIO()  # getvalue() hands over its buffer when nothing else refers to it: no second copy

    def feed(self, chunk: bytes) -> bool:
        """Take ``chunk``; True when the body is complete (cut off at the cap)."""
        self.raw += len(chunk)
        if self.raw > self.raw_limit:
            if self.truncate:  # cut off on the wire too: an encoded body that decodes to little is no excuse
                return True
            raise OversizedResponseError(
                f"{self.where} sent more than the {self.limit} bytes allowed for {self.what}", status=self.status
            )
        try:
            for piece in self.decoder.feed(chunk):
                room = self.limit - self.body.tell()
                if len(piece) > room:
                    if self.truncate:
                        self.body.write(piece[:room])
                        return True
                    raise OversizedResponseError(
                        f"{self.where} sent more than the {self.limit} bytes allowed for {self.what}"
                        + (f" (decoded from {', '.join(self.codings)})" if self.codings else ""),
                        status=self.status,
                    )
                self.body.write(piece)
        except zlib.error as exc:
            raise RemoteError(
                f"{self.where} sent {self.what} that is not valid {', '.join(self.codings)}: {exc}", status=self.status
            ) from None
        return False

    def value(self) -> bytes:
        """The body read."""
        return self.body.getvalue()


def _hold(response: httpx.Response, body: bytes) -> None:
    """Keep ``body`` (read within its cap) as ``response``'s content: httpx reads every response an auth flow
    answers in full before sending the next request, and must find it read (``tests/remote`` fail if that stops
    working)."""
    response._content = body


class _ChallengeAuth(httpx.Auth):
    """The 401 retry as an ``httpx.Auth`` flow, for blocking and asyncio clients alike: send with what the
    :class:`~trustkit.remote.Authenticator` holds for the scope; on a 401, answer the challenges
    (:meth:`~trustkit.remote.Authenticator.challenge_flow`: tokens fetched with the same client, TLS, proxy and
    deadline, their bodies capped) and send once more. The bodies of the responses it moves past are read within
    their caps before httpx holds them."""

    def __init__(self, service: _HTTPCore, scope: Scope) -> None:
        self._core = service
        self._scope = scope
        self._token_requests: list[httpx.Request] = []

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The flow itself (no I/O): token requests are yielded like the request."""
        service = self._core
        made = service._auth  # None: no credentials and no challenge yet, so nothing to send
        header = made.authorization(self._scope, origin=service._url) if made is not None else None
        if header:
            request.headers["Authorization"] = header
        response = yield request
        if response.status_code != 401:
            return
        from trustkit.remote.auth import _origin, parse_www_authenticate

        if _origin(str(response.url)) != _origin(str(request.url)):
            return  # a challenge from where a redirect led is not answered: credentials are for this server only
        challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
        flow = service.authenticator.challenge_flow(challenges, self._scope, origin=service._url)
        answer: tuple[int, bytes] | None = None
        while True:
            try:
                wanted = flow.send(answer)  # type: ignore[arg-type]  # None starts the generator
            except StopIteration as stop:
                retry: str | None = stop.value
                break
            token_request = service._token_request(wanted)
            self._token_requests.append(token_request)
            token = yield token_request
            answer = (token.status_code, token.content)
        if retry is None or retry == header:
            return
        headers = request.headers.copy()
        headers["Authorization"] = retry
        yield httpx.Request(
            request.method, request.url, headers=headers, stream=request.stream, extensions=request.extensions
        )

    def _is_token(self, request: httpx.Request) -> bool:
        return any(request is sent for sent in self._token_requests)

    def _cap(self, token: bool, response: httpx.Response) -> tuple[int, bool, str]:
        if token:
            return _TOKEN_LIMIT, response.status_code != 200, f"a token from {response.request.url.netloc.decode()}"
        return _ERROR_BODY_LIMIT, True, "the challenge"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """:meth:`auth_flow`, the bodies it needs or moves past read within their caps (blocking)."""
        flow = self.auth_flow(request)
        sent = next(flow)
        while True:
            response = yield sent
            token = self._is_token(sent)
            if token:
                _hold(response, self._core._read_blocking(response, *self._cap(True, response)))
            try:
                sent = flow.send(response)
            except StopIteration:
                return
            if not token:
                _hold(response, self._core._read_blocking(response, *self._cap(False, response)))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """:meth:`auth_flow`, the bodies it needs or moves past read within their caps (asyncio)."""
        flow = self.auth_flow(request)
        sent = next(flow)
        while True:
            response = yield sent
            token = self._is_token(sent)
            if token:
                _hold(response, await self._core._read_async(response, *self._cap(True, response)))
            try:
                sent = flow.send(response)
            except StopIteration:
                return
            if not token:
                _hold(response, await self._core._read_async(response, *self._cap(False, response)))


class _Tries:
    """A retry plan (:meth:`_HTTPCore._attempts`) as both services drive it: iterating yields how long to wait
    before each attempt; after each, the driver sets :attr:`outcome` (the reply, or the
    :class:`ServerUnavailableError` of a connection that failed); when the plan ends, :attr:`reply` is its answer."""

    def __init__(self, plan: Generator[float, Reply | ServerUnavailableError, Reply]) -> None:
        self._plan = plan
        self.outcome: Reply | ServerUnavailableError | None = None
        self.reply: Reply

    def __iter__(self) -> Iterator[float]:
        while True:
            try:
                wait = self._plan.send(self.outcome)  # type: ignore[arg-type]  # None starts the generator
            except StopIteration as stop:
                self.reply = stop.value
                return
            yield wait


class _HTTPCore:
    """What :class:`HTTPService` (blocking) and :class:`AsyncHTTPService` (asyncio) share: the options, the
    authentication flow, the retry plan, the body caps, and the mapping of failures to trustkit's errors.
    Subclasses add their routes, and word refusals (:meth:`_refusal`) and TLS failures (:meth:`_tls_failure`)."""

    _headers: ClassVar[Mapping[str, str]] = {}
    """Sent with every request, besides the user agent and ``Accept-Encoding: identity``."""
    _follow_redirects: ClassVar[bool] = False
    """For services whose servers redirect reads (httpx drops ``Authorization`` when a redirect leaves the origin)."""
    _service: ClassVar[str] = "trust server"
    """What the service is, in the message refusing its URL."""

    def __init__(
        self,
        url: str,
        *,
        ca: StrPath | None = None,
        client_cert: StrPath | tuple[StrPath, StrPath] | None = None,
        tls: TLSConfig | None = None,
        auth: AuthOption = None,
        timeout: float = 30.0,
        total_timeout: float | None = DEFAULT_TOTAL_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.25,
        proxy: str | None = None,
        proxy_from_environment: bool = True,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = HTTPOptions.create(
            url,
            timeout=timeout,
            total_timeout=total_timeout,
            retries=retries,
            backoff=backoff,
            proxy=proxy,
            proxy_from_environment=proxy_from_environment,
            service=self._service,
        )
        if tls is not None and (ca is not None or client_cert is not None):
            raise InvalidArgumentError("give either tls= or ca=/client_cert=, not both")
        if tls is None:
            cert, key = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
            tls = TLSConfig.create(ca=ca, client_cert=cert, client_key=key)
        self._options = options
        self._url, self._where, self._proxy = options.url, options.where, options.proxy
        self._tls = tls
        self._auth: Authenticator | None = None  # without credentials: made when first needed (`authenticator`)
        if auth is not None:
            from trustkit.remote.auth import Authenticator

            self._auth = auth if isinstance(auth, Authenticator) else Authenticator(auth)
        self._open(transport)

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        """Make the client (``transport`` replaces httpx's network transport: tests use ``httpx.MockTransport``)."""
        raise NotImplementedError

    def _verify(self) -> ssl.SSLContext | bool:
        """What the transport verifies the server with."""
        return self._tls.ssl_context() if urlsplit(self._url).scheme == "https" else True

    def _client_options(self) -> dict[str, Any]:
        """httpx client settings, the same for the blocking and the asyncio client."""
        headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity", **self._headers}
        return {
            "timeout": httpx.Timeout(self._options.timeout),
            "follow_redirects": self._follow_redirects,
            "trust_env": False,
            "headers": headers,
        }

    def _refuse_token_redirect(self, response: httpx.Response) -> None:
        """A client response hook: a token server's redirect is an error, never followed (httpx would re-send the
        request's form, with its refresh token, to wherever it points, over plain http too)."""
        if response.request.extensions.get(_MARKS_AUTH_FETCH) and response.has_redirect_location:
            realm = redact_url(str(response.request.url.copy_with(query=None)))
            raise RemoteError(
                f"the token server {realm} (named by {self._where}) redirects its token request to "
                f"{redact_url(response.headers['location'])!r}: trustkit does not follow a token server's "
                "redirects (they would carry the credentials elsewhere); fix the server's token realm",
                status=response.status_code,
            )

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._url

    @property
    def options(self) -> HTTPOptions:
        """The checked options (timeouts, retries, proxy) this service runs with."""
        return self._options

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self._url)!r})"

    @property
    def proxy(self) -> str | None:
        """The proxy requests go through: the one given, else the environment's (:func:`environment_proxy`), or
        None."""
        return redact_url(self._proxy) if self._proxy is not None else None

    @property
    def authenticator(self) -> Authenticator:
        """The :class:`~trustkit.remote.Authenticator` answering the server's challenges (tokens are cached).

        Without credentials it is made when first needed (a challenge, or this property): reading from a server
        that asks for none never imports the authentication module."""
        made = self._auth
        if made is None:
            from trustkit.remote.auth import Authenticator

            with _ANONYMOUS_AUTH:
                if self._auth is None:
                    self._auth = Authenticator()
                made = self._auth
        return made

    # --- what subclasses word -------------------------------------------------------------------------------

    def _refusal(
        self, reply: Reply, body: ErrorBody, *, what: str, gun: str | None, scope: Scope | None
    ) -> RemoteError:
        """The error for a refusal: any failed reply but a 5xx or 429 (``gun`` names the repository, if any)."""
        raise NotImplementedError

    def _tls_failure(self, what: str, reason: object) -> str:
        """What to say when TLS with the server fails: why, and how to trust it."""
        raise NotImplementedError

    def _denial(self, reply: Reply) -> str:
        """``<status> [<the challenge's error>] (<whether credentials were sent>)``, for a 401 or 403 message."""
        from trustkit.remote.auth import _origin, parse_www_authenticate

        challenges = parse_www_authenticate(reply.headers.get_list("www-authenticate"))
        reason = next((c.params["error"] for c in challenges if "error" in c.params), None)
        who = "with the credentials given" if self.authenticator.sent_credentials else "no credentials were sent"
        if reply.url is not None and _origin(reply.url) != _origin(self._url):
            elsewhere = urlsplit(reply.url).netloc.rpartition("@")[2]
            who = f"from {elsewhere}, where a redirect led: trustkit sends no credentials to another host"
        return f"{reply.status}{' ' + reason if reason else ''} ({who})"

    # --- one operation, without I/O -------------------------------------------------------------------------

    def _deadline(self) -> AbstractContextManager[None]:
        """Run one operation: every socket wait in it ends by ``total_timeout`` from now (or an
        :func:`overall_deadline`'s end, if sooner)."""
        total = self._options.total_timeout
        return _within(total, f"{total} s (total_timeout)")

    def _attempts(self, request: HTTPRequest) -> Generator[float, Reply | ServerUnavailableError, Reply]:
        """The retry plan of ``request``: yields how long to wait before each attempt, is sent its outcome (a
        reply, or the :class:`ServerUnavailableError` of a connection that failed), and returns a 2xx (or
        ``accept``) reply or raises the mapped error. The whole of it (every attempt, the delays between them,
        token fetches) ends within ``total_timeout``."""
        options = self._options
        attempts = 1 + (options.retries if request.idempotent else 0)
        deadline = _DEADLINE.get()
        wait = 0.0
        for attempt in range(attempts):
            delay = min(_MAX_BACKOFF, options.backoff * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
            out_of_time = deadline is not None and time.monotonic() + delay >= deadline.at
            last = attempt == attempts - 1 or out_of_time
            outcome = yield wait
            if isinstance(outcome, ServerUnavailableError):
                if last:
                    if attempt > 0:
                        why = f" within {deadline.label}" if out_of_time and deadline is not None else ""
                        raise ServerUnavailableError(
                            f"{outcome} (gave up after {attempt + 1} attempts{why})",
                            status=outcome.status,
                            code=outcome.code,
                            detail=outcome.detail,
                        ) from outcome
                    raise outcome
                failure = str(outcome)
            else:
                reply = outcome
                if reply.ok or reply.status in request.accept:
                    return reply
                retryable = reply.status >= 500 or reply.status == 429
                if last or not retryable:
                    raise self._failed(reply, request, attempt + 1)
                delay = max(delay, _retry_after(reply.headers))
                if deadline is not None and time.monotonic() + delay >= deadline.at:
                    raise self._failed(reply, request, attempt + 1)
                failure = f"HTTP {reply.status}"
            logger.debug(
                "retrying %s %s for %s in %.2f s after %s (attempt %d of %d)",
                request.method,
                request.path,
                request.what,
                delay,
                failure,
                attempt + 2,
                attempts,
            )
            wait = delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self, reply: Reply, request: HTTPRequest, attempts: int) -> RemoteError:
        return self._error(reply, what=request.what, gun=request.gun, scope=request.scope, attempts=attempts)

    def _build(self, request: HTTPRequest, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request, with the client's headers and timeouts (what ``client.build_request`` would add: the
        client has no base URL, parameters or cookies to merge, and the URL is parsed once, not twice)."""
        headers = client.headers
        if request.headers:
            headers = headers.copy()
            headers.update(request.headers)
        built = httpx.Request(
            request.method,
            _parsed_url(self._url + request.path),
            params=request.params,
            files=list(request.files) if request.files else None,
            headers=headers,
            content=request.content,
            extensions={"timeout": client.timeout.as_dict()},
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s (%s)", request.method, redact_url(str(built.url)), request.what)
        return built

    def _auth_flow(self, request: HTTPRequest) -> httpx.Auth | None:
        return None if request.scope is None else _ChallengeAuth(self, request.scope)

    def _body(self, request: HTTPRequest, response: httpx.Response) -> _Body:
        """How the answer to ``request`` is read: its cap, or the error-body cap (cut off) for a failure."""
        ok = 200 <= response.status_code < 300
        if logger.isEnabledFor(logging.DEBUG):
            url = redact_url(str(response.url))
            logger.debug("%s %s answered HTTP %d", request.method, url, response.status_code)
        truncate = not request.idempotent or not ok  # a write's success must not fail over a chatty body
        limit = request.max_size if ok else _ERROR_BODY_LIMIT
        return _Body(self._where, response, limit, truncate=truncate, what=request.what)

    def _token_request(self, wanted: TokenRequest) -> httpx.Request:
        """The request the authenticator asks for, built by this service's client (same TLS, proxy, caps)."""
        try:
            return self._client_for_tokens().build_request(
                wanted.method,
                wanted.url,
                params=list(wanted.params),
                data=wanted.form,
                headers=dict(wanted.headers),
                extensions={_MARKS_AUTH_FETCH: True},
            )
        except (httpx.InvalidURL, ValueError) as exc:  # httpx's IDNA failures are ValueErrors (UnicodeError)
            raise RemoteError(
                f"{self._where} named a token realm trustkit cannot request, {wanted.url!r}: {exc}"
            ) from None

    def _client_for_tokens(self) -> httpx.Client | httpx.AsyncClient:
        raise NotImplementedError

    def _read_blocking(self, response: httpx.Response, limit: int, truncate: bool, what: str) -> bytes:
        raise NotImplementedError

    async def _read_async(self, response: httpx.Response, limit: int, truncate: bool, what: str) -> bytes:
        raise NotImplementedError

    def _too_slow(self, what: str, status: int | None = None) -> ServerUnavailableError:
        deadline = _DEADLINE.get()
        total = self._options.total_timeout
        allowed = deadline.label if deadline is not None else f"{total} s (total_timeout)"
        return ServerUnavailableError(f"{self._where} took longer than {allowed} to send {what}", status=status)

    # --- failures -------------------------------------------------------------------------------------------

    @contextmanager
    def _transport_errors(self, what: str) -> Iterator[None]:
        """Raise an httpx failure inside as :meth:`_transport_error` maps it (the sending and reading of both
        services)."""
        try:
            yield
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, what) from exc

    def _transport_error(self, exc: httpx.HTTPError, what: str) -> RemoteError:
        """Map an httpx failure: certificate problems are not retried, network ones are (as
        ServerUnavailableError), and so is any other TLS error, which is never blamed on the CA."""
        if isinstance(exc, httpx.TimeoutException) and _deadline_passed():
            return self._too_slow(what)
        tls_problem = _ssl_error(exc)
        if tls_problem is not None and not isinstance(exc, httpx.TimeoutException):
            reason = getattr(tls_problem, "verify_message", None) or getattr(tls_problem, "reason", None) or exc
            if isinstance(tls_problem, ssl.SSLCertVerificationError) or _about_certificates(tls_problem):
                return RemoteError(self._tls_failure(what, reason))
            if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"):
                return RemoteError(
                    f"{self._where} does not speak TLS ({what}: {reason}): if it serves plain HTTP, use "
                    f"http://{self._where}; otherwise check the port"
                )
            return ServerUnavailableError(
                f"the TLS connection with {self._where} failed for {what}: {reason} (not a certificate problem: "
                "the connection broke, or a library in this process left an error on OpenSSL's queue)"
            )
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnavailableError(
                f"{self._where} did not answer {what} within {self._options.timeout} s ({type(exc).__name__})"
            )
        if isinstance(exc, httpx.RemoteProtocolError) and "Receive buffer too long" in str(exc):  # h11's words
            return RemoteError(
                f"{self._where} answered {what} with a response head (status line and headers) too large to read: "
                "a misbehaving server or proxy; not retried"
            )
        if isinstance(exc, httpx.ConnectError | httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
            return ServerUnavailableError(f"{self._where} is unreachable or dropped the connection ({what}): {exc}")
        if isinstance(exc, httpx.ProxyError | httpx.CloseError):
            return ServerUnavailableError(f"cannot reach {self._where} ({what}): {exc}")
        return RemoteError(f"request for {what} to {self._where} failed: {type(exc).__name__}: {exc}")

    def _error(self, reply: Reply, *, what: str, gun: str | None, scope: Scope | None, attempts: int) -> RemoteError:
        """The error for a failed ``reply``: a server failure (5xx, 429: what is left after the retries) alike for
        every service, any other status as the service words it (:meth:`_refusal`)."""
        body = ErrorBody.parse(reply.body)
        status = reply.status
        if status == 400 and reply.body.startswith(_PLAIN_HTTP_TO_TLS):
            https = urlunsplit(urlsplit(self._url)._replace(scheme="https"))
            return RemoteError(
                f"{self._where} speaks HTTPS, but trustkit sent plain HTTP ({what} answered HTTP 400): use "
                f"{redact_url(https)}",
                status=status,
            )
        if status >= 500 or status == 429:
            after = f" after {attempts} attempts" if attempts > 1 else ""
            text = f" ({body.code}: {body.message})" if body.code else ""
            return ServerUnavailableError(
                f"{self._where} failed with HTTP {status}{text} for {what}{after}",
                status=status,
                code=body.code,
                detail=body.detail,
            )
        return self._refusal(reply, body, what=what, gun=gun, scope=scope)


class HTTPService(_HTTPCore):
    """A server spoken to over HTTP(S) with blocking calls: connection set-up, authentication, caps, deadlines,
    retries and the mapping of failures to trustkit's errors (:class:`_HTTPCore`'s, shared with
    :class:`AsyncHTTPService`). Subclasses add their routes, and word refusals (:meth:`_refusal`) and TLS
    failures (:meth:`_tls_failure`) for their users.

    The options are :class:`~trustkit.remote.NotaryServer`'s. Safe to share between threads (httpx's client and
    the :class:`~trustkit.remote.Authenticator` are).
    """

    _client: httpx.Client

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        if transport is None:
            transport = _transport(self._verify(), self._proxy)
        if not isinstance(transport, httpx.BaseTransport):
            raise TypeError(f"{type(self).__name__} needs a blocking httpx transport, not {type(transport).__name__}")
        hooks = {"response": [self._refuse_token_redirect]}
        self._client = _Client(transport=transport, event_hooks=hooks, **self._client_options())

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self: _Service) -> _Service:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **request: Any) -> Reply:
        """Send ``HTTPRequest(method, path, **request)`` with auth, retries and caps; return a 2xx (or
        ``accept``) reply, raise the mapped error otherwise."""
        return self._run(HTTPRequest(method, path, **request))

    def _run(self, request: HTTPRequest) -> Reply:
        """Drive :meth:`_attempts` with blocking sends and sleeps, within the operation's deadline."""
        with self._deadline():
            tries = _Tries(self._attempts(request))
            for wait in tries:
                if wait:
                    time.sleep(wait)
                try:
                    tries.outcome = self._send(request)
                except ServerUnavailableError as exc:
                    tries.outcome = exc
            return tries.reply

    def _send(self, request: HTTPRequest) -> Reply:
        """One request, answered once more with credentials when the server challenges it (:class:`_ChallengeAuth`)."""
        built = self._build(request, self._client)
        with self._transport_errors(request.what):
            response = self._client.send(built, stream=True, auth=self._auth_flow(request))
        try:
            body = self._drain(response, self._body(request, response))
            return Reply(response.status_code, response.headers, body, url=str(response.url))
        finally:
            response.close()

    def _drain(self, response: httpx.Response, body: _Body) -> bytes:
        """Read ``response`` into ``body``; :class:`ServerUnavailableError` when it outlasts the deadline."""
        with self._transport_errors(body.what):
            for chunk in (response.content,) if response.is_stream_consumed else response.iter_raw():
                if body.feed(chunk):
                    break
                if _deadline_passed():
                    raise self._too_slow(body.what, response.status_code)
        return body.value()

    def _client_for_tokens(self) -> httpx.Client:
        return self._client

    def _read_blocking(self, response: httpx.Response, limit: int, truncate: bool, what: str) -> bytes:
        try:
            return self._drain(response, _Body(self._where, response, limit, truncate=truncate, what=what))
        finally:
            response.close()


class AsyncHTTPService(_HTTPCore):
    """:class:`HTTPService` for asyncio, over ``httpx.AsyncClient``: the same options, authentication flow, retry
    plan, caps and errors (one implementation, :class:`_HTTPCore`), with coroutines. ``total_timeout`` and
    :func:`overall_deadline` bound each operation with ``asyncio.wait_for``.

    Requests of several tasks run concurrently over one connection pool. Use from one event loop (httpx's
    asynchronous client belongs to the loop it first ran in); ``async with``, or ``await`` :meth:`aclose`.
    """

    _client: httpx.AsyncClient

    def _open(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> None:
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=self._verify(), proxy=self._proxy, trust_env=False)
        if not isinstance(transport, httpx.AsyncBaseTransport):
            raise TypeError(f"{type(self).__name__} needs an asyncio httpx transport, not {type(transport).__name__}")

        async def refuse_token_redirect(response: httpx.Response) -> None:
            self._refuse_token_redirect(response)

        hooks = {"response": [refuse_token_redirect]}
        self._client = _AsyncClient(transport=transport, event_hooks=hooks, **self._client_options())

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def __aenter__(self: _AsyncService) -> _AsyncService:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, **request: Any) -> Reply:
        """:meth:`HTTPService._call`, awaited."""
        return await self._run(HTTPRequest(method, path, **request))

    async def _run(self, request: HTTPRequest) -> Reply:
        """Drive :meth:`_attempts` with coroutines, within the operation's deadline."""
        import asyncio  # the blocking read path does without it

        with self._deadline():
            deadline = _DEADLINE.get()
            left = None if deadline is None else max(0.0, deadline.at - time.monotonic())
            try:
                timeout = getattr(asyncio, "timeout", None)  # Python 3.11: no task per request
                if timeout is None:
                    return await asyncio.wait_for(self._attempt_all(request), left)
                async with timeout(left):
                    return await self._attempt_all(request)
            except asyncio.TimeoutError:
                raise self._too_slow(request.what) from None

    async def _attempt_all(self, request: HTTPRequest) -> Reply:
        import asyncio

        tries = _Tries(self._attempts(request))
        for wait in tries:
            if wait:
                await asyncio.sleep(wait)
            try:
                tries.outcome = await self._send(request)
            except ServerUnavailableError as exc:
                tries.outcome = exc
        return tries.reply

    async def _send(self, request: HTTPRequest) -> Reply:
        built = self._build(request, self._client)
        with self._transport_errors(request.what):
            response = await self._client.send(built, stream=True, auth=self._auth_flow(request))
        try:
            body = await self._drain(response, self._body(request, response))
            return Reply(response.status_code, response.headers, body, url=str(response.url))
        finally:
            await response.aclose()

    async def _drain(self, response: httpx.Response, body: _Body) -> bytes:
        with self._transport_errors(body.what):
            if response.is_stream_consumed:
                body.feed(response.content)
            else:
                async for chunk in response.aiter_raw():
                    if body.feed(chunk):
                        break
        return body.value()

    def _client_for_tokens(self) -> httpx.AsyncClient:
        return self._client

    async def _read_async(self, response: httpx.Response, limit: int, truncate: bool, what: str) -> bytes:
        try:
            return await self._drain(response, _Body(self._where, response, limit, truncate=truncate, what=what))
        finally:
            await response.aclose()
