"""Migrate a repository off Docker Content Trust: re-sign every tag DCT released as a cosign-format signature.

    python examples/migrate_off_dct.py GUN --registry URL [--ca CA] [--identity NAME] --key cosign.key
        [--dry-run] [--report report.jsonl] [--consumer-config DIR] [--allow-empty-passphrase]

``GUN`` is the repository as docker names it (``registry.example.com/team/app``). The DCT data is read, and
verified, as ``docker trust inspect`` reads it: docker's configuration (``$DOCKER_CONFIG``, its trust server,
TLS folders and logins). ``--registry`` is the registry serving the images (``https://registry.example.com``);
``--ca`` a CA file for it. ``--identity`` is the name consumers pull the images by (default: the GUN).

``--key`` is a cosign encrypted private key (passphrase in ``$COSIGN_PASSWORD``); when the file does not exist a
new ECDSA P-256 key is made and written there (and its public key beside it, ``.pub``), so that cosign-format tools
can keep signing with it (needs ``pip install 'trustkit-dct[cosign]'``). An unset or empty ``$COSIGN_PASSWORD`` is
refused (the key would be only as safe as its file) unless ``--allow-empty-passphrase`` is given. ``--dry-run``
only prints the plan and writes nothing (no key, report or configuration). ``--consumer-config`` writes
containers/image's ``policy.json``, ``registries.d`` and the public key there (a new ``policy.json`` rejects every
image outside the migrated repository: merge it into ``/etc/containers/policy.json``, do not copy it over).

A failure is printed as one line saying what to do, and the exit status is 1.

Each tag gets one JSON line on standard output (and in ``--report``): ``planned``/``signed``/``already-signed``
for the released tags the registry still serves at their DCT digest, ``drifted`` for a tag that now points to
another digest (never signed), ``missing``, and ``not-released`` for registry tags DCT never released. Running it
again adds nothing; a run that stopped half way is resumed by running it again.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trustkit.dct import DockerTrust, Registry
from trustkit.errors import ConfigurationError, TrustkitError
from trustkit.keys import PrivateKey, generate_private_key
from trustkit.migrate import (
    MigrationRecord,
    export_cosign_key,
    load_cosign_key,
    plan_migration,
    run_migration,
    write_consumer_config,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("gun")
    parser.add_argument("--registry", required=True)
    parser.add_argument("--ca")
    parser.add_argument("--identity")
    parser.add_argument("--key", required=True, type=Path)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--report", type=Path)
    parser.add_argument("--consumer-config", type=Path)
    parser.add_argument("--allow-empty-passphrase", action="store_true")
    args = parser.parse_args(argv)
    try:
        return migrate(args)
    except (TrustkitError, OSError) as exc:
        message = " ".join(str(exc).split())
        print(f"{parser.prog}: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1


def cosign_passphrase(*, allow_empty: bool) -> str:
    """``$COSIGN_PASSWORD``, refused when unset or empty unless ``allow_empty``."""
    passphrase = os.environ.get("COSIGN_PASSWORD", "")
    if not passphrase and not allow_empty:
        raise ConfigurationError(
            "COSIGN_PASSWORD is unset or empty: set it to the key's passphrase (a new key is encrypted with it), "
            "or pass --allow-empty-passphrase to accept a key only as safe as its file"
        )
    return passphrase


def signing_key(path: Path, passphrase: str) -> PrivateKey:
    """The cosign key at ``path``, made (with its ``.pub``) when the file does not exist."""
    if path.exists():
        return load_cosign_key(path.read_bytes(), passphrase)
    key = generate_private_key()
    path.write_bytes(export_cosign_key(key, passphrase))
    path.chmod(0o600)
    public = key.crypto_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    path.with_suffix(".pub").write_bytes(public)
    return key


def migrate(args: argparse.Namespace) -> int:
    passphrase = "" if args.dry_run else cosign_passphrase(allow_empty=args.allow_empty_passphrase)
    with DockerTrust() as trust, Registry(args.registry, ca=args.ca) as registry:
        trusted = trust.repository(args.gun).reader().refresh()  # verified, or a typed error saying why not
        plan = plan_migration(trusted, registry, args.gun)
        if args.dry_run:
            for record in plan:
                print(record.to_json())
            return 0
        key = signing_key(args.key, passphrase)

        def progress(record: MigrationRecord, done: int, total: int) -> None:
            print(record.to_json())
            print(f"{done}/{total} {record.tag}: {record.status}", file=sys.stderr)

        report = args.report.open("a") if args.report else None
        try:
            records = run_migration(
                plan, registry, args.gun, key, identity=args.identity, report=report, progress=progress
            )
        finally:
            if report is not None:
                report.close()
    if args.consumer_config is not None:
        write_consumer_config(args.consumer_config, args.identity or args.gun, key)
    return 1 if any(record.status == "failed" for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
