"""The health report and the repository summary: expiry windows, thresholds, missing keys, certificates, rendering."""

from __future__ import annotations

import hashlib
import html
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, FakeRemote, reader, small_repo
from trustkit.client import Reader
from trustkit.client.health import (
    DEFAULT_WINDOW,
    BelowThreshold,
    HealthReport,
    RepositorySummary,
    health_report,
    repository_summary,
)
from trustkit.keys import make_root_certificate
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import MemoryRemote


def trusted_set(files: dict[str, bytes], *, delegations: tuple[str, ...] = ()) -> tk.TrustedMetadataSet:
    """The trusted state of ``files``, loading ``delegations`` in order (those that fail to verify are left out)."""
    trusted = tk.TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=lambda: NOW)
    trusted.update_timestamp(files["timestamp"])
    trusted.update_snapshot(files["snapshot"])
    trusted.update_targets(files["targets"])
    for role in delegations:
        try:
            trusted.update_delegation(role, files[role])
        except tk.VerificationError:
            continue
    return trusted


def sim_reader(files: dict[str, bytes], tmp_path: Path) -> Reader:
    remote = FakeRemote()
    remote.serve(files)
    return reader(remote, tmp_path)


# --- a healthy repository -----------------------------------------------------------------------------------


def test_a_fresh_repository_is_healthy() -> None:
    trusted = trusted_set(small_repo().publish(), delegations=("targets/releases",))
    report = health_report(trusted, now=NOW)
    assert report.ok and report.problems() == []
    assert (report.gun, report.checked_at, report.window) == (GUN, NOW, DEFAULT_WINDOW)
    assert report.expiring_roles == report.below_threshold == report.expiring_certificates == ()
    assert not report.keys_checked and report.missing_keys == () and report.unsignable_roles == ()
    text = str(report)
    assert text.splitlines()[0] == f"Health of {GUN} on 2026-11-25 12:00 UTC: ok"
    assert "Roles expiring within 183 days: none" in text
    assert "Keys without a private key in the keystore: not checked (no keystore given)" in text


def test_the_default_window_is_notarys_six_months() -> None:
    assert timedelta(days=180) < DEFAULT_WINDOW < timedelta(days=186)


# --- expiry -------------------------------------------------------------------------------------------------


def test_roles_expiring_within_the_window_sorted_by_expiry() -> None:
    sim = small_repo()
    sim.expires["targets"] = NOW + timedelta(days=100)
    sim.expires["targets/releases"] = NOW + timedelta(days=10)
    sim.expires["snapshot"] = NOW + timedelta(days=300)
    trusted = trusted_set(sim.publish(), delegations=("targets/releases",))

    report = health_report(trusted, now=NOW)
    assert [(e.role, e.remaining.days, e.expired, e.trusted) for e in report.expiring_roles] == [
        ("targets/releases", 10, False, True),
        ("targets", 100, False, True),
    ]
    assert report.expiring_roles[0].expires == NOW + timedelta(days=10) and report.expiring_roles[0].version == 1
    assert not report.ok
    assert report.problems()[0] == "targets/releases version 1 expires in 10 days (2026-12-05 12:00 UTC)"

    wider = health_report(trusted, now=NOW, window=timedelta(days=400))
    assert [e.role for e in wider.expiring_roles] == ["targets/releases", "targets", "snapshot"]
    narrow = health_report(trusted, now=NOW, window=timedelta(days=5))
    assert narrow.ok


def test_server_managed_roles_are_reported_only_once_expired() -> None:
    trusted = trusted_set(small_repo().publish())  # the timestamp expires in notary's 14 days
    assert health_report(trusted, now=NOW).expiring_roles == ()
    unmanaged = health_report(trusted, now=NOW, server_managed=())
    assert [(e.role, e.remaining.days) for e in unmanaged.expiring_roles] == [("timestamp", 14)]
    later = health_report(trusted, now=NOW + timedelta(days=15))
    [expired] = later.expiring_roles
    assert (expired.role, expired.expired) == ("timestamp", True)
    assert later.problems() == ["timestamp version 1 expired 1 day ago (2026-12-09 12:00 UTC)"]
    assert "expired 1 day ago" in str(later)


def test_a_reader_reports_the_expired_delegation_it_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sim = small_repo()
    sim.expires["targets/releases"] = NOW - timedelta(days=2)
    reader = sim_reader(sim.publish(), tmp_path)
    with caplog.at_level(logging.WARNING):
        reader.refresh()
    assert "targets/releases" not in reader.trusted and "targets/releases" in reader.invalid

    report = health_report(reader, now=NOW)
    [skipped] = report.expiring_roles
    assert (skipped.role, skipped.expired, skipped.trusted, skipped.remaining) == (
        "targets/releases",
        True,
        False,
        timedelta(days=-2),
    )
    assert report.problems() == [
        "targets/releases version 1 expired 2 days ago (2026-11-23 12:00 UTC) (readers skip it)"
    ]
    assert "targets/releases (skipped)" in str(report)
    assert report.below_threshold == ()  # it is signed well enough; it has just expired


# --- thresholds ---------------------------------------------------------------------------------------------


def test_a_delegation_with_fewer_keys_than_its_threshold() -> None:
    sim = small_repo()
    sim.delegations["targets/releases"].threshold = 2  # one key, threshold 2: it can never verify
    trusted = trusted_set(sim.publish(), delegations=("targets/releases",))
    assert "targets/releases" not in trusted

    report = health_report(trusted, now=NOW)
    assert report.below_threshold == (
        BelowThreshold("targets/releases", 2, 1, None, "1 key(s) for a threshold of 2: cannot be signed"),
    )
    assert not report.ok
    assert report.problems() == ["targets/releases: 1 key(s) for a threshold of 2: cannot be signed"]


def test_a_reader_counts_the_signatures_of_a_skipped_delegation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = small_repo()
    sim.delegations["targets/releases"].threshold = 2
    reader = sim_reader(sim.publish(), tmp_path)
    with caplog.at_level(logging.WARNING):
        reader.refresh()
    [below] = health_report(reader, now=NOW).below_threshold
    assert (below.role, below.threshold, below.keys, below.signatures) == ("targets/releases", 2, 1, 1)
    assert "valid signatures 1 of 2: readers skip it" in below.reason


def test_the_state_and_the_skipped_roles_given_explicitly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The report reads what the caller holds: the trusted state and the skipped roles, nothing refreshed."""
    sim = small_repo()
    sim.delegations["targets/releases"].threshold = 2
    reader = sim_reader(sim.publish(), tmp_path)
    with caplog.at_level(logging.WARNING):
        trusted = reader.refresh()
    explicit = health_report(trusted, skipped=reader.invalid, now=NOW)
    assert explicit == health_report(reader, now=NOW)
    assert str(repository_summary(trusted, skipped=reader.invalid, now=NOW)) == str(repository_summary(reader, now=NOW))
    [below] = explicit.below_threshold
    assert (below.role, below.signatures) == ("targets/releases", 1)
    assert health_report(trusted, now=NOW).below_threshold[0].signatures is None  # no skipped bytes: not counted
    never_refreshed = sim_reader(sim.publish(), tmp_path / "other")
    with pytest.raises(tk.InvalidArgumentError, match="not with a Reader"):
        health_report(never_refreshed, skipped={})
    assert never_refreshed._trusted is None  # nothing refreshed behind the caller's back


def test_a_delegation_left_without_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """notary's `delegation remove ROLE KEYID` of the last key leaves a role that can never be trusted."""
    remote, keystore = MemoryRemote(), MemoryKeyStore()
    repo = tk.Repository("localhost:5000/health/app", remote=remote, keystore=keystore, trust_dir=tmp_path / "t")
    repo.initialize()
    bob = tk.generate_private_key()
    keystore.add_key(bob, role="bob")
    repo.add_delegation("targets/bob", keys=[bob.public_key], all_paths=True)
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), roles=["targets/bob"], publish=True)
    with caplog.at_level(logging.WARNING):
        repo.remove_delegation_keys("targets/bob", [bob.public_key.key_id], publish=True)
        reader = repo.reader()
        reader.refresh()
    [below] = health_report(reader).below_threshold
    assert (below.role, below.keys, below.signatures) == ("targets/bob", 0, 0)
    summary = repository_summary(reader)
    bob_role = summary.role("targets/bob")
    assert (bob_role.trusted, bob_role.keys, bob_role.version, bob_role.expires) == (False, (), None, None)
    assert summary.signed_tags == ()


# --- keys ---------------------------------------------------------------------------------------------------


@pytest.fixture
def published(tmp_path: Path) -> tuple[tk.Repository, tk.PrivateKey]:
    """A repository (root, targets and snapshot keys local) with a targets/ci delegation."""
    repo = tk.Repository(
        "localhost:5000/health/keys", remote=MemoryRemote(), keystore=MemoryKeyStore(), trust_dir=tmp_path / "admin"
    )
    repo.initialize()
    ci = tk.generate_private_key()
    repo.keystore.add_key(ci, role="targets/ci")
    repo.add_delegation("targets/ci", keys=[ci.public_key], all_paths=True)
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), roles=["targets/ci"], publish=True)
    return repo, ci


def test_every_key_held(published: tuple[tk.Repository, tk.PrivateKey]) -> None:
    repo, _ = published
    report = health_report(repo.reader(), keystore=repo.keystore)
    assert report.keys_checked and report.missing_keys == () and report.ok
    assert "Keys without a private key in the keystore: none (every role key is held)" in str(report)


def test_keys_not_present_locally(published: tuple[tk.Repository, tk.PrivateKey]) -> None:
    repo, ci = published
    ci_machine = MemoryKeyStore(ci)  # a CI job holds only its own signing key
    reader = repo.reader()
    report = health_report(reader, keystore=ci_machine)
    assert [(m.role, m.can_sign, m.held, m.threshold) for m in report.missing_keys] == [
        ("root", False, 0, 1),
        ("targets", False, 0, 1),
        ("snapshot", False, 0, 1),
    ]
    assert report.unsignable_roles == ("root", "targets", "snapshot")
    assert report.ok  # missing keys are information, not a problem
    root = reader.trusted.root.signed
    [root_cert_id] = root.roles["root"].keyids
    missing_root = report.missing_keys[0]
    assert missing_root.key_id == root_cert_id and missing_root.keytype == "ecdsa-x509"
    assert missing_root.canonical_id == root.keys[root_cert_id].canonical_id != root_cert_id
    assert "root      " + missing_root.canonical_id[:12] in str(report)

    # the server holds the timestamp key (always) and, when asked to, the snapshot key too
    both = health_report(reader, keystore=ci_machine, server_managed=("timestamp", "snapshot"))
    assert [m.role for m in both.missing_keys] == ["root", "targets"]
    everything = health_report(reader, keystore=ci_machine, server_managed=())
    assert [m.role for m in everything.missing_keys] == ["root", "targets", "snapshot", "timestamp"]


def test_a_role_still_signable_with_some_keys_missing(published: tuple[tk.Repository, tk.PrivateKey]) -> None:
    repo, _ = published
    second = tk.generate_private_key()
    repo.add_delegation("targets/ci", keys=[second.public_key], publish=True)  # two keys, threshold 1
    report = health_report(repo.reader(), keystore=repo.keystore)
    [missing] = report.missing_keys
    assert (missing.role, missing.canonical_id, missing.held, missing.can_sign) == (
        "targets/ci",
        second.public_key.key_id,
        1,
        True,
    )
    assert report.unsignable_roles == ()


# --- certificates -------------------------------------------------------------------------------------------


def test_root_certificates_near_expiry() -> None:
    sim = small_repo()
    short_lived = make_root_certificate(sim.root_keys[0], GUN, now=NOW - timedelta(days=1), validity=timedelta(days=31))
    sim.root_certs = [tk.PublicKey.from_certificate(short_lived)]
    trusted = trusted_set(sim.publish())

    report = health_report(trusted, now=NOW)
    [cert] = report.expiring_certificates
    assert (cert.role, cert.key_id, cert.subject, cert.expired) == ("root", sim.root_certs[0].key_id, GUN, False)
    assert cert.not_after == short_lived.not_valid_after_utc and cert.remaining.days == 30
    assert cert.canonical_id == sim.root_keys[0].key_id
    assert not report.ok
    assert report.problems()[-1] == f"root certificate of key {cert.canonical_id[:12]} (CN={GUN}) expires in 30 days"
    assert health_report(trusted, now=NOW, window=timedelta(days=29)).ok
    expired = health_report(trusted, now=NOW + timedelta(days=40)).expiring_certificates[0]
    assert expired.expired and "expired 10 days ago" in str(health_report(trusted, now=NOW + timedelta(days=40)))


# --- the summary --------------------------------------------------------------------------------------------


def test_summary_of_roles_and_signed_tags() -> None:
    sim = small_repo()
    digest = tk.TargetFile.from_digest("ab" * 32, 528)
    sim.targets["v3"] = digest
    sim.delegations["targets/releases"].targets["v3"] = digest  # the same tag and digest in two roles
    sim.delegations["targets/releases"].targets["v1"] = tk.TargetFile.from_data(b"another v1")
    sim.delegations["targets/releases/qa"] = Delegation(tk.generate_private_key(), ["qa/", "x/"])
    sim.delegations["targets/releases/qa"].targets["qa/a"] = digest
    sim.delegations["targets/releases/qa"].targets["other"] = digest  # outside its paths: not trusted for it
    sim.delegations["targets/releases"].paths = ["qa/", "v"]
    trusted = trusted_set(sim.publish(), delegations=("targets/releases", "targets/releases/qa"))

    summary = repository_summary(trusted, now=NOW)
    assert isinstance(summary, RepositorySummary) and summary.gun == GUN and summary.generated_at == NOW
    assert [r.name for r in summary.roles] == [
        "root",
        "targets",
        "snapshot",
        "timestamp",
        "targets/releases",
        "targets/releases/qa",
    ]
    assert [r.name for r in summary.delegations] == ["targets/releases", "targets/releases/qa"]
    root = summary.role("root")
    assert root.parent is None and root.paths is None and root.threshold == 1 and root.version == 1
    assert root.keys[0].keytype == "ecdsa-x509" and root.keys[0].certificate_expires is not None
    assert root.keys[0].canonical_id == sim.root_keys[0].key_id
    qa = summary.role("targets/releases/qa")
    assert (qa.parent, qa.paths, qa.targets, qa.trusted) == ("targets/releases", ("qa/",), 2, True)
    assert qa.keys[0].key_id == sim.delegations["targets/releases/qa"].key.public_key.key_id
    assert qa.expires == sim.expiry("targets/releases/qa")
    with pytest.raises(KeyError):
        summary.role("targets/nope")

    ab, one, another = (
        "sha256:" + "ab" * 32,
        "sha256:" + hashlib.sha256(b"content one").hexdigest(),
        "sha256:" + hashlib.sha256(b"another v1").hexdigest(),
    )
    assert [(t.name, t.digest, t.length, t.roles) for t in summary.signed_tags] == [
        ("qa/a", ab, 528, ("targets/releases/qa",)),  # "other" is outside targets/releases/qa's paths
        *sorted([("v1", one, 11, ("targets",)), ("v1", another, 10, ("targets/releases",))]),
        ("v2", "sha256:" + "22" * 32, 200, ("targets/releases",)),
        ("v3", ab, 528, ("targets", "targets/releases")),
    ]
    assert summary.tags_by_role() == {
        "targets": ("v1", "v3"),
        "targets/releases": ("v1", "v2", "v3"),
        "targets/releases/qa": ("qa/a",),
    }


def test_summary_and_report_render_as_text_and_html() -> None:
    sim = small_repo()
    sim.targets["a<b>&c"] = tk.TargetFile.from_data(b"odd name")
    sim.expires["targets"] = NOW + timedelta(days=3)
    trusted = trusted_set(sim.publish(), delegations=("targets/releases",))
    summary = repository_summary(trusted, now=NOW)
    report = health_report(trusted, now=NOW)
    assert isinstance(report, HealthReport)

    text = str(summary)
    lines = text.splitlines()
    assert lines[0] == f"Trust data of {GUN} on 2026-11-25 12:00 UTC"
    header = next(line for line in lines if line.startswith("ROLE "))
    assert header.split() == ["ROLE", "SIGNER", "KEYS", "THRESHOLD", "VERSION", "EXPIRES", "PATHS", "TARGETS"]
    targets_line = next(line for line in lines if line.startswith("targets "))
    assert "(in 3 days)" in targets_line and "2026-11-28 12:00 UTC" in targets_line
    assert "a<b>&c" in text and all(line == line.rstrip() for line in lines)
    releases_line = next(line for line in lines if line.startswith("targets/releases "))
    assert releases_line[header.index("THRESHOLD")] == "1"  # columns line up

    page = summary._repr_html_()
    assert page.startswith("<div") and page.endswith("</div>")
    assert page.count("<table") == 2 and re.search(r"<th[^>]*>SIGNED BY</th>", page)
    assert html.escape("a<b>&c") in page and "a<b>" not in page

    report_text = str(report)
    assert report_text.splitlines()[0] == f"Health of {GUN} on 2026-11-25 12:00 UTC: 1 problem"
    assert "targets  1        2026-11-28 12:00 UTC  in 3 days" in report_text
    report_page = report._repr_html_()
    assert report_page.count("<table") == 1 and "in 3 days" in report_page
    assert "not checked (no keystore given)" in report_page


def test_a_reader_that_never_refreshed_refreshes_once(tmp_path: Path) -> None:
    reader = sim_reader(small_repo().publish(), tmp_path)
    summary = repository_summary(reader, now=NOW)
    assert [t.name for t in summary.signed_tags] == ["v1", "v2"]
    assert health_report(reader, now=NOW).ok
