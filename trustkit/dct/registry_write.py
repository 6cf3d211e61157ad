"""Reading and writing registry content beyond tag resolution: manifests with their bytes, blobs, tag lists, and
pushes (blob uploads and manifest ``PUT``), over the same :class:`~trustkit.dct.Registry` connection (TLS, token
and basic authentication, caps, deadlines, retries of reads).

What distribution 2.8.2 requires, and these functions do (``sigstore-attachments.md`` §5):

* a blob upload is ``POST /v2/<repo>/blobs/uploads/`` (202 with a ``Location``), then ``PUT <Location>&digest=…``
  with the body; the single-request ``POST ?digest=`` upload is silently ignored by 2.8.2, so it is never used.
  The ``Location`` must stay on the registry's own origin: a registry that sends the upload (and with it the
  token) elsewhere is refused.
* a manifest ``PUT`` carries its media type as ``Content-Type`` (anything else is ``400 MANIFEST_INVALID``).
* blobs are per repository: a manifest may only name blobs pushed to its own repository.
* every manifest read sends the OCI types in ``Accept`` (:data:`~trustkit.dct.MANIFEST_ACCEPT`), and its body is
  checked against the digest asked for or the ``Docker-Content-Digest`` the registry sends.

Writes are not retried (a ``PUT`` that may have landed is not sent twice); reads are. Failures are the typed
errors of :class:`~trustkit.dct.Registry`: :class:`~trustkit.errors.NotFoundError` for an unknown tag, digest or
repository, :class:`~trustkit.errors.UnauthorizedError` with how to log in (pushing needs ``push`` access),
:class:`~trustkit.errors.RemoteError` with code ``DIGEST_INVALID`` for content that does not match its digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from trustkit._encoding import json_of_type
from trustkit.dct.registry import MAX_MANIFEST_SIZE, Registry
from trustkit.errors import InvalidArgumentError, RemoteError
from trustkit.remote import Reply
from trustkit.remote.auth import Scope

__all__ = [
    "MAX_BLOB_SIZE",
    "RegistryManifest",
    "blob_exists",
    "get_blob",
    "get_manifest",
    "list_tags",
    "push_blob",
    "put_manifest",
    "sha256_digest",
]

MAX_BLOB_SIZE = 4 << 20
"""The largest blob :func:`get_blob` reads by default (4 MiB, containers/image's cap on a signature; payloads are a
few hundred bytes)."""
_MAX_TAG_PAGES = 10_000
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}\Z")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def sha256_digest(data: bytes) -> str:
    """The content digest ``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise InvalidArgumentError(f"not a sha256 digest: {digest!r}")
    return digest


@attrs.frozen
class RegistryManifest:
    """A manifest as the registry serves it: its exact ``body``, its ``media_type`` (the ``Content-Type``, else
    the body's ``mediaType``) and its ``digest`` (the sha256 of the body)."""

    body: bytes = attrs.field(repr=False)
    media_type: str
    digest: str

    def json(self) -> dict[str, object]:
        """The body as a JSON object; :class:`~trustkit.errors.RemoteError` when it is not one."""
        return json_of_type(
            self.body,
            dict,
            not_json=lambda _: RemoteError(f"manifest {self.digest} is not JSON"),
            wrong_type=lambda: RemoteError(f"manifest {self.digest} is not a JSON object"),
        )


def get_manifest(registry: Registry, repository: str, reference: str) -> RegistryManifest:
    """The manifest of ``repository`` (a path such as ``ns/app``) at ``reference`` (a tag or ``sha256:`` digest).

    The body must hash to the digest asked for, and to the ``Docker-Content-Digest`` the registry sends. Raises
    :class:`~trustkit.errors.NotFoundError` for an unknown tag or digest (``MANIFEST_UNKNOWN``).
    """
    separator = "@" if reference.startswith("sha256:") else ":"
    what = f"manifest {repository}{separator}{reference}"
    reply = _pull(
        registry, repository, f"/v2/{repository}/manifests/{reference}", what=what, max_size=MAX_MANIFEST_SIZE
    )
    digest = sha256_digest(reply.body)
    claims = [(reference, "asked for")] if separator == "@" else []
    header = reply.headers.get("docker-content-digest")
    if header and header.startswith("sha256:"):
        claims.append((header.strip(), "the registry announced"))
    for claimed, whose in claims:
        if claimed != digest:
            raise RemoteError(
                f"{registry.url} sent a {what} whose digest is {digest}, not the {claimed} {whose}: the content does "
                "not match its digest",
                status=reply.status,
                code="DIGEST_INVALID",
            )
    media_type = (reply.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if not media_type or media_type == "application/json":
        try:
            declared = json.loads(reply.body).get("mediaType")
        except (ValueError, RecursionError, AttributeError):
            declared = None
        media_type = declared if isinstance(declared, str) else media_type
    return RegistryManifest(reply.body, media_type, digest)


def get_blob(registry: Registry, repository: str, digest: str, *, max_size: int = MAX_BLOB_SIZE) -> bytes:
    """The blob ``digest`` of ``repository``, checked against its digest (at most ``max_size`` bytes)."""
    _check_digest(digest)
    what = f"blob {repository}@{digest}"
    reply = _pull(registry, repository, f"/v2/{repository}/blobs/{digest}", what=what, max_size=max_size)
    actual = sha256_digest(reply.body)
    if actual != digest:
        raise RemoteError(
            f"{registry.url} sent a {what} whose digest is {actual}: the content does not match its digest",
            status=reply.status,
            code="DIGEST_INVALID",
        )
    return reply.body


def _pull(registry: Registry, repository: str, path: str, *, what: str, method: str = "GET", **request: Any) -> Reply:
    """``method`` ``path`` with pull access to ``repository``: every read of this module."""
    return registry._call(
        method, path, scope=Scope.repository(repository, "pull"), what=what, gun=repository, **request
    )


def blob_exists(registry: Registry, repository: str, digest: str) -> bool:
    """Whether ``repository`` holds blob ``digest`` (``HEAD``; 404 is False)."""
    _check_digest(digest)
    blob = f"/v2/{repository}/blobs/{digest}"
    reply = _pull(registry, repository, blob, what=f"blob {repository}@{digest}", method="HEAD", accept=(404,))
    return reply.status != 404


def push_blob(registry: Registry, repository: str, data: bytes) -> str:
    """Upload ``data`` as a blob of ``repository`` unless it is there already; returns its digest."""
    digest = sha256_digest(data)
    if blob_exists(registry, repository, digest):
        return digest
    scope = Scope.repository(repository, "pull", "push")
    what = f"an upload of blob {repository}@{digest}"
    started = registry._call(
        "POST", f"/v2/{repository}/blobs/uploads/", scope=scope, what=what, gun=repository, idempotent=False
    )
    location = started.headers.get("location")
    if started.status != 202 or not location:
        raise RemoteError(
            f"{registry.url} answered HTTP {started.status} without an upload Location to {what}",
            status=started.status,
        )
    target = _same_origin_path(registry, location, what)
    # The Location has a query already (``_state``): httpx's params= would replace it, so the digest is appended.
    target += ("&" if "?" in target else "?") + urlencode({"digest": digest})
    registry._call(
        "PUT",
        target,
        scope=scope,
        what=what,
        gun=repository,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
        idempotent=False,
    )
    return digest


_MAX_LOCATION = 8192
"""The longest upload ``Location`` or ``Link`` URL a registry may send (distribution's are a few hundred bytes)."""


def _same_origin_path(registry: Registry, location: str, what: str) -> str:
    """The path (and query) of an upload ``Location`` (or a ``Link`` page), which must be relative or on the
    registry's origin, and at most 8 KiB long (the registry names it: a longer one is refused, not parsed)."""
    if len(location) > _MAX_LOCATION:
        raise RemoteError(
            f"{registry.url} sent {what} as a URL of {len(location)} characters (at most {_MAX_LOCATION} are "
            "accepted): refused; the registry is misbehaving"
        )
    base = urlsplit(registry.url)
    target = urlsplit(location)
    if (target.scheme or target.netloc) and (target.scheme, target.netloc) != (base.scheme, base.netloc):
        raise RemoteError(
            f"{registry.url} sent {what} to another origin ({target.scheme}://{target.netloc}): refused, so "
            "that credentials are not sent there"
        )
    if not target.path.startswith("/"):
        raise RemoteError(f"{registry.url} sent an upload Location trustkit cannot use for {what}: {location!r}")
    return target.path.removeprefix(base.path.rstrip("/")) + (f"?{target.query}" if target.query else "")


def put_manifest(registry: Registry, repository: str, reference: str, body: bytes, media_type: str) -> str:
    """``PUT`` manifest ``body`` (of ``media_type``) at ``reference`` (a tag or digest) of ``repository``; the
    blobs it names must have been pushed to ``repository`` first. Returns the manifest's digest, checked against
    the ``Docker-Content-Digest`` the registry answers."""
    digest = sha256_digest(body)
    what = f"manifest {repository}:{reference}"
    reply = registry._call(
        "PUT",
        f"/v2/{repository}/manifests/{reference}",
        scope=Scope.repository(repository, "pull", "push"),
        what=what,
        gun=repository,
        content=body,
        headers={"Content-Type": media_type},
        idempotent=False,
    )
    answered = reply.headers.get("docker-content-digest")
    if answered and answered.strip() != digest:
        raise RemoteError(
            f"{registry.url} stored {what} as {answered.strip()}, not as its digest {digest}",
            status=reply.status,
            code="DIGEST_INVALID",
        )
    return digest


def list_tags(registry: Registry, repository: str) -> list[str]:
    """Every tag of ``repository`` (``GET /v2/<repo>/tags/list``, following ``Link: rel="next"`` pages on the
    registry's origin). Includes attachment tags such as ``sha256-<hex>.sig``."""
    tags: list[str] = []
    path = f"/v2/{repository}/tags/list"
    what = f"the tags of {repository}"
    asked = f"repository {repository} (listing its tags)"  # read as "has no …", "denied access to …"
    for _ in range(_MAX_TAG_PAGES):
        reply = _pull(registry, repository, path, what=asked, max_size=64 << 20)
        try:
            page = json.loads(reply.body)
        except (ValueError, RecursionError):
            raise RemoteError(f"{registry.url} sent {what} that are not JSON") from None
        names = page.get("tags") if isinstance(page, dict) else None
        if names is None:
            names = []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise RemoteError(f"{registry.url} sent {what} in an unexpected shape")
        tags.extend(names)
        link = _NEXT_LINK.search(reply.headers.get("link") or "")
        if link is None:
            return tags
        path = _same_origin_path(registry, link.group(1), what)
    raise RemoteError(f"{registry.url} sent more than {_MAX_TAG_PAGES} pages of {what}")
