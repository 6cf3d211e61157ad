"""Shared pytest fixtures that start and drive the real Notary / Docker Content Trust programs.

The fixtures skip the test when a binary is missing, or fail it when
``TRUSTKIT_REQUIRE_INTEROP=1`` (see :func:`tests.interop.harness.require_binary`).
Tests that use them should carry ``pytest.mark.interop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.harness import (
    DockerTrustCLI,
    NotaryCLI,
    NotaryServer,
    require_binary,
    unique_gun,
)


@pytest.fixture(scope="session")
def notary_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryServer]:
    """One notary-server for the session: TLS on 127.0.0.1, memory storage, local signing.

    Storage is shared by all tests of the session, so every test must use its own GUN.
    """
    require_binary("notary-server", "notary")
    server = NotaryServer(tmp_path_factory.mktemp("notary-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def notary_server_with_signer(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[NotaryServer]:
    """One notary-server backed by a notary-signer (gRPC, mutual TLS, memory, ECDSA keys)."""
    require_binary("notary-server", "notary")
    require_binary("notary-signer", "notary")
    server = NotaryServer(tmp_path_factory.mktemp("notary-server-signer"), with_signer=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gun() -> str:
    """A fresh GUN such as ``localhost:5000/trustkit/t-1a2b3c4d``."""
    return unique_gun()


@pytest.fixture
def notary_cli(notary_server: NotaryServer, tmp_path: Path) -> NotaryCLI:
    """The real ``notary`` CLI on ``notary_server`` with a fresh trust dir and HOME."""
    require_binary("notary", "notary")
    return NotaryCLI(notary_server, tmp_path / "notary-trust", tmp_path / "notary-home")


@pytest.fixture
def docker_cli(notary_server: NotaryServer, tmp_path: Path) -> DockerTrustCLI:
    """The real ``docker`` CLI (``docker trust``) on ``notary_server``, fresh DOCKER_CONFIG."""
    require_binary("docker", "docker.io")
    return DockerTrustCLI(notary_server, tmp_path / "docker-config", tmp_path / "docker-home")
