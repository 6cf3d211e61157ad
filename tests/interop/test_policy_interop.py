"""Trust policies against repositories made with the real ``docker trust`` and ``notary`` CLIs on a real
notary-server: docker's release rule, all-of and at-least-N signers, a revoked (under-signed) signer, a wrong pin,
an unreachable server, a server that lost the repository, and a tag whose digest does not match."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.harness import DockerTrustCLI, NotaryCLI
from trustkit.dct import DockerTrust
from trustkit.policy import Policy, Rule, SignerRequirement, TrustAnchor, Verifier

pytestmark = pytest.mark.interop

D1 = hashlib.sha256(b"manifest one").hexdigest()
D2 = hashlib.sha256(b"manifest two").hexdigest()
D4 = hashlib.sha256(b"manifest four").hexdigest()


def notary_sign(notary: NotaryCLI, gun: str, tag: str, digest: str, *roles: str) -> None:
    """What ``docker trust sign`` does after the push (it needs a daemon), with the notary CLI on docker's dir."""
    role_args = [arg for role in roles for arg in ("--roles", role)]
    notary.run("addhash", gun, tag, "12", "--sha256", digest, *role_args, "-p")


@pytest.fixture
def signed(docker_cli: DockerTrustCLI, gun: str) -> tuple[DockerTrust, tuple[str, ...]]:
    """alice, bob and carol added with ``docker trust signer add``; v1 released and signed by alice and bob, v2
    released and signed by alice, v4 only in targets/bob. Returns docker's configuration and the pinned root."""
    home, notary = docker_cli.home, docker_cli.notary()
    for name in ("alice", "bob", "carol"):
        docker_cli.run("trust", "key", "generate", name, "--dir", str(home))
        docker_cli.run("trust", "signer", "add", "--key", str(home / f"{name}.pub"), name, gun)
    notary_sign(notary, gun, "v1", D1, "targets/releases", "targets/alice", "targets/bob")
    notary_sign(notary, gun, "v2", D2, "targets/releases", "targets/alice")
    notary_sign(notary, gun, "v4", D4, "targets/bob")
    trust = DockerTrust(env=docker_cli.env)
    [shown] = docker_cli.inspect(gun)
    root_ids = tuple(k["ID"] for a in shown["AdministrativeKeys"] if a["Name"] == "Root" for k in a["Keys"])
    assert root_ids == trust.inspect(gun)[0].root_key_ids  # the pin, bootstrapped from inspect's admin keys
    return trust, root_ids


def verifier(signed: tuple[DockerTrust, tuple[str, ...]], trust_dir: Path, **rule: object) -> tuple[Verifier, Policy]:
    trust, root_ids = signed
    policy = Policy((Rule("localhost:5000/*", TrustAnchor.pinned(root_key_ids=root_ids), **rule),))  # type: ignore[arg-type]
    return Verifier(policy, trust_dir=trust_dir, docker=trust), policy


def test_release_rule_digests_and_signers(
    signed: tuple[DockerTrust, tuple[str, ...]], docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    check, _ = verifier(signed, tmp_path / "v")
    v1 = check.verify(f"{gun}:v1")
    assert v1.allowed and v1.digest == f"sha256:{D1}" and v1.pinned_image == f"{gun}@sha256:{D1}"
    # v4 is only in targets/bob: docker trust inspect does not show it, and the policy denies it
    assert "v4" not in [t["SignedTag"] for t in docker_cli.inspect(gun)[0]["SignedTags"]]
    v4 = check.verify(f"{gun}:v4")
    assert not v4.allowed and "v4 is signed only in targets/bob" in v4.message
    notary_style, _ = verifier(signed, tmp_path / "v", release_rule=False)
    assert notary_style.verify(f"{gun}:v4").allowed
    mismatch = check.verify(f"{gun}:v1@sha256:{D2}")
    assert not mismatch.allowed and f"signed for sha256:{D1}, not sha256:{D2}" in mismatch.message
    assert check.verify(f"{gun}:v1@sha256:{D1}").allowed and check.verify(f"{gun}@sha256:{D2}").allowed

    all_of, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("alice", "bob")))
    assert all_of.verify(f"{gun}:v1").satisfied == ("alice", "bob")
    v2 = all_of.verify(f"{gun}:v2")
    assert not v2.allowed and dict(v2.unsatisfied)["bob"] == f"bob did not sign v2 for sha256:{D2}"
    two = SignerRequirement(("alice", "bob", "carol"), threshold=2)
    two_of_three, _ = verifier(signed, tmp_path / "v", signers=two)
    assert two_of_three.verify(f"{gun}:v1").allowed
    assert not two_of_three.verify(f"{gun}:v2").allowed
    bob_key = tk.PublicKey.from_pem((docker_cli.home / "bob.pub").read_bytes())
    pinned, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("bob",), keys=(("bob", (bob_key,)),)))
    assert pinned.verify(f"{gun}:v1").allowed


def test_revoked_signer_is_skipped_and_reported(
    signed: tuple[DockerTrust, tuple[str, ...]], docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    bob_id = tk.PublicKey.from_pem((docker_cli.home / "bob.pub").read_bytes()).key_id
    # bob's key is revoked from his own role: targets/bob, signed by that key only, no longer meets its threshold
    docker_cli.notary().run("delegation", "remove", gun, "targets/bob", bob_id, "-p")
    any_one, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("alice", "bob"), threshold=1))
    verdict = any_one.verify(f"{gun}:v1")
    assert verdict.allowed and verdict.satisfied == ("alice",)
    assert dict(verdict.skipped_roles)["targets/bob"].startswith(f"targets/bob of {gun} is not trusted")
    assert dict(verdict.unsatisfied)["bob"].startswith("targets/bob was skipped")
    both, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("alice", "bob")))
    assert not both.verify(f"{gun}:v1").allowed


def test_wrong_pin_is_denied(signed: tuple[DockerTrust, tuple[str, ...]], gun: str, tmp_path: Path) -> None:
    trust, _ = signed
    wrong = Policy((Rule(gun, TrustAnchor.pinned(root_key_ids=("ab" * 32,))),))
    verdict = Verifier(wrong, trust_dir=tmp_path / "v", docker=trust).verify(f"{gun}:v1")
    assert not verdict.allowed and "cannot be trusted" in verdict.message


def test_unreachable_server_and_lost_repository(
    signed: tuple[DockerTrust, tuple[str, ...]], docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    trust, _ = signed
    check, policy = verifier(signed, tmp_path / "v")
    assert check.verify(f"{gun}:v1").allowed  # the verified cache is filled
    down = DockerTrust(env={**docker_cli.env, "DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:1"})
    denied = Verifier(policy, trust_dir=tmp_path / "v", docker=down).verify(f"{gun}:v1")
    assert not denied.allowed and "max_stale_seconds allows 0 s" in denied.message and not denied.from_cache
    stale, stale_policy = verifier(signed, tmp_path / "v", max_stale_seconds=3600)
    marked = Verifier(stale_policy, trust_dir=tmp_path / "v", docker=down).verify(f"{gun}:v1")
    assert marked.allowed and marked.from_cache and marked.reasons[0].startswith("from cache, ")

    docker_cli.notary().run("delete", gun, "--remote")  # the server loses the repository
    lost = check.verify(f"{gun}:v1")
    assert not lost.allowed and "max_stale_seconds allows 0 s" in lost.message
    kept = stale.verify(f"{gun}:v1")
    assert kept.allowed and kept.from_cache
    assert not Verifier(policy, trust_dir=tmp_path / "fresh", docker=trust).verify(f"{gun}:v1").allowed
    down.close()
    trust.close()


def test_expired_delegation_is_skipped_and_the_rule_decided_without_it(
    signed: tuple[DockerTrust, tuple[str, ...]], docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    lifetime = tk.default_expiry("targets", now=now) - now
    # carol signs v1 (with the key docker generated) into her role, which expires in 30 minutes
    carol = DockerTrust(env=docker_cli.env, clock=lambda: now - lifetime + timedelta(minutes=30))
    repository = carol.repository(gun)
    repository.add_target("v1", tk.TargetFile.from_digest(D1, 12), roles=["targets/carol"])
    repository.publish()
    carol.close()
    assert "carol" in docker_cli.inspect(gun)[0]["SignedTags"][0]["Signers"]  # docker sees her signature now
    later = now + timedelta(hours=1)
    one_of, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("carol", "alice"), threshold=1), at=later)
    verdict = one_of.verify(f"{gun}:v1")
    assert verdict.allowed and verdict.satisfied == ("alice",)
    assert "expired" in dict(verdict.skipped_roles)["targets/carol"]
    assert dict(verdict.unsatisfied)["carol"].startswith("targets/carol was skipped")
    only_carol, _ = verifier(signed, tmp_path / "v", signers=SignerRequirement(("carol",)), at=later)
    assert not only_carol.verify(f"{gun}:v1").allowed
    assert verifier(signed, tmp_path / "v", signers=SignerRequirement(("carol",)))[0].verify(f"{gun}:v1").allowed


def test_a_rules_server_is_reached_with_dockers_tls_files(
    signed: tuple[DockerTrust, tuple[str, ...]], docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    """The server's private CA is in $DOCKER_CONFIG/tls/<host:port>/ca.crt: a rule naming that server uses it (and
    docker alone, without DOCKER_CONTENT_TRUST_SERVER, would look at https://localhost:5000, where nothing runs)."""
    _, root_ids = signed
    env = {name: value for name, value in docker_cli.env.items() if name != "DOCKER_CONTENT_TRUST_SERVER"}
    url = docker_cli.env["DOCKER_CONTENT_TRUST_SERVER"]
    rule = Rule("localhost:5000/*", TrustAnchor.pinned(root_key_ids=root_ids), server=url)
    with Verifier(Policy((rule,)), trust_dir=tmp_path / "v", docker=DockerTrust(env=env)) as verifier:
        verdict = verifier.verify(f"{gun}:v1")
    assert verdict.allowed and verdict.digest == f"sha256:{D1}", verdict.message
