"""Sigstore attachments in a registry: the ``sha256-<hex>.sig`` tag holding an image's cosign-format signatures,
read, verified and appended to.

The attachment of image digest ``sha256:<hex>`` is an OCI image manifest at tag ``sha256-<hex>.sig`` of the same
repository; each layer is one signature (media type :data:`~trustkit.migrate.SIMPLE_SIGNING_MEDIA_TYPE`, the payload
as its blob, the base64 signature in annotation ``dev.cosignproject.cosign/signature``); the config, which readers
ignore, is written as skopeo writes it (``rootfs.diff_ids`` = the payload digests). Appending keeps every layer
others wrote and skips a layer identical to one there (media type, digest, size and annotations, skopeo's rule).

Nothing in the registry locks the tag between the read and the write of an append, so writes to one tag are
serialized within the process (one lock per registry, repository and digest); run one migration per repository at
a time across processes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from trustkit.dct.registry import OCI_MANIFEST, Registry
from trustkit.dct.registry_write import MAX_BLOB_SIZE, get_blob, get_manifest, push_blob, put_manifest, sha256_digest
from trustkit.errors import InvalidArgumentError, NotFoundError, RemoteError, VerificationError
from trustkit.migrate.simplesigning import (
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
    KeyInput,
    SignedIdentity,
    SimpleSigningPayload,
    load_verification_key,
    verify_payload,
)
from trustkit.remote.config import ImageReference

__all__ = [
    "CONFIG_MEDIA_TYPE",
    "SignatureAttachment",
    "SignatureLayer",
    "VerifiedSignature",
    "append_signatures",
    "read_signatures",
    "signature_tag",
    "verify_image",
    "verify_signature_layers",
]

CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
"""The config media type of an attachment manifest, as skopeo writes it."""

_locks: dict[tuple[str, str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def signature_tag(digest: str) -> str:
    """The attachment tag of image ``digest``: ``sha256:<hex>`` → ``sha256-<hex>.sig``."""
    algorithm, sep, hex_digest = digest.partition(":")
    if not sep or not algorithm or not hex_digest:
        raise InvalidArgumentError(f"not a digest: {digest!r}")
    return f"{algorithm}-{hex_digest}.sig"


@attrs.frozen
class SignatureLayer:
    """One layer of an attachment: its ``descriptor`` (the JSON object in ``layers``, kept as read) and, for a
    simple-signing layer, its ``payload`` bytes (None when not fetched)."""

    descriptor: Mapping[str, Any]
    payload: bytes | None = attrs.field(default=None, repr=False)

    @classmethod
    def create(cls, payload: bytes, signature: str) -> SignatureLayer:
        """A new signature layer for ``payload`` with base64 ``signature``."""
        descriptor = {
            "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
            "digest": sha256_digest(payload),
            "size": len(payload),
            "annotations": {SIGNATURE_ANNOTATION: signature},
        }
        return cls(descriptor, payload)

    @property
    def media_type(self) -> str | None:
        """The layer's media type."""
        value = self.descriptor.get("mediaType")
        return value if isinstance(value, str) else None

    @property
    def signature(self) -> str | None:
        """The base64 signature annotation, None when absent."""
        annotations = self.descriptor.get("annotations")
        value = annotations.get(SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
        return value if isinstance(value, str) else None


@attrs.frozen
class SignatureAttachment:
    """The attachment of one image digest: its manifest (None when the tag does not exist) and its layers."""

    tag: str
    manifest: Mapping[str, Any] | None
    layers: tuple[SignatureLayer, ...]


@attrs.frozen
class VerifiedSignature:
    """An accepted signature: the parsed ``payload`` and the ``layer`` it came from."""

    payload: SimpleSigningPayload
    layer: SignatureLayer


def _lock(registry: Registry, repository: str, digest: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((registry.url, repository, digest), threading.Lock())


def read_signatures(
    registry: Registry, repository: str, digest: str, *, fetch_payloads: bool = True
) -> SignatureAttachment:
    """The attachment of image ``digest`` in ``repository`` (a path such as ``ns/app``); no manifest and no layers
    when the ``.sig`` tag does not exist. Payloads of simple-signing layers are fetched (digest and size checked)
    unless ``fetch_payloads`` is False.

    Raises :class:`~trustkit.errors.RemoteError` when the tag holds something other than an OCI image manifest
    (containers/image's "unexpected MIME type for sigstore attachment manifest").
    """
    tag = signature_tag(digest)
    try:
        stored = get_manifest(registry, repository, tag)
    except NotFoundError:
        return SignatureAttachment(tag, None, ())
    if stored.media_type != OCI_MANIFEST:
        raise RemoteError(
            f"unexpected MIME type for sigstore attachment manifest {repository}:{tag}: {stored.media_type!r}; "
            "replace the tag with an OCI image manifest (or delete it by digest) before signing"
        )
    manifest = stored.json()
    raw_layers = manifest.get("layers", [])
    if not isinstance(raw_layers, list) or not all(isinstance(layer, dict) for layer in raw_layers):
        raise RemoteError(f"sigstore attachment manifest {repository}:{tag} has malformed layers")
    layers = []
    for descriptor in raw_layers:
        payload = None
        if fetch_payloads and descriptor.get("mediaType") == SIMPLE_SIGNING_MEDIA_TYPE:
            payload = _layer_blob(registry, repository, descriptor, tag)
        layers.append(SignatureLayer(descriptor, payload))
    return SignatureAttachment(tag, manifest, tuple(layers))


def _layer_blob(registry: Registry, repository: str, descriptor: Mapping[str, Any], tag: str) -> bytes:
    digest, size = descriptor.get("digest"), descriptor.get("size")
    if not isinstance(digest, str) or isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RemoteError(f"sigstore attachment {repository}:{tag} has a layer without a valid digest and size")
    if size > MAX_BLOB_SIZE:
        raise RemoteError(
            f"sigstore attachment {repository}:{tag} has a {size}-byte layer, over the {MAX_BLOB_SIZE} allowed"
        )
    try:
        blob = get_blob(registry, repository, digest, max_size=max(size, 1))
    except ValueError:
        raise RemoteError(f"sigstore attachment {repository}:{tag} names an unsupported digest {digest!r}") from None
    if len(blob) != size:
        raise RemoteError(f"blob {digest} of {repository}:{tag} has {len(blob)} bytes, its layer says {size}")
    return blob


def verify_signature_layers(
    layers: Sequence[SignatureLayer],
    key: KeyInput,
    *,
    manifest_digest: str,
    reference: str,
    signed_identity: SignedIdentity = "matchRepoDigestOrExact",
) -> list[VerifiedSignature]:
    """The signatures among ``layers`` that ``key`` verifies for image ``manifest_digest`` pulled as
    ``reference``. Raises :class:`~trustkit.errors.VerificationError` with containers/image's message when none
    is accepted (one accepted signature is enough for containers/image; all accepted ones are returned). ``key`` is
    anything :func:`~trustkit.migrate.load_verification_key` takes."""
    key = load_verification_key(key)
    accepted: list[VerifiedSignature] = []
    reasons: list[str] = []
    others = 0
    for layer in layers:
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE:
            others += 1
            continue
        if layer.payload is None:
            raise InvalidArgumentError("signature layers must be read with their payloads to be verified")
        try:
            payload = verify_payload(
                key,
                layer.payload,
                layer.signature,
                manifest_digest=manifest_digest,
                reference=reference,
                signed_identity=signed_identity,
            )
        except VerificationError as exc:
            reasons.append(str(exc))
            continue
        accepted.append(VerifiedSignature(payload, layer))
    if accepted:
        return accepted
    if not reasons:
        raise VerificationError(
            "A signature was required, but no signature exists"
            + (f" (0 non-sigstore signatures, {others} sigstore non-signature attachments)" if others else "")
            + f": sign {reference} ({manifest_digest}) first"
        )
    if len(reasons) == 1:
        raise VerificationError(reasons[0])
    raise VerificationError(f"None of the signatures were accepted, reasons: {'; '.join(reasons)}")


def verify_image(
    registry: Registry,
    reference: str,
    key: KeyInput,
    *,
    signed_identity: SignedIdentity = "matchRepoDigestOrExact",
) -> list[VerifiedSignature]:
    """Verify the cosign-format signatures of image ``reference`` (``host/repo:tag`` or ``host/repo@sha256:…``)
    as containers/image does with a ``sigstoreSigned`` policy: the manifest is fetched (its digest is the sha256 of
    its bytes), then its ``.sig`` attachment, then each signature layer. Returns the accepted signatures; raises
    :class:`~trustkit.errors.VerificationError` ("A signature was required, but no signature exists", "Signature
    for identity … is not accepted", …) otherwise. ``key`` is a :class:`~trustkit.keys.PublicKey`, a
    :class:`~trustkit.keys.PrivateKey` (its public half), a securesystemslib ``Key``, PEM bytes or what
    :func:`~trustkit.migrate.load_verification_key` returns; anything else is a
    :class:`~trustkit.errors.KeyFormatError`, raised before the registry is asked."""
    key = load_verification_key(key)
    image = ImageReference.parse(reference)
    manifest = get_manifest(registry, image.path, image.digest or image.tag or "latest")
    attachment = read_signatures(registry, image.path, manifest.digest)
    return verify_signature_layers(
        attachment.layers, key, manifest_digest=manifest.digest, reference=reference, signed_identity=signed_identity
    )


def append_signatures(registry: Registry, repository: str, digest: str, layers: Sequence[SignatureLayer]) -> bool:
    """Add ``layers`` (made by :meth:`SignatureLayer.create`) to the attachment of image ``digest`` in
    ``repository``, keeping the layers already there and skipping those identical to one there. Pushes the
    payload blobs, the config and the manifest; writes to one tag are serialized. Returns whether anything was
    written."""
    with _lock(registry, repository, digest):
        current = read_signatures(registry, repository, digest, fetch_payloads=False)
        existing = [dict(layer.descriptor) for layer in current.layers]
        added = [layer for layer in layers if dict(layer.descriptor) not in existing]
        fresh: list[SignatureLayer] = []
        for layer in added:
            if dict(layer.descriptor) not in [dict(f.descriptor) for f in fresh]:
                fresh.append(layer)
        if not fresh:
            return False
        for layer in fresh:
            if layer.payload is None:
                raise InvalidArgumentError("a new signature layer needs its payload")
            push_blob(registry, repository, layer.payload)
        descriptors = existing + [dict(layer.descriptor) for layer in fresh]
        config = {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [d.get("digest") for d in descriptors]},
        }
        config_bytes = json.dumps(config, separators=(",", ":")).encode()
        push_blob(registry, repository, config_bytes)
        manifest = dict(current.manifest or {})
        manifest.update(
            schemaVersion=2,
            mediaType=OCI_MANIFEST,
            config={"mediaType": CONFIG_MEDIA_TYPE, "digest": sha256_digest(config_bytes), "size": len(config_bytes)},
            layers=descriptors,
        )
        body = json.dumps(manifest, separators=(",", ":")).encode()
        put_manifest(registry, repository, current.tag, body, OCI_MANIFEST)
        return True
