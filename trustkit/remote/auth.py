"""Authentication to a notary server: HTTP basic and the registry token flow, and where credentials come from.

The token flow is docker/distribution's, as notary and docker clients run it: a request answered ``401`` with
``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` is retried with a token fetched from ``realm`` for the
scope the operation needs (``repository:<gun>:pull`` to read, ``push,pull`` to publish and read server keys,
``*`` to delete and rotate server keys). Credentials are sent to the realm as HTTP basic (or, for an identity
token, as an OAuth2 refresh-token grant), never to the notary server itself, unless the server asks for basic.

Credentials come from arguments (:class:`Credentials`), from docker's ``config.json`` (:class:`DockerConfig`:
``auths`` entries, ``credsStore`` and ``credHelpers``) and from docker credential helpers run as docker runs them
(:func:`run_credential_helper`). Every outside input is parsed defensively: anything malformed raises a
:class:`~trustkit.remote.ConfigurationError` or :class:`~trustkit.errors.RemoteError`, never a bare exception.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from trustkit._encoding import json_of_type
from trustkit.errors import RemoteError, ServerUnavailableError, UnauthorizedError
from trustkit.remote import _EXPORTS
from trustkit.remote.base import ConfigurationError, Scope

__all__ = list(_EXPORTS[__name__])  # the package's table lists them (trustkit/remote/__init__.py), and:
__all__ += ["Scope"]  # defined with the remote interface (trustkit.remote.base), importable from here as before

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
"""The key docker stores Docker Hub credentials under (and passes to credential helpers)."""

_HELPER_NOT_FOUND = "credentials not found in native keychain"
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_HELPER_OUTPUT_LIMIT = 1 << 20
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SENDABLE_TOKEN = re.compile(r"[\x21-\x7e]+\Z")  # visible ASCII: what an Authorization header can carry
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MIN_TOKEN_LIFETIME = 60.0  # distribution's client assumes at least 60 s
_TOKEN_SLACK = 5.0


def _go_text(value: str) -> str:
    """A JSON string as Go's decoder reads it: a lone surrogate escape (``"\\ud800"``) becomes U+FFFD, as docker
    and its credential helpers read it. Python keeps the surrogate, which no request can then carry."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def login_hint(registry: str | None = None) -> str:
    """The advice given with every authorisation failure: how to give trustkit credentials."""
    where = f" {registry}" if registry else ""
    return (
        f"log in with `docker login{where}` (trustkit reads docker's config.json and credential helpers) "
        "or pass credentials, e.g. NotaryServer(url, auth=Credentials(username, password))"
    )


@attrs.frozen
class Credentials:
    """A username and password, or an identity (refresh) token, for a registry's token server."""

    username: str = ""
    password: str = attrs.field(default="", repr=False)
    identity_token: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_auth_string(cls, text: str, *, where: str = "auth string") -> Credentials:
        """Decode ``base64("user:password")``, as docker's ``auths.<host>.auth`` and ``NOTARY_AUTH`` hold it.

        Raises :class:`ConfigurationError` when it is not base64 of ``user:password`` with a non-empty user.
        """
        try:
            decoded = base64.b64decode(text.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, AttributeError):
            raise ConfigurationError(f"{where} is not base64-encoded 'user:password'") from None
        user, sep, password = decoded.partition(":")
        if not sep or not user:
            raise ConfigurationError(f"{where} does not decode to 'user:password'")
        return cls(user, password.strip("\x00"))

    @property
    def has_password(self) -> bool:
        """Whether a username and password are held (as opposed to nothing, or an identity token only)."""
        return bool(self.username) and self.identity_token is None

    def basic_header(self) -> str:
        """The ``Authorization`` header value for HTTP basic."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


CredentialsSource = Callable[[], Credentials | None]
"""A function giving credentials when they are first needed (e.g. looking them up in docker's config)."""


# --- challenges and scopes ------------------------------------------------------------------------------------


def _frozen_str_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _frozen_credentials(value: Mapping[str, Credentials]) -> Mapping[str, Credentials]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Challenge:
    """One ``WWW-Authenticate`` challenge: the scheme (lowercase) and its parameters (lowercase names)."""

    scheme: str
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_str_map)

    @property
    def realm(self) -> str | None:
        """The ``realm`` parameter."""
        return self.params.get("realm")


class _Reader:
    """A cursor over a header value for :func:`parse_www_authenticate`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self, chars: str = " \t") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str | None:
        match = _TOKEN_CHARS.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def quoted(self) -> str | None:
        out: list[str] = []
        self.pos += 1  # the opening quote
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                return "".join(out)
            else:
                out.append(char)
        return None  # unterminated


def parse_www_authenticate(values: str | Iterable[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values (RFC 7235) into challenges.

    Several challenges may share one value (``Basic realm="a", Bearer realm="b"``) or come in several headers.
    Parsing is lenient, like docker's: it stops reading a value at its first malformed part, keeping the
    challenges read so far; it never raises.
    """
    items = [values] if isinstance(values, str) else [value for value in values if isinstance(value, str)]
    challenges: list[Challenge] = []
    for value in items:
        reader = _Reader(value)
        while True:
            reader.skip(" \t,")
            scheme = reader.token()
            if scheme is None:
                break
            params: dict[str, str] = {}
            malformed = False
            while True:
                reader.skip()
                start = reader.pos
                name = reader.token()
                reader.skip()
                if name is None or reader.peek() != "=":
                    reader.pos = start  # the next challenge's scheme (or the end)
                    break
                reader.pos += 1
                reader.skip()
                param = reader.quoted() if reader.peek() == '"' else reader.token()
                if param is None:
                    malformed = True
                    break
                params.setdefault(name.lower(), param)
                reader.skip()
                if reader.peek() != ",":
                    break
                reader.pos += 1
            challenges.append(Challenge(scheme.lower(), params))
            if malformed:
                break
    return challenges


# --- docker's config.json and credential helpers --------------------------------------------------------------


def _hostname(address: str) -> str:
    """docker's ``ConvertToHostname``: drop ``http(s)://`` and everything from the first ``/``."""
    for prefix in ("https://", "http://"):
        if address.startswith(prefix):
            address = address[len(prefix) :]
            break
    return address.split("/", 1)[0]


def _entry_credentials(key: str, entry: Any, where: str) -> Credentials:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: auths[{key!r}] must be an object")
    values = {}
    for field in ("auth", "username", "password", "identitytoken"):
        value = entry.get(field, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: auths[{key!r}].{field} must be a string")
        values[field] = _go_text(value)
    if values["auth"]:
        creds = Credentials.from_auth_string(values["auth"], where=f"{where}: auths[{key!r}].auth")
    else:
        creds = Credentials(values["username"], values["password"])
    return attrs.evolve(creds, identity_token=values["identitytoken"] or None)


@attrs.frozen
class DockerConfig:
    """The credential parts of docker's ``config.json``: ``auths``, ``credsStore`` and ``credHelpers``."""

    auths: Mapping[str, Credentials] = attrs.field(factory=dict, converter=_frozen_credentials)
    creds_store: str | None = None
    cred_helpers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_str_map)
    path: Path | None = None

    @classmethod
    def from_bytes(cls, data: bytes, *, path: Path | None = None) -> DockerConfig:
        """Parse ``config.json`` bytes; raises :class:`ConfigurationError` naming the field at fault.

        As docker does, an unusable ``auths`` entry makes the whole file unusable.
        """
        where = str(path) if path is not None else "docker config"
        obj = json_of_type(
            data,
            dict,
            not_json=lambda exc: ConfigurationError(f"{where} is not valid JSON: {exc}"),
            wrong_type=lambda: ConfigurationError(f"{where} must hold a JSON object"),
        )
        raw_auths = obj.get("auths")
        raw_auths = {} if raw_auths is None else raw_auths
        if not isinstance(raw_auths, dict):
            raise ConfigurationError(f"{where}: auths must be an object")
        auths = {key: _entry_credentials(key, entry, where) for key, entry in raw_auths.items()}
        store = obj.get("credsStore") or None
        if store is not None and (not isinstance(store, str) or not _HELPER_NAME.match(store)):
            raise ConfigurationError(f"{where}: credsStore must be a credential helper name, not {store!r}")
        helpers = obj.get("credHelpers")
        helpers = {} if helpers is None else helpers
        if not isinstance(helpers, dict):
            raise ConfigurationError(f"{where}: credHelpers must be an object")
        for host, helper in helpers.items():
            if not isinstance(helper, str) or not _HELPER_NAME.match(helper):
                raise ConfigurationError(f"{where}: credHelpers[{host!r}] must be a credential helper name")
        return cls(auths, store, helpers, path)

    @classmethod
    def load(cls, path: str | Path) -> DockerConfig:
        """Read ``config.json`` at ``path``; a missing file is an empty configuration."""
        file = Path(path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return cls(path=file)
        except OSError as exc:
            raise ConfigurationError(f"cannot read {file}: {exc}") from None
        return cls.from_bytes(data, path=file)

    def helper_for(self, server: str) -> str | None:
        """The credential helper docker would ask for ``server``: ``credHelpers`` first, then ``credsStore``."""
        for key in (server, _hostname(server)):
            if key in self.cred_helpers:
                return self.cred_helpers[key]
        return self.creds_store

    def credentials(self, server: str, *, timeout: float = 30.0) -> Credentials | None:
        """The credentials docker would use for ``server`` (a registry host, or :data:`DOCKER_HUB_AUTH_KEY`).

        A credential helper (``credHelpers``, then ``credsStore``) is asked first; without one, the ``auths``
        entry with that key, or whose key names the same host (``https://host/v1/``), is used.
        """
        helper = self.helper_for(server)
        if helper is not None:
            return run_credential_helper(helper, server, timeout=timeout)
        if server in self.auths:
            return self._usable(self.auths[server])
        host = _hostname(server)
        for key, creds in self.auths.items():
            if _hostname(key) == host:
                return self._usable(creds)
        return None

    @staticmethod
    def _usable(creds: Credentials) -> Credentials | None:
        return creds if creds.username or creds.identity_token else None


def run_credential_helper(name: str, server: str, *, timeout: float = 30.0) -> Credentials | None:
    """Run ``docker-credential-<name> get`` with ``server`` on stdin, as docker does, and read its answer.

    The helper prints ``{"ServerURL", "Username", "Secret"}``; a ``Username`` of ``<token>`` makes ``Secret`` an
    identity token. "credentials not found" gives None; any other failure (helper missing, non-zero exit,
    timeout, malformed output) raises :class:`ConfigurationError`.
    """
    if not isinstance(name, str) or not _HELPER_NAME.match(name):
        raise ConfigurationError(f"invalid credential helper name {name!r}")
    program = f"docker-credential-{name}"
    executable = shutil.which(program)
    if executable is None:
        raise ConfigurationError(f"credential helper {program} not found on PATH")
    try:
        result = subprocess.run(
            [executable, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigurationError(f"credential helper {program} did not answer within {timeout} s") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot run credential helper {program}: {exc}") from None
    stdout = result.stdout[:_HELPER_OUTPUT_LIMIT]
    if result.returncode != 0:
        message = stdout.decode(errors="replace").strip() or result.stderr.decode(errors="replace").strip()
        if message == _HELPER_NOT_FOUND:
            return None
        raise ConfigurationError(f"credential helper {program} failed (exit {result.returncode}): {message[:500]}")
    obj = json_of_type(
        stdout,
        dict,
        not_json=lambda _: ConfigurationError(f"credential helper {program} printed something that is not JSON"),
        wrong_type=lambda: ConfigurationError(f"credential helper {program} must print a JSON object"),
    )
    username, secret = obj.get("Username", ""), obj.get("Secret", "")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise ConfigurationError(f"credential helper {program}: Username and Secret must be strings")
    username, secret = _go_text(username), _go_text(secret)
    if username == "<token>":
        return Credentials(identity_token=secret) if secret else None
    if not username:
        return None
    return Credentials(username, secret)


# --- the token flow -------------------------------------------------------------------------------------------


class TokenFetcher(Protocol):
    """Sends one request to a token server and returns the status and (size-capped) body.

    Network failures raise :class:`~trustkit.errors.ServerUnavailableError`.
    """

    def __call__(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]],
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes]:
        """Send the request."""
        ...


@attrs.frozen
class TokenRequest:
    """A request for a token that :meth:`Authenticator.challenge_flow` asks its driver to send: the
    :class:`TokenFetcher`'s arguments. The answer sent back is ``(status, body)``, the body capped."""

    method: str
    url: str
    params: Sequence[tuple[str, str]]
    form: Mapping[str, str] | None
    headers: Mapping[str, str]


ChallengeFlow = Generator[TokenRequest, "tuple[int, bytes]", "str | None"]
"""What :meth:`Authenticator.challenge_flow` returns: yields token requests, is sent their ``(status, body)``,
returns the ``Authorization`` value to retry with (or None)."""


_Origin = tuple[str, str, int]
"""A server's origin: scheme, host (lowercase) and port."""


def _origin(url: str | None) -> _Origin | None:
    """The origin of ``url`` (None for None or a URL without a host): what cached tokens and the basic decision are
    kept for, so that one server's credentials never go to another sharing the authenticator."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


@attrs.frozen
class _Token:
    value: str
    scope: Scope
    expires: float
    origin: _Origin | None


class Authenticator:
    """Answers a server's authentication challenges, and remembers tokens for the scopes they grant.

    ``credentials`` is a :class:`Credentials`, a zero-argument function returning them (called once, when a
    challenge first needs them), or None for anonymous access (the token flow still runs: registries give
    anonymous pull tokens). Safe to share between threads.
    """

    def __init__(
        self,
        credentials: Credentials | CredentialsSource | None = None,
        *,
        client_id: str = "trustkit",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = credentials
        self._resolved = isinstance(credentials, Credentials) or credentials is None
        self._credentials = credentials if isinstance(credentials, Credentials) else None
        self._client_id = client_id
        self._clock = clock
        self._tokens: list[_Token] = []
        self._basic: set[_Origin | None] = set()
        self._lock = threading.Lock()

    @property
    def credentials(self) -> Credentials | None:
        """The credentials in use, looked up on first use when given as a function."""
        with self._lock:
            if not self._resolved:
                source = self._source
                found = source() if callable(source) else None
                if found is not None and not isinstance(found, Credentials):
                    raise ConfigurationError(f"a credentials source returned {type(found).__name__}")
                self._credentials = found
                self._resolved = True
            return self._credentials

    @property
    def sent_credentials(self) -> bool:
        """Whether credentials have been looked up and found (so they were offered to the server or realm)."""
        with self._lock:
            return self._resolved and self._credentials is not None

    def authorization(self, scope: Scope, *, origin: str | None = None) -> str | None:
        """The ``Authorization`` header to send for ``scope`` to the server at ``origin`` (its URL) before any
        challenge: a token that server's challenge got which covers ``scope``, or basic credentials once that
        server asked for basic. None when there is nothing to send yet. Tokens and the basic decision are kept per
        origin (scheme, host, port): one server's never go to another sharing the authenticator."""
        now = self._clock()
        key = _origin(origin)
        with self._lock:
            self._tokens = [token for token in self._tokens if token.expires > now]
            for token in self._tokens:
                if token.origin == key and token.scope.covers(scope):
                    return f"Bearer {token.value}"
            basic = key in self._basic
        creds = self.credentials if basic else None
        if creds is not None and creds.has_password:
            return creds.basic_header()
        return None

    def authenticate(
        self, challenges: Sequence[Challenge], scope: Scope, fetch: TokenFetcher, *, origin: str | None = None
    ) -> str | None:
        """Answer a ``401``: fetch a token for ``scope`` from a ``Bearer`` challenge's realm, or use basic
        credentials for a ``Basic`` challenge. Returns the ``Authorization`` value to retry with, or None when
        there is no way to answer (no usable challenge, or basic without credentials).

        ``origin`` is the URL of the server that sent the challenge. As docker does, credentials go to the realm
        the server names, on whatever host (Docker Hub's registry names ``auth.docker.io``); unlike docker, never
        over plain ``http://`` unless the server itself was spoken to over plain HTTP (``origin`` None counts as
        https): such a realm gets an anonymous request, or, when there are credentials to send, a
        :class:`RemoteError`.

        Raises :class:`UnauthorizedError` when the token server refuses, and :class:`RemoteError` (or
        :class:`ServerUnavailableError`) when it fails or answers nonsense.
        """
        flow = self.challenge_flow(challenges, scope, origin=origin)
        answer: tuple[int, bytes] | None = None
        while True:
            try:
                request = flow.send(answer)  # type: ignore[arg-type]  # None starts the generator
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            answer = fetch(
                request.method, request.url, params=request.params, form=request.form, headers=request.headers
            )

    def challenge_flow(
        self, challenges: Sequence[Challenge], scope: Scope, *, origin: str | None = None
    ) -> ChallengeFlow:
        """:meth:`authenticate` without I/O: a generator that yields the :class:`TokenRequest` to send (if any)
        and is sent its ``(status, body)``; it returns what :meth:`authenticate` returns and raises what it
        raises. The HTTP clients drive it from an ``httpx.Auth`` flow, blocking or asyncio alike."""
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is not None:
            token = yield from self._token_flow(bearer, scope, origin)
            return f"Bearer {token}"
        if any(c.scheme == "basic" for c in challenges):
            creds = self.credentials
            if creds is None or not creds.has_password:
                return None
            with self._lock:
                self._basic.add(_origin(origin))
            return creds.basic_header()
        return None

    def _token_flow(
        self, challenge: Challenge, scope: Scope, origin: str | None
    ) -> Generator[TokenRequest, tuple[int, bytes], str]:
        realm = challenge.realm or ""
        try:
            parts = urlsplit(realm)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or _CONTROL_CHARS.search(realm)  # Go's url.Parse refuses them too
        ):
            raise RemoteError(f"the server's Bearer challenge has no usable realm: {realm!r}")
        service = challenge.params.get("service", "")
        creds = self.credentials
        if parts.scheme == "http" and (origin is None or urlsplit(origin).scheme != "http"):
            if creds is not None and (creds.identity_token or creds.has_password):
                server = urlsplit(origin).netloc.rpartition("@")[2] if origin else "the server"
                raise RemoteError(
                    f"{server} (https) sends for tokens to the plain-http realm {realm}: trustkit does not send "
                    "credentials in clear text. The token service must be served over https (fix the server's "
                    "auth.token.realm), or speak to the server itself over http:// if it is that insecure"
                )
            creds = None  # nothing secret to send: an anonymous token request
        headers: dict[str, str] = {}
        form: dict[str, str] | None = None
        if creds is not None and creds.identity_token:
            method, params = "POST", []
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "service": service,
                "scope": str(scope),
                "client_id": self._client_id,
            }
        else:
            method = "GET"
            params = [("scope", str(scope))]
            if service:
                params.insert(0, ("service", service))
            if creds is not None and creds.has_password:
                params.insert(0, ("account", creds.username))
                headers["Authorization"] = creds.basic_header()
        status, body = yield TokenRequest(method, realm, params, form, headers)
        who = f"the credentials of {creds.username or 'the identity token'}" if creds else "an anonymous request"
        if status in (401, 403):
            raise UnauthorizedError(
                f"the token server {realm} refused {who} for {scope} (HTTP {status}): {login_hint()}",
                status=status,
            )
        if status >= 500:
            raise ServerUnavailableError(f"the token server {realm} failed (HTTP {status})", status=status)
        if status != 200:
            raise RemoteError(f"the token server {realm} answered HTTP {status}", status=status)
        token, lifetime = _parse_token_response(body, realm)
        with self._lock:
            expires = self._clock() + max(lifetime, _MIN_TOKEN_LIFETIME) - _TOKEN_SLACK
            self._tokens.append(_Token(token, scope, expires, _origin(origin)))
        return token


AuthOption = Authenticator | Credentials | CredentialsSource | None
"""What ``auth=`` accepts: an :class:`Authenticator`, :class:`Credentials`, a function returning them, or None
(anonymous; registry tokens are still fetched when the server asks for them)."""


def _parse_token_response(body: bytes, realm: str) -> tuple[str, float]:
    obj = json_of_type(
        body,
        dict,
        not_json=lambda _: RemoteError(f"the token server {realm} answered something that is not JSON"),
        wrong_type=lambda: RemoteError(f"the token server {realm} answered JSON that is not an object"),
    )
    token = obj.get("access_token") or obj.get("token")
    if not isinstance(token, str) or not _SENDABLE_TOKEN.match(token):
        raise RemoteError(f"the token server {realm} did not include a usable token in its response")
    lifetime = obj.get("expires_in")
    seconds = _MIN_TOKEN_LIFETIME
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
        with contextlib.suppress(OverflowError):  # an integer beyond float's range keeps the minimum
            seconds = float(lifetime)
    if not math.isfinite(seconds):
        seconds = _MIN_TOKEN_LIFETIME
    return token, seconds
