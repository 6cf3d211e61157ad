"""The archive's on-disk form: notary's own layout for the trust files, one manifest per capture.

An archive is a folder holding any number of repositories::

    <archive>/<gun>/_trust/tuf/<v>.root.json             every root version, 1 to the newest captured
    <archive>/<gun>/_trust/tuf/root.<sha256>.json        a root of a version archived before with other bytes
    <archive>/<gun>/_trust/tuf/<role>.<sha256>.json      every other captured file, by the sha256 of its bytes
    <archive>/<gun>/_trust/archive/<v>.manifest.json     one capture: timestamp version ``v``
    <archive>/<gun>/_trust/archive/<v>.targets.json      the targets that verified at that capture
    <archive>/<gun>/_trust/archive/<v>.manifest.sig.json its optional signature

File names are the ones notary-server serves (``/v2/<gun>/_trust/tuf/...``), and every file can be checked with
``sha256sum`` against the manifest. Files are content-addressed: a later
capture of the same repository adds only what changed and never rewrites what an earlier capture names, and the
root chain simply continues. The manifest is deterministic JSON (sorted keys, fixed indentation, no wall-clock
field beyond the capture time given): the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from trustkit._encoding import GoTime
from trustkit._fs import atomic_write
from trustkit._tables import plain_fields
from trustkit.errors import HashMismatchError, MalformedMetadataError, RepositoryNotFoundError, VerificationError
from trustkit.keys.public import PublicKey
from trustkit.keys.signing import sign_message
from trustkit.metadata.names import ROOT, is_valid_role
from trustkit.remote.base import check_gun

__all__ = [
    "MANIFEST_FORMAT",
    "ArchivedFile",
    "CaptureManifest",
    "ManifestSignature",
    "RejectedRole",
    "VerifiedRole",
    "VerifiedTarget",
    "capture_versions",
    "load_manifest",
    "load_verified_targets",
    "manifest_path",
    "pack_archive",
    "sign_manifest",
    "verify_manifest",
]

MANIFEST_FORMAT = "trustkit-archive/1"
"""The ``format`` field of every manifest this version writes and reads."""

FIRST_USE = "first use: no root was pinned"
"""The manifest's ``trusted_root`` when the capture trusted whatever root version 1 the server held."""

TUF_FOLDER = "_trust/tuf"
MANIFEST_FOLDER = "_trust/archive"
MAX_MANIFEST_SIZE = 1 << 30
"""A manifest larger than this is refused (it lists every target: 100,000 tags take about 15 MB)."""
_MAX_SIGNATURE_SIZE = 1 << 20


def _sha256_hex(value: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise ValueError(f"{value!r} is not a lowercase hex sha256")
    return value


@attrs.frozen
class ArchivedFile:
    """One trust file of a capture: where it is (relative to the repository's folder), its role, sha256, length
    and version (known for roots; for the others, as the verification at capture read it, else None)."""

    path: str
    role: str
    sha256: str
    length: int
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON form."""
        return plain_fields(self)


@attrs.frozen
class VerifiedRole:
    """A role that verified at capture: version, expiry (exactly as signed) and the sha256 of its file."""

    role: str
    version: int
    expires: str
    sha256: str


class VerifiedTarget(NamedTuple):
    """A target that verified at capture, as ``<v>.targets.json`` records it (one row per tag)."""

    name: str
    sha256_hex: str | None
    """The sha256 as hex (docker's digest), or None when the target has none."""
    length: int
    role: str
    """The role that holds it: the first of notary's walk from ``targets`` that lists it (what ``notary list``
    shows; a signer's role such as ``targets/alice`` when it comes first)."""
    released_by: str | None
    """The role docker's release rule takes the tag from -- ``targets/releases``, else ``targets``
    (:func:`trustkit.dct.inspect.released_roles`) -- or None when only a signer's own role holds it and docker
    never pulls it. docker pulls the digest that role lists."""


@attrs.frozen
class RejectedRole:
    """A captured role that did not verify at capture (expired, under-signed, not reached), and why."""

    role: str
    sha256: str
    reason: str


@attrs.frozen
class CaptureManifest:
    """What one capture of one repository holds and what verified when it was taken.

    ``source`` names the server it came from; ``timestamp_version`` identifies the capture (a repository is
    captured once per timestamp version); ``files`` lists every file it needs, with sha256 and length;
    ``current_root`` and ``current_timestamp`` are the sha256 of the newest root and the timestamp served then.
    ``error`` is empty when the repository verified at capture, else why not; ``roles``, ``rejected`` and the
    targets are what the verification at capture found (an auditor can read them without trustkit). The targets
    are listed in their own file, ``<v>.targets.json`` beside the manifest, which names its sha256: a 100,000-tag
    list would make the manifest itself slow to read for every offline verification.
    """

    gun: str
    source: str
    captured_at: datetime
    trustkit_version: str
    timestamp_version: int
    files: tuple[ArchivedFile, ...]
    current_root: str
    current_timestamp: str
    trusted_root: str
    """How the root chain was trusted at capture: ``pinned root``, ``pinned certificates`` or
    ``first use: no root was pinned`` (:attr:`root_pinned` is then false)."""
    error: str
    roles: tuple[VerifiedRole, ...]
    rejected: tuple[RejectedRole, ...]
    targets_count: int
    """How many targets verified at capture (all of them, through every delegation)."""
    targets_sha256: str
    """The sha256 of the ``<v>.targets.json`` file listing them (:func:`load_verified_targets` reads it)."""
    targets_length: int

    @property
    def verified(self) -> bool:
        """Whether the repository verified when it was captured -- from the root the capture trusted: see
        :attr:`root_pinned` (a capture on first use verifies whatever root the server held)."""
        return not self.error

    @property
    def root_pinned(self) -> bool:
        """Whether the capture verified from a root or certificates the archivist pinned, not on first use."""
        return self.trusted_root != FIRST_USE

    def file(self, role: str, *, sha256: str | None = None, version: int | None = None) -> ArchivedFile | None:
        """The captured file of ``role`` with that sha256 or version, or None."""
        for entry in self.files:
            same = entry.role == role and (sha256 is None or entry.sha256 == sha256)
            if same and (version is None or entry.version == version):
                return entry
        return None

    def to_bytes(self) -> bytes:
        """The manifest file: deterministic JSON (sorted keys, one-space indentation, a final newline)."""
        obj = {
            "format": MANIFEST_FORMAT,
            "gun": self.gun,
            "source": self.source,
            "captured_at": GoTime.from_datetime(self.captured_at).text,
            "trustkit_version": self.trustkit_version,
            "timestamp_version": self.timestamp_version,
            "files": [entry.to_dict() for entry in sorted(self.files, key=lambda e: e.path)],
            "current": {"root": self.current_root, "timestamp": self.current_timestamp},
            "verification": {
                "trusted_root": self.trusted_root,
                "error": self.error,
                "roles": [attrs.asdict(r) for r in sorted(self.roles, key=lambda r: r.role)],
                "rejected": [attrs.asdict(r) for r in sorted(self.rejected, key=lambda r: r.role)],
                "targets": {"count": self.targets_count, "sha256": self.targets_sha256, "length": self.targets_length},
            },
        }
        return (json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> CaptureManifest:
        """Read a manifest; :class:`MalformedMetadataError` naming what is wrong with anything else."""
        try:
            obj = json.loads(data)
            return cls._from_obj(obj)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise MalformedMetadataError(f"malformed archive manifest: {exc!s}") from None

    @classmethod
    def _from_obj(cls, obj: Any) -> CaptureManifest:
        if obj.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is not {MANIFEST_FORMAT!r}: re-archive with this trustkit version")
        files = []
        for item in obj["files"]:
            version = item["version"]
            if not (version is None or (type(version) is int and version >= 1)):
                raise ValueError(f"bad version in {item!r}")
            entry = ArchivedFile(
                _text(item["path"]), _role(item["role"]), _sha256_hex(item["sha256"]), _count(item["length"]), version
            )
            if entry.path not in _allowed_paths(entry):
                raise ValueError(f"file {entry.path!r} is not where its role and hash put it")
            files.append(entry)
        check = obj["verification"]
        roles = tuple(
            VerifiedRole(_role(r["role"]), _count(r["version"]), _text(r["expires"]), _sha256_hex(r["sha256"]))
            for r in check["roles"]
        )
        rejected = tuple(
            RejectedRole(_role(r["role"]), _sha256_hex(r["sha256"]), _text(r["reason"])) for r in check["rejected"]
        )
        targets = check["targets"]
        return cls(
            gun=check_gun(_text(obj["gun"])),
            source=_text(obj["source"]),
            captured_at=GoTime.parse(_text(obj["captured_at"]), field="captured_at").datetime,
            trustkit_version=_text(obj["trustkit_version"]),
            timestamp_version=_count(obj["timestamp_version"]),
            files=tuple(files),
            current_root=_sha256_hex(obj["current"]["root"]),
            current_timestamp=_sha256_hex(obj["current"]["timestamp"]),
            trusted_root=_text(check["trusted_root"]),
            error=_text(check["error"]),
            roles=roles,
            rejected=rejected,
            targets_count=_count(targets["count"]),
            targets_sha256=_sha256_hex(targets["sha256"]),
            targets_length=_count(targets["length"]),
        )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def _role(value: Any) -> str:
    if not isinstance(value, str) or not is_valid_role(value):
        raise ValueError(f"{value!r} is not a role name")
    return value


def file_path(role: str, sha256: str, version: int | None) -> str:
    """Where a captured file lives in its repository's folder: roots by version, the rest by sha256."""
    if role == ROOT and version is not None:
        return f"{TUF_FOLDER}/{version}.root.json"
    return f"{TUF_FOLDER}/{role}.{sha256}.json"


def _allowed_paths(entry: ArchivedFile) -> tuple[str, ...]:
    """A root is kept by version, or by hash when another root of that version was archived first."""
    return (file_path(entry.role, entry.sha256, entry.version), file_path(entry.role, entry.sha256, None))


def repository_folder(archive: Path, gun: str) -> Path:
    """The folder of ``gun`` inside ``archive``."""
    return archive.joinpath(*check_gun(gun).split("/"))


def manifest_path(archive: str | Path, gun: str, timestamp_version: int) -> Path:
    """Where the manifest of ``gun``'s capture at ``timestamp_version`` is (whether or not it exists)."""
    return repository_folder(Path(archive), gun) / MANIFEST_FOLDER / f"{timestamp_version}.manifest.json"


def targets_path(archive: str | Path, gun: str, timestamp_version: int) -> Path:
    """Where the list of targets verified at ``gun``'s capture at ``timestamp_version`` is."""
    return manifest_path(archive, gun, timestamp_version).with_name(f"{timestamp_version}.targets.json")


def dump_targets(rows: Sequence[VerifiedTarget]) -> bytes:
    """The ``<v>.targets.json`` file: ``[[name, sha256 hex, length, role, released_by], ...]`` in listing order,
    compact JSON (``released_by`` is null for a tag docker never pulls)."""
    return (json.dumps([list(row) for row in rows], separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def load_verified_targets(archive: str | Path, gun: str, timestamp_version: int | None = None) -> list[VerifiedTarget]:
    """The targets that verified at a capture of ``gun`` (default the newest), as the manifest recorded them:
    ``VerifiedTarget(name, sha256_hex, length, role, released_by)`` -- the role that holds each tag and the role
    docker's release rule takes it from. The file is checked against the manifest's sha256 first.

    This is the record of what verified then, for audits; to verify again, use :func:`~trustkit.archive.open_archive`.
    """
    manifest = load_manifest(archive, gun, timestamp_version)
    path = targets_path(archive, gun, manifest.timestamp_version)
    data = _read_capped(path, manifest.targets_length, f"the verified targets of {gun}")
    if len(data) != manifest.targets_length or sha256_hex(data) != manifest.targets_sha256:
        raise HashMismatchError(f"{path} is not the list of targets its manifest names: the archive is damaged")
    try:
        rows = [VerifiedTarget(*row) for row in json.loads(data)]
    except (ValueError, TypeError, RecursionError) as exc:
        raise MalformedMetadataError(f"malformed list of verified targets at {path}: {exc}") from None
    if len(rows) != manifest.targets_count:
        raise MalformedMetadataError(f"{path} lists {len(rows)} targets, its manifest {manifest.targets_count}")
    return rows


def capture_versions(archive: str | Path, gun: str) -> list[int]:
    """The timestamp versions of every capture of ``gun`` in ``archive``, oldest first (empty when none)."""
    folder = repository_folder(Path(archive), gun) / MANIFEST_FOLDER
    versions = []
    if folder.is_dir():
        for path in folder.glob("*.manifest.json"):
            head = path.name.removesuffix(".manifest.json")
            if head.isdigit() and not head.startswith("0"):
                versions.append(int(head))
    return sorted(versions)


def _read_capped(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise RepositoryNotFoundError(f"{what} not found at {path}: archive the repository first") from None
    if len(data) > limit:
        raise MalformedMetadataError(f"{what} at {path} is larger than {limit} bytes")
    return data


def load_manifest(archive: str | Path, gun: str, timestamp_version: int | None = None) -> CaptureManifest:
    """The manifest of ``gun``'s capture at ``timestamp_version`` (default: the newest capture).

    Raises :class:`RepositoryNotFoundError` when the archive holds no such capture, and
    :class:`MalformedMetadataError` for a damaged manifest or one of another repository.
    """
    if timestamp_version is None:
        versions = capture_versions(archive, gun)
        if not versions:
            raise RepositoryNotFoundError(f"the archive {archive} holds no capture of {gun}: archive it first")
        timestamp_version = versions[-1]
    path = manifest_path(archive, gun, timestamp_version)
    if not path.is_file():
        versions = capture_versions(archive, gun)
        if versions:
            raise RepositoryNotFoundError(
                f"the archive {archive} holds no capture of {gun} at timestamp version {timestamp_version!r}: its "
                f"captures are at {', '.join(map(str, versions))} (give one of them, or None for the newest)"
            )
    manifest = CaptureManifest.from_bytes(_read_capped(path, MAX_MANIFEST_SIZE, f"the manifest of {gun}"))
    if manifest.gun != gun or manifest.timestamp_version != timestamp_version:
        raise MalformedMetadataError(f"the manifest at {path} is not the capture of {gun} at {timestamp_version}")
    return manifest


@attrs.frozen
class ManifestSignature:
    """A signature over a manifest file's exact bytes: who signed (key ID and public key) and notary's method."""

    key_id: str
    method: str
    signature: bytes
    public_key: PublicKey

    def to_bytes(self) -> bytes:
        """The ``.manifest.sig.json`` file: the public key in notary's JSON form, the signature in hex."""
        obj = {
            "keyid": self.key_id,
            "method": self.method,
            "sig": self.signature.hex(),
            "public_key": self.public_key.to_dict(),
        }
        return (json.dumps(obj, sort_keys=True, indent=1) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ManifestSignature:
        """Read a ``.manifest.sig.json`` file."""
        try:
            obj = json.loads(data)
            key = PublicKey.from_dict(obj["public_key"])
            signature = cls(_text(obj["keyid"]), _text(obj["method"]), bytes.fromhex(_text(obj["sig"])), key)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise MalformedMetadataError(f"malformed manifest signature: {exc!s}") from None
        if key.key_id != signature.key_id:
            raise MalformedMetadataError("malformed manifest signature: keyid is not its public key's ID")
        return signature


def _signature_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name.removesuffix(".json") + ".sig.json")


def sign_manifest(
    archive: str | Path, gun: str, signer: Any, *, timestamp_version: int | None = None
) -> ManifestSignature:
    """Sign a capture's manifest so that an auditor can tell who captured it.

    ``signer`` is any securesystemslib signer: ``keystore.get_signer(key_id)`` of any trustkit key store (file,
    HSM, external), or ``PrivateKey.signer()``. The signature covers the manifest's exact bytes, which name the
    sha256 of every archived file, and is written beside it as ``<v>.manifest.sig.json``.
    """
    if timestamp_version is None:
        timestamp_version = load_manifest(archive, gun).timestamp_version
    path = manifest_path(archive, gun, timestamp_version)
    data = _read_capped(path, MAX_MANIFEST_SIZE, f"the manifest of {gun}")
    method, raw, public = sign_message(signer, data)
    signature = ManifestSignature(public.key_id, method, raw, public)
    _write_new(_signature_path(path), signature.to_bytes(), replace=True)
    return signature


def verify_manifest(
    archive: str | Path, gun: str, trusted_keys: Sequence[PublicKey], *, timestamp_version: int | None = None
) -> ManifestSignature:
    """Check that a capture's manifest was signed by one of ``trusted_keys`` (which the caller got elsewhere).

    Raises :class:`~trustkit.errors.VerificationError` when it is unsigned, signed by another key, or the
    signature does not match the manifest's bytes. Returns the signature that verified.
    """
    if timestamp_version is None:
        timestamp_version = load_manifest(archive, gun).timestamp_version
    path = manifest_path(archive, gun, timestamp_version)
    data = _read_capped(path, MAX_MANIFEST_SIZE, f"the manifest of {gun}")
    sig_path = _signature_path(path)
    if not sig_path.is_file():
        raise VerificationError(f"the manifest of {gun} at {timestamp_version} is not signed ({sig_path} missing)")
    signature = ManifestSignature.from_bytes(_read_capped(sig_path, _MAX_SIGNATURE_SIZE, "the manifest signature"))
    keys: Mapping[str, PublicKey] = {key.key_id: key for key in trusted_keys}
    key = keys.get(signature.key_id)
    if key is None:
        raise VerificationError(
            f"the manifest of {gun} is signed by key {signature.key_id}, not by any of the trusted keys "
            f"({', '.join(sorted(keys)) or 'none given'})"
        )
    if not key.verify(signature.method, signature.signature, data):
        raise VerificationError(f"the signature of {gun}'s manifest by {key.key_id} does not match its bytes")
    return signature


def _write_new(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Write ``path`` atomically; an existing file with other bytes is only replaced when asked (content-addressed
    files never change)."""
    if path.is_file() and not replace:
        return
    atomic_write(path, data, mode=0o644)


def sha256_hex(data: bytes) -> str:
    """The lowercase hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def pack_archive(archive: str | Path, tar_path: str | Path) -> Path:
    """Write the whole archive folder as one uncompressed tar file, deterministically: entries sorted by name,
    modification times 0, owner and group 0 with no names, modes 0644 and 0755. The same archive gives the same
    bytes, so the tar file's sha256 can be published or signed too. Files are streamed into it one at a time.

    ``tar -xf`` (or :mod:`tarfile`) unpacks it into a folder :func:`~trustkit.archive.open_archive` reads.
    """
    source, target = Path(archive), Path(tar_path)
    if not source.is_dir():
        raise RepositoryNotFoundError(f"{source} is not an archive folder")
    paths = sorted(source.rglob("*"), key=lambda p: p.relative_to(source).as_posix())
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as tar:
            for path in paths:
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    continue  # only what an archive is made of: folders and regular files
                info = tarfile.TarInfo(path.relative_to(source).as_posix())
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if path.is_dir():
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                    continue
                info.mode, info.size = 0o644, path.stat().st_size
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    temporary.replace(target)
    return target
