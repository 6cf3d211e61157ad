"""Rotate keys: targets, snapshot (to the server), timestamp and root, while clients keep trusting the repository.

Run it with ``python examples/rotate_keys.py``. It publishes a repository to a LocalRemote folder (standing in for
the notary server), lets a client read it once (so the client pins the first root, as docker and notary do on first
use), then rotates every base role's keys the way ``notary key rotate`` does:

* ``targets``: a new local key; the new root lists it and targets is re-signed with it;
* ``snapshot``: moved to the server (``notary key rotate snapshot -r``): the server signs snapshots from now on;
* ``timestamp``: a new server key (the timestamp key is always the server's);
* ``root``: a new root key and certificate; the new root is signed by the old *and* the new root keys, so clients
  that trusted the old root follow the rotation.

After each rotation the same client refreshes and still verifies the signed tag, and the old keys are retired.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustkit as tk

GUN = "localhost:5000/example/rotate"


def keys_of(trusted: tk.TrustedMetadataSet) -> dict[str, list[str]]:
    """The short canonical IDs of each base role's keys, as the trusted root lists them."""
    root = trusted.root.signed
    return {role: [key.canonical_id[:12] for key in root.role_keys(role).values()] for role in root.roles}


def show(step: str, client: tk.Reader) -> dict[str, list[str]]:
    """Refresh the client, check the tag still verifies, and print the root version and keys."""
    trusted = client.refresh()
    match = client.get_target("v1")
    keys = keys_of(trusted)
    print(f"{step}: root v{trusted.root.signed.version}, v1 signed by {match.role}")
    for role in ("root", "targets", "snapshot", "timestamp"):
        print(f"  {role:9} {', '.join(keys[role])}")
    return keys


def main() -> None:
    """Publish, read once, rotate each base role's keys, and show the client following every rotation."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-rotate-"))
    keystore = tk.MemoryKeyStore()
    repo = tk.Repository(GUN, remote=tk.LocalRemote(workdir / "server"), keystore=keystore, trust_dir=workdir / "admin")
    repo.initialize()  # root, targets and snapshot keys local; the timestamp key is the server's
    repo.add_target("v1", tk.TargetFile.from_digest("sha256:" + "5f" * 32, 528), publish=True)

    # A client that trusted the repository on first use, with its own cache (what `docker pull` keeps).
    client = tk.Reader(GUN, repo.remote, cache=tk.MetadataCache(workdir / "client", GUN))
    before = show("before", client)

    # 1. targets: a new local key replaces the old one.
    [new_targets] = repo.rotate_key("targets")
    print(f"\nrotated targets to {new_targets.canonical_id[:12]}")
    show("after targets", client)

    # 2. snapshot: the server holds the key from now on, as docker sets repositories up.
    [server_snapshot] = repo.rotate_key("snapshot", server_managed=True)
    print(f"\nmoved snapshot to the server's key {server_snapshot.key_id[:12]}")
    show("after snapshot", client)

    # 3. timestamp: a new server key.
    repo.rotate_key("timestamp", server_managed=True)
    print("\nrotated the server's timestamp key")
    show("after timestamp", client)

    # 4. root: a new key in a new certificate; the new root is signed by the old and the new root keys.
    [new_root] = repo.rotate_key("root")
    print(f"\nrotated root to certificate {new_root.key_id[:12]} (key {new_root.canonical_id[:12]})")
    after = show("after root", client)

    # Every key changed, and the client followed each rotation from the root it trusted first.
    assert all(set(before[role]).isdisjoint(after[role]) for role in before)
    repo.add_target("v2", tk.TargetFile.from_digest("sha256:" + "6a" * 32, 612), publish=True)
    client.refresh()
    names = [match.name for match in client.list_targets()]
    print(f"\npublished v2 with the new keys; after a refresh the client sees {names}")

    # The old private keys are no longer needed (old root certificates stay in root.json for clients that missed
    # the rotation, but nothing is signed with them any more).
    old = before["root"] + before["targets"] + before["snapshot"]
    retired = [info for info in keystore.list_keys() if info.key_id[:12] in old]
    for info in retired:
        keystore.remove_key(info.key_id)
    print(f"retired {len(retired)} old local key(s): {sorted(info.role or '' for info in retired)}")


if __name__ == "__main__":
    main()
