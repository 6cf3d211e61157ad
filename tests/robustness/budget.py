"""How long the robustness campaigns run: a short version always, a long one behind ``TRUSTKIT_FUZZ_SECONDS``.

* ``TRUSTKIT_FUZZ_SECONDS`` unset: the short version (5000 inputs or 1-2 s of fuzzing per target, whichever
  comes first; 100 hypothesis examples per property; 10 kills per crash-safety writer).
* ``TRUSTKIT_FUZZ_SECONDS=600``: the long version. The fuzz campaign takes about that many seconds of wall time
  (split over the targets, one worker per core), every property runs 20 times the examples, and each
  crash-safety writer is killed 200 times.
* ``TRUSTKIT_FUZZ_RUNS``, ``TRUSTKIT_CRASH_KILLS`` and ``TRUSTKIT_HYPOTHESIS_EXAMPLES`` override those counts on
  their own.

This module imports nothing from trustkit, so the fuzz worker can instrument trustkit before importing it.
"""

from __future__ import annotations

import os


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {value!r}") from None
    if number <= 0:
        raise SystemExit(f"{name} must be positive, not {number}")
    return number


LONG_SECONDS = _int_env("TRUSTKIT_FUZZ_SECONDS")
LONG = LONG_SECONDS is not None
WORKERS = max(1, min(os.cpu_count() or 1, 8))
"""Fuzz workers run at once (one per core)."""


def fuzz_seconds_per_target(target_count: int) -> int:
    """libFuzzer's ``-max_total_time`` for each target (whole seconds, at least 1)."""
    if LONG_SECONDS is None:
        return 1
    return max(1, LONG_SECONDS * WORKERS // max(1, target_count))


def fuzz_runs_per_target() -> int | None:
    """libFuzzer's ``-runs`` cap for each target: the short version stops a fast target after this many inputs
    (a slow one after its second); the long version runs for its time alone."""
    return _int_env("TRUSTKIT_FUZZ_RUNS") or (None if LONG else 5000)


HYPOTHESIS_EXAMPLES = _int_env("TRUSTKIT_HYPOTHESIS_EXAMPLES") or (2000 if LONG else 100)
KILLS_PER_WRITER = _int_env("TRUSTKIT_CRASH_KILLS") or (200 if LONG else 10)
