"""The trustkit side of the inspect benchmark: a whole process that lists a GUN's signed tags.

What ``notary list GUN`` does, with trustkit: run the client update workflow against a notary server (with the
metadata cache in ``TRUST_DIR``, notary's layout), then print every trusted target as ``name  sha256  size
role``, one per line (``Reader.list_target_rows``: no model per target). :mod:`bench_go` runs it cold (empty
trust dir) and warm (cache present).

Usage::

    python benchmarks/tk_inspect.py URL CA_FILE TRUST_DIR GUN
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """List the trusted targets of ``GUN``; return the exit status."""
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, ca, trust_dir, gun = argv
    from trustkit import MetadataCache, NotaryServer, Reader

    with NotaryServer(url, ca=ca) as remote:
        rows = Reader(gun, remote, cache=MetadataCache(trust_dir, gun)).list_target_rows()
    sys.stdout.writelines(f"{name}\t{sha256}\t{length}\t{role}\n" for name, sha256, length, role in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
