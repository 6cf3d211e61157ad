"""The changelist is byte-compatible both ways with the real notary CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import trustkit as tk
from tests.interop.harness import NotaryCLI
from trustkit.client.changelist import Change, Changelist

pytestmark = pytest.mark.interop


def test_notary_staged_changes_are_read_and_rebuilt_identically(
    notary_cli: NotaryCLI, gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", gun)
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"hello")
    digest = hashlib.sha256(b"hello").hexdigest()
    delegate = tk.generate_private_key()
    cert = tk.make_root_certificate(delegate, "delegate")
    cert_path = tmp_path / "delegate.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    notary_cli.run("addhash", gun, "v1", "5", "--sha256", digest)
    notary_cli.run("delegation", "add", gun, "targets/releases", str(cert_path), "--all-paths")
    notary_cli.run("remove", gun, "old")
    notary_cli.run("witness", gun, "targets/releases")

    changelist = Changelist(notary_cli.trust_dir, gun)
    files = sorted(changelist.path.iterdir())
    staged = changelist.list()
    assert [s.id for s in staged] == [f.name for f in files]
    for item, file in zip(staged, files, strict=True):
        assert item.change.to_bytes() == file.read_bytes()

    key = tk.PublicKey.from_pem(cert_path.read_bytes())
    expected = [
        Change.add_target("v1", tk.TargetFile.from_digest(digest, 5)),
        Change.create_delegation("targets/releases", keys=[key]),
        Change.create_delegation("targets/releases", paths=[""]),
        Change.remove_target("old"),
        Change.witness("targets/releases"),
    ]
    assert [s.change.to_bytes() for s in staged] == [c.to_bytes() for c in expected]


def test_trustkit_staged_changes_are_listed_and_published_by_notary(
    notary_cli: NotaryCLI, gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", gun, "-p")
    delegate = tk.generate_private_key()
    changelist = Changelist(notary_cli.trust_dir, gun)
    digest = hashlib.sha256(b"tk").hexdigest()
    changelist.extend(
        [
            Change.add_target("from-trustkit", tk.TargetFile.from_digest(digest, 2, custom={"by": "trustkit"})),
            Change.create_delegation("targets/releases", keys=[delegate.public_key], paths=[""]),
        ]
    )
    status = notary_cli.run("status", gun).stdout
    assert "from-trustkit" in status and "targets/releases" in status
    notary_cli.run("publish", gun)
    assert changelist.list() == []
    listing = notary_cli.run("list", gun).stdout
    assert "from-trustkit" in listing and digest in listing
    delegations = notary_cli.run("delegation", "list", gun).stdout
    assert "targets/releases" in delegations and delegate.key_id in delegations
