"""Test-only: a registry token server, and a notary-server started with extra configuration (token auth, mTLS).

:class:`TokenIssuer` serves ``GET /token?service=S&scope=T:NAME:actions`` (HTTP basic credentials, or anonymous)
and the OAuth2 ``POST /token`` (``grant_type=refresh_token`` or ``password``), and issues ES256 JWTs exactly as
docker/distribution 2.8.2's ``registry/auth/token`` verifies them in notary-server 0.7 (see
``auth-registry-hsm.md``): ``x5c`` header with the standard-base64 DER of the issuer certificate (the
``rootcertbundle``), a **string** ``aud``, raw ``R‖S`` signature, ``access`` entries per requested scope.

Grants: a known user with the right password gets every action asked for; an anonymous request gets ``pull``
only; wrong credentials get 401. Every request is recorded in :attr:`TokenIssuer.requests` for assertions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.interop.harness import LOOPBACK, NotaryServer, TLSMaterial

__all__ = ["ConfiguredNotaryServer", "TokenIssuer", "TokenRequest"]

ISSUER = "test-issuer"
SERVICE = "notary-test"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRequest:
    """One request the issuer answered: how it authenticated, what it asked for and what it got."""

    method: str
    user: str | None
    scopes: list[str]
    service: str
    status: int
    granted: list[dict[str, Any]] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)


class TokenIssuer:
    """A token server on 127.0.0.1 (HTTPS with ``tls``, plain HTTP without), for notary-server's token auth."""

    def __init__(
        self,
        workdir: Path,
        *,
        tls: TLSMaterial | None,
        users: Mapping[str, str] | None = None,
        refresh_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.users = dict(users or {"alice": "secret"})
        self.refresh_tokens = dict(refresh_tokens or {})
        self.requests: list[TokenRequest] = []
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = _dt.datetime.now(_dt.timezone.utc)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=30))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = workdir / "issuer.crt"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def realm(self) -> str:
        assert self._server is not None, "start() first"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{LOOPBACK}:{self._server.server_address[1]}/token"

    def start(self) -> TokenIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                issuer._handle(self, "GET", parse_qs(urlsplit(self.path).query), {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                issuer._handle(self, "POST", {"scope": form.get("scope", "").split()}, form)

        server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.server_cert), str(self.tls.server_key))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="token-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> TokenIssuer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- tokens -------------------------------------------------------------------------------------------

    def make_token(self, subject: str, access: list[dict[str, Any]], *, audience: Any = SERVICE) -> str:
        """An ES256 JWT that notary-server 0.7 accepts."""
        now = int(time.time())
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": audience,
            "exp": now + 300,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _user(self, handler: BaseHTTPRequestHandler, form: Mapping[str, str]) -> tuple[str | None, bool]:
        """(user, ok): ok is False for credentials that were given and are wrong."""
        if form.get("grant_type") == "refresh_token":
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            return user, user is not None
        if form.get("grant_type") == "password":
            name, password = form.get("username", ""), form.get("password", "")
            return name, self.users.get(name) == password
        header = handler.headers.get("Authorization", "")
        if not header:
            return None, True
        if not header.startswith("Basic "):
            return None, False
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, False
        return name, self.users.get(name) == password

    def _handle(
        self, handler: BaseHTTPRequestHandler, method: str, params: dict[str, list[str]], form: dict[str, str]
    ) -> None:
        service = (params.get("service") or [form.get("service", "")])[-1]
        scopes = [scope for scope in params.get("scope", []) if scope]
        user, ok = self._user(handler, form)
        record = TokenRequest(
            method, user, scopes, service, 200, form={k: v for k, v in form.items() if k != "password"}
        )
        self.requests.append(record)
        if not ok:
            record.status = 401
            self._answer(handler, 401, {"details": "invalid credentials"})
            return
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [action for action in actions.split(",") if action]
            granted = wanted if user is not None else [a for a in wanted if a == "pull"]
            record.granted.append({"type": kind, "name": name, "actions": granted})
        token = self.make_token(user or "", record.granted)
        issued = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._answer(handler, 200, {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued})

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


class ConfiguredNotaryServer(NotaryServer):
    """The harness's notary-server with ``extra_config`` merged into its configuration (``auth``, or
    ``server.client_ca_file`` for mutual TLS, in which case the health checks present the server certificate,
    which has the clientAuth usage)."""

    def __init__(self, workdir: Path, *, extra_config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(workdir, **kwargs)
        self.extra_config = extra_config

    def _spawn(self, binary: str, config: Path, log_path: Path) -> Any:
        if binary == self.server_binary:
            config.write_text(json.dumps(_merge(json.loads(config.read_text()), self.extra_config), indent=2))
        return super()._spawn(binary, config, log_path)

    def ssl_context(self) -> ssl.SSLContext:
        context = super().ssl_context()
        if "client_ca_file" in self.extra_config.get("server", {}):
            context.load_cert_chain(str(self.tls.server_cert), str(self.tls.server_key))
        return context
