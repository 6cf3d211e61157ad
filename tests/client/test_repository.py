"""Repository transactions over MemoryRemote and MemoryKeyStore: staging, publishing, rotation, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

import trustkit as tk
from trustkit.client.repository import InvalidChangeError, Repository
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import MemoryRemote

GUN = "localhost:5000/repo/app"


@pytest.fixture
def remote() -> MemoryRemote:
    return MemoryRemote()


def new_repo(
    remote: MemoryRemote, tmp_path: Path, name: str = "client", keystore: MemoryKeyStore | None = None
) -> Repository:
    return Repository(
        GUN, remote=remote, keystore=keystore if keystore is not None else MemoryKeyStore(), trust_dir=tmp_path / name
    )


def names(repo: Repository, *roles: str) -> dict[str, str]:
    reader = repo.reader()
    reader.refresh()
    return {m.name: m.role for m in reader.list_targets(roles=roles or ("targets",))}


def test_initialize_and_first_publish(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    root = repo.initialize()
    assert root.version == 1 and root.keys[root.roles["root"].keyids[0]].keytype == "ecdsa-x509"
    repo.add_target("v1", tk.TargetFile.from_data(b"one"))
    assert [s.change.describe() for s in repo.status()] == ["add target 'v1' in targets"]
    repo.publish()
    assert repo.status() == []
    assert names(repo) == {"v1": "targets"}
    trusted = repo.reader().refresh()
    assert trusted.root.signed.version == 1 and trusted["targets"].signed.version == 2
    assert trusted["snapshot"].signed.version == 2


def test_server_managed_snapshot(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    root = repo.initialize(server_managed_snapshot=True)
    assert root.roles["snapshot"].keyids[0] == remote.get_key(GUN, "snapshot").key_id
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    assert names(repo) == {"v1": "targets"}


def test_delegations_targets_and_removal(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    releases = tk.generate_private_key()
    repo.keystore.add_key(releases, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[releases.public_key], all_paths=True)
    repo.add_target("v1", tk.TargetFile.from_digest("11" * 32, 10), roles=["targets/releases"])
    repo.publish()
    assert names(repo, "targets/releases", "targets") == {"v1": "targets/releases"}
    repo.remove_target("v1", roles=["targets/releases"], publish=True)
    assert names(repo, "targets/releases") == {}
    repo.remove_delegation("targets/releases", publish=True)
    assert repo.reader().refresh()["targets"].signed.delegations.roles == ()


def test_add_delegation_takes_a_securesystemslib_key(remote: MemoryRemote, tmp_path: Path) -> None:
    """An HSM key (HSMSigner.import_ returns an SSlibKey) is delegated to as it is; anything else is a typed error."""
    from securesystemslib.signer import SSlibKey

    repo = new_repo(remote, tmp_path)
    repo.initialize()
    ci = tk.generate_private_key()
    repo.keystore.add_key(ci, role="targets/ci")
    sslib = SSlibKey.from_crypto(ci.public_key.crypto_key, "hsm-key-id", "ecdsa-sha2-nistp256")
    repo.add_delegation("targets/ci", keys=[sslib], all_paths=True)
    repo.add_target("v1", tk.TargetFile.from_digest("11" * 32, 10), roles=["targets/ci"], publish=True)
    assert names(repo, "targets/ci") == {"v1": "targets/ci"}
    assert repo.reader().refresh()["targets"].signed.delegations.keys == {ci.public_key.key_id: ci.public_key}
    with pytest.raises(tk.KeyFormatError, match="expected a public key"):
        repo.add_delegation("targets/other", keys=["not a key"], all_paths=True)


def test_delegation_paths_are_restricted(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    key = tk.generate_private_key()
    repo.keystore.add_key(key, role="targets/a")
    repo.add_delegation("targets/a", keys=[key.public_key], paths=["a/"])
    repo.add_target("b/1", tk.TargetFile.from_data(b"x"), roles=["targets/a"])
    with pytest.raises(InvalidChangeError, match="Could not add all targets"):
        repo.publish()
    assert len(repo.status()) == 3  # nothing lost


def test_failure_keeps_changelist_and_cache(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    repo.reader().refresh()  # the cache now holds the last good state
    cached = {role: repo.cache.load(role) for role in repo.cache.roles()}
    stranger = tk.generate_private_key()
    repo.add_delegation("targets/x", keys=[stranger.public_key], all_paths=True)
    repo.add_target("x1", tk.TargetFile.from_data(b"x"), roles=["targets/x"])  # no key for targets/x
    before = [s.id for s in repo.status()]
    with pytest.raises(tk.SigningError, match="targets/x"):
        repo.publish()
    assert [s.id for s in repo.status()] == before
    assert {role: repo.cache.load(role) for role in repo.cache.roles()} == cached


def test_witness_and_key_removal(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    old, new = tk.generate_private_key(), tk.generate_private_key()
    repo.keystore.add_key(old, role="targets/releases")
    repo.keystore.add_key(new, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[old.public_key], all_paths=True)
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), roles=["targets/releases"])
    repo.publish()
    repo.add_delegation("targets/releases", keys=[new.public_key])
    repo.remove_delegation_keys("targets/releases", [old.key_id], publish=True)
    # targets/releases is now signed by a key its parent no longer lists: skipped until witnessed
    assert names(repo, "targets/releases") == {}
    repo.witness("targets/releases", publish=True)
    assert names(repo, "targets/releases") == {"v1": "targets/releases"}
    role = repo.reader().refresh()["targets"].signed.delegations.get("targets/releases")
    assert role.keyids == (new.public_key.key_id,)


def test_purge_keys(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    shared = tk.generate_private_key()
    for role in ("targets/a", "targets/b"):
        repo.add_delegation(role, keys=[shared.public_key], all_paths=True)
    repo.publish()
    repo.purge_keys([shared.key_id], publish=True)
    delegations = repo.reader().refresh()["targets"].signed.delegations
    assert [r.keyids for r in delegations.roles] == [(), ()] and dict(delegations.keys) == {}


def test_rotations(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    (targets_key,) = repo.rotate_key("targets")
    trusted = repo.reader().refresh()
    assert trusted.root.signed.roles["targets"].keyids == (targets_key.key_id,)
    assert trusted.root.signed.version == 2
    (snapshot_key,) = repo.rotate_key("snapshot", server_managed=True)
    (root_key,) = repo.rotate_key("root")
    fresh = new_repo(remote, tmp_path, "fresh").reader().refresh()
    assert fresh.root.signed.roles["snapshot"].keyids == (snapshot_key.key_id,)
    assert fresh.root.signed.roles["root"].keyids == (root_key.key_id,)
    assert len(fresh.root.signatures) == 2  # old and new root keys
    # the client that trusted the old root follows the rotation
    assert names(repo) == {"v1": "targets"}
    with pytest.raises(InvalidChangeError):
        repo.rotate_key("timestamp")


def test_concurrent_publishers_conflict_or_both_apply(remote: MemoryRemote, tmp_path: Path) -> None:
    keystore = MemoryKeyStore()
    first = new_repo(remote, tmp_path, "a", keystore)
    first.initialize()
    first.publish()
    second = new_repo(remote, tmp_path, "b", keystore)
    first.add_target("from-a", tk.TargetFile.from_data(b"a"))
    second.add_target("from-b", tk.TargetFile.from_data(b"b"))
    second.reader().refresh()
    first.publish()
    second.publish()  # reads the latest state first, so both changes apply
    assert names(first) == {"from-a": "targets", "from-b": "targets"}


def test_delete(remote: MemoryRemote, tmp_path: Path) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    repo.delete(remote=True)
    assert repo.cache.roles() == [] and repo.status() == []
    with pytest.raises(tk.RepositoryNotFoundError):
        repo.reader().refresh()


def test_stale_publisher_gets_a_conflict_and_keeps_its_change(remote: MemoryRemote, tmp_path: Path) -> None:
    keystore = MemoryKeyStore()
    first = new_repo(remote, tmp_path, "a", keystore)
    first.initialize()
    first.publish()
    first.add_target("from-a", tk.TargetFile.from_data(b"a"))

    class Racing:
        """The second client's view of the remote: the first client publishes between its read and its upload."""

        def __getattr__(self, name: str) -> object:
            return getattr(remote, name)

        def publish(self, gun: str, files: dict[str, bytes]) -> None:
            first.publish()
            remote.publish(gun, files)

    second = Repository(GUN, remote=Racing(), keystore=keystore, trust_dir=tmp_path / "b")
    second.add_target("from-b", tk.TargetFile.from_data(b"b"))
    with pytest.raises(tk.ConflictError):
        second.publish()
    assert [s.change.path for s in second.status()] == ["from-b"]
    second.remote = remote
    second.publish()
    assert names(first) == {"from-a": "targets", "from-b": "targets"}


class FailingRemote:
    """A remote whose upload fails before or after the server applied it."""

    def __init__(self, inner: MemoryRemote, *, apply: bool) -> None:
        self.inner = inner
        self.apply = apply

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def publish(self, gun: str, files: dict[str, bytes]) -> None:
        if self.apply:
            self.inner.publish(gun, files)
        raise tk.ServerUnavailableError("connection dropped", status=None)


@pytest.mark.parametrize("applied", [False, True], ids=["during-upload", "after-upload"])
def test_interrupted_publish_loses_no_change(remote: MemoryRemote, tmp_path: Path, applied: bool) -> None:
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    repo.add_target("v2", tk.TargetFile.from_data(b"two"))
    staged = [s.id for s in repo.status()]
    repo.remote = FailingRemote(remote, apply=applied)  # type: ignore[assignment]
    with pytest.raises(tk.ServerUnavailableError):
        repo.publish()
    assert [s.id for s in repo.status()] == staged
    repo.remote = remote
    repo.publish()  # the next publish reads the (possibly already updated) state and applies the change again
    assert repo.status() == []
    assert names(repo) == {"v1": "targets", "v2": "targets"}


def test_wrong_passphrase_keeps_changes(remote: MemoryRemote, tmp_path: Path) -> None:
    from trustkit.keystore import FileKeyStore

    store = FileKeyStore(tmp_path / "keys", passphrase="right passphrase")
    repo = Repository(GUN, remote=remote, keystore=store, trust_dir=tmp_path / "keys")
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"))
    repo.keystore = FileKeyStore(tmp_path / "keys", passphrase="wrong passphrase")
    with pytest.raises(tk.PassphraseError):
        repo.publish()
    assert [s.change.path for s in repo.status()] == ["v1"]


def test_removing_a_roles_last_key_writes_null_as_notary_does(remote: MemoryRemote, tmp_path: Path) -> None:
    """notary's ``RemoveKeys`` leaves Go's nil slice when no key is left, written ``"keyids":null`` (by ``notary
    delegation remove GUN ROLE KEYID`` and by a purge; tests/interop/test_notary_data.py has notary's own bytes):
    trustkit writes the same bytes; a role that keeps a key, or only changes paths, is written as before."""
    repo = new_repo(remote, tmp_path)
    repo.initialize()
    one, two = tk.generate_private_key(), tk.generate_private_key()
    repo.add_delegation("targets/keyless", keys=[one.public_key], all_paths=True)
    repo.add_delegation("targets/purged", keys=[two.public_key], paths=["q/"])
    repo.add_delegation("targets/kept", keys=[one.public_key, two.public_key], paths=["k/"])
    repo.publish()
    repo.remove_delegation_keys("targets/keyless", [one.public_key.key_id])
    repo.remove_delegation_paths("targets/kept", ["k/"])
    repo.publish()
    repo.purge_keys([two.public_key.key_id])
    repo.publish()
    served = tk.Metadata.from_bytes(remote.get_role(repo.gun, "targets", max_size=1 << 20), role="targets")
    raw = {r["name"]: r for r in served.signed.to_dict()["delegations"]["roles"]}
    assert raw["targets/keyless"]["keyids"] is None and raw["targets/purged"]["keyids"] is None
    assert raw["targets/kept"]["keyids"] == [one.public_key.key_id] and "paths" not in raw["targets/kept"]
    assert served.signed.delegations.get("targets/keyless").keyids == ()
