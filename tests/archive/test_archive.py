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
from trustkit.archive.manifest import targets_path
from trustkit.client import Change
from trustkit.client.health import repository_summary
from trustkit.client.repository import Repository
from trustkit.dct import DockerTrust
from trustkit.dct.inspect import released_roles
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
    result = export_repository(remote, GUN, archive, root=first_root(remote), clock=lambda: CAPTURED)
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
    assert [tuple(row[:4]) for row in load_verified_targets(archive, GUN)] == reader.list_target_rows()
    assert manifest.targets_count == len(live)
    assert {r.role for r in manifest.roles} == {"root", "timestamp", "snapshot", "targets", "targets/releases"}
    assert sorted(e.version for e in manifest.files if e.role == "root") == [1, 2]
    assert manifest.trusted_root == "pinned root" and manifest.root_pinned and manifest.source == repr(remote)


def test_judged_later_it_is_expired_and_at_capture_it_is_not(archived: tuple[MemoryRemote, Path, list]) -> None:  # type: ignore[type-arg]
    remote, archive, live = archived
    root = first_root(remote)
    a_year_later = CAPTURED + timedelta(days=365)
    with pytest.raises(tk.ExpiredMetadataError) as raised:
        open_archive(archive, GUN, root=root, at=a_year_later)
    message = str(raised.value)
    assert "timestamp expired at" in message and "judged as of 2027-12-06T12:00:00+00:00" in message
    assert "pass at='capture' (captured 2026-12-06T12:00:00+00:00) or at=<an aware datetime" in message
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
    export_repository(remote, GUN, first, trust_on_first_use=True, clock=lambda: CAPTURED)
    export_repository(remote, GUN, second, trust_on_first_use=True, clock=lambda: CAPTURED)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    again = export_repository(remote, GUN, first, trust_on_first_use=True, clock=lambda: CAPTURED + timedelta(hours=1))
    assert again.skipped and again.manifest == load_manifest(first, GUN)


def test_rearchiving_extends_the_root_chain(tmp_path: Path) -> None:
    remote = MemoryRemote()
    repo = build(remote, tmp_path)
    archive = tmp_path / "archive"
    root = first_root(remote)
    export_repository(remote, GUN, archive, root=root, clock=lambda: CAPTURED)
    repo.rotate_key("root")
    repo.add_target("later", tk.TargetFile.from_data(b"later"), publish=True)
    later = CAPTURED + timedelta(days=2)
    export_repository(remote, GUN, archive, root=root, clock=lambda: later)
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
    path.write_bytes(path.read_bytes().replace(b'"pinned root"', b'"pinned rooT"'))
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
    report = export_server(
        remote, archive, pattern="localhost:5000/many/*", trust_on_first_use=True, progress=seen.append
    )
    assert report.archived == tuple(guns) and not report.failures
    assert [(p.done, p.total) for p in seen] == [(i, 5) for i in range(1, 6)]
    shutil.rmtree(archive / "localhost:5000" / "many" / "app3")
    again = export_server(remote, archive, trust_on_first_use=True)
    assert again.archived == (guns[3],)
    assert [r.gun for r in again.results if r.skipped] == [g for g in guns if g != guns[3]]
    offline = ArchiveRemote(archive)
    assert offline.repositories() == guns
    copy = export_server(
        offline, tmp_path / "copy", trust_on_first_use=True
    )  # an archive is itself a source, found by its changefeed
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
    manifest = export_repository(remote, GUN, archive, root=first_root(remote), clock=lambda: CAPTURED).manifest
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
    manifest = export_repository(remote, GUN, archive, root=first_root(remote), clock=lambda: late).manifest
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
    export_peak = peak(lambda: export_repository(remote, GUN, tmp_path / "archive", trust_on_first_use=True))
    assert export_peak < 1.5 * read_peak, (export_peak, read_peak)


def test_a_repository_created_again_under_the_same_gun(tmp_path: Path) -> None:
    """Its new root 1 is kept beside the old one; a capture at a timestamp version already archived with other
    bytes is refused, never confused with the old one."""
    remote = MemoryRemote()
    build(remote, tmp_path / "old", rotate=False)
    old_root = first_root(remote)
    archive = tmp_path / "archive"
    export_repository(remote, GUN, archive, trust_on_first_use=True, clock=lambda: CAPTURED)
    [old_capture] = capture_versions(archive, GUN)
    remote.delete(GUN)
    repo = build(remote, tmp_path / "new", rotate=False)
    new_root = first_root(remote)
    with pytest.raises(tk.ConflictError, match="another capture"):
        export_repository(remote, GUN, archive, trust_on_first_use=True, clock=lambda: CAPTURED)
    repo.add_target("new", tk.TargetFile.from_data(b"new"), publish=True)
    export_repository(remote, GUN, archive, trust_on_first_use=True, clock=lambda: CAPTURED)
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


def test_the_shutdown_error_names_what_reads_an_archive_and_that_works(tmp_path: Path) -> None:
    gun = "docker.io/library/busybox"
    remote = MemoryRemote()
    build(remote, tmp_path, gun, rotate=False)
    archive = tmp_path / "archive"
    export_repository(remote, gun, archive, root=first_root(remote, gun), clock=lambda: CAPTURED)
    after = datetime(2026, 12, 9, tzinfo=timezone.utc)
    config = tmp_path / "docker"
    with pytest.raises(tk.ServiceRetiredError) as raised:
        DockerTrust(config_dir=config, env={}, clock=lambda: after).remote_for("busybox")
    message = str(raised.value)
    for name in ("export_repository", "open_archive", "trust_archived_root", "ArchiveRemote"):
        assert name in message
    assert "LocalRemote" not in message
    # what it says works: the pinned root into the trust directory, then DockerTrust over ArchiveRemote
    trust_archived_root(archive, gun, config / "trust", root=first_root(remote, gun), at="capture")
    with DockerTrust(config_dir=config, remote=ArchiveRemote(archive), clock=lambda: after, env={}) as trust:
        [report] = trust.inspect("busybox")
    assert {tag.name for tag in report.signed_tags} == {"v0", "v1", "v2", "release"}
    assert listing(open_archive(archive, gun, root=first_root(remote, gun), at="capture"))


def test_capture_needs_a_pin_or_first_use_asked_by_name(tmp_path: Path) -> None:
    remote = MemoryRemote()
    build(remote, tmp_path, rotate=False)
    archive = tmp_path / "archive"
    with pytest.raises(tk.ConfigurationError, match="needs a pinned root") as raised:
        export_repository(remote, GUN, archive, clock=lambda: CAPTURED)
    assert "trust_on_first_use=True" in str(raised.value) and not archive.exists()
    with pytest.raises(tk.ConfigurationError, match="needs a pinned root"):
        export_server(remote, archive, guns=[GUN])
    manifest = export_repository(remote, GUN, archive, trust_on_first_use=True, clock=lambda: CAPTURED).manifest
    assert manifest is not None and manifest.verified and not manifest.root_pinned
    assert manifest.trusted_root == "first use: no root was pinned"
    assert b'"trusted_root": "first use: no root was pinned"' in manifest.to_bytes()
    pinned = export_repository(remote, GUN, tmp_path / "pinned", root=first_root(remote)).manifest
    assert pinned is not None and pinned.root_pinned and pinned.trusted_root == "pinned root"
    # pinning that names other repositories, with first use allowed: this one was not pinned, and says so
    elsewhere = tk.TrustPinning(certs={"localhost:5000/other/*": ("ab" * 32,)})
    other = export_repository(remote, GUN, tmp_path / "other", pinning=elsewhere, trust_on_first_use=True).manifest
    assert other is not None and other.verified and not other.root_pinned
    keys = tk.Metadata.from_bytes(first_root(remote), role="root").signed.roles["root"].keyids
    certs = export_repository(remote, GUN, tmp_path / "certs", pinning=tk.TrustPinning(certs={GUN: keys})).manifest
    assert certs is not None and certs.root_pinned and certs.trusted_root == "pinned certificates"


def test_exporting_into_a_file_is_a_typed_error(tmp_path: Path) -> None:
    remote = MemoryRemote()
    build(remote, tmp_path, rotate=False)
    a_file = tmp_path / "archive.tar"
    a_file.write_bytes(b"not a folder")
    for target in (a_file, a_file / "inside"):
        with pytest.raises(tk.FileAccessError, match="is a file, not a folder"):
            export_repository(remote, GUN, target, root=first_root(remote))
        with pytest.raises(tk.FileAccessError, match="is a file, not a folder"):
            export_server(remote, target, guns=[GUN], trust_on_first_use=True)
    assert a_file.read_bytes() == b"not a folder"


def test_open_archive_misuse_says_what_to_give_instead(
    archived: tuple[MemoryRemote, Path, list],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    remote, archive, live = archived
    root = first_root(remote)
    with pytest.raises(tk.RepositoryNotFoundError, match=f"is an image reference: the GUN is {GUN}"):
        open_archive(archive, f"{GUN}:v1", root=root, at="capture")
    with pytest.raises(tk.RepositoryNotFoundError, match=r"is a short name: the GUN is docker\.io/library/busybox"):
        open_archive(archive, "busybox", root=root, at="capture")
    with pytest.raises(tk.RepositoryNotFoundError, match=f"it holds {GUN}"):
        open_archive(archive, "localhost:5000/other/app", root=root, at="capture")
    packed = pack_archive(archive, tmp_path / "archive.tar")
    with pytest.raises(tk.FileAccessError, match=r"is a tar file .* unpack it first"):
        open_archive(packed, GUN, root=root, at="capture")
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    with pytest.raises(tk.FileAccessError, match="is not an archive folder"):
        open_archive(plain, GUN, root=root, at="capture")
    with pytest.raises(tk.FileAccessError, match="no archive folder"):
        open_archive(tmp_path / "missing", GUN, root=root, at="capture")
    root_file = tmp_path / "root.json"
    root_file.write_bytes(root)
    for as_path in (root_file, str(root_file)):
        with pytest.raises(tk.InvalidArgumentError, match=r"read_bytes\(\)"):
            open_archive(archive, GUN, root=as_path, at="capture")  # type: ignore[arg-type]
        with pytest.raises(tk.InvalidArgumentError, match=r"read_bytes\(\)"):
            trust_archived_root(archive, GUN, tmp_path / "trust", root=as_path)  # type: ignore[arg-type]
    pinning = tk.TrustPinning(certs={GUN: ("ab" * 32,)})
    with pytest.raises(tk.InvalidArgumentError, match="not both"):
        open_archive(archive, GUN, root=root, pinning=pinning, at="capture")
    with pytest.raises(tk.InvalidArgumentError, match="not both"):
        open_archive(archive, GUN, root=root, trust_on_first_use=True, at="capture")
    day_after = (CAPTURED + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listing(open_archive(archive, GUN, root=root, at=day_after)) == live
    for bad in ("2026-12-06T00:00:00", "yesterday", datetime(2026, 12, 6), 1765000000):
        with pytest.raises(tk.InvalidArgumentError, match="ISO 8601 time with a zone"):
            open_archive(archive, GUN, root=root, at=bad)  # type: ignore[arg-type]
    [version] = capture_versions(archive, GUN)
    with pytest.raises(tk.RepositoryNotFoundError, match=f"its captures are at {version} "):
        open_archive(archive, GUN, root=root, at="capture", capture=version + 98)


def test_an_expiry_met_outside_open_archive_says_to_judge_at_a_valid_time(
    archived: tuple[MemoryRemote, Path, list],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    """The trusted set's own message (what a Reader over ArchiveRemote, or a policy's verify_at, meets)."""
    remote, archive, _ = archived
    later = CAPTURED + timedelta(days=400)
    cache = tk.MetadataCache(tmp_path / "cache", GUN)
    cache.store("root", first_root(remote))
    reader = tk.Reader(GUN, ArchiveRemote(archive), cache=cache, clock=lambda: later)
    with pytest.raises(tk.ExpiredMetadataError) as raised:
        reader.refresh()
    message = str(raised.value)
    assert "judged as of 2028-01-10T12:00:00+00:00" in message
    assert "at='capture'" in message and "verify_at" in message and "re-sign" in message


def test_archive_listings_name_the_role_that_released_each_tag(tmp_path: Path) -> None:
    """notary's listing shows the first role of the walk (a signer's own role); docker pulls from targets/releases,
    else targets: the archive records both, and a tag only a signer holds is not released."""
    remote = MemoryRemote()
    repo = Repository(GUN, remote=remote, keystore=MemoryKeyStore(), trust_dir=tmp_path / "client")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="targets/alice")
    repo.keystore.add_key(alice, role="targets/releases")
    repo.add_delegation("targets/alice", keys=[alice.public_key], all_paths=True)
    repo.add_delegation("targets/releases", keys=[alice.public_key], all_paths=True)
    repo.add_target("both", tk.TargetFile.from_data(b"both"), roles=["targets/releases", "targets/alice"])
    repo.add_target("alice-only", tk.TargetFile.from_data(b"alice"), roles=["targets/alice"])
    repo.add_target("admin", tk.TargetFile.from_data(b"admin"))
    repo.publish()
    archive = tmp_path / "archive"
    export_repository(remote, GUN, archive, root=first_root(remote), clock=lambda: CAPTURED)
    rows = {row.name: (row.role, row.released_by) for row in load_verified_targets(archive, GUN)}
    assert rows == {
        "both": ("targets/alice", "targets/releases"),
        "alice-only": ("targets/alice", None),
        "admin": ("targets", "targets"),
    }
    assert b'["both",' in targets_path(archive, GUN, load_manifest(archive, GUN).timestamp_version).read_bytes()
    reader = open_archive(archive, GUN, root=first_root(remote), at="capture")
    assert reader.get_target("both").role == "targets/alice"  # notary's walk, as `notary list`
    assert released_roles(reader.trusted) == {"both": "targets/releases", "admin": "targets"}
