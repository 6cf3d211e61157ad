"""Smoke tests for ``benchmarks/bench_targets.py`` and ``benchmarks/bench_go.py``: tiny runs, so the scripts
cannot rot unnoticed.

They check the shape of the JSON reports and that every timing is positive; they assert nothing about speed.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
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


GO_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_go.py"


def test_bench_go_tiny_run_prints_every_row_and_writes_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bench_go.py`` with 50 tags and one run: a real notary-server, notary and docker (skipped without them,
    failed with ``TRUSTKIT_REQUIRE_INTEROP=1``); the shape of the report only, no timing assertions."""
    from tests.interop.harness import require_binary

    require_binary("notary-server", "notary")
    require_binary("notary", "notary")
    docker = shutil.which("docker") is not None
    spec = importlib.util.spec_from_file_location("bench_go", GO_SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_go", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    out = tmp_path / "go.json"

    assert bench.main(["--sizes", "50", "--repeat", "1", "--json", str(out), "--workdir", str(tmp_path / "w")]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"date", "python", "platform", "cpu_count", "cpu_model", "trustkit", "notary", "results", "import"} <= set(
        report
    )
    [result] = report["results"]
    assert result["size"] == 50
    assert result["files"]["targets/releases.json"] > 0
    tools = {"trustkit", "notary"} | ({"docker"} if docker else set())
    for kind in ("cold", "warm"):
        assert set(result["inspect"][kind]) == tools
        for summary in result["inspect"][kind].values():
            assert summary["median_s"] > 0 and summary["rss_mib"] > 0 and len(summary["runs_s"]) == 1
    assert {"trustkit", "json.loads"} <= set(result["load"]["ops"])
    assert set(result["publish"]) == {"trustkit", "notary"}
    assert result["ratios"]["cold_vs_notary"] > 0 and result["ratios"]["publish_vs_notary"] > 0
    assert report["import"]["median_ms"] > 0

    table = capsys.readouterr().out
    for row in ("cold inspect", "warm inspect", "peak RSS", "load+verify", "publish one tag", "import trustkit"):
        assert row in table


ARCHIVE_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_archive.py"


def test_bench_archive_tiny_run_writes_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bench_archive.py`` with 50 tags and one run on a real notary-server: the report's shape, no timing."""
    from tests.interop.harness import require_binary

    require_binary("notary-server", "notary")
    spec = importlib.util.spec_from_file_location("bench_archive", ARCHIVE_SCRIPT)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_archive", bench)
    spec.loader.exec_module(bench)
    out = tmp_path / "archive.json"

    assert bench.main(["--sizes", "50", "--repeat", "1", "--json", str(out), "--workdir", str(tmp_path / "w")]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    [result] = report["results"]
    assert result["size"] == 50
    assert set(result["median_s"]) == set(bench.MEASURES)
    assert all(len(runs) == 1 and runs[0] > 0 for runs in result["runs_s"].values())
    assert {"archive_vs_cold_read", "offline_verify_vs_cold_read"} <= set(result["ratios"])
    assert "offline verify" in capsys.readouterr().out


def test_bench_policy_tiny_run_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``bench_policy.py`` on 30 tags with a real notary-server (skipped without it, failed with
    ``TRUSTKIT_REQUIRE_INTEROP=1``): the shape of the report only, no timing assertions."""
    from tests.interop.harness import require_binary

    require_binary("notary-server", "notary")
    require_binary("notary", "notary")
    require_binary("docker", "docker.io")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_policy.py"
    spec = importlib.util.spec_from_file_location("bench_policy", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "policy.json"

    assert bench.main(["--size", "30", "--verdicts", "5", "--cached", "100", "--json", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["size"] == 30 and report["verdict_ms"]["count"] == 5
    assert 0 < report["verdict_ms"]["p50"] <= report["verdict_ms"]["p99"] <= report["verdict_ms"]["max"]
    assert report["cached_per_second"] > 0 and report["full_read_ms"]["p50"] > 0
    assert "cached verdicts/s" in capsys.readouterr().out


def test_bench_async_tiny_run_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``bench_async.py`` on 3 repositories of 5 tags with a real notary-server (skipped without it, failed with
    ``TRUSTKIT_REQUIRE_INTEROP=1``): both listings agree and the report has its shape; no timing assertions."""
    from tests.interop.harness import require_binary

    require_binary("notary-server", "notary")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_async.py"
    spec = importlib.util.spec_from_file_location("bench_async", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "async.json"

    args = ["--repos", "3", "--tags", "5", "--repeat", "1", "--json", str(out), "--workdir", str(tmp_path / "w")]
    assert bench.main([*args, "--latency", "1"]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["repos"], report["tags"], report["latency_ms"]) == (3, 5, 1)
    assert set(report["median_s"]) == {"blocking", "async"}
    assert all(len(runs) == 1 and runs[0] > 0 for runs in report["runs_s"].values())
    assert report["speedup"] > 0
    assert "speed-up" in capsys.readouterr().out


def test_bench_fleet_tiny_run_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``bench_fleet.py`` on 3 repositories of 2 tags with a real notary-server (skipped without it, failed with
    ``TRUSTKIT_REQUIRE_INTEROP=1``): the shape of the report only, no timing assertions."""
    from tests.interop.harness import require_binary

    require_binary("notary-server", "notary")
    require_binary("notary", "notary")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_fleet.py"
    spec = importlib.util.spec_from_file_location("bench_fleet", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "fleet.json"

    argv = ["--repos", "3", "--tags", "2", "--workers", "2", "--poll", "0.1", "--events", "2", "--json", str(out)]
    assert bench.main(argv) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["repositories"] == 3 and report["tags_per_repository"] == 2
    assert report["notary_list_total_s"] > 0 and report["inventory_process_s"] > 0
    assert report["ratio_inventory_to_notary_list"] > 0
    assert len(report["follower"]["latency_ms"]) == 2 and report["follower"]["target_ms"] == 200
    assert "follower latency" in capsys.readouterr().out
