"""verify(): docker's release rule, required signers, anchors, digests and the cache, each explained.

Each scenario runs twice: with :class:`Verifier` and with :class:`AsyncVerifier` (the same decision code, driven by
coroutines over the same remote's answers), but for the one about threads, which only the blocking verifier
promises.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import trustkit as tk
from tests.support.async_remote import AsyncSource
from tests.support.policy import D1, D2, D4, GUN, Published, publish
from tests.support.repo_sim import DownRemote
from trustkit.policy import (
    AsyncVerifier,
    Policy,
    Rule,
    SignerRequirement,
    TrustAnchor,
    VerdictCache,
    Verifier,
    verify,
)

BLOCKING_ONLY = {"test_a_verifier_is_shared_by_threads"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    drivers = ["sync"] if metafunc.function.__name__ in BLOCKING_ONLY else ["sync", "async"]
    metafunc.parametrize("driver", drivers)


class AsyncDriven:
    """An AsyncVerifier behind Verifier's blocking methods, for the shared scenarios."""

    def __init__(self, policy: Policy, *, remote: Any = None, **options: Any) -> None:
        self.inner = AsyncVerifier(policy, remote=None if remote is None else AsyncSource(remote), **options)

    def verify(self, image: str) -> tk.policy.Verdict:
        return asyncio.run(self.inner.verify(image))  # type: ignore[no-any-return]

    def forget(self, gun: str) -> None:
        self.inner.forget(gun)


def _async_verify(image: str, policy: Policy, **options: Any) -> tk.policy.Verdict:
    return AsyncDriven(policy, **options).verify(image)


@pytest.fixture(autouse=True)
def _drive(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if driver == "async":
        module = sys.modules[__name__]
        monkeypatch.setattr(module, "Verifier", AsyncDriven)
        monkeypatch.setattr(module, "verify", _async_verify)


def policy(published: Published, **rule: object) -> Policy:
    anchor = TrustAnchor.pinned(root_key_ids=published.root_key_ids)
    return Policy((Rule(GUN, anchor, **rule),))  # type: ignore[arg-type]


def check(published: Published, tmp_path: Path, image: str, **rule: object) -> tk.policy.Verdict:
    return verify(image, policy(published, **rule), trust_dir=tmp_path / "verifier", remote=published.remote)


def test_released_tag_is_allowed_with_its_digest(published: Published, tmp_path: Path) -> None:
    verdict = check(published, tmp_path, f"{GUN}:v1")
    assert verdict.allowed and verdict.digest == D1
    assert verdict.pinned_image == f"{GUN}@{D1}"
    assert not verdict.from_cache
    assert dict(verdict.role_versions)["targets/releases"] >= 1
    assert verdict.rule == GUN


def test_signer_only_tag_is_denied_by_the_release_rule(published: Published, tmp_path: Path) -> None:
    verdict = check(published, tmp_path, f"{GUN}:v4")
    assert not verdict.allowed
    assert "signed only in targets/bob" in verdict.message
    notary_style = check(published, tmp_path, f"{GUN}:v4", release_rule=False)
    assert notary_style.allowed and notary_style.digest == D4


def test_all_of_and_at_least_n(published: Published, tmp_path: Path) -> None:
    both = SignerRequirement(("alice", "bob"))
    assert check(published, tmp_path, f"{GUN}:v1", signers=both).satisfied == ("alice", "bob")
    v2 = check(published, tmp_path, f"{GUN}:v2", signers=both)
    assert not v2.allowed and v2.satisfied == ("alice",)
    assert dict(v2.unsatisfied)["bob"].startswith("bob did not sign v2")
    two_of_three = SignerRequirement(("alice", "bob", "carol"), threshold=2)
    assert check(published, tmp_path, f"{GUN}:v1", signers=two_of_three).allowed
    assert not check(published, tmp_path, f"{GUN}:v2", signers=two_of_three).allowed
    one_of = SignerRequirement(("carol", "alice"), threshold=1)
    assert check(published, tmp_path, f"{GUN}:v2", signers=one_of).allowed


def test_pinned_signer_keys(published: Published, tmp_path: Path) -> None:
    alice = published.signer_keys["alice"].public_key
    right = SignerRequirement(("alice",), keys=(("alice", (alice,)),))
    assert check(published, tmp_path, f"{GUN}:v1", signers=right).allowed
    wrong = SignerRequirement(("alice",), keys=(("alice", (tk.generate_private_key().public_key,)),))
    verdict = check(published, tmp_path, f"{GUN}:v1", signers=wrong)
    assert not verdict.allowed and "no valid signature by the key pinned for alice" in verdict.message


def test_digests(published: Published, tmp_path: Path) -> None:
    assert check(published, tmp_path, f"{GUN}:v1@{D1}").allowed
    mismatch = check(published, tmp_path, f"{GUN}:v1@{D2}")
    assert not mismatch.allowed and f"signed for {D1}, not {D2}" in mismatch.message
    by_digest = check(published, tmp_path, f"{GUN}@{D2}")
    assert by_digest.allowed and by_digest.reasons[0] == f"{D2} is signed as v2"
    assert not check(published, tmp_path, f"{GUN}@{D4}").allowed  # only a signer's own role has it


def test_bare_repository_means_latest(published: Published, tmp_path: Path) -> None:
    verdict = check(published, tmp_path, GUN)
    assert not verdict.allowed and verdict.tag == "latest" and "latest is not signed" in verdict.message


def test_wrong_pin_and_tofu(published: Published, tmp_path: Path) -> None:
    wrong = Policy((Rule(GUN, TrustAnchor.pinned(root_key_ids=("ab" * 32,))),))
    verdict = verify(f"{GUN}:v1", wrong, trust_dir=tmp_path / "a", remote=published.remote)
    assert not verdict.allowed and "cannot be trusted" in verdict.message
    # a root already cached (trusted on first use by someone else) does not escape the pin either
    tofu = Policy((Rule(GUN, TrustAnchor.trust_on_first_use()),))
    assert verify(f"{GUN}:v1", tofu, trust_dir=tmp_path / "b", remote=published.remote).allowed
    again = verify(f"{GUN}:v1", wrong, trust_dir=tmp_path / "b", remote=published.remote)
    assert not again.allowed and "not signed by a pinned key" in again.message
    assert "update the policy's pin" in again.message


def test_root_public_key_pin(published: Published, tmp_path: Path) -> None:
    root = published.repository.reader().refresh().root.signed
    cert = root.keys[published.root_key_ids[0]]
    pem = cert.bare().crypto_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    pinned = Policy((Rule(GUN, TrustAnchor.pinned(root_keys=[pem])),))
    assert verify(f"{GUN}:v1", pinned, trust_dir=tmp_path / "v", remote=published.remote).allowed


def test_no_rule_means_deny_and_most_specific_wins(published: Published, tmp_path: Path) -> None:
    anchor = TrustAnchor.pinned(root_key_ids=published.root_key_ids)
    rules = Policy(
        (
            Rule("*", None, action="allow"),
            Rule("registry.example.com/*", None, action="deny"),
            Rule(GUN, anchor, signers=SignerRequirement(("carol",))),
        )
    )
    verifier = Verifier(rules, trust_dir=tmp_path / "v", remote=published.remote)
    exact = verifier.verify(f"{GUN}:v1")
    assert exact.rule == GUN and not exact.allowed and "has no trusted signer carol" in exact.message
    assert verifier.verify("registry.example.com/team/other:v1").rule == "registry.example.com/*"
    assert verifier.verify("nginx").allowed and "without verification" in verifier.verify("nginx").message
    lone = Policy((Rule(GUN, anchor),))
    verdict = verify("nginx:1.25", lone, trust_dir=tmp_path / "v", remote=published.remote)
    assert not verdict.allowed and "no policy rule matches docker.io/library/nginx" in verdict.message


def test_misuse_raises_a_deny_does_not(published: Published, tmp_path: Path) -> None:
    with pytest.raises(tk.ConfigurationError):
        check(published, tmp_path, "Not A Reference")
    unknown = Policy((Rule("registry.example.com/*", TrustAnchor.trust_on_first_use()),))
    verdict = verify("registry.example.com/team/none:v1", unknown, trust_dir=tmp_path, remote=published.remote)
    assert not verdict.allowed and "trust data missing" in verdict.message


def test_unreachable_server_fails_closed_unless_the_rule_allows_a_stale_cache(
    published: Published, tmp_path: Path
) -> None:
    trust_dir = tmp_path / "verifier"
    assert verify(f"{GUN}:v1", policy(published), trust_dir=trust_dir, remote=published.remote).allowed
    down = verify(f"{GUN}:v1", policy(published), trust_dir=trust_dir, remote=DownRemote())  # type: ignore[arg-type]
    assert not down.allowed and "max_stale_seconds allows 0 s" in down.message
    stale = verify(
        f"{GUN}:v1",
        policy(published, max_stale_seconds=3600),
        trust_dir=trust_dir,
        remote=DownRemote(),  # type: ignore[arg-type]
    )
    assert stale.allowed and stale.from_cache and stale.reasons[0].startswith("from cache, ")


def test_expired_delegation_is_skipped_and_reported(published: Published, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    lifetime = tk.default_expiry("targets", now=now) - now
    old = published.repository
    # carol signs v1 with a clock so far back that her role expires in an hour; verify two hours from now
    past = tk.Repository(
        GUN,
        remote=published.remote,
        keystore=old.keystore,
        trust_dir=old.trust_dir,
        clock=lambda: now - lifetime + timedelta(hours=1),
    )
    past.add_target("v1", tk.TargetFile.from_digest(D1, 500), roles=["targets/carol"])
    past.publish()
    later = now + timedelta(hours=2)
    assert check(published, tmp_path, f"{GUN}:v1", signers=SignerRequirement(("carol",))).allowed
    rule = {"signers": SignerRequirement(("carol", "alice"), threshold=1), "at": later}
    verdict = check(published, tmp_path, f"{GUN}:v1", **rule)
    assert dict(verdict.skipped_roles)["targets/carol"].startswith(
        "targets/carol of registry.example.com/team/app is not trusted"
    )
    assert verdict.allowed and verdict.satisfied == ("alice",)
    assert dict(verdict.unsatisfied)["carol"].startswith("targets/carol was skipped")
    both = check(published, tmp_path, f"{GUN}:v1", signers=SignerRequirement(("carol", "alice")), at=later)
    assert not both.allowed and "carol: targets/carol was skipped" in both.message


def test_verdict_cache_ttl_and_size(published: Published, tmp_path: Path) -> None:
    now = [0.0]
    cache = VerdictCache(ttl=30, max_size=2, clock=lambda: now[0])
    verifier = Verifier(policy(published), trust_dir=tmp_path, remote=published.remote, verdict_cache=cache)
    first = verifier.verify(f"{GUN}:v1")
    assert verifier.verify(f"{GUN}:v1") is first
    now[0] = 31
    assert verifier.verify(f"{GUN}:v1") is not first
    verifier.verify(f"{GUN}:v2")
    verifier.verify(f"{GUN}:v4")
    assert len(cache) == 2 and cache.get(f"{GUN}:v1") is None


def test_shared_signer_key_is_warned_about(tmp_path: Path) -> None:
    one = publish(tmp_path / "one")
    other_gun = "registry.example.com/team/other"
    remote = one.remote
    repo = tk.Repository(other_gun, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=tmp_path / "p2")
    repo.initialize(server_managed_snapshot=True)
    alice = one.signer_keys["alice"]
    repo.add_delegation("targets/alice", keys=[alice.public_key], all_paths=True)
    repo.add_delegation("targets/releases", keys=[alice.public_key], all_paths=True)
    repo.keystore.add_key(alice, role="alice")
    repo.add_target("v1", tk.TargetFile.from_digest(D1, 500), roles=["targets/releases", "targets/alice"])
    repo.publish()
    alice_only = SignerRequirement(("alice",))
    rules = Policy((Rule("registry.example.com/*", TrustAnchor.trust_on_first_use(), signers=alice_only),))
    verifier = Verifier(rules, trust_dir=tmp_path / "v", remote=remote)
    assert verifier.verify(f"{GUN}:v1").warnings == ()
    shared = verifier.verify(f"{other_gun}:v1")
    assert shared.allowed and GUN in shared.warnings[0]


def test_legitimate_reinitialisation_is_refused_until_the_pin_is_updated_and_the_cache_forgotten(
    published: Published, tmp_path: Path
) -> None:
    verifier = Verifier(policy(published), trust_dir=tmp_path / "v", remote=published.remote)
    assert verifier.verify(f"{GUN}:v1").allowed
    published.repository.delete(remote=True)
    again = publish(tmp_path)  # re-initialised on the same server folder, with a new root key
    assert again.root_key_ids != published.root_key_ids
    refused = verifier.verify(f"{GUN}:v1")
    assert not refused.allowed
    assert "legitimately re-initialised" in refused.message and "Verifier.forget" in refused.message
    repinned = Verifier(policy(again), trust_dir=tmp_path / "v", remote=published.remote)
    assert not repinned.verify(f"{GUN}:v1").allowed  # the cached old root still refuses the new one
    repinned.forget(GUN)
    assert repinned.verify(f"{GUN}:v1").allowed


class CountingRemote:
    """Passes reads through, recording each role asked for."""

    def __init__(self, remote: tk.LocalRemote) -> None:
        self.remote = remote
        self.roles: list[str] = []

    def get_role(self, gun: str, role: str, **kwargs: object) -> bytes:
        self.roles.append(role)
        return self.remote.get_role(gun, role, **kwargs)  # type: ignore[arg-type]


def test_unchanged_timestamp_reuses_the_trusted_state_and_a_new_one_is_read(
    published: Published, tmp_path: Path
) -> None:
    counting = CountingRemote(published.remote)
    now = [datetime.now(timezone.utc)]
    verifier = Verifier(policy(published), trust_dir=tmp_path / "v", remote=counting, clock=lambda: now[0])  # type: ignore[arg-type]
    assert verifier.verify(f"{GUN}:v1").allowed
    counting.roles.clear()
    tk.MetadataCache(tmp_path / "v", GUN).remove("snapshot")  # a full read would have to fetch it again
    assert verifier.verify(f"{GUN}:v2").allowed
    assert counting.roles == ["timestamp"]  # one round trip: the kept state is reused, nothing read again
    published.repository.add_target("v5", tk.TargetFile.from_digest(D4, 500), roles=["targets/releases"])
    published.repository.publish()
    assert verifier.verify(f"{GUN}:v5").allowed  # a new timestamp: read again, the new tag is seen
    counting.roles.clear()
    now[0] += timedelta(days=15)  # past the timestamp's expiry: the kept state is not reused
    expired = verifier.verify(f"{GUN}:v1")
    assert not expired.allowed and "expired" in expired.message
    assert counting.roles[0] == "timestamp" and len(counting.roles) > 1


def test_a_verifier_is_shared_by_threads(published: Published, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    verifier = Verifier(
        policy(published), trust_dir=tmp_path / "v", remote=published.remote, verdict_cache=VerdictCache(ttl=0.01)
    )
    images = [f"{GUN}:{tag}" for tag in ("v1", "v2", "v4") * 20]
    with ThreadPoolExecutor(max_workers=6) as pool:
        verdicts = list(pool.map(verifier.verify, images))
    assert [v.allowed for v in verdicts] == [image.endswith(("v1", "v2")) for image in images]
    assert {v.digest for v in verdicts if v.tag == "v1"} == {D1}


class SwitchableRemote:
    """The real remote until ``down`` is set, then an unreachable server."""

    def __init__(self, remote: tk.LocalRemote) -> None:
        self.remote = remote
        self.down = False

    def get_role(self, gun: str, role: str, **kwargs: object) -> bytes:
        if self.down:
            raise tk.ServerUnavailableError(f"cannot reach the server for {role}")
        return self.remote.get_role(gun, role, **kwargs)  # type: ignore[arg-type]


def test_a_long_lived_verifier_fails_closed_when_its_server_goes_down(published: Published, tmp_path: Path) -> None:
    switch = SwitchableRemote(published.remote)
    strict = Verifier(policy(published), trust_dir=tmp_path / "a", remote=switch)  # type: ignore[arg-type]
    lenient = Verifier(policy(published, max_stale_seconds=60), trust_dir=tmp_path / "b", remote=switch)  # type: ignore[arg-type]
    assert strict.verify(f"{GUN}:v1").allowed and lenient.verify(f"{GUN}:v1").allowed
    switch.down = True
    denied = strict.verify(f"{GUN}:v1")  # the kept state is not reused without the server's confirmation
    assert not denied.allowed and "max_stale_seconds allows 0 s" in denied.message
    stale = lenient.verify(f"{GUN}:v1")
    assert stale.allowed and stale.from_cache
    switch.down = False
    assert not strict.verify(f"{GUN}:v1").from_cache
