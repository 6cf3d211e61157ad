"""The ``Remote`` contract: one suite, run over a real notary-server (NotaryServer), a LocalRemote and a
MemoryRemote.

Each test publishes roles built with trustkit.metadata through the Remote interface only, reads them back and
provokes the refusals notary-server makes. That the three remotes pass the same assertions is the evidence that
LocalRemote and MemoryRemote behave as notary-server does.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest

import trustkit as tk
from tests.support.repo_sim import RepoSim, parse
from trustkit.remote import MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE, ChangeRecord, Remote


@pytest.fixture
def gun() -> str:
    return f"localhost:5000/suite/t-{uuid.uuid4().hex[:8]}"


def _conflict_name(error: tk.ConflictError) -> str:
    assert isinstance(error.detail, dict), error.detail
    return str(error.detail["Name"])


@pytest.mark.parametrize("server_snapshot", [True, False], ids=["remote-snapshot", "client-snapshot"])
def test_publish_and_read_back(remote: Remote, gun: str, server_snapshot: bool) -> None:
    repo = RepoSim.for_remote(remote, gun, server_snapshot=server_snapshot)
    files = repo.initial_files()
    remote.publish(gun, files)

    for role in ("root", "targets", "targets/releases"):
        assert repo.read(role) == files[role]
    timestamp = parse(remote.get_role(gun, "timestamp", max_size=MAX_TIMESTAMP_SIZE), "timestamp")
    snapshot_bytes = repo.read("snapshot")
    snapshot = parse(snapshot_bytes, "snapshot")

    # The remote made the timestamp: version 1, signed by the key it gave, over the snapshot's bytes.
    assert timestamp.signed.version == 1
    assert repo.root_metadata().signed.verify_delegate("timestamp", timestamp).verified
    assert timestamp.signed.snapshot_meta == tk.MetaFile.from_data(snapshot_bytes)
    assert set(timestamp.signed.snapshot_meta.hashes) == {"sha256", "sha512"}
    assert repo.root_metadata().signed.verify_delegate("snapshot", snapshot).verified
    if server_snapshot:
        assert snapshot.signed.version == 1
        assert dict(snapshot.signed.meta) == {role: tk.MetaFile.from_data(data) for role, data in files.items()}
    else:
        assert snapshot_bytes == files["snapshot"]


def test_fetch_by_checksum_and_version(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    first = repo.initial_files()
    remote.publish(gun, first)
    second = repo.add_release("v2", b"two")
    remote.publish(gun, second)

    for role, data in [("root", first["root"]), ("targets/releases", second["targets/releases"])]:
        digest = hashlib.sha256(data).hexdigest()
        assert repo.read(role, checksum=digest) == data
        assert repo.read(role, checksum=digest.upper()) == data  # trustkit lowercases: the server only knows hex
    assert repo.read("targets/releases", version=1) == first["targets/releases"]
    assert repo.read("targets/releases", version=2) == second["targets/releases"]
    assert parse(repo.read("timestamp", version=2), "timestamp").signed.version == 2
    assert parse(repo.read("snapshot", version=1), "snapshot").signed.version == 1
    current = parse(repo.read("timestamp"), "timestamp").signed
    assert current.version == 2
    assert repo.read("snapshot", checksum=current.snapshot_meta.hashes["sha256"].hex()) == repo.read("snapshot")

    with pytest.raises(tk.NotFoundError) as missing_version:
        repo.read("targets", version=9)
    assert missing_version.value.code == "METADATA_NOT_FOUND"
    with pytest.raises(tk.NotFoundError):
        repo.read("root", checksum="ab" * 32)
    sha512 = hashlib.sha512(first["root"]).hexdigest()
    with pytest.raises(tk.NotFoundError):  # only sha256 names are indexed, as notary-server does
        repo.read("root", checksum=sha512)


def test_unknown_gun_is_not_found(remote: Remote, gun: str) -> None:
    for role in ("root", "timestamp", "targets/releases"):
        with pytest.raises(tk.NotFoundError) as caught:
            remote.get_role(gun, role, max_size=MAX_ROOT_SIZE)
        assert gun in str(caught.value)
        assert f"does not have trust data for {gun}" in str(caught.value)
        assert caught.value.code == "METADATA_NOT_FOUND"
    assert remote.changefeed(gun) == []


def test_stale_version_is_a_conflict(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    remote.publish(gun, repo.add_release("v1", b"one"))
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"targets/releases": repo.sign_role("targets/releases")})  # version 2 again
    assert caught.value.code == "VERSION"
    assert caught.value.detail == {}
    assert "A newer version of metadata is already available" in str(caught.value)
    with pytest.raises(tk.ConflictError) as same_root:
        # the current root version: passes validation, fails storage
        remote.publish(gun, {"root": repo.root_metadata().to_bytes()})
    assert same_root.value.code == "VERSION"
    assert parse(repo.read("timestamp"), "timestamp").signed.version == 2  # nothing was stored


def test_bad_signature_is_an_invalid_update(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    files = repo.initial_files()
    files["targets"] = repo.sign_role("targets", key=tk.generate_private_key())
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, files)
    assert caught.value.code == "INVALID_UPDATE"
    assert _conflict_name(caught.value) == "ErrBadTargets"
    assert "valid signatures did not meet threshold for targets" in str(caught.value)
    with pytest.raises(tk.NotFoundError):
        repo.read("root")  # all or nothing


def test_root_version_must_increment_by_one(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    repo.root_version += 2
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"root": repo.root_metadata().to_bytes()})
    assert _conflict_name(caught.value) == "ErrBadRoot"
    assert "Root modifications must increment the version. Current 1, new 3" in str(caught.value)


def test_root_rotation_keeps_every_version(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    first = repo.initial_files()
    remote.publish(gun, first)
    rotation = repo.rotate_root()
    remote.publish(gun, rotation)
    assert repo.read("root") == rotation["root"]
    assert repo.read("root", version=1) == first["root"]
    assert repo.read("root", version=2) == rotation["root"]
    # A root signed only by a key the previous root does not trust is refused.
    stranger = tk.generate_private_key()
    repo.add_root_cert(stranger)
    repo.signing_root_keys = [stranger]
    repo.root_version += 1
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"root": repo.root_metadata().to_bytes()})
    assert _conflict_name(caught.value) == "ErrBadRoot"
    assert "could not rotate trust to a new trusted root" in str(caught.value)


def test_snapshot_with_wrong_hashes_is_refused(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun, server_snapshot=False)
    files = repo.initial_files()
    files["snapshot"] = repo.next_snapshot({**files, "targets": b"not the uploaded targets"})
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, files)
    assert _conflict_name(caught.value) == "ErrBadSnapshot"
    assert "checksum for targets did not match" in str(caught.value)


def test_missing_snapshot_when_the_remote_lacks_its_key(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun, server_snapshot=False)
    files = repo.initial_files()
    del files["snapshot"]
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, files)
    assert caught.value.detail == {
        "Name": "ErrBadHierarchy",
        "Error": {
            "Missing": "snapshot",
            "Msg": "no snapshot was included in update and server does not hold current snapshot key for repository",
        },
    }


def test_update_without_any_root(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"targets": repo.sign_role("targets")})
    assert caught.value.detail == {
        "Name": "ErrValidation",
        "Error": {"Msg": "no pre-existing root and no root provided in update."},
    }


def test_delegation_without_its_parent(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    files = repo.initial_files()
    remote.publish(gun, {"root": files["root"], "targets": files["targets"]})
    orphan = tk.Metadata(tk.Targets(version=1, expires=tk.default_expiry("targets"))).sign(
        repo.delegations["targets/releases"].key.signer()
    )
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"targets/releases/deep": orphan.to_bytes()})
    assert _conflict_name(caught.value) == "ErrBadTargets"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1,2]", b'{"signed":"x","signatures":[]}', b'{"signed":{"version":"2"}}', b"\xff\xfe"],
)
def test_malformed_upload_keeps_the_code(remote: Remote, gun: str, body: bytes) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    with pytest.raises(tk.RemoteError) as caught:
        remote.publish(gun, {"targets": body})
    assert not isinstance(caught.value, tk.ConflictError)
    assert caught.value.code == "MALFORMED_JSON"


def test_json_that_is_not_metadata_is_an_invalid_update(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    with pytest.raises(tk.ConflictError) as caught:
        remote.publish(gun, {"targets": b'{"signed":{"_type":"Root","version":3},"signatures":[]}'})
    assert _conflict_name(caught.value) == "ErrBadTargets"


def test_an_uploaded_timestamp_is_ignored(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    files = repo.initial_files()
    fake = tk.Timestamp(
        version=7, expires=tk.default_expiry("timestamp"), meta={"snapshot": tk.MetaFile.from_data(b"x")}
    )
    files["timestamp"] = tk.Metadata(fake).sign(tk.generate_private_key().signer()).to_bytes()
    remote.publish(gun, files)
    assert parse(repo.read("timestamp"), "timestamp").signed.version == 1


def test_server_keys_get_and_rotate(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    assert remote.get_key(gun, "timestamp") == repo.server_keys["timestamp"]  # root lists it: the same key every time
    assert remote.get_key(gun, "snapshot") == repo.server_keys["snapshot"]
    rotated = remote.rotate_key(gun, "timestamp")
    assert rotated != repo.server_keys["timestamp"]
    assert remote.get_key(gun, "timestamp") == repo.server_keys["timestamp"]  # until a root lists the new one
    remote.publish(gun, repo.use_timestamp_key(rotated))
    timestamp = parse(repo.read("timestamp"), "timestamp")
    assert {s.keyid for s in timestamp.signatures} == {rotated.key_id}
    assert repo.root_metadata().signed.verify_delegate("timestamp", timestamp).verified
    assert remote.get_key(gun, "timestamp") == rotated
    with pytest.raises(tk.UnknownRoleError):
        remote.get_key(gun, "targets")


def test_delete_and_changefeed(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    remote.publish(gun, repo.initial_files())
    remote.publish(gun, repo.add_release("v1", b"one"))
    records = remote.changefeed(gun)
    assert [(r.gun, r.version, r.category) for r in records] == [(gun, 1, "update"), (gun, 2, "update")]
    assert all(isinstance(r, ChangeRecord) for r in records)
    assert records[1].sha256 == hashlib.sha256(repo.read("timestamp")).hexdigest()
    assert int(records[1].id) > int(records[0].id)
    assert remote.changefeed(gun, change_id=records[0].id) == [records[1]]
    assert remote.changefeed(gun, change_id=-1, records=1) == [records[1]]
    assert remote.changefeed(gun, records=1) == [records[0]]
    assert records[0] in remote.changefeed(None, change_id=int(records[0].id) - 1, records=1000)

    remote.delete(gun)
    with pytest.raises(tk.NotFoundError):
        repo.read("root")
    with pytest.raises(tk.NotFoundError):
        repo.read("targets/releases", version=1)
    deletion = remote.changefeed(gun)[-1]
    assert (deletion.category, deletion.version, deletion.sha256) == ("deletion", 0, "")
    remote.delete(gun)  # deleting what is not there is fine
    assert remote.changefeed(gun)[-1] == deletion  # and records nothing

    again = RepoSim.for_remote(remote, gun)  # the GUN can be made again from scratch
    remote.publish(gun, again.initial_files())
    assert parse(again.read("timestamp"), "timestamp").signed.version == 1


def test_size_cap(remote: Remote, gun: str) -> None:
    repo = RepoSim.for_remote(remote, gun)
    files = repo.initial_files()
    remote.publish(gun, files)
    size = len(files["root"])
    assert remote.get_role(gun, "root", max_size=size) == files["root"]
    with pytest.raises(tk.OversizedResponseError):
        remote.get_role(gun, "root", max_size=size - 1)
    with pytest.raises(tk.OversizedResponseError):
        remote.get_role(gun, "targets/releases", version=1, max_size=10)


def test_invalid_arguments(remote: Remote, gun: str) -> None:
    with pytest.raises(tk.UnknownRoleError):
        remote.get_role(gun, "Targets", max_size=10)
    with pytest.raises(ValueError, match="checksum"):
        remote.get_role(gun, "root", max_size=10, checksum="xyz")
    with pytest.raises(ValueError, match="not both"):
        remote.get_role(gun, "root", max_size=10, checksum="ab" * 32, version=1)
    with pytest.raises(ValueError, match="version"):
        remote.get_role(gun, "root", max_size=10, version=0)
    with pytest.raises(ValueError, match="nothing to publish"):
        remote.publish(gun, {})
    with pytest.raises(tk.UnknownRoleError):
        remote.publish(gun, {"bogus": b"{}"})
    with pytest.raises(tk.TrustkitError):
        remote.get_role("bad gun", "root", max_size=10)
    with pytest.raises(tk.TrustkitError):
        remote.delete("a/../b")
