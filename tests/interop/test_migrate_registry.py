"""Migrating off DCT end to end: DCT data made by the real docker and notary CLIs for images pushed to a real
docker-registry 2.8.2; trustkit plans and re-signs as cosign-format signatures; every pushed signature is checked
by ``openssl dgst -verify`` over the payload bytes and the attachments by Debian's skopeo 1.9.3 (whose sigstore
verification is disabled: "sigstore disabled" means the ``.sig`` tag was found, is OCI and holds a simple-signing
layer; "no signature exists" means it is missing; see shared/reference/sigstore-attachments.md §4.2 and §7)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.interop.harness import DockerTrustCLI, NotaryCLI, require_binary
from tests.interop.registry_harness import DockerRegistry, PushedManifest, TokenRegistry, push_image, push_index
from trustkit.dct import DockerTrust, Registry
from trustkit.dct.registry_write import get_manifest, list_tags
from trustkit.errors import UnauthorizedError, VerificationError
from trustkit.keys import PublicKey, generate_private_key
from trustkit.migrate import (
    PROVENANCE_KEY,
    SIMPLE_SIGNING_MEDIA_TYPE,
    MigrationRecord,
    SignatureLayer,
    append_signatures,
    load_cosign_key,
    load_verification_key,
    make_payload,
    parse_payload,
    plan_migration,
    read_signatures,
    run_migration,
    sign_payload,
    signature_tag,
    verify_image,
    write_consumer_config,
)
from trustkit.remote import Credentials

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    require_binary("docker-registry", "docker-registry")
    with DockerRegistry(tmp_path_factory.mktemp("migrate-registry")) as server:
        yield server


def notary_sign(notary: NotaryCLI, gun: str, tag: str, image: PushedManifest, *roles: str) -> None:
    """What ``docker trust sign`` does after a push (it needs a daemon): the notary CLI on docker's trust dir."""
    role_args = [arg for role in roles for arg in ("--roles", role)]
    notary.run("addhash", gun, tag, str(image.size), "--sha256", image.digest.removeprefix("sha256:"), *role_args, "-p")


def _skopeo(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_released_tags_are_resigned_once_and_verified_independently(
    registry: DockerRegistry, docker_cli: DockerTrustCLI, tmp_path: Path
) -> None:
    path = f"trustkit/mig-{uuid.uuid4().hex[:8]}"
    gun = f"localhost:5000/{path}"  # docker's name for the repository; the registry serves it on its own port
    pulled = f"{registry.host_port}/{path}"  # what consumers pull: the identity the signatures carry
    with registry.client() as client:
        v1 = push_image(client, path, "v1", kind="oci")
        v2 = push_image(client, path, "v2", kind="docker")
        children = [push_image(client, path, None, kind="oci", architecture=arch) for arch in ("amd64", "arm64")]
        multi = push_index(client, path, "multi", children)
        drift_old = push_image(client, path, "drift", kind="oci")
        push_image(client, path, "unsigned", kind="oci")
        alice_only = push_image(client, path, "alice-only", kind="oci")
        gone = push_image(client, path, None, kind="oci")  # DCT-signed as "gone", never tagged in the registry

    home, notary = docker_cli.home, docker_cli.notary()
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(home))
    docker_cli.run("trust", "signer", "add", "--key", str(home / "alice.pub"), "alice", gun)
    notary_sign(notary, gun, "v1", v1, "targets/releases", "targets/alice")
    notary_sign(notary, gun, "v2", v2)  # targets only: Repo Admin
    notary_sign(notary, gun, "multi", multi, "targets/releases")
    notary_sign(notary, gun, "drift", drift_old, "targets/releases", "targets/alice")
    notary_sign(notary, gun, "alice-only", alice_only, "targets/alice")  # a signer's role only: not released
    notary_sign(notary, gun, "gone", gone, "targets/releases")
    with registry.client() as client:
        drift_new = push_image(client, path, "drift", kind="oci")  # the tag moved after DCT signed it

    trust = DockerTrust(env=docker_cli.env)
    trusted = trust.repository(gun).reader().refresh()
    key = generate_private_key()
    verifier = load_verification_key(key)
    with Registry(registry.url, ca=registry.ca_path) as reg:
        plan = plan_migration(trusted, reg, gun)
        by_tag = {record.tag: record for record in plan}
        assert {tag: record.status for tag, record in by_tag.items()} == {
            "v1": "planned",
            "v2": "planned",
            "multi": "planned",
            "drift": "drifted",
            "gone": "missing",
            "unsigned": "not-released",
            "alice-only": "not-released",
        }
        assert by_tag["multi"].manifests == (multi.digest, *(child.digest for child in children))
        assert by_tag["drift"].registry_digest == drift_new.digest and by_tag["drift"].digest == drift_old.digest
        assert (by_tag["v1"].role, by_tag["v1"].signers, by_tag["v1"].size) == ("targets/releases", ("alice",), v1.size)
        assert (by_tag["v2"].role, by_tag["v2"].signers) == ("targets", ("Repo Admin",))

        report = io.StringIO()
        seen: list[tuple[str, int, int]] = []
        records = run_migration(
            plan,
            reg,
            gun,
            key,
            identity=pulled,
            report=report,
            progress=lambda record, done, total: seen.append((record.tag, done, total)),
        )
        statuses = {record.tag: record.status for record in records}
        assert not [r.reason for r in records if r.status == "failed"]
        assert statuses == {
            **{tag: r.status for tag, r in by_tag.items()},
            "v1": "signed",
            "v2": "signed",
            "multi": "signed",
        }
        assert [json.loads(line)["tag"] for line in report.getvalue().splitlines()] == [r.tag for r in plan]
        assert seen == [(record.tag, number, len(plan)) for number, record in enumerate(plan, 1)]

        signed_digests = {v1.digest, v2.digest, multi.digest, *(child.digest for child in children)}
        sig_tags = {tag for tag in list_tags(reg, path) if tag.endswith(".sig")}
        assert sig_tags == {signature_tag(digest) for digest in signed_digests}  # exactly the released images

        # trustkit's verifier, as containers/image: pulled by tag and by digest
        for tag, image in (("v1", v1), ("v2", v2), ("multi", multi)):
            (accepted,) = verify_image(reg, f"{pulled}:{tag}", verifier)
            assert accepted.payload.manifest_digest == image.digest
            verify_image(reg, f"{pulled}@{image.digest}", verifier)
        for child in children:
            verify_image(reg, f"{pulled}@{child.digest}", verifier)
        with pytest.raises(VerificationError, match=f"Signature for identity {pulled}:v1 is not accepted"):
            verify_image(reg, f"{pulled}@{v1.digest}", verifier, signed_identity="matchExact")
        with pytest.raises(VerificationError, match="invalid signature when validating ASN"):
            verify_image(reg, f"{pulled}:v1", load_verification_key(generate_private_key()))
        for tag in ("drift", "unsigned"):
            with pytest.raises(VerificationError, match="A signature was required, but no signature exists"):
                verify_image(reg, f"{pulled}:{tag}", verifier)

        # the DCT provenance in each payload, and an independent cryptographic check of every signature
        public_pem = tmp_path / "pub.pem"
        public_pem.write_bytes(
            verifier.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        checked = 0
        for digest in sorted(signed_digests):
            attachment = read_signatures(reg, path, digest)
            (layer,) = attachment.layers
            assert layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE and layer.payload is not None
            payload = parse_payload(layer.payload)
            provenance = payload.optional[PROVENANCE_KEY]  # type: ignore[index]
            assert provenance["gun"] == gun and payload.manifest_digest == digest
            assert payload.docker_reference == f"{pulled}:{provenance['tag']}"
            if provenance["tag"] == "v1":
                assert (provenance["role"], provenance["signers"]) == ("targets/releases", ["alice"])
                assert provenance["keyIDs"] and provenance["targetsVersion"] >= 1
            (tmp_path / "payload").write_bytes(layer.payload)
            (tmp_path / "sig").write_bytes(base64.b64decode(layer.signature or ""))
            result = subprocess.run(
                ["openssl", "dgst", "-sha256", "-verify", str(public_pem), "-signature", "sig", "payload"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                check=False,
            )
            assert (result.returncode, result.stdout.strip()) == (0, "Verified OK"), result.stderr
            checked += 1
        assert checked == 5

        # a second run adds nothing: same statuses but "already-signed", the .sig manifests unchanged
        before = {tag: get_manifest(reg, path, tag).digest for tag in sig_tags}
        again = run_migration(plan_migration(trusted, reg, gun), reg, gun, key, identity=pulled)
        assert {r.tag: r.status for r in again if r.tag in ("v1", "v2", "multi")} == dict.fromkeys(
            ("v1", "v2", "multi"), "already-signed"
        )
        assert {tag: get_manifest(reg, path, tag).digest for tag in sig_tags} == before
        assert {tag for tag in list_tags(reg, path) if tag.endswith(".sig")} == sig_tags

        # alice's DCT delegation key, reused through docker's keystore as a securesystemslib signer, appends its
        # layer to the same attachments, keeping the first; an Ed25519 key too
        (alice,) = trust.list_keys(role="alice")
        alice_signer = trust.keystore.get_signer(alice.key_id)
        ed25519 = generate_private_key("ed25519")
        for signer in (alice_signer, ed25519):
            records = run_migration(plan, reg, gun, signer, identity=pulled)
            assert {r.tag: r.status for r in records if r.tag in ("v1", "v2", "multi")} == dict.fromkeys(
                ("v1", "v2", "multi"), "signed"
            )
        assert len(read_signatures(reg, path, v1.digest).layers) == 3
        alice_public = load_verification_key(PublicKey.from_sslib_key(alice_signer.public_key))
        for public in (verifier, alice_public, load_verification_key(ed25519)):
            verify_image(reg, f"{pulled}:v1", public)
        docker_made = load_verification_key(PublicKey.from_pem((home / "alice.pub").read_bytes()))
        assert alice_public.public_numbers() == docker_made.public_numbers()  # type: ignore[union-attr]

    _check_with_debian_skopeo(registry, pulled, key, tmp_path)


def _check_with_debian_skopeo(registry: DockerRegistry, pulled: str, key: object, tmp_path: Path) -> None:
    require_binary("skopeo", "skopeo")
    config = write_consumer_config(tmp_path / "containers", pulled, key)  # type: ignore[arg-type]
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copyfile(registry.ca_path, certs / "ca.crt")
    common = ["--policy", str(config.policy), "--registries.d", str(config.registries_d.parent), "copy"]
    common += ["--src-cert-dir", str(certs)]
    for tag, expected in (
        ("v1", "Debian-local change: sigstore disabled"),
        ("multi", "Debian-local change: sigstore disabled"),
        ("unsigned", "A signature was required, but no signature exists"),
        ("drift", "A signature was required, but no signature exists"),
    ):
        out = tmp_path / f"out-{tag}"
        result = _skopeo([*common, f"docker://{pulled}:{tag}", f"dir:{out}"], tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        assert expected in result.stderr, result.stderr


def test_migration_record_json_is_one_line() -> None:
    record = MigrationRecord("v1", "drifted", digest="sha256:" + "ab" * 32, reason="moved")
    line = record.to_json()
    assert "\n" not in line
    assert json.loads(line) == {**record.to_dict(), "manifests": [], "signers": []}


def test_example_migrates_and_resumes(registry: DockerRegistry, docker_cli: DockerTrustCLI, tmp_path: Path) -> None:
    path = f"trustkit/mig-example-{uuid.uuid4().hex[:8]}"
    gun = f"localhost:5000/{path}"
    with registry.client() as client:
        v1 = push_image(client, path, "v1", kind="oci")
        push_image(client, path, "v2", kind="oci")
    home = docker_cli.home
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(home))
    docker_cli.run("trust", "signer", "add", "--key", str(home / "alice.pub"), "alice", gun)
    notary_sign(docker_cli.notary(), gun, "v1", v1, "targets/releases", "targets/alice")
    script = Path(__file__).resolve().parents[2] / "examples" / "migrate_off_dct.py"
    command = [sys.executable, str(script), gun, "--registry", registry.url, "--ca", str(registry.ca_path)]
    command += ["--identity", f"{registry.host_port}/{path}", "--key", str(tmp_path / "cosign.key")]
    env = {**docker_cli.env, "COSIGN_PASSWORD": "example passphrase"}

    def run(*extra: str) -> dict[str, str]:
        result = subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=120, check=True)
        return {line["tag"]: line["status"] for line in map(json.loads, result.stdout.splitlines())}

    assert run("--dry-run") == {"v1": "planned", "v2": "not-released"}
    assert not (tmp_path / "cosign.key").exists()  # a dry run writes nothing
    assert run("--report", str(tmp_path / "report.jsonl"), "--consumer-config", str(tmp_path / "c")) == {
        "v1": "signed",
        "v2": "not-released",
    }
    assert run() == {"v1": "already-signed", "v2": "not-released"}
    assert len((tmp_path / "report.jsonl").read_text().splitlines()) == 2
    key = load_cosign_key((tmp_path / "cosign.key").read_bytes(), "example passphrase")
    assert (tmp_path / "cosign.pub").read_bytes() == next((tmp_path / "c").glob("trustkit-migrated-*.pub")).read_bytes()
    with Registry(registry.url, ca=registry.ca_path) as reg:
        verify_image(reg, f"{registry.host_port}/{path}:v1", load_verification_key(key))


def test_signatures_pushed_with_registry_token_auth(token_registry: TokenRegistry) -> None:
    """Pushing goes through trustkit's registry client: the token for ``pull,push`` is fetched on the registry's
    challenge, with the credentials given."""
    server = token_registry.server
    path = f"trustkit/mig-token-{uuid.uuid4().hex[:8]}"
    with token_registry.push_client(path) as client:
        image = push_image(client, path, "v1", kind="oci")
    key = generate_private_key()
    pulled = f"{server.host_port}/{path}:v1"
    payload = make_payload(pulled, image.digest)
    layer = SignatureLayer.create(payload, base64.b64encode(sign_payload(key, payload)).decode())
    before = len(token_registry.issuer.requests)
    with Registry(server.url, ca=server.ca_path, auth=Credentials("alice", "secret")) as reg:
        assert append_signatures(reg, path, image.digest, [layer]) is True
        verify_image(reg, pulled, load_verification_key(key))
    scopes = {scope for request in token_registry.issuer.requests[before:] for scope in request.scopes}
    assert f"repository:{path}:push,pull" in scopes
    other = make_payload(pulled, image.digest, timestamp=1)
    new_layer = SignatureLayer.create(other, base64.b64encode(sign_payload(key, other)).decode())
    with Registry(server.url, ca=server.ca_path) as anonymous, pytest.raises(UnauthorizedError, match="docker login"):
        append_signatures(anonymous, path, image.digest, [new_layer])
