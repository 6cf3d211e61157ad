"""Fixtures for the I/O-free layers: keys and a small signed repository built in memory."""

from __future__ import annotations

import pytest

from tests.support.repo_sim import ParsedRepo, parsed_repo


@pytest.fixture(scope="session")
def repo() -> ParsedRepo:
    """One signed repository shared by the unit tests (it is immutable)."""
    return parsed_repo()
