"""Fixtures for the I/O-free layers: keys and a small signed repository built in memory."""

from __future__ import annotations

import pytest

from tests.support.metadata_repo import Repo, build_repo


@pytest.fixture(scope="session")
def repo() -> Repo:
    """One signed repository shared by the unit tests (it is immutable)."""
    return build_repo()
