"""The DCT layer against the real ``docker trust`` (docker 28, no daemon) and notary CLI, on the same trust
directory and notary-server, both ways.

``docker trust sign`` needs a daemon, so real signatures are made with ``notary addhash`` on docker's trust dir, as
``docker trust sign`` would make them. ``to_json()`` and ``pretty()`` are compared byte for byte with what docker
prints for the same references.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import trustkit as tk
from tests.interop._publish import DIGEST, MANIFEST, notary_sign, read_table
from tests.interop.harness import DockerTrustCLI, NotaryCLI
from trustkit.client import MetadataCache
from trustkit.dct import DockerTrust
from trustkit.policy import Policy, Rule, TrustAnchor, verify

pytestmark = pytest.mark.interop

OTHER = hashlib.sha256(b"another manifest").hexdigest()


def trust_of(docker: DockerTrustCLI) -> DockerTrust:
    """trustkit configured exactly as the docker CLI: same DOCKER_CONFIG, server, CA folder and passphrases."""
    return DockerTrust(env=docker.env)


def delegation_list(notary: NotaryCLI, gun: str) -> dict[str, set[str]]:
    """``notary delegation list``: role → key IDs (continuation rows hold a role's further keys)."""
    found: dict[str, set[str]] = {}
    role = ""
    for row in read_table(notary.run("delegation", "list", gun).stdout, ("ROLE", "PATHS", "KEY IDS", "THRESHOLD")):
        role = row[0] or role
        found.setdefault(role, set()).update(k for k in [row[2]] if k)
    return found


def assert_same_output(docker: DockerTrustCLI, trust: DockerTrust, *refs: str) -> None:
    """docker trust inspect [--pretty] REFS… prints exactly trustkit's rendering of the same references."""
    report = trust.inspect(*refs, strict=False)
    plain = docker.run("trust", "inspect", *refs, check=False)
    assert report.to_json() == plain.stdout
    assert (plain.returncode != 0) == bool(report.failures)
    pretty = docker.run("trust", "inspect", "--pretty", *refs, check=False)
    assert report.pretty() == pretty.stdout
    for failure in report.failures:
        assert f"no signatures or cannot access {failure.reference}" in plain.stderr
        assert str(failure.error).startswith(f"no signatures or cannot access {failure.reference}")


def rsa_key_and_cert(folder: Path, name: str) -> tuple[Path, Path]:
    """`openssl genrsa 2048` and a self-signed `openssl x509 -req -days 365`, as docker's documentation does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_inspect_output_equals_dockers(docker_cli: DockerTrustCLI, gun: str) -> None:
    home, notary = docker_cli.home, docker_cli.notary()
    for name in ("alice", "bob", "carol"):
        docker_cli.run("trust", "key", "generate", name, "--dir", str(home))
    for name in ("alice", "bob"):
        docker_cli.run("trust", "signer", "add", "--key", str(home / f"{name}.pub"), name, gun)
    notary_sign(notary, gun, "v1", "targets/releases", "targets/alice")
    notary_sign(notary, gun, "v10", "targets/releases", "targets/alice", "targets/bob")
    notary_sign(notary, gun, "v2", "targets/releases")  # Repo Admin: in targets/releases only
    notary_sign(notary, gun, "latest", digest=OTHER, size=16)  # Repo Admin: in targets only
    notary_sign(notary, gun, "unreleased", "targets/bob")  # in a signer's role only: not shown
    notary_sign(notary, gun, "1.9", "targets/releases", "targets/bob")
    unsigned = f"{gun}-unsigned"
    docker_cli.run("trust", "signer", "add", "--key", str(home / "carol.pub"), "carol", unsigned)
    missing = f"{gun}-missing"

    trust = trust_of(docker_cli)
    [info] = trust.inspect(gun)
    assert [(t.name, t.signers) for t in info.signed_tags] == [
        ("1.9", ("bob",)),
        ("latest", ("Repo Admin",)),
        ("v1", ("alice",)),
        ("v2", ("Repo Admin",)),
        ("v10", ("alice", "bob")),
    ]
    assert_same_output(docker_cli, trust, gun)
    assert_same_output(docker_cli, trust, unsigned)
    assert_same_output(docker_cli, trust, f"{gun}:v10")
    assert_same_output(docker_cli, trust, f"{gun}:nope")
    assert_same_output(docker_cli, trust, f"{gun}@sha256:{DIGEST}")
    assert_same_output(docker_cli, trust, gun, unsigned, f"{gun}:v2", f"{gun}:latest")
    assert_same_output(docker_cli, trust, missing)
    assert_same_output(docker_cli, trust, gun, missing, unsigned)  # docker's pretty output stops at the failure
    trust.close()


def test_trustkit_steps_seen_by_docker_and_notary(docker_cli: DockerTrustCLI, gun: str) -> None:
    trust, notary, home = trust_of(docker_cli), docker_cli.notary(), docker_cli.home
    # 2. keys: generated, and an RSA key with its certificate loaded as jeff
    ben = trust.generate_key("ben", directory=home)
    jeff_key, jeff_cert = rsa_key_and_cert(home, "delegation")
    [jeff] = trust.load_key(jeff_key, name="jeff")
    key_rows = read_table(notary.run("key", "list").stdout, ("ROLE", "GUN", "KEY ID", "LOCATION"))
    assert {(r[0], r[2]) for r in key_rows} == {("ben", ben.key_id), ("jeff", jeff.key_id)}
    assert {(k.role, k.key_id) for k in trust.list_keys()} == {("ben", ben.key_id), ("jeff", jeff.key_id)}

    # 3. signers: the first initialises the repository
    added = trust.add_signer("jeff", gun, keys=[jeff_cert])
    assert added.initialized and added.key_ids == (jeff.key_id,)
    assert delegation_list(notary, gun) == {"targets/jeff": {jeff.key_id}, "targets/releases": {jeff.key_id}}
    assert_same_output(docker_cli, trust, gun)
    trust.add_signer("ben", gun, keys=[home / "ben.pub"])
    jeff2 = trust.generate_key("jeff")
    trust.add_signer("jeff", gun, keys=[jeff2])
    [shown] = docker_cli.inspect(gun)
    assert {s["Name"]: {k["ID"] for k in s["Keys"]} for s in shown["Signers"]} == {
        "jeff": {jeff.key_id, jeff2.key_id},
        "ben": {ben.key_id},
    }
    assert delegation_list(notary, gun)["targets/releases"] == {jeff.key_id, ben.key_id, jeff2.key_id}

    # 5. sign and revoke
    signed = trust.sign(f"{gun}:v1", digest=f"sha256:{DIGEST}", size=len(MANIFEST))
    assert signed.roles == ("targets/jeff", "targets/releases", "targets/ben")
    trust.sign(f"{gun}:v2", digest=OTHER, size=16)
    [shown] = docker_cli.inspect(gun)
    assert [(t["SignedTag"], t["Digest"], t["Signers"]) for t in shown["SignedTags"]] == [
        ("v1", DIGEST, ["jeff", "ben"]),
        ("v2", OTHER, ["jeff", "ben"]),
    ]
    lookup = notary.run("lookup", gun, "v1").stdout
    assert DIGEST in lookup and str(len(MANIFEST)) in lookup
    trust.revoke(f"{gun}:v2")
    assert [t["SignedTag"] for t in docker_cli.inspect(gun)[0]["SignedTags"]] == ["v1"]
    assert_same_output(docker_cli, trust, gun, f"{gun}:v1")

    # 6. signer remove, done
    removed = trust.remove_signer("ben", gun)
    assert removed.removed_key_ids == (ben.key_id,) and not removed.needs_witness
    assert set(delegation_list(notary, gun)) == {"targets/jeff", "targets/releases"}
    assert [s["Name"] for s in docker_cli.inspect(gun)[0]["Signers"]] == ["jeff"]
    assert_same_output(docker_cli, trust, gun)

    # 7. notary steps
    trust.remove_delegation_keys(gun, [jeff.key_id], roles=["targets/releases", "targets/jeff"])
    assert delegation_list(notary, gun) == {"targets/jeff": {jeff2.key_id}, "targets/releases": {jeff2.key_id}}
    trust.remove_key(jeff.key_id)
    assert jeff.key_id not in notary.run("key", "list").stdout
    trust.witness(gun, "targets/releases")
    assert "v1" in notary.run("list", gun, "--roles", "targets/releases").stdout
    assert_same_output(docker_cli, trust, gun)
    trust.delete(gun)
    result = docker_cli.run("trust", "inspect", gun, check=False)
    assert result.returncode == 1 and f"no signatures or cannot access {gun}" in result.stderr
    trust.close()


def test_docker_steps_inspected_and_changed_by_trustkit(docker_cli: DockerTrustCLI, gun: str) -> None:
    notary, home = docker_cli.notary(), docker_cli.home
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(home))
    bob_key, bob_cert = rsa_key_and_cert(home, "bob")
    docker_cli.run("trust", "key", "load", str(bob_key), "--name", "bob")
    docker_cli.run("trust", "signer", "add", "--key", str(home / "alice.pub"), "alice", gun)
    docker_cli.run("trust", "signer", "add", "--key", str(bob_cert), "bob", gun)
    notary_sign(notary, gun, "v1", "targets/releases", "targets/alice", "targets/bob")
    notary_sign(notary, gun, "v2", "targets/releases", "targets/alice")
    docker_cli.run("trust", "revoke", "--yes", f"{gun}:v2")

    trust = trust_of(docker_cli)
    assert_same_output(docker_cli, trust, gun, f"{gun}:v1", f"{gun}:v2")
    alice_id = tk.PublicKey.from_pem((home / "alice.pub").read_bytes()).key_id
    bob_id = tk.PublicKey.from_pem(bob_cert.read_bytes()).canonical_id
    assert {(k.role, k.key_id) for k in trust.list_keys() if k.role in ("alice", "bob")} == {
        ("alice", alice_id),
        ("bob", bob_id),
    }

    # trustkit signs with the keys docker made; docker shows the signature
    signed = trust.sign(f"{gun}:v3", digest=OTHER, size=16)
    assert signed.roles == ("targets/alice", "targets/releases", "targets/bob")
    assert docker_cli.inspect(gun)[0]["SignedTags"][-1] == {
        "SignedTag": "v3",
        "Digest": OTHER,
        "Signers": ["alice", "bob"],
    }
    trust.sign(f"{gun}:v1")  # re-sign docker's released v1 with its current target
    assert_same_output(docker_cli, trust, gun)

    # docker 28's signer remove does nothing (bob is not the last signer); trustkit removes him
    docker_cli.run("trust", "signer", "remove", "bob", gun)
    assert set(delegation_list(notary, gun)) == {"targets/alice", "targets/bob", "targets/releases"}
    removed = trust.remove_signer("bob", gun)
    assert removed.removed_key_ids == (bob_id,)
    assert delegation_list(notary, gun) == {"targets/alice": {alice_id}, "targets/releases": {alice_id}}
    assert_same_output(docker_cli, trust, gun)

    # and docker keeps working on what trustkit changed
    docker_cli.run("trust", "signer", "add", "--key", str(bob_cert), "bob", gun)
    docker_cli.run("trust", "revoke", "--yes", f"{gun}:v3")
    [info] = trust.inspect(gun)
    assert [t.name for t in info.signed_tags] == ["v1"] and {s.name for s in info.signers} == {"alice", "bob"}
    revoked = trust.revoke(gun)
    assert revoked.tags == ("v1",)
    result = docker_cli.run("trust", "inspect", "--pretty", gun)
    assert result.stdout.startswith(f"\nNo signatures for {gun}\n")
    trust.close()


def test_failures_docker_reports_are_typed(docker_cli: DockerTrustCLI, gun: str) -> None:
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(docker_cli.home))
    docker_cli.run("trust", "signer", "add", "--key", str(docker_cli.home / "alice.pub"), "alice", gun)
    trust = trust_of(docker_cli)
    with pytest.raises(tk.RepositoryNotFoundError, match="trust data missing for remote repository"):
        trust.inspect(f"{gun}-none")
    wrong = DockerTrust(env={**docker_cli.env, "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "wrong"})
    with pytest.raises(tk.PassphraseError, match="DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"):
        wrong.sign(f"{gun}:v1", digest=DIGEST, size=len(MANIFEST))
    with pytest.raises(tk.SigningError, match="no valid signing keys for delegation roles"):
        DockerTrust(env=docker_cli.env, keystore=tk.MemoryKeyStore()).sign(f"{gun}:v1", digest=DIGEST, size=1)
    # docker sees what notary-server holds: nothing was published by the failed attempts
    assert docker_cli.inspect(gun)[0]["SignedTags"] == []
    trust.close()
    wrong.close()


def test_a_signer_added_but_never_signed_is_skipped_until_it_signs_and_after_its_removal(
    docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    home, notary = docker_cli.home, docker_cli.notary()
    for name in ("alice", "carol"):
        docker_cli.run("trust", "key", "generate", name, "--dir", str(home))
        docker_cli.run("trust", "signer", "add", "--key", str(home / f"{name}.pub"), name, gun)
    notary_sign(notary, gun, "latest", "targets/releases", "targets/alice")  # alice signs; carol never does
    trust = trust_of(docker_cli)
    reader = trust.repository(gun).reader()
    trusted = reader.refresh()
    # the real server: targets delegates to carol, whose role has no file, so the snapshot does not list it
    assert "targets/carol" in {d.name for d in trusted["targets"].signed.delegations.roles}
    assert "targets/carol" not in trusted["snapshot"].signed.meta
    root_ids = trust.inspect(gun)[0].root_key_ids
    policy = Policy((Rule("localhost:5000/*", TrustAnchor.pinned(root_key_ids=root_ids)),))

    def reads_work(carol_state: dict[str, str]) -> None:
        for client in (reader, trust.repository(gun).reader()):  # refreshed in-process, and a new warm one
            client.refresh()
            assert client.get_target("latest", roles=["targets/releases", "targets"]).role == "targets/releases"
            assert client.get_target("latest").target.hashes["sha256"].hex() == DIGEST
            assert (client.skipped, client.trusted.blocked) == (carol_state, {})
        assert_same_output(docker_cli, trust, gun, f"{gun}:latest")
        verdict = verify(gun, policy, trust_dir=tmp_path / "verifier", docker=trust)  # bare: latest
        assert verdict.allowed and verdict.digest == f"sha256:{DIGEST}", verdict.message

    never_signed = "targets delegates to it but the snapshot does not list it: never signed into"
    reads_work({"targets/carol": never_signed})
    notary_sign(notary, gun, "v2", "targets/carol", digest=OTHER, size=16)  # carol signs: now listed
    reads_work({})
    assert "targets/carol" in reader.trusted["snapshot"].signed.meta
    notary.run("delegation", "remove", gun, "targets/carol", "--yes", "-p")  # deleted: gone from targets too
    reads_work({})
    # notary-server 0.7 keeps listing the orphaned file; trustkit forgets its cached copy (no longer delegated)
    assert "targets/carol" in reader.trusted["snapshot"].signed.meta
    assert "targets/carol" not in MetadataCache(trust.trust_dir, gun).roles()
    trust.close()
