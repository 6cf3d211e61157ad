"""examples/connect_server.py runs as a user runs it: on a LocalRemote folder, and on a real notary-server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.harness import NotaryServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connect_server.py"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "NOTARY_", "TRUSTKIT_LOCAL"))}
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )


def _check(output: str) -> None:
    assert "publishing version 2 again is refused: VERSION" in output
    assert "verified timestamp v2, snapshot v2, targets v2" in output
    assert "signed tag v1: sha256:" + "5f" * 32 in output
    assert "changefeed" in output and "update to timestamp version 2" in output


def test_connect_example_on_a_local_folder(tmp_path: Path) -> None:
    result = _run({"TRUSTKIT_LOCAL_REMOTE": str(tmp_path)}, "localhost:5000/example/app:v1")
    assert result.returncode == 0, result.stderr
    assert f"repository localhost:5000/example/app on local folder {tmp_path}" in result.stdout
    _check(result.stdout)
    assert (tmp_path / "localhost:5000" / "example" / "app" / "_trust" / "tuf" / "timestamp.json").is_file()


def test_connect_example_reports_bad_input(tmp_path: Path) -> None:
    result = _run({"TRUSTKIT_LOCAL_REMOTE": str(tmp_path)}, "BusyBox")
    assert result.returncode == 1
    assert (
        "error: ConfigurationError: invalid reference format: repository name (library/BusyBox) must be lowercase"
        in result.stderr
    )


@pytest.mark.interop
def test_connect_example_on_notary_server(notary_server: NotaryServer, tmp_path: Path) -> None:
    config = tmp_path / "docker"
    (config / "tls" / notary_server.host_port).mkdir(parents=True)
    shutil.copyfile(notary_server.ca_path, config / "tls" / notary_server.host_port / "ca.crt")
    env = {"DOCKER_CONFIG": str(config), "DOCKER_CONTENT_TRUST_SERVER": notary_server.url, "HOME": str(tmp_path)}
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert f"on notary server {notary_server.url}" in result.stdout
    _check(result.stdout)
