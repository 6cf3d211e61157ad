"""Regression tests for the trust-layer hardening of issues #14 and #15: each attack or defect that once got
through, reproduced with the repository simulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import trustkit as tk
from tests.unit.repo_sim import NOW, Delegation, RepoSim
from tests.unit.test_reader import FakeRemote, reader


def test_a_delegated_role_that_delegates_further_parses_without_its_role() -> None:
    sim = RepoSim()
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases/nested"] = Delegation(tk.generate_private_key(), ["a/"])
    data = sim.publish()["targets/releases"]
    parsed = tk.Metadata.from_bytes(data)
    assert [d.name for d in parsed.signed.delegations.roles] == ["targets/releases/nested"]
    assert tk.Metadata.from_bytes(data, role="targets/releases").signed == parsed.signed
    # with a role given, the direct-child check still applies
    with pytest.raises(tk.MalformedMetadataError, match="delegation role targets/releases/nested invalid"):
        tk.Metadata.from_bytes(data, role="targets")


def test_a_fast_forwarded_timestamp_is_forgotten_when_the_new_root_rotates_its_key(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"one")
    remote = FakeRemote()
    files = sim.publish()
    remote.serve(files)
    reader(remote, tmp_path).refresh()
    # the timestamp key (the server's) is stolen: a timestamp of version 1,000,000 is trusted and cached
    stolen = tk.Timestamp(
        version=1_000_000, expires=NOW + timedelta(days=1), meta={"snapshot": tk.MetaFile.from_data(files["snapshot"])}
    )
    remote.serve({**files, "timestamp": tk.Metadata(stolen).sign(sim.keys["timestamp"].signer()).to_bytes()})
    assert reader(remote, tmp_path).refresh().timestamp.signed.version == 1_000_000  # type: ignore[union-attr]
    # recovery: the owner rotates the timestamp key in a new root
    sim.keys["timestamp"] = tk.generate_private_key()
    remote.serve(sim.publish(new_root=True))
    trusted = reader(remote, tmp_path).refresh()
    assert (trusted.root.signed.version, trusted.timestamp.signed.version) == (2, 2)  # type: ignore[union-attr]
    assert reader(remote, tmp_path).refresh().timestamp.signed.version == 2  # type: ignore[union-attr]
