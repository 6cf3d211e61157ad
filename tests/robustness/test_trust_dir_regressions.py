"""Attacks through the trust directory and the key files (issue 14: items 1, 5, 10, 11; issue 15: item 5).

A hostile GUN, a hostile key bundle, a hostile trust directory (links, loose permissions) and hostile key files
must each end in a typed trustkit error that says what to do, and never in a write outside the trust directory,
a lost key or a key read from a file others can read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import trustkit as tk
from tests.support.expect import trustkit_error
from trustkit.client import Change, Changelist, MetadataCache
from trustkit.keys import private
from trustkit.keys.pem import decode_pem_blocks, encode_pem
from trustkit.keys.private import is_weakly_encrypted
from trustkit.keystore import FileKeyStore, MemoryKeyStore, load_key_file
from trustkit.remote import LocalRemote, MemoryRemote

ESCAPES = ["../../escape/x", "a/../../escape", "..", "a/./b", "/abs/path", "a//b", "nul\x00byte", "a/b/"]


def _nothing_outside(tmp_path: Path) -> None:
    """Nothing was created beside the trust directory (``tmp_path/trust``)."""
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["trust"]), sorted(tmp_path.iterdir())


# --- issue 14 item 1: the GUN names a folder below the trust directory, never a path outside it ---------------


@pytest.mark.parametrize("gun", ESCAPES)
def test_a_gun_cannot_lead_the_cache_out_of_the_trust_dir(tmp_path: Path, gun: str) -> None:
    trust_dir = tmp_path / "trust"

    def store() -> None:
        MetadataCache(trust_dir, gun).store("root", b"{}")

    error = trustkit_error(store, f"MetadataCache(trust_dir, {gun!r}).store")
    assert isinstance(error, tk.ConfigurationError) and "GUN" in str(error)
    _nothing_outside(tmp_path)


UNNAMEABLE = {
    "a lone surrogate": "example.com/a\ud800",
    "a component over 255 bytes": "example.com/" + "\u00e9" * 130,
    "over 255 characters": "example.com/" + "/".join(["x" * 60] * 5),
}


@pytest.mark.parametrize("gun", UNNAMEABLE.values(), ids=UNNAMEABLE.keys())
def test_a_gun_that_names_no_folder_is_a_configuration_error(tmp_path: Path, gun: str) -> None:
    """Before, the file system's ``UnicodeEncodeError`` or ``OSError`` (``ENAMETOOLONG``) escaped."""
    trust_dir = tmp_path / "trust"
    error = trustkit_error(lambda: MetadataCache(trust_dir, gun).load("root"), "MetadataCache.load")
    assert isinstance(error, tk.ConfigurationError) and "GUN" in str(error)
    listing = trustkit_error(lambda: Changelist(trust_dir, gun).list(), "Changelist.list")
    assert isinstance(listing, tk.ConfigurationError)
    longest = "example.com/" + "x" * 243  # docker's limit: 255 characters
    assert MetadataCache(trust_dir, longest).load("root") is None


def test_an_unreadable_changelist_or_cache_folder_is_a_typed_error(tmp_path: Path) -> None:
    changelist = Changelist(tmp_path, "example.com/app")
    changelist.path.parent.mkdir(parents=True)
    changelist.path.symlink_to(changelist.path.name)  # a link to itself: ELOOP
    assert isinstance(trustkit_error(changelist.list, "Changelist.list of a link loop"), tk.FileAccessError)
    cache = MetadataCache(tmp_path, "example.com/app")
    cache.path.symlink_to(cache.path.name)
    assert cache.roles() == []
    assert isinstance(trustkit_error(lambda: cache.load("root"), "MetadataCache.load in a loop"), tk.FileAccessError)


@pytest.mark.parametrize("gun", ESCAPES)
def test_a_gun_cannot_lead_the_changelist_out_of_the_trust_dir(tmp_path: Path, gun: str) -> None:
    trust_dir = tmp_path / "trust"
    change = Change.add_target("x", tk.TargetFile.from_digest("01" * 32, 1))
    error = trustkit_error(lambda: Changelist(trust_dir, gun).add(change), f"Changelist(trust_dir, {gun!r}).add")
    assert isinstance(error, tk.ConfigurationError)
    _nothing_outside(tmp_path)


@pytest.mark.parametrize("gun", ESCAPES)
@pytest.mark.parametrize(
    "entry",
    [
        "repository",
        "reader",
        "local remote",
        "memory remote",
    ],
)
def test_every_entry_point_refuses_a_gun_that_escapes(tmp_path: Path, gun: str, entry: str) -> None:
    trust_dir = tmp_path / "trust"
    remote = MemoryRemote()
    calls: dict[str, Callable[[], Any]] = {
        "repository": lambda: tk.Repository(
            gun, remote=remote, keystore=MemoryKeyStore(passphrase=""), trust_dir=trust_dir
        ).add_target("x", tk.TargetFile.from_digest("01" * 32, 1)),
        "reader": lambda: tk.Reader(gun, remote, cache=MetadataCache(trust_dir, gun)).refresh(),
        "local remote": lambda: LocalRemote(trust_dir / "remote").publish(gun, {"root": b"{}"}),
        "memory remote": lambda: remote.get_role(gun, "root", max_size=1 << 20),
    }
    error = trustkit_error(calls[entry], f"{entry} with GUN {gun!r}")
    assert isinstance(error, tk.ConfigurationError), repr(error)
    _nothing_outside(tmp_path)


def test_a_key_gun_cannot_inject_pem_headers() -> None:
    store = MemoryKeyStore(passphrase="")
    key = tk.generate_private_key()

    def add() -> None:
        store.add_key(key, role="targets", gun="example.com/app\nrole: root")

    assert isinstance(trustkit_error(add, "add_key with a GUN holding a newline"), tk.ConfigurationError)
    assert store.list_keys() == []


# --- issue 14 item 5: importing never overwrites a key ------------------------------------------------------------


def _weakly_encrypted(key: tk.PrivateKey, passphrase: str, iterations: int) -> bytes:
    """``key`` as an encrypted PKCS#8 PEM with only ``iterations`` PBKDF2 rounds (as a careless tool writes it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(private, "PBKDF2_ITERATIONS", iterations)
        return key.to_pem(passphrase)


def test_an_import_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "trust", passphrase="root pass")
    root = tk.generate_private_key(role="root")
    store.add_key(root)
    before = store.key_path(root.key_id).read_bytes()
    attacker = tk.generate_private_key(role="root").to_pem("x")
    [block] = decode_pem_blocks(attacker)
    bundle = encode_pem(block.type, block.der, {**block.headers, "path": root.key_id})

    error = trustkit_error(lambda: store.import_keys(bundle), "import_keys over an existing root key")
    assert isinstance(error, tk.KeyFormatError) and "already in" in str(error) and "remove it first" in str(error)
    assert store.key_path(root.key_id).read_bytes() == before
    assert store.get_private_key(root.key_id).key_id == root.key_id


def test_an_import_never_overwrites_a_key_of_the_same_bundle() -> None:
    store = MemoryKeyStore(passphrase="p")
    key = tk.generate_private_key(role="root")
    exported = key.to_pem("p")
    [block] = decode_pem_blocks(exported)
    one = encode_pem(block.type, block.der, {**block.headers, "path": key.key_id})
    assert isinstance(
        trustkit_error(lambda: store.import_keys(one + one), "a bundle naming one key twice"), tk.KeyFormatError
    )
    assert store.list_keys() == []


# --- issue 14 item 11: weak encryption and PEM with more than a key ----------------------------------------------


def test_a_key_encrypted_with_one_pbkdf2_round_is_refused(tmp_path: Path) -> None:
    key = tk.generate_private_key(role="targets/a")
    weak = _weakly_encrypted(key, "pw", 1)
    error = trustkit_error(lambda: tk.load_private_key(weak, "pw"), "loading a key with 1 PBKDF2 iteration")
    assert isinstance(error, tk.KeyFormatError) and "1 PBKDF2 iteration" in str(error)
    store = FileKeyStore(tmp_path / "trust", passphrase="pw")
    [block] = decode_pem_blocks(weak)
    bundle = encode_pem(block.type, block.der, {**block.headers, "path": key.key_id})
    assert isinstance(trustkit_error(lambda: store.import_keys(bundle), "importing it"), tk.KeyFormatError)
    assert store.list_keys() == []
    (tmp_path / "weak.key").write_bytes(weak)
    (tmp_path / "weak.key").chmod(0o600)
    loading = trustkit_error(lambda: load_key_file(store, tmp_path / "weak.key", passphrase="pw"), "load_key_file")
    assert isinstance(loading, tk.KeyFormatError)


@pytest.mark.parametrize("how", ["pbkdf2-1500", "openssl-legacy"])
def test_a_weakly_encrypted_key_is_encrypted_again_on_import(how: str) -> None:
    key = tk.generate_private_key(role="targets/a")
    if how == "pbkdf2-1500":
        pem = _weakly_encrypted(key, "pw", 1500)
    else:  # OpenSSL's traditional encryption: one MD5 round derives the AES key
        legacy = key.crypto_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(b"pw"),
        )
        [block] = decode_pem_blocks(legacy)
        pem = encode_pem(block.type, block.der, {**block.headers, "role": "targets/a"})
    assert is_weakly_encrypted(pem)
    [block] = decode_pem_blocks(pem)
    store = MemoryKeyStore(passphrase="pw")
    [info] = store.import_keys(encode_pem(block.type, block.der, {**block.headers, "path": key.key_id}))
    assert info.key_id == key.key_id and info.encrypted
    stored = store.export_key(key.key_id)
    assert not is_weakly_encrypted(stored)
    assert decode_pem_blocks(stored)[0].type == "ENCRYPTED PRIVATE KEY"
    assert tk.load_private_key(stored, "pw").key_id == key.key_id  # under the same passphrase


def test_a_weakly_encrypted_key_without_its_passphrase_is_not_imported() -> None:
    key = tk.generate_private_key(role="targets/a")
    [block] = decode_pem_blocks(_weakly_encrypted(key, "pw", 1500))
    store = MemoryKeyStore(passphrase=None)
    bundle = encode_pem(block.type, block.der, {**block.headers, "path": key.key_id})
    error = trustkit_error(lambda: store.import_keys(bundle), "import without passphrase")
    assert isinstance(error, tk.KeyFormatError) and "no passphrase was given" in str(error)
    assert store.list_keys() == []


@pytest.mark.parametrize(
    "wrap",
    [
        lambda pem: b"garbage before\n" + pem,
        lambda pem: pem + b"garbage after\n",
        lambda pem: pem + pem,
        lambda pem: pem + tk.generate_private_key().to_pem(),
    ],
    ids=["text-before", "text-after", "same-block-twice", "second-key"],
)
def test_a_private_key_pem_with_more_than_one_key_is_refused(wrap: Callable[[bytes], bytes], tmp_path: Path) -> None:
    pem = wrap(tk.generate_private_key().to_pem())
    assert isinstance(trustkit_error(lambda: tk.load_private_key(pem), "load_private_key"), tk.KeyFormatError)
    store = FileKeyStore(tmp_path / "trust", passphrase="")
    key_id = tk.load_private_key(tk.generate_private_key().to_pem()).key_id
    store.private_dir.mkdir(parents=True, mode=0o700)
    path = store.key_path(key_id)
    path.write_bytes(pem)
    path.chmod(0o600)
    assert isinstance(trustkit_error(lambda: store.get_private_key(key_id), "a key file with more"), tk.KeyFormatError)


def test_whitespace_around_a_private_key_pem_is_fine() -> None:
    key = tk.generate_private_key()
    assert tk.load_private_key(b"\n  " + key.to_pem() + b"\r\n\n").key_id == key.key_id


# --- issue 14 item 10: links and loose permissions in the trust directory ------------------------------------------


def test_a_linked_metadata_folder_is_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = MetadataCache(tmp_path / "trust", "example.com/app")
    cache.path.parent.mkdir(parents=True)
    cache.path.symlink_to(elsewhere)
    error = trustkit_error(lambda: cache.store("root", b"{}"), "storing through a linked metadata folder")
    assert isinstance(error, tk.FileAccessError) and "symbolic link" in str(error)
    assert list(elsewhere.iterdir()) == []


def test_a_linked_gun_folder_is_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trust_dir = tmp_path / "trust"
    (trust_dir / "tuf" / "example.com").mkdir(parents=True)
    (trust_dir / "tuf" / "example.com" / "app").symlink_to(elsewhere)
    change = Change.add_target("x", tk.TargetFile.from_digest("01" * 32, 1))
    changelist = Changelist(trust_dir, "example.com/app")
    assert isinstance(trustkit_error(lambda: changelist.add(change), "staging"), tk.FileAccessError)
    cache = MetadataCache(trust_dir, "example.com/app")
    assert isinstance(trustkit_error(lambda: cache.store("root", b"{}"), "caching"), tk.FileAccessError)
    assert list(elsewhere.iterdir()) == []


def test_a_folder_swapped_for_a_link_during_a_write_receives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of a local attacker who can write in ``tuf/<gun>/``: the metadata folder is swapped for a link
    after the folders were checked, right before the temporary file is created (where the red team's loop of
    ``renameat2(RENAME_EXCHANGE)`` won 10% of the races)."""
    import os

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = MetadataCache(tmp_path / "trust", "example.com/app")
    cache.store("root", b"{}")
    real_urandom, swapped = os.urandom, []

    def swap_then_urandom(size: int) -> bytes:  # _fs names the temporary file just before creating it
        if not swapped:
            cache.path.rename(cache.path.with_name("metadata.real"))
            cache.path.symlink_to(elsewhere)
            swapped.append(True)
        return real_urandom(size)

    monkeypatch.setattr(os, "urandom", swap_then_urandom)
    cache.store("timestamp", b"{}")  # into the folder it opened, wherever that folder now is
    monkeypatch.undo()
    assert swapped and list(elsewhere.iterdir()) == []
    assert (cache.path.with_name("metadata.real") / "timestamp.json").read_bytes() == b"{}"


def test_a_killed_staging_leaves_nothing_in_another_guns_changelist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GUN ``X/changelist``'s changelist lies in GUN ``X``'s changelist folder: its temporary files must not go
    beside its own folder, where notary would read a kill's leftovers as ``X``'s staged changes."""
    import os

    parent = Changelist(tmp_path, "reg.example/team")
    parent.add(Change.add_target("v1", tk.TargetFile.from_data(b"one")))
    child = Changelist(tmp_path, "reg.example/team/changelist")

    def killed(*args: object, **kwargs: object) -> None:  # a kill before the rename: no cleanup either
        raise OSError(4, "killed")

    monkeypatch.setattr(os, "replace", killed)
    monkeypatch.setattr(os, "unlink", lambda *args, **kwargs: None)
    changes = [Change.add_target(f"evil{i}", tk.TargetFile.from_data(b"evil")) for i in range(2)]
    with pytest.raises(tk.FileAccessError, match="killed"):
        child.extend(changes)
    monkeypatch.undo()
    in_parent = sorted(p.name for p in parent.path.iterdir() if p.is_file())
    assert len(in_parent) == 1 and not in_parent[0].startswith(".")
    assert [s.change.path for s in parent.list()] == ["v1"]
    assert len(list((tmp_path / "tuf" / ".changelist-staging").iterdir())) == 2  # swept once a minute old


def test_a_trust_dir_that_may_itself_be_a_link_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "linked").symlink_to(real)  # ~/.docker/trust linked elsewhere: the user's choice
    MetadataCache(tmp_path / "linked", "example.com/app").store("root", b"{}")
    assert (real / "tuf" / "example.com" / "app" / "metadata" / "root.json").read_bytes() == b"{}"


def test_a_linked_private_folder_receives_no_key(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o777)
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "private").symlink_to(elsewhere)
    store = FileKeyStore(tmp_path / "trust", passphrase="")
    error = trustkit_error(lambda: store.add_key(tk.generate_private_key(role="root")), "add_key")
    assert isinstance(error, tk.FileAccessError) and "symbolic link" in str(error)
    assert list(elsewhere.iterdir()) == []


def test_a_world_writable_private_folder_is_made_0700(tmp_path: Path) -> None:
    private_dir = tmp_path / "trust" / "private"
    private_dir.mkdir(parents=True)
    private_dir.chmod(0o777)
    store = FileKeyStore(tmp_path / "trust", passphrase="")
    store.add_key(tk.generate_private_key(role="root"))
    assert private_dir.stat().st_mode & 0o777 == 0o700


def test_a_key_file_others_can_read_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FileKeyStore(tmp_path / "trust", passphrase="")
    key = tk.generate_private_key(role="root")
    info = store.add_key(key)
    assert info.path is not None
    info.path.chmod(0o644)
    fresh = FileKeyStore(tmp_path / "trust", passphrase="")
    error = trustkit_error(lambda: fresh.get_private_key(key.key_id), "a 0644 key file")
    assert isinstance(error, tk.FileAccessError) and "chmod 600" in str(error)
    assert fresh.list_keys() == []  # skipped with a warning naming it, as unreadable files are
    assert str(info.path) in caplog.text
    assert fresh.remove_key(key.key_id).key_id == key.key_id  # and it can still be removed


# --- issue 15 item 5 (keystore part): every failure of a key file or trust dir is a typed error -----------------


def test_loading_a_key_file_never_replaces_a_stored_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "trust", passphrase="original")
    root = tk.generate_private_key()
    store.add_key(root, role="root")
    stored = store.key_path(root.key_id).read_bytes()
    path = tmp_path / "same.pem"
    path.write_bytes(root.to_pem())
    path.chmod(0o600)
    attacker = FileKeyStore(tmp_path / "trust", passphrase="attacker")
    error = trustkit_error(lambda: load_key_file(attacker, path, name="ci"), "load_key_file of a stored root key")
    assert isinstance(error, tk.KeyFormatError) and "already in the store as role 'root'" in str(error)
    assert store.key_path(root.key_id).read_bytes() == stored and store.get_key_info(root.key_id).role == "root"
    again = load_key_file(attacker, path, name="root")  # the same key and role: nothing changes
    assert [info.key_id for info in again] == [root.key_id]
    assert store.key_path(root.key_id).read_bytes() == stored


@pytest.mark.parametrize("what", ["missing", "folder", "readable by others", "link"])
def test_loading_a_bad_key_file_is_a_typed_error(tmp_path: Path, what: str) -> None:
    path = tmp_path / "key.pem"
    if what == "folder":
        path.mkdir()
    elif what == "readable by others":
        path.write_bytes(tk.generate_private_key().to_pem())
        path.chmod(0o644)
    elif what == "link":
        target = tmp_path / "target.pem"
        target.write_bytes(tk.generate_private_key().to_pem())
        target.chmod(0o600)
        path.symlink_to(target)
    store = MemoryKeyStore(passphrase="")
    error = trustkit_error(lambda: load_key_file(store, path), f"load_key_file of a {what} path")
    assert isinstance(error, tk.FileAccessError) and str(path) in str(error)
    assert store.list_keys() == []


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Turn a hang (an open that blocks on a FIFO) into a failure after 5 s."""
    import signal

    def hung(*_: object) -> None:
        raise AssertionError("hung on a FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_fifo_for_a_key_file_or_a_cached_file_is_refused_without_blocking(tmp_path: Path, no_hang: None) -> None:
    import os

    store = FileKeyStore(tmp_path / "trust", passphrase="")
    store.private_dir.mkdir(parents=True, mode=0o700)
    fifo = store.key_path("ab" * 32)
    os.mkfifo(fifo, 0o600)
    assert store.list_keys() == []  # skipped with a warning, as a key file others can read
    error = trustkit_error(lambda: load_key_file(MemoryKeyStore(passphrase=""), fifo), "load_key_file of a FIFO")
    assert isinstance(error, tk.FileAccessError) and "not a regular file" in str(error)
    cache = MetadataCache(tmp_path / "trust", "example.com/app")
    cache.store("root", b"{}")
    os.mkfifo(cache.path / "timestamp.json", 0o600)
    error = trustkit_error(lambda: cache.load("timestamp"), "loading a FIFO from the cache")
    assert isinstance(error, tk.FileAccessError) and "remove it" in str(error)
    os.mkfifo(cache.path.parent / "trustkit-verified.json", 0o600)
    assert cache.load_verified() == {}


def test_a_metadata_cache_on_a_file_is_a_typed_error(tmp_path: Path) -> None:
    trust_file = tmp_path / "trust"
    trust_file.write_bytes(b"not a folder")
    error = trustkit_error(lambda: MetadataCache(trust_file, "example.com/app"), "MetadataCache on a file")
    assert isinstance(error, tk.FileAccessError) and "is a file" in str(error)
    changelist = Changelist(trust_file, "example.com/app")
    change = Change.add_target("x", tk.TargetFile.from_digest("01" * 32, 1))
    assert isinstance(trustkit_error(lambda: changelist.add(change), "staging under a file"), tk.FileAccessError)


def test_nothing_is_removed_through_a_linked_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "00000000000000000001_victim.change").write_bytes(b"keep me")
    (elsewhere / "root.json").write_bytes(b"keep me")
    trust_dir = tmp_path / "trust"
    (trust_dir / "tuf" / "example.com" / "app").mkdir(parents=True)
    (trust_dir / "tuf" / "example.com" / "app" / "changelist").symlink_to(elsewhere)
    (trust_dir / "tuf" / "example.com" / "app" / "metadata").symlink_to(elsewhere)
    changelist = Changelist(trust_dir, "example.com/app")
    assert isinstance(trustkit_error(changelist.clear, "reset through a linked changelist"), tk.FileAccessError)
    cache = MetadataCache(trust_dir, "example.com/app")
    assert isinstance(trustkit_error(lambda: cache.remove("root"), "forgetting a cached role"), tk.FileAccessError)
    assert sorted(p.read_bytes() for p in elsewhere.iterdir()) == [b"keep me", b"keep me"]
