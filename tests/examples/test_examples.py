"""Every example runs, end to end, as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_and_verifies() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, check=True, timeout=120
    )
    assert "targets/releases verified: 1/1 signatures" in result.stdout
    assert "tampered file rejected: valid signatures did not meet threshold for targets/releases" in result.stdout
    assert "signed tag v1.0: sha256:" + "5f" * 32 in result.stdout
    assert "published to server/ and read back: v1.0 signed by targets/releases" in result.stdout


def run_example(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


def test_staged_changes_example() -> None:
    out = run_example("staged_changes.py")
    assert "add target 'oops' in targets" in out
    assert "after reset: 3 changes" in out and "published; still staged: 0" in out
    assert "v1.0 sha256:" + "ab" * 32 + " signed by targets/releases" in out
    assert "oops" not in out.split("published;")[1]


def test_admission_controller_example() -> None:
    out = run_example("admission_controller.py").splitlines()
    assert out[0].startswith('ALLOW Pod: [{"op": "replace", "path": "/spec/containers/0/image", "value": ')
    assert out[0].endswith("/shop/web@sha256:" + "5e" * 32 + '"}]')
    assert out[1].startswith("DENY  Deployment: registry.example.com/shop/web:v3: denied: v3 is signed only in")
    assert out[2] == "DENY  CronJob: busybox:1.36: denied: no policy rule matches docker.io/library/busybox"


def test_archive_repository_example() -> None:
    out = run_example("archive_repository.py")
    assert "verified at capture: True" in out and "deleted on the server" in out
    assert "signed at capture: v1.0 sha256:" + "10" * 32 + " by targets/releases" in out
    assert "signed at capture: v1.1 sha256:" + "11" * 32 + " by targets/releases" in out
    assert "judged a year later: refused (ExpiredMetadataError)" in out
    assert "a wrong pin: refused" in out and "signed by " in out


def test_registry_plugin_example() -> None:
    out = run_example("registry_plugin.py").splitlines()
    assert out[0] == "discovered: registry.example.com/shop/api, registry.example.com/shop/web"
    assert out[1:5] == [
        "event: created api +latest",
        "event: created web +latest +v1",
        "event: changed web +v2 -v1 ~latest",
        "event: deleted api",
    ]
    rows = [json.loads(line) for line in out[5:]]
    assert [row["gun"] for row in rows] == ["registry.example.com/ops/proxy", "registry.example.com/shop/web"]
    assert rows[1]["tags"] == [["latest", "sha256:" + "dd" * 32], ["v2", "sha256:" + "dd" * 32]]
    assert rows[1]["verdicts"][0][:2] == ["registry.example.com/shop/web:latest", True] and rows[1]["healthy"]
