"""Layer 6: archives -- keep proving what was signed after the notary server is gone.

:func:`export_repository` and :func:`export_server` capture trust data (every root version, timestamp, snapshot,
targets, every delegation) into a folder in notary's own layout with a deterministic manifest per capture;
:func:`open_archive` reads a capture back with no network, from a pinned root, as of now, the capture time or any
instant; :class:`ArchiveRemote` serves an archive to anything that reads a remote; :func:`sign_manifest` and
:func:`verify_manifest` tell who captured it.
"""

from trustkit.archive.export import (
    ExportProgress,
    ExportReport,
    ExportResult,
    export_repository,
    export_server,
    server_repositories,
)
from trustkit.archive.manifest import (
    MANIFEST_FORMAT,
    ArchivedFile,
    CaptureManifest,
    ManifestSignature,
    RejectedRole,
    VerifiedRole,
    VerifiedTarget,
    capture_versions,
    load_manifest,
    load_verified_targets,
    manifest_path,
    pack_archive,
    sign_manifest,
    verify_manifest,
)
from trustkit.archive.offline import ArchiveRemote, VerificationTime, open_archive, trust_archived_root

__all__ = [
    "MANIFEST_FORMAT",
    "ArchiveRemote",
    "ArchivedFile",
    "CaptureManifest",
    "ExportProgress",
    "ExportReport",
    "ExportResult",
    "ManifestSignature",
    "RejectedRole",
    "VerificationTime",
    "VerifiedRole",
    "VerifiedTarget",
    "capture_versions",
    "export_repository",
    "export_server",
    "load_manifest",
    "load_verified_targets",
    "manifest_path",
    "open_archive",
    "pack_archive",
    "server_repositories",
    "sign_manifest",
    "trust_archived_root",
    "verify_manifest",
]
