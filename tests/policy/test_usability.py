"""What a new user runs into: a rule's server reached as docker reaches it, a deadline for admission, the
verifier's clock, patterns and root key IDs checked as docker reads them, plain HTTP refused, misuse raised as
trustkit errors, one vocabulary for policy fields, and the AdmissionReview version answered as asked."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import trustkit as tk
import trustkit.policy
from tests.support.policy import GUN, Published
from tests.support.repo_sim import DownRemote
from trustkit.dct import DockerTrust
from trustkit.policy import Policy, PolicyError, Rule, TrustAnchor, Verifier, admission_response

AFTER_SHUTDOWN = datetime(2026, 12, 9, tzinfo=timezone.utc)
TOFU = TrustAnchor.trust_on_first_use()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TLS port on loopback that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_verdict_ends_within_the_verifiers_deadline(silent_server: str, tmp_path: Path) -> None:
    policy = Policy((Rule("registry.example.com/*", TOFU, server=silent_server),))
    docker = DockerTrust(config_dir=tmp_path / "docker", env={})
    with Verifier(policy, trust_dir=tmp_path / "v", docker=docker, deadline=1.5) as verifier:
        started = time.monotonic()
        verdict = verifier.verify("registry.example.com/team/app:v1")
        elapsed = time.monotonic() - started
    assert not verdict.allowed and "deadline" in verdict.message
    assert elapsed < 5, elapsed


def test_an_async_verdict_ends_within_the_verifiers_deadline(silent_server: str, tmp_path: Path) -> None:
    """AsyncVerifier reaches the rule's server as Verifier does (through docker's configuration) and keeps the
    same deadline."""
    import asyncio

    from trustkit.policy import AsyncVerifier

    policy = Policy((Rule("registry.example.com/*", TOFU, server=silent_server),))
    docker = DockerTrust(config_dir=tmp_path / "docker", env={})

    async def verdict() -> tk.policy.Verdict:
        async with AsyncVerifier(policy, trust_dir=tmp_path / "v", docker=docker, deadline=1.5) as verifier:
            return await verifier.verify("registry.example.com/team/app:v1")

    started = time.monotonic()
    result = asyncio.run(verdict())
    elapsed = time.monotonic() - started
    assert not result.allowed and "deadline" in result.message
    assert elapsed < 5, elapsed


def test_the_default_deadline_suits_admission_webhooks(tmp_path: Path) -> None:
    assert Verifier(Policy(()), trust_dir=tmp_path).deadline == 8.0
    assert Verifier(Policy(()), trust_dir=tmp_path, deadline=None).deadline is None
    for bad in (0, -1, "8", True):
        with pytest.raises(tk.InvalidArgumentError, match="deadline must be a number of seconds"):
            Verifier(Policy(()), trust_dir=tmp_path, deadline=bad)  # type: ignore[arg-type]


def test_a_rules_server_goes_through_dockers_configuration(tmp_path: Path) -> None:
    """The CA docker keeps for the host, and Docker Hub's shutdown, apply to a rule's server too."""
    config = tmp_path / "docker"
    ca_dir = config / "tls" / "notary.internal:4443"
    ca_dir.mkdir(parents=True)
    ca = tk.make_root_certificate(tk.generate_private_key(), "notary.internal CA")
    (ca_dir / "ca.crt").write_bytes(ca.public_bytes(Encoding.PEM))
    docker = DockerTrust(config_dir=config, env={})
    remote = docker.remote_for("registry.example.com/team/app", server="https://notary.internal:4443")
    assert isinstance(remote, tk.NotaryServer) and remote.url == "https://notary.internal:4443"
    found = docker.server_config("registry.example.com/team/app", server="https://notary.internal:4443")
    assert found.tls.ca_files == (ca_dir / "ca.crt",) and found.registry == "registry.example.com"
    retired = Policy((Rule("registry.example.com/*", TOFU, server="https://notary.docker.io"),))
    verdict = tk.verify(
        "registry.example.com/team/app:v1",
        retired,
        trust_dir=tmp_path / "v",
        docker=DockerTrust(config_dir=config, env={}, clock=lambda: AFTER_SHUTDOWN),
    )
    assert not verdict.allowed and "shut down on 2026-12-08" in verdict.message


def test_the_verifier_passes_its_clock_to_the_docker_configuration_it_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.delenv("DOCKER_CONTENT_TRUST_SERVER", raising=False)
    policy = Policy((Rule("docker.io/library/*", TOFU),))
    verifier = Verifier(policy, trust_dir=tmp_path / "v", clock=lambda: AFTER_SHUTDOWN, deadline=2)
    verdict = verifier.verify("busybox:1.36")
    verifier.close()
    assert not verdict.allowed and "shut down on 2026-12-08" in verdict.message


def test_plain_http_servers_are_refused_unless_allowed() -> None:
    with pytest.raises(PolicyError, match=r"plain HTTP.*allow_http") as raised:
        Rule("a.io/x", TOFU, server="http://notary.internal:4443")
    assert raised.value.field == "server"
    assert Rule("a.io/x", TOFU, server="http://127.0.0.1:4443", allow_http=True).allow_http
    with pytest.raises(PolicyError, match="plain HTTP"):
        Policy.from_dict({"rules": [{"pattern": "a.io/x", "anchor": {"tofu": True}, "server": "http://a.io"}]})
    allowed = {"pattern": "a.io/x", "anchor": {"tofu": True}, "server": "http://a.io", "allow_http": True}
    assert Policy.from_dict({"rules": [allowed]}).rules[0].server == "http://a.io"


@pytest.mark.parametrize(
    ("pattern", "written"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("library/nginx", "docker.io/library/nginx"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx"),
        ("library/*", "docker.io/library/*"),
        ("team/*", "docker.io/team/*"),
        ("index.docker.io/*", "docker.io/*"),
    ],
)
def test_patterns_docker_reads_differently_are_refused_with_the_form_to_write(pattern: str, written: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(f"write '{written}'")) as raised:
        Policy.from_dict({"rules": [{"pattern": pattern, "anchor": {"trust_on_first_use": True}}]})
    assert raised.value.field == "pattern"


@pytest.mark.parametrize(
    "pattern",
    ["docker.io/library/nginx", "docker.io/*", "docker.io/team/*", "localhost:5000/*", "registry.example.com/a/b", "*"],
)
def test_normalised_patterns_are_accepted(pattern: str) -> None:
    assert Rule(pattern, TOFU).pattern == pattern


def test_root_key_ids_are_checked_and_uppercase_is_read_as_lowercase(published: Published, tmp_path: Path) -> None:
    for bad in ("abc", "zz" * 32, "ab" * 33):
        with pytest.raises(PolicyError, match="is not a root key ID: it is 64 hex digits") as raised:
            Policy.from_dict({"rules": [{"pattern": GUN, "anchor": {"root_key_ids": [bad]}}]})
        assert raised.value.field == "anchor.root_key_ids"
    upper = TrustAnchor.pinned(root_key_ids=[key_id.upper() for key_id in published.root_key_ids])
    assert upper.root_key_ids == published.root_key_ids
    verdict = tk.verify(f"{GUN}:v1", Policy((Rule(GUN, upper),)), trust_dir=tmp_path, remote=published.remote)
    assert verdict.allowed, verdict.message


def test_misuse_of_the_policy_apis_raises_trustkit_errors(published: Published, tmp_path: Path) -> None:
    with pytest.raises(tk.InvalidArgumentError, match=r"Policy\.from_dict"):
        Verifier({"rules": []}, trust_dir=tmp_path)  # type: ignore[arg-type]
    verifier = Verifier(Policy((Rule(GUN, TOFU),)), trust_dir=tmp_path, remote=published.remote)
    for image in (None, 42):
        with pytest.raises(tk.InvalidArgumentError, match="an image is a reference string"):
            verifier.verify(image)  # type: ignore[arg-type]
    for review in ({}, {"apiVersion": "v1", "request": {"uid": "u"}}, []):
        with pytest.raises(tk.InvalidArgumentError, match="AdmissionReview"):
            admission_response(review, verifier.verify)  # type: ignore[arg-type]


def test_the_stale_cache_deny_names_the_policy_setting(published: Published, tmp_path: Path) -> None:
    policy = Policy((Rule(GUN, TOFU),))
    assert tk.verify(f"{GUN}:v1", policy, trust_dir=tmp_path, remote=published.remote).allowed
    down = tk.verify(f"{GUN}:v1", policy, trust_dir=tmp_path, remote=DownRemote())  # type: ignore[arg-type]
    assert "max_stale_seconds allows 0 s" in down.message and "max_cache_age" not in down.message


def test_verify_is_exported_at_the_top_level() -> None:
    assert tk.verify is trustkit.policy.verify and "verify" in tk.__all__


def test_policy_fields_use_the_archive_vocabulary_and_read_the_earlier_spelling() -> None:
    new = {"pattern": "a.io/x", "anchor": {"trust_on_first_use": True}, "at": "2026-01-31T00:00:00Z"}
    old = {"pattern": "a.io/x", "trust": {"tofu": True}, "verify_at": "2026-01-31T00:00:00Z"}
    rule = Policy.from_dict({"rules": [new]}).rules[0]
    assert rule == Policy.from_dict({"rules": [old]}).rules[0]
    assert rule.anchor == TrustAnchor.trust_on_first_use() and rule.at == datetime(2026, 1, 31, tzinfo=timezone.utc)
    for both in (
        {**new, "trust": {"tofu": True}},
        {**new, "verify_at": "2026-01-31T00:00:00Z"},
        {**new, "anchor": {"tofu": True, "trust_on_first_use": True}},
    ):
        with pytest.raises(PolicyError, match="earlier spelling"):
            Policy.from_dict({"rules": [both]})


@pytest.mark.parametrize("version", ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])
def test_admission_answers_in_the_version_it_was_asked_in(version: str) -> None:
    review = {
        "apiVersion": version,
        "kind": "AdmissionReview",
        "request": {"uid": "u1", "operation": "CREATE", "kind": {"kind": "Pod"}, "object": {"spec": {}}},
    }
    answer = admission_response(review, lambda image: tk.policy.Verdict(image, True))
    assert answer["apiVersion"] == version and answer["response"] == {"uid": "u1", "allowed": True}
    deleted = {**review, "request": {"uid": "u2", "operation": "DELETE"}}
    assert admission_response(deleted, lambda image: tk.policy.Verdict(image, True))["apiVersion"] == version


def test_the_how_to_quotes_the_verdicts_own_words(published: Published, tmp_path: Path) -> None:
    howto = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "verify-a-tag.md").read_text()
    verdict = tk.verify(f"{GUN}:v9", Policy((Rule(GUN, TOFU),)), trust_dir=tmp_path, remote=published.remote)
    assert verdict.reasons == (f"v9 is not signed in {GUN}",)
    assert '"v2 is not signed in registry.example.com/docs/admission"' in howto
    assert "No valid trust data" not in howto and "max_cache_age" not in howto
    assert "deadline=8" in howto
