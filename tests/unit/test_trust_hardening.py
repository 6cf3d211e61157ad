"""Regression tests for the trust-layer hardening of issues #14 and #15: each attack or defect that once got
through, reproduced with the repository simulator."""

from __future__ import annotations

import pytest

import trustkit as tk
from tests.unit.repo_sim import Delegation, RepoSim


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
