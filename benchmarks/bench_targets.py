"""Benchmark reading, verifying and re-writing large Notary v1 targets files with trustkit.

For each size a targets file is built the way ``docker trust sign`` / ``docker push`` with content trust records
tags (:meth:`trustkit.TargetFile.from_digest`: a manifest sha256 and a size, nothing else), signed with a fresh
ECDSA P-256 key and written with :meth:`trustkit.Metadata.to_bytes`. Then, over ``--repeat`` runs, it times:

* ``json.loads`` of the file: the floor any Python JSON reader pays;
* :meth:`trustkit.Metadata.from_bytes` with ``role="targets"``;
* :meth:`trustkit.Root.verify_delegate` of the parsed metadata against a root that lists the signing key;
* load+verify: the two together, as a client does for every targets file it downloads;
* :meth:`trustkit.Metadata.to_bytes` of freshly parsed metadata (re-serialisation).

Every run also checks that re-serialising the parsed metadata gives back the input bytes exactly.

Usage::

    python benchmarks/bench_targets.py [--sizes 1000,10000,100000] [--repeat 3] [--json out.json] [--no-orjson]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import trustkit as tk

__all__ = ["OPERATIONS", "build_targets_file", "format_table", "main", "make_root", "run_size"]

T = TypeVar("T")

DEFAULT_SIZES = "1000,10000,100000"
DEFAULT_REPEAT = 3
SEED = 2024
"""Seed for the target names' digests and sizes, so every run benchmarks the same file shape."""

OPERATIONS = ("json_loads", "from_bytes", "verify", "load_verify", "to_bytes")
"""The timed operations, in table order; also the keys of each result's ``timings_ms``."""

_HEADERS = {
    "json_loads": "json.loads",
    "from_bytes": "from_bytes",
    "verify": "verify",
    "load_verify": "load+verify",
    "to_bytes": "to_bytes",
}


# --- building the input -----------------------------------------------------------------------------------


def _target_name(index: int) -> str:
    """A tag name as found in real repositories: mostly semantic versions, every fourth a plain ``tag-<i>``."""
    if index % 4 == 3:
        return f"tag-{index}"
    return f"v{index % 7}.{index % 13}.{index % 17}-{index}"


def build_targets_file(size: int, key: tk.PrivateKey, *, seed: int = SEED) -> bytes:
    """The bytes of a targets file with ``size`` docker-style tags, signed by ``key``."""
    rng = random.Random(seed)
    targets = {
        _target_name(index): tk.TargetFile.from_digest(rng.randbytes(32), rng.randint(500, 60_000))
        for index in range(size)
    }
    signed = tk.Targets(version=1, expires=tk.default_expiry("targets"), targets=targets)
    return tk.Metadata(signed).sign(key.signer()).to_bytes()


def make_root(key: tk.PublicKey) -> tk.Root:
    """A minimal root whose every base role (targets included) is ``key`` with threshold 1."""
    return tk.Root(
        version=1,
        expires=tk.default_expiry("root"),
        keys={key.key_id: key},
        roles={name: tk.Role([key.key_id], 1) for name in ("root", "targets", "snapshot", "timestamp")},
    )


# --- timing -----------------------------------------------------------------------------------------------


def _timed(function: Callable[..., T], *args: Any) -> tuple[float, T]:
    """Call ``function(*args)`` once after a full collection; return the elapsed milliseconds and its result."""
    gc.collect()
    start = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - start
    return elapsed * 1000.0, result


def _check_round_trip(written: bytes, data: bytes, size: int) -> None:
    """The correctness guard: re-serialised metadata must be the input, byte for byte (kept under ``-O``)."""
    if written != data:
        raise AssertionError(f"{size} targets: to_bytes() of the parsed metadata differs from the input bytes")


def _check_verified(result: tk.VerificationResult, size: int) -> None:
    """Verification of the benchmark's own signature must succeed."""
    if not result.verified:
        raise AssertionError(f"{size} targets: the signature did not verify")


def run_size(size: int, repeat: int, key: tk.PrivateKey, root: tk.Root) -> dict[str, Any]:
    """Build one targets file of ``size`` tags and time every operation ``repeat`` times.

    Returns ``{"size", "bytes", "mb", "timings_ms": {operation: {"median", "min", "runs"}}, "ratio_..."}``.
    """
    data = build_targets_file(size, key)
    runs: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}

    def load() -> tk.Metadata[Any]:
        return tk.Metadata.from_bytes(data, role="targets")

    def load_verify() -> tk.VerificationResult:
        return root.verify_delegate("targets", tk.Metadata.from_bytes(data, role="targets"))

    for _ in range(repeat):
        elapsed, _ = _timed(json.loads, data)
        runs["json_loads"].append(elapsed)

        elapsed, metadata = _timed(load)
        runs["from_bytes"].append(elapsed)

        elapsed, result = _timed(root.verify_delegate, "targets", metadata)
        runs["verify"].append(elapsed)
        _check_verified(result, size)

        # Metadata caches its canonical bytes on first use, so to_bytes is timed on metadata not yet written.
        elapsed, written = _timed(metadata.to_bytes)
        runs["to_bytes"].append(elapsed)
        _check_round_trip(written, data, size)
        del metadata, written

        elapsed, result = _timed(load_verify)
        runs["load_verify"].append(elapsed)
        _check_verified(result, size)

    medians = {operation: statistics.median(values) for operation, values in runs.items()}
    return {
        "size": size,
        "bytes": len(data),
        "mb": len(data) / 1e6,
        "timings_ms": {
            operation: {"median": medians[operation], "min": min(values), "runs": values}
            for operation, values in runs.items()
        },
        "ratio_load_verify_to_json_loads": medians["load_verify"] / medians["json_loads"],
    }


# --- output -----------------------------------------------------------------------------------------------


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: size, file MB, each timing as ``median / min`` ms, and the load+verify ratio."""
    headers = ["targets", "file MB", *(f"{_HEADERS[op]} ms" for op in OPERATIONS), "load+verify / json.loads"]
    rows = []
    for result in results:
        timings = result["timings_ms"]
        cells = [f"{timings[op]['median']:.1f} / {timings[op]['min']:.1f}" for op in OPERATIONS]
        rows.append(
            [f"{result['size']:,}", f"{result['mb']:.2f}", *cells, f"{result['ratio_load_verify_to_json_loads']:.1f}x"]
        )
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [headers, *rows]]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _environment() -> dict[str, Any]:
    """Where the numbers were measured."""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "trustkit": tk.__version__,
    }


# --- command line -----------------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    """Parse ``--sizes``: comma-separated positive integers."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text!r}")
    return sizes


def _positive(text: str) -> int:
    """Parse ``--repeat``: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Time json.loads, Metadata.from_bytes, verify_delegate and to_bytes on large targets files."
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=_sizes(DEFAULT_SIZES),
        help=f"comma-separated numbers of targets (default: {DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--repeat", type=_positive, default=DEFAULT_REPEAT, help=f"runs per timing (default: {DEFAULT_REPEAT})"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument(
        "--no-orjson", action="store_true", help="do not use the optional orjson accelerator even if installed"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for every size, print the table and write JSON when asked; return the exit status."""
    args = _parser().parse_args(argv)
    from trustkit import _encoding

    accelerated = _encoding.USE_ORJSON
    if args.no_orjson:
        _encoding.USE_ORJSON = False
    try:
        return _run(args)
    finally:
        _encoding.USE_ORJSON = accelerated


def _run(args: argparse.Namespace) -> int:
    from trustkit import _encoding

    key = tk.generate_private_key()
    root = make_root(key.public_key)
    results = []
    for size in args.sizes:
        print(f"benchmarking {size:,} targets x {args.repeat} ...", file=sys.stderr, flush=True)
        results.append(run_size(size, args.repeat, key, root))
    environment = _environment()
    environment["orjson"] = _encoding.USE_ORJSON
    print(
        f"trustkit {environment['trustkit']} (orjson {'on' if _encoding.USE_ORJSON else 'off'}), "
        f"Python {environment['python']}, {environment['platform']}, "
        f"{environment['cpu_count']} CPUs; times in ms as median / min of {args.repeat} runs"
    )
    print(format_table(results))
    if args.json is not None:
        report = {**environment, "repeat": args.repeat, "sizes": args.sizes, "results": results}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
