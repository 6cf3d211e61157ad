"""Sigstore attachments against an in-process registry (tests/support/fake_registry.py, which behaves as
distribution 2.8.2 does where it matters). The registry pushes themselves are tested in
tests/registry/test_registry_write.py; the real registry is in tests/interop/test_migrate_registry.py."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from tests.support.fake_registry import REPO, FakeRegistry
from trustkit.dct.registry import DOCKER_MANIFEST, OCI_MANIFEST
from trustkit.dct.registry_write import get_blob
from trustkit.errors import KeyFormatError, RemoteError, VerificationError
from trustkit.keys import PrivateKey, generate_private_key
from trustkit.migrate import (
    SignatureLayer,
    append_signatures,
    load_verification_key,
    make_payload,
    read_signatures,
    sign_payload,
    signature_tag,
    verify_image,
)


def _layer(key: PrivateKey, reference: str, digest: str, *, timestamp: int = 1) -> SignatureLayer:
    payload = make_payload(reference, digest, timestamp=timestamp)
    return SignatureLayer.create(payload, base64.b64encode(sign_payload(key, payload)).decode())


def test_append_signs_verifies_and_skips_duplicates() -> None:
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    key = generate_private_key()
    layer = _layer(key, "registry.test/ns/app:v1", digest)
    with fake.registry() as registry:
        assert append_signatures(registry, REPO, digest, [layer, layer]) is True
        assert append_signatures(registry, REPO, digest, [layer]) is False
        attachment = read_signatures(registry, REPO, digest)
        assert attachment.tag == signature_tag(digest) and len(attachment.layers) == 1
        manifest = attachment.manifest
        assert manifest is not None and manifest["mediaType"] == OCI_MANIFEST
        config = json.loads(get_blob(registry, REPO, manifest["config"]["digest"]))  # type: ignore[index]
        assert config["rootfs"]["diff_ids"] == [layer.descriptor["digest"]]
        (accepted,) = verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))
        assert accepted.payload.manifest_digest == digest
        unsigned = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "v": 2}).encode()
        fake.manifests[(REPO, "v2")] = (unsigned, OCI_MANIFEST)
        with pytest.raises(VerificationError, match="A signature was required, but no signature exists"):
            verify_image(registry, "registry.test/ns/app:v2", load_verification_key(key))


def test_a_non_oci_attachment_is_refused_not_overwritten() -> None:
    """skopeo 1.9.3 silently writes nothing when the .sig tag holds a v2s2 manifest; trustkit says so."""
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    fake.manifests[(REPO, signature_tag(digest))] = (b'{"schemaVersion":2}', DOCKER_MANIFEST)
    key = generate_private_key()
    with fake.registry() as registry:
        with pytest.raises(RemoteError, match="unexpected MIME type for sigstore attachment manifest"):
            append_signatures(registry, REPO, digest, [_layer(key, "registry.test/ns/app:v1", digest)])
        with pytest.raises(RemoteError, match="unexpected MIME type for sigstore attachment manifest"):
            verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))
    assert fake.manifests[(REPO, signature_tag(digest))][1] == DOCKER_MANIFEST


def test_concurrent_appends_to_one_tag_keep_every_layer() -> None:
    fake = FakeRegistry(slow_put=0.05)
    digest = fake.add_image("v1")
    keys = [generate_private_key() for _ in range(4)]
    layers = [_layer(key, "registry.test/ns/app:v1", digest) for key in keys]
    with fake.registry() as registry:
        threads = [
            threading.Thread(target=append_signatures, args=(registry, REPO, digest, [layer])) for layer in layers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(read_signatures(registry, REPO, digest).layers) == 4
        for key in keys:
            verify_image(registry, "registry.test/ns/app:v1", load_verification_key(key))


def test_verify_image_takes_trustkit_and_securesystemslib_keys() -> None:
    fake = FakeRegistry()
    digest = fake.add_image("v1")
    key = generate_private_key()
    with fake.registry() as registry:
        append_signatures(registry, REPO, digest, [_layer(key, "registry.test/ns/app:v1", digest)])
        for given in (key, key.public_key, key.signer().public_key, load_verification_key(key)):
            (accepted,) = verify_image(registry, "registry.test/ns/app:v1", given)
            assert accepted.payload.manifest_digest == digest
        asked = len(fake.requests)
        for wrong in ("/tmp/cosign.pub", 42, None):
            with pytest.raises(KeyFormatError, match=r"PEM public key|expected a verification key"):
                verify_image(registry, "registry.test/ns/app:v1", wrong)
        assert len(fake.requests) == asked  # refused before the registry is asked
