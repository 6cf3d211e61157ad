"""Listing many repositories: AsyncReader over one AsyncNotaryServer (all repositories at once, bounded) against
the blocking loop over them (one Reader after another over one NotaryServer), on a real notary-server.

The script starts a real ``notary-server`` on loopback (``tests/interop/harness.py``), publishes ``--repos``
repositories of ``--tags`` signed tags each with trustkit (a root, targets and snapshot key per repository, the
server's timestamp key), and then measures, alternating the two run by run, the time to list every repository's
tags cold (no cache: root, timestamp, snapshot and targets fetched and verified for each). Both list the same
rows, which the script checks. It prints the medians and their ratio (the issue's goal: the async listing at least
5x faster) and with ``--json`` writes every run. Usage::

    .venv/bin/python benchmarks/bench_async.py                          # 200 repositories x 100 tags
    .venv/bin/python benchmarks/bench_async.py --repos 20 --tags 10 --repeat 1
    .venv/bin/python benchmarks/bench_async.py --latency 20 --concurrency 8   # a server 20 ms (round trip) away

``--latency`` puts a relay in front of the server (``benchmarks/latency_relay.py``, its own process, bytes passed
through untouched, TLS end to end) that adds that many milliseconds to every round trip: the listings then wait,
as they would for a server across a network.

Needs ``notary-server`` on ``PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

import trustkit as tk  # noqa: E402 -- the repository root must be importable first
from benchmarks.latency_relay import relay_url, start_relay  # noqa: E402
from tests.interop.harness import NotaryServer  # noqa: E402

__all__ = ["GOAL", "main", "publish_repositories"]

GOAL = 5.0
"""The issue's goal: the async listing of the repositories at least this many times faster than the loop."""
DEFAULT_REPOS = 200
DEFAULT_TAGS = 100
DEFAULT_REPEAT = 3
DEFAULT_CONCURRENCY = 4

Rows = dict[str, list[tuple[str, str, int, str]]]


def publish_repositories(server: NotaryServer, work: Path, repos: int, tags: int) -> list[str]:
    """Publish ``repos`` repositories of ``tags`` tags on ``server`` with trustkit (four threads); their GUNs."""
    guns = [f"localhost:5000/bench-async/repo-{index:04d}" for index in range(repos)]

    def publish(gun: str) -> None:
        with tk.NotaryServer(server.url, ca=server.ca_path) as remote:
            repo = tk.Repository(
                gun, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=work / "admin" / gun.rsplit("/", 1)[1]
            )
            repo.initialize()
            targets = {f"v{tag}": tk.TargetFile.from_data(f"{gun} {tag}".encode()) for tag in range(tags)}
            repo.add_targets(targets)
            repo.publish()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(publish, guns))
    return guns


def list_blocking(server: NotaryServer, guns: Sequence[str], url: str | None = None) -> Rows:
    """Every repository's rows, one Reader after another over one NotaryServer (at ``url``, default the server's)."""
    with tk.NotaryServer(url or server.url, ca=server.ca_path) as remote:
        return {gun: [tuple(row) for row in tk.Reader(gun, remote).list_target_rows()] for gun in guns}  # type: ignore[misc]


async def list_async(server: NotaryServer, guns: Sequence[str], concurrency: int, url: str | None = None) -> Rows:
    """Every repository's rows, read concurrently (at most ``concurrency`` at a time) over one AsyncNotaryServer."""
    limit = asyncio.Semaphore(concurrency)
    async with tk.AsyncNotaryServer(url or server.url, ca=server.ca_path) as remote:

        async def rows(gun: str) -> list[tuple[str, str, int, str]]:
            async with limit:
                return [tuple(row) for row in await tk.AsyncReader(gun, remote).list_target_rows()]  # type: ignore[misc]

        listed = await asyncio.gather(*(rows(gun) for gun in guns))
    return dict(zip(guns, listed, strict=True))


def measure(
    server: NotaryServer, guns: Sequence[str], repeat: int, concurrency: int, url: str | None = None
) -> dict[str, Any]:
    """Alternate the two listings ``repeat`` times (against ``url``, default the server's); check that they agree."""
    runs: dict[str, list[float]] = {"blocking": [], "async": []}
    for _ in range(repeat):
        start = time.perf_counter()
        blocking = list_blocking(server, guns, url)
        runs["blocking"].append(time.perf_counter() - start)
        start = time.perf_counter()
        concurrent = asyncio.run(list_async(server, guns, concurrency, url))
        runs["async"].append(time.perf_counter() - start)
        if blocking != concurrent:
            raise SystemExit("the async listing differs from the blocking one")
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {"runs_s": runs, "median_s": medians, "speedup": medians["blocking"] / medians["async"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=DEFAULT_REPOS, help=f"repositories (default {DEFAULT_REPOS})")
    parser.add_argument("--tags", type=int, default=DEFAULT_TAGS, help=f"tags per repository (default {DEFAULT_TAGS})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs (default {DEFAULT_REPEAT})")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="repositories read at once by the async listing"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="milliseconds added to each round trip (a relay in front; default 0)"
    )
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--workdir", type=Path, help="keep the server's files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-async-"))
    work.mkdir(parents=True, exist_ok=True)
    server = NotaryServer(work / "server").start()
    try:
        start = time.perf_counter()
        guns = publish_repositories(server, work, args.repos, args.tags)
        print(f"published {args.repos} repositories x {args.tags} tags in {time.perf_counter() - start:.1f} s")
        if args.latency > 0:
            port = int(server.url.rsplit(":", 1)[1])
            with start_relay("127.0.0.1", port, args.latency) as relay:
                result = measure(server, guns, args.repeat, args.concurrency, relay_url(server.url, relay))
        else:
            result = measure(server, guns, args.repeat, args.concurrency)
    finally:
        server.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    medians = result["median_s"]
    met = "met" if result["speedup"] >= GOAL else "NOT met"
    print(f"blocking loop:  {medians['blocking']:.2f} s median of {args.repeat}")
    print(f"async listing:  {medians['async']:.2f} s median of {args.repeat} (concurrency {args.concurrency})")
    late = f", {args.latency:g} ms added to every round trip" if args.latency else ""
    print(f"speed-up:       {result['speedup']:.1f}x (goal >= {GOAL:g}x: {met}){late}")
    if args.json is not None:
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "trustkit": tk.__version__,
            "repos": args.repos,
            "tags": args.tags,
            "concurrency": args.concurrency,
            "latency_ms": args.latency,
            **result,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
