"""docker trust key generate / load and notary key generate semantics, and docker's name rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import trustkit as tk
from tests.support.keystores import GUN
from trustkit.errors import KeyFormatError, PassphraseError
from trustkit.keys.pem import decode_pem_blocks
from trustkit.keystore import (
    DockerEnvPassphrase,
    FileKeyStore,
    MemoryKeyStore,
    generate_delegation_key,
    generate_key,
    load_key_file,
    public_key_pem,
    validate_key_name,
    validate_signer_name,
)

REPO = "docker repository passphrase"


@pytest.mark.parametrize("name", ["alice", "a", "0", "ci-bot_2", "releases"])
def test_valid_key_names(name: str) -> None:
    assert validate_key_name(name) == name


@pytest.mark.parametrize("name", ["", "Alice", "-a", "_a", "a.b", "a/b", "a b", "alice\n", "ä"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(ValueError, match="must start with lowercase alphanumeric"):
        validate_key_name(name)


def test_releases_is_reserved_for_signers() -> None:
    assert validate_signer_name("alice") == "alice"
    with pytest.raises(ValueError, match="reserved"):
        validate_signer_name("releases")


def test_generate_delegation_key_like_docker(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "trust", passphrase=DockerEnvPassphrase(environ={
        "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": REPO}))  # fmt: skip
    public = generate_delegation_key(store, "alice", directory=tmp_path)
    assert public.keytype == "ecdsa"
    [info] = store.list_keys()
    assert (info.key_id, info.role, info.gun, info.encrypted) == (public.key_id, "alice", None, True)
    assert info.path is not None
    assert tk.load_private_key(info.path.read_bytes(), REPO).public_key == public
    pub = tmp_path / "alice.pub"
    assert stat.S_IMODE(pub.stat().st_mode) == 0o600
    [block] = decode_pem_blocks(pub.read_bytes())
    assert (block.type, block.headers) == ("PUBLIC KEY", {"role": "alice"})
    assert tk.PublicKey.from_pem(pub.read_bytes()) == public
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\nrole: alice\n\n")

    with pytest.raises(FileExistsError, match="public key file already exists"):
        generate_delegation_key(store, "alice", directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="public key path does not exist"):
        generate_delegation_key(store, "bob", directory=tmp_path / "missing")
    with pytest.raises(ValueError):
        generate_delegation_key(store, "Bob")
    assert len(store.list_keys()) == 1  # nothing generated when the checks fail

    without_file = generate_delegation_key(store, "carol", keytype="ed25519")
    assert without_file.keytype == "ed25519" and not (Path.cwd() / "carol.pub").exists()


def test_public_key_pem_unwraps_certificates() -> None:
    key = tk.generate_private_key()
    cert = tk.make_root_key(key, GUN)
    assert tk.PublicKey.from_pem(public_key_pem(cert)) == key.public_key
    assert decode_pem_blocks(public_key_pem(key.public_key))[0].headers == {}


def test_generate_key_like_notary() -> None:
    store = MemoryKeyStore()
    root = generate_key(store, "root")
    targets = generate_key(store, "targets", gun=GUN)
    loose = generate_key(store, "targets")  # `notary key generate --role targets` stores no GUN
    assert {(i.key_id, i.role, i.gun) for i in store.list_keys()} == {
        (root.key_id, "root", None),
        (targets.key_id, "targets", GUN),
        (loose.key_id, "targets", None),
    }


def write_key(path: Path, data: bytes, file_mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, file_mode)
    return path


def pem_forms() -> dict[str, tuple[bytes, tk.PublicKey]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(65537, 2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    pkcs8 = serialization.PrivateFormat.PKCS8
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    pem, none = serialization.Encoding.PEM, serialization.NoEncryption()
    return {
        "sec1": (ec_key.private_bytes(pem, trad, none), tk.PublicKey.from_crypto(ec_key.public_key())),
        "pkcs8-ec": (ec_key.private_bytes(pem, pkcs8, none), tk.PublicKey.from_crypto(ec_key.public_key())),
        "pkcs1": (rsa_key.private_bytes(pem, trad, none), tk.PublicKey.from_crypto(rsa_key.public_key())),
        "pkcs8-ed25519": (ed_key.private_bytes(pem, pkcs8, none), tk.PublicKey.from_crypto(ed_key.public_key())),
        "notary-encrypted": (
            tk.PrivateKey(ec_key).to_pem(REPO),
            tk.PublicKey.from_crypto(ec_key.public_key()),
        ),
    }


@pytest.mark.parametrize("form", sorted(pem_forms()))
def test_load_key_file_forms(tmp_path: Path, form: str) -> None:
    data, public = pem_forms()[form]
    path = write_key(tmp_path / "key.pem", data)
    store = FileKeyStore(tmp_path / "trust", passphrase={"ci": "store passphrase"})
    [info] = load_key_file(store, path, name="ci", passphrase=DockerEnvPassphrase(environ={
        "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": REPO}))  # fmt: skip
    assert (info.key_id, info.role, info.gun, info.encrypted) == (public.key_id, "ci", None, True)
    assert store.get_private_key(public.key_id).public_key == public


def test_load_key_file_rules(tmp_path: Path) -> None:
    store = MemoryKeyStore()
    key = tk.generate_private_key()
    loose = write_key(tmp_path / "loose.pem", key.to_pem(), 0o640)
    with pytest.raises(tk.FileAccessError, match="can be read or written by others"):
        load_key_file(store, loose)
    public = write_key(tmp_path / "k.pub", public_key_pem(key.public_key))
    with pytest.raises(KeyFormatError, match="not a supported private key - to add a signer's public key use"):
        load_key_file(store, public)
    with pytest.raises(ValueError):
        load_key_file(store, write_key(tmp_path / "ok.pem", key.to_pem()), name="Bad Name")
    encrypted = write_key(tmp_path / "enc.pem", key.to_pem("file passphrase"))
    with pytest.raises(PassphraseError):
        load_key_file(store, encrypted)  # no passphrase for the file
    [info] = load_key_file(store, encrypted, passphrase="file passphrase")
    assert (info.role, info.gun) == ("signer", None)  # docker's default --name
    # the role header of the file wins over the name; a targets key keeps its gun
    headed = write_key(tmp_path / "t.pem", tk.generate_private_key(role="targets", gun=GUN).to_pem())
    [info] = load_key_file(store, headed, name="ignored")
    assert (info.role, info.gun) == ("targets", GUN)
    assert store.list_keys(role="signer")[0].key_id == key.key_id
