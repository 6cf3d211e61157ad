"""Keys behind securesystemslib private-key URIs (``file2:`` here; the SoftHSM2 ``hsm:`` test is in
tests/interop/test_keystore_hsm.py): they sign Notary metadata through the KeyStore protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from securesystemslib.signer import CryptoSigner

import trustkit as tk
from trustkit.errors import KeyFormatError, SigningError, UnknownKeyError
from trustkit.keystore import ChainedKeyStore, ExternalKeyStore, FileKeyStore, KeyInfo, KeyStore, signer_from_uri


def pkcs8_file(tmp_path: Path, key: tk.PrivateKey) -> str:
    path = tmp_path / f"{key.key_id}.pem"
    path.write_bytes(
        key.crypto_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return f"file2:{path}"


def make_key(keytype: str) -> tk.PrivateKey:
    if keytype == "rsa":
        return tk.PrivateKey(rsa.generate_private_key(65537, 2048))
    return tk.generate_private_key(keytype)  # type: ignore[arg-type]


@pytest.mark.parametrize("keytype", ["ecdsa", "ed25519", "rsa"])
def test_uri_keys_sign_notary_metadata(tmp_path: Path, keytype: str) -> None:
    key = make_key(keytype)
    store = ExternalKeyStore()
    assert isinstance(store, KeyStore)
    uri = pkcs8_file(tmp_path, key)
    info = store.add_uri(uri, key.public_key, role="targets/ci", gun="ignored/for/delegations")
    assert info == KeyInfo(key.key_id, "targets/ci", None, uri)
    assert store.list_keys() == [info] == store.list_keys(role="targets/ci")
    assert store.list_keys(gun="x") == []
    assert store.get_key_info(key.key_id) == info and store.uri(key.key_id) == uri

    role = tk.DelegatedRole((key.public_key.key_id,), 1, name="targets/ci", paths=("",))
    parent = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(role, [key.public_key])
    child = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target(
        "v1", tk.TargetFile.from_digest("sha256:" + "ab" * 32, 10)
    )
    signed = tk.Metadata(child).sign(store.get_signer(key.key_id))
    [signature] = signed.signatures
    assert signature.keyid == key.key_id
    assert parent.verify_delegate("targets/ci", tk.Metadata.from_bytes(signed.to_bytes(), role="targets/ci")).verified


def test_sslib_keys_and_certificates_are_accepted(tmp_path: Path) -> None:
    key = tk.generate_private_key()
    uri = pkcs8_file(tmp_path, key)
    sslib_key = CryptoSigner(key.crypto_key).public_key  # securesystemslib's own key ID
    store = ExternalKeyStore()
    assert store.add_uri(uri, sslib_key).key_id == key.key_id  # notary's canonical ID, not securesystemslib's
    cert = tk.make_root_key(key, "localhost:5000/x")
    assert store.add_uri(uri, cert, role="root").key_id == cert.canonical_id == key.key_id
    message = b"payload"
    signature = signer_from_uri(uri, cert).sign(message)
    assert signature.signature


def test_keys_notary_cannot_verify_are_refused(tmp_path: Path) -> None:
    p384 = tk.PrivateKey(ec.generate_private_key(ec.SECP384R1()))
    store = ExternalKeyStore()
    with pytest.raises(KeyFormatError, match="P-256"):
        store.add_uri(pkcs8_file(tmp_path, p384), p384.public_key)
    sslib_p384 = CryptoSigner(p384.crypto_key).public_key
    with pytest.raises(KeyFormatError):
        store.add_uri("hsm:2", sslib_p384)
    with pytest.raises(KeyFormatError, match="expected a trustkit PublicKey"):
        store.add_uri("hsm:2", object())
    with pytest.raises(ValueError, match="not a private key URI"):
        store.add_uri("no-scheme", p384.public_key)


def test_what_an_external_store_refuses(tmp_path: Path) -> None:
    key = tk.generate_private_key()
    store = ExternalKeyStore(secrets_handler=lambda _secret: "123456")
    store.add_uri("nosuchscheme:key/1", key.public_key, role="targets/x")
    with pytest.raises(SigningError, match="nosuchscheme"):
        store.get_signer(key.key_id)
    with pytest.raises(KeyFormatError, match="cannot be exported"):
        store.export_key(key.key_id)
    with pytest.raises(KeyFormatError, match="add_uri"):
        store.add_key(key)
    assert "123456" not in repr(store) and repr(store) == "ExternalKeyStore(<1 key(s)>, secrets_handler=<set>)"
    assert store.remove_key(key.key_id).key_id == key.key_id
    assert len(store) == 0
    for operation in (store.get_signer, store.get_key_info, store.remove_key, store.export_key):
        with pytest.raises(UnknownKeyError):
            operation(key.key_id)


def test_chained_stores(tmp_path: Path) -> None:
    hsm_like = tk.generate_private_key()
    external = ExternalKeyStore()
    external.add_uri(pkcs8_file(tmp_path, hsm_like), hsm_like.public_key, role="targets/ci")
    files = FileKeyStore(tmp_path / "trust", passphrase="p")
    targets = files.add_key(tk.generate_private_key(), role="targets", gun="g")
    both = files.add_key(hsm_like, role="targets/ci")
    chain = ChainedKeyStore(external, files)
    assert isinstance(chain, KeyStore)
    assert [(i.role, i.location) for i in chain.list_keys()] == [
        ("targets", targets.location),
        ("targets/ci", external.uri(hsm_like.key_id)),  # the first store's entry
    ]
    assert chain.list_keys(gun="g") == [targets]
    assert chain.get_key_info(targets.key_id) == targets
    assert chain.get_signer(hsm_like.key_id) is external.get_signer(hsm_like.key_id)
    assert chain.export_key(targets.key_id) == files.export_key(targets.key_id)
    with pytest.raises(KeyFormatError):
        chain.add_key(tk.generate_private_key())  # the first store holds no private keys
    assert ChainedKeyStore(files).add_key(tk.generate_private_key(), role="root").role == "root"
    uri = external.uri(hsm_like.key_id)
    assert both.path is not None and chain.remove_key(hsm_like.key_id).location == uri
    assert not both.path.exists()
    assert hsm_like.key_id not in external and hsm_like.key_id not in files  # type: ignore[operator]
    with pytest.raises(UnknownKeyError):
        chain.get_signer(hsm_like.key_id)
    with pytest.raises(UnknownKeyError):
        chain.remove_key(hsm_like.key_id)
    with pytest.raises(ValueError):
        ChainedKeyStore()
