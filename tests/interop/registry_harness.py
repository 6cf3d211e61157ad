"""Test helper: Debian's ``docker-registry`` (docker/distribution 2.8.2) on loopback, and pushes through its API.

:class:`DockerRegistry` writes a configuration (TLS with the harness's test CA, filesystem storage in the work
folder, optionally registry token auth with :class:`~tests.interop.token_issuer.TokenIssuer`), starts
``docker-registry serve`` and stops it through its :class:`subprocess.Popen` handle.

The push functions do what ``docker push`` does over the distribution API, with nothing but HTTP: blob uploads
(``POST /v2/<name>/blobs/uploads/``, then ``PUT <Location>&digest=…``; 2.8.2 ignores a single-request
``POST ?digest=`` upload), then ``PUT /v2/<name>/manifests/<tag>`` with the manifest's media type, for Docker
schema2 and OCI image manifests, Docker manifest lists and OCI image indexes.

Facts about 2.8.2 the helpers rely on (see ``auth-registry-hsm.md``): a manifest ``GET``/``HEAD`` by tag without
an ``Accept`` naming the stored type fails (400 for schema2, 404 for OCI), so :data:`ACCEPT_ALL` is always sent;
the upload ``Location`` is absolute and already has a query; a manifest list's children must exist first.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import subprocess
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from tests.interop.harness import (
    ServerStartError,
    TLSMaterial,
    _clean_env,
    _log_tail,
    _looks_like_bind_failure,
    _LoopbackServer,
    _stop_process,
    free_port,
    ssl_context,
)
from tests.interop.token_issuer import TokenIssuer

__all__ = [
    "ACCEPT_ALL",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "DockerRegistry",
    "PushedManifest",
    "RegistryTokenAuth",
    "TokenRegistry",
    "get_manifest",
    "push_image",
    "push_index",
    "put_manifest",
    "upload_blob",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT_ALL = ", ".join([DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX])

_CONFIG_TYPES = {
    "docker": "application/vnd.docker.container.image.v1+json",
    "oci": "application/vnd.oci.image.config.v1+json",
}
_LAYER_TYPES = {
    "docker": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "oci": "application/vnd.oci.image.layer.v1.tar+gzip",
}
_MANIFEST_TYPES = {"docker": DOCKER_MANIFEST, "oci": OCI_MANIFEST}
_INDEX_TYPES = {"docker": DOCKER_LIST, "oci": OCI_INDEX}


@dataclass(frozen=True)
class RegistryTokenAuth:
    """The registry's ``auth.token`` section: where clients get tokens and how the registry checks them."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


class DockerRegistry(_LoopbackServer):
    """A real ``docker-registry`` on ``127.0.0.1`` with TLS (the harness's CA) and filesystem storage.

    All files (``tls/`` unless ``tls`` is given, ``config.yml``, ``registry.log``, ``data/``) live in ``workdir``.
    With ``token_auth`` every request needs a registry token (``GET /v2/`` answers 401 with a Bearer challenge).
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        tls: TLSMaterial | None = None,
        token_auth: RegistryTokenAuth | None = None,
        binary: str = "docker-registry",
        startup_timeout: float = 10.0,
        max_attempts: int = 5,
    ) -> None:
        super().__init__(workdir, tls, startup_timeout=startup_timeout, max_attempts=max_attempts)
        self.token_auth = token_auth
        self.binary = binary
        self.storage_dir = self.workdir / "data"
        self.config_path = self.workdir / "config.yml"
        self.log_path = self.workdir / "registry.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def config(self) -> dict[str, Any]:
        """The configuration written to ``config.yml`` (JSON, which the registry's YAML parser reads)."""
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage_dir)}, "delete": {"enabled": True}},
            "http": {
                "addr": self.host_port,
                "secret": secrets.token_hex(16),
                "tls": {"certificate": str(self.tls.server_cert), "key": str(self.tls.server_key)},
            },
        }
        if self.token_auth is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token_auth.realm,
                    "service": self.token_auth.service,
                    "issuer": self.token_auth.issuer,
                    "rootcertbundle": str(self.token_auth.rootcertbundle),
                }
            }
        return config

    def start(self) -> DockerRegistry:
        """Start ``docker-registry serve`` and wait until ``GET /v2/`` answers (200, or 401 with token auth).

        A process that exits because its port was taken is restarted on another port; anything else raises
        :class:`~tests.interop.harness.ServerStartError` with the log tail.
        """
        if self._proc is not None:
            raise RuntimeError("DockerRegistry already started")
        try:
            for _ in range(self.max_attempts):
                if self._try_start():
                    return self
            raise ServerStartError(f"docker-registry could not bind a free port in {self.max_attempts} attempts")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after a timeout) and close its log."""
        _stop_process(self._proc)
        if self._log is not None:
            self._log.close()
            self._log = None

    def is_running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def client(self, *, authorization: str | None = None, timeout: float = 10.0) -> httpx.Client:
        """An :class:`httpx.Client` on :attr:`url` trusting the test CA, sending ``authorization`` if given."""
        headers = {"Authorization": authorization} if authorization else {}
        return httpx.Client(base_url=self.url, verify=ssl_context(self.ca_path), timeout=timeout, headers=headers)

    def log_tail(self) -> str:
        """The end of ``registry.log``."""
        return f"--- {self.log_path} ---\n{_log_tail(self.log_path)}"

    def _try_start(self) -> bool:
        """One start on a fresh port: True when up, False when the port was taken."""
        self.port = free_port()
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        if self._log is not None:
            self._log.close()
        self.log_path.write_bytes(b"")
        self._log = self.log_path.open("ab")
        self._proc = proc = subprocess.Popen(
            [self.binary, "serve", str(self.config_path)],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_clean_env({}),
        )
        last = "no response yet"
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(verify=ssl_context(self.ca_path), timeout=0.5) as client:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    tail = _log_tail(self.log_path)
                    if _looks_like_bind_failure(tail):
                        return False
                    raise ServerStartError(f"docker-registry exited with rc={proc.returncode}; log tail:\n{tail}")
                try:
                    response = client.get(f"{self.url}/v2/")
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code in (200, 401):
                        return True
                    last = f"HTTP {response.status_code}: {response.text[:300]}"
                time.sleep(0.02)
        _stop_process(proc)
        raise ServerStartError(f"docker-registry at {self.url} not ready in {self.startup_timeout}s ({last})")

    def __repr__(self) -> str:
        auth = ", token auth" if self.token_auth is not None else ""
        return f"DockerRegistry(url={self.url!r}{auth}, workdir={str(self.workdir)!r})"


# --------------------------------------------------------------------------------------------
# Pushing through the distribution API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushedManifest:
    """A manifest as pushed: its exact bytes, media type, digest (sha256 of the bytes) and the server's word."""

    name: str
    tag: str | None
    media_type: str
    body: bytes
    server_digest: str
    """The ``Docker-Content-Digest`` the registry answered the ``PUT`` with."""
    architecture: str | None = None
    """An image manifest's platform architecture (what an index lists it under)."""

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.body).hexdigest()

    @property
    def size(self) -> int:
        return len(self.body)

    def descriptor(self, platform: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The descriptor an index or manifest list gives this manifest."""
        entry: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": self.digest}
        if platform is not None:
            entry["platform"] = dict(platform)
        return entry


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(data), "digest": "sha256:" + hashlib.sha256(data).hexdigest()}


def _check(response: httpx.Response, expected: int, what: str) -> None:
    if response.status_code != expected:
        raise AssertionError(f"{what}: expected HTTP {expected}, got {response.status_code}: {response.text[:500]}")


def upload_blob(client: httpx.Client, name: str, data: bytes) -> str:
    """Upload ``data`` as a blob of repository ``name`` (skipped when it exists); returns its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if client.head(f"/v2/{name}/blobs/{digest}").status_code == 200:
        return digest
    started = client.post(f"/v2/{name}/blobs/uploads/")
    _check(started, 202, f"POST /v2/{name}/blobs/uploads/")
    # The Location is absolute and has a query already (``_state``); httpx's params= would replace that query.
    location = httpx.URL(started.headers["location"]).copy_merge_params({"digest": digest})
    finished = client.put(location, content=data, headers={"Content-Type": "application/octet-stream"})
    _check(finished, 201, f"PUT blob {digest}")
    assert finished.headers.get("docker-content-digest") == digest
    return digest


def put_manifest(client: httpx.Client, name: str, reference: str, body: bytes, media_type: str) -> str:
    """``PUT /v2/<name>/manifests/<reference>``; returns the registry's ``Docker-Content-Digest``."""
    response = client.put(f"/v2/{name}/manifests/{reference}", content=body, headers={"Content-Type": media_type})
    _check(response, 201, f"PUT manifest {name}:{reference}")
    return response.headers["docker-content-digest"]


def _layer(payload: bytes) -> tuple[bytes, bytes]:
    """A reproducible one-file layer: (tar, gzip of the tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, mtime=0)


def push_image(
    client: httpx.Client,
    name: str,
    tag: str | None,
    *,
    kind: str = "docker",
    payload: bytes | None = None,
    architecture: str = "amd64",
) -> PushedManifest:
    """Push a one-layer image as docker does: layer and config blobs, then the manifest under ``tag`` (or, with
    ``tag=None``, by its digest only). ``kind`` is ``docker`` (schema2) or ``oci``; ``payload`` is the layer's
    file content (random by default, so that every push makes a new digest)."""
    content = payload if payload is not None else f"hello {os.urandom(8).hex()}\n".encode()
    tar_bytes, layer = _layer(content)
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]},
        },
        separators=(",", ":"),
    ).encode()
    upload_blob(client, name, layer)
    upload_blob(client, name, config)
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": _MANIFEST_TYPES[kind]}
    manifest["config"] = _descriptor(_CONFIG_TYPES[kind], config)
    manifest["layers"] = [_descriptor(_LAYER_TYPES[kind], layer)]
    # Indented on purpose: the digest is of the exact bytes, so nothing may re-serialise them.
    body = json.dumps(manifest, indent=3).encode()
    return _push_manifest(client, name, tag, body, _MANIFEST_TYPES[kind], architecture)


def push_index(
    client: httpx.Client, name: str, tag: str | None, children: Sequence[PushedManifest], *, kind: str = "oci"
) -> PushedManifest:
    """Push an OCI image index (``kind="oci"``) or Docker manifest list (``"docker"``) of ``children`` (pushed
    before, to the same repository), one ``linux/<architecture>`` platform each."""
    manifests = [
        child.descriptor({"architecture": child.architecture or f"arch{number}", "os": "linux"})
        for number, child in enumerate(children)
    ]
    index = {"schemaVersion": 2, "mediaType": _INDEX_TYPES[kind], "manifests": manifests}
    return _push_manifest(client, name, tag, json.dumps(index, indent=3).encode(), _INDEX_TYPES[kind])


def _push_manifest(
    client: httpx.Client, name: str, tag: str | None, body: bytes, media_type: str, architecture: str | None = None
) -> PushedManifest:
    reference = tag if tag is not None else "sha256:" + hashlib.sha256(body).hexdigest()
    server_digest = put_manifest(client, name, reference, body, media_type)
    return PushedManifest(name, tag, media_type, body, server_digest, architecture)


def get_manifest(client: httpx.Client, name: str, reference: str) -> httpx.Response:
    """``GET /v2/<name>/manifests/<reference>`` accepting every schema2/OCI type: what the registry stores."""
    response = client.get(f"/v2/{name}/manifests/{reference}", headers={"Accept": ACCEPT_ALL})
    _check(response, 200, f"GET manifest {name}:{reference}")
    return response


@dataclass
class TokenRegistry:
    """A registry behind token authentication, with the issuer that mints its tokens."""

    server: DockerRegistry
    issuer: TokenIssuer

    def push_client(self, name: str) -> httpx.Client:
        """A client with a push token for ``name`` (minted directly: the push is the test's set-up)."""
        token = self.issuer.make_token("alice", [{"type": "repository", "name": name, "actions": ["pull", "push"]}])
        return self.server.client(authorization=f"Bearer {token}")
