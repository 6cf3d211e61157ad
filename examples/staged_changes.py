"""Staged changes: stage several changes, review them, drop one, then publish them in one transaction.

Run it with ``python examples/staged_changes.py``. It uses a LocalRemote folder as the server and a temporary
trust directory, so it needs nothing else; the changelist it writes is notary's own (``notary status`` would
list it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import trustkit as tk

GUN = "localhost:5000/example/staged"


def main() -> None:
    """Initialise a repository, stage changes, review, reset one, publish, and read the result back."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-staged-"))
    repo = tk.Repository(
        GUN,
        remote=tk.LocalRemote(workdir / "server"),
        keystore=tk.MemoryKeyStore(),
        trust_dir=workdir / "trust",
    )
    repo.initialize()  # root, targets and snapshot keys locally; the timestamp key from the server

    releases = tk.generate_private_key()
    repo.keystore.add_key(releases, role="targets/releases")
    repo.add_delegation("targets/releases", keys=[releases.public_key], all_paths=True)
    repo.add_target("v1.0", tk.TargetFile.from_digest("sha256:" + "ab" * 32, 1024), roles=["targets/releases"])
    mistake = repo.add_target("oops", tk.TargetFile.from_data(b"not for release"))

    print("staged:")
    for staged in repo.status():
        print(f"  {staged.id}  {staged.change.describe()}")
    repo.reset(item.id for item in mistake)  # drop the change we do not want
    print(f"after reset: {len(repo.status())} changes")

    repo.publish()  # one transaction: apply in order, sign what changed, upload every role at once
    print(f"published; still staged: {len(repo.status())}")
    for match in repo.reader().list_targets(roles=["targets/releases", "targets"]):
        print(f"  {match.name} sha256:{match.target.sha256_hex} signed by {match.role}")


if __name__ == "__main__":
    main()
