"""Capturing trust data from a live remote into an archive: one repository, or every repository of a server.

A capture reads the current root and timestamp once (so that it is one consistent state even while the server
is being written to), every root version from 1, then runs the ordinary trusted read over those files to record
what verified, and finally fetches every other role the snapshot lists -- also those that did not verify, which
are recorded as such. Each file is written to the archive as it arrives and dropped: nothing is held twice, so a
100,000-tag repository costs one read's memory. The manifest is written last: a capture interrupted before it
leaves no manifest, and the next run starts it again.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import attrs

from trustkit._version import __version__
from trustkit.archive.manifest import (
    FIRST_USE,
    ArchivedFile,
    CaptureManifest,
    RejectedRole,
    VerifiedRole,
    VerifiedTarget,
    _write_new,
    dump_targets,
    file_path,
    load_manifest,
    manifest_path,
    repository_folder,
    sha256_hex,
    targets_path,
)
from trustkit.archive.offline import _MemoryCache, verified_root
from trustkit.client.reader import Reader
from trustkit.dct.inspect import released_roles
from trustkit.errors import (
    ConfigurationError,
    ConflictError,
    FileAccessError,
    MalformedMetadataError,
    NotFoundError,
    TrustkitError,
)
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, is_valid_role
from trustkit.remote.base import MAX_METADATA_SIZE, MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE, Remote, check_gun
from trustkit.remote.changefeed import server_repositories
from trustkit.trust.pinning import TrustPinning
from trustkit.trust.trusted_set import utc_now

__all__ = [
    "ExportProgress",
    "ExportReport",
    "ExportResult",
    "export_repository",
    "export_server",
    "server_repositories",
]

logger = logging.getLogger(__name__)


class _Recorder:
    """A metadata source that writes every file it passes on into the archive and remembers its entry; the
    current root and timestamp are the ones read when the capture started."""

    def __init__(self, remote: Remote, folder: Path, gun: str, current: dict[str, bytes]) -> None:
        self.remote = remote
        self.folder = folder
        self.gun = gun
        self.current = current
        self.files: dict[str, ArchivedFile] = {}
        self.by_role: dict[str, str] = {}  # role -> sha256 of the last file of it recorded

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        if checksum is None and version is None and role in self.current:
            data = self.current[role]
        else:
            data = self.remote.get_role(gun, role, max_size=max_size, checksum=checksum, version=version)
        self.record(role, data, version)
        return data

    def record(self, role: str, data: bytes, version: int | None) -> str:
        digest = sha256_hex(data)
        if role == ROOT and version is None:
            version = Metadata.from_bytes(data, role=ROOT).signed.version
        path = file_path(role, digest, version)
        if role == ROOT and path not in self.files and _holds_other(self.folder / path, digest):
            # a repository deleted and created again under the same GUN has another root of that version: keep
            # both, this one by its hash (what an earlier capture names is never rewritten)
            path = file_path(role, digest, None)
        if path not in self.files:
            _write_new(self.folder / path, data)
            self.files[path] = ArchivedFile(path, role, digest, len(data), version if role == ROOT else None)
        self.by_role[role] = digest
        return digest


def _holds_other(path: Path, digest: str) -> bool:
    """Whether ``path`` exists with bytes whose sha256 is not ``digest``."""
    try:
        return sha256_hex(path.read_bytes()) != digest
    except FileNotFoundError:
        return False


@attrs.frozen
class ExportResult:
    """What exporting one repository did: the capture (its manifest), whether it was already archived at that
    timestamp version and skipped, or the error that stopped it."""

    gun: str
    manifest: CaptureManifest | None
    skipped: bool = False
    error: str = ""


@attrs.frozen
class ExportProgress:
    """Passed to the progress callback after each repository: how far the export is and what just happened."""

    done: int
    total: int
    result: ExportResult


@attrs.frozen
class ExportReport:
    """Every repository's :class:`ExportResult`, in export order."""

    results: tuple[ExportResult, ...]

    @property
    def failures(self) -> tuple[ExportResult, ...]:
        """The repositories that could not be archived (see each ``error``)."""
        return tuple(r for r in self.results if r.error)

    @property
    def archived(self) -> tuple[str, ...]:
        """The GUNs captured by this run (not skipped, not failed)."""
        return tuple(r.gun for r in self.results if not r.error and not r.skipped)


def export_repository(
    remote: Remote,
    gun: str,
    archive: str | Path,
    *,
    root: bytes | None = None,
    pinning: TrustPinning | None = None,
    trust_on_first_use: bool = False,
    source: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ExportResult:
    """Capture ``gun``'s complete trust data from ``remote`` into the archive folder ``archive``.

    Every root version from 1 to the current one, the timestamp, the snapshot, targets and every role the
    snapshot lists (also those that do not verify, recorded as rejected), with a manifest naming the source
    (``source``, default the remote's URL), the capture time (``clock``), this trustkit's version, every file's
    sha256 and length and what verified at capture. The verification at capture trusts the root chain from
    ``root`` (the bytes of a root.json you trust, e.g. ``$DOCKER_CONFIG/trust/tuf/<gun>/metadata/root.json``) or
    ``pinning`` (notary's certificate pinning), or -- only when ``trust_on_first_use=True`` is given -- whatever
    root version 1 the server holds; the manifest's ``trusted_root`` says which (``root_pinned`` is false for
    first use). Giving none of them is a :class:`~trustkit.errors.ConfigurationError`, as for
    :func:`~trustkit.archive.open_archive`: "verified at capture" means little when no root was pinned.

    A repository already archived at the same timestamp version is skipped (``skipped=True``). Re-archiving later
    adds a capture beside the earlier ones; the root chain continues. Raises the remote's errors (a repository
    the server does not have is :class:`~trustkit.errors.RepositoryNotFoundError`).
    """
    check_gun(gun)
    archive = _archive_folder(archive)
    _require_trust(gun, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use)
    timestamp = remote.get_role(gun, TIMESTAMP, max_size=MAX_TIMESTAMP_SIZE)
    timestamp_version = Metadata.from_bytes(timestamp, role=TIMESTAMP).signed.version
    if manifest_path(archive, gun, timestamp_version).is_file():
        known = load_manifest(archive, gun, timestamp_version)
        if known.current_timestamp != sha256_hex(timestamp):
            raise ConflictError(
                f"the archive {archive} already holds another capture of {gun} at timestamp version "
                f"{timestamp_version} (was the repository deleted and created again?): archive it into a new folder"
            )
        return ExportResult(gun, known, skipped=True)
    captured_at = clock()
    current_root = remote.get_role(gun, ROOT, max_size=MAX_ROOT_SIZE)
    recorder = _Recorder(remote, repository_folder(archive, gun), gun, {ROOT: current_root, TIMESTAMP: timestamp})
    newest = Metadata.from_bytes(current_root, role=ROOT).signed.version
    root_sha = recorder.record(ROOT, current_root, newest)
    timestamp_sha = recorder.record(TIMESTAMP, timestamp, None)
    rejected: dict[str, RejectedRole] = {}
    for version in range(1, newest):
        try:
            recorder.get_role(gun, ROOT, max_size=MAX_ROOT_SIZE, version=version)
        except NotFoundError as exc:
            logger.warning("root version %d of %s is missing on %s: %s", version, gun, remote, exc)

    error, how, reader = _verify_capture(
        recorder,
        gun,
        newest,
        root=root,
        pinning=pinning,
        trust_on_first_use=trust_on_first_use,
        captured_at=captured_at,
    )
    roles: list[VerifiedRole] = []
    targets: list[VerifiedTarget] = []
    if reader is not None:
        trusted = reader.trusted
        for role in trusted.roles():
            signed = trusted[role].signed
            digest = root_sha if role == ROOT else recorder.by_role[role]
            roles.append(VerifiedRole(role, signed.version, signed.expires_text, digest))
        released = released_roles(trusted)
        targets = [VerifiedTarget(*row, released.get(row.name)) for row in reader.list_target_rows()]
        for role in reader.invalid:
            rejected[role] = RejectedRole(role, recorder.by_role[role], "expired or under-signed at capture")
    verified = {r.role for r in roles}
    for role, reason in _fetch_rest(recorder, gun, timestamp):
        if role not in verified and role not in rejected:
            why = reason or error or "not reached by a verified delegation at capture"
            rejected[role] = RejectedRole(role, recorder.by_role.get(role, "0" * 64), why)

    listing = dump_targets(targets)
    _write_new(targets_path(archive, gun, timestamp_version), listing, replace=True)
    versions = {r.sha256: r.version for r in roles}
    files = tuple(
        attrs.evolve(entry, version=versions.get(entry.sha256, entry.version)) for entry in recorder.files.values()
    )
    manifest = CaptureManifest(
        gun=gun,
        source=source if source is not None else str(getattr(remote, "url", None) or repr(remote)),
        captured_at=captured_at,
        trustkit_version=_trustkit_version(),
        timestamp_version=timestamp_version,
        files=files,
        current_root=root_sha,
        current_timestamp=timestamp_sha,
        trusted_root=how,
        error=error,
        roles=tuple(roles),
        rejected=tuple(rejected.values()),
        targets_count=len(targets),
        targets_sha256=sha256_hex(listing),
        targets_length=len(listing),
    )
    _write_new(manifest_path(archive, gun, timestamp_version), manifest.to_bytes(), replace=True)
    return ExportResult(gun, manifest)


def _archive_folder(archive: str | Path) -> Path:
    """``archive`` as a folder to write into: a file there (or in its path) is refused before anything is read."""
    folder = Path(archive)
    for place in (folder, *folder.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                raise FileAccessError(
                    f"{place} is a file, not a folder: an archive is a folder of files (created when missing); give "
                    f"the path of a new or existing folder instead of {folder}"
                )
            break
    return folder


def _require_trust(gun: str, *, root: bytes | None, pinning: TrustPinning | None, trust_on_first_use: bool) -> None:
    """A capture verifies from a pinned root, or trusts first use only when asked by name (as open_archive)."""
    if root is None and pinning is None and not trust_on_first_use:
        raise ConfigurationError(
            f"archiving {gun} needs a pinned root to verify it at capture: pass root= (the bytes of a root.json "
            "you trust, e.g. $DOCKER_CONFIG/trust/tuf/<gun>/metadata/root.json), pinning= (notary's trust_pinning), "
            "or trust_on_first_use=True to trust whatever root the server holds (the manifest then says no root "
            "was pinned)"
        )


def _trustkit_version() -> str:
    return __version__


def _verify_capture(
    recorder: _Recorder,
    gun: str,
    newest: int,
    *,
    root: bytes | None,
    pinning: TrustPinning | None,
    trust_on_first_use: bool,
    captured_at: datetime,
) -> tuple[str, str, Reader | None]:
    """Run the trusted read over the captured files as of the capture time: (error or "", how the root was
    trusted, the reader when it verified)."""

    def clock() -> datetime:
        return captured_at

    def fetch(version: int) -> bytes:
        return recorder.get_role(gun, ROOT, max_size=MAX_ROOT_SIZE, version=version)

    how = "pinned root" if root is not None else "pinned certificates" if pinning is not None else FIRST_USE
    try:
        trusted_root, how = verified_root(
            gun, newest, fetch, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use, clock=clock
        )
        reader = Reader(gun, recorder, cache=_MemoryCache(gun, trusted_root), clock=clock)
        reader.refresh()
    except TrustkitError as exc:
        logger.warning("%s did not verify at capture: %s", gun, exc)
        return f"{type(exc).__name__}: {exc}", how, None
    return "", how, reader


def _fetch_rest(recorder: _Recorder, gun: str, timestamp: bytes) -> Iterable[tuple[str, str]]:
    """Fetch (by the hashes the unverified timestamp and snapshot list) every role not captured yet; yields each
    role listed with the reason it could not be fetched ("" when it was)."""
    try:
        snapshot_meta = Metadata.from_bytes(timestamp, role=TIMESTAMP).signed.snapshot_meta
        snapshot_sha = snapshot_meta.hashes["sha256"].hex()
    except (MalformedMetadataError, KeyError) as exc:
        yield SNAPSHOT, f"the timestamp does not name a snapshot: {exc}"
        return
    try:
        snapshot = recorder.get_role(gun, SNAPSHOT, max_size=snapshot_meta.length, checksum=snapshot_sha)
        listed = Metadata.from_bytes(snapshot, role=SNAPSHOT).signed.meta
    except (TrustkitError, KeyError) as exc:
        yield SNAPSHOT, f"{type(exc).__name__}: {exc}"
        return
    yield SNAPSHOT, ""
    for role in sorted(listed, key=lambda name: (name != TARGETS, name)):
        if role == ROOT:
            continue
        if not is_valid_role(role):
            logger.warning("the snapshot of %s lists %r, which is not a role name: not captured", gun, role)
            continue
        entry = listed[role]
        sha = entry.hashes.get("sha256")
        if sha is None:
            yield role, "the snapshot lists no sha256 for it"
            continue
        if file_path(role, sha.hex(), None) in recorder.files:
            yield role, ""
            continue
        try:
            recorder.get_role(gun, role, max_size=entry.length or MAX_METADATA_SIZE, checksum=sha.hex())
        except TrustkitError as exc:
            recorder.by_role[role] = sha.hex()
            yield role, f"not captured: {type(exc).__name__}: {exc}"
            continue
        yield role, ""


def export_server(
    remote: Remote,
    archive: str | Path,
    *,
    guns: Iterable[str] | None = None,
    pattern: str | None = None,
    root: bytes | None = None,
    pinning: TrustPinning | None = None,
    trust_on_first_use: bool = False,
    source: str | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ExportReport:
    """Capture many repositories: ``guns``, else every repository the server's changefeed names; only those
    matching the shell ``pattern`` (``fnmatch``, e.g. ``"registry.example.com/team/*"``) when given.

    Resumable: a repository already archived at its current timestamp version is skipped, so a run stopped
    part-way is simply run again. One repository's failure is recorded in its result and the others go on;
    ``progress`` is called after each repository. Options are those of :func:`export_repository`.
    """
    _archive_folder(archive)
    _require_trust("each repository", root=root, pinning=pinning, trust_on_first_use=trust_on_first_use)
    names = sorted(set(guns)) if guns is not None else server_repositories(remote)
    if pattern is not None:
        names = [gun for gun in names if fnmatch.fnmatchcase(gun, pattern)]
    results = []
    for index, gun in enumerate(names, start=1):
        try:
            result = export_repository(
                remote,
                gun,
                archive,
                root=root,
                pinning=pinning,
                trust_on_first_use=trust_on_first_use,
                source=source,
                clock=clock,
            )
        except TrustkitError as exc:
            logger.warning("could not archive %s: %s", gun, exc)
            result = ExportResult(gun, None, error=f"{type(exc).__name__}: {exc}")
        results.append(result)
        if progress is not None:
            progress(ExportProgress(index, len(names), result))
    return ExportReport(tuple(results))
