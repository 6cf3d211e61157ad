"""Concurrent publishers on one GUN of the real notary-server: every change ends published, or still staged
after a clear ConflictError; the server's data verifies at the end."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.harness import NotaryServer
from trustkit.remote import NotaryServer as NotaryServerRemote

pytestmark = pytest.mark.interop

PUBLISHERS = int(os.environ.get("TRUSTKIT_CONCURRENT_PUBLISHERS", "4"))
CHANGES_EACH = int(os.environ.get("TRUSTKIT_CONCURRENT_CHANGES", "3"))


def test_concurrent_publishers(notary_server: NotaryServer, gun: str, tmp_path: Path) -> None:
    keys = [tk.generate_private_key() for _ in range(3)]

    def keystore() -> tk.MemoryKeyStore:
        return tk.MemoryKeyStore(*keys)

    def remote() -> NotaryServerRemote:
        return NotaryServerRemote(notary_server.url, ca=notary_server.ca_path)

    founder = tk.Repository(gun, remote=remote(), keystore=keystore(), trust_dir=tmp_path / "founder")
    founder.initialize(root_key_ids=[keys[0].key_id], server_managed_snapshot=True)
    founder.publish()
    founder_root = founder.cache.load("root")
    assert founder_root is not None
    founder_store = founder.keystore

    results: dict[str, str] = {}
    conflicts: list[str] = []
    barrier = threading.Barrier(PUBLISHERS)

    def publisher(index: int) -> None:
        store = keystore()
        for info in founder_store.list_keys():
            if info.key_id not in {k.key_id for k in keys}:
                store.add_key(founder_store.get_private_key(info.key_id), role=info.role, gun=info.gun)  # type: ignore[attr-defined]
        trust_dir = tmp_path / f"publisher-{index}"
        tk.MetadataCache(trust_dir, gun).store("root", founder_root)
        repo = tk.Repository(gun, remote=remote(), keystore=store, trust_dir=trust_dir)
        names = [f"p{index}-c{i}" for i in range(CHANGES_EACH)]
        for name in names:
            repo.add_target(name, tk.TargetFile.from_data(name.encode()))
        barrier.wait()
        for _attempt in range(20):
            try:
                repo.publish()
            except tk.ConflictError as exc:
                conflicts.append(f"{index}: {exc}")
                continue
            break
        staged = {s.change.path for s in repo.status()}
        for name in names:
            results[name] = "staged" if name in staged else "published"

    threads = [threading.Thread(target=publisher, args=(i,)) for i in range(PUBLISHERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads)

    reader = tk.Reader(gun, remote(), cache=tk.MetadataCache(tmp_path / "auditor", gun))
    on_server = {m.name for m in reader.list_targets()}
    assert len(results) == PUBLISHERS * CHANGES_EACH
    for name, state in results.items():
        assert (state == "published") == (name in on_server), name
    assert all(state == "published" for state in results.values()), conflicts
    print(
        f"concurrency: {PUBLISHERS} publishers x {CHANGES_EACH} changes, {len(conflicts)} conflicts retried, "
        f"{len(on_server)} targets published"
    )
