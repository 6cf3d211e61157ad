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
from trustkit.dct import inspect_trusted

GUN = "localhost:5000/example/admission"


@dataclass(frozen=True)
class Decision:
    """An admission decision and the reason for it."""

    allowed: bool
    reason: str


def admit(reader: tk.Reader, tag: str, digest: str, *, signers: set[str]) -> Decision:
    """Admit ``digest`` for ``tag`` only if it is a digest a required signer signed, by docker's rules: a tag is
    released only by ``targets/releases`` or ``targets`` (never by a signer's own role alone), and its signers are
    the roles holding the same tag and digest. :func:`trustkit.dct.inspect_trusted` applies exactly those rules
    (it is what ``docker trust inspect`` shows)."""
    try:
        trusted = reader.trusted  # expired or tampered trust data, unreachable server…
    except tk.TrustkitError as exc:
        return Decision(False, f"no trusted signature for {tag}: {exc}")
    released = inspect_trusted(trusted, name=reader.gun, gun=reader.gun, tag=tag).signed_tags
    if not released:
        return Decision(False, f"No valid trust data for {tag}: neither targets/releases nor targets signs it")
    signed = next((t for t in released if f"sha256:{t.digest}" == digest), None)
    if signed is None:
        return Decision(False, f"{tag} is signed for {', '.join('sha256:' + t.digest for t in released)}, not {digest}")
    if not set(signed.signers) & signers:
        return Decision(False, f"{tag} is signed by {list(signed.signers)}, none of {sorted(signers)}")
    return Decision(True, f"{tag} ({digest}) signed by {', '.join(sorted(set(signed.signers) & signers))}")


def publish_example(workdir: Path) -> tuple[tk.LocalRemote, str]:
    """A repository where signer alice signed v1, as `docker trust signer add` + `docker trust sign` would, and
    v2 into her own role only (not released)."""
    remote = tk.LocalRemote(workdir / "server")
    repo = tk.Repository(GUN, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "publisher")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="alice")
    for role in ("targets/alice", "targets/releases"):
        repo.add_delegation(role, keys=[alice.public_key], all_paths=True)
    digest = "sha256:" + "5e" * 32
    repo.add_target("v1", tk.TargetFile.from_digest(digest, 528), roles=["targets/releases", "targets/alice"])
    # v2 is in alice's own role only: docker does not release it (docker pull refuses it), so neither may we.
    repo.add_target("v2", tk.TargetFile.from_digest(digest, 528), roles=["targets/alice"])
    repo.publish()
    return remote, digest


def main() -> None:
    """Publish an example repository, then answer four admission requests."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-admission-"))
    remote, digest = publish_example(workdir)
    # The controller keeps its own verified cache; reads need no key and no passphrase.
    reader = tk.Reader(GUN, remote, cache=tk.MetadataCache(workdir / "controller", GUN))
    for tag, candidate in (("v1", digest), ("v1", "sha256:" + "00" * 32), ("v2", digest), ("v3", digest)):
        decision = admit(reader, tag, candidate, signers={"alice", "bob"})
        print(f"{'ADMIT' if decision.allowed else 'DENY '} {tag}@{candidate[:19]}…: {decision.reason}")


if __name__ == "__main__":
    main()
