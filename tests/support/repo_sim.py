"""The tests' one repository simulator: a notary repository whose every role, version, expiry, key and signature a
test can set (python-tuf's RepositorySimulator is the model), producing either the bytes a server serves a reader or
the updates a client sends a server; the fake remote that serves it, a remote that is down, and a reader on the two."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import trustkit as tk
from trustkit.client import MetadataCache, Reader
from trustkit.remote import MAX_ROOT_SIZE, Remote

GUN = "localhost:5000/sim/app"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@dataclass
class Delegation:
    """A delegated role: its key, paths and targets."""

    key: tk.PrivateKey
    paths: list[str]
    targets: dict[str, tk.TargetFile] = field(default_factory=dict)
    threshold: int = 1


def parse(data: bytes, role: str) -> tk.Metadata[Any]:
    """Parse one role's bytes."""
    return tk.Metadata.from_bytes(data, role=role)


class RepoSim:
    """Signs a notary repository on demand, for either side of a server.

    - The server's side (the trust-layer, reader and health tests): the simulator holds every key, timestamp
      included, and ``publish()`` signs the whole repository at the next common ``version``, as a server serves it.
    - A client's side (the ``Remote`` contract suite and the LocalRemote, static-server and notary-server tests):
      :meth:`for_remote` takes the timestamp key (and the snapshot key, with ``server_snapshot``) from a remote that
      holds its own keys (``server_keys``: public keys only, so it never signs a timestamp), and the delta methods
      (``initial_files``, ``add_release``, ``rotate_root``, ``use_timestamp_key``, ``changes``) return only the roles
      that changed, each at its own version (``versions``), plus a client snapshot when it holds the snapshot key,
      so a test decides what to send, including updates a server must refuse.

    A role is at ``version`` unless ``versions`` names its own; root is at ``root_version``.
    """

    def __init__(
        self, gun: str = GUN, *, now: datetime = NOW, server_keys: Mapping[str, tk.PublicKey] | None = None
    ) -> None:
        self.gun = gun
        self.now = now
        self.root_keys = [tk.generate_private_key()]
        self.root_certs = [tk.make_root_key(self.root_keys[0], gun, now=now - timedelta(days=1))]
        self.signing_root_keys: list[tk.PrivateKey] = list(self.root_keys)
        self.server_keys = dict(server_keys or {})
        self.keys = {
            role: tk.generate_private_key()
            for role in ("targets", "snapshot", "timestamp")
            if role not in self.server_keys
        }
        self.targets: dict[str, tk.TargetFile] = {}
        self.delegations: dict[str, Delegation] = {}
        self.version = 0
        self.versions: dict[str, int] = {}
        self.root_version = 0
        self.expires: dict[str, datetime] = {}
        self.root_threshold = 1
        self.roots: list[bytes] = []
        self.remote: Remote | None = None

    @classmethod
    def for_remote(cls, remote: Remote, gun: str, *, server_snapshot: bool = True) -> RepoSim:
        """The client of a new ``gun`` on ``remote``, which holds the timestamp key (and, with ``server_snapshot``,
        the snapshot key): root, targets and a ``targets/releases`` delegation at version 1, nothing sent yet."""
        server_keys = {"timestamp": remote.get_key(gun, "timestamp")}
        if server_snapshot:
            server_keys["snapshot"] = remote.get_key(gun, "snapshot")
        sim = cls(gun, now=datetime.now(timezone.utc), server_keys=server_keys)
        sim.remote = remote
        sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
        sim.version = sim.root_version = 1
        sim.versions["snapshot"] = 0  # the client's first snapshot is version 1
        return sim

    # --- building blocks ---------------------------------------------------------------------------------

    def role_version(self, role: str) -> int:
        return self.versions.get(role, self.version)

    def expiry(self, role: str) -> datetime:
        return self.expires.get(
            role, tk.default_expiry("targets" if role.startswith("targets") else role, now=self.now)
        )

    def root_metadata(self) -> tk.Metadata[tk.Root]:
        base = {role: key.public_key for role, key in self.keys.items()} | self.server_keys
        keys = {cert.key_id: cert for cert in self.root_certs}
        keys.update((key.key_id, key) for key in base.values())
        roles = {role: tk.Role([key.key_id], 1) for role, key in base.items()}
        roles["root"] = tk.Role([self.root_certs[-1].key_id], self.root_threshold)
        root = tk.Root(version=self.root_version, expires=self.expiry("root"), keys=keys, roles=roles)
        md: tk.Metadata[tk.Root] = tk.Metadata(root)
        certs = {cert.canonical_id: cert for cert in self.root_certs}
        for key in self.signing_root_keys:
            md = md.sign(key.signer(), key=certs[key.key_id])
        return md

    def add_root_cert(self, key: tk.PrivateKey, cert: tk.PublicKey | None = None) -> None:
        """Rotate the root to ``key`` (old certificates stay in keys, as notary does)."""
        self.root_keys.append(key)
        self.root_certs.append(cert or tk.make_root_key(key, self.gun, now=self.now - timedelta(days=1)))

    def sign_role(self, role: str, *, version: int | None = None, key: tk.PrivateKey | None = None) -> bytes:
        """targets or a delegation at its version (or ``version``), signed by its key (or by ``key``)."""
        number = self.role_version(role) if version is None else version
        if role == "targets":
            signed = tk.Targets(version=number, expires=self.expiry(role), targets=self.targets)
            children = {n: d for n, d in self.delegations.items() if n.count("/") == 1}
            own_key = self.keys["targets"]
        else:
            deleg = self.delegations[role]
            signed = tk.Targets(version=number, expires=self.expiry(role), targets=deleg.targets)
            children = {n: d for n, d in self.delegations.items() if n.rsplit("/", 1)[0] == role}
            own_key = deleg.key
        for name, child in children.items():
            role_entry = tk.DelegatedRole([child.key.public_key.key_id], child.threshold, name=name, paths=child.paths)
            signed = signed.with_delegation(role_entry, [child.key.public_key])
        return tk.Metadata(signed).sign((key or own_key).signer()).to_bytes()

    def sign_snapshot(self, meta: dict[str, tk.MetaFile]) -> bytes:
        """A snapshot at its version listing exactly ``meta``, signed by the snapshot key."""
        snapshot = tk.Snapshot(version=self.role_version("snapshot"), expires=self.expiry("snapshot"), meta=meta)
        return tk.Metadata(snapshot).sign(self.keys["snapshot"].signer()).to_bytes()

    def sign_timestamp(self, snapshot: tk.MetaFile) -> bytes:
        """A timestamp at the current version naming ``snapshot``, signed by the timestamp key."""
        timestamp = tk.Timestamp(version=self.version, expires=self.expiry("timestamp"), meta={"snapshot": snapshot})
        return tk.Metadata(timestamp).sign(self.keys["timestamp"].signer()).to_bytes()

    def seal(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """The roles of ``files`` with a snapshot over each of them and a timestamp over that snapshot, signed at
        the current version (what a compromised or careless server could serve over changed roles)."""
        roles = {role: data for role, data in files.items() if role not in ("snapshot", "timestamp")}
        snapshot = self.sign_snapshot({role: tk.MetaFile.from_data(data) for role, data in roles.items()})
        return {**roles, "snapshot": snapshot, "timestamp": self.sign_timestamp(tk.MetaFile.from_data(snapshot))}

    def publish(self, *, new_root: bool = False) -> dict[str, bytes]:
        """Sign every role at the next version (root only when new or asked)."""
        self.version += 1
        if new_root or not self.roots:
            self.root_version += 1
            self.roots.append(self.root_metadata().to_bytes())
        files = {"root": self.roots[-1], "targets": self.sign_role("targets")}
        for name in self.delegations:
            files[name] = self.sign_role(name)
        return self.seal(files)

    # --- a client's updates to a remote (see for_remote) -----------------------------------------------------

    def read(self, role: str, **kwargs: Any) -> bytes:
        """``role`` as the remote serves it now."""
        assert self.remote is not None, "RepoSim.for_remote makes a simulator with a remote"
        return self.remote.get_role(self.gun, role, max_size=MAX_ROOT_SIZE, **kwargs)

    def bump(self, role: str) -> None:
        """Move ``role`` alone to its next version."""
        if role == "root":
            self.root_version += 1
        else:
            self.versions[role] = self.role_version(role) + 1

    def changes(self, *roles: str) -> dict[str, bytes]:
        """``roles`` signed at their versions, plus a snapshot over them at its next version when the client holds
        the snapshot key."""
        files = {role: self.root_metadata().to_bytes() if role == "root" else self.sign_role(role) for role in roles}
        if "snapshot" not in self.keys:
            return files
        previous: dict[str, tk.MetaFile] = {}
        if self.role_version("snapshot"):
            previous = dict(parse(self.read("snapshot"), "snapshot").signed.meta)
        root = files.get("root") or self.read("root")
        return {**files, "snapshot": self.next_snapshot({"root": root, **files}, previous)}

    def next_snapshot(self, files: dict[str, bytes], previous: Mapping[str, tk.MetaFile] | None = None) -> bytes:
        """A client-made snapshot at its next version over ``previous`` and ``files``."""
        assert "snapshot" in self.keys, "the remote holds the snapshot key"
        self.bump("snapshot")
        meta = dict(previous or {})
        meta.update({role: tk.MetaFile.from_data(data) for role, data in files.items()})
        return self.sign_snapshot(meta)

    def initial_files(self) -> dict[str, bytes]:
        """root, targets and the delegations (and a snapshot when the client holds the snapshot key)."""
        return self.changes("root", "targets", *self.delegations)

    def add_release(self, name: str, content: bytes | tk.TargetFile) -> dict[str, bytes]:
        """The next version of targets/releases with one more target, ready to publish."""
        target = content if isinstance(content, tk.TargetFile) else tk.TargetFile.from_data(content)
        self.delegations["targets/releases"].targets[name] = target
        self.bump("targets/releases")
        return self.changes("targets/releases")

    def rotate_root(self) -> dict[str, bytes]:
        """The next root with a new root key, signed by the old and the new key (notary's root rotation)."""
        self.add_root_cert(tk.generate_private_key())
        self.signing_root_keys = [*self.signing_root_keys, self.root_keys[-1]]
        self.bump("root")
        files = self.changes("root")
        self.signing_root_keys = [self.root_keys[-1]]
        return files

    def use_timestamp_key(self, key: tk.PublicKey) -> dict[str, bytes]:
        """The next root listing ``key`` as the timestamp key."""
        self.server_keys["timestamp"] = key
        self.bump("root")
        return self.changes("root")


def small_repo() -> RepoSim:
    """The reader and health tests' repository: ``v1`` (``b"content one"``) in targets, ``v2`` in targets/releases."""
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"content one")
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases"].targets["v2"] = tk.TargetFile.from_digest("22" * 32, 200)
    return sim


@dataclass
class ParsedRepo:
    """A signed repository as models: its private keys, and the metadata of each role (for the metadata tests)."""

    root_key: tk.PrivateKey
    root_cert: tk.PublicKey
    targets_key: tk.PrivateKey
    snapshot_key: tk.PrivateKey
    timestamp_key: tk.PrivateKey
    releases_key: tk.PrivateKey
    root: tk.Metadata[tk.Root]
    targets: tk.Metadata[tk.Targets]
    releases: tk.Metadata[tk.Targets]


def parsed_repo() -> ParsedRepo:
    """Root, targets (delegating to targets/releases) and targets/releases, published by the simulator now (an
    ed25519 snapshot key beside ecdsa ones) and parsed back into models."""
    sim = RepoSim(now=datetime.now(timezone.utc))
    sim.keys["snapshot"] = tk.generate_private_key("ed25519")
    sim.targets["v1"] = tk.TargetFile.from_data(b"v1 content")
    releases_key = tk.generate_private_key()
    sim.delegations["targets/releases"] = Delegation(
        releases_key, [""], {"v2": tk.TargetFile.from_digest("ab" * 32, 1234)}
    )
    files = sim.publish()
    return ParsedRepo(
        root_key=sim.root_keys[0],
        root_cert=sim.root_certs[0],
        targets_key=sim.keys["targets"],
        snapshot_key=sim.keys["snapshot"],
        timestamp_key=sim.keys["timestamp"],
        releases_key=releases_key,
        root=parse(files["root"], "root"),
        targets=parse(files["targets"], "targets"),
        releases=parse(files["targets/releases"], "targets/releases"),
    )


class FakeRemote:
    """Serves the files of a RepoSim the way notary-server does: current, by sha256, by version; records each GET
    (``requests``) and the size cap it was asked with (``caps``)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.by_hash: dict[str, bytes] = {}
        self.roots: dict[int, bytes] = {}
        self.requests: list[tuple[str, str | None, int | None]] = []
        self.caps: list[tuple[str, int]] = []

    def serve(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        for data in files.values():
            self.by_hash[hashlib.sha256(data).hexdigest()] = data
        root = tk.Metadata.from_bytes(files["root"])
        self.roots[root.signed.version] = files["root"]

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        self.requests.append((role, checksum, version))
        self.caps.append((role, max_size))
        if gun != GUN or role not in self.files:
            raise tk.NotFoundError(f"{role} not found", status=404)
        if checksum is not None:
            data = self.by_hash.get(checksum)
        elif version is not None:
            data = self.roots.get(version) if role == "root" else None
        else:
            data = self.files[role]
        if data is None:
            raise tk.NotFoundError(f"{role} not found", status=404)
        if len(data) > max_size:
            raise tk.OversizedResponseError(f"{role} is larger than {max_size}")
        return data


class DownRemote:
    """A server that answers nothing: every request fails as an unreachable notary-server does."""

    def get_role(self, gun: str, role: str, **kwargs: object) -> bytes:
        raise tk.ServerUnavailableError(f"could not reach the server for {role}")


def reader(remote: FakeRemote | None, tmp_path: Path, **kwargs: object) -> Reader:
    return Reader(GUN, remote, cache=MetadataCache(tmp_path, GUN), clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]
