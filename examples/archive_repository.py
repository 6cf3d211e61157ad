"""Archive a repository before its notary server goes away, and prove what was signed from the archive alone.

Run it with ``python examples/archive_repository.py``. It publishes a demo repository to a LocalRemote folder (a
notary server as far as trustkit is concerned: swap in ``tk.NotaryServer(url, ...)`` for your own), with a
delegation, a server-held snapshot key and a root rotation; archives it; deletes it on the "server"; and a year
later (an injected clock) proves from the archive alone, with the first root pinned, which tags were signed --
as of the capture, and that as of today the data has expired. It then signs the manifest and shows that a wrong
pin is refused.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import trustkit as tk
from trustkit.archive import export_repository, load_manifest, open_archive, sign_manifest, verify_manifest

GUN = "localhost:5000/example/archived"
NOW = datetime.now(timezone.utc)


def publish_demo(server: tk.LocalRemote, workdir: Path) -> bytes:
    """Publish the demo repository; returns its first root, the one its users pinned."""
    repo = tk.Repository(GUN, remote=server, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "admin")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[alice.public_key], all_paths=True)
    repo.add_target("v1.0", tk.TargetFile.from_digest("sha256:" + "10" * 32, 1024), roles=["targets/releases"])
    repo.add_target("v1.1", tk.TargetFile.from_digest("sha256:" + "11" * 32, 1100), roles=["targets/releases"])
    repo.publish()
    first_root = server.get_role(GUN, "root", max_size=1 << 20)
    repo.rotate_key("root")  # the chain in the archive goes from root 1 to root 2
    return first_root


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-archive-"))
    server = tk.LocalRemote(workdir / "server")
    first_root = publish_demo(server, workdir)

    result = export_repository(
        server, GUN, workdir / "archive", root=first_root, source="https://notary.example.com", clock=lambda: NOW
    )
    manifest = result.manifest
    assert manifest is not None
    print(
        f"archived {GUN}: {len(manifest.files)} files, verified at capture: {manifest.verified} "
        f"(root trusted: {manifest.trusted_root})"
    )
    server.delete(GUN)
    print("deleted on the server")

    a_year_later = NOW + timedelta(days=365)
    reader = open_archive(workdir / "archive", GUN, root=first_root, at="capture")
    for match in reader.list_targets():
        print(f"signed at capture: {match.name} sha256:{match.target.sha256_hex} by {match.role}")
    try:
        open_archive(workdir / "archive", GUN, root=first_root, at=a_year_later)
    except tk.ExpiredMetadataError as exc:
        print(f"judged a year later: refused ({type(exc).__name__})")

    auditor = tk.generate_private_key()
    sign_manifest(workdir / "archive", GUN, auditor.signer())
    signature = verify_manifest(workdir / "archive", GUN, [auditor.public_key])
    print(
        f"manifest of capture {load_manifest(workdir / 'archive', GUN).timestamp_version} signed by {signature.key_id}"
    )

    stranger = tk.make_root_key(tk.generate_private_key(), GUN)
    try:
        open_archive(workdir / "archive", GUN, pinning=tk.TrustPinning(certs={GUN: (stranger.key_id,)}), at="capture")
    except tk.UntrustedRootError:
        print("a wrong pin: refused")


if __name__ == "__main__":
    main()
