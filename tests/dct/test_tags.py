"""Signing and revoking tags: docker's signable roles, the new-repository path, and the refusals trustkit adds."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import trustkit as tk
from tests.support.dct import DIGEST, REPO
from trustkit.dct import DockerTrust, TagResolver
from trustkit.dct.registry import ManifestInfo


def roles_holding(trust: DockerTrust, tag: str, ref: str = REPO) -> list[str]:
    trusted = trust.repository(ref).reader().refresh()
    return [role for role in trusted.walk() if tag in trusted[role].signed.targets]


def test_sign_into_every_signable_role(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine = make_trust("admin"), make_trust("ben")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.add_signer("ben", REPO, keys=[ben_machine.generate_key("ben")])
    signed = admin.sign(f"{REPO}:v1", digest=f"sha256:{DIGEST}", size=528)
    assert signed.roles == ("targets/jeff", "targets/releases") and signed.released and not signed.initialized
    assert signed.digest == f"sha256:{DIGEST}" and signed.target == tk.TargetFile.from_digest(DIGEST, 528)
    assert roles_holding(admin, "v1") == ["targets/jeff", "targets/releases"]
    ben_signed = ben_machine.sign(f"{REPO}:v1", digest=DIGEST.upper(), size=528)
    assert ben_signed.roles == ("targets/releases", "targets/ben")
    assert admin.inspect(REPO)[0].signed_tags[0].signers == ("jeff", "ben")
    target = admin.repository(REPO).reader().get_target("v1", roles=["targets/releases"]).target
    assert set(target.hashes) == {"sha256"} and target.custom is None  # sha256 only, no custom: as docker


def test_sign_again_reuses_the_released_target(admin: DockerTrust) -> None:
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.sign(f"{REPO}:v1", digest=DIGEST, size=7)
    admin.add_signer("ben", REPO, keys=[admin.generate_key("ben")])
    again = admin.sign(f"{REPO}:v1")  # docker trust sign on an already signed tag
    assert again.target == tk.TargetFile.from_digest(DIGEST, 7) and "targets/ben" in again.roles
    with pytest.raises(tk.TargetNotFoundError, match="digest= and size="):
        admin.sign(f"{REPO}:v2")


def test_sign_with_a_resolver(make_trust: Callable[..., DockerTrust]) -> None:
    class Registry:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def resolve(self, reference: str) -> ManifestInfo:
            self.asked.append(reference)
            return ManifestInfo(f"sha256:{DIGEST}", 1234, "application/vnd.oci.image.manifest.v1+json")

    registry = Registry()
    assert isinstance(registry, TagResolver)
    trust = make_trust("admin", resolver=registry)
    trust.add_signer("jeff", REPO, keys=[trust.generate_key("jeff")])
    assert trust.sign(f"{REPO}:v1").target.length == 1234 and registry.asked == [f"{REPO}:v1"]


def test_no_delegations_signs_targets(admin: DockerTrust) -> None:
    repository = admin.repository(REPO)
    repository.initialize(server_managed_snapshot=True)
    repository.publish()
    signed = admin.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    assert signed.roles == ("targets",) and signed.released
    assert admin.inspect(REPO)[0].signed_tags[0].signers == ("Repo Admin",)


def test_new_repository_is_initialised_with_the_signer(make_trust: Callable[..., DockerTrust], tmp_path: Path) -> None:
    config = tmp_path / "alice"
    config.mkdir()
    auth = base64.b64encode(b"alice:secret").decode()
    (config / "config.json").write_text(json.dumps({"auths": {"localhost:5000": {"auth": auth}}}))
    alice = make_trust("alice")
    signed = alice.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    assert signed.initialized and signed.signer == "alice"
    assert signed.roles == ("targets/alice", "targets/releases")
    [info] = alice.inspect(REPO)
    assert [s.name for s in info.signers] == ["alice"] and info.signed_tags[0].signers == ("alice",)
    [key] = alice.list_keys(role="alice")  # docker's getOrGenerateNotaryKey: a key named after the signer
    assert info.signers[0].key_ids == (key.key_id,)

    other = make_trust("other")
    with pytest.raises(tk.ConfigurationError, match="docker login localhost:5000"):
        other.sign(f"{REPO}-two:v1", digest=DIGEST, size=1)
    existing = other.generate_key("ci")
    assert other.sign(f"{REPO}-two:v1", digest=DIGEST, size=1, signer="ci").roles[0] == "targets/ci"
    assert other.inspect(f"{REPO}-two")[0].signer("ci").key_ids == (existing.key_id,)  # the existing key reused
    with pytest.raises(tk.RepositoryNotFoundError, match="digest= and size="):
        other.sign(f"{REPO}-three:v1", signer="ci")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (REPO, "no tag specified"),
        (f"{REPO}@sha256:{DIGEST}", "digest reference"),
        (f"{REPO}:v1@sha256:{DIGEST}", "digest"),
    ],
)
def test_sign_needs_a_tag(admin: DockerTrust, reference: str, message: str) -> None:
    with pytest.raises(tk.ConfigurationError, match=message):
        admin.sign(reference, digest=DIGEST, size=1)


def test_bad_digests(admin: DockerTrust) -> None:
    for digest, size in [("sha512:" + "ab" * 64, 1), ("zz", 1), (DIGEST, -1), (DIGEST, None)]:
        with pytest.raises(ValueError):
            admin.sign(f"{REPO}:v1", digest=digest, size=size)


def test_refusals_docker_does_not_make(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine, outsider = make_trust("admin"), make_trust("ben"), make_trust("outsider")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    ben_key = ben_machine.generate_key("ben")
    admin.add_signer("ben", REPO, keys=[ben_key])
    with pytest.raises(tk.SigningError, match="no valid signing keys for delegation roles"):
        outsider.sign(f"{REPO}:v1", digest=DIGEST, size=1)

    ben_machine.sign(f"{REPO}:v1", digest=DIGEST, size=1)  # targets/releases: signed by ben's key only
    admin.remove_delegation_keys(REPO, [ben_key.key_id], roles=["targets/releases"])
    with pytest.raises(tk.ThresholdError, match=r"valid signatures did not meet threshold.*witness"):
        admin.sign(f"{REPO}:v2", digest=DIGEST, size=1)
    admin.witness(REPO, "targets/releases")
    assert admin.sign(f"{REPO}:v2", digest=DIGEST, size=1).released

    only_ben = ben_machine.sign(f"{REPO}:v3", digest=DIGEST, size=1)  # ben's key left targets/releases
    assert only_ben.roles == ("targets/ben",) and not only_ben.released
    assert any("will not be released" in w for w in only_ben.warnings)

    admin.remove_signer("jeff", REPO)
    with pytest.raises(tk.SigningError, match="no usable keys in targets/releases"):
        admin.sign(f"{REPO}:v4", digest=DIGEST, size=1)


def test_revoke_a_tag_and_all_tags(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine = make_trust("admin"), make_trust("ben")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.add_signer("ben", REPO, keys=[ben_machine.generate_key("ben")])
    for tag in ("v1", "v2", "v3"):
        admin.sign(f"{REPO}:{tag}", digest=DIGEST, size=1)
    ben_machine.sign(f"{REPO}:v1", digest=DIGEST, size=1)

    revoked = admin.revoke(f"{REPO}:v2")
    assert revoked.tags == ("v2",) and revoked.roles == (("v2", ("targets/jeff", "targets/releases")),)
    assert [t.name for t in admin.inspect(REPO)[0].signed_tags] == ["v1", "v3"]

    ben_view = ben_machine.revoke(f"{REPO}:v1")  # ben removes it from targets/releases and his own role
    assert ben_view.roles == (("v1", ("targets/releases", "targets/ben")),)
    assert roles_holding(admin, "v1") == ["targets/jeff"]
    with pytest.raises(tk.TargetNotFoundError, match="No valid trust data for v2"):
        admin.revoke(f"{REPO}:v2")

    everything = admin.revoke(REPO)
    assert everything.tags == ("v1", "v3")
    assert admin.inspect(REPO)[0].signed_tags == ()
    with pytest.raises(tk.TargetNotFoundError, match="no signed tags to remove"):
        admin.revoke(REPO)
    with pytest.raises(tk.ConfigurationError, match="digest reference"):
        admin.revoke(f"{REPO}@sha256:{DIGEST}")


def test_revoke_warns_when_a_tag_stays_released(make_trust: Callable[..., DockerTrust]) -> None:
    admin, ben_machine = make_trust("admin"), make_trust("ben")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    ben_key = ben_machine.generate_key("ben")
    admin.add_signer("ben", REPO, keys=[ben_key])
    admin.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    ben_machine.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    admin.remove_delegation_keys(REPO, [ben_key.key_id], roles=["targets/releases"])
    admin.witness(REPO, "targets/releases")
    revoked = ben_machine.revoke(f"{REPO}:v1")
    assert revoked.roles == (("v1", ("targets/ben",)),)
    assert revoked.warnings and "stays signed in targets/releases" in revoked.warnings[0]
