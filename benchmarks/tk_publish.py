"""The trustkit side of the publish benchmark: a whole process that signs one new tag as a docker signer.

What ``notary addhash GUN TAG SIZE --sha256 HEX --roles targets/releases --roles targets/SIGNER -p`` does, with
trustkit: stage the tag in both roles in notary's changelist under ``TRUST_DIR``, then
:meth:`trustkit.Repository.publish` (fetch and verify the current trust data, apply, sign, upload). Private keys
are docker's, in ``TRUST_DIR/private``, opened with ``DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE``.

Usage::

    python benchmarks/tk_publish.py URL CA_FILE TRUST_DIR GUN TAG SHA256_HEX SIZE SIGNER
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Sign and publish one tag; return the exit status."""
    if len(argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    url, ca, trust_dir, gun, tag, digest, size, signer = argv
    from trustkit import DockerEnvPassphrase, FileKeyStore, NotaryServer, Repository, TargetFile

    keystore = FileKeyStore(trust_dir, passphrase=DockerEnvPassphrase())
    with NotaryServer(url, ca=ca) as remote:
        repository = Repository(gun, remote=remote, keystore=keystore, trust_dir=trust_dir)
        target = TargetFile.from_digest(digest, int(size))
        repository.add_target(tag, target, roles=("targets/releases", f"targets/{signer}"), publish=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
