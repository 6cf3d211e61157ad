"""examples/delegations.py walks the seed's steps 1 to 8: on the embedded LocalRemote, and against the real
notary-server with docker's configuration (DOCKER_CONTENT_TRUST_SERVER, the CA in $DOCKER_CONFIG/tls/<host:port>/);
then the real docker CLI reads what it left."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.harness import NotaryServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "delegations.py"
STEPS = [f"=== {n}. " for n in range(1, 9)]
ERRORS = ["RepositoryNotFoundError", "UnauthorizedError", "ThresholdError", "PassphraseError", "SigningError"]


def run_example(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def check_walkthrough(out: str) -> None:
    positions = [out.index(step) for step in STEPS]
    assert positions == sorted(positions), "the steps must come in the seed's order"
    assert "repository initialised: True" in out
    assert re.search(r"^v1 sha256:[0-9a-f]{64} signed into targets/jeff, targets/releases$", out, re.MULTILINE)
    assert "revoked ('v2',)" in out and "ben signed v3 into targets/releases, targets/ben" in out
    assert "valid signatures did not meet threshold for targets/releases" in out
    assert "to re-sign by an active signer (DockerTrust.sign): v1, v3" in out
    for error in ERRORS:
        assert f"\n{error}: " in out, error
    assert "docker login localhost:5000" in out and "no usable keys in targets/releases" in out
    assert out.rstrip().endswith("done")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "NOTARY_"))}


def test_example_on_the_embedded_remote(tmp_path: Path) -> None:
    check_walkthrough(run_example({**_clean_env(), "HOME": str(tmp_path)}))


@pytest.mark.interop
def test_example_against_notary_server(notary_server: NotaryServer, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    (config / "tls" / notary_server.host_port).mkdir(parents=True)
    shutil.copyfile(notary_server.ca_path, config / "tls" / notary_server.host_port / "ca.crt")
    env = {
        **_clean_env(),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(config),
        "DOCKER_CONTENT_TRUST_SERVER": notary_server.url,
    }
    out = run_example(env)
    check_walkthrough(out)
    assert f"notary server {notary_server.url}, trust dir {config / 'trust'}" in out
    assert (config / "trust" / "private").is_dir()  # keys went where docker keeps them
