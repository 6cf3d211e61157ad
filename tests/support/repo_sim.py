"""A repository simulator for the trust-layer tests: a notary repository whose every role, version, expiry,
key and signature a test can set, producing the bytes a server would serve (python-tuf's RepositorySimulator is
the model), the fake remote that serves it, a remote that is down, and a reader on the two."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import trustkit as tk
from trustkit.client import MetadataCache, Reader

GUN = "localhost:5000/sim/app"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@dataclass
class Delegation:
    """A delegated role: its key, paths and targets."""

    key: tk.PrivateKey
    paths: list[str]
    targets: dict[str, tk.TargetFile] = field(default_factory=dict)
    threshold: int = 1


class RepoSim:
    """Signs a whole repository on demand; ``publish()`` returns the files of the next version."""

    def __init__(self, gun: str = GUN, *, now: datetime = NOW) -> None:
        self.gun = gun
        self.now = now
        self.root_keys = [tk.generate_private_key()]
        self.root_certs = [tk.make_root_key(self.root_keys[0], gun, now=now - timedelta(days=1))]
        self.signing_root_keys: list[tk.PrivateKey] = list(self.root_keys)
        self.keys = {role: tk.generate_private_key() for role in ("targets", "snapshot", "timestamp")}
        self.targets: dict[str, tk.TargetFile] = {}
        self.delegations: dict[str, Delegation] = {}
        self.version = 0
        self.root_version = 0
        self.expires: dict[str, datetime] = {}
        self.root_threshold = 1
        self.roots: list[bytes] = []

    # --- building blocks ---------------------------------------------------------------------------------

    def expiry(self, role: str) -> datetime:
        return self.expires.get(
            role, tk.default_expiry("targets" if role.startswith("targets") else role, now=self.now)
        )

    def root_metadata(self) -> tk.Metadata[tk.Root]:
        base = {role: key.public_key for role, key in self.keys.items()}
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

    def sign_role(self, role: str) -> bytes:
        if role == "targets":
            signed = tk.Targets(version=self.version, expires=self.expiry(role), targets=self.targets)
            children = {n: d for n, d in self.delegations.items() if n.count("/") == 1}
            key = self.keys["targets"]
        else:
            deleg = self.delegations[role]
            signed = tk.Targets(version=self.version, expires=self.expiry(role), targets=deleg.targets)
            children = {n: d for n, d in self.delegations.items() if n.rsplit("/", 1)[0] == role}
            key = deleg.key
        for name, child in children.items():
            role_entry = tk.DelegatedRole([child.key.public_key.key_id], child.threshold, name=name, paths=child.paths)
            signed = signed.with_delegation(role_entry, [child.key.public_key])
        return tk.Metadata(signed).sign(key.signer()).to_bytes()

    def sign_snapshot(self, meta: dict[str, tk.MetaFile]) -> bytes:
        """A snapshot at the current version listing exactly ``meta``, signed by the snapshot key."""
        snapshot = tk.Snapshot(version=self.version, expires=self.expiry("snapshot"), meta=meta)
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


def small_repo() -> RepoSim:
    """The reader and health tests' repository: ``v1`` (``b"content one"``) in targets, ``v2`` in targets/releases."""
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"content one")
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases"].targets["v2"] = tk.TargetFile.from_digest("22" * 32, 200)
    return sim


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
