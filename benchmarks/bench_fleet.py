"""Many repositories on a real notary-server: the inventory against ``notary list`` per repository, and the
changefeed follower's publish-to-event latency.

The script starts a real ``notary-server`` on loopback (``tests/interop/harness.py``, memory store), publishes
``--repos`` repositories of ``--tags`` tags each with trustkit (in parallel, not timed), and measures:

- ``notary list``: one ``notary list <gun>`` process per repository, one after the other, cold (a fresh trust
  directory), as a script looping over a registry would run it; the sum;
- ``inventory``: one process (``python -c`` importing trustkit) taking the inventory of all of them
  (``take_inventory`` with ``--workers`` threads, no cache), wall time; the ratio to the ``notary list`` sum
  (target <= 0.1); and the same with a warm verified cache (``trust_dir``, filled by a run before), as a periodic
  audit runs; and the inventory inside the benchmark's process (without Python's start-up and imports);
- ``follower latency``: a ``ChangefeedFollower`` in a thread with ``--poll`` seconds between polls; ``--events``
  times a tag is published at a random moment and the time from the publish's return to the event is taken
  (target: max <= poll interval + 100 ms).

Figures go to ``benchmarks/README.md``, never to code. Usage::

    .venv/bin/python benchmarks/bench_fleet.py [--repos 200] [--tags 100] [--workers 8] [--poll 1.0]
        [--events 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

import trustkit as tk  # noqa: E402 -- the folder must be importable first
from tests.interop.harness import NotaryCLI, NotaryServer  # noqa: E402
from trustkit.fleet import ChangefeedFollower, RepositoryEvent, take_inventory  # noqa: E402
from trustkit.keystore import MemoryKeyStore  # noqa: E402

__all__ = ["main", "measure"]

PREFIX = "localhost:5000/fleet-bench/"

_INVENTORY = """
import sys, time
from trustkit.fleet import take_inventory
from trustkit.remote import NotaryServer
with NotaryServer(sys.argv[1], ca=sys.argv[2]) as server:
    inventory = take_inventory(server, prefix=sys.argv[3], workers=int(sys.argv[4]), trust_dir=sys.argv[5] or None)
bad = [row.gun for row in inventory if row.error is not None]
print(len(inventory), sum(len(row.tags) for row in inventory), len(bad))
"""


def _remote(server: NotaryServer) -> tk.NotaryServer:
    return tk.NotaryServer(server.url, ca=server.ca_path)


def publish_repositories(server: NotaryServer, work: Path, repos: int, tags: int) -> list[str]:
    """Publish ``repos`` repositories of ``tags`` tags each (8 at a time); return their GUNs."""
    remote = _remote(server)

    def one(index: int) -> str:
        gun = f"{PREFIX}r{index:04d}"
        repo = tk.Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=work / "publisher" / str(index))
        repo.initialize()
        repo.add_targets({f"v{i}": tk.TargetFile.from_digest(f"{index:04x}{i:060x}", 1000 + i) for i in range(tags)})
        repo.publish()
        return gun

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(repos)))


def measure(
    server: NotaryServer, work: Path, guns: list[str], *, workers: int, poll: float, events: int
) -> dict[str, Any]:
    """Time ``notary list`` per repository, the inventory in one process, and the follower's latency."""
    cli = NotaryCLI(server, work / "notary-trust", work / "notary-home")
    start = time.perf_counter()
    for gun in guns:
        cli.run("list", gun)
    notary_total = time.perf_counter() - start

    def inventory(trust_dir: str) -> tuple[float, int]:
        argv = [sys.executable, "-c", _INVENTORY, server.url, str(server.ca_path), PREFIX, str(workers), trust_dir]
        start = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT_DIR).stdout.split()
        elapsed = time.perf_counter() - start
        rows, tag_count, failed = (int(value) for value in out)
        if rows != len(guns) or failed:
            raise SystemExit(f"the inventory saw {rows} repositories ({failed} failed), not {len(guns)}")
        return elapsed, tag_count

    inventory_total, tag_count = inventory("")
    start = time.perf_counter()
    rows_in_process = take_inventory(_remote(server), prefix=PREFIX, workers=workers)
    in_process = time.perf_counter() - start
    if len(rows_in_process) != len(guns):
        raise SystemExit(f"the inventory saw {len(rows_in_process)} repositories, not {len(guns)}")
    inventory(str(work / "inventory-cache"))  # fills a verified cache (not timed)
    warm_total, _ = inventory(str(work / "inventory-cache"))

    latencies = follower_latency(server, work, poll=poll, events=events)
    return {
        "repositories": len(guns),
        "tags_per_repository": tag_count // len(guns),
        "workers": workers,
        "notary_list_total_s": round(notary_total, 3),
        "notary_list_per_repository_ms": round(notary_total / len(guns) * 1000, 1),
        "inventory_process_s": round(inventory_total, 3),
        "ratio_inventory_to_notary_list": round(inventory_total / notary_total, 4),
        "inventory_in_process_s": round(in_process, 3),
        "inventory_warm_cache_process_s": round(warm_total, 3),
        "ratio_warm_inventory_to_notary_list": round(warm_total / notary_total, 4),
        "follower": {
            "poll_interval_s": poll,
            "latency_ms": [round(value * 1000, 1) for value in latencies],
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
            "target_ms": round(poll * 1000 + 100),
        },
    }


def follower_latency(server: NotaryServer, work: Path, *, poll: float, events: int) -> list[float]:
    """Publish a new tag ``events`` times at random moments; the seconds from each publish's return to its event."""
    remote = _remote(server)
    gun = f"{PREFIX}latency"
    repo = tk.Repository(gun, remote=remote, keystore=MemoryKeyStore(), trust_dir=work / "latency")
    repo.initialize()
    repo.publish()
    follower = ChangefeedFollower(remote, work / "follower", prefix=gun, poll_interval=poll)
    follower.poll()  # the baseline (not timed)
    arrived: queue.Queue[tuple[float, RepositoryEvent]] = queue.Queue()

    def run() -> None:
        for event in follower.follow():
            arrived.put((time.perf_counter(), event))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    rng = random.Random(7)
    latencies = []
    try:
        for index in range(events):
            time.sleep(rng.uniform(0, poll))
            repo.add_target(f"t{index}", tk.TargetFile.from_digest(f"{index:064x}", 1))
            repo.publish()
            published = time.perf_counter()
            moment, event = arrived.get(timeout=poll + 30)
            if event.tags_added != ((f"t{index}", f"sha256:{index:064x}"),):
                raise SystemExit(f"unexpected event {event}")
            latencies.append(moment - published)
    finally:
        follower.stop()
        thread.join(timeout=poll + 30)
    return latencies


def main(argv: list[str] | None = None) -> int:
    """Build the repositories, measure, print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200, help="repositories")
    parser.add_argument("--tags", type=int, default=100, help="tags per repository")
    parser.add_argument("--workers", type=int, default=8, help="inventory threads")
    parser.add_argument("--poll", type=float, default=1.0, help="the follower's poll interval, seconds")
    parser.add_argument("--events", type=int, default=10, help="publishes timed for the follower's latency")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trustkit-bench-fleet-") as tmp:
        work = Path(tmp)
        with NotaryServer(work / "server", log_level="error") as server:
            guns = publish_repositories(server, work, args.repos, args.tags)
            result = measure(server, work, guns, workers=args.workers, poll=args.poll, events=args.events)
    follower = result["follower"]
    print(
        f"{result['repositories']} repositories x {result['tags_per_repository']} tags: notary list "
        f"{result['notary_list_total_s']:.2f} s ({result['notary_list_per_repository_ms']:.0f} ms each), inventory "
        f"{result['inventory_process_s']:.2f} s: {result['ratio_inventory_to_notary_list']:.3f}x (target <= 0.1); "
        f"in process (no start-up) {result['inventory_in_process_s']:.2f} s; "
        f"with a warm verified cache {result['inventory_warm_cache_process_s']:.2f} s: "
        f"{result['ratio_warm_inventory_to_notary_list']:.3f}x"
    )
    print(
        f"follower latency, poll {follower['poll_interval_s']} s: p50 {follower['p50_ms']:.0f} ms, max "
        f"{follower['max_ms']:.0f} ms (target <= {follower['target_ms']} ms)"
    )
    if args.json:
        report = {"python": platform.python_version(), "platform": platform.platform(), **result}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
