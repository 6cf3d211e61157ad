"""Attacks through the trust directory and the key files (issue 14: items 1, 5, 10, 11; issue 15: item 5).

A hostile GUN, a hostile key bundle, a hostile trust directory (links, loose permissions) and hostile key files
must each end in a typed trustkit error that says what to do, and never in a write outside the trust directory,
a lost key or a key read from a file others can read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import trustkit as tk
from tests.robustness.test_regressions import trustkit_error
from trustkit.client import Change, Changelist, MetadataCache
from trustkit.keys import private
from trustkit.keys._pem import decode_pem_blocks, encode_pem
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
