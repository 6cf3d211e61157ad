"""Metadata built and signed from scratch by trustkit, published to the real notary-server and read back by the real
``notary`` CLI.

The server validates every upload as a notary client's publish (signatures, structure, snapshot hashes) and computes
the hashes of what it generates from Go's re-serialisation of the upload, so acceptance plus a working ``notary
list`` proves trustkit writes what notary writes. The CLI then shows exactly what trustkit put there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.interop._publish import cache_files, fetch_server_key, publish, read_table
from tests.interop.harness import DockerTrustCLI, NotaryCLI, NotaryServer, require_binary
from trustkit import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    PrivateKey,
    PublicKey,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    default_expiry,
    generate_private_key,
    make_root_key,
)

pytestmark = pytest.mark.interop

LIST_COLUMNS = ("NAME", "DIGEST", "SIZE (BYTES)", "ROLE")
DELEGATION_COLUMNS = ("ROLE", "PATHS", "KEY IDS", "THRESHOLD")


@dataclass
class Built:
    """A repository trustkit built and signed: the uploaded bytes and what each role holds."""

    files: dict[str, bytes]
    """role -> the bytes uploaded (snapshot only when trustkit signed it)."""
    metadata: dict[str, Metadata[Any]]
    root_key: PublicKey
    delegation_keys: dict[str, list[PublicKey]] = field(default_factory=dict)


def _targets_file(role: str, targets: dict[str, TargetFile], delegations: Delegations | None = None) -> Targets:
    return Targets(
        version=1,
        expires=default_expiry(role),
        targets=targets,
        delegations=delegations if delegations is not None else Delegations(),
    )


def _sign(signed: Any, *keys: PrivateKey, as_key: PublicKey | None = None) -> Metadata[Any]:
    metadata: Metadata[Any] = Metadata(signed)
    for key in keys:
        metadata = metadata.sign(key.signer(), key=as_key)
    return metadata


def _build(server: NotaryServer, gun: str, *, server_snapshot: bool) -> Built:
    """Root, targets with two delegations, the delegations' files and (unless the server is to make it) a snapshot.

    ``targets/releases`` (paths ``[""]``) needs both of its keys, an ECDSA and an Ed25519 one (threshold 2);
    ``targets/alice`` (paths ``["alice/"]``) one ECDSA key.
    """
    root_private = generate_private_key("ecdsa", role="root")
    root_key = make_root_key(root_private, gun)
    targets_private = generate_private_key("ecdsa", role="targets", gun=gun)
    timestamp_key = fetch_server_key(server, gun, "timestamp")
    snapshot_private: PrivateKey | None = None
    if server_snapshot:
        snapshot_key = fetch_server_key(server, gun, "snapshot")
    else:
        snapshot_private = generate_private_key("ecdsa", role="snapshot", gun=gun)
        snapshot_key = snapshot_private.public_key

    base_keys = {
        "root": root_key,
        "targets": targets_private.public_key,
        "snapshot": snapshot_key,
        "timestamp": timestamp_key,
    }
    root = Root(
        version=1,
        expires=default_expiry("root"),
        keys={key.key_id: key for key in base_keys.values()},
        roles={role: Role((key.key_id,), 1) for role, key in base_keys.items()},
    )

    releases_private = [generate_private_key("ecdsa"), generate_private_key("ed25519")]
    alice_private = [generate_private_key("ecdsa")]
    releases_keys = [key.public_key for key in releases_private]
    alice_keys = [key.public_key for key in alice_private]
    delegations = Delegations(
        {key.key_id: key for key in (*releases_keys, *alice_keys)},
        (
            DelegatedRole(tuple(k.key_id for k in releases_keys), 2, name="targets/releases", paths=("",)),
            DelegatedRole(tuple(k.key_id for k in alice_keys), 1, name="targets/alice", paths=("alice/",)),
        ),
    )
    targets = _targets_file(
        "targets",
        {
            "app.tar.gz": TargetFile.from_data(b"the application\n"),
            "config <&> ünï 😀": TargetFile.from_data(
                b"{}", custom={"build": {"id": 7, "tags": ["x", "<y>"]}, "note": "é & <b>"}
            ),
            "docker-tag": TargetFile.from_digest(hashlib.sha256(b"manifest").hexdigest(), 528),
        },
        delegations,
    )
    releases = _targets_file(
        "targets/releases",
        {
            "release/1.0": TargetFile.from_data(b"release one", custom=["signed", "by", 2]),
            "with spaces/and\u2028separator": TargetFile.from_data(b"release two"),
        },
    )
    alice = _targets_file("targets/alice", {"alice/tool": TargetFile.from_data(b"alice's tool", custom=None)})

    metadata: dict[str, Metadata[Any]] = {
        "root": _sign(root, root_private, as_key=root_key),
        "targets": _sign(targets, targets_private),
        "targets/releases": _sign(releases, *releases_private),
        "targets/alice": _sign(alice, *alice_private),
    }
    files = {role: md.to_bytes() for role, md in metadata.items()}
    if snapshot_private is not None:
        snapshot = Snapshot(
            version=1,
            expires=default_expiry("snapshot"),
            meta={role: MetaFile.from_data(data) for role, data in files.items()},
        )
        metadata["snapshot"] = _sign(snapshot, snapshot_private)
        files["snapshot"] = metadata["snapshot"].to_bytes()
    return Built(files, metadata, root_key, {"targets/releases": releases_keys, "targets/alice": alice_keys})


def _expected_list(built: Built) -> list[list[str]]:
    """The ``notary list`` rows for what trustkit built: name, sha256 hex, size, role."""
    rows: list[list[str]] = []
    for role, metadata in built.metadata.items():
        if isinstance(metadata.signed, Targets):
            for name, target in metadata.signed.targets.items():
                rows.append([name, str(target.sha256_hex), str(target.length), role])
    return sorted(rows)


def _delegation_rows(output: str) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for role, path, keyid, threshold in read_table(output, DELEGATION_COLUMNS):
        if role:
            current = table.setdefault(role, {"paths": set(), "keyids": set(), "threshold": threshold})
        assert current is not None
        if path:
            current["paths"].add(path)
        if keyid:
            current["keyids"].add(keyid)
    return table


@pytest.fixture(params=["local", "signer"])
def server(request: pytest.FixtureRequest) -> NotaryServer:
    """The local-trust-service server (ed25519 server keys) and the notary-signer one (ecdsa)."""
    name = "notary_server" if request.param == "local" else "notary_server_with_signer"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("server_snapshot", [False, True], ids=["trustkit-snapshot", "server-snapshot"])
def test_trustkit_repository_is_accepted_and_listed_by_notary(
    server: NotaryServer, gun: str, tmp_path: Path, server_snapshot: bool
) -> None:
    require_binary("notary", "notary")
    built = _build(server, gun, server_snapshot=server_snapshot)

    response = publish(server, gun, built.files)
    assert response.status_code == 200, response.text
    assert response.content == b""

    cli = NotaryCLI(server, tmp_path / "fresh-trust", tmp_path / "home")
    listed = cli.run("list", gun).stdout
    assert sorted(read_table(listed, LIST_COLUMNS)) == _expected_list(built)

    releases_only = cli.run("list", gun, "--roles", "targets/releases").stdout
    assert sorted(read_table(releases_only, LIST_COLUMNS)) == [
        row for row in _expected_list(built) if row[3] == "targets/releases"
    ]

    delegations = _delegation_rows(cli.run("delegation", "list", gun).stdout)
    assert delegations == {
        "targets/releases": {
            "paths": {'"" <all paths>'},
            "keyids": {key.key_id for key in built.delegation_keys["targets/releases"]},
            "threshold": "2",
        },
        "targets/alice": {
            "paths": {"alice/"},
            "keyids": {key.key_id for key in built.delegation_keys["targets/alice"]},
            "threshold": "1",
        },
    }

    # What the CLI downloaded and trusted is byte for byte what trustkit uploaded, and the roles the server made
    # (timestamp, and snapshot when left to it) describe trustkit's bytes: Go's re-serialisation matched them.
    cached = cache_files(cli.tuf_dir(gun))
    assert set(cached) == {"root", "targets", "snapshot", "timestamp", "targets/releases", "targets/alice"}
    for role, data in built.files.items():
        assert cached[role] == data, f"{role} changed on the way through notary-server"
    root = built.metadata["root"].signed
    for role in ("snapshot", "timestamp"):
        server_made = Metadata.from_bytes(cached[role], role=role)
        assert server_made.to_bytes() == cached[role]
        assert root.verify_delegate(role, server_made).verified
    snapshot = Metadata.from_bytes(cached["snapshot"], role="snapshot").signed
    assert set(snapshot.meta) == set(built.metadata) - {"snapshot"}
    for role, meta in snapshot.meta.items():
        meta.verify_data(cached[role], what=role)
    timestamp = Metadata.from_bytes(cached["timestamp"], role="timestamp").signed
    timestamp.snapshot_meta.verify_data(cached["snapshot"], what="snapshot")

    # docker reads the same repository and shows trustkit's key IDs.
    require_binary("docker", "docker.io")
    docker = DockerTrustCLI(server, tmp_path / "docker-config", tmp_path / "docker-home")
    [info] = docker.inspect(gun)
    administrative = {k["Name"]: [key["ID"] for key in k["Keys"]] for k in info["AdministrativeKeys"]}
    assert administrative == {"Root": [built.root_key.key_id], "Repository": list(root.roles["targets"].keyids)}
    assert info["Signers"] == [
        {"Name": "alice", "Keys": [{"ID": key.key_id} for key in built.delegation_keys["targets/alice"]]}
    ]


@pytest.mark.parametrize("broken", ["targets-wrong-key", "releases-under-threshold"])
def test_notary_server_rejects_what_it_should(notary_server: NotaryServer, gun: str, broken: str) -> None:
    """Controls for the test above: the server really checks trustkit's signatures and thresholds."""
    built = _build(notary_server, gun, server_snapshot=True)
    files = dict(built.files)
    if broken == "targets-wrong-key":
        stranger = generate_private_key("ecdsa")
        files["targets"] = _sign(built.metadata["targets"].signed, stranger).to_bytes()
    else:
        # one signature of the two the role needs (threshold 2)
        releases = built.metadata["targets/releases"]
        files["targets/releases"] = Metadata(releases.signed, releases.signatures[:1]).to_bytes()
    response = publish(notary_server, gun, files)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "INVALID_UPDATE"
    assert error["detail"]["Name"] == "ErrBadTargets"
    assert "threshold" in error["detail"]["Error"]["Msg"]
