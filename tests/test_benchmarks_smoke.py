"""Smoke test for ``benchmarks/bench_targets.py``: a tiny run, so the script cannot rot unnoticed.

It checks the shape of the JSON report and that every timing is positive; it asserts nothing about speed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_targets.py"
OPERATIONS = {"json_loads", "from_bytes", "verify", "load_verify", "to_bytes"}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_targets", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_targets_small_run_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_script()
    out = tmp_path / "bench.json"

    assert bench.main(["--sizes", "200", "--repeat", "1", "--json", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"date", "python", "platform", "cpu_count", "trustkit", "repeat", "sizes", "results"} <= report.keys()
    assert report["repeat"] == 1
    assert report["sizes"] == [200]
    [result] = report["results"]
    assert result.keys() == {"size", "bytes", "mb", "timings_ms", "ratio_load_verify_to_json_loads"}
    assert result["size"] == 200
    assert result["bytes"] > 0
    assert result["mb"] > 0
    assert result["timings_ms"].keys() == OPERATIONS
    for operation, timing in result["timings_ms"].items():
        assert timing.keys() == {"median", "min", "runs"}, operation
        assert len(timing["runs"]) == 1, operation
        assert timing["median"] > 0, operation
        assert timing["min"] > 0, operation
    assert result["ratio_load_verify_to_json_loads"] > 0
    assert tuple(result["timings_ms"]) == bench.OPERATIONS  # the table and the JSON name the same operations

    table = capsys.readouterr().out
    assert "load+verify / json.loads" in table
    assert "200" in table
