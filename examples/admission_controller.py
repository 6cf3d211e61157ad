"""Verify an image tag as an admission controller would: admit a digest only if trusted signers signed it.

Run it with ``python examples/admission_controller.py``. It publishes a small repository to a LocalRemote
folder (standing in for the notary server), then answers admission requests the way a registry plugin or a
Kubernetes admission webhook would: read the trust data (never needing a private key), check that the tag is
signed in ``targets/releases`` by one of the required signers, and that the digest being deployed is the signed
one. Every refusal is a typed trustkit error with a message to show the user.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustkit as tk

GUN = "localhost:5000/example/admission"


@dataclass(frozen=True)
class Decision:
    """An admission decision and the reason for it."""

    allowed: bool
    reason: str


def admit(reader: tk.Reader, tag: str, digest: str, *, signers: set[str]) -> Decision:
    """Admit ``digest`` for ``tag`` only if it is the digest a required signer signed (docker's rules: a tag is
    released by ``targets/releases`` or ``targets``; signers are the roles holding the same tag and digest)."""
    try:
        released = reader.get_target(tag, roles=["targets/releases", "targets"])
    except tk.TrustkitError as exc:  # unknown tag, expired or tampered trust data, unreachable server…
        return Decision(False, f"no trusted signature for {tag}: {exc}")
    if f"sha256:{released.target.sha256_hex}" != digest:
        return Decision(False, f"{tag} is signed for sha256:{released.target.sha256_hex}, not {digest}")
    signed_by = {
        role.removeprefix("targets/")
        for role in reader.trusted.walk()
        if role not in ("targets", "targets/releases")
        and (found := reader.trusted[role].signed.targets.get(tag)) is not None
        and found.hashes.get("sha256") == released.target.hashes["sha256"]
    }
    if not signed_by & signers:
        return Decision(False, f"{tag} is signed by {sorted(signed_by) or ['Repo Admin']}, none of {sorted(signers)}")
    return Decision(True, f"{tag} ({digest}) signed by {', '.join(sorted(signed_by & signers))}")


def publish_example(workdir: Path) -> tuple[tk.LocalRemote, str]:
    """A repository where signer alice signed v1, as `docker trust signer add` + `docker trust sign` would."""
    remote = tk.LocalRemote(workdir / "server")
    repo = tk.Repository(GUN, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "publisher")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="alice")
    for role in ("targets/alice", "targets/releases"):
        repo.add_delegation(role, keys=[alice.public_key], all_paths=True)
    digest = "sha256:" + "5e" * 32
    repo.add_target("v1", tk.TargetFile.from_digest(digest, 528), roles=["targets/releases", "targets/alice"])
    repo.publish()
    return remote, digest


def main() -> None:
    """Publish an example repository, then answer three admission requests."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-admission-"))
    remote, digest = publish_example(workdir)
    # The controller keeps its own verified cache; reads need no key and no passphrase.
    reader = tk.Reader(GUN, remote, cache=tk.MetadataCache(workdir / "controller", GUN))
    for tag, candidate in (("v1", digest), ("v1", "sha256:" + "00" * 32), ("v2", digest)):
        decision = admit(reader, tag, candidate, signers={"alice", "bob"})
        print(f"{'ADMIT' if decision.allowed else 'DENY '} {tag}@{candidate[:19]}…: {decision.reason}")


if __name__ == "__main__":
    main()
