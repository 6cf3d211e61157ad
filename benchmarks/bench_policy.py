"""Trust-policy verdicts on a real notary-server: one verdict with a timestamp round trip, and the verdict cache.

The script starts a real ``notary-server`` on loopback (``tests/interop/harness.py``), builds a repository with
three docker signers and ``--size`` tags exactly as ``bench_go.py`` does (``docker trust signer add`` and one
``notary publish``), pins its root from ``DockerTrust.inspect`` and measures, in process:

- ``verdict``: ``Verifier.verify(REPO:TAG)`` on random tags with a warm verified cache -- each verdict fetches
  ``timestamp.json`` from the server over TLS (the round trip every fresh decision needs) and decides from the
  cached snapshot and targets roles; p50, p99 and max in milliseconds;
- ``full read``: a verdict by a new ``Verifier`` on the same warm disk cache: what a changed timestamp (a new
  signature anywhere in the repository) or a restart costs;
- ``cached``: verdicts per second from a ``VerdictCache`` on one thread (the admission webhook's hot path).

Figures go to ``benchmarks/README.md``, never to code. Usage::

    .venv/bin/python benchmarks/bench_policy.py [--size 10000] [--verdicts 500] [--cached 200000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
for folder in (ROOT_DIR, ROOT_DIR / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_go import build_repository, tag_name  # noqa: E402 -- the folders must be importable first

from tests.interop.harness import NotaryServer  # noqa: E402
from trustkit.dct import DockerTrust  # noqa: E402
from trustkit.policy import Policy, Rule, SignerRequirement, TrustAnchor, VerdictCache, Verifier  # noqa: E402

__all__ = ["main", "measure"]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(trust: DockerTrust, gun: str, size: int, work: Path, *, verdicts: int, cached: int) -> dict[str, Any]:
    """Time ``verdicts`` fresh verdicts and ``cached`` verdicts from the cache; return the figures."""
    root_ids = trust.inspect(gun)[0].root_key_ids
    signers = SignerRequirement(("alice", "bob", "carol"), threshold=1)
    policy = Policy((Rule("localhost:5000/*", TrustAnchor.pinned(root_key_ids=root_ids), signers=signers),))
    verifier = Verifier(policy, trust_dir=work / "verifier", docker=trust)
    first = verifier.verify(f"{gun}:{tag_name(0)}")  # fills the verified cache (not timed)
    if not first.allowed:
        raise SystemExit(f"the benchmark repository was not verified: {first.message}")
    rng = random.Random(2024)
    times = []
    for _ in range(verdicts):
        image = f"{gun}:{tag_name(rng.randrange(size))}"
        start = time.perf_counter()
        verdict = verifier.verify(image)
        times.append((time.perf_counter() - start) * 1000)
        if not verdict.allowed:
            raise SystemExit(f"unexpected deny: {verdict.message}")
    full = []
    for _ in range(max(1, verdicts // 25)):  # a new verifier: the full read a changed timestamp (or a restart) costs
        fresh = Verifier(policy, trust_dir=work / "verifier", docker=trust)
        start = time.perf_counter()
        fresh.verify(f"{gun}:{tag_name(rng.randrange(size))}")
        full.append((time.perf_counter() - start) * 1000)
    cache = VerdictCache(ttl=3600, max_size=1000)
    fast = Verifier(policy, trust_dir=work / "verifier", docker=trust, verdict_cache=cache)
    images = [f"{gun}:{tag_name(i)}" for i in range(min(size, 100))]
    for image in images:
        fast.verify(image)
    start = time.perf_counter()
    for index in range(cached):
        fast.verify(images[index % len(images)])
    per_second = cached / (time.perf_counter() - start)
    return {
        "size": size,
        "verdict_ms": {
            "p50": round(statistics.median(times), 3),
            "p99": round(_percentile(times, 0.99), 3),
            "max": round(max(times), 3),
            "count": len(times),
        },
        "full_read_ms": {"p50": round(statistics.median(full), 3), "max": round(max(full), 3), "count": len(full)},
        "cached_per_second": round(per_second),
    }


def main(argv: list[str] | None = None) -> int:
    """Build the repository, measure, print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="tags in the repository")
    parser.add_argument("--verdicts", type=int, default=500, help="fresh verdicts timed")
    parser.add_argument("--cached", type=int, default=200_000, help="verdicts from the verdict cache timed")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trustkit-bench-policy-") as tmp:
        work = Path(tmp)
        with NotaryServer(work / "server", log_level="error") as server:
            repo = build_repository(server, work, args.size)
            with DockerTrust(env=repo.docker.env) as trust:
                result = measure(trust, repo.gun, args.size, work, verdicts=args.verdicts, cached=args.cached)
    verdict = result["verdict_ms"]
    full = result["full_read_ms"]
    header = ("verdict p50 ms", "p99 ms", "max ms", "full read p50 ms", "cached verdicts/s")
    print(f"{'tags':>8} {header[0]:>15} {header[1]:>8} {header[2]:>8} {header[3]:>17} {header[4]:>18}")
    print(
        f"{result['size']:>8,} {verdict['p50']:>15.2f} {verdict['p99']:>8.2f} {verdict['max']:>8.2f} "
        f"{full['p50']:>17.2f} {result['cached_per_second']:>18,}"
    )
    if args.json:
        report = {"python": platform.python_version(), "platform": platform.platform(), **result}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
