"""Coverage-guided fuzzing of every parser of outside bytes (atheris), for a bounded time in every test run.

One worker process instruments trustkit once and forks one child per target (one per core at a time); each child
runs libFuzzer for ``budget.fuzz_seconds_per_target`` seconds (1 s by default, longer with
``TRUSTKIT_FUZZ_SECONDS``). Each target's test reports its executions, time and new inputs, and fails with the
traceback and the input (repr and base64) when an exception other than a ``TrustkitError`` escaped, an input hung
(``-timeout``) or memory grew without bound (``-rss_limit_mb``).

Without atheris the same targets run under a plain mutation fuzzer (``TRUSTKIT_FUZZ_ENGINE=random`` forces it,
``=atheris`` requires atheris). ``TRUSTKIT_FUZZ_CORPUS=DIR`` keeps each target's corpus between campaigns.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.robustness import budget
from tests.robustness.figures import record
from tests.robustness.targets import ENTRIES

ROOT = Path(__file__).resolve().parents[2]
NAMES = tuple(ENTRIES)
SECONDS = budget.fuzz_seconds_per_target(len(NAMES))
ENGINE = os.environ.get("TRUSTKIT_FUZZ_ENGINE", "auto")
CAMPAIGN_TIMEOUT = SECONDS * math.ceil(len(NAMES) / budget.WORKERS) * 3 + 180


@dataclass
class FuzzResult:
    """What one target's fuzzing did, read from its libFuzzer-style log."""

    name: str
    engine: str
    executions: int
    seconds: float
    new_units: int
    exit_code: int
    failure: str | None

    @classmethod
    def read(cls, name: str, folder: Path) -> FuzzResult:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        result = json.loads((folder / "result.json").read_text()) if (folder / "result.json").exists() else {}
        exit_code = int(result.get("exit", -1))
        engine = _last(r"trustkit-fuzz engine: (.+)", log) or "unknown"
        executions = int(_last(r"stat::number_of_executed_units:\s*(\d+)", log) or 0)
        new_units = int(_last(r"stat::new_units_added:\s*(\d+)", log) or 0)
        failure = None
        if exit_code != 0 or "Uncaught Python exception" in log or "ERROR: libFuzzer" in log:
            failure = _describe_failure(name, log, exit_code)
        return cls(name, engine, executions, float(result.get("seconds", 0.0)), new_units, exit_code, failure)


def _last(pattern: str, text: str) -> str | None:
    found = re.findall(pattern, text)
    return found[-1].strip() if found else None


def _describe_failure(name: str, log: str, exit_code: int) -> str:
    lines = [f"fuzz target {name!r} failed (exit {exit_code})"]
    start = log.find("=== Uncaught Python exception: ===")
    if start >= 0:
        end = log.find("Test unit written to", start)
        lines.append(log[start : end if end > 0 else start + 6000][:6000].rstrip())
    else:
        error = log.find("ERROR: libFuzzer")
        lines.append(log[error : error + 2000] if error >= 0 else log[-3000:])
    artifact = _last(r"Test unit written to (\S+)", log)
    if artifact and Path(artifact).exists():
        data = Path(artifact).read_bytes()
        lines.append(f"input ({len(data)} bytes, saved at {artifact}): {data[:600]!r}")
        lines.append(f"input as base64: {base64.b64encode(data).decode()[:4000]}")
    return "\n".join(lines)


def _selected(session: pytest.Session) -> list[str]:
    names = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == "test_fuzz_target" and callspec is not None:
            names.append(str(callspec.params["name"]))
    return [name for name in NAMES if name in names] or list(NAMES)


@pytest.fixture(scope="module")
def campaign(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run the selected targets once (in parallel); yields the folder holding one subfolder per target."""
    out = tmp_path_factory.mktemp("fuzz")
    command = [
        sys.executable,
        "-m",
        "tests.robustness.fuzz_worker",
        "--seconds",
        str(SECONDS),
        "--out",
        str(out),
        "--engine",
        ENGINE,
        "--jobs",
        str(budget.WORKERS),
        *_selected(request.session),
    ]
    runs = budget.fuzz_runs_per_target()
    if runs:
        command += ["--runs", str(runs)]
    corpus_root = os.environ.get("TRUSTKIT_FUZZ_CORPUS")
    if corpus_root:
        command += ["--corpus-root", corpus_root]
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CAMPAIGN_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    (out / "worker.log").write_text(completed.stdout + completed.stderr)
    record("fuzz-campaign", "wall", seconds=round(time.monotonic() - started, 1), workers=budget.WORKERS)
    yield out


@pytest.mark.timeout(CAMPAIGN_TIMEOUT + 60)
@pytest.mark.parametrize("name", NAMES)
def test_fuzz_target(name: str, campaign: Path, record_property: pytest.RecordProperty) -> None:
    """Fuzz one parser: nothing but a TrustkitError escapes, nothing hangs, memory stays bounded."""
    folder = campaign / name
    if not (folder / "result.json").exists():
        worker_log = (campaign / "worker.log").read_text(errors="replace")
        pytest.fail(f"the fuzz worker did not run {name!r}:\n{worker_log[-4000:]}")
    result = FuzzResult.read(name, folder)
    escaped = 0 if result.failure is None else 1
    record(
        "fuzz",
        name,
        engine=result.engine,
        executions=result.executions,
        seconds=result.seconds,
        new_units=result.new_units,
        escaped=escaped,
    )
    record_property("fuzz_engine", result.engine)
    record_property("fuzz_executions", result.executions)
    record_property("fuzz_seconds", result.seconds)
    print(
        f"fuzz {name}: {result.executions} executions in {result.seconds:.1f} s ({result.engine}), "
        f"{result.new_units} new inputs, {escaped} escaped"
    )
    if result.failure is not None:
        pytest.fail(result.failure, pytrace=False)
    assert result.executions > 0, f"fuzz target {name!r} ran no input"
