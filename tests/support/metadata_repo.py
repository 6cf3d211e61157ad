"""A small signed repository built in memory, as models (keys and each role's metadata), for the metadata tests."""

from __future__ import annotations

from dataclasses import dataclass

import trustkit as tk

GUN = "localhost:5000/unit/app"


@dataclass
class Repo:
    """A signed in-memory repository: private keys, and the metadata of each role."""

    root_key: tk.PrivateKey
    root_cert: tk.PublicKey
    targets_key: tk.PrivateKey
    snapshot_key: tk.PrivateKey
    timestamp_key: tk.PrivateKey
    releases_key: tk.PrivateKey
    root: tk.Metadata[tk.Root]
    targets: tk.Metadata[tk.Targets]
    releases: tk.Metadata[tk.Targets]


def build_repo() -> Repo:
    """Build and sign root, targets (delegating to targets/releases) and targets/releases."""
    root_key = tk.generate_private_key()
    targets_key = tk.generate_private_key()
    snapshot_key = tk.generate_private_key("ed25519")
    timestamp_key = tk.generate_private_key()
    releases_key = tk.generate_private_key()
    root_cert = tk.make_root_key(root_key, GUN)
    keys = [root_cert, targets_key.public_key, snapshot_key.public_key, timestamp_key.public_key]
    root = tk.Root(
        version=1,
        expires=tk.default_expiry("root"),
        keys={key.key_id: key for key in keys},
        roles={
            name: tk.Role([key.key_id], 1)
            for name, key in zip(("root", "targets", "snapshot", "timestamp"), keys, strict=True)
        },
    )
    releases_role = tk.DelegatedRole([releases_key.public_key.key_id], 1, name="targets/releases", paths=[""])
    targets = (
        tk.Targets(version=1, expires=tk.default_expiry("targets"))
        .with_target("v1", tk.TargetFile.from_data(b"v1 content"))
        .with_delegation(releases_role, [releases_key.public_key])
    )
    releases = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target(
        "v2", tk.TargetFile.from_digest("ab" * 32, 1234)
    )
    return Repo(
        root_key=root_key,
        root_cert=root_cert,
        targets_key=targets_key,
        snapshot_key=snapshot_key,
        timestamp_key=timestamp_key,
        releases_key=releases_key,
        root=tk.Metadata(root).sign(root_key.signer(), key=root_cert),
        targets=tk.Metadata(targets).sign(targets_key.signer()),
        releases=tk.Metadata(releases).sign(releases_key.signer()),
    )
