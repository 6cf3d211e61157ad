"""Test-only: the client side of a publish, for the ``Remote`` tests (the contract suite, LocalRemote, the static
server, the interop tests against notary-server).

:class:`PublishingClient` plays a notary client's part against a server that holds keys of its own: it makes a root
certificate, a targets key, a ``targets/releases`` delegation key and (unless the remote is to make the snapshot) a
snapshot key, and asks the remote for its timestamp key (and snapshot key). Every method returns only the roles that
changed, each at its own next version, so tests decide what to send, including updates a server must refuse.

Not :class:`tests.support.repo_sim.RepoSim`: that one holds every key (timestamp included) and signs the whole
repository at one version for a reader, the way a server serves it; this one never signs a timestamp (the server
does), learns keys from the remote, and sends deltas.
"""

from __future__ import annotations

from typing import Any

import trustkit as tk
from trustkit.remote import MAX_ROOT_SIZE, Remote

__all__ = ["PublishingClient", "parse"]


def parse(data: bytes, role: str) -> tk.Metadata[Any]:
    """Parse one role's bytes."""
    return tk.Metadata.from_bytes(data, role=role)


class PublishingClient:
    """The keys and current metadata of one GUN, as the client that owns it holds them."""

    def __init__(self, remote: Remote, gun: str, *, server_snapshot: bool = True) -> None:
        self.remote = remote
        self.gun = gun
        self.root_key = tk.generate_private_key()
        self.root_cert = tk.make_root_key(self.root_key, gun)
        self.targets_key = tk.generate_private_key()
        self.releases_key = tk.generate_private_key()
        self.snapshot_key: tk.PrivateKey | None = None
        self.timestamp_public = remote.get_key(gun, "timestamp")
        if server_snapshot:
            self.snapshot_public = remote.get_key(gun, "snapshot")
        else:
            self.snapshot_key = tk.generate_private_key()
            self.snapshot_public = self.snapshot_key.public_key
        keys = {
            "root": self.root_cert,
            "targets": self.targets_key.public_key,
            "snapshot": self.snapshot_public,
            "timestamp": self.timestamp_public,
        }
        self.root = tk.Root(
            version=1,
            expires=tk.default_expiry("root"),
            keys={key.key_id: key for key in keys.values()},
            roles={role: tk.Role([key.key_id], 1) for role, key in keys.items()},
        )
        releases = tk.DelegatedRole([self.releases_key.public_key.key_id], 1, name="targets/releases", paths=[""])
        self.targets = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(
            releases, [self.releases_key.public_key]
        )
        self.releases = tk.Targets(version=1, expires=tk.default_expiry("targets"))
        self.snapshot_version = 0

    # --- signing --------------------------------------------------------------------------------------------

    def root_bytes(self, *extra_signers: tuple[tk.PrivateKey, tk.PublicKey]) -> bytes:
        metadata = tk.Metadata(self.root).sign(self.root_key.signer(), key=self.root_cert)
        for private, public in extra_signers:
            metadata = metadata.sign(private.signer(), key=public)
        return metadata.to_bytes()

    def targets_bytes(self, key: tk.PrivateKey | None = None) -> bytes:
        return tk.Metadata(self.targets).sign((key or self.targets_key).signer()).to_bytes()

    def releases_bytes(self) -> bytes:
        return tk.Metadata(self.releases).sign(self.releases_key.signer()).to_bytes()

    def snapshot_bytes(self, files: dict[str, bytes], previous: dict[str, tk.MetaFile] | None = None) -> bytes:
        """A client-made snapshot (the client must hold the snapshot key) over ``files``."""
        assert self.snapshot_key is not None, "the remote holds the snapshot key"
        self.snapshot_version += 1
        meta = dict(previous or {})
        meta.update({role: tk.MetaFile.from_data(data) for role, data in files.items()})
        snapshot = tk.Snapshot(version=self.snapshot_version, expires=tk.default_expiry("snapshot"), meta=meta)
        return tk.Metadata(snapshot).sign(self.snapshot_key.signer()).to_bytes()

    def with_snapshot(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """``files`` plus a client snapshot over them, when the client holds the snapshot key."""
        if self.snapshot_key is None:
            return files
        previous: dict[str, tk.MetaFile] = {}
        if self.snapshot_version:
            previous = dict(parse(self.read("snapshot"), "snapshot").signed.meta)
        root = files.get("root") or self.read("root")
        return {**files, "snapshot": self.snapshot_bytes({"root": root, **files}, previous)}

    def initial_files(self) -> dict[str, bytes]:
        """root, targets and targets/releases (and a snapshot when the client holds the snapshot key)."""
        files = {"root": self.root_bytes(), "targets": self.targets_bytes(), "targets/releases": self.releases_bytes()}
        return self.with_snapshot(files)

    def add_release(self, name: str, content: bytes) -> dict[str, bytes]:
        """A new version of targets/releases with one more target, ready to publish."""
        self.releases = self.releases.with_target(name, tk.TargetFile.from_data(content)).bump()
        return self.with_snapshot({"targets/releases": self.releases_bytes()})

    def rotate_root(self) -> dict[str, bytes]:
        """A root v+1 with a new root key, signed by the old and the new key (notary's root rotation)."""
        old_key, old_cert = self.root_key, self.root_cert
        self.root_key = tk.generate_private_key()
        self.root_cert = tk.make_root_key(self.root_key, self.gun)
        self.root = self.root.with_role_keys("root", [self.root_cert]).bump()
        return {"root": self.root_bytes((old_key, old_cert))}

    def use_timestamp_key(self, key: tk.PublicKey) -> dict[str, bytes]:
        """A root v+1 listing ``key`` as the timestamp key."""
        self.timestamp_public = key
        self.root = self.root.with_role_keys("timestamp", [key]).bump()
        return self.with_snapshot({"root": self.root_bytes()})

    def read(self, role: str, **kwargs: Any) -> bytes:
        return self.remote.get_role(self.gun, role, max_size=MAX_ROOT_SIZE, **kwargs)
