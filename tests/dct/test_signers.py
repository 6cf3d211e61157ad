"""Signers: docker's signer add, and signer remove done right."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

import trustkit as tk
from tests.support.dct import DIGEST, REPO
from trustkit.dct import DockerTrust, read_signer_key
from trustkit.keystore import public_key_pem


def certificate(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, *, days: int = 365) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jeff")])
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=2) if days < 0 else now
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def delegations(trust: DockerTrust, ref: str = REPO) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], int]]:
    """role → (canonical key IDs, paths, threshold), from targets.json as published."""
    trusted = trust.repository(ref).reader().refresh()
    roles = trusted["targets"].signed.delegations
    return {r.name: (tuple(roles.keys[k].canonical_id for k in r.keyids), r.paths, r.threshold) for r in roles.roles}


def test_add_signer_initialises_then_adds(admin: DockerTrust, remote: tk.MemoryRemote, tmp_path: Path) -> None:
    jeff = admin.generate_key("jeff", directory=tmp_path)
    added = admin.add_signer("jeff", REPO, keys=[tmp_path / "jeff.pub"])
    assert added.initialized and added.key_ids == (jeff.key_id,) and added.gun == REPO
    assert delegations(admin) == {
        "targets/jeff": ((jeff.key_id,), ("",), 1),
        "targets/releases": ((jeff.key_id,), ("",), 1),
    }
    root = tk.Metadata.from_bytes(remote.get_role(REPO, "root", max_size=1 << 20), role="root").signed
    snapshot_key = remote.get_key(REPO, "snapshot")
    assert root.roles["snapshot"].keyids == (snapshot_key.key_id,)  # the server manages the snapshot
    assert {(k.role, k.gun) for k in admin.list_keys()} == {("jeff", None), ("root", None), ("targets", REPO)}

    ben_pem = public_key_pem(admin.generate_key("ben"), role="ben")
    assert not admin.add_signer("ben", REPO, keys=[ben_pem]).initialized
    key2 = tk.generate_private_key().public_key
    admin.add_signer("jeff", REPO, keys=[key2])  # a second key for jeff (rotation)
    ben_id = tk.PublicKey.from_pem(ben_pem).key_id
    assert delegations(admin) == {
        "targets/jeff": ((jeff.key_id, key2.key_id), ("",), 1),
        "targets/releases": ((jeff.key_id, ben_id, key2.key_id), ("",), 1),
        "targets/ben": ((ben_id,), ("",), 1),
    }
    # the root key is reused for a second repository
    admin.add_signer("jeff", f"{REPO}-two", keys=[jeff])
    assert len(admin.list_keys(role="root")) == 1
    assert admin.repository(REPO).status() == []  # nothing was left staged


def test_certificates_and_key_rules(admin: DockerTrust, tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = read_signer_key(certificate(rsa_key))
    assert cert.keytype == "rsa-x509" and cert.canonical_id != cert.key_id
    added = admin.add_signer("jeff", REPO, keys=[certificate(rsa_key).decode()])
    assert added.key_ids == (cert.canonical_id,)
    assert delegations(admin)["targets/jeff"][0] == (cert.canonical_id,)  # shown by canonical ID, as docker shows

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "small.pub"
    path.write_bytes(
        small.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(tk.KeyFormatError, match="2048"):
        read_signer_key(path)
    with pytest.raises(tk.KeyFormatError, match="unknown public key format"):
        read_signer_key(tk.PublicKey.from_crypto(ed25519.Ed25519PrivateKey.generate().public_key()))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(tk.KeyFormatError, match="expired"):
        read_signer_key(certificate(ec_key, days=-1))
    with pytest.raises(tk.KeyFormatError, match="unable to read public key from file"):
        read_signer_key(tmp_path / "missing.pub")
    with pytest.raises(tk.KeyFormatError, match=str(tmp_path / "bad.pub")):
        (tmp_path / "bad.pub").write_text("not a key")
        read_signer_key(tmp_path / "bad.pub")


@pytest.mark.parametrize("name", ["releases", "Jeff", "-x", "a b", "", "x\n"])
def test_signer_names_docker_refuses(admin: DockerTrust, name: str) -> None:
    with pytest.raises(ValueError):
        admin.add_signer(name, REPO, keys=[admin.generate_key("ok")])
    with pytest.raises(ValueError):
        admin.remove_signer(name, REPO)


def test_add_signer_needs_keys(admin: DockerTrust) -> None:
    with pytest.raises(ValueError, match="public key"):
        admin.add_signer("jeff", REPO, keys=[])


def test_remove_signer_does_what_docker_means(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine = make_trust("admin"), make_trust("ben")
    jeff = admin.generate_key("jeff")
    ben = ben_machine.generate_key("ben")
    shared = tk.generate_private_key().public_key
    admin.add_signer("jeff", REPO, keys=[jeff, shared])
    admin.add_signer("ben", REPO, keys=[ben, shared])
    admin.sign(f"{REPO}:both", digest=DIGEST, size=1)
    ben_machine.sign(f"{REPO}:bens", digest=DIGEST, size=1)  # targets/releases now signed by ben alone

    removed = admin.remove_signer("ben", REPO)
    assert removed.removed_key_ids == (ben.key_id,)
    assert removed.kept_key_ids == (shared.key_id,)  # jeff holds it too: it stays in targets/releases
    assert (removed.releases_keys, removed.releases_threshold) == (2, 1)
    assert removed.needs_witness and not removed.witnessed
    assert removed.tags_to_resign == ("bens", "both")  # every tag of the un-verifiable targets/releases
    assert any("witness" in w for w in removed.warnings)
    assert set(delegations(admin)) == {"targets/jeff", "targets/releases"}
    assert delegations(admin)["targets/releases"][0] == (jeff.key_id, shared.key_id)

    with pytest.raises(tk.UnknownRoleError, match="no signer ben"):
        admin.remove_signer("ben", REPO)


def test_remove_signer_with_witness_and_last_signer(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine = make_trust("admin"), make_trust("ben")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.add_signer("ben", REPO, keys=[ben_machine.generate_key("ben")])
    ben_machine.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    removed = admin.remove_signer("ben", REPO, witness=True)  # re-signed by jeff's key in the same publish
    assert removed.witnessed and not removed.needs_witness
    assert removed.tags_to_resign == ("v1",)  # only ben had signed it
    assert [t.signers for t in admin.inspect(REPO)[0].signed_tags] == [("Repo Admin",)]

    last = admin.remove_signer("jeff", REPO)
    assert (last.releases_keys, last.releases_threshold) == (0, 1)
    assert any("fewer than its threshold" in w for w in last.warnings)
    assert admin.inspect(REPO)[0].signers == ()


def test_remove_signer_before_any_tag(admin: DockerTrust) -> None:
    # docker refuses ("all signed tags are currently revoked") when targets/releases has never been signed
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.add_signer("ben", REPO, keys=[admin.generate_key("ben")])
    removed = admin.remove_signer("ben", REPO)
    assert not removed.needs_witness and removed.tags_to_resign == () and removed.warnings == ()
    assert [s.name for s in admin.inspect(REPO)[0].signers] == ["jeff"]


@pytest.mark.parametrize(
    "pem",
    [
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        b"\x00\xff not pem",
    ],
)
def test_unusable_key_material_is_a_key_format_error(pem: bytes) -> None:
    with pytest.raises(tk.KeyFormatError, match="could not parse public key"):
        read_signer_key(pem)


def test_add_signer_takes_a_securesystemslib_key(admin: DockerTrust) -> None:
    """What HSMSigner.import_ returns (an SSlibKey) is a public key like any other."""
    from securesystemslib.signer import SSlibKey

    jeff = tk.generate_private_key().public_key
    sslib = SSlibKey.from_crypto(jeff.crypto_key, "hsm-key-id", "ecdsa-sha2-nistp256")
    added = admin.add_signer("jeff", REPO, keys=[sslib])
    assert added.keys == (jeff,)
    assert delegations(admin)["targets/jeff"][0] == (jeff.key_id,)
    with pytest.raises(tk.KeyFormatError, match="expected a public key"):
        admin.add_signer("ben", REPO, keys=[42])  # type: ignore[list-item]
