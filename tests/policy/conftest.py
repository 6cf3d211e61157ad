"""A published repository with docker-style signers, served by a LocalRemote, and its pinned root key IDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.policy import Published, publish


@pytest.fixture
def published(tmp_path: Path) -> Published:
    return publish(tmp_path)
