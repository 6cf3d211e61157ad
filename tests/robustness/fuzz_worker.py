"""Runs fuzz targets for a bounded time: ``python -m tests.robustness.fuzz_worker --out DIR NAME...``.

With atheris installed, trustkit is imported under ``atheris.instrument_imports`` and libFuzzer drives the
target coverage-guided (``-max_total_time``, a per-input ``-timeout`` for hangs, ``-rss_limit_mb`` for unbounded
allocation). Without atheris, a mutation fuzzer over the same seeds and mutators runs instead (same time bound,
a per-input alarm, an address-space limit). Either way the figures are printed libFuzzer-style on stderr
(``stat::number_of_executed_units: N``), and an escaped exception is printed after ``=== Uncaught Python
exception: ===`` with the input written to the artifacts folder (``Test unit written to PATH``).

trustkit is instrumented and the seeds are built once; then one forked child per target (``--jobs`` at a time)
fuzzes it, logging to ``OUT/NAME/log``; ``OUT/NAME/result.json`` holds its exit code and time. Nothing from
trustkit (nor from modules that import it) is imported before the instrumentation.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import random
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType, ModuleType

PER_INPUT_TIMEOUT = 20
RSS_LIMIT_MB = 2048


class InputTimeoutError(Exception):
    """An input took longer than PER_INPUT_TIMEOUT seconds: a hang."""


def _load_atheris(engine: str) -> ModuleType | None:
    if engine == "random":
        return None
    try:
        import atheris
    except ImportError:
        if engine == "atheris":
            raise
        return None
    return atheris


def _import_trustkit() -> None:
    import trustkit
    import trustkit._encoding
    import trustkit.client.cache
    import trustkit.client.changelist
    import trustkit.keys._der
    import trustkit.keys.pem
    import trustkit.keys.private
    import trustkit.metadata.envelope
    import trustkit.remote.auth
    import trustkit.remote.base
    import trustkit.remote.config
    import trustkit.remote.notary_server
    import trustkit.remote.tls
    import trustkit.trust.pinning
    import trustkit.trust.trusted_set

    assert trustkit.__version__


def _write_seeds(corpus_dir: Path, seeds: list[bytes]) -> None:
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (corpus_dir / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)


def _report_crash(data: bytes, artifacts: Path, kind: str) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / f"{kind}-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    sys.stderr.write("\n === Uncaught Python exception: ===\n")
    traceback.print_exc(file=sys.stderr)
    sys.stderr.write(f"Test unit written to {path}\n")


def _guarded(entry: Callable[[bytes], None], artifacts: Path) -> Callable[[bytes], None]:
    """``entry``, saving the input and the execution count when anything escapes it (whatever the engine does)."""
    count = 0

    def run(data: bytes) -> None:
        nonlocal count
        count += 1
        try:
            entry(data)
        except BaseException:
            _report_crash(data, artifacts, "escaped")
            sys.stderr.write(f"stat::number_of_executed_units: {count}\n")
            raise

    return run


def _random_campaign(
    entry: Callable[[bytes], None],
    seeds: list[bytes],
    seconds: int,
    runs_cap: int | None,
    artifacts: Path,
    max_len: int,
) -> int:
    """A plain mutation fuzzer: libFuzzer's reporting, the same mutators the properties use."""
    from tests.robustness.mutations import mutate

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise InputTimeoutError(f"one input ran longer than {PER_INPUT_TIMEOUT} s")

    signal.signal(signal.SIGALRM, on_alarm)
    limit = RSS_LIMIT_MB * 4 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    pool = list(seeds)
    runs, start = 0, time.monotonic()
    while time.monotonic() - start < seconds and (runs_cap is None or runs < runs_cap):
        fresh = rng.random() < 0.05
        data = os.urandom(rng.randrange(max_len)) if fresh else mutate(rng, rng.choice(pool), pool)[:max_len]
        signal.setitimer(signal.ITIMER_REAL, PER_INPUT_TIMEOUT)
        try:
            entry(data)
        except BaseException as exc:  # every escape is a finding; report it with its input
            signal.setitimer(signal.ITIMER_REAL, 0)
            kind = (
                "timeout" if isinstance(exc, InputTimeoutError) else "oom" if isinstance(exc, MemoryError) else "crash"
            )
            sys.stderr.write(f"==trustkit-fuzz== ERROR: {kind}\n")
            _print_stats(runs + 1, start, len(pool) - len(seeds))
            return 1
        signal.setitimer(signal.ITIMER_REAL, 0)
        runs += 1
        if len(pool) < 512 and rng.random() < 0.02:
            pool.append(data)
    _print_stats(runs, start, len(pool) - len(seeds))
    return 0


def _print_stats(runs: int, start: float, new_units: int) -> None:
    elapsed = time.monotonic() - start
    sys.stderr.write(f"Done {runs} runs in {round(elapsed)} second(s)\n")
    sys.stderr.write(f"stat::number_of_executed_units: {runs}\n")
    sys.stderr.write(f"stat::average_exec_per_sec:     {int(runs / max(elapsed, 1e-9))}\n")
    sys.stderr.write(f"stat::new_units_added:          {new_units}\n")


def _run_target(
    atheris: ModuleType | None,
    name: str,
    seconds: int,
    runs: int | None,
    out: Path,
    corpus_dir: Path,
    seed_inputs: list[bytes],
) -> int:
    """Fuzz one target in this (forked) process, logging to ``out/log``; returns the exit status."""
    from tests.robustness.targets import ENTRIES

    log = os.open(out / "log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    artifacts = out / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    entry = _guarded(ENTRIES[name], artifacts)
    max_len = max(4096, *(len(seed) * 2 for seed in seed_inputs))
    engine = "atheris" if atheris is not None else "random-mutation (atheris unavailable)"
    sys.stderr.write(f"trustkit-fuzz engine: {engine}\n")
    sys.stderr.flush()
    if atheris is None:
        return _random_campaign(entry, seed_inputs, seconds, runs, artifacts, max_len)
    _write_seeds(corpus_dir, seed_inputs)
    from tests.robustness.mutations import libfuzzer_dictionary

    (out / "dict").write_text(libfuzzer_dictionary())
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            *([f"-runs={runs}"] if runs else []),
            f"-timeout={PER_INPUT_TIMEOUT}",
            f"-rss_limit_mb={RSS_LIMIT_MB}",
            f"-max_len={max_len}",
            "-print_final_stats=1",
            f"-dict={out / 'dict'}",
            f"-artifact_prefix={artifacts}{os.sep}",
            str(corpus_dir),
        ],
        entry,
    )
    try:
        atheris.Fuzz()  # exits the process when the time is up
    except SystemExit:  # how atheris ends a forked process on an uncaught exception
        sys.stdout.flush()
        sys.stderr.flush()
        ctypes.CDLL(None).exit(1)  # C exit: libFuzzer's exit hook reports the input and its statistics
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--seconds", type=int, default=1, help="fuzzing time per target")
    parser.add_argument("--runs", type=int, help="stop a target after this many inputs (if its time is not up)")
    parser.add_argument("--out", type=Path, required=True, help="a folder per target: log, result.json, artifacts/")
    parser.add_argument("--corpus-root", type=Path, help="keep each target's corpus in CORPUS_ROOT/NAME")
    parser.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    atheris = _load_atheris(args.engine)
    if atheris is not None:
        with atheris.instrument_imports(include=["trustkit"]):
            _import_trustkit()
    from tests.robustness.targets import seeds

    seed_inputs = {name: seeds(name) for name in args.targets}  # built once, before forking
    sys.stdout.flush()
    sys.stderr.flush()
    running: dict[int, tuple[str, float]] = {}
    pending = list(args.targets)
    failures = 0
    while pending or running:
        while pending and len(running) < max(1, args.jobs):
            name = pending.pop(0)
            out = args.out / name
            out.mkdir(parents=True, exist_ok=True)
            corpus_dir = (args.corpus_root / name) if args.corpus_root else out / "corpus"
            pid = os.fork()
            if pid == 0:
                status = 70
                try:
                    status = _run_target(atheris, name, args.seconds, args.runs, out, corpus_dir, seed_inputs[name])
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(status)
            running[pid] = (name, time.monotonic())
        pid, status = os.wait()
        name, started = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        failures += code != 0
        result = {"exit": code, "seconds": round(time.monotonic() - started, 3)}
        (args.out / name / "result.json").write_text(json.dumps(result))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
