"""What is particular to LocalRemote and MemoryRemote: the folder layout, keys at rest, persistence, crash safety,
concurrency, re-signing on read and the changefeed's paging. (Behaviour shared with notary-server is in
test_remote_contract.py.)"""

from __future__ import annotations

import hashlib
import stat
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.support.repo_sim import RepoSim, parse
from trustkit.remote import ConfigurationError, LocalRemote, MemoryRemote, Remote

GUN = "localhost:5000/local/app"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folder_layout_is_what_a_static_server_serves(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    files = repo.initial_files()
    remote.publish(GUN, files)
    tuf = tmp_path / GUN / "_trust" / "tuf"
    stored = {**files, "snapshot": repo.read("snapshot"), "timestamp": repo.read("timestamp")}
    for role, data in stored.items():
        assert (tuf / f"{role}.json").read_bytes() == data
        assert (tuf / f"{role}.{hashlib.sha256(data).hexdigest()}.json").read_bytes() == data
        assert (tuf / f"1.{role}.json").read_bytes() == data
        assert _mode(tuf / f"{role}.json") == 0o644  # a web server running as another user can read it
    assert (tuf / "1.targets" / "releases.json").read_bytes() == files["targets/releases"]  # as the URL maps
    keys = sorted((tmp_path / ".trustkit" / "keys" / GUN).glob("*.key"))
    assert {key.stem for key in keys} == {repo.server_keys["timestamp"].key_id, repo.server_keys["snapshot"].key_id}
    for key in keys:
        assert _mode(key) == 0o600
        assert b"BEGIN PRIVATE KEY" in key.read_bytes()
    assert _mode(tmp_path / ".trustkit") == 0o700
    assert (tmp_path / ".trustkit" / "changefeed.json").is_file()


def test_keys_elsewhere_and_encrypted(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path / "served", private_dir=tmp_path / "private", passphrase="pw", key_type="ed25519")
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    assert repo.server_keys["timestamp"].keytype == "ed25519"
    assert not (tmp_path / "served" / ".trustkit").exists()
    (key,) = (tmp_path / "private" / "keys" / GUN).glob(f"{repo.server_keys['timestamp'].key_id}.key")
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in key.read_bytes()
    wrong = LocalRemote(tmp_path / "served", private_dir=tmp_path / "private", passphrase="other")
    with pytest.raises(tk.RemoteError, match="cannot be loaded"):
        wrong.publish(GUN, repo.add_release("v1", b"x"))


def test_state_survives_a_new_instance(tmp_path: Path) -> None:
    first = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(first, GUN)
    first.publish(GUN, repo.initial_files())
    reopened = LocalRemote(tmp_path)
    repo.remote = reopened
    reopened.publish(GUN, repo.add_release("v1", b"one"))
    assert reopened.get_key(GUN, "timestamp") == repo.server_keys["timestamp"]
    assert parse(repo.read("timestamp"), "timestamp").signed.version == 2
    assert [r.version for r in reopened.changefeed(GUN)] == [1, 2]


def test_get_key_before_a_root_is_stable_and_rotate_is_new() -> None:
    remote = MemoryRemote()
    first = remote.get_key(GUN, "timestamp")
    assert remote.get_key(GUN, "timestamp") == first  # notary-server would make a new key each time
    assert remote.rotate_key(GUN, "timestamp") != first
    assert remote.get_key(GUN, "snapshot") != first


def test_a_crash_before_timestamp_json_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    before = {role: repo.read(role) for role in ("root", "targets", "targets/releases", "snapshot", "timestamp")}

    storage: Any = remote._storage
    real_write = storage.write

    def crash_on_timestamp(name: str, data: bytes, *, private: bool = False) -> None:
        if name.endswith("/timestamp.json"):
            raise OSError("disk full")
        real_write(name, data, private=private)

    monkeypatch.setattr(storage, "write", crash_on_timestamp)
    update = repo.add_release("v1", b"one")
    with pytest.raises(OSError, match="disk full"):
        remote.publish(GUN, update)
    monkeypatch.setattr(storage, "write", real_write)

    assert {role: repo.read(role) for role in before} == before  # readers never see the half-published update
    remote.publish(GUN, update)  # and the same update can simply be sent again
    assert repo.read("targets/releases") == update["targets/releases"]


def test_concurrent_publishes_stay_consistent(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    updates = []
    releases = repo.delegations["targets/releases"]
    for index in range(8):
        releases.targets = {f"t{index}": tk.TargetFile.from_data(b"%d" % index)}
        updates.append(repo.sign_role("targets/releases", version=index + 2))
    outcomes: list[str] = []

    def publish(data: bytes) -> None:
        other = LocalRemote(tmp_path)  # separate instances: the file lock, not just a thread lock, serialises
        try:
            other.publish(GUN, {"targets/releases": data})
            outcomes.append("ok")
        except tk.ConflictError as exc:
            outcomes.append(str(exc.code))

    threads = [threading.Thread(target=publish, args=(data,)) for data in updates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    successes = outcomes.count("ok")
    assert successes >= 1
    assert set(outcomes) <= {"ok", "VERSION"}
    timestamp = parse(repo.read("timestamp"), "timestamp").signed
    assert timestamp.version == successes + 1
    snapshot = parse(repo.read("snapshot"), "snapshot").signed
    assert snapshot.meta["targets/releases"] == tk.MetaFile.from_data(repo.read("targets/releases"))
    assert len(remote.changefeed(GUN)) == successes + 1


def test_expired_timestamp_and_snapshot_are_resigned_on_read() -> None:
    now = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
    remote = MemoryRemote(clock=lambda: now[0])
    repo = RepoSim.for_remote(remote, GUN)
    repo.expires["root"] = now[0] + timedelta(days=3650)
    repo.expires["targets"] = repo.expires["targets/releases"] = now[0] + timedelta(days=2000)
    remote.publish(GUN, repo.initial_files())
    assert parse(repo.read("timestamp"), "timestamp").signed.version == 1

    now[0] += timedelta(days=15)  # the timestamp (14 days) expired
    timestamp = parse(repo.read("timestamp"), "timestamp").signed
    assert timestamp.version == 2
    assert not timestamp.is_expired(now[0])
    assert parse(repo.read("timestamp"), "timestamp").signed.version == 2  # no new version while it is fresh

    now[0] += timedelta(days=3 * 365 + 1)  # the snapshot (3 years) expired too
    snapshot = parse(repo.read("snapshot"), "snapshot").signed
    assert snapshot.version == 2
    assert not snapshot.is_expired(now[0])
    timestamp = parse(repo.read("timestamp"), "timestamp").signed
    assert timestamp.version == 3
    assert timestamp.snapshot_meta == tk.MetaFile.from_data(repo.read("snapshot"))
    assert [r.version for r in remote.changefeed(GUN)] == [1, 2, 3]


def test_changefeed_paging_matches_notary_memory_store() -> None:
    remote = MemoryRemote()
    guns = ["localhost:5000/a/one", "localhost:5000/a/two"]
    repos = [RepoSim.for_remote(remote, gun) for gun in guns]
    for repo in repos:
        remote.publish(repo.gun, repo.initial_files())
    remote.publish(guns[0], repos[0].add_release("x", b"x"))
    remote.delete(guns[1])
    ids = [r.id for r in remote.changefeed()]
    assert ids == ["1", "2", "3", "4"]
    assert [r.id for r in remote.changefeed(change_id=2, records=10)] == ["3", "4"]
    assert [r.id for r in remote.changefeed(change_id=-1, records=2)] == ["3", "4"]
    assert [r.id for r in remote.changefeed(change_id=3, records=-2)] == ["1", "2"]
    assert [r.id for r in remote.changefeed(change_id="", records=0)] == ids
    assert remote.changefeed(change_id=9) == []
    assert remote.changefeed(change_id=0, records=-2) == []  # notary-server 0.7 panics here
    assert [r.id for r in remote.changefeed(guns[0], change_id=-1, records=1)] == ["3"]
    with pytest.raises(tk.RemoteError) as caught:
        remote.changefeed(change_id="abc")
    assert caught.value.code == "INVALID_PARAMETERS"


@pytest.mark.parametrize("gun", [".hidden/app", "a/_trust/b", "a/./b", "a//b", "/abs", "a\\b", "sp ace"])
def test_stored_remotes_refuse_names_that_break_the_layout(tmp_path: Path, gun: str) -> None:
    remote: Remote = LocalRemote(tmp_path)
    with pytest.raises(ConfigurationError):
        remote.get_key(gun, "timestamp")
    assert not any(tmp_path.iterdir())


def test_delete_removes_files_and_keys(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    remote.delete(GUN)
    assert not (tmp_path / "localhost:5000").exists()  # empty parent folders go too
    assert not (tmp_path / ".trustkit" / "keys" / GUN).exists()
    assert remote.get_key(GUN, "timestamp") != repo.server_keys["timestamp"]


def test_oversized_files_are_not_read_whole(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    with pytest.raises(tk.OversizedResponseError, match="larger than the 5 bytes"):
        remote.get_role(GUN, "timestamp", max_size=5)


def test_corrupt_private_state_is_a_remote_error(tmp_path: Path) -> None:
    remote = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(remote, GUN)
    remote.publish(GUN, repo.initial_files())
    (tmp_path / ".trustkit" / "changefeed.json").write_text("{")
    with pytest.raises(tk.RemoteError, match="changefeed file is corrupt"):
        remote.changefeed()
    (tmp_path / ".trustkit" / "keys" / GUN / "index.json").write_text('{"timestamp": 5}')
    with pytest.raises(tk.RemoteError, match="key index"):
        remote.get_key(GUN, "timestamp")
