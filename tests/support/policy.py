"""A published repository for the policy tests: its GUN, digests and the files a verifier reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustkit as tk

GUN = "registry.example.com/team/app"


D1, D2, D4 = "sha256:" + "11" * 32, "sha256:" + "22" * 32, "sha256:" + "44" * 32


@dataclass
class Published:
    remote: tk.LocalRemote
    repository: tk.Repository
    root_key_ids: tuple[str, ...]
    signer_keys: dict[str, tk.PrivateKey]


def publish(workdir: Path, gun: str = GUN) -> Published:
    """alice, bob and carol are signers (each in targets/releases too, as docker trust signer add does).
    v1 is released and signed by alice and bob; v2 released and signed by alice; v4 only in targets/bob."""
    remote = tk.LocalRemote(workdir / "server")
    repo = tk.Repository(gun, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "publisher")
    repo.initialize(server_managed_snapshot=True)
    keys = {name: tk.generate_private_key() for name in ("alice", "bob", "carol")}
    for name, key in keys.items():
        repo.keystore.add_key(key, role=name)
        repo.add_delegation(f"targets/{name}", keys=[key.public_key], all_paths=True)
    repo.add_delegation("targets/releases", keys=[k.public_key for k in keys.values()], all_paths=True)
    repo.add_target(
        "v1", tk.TargetFile.from_digest(D1, 500), roles=["targets/releases", "targets/alice", "targets/bob"]
    )
    repo.add_target("v2", tk.TargetFile.from_digest(D2, 500), roles=["targets/releases", "targets/alice"])
    repo.add_target("v4", tk.TargetFile.from_digest(D4, 500), roles=["targets/bob"])
    repo.publish()
    root = repo.reader().refresh().root.signed
    return Published(remote, repo, tuple(root.roles["root"].keyids), keys)
