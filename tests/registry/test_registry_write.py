"""Registry writes (push_blob, put_manifest, list_tags) against the in-process registry of
tests/support/fake_registry.py; the real registry is in tests/interop/test_migrate_registry.py."""

from __future__ import annotations

import gc
import json
import tracemalloc

import httpx
import pytest

from tests.support.fake_registry import BASE, REPO, FakeRegistry, digest_of
from trustkit.dct.registry import OCI_MANIFEST, Registry
from trustkit.dct.registry_write import get_blob, list_tags, push_blob, put_manifest
from trustkit.errors import ConfigurationError, NotFoundError, RemoteError
from trustkit.remote.notary_server import NotaryServer


def test_push_blob_keeps_the_location_query_and_skips_existing_blobs() -> None:
    fake = FakeRegistry()
    with fake.registry() as registry:
        digest = push_blob(registry, REPO, b"payload")
        assert get_blob(registry, REPO, digest) == b"payload"
        uploads = sum(1 for method, _ in fake.requests if method == "POST")
        assert push_blob(registry, REPO, b"payload") == digest
        assert sum(1 for method, _ in fake.requests if method == "POST") == uploads


def test_upload_location_on_another_origin_is_refused() -> None:
    fake = FakeRegistry(upload_origin="https://elsewhere.test")
    with fake.registry() as registry, pytest.raises(RemoteError, match="another origin"):
        push_blob(registry, REPO, b"payload")
    assert not any("elsewhere" in path for _, path in fake.requests)


def test_put_manifest_sends_its_media_type() -> None:
    fake = FakeRegistry()
    with fake.registry() as registry:
        config = push_blob(registry, REPO, b"{}")
        body = json.dumps({"mediaType": OCI_MANIFEST, "config": {"digest": config}, "layers": []}).encode()
        assert put_manifest(registry, REPO, "v1", body, OCI_MANIFEST) == digest_of(body)
        assert fake.manifests[(REPO, "v1")] == (body, OCI_MANIFEST)
        assert list_tags(registry, REPO) == ["v1"]


def test_a_missing_repository_is_named_plainly() -> None:
    registry = Registry(BASE, transport=httpx.MockTransport(_unknown_repository), retries=0)
    with registry, pytest.raises(NotFoundError) as caught:
        list_tags(registry, "team/other")
    assert str(caught.value).startswith("registry.test has no repository team/other (")


def _unknown_repository(request: httpx.Request) -> httpx.Response:
    body = {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry"}]}
    return httpx.Response(404, json=body)


def test_a_registry_url_without_scheme_names_the_registry() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Registry("127.0.0.1:5000")
    message = str(caught.value)
    assert "for registry" in message and "trust server" not in message
    assert message.endswith("give the scheme, e.g. 'https://127.0.0.1:5000'")
    with pytest.raises(ConfigurationError, match=r"required for trust server, got 'notary\.example'"):
        NotaryServer("notary.example")


def test_a_registrys_long_next_links_are_not_kept_after_the_listing() -> None:
    """Parsed URLs are kept for reuse only when short and without a query: a registry's ``Link`` pages (each its
    own URL) are parsed each time, so a long listing leaves nothing behind in memory."""
    pages = iter(range(1100))

    def handler(request: httpx.Request) -> httpx.Response:
        page = next(pages)
        if page == 1099:
            return httpx.Response(200, json={"tags": ["v1"]})
        link = f'</v2/{REPO}/tags/list?last={page:06d}{"a" * 4000}>; rel="next"'
        return httpx.Response(200, json={"tags": []}, headers={"Link": link})

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with Registry(BASE, transport=httpx.MockTransport(handler), retries=0) as registry:
            assert list_tags(registry, REPO) == ["v1"]
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 4 << 20, f"{kept >> 10} KiB kept after the registry was closed"


def test_a_next_link_longer_than_8_kib_is_refused_with_a_typed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = f'</v2/{REPO}/tags/list?last={"a" * 70_000}>; rel="next"'  # past httpx's URL limit too
        return httpx.Response(200, json={"tags": []}, headers={"Link": link})

    with (
        Registry(BASE, transport=httpx.MockTransport(handler), retries=0) as registry,
        pytest.raises(RemoteError, match="characters"),
    ):
        list_tags(registry, REPO)
