"""Docker Hub's notary service shuts down on 2026-12-08: from then on a docker.io image (or the service named
explicitly) is a ServiceRetiredError saying what to do, not a connection failure. No test here opens a connection:
a NotaryServer sends nothing until its first request."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import trustkit as tk
from trustkit.dct import DockerTrust
from trustkit.remote import ImageReference, LocalRemote, NotaryServer

SHUTDOWN = datetime(2026, 12, 8, tzinfo=timezone.utc)
BEFORE = SHUTDOWN - timedelta(seconds=1)


def trust_at(tmp_path: Path, when: datetime, **env: str) -> DockerTrust:
    return DockerTrust(config_dir=tmp_path / "docker", env={"HOME": str(tmp_path), **env}, clock=lambda: when)


@pytest.mark.parametrize("reference", ["busybox", "docker.io/library/busybox:1.36", "index.docker.io/ns/app"])
@pytest.mark.parametrize("when", [SHUTDOWN, SHUTDOWN + timedelta(days=400)])
def test_docker_hub_images_after_the_shutdown_are_a_typed_error(tmp_path: Path, reference: str, when: datetime) -> None:
    trust = trust_at(tmp_path, when)
    with pytest.raises(tk.ServiceRetiredError) as raised:
        trust.remote_for(reference)
    message = str(raised.value)
    assert "shut down on 2026-12-08" in message
    assert ImageReference.parse(reference).gun in message
    for option in ("archive", "cosign", "DOCKER_CONTENT_TRUST_SERVER"):
        assert option in message
    with pytest.raises(tk.ServiceRetiredError):
        trust.repository(reference)
    assert isinstance(raised.value, tk.RemoteError) and raised.value.status is None


def test_docker_hub_images_before_the_shutdown_resolve_to_its_notary(tmp_path: Path) -> None:
    with trust_at(tmp_path, BEFORE) as trust:
        server = trust.remote_for("busybox")
        assert isinstance(server, NotaryServer) and server.url == "https://notary.docker.io"


def test_the_service_named_explicitly_is_refused_too(tmp_path: Path) -> None:
    explicit = {"DOCKER_CONTENT_TRUST_SERVER": "https://notary.docker.io:443"}
    with pytest.raises(tk.ServiceRetiredError, match="shut down"):
        trust_at(tmp_path, SHUTDOWN, **explicit).remote_for("localhost:5000/ns/app")
    with trust_at(tmp_path, BEFORE, **explicit) as before:
        assert isinstance(before.remote_for("localhost:5000/ns/app"), NotaryServer)


def test_other_servers_and_explicit_remotes_go_on_after_the_shutdown(tmp_path: Path) -> None:
    after = SHUTDOWN + timedelta(days=1)
    with trust_at(tmp_path, after) as own:
        assert own.remote_for("localhost:5000/ns/app").url == "https://localhost:5000"  # type: ignore[attr-defined]
    elsewhere = {"DOCKER_CONTENT_TRUST_SERVER": "https://notary.example.com:4443"}
    with trust_at(tmp_path, after, **elsewhere) as moved:
        assert moved.remote_for("busybox").url == "https://notary.example.com:4443"  # type: ignore[attr-defined]
    archive = LocalRemote(tmp_path / "archive")
    offline = DockerTrust(
        config_dir=tmp_path / "docker", env={"HOME": str(tmp_path)}, remote=archive, clock=lambda: after
    )
    assert offline.remote_for("busybox") is archive


def test_a_naive_clock_counts_as_utc(tmp_path: Path) -> None:
    with pytest.raises(tk.ServiceRetiredError):
        trust_at(tmp_path, SHUTDOWN.replace(tzinfo=None)).remote_for("busybox")
    with trust_at(tmp_path, BEFORE.replace(tzinfo=None)) as before:
        assert isinstance(before.remote_for("busybox"), NotaryServer)
