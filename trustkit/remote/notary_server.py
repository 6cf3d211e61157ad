"""The notary-server 0.7 HTTP API over httpx: every route, bounded downloads, retries, TLS and authentication.

Routes (all below ``<url>/v2/<gun>/_trust/``, the GUN not escaped): ``GET tuf/<role>.json``,
``tuf/<role>.<sha256>.json`` and ``tuf/<version>.<role>.json``; ``POST tuf/`` (multipart publish); ``GET`` and
``POST tuf/<role>.key``; ``DELETE tuf/``; ``GET changefeed`` (and ``/v2/_trust/changefeed`` for every GUN); plus
``GET /v2/``, ``/_notary_server/health`` and ``/metrics``.

Behaviour a caller can rely on:

* notary's error bodies ``{"errors":[{"code","message","detail"}]}`` become typed errors that keep ``status``,
  ``code`` and ``detail`` (see :func:`~trustkit.remote.base.notary_error`); 401/403 become
  :class:`~trustkit.errors.UnauthorizedError` with a hint on how to log in.
* Bodies are read as a stream with a cap: a ``Content-Length`` over the cap fails before anything is read, and a
  body that goes past it fails as soon as it does (:class:`~trustkit.errors.OversizedResponseError`). Every
  read also has a deadline, so a server that trickles bytes cannot hold a caller forever.
* ``GET`` requests are retried on connection failures, timeouts, 5xx and 429, with exponential backoff and
  jitter; ``POST`` and ``DELETE`` are never retried. What is left after the retries is a
  :class:`~trustkit.errors.ServerUnavailableError`.
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
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from trustkit.errors import (
    KeyFormatError,
    OversizedResponseError,
    RemoteError,
    ServerUnavailableError,
    UnauthorizedError,
    UnknownRoleError,
)
from trustkit.keys.public import PublicKey
from trustkit.remote.auth import Authenticator, Credentials, CredentialsSource, Scope, login_hint
from trustkit.remote.auth import parse_www_authenticate as _parse_challenges
from trustkit.remote.base import (
    SERVER_KEY_ROLES,
    ChangeRecord,
    check_gun,
    check_role,
    check_server_url,
    metadata_name,
    notary_error,
)
from trustkit.remote.config import ServerConfig
from trustkit.remote.tls import StrPath, TLSConfig

__all__ = ["AuthOption", "NotaryServer"]

AuthOption = Authenticator | Credentials | CredentialsSource | None
"""What ``auth=`` accepts: an :class:`Authenticator`, :class:`Credentials`, a function returning them, or None
(anonymous; registry tokens are still fetched when the server asks for them)."""

_ERROR_BODY_LIMIT = 64 << 10
_KEY_LIMIT = 64 << 10
_TOKEN_LIMIT = 1 << 20
_CHANGEFEED_LIMIT = 32 << 20
_SMALL_LIMIT = 1 << 20
_METRICS_LIMIT = 16 << 20
_MAX_BACKOFF = 10.0


def _user_agent() -> str:
    from trustkit import __version__  # the package's own string: importlib.metadata costs 18 ms per process

    return f"trustkit/{__version__}"


@attrs.frozen
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


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


def _parse_error_body(body: bytes) -> tuple[str | None, str | None, object]:
    """The first ``{"code","message","detail"}`` of notary's error body, or Nones when there is none."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None, None, None
    errors = obj.get("errors") if isinstance(obj, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, None, None
    first = errors[0]
    code = first.get("code") if isinstance(first.get("code"), str) else None
    message = first.get("message") if isinstance(first.get("message"), str) else None
    return code, message, first.get("detail")


class NotaryServer:
    """A notary server (notary-server 0.7 or compatible), as a :class:`~trustkit.remote.Remote`.

    ``url`` is the server's base URL (``https://notary.example.com:4443``). TLS: ``ca`` is a CA file, or a folder
    of ``*.crt`` files, trusted instead of the system's CAs; ``client_cert`` a PEM file holding certificate and
    key, or a ``(cert, key)`` pair; or pass a whole :class:`TLSConfig` as ``tls``. ``auth``: see
    :data:`AuthOption`. ``timeout`` bounds connecting and each read (seconds); ``total_timeout`` bounds a whole
    response. ``retries`` extra attempts are made for idempotent requests, after ``backoff``, ``2*backoff``, …
    seconds. ``transport`` replaces httpx's network transport (tests use ``httpx.MockTransport``).

    Use as a context manager, or call :meth:`close`.
    """

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
            follow_redirects=False,
            trust_env=False,
            proxy=proxy,
            transport=transport,
            headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"},
        )

    @classmethod
    def from_config(cls, config: ServerConfig, *, auth: AuthOption = None, **options: Any) -> NotaryServer:
        """The server of a resolved configuration (:func:`~trustkit.remote.docker_server_config` or
        :func:`~trustkit.remote.notary_server_config`), with its TLS files and, unless ``auth`` is given, its
        credentials (looked up when the server first asks for them)."""
        return cls(config.url, tls=config.tls, auth=auth if auth is not None else config.load_credentials, **options)

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._url

    @property
    def authenticator(self) -> Authenticator:
        """The :class:`Authenticator` answering this server's challenges."""
        return self._auth

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> NotaryServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NotaryServer({self._url!r})"

    # --- the Remote protocol --------------------------------------------------------------------------------

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """``GET tuf/<role>.json``, ``tuf/<role>.<checksum>.json`` or ``tuf/<version>.<role>.json``."""
        check_gun(gun)
        name = metadata_name(role, checksum=checksum, version=version)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"max_size must be a positive integer, not {max_size!r}")
        reply = self._call(
            "GET", f"/v2/{gun}/_trust/tuf/{name}", scope=self._pull(gun), what=name, max_size=max_size, gun=gun
        )
        return reply.body

    def publish(self, gun: str, files: Mapping[str, bytes]) -> None:
        """``POST tuf/``: one multipart request with a ``files`` part per role (never retried)."""
        check_gun(gun)
        parts: list[tuple[str, tuple[str, bytes, str]]] = []
        seen: set[str] = set()
        for name, data in files.items():
            role = check_role(name.removesuffix(".json") if isinstance(name, str) else name)
            if role in seen:
                raise ValueError(f"role {role} is given twice")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"the metadata of {role} must be bytes, not {type(data).__name__}")
            seen.add(role)
            parts.append(("files", (role, bytes(data), "application/octet-stream")))
        if not parts:
            raise ValueError("nothing to publish")
        self._call(
            "POST",
            f"/v2/{gun}/_trust/tuf/",
            scope=self._push(gun),
            what="the update",
            gun=gun,
            files=parts,
            idempotent=False,
        )

    def get_key(self, gun: str, role: str) -> PublicKey:
        """``GET tuf/<role>.key``: the server's timestamp or snapshot key (created when it holds none in use).

        Before the GUN has a root, notary-server creates a new key on every call: keep the one you got.
        """
        return self._key("GET", gun, role)

    def rotate_key(self, gun: str, role: str) -> PublicKey:
        """``POST tuf/<role>.key``: a new server key for ``timestamp`` or ``snapshot`` (never retried)."""
        return self._key("POST", gun, role)

    def delete(self, gun: str) -> None:
        """``DELETE tuf/``: delete all of the GUN's metadata on the server (never retried).

        notary-server answers 200 for a GUN it does not know. Its memory store also deletes every GUN that
        merely *starts with* this one's name (``a/b`` takes ``a/bc`` with it).
        """
        check_gun(gun)
        self._call(
            "DELETE",
            f"/v2/{gun}/_trust/tuf/",
            scope=Scope.repository(gun, "*"),
            what="the deletion",
            gun=gun,
            idempotent=False,
        )

    def changefeed(self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100) -> list[ChangeRecord]:
        """``GET changefeed``: records after ``change_id``, for ``gun`` or (None) every GUN.

        Avoid ``records < 0`` with ``change_id`` 0: notary-server 0.7's memory store panics on it and drops the
        connection.
        """
        if isinstance(records, bool) or not isinstance(records, int):
            raise ValueError(f"records must be an integer, not {records!r}")
        if isinstance(change_id, bool) or not isinstance(change_id, int | str):
            raise ValueError(f"change_id must be an integer or a string, not {change_id!r}")
        if gun is None:
            path, scope = "/v2/_trust/changefeed", Scope("registry", "catalog", frozenset({"*"}))
        else:
            check_gun(gun)
            path, scope = f"/v2/{gun}/_trust/changefeed", self._pull(gun)
        reply = self._call(
            "GET",
            path,
            scope=scope,
            what="the changefeed",
            gun=gun,
            params={"change_id": str(change_id), "records": str(records)},
            max_size=_CHANGEFEED_LIMIT,
        )
        try:
            obj = json.loads(reply.body)
        except (ValueError, RecursionError):
            raise RemoteError(f"{self._where} returned a changefeed that is not JSON", status=reply.status) from None
        raw = obj.get("records") if isinstance(obj, dict) else None
        if raw is None and isinstance(obj, dict) and "records" in obj:
            raw = []  # Go writes a nil slice as null
        if not isinstance(raw, list):
            raise RemoteError(f"{self._where} returned a changefeed without a records list", status=reply.status)
        return [ChangeRecord.from_dict(record) for record in raw]

    # --- the other routes -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``, as clients do first: succeeds when the server answers and the credentials are
        accepted for ``registry:catalog:*`` (or auth is off)."""
        self._call("GET", "/v2/", scope=Scope("registry", "catalog", frozenset({"*"})), what="/v2/", gun=None)

    def health(self) -> dict[str, str]:
        """``GET /_notary_server/health``: ``{}`` when healthy, else the failing checks and their errors.

        A 503 is an answer here, not an error; connection failures still raise after the retries.
        """
        reply = self._call(
            "GET", "/_notary_server/health", scope=None, what="the health check", gun=None, accept=(503,)
        )
        try:
            obj = json.loads(reply.body)
        except (ValueError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            raise RemoteError(f"{self._where} returned a malformed health check", status=reply.status)
        checks = {str(name): str(error) for name, error in obj.items()}
        if reply.status == 503 and not checks:
            checks["server"] = "unhealthy"
        return checks

    def metrics(self) -> str:
        """``GET /metrics``: the server's Prometheus metrics, as text."""
        reply = self._call("GET", "/metrics", scope=None, what="the metrics", gun=None, max_size=_METRICS_LIMIT)
        return reply.body.decode("utf-8", errors="replace")

    # --- internals ------------------------------------------------------------------------------------------

    @staticmethod
    def _pull(gun: str) -> Scope:
        return Scope.repository(gun, "pull")

    @staticmethod
    def _push(gun: str) -> Scope:
        return Scope.repository(gun, "push", "pull")

    def _key(self, method: str, gun: str, role: str) -> PublicKey:
        check_gun(gun)
        if role not in SERVER_KEY_ROLES:
            raise UnknownRoleError(f"a server only holds timestamp and snapshot keys, not {role!r}")
        scope = self._push(gun) if method == "GET" else Scope.repository(gun, "*")
        name = f"{role}.key"
        reply = self._call(
            method,
            f"/v2/{gun}/_trust/tuf/{name}",
            scope=scope,
            what=name,
            gun=gun,
            max_size=_KEY_LIMIT,
            idempotent=method == "GET",
        )
        try:
            return PublicKey.from_dict(json.loads(reply.body), where=f"{self._where} {role} key")
        except (ValueError, RecursionError, KeyFormatError) as exc:
            raise RemoteError(f"{self._where} returned a malformed {role} key for {gun}: {exc}") from None

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
    ) -> _Reply:
        """Send with auth, retries and caps; return a 2xx (or ``accept``) reply, raise the mapped error otherwise."""
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
    ) -> _Reply:
        """One request, answered once more with credentials when the server challenges it."""
        header = self._auth.authorization(scope) if scope is not None else None
        reply = self._send(
            method, path, header, what=what, max_size=max_size, params=params, files=files, truncate=truncate
        )
        if reply.status != 401 or scope is None:
            return reply
        challenges = _parse_challenges(reply.headers.get_list("www-authenticate"))
        answer = self._auth.authenticate(challenges, scope, self._fetch_token)
        if answer is None or answer == header:
            return reply
        return self._send(
            method, path, answer, what=what, max_size=max_size, params=params, files=files, truncate=truncate
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
    ) -> _Reply:
        headers = {"Authorization": authorization} if authorization else {}
        request = self._client.build_request(
            method, self._url + path, params=params, files=list(files) if files else None, headers=headers
        )
        with self._response(request, what) as response:
            ok = 200 <= response.status_code < 300
            limit = max_size if ok else _ERROR_BODY_LIMIT
            body = self._read(response, limit, truncate=truncate or not ok, what=what)
            return _Reply(response.status_code, response.headers, body)

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

    def _transport_error(self, exc: httpx.HTTPError, what: str) -> RemoteError:
        """Map an httpx failure: TLS problems are not retried, network ones are (as ServerUnavailableError)."""
        tls_problem = _ssl_error(exc)
        if tls_problem is not None and not isinstance(exc, httpx.TimeoutException):
            reason = getattr(tls_problem, "verify_message", None) or getattr(tls_problem, "reason", None) or exc
            return RemoteError(
                f"TLS with {self._where} failed for {what}: {reason}. Trust the server's CA with "
                f"NotaryServer(url, ca=...) or $DOCKER_CONFIG/tls/{self._where}/ca.crt; a server that wants a "
                "client certificate needs client_cert=..."
            )
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnavailableError(
                f"{self._where} did not answer {what} within {self._timeout} s ({type(exc).__name__})"
            )
        if isinstance(exc, httpx.ConnectError | httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
            return ServerUnavailableError(f"{self._where} is unreachable or dropped the connection ({what}): {exc}")
        if isinstance(exc, httpx.ProxyError | httpx.CloseError):
            return ServerUnavailableError(f"cannot reach {self._where} ({what}): {exc}")
        return RemoteError(f"request for {what} to {self._where} failed: {type(exc).__name__}: {exc}")

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
        realm = urlsplit(url).netloc
        request = self._client.build_request(method, url, params=list(params), data=form, headers=dict(headers))
        what = f"a token from {realm}"
        with self._response(request, what) as response:
            return response.status_code, self._read(
                response, _TOKEN_LIMIT, truncate=response.status_code != 200, what=what
            )

    def _error(self, reply: _Reply, *, what: str, gun: str | None, scope: Scope | None, attempts: int) -> RemoteError:
        code, message, detail = _parse_error_body(reply.body)
        status = reply.status
        if status in (401, 403):
            challenges = _parse_challenges(reply.headers.get_list("www-authenticate"))
            reason = next((c.params["error"] for c in challenges if "error" in c.params), None)
            who = "with the credentials given" if self._auth.sent_credentials else "no credentials were sent"
            needs = f", which needs {scope}" if scope is not None else ""
            return UnauthorizedError(
                f"you are not authorized to perform this operation ({what}{needs}) on {self._where}: server "
                f"returned {status}{' ' + reason if reason else ''} ({who}). To fix it, {login_hint()}",
                status=status,
                code=code,
                detail=detail,
            )
        if status == 404:
            return notary_error(
                "METADATA_NOT_FOUND", where=self._where, gun=gun, what=what, message=message, detail=detail, status=404
            )
        if status >= 500 or status == 429:
            after = f" after {attempts} attempts" if attempts > 1 else ""
            text = f" ({code}: {message})" if code else ""
            return ServerUnavailableError(
                f"{self._where} failed with HTTP {status}{text} for {what}{after}",
                status=status,
                code=code,
                detail=detail,
            )
        if code is not None:
            return notary_error(
                code, where=self._where, gun=gun, what=what, message=message, detail=detail, status=status
            )
        return RemoteError(f"{self._where} answered HTTP {status} to {what}", status=status)
