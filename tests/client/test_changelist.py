"""Staged changes: notary's changelist file format, order and payloads."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest

import trustkit as tk
from trustkit.client.changelist import Change, Changelist, DelegationChange

GUN = "localhost:5000/unit/app"


def test_target_change_bytes_as_notary_writes_them() -> None:
    target = tk.TargetFile(5, {"sha256": b"\x01" * 32}, custom={"b": "<x>", "a": 1})
    change = Change.add_target("v1 & co", target, role="targets/releases")
    raw = change.to_bytes()
    obj = json.loads(raw)
    assert list(obj) == ["action", "role", "type", "path", "data"]
    assert raw.startswith(
        b'{"action":"create","role":"targets/releases","type":"target","path":"v1 \\u0026 co","data":"'
    )
    payload = base64.b64decode(obj["data"])
    assert payload == (
        b'{"length":5,"hashes":{"sha256":"'
        + base64.b64encode(b"\x01" * 32)
        + b'"},"custom":{"a":1,"b":"\\u003cx\\u003e"}}'
    )
    again = Change.from_bytes(raw)
    assert again == change and again.target() == target


def test_delegation_payloads() -> None:
    key = tk.generate_private_key().public_key
    create = Change.create_delegation("targets/releases", keys=[key], paths=[""])
    payload = create.data or b""
    assert payload.startswith(b'{"threshold":1,"add_keys":[{"keytype":"ecdsa","keyval":{"public":"')
    assert payload.endswith(b'","private":null}}],"add_paths":[""]}')
    assert create.delegation() == DelegationChange(threshold=1, add_keys=(key,), add_paths=("",))
    paths_only = Change.create_delegation("targets/releases", paths=["a/"])
    assert paths_only.data == b'{"add_paths":["a/"]}'
    update = Change.update_delegation("targets/releases", remove_keys=[key.canonical_id], clear_paths=True)
    assert update.data == b'{"remove_keys":["' + key.canonical_id.encode() + b'"],"clear_paths":true}'
    assert Change.delete_delegation("targets/x").to_bytes() == (
        b'{"action":"delete","role":"targets/x","type":"delegation","path":"","data":null}'
    )
    purge = Change.update_delegation("targets/*", remove_keys=["ab"])
    assert purge.scope == "targets/*"
    with pytest.raises(tk.MalformedMetadataError):
        Change.update_delegation("targets/*", add_paths=["x"])
    with pytest.raises(tk.MalformedMetadataError):
        Change.create_delegation("targets/Bad")
    assert Change.witness("targets/releases").to_bytes() == (
        b'{"action":"update","role":"targets/releases","type":"witness","path":"","data":null}'
    )
    rotate = Change.replace_base_keys("targets", [key])
    assert rotate.base_keys() == ("targets", (key,))
    assert "replace the keys of targets" in rotate.describe()
    assert "create delegation targets/releases: add keys" in create.describe()


def test_changelist_order_permissions_and_reset(tmp_path: Path) -> None:
    changelist = Changelist(tmp_path, GUN)
    staged = changelist.extend([Change.remove_target(f"t{i}") for i in range(5)] + [Change.witness("targets")])
    assert [s.change for s in changelist.list()] == [s.change for s in staged]
    assert changelist.path == tmp_path / "tuf" / "localhost:5000" / "unit" / "app" / "changelist"
    assert stat.S_IMODE(changelist.path.stat().st_mode) == 0o700
    for file in changelist.path.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert file.name.endswith(".change") and len(file.name.split("_")[0]) == 20
    assert changelist.remove([staged[0].id]) == 1
    assert len(changelist.list()) == 5
    assert changelist.clear() == 5 and changelist.list() == []


def test_unreadable_change_is_skipped_in_status_but_fails_publish(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    changelist = Changelist(tmp_path, GUN)
    changelist.add(Change.witness("targets"))
    (changelist.path / "99999999999999999999_bad.change").write_bytes(b"not json")
    with caplog.at_level(logging.WARNING):
        assert len(changelist.list()) == 1
    assert "skipping unreadable staged change" in caplog.text
    with pytest.raises(tk.MalformedMetadataError):
        list(changelist.iter_for_publish())


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"action":"explode","role":"targets","type":"target","path":"","data":null}',
        b'{"action":"create","role":"targets","type":"target","path":1,"data":null}',
        b'{"action":"create","role":"targets","type":"target","path":"","data":"%%%"}',
    ],
)
def test_malformed_change_files(raw: bytes) -> None:
    with pytest.raises(tk.MalformedMetadataError):
        Change.from_bytes(raw)


def test_malformed_payloads() -> None:
    with pytest.raises(tk.MalformedMetadataError):
        Change("create", "targets", "target", "x", b"[1]").target()
    with pytest.raises(tk.MalformedMetadataError):
        Change("create", "targets/a", "delegation", "", b'{"threshold":-1}').delegation()
    with pytest.raises(tk.MalformedMetadataError):
        Change("create", "targets/a", "delegation", "", b'{"add_keys":[{"keytype":"ecdsa"}]}').delegation()


def test_staging_sweeps_old_temporary_leftovers_notary_would_read(tmp_path: Path) -> None:
    """trustkit 0.1.0 wrote its temporary files in the changelist folder: a killed write left one, which notary
    reads as a change (or fails on). Staging removes those older than a minute and never a write in flight."""
    changelist = Changelist(tmp_path, GUN)
    changelist.add(Change.add_target("v1", tk.TargetFile.from_digest("01" * 32, 1)))
    old = changelist.path / ".00000000000000000001_x.change.1a2b3c.tmp"
    old.write_bytes(b'{"action":"create"')
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    fresh = changelist.path / ".00000000000000000002_y.change.4d5e6f.tmp"
    fresh.write_bytes(b"")
    beside = changelist.path.parent / ".00000000000000000003_z.change.777777.tmp"  # a kill's, since the fix
    beside.write_bytes(b"{")
    os.utime(beside, (time.time() - 3600, time.time() - 3600))
    changelist.add(Change.add_target("v2", tk.TargetFile.from_digest("02" * 32, 2)))
    assert not old.exists() and fresh.exists() and not beside.exists()
    assert [staged.change.path for staged in changelist.list()] == ["v1", "v2"]
    assert not list(changelist.path.parent.glob("*.tmp"))  # new writes leave nothing beside the folder either


def _count_flushes(monkeypatch: pytest.MonkeyPatch, *, syncfs: bool) -> dict[str, int]:
    """Count the fsyncs and syncfs calls of staging (``syncfs=False``: as on a system without syncfs)."""
    from trustkit import _fs

    counts = {"fsync": 0, "syncfs": 0}
    real_fsync, real_syncfs = os.fsync, _fs._syncfs()

    def fsync(fd: int) -> None:
        counts["fsync"] += 1
        real_fsync(fd)

    def counted_syncfs(fd: int) -> int:
        counts["syncfs"] += 1
        assert real_syncfs is not None
        return real_syncfs(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(_fs, "_syncfs", lambda: counted_syncfs if syncfs and real_syncfs else None)
    return counts


@pytest.mark.parametrize("syncfs", [True, False])
def test_staging_many_changes_flushes_once_per_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syncfs: bool
) -> None:
    changelist = Changelist(tmp_path, "example.com/app")
    changelist.add(Change.add_target("first", tk.TargetFile.from_digest("00" * 32, 1)))
    counts = _count_flushes(monkeypatch, syncfs=syncfs)
    changes = [Change.add_target(f"t{i}", tk.TargetFile.from_digest(f"{i % 256:02x}" * 32, i + 1)) for i in range(300)]
    staged = changelist.extend(changes)
    monkeypatch.undo()
    if syncfs:  # one flush of the file system for the data, one fsync of the folder for the names
        assert counts == {"fsync": 1, "syncfs": 1}, counts
    else:  # no syncfs: each file's data, then the folder once
        assert counts == {"fsync": 301, "syncfs": 0}, counts
    assert [s.change.path for s in changelist.list()] == ["first", *(f"t{i}" for i in range(300))]
    assert [s.id for s in staged] == [s.id for s in changelist.list()[1:]]
    assert sorted(p.name for p in tmp_path.joinpath("tuf", "example.com", "app").iterdir()) == ["changelist"]
    for item in staged:
        assert stat.S_IMODE((changelist.path / item.id).stat().st_mode) == 0o600


def test_repository_add_targets_stages_in_one_call(tmp_path: Path) -> None:
    repo = tk.Repository(
        "example.com/app", remote=tk.MemoryRemote(), keystore=tk.MemoryKeyStore(passphrase=""), trust_dir=tmp_path
    )
    targets = {f"v{i}": tk.TargetFile.from_digest(f"{i:02x}" * 32, i + 1) for i in range(5)}
    staged = repo.add_targets(targets, roles=["targets", "targets/releases"])
    assert [(s.change.path, s.change.scope) for s in repo.status()] == [
        (name, role) for name in targets for role in ("targets", "targets/releases")
    ]
    assert [s.id for s in staged] == [s.id for s in repo.status()]


def test_a_batch_that_fails_midway_leaves_a_prefix_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    changelist = Changelist(tmp_path, "example.com/app")
    real_replace, calls = os.replace, []

    def replace(source: str, target: str, **dir_fds: int) -> None:
        calls.append(source)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(source, target, **dir_fds)

    monkeypatch.setattr(os, "replace", replace)
    changes = [Change.add_target(f"t{i}", tk.TargetFile.from_digest(f"{i:02x}" * 32, i + 1)) for i in range(5)]
    with pytest.raises(tk.FileAccessError, match="No space left"):
        changelist.extend(changes)
    monkeypatch.undo()
    assert [s.change.path for s in changelist.list()] == ["t0", "t1"]
    leftovers = [p.name for p in changelist.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [] and all(not name.startswith(".") for name in os.listdir(changelist.path))
