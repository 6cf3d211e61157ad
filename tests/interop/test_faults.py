"""Reads and publishes through a fault-injecting proxy in front of the real notary-server: every fault ends in
a retry or a clear typed error, never a hang, and a failed publish keeps its staged changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.fault_proxy import Fault, FaultProxy
from tests.interop.harness import NotaryServer
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop


@pytest.fixture
def proxy(notary_server: NotaryServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(notary_server)
    yield proxy
    proxy.close()


def remote(proxy: FaultProxy, **options: float | int) -> NotaryServerRemote:
    return NotaryServerRemote(proxy.url, ca=proxy.server.ca_path, **options)  # type: ignore[arg-type]


def published_repo(proxy: FaultProxy, gun: str, tmp_path: Path) -> tk.Repository:
    repo = tk.Repository(gun, remote=remote(proxy), keystore=tk.MemoryKeyStore(), trust_dir=tmp_path / "writer")
    repo.initialize(server_managed_snapshot=True)
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    return repo


def faulty_reader(proxy: FaultProxy, gun: str, tmp_path: Path, fault: Fault, **options: float | int) -> tk.Reader:
    """A fresh reader of a freshly published ``gun``, through the proxy with ``fault`` armed: the read tests' set-up.
    ``options`` (retries, backoff, timeout) go to its remote."""
    published_repo(proxy, gun, tmp_path)
    proxy.add(fault)
    return tk.Reader(gun, remote(proxy, **options), cache=tk.MetadataCache(tmp_path / "reader", gun))


READ_FAULTS = ["reset", "truncate", "status", "short"]


@pytest.mark.parametrize("kind", READ_FAULTS)
def test_transient_read_faults_are_retried(proxy: FaultProxy, gun: str, tmp_path: Path, kind: str) -> None:
    fault = Fault(kind, path_contains="timestamp.json", method="GET", times=1)  # type: ignore[arg-type]
    reader = faulty_reader(proxy, gun, tmp_path, fault, retries=2, backoff=0.01, timeout=5.0)
    assert reader.get_target("v1").role == "targets"
    assert [k for k, _, _ in proxy.injected] == [kind]


@pytest.mark.parametrize("kind", READ_FAULTS)
def test_persistent_read_faults_are_clear_errors(proxy: FaultProxy, gun: str, tmp_path: Path, kind: str) -> None:
    fault = Fault(kind, path_contains="root.json", method="GET", times=100)  # type: ignore[arg-type]
    reader = faulty_reader(proxy, gun, tmp_path, fault, retries=1, backoff=0.01, timeout=5.0)
    started = time.monotonic()
    with pytest.raises(tk.RemoteError):
        reader.refresh()
    assert time.monotonic() - started < 30
    assert tk.MetadataCache(tmp_path / "reader", gun).roles() == []


def test_slow_server_times_out(proxy: FaultProxy, gun: str, tmp_path: Path) -> None:
    fault = Fault("delay", path_contains="timestamp.json", seconds=3.0, times=10)
    reader = faulty_reader(proxy, gun, tmp_path, fault, retries=0, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(tk.ServerUnavailableError):
        reader.refresh()
    assert time.monotonic() - started < 10


def test_a_publish_whose_answer_is_cut_off_after_the_server_took_it_succeeds(
    proxy: FaultProxy, gun: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The server accepted the update, then the connection broke mid-answer: the outcome was unknown, so trustkit
    asks the server for the files it sent, finds them all, and reports success (with a warning)."""
    repo = published_repo(proxy, gun, tmp_path)
    repo.add_target("v2", tk.TargetFile.from_data(b"two"))
    proxy.add(Fault("short", path_contains="/_trust/tuf/", method="POST", times=1))
    repo.publish()
    assert repo.status() == []
    assert "the server holds every file of it: the publish succeeded" in caplog.text
    assert {m.name for m in repo.reader().list_targets()} == {"v1", "v2"}
    assert [(kind, method) for kind, method, _ in proxy.injected] == [("short", "POST")]


@pytest.mark.parametrize("kind", ["reset", "status"])
def test_failed_publish_keeps_changes_and_recovers(proxy: FaultProxy, gun: str, tmp_path: Path, kind: str) -> None:
    repo = published_repo(proxy, gun, tmp_path)
    repo.add_target("v2", tk.TargetFile.from_data(b"two"))
    staged = [s.id for s in repo.status()]
    proxy.add(Fault(kind, path_contains="/_trust/tuf/", method="POST", times=1))  # type: ignore[arg-type]
    with pytest.raises(tk.RemoteError):
        repo.publish()
    assert [s.id for s in repo.status()] == staged
    repo.publish()
    assert {m.name for m in repo.reader().list_targets()} == {"v1", "v2"}
    assert "POST" in {method for _, method, _ in proxy.injected}
