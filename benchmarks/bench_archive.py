"""Archive and offline verification of a big repository, against a cold trustkit read of the same repository.

The script starts a real ``notary-server`` on loopback (``tests/interop/harness.py``) and publishes one repository
per size with trustkit's own :class:`~trustkit.client.Repository` (server-managed snapshot, every tag in
``targets/releases`` and a third of them in ``targets/alice``, names and sizes from ``bench_go.tags_for``). Then,
alternating run by run, in process:

1. **cold read**: a :class:`~trustkit.Reader` with an empty cache refreshes and lists every target row;
2. **archive**: :func:`trustkit.archive.export_repository` into an empty folder (root chain, every role, the
   verification at capture and the manifest);
3. **offline verify**: :func:`trustkit.archive.open_archive` from the pinned first root, judged now, and the same
   listing.

It prints medians and the ratios against the cold read (target of issue #17: each at most 2x), and with
``--json`` writes every run. Usage::

    .venv/bin/python benchmarks/bench_archive.py                          # 100,000 tags, 3 runs
    .venv/bin/python benchmarks/bench_archive.py --sizes 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

from benchmarks.bench_go import tags_for  # noqa: E402 -- the repository root must be importable first
from tests.interop.harness import NotaryServer  # noqa: E402

__all__ = ["MEASURES", "build", "main"]

MEASURES = ("cold_read", "archive", "offline_verify")
TARGET_RATIO = 2.0
ALICE = "targets/alice"
RELEASES = "targets/releases"


def build(server: NotaryServer, work: Path, size: int) -> tuple[str, bytes]:
    """Publish a repository of ``size`` tags; return its GUN and its first root (the pin)."""
    import trustkit as tk
    from trustkit.client import Change, Repository
    from trustkit.keystore import MemoryKeyStore
    from trustkit.remote import NotaryServer as NotaryServerRemote

    gun = f"localhost:5000/bench/archive-{size}"
    remote = NotaryServerRemote(server.url, ca=server.ca_path)
    repo = Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=work / f"build-{size}")
    repo.initialize(server_managed_snapshot=True)
    for role in (RELEASES, ALICE):
        key = tk.generate_private_key()
        repo.keystore.add_key(key, role=role)
        repo.add_delegation(role, keys=[key.public_key], all_paths=True)
    repo.publish()
    changes = []
    for index, (name, digest, length, _) in enumerate(tags_for(size)):
        target = tk.TargetFile.from_digest(digest.hex(), length)
        changes.append(Change.add_target(name, target, role=RELEASES))
        if index % 3 == 0:
            changes.append(Change.add_target(name, target, role=ALICE))
    repo.publish_changes(changes)
    return gun, remote.get_role(gun, "root", max_size=1 << 20, version=1)


def measure(server: NotaryServer, work: Path, gun: str, root: bytes, repeat: int) -> dict[str, list[float]]:
    """Run the three measures ``repeat`` times, alternating; seconds per run."""
    import trustkit as tk
    from trustkit.archive import export_repository, open_archive
    from trustkit.remote import NotaryServer as NotaryServerRemote

    remote = NotaryServerRemote(server.url, ca=server.ca_path)
    runs: dict[str, list[float]] = {name: [] for name in MEASURES}
    counts: set[int] = set()
    for run in range(repeat):
        folder = work / f"run-{run}"
        shutil.rmtree(folder, ignore_errors=True)

        def cold_read(folder: Path = folder) -> int:
            reader = tk.Reader(gun, remote, cache=tk.MetadataCache(folder / "cold", gun))
            reader.refresh()
            return len(reader.list_target_rows())

        def archive(folder: Path = folder) -> int:
            result = export_repository(remote, gun, folder / "archive", root=root)
            assert result.manifest is not None and result.manifest.verified, result
            return result.manifest.targets_count

        def offline(folder: Path = folder) -> int:
            return len(open_archive(folder / "archive", gun, root=root, at="now").list_target_rows())

        steps: Sequence[tuple[str, Callable[[], int]]] = (
            ("cold_read", cold_read),
            ("archive", archive),
            ("offline_verify", offline),
        )
        for name, step in steps:
            gc.collect()  # no measure pays for the garbage of the one before
            start = time.perf_counter()
            counts.add(step())
            runs[name].append(time.perf_counter() - start)
        shutil.rmtree(folder, ignore_errors=True)
    if len(counts) != 1:
        raise AssertionError(f"the three measures listed different numbers of targets: {sorted(counts)}")
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Build, measure, print the table and (``--json``) write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="tags per repository, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        work = args.workdir.resolve() if args.workdir else Path(tmp)
        with NotaryServer(work / "server", log_level="error") as server:
            for size in sizes:
                start = time.perf_counter()
                gun, root = build(server, work, size)
                built = time.perf_counter() - start
                runs = measure(server, work, gun, root, args.repeat)
                medians = {name: statistics.median(values) for name, values in runs.items()}
                fastest = {name: min(values) for name, values in runs.items()}
                results.append(
                    {
                        "size": size,
                        "build_s": built,
                        "runs_s": runs,
                        "median_s": medians,
                        "min_s": fastest,
                        "ratios": {
                            "archive_vs_cold_read": medians["archive"] / medians["cold_read"],
                            "offline_verify_vs_cold_read": medians["offline_verify"] / medians["cold_read"],
                            "archive_vs_cold_read_min": fastest["archive"] / fastest["cold_read"],
                            "offline_verify_vs_cold_read_min": fastest["offline_verify"] / fastest["cold_read"],
                        },
                    }
                )
    print(f"| tags | cold read | archive | offline verify | ratios (target <= {TARGET_RATIO:g}x) |")
    print("| ---: | ---: | ---: | ---: | --- |")
    for result in results:
        med, ratio = result["median_s"], result["ratios"]
        print(
            f"| {result['size']:,} | {med['cold_read']:.2f} s | {med['archive']:.2f} s | "
            f"{med['offline_verify']:.2f} s | archive {ratio['archive_vs_cold_read']:.2f}x, "
            f"offline {ratio['offline_verify_vs_cold_read']:.2f}x (medians); "
            f"archive {ratio['archive_vs_cold_read_min']:.2f}x, "
            f"offline {ratio['offline_verify_vs_cold_read_min']:.2f}x (best) |"
        )
    if args.json is not None:
        import trustkit

        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "trustkit": trustkit.__version__,
            "repeat": args.repeat,
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
