"""Connecting to a server: a LocalRemote folder by default, the notary server docker would use when configured.

Run it with ``python examples/connect_server.py [IMAGE]``:

* with nothing set, the trust data goes to a LocalRemote folder (``$TRUSTKIT_LOCAL_REMOTE``, or a new temporary
  folder), which behaves as a notary server and needs none;
* with ``DOCKER_CONTENT_TRUST_SERVER`` set (an ``https://`` URL), it goes to that notary server, resolved as
  docker resolves it: TLS files from ``$DOCKER_CONFIG/tls/<host:port>/`` and the credentials ``docker login``
  stored for the image's registry (``config.json`` or a credential helper).

It publishes a new repository for IMAGE (default: a fresh ``localhost:5000/example/app-<random>``), signs a
tag, reads everything back through the same interface and verifies it.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import trustkit as tk
from trustkit.remote import (
    MAX_ROOT_SIZE,
    MAX_TIMESTAMP_SIZE,
    ImageReference,
    LocalRemote,
    NotaryServer,
    Remote,
    docker_server_config,
)


def connect(image: ImageReference) -> tuple[Remote, str]:
    """The remote for ``image``: docker's notary server when ``DOCKER_CONTENT_TRUST_SERVER`` is set, else a folder."""
    if os.environ.get("DOCKER_CONTENT_TRUST_SERVER"):
        config = docker_server_config(image)
        return NotaryServer.from_config(config, timeout=10.0), f"notary server {config.url}"
    folder = Path(os.environ.get("TRUSTKIT_LOCAL_REMOTE") or tempfile.mkdtemp(prefix="trustkit-remote-"))
    return LocalRemote(folder), f"local folder {folder}"


def main() -> None:
    """Publish a repository with one signed tag, then read it back and verify it."""
    text = sys.argv[1] if len(sys.argv) > 1 else f"localhost:5000/example/app-{secrets.token_hex(4)}:v1"
    image = ImageReference.parse(text)
    gun, tag = image.gun, image.tag or "latest"
    remote, where = connect(image)
    print(f"repository {gun} on {where}")

    # The client's keys (root in a certificate, targets); the remote holds timestamp and snapshot.
    root_key, targets_key = tk.generate_private_key(), tk.generate_private_key()
    root_cert = tk.make_root_key(root_key, gun)
    base = {
        "root": root_cert,
        "targets": targets_key.public_key,
        "snapshot": remote.get_key(gun, "snapshot"),
        "timestamp": remote.get_key(gun, "timestamp"),
    }
    root = tk.Root(
        version=1,
        expires=tk.default_expiry("root"),
        keys={key.key_id: key for key in base.values()},
        roles={role: tk.Role([key.key_id], 1) for role, key in base.items()},
    )
    targets = tk.Targets(version=1, expires=tk.default_expiry("targets"))
    remote.publish(
        gun,
        {
            "root": tk.Metadata(root).sign(root_key.signer(), key=root_cert).to_bytes(),
            "targets": tk.Metadata(targets).sign(targets_key.signer()).to_bytes(),
        },
    )
    print(f"published root and targets; the remote's timestamp key is {base['timestamp'].key_id[:12]}")

    # Sign a tag as docker does (the manifest's sha256 and size) and publish targets version 2.
    digest = "sha256:" + "5f" * 32
    targets = targets.with_target(tag, tk.TargetFile.from_digest(digest, 528)).bump()
    remote.publish(gun, {"targets": tk.Metadata(targets).sign(targets_key.signer()).to_bytes()})
    try:
        remote.publish(gun, {"targets": tk.Metadata(targets).sign(targets_key.signer()).to_bytes()})
    except tk.ConflictError as exc:
        print(f"publishing version 2 again is refused: {exc.code}")

    # Read back as a client does: timestamp, then snapshot and targets by the hashes it names.
    timestamp = tk.Metadata.from_bytes(remote.get_role(gun, "timestamp", max_size=MAX_TIMESTAMP_SIZE), role="timestamp")
    root.verify_delegate("timestamp", timestamp)
    meta = timestamp.signed.snapshot_meta
    snapshot_bytes = remote.get_role(gun, "snapshot", max_size=meta.length, checksum=meta.hashes["sha256"].hex())
    snapshot = tk.Metadata.from_bytes(snapshot_bytes, role="snapshot")
    root.verify_delegate("snapshot", snapshot)
    targets_meta = snapshot.signed.meta["targets"]
    targets_bytes = remote.get_role(
        gun, "targets", max_size=targets_meta.length, checksum=targets_meta.hashes["sha256"].hex()
    )
    read = tk.Metadata.from_bytes(targets_bytes, role="targets")
    root.verify_delegate("targets", read)
    versions = (timestamp.signed.version, snapshot.signed.version, read.signed.version)
    print("verified timestamp v{}, snapshot v{}, targets v{}".format(*versions))
    print(f"signed tag {tag}: sha256:{read.signed.targets[tag].sha256_hex}")
    print(f"root.json is {len(remote.get_role(gun, 'root', max_size=MAX_ROOT_SIZE))} bytes")
    for record in remote.changefeed(gun):
        print(f"changefeed {record.id}: {record.category} to timestamp version {record.version}")
    if isinstance(remote, NotaryServer):
        remote.close()


if __name__ == "__main__":
    try:
        main()
    except tk.TrustkitError as exc:
        sys.exit(f"error: {type(exc).__name__}: {exc}")
