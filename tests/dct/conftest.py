"""Fixtures for the DCT layer's unit tests: a docker configuration in a temporary folder on an in-memory remote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dct import ENV
from trustkit.dct import DockerTrust
from trustkit.remote import MemoryRemote


@pytest.fixture
def remote() -> MemoryRemote:
    return MemoryRemote()


@pytest.fixture
def make_trust(tmp_path: Path, remote: MemoryRemote) -> Iterator[Callable[..., DockerTrust]]:
    """Build DockerTrust objects on the shared remote; each name gets its own docker config folder (its own keys)."""
    made: list[DockerTrust] = []

    def make(name: str = "admin", **options: object) -> DockerTrust:
        env = {**ENV, "HOME": str(tmp_path / "home"), **options.pop("env", {})}  # type: ignore[dict-item]
        trust = DockerTrust(config_dir=tmp_path / name, remote=options.pop("remote", remote), env=env, **options)  # type: ignore[arg-type]
        made.append(trust)
        return trust

    yield make
    for trust in made:
        trust.close()


@pytest.fixture
def admin(make_trust: Callable[..., DockerTrust]) -> DockerTrust:
    return make_trust("admin")
