"""A LocalRemote folder behind a static HTTPS server serves the real ``notary`` and ``docker trust`` clients.

trustkit publishes to the folder (LocalRemote validates and signs timestamp and snapshot as notary-server does);
a plain static web server maps ``/v2/`` to it; the real clients then read and verify everything over it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.harness import LOOPBACK, make_tls_material, require_binary
from tests.remote.static_server import serve_folder
from tests.support.repo_sim import RepoSim
from trustkit.remote import LocalRemote

pytestmark = pytest.mark.interop

GUN = "localhost:5000/static/app"
DIGEST = "5f" * 32


def _published(folder: Path) -> LocalRemote:
    local = LocalRemote(folder / "remote")
    repo = RepoSim.for_remote(local, GUN)
    local.publish(GUN, repo.initial_files())
    local.publish(GUN, repo.add_release("v1", tk.TargetFile.from_digest(DIGEST, 528)))
    return local


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), **extra}


def test_notary_and_docker_read_a_static_local_remote(tmp_path: Path) -> None:
    notary = require_binary("notary", "notary")
    docker = require_binary("docker", "docker.io")
    tls = make_tls_material(tmp_path / "tls")
    local = _published(tmp_path)
    with serve_folder(local.path, certfile=tls.server_cert, keyfile=tls.server_key) as url:
        listed = subprocess.run(
            [notary, "-s", url, "--tlscacert", str(tls.ca_cert), "-d", str(tmp_path / "trust"), "list", GUN],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=60,
            check=True,
        )
        rows = [line.split() for line in listed.stdout.splitlines() if line.startswith("v1 ")]
        assert rows == [["v1", DIGEST, "528", "targets/releases"]]

        host_port = url.removeprefix("https://")
        assert host_port.startswith(LOOPBACK)
        config = tmp_path / "docker"
        (config / "tls" / host_port).mkdir(parents=True)
        shutil.copyfile(tls.ca_cert, config / "tls" / host_port / "ca.crt")
        inspected = subprocess.run(
            [docker, "trust", "inspect", GUN],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=_env(tmp_path, DOCKER_CONFIG=str(config), DOCKER_CONTENT_TRUST_SERVER=url),
        )
        (entry,) = json.loads(inspected.stdout)
        assert [(tag["SignedTag"], tag["Digest"]) for tag in entry["SignedTags"]] == [("v1", DIGEST)]
