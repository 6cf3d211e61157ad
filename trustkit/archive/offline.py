"""An archive as a read-only remote, and trusted reads of it at an explicit time, from a pinned root.

:class:`ArchiveRemote` serves a capture's files exactly as notary-server served them (current root and timestamp,
the rest by sha256, roots by version), so :class:`~trustkit.client.Reader`, :class:`~trustkit.dct.DockerTrust` and
the notebook summaries read an archive with no network. It refuses every write.

:func:`open_archive` is the trusted way in: it starts from a root the caller pinned (its bytes, or notary's
certificate pinning applied to root version 1), walks the archived root chain to the newest root, and reads the
capture as of the time asked -- now, the capture time, or any instant. Trust on first use of an archive only
happens when asked for by name: an archive is a file anyone can hand over.
"""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import attrs

from trustkit.archive.manifest import (
    FIRST_USE,
    MANIFEST_FOLDER,
    CaptureManifest,
    capture_versions,
    load_manifest,
    repository_folder,
    sha256_hex,
)
from trustkit.client.cache import MetadataCache
from trustkit.client.reader import Reader
from trustkit.errors import (
    ConfigurationError,
    ExpiredMetadataError,
    FileAccessError,
    HashMismatchError,
    InvalidArgumentError,
    OversizedResponseError,
    RemoteError,
    RepositoryNotFoundError,
    TrustkitError,
    UntrustedRootError,
)
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import ROOT, TIMESTAMP
from trustkit.metadata.roles import Root
from trustkit.remote.base import MAX_ROOT_SIZE, ChangeRecord, check_gun, check_role, notary_error
from trustkit.remote.config import ImageReference
from trustkit.trust.pinning import TrustPinning
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = ["ArchiveRemote", "VerificationTime", "open_archive", "trust_archived_root"]

VerificationTime = datetime | Literal["now", "capture"]
"""When an archive is judged: ``"now"``, ``"capture"`` (the capture's own time) or an aware datetime."""

_MAX_ROOT_WALK = 1000


class ArchiveRemote:
    """A read-only :class:`~trustkit.remote.Remote` over an archive folder.

    ``capture`` selects the timestamp version served for every repository (default: each one's newest capture).
    Each file served is checked against the manifest's sha256 and length first, so a damaged archive reads as a
    refusal naming the file, never as other bytes. Writes raise :class:`~trustkit.errors.RemoteError`.
    """

    def __init__(self, path: str | Path, *, capture: int | None = None) -> None:
        self.path = Path(path)
        self.capture = capture
        self._manifests: dict[str, CaptureManifest] = {}

    def __repr__(self) -> str:
        return f"ArchiveRemote({str(self.path)!r})"

    def manifest(self, gun: str) -> CaptureManifest:
        """The manifest of the capture of ``gun`` this remote serves."""
        check_gun(gun)
        if gun not in self._manifests:
            self._manifests[gun] = load_manifest(self.path, gun, self.capture)
        return self._manifests[gun]

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """The archived bytes of ``role``: the current root or timestamp of the capture, by sha256, or by version."""
        check_role(role)
        manifest = self.manifest(gun)
        if checksum is None and version is None:
            current = {ROOT: manifest.current_root, TIMESTAMP: manifest.current_timestamp}.get(role)
            entry = None if current is None else manifest.file(role, sha256=current)
        else:
            entry = manifest.file(role, sha256=None if checksum is None else checksum.lower(), version=version)
        what = role if version is None else f"{version}.{role}"
        if entry is None:
            raise notary_error("METADATA_NOT_FOUND", where=f"archive {self.path}", gun=gun, what=f"{what}.json")
        if entry.length > max_size:
            raise OversizedResponseError(f"archived {what} of {gun} is {entry.length} bytes, more than {max_size}")
        path = repository_folder(self.path, gun) / entry.path
        try:
            with path.open("rb") as handle:
                data = handle.read(entry.length + 1)
        except OSError as exc:
            raise RemoteError(f"archived {what} of {gun} cannot be read at {path}: {exc}") from None
        if len(data) != entry.length or sha256_hex(data) != entry.sha256:
            raise HashMismatchError(
                f"archived {what} of {gun} at {path} is not the file the manifest names: the archive is damaged; "
                "restore it from a copy"
            )
        return data

    def changefeed(self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100) -> list[ChangeRecord]:
        """One ``update`` record per capture (of ``gun`` or of every archived repository), in capture order, so
        that an archive can itself be exported from (``export_server``)."""
        every = []
        for name in [check_gun(gun)] if gun is not None else self.repositories():
            for version in capture_versions(self.path, name):
                manifest = load_manifest(self.path, name, version)
                every.append((manifest.captured_at, name, version, manifest.current_timestamp))
        every.sort()
        feed = [
            ChangeRecord(str(index), name, version, digest, "update", when)
            for index, (when, name, version, digest) in enumerate(every, start=1)
        ]
        start = int(change_id or 0)
        count = records or 100
        if start < 0:
            return feed[-count:] if count > 0 else []
        if count < 0:
            return feed[max(0, start - 1 + count) : max(0, start - 1)]
        return feed[start : start + count]

    def repositories(self) -> list[str]:
        """The GUNs the archive holds a capture of, sorted."""
        found = []
        for folder in sorted(self.path.rglob(MANIFEST_FOLDER.split("/")[-1])):
            if folder.parent.name == "_trust" and folder.is_dir():
                gun = folder.parent.parent.relative_to(self.path).as_posix()
                if capture_versions(self.path, gun):
                    found.append(gun)
        return sorted(found)

    def _read_only(self, what: str, gun: str) -> RemoteError:
        return RemoteError(f"{self!r} is a read-only archive: cannot {what} {gun}; publish to a notary server instead")

    def publish(self, gun: str, files: Mapping[str, bytes]) -> None:
        """Refused: an archive is read-only."""
        raise self._read_only("publish to", gun)

    def get_key(self, gun: str, role: str) -> PublicKey:
        """Refused: an archive holds no server keys."""
        raise self._read_only(f"give a {role} key of", gun)

    def rotate_key(self, gun: str, role: str) -> PublicKey:
        """Refused: an archive holds no server keys."""
        raise self._read_only(f"rotate a {role} key of", gun)

    def delete(self, gun: str) -> None:
        """Refused: an archive is read-only (delete its folder to forget a repository)."""
        raise self._read_only("delete", gun)


class _MemoryCache(MetadataCache):
    """A cache held in memory, seeded with the root :func:`open_archive` verified: the reader starts from it."""

    def __init__(self, gun: str, root: bytes) -> None:
        super().__init__(Path("/nonexistent-trustkit-memory-cache"), gun)
        self._files: dict[str, bytes] = {ROOT: root}

    def load(self, role: str, *, max_size: int = MAX_ROOT_SIZE) -> bytes | None:
        data = self._files.get(role)
        return None if data is None or len(data) > max_size else data

    def store(self, role: str, data: bytes) -> None:
        self._files[role] = data

    def load_invalid(self, role: str) -> bytes | None:
        return None

    def store_invalid(self, role: str, data: bytes) -> None:
        return None

    def invalid_roles(self) -> list[str]:
        return []

    def load_verified(self) -> dict[str, list[str]]:
        return {}

    def store_verified(self, records: dict[str, list[str]]) -> None:
        return None

    def load_parsed(self, role: str) -> bytes | None:
        return None

    def store_parsed(self, role: str, form: bytes) -> None:
        return None

    def remove(self, role: str) -> bool:
        return self._files.pop(role, None) is not None

    def roles(self) -> list[str]:
        return sorted(self._files)


def _clock_for(at: VerificationTime | str, manifest: CaptureManifest) -> Callable[[], datetime]:
    if at == "now":
        return lambda: datetime.now(timezone.utc)
    moment: datetime | None
    if at == "capture":
        moment = manifest.captured_at
    elif isinstance(at, datetime):
        moment = at if at.tzinfo is not None else None
    else:
        moment = _iso_time(at) if isinstance(at, str) else None
    if moment is None:
        raise InvalidArgumentError(
            f'verify at "now", "capture", an aware datetime or an ISO 8601 time with a zone '
            f"(e.g. 2026-12-06T00:00:00Z), not {at!r}"
        )
    fixed = moment
    return lambda: fixed


def _iso_time(text: str) -> datetime | None:
    """An ISO 8601 time with a zone, as a policy's ``verify_at`` is written (``2026-12-06T00:00:00Z``); None for
    anything else (a time without a zone is ambiguous)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _held(archive: Path) -> str:
    """The repositories an archive folder holds, for a message (at most a few named)."""
    try:
        guns = ArchiveRemote(archive).repositories()
    except (OSError, TrustkitError):
        guns = []
    if not guns:
        return "it holds no capture at all"
    shown = ", ".join(guns[:5]) + (f" and {len(guns) - 5} more" if len(guns) > 5 else "")
    return f"it holds {shown}"


def _checked_archive(archive: str | Path, gun: str, capture: int | None) -> ArchiveRemote:
    """An :class:`ArchiveRemote` over ``archive`` that holds the capture asked for, or an error saying what to
    give instead: a folder (not a tar file or another file), a GUN (not an image reference or short name), a
    capture that exists."""
    if not isinstance(archive, (str, Path)):
        raise InvalidArgumentError(f"the archive is the path of a folder (str or Path), not {type(archive).__name__}")
    folder = Path(archive)
    if not folder.is_dir():
        if folder.is_file() and tarfile.is_tarfile(folder):
            raise FileAccessError(
                f"{folder} is a tar file (as pack_archive writes), not an archive folder: unpack it first "
                f"(tar -xf {folder.name} -C <folder>) and open that folder"
            )
        if folder.exists():
            raise FileAccessError(f"{folder} is not an archive folder: give the folder export_repository wrote")
        raise FileAccessError(f"no archive folder at {folder}: give the folder export_repository wrote")
    if not isinstance(gun, str):
        raise InvalidArgumentError(f"the GUN is a string such as 'registry.example.com/team/app', not {gun!r}")
    versions = capture_versions(folder, gun)
    if not versions:
        hint = ""
        try:
            image = ImageReference.parse(gun)
        except TrustkitError:
            image = None
        if image is not None and image.gun != gun:
            what = "an image reference" if image.tag or image.digest else "a short name"
            hint = f"{gun!r} is {what}: the GUN is {image.gun}; "
        raise RepositoryNotFoundError(
            f"the archive {folder} holds no capture of {gun}: {hint}{_held(folder)}; "
            "archive the repository with export_repository first if it is not there"
        )
    remote = ArchiveRemote(folder, capture=capture)
    remote.manifest(gun)  # a capture that is not there names those that are
    return remote


def _check_pins(root: object, pinning: object, trust_on_first_use: bool) -> None:
    """One way to trust the root, of the right type: a mistake says what to pass instead."""
    if root is not None and not isinstance(root, bytes):
        hint = " -- read the file first: Path(...).read_bytes()" if isinstance(root, (str, Path)) else ""
        raise InvalidArgumentError(f"root= is the bytes of a root.json you trust, not {type(root).__name__}{hint}")
    if pinning is not None and not isinstance(pinning, TrustPinning):
        raise InvalidArgumentError(f"pinning= is a TrustPinning, not {type(pinning).__name__}")
    if root is not None and (pinning is not None or trust_on_first_use):
        other = "pinning=" if pinning is not None else "trust_on_first_use=True"
        raise InvalidArgumentError(
            f"give one way to trust the archived root: root= (a root you pinned) or {other}, not both -- "
            "a pinned root is never combined with another rule"
        )


def verified_root(
    gun: str,
    newest: int,
    fetch_root: Callable[[int], bytes],
    *,
    root: bytes | None,
    pinning: TrustPinning | None,
    trust_on_first_use: bool,
    clock: Callable[[], datetime],
) -> tuple[bytes, str]:
    """Root version ``newest`` of ``gun``, reached from the pinned root through every version (``fetch_root``
    gives one by number), and how the start was trusted (``pinned root``, ``pinned certificates``, or
    :data:`~trustkit.archive.manifest.FIRST_USE`)."""
    if root is not None:
        start = Metadata.from_bytes(root, role=ROOT).signed.version
        trusted = TrustedMetadataSet(root, gun=gun, first_contact=False, clock=clock)
        how = "pinned root"
    elif pinning is not None or trust_on_first_use:
        start = 1
        if pinning is not None and not trust_on_first_use:
            pinning = attrs.evolve(pinning, disable_tofu=True)
        trusted = TrustedMetadataSet(fetch_root(1), gun=gun, first_contact=True, pinning=pinning, clock=clock)
        pinned = pinning is not None and (pinning.certs_for(gun) is not None or pinning.ca_for(gun) is not None)
        how = "pinned certificates" if pinned else FIRST_USE  # pinning without an entry for gun: first use
    else:
        raise ConfigurationError(
            f"reading the archive of {gun} needs a pinned root: pass root= (the bytes of a root.json you trust, "
            "e.g. from your trust directory), pinning= (notary's trust_pinning), or trust_on_first_use=True "
            "to trust whatever root the archive holds"
        )
    if newest < start:
        raise UntrustedRootError(
            f"the newest root of {gun} is version {newest}, older than the pinned version {start}: "
            "the archive was captured before that root; pin an older root or use a newer capture"
        )
    if newest - start > _MAX_ROOT_WALK:
        raise UntrustedRootError(f"the root chain of {gun} has over {_MAX_ROOT_WALK} versions to walk")
    for version in range(start + 1, newest):
        trusted.update_root(fetch_root(version), intermediate=True)
    if newest > start:
        trusted.update_root(fetch_root(newest))
    return trusted.raw(ROOT), how


def _archived_root(
    remote: ArchiveRemote,
    gun: str,
    *,
    root: bytes | None,
    pinning: TrustPinning | None,
    trust_on_first_use: bool,
    clock: Callable[[], datetime],
) -> bytes:
    manifest = remote.manifest(gun)
    current = manifest.file(ROOT, sha256=manifest.current_root)
    if current is None or current.version is None:
        raise UntrustedRootError(f"the archive's manifest of {gun} names no current root version")

    def fetch(version: int) -> bytes:
        return remote.get_role(gun, ROOT, max_size=MAX_ROOT_SIZE, version=version)

    newest, _ = verified_root(
        gun, current.version, fetch, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use, clock=clock
    )
    return newest


def open_archive(
    archive: str | Path,
    gun: str,
    *,
    root: bytes | None = None,
    pinning: TrustPinning | None = None,
    trust_on_first_use: bool = False,
    at: VerificationTime | str = "now",
    capture: int | None = None,
) -> Reader:
    """A refreshed :class:`~trustkit.client.Reader` of ``gun``'s archived trust data, verified with no network.

    The root is trusted from ``root`` (the bytes of a root the caller trusts, any version of the archived chain)
    or ``pinning`` (notary's certificate pinning, applied to root version 1; never falling back to first use),
    or -- only when ``trust_on_first_use`` is given -- from whatever version 1 the archive holds. The chain is
    walked to the capture's newest root. Everything is judged as of ``at``: ``"now"`` (expired data is refused,
    as a live read would), ``"capture"`` (what verified when it was archived), a given aware datetime, or an
    ISO 8601 time with a zone (``"2026-12-06T00:00:00Z"``, as a policy's ``verify_at``). ``capture`` picks a
    timestamp version (default the newest capture).

    Raises :class:`~trustkit.errors.ConfigurationError` when no pin is given,
    :class:`~trustkit.errors.InvalidArgumentError` for a ``root`` that is not bytes (a path: read it first), a
    ``root`` together with ``pinning`` or ``trust_on_first_use``, or an ``at`` it cannot read;
    :class:`~trustkit.errors.FileAccessError` when ``archive`` is not an archive folder (a tar file from
    :func:`~trustkit.archive.pack_archive` is unpacked first); :class:`~trustkit.errors.RepositoryNotFoundError`
    naming the GUNs and captures the archive does hold (an image reference or short name is told its GUN);
    :class:`~trustkit.errors.UntrustedRootError` for a wrong pin, and the reader's errors for anything else.
    """
    remote, clock, newest = _start(
        archive, gun, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use, at=at, capture=capture
    )
    with _explaining_expiry(remote, gun, at):
        reader = Reader(gun, remote, cache=_MemoryCache(gun, newest), clock=clock)
        reader.refresh()
    return reader


def _start(
    archive: str | Path,
    gun: str,
    *,
    root: bytes | None,
    pinning: TrustPinning | None,
    trust_on_first_use: bool,
    at: VerificationTime | str,
    capture: int | None,
) -> tuple[ArchiveRemote, Callable[[], datetime], bytes]:
    """Where :func:`open_archive` and :func:`trust_archived_root` both start: the archive, the clock of ``at`` and
    the newest root, verified from the pin."""
    _check_pins(root, pinning, trust_on_first_use)
    remote = _checked_archive(archive, gun, capture)
    clock = _clock_for(at, remote.manifest(gun))
    with _explaining_expiry(remote, gun, at):
        newest = _archived_root(
            remote, gun, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use, clock=clock
        )
    return remote, clock, newest


@contextlib.contextmanager
def _explaining_expiry(remote: ArchiveRemote, gun: str, at: VerificationTime | str) -> Iterator[None]:
    """Turn an expiry met inside into one that says what ``at`` to pass instead (:func:`_expired`)."""
    try:
        yield
    except ExpiredMetadataError as exc:
        raise _expired(exc, remote.manifest(gun), at) from None


def _expired(exc: ExpiredMetadataError, manifest: CaptureManifest, at: VerificationTime | str) -> ExpiredMetadataError:
    """An expiry met reading an archive, with what to pass instead: the capture time, or another instant."""
    when = at.isoformat() if isinstance(at, datetime) else str(at)
    return ExpiredMetadataError(
        f"the archive of {manifest.gun} does not verify as of {when}: {exc} -- archived trust data expires (notary's "
        f"timestamp 14 days after it was signed); to prove what it said, pass at='capture' (captured "
        f"{manifest.captured_at.isoformat(timespec='seconds')}) or at=<an aware datetime when it was valid>"
    )


def trust_archived_root(
    archive: str | Path,
    gun: str,
    trust_dir: str | Path,
    *,
    root: bytes | None = None,
    pinning: TrustPinning | None = None,
    trust_on_first_use: bool = False,
    at: VerificationTime | str = "now",
    capture: int | None = None,
) -> Metadata[Root]:
    """Verify the archived root chain from a pin (as :func:`open_archive`) and store the newest root in
    ``trust_dir``'s cache for ``gun``, so that :class:`~trustkit.dct.DockerTrust` (``remote=ArchiveRemote(...)``)
    and the notebook summaries start from it rather than trusting the archive on first use.

    Returns the root stored. For docker's layout, ``trust_dir`` is ``$DOCKER_CONFIG/trust``.
    """
    _, _, newest = _start(
        archive, gun, root=root, pinning=pinning, trust_on_first_use=trust_on_first_use, at=at, capture=capture
    )
    MetadataCache(trust_dir, gun).store(ROOT, newest)
    return Metadata.from_bytes(newest, role=ROOT)
