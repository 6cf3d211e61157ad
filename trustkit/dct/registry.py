"""Resolve an image tag to its manifest digest and size over the registry (distribution) API, as docker does.

``docker trust sign`` signs a tag as a notary target whose hash is the sha256 of the image's manifest and whose
length is the manifest's byte length. :meth:`Registry.resolve` finds both the way docker's resolver
(containerd's ``remotes/docker``) does:

* ``HEAD /v2/<path>/manifests/<tag>`` with ``Accept`` naming the Docker schema2 manifest and manifest list and
  the OCI image manifest and index (:data:`MANIFEST_ACCEPT`, containerd's list). The digest is the
  ``Docker-Content-Digest`` header and the size the ``Content-Length``: for a tag, the registry's word is all
  there is, as for docker.
* When the ``HEAD`` gives no usable digest, length or media type (or the registry refuses ``HEAD``), a ``GET``
  follows: the body is read with a cap (:data:`MAX_MANIFEST_SIZE`), its sha256 is the digest, and a
  ``Docker-Content-Digest`` the registry sends must match it.
* A digest reference (``name@sha256:…``) is always fetched with ``GET`` and the body must hash to that digest:
  nothing the registry says is trusted.

Sending every media type in ``Accept`` matters: distribution 2.8 answers a tag whose type is not accepted with
400 (schema2), 404 (OCI) or, for a Docker manifest list, **the linux/amd64 child manifest** (another digest).

Requests go through the HTTP core :class:`~trustkit.remote.NotaryServer` uses too: TLS
(:class:`~trustkit.remote.TLSConfig`), registry token and basic authentication
(:class:`~trustkit.remote.Authenticator`, scope ``repository:<path>:pull``), bounded reads with deadlines, and
retries of connection failures, timeouts, 5xx and 429. Failures are typed: :class:`~trustkit.errors.NotFoundError`
(unknown tag, digest or repository), :class:`~trustkit.errors.UnauthorizedError` (with how to log in),
:class:`~trustkit.errors.ServerUnavailableError`,
:class:`~trustkit.errors.OversizedResponseError` (a manifest over the cap) and
:class:`~trustkit.errors.RemoteError` (code ``DIGEST_INVALID`` for content that does not match its digest, or a
malformed or unsupported manifest); a bad reference raises :class:`~trustkit.errors.ConfigurationError`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import httpx

from trustkit._encoding import json_of_type
from trustkit.errors import InvalidArgumentError, NotFoundError, RemoteError, UnauthorizedError
from trustkit.remote import DEFAULT_TOTAL_TIMEOUT, AuthOption, ErrorBody, HTTPService, Reply, environment_proxy
from trustkit.remote.auth import Credentials, Scope
from trustkit.remote.config import ImageReference, docker_credentials
from trustkit.remote.tls import StrPath, TLSConfig

__all__ = [
    "DOCKER_CERTS_DIR",
    "DOCKER_HUB_REGISTRY",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MANIFEST_ACCEPT",
    "MANIFEST_MEDIA_TYPES",
    "MAX_MANIFEST_SIZE",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "ManifestInfo",
    "Registry",
    "registry_url",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
"""Docker image manifest, schema 2."""
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
"""Docker manifest list (a multi-platform image)."""
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
"""OCI image manifest."""
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
"""OCI image index (a multi-platform image)."""
MANIFEST_MEDIA_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
"""The manifest types :meth:`Registry.resolve` resolves: what docker pushes and signs."""
MANIFEST_ACCEPT = ", ".join((*MANIFEST_MEDIA_TYPES, "*/*"))
"""The ``Accept`` header sent, as containerd's resolver (docker's) sends it."""
MAX_MANIFEST_SIZE = 4 << 20
"""The largest manifest accepted (4 MiB, containerd's ``MaxManifestSize`` and distribution 3's limit)."""
DOCKER_HUB_REGISTRY = "https://registry-1.docker.io"
"""Where docker sends registry requests for ``docker.io`` images."""
DOCKER_CERTS_DIR = Path("/etc/docker/certs.d")
"""The docker daemon's per-registry TLS folders (``<host[:port]>/*.crt``, ``client.cert`` + ``client.key``)."""

_SCHEMA1_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    }
)
_DIGEST_HEADER = "docker-content-digest"
_DIGEST = re.compile(r"(?P<algorithm>sha256|sha384|sha512):(?P<hex>[0-9a-f]+)\Z")
_HEX_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}
_LENGTH = re.compile(r"[0-9]{1,18}\Z")


@attrs.frozen
class ManifestInfo:
    """What a tag resolves to: the manifest's ``digest`` (``sha256:<hex>``), its ``size`` in bytes and its
    ``media_type``. ``digest`` and ``size`` are what ``docker trust sign`` records as the target's hash and
    length."""

    digest: str
    size: int
    media_type: str

    @property
    def sha256(self) -> str:
        """The digest's hex part: the notary target's ``sha256`` hash (hex)."""
        return self.digest.removeprefix("sha256:")

    @property
    def hashes(self) -> dict[str, bytes]:
        """The notary target hashes (``{"sha256": <32 bytes>}``)."""
        return {"sha256": bytes.fromhex(self.sha256)}


def registry_url(reference: str | ImageReference) -> str:
    """The registry URL docker uses for an image reference: :data:`DOCKER_HUB_REGISTRY` for ``docker.io`` images
    (and names without a registry, such as ``alpine``), ``https://<domain>`` otherwise (``localhost:5000/app``
    included). Raises :class:`~trustkit.errors.ConfigurationError` for an invalid reference."""
    image = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
    return DOCKER_HUB_REGISTRY if image.is_docker_hub else f"https://{image.domain}"


def _media_type(value: str | None) -> str:
    """A ``Content-Type`` without parameters, lowercased ("" when absent)."""
    return (value or "").split(";", 1)[0].strip().lower()


def _parse_digest(text: str, where: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of a ``sha256|sha384|sha512:<lowercase hex>`` digest; RemoteError otherwise."""
    match = _DIGEST.match(text.strip())
    if match is None or len(match["hex"]) != _HEX_SIZES[match["algorithm"]]:
        raise RemoteError(f"{where} sent a malformed Docker-Content-Digest {text[:100]!r}", code="DIGEST_INVALID")
    return match["algorithm"], match["hex"]


class Registry(HTTPService):
    """An OCI / Docker registry (distribution API v2), for resolving tags to manifest digests and sizes.

    ``url`` is the registry's base URL (``https://registry.example.com``, ``https://localhost:5000``; see
    :func:`registry_url`). TLS: ``ca`` is a CA file, or a folder of ``*.crt`` files, trusted instead of the
    system's CAs; ``client_cert`` a PEM file with certificate and key, or a ``(cert, key)`` pair; or pass a whole
    :class:`~trustkit.remote.TLSConfig` as ``tls``. ``auth``: :class:`~trustkit.remote.Credentials`, a function
    returning them (called when the registry first asks), an :class:`~trustkit.remote.Authenticator`, or None for
    anonymous access (anonymous pull tokens are still fetched). ``timeout`` (30 s) bounds connecting and each
    wait for data, ``total_timeout`` (:data:`~trustkit.remote.DEFAULT_TOTAL_TIMEOUT`, 120 s) one operation as a
    whole, retries and headers included; ``retries`` extra attempts follow connection failures, timeouts, 5xx and
    429, after ``backoff``, ``2*backoff``, … seconds. ``max_manifest_size`` caps a manifest (bytes). ``proxy``:
    a proxy URL; without one, ``HTTPS_PROXY``/``NO_PROXY`` apply as docker applies them, unless
    ``proxy_from_environment=False``. ``transport`` replaces httpx's network transport (tests use
    ``httpx.MockTransport``).

    The registry serves every reference given to :meth:`resolve`: only the reference's path, tag and digest are
    used, not its domain (so a mirror of Docker Hub resolves ``alpine`` as ``library/alpine``). Use as a context
    manager, or call :meth:`close`.
    """

    _headers: ClassVar[Mapping[str, str]] = {"Accept": MANIFEST_ACCEPT}
    # Registries may redirect manifest requests (registry.k8s.io sends them to regional mirrors); docker follows.
    _follow_redirects: ClassVar[bool] = True
    _service: ClassVar[str] = "registry"

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
        max_manifest_size: int = MAX_MANIFEST_SIZE,
        proxy: str | None = None,
        proxy_from_environment: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if isinstance(max_manifest_size, bool) or not isinstance(max_manifest_size, int) or max_manifest_size < 1:
            raise InvalidArgumentError(f"max_manifest_size must be a positive integer, not {max_manifest_size!r}")
        self._max_size = max_manifest_size
        super().__init__(
            url,
            ca=ca,
            client_cert=client_cert,
            tls=tls,
            auth=auth,
            timeout=timeout,
            total_timeout=total_timeout,
            retries=retries,
            backoff=backoff,
            proxy=proxy,
            proxy_from_environment=proxy_from_environment,
            transport=transport,
        )

    @classmethod
    def from_reference(
        cls,
        reference: str | ImageReference,
        *,
        url: str | None = None,
        certs_dir: StrPath | None = DOCKER_CERTS_DIR,
        auth: AuthOption = None,
        env: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Registry:
        """The registry docker would pull ``reference`` from, set up as docker sets it up.

        The URL is :func:`registry_url` of the image (``url`` overrides it, e.g. ``http://…`` for an insecure
        registry). TLS: for a registry other than Docker Hub, the daemon's folder ``<certs_dir>/<host[:port]>/``
        (``*.crt`` CAs added to the system's, ``client.cert`` + ``client.key``), when it exists. Credentials,
        unless ``auth`` is given: those ``docker login`` stored for the image's registry in
        ``$DOCKER_CONFIG/config.json`` (``env`` replaces ``os.environ``, for the proxy variables too), looked up
        when the registry first asks.
        Other ``options`` are :class:`Registry`'s.
        """
        image = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
        tls_given = any(name in options for name in ("tls", "ca", "client_cert"))
        if not tls_given and certs_dir is not None and not image.is_docker_hub:
            options["tls"] = TLSConfig.from_docker_dir(Path(os.fspath(certs_dir)) / image.domain)
        if auth is None:
            key = image.auth_key

            def from_docker_config() -> Credentials | None:
                return docker_credentials(key, env=env)

            auth = from_docker_config
        base = url if url is not None else registry_url(image)
        if env is not None and options.get("proxy") is None and options.get("proxy_from_environment", True):
            options["proxy"] = environment_proxy(base, env=env)  # the proxy of env, not of os.environ
            options["proxy_from_environment"] = False
        return cls(base, auth=auth, **options)

    # --- resolving ------------------------------------------------------------------------------------------

    def resolve(self, reference: str | ImageReference) -> ManifestInfo:
        """The digest, size and media type of the manifest ``reference`` names.

        ``reference`` is an image reference (``localhost:5000/ns/app:v1``, ``alpine``, ``app@sha256:…``; a
        reference without tag or digest means ``latest``). A tag is resolved with ``HEAD`` (then ``GET`` when the
        ``HEAD`` lacks a digest, length or manifest media type); a digest (which wins over a tag, as in docker) is
        fetched and verified against the body. Raises the errors listed in the module's documentation.
        """
        image = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
        if image.digest is not None:
            return self._get(image, image.digest, expected=image.digest)
        tag = image.tag or "latest"
        path = f"/v2/{image.path}/manifests/{tag}"
        head = self._manifest("HEAD", path, repository=image.path, what=self._what(image, tag))
        info = self._from_head(head, image, tag) if head.status != 405 else None
        return info if info is not None else self._get(image, tag, expected=None)

    def _manifest(self, method: str, path: str, *, repository: str, what: str) -> Reply:
        """One manifest request, authenticated for ``repository:<repository>:pull``; a 405 to ``HEAD`` is
        returned (so that the caller can fall back to ``GET``), any other failure raised as a typed error."""
        return self._call(
            method,
            path,
            scope=Scope.repository(repository, "pull"),
            what=what,
            gun=repository,
            max_size=self._max_size,
            accept=(405,) if method == "HEAD" else (),
        )

    def _what(self, image: ImageReference, reference: str) -> str:
        separator = "@" if ":" in reference else ":"
        return f"manifest {image.path}{separator}{reference}"

    def _from_head(self, reply: Reply, image: ImageReference, tag: str) -> ManifestInfo | None:
        """The answer a ``HEAD`` gives, or None when it lacks something (a ``GET`` then follows)."""
        media_type = _media_type(reply.headers.get("content-type"))
        if media_type in _SCHEMA1_TYPES:
            raise self._unsupported(media_type, image, tag)
        header = reply.headers.get(_DIGEST_HEADER)
        length = reply.headers.get("content-length", "")
        encoded = reply.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
        if not header or not _LENGTH.match(length) or int(length) == 0 or encoded:
            return None  # the length must be the manifest's own byte count
        if media_type not in MANIFEST_MEDIA_TYPES:
            return None
        algorithm, hex_digest = _parse_digest(header, self._where)
        if algorithm != "sha256":
            return None  # the sha256 docker content trust needs comes from the body
        return ManifestInfo(f"sha256:{hex_digest}", int(length), media_type)

    def _get(self, image: ImageReference, reference: str, *, expected: str | None) -> ManifestInfo:
        """``GET`` the manifest; its digest is the body's, checked against ``expected`` and the header."""
        what = self._what(image, reference)
        where = self._where
        reply = self._manifest("GET", f"/v2/{image.path}/manifests/{reference}", repository=image.path, what=what)
        body = reply.body
        for claimed, whose in ((expected, "the reference"), (reply.headers.get(_DIGEST_HEADER), "the registry")):
            if not claimed:
                continue
            algorithm, hex_digest = _parse_digest(claimed, where)
            actual = hashlib.new(algorithm, body).hexdigest()
            if actual != hex_digest:
                raise RemoteError(
                    f"{where} sent a {what} whose {algorithm} is {actual}, not the {claimed} {whose} gives: the "
                    "content does not match its digest",
                    status=reply.status,
                    code="DIGEST_INVALID",
                )
        media_type = self._body_media_type(body, _media_type(reply.headers.get("content-type")), image, reference)
        return ManifestInfo("sha256:" + hashlib.sha256(body).hexdigest(), len(body), media_type)

    def _body_media_type(self, body: bytes, announced: str, image: ImageReference, reference: str) -> str:
        """The manifest's media type: the ``Content-Type``, else the body's ``mediaType``, else its shape."""
        what = self._what(image, reference)
        if announced in _SCHEMA1_TYPES:
            raise self._unsupported(announced, image, reference)
        manifest = json_of_type(
            body,
            dict,
            not_json=lambda _: RemoteError(f"{self._where} sent a {what} that is not JSON"),
            wrong_type=lambda: RemoteError(f"{self._where} sent a {what} that is not a JSON object"),
        )
        if manifest.get("schemaVersion") == 1:
            raise self._unsupported("schema 1", image, reference)
        if announced in MANIFEST_MEDIA_TYPES:
            return announced
        declared = manifest.get("mediaType")
        if isinstance(declared, str) and declared in MANIFEST_MEDIA_TYPES:
            return declared
        if declared is None and manifest.get("schemaVersion") == 2:
            if isinstance(manifest.get("manifests"), list):
                return OCI_INDEX
            if isinstance(manifest.get("config"), dict):
                return OCI_MANIFEST
        raise self._unsupported(str(declared or announced or "unknown"), image, reference)

    def _unsupported(self, media_type: str, image: ImageReference, reference: str) -> RemoteError:
        return RemoteError(
            f"{self._where} serves {self._what(image, reference)} as {media_type!r}, which docker content "
            "trust does not sign: only Docker schema2 and OCI image manifests, manifest lists and indexes are "
            "supported (push the image again with a current docker)"
        )

    # --- the registry's wording of failures -----------------------------------------------------------------

    def _refusal(
        self, reply: Reply, body: ErrorBody, *, what: str, gun: str | None, scope: Scope | None
    ) -> RemoteError:
        """The distribution API's refusals: 401/403 with how to log in to the registry, 404 as not found."""
        status = reply.status
        said = f": {body.code}: {body.message}" if body.code and body.message else ""
        if status in (401, 403):
            login = "docker login" if f"https://{self._where}" == DOCKER_HUB_REGISTRY else f"docker login {self._where}"
            return UnauthorizedError(
                f"{self._where} denied access to {what} (needs {scope}): HTTP {self._denial(reply)}. The repository "
                f"does not exist or needs credentials: log in with `{login}` (trustkit reads docker's config.json "
                "and credential helpers) or pass them, e.g. Registry(url, auth=Credentials(username, password))",
                status=status,
                code=body.code,
                detail=body.detail,
            )
        if status == 404:
            return NotFoundError(
                f"{self._where} has no {what}{said}", status=status, code=body.code, detail=body.detail
            )
        return RemoteError(
            f"{self._where} answered HTTP {status} to {what}{said}", status=status, code=body.code, detail=body.detail
        )

    def _tls_failure(self, what: str, reason: object) -> str:
        return (
            f"TLS with the registry {self._where} failed for {what}: {reason}. Trust the registry's CA with "
            f"Registry(url, ca=...) or {DOCKER_CERTS_DIR}/{self._where}/ca.crt (Registry.from_reference reads it); "
            "a registry that wants a client certificate needs client_cert=..."
        )
