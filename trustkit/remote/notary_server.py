"""The notary-server 0.7 HTTP API over httpx: every route, bounded downloads, retries, TLS and authentication.

Routes (all below ``<url>/v2/<gun>/_trust/``, the GUN not escaped): ``GET tuf/<role>.json``,
``tuf/<role>.<sha256>.json`` and ``tuf/<version>.<role>.json``; ``POST tuf/`` (multipart publish); ``GET`` and
``POST tuf/<role>.key``; ``DELETE tuf/``; ``GET changefeed`` (and ``/v2/_trust/changefeed`` for every GUN); plus
``GET /v2/``, ``/_notary_server/health`` and ``/metrics``.

Behaviour a caller can rely on:

* notary's error bodies ``{"errors":[{"code","message","detail"}]}`` become typed errors that keep ``status``,
  ``code`` and ``detail`` (see :func:`~trustkit.remote.base.notary_error`); 401/403 become
  :class:`~trustkit.errors.UnauthorizedError` with a hint on how to log in.
* Bodies are read as a stream with a cap on their decoded bytes: a ``Content-Length`` over the cap fails before
  anything is read, and a body that goes past it fails as soon as it does
  (:class:`~trustkit.errors.OversizedResponseError`). Each operation has an overall deadline
  (``total_timeout``), headers and retries included, so a server that trickles bytes cannot hold a caller.
* ``GET`` requests are retried on connection failures, timeouts, 5xx and 429, with exponential backoff and
  jitter; ``POST`` and ``DELETE`` are never retried. What is left after the retries is a
  :class:`~trustkit.errors.ServerUnavailableError`. A publish whose connection fails with no answer asks the
  server whether it holds the files before failing.

The HTTP core behind these (TLS, authentication, caps, deadlines, retries) is ``trustkit.remote._http``'s, shared
with the registry client; this module holds notary's routes and the wording of its errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from trustkit.errors import (
    InvalidArgumentError,
    KeyFormatError,
    RemoteError,
    TrustkitError,
    UnauthorizedError,
    UnknownRoleError,
)
from trustkit.keys.public import PublicKey
from trustkit.remote import _EXPORTS
from trustkit.remote._http import (
    AsyncHTTPService,
    ErrorBody,
    HTTPRequest,
    HTTPService,
    _HTTPCore,
)
from trustkit.remote._http import Reply as _Reply
from trustkit.remote.base import (
    SERVER_KEY_ROLES,
    ChangeRecord,
    Scope,
    check_gun,
    check_upload,
    metadata_name,
    notary_error,
)

if TYPE_CHECKING:  # reading without credentials imports neither (a challenge or from_config's caller does)
    from trustkit.remote.auth import AuthOption
    from trustkit.remote.config import ServerConfig
else:  # names typing.get_type_hints resolves on demand through the lazy package (importing the module then)
    from typing import ForwardRef

    import trustkit.remote  # noqa: F401 -- binds the name trustkit, in which the references below are resolved

    AuthOption, ServerConfig = ForwardRef("trustkit.remote.AuthOption"), ForwardRef("trustkit.remote.ServerConfig")

__all__ = list(_EXPORTS[__name__])  # the package's table lists them (trustkit/remote/__init__.py)

logger = logging.getLogger(__name__)

_KEY_LIMIT = 64 << 10
_CHANGEFEED_LIMIT = 32 << 20
_METRICS_LIMIT = 16 << 20


_Server = TypeVar("_Server", bound="_NotaryRoutes")


class _NotaryRoutes(_HTTPCore):
    """notary-server's routes, without I/O: the request of each operation and the reading of its reply, and the
    wording of refusals; :class:`NotaryServer` sends them with blocking calls, :class:`AsyncNotaryServer` with
    coroutines."""

    @classmethod
    def from_config(cls: type[_Server], config: ServerConfig, *, auth: AuthOption = None, **options: Any) -> _Server:
        """The server of a resolved configuration (:func:`~trustkit.remote.docker_server_config` or
        :func:`~trustkit.remote.notary_server_config`), with its TLS files and, unless ``auth`` is given, its
        credentials (looked up when the server first asks for them)."""
        return cls(config.url, tls=config.tls, auth=auth if auth is not None else config.load_credentials, **options)

    def _role_request(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> HTTPRequest:
        check_gun(gun)
        name = metadata_name(role, checksum=checksum, version=version)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise InvalidArgumentError(f"max_size must be a positive integer, not {max_size!r}")
        return HTTPRequest("GET", f"/v2/{gun}/_trust/tuf/{name}", self._pull(gun), name, gun, max_size=max_size)

    def _changefeed_request(self, gun: str | None, *, change_id: int | str, records: int) -> HTTPRequest:
        if isinstance(records, bool) or not isinstance(records, int):
            raise InvalidArgumentError(f"records must be an integer, not {records!r}")
        if isinstance(change_id, bool) or not isinstance(change_id, int | str):
            raise InvalidArgumentError(f"change_id must be an integer or a string, not {change_id!r}")
        if gun is None:
            path, scope = "/v2/_trust/changefeed", Scope("registry", "catalog", frozenset({"*"}))
        else:
            check_gun(gun)
            path, scope = f"/v2/{gun}/_trust/changefeed", self._pull(gun)
        params = {"change_id": str(change_id), "records": str(records)}
        return HTTPRequest("GET", path, scope, "the changefeed", gun, params=params, max_size=_CHANGEFEED_LIMIT)

    def _changefeed_records(self, reply: _Reply) -> list[ChangeRecord]:
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

    @staticmethod
    def _ping_request() -> HTTPRequest:
        return HTTPRequest("GET", "/v2/", Scope("registry", "catalog", frozenset({"*"})), "/v2/", None)

    @staticmethod
    def _health_request() -> HTTPRequest:
        return HTTPRequest("GET", "/_notary_server/health", None, "the health check", None, accept=(503,))

    def _health_checks(self, reply: _Reply) -> dict[str, str]:
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

    @staticmethod
    def _metrics_request() -> HTTPRequest:
        return HTTPRequest("GET", "/metrics", None, "the metrics", None, max_size=_METRICS_LIMIT)

    def _key_request(self, method: str, gun: str, role: str) -> HTTPRequest:
        check_gun(gun)
        if role not in SERVER_KEY_ROLES:
            raise UnknownRoleError(f"a server only holds timestamp and snapshot keys, not {role!r}")
        scope = self._push(gun) if method == "GET" else Scope.repository(gun, "*")
        name = f"{role}.key"
        path = f"/v2/{gun}/_trust/tuf/{name}"
        return HTTPRequest(method, path, scope, name, gun, max_size=_KEY_LIMIT, idempotent=method == "GET")

    def _parse_key(self, reply: _Reply, gun: str, role: str) -> PublicKey:
        try:
            return PublicKey.from_dict(json.loads(reply.body), where=f"{self._where} {role} key")
        except (ValueError, RecursionError, KeyFormatError) as exc:
            raise RemoteError(f"{self._where} returned a malformed {role} key for {gun}: {exc}") from None

    # --- internals ------------------------------------------------------------------------------------------

    @staticmethod
    def _pull(gun: str) -> Scope:
        return Scope.repository(gun, "pull")

    @staticmethod
    def _push(gun: str) -> Scope:
        return Scope.repository(gun, "push", "pull")

    def _refusal(
        self, reply: _Reply, body: ErrorBody, *, what: str, gun: str | None, scope: Scope | None
    ) -> RemoteError:
        """notary's wording: 401/403 with how to log in, 404 as missing trust data, its codes as typed errors."""
        status = reply.status
        if status in (401, 403):
            from trustkit.remote.auth import login_hint

            needs = f", which needs {scope}" if scope is not None else ""
            return UnauthorizedError(
                f"you are not authorized to perform this operation ({what}{needs}) on {self._where}: server "
                f"returned {self._denial(reply)}. To fix it, {login_hint()}",
                status=status,
                code=body.code,
                detail=body.detail,
            )
        code = "METADATA_NOT_FOUND" if status == 404 else body.code
        if code is not None:
            return notary_error(
                code, where=self._where, gun=gun, what=what, message=body.message, detail=body.detail, status=status
            )
        return RemoteError(f"{self._where} answered HTTP {status} to {what}", status=status)

    def _tls_failure(self, what: str, reason: object) -> str:
        return (
            f"TLS with {self._where} failed for {what}: {reason}. Trust the server's CA with "
            f"NotaryServer(url, ca=...) or $DOCKER_CONFIG/tls/{self._where}/ca.crt; a server that wants a "
            "client certificate needs client_cert=..."
        )


class NotaryServer(_NotaryRoutes, HTTPService):
    """A notary server (notary-server 0.7 or compatible), as a :class:`~trustkit.remote.Remote`.

    ``url`` is the server's base URL (``https://notary.example.com:4443``). TLS: ``ca`` is a CA file, or a folder
    of ``*.crt`` files, trusted instead of the system's CAs; ``client_cert`` a PEM file holding certificate and
    key, or a ``(cert, key)`` pair; or pass a whole :class:`TLSConfig` as ``tls``. ``auth``: see
    :data:`AuthOption`. ``timeout`` (default 30 s) bounds connecting and each wait for data; ``total_timeout``
    (default :data:`DEFAULT_TOTAL_TIMEOUT`, 120 s; None for none) bounds one operation as a whole -- connecting,
    headers, body, token fetches, retries and their delays -- so that a caller with a deadline (an admission
    webhook has 10 s) can count on it. ``retries`` extra attempts are made for idempotent requests, after
    ``backoff``, ``2*backoff``, … seconds. ``proxy`` is a proxy URL for every request; without it, the
    environment's ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` apply as docker applies them
    (:func:`environment_proxy`), unless ``proxy_from_environment=False``. ``transport`` replaces httpx's network
    transport (tests use ``httpx.MockTransport``; the deadline and proxy are then the transport's business).

    Use as a context manager, or call :meth:`close`. Safe to share between threads (one connection pool).
    """

    # --- the Remote protocol --------------------------------------------------------------------------------

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """``GET tuf/<role>.json``, ``tuf/<role>.<checksum>.json`` or ``tuf/<version>.<role>.json``."""
        return self._run(self._role_request(gun, role, max_size=max_size, checksum=checksum, version=version)).body

    def publish(self, gun: str, files: Mapping[str, bytes]) -> None:
        """``POST tuf/``: one multipart request with a ``files`` part per role (never retried).

        When the connection fails with no answer (the outcome is unknown: the server may have taken the update),
        the server is asked for each file by its sha256: if it holds them all, the publish succeeded (a warning
        is logged); otherwise the connection's error is raised.
        """
        check_gun(gun)
        parts = [("files", (role, data, "application/octet-stream")) for role, data in check_upload(files).items()]
        try:
            self._call(
                "POST",
                f"/v2/{gun}/_trust/tuf/",
                scope=self._push(gun),
                what="the update",
                gun=gun,
                files=parts,
                idempotent=False,
            )
        except RemoteError as exc:
            # No HTTP status: the connection failed, maybe after the server took the update. Ask it.
            if exc.status is not None or not self._holds(gun, parts):
                raise
            logger.warning(
                "the connection to %s failed after sending the update of %s (%s), but the server holds every file "
                "of it: the publish succeeded",
                self._where,
                gun,
                exc,
            )

    def _holds(self, gun: str, parts: list[tuple[str, tuple[str, bytes, str]]]) -> bool:
        """Whether the server serves each of these files by its sha256 (what it stored from an update)."""
        try:
            for _, (role, data, _) in parts:
                checksum = hashlib.sha256(data).hexdigest()
                if self.get_role(gun, role, max_size=max(len(data), 1), checksum=checksum) != data:
                    return False
        except TrustkitError:
            return False
        return True

    def get_key(self, gun: str, role: str) -> PublicKey:
        """``GET tuf/<role>.key``: the server's timestamp or snapshot key (created when it holds none in use).

        Before the GUN has a root, notary-server creates a new key on every call: keep the one you got.
        """
        request = self._key_request("GET", gun, role)
        return self._parse_key(self._run(request), gun, role)

    def rotate_key(self, gun: str, role: str) -> PublicKey:
        """``POST tuf/<role>.key``: a new server key for ``timestamp`` or ``snapshot`` (never retried)."""
        request = self._key_request("POST", gun, role)
        return self._parse_key(self._run(request), gun, role)

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
        return self._changefeed_records(self._run(self._changefeed_request(gun, change_id=change_id, records=records)))

    # --- the other routes -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``, as clients do first: succeeds when the server answers and the credentials are
        accepted for ``registry:catalog:*`` (or auth is off)."""
        self._run(self._ping_request())

    def health(self) -> dict[str, str]:
        """``GET /_notary_server/health``: ``{}`` when healthy, else the failing checks and their errors.

        A 503 is an answer here, not an error; connection failures still raise after the retries.
        """
        return self._health_checks(self._run(self._health_request()))

    def metrics(self) -> str:
        """``GET /metrics``: the server's Prometheus metrics, as text."""
        return self._run(self._metrics_request()).body.decode("utf-8", errors="replace")


class AsyncNotaryServer(_NotaryRoutes, AsyncHTTPService):
    """:class:`NotaryServer`'s reads for asyncio, over ``httpx.AsyncClient``: the same options, routes,
    authentication (basic and token, as one ``httpx.Auth`` flow), caps, deadlines, retries and errors, awaited.
    What :class:`~trustkit.client.AsyncReader` reads from (``get_role``); publishing stays with
    :class:`NotaryServer`.

    Requests of many tasks run concurrently over one connection pool (asyncio-safe); use it from one event loop,
    as ``async with AsyncNotaryServer(url) as server:``, or ``await server.aclose()``. Not thread-safe.
    """

    async def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """:meth:`NotaryServer.get_role`, awaited."""
        request = self._role_request(gun, role, max_size=max_size, checksum=checksum, version=version)
        return (await self._run(request)).body

    async def get_key(self, gun: str, role: str) -> PublicKey:
        """:meth:`NotaryServer.get_key`, awaited."""
        return self._parse_key(await self._run(self._key_request("GET", gun, role)), gun, role)

    async def changefeed(
        self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100
    ) -> list[ChangeRecord]:
        """:meth:`NotaryServer.changefeed`, awaited."""
        request = self._changefeed_request(gun, change_id=change_id, records=records)
        return self._changefeed_records(await self._run(request))

    async def ping(self) -> None:
        """:meth:`NotaryServer.ping`, awaited."""
        await self._run(self._ping_request())

    async def health(self) -> dict[str, str]:
        """:meth:`NotaryServer.health`, awaited."""
        return self._health_checks(await self._run(self._health_request()))

    async def metrics(self) -> str:
        """:meth:`NotaryServer.metrics`, awaited."""
        return (await self._run(self._metrics_request())).body.decode("utf-8", errors="replace")
