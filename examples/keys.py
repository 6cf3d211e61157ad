"""trustkit keys: generate, load, list and use private keys in a docker/notary trust directory -- no server needed.

Run it with ``python examples/keys.py [TRUST_DIR]``. Without TRUST_DIR it works in a temporary directory; with one,
it adds keys there (use a scratch directory: it never touches ``~/.docker/trust`` unless told to). Passphrases come
from the environment variables docker reads, as ``docker trust`` would (set here for the demo).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import trustkit as tk
from trustkit.keystore import (
    DockerEnvPassphrase,
    FileKeyStore,
    MemoryKeyStore,
    generate_delegation_key,
    generate_key,
    load_key_file,
)

GUN = "localhost:5000/example/app"
DEMO_ENVIRONMENT = {
    "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": "example root passphrase",
    "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "example repository passphrase",
}


def run(trust_dir: Path, work: Path) -> None:
    """Generate, load, list and use keys in ``trust_dir``; public keys and sample files go to ``work``."""
    environ = {**os.environ, **DEMO_ENVIRONMENT}
    store = FileKeyStore(trust_dir, passphrase=DockerEnvPassphrase(environ=environ))

    # 1. Keys as `notary init` makes them: a root key, and a targets key that belongs to one repository.
    root = generate_key(store, "root")
    targets = generate_key(store, "targets", gun=GUN)
    print(f"generated root key {root.key_id[:12]} and targets key {targets.key_id[:12]} for {GUN}")

    # 2. A signer key, as `docker trust key generate alice --dir WORK` makes it: alice.pub is what
    #    `docker trust signer add --key alice.pub alice REPO` takes.
    alice = generate_delegation_key(store, "alice", directory=work)
    print(f"generated signer key alice {alice.key_id[:12]}; public key in {work / 'alice.pub'}")

    # 3. An existing key file, as `docker trust key load ci.pem --name ci` loads it (the file must be 0600).
    key_file = work / "ci.pem"
    key_file.write_bytes(tk.generate_private_key().to_pem())
    os.chmod(key_file, 0o600)
    [ci] = load_key_file(store, key_file, name="ci")
    print(f"loaded {key_file.name} as signer key ci {ci.key_id[:12]}")

    # 4. List them as `notary key list` does: from the files' headers, without any passphrase.
    print()
    print(f"{'ROLE':8}{'GUN':30}{'KEY ID':16}FILE")
    for info in store.list_keys():
        file_name = info.path.name if info.path else ""
        print(f"{info.role or '':8}{info.gun or '':30}{info.key_id[:12]:16}{file_name[:12]}….key")
    print()

    # 5. Use one: ci signs a delegation's metadata, which verifies against the key its parent lists.
    ci_key = store.get_private_key(ci.key_id).public_key
    role = tk.DelegatedRole((ci_key.key_id,), 1, name="targets/ci", paths=("",))
    parent = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(role, [ci_key])
    delegation = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target(
        "v1.0", tk.TargetFile.from_digest("sha256:" + "5f" * 32, 528)
    )
    signed = tk.Metadata(delegation).sign(store.get_signer(ci.key_id))
    result = parent.verify_delegate("targets/ci", tk.Metadata.from_bytes(signed.to_bytes(), role="targets/ci"))
    print(f"targets/ci signed by ci: {len(result.signed)}/{result.threshold} signature(s) verified")

    # 6. Export the repository's keys (`notary key export --gun`) into a memory store, e.g. for a CI job.
    memory = MemoryKeyStore(passphrase=DockerEnvPassphrase(environ=environ))
    imported = memory.import_keys(store.export_keys(gun=GUN))
    print(f"exported {len(imported)} key(s) of {GUN} into memory: {[i.role for i in imported]}")


def main() -> None:
    """Run in the trust directory given on the command line, or in a temporary one."""
    with tempfile.TemporaryDirectory() as scratch:
        trust_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(scratch) / "trust"
        run(trust_dir, Path(scratch))


if __name__ == "__main__":
    main()
