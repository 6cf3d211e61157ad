"""Fixtures for the remote layer: one repository-level suite over NotaryServer, LocalRemote and MemoryRemote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.harness import NotaryServer as NotaryServerProcess
from trustkit.remote import LocalRemote, MemoryRemote, NotaryServer, Remote

REMOTE_KINDS = [
    pytest.param("notary-server", marks=pytest.mark.interop, id="notary-server"),
    pytest.param("local", id="local"),
    pytest.param("memory", id="memory"),
]


@pytest.fixture(params=REMOTE_KINDS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    """The same Remote interface over a real notary-server 0.7 (TLS), a LocalRemote folder and a MemoryRemote."""
    if request.param == "notary-server":
        process: NotaryServerProcess = request.getfixturevalue("notary_server")
        with NotaryServer(process.url, ca=process.ca_path, timeout=10.0) as server:
            yield server
    elif request.param == "local":
        yield LocalRemote(tmp_path / "remote")
    else:
        yield MemoryRemote()
