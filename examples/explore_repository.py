"""Explore a repository's trust data: roles, keys and thresholds, signers, signed tags, expiry dates, health.

Run it with ``python examples/explore_repository.py`` to explore a small demo repository built on the embedded
LocalRemote, or ``python examples/explore_repository.py GUN FOLDER`` to explore repository GUN in a LocalRemote
FOLDER (what trustkit publishes to by default). ``examples/explore_repository.ipynb`` does the same in Jupyter,
where the same objects render as HTML tables.

The demo repository is set up the way docker sets one up (the server holds the snapshot and timestamp keys), by
four people, each with their own keys:

* the admin, whose root key was made nine years and nine months ago (its certificate expires in 90 days);
* a CI job, which signed a nightly build into ``targets/ci`` almost three years ago (it expires in 20 days);
* alice, a release signer, who signs ``v1.0`` into ``targets/releases`` and ``targets/alice``;
* bob, who signed ``v0.9`` and left: the admin removed his key, so ``targets/bob`` is below its threshold.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import trustkit as tk
from trustkit.client.health import health_report, repository_summary

GUN = "localhost:5000/example/explore"
NOW = datetime.now(timezone.utc)


def build_demo(workdir: Path) -> tuple[tk.LocalRemote, tk.MemoryKeyStore]:
    """Publish the demo repository to a LocalRemote in ``workdir``; returns it and the admin's keystore."""
    server = tk.LocalRemote(workdir / "server")
    admin_keys = tk.MemoryKeyStore()
    ci_key, alice_key, bob_key = tk.generate_private_key(), tk.generate_private_key(), tk.generate_private_key()

    def repository(keys: tk.MemoryKeyStore, who: str, *, days_ago: int = 0) -> tk.Repository:
        moment = NOW - timedelta(days=days_ago)
        return tk.Repository(GUN, remote=server, keystore=keys, trust_dir=workdir / who, clock=lambda: moment)

    # The admin's root key and certificate date from 10 years (notary's validity) minus 90 days ago.
    repository(admin_keys, "admin", days_ago=3650 - 90).initialize(server_managed_snapshot=True)
    admin = repository(admin_keys, "admin")
    admin.add_delegation("targets/ci", keys=[ci_key.public_key], paths=["nightly-"])
    for role in ("targets/releases", "targets/alice"):  # docker's `signer add alice`: her role, and releases
        admin.add_delegation(role, keys=[alice_key.public_key], all_paths=True)
    admin.add_delegation("targets/bob", keys=[bob_key.public_key], all_paths=True)
    admin.publish()

    # The CI job signed its nightly build almost three years (targets' lifetime) ago, and never again.
    ci = repository(tk.MemoryKeyStore(ci_key), "ci", days_ago=3 * 365 - 20)
    ci.add_target("nightly-2023-12-01", tk.TargetFile.from_digest("sha256:" + "3c" * 32, 1402), roles=["targets/ci"])
    ci.publish()

    # alice signs the release; bob signed v0.9 before he left.
    alice = repository(tk.MemoryKeyStore(alice_key), "alice")
    v1 = tk.TargetFile.from_digest("sha256:" + "a1" * 32, 2048)
    alice.add_target("v1.0", v1, roles=["targets/releases", "targets/alice"], publish=True)
    bob = repository(tk.MemoryKeyStore(bob_key), "bob")
    bob.add_target("v0.9", tk.TargetFile.from_digest("sha256:" + "b0" * 32, 1999), roles=["targets/bob"], publish=True)
    admin.remove_delegation_keys("targets/bob", [bob_key.public_key.key_id], publish=True)
    return server, admin_keys


def main() -> None:
    """Build the demo (or open GUN in FOLDER), then print the summary and the health report."""
    logging.basicConfig(level=logging.ERROR)  # notary's warnings about the skipped targets/bob go to the log
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-explore-"))
    keystore: tk.KeyStore | None
    if len(sys.argv) == 3:
        gun, server, keystore = sys.argv[1], tk.LocalRemote(sys.argv[2]), None
    else:
        gun, (server, keystore) = GUN, build_demo(workdir)

    reader = tk.Reader(gun, server, cache=tk.MetadataCache(workdir / "explorer", gun))
    reader.refresh()
    print(repository_summary(reader, now=NOW))
    print()
    # The server holds the snapshot and timestamp keys (as docker sets repositories up): do not look for them.
    print(health_report(reader, keystore=keystore, now=NOW, server_managed=("timestamp", "snapshot")))


if __name__ == "__main__":
    main()
