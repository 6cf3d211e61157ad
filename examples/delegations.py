"""Docker's "Delegations for content trust" walkthrough, steps 1 to 8, as trustkit calls.

    python examples/delegations.py

runs on an embedded LocalRemote in temporary folders. With DOCKER_CONTENT_TRUST_SERVER set (an https URL), it runs
against that notary server instead, as docker would: the CA in $DOCKER_CONFIG/tls/<host:port>/, logins from
$DOCKER_CONFIG/config.json, keys in $DOCKER_CONFIG/trust (default ~/.docker), passphrases from
DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE and DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE (example values when unset).
Each run uses a fresh repository name, and deletes its trust data at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import trustkit as tk
from trustkit.dct import DockerTrust
from trustkit.keys import PublicKey
from trustkit.keystore import DockerEnvPassphrase, FileKeyStore, KeyInfo
from trustkit.remote import LocalRemote, NotaryServer, gun_from_reference


def step(number: int, title: str) -> None:
    print(f"\n=== {number}. {title}")


def openssl_style_key_and_cert(folder: Path, name: str) -> tuple[Path, Path]:
    """What `openssl genrsa -out delegation.key 2048` and a self-signed `openssl x509 -req -days 365` make."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = folder / f"{name}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)  # docker trust key load refuses keys others can read
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / f"{name}.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclasses.dataclass
class Walk:
    """What the steps share: the folders, the environment, the two machines and the repository."""

    work: Path
    env: dict[str, str]
    remote: LocalRemote | None
    admin: DockerTrust
    repo: str
    manifest: bytes = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()


def configure() -> Walk:
    """Step 1: docker's configuration, or the embedded remote."""
    work = Path(tempfile.mkdtemp(prefix="trustkit-delegations-"))
    env = dict(os.environ)
    for variable, example in [
        ("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "example root passphrase"),
        ("DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "example repository passphrase"),
    ]:
        env[variable] = env.get(variable) or example
    server = env.get("DOCKER_CONTENT_TRUST_SERVER")

    step(1, "Configure the trust server")
    if server:
        admin = DockerTrust(env=env)  # docker's own resolution: server, TLS folder, logins, trust dir
        remote = None
        print(f"notary server {admin.server_config('localhost:5000/example/x').url}, trust dir {admin.trust_dir}")
    else:
        env["DOCKER_CONFIG"] = str(work / "docker")
        remote = LocalRemote(work / "remote")  # the embedded default: a folder that behaves as notary-server
        admin = DockerTrust(env=env, remote=remote)
        print(f"embedded remote {remote.path}, trust dir {admin.trust_dir}")
    repo = f"localhost:5000/example/demo-{uuid.uuid4().hex[:8]}"
    print(f"repository {repo} (GUN {gun_from_reference(repo)})")
    return Walk(work, env, remote, admin, repo)


def keys_and_signers(walk: Walk) -> tuple[DockerTrust, KeyInfo, PublicKey, Path]:
    """Steps 2 to 4: delegation keys, signers, inspect."""
    work, env, remote, admin, repo = walk.work, walk.env, walk.remote, walk.admin, walk.repo
    step(2, "Create delegation keys")
    ben_machine = DockerTrust(  # ben keeps his key on his own machine: another keystore, the same server
        env=env, remote=remote, keystore=FileKeyStore(work / "ben-trust", passphrase=DockerEnvPassphrase(environ=env))
    )
    ben_pub = ben_machine.generate_key("ben", directory=work)  # docker trust key generate ben
    print(f"generated ben {ben_pub.key_id[:12]}, public key in {work / 'ben.pub'}")
    jeff_key, jeff_cert = openssl_style_key_and_cert(work, "delegation")
    [jeff] = admin.load_key(jeff_key, name="jeff")  # docker trust key load delegation.key --name jeff
    jeff2 = admin.generate_key("jeff", directory=None)  # a second key for jeff, for key rotation
    for info in admin.list_keys():  # notary key list
        print(f"  {info.role:10} {info.gun or '':30} {info.key_id}  {info.location}")

    step(3, "Add signers")
    added = admin.add_signer("jeff", repo, keys=[jeff_cert])  # docker trust signer add --key delegation.crt jeff
    print(f"added jeff {added.key_ids[0][:12]}; repository initialised: {added.initialized}")
    admin.add_signer("ben", repo, keys=[work / "ben.pub"])
    admin.add_signer("jeff", repo, keys=[jeff2])  # a second key for an existing signer
    assert jeff.key_id in admin.inspect(repo)[0].signer("jeff").key_ids

    step(4, "Inspect")
    print(admin.inspect(repo).pretty(), end="")
    return ben_machine, jeff, jeff2, jeff_cert


def sign_remove_and_notary_steps(walk: Walk, ben_machine: DockerTrust, jeff: KeyInfo) -> None:
    """Steps 5 to 7: sign and revoke, remove a signer, the notary steps."""
    admin, repo, digest, manifest = walk.admin, walk.repo, walk.digest, walk.manifest
    step(5, "Sign and revoke tags")
    signed = admin.sign(f"{repo}:v1", digest=digest, size=len(manifest))  # docker trust sign, after the push
    print(f"v1 {signed.digest} signed into {', '.join(signed.roles)}")
    admin.sign(f"{repo}:v2", digest=digest, size=len(manifest))
    print(f"revoked {admin.revoke(f'{repo}:v2').tags}")  # docker trust revoke REPO:v2
    ben_signed = ben_machine.sign(f"{repo}:v3", digest=digest, size=len(manifest))
    print(f"ben signed v3 into {', '.join(ben_signed.roles)}")
    report = admin.inspect(repo, f"{repo}:v3")  # several repositories (or tags) in one call
    print(report.to_json(), end="")
    assert [t.name for t in report[0].signed_tags] == ["v1", "v3"]

    step(6, "Remove a signer (docker 28 silently does nothing here)")
    removed = admin.remove_signer("ben", repo)
    print(f"removed ben's keys {[k[:12] for k in removed.removed_key_ids]} from targets/releases")
    for warning in removed.warnings:
        print(f"  warning: {warning}")
    assert removed.needs_witness and removed.tags_to_resign == ("v1", "v3")

    step(7, "Notary steps: remove a key from a delegation, remove a local key, witness, delete")
    admin.remove_delegation_keys(repo, [jeff.key_id], roles=["targets/releases", "targets/jeff"])
    print(f"removed {jeff.key_id[:12]} from targets/releases and targets/jeff")
    print(f"removed local key {admin.remove_key(jeff.key_id).key_id[:12]}")
    admin.witness(repo, "targets/releases")  # notary witness REPO targets/releases: re-signed by jeff's other key
    admin.sign(f"{repo}:v3", digest=digest, size=len(manifest))  # v3 re-signed by an active signer
    print(admin.inspect(repo).pretty(), end="")
    admin.delete(repo, remote=True)  # notary delete REPO --remote
    print(f"deleted all trust data of {repo}")


def failures(walk: Walk, ben_machine: DockerTrust, jeff2: PublicKey, jeff_cert: Path) -> None:
    """Step 8: each failure of the walkthrough, as the typed error trustkit raises."""
    env, remote, admin, repo, digest, manifest = (
        walk.env,
        walk.remote,
        walk.admin,
        walk.repo,
        walk.digest,
        walk.manifest,
    )
    step(8, "Every failure is a typed error that says what to do")
    try:
        admin.inspect(repo)
    except tk.RepositoryNotFoundError as error:
        print(f"RepositoryNotFoundError: {error}")

    def login_required(request: httpx.Request) -> httpx.Response:  # a server that wants a login (simulated)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'}, request=request)

    locked = NotaryServer("https://notary.example.com", transport=httpx.MockTransport(login_required))
    try:
        DockerTrust(env=env, remote=locked).add_signer("jeff", repo, keys=[jeff_cert])
    except tk.UnauthorizedError as error:
        print(f"UnauthorizedError: {error}")

    other = f"{repo}-errors"
    admin.add_signer("ben", other, keys=[walk.work / "ben.pub"])
    ben_machine.sign(f"{other}:v1", digest=digest, size=len(manifest))
    admin.add_signer("jeff", other, keys=[jeff2])
    admin.remove_signer("ben", other)  # targets/releases was signed by ben alone: it no longer verifies
    try:
        admin.sign(f"{other}:v2", digest=digest, size=len(manifest))
    except tk.ThresholdError as error:
        print(f"ThresholdError: {error}")
    admin.witness(other, "targets/releases")  # the fix
    wrong = dict(env, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE="not the passphrase")
    try:
        DockerTrust(env=wrong, remote=remote).sign(f"{other}:v2", digest=digest, size=len(manifest))
    except tk.PassphraseError as error:
        print(f"PassphraseError: {error}")
    print(f"after the witness, v2 signed into {admin.sign(f'{other}:v2', digest=digest, size=len(manifest)).roles}")
    admin.remove_signer("jeff", other)  # targets/releases now has no key at all
    try:
        admin.sign(f"{other}:v3", digest=digest, size=len(manifest))
    except tk.SigningError as error:
        print(f"SigningError: {error}")
    admin.delete(other, remote=True)


def main() -> None:
    logging.getLogger("trustkit").setLevel(logging.ERROR)  # the results carry the warnings; printed below
    walk = configure()
    ben_machine, jeff, jeff2, jeff_cert = keys_and_signers(walk)
    sign_remove_and_notary_steps(walk, ben_machine, jeff)
    failures(walk, ben_machine, jeff2, jeff_cert)
    walk.admin.close()
    print("\ndone")


if __name__ == "__main__":
    sys.exit(main())
