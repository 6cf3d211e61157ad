"""A small signed repository as models (keys and each role's metadata), for the metadata tests: the repository
simulator's files, parsed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import trustkit as tk
from tests.support.repo_sim import Delegation, RepoSim

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
    """Root, targets (delegating to targets/releases) and targets/releases, signed by the repository simulator and
    parsed back into models."""
    sim = RepoSim(GUN, now=datetime.now(timezone.utc))
    sim.keys["snapshot"] = tk.generate_private_key("ed25519")
    sim.targets["v1"] = tk.TargetFile.from_data(b"v1 content")
    releases_key = tk.generate_private_key()
    sim.delegations["targets/releases"] = Delegation(
        releases_key, [""], {"v2": tk.TargetFile.from_digest("ab" * 32, 1234)}
    )
    files = sim.publish()
    return Repo(
        root_key=sim.root_keys[0],
        root_cert=sim.root_certs[0],
        targets_key=sim.keys["targets"],
        snapshot_key=sim.keys["snapshot"],
        timestamp_key=sim.keys["timestamp"],
        releases_key=releases_key,
        root=tk.Metadata.from_bytes(files["root"], role="root"),
        targets=tk.Metadata.from_bytes(files["targets"], role="targets"),
        releases=tk.Metadata.from_bytes(files["targets/releases"], role="targets/releases"),
    )
