"""The HTTP core shared by trustkit's clients of notary-server and of registries, over httpx.

A service (:class:`~trustkit.remote.NotaryServer`, :class:`~trustkit.dct.Registry`) subclasses
:class:`HTTPService` for its routes and its wording of refusals; everything about talking to a server safely is
here, once, so that both behave alike:

* TLS from a :class:`~trustkit.remote.TLSConfig`, no redirects unless the service follows them, no proxy or
  certificates from the environment (``trust_env=False``), bodies never content-encoded (``identity``).
* Bodies are read as a stream with a cap: a ``Content-Length`` over the cap fails before anything is read, and a
  body that goes past it fails as soon as it does (:class:`~trustkit.errors.OversizedResponseError`). Every read
  also has a deadline, so a server that trickles bytes cannot hold a caller forever.
* A 401 is answered once more with the credentials or token its ``WWW-Authenticate`` asks for
  (:class:`~trustkit.remote.Authenticator`); tokens are fetched with the same TLS, timeouts and caps.
* Idempotent requests are retried on connection failures, timeouts, 5xx and 429, with exponential backoff and
  jitter (and ``Retry-After``, capped); writes are never retried. What is left after the retries is a
  :class:`~trustkit.errors.ServerUnavailableError`; a TLS failure is a :class:`~trustkit.errors.RemoteError` that
  says how to trust the server, and is not retried.
"""

from __future__ import annotations

import json
import math
import random
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx

from trustkit.errors import OversizedResponseError, RemoteError, ServerUnavailableError
from trustkit.remote.auth import Authenticator, Credentials, CredentialsSource, Scope
from trustkit.remote.auth import parse_www_authenticate as _parse_challenges
from trustkit.remote.base import check_server_url
from trustkit.remote.tls import StrPath, TLSConfig

__all__ = ["AuthOption", "ErrorBody", "HTTPService", "Reply"]

AuthOption = Authenticator | Credentials | CredentialsSource | None
"""What ``auth=`` accepts: an :class:`Authenticator`, :class:`Credentials`, a function returning them, or None
(anonymous; registry tokens are still fetched when the server asks for them)."""

_SMALL_LIMIT = 1 << 20
"""The cap on a body when a request names none (1 MiB)."""
_ERROR_BODY_LIMIT = 64 << 10
_TOKEN_LIMIT = 1 << 20
_MAX_BACKOFF = 10.0

_Service = TypeVar("_Service", bound="HTTPService")


def _user_agent() -> str:
    from trustkit import __version__  # the package's own string: importlib.metadata is slow to import

    return f"trustkit/{__version__}"


class Reply:
    """A response read in full (within its cap). A plain class: an attrs one would cost every process that
    imports the read path a millisecond."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

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


class HTTPService:
    """A server spoken to over HTTP(S): connection set-up, authentication, caps, deadlines, retries and the
    mapping of failures to trustkit's errors. Subclasses add their routes, and word refusals (:meth:`_refusal`)
    and TLS failures (:meth:`_tls_failure`) for their users.

    The options are :class:`~trustkit.remote.NotaryServer`'s.
    """

    _headers: ClassVar[Mapping[str, str]] = {}
    """Sent with every request, besides the user agent and ``Accept-Encoding: identity``."""
    _follow_redirects: ClassVar[bool] = False
    """For services whose servers redirect reads (httpx drops ``Authorization`` when a redirect leaves the origin)."""

    def __init__(
        self,
        url: str,
        *,
        ca: StrPath | None = None,
        client_cert: StrPath | tuple[StrPath, StrPath] | None = None,
        tls: TLSConfig | None = None,
        auth: AuthOption = None,
        timeout: float = 30.0,
        total_timeout: float | None = 300.0,
        retries: int = 2,
        backoff: float = 0.25,
        proxy: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = check_server_url(url)
        parts = urlsplit(self._url)
        self._where = parts.netloc.rpartition("@")[2]
        if tls is not None and (ca is not None or client_cert is not None):
            raise ValueError("give either tls= or ca=/client_cert=, not both")
        if tls is None:
            cert, key = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
            tls = TLSConfig.create(ca=ca, client_cert=cert, client_key=key)
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("retries and backoff must be >= 0, timeout > 0")
        self._tls = tls
        self._auth = auth if isinstance(auth, Authenticator) else Authenticator(auth)
        self._timeout = timeout
        self._total_timeout = total_timeout
        self._retries = retries
        self._backoff = backoff
        self._client = httpx.Client(
            verify=tls.ssl_context() if parts.scheme == "https" and transport is None else True,
            timeout=httpx.Timeout(timeout),
            follow_redirects=self._follow_redirects,
            trust_env=False,
            proxy=proxy,
            transport=transport,
            headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"},
        )
        for name, value in self._headers.items():
            self._client.headers[name] = value  # in place: an Accept takes the place of httpx's default one

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._url

    @property
    def authenticator(self) -> Authenticator:
        """The :class:`~trustkit.remote.Authenticator` answering the server's challenges (tokens are cached)."""
        return self._auth

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self: _Service) -> _Service:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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
        challenges = _parse_challenges(reply.headers.get_list("www-authenticate"))
        reason = next((c.params["error"] for c in challenges if "error" in c.params), None)
        who = "with the credentials given" if self._auth.sent_credentials else "no credentials were sent"
        return f"{reply.status}{' ' + reason if reason else ''} ({who})"

    # --- requests -------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        scope: Scope | None,
        what: str,
        gun: str | None,
        max_size: int = _SMALL_LIMIT,
        params: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
        idempotent: bool = True,
        accept: tuple[int, ...] = (),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send with auth, retries and caps; return a 2xx (or ``accept``) reply, raise the mapped error otherwise.
        ``content`` is a raw request body, ``headers`` extra request headers (a ``Content-Type``)."""
        attempts = 1 + (self._retries if idempotent else 0)
        truncate = not idempotent  # a write's success must not fail over a chatty body
        for attempt in range(attempts):
            last = attempt == attempts - 1
            delay = min(_MAX_BACKOFF, self._backoff * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
            try:
                reply = self._exchange(
                    method,
                    path,
                    scope=scope,
                    what=what,
                    max_size=max_size,
                    params=params,
                    files=files,
                    truncate=truncate,
                    content=content,
                    headers=headers,
                )
            except ServerUnavailableError as exc:
                if last:
                    if attempts > 1:
                        raise ServerUnavailableError(
                            f"{exc} (gave up after {attempts} attempts)",
                            status=exc.status,
                            code=exc.code,
                            detail=exc.detail,
                        ) from exc
                    raise
            else:
                if reply.ok or reply.status in accept:
                    return reply
                retryable = reply.status >= 500 or reply.status == 429
                if last or not retryable:
                    raise self._error(reply, what=what, gun=gun, scope=scope, attempts=attempt + 1)
                delay = max(delay, _retry_after(reply.headers))
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        scope: Scope | None,
        what: str,
        max_size: int,
        params: Mapping[str, str] | None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None,
        truncate: bool,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request, answered once more with credentials when the server challenges it."""
        header = self._auth.authorization(scope) if scope is not None else None
        reply = self._send(
            method,
            path,
            header,
            what=what,
            max_size=max_size,
            params=params,
            files=files,
            truncate=truncate,
            content=content,
            headers=headers,
        )
        if reply.status != 401 or scope is None:
            return reply
        challenges = _parse_challenges(reply.headers.get_list("www-authenticate"))
        answer = self._auth.authenticate(challenges, scope, self._fetch_token)
        if answer is None or answer == header:
            return reply
        return self._send(
            method,
            path,
            answer,
            what=what,
            max_size=max_size,
            params=params,
            files=files,
            truncate=truncate,
            content=content,
            headers=headers,
        )

    def _send(
        self,
        method: str,
        path: str,
        authorization: str | None,
        *,
        what: str,
        max_size: int,
        params: Mapping[str, str] | None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None,
        truncate: bool,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        sent = {**(headers or {}), **({"Authorization": authorization} if authorization else {})}
        request = self._client.build_request(
            method, self._url + path, params=params, files=list(files) if files else None, headers=sent, content=content
        )
        with self._response(request, what) as response:
            ok = 200 <= response.status_code < 300
            limit = max_size if ok else _ERROR_BODY_LIMIT
            body = self._read(response, limit, truncate=truncate or not ok, what=what)
            return Reply(response.status_code, response.headers, body)

    @contextmanager
    def _response(self, request: httpx.Request, what: str) -> Iterator[httpx.Response]:
        try:
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, what) from exc
        try:
            yield response
        finally:
            response.close()

    def _read(self, response: httpx.Response, limit: int, *, truncate: bool, what: str) -> bytes:
        """Read at most ``limit`` bytes: more raises :class:`OversizedResponseError` (or, with ``truncate``,
        is cut off). Raises :class:`ServerUnavailableError` when the body outlasts ``total_timeout``."""
        announced = response.headers.get("content-length")
        if announced is not None and not truncate:
            try:
                length = int(announced)
            except ValueError:
                length = -1
            if length > limit:
                raise OversizedResponseError(
                    f"{self._where} announced {length} bytes for {what}, more than the {limit} allowed",
                    status=response.status_code,
                )
        deadline = None if self._total_timeout is None else time.monotonic() + self._total_timeout
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                room = limit - len(body)
                if len(chunk) > room:
                    if truncate:
                        body += chunk[:room]
                        break
                    raise OversizedResponseError(
                        f"{self._where} sent more than the {limit} bytes allowed for {what}",
                        status=response.status_code,
                    )
                body += chunk
                if deadline is not None and time.monotonic() > deadline:
                    raise ServerUnavailableError(
                        f"{self._where} took longer than {self._total_timeout} s to send {what}",
                        status=response.status_code,
                    )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, what) from exc
        return bytes(body)

    def _fetch_token(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]],
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes]:
        """The :class:`~trustkit.remote.auth.TokenFetcher` for this server: same TLS, timeouts and caps."""
        try:
            realm = urlsplit(url).netloc
            request = self._client.build_request(method, url, params=list(params), data=form, headers=dict(headers))
        except (httpx.InvalidURL, ValueError) as exc:  # httpx's IDNA failures are ValueErrors (UnicodeError)
            raise RemoteError(f"{self._where} named a token realm trustkit cannot request, {url!r}: {exc}") from None
        what = f"a token from {realm}"
        with self._response(request, what) as response:
            return response.status_code, self._read(
                response, _TOKEN_LIMIT, truncate=response.status_code != 200, what=what
            )

    # --- failures -------------------------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError, what: str) -> RemoteError:
        """Map an httpx failure: TLS problems are not retried, network ones are (as ServerUnavailableError)."""
        tls_problem = _ssl_error(exc)
        if tls_problem is not None and not isinstance(exc, httpx.TimeoutException):
            reason = getattr(tls_problem, "verify_message", None) or getattr(tls_problem, "reason", None) or exc
            return RemoteError(self._tls_failure(what, reason))
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnavailableError(
                f"{self._where} did not answer {what} within {self._timeout} s ({type(exc).__name__})"
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
