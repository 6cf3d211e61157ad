"""Keystores against the real ``docker trust`` (docker CLI 28, no daemon) and the notary CLI on docker's trust dir.

docker → trustkit: ``docker trust key generate`` and ``docker trust signer add`` keys are listed, decrypted with
docker's passphrase variables and sign delegations that notary-server accepts and ``docker trust inspect`` shows.
trustkit → docker: keys trustkit generated or loaded into docker's trust dir are used by ``docker trust signer
add`` and by notary (as ``docker trust sign`` would) to sign tags; trustkit's exports load with ``docker trust key
load``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import trustkit as tk
from tests.interop._publish import fetch_metadata, publish, read_table, role_url
from tests.interop.harness import DockerTrustCLI, NotaryServer
from trustkit.keys.pem import decode_pem_blocks
from trustkit.keystore import (
    DockerEnvPassphrase,
    FileKeyStore,
    generate_delegation_key,
    load_key_file,
    public_key_pem,
)

pytestmark = pytest.mark.interop

KEY_COLUMNS = ("ROLE", "GUN", "KEY ID", "LOCATION")
MANIFEST = b'{"schemaVersion":2,"note":"not a real manifest"}'
DIGEST = hashlib.sha256(MANIFEST).hexdigest()


def docker_store(docker: DockerTrustCLI) -> FileKeyStore:
    """trustkit on docker's trust dir with the passphrases docker reads from its environment."""
    return FileKeyStore(docker.trust_dir, passphrase=DockerEnvPassphrase(environ=docker.env))


def signed_tags(docker: DockerTrustCLI, gun: str) -> list[tuple[str, str, list[str]]]:
    [info] = docker.inspect(gun)
    return [(t["SignedTag"], t["Digest"], t["Signers"]) for t in info["SignedTags"]]


def server_version(server: NotaryServer, gun: str, role: str) -> int:
    """The version of ``role`` on the server (0 when it has none yet)."""
    with server.client() as client:
        response = client.get(role_url(gun, f"{role}.json"))
    if response.status_code == 404:
        return 0
    response.raise_for_status()
    return tk.Metadata.from_bytes(response.content, role=role).signed.version


def test_docker_generated_keys_are_read_and_sign_what_docker_shows(
    docker_cli: DockerTrustCLI, notary_server: NotaryServer, gun: str
) -> None:
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(docker_cli.home))
    store = docker_store(docker_cli)
    [alice] = store.list_keys()
    public = tk.PublicKey.from_pem((docker_cli.home / "alice.pub").read_bytes())
    assert (alice.key_id, alice.role, alice.gun, alice.encrypted) == (public.key_id, "alice", None, True)
    assert alice.path == docker_cli.trust_dir / "private" / f"{public.key_id}.key"

    docker_cli.run("trust", "signer", "add", "--key", str(docker_cli.home / "alice.pub"), "alice", gun)
    infos = store.list_keys()
    assert {(i.role, i.gun) for i in infos} == {("alice", None), ("root", None), ("targets", gun)}
    for info in infos:  # docker's root and repository passphrases open every key docker wrote
        assert store.get_private_key(info.key_id).key_id == info.key_id

    # trustkit signs the tag into targets/releases and targets/alice with docker's key, as `docker trust sign` would
    # (docker's local cache still holds the targets.json from before the signer was added: read the server's)
    targets = tk.Metadata.from_bytes(fetch_metadata(notary_server, gun, "targets"), role="targets")
    assert isinstance(targets.signed, tk.Targets)
    files = {}
    for role in ("targets/releases", "targets/alice"):
        assert targets.signed.delegations.get(role).keyids == (alice.key_id,)
        delegated = tk.Targets(
            version=server_version(notary_server, gun, role) + 1, expires=tk.default_expiry("targets")
        ).with_target("v1", tk.TargetFile.from_digest(DIGEST, len(MANIFEST)))
        signed = tk.Metadata(delegated).sign(store.get_signer(alice.key_id))
        assert targets.signed.verify_delegate(role, signed).verified
        files[role] = signed.to_bytes()
    response = publish(notary_server, gun, files)
    assert response.status_code == 200, response.text
    assert signed_tags(docker_cli, gun) == [("v1", DIGEST, ["alice"])]


def test_trustkit_generated_key_signs_through_docker_and_notary(
    docker_cli: DockerTrustCLI, notary_server: NotaryServer, gun: str
) -> None:
    store = docker_store(docker_cli)
    public = generate_delegation_key(store, "bob", directory=docker_cli.home)
    notary = docker_cli.notary()
    rows = read_table(notary.run("key", "list").stdout, KEY_COLUMNS)
    assert [(role, key_id) for role, _gun, key_id, _location in rows] == [("bob", public.key_id)]

    docker_cli.run("trust", "signer", "add", "--key", str(docker_cli.home / "bob.pub"), "bob", gun)
    # `docker trust sign` needs a daemon; notary on docker's trust dir signs the same way, with trustkit's key
    notary.run(
        "addhash", gun, "v1", str(len(MANIFEST)), "--sha256", DIGEST,
        "--roles", "targets/releases", "--roles", "targets/bob", "-p",
    )  # fmt: skip
    assert signed_tags(docker_cli, gun) == [("v1", DIGEST, ["bob"])]
    [info] = docker_cli.inspect(gun)
    assert {"Name": "bob", "Keys": [{"ID": public.key_id}]} in info["Signers"]


def private_key_file(path: Path, keytype: str) -> tk.PublicKey:
    """An unencrypted private key file as users have them (SEC1 EC or PKCS#1 RSA), mode 0600."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    key = rsa.generate_private_key(65537, 2048) if keytype == "rsa" else ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    os.chmod(path, 0o600)
    return tk.PublicKey.from_crypto(key.public_key())


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
def test_trustkit_loaded_key_signs_through_docker_and_notary(
    docker_cli: DockerTrustCLI, gun: str, keytype: str
) -> None:
    public = private_key_file(docker_cli.home / "carol.pem", keytype)
    store = docker_store(docker_cli)
    [info] = load_key_file(store, docker_cli.home / "carol.pem", name="carol")
    assert (info.key_id, info.role, info.gun) == (public.key_id, "carol", None)
    pub = docker_cli.home / "carol.pub"
    pub.write_bytes(public_key_pem(public, role="carol"))
    docker_cli.run("trust", "signer", "add", "--key", str(pub), "carol", gun)
    docker_cli.notary().run(
        "addhash", gun, "v2", str(len(MANIFEST)), "--sha256", DIGEST,
        "--roles", "targets/releases", "--roles", "targets/carol", "-p",
    )  # fmt: skip
    assert signed_tags(docker_cli, gun) == [("v2", DIGEST, ["carol"])]


def test_docker_loads_trustkit_exports_and_trustkit_loads_what_docker_loads(
    docker_cli: DockerTrustCLI, tmp_path: Path
) -> None:
    store = docker_store(docker_cli)
    public = generate_delegation_key(store, "dave")
    exported = docker_cli.home / "dave-export.pem"
    exported.write_bytes(store.export_key(public.key_id))
    os.chmod(exported, 0o600)

    other = DockerTrustCLI(docker_cli.server, tmp_path / "other-config", tmp_path / "other-home")
    out = other.run("trust", "key", "load", str(exported), "--name", "dave").stdout
    assert "Successfully imported key from" in out
    loaded = docker_store(other)
    [info] = loaded.list_keys()
    assert (info.key_id, info.role, info.gun) == (public.key_id, "dave", None)
    assert info.path is not None
    assert decode_pem_blocks(info.path.read_bytes())[0].headers == {"role": "dave"}  # path header stripped
    assert loaded.get_private_key(public.key_id).public_key == public

    # and the same key file that docker refuses for its permissions, trustkit refuses too
    os.chmod(exported, 0o644)
    refused = other.run("trust", "key", "load", str(exported), "--name", "dave", check=False)
    assert refused.returncode != 0 and "must not be readable or writable by others" in refused.stderr
    with pytest.raises(tk.FileAccessError, match="can be read or written by others"):
        load_key_file(loaded, exported, name="dave")


def test_encrypted_pkcs8_load_docker_drops_and_trustkit_keeps(docker_cli: DockerTrustCLI) -> None:
    """docker 28 says it loaded an encrypted PKCS#8 key without a path header but stores nothing; trustkit stores it."""
    key = tk.generate_private_key()
    path = docker_cli.home / "encrypted.pem"
    path.write_bytes(key.to_pem(docker_cli.repository_passphrase))
    os.chmod(path, 0o600)
    result = docker_cli.run("trust", "key", "load", str(path), "--name", "erin")
    assert "Successfully imported key from" in result.stdout
    store = docker_store(docker_cli)
    assert store.list_keys() == []  # docker's silent no-op
    [info] = load_key_file(store, path, name="erin", passphrase=DockerEnvPassphrase(environ=docker_cli.env))
    assert (info.key_id, info.role) == (key.key_id, "erin")
    rows = read_table(docker_cli.notary().run("key", "list").stdout, KEY_COLUMNS)
    assert [(role, key_id) for role, _gun, key_id, _location in rows] == [("erin", key.key_id)]
    docker_cli.notary().run("key", "passwd", key.key_id)  # notary opens it with docker's repository passphrase


def test_server_rejects_a_delegation_signed_by_an_unlisted_key(
    docker_cli: DockerTrustCLI, notary_server: NotaryServer, gun: str
) -> None:
    """Control for the tests above: the server checks the delegation key trustkit signs with."""
    store = docker_store(docker_cli)
    generate_delegation_key(store, "frank", directory=docker_cli.home)
    docker_cli.run("trust", "signer", "add", "--key", str(docker_cli.home / "frank.pub"), "frank", gun)
    stranger = generate_delegation_key(store, "stranger")
    delegated = tk.Targets(
        version=server_version(notary_server, gun, "targets/frank") + 1, expires=tk.default_expiry("targets")
    ).with_target("v1", tk.TargetFile.from_digest(DIGEST, len(MANIFEST)))
    signed = tk.Metadata(delegated).sign(store.get_signer(stranger.key_id)).to_bytes()
    response: httpx.Response = publish(notary_server, gun, {"targets/frank": signed})
    assert response.status_code == 400, response.text
