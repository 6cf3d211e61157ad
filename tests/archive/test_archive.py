"""Archives over MemoryRemote: export, offline reads at chosen times, pins, damage, re-archiving, signing, many."""

from __future__ import annotations

import os
import shutil
import tarfile
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import trustkit as tk
from tests.support.flips import assert_refused_or_unchanged
from trustkit.archive import (
    ArchiveRemote,
    ExportProgress,
    capture_versions,
    export_repository,
    export_server,
    load_manifest,
    load_verified_targets,
    manifest_path,
    open_archive,
    pack_archive,
    sign_manifest,
    trust_archived_root,
    verify_manifest,
)
from trustkit.client import Change
from trustkit.client.health import repository_summary
from trustkit.client.repository import Repository
from trustkit.dct import DockerTrust
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import MemoryRemote

GUN = "localhost:5000/archive/app"
CAPTURED = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def build(remote: MemoryRemote, tmp_path: Path, gun: str = GUN, *, tags: int = 3, rotate: bool = True) -> Repository:
    """A repository with a delegation, a server-managed snapshot and (``rotate``) a root rotation."""
    repo = Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "client" / gun)
    repo.initialize(server_managed_snapshot=True)
    releases = tk.generate_private_key()
    repo.keystore.add_key(releases, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[releases.public_key], all_paths=True)
    for index in range(tags):
        repo.add_target(f"v{index}", tk.TargetFile.from_data(f"image {index}".encode()))
    repo.add_target("release", tk.TargetFile.from_data(b"release"), roles=["targets/releases"])
    repo.publish()
    if rotate:
        repo.rotate_key("root")
    return repo


def listing(reader: tk.Reader) -> list[tuple[str, str | None, int, str]]:
    return sorted(tuple(row) for row in reader.list_target_rows())


def first_root(remote: MemoryRemote, gun: str = GUN) -> bytes:
    return remote.get_role(gun, "root", max_size=1 << 20, version=1)


@pytest.fixture
def archived(tmp_path: Path) -> tuple[MemoryRemote, Path, list[tuple[str, str | None, int, str]]]:
    remote = MemoryRemote()
    repo = build(remote, tmp_path)
    live = listing(repo.reader())
    archive = tmp_path / "archive"
    result = export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    assert result.manifest is not None and result.manifest.verified, result.manifest
    return remote, archive, live


def test_archive_alone_lists_what_the_server_did(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, live = archived
    root = first_root(remote)
    remote.delete(GUN)
    reader = open_archive(archive, GUN, root=root, at="capture")
    assert listing(reader) == live
    assert {row[3] for row in live} == {"targets", "targets/releases"}
    manifest = load_manifest(archive, GUN)
    assert load_verified_targets(archive, GUN) == reader.list_target_rows()
    assert manifest.targets_count == len(live)
    assert {r.role for r in manifest.roles} == {"root", "timestamp", "snapshot", "targets", "targets/releases"}
    assert sorted(e.version for e in manifest.files if e.role == "root") == [1, 2]
    assert manifest.trusted_root == "first use" and manifest.source == repr(remote)


def test_judged_later_it_is_expired_and_at_capture_it_is_not(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, live = archived
    root = first_root(remote)
    a_year_later = CAPTURED + timedelta(days=365)
    with pytest.raises(tk.ExpiredMetadataError):
        open_archive(archive, GUN, root=root, at=a_year_later)
    assert listing(open_archive(archive, GUN, root=root, at=CAPTURED + timedelta(days=1))) == live


def test_a_pin_is_required_and_a_wrong_pin_refused(archived: tuple[MemoryRemote, Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    _, archive, live = archived
    with pytest.raises(tk.ConfigurationError, match="needs a pinned root"):
        open_archive(archive, GUN, at="capture")
    other = MemoryRemote()
    build(other, tmp_path / "other", rotate=False)
    with pytest.raises(tk.VerificationError):
        open_archive(archive, GUN, root=first_root(other), at="capture")
    with pytest.raises(tk.UntrustedRootError):
        open_archive(archive, GUN, pinning=tk.TrustPinning(certs={GUN: ("ab" * 32,)}), at="capture")
    assert listing(open_archive(archive, GUN, trust_on_first_use=True, at="capture")) == live


def test_certificate_pinning_of_the_first_root(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, live = archived
    root = tk.Metadata.from_bytes(first_root(remote), role="root").signed
    pinning = tk.TrustPinning(certs={GUN: root.roles["root"].keyids})
    assert listing(open_archive(archive, GUN, pinning=pinning, at="capture")) == live


def test_export_is_deterministic_and_skips_a_known_timestamp(tmp_path: Path) -> None:
    remote = MemoryRemote()
    build(remote, tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    export_repository(remote, GUN, first, clock=lambda: CAPTURED)
    export_repository(remote, GUN, second, clock=lambda: CAPTURED)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    again = export_repository(remote, GUN, first, clock=lambda: CAPTURED + timedelta(hours=1))
    assert again.skipped and again.manifest == load_manifest(first, GUN)


def test_rearchiving_extends_the_root_chain(tmp_path: Path) -> None:
    remote = MemoryRemote()
    repo = build(remote, tmp_path)
    archive = tmp_path / "archive"
    root = first_root(remote)
    export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    repo.rotate_key("root")
    repo.add_target("later", tk.TargetFile.from_data(b"later"), publish=True)
    later = CAPTURED + timedelta(days=2)
    export_repository(remote, GUN, archive, clock=lambda: later)
    first, newest = capture_versions(archive, GUN)
    assert load_manifest(archive, GUN).timestamp_version == newest > first
    assert sorted(e.version for e in load_manifest(archive, GUN).files if e.role == "root") == [1, 2, 3]
    assert "later" in {m.name for m in open_archive(archive, GUN, root=root, at=later).list_targets()}
    older = open_archive(archive, GUN, root=root, at=CAPTURED, capture=first)
    assert "later" not in {m.name for m in older.list_targets()}


def test_a_flipped_byte_is_refused_or_changes_nothing(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, live = archived
    root = first_root(remote)
    outcomes = assert_refused_or_unchanged(
        archive, lambda: listing(open_archive(archive, GUN, root=root, at="capture")), live
    )
    assert outcomes["refused"] > 200 and outcomes["same"] > 0, outcomes


def test_archive_remote_is_read_only_and_serves_docker_trust(
    archived: tuple[MemoryRemote, Path, list],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    remote, archive, live = archived
    offline = ArchiveRemote(archive)
    assert isinstance(offline, tk.Remote)
    with pytest.raises(tk.RemoteError, match="read-only archive"):
        offline.publish(GUN, {})
    with pytest.raises(tk.RemoteError, match="read-only archive"):
        offline.delete(GUN)
    config = tmp_path / "docker"
    trust_archived_root(archive, GUN, config / "trust", root=first_root(remote), at="capture")
    with DockerTrust(config_dir=config, remote=offline, clock=lambda: CAPTURED, env={}) as trust:
        [report] = trust.inspect(GUN)
    assert {tag.name for tag in report.signed_tags} == {row[0] for row in live}


def test_manifest_signature(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    _, archive, _ = archived
    key, stranger = tk.generate_private_key(), tk.generate_private_key()
    with pytest.raises(tk.VerificationError, match="not signed"):
        verify_manifest(archive, GUN, [key.public_key])
    store = MemoryKeyStore()
    store.add_key(key)
    signed = sign_manifest(archive, GUN, store.get_signer(key.key_id))
    assert verify_manifest(archive, GUN, [key.public_key]) == signed
    with pytest.raises(tk.VerificationError, match="not by any of the trusted keys"):
        verify_manifest(archive, GUN, [stranger.public_key])
    path = manifest_path(archive, GUN, load_manifest(archive, GUN).timestamp_version)
    path.write_bytes(path.read_bytes().replace(b'"first use"', b'"first usE"'))
    with pytest.raises(tk.VerificationError, match="does not match"):
        verify_manifest(archive, GUN, [key.public_key])


def test_export_many_by_discovery_is_resumable(tmp_path: Path) -> None:
    remote = MemoryRemote()
    guns = [f"localhost:5000/many/app{index}" for index in range(5)]
    for gun in guns:
        build(remote, tmp_path, gun, tags=1, rotate=False)
    build(remote, tmp_path, "localhost:5000/gone/app", tags=1, rotate=False)
    remote.delete("localhost:5000/gone/app")
    archive = tmp_path / "archive"
    seen: list[ExportProgress] = []
    report = export_server(remote, archive, pattern="localhost:5000/many/*", progress=seen.append)
    assert report.archived == tuple(guns) and not report.failures
    assert [(p.done, p.total) for p in seen] == [(i, 5) for i in range(1, 6)]
    shutil.rmtree(archive / "localhost:5000" / "many" / "app3")
    again = export_server(remote, archive)
    assert again.archived == (guns[3],)
    assert [r.gun for r in again.results if r.skipped] == [g for g in guns if g != guns[3]]
    offline = ArchiveRemote(archive)
    assert offline.repositories() == guns
    copy = export_server(offline, tmp_path / "copy")  # an archive is itself a source, found by its changefeed
    assert copy.archived == tuple(guns) and not copy.failures
    assert all(load_manifest(tmp_path / "copy", gun).files == load_manifest(archive, gun).files for gun in guns)
    for gun in guns:
        reader = open_archive(archive, gun, root=first_root(remote, gun), at="now")
        assert sorted(m.name for m in reader.list_targets()) == ["release", "v0"]


def test_a_delegation_that_does_not_verify_is_captured_and_recorded(tmp_path: Path) -> None:
    remote = MemoryRemote()
    repo = build(remote, tmp_path, rotate=False)
    bob = tk.generate_private_key()
    repo.keystore.add_key(bob, role="targets/bob")
    repo.add_delegation("targets/bob", keys=[bob.public_key], all_paths=True)
    repo.add_target("bobs", tk.TargetFile.from_data(b"bob's"), roles=["targets/bob"], publish=True)
    repo.remove_delegation_keys("targets/bob", [bob.key_id], publish=True)  # bob's file no longer verifies
    live = listing(repo.reader())
    assert "bobs" not in {row[0] for row in live}
    archive = tmp_path / "archive"
    manifest = export_repository(remote, GUN, archive, clock=lambda: CAPTURED).manifest
    assert manifest is not None and manifest.verified
    [rejected] = manifest.rejected
    assert rejected.role == "targets/bob" and "under-signed" in rejected.reason
    bobs = manifest.file("targets/bob", sha256=rejected.sha256)
    assert bobs is not None and b"bobs" in (archive / GUN / bobs.path).read_bytes()
    reader = open_archive(archive, GUN, root=first_root(remote), at="capture")
    assert listing(reader) == live
    summary = repository_summary(reader)
    assert {role.name for role in summary.delegations} >= {"targets/releases", "targets/bob"}


def test_an_expired_repository_is_still_captured_whole(tmp_path: Path) -> None:
    """A server whose timestamp already expired (nobody re-signs it any more): everything is captured, the manifest
    says it did not verify and why, and the archive verifies as of a time when it was valid."""
    remote = MemoryRemote()
    repo = build(remote, tmp_path)
    live = listing(repo.reader())
    late = datetime.now(timezone.utc) + timedelta(days=30)
    archive = tmp_path / "archive"
    manifest = export_repository(remote, GUN, archive, clock=lambda: late).manifest
    assert manifest is not None and not manifest.verified
    assert "ExpiredMetadataError" in manifest.error and manifest.roles == ()
    assert {r.role for r in manifest.rejected} == {"snapshot", "targets", "targets/releases"}
    assert load_verified_targets(archive, GUN) == []
    reader = open_archive(archive, GUN, root=first_root(remote), at=datetime.now(timezone.utc))
    assert listing(reader) == live


def test_a_manifest_naming_files_elsewhere_is_refused(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, _ = archived
    path = manifest_path(archive, GUN, load_manifest(archive, GUN).timestamp_version)
    text = path.read_text()
    entry = text.index('"path": "_trust/tuf/targets.')
    hostile = text[:entry] + '"path": "../../../../outside' + text[entry + len('"path": "_trust/tuf/targets') :]
    path.write_text(hostile)
    with pytest.raises(tk.MalformedMetadataError, match="not where its role and hash put it"):
        open_archive(archive, GUN, root=first_root(remote), at="capture")


def test_export_streams(tmp_path: Path) -> None:
    """Archiving holds no more than a read does: peak memory within 1.5x a cold read of the same repository."""
    remote = MemoryRemote()
    repo = Repository(GUN, remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "admin")
    repo.initialize(server_managed_snapshot=True)
    repo.publish_changes(
        [Change.add_target(f"tag-{i}", tk.TargetFile.from_digest(f"{i:064x}", i + 1)) for i in range(20_000)]
    )

    def peak(step: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            step()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def cold_read() -> object:
        reader = tk.Reader(GUN, remote, cache=tk.MetadataCache(tmp_path / "cold", GUN))
        reader.refresh()
        return reader.list_target_rows()

    read_peak = peak(cold_read)
    export_peak = peak(lambda: export_repository(remote, GUN, tmp_path / "archive"))
    assert export_peak < 1.5 * read_peak, (export_peak, read_peak)


def test_a_repository_created_again_under_the_same_gun(tmp_path: Path) -> None:
    """Its new root 1 is kept beside the old one; a capture at a timestamp version already archived with other
    bytes is refused, never confused with the old one."""
    remote = MemoryRemote()
    build(remote, tmp_path / "old", rotate=False)
    old_root = first_root(remote)
    archive = tmp_path / "archive"
    export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    [old_capture] = capture_versions(archive, GUN)
    remote.delete(GUN)
    repo = build(remote, tmp_path / "new", rotate=False)
    new_root = first_root(remote)
    with pytest.raises(tk.ConflictError, match="another capture"):
        export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    repo.add_target("new", tk.TargetFile.from_data(b"new"), publish=True)
    export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    roots = [e for e in load_manifest(archive, GUN).files if e.role == "root"]
    assert [(e.path.startswith("_trust/tuf/root."), e.version) for e in roots] == [(True, 1)]
    assert "new" in {m.name for m in open_archive(archive, GUN, root=new_root, at="capture").list_targets()}
    old = open_archive(archive, GUN, root=old_root, at="capture", capture=old_capture)
    assert "new" not in {m.name for m in old.list_targets()}
    with pytest.raises(tk.VerificationError):
        open_archive(archive, GUN, root=old_root, at="capture")


def test_pack_archive_is_deterministic_and_unpacks_to_a_readable_archive(
    archived: tuple[MemoryRemote, Path, list],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    remote, archive, live = archived
    first, second = pack_archive(archive, tmp_path / "a.tar"), tmp_path / "b.tar"
    for path in archive.rglob("*"):
        os.utime(path, (1, 1))  # other times, same content: same bytes
    pack_archive(archive, second)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        names = tar.getnames()
        assert names == sorted(names) and {m.mtime for m in tar.getmembers()} == {0}
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert listing(open_archive(tmp_path / "unpacked", GUN, root=first_root(remote), at="capture")) == live
