"""Helpers that start and drive the real Notary v1 / Docker Content Trust programs.

Everything here runs on loopback only and keeps every piece of state (TLS material, server
configuration and logs, client trust directories, ``HOME``, ``DOCKER_CONFIG``) in directories
handed in by the caller, normally pytest ``tmp_path`` directories.

The programs driven are:

* ``notary-server`` (and optionally ``notary-signer``) with in-memory storage, see
  :class:`NotaryServer`;
* the ``notary`` CLI, see :class:`NotaryCLI`;
* the ``docker trust`` commands of the docker CLI (no daemon needed, except for
  ``docker trust sign``), see :class:`DockerTrustCLI`.

Processes are always stopped through the :class:`subprocess.Popen` handle that started them.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "DOCKER_REPOSITORY_PASSPHRASE",
    "DOCKER_ROOT_PASSPHRASE",
    "LOOPBACK",
    "NOTARY_DELEGATION_PASSPHRASE",
    "NOTARY_ROOT_PASSPHRASE",
    "NOTARY_SNAPSHOT_PASSPHRASE",
    "NOTARY_TARGETS_PASSPHRASE",
    "REQUIRE_INTEROP_ENV",
    "CommandError",
    "DockerTrustCLI",
    "NotaryCLI",
    "NotaryServer",
    "ServerStartError",
    "TLSMaterial",
    "free_port",
    "interop_required",
    "make_tls_material",
    "notary_passphrase_env",
    "require_binary",
    "ssl_context",
    "unique_gun",
]

#: Only address anything in this harness listens on or connects to.
LOOPBACK = "127.0.0.1"

#: Set to ``1`` to turn "binary not installed" skips into failures (for CI).
REQUIRE_INTEROP_ENV = "TRUSTKIT_REQUIRE_INTEROP"

# Fixed test passphrases.  They protect throw-away keys in temporary trust directories only.
#: Passphrase of root keys created by the ``notary`` CLI (``NOTARY_ROOT_PASSPHRASE``).
NOTARY_ROOT_PASSPHRASE = "trustkit-root-pass"
#: Passphrase of targets keys created by the ``notary`` CLI (``NOTARY_TARGETS_PASSPHRASE``).
NOTARY_TARGETS_PASSPHRASE = "trustkit-targets-pass"
#: Passphrase of locally held snapshot keys (``NOTARY_SNAPSHOT_PASSPHRASE``).
NOTARY_SNAPSHOT_PASSPHRASE = "trustkit-snapshot-pass"
#: Passphrase of delegation keys (``NOTARY_DELEGATION_PASSPHRASE``).  The notary CLI also uses it
#: for any key whose ``role:`` header is not a base role (e.g. keys made by
#: ``docker trust key generate NAME``, whose role is ``NAME``).
NOTARY_DELEGATION_PASSPHRASE = "trustkit-delegation-pass"
#: Root key passphrase for ``docker trust`` (``DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE``).
DOCKER_ROOT_PASSPHRASE = "trustkit-docker-root-pass"
#: Passphrase docker uses for targets, snapshot and every signer key
#: (``DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE``).
DOCKER_REPOSITORY_PASSPHRASE = "trustkit-docker-repo-pass"

_DEFAULT_CLI_TIMEOUT = 60.0
_STOP_TIMEOUT = 5.0
_LOG_TAIL_CHARS = 4000
_INHERITED_ENV_PREFIXES = ("NOTARY_", "DOCKER_")


# --------------------------------------------------------------------------------------------
# Binaries
# --------------------------------------------------------------------------------------------


def interop_required() -> bool:
    """Return True when ``TRUSTKIT_REQUIRE_INTEROP=1``: missing binaries then fail, not skip."""
    return os.environ.get(REQUIRE_INTEROP_ENV, "") == "1"


def require_binary(name: str, package_hint: str) -> str:
    """Return the absolute path of executable ``name``, or skip/fail the current test.

    ``package_hint`` is the Debian package that provides it (``notary`` for ``notary``,
    ``notary-server`` and ``notary-signer``; ``docker.io`` for ``docker``).  When the binary is
    missing the test is skipped, or failed if ``TRUSTKIT_REQUIRE_INTEROP=1``.
    """
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"`{name}` is not installed (not found on PATH); install it with `apt-get install -y {package_hint}`"
    if interop_required():
        pytest.fail(f"{message} ({REQUIRE_INTEROP_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(f"{message}, or set {REQUIRE_INTEROP_ENV}=1 to fail instead of skipping")


# --------------------------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSMaterial:
    """PEM files of a test CA and a ``localhost`` server certificate issued by it.

    The server certificate has SANs ``DNS:localhost``, ``IP:127.0.0.1`` and ``IP:::1`` and the
    extended key usages serverAuth and clientAuth, so it serves notary-server's HTTPS,
    notary-signer's gRPC, and notary-server's client certificate towards notary-signer.
    Private keys are unencrypted PKCS#8.
    """

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _certificate_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    *,
    ca: bool,
) -> x509.CertificateBuilder:
    """What the CA and the server certificate share: names, key, a random serial, validity, and the critical
    BasicConstraints and KeyUsage (certificate and CRL signing for the CA, TLS signing and key exchange otherwise)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def make_tls_material(directory: Path, *, days: int = 30) -> TLSMaterial:
    """Create an EC P-256 CA and a ``localhost`` server certificate as PEM files in ``directory``.

    Files written: ``ca.crt``, ``ca.key``, ``server.crt``, ``server.key``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc)
    not_before = now - _dt.timedelta(minutes=5)
    not_after = now + _dt.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustkit test CA")])
    ca_cert = (
        _certificate_builder(ca_name, ca_name, ca_key, not_before, not_after, ca=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    server_cert = (
        _certificate_builder(server_name, ca_name, server_key, not_before, not_after, ca=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    material = TLSMaterial(
        directory=directory,
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
    )
    material.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(material.ca_key, ca_key)
    material.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(material.server_key, server_key)
    return material


def ssl_context(ca_path: Path) -> ssl.SSLContext:
    """Return a client :class:`ssl.SSLContext` trusting only the CA in ``ca_path``."""
    return ssl.create_default_context(cafile=str(ca_path))


# --------------------------------------------------------------------------------------------
# notary-server / notary-signer
# --------------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    """A notary-server or notary-signer process did not come up; the message has its log tail."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that was free a moment ago (bind to port 0 and close).

    The port can be taken by someone else before it is used, so callers retry on failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, chars: int = _LOG_TAIL_CHARS) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return text[-chars:]


def _looks_like_bind_failure(log_text: str) -> bool:
    lowered = log_text.lower()
    return "address already in use" in lowered or "bind:" in lowered


def _stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = _STOP_TIMEOUT) -> None:
    """Terminate ``proc`` (SIGTERM), then kill it (SIGKILL) if it outlives ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """Copy of ``os.environ`` without ``NOTARY_*``/``DOCKER_*`` variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_ENV_PREFIXES)}
    env.update(extra)
    return env


_ServerT = TypeVar("_ServerT", bound="_LoopbackServer")


class _LoopbackServer:
    """What the harness's server processes share: a resolved work folder, TLS material (made in ``workdir/tls``
    unless given), start-up limits, and a port on 127.0.0.1 (0 until started) with its ``host_port`` and ``url``."""

    def __init__(self, workdir: Path, tls: TLSMaterial | None, *, startup_timeout: float, max_attempts: int) -> None:
        self.workdir = workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls = tls if tls is not None else make_tls_material(self.workdir / "tls")
        self.ca_path = self.tls.ca_cert
        self.startup_timeout = startup_timeout
        self.max_attempts = max_attempts
        self.port = 0

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT``, e.g. the directory name docker wants under ``tls/``."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL of the server, ``https://127.0.0.1:PORT``."""
        return f"https://{self.host_port}"

    def start(self: _ServerT) -> _ServerT:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _ServerT) -> _ServerT:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class NotaryServer(_LoopbackServer):
    """A real ``notary-server`` (optionally backed by a real ``notary-signer``) on loopback.

    Storage is in memory, so every start is empty and tests should use their own GUN
    (:func:`unique_gun`).  With ``with_signer=False`` the server uses its local trust service
    (server-managed timestamp/snapshot keys are ED25519); with ``with_signer=True`` it talks gRPC
    over mutual TLS to a ``notary-signer`` with memory storage and ``key_algorithm`` ``ecdsa``.

    All files (TLS material, ``server-config.json``, ``signer-config.json``, ``server.log``,
    ``signer.log``) live in ``workdir``.  Use as a context manager, or call :meth:`start` and
    :meth:`stop`.

    Attributes (valid after :meth:`start`): ``url`` (``https://127.0.0.1:PORT``), ``host_port``
    (``127.0.0.1:PORT``), ``port``, ``ca_path``, ``workdir``, ``tls``, ``log_path`` and, with a
    signer, ``signer_port`` and ``signer_log_path``.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        with_signer: bool = False,
        tls: TLSMaterial | None = None,
        startup_timeout: float = 10.0,
        log_level: str = "info",
        server_binary: str = "notary-server",
        signer_binary: str = "notary-signer",
        max_attempts: int = 5,
        storage: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(workdir, tls, startup_timeout=startup_timeout, max_attempts=max_attempts)
        self.storage = dict(storage) if storage is not None else {"backend": "memory"}
        """notary-server's ``storage`` configuration: memory unless given (``PostgresCluster.storage()``)."""
        self.with_signer = with_signer
        self.log_level = log_level
        self.server_binary = server_binary
        self.signer_binary = signer_binary
        self.log_path = self.workdir / "server.log"
        self.signer_log_path = self.workdir / "signer.log"
        self.signer_port = 0
        self._server_proc: subprocess.Popen[bytes] | None = None
        self._signer_proc: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    # -- public API ------------------------------------------------------------------------

    def is_running(self) -> bool:
        """True while the server (and the signer, if any) processes are alive."""
        procs = [self._server_proc] + ([self._signer_proc] if self.with_signer else [])
        return all(p is not None and p.poll() is None for p in procs)

    def start(self) -> NotaryServer:
        """Start the process(es) and wait until ``/_notary_server/health`` answers 200.

        Raises :class:`ServerStartError` (with the log tail) if the server never gets healthy.
        A process that exits because its port was taken is restarted on a new port.
        """
        if self._server_proc is not None:
            raise RuntimeError("NotaryServer already started")
        try:
            if self.with_signer:
                self._start_with_retries("notary-signer", self._try_start_signer)
            self._start_with_retries("notary-server", self._try_start_server)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server, then the signer (terminate, kill after a timeout); close the logs."""
        _stop_process(self._server_proc)
        _stop_process(self._signer_proc)
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def restart(self) -> None:
        """Stop the server process and start it again on the same port, with the same configuration (memory
        storage comes back empty; a database keeps everything)."""
        if self.with_signer:
            raise RuntimeError("restart() supports a server with the local trust service only")
        _stop_process(self._server_proc)
        for handle in self._logs:
            handle.close()
        self._logs.clear()
        config_path = self.workdir / "server-config.json"
        proc = self._spawn(self.server_binary, config_path, self.log_path)
        self._server_proc = proc
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(verify=self.ssl_context(), timeout=0.5) as client:
            while time.monotonic() < deadline:
                self._check_early_exit(proc, self.log_path, "notary-server", retry_on_bind=False)
                try:
                    if client.get(f"{self.url}/_notary_server/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise ServerStartError(f"notary-server at {self.url} not healthy after a restart;\n{self.log_tail()}")

    def ssl_context(self) -> ssl.SSLContext:
        """Client SSL context trusting this server's CA."""
        return ssl_context(self.ca_path)

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """An :class:`httpx.Client` with ``base_url=self.url`` that verifies against the CA."""
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), timeout=timeout)

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """Last ``chars`` characters of ``server.log`` (and ``signer.log`` with a signer)."""
        text = f"--- {self.log_path} ---\n{_log_tail(self.log_path, chars)}"
        if self.with_signer:
            text += f"\n--- {self.signer_log_path} ---\n{_log_tail(self.signer_log_path, chars)}"
        return text

    def __repr__(self) -> str:
        signer = f", signer_port={self.signer_port}" if self.with_signer else ""
        return f"NotaryServer(url={self.url!r}{signer}, workdir={str(self.workdir)!r})"

    # -- internals -------------------------------------------------------------------------

    def _start_with_retries(self, what: str, attempt: Callable[[], None]) -> None:
        last_error: ServerStartError | None = None
        for _ in range(self.max_attempts):
            try:
                attempt()
                return
            except _PortInUseError as exc:
                last_error = ServerStartError(str(exc))
        raise ServerStartError(f"{what} could not bind a free port in {self.max_attempts} attempts: {last_error}")

    def _spawn(self, binary: str, config: Path, log_path: Path) -> subprocess.Popen[bytes]:
        log = log_path.open("ab")
        self._logs.append(log)
        return subprocess.Popen(
            [binary, "-config", str(config)],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_clean_env({}),
        )

    def _check_early_exit(
        self,
        proc: subprocess.Popen[bytes],
        log_path: Path,
        what: str,
        *,
        retry_on_bind: bool = True,
    ) -> None:
        """Raise if ``proc`` has exited: :class:`_PortInUseError` (retried) on a bind failure."""
        if proc.poll() is None:
            return
        tail = _log_tail(log_path)
        msg = f"{what} exited with rc={proc.returncode} during startup; log tail:\n{tail}"
        if retry_on_bind and _looks_like_bind_failure(tail):
            raise _PortInUseError(msg)
        raise ServerStartError(msg)

    def _try_start_signer(self) -> None:
        self.signer_port = free_port()
        config = {
            "server": {
                "grpc_addr": f"{LOOPBACK}:{self.signer_port}",
                "tls_cert_file": str(self.tls.server_cert),
                "tls_key_file": str(self.tls.server_key),
                "client_ca_file": str(self.tls.ca_cert),
            },
            "storage": {"backend": "memory"},
            "logging": {"level": self.log_level},
        }
        config_path = self.workdir / "signer-config.json"
        config_path.write_text(json.dumps(config, indent=2))
        self.signer_log_path.write_bytes(b"")  # only this attempt's log is relevant
        proc = self._spawn(self.signer_binary, config_path, self.signer_log_path)
        self._signer_proc = proc
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self._check_early_exit(proc, self.signer_log_path, "notary-signer")
            try:
                self._signer_handshake()
            except OSError:  # ssl.SSLError is an OSError too
                time.sleep(0.02)
            else:
                return
        _stop_process(proc)
        raise ServerStartError(
            f"notary-signer did not accept connections on {LOOPBACK}:{self.signer_port} within "
            f"{self.startup_timeout}s; log tail:\n{_log_tail(self.signer_log_path)}"
        )

    def _signer_handshake(self) -> None:
        """Complete a mutual-TLS handshake (ALPN ``h2``) with notary-signer, as the server will.

        notary-server's health endpoint does not prove the signer is reachable: it answers 200
        for about 10 s after start even when the signer port is closed, so check it directly.
        """
        context = ssl.create_default_context(cafile=str(self.tls.ca_cert))
        context.load_cert_chain(str(self.tls.server_cert), str(self.tls.server_key))
        context.set_alpn_protocols(["h2"])
        with (
            socket.create_connection((LOOPBACK, self.signer_port), timeout=1.0) as raw,
            context.wrap_socket(raw, server_hostname=LOOPBACK),
        ):
            pass

    def _trust_service_config(self) -> dict[str, Any]:
        if not self.with_signer:
            return {"type": "local"}
        return {
            "type": "remote",
            "hostname": LOOPBACK,
            "port": str(self.signer_port),
            "key_algorithm": "ecdsa",
            "tls_ca_file": str(self.tls.ca_cert),
            "tls_client_cert": str(self.tls.server_cert),
            "tls_client_key": str(self.tls.server_key),
        }

    def _try_start_server(self) -> None:
        self.port = free_port()
        config = {
            "server": {
                "http_addr": self.host_port,
                "tls_cert_file": str(self.tls.server_cert),
                "tls_key_file": str(self.tls.server_key),
            },
            "trust_service": self._trust_service_config(),
            "storage": self.storage,
            "logging": {"level": self.log_level},
        }
        config_path = self.workdir / "server-config.json"
        config_path.write_text(json.dumps(config, indent=2))
        self.log_path.write_bytes(b"")
        proc = self._spawn(self.server_binary, config_path, self.log_path)
        self._server_proc = proc
        health = f"{self.url}/_notary_server/health"
        last: str = "no response yet"
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(verify=self.ssl_context(), timeout=0.5) as client:
            while time.monotonic() < deadline:
                self._check_early_exit(proc, self.log_path, "notary-server")
                if self.with_signer and self._signer_proc is not None:
                    self._check_early_exit(
                        self._signer_proc,
                        self.signer_log_path,
                        "notary-signer",
                        retry_on_bind=False,
                    )
                try:
                    response = client.get(health)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[:500]}"
                time.sleep(0.02)
        _stop_process(proc)
        raise ServerStartError(
            f"notary-server at {self.url} not healthy within {self.startup_timeout}s (last: {last});\n{self.log_tail()}"
        )


class _PortInUseError(ServerStartError):
    """Internal: the process exited because its listen address was taken; retry elsewhere."""


# --------------------------------------------------------------------------------------------
# CLI drivers
# --------------------------------------------------------------------------------------------


class CommandError(AssertionError):
    """A CLI command exited non-zero (or timed out); the message has command, rc and output."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str,
        stderr: str,
        note: str = "",
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"command failed{note}: {subprocess.list2cmdline(self.argv)}\n"
            f"rc: {returncode}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        )


def _run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    input: str | None,
    check: bool,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            list(argv),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        raise CommandError(argv, None, out, err, note=f" (timed out after {timeout}s)") from exc
    if check and result.returncode != 0:
        raise CommandError(argv, result.returncode, result.stdout, result.stderr)
    return result


def notary_passphrase_env(
    *,
    root: str = NOTARY_ROOT_PASSPHRASE,
    targets: str = NOTARY_TARGETS_PASSPHRASE,
    snapshot: str = NOTARY_SNAPSHOT_PASSPHRASE,
    delegation: str = NOTARY_DELEGATION_PASSPHRASE,
) -> dict[str, str]:
    """The four ``NOTARY_*_PASSPHRASE`` variables, defaulting to the module constants."""
    return {
        "NOTARY_ROOT_PASSPHRASE": root,
        "NOTARY_TARGETS_PASSPHRASE": targets,
        "NOTARY_SNAPSHOT_PASSPHRASE": snapshot,
        "NOTARY_DELEGATION_PASSPHRASE": delegation,
    }


class _CLIDriver:
    """What the CLI drivers share: the server, a fresh ``HOME`` folder that commands also run in, the binary, the
    default timeout, and :meth:`run`; a driver sets ``env`` and says how arguments become a command (:meth:`argv`)."""

    env: dict[str, str]

    def __init__(self, server: NotaryServer, home: Path, *, binary: str, timeout: float) -> None:
        self.server = server
        self.home = home.resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.timeout = timeout

    def argv(self, *args: str) -> list[str]:
        """The full command line for ``args``."""
        return [self.binary, *args]

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the command for ``args``; with ``check`` raise :class:`CommandError` on a non-zero rc.

        ``input`` is fed to stdin (otherwise stdin is ``/dev/null``).  :class:`CommandError` is
        an :class:`AssertionError` whose message holds the command, rc, stdout and stderr.
        """
        return _run(
            self.argv(*args),
            env=self.env,
            cwd=self.home,
            input=input,
            check=check,
            timeout=self.timeout if timeout is None else timeout,
        )


class NotaryCLI(_CLIDriver):
    """Runs the real ``notary`` CLI as ``notary -s URL --tlscacert CA -d TRUST_DIR ARGS...``.

    The environment has the ``NOTARY_*_PASSPHRASE`` variables (the module constants unless
    ``passphrases`` overrides them, see :func:`notary_passphrase_env`), ``HOME=home`` so that
    ``~/.notary`` is never touched, and no inherited ``NOTARY_*``/``DOCKER_*`` variables.
    Commands run in ``home``.
    """

    def __init__(
        self,
        server: NotaryServer,
        trust_dir: Path,
        home: Path,
        *,
        passphrases: Mapping[str, str] | None = None,
        binary: str = "notary",
        timeout: float = _DEFAULT_CLI_TIMEOUT,
    ) -> None:
        self.trust_dir = trust_dir.resolve()
        self.trust_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(server, home, binary=binary, timeout=timeout)
        pp = dict(passphrases) if passphrases is not None else notary_passphrase_env()
        self.env = _clean_env({"HOME": str(self.home), **pp})

    def argv(self, *args: str) -> list[str]:
        """The full command line for ``args``: ``notary -s URL --tlscacert CA -d TRUST_DIR ARGS...``."""
        return [
            self.binary,
            "-s",
            self.server.url,
            "--tlscacert",
            str(self.server.ca_path),
            "-d",
            str(self.trust_dir),
            *args,
        ]

    def tuf_dir(self, gun: str) -> Path:
        """``TRUST_DIR/tuf/<gun>/metadata``: the client's cached metadata for ``gun``."""
        return self.trust_dir / "tuf" / gun / "metadata"

    def private_keys(self) -> list[Path]:
        """The ``*.key`` files under ``TRUST_DIR/private`` (sorted)."""
        return sorted((self.trust_dir / "private").glob("**/*.key"))


class DockerTrustCLI(_CLIDriver):
    """Runs the real ``docker`` CLI (for ``docker trust ...``) against a :class:`NotaryServer`.

    Environment: a fresh ``DOCKER_CONFIG=config_dir`` (so the trust dir is
    ``config_dir/trust``), ``DOCKER_CONTENT_TRUST_SERVER=server.url``,
    ``DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE`` / ``..._REPOSITORY_PASSPHRASE`` (module constants),
    ``HOME=home``, and no inherited ``NOTARY_*``/``DOCKER_*`` variables.  The server CA is copied
    to ``config_dir/tls/<host:port>/ca.crt``.  Commands run in ``home``.

    ``docker trust sign`` needs a daemon and cannot work; sign tags with
    ``self.notary().run("addhash", ..., "--roles", "targets/releases", "--roles",
    "targets/<signer>", "-p")`` instead.
    """

    def __init__(
        self,
        server: NotaryServer,
        config_dir: Path,
        home: Path,
        *,
        binary: str = "docker",
        timeout: float = _DEFAULT_CLI_TIMEOUT,
        root_passphrase: str = DOCKER_ROOT_PASSPHRASE,
        repository_passphrase: str = DOCKER_REPOSITORY_PASSPHRASE,
    ) -> None:
        self.config_dir = config_dir.resolve()
        self.config_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(server, home, binary=binary, timeout=timeout)
        self.trust_dir = self.config_dir / "trust"
        self.tls_dir = self.config_dir / "tls" / server.host_port
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.ca_path, self.tls_dir / "ca.crt")
        self.root_passphrase = root_passphrase
        self.repository_passphrase = repository_passphrase
        self.env = _clean_env(
            {
                "HOME": str(self.home),
                "DOCKER_CONFIG": str(self.config_dir),
                "DOCKER_CONTENT_TRUST_SERVER": server.url,
                "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": root_passphrase,
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": repository_passphrase,
            }
        )

    def inspect(self, repo: str, *, check: bool = True) -> list[dict[str, Any]]:
        """Run ``docker trust inspect REPO`` and return its parsed JSON list.

        With ``check`` a non-zero rc raises :class:`CommandError` (docker reports any failure,
        including "no such repository", as rc 1 with ``[]``); without it ``[]`` is returned.
        """
        result = self.run("trust", "inspect", repo, check=check)
        text = result.stdout.strip()
        if not text:
            return []
        data = json.loads(text)
        if not isinstance(data, list):
            raise AssertionError(f"docker trust inspect {repo}: expected a JSON list, got {text}")
        return data

    def notary(self, home: Path | None = None) -> NotaryCLI:
        """A :class:`NotaryCLI` on docker's trust dir, with docker's passphrases.

        Root uses the docker root passphrase; targets, snapshot and delegation (which covers
        signer keys from ``docker trust key generate``) use the repository passphrase.
        """
        return NotaryCLI(
            self.server,
            self.trust_dir,
            home if home is not None else self.home,
            passphrases=notary_passphrase_env(
                root=self.root_passphrase,
                targets=self.repository_passphrase,
                snapshot=self.repository_passphrase,
                delegation=self.repository_passphrase,
            ),
        )


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def unique_gun(prefix: str = "localhost:5000/trustkit") -> str:
    """A fresh GUN such as ``localhost:5000/trustkit/t-1a2b3c4d``.

    The ``localhost:5000`` registry host keeps docker from doing DNS and from using Docker
    Hub's notary; GUNs are lowercase so docker accepts them as repository names.
    """
    return f"{prefix}/t-{uuid.uuid4().hex[:8]}"
