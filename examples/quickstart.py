"""trustkit quickstart: keys, a signed repository with a delegation, verification, and publishing.

Run it with ``python examples/quickstart.py``. It needs no server. Part one builds the metadata a Docker Content
Trust repository holds (root, targets, a ``targets/releases`` delegation, snapshot and timestamp) by hand, signs
each role the way notary does, writes every file as notary would, then reads the bytes back and verifies the
chain of trust. Part two does the same through the repository API, publishing to the embedded ``LocalRemote``
(a folder that behaves as a notary server) and reading it back as a client would.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustkit as tk

GUN = "localhost:5000/example/app"


def main() -> None:
    """Build, sign, serialise, re-read and verify a small repository."""
    # 1. Keys: ECDSA P-256 as notary generates them; the root key is wrapped in a self-signed certificate.
    root_key = tk.generate_private_key()
    targets_key = tk.generate_private_key()
    snapshot_key = tk.generate_private_key()
    timestamp_key = tk.generate_private_key("ed25519")  # notary-server's local signer uses Ed25519
    releases_key = tk.generate_private_key()
    root_cert = tk.make_root_key(root_key, GUN)
    print(f"root key {root_cert.key_id[:12]} (certificate for CN={GUN}), file name {root_cert.canonical_id[:12]}")

    # 2. Root: which keys sign which base role.
    base_keys = {
        "root": root_cert,
        "targets": targets_key.public_key,
        "snapshot": snapshot_key.public_key,
        "timestamp": timestamp_key.public_key,
    }
    root = tk.Root(
        version=1,
        expires=tk.default_expiry("root"),
        keys={key.key_id: key for key in base_keys.values()},
        roles={name: tk.Role([key.key_id], threshold=1) for name, key in base_keys.items()},
    )

    # 3. Targets delegating to targets/releases, which signs a tag the way `docker trust sign` does.
    releases_role = tk.DelegatedRole([releases_key.public_key.key_id], 1, name="targets/releases", paths=[""])
    targets = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(
        releases_role, [releases_key.public_key]
    )
    manifest_digest = "sha256:" + "5f" * 32
    releases = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target(
        "v1.0", tk.TargetFile.from_digest(manifest_digest, 528)
    )

    # 4. Sign every role and write the files exactly as notary would.
    files = {
        "root": tk.Metadata(root).sign(root_key.signer(), key=root_cert).to_bytes(),
        "targets": tk.Metadata(targets).sign(targets_key.signer()).to_bytes(),
        "targets/releases": tk.Metadata(releases).sign(releases_key.signer()).to_bytes(),
    }
    snapshot = tk.Snapshot(
        version=1,
        expires=tk.default_expiry("snapshot"),
        meta={role: tk.MetaFile.from_data(data) for role, data in files.items()},
    )
    files["snapshot"] = tk.Metadata(snapshot).sign(snapshot_key.signer()).to_bytes()
    timestamp = tk.Timestamp(
        version=1,
        expires=tk.default_expiry("timestamp"),
        meta={"snapshot": tk.MetaFile.from_data(files["snapshot"])},
    )
    files["timestamp"] = tk.Metadata(timestamp).sign(timestamp_key.signer()).to_bytes()
    for role, data in files.items():
        print(f"{role:18} {len(data):5} bytes")

    # 5. Read everything back from bytes and verify, top-down, as a client would.
    trusted_root = tk.Metadata.from_bytes(files["root"], role="root")
    trusted_root.signed.verify_delegate("root", trusted_root)
    timestamp_md = tk.Metadata.from_bytes(files["timestamp"], role="timestamp")
    trusted_root.signed.verify_delegate("timestamp", timestamp_md)
    timestamp_md.signed.snapshot_meta.verify_data(files["snapshot"], what="snapshot")
    snapshot_md = tk.Metadata.from_bytes(files["snapshot"], role="snapshot")
    trusted_root.signed.verify_delegate("snapshot", snapshot_md)
    for role in ("targets", "targets/releases"):
        snapshot_md.signed.meta[role].verify_data(files[role], what=role)
    targets_md = tk.Metadata.from_bytes(files["targets"], role="targets")
    trusted_root.signed.verify_delegate("targets", targets_md)
    releases_md = tk.Metadata.from_bytes(files["targets/releases"], role="targets/releases")
    result = targets_md.signed.verify_delegate("targets/releases", releases_md)
    print(f"targets/releases verified: {len(result.signed)}/{result.threshold} signatures")

    # 6. A tampered file is caught.
    tampered = files["targets/releases"].replace(b'"length":528', b'"length":529')
    try:
        targets_md.signed.verify_delegate("targets/releases", tk.Metadata.from_bytes(tampered))
    except tk.ThresholdError as exc:
        print(f"tampered file rejected: {exc}")
    else:
        raise SystemExit("a tampered file verified")

    for name, target in releases_md.signed.targets.items():
        print(f"signed tag {name}: sha256:{target.sha256_hex} ({target.length} bytes)")

    publish_and_read()


def publish_and_read() -> None:
    """Part two: the same repository through the repository API, on the embedded LocalRemote."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-quickstart-"))
    server = tk.LocalRemote(workdir / "server")  # signs timestamp (and snapshot) as notary-server does
    repo = tk.Repository(GUN, remote=server, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "trust")
    repo.initialize(server_managed_snapshot=True)  # as docker does: the server keeps snapshot and timestamp keys
    releases_key = tk.generate_private_key()
    repo.keystore.add_key(releases_key, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[releases_key.public_key], all_paths=True)
    repo.add_target("v1.0", tk.TargetFile.from_digest("sha256:" + "5f" * 32, 528), roles=["targets/releases"])
    repo.publish()

    client = tk.Reader(GUN, server, cache=tk.MetadataCache(workdir / "client", GUN))
    match = client.get_target("v1.0")
    print(f"published to {server.path.name}/ and read back: v1.0 signed by {match.role}")


if __name__ == "__main__":
    main()
