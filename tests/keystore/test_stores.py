"""Behaviour every PEM keystore shares (FileKeyStore and MemoryKeyStore): the KeyStore protocol, notary's headers,
import/export bundles, passphrase changes and bounded passphrase attempts."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import trustkit as tk
from tests.support.keystores import DEFAULT_PASSPHRASE, GUN, PASSPHRASES, CountingRetriever, StoreFactory
from trustkit.errors import KeyFormatError, PassphraseError, UnknownKeyError
from trustkit.keys.pem import decode_pem_blocks
from trustkit.keystore import KeyInfo, KeyStore, RolePassphrases, generate_key


def rsa_key(role: str | None = None, gun: str | None = None) -> tk.PrivateKey:
    return tk.PrivateKey(rsa.generate_private_key(65537, 2048), role=role, gun=gun)


def sign_and_verify(store: KeyStore, key_id: str, public: tk.PublicKey) -> None:
    """A Targets file signed through the store's signer verifies against ``public`` in delegating metadata."""
    delegated = tk.DelegatedRole((public.key_id,), 1, name="targets/check", paths=("",))
    targets = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(delegated, [public])
    signed = tk.Metadata(tk.Targets(version=1, expires=tk.default_expiry("targets"))).sign(store.get_signer(key_id))
    reread = tk.Metadata.from_bytes(signed.to_bytes(), role="targets/check")
    assert targets.verify_delegate("targets/check", reread).verified


@pytest.mark.parametrize(
    ("role", "gun", "expected_headers"),
    [
        ("root", GUN, {"role": "root"}),
        ("targets", GUN, {"gun": GUN, "role": "targets"}),
        ("snapshot", GUN, {"gun": GUN, "role": "snapshot"}),
        ("timestamp", GUN, {"gun": GUN, "role": "timestamp"}),
        ("targets/releases", GUN, {"role": "targets/releases"}),
        ("alice", GUN, {"role": "alice"}),  # a docker signer key
        ("Not A Role", GUN, {"role": "Not A Role"}),
    ],
)
def test_headers_follow_notary_add_key(make_store: StoreFactory, role: str, gun: str, expected_headers: Any) -> None:
    store = make_store()
    key = tk.generate_private_key()
    info = store.add_key(key, role=role, gun=gun)
    assert info == KeyInfo(key.key_id, role, expected_headers.get("gun"), store.location, info.path, True)
    [block] = decode_pem_blocks(store.export_key(key.key_id))
    assert block.type == "ENCRYPTED PRIVATE KEY"
    assert block.headers == {**expected_headers, "path": key.key_id}
    assert store.list_keys() == [info]
    assert store.get_key_info(key.key_id) == info
    assert key.key_id in store  # type: ignore[operator]


@pytest.mark.parametrize("keytype", ["ecdsa", "ed25519", "rsa"])
def test_add_list_sign_remove(make_store: StoreFactory, keytype: str) -> None:
    store = make_store()
    assert isinstance(store, KeyStore)
    key = rsa_key("targets/ci") if keytype == "rsa" else tk.generate_private_key(keytype, role="targets/ci")  # type: ignore[arg-type]
    store.add_key(key)
    store.forget_decrypted_keys()
    sign_and_verify(store, key.key_id, key.public_key)
    again = store.get_private_key(key.key_id)
    assert again.public_key == key.public_key and again.role == "targets/ci" and again.gun is None
    removed = store.remove_key(key.key_id)
    assert removed.key_id == key.key_id
    assert store.list_keys() == []
    with pytest.raises(UnknownKeyError):
        store.get_signer(key.key_id)
    with pytest.raises(UnknownKeyError):
        store.remove_key(key.key_id)
    with pytest.raises(UnknownKeyError):
        store.export_key(key.key_id)


def test_list_filters_and_order(make_store: StoreFactory) -> None:
    store = make_store()
    other = "localhost:5000/keystore/other"
    made = {
        "root": generate_key(store, "root"),
        "targets": generate_key(store, "targets", gun=GUN),
        "targets-other": generate_key(store, "targets", gun=other),
        "snapshot": generate_key(store, "snapshot", gun=GUN),
        "alice": generate_key(store, "alice", keytype="ed25519"),
    }
    listed = store.list_keys()
    assert [(i.role, i.gun) for i in listed] == [
        ("alice", None),
        ("root", None),
        ("snapshot", GUN),
        ("targets", GUN),
        ("targets", other),
    ]
    assert [i.key_id for i in store.list_keys(role="targets")] == sorted(
        [made["targets"].key_id, made["targets-other"].key_id],
        key=lambda key_id: GUN if key_id == made["targets"].key_id else other,
    )
    assert {i.role for i in store.list_keys(gun=GUN)} == {"targets", "snapshot"}
    assert [i.key_id for i in store.list_keys(role="targets", gun=other)] == [made["targets-other"].key_id]
    assert store.list_keys(role="timestamp") == []


def test_passphrases_by_role_and_wrong_passphrase_is_bounded(make_store: StoreFactory) -> None:
    writer = make_store()
    keys = {role: tk.generate_private_key(role=role, gun=GUN) for role in ("root", "targets", "targets/x")}
    for key in keys.values():
        writer.add_key(key)
    retriever = CountingRetriever("nope", "still no", "no again", PASSPHRASES["root"])
    reader = make_store(passphrase=retriever, max_attempts=3)
    if reader.location == "memory":  # share the bytes: a second memory store starts empty
        reader._pems = writer._pems  # type: ignore[attr-defined]
    assert len(reader.list_keys()) == 3 and all(info.encrypted for info in reader.list_keys())
    assert retriever.calls == []  # listing never asks for a passphrase
    with pytest.raises(PassphraseError) as info:
        reader.get_signer(keys["root"].key_id)
    assert len(retriever.calls) == 3
    assert [c[1:] for c in retriever.calls] == [("root", False, 0), ("root", False, 1), ("root", False, 2)]
    assert "wrong passphrase" in str(info.value) and "nope" not in str(info.value)
    # right passphrases by role, through the writer's own retriever
    for key in keys.values():
        sign_and_verify(writer, key.key_id, key.public_key)
    writer.forget_decrypted_keys()
    assert writer.get_private_key(keys["targets/x"].key_id).key_id == keys["targets/x"].key_id


def test_no_retriever_cannot_write_or_decrypt(make_store: StoreFactory) -> None:
    store = make_store(passphrase=None)
    with pytest.raises(PassphraseError, match="no passphrase was given to encrypt"):
        store.add_key(tk.generate_private_key(role="root"))
    assert store.list_keys() == []
    plain = make_store(passphrase="")
    info = plain.add_key(tk.generate_private_key(role="root"))
    assert not info.encrypted
    assert decode_pem_blocks(plain.export_key(info.key_id))[0].type == "PRIVATE KEY"


def test_export_import_round_trip(make_store: StoreFactory) -> None:
    source = make_store()
    keys = [
        tk.generate_private_key(role="root"),
        tk.generate_private_key(role="targets", gun=GUN),
        tk.generate_private_key("ed25519", role="targets/releases"),
        rsa_key(role="alice"),
    ]
    for key in keys:
        source.add_key(key)
    bundle = source.export_keys()
    assert [b.headers["path"] for b in decode_pem_blocks(bundle)] == sorted(k.key_id for k in keys)
    assert source.export_keys(gun=GUN) == source.export_key(keys[1].key_id)
    assert source.export_keys(key_ids=[keys[3].key_id, keys[0].key_id]) == (
        source.export_key(keys[3].key_id) + source.export_key(keys[0].key_id)
    )

    target = make_store(passphrase=None, fresh=True)  # encrypted blocks with a path header need no passphrase to import
    imported = target.import_keys(bundle)
    assert sorted(i.key_id for i in imported) == sorted(k.key_id for k in keys)
    assert [(i.role, i.gun) for i in target.list_keys()] == [(i.role, i.gun) for i in source.list_keys()]
    assert target.export_keys() == bundle  # stored unchanged, still under the source's passphrases
    reader = make_store(passphrase=RolePassphrases(PASSPHRASES, default=DEFAULT_PASSPHRASE), fresh=True)
    reader.import_keys(bundle)
    for key in keys:
        sign_and_verify(reader, key.key_id, key.public_key)


def test_import_rules(make_store: StoreFactory) -> None:
    store = make_store()
    plain_delegation = tk.generate_private_key()
    [info] = store.import_keys(plain_delegation.to_pem())
    assert (info.role, info.gun, info.encrypted) == ("delegation", None, True)  # DefaultImportRole, then encrypted
    assert decode_pem_blocks(store.export_key(info.key_id))[0].type == "ENCRYPTED PRIVATE KEY"

    targets = tk.generate_private_key()
    [info] = store.import_keys(targets.to_pem(), role="targets", gun=GUN)
    assert (info.role, info.gun) == ("targets", GUN)
    with pytest.raises(KeyFormatError, match="needs a gun"):
        store.import_keys(tk.generate_private_key(role="snapshot").to_pem())

    # a gun on a delegation key is dropped; the role header wins over --role
    [info] = store.import_keys(tk.generate_private_key(role="targets/a", gun=GUN).to_pem(), role="root")
    assert (info.role, info.gun) == ("targets/a", None)

    # legacy export path: tuf_keys/<gun>/<id>_<role>
    legacy = tk.generate_private_key()
    pem = legacy.to_pem("legacy pass").replace(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\npath: tuf_keys/" + GUN.encode() + b"/" + legacy.key_id.encode()
        + b"_snapshot\n\n",
    )  # fmt: skip
    [info] = store.import_keys(pem)
    assert (info.key_id, info.role, info.gun) == (legacy.key_id, "snapshot", GUN)


@pytest.mark.parametrize(
    ("pem", "problem"),
    [
        (tk.generate_private_key().to_pem("p"), "without a path header"),
        (
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
            "not a private key",
        ),
        (
            tk.generate_private_key().to_pem("p").replace(b"-----\n", b"-----\npath: ../../etc/passwd\n\n", 1),
            "not a key ID",
        ),
        (
            tk.generate_private_key().to_pem().replace(b"-----\n", b"-----\npath: " + b"a" * 64 + b"\n\n", 1),
            "does not match",
        ),
    ],
)
def test_import_refuses_bad_blocks_and_imports_nothing(make_store: StoreFactory, pem: bytes, problem: str) -> None:
    store = make_store()
    good = tk.generate_private_key(role="targets/ok")
    with pytest.raises(KeyFormatError, match=problem) as info:
        store.import_keys(good.to_pem() + pem)
    assert "block 2" in str(info.value)
    assert store.list_keys() == []


def test_change_passphrase(make_store: StoreFactory) -> None:
    store = make_store()
    key = tk.generate_private_key(role="targets", gun=GUN)
    store.add_key(key)
    info = store.change_passphrase(key.key_id, new_passphrase="a brand new passphrase")
    assert (info.role, info.gun, info.encrypted) == ("targets", GUN, True)
    store.forget_decrypted_keys()
    with pytest.raises(PassphraseError):
        store.get_signer(key.key_id)  # the store's own retriever still has the old one
    renewed = make_store(passphrase="a brand new passphrase", fresh=True)
    renewed.import_keys(store.export_key(key.key_id))
    sign_and_verify(renewed, key.key_id, key.public_key)
    # and to no encryption at all
    assert not renewed.change_passphrase(key.key_id, new_passphrase="").encrypted
    assert decode_pem_blocks(renewed.export_key(key.key_id))[0].type == "PRIVATE KEY"


def test_replacing_a_key_keeps_one_copy(make_store: StoreFactory) -> None:
    store = make_store()
    key = tk.generate_private_key(role="targets/a")
    store.add_key(key)
    store.add_key(key, role="targets/b")
    [info] = store.list_keys()
    assert info.role == "targets/b"
