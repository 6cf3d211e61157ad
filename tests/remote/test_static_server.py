"""A LocalRemote folder behind a static web server serves NotaryServer's read routes, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import trustkit as tk
from tests.remote.static_server import serve_folder
from tests.support.repo_sim import RepoSim
from trustkit.remote import MAX_ROOT_SIZE, LocalRemote, NotaryServer

GUN = "localhost:5000/static/app"


def test_static_server_serves_reads(tmp_path: Path) -> None:
    local = LocalRemote(tmp_path)
    repo = RepoSim.for_remote(local, GUN)
    local.publish(GUN, repo.initial_files())
    local.publish(GUN, repo.add_release("v1", b"one"))

    with serve_folder(tmp_path) as url, NotaryServer(url, retries=0) as reader:
        reader.ping()
        for role in ("root", "targets", "targets/releases", "snapshot", "timestamp"):
            data = local.get_role(GUN, role, max_size=MAX_ROOT_SIZE)
            assert reader.get_role(GUN, role, max_size=MAX_ROOT_SIZE) == data
            digest = hashlib.sha256(data).hexdigest()
            assert reader.get_role(GUN, role, max_size=MAX_ROOT_SIZE, checksum=digest) == data
        assert reader.get_role(GUN, "targets/releases", max_size=MAX_ROOT_SIZE, version=1) == local.get_role(
            GUN, "targets/releases", max_size=MAX_ROOT_SIZE, version=1
        )
        with pytest.raises(tk.NotFoundError):
            reader.get_role("localhost:5000/static/none", "root", max_size=MAX_ROOT_SIZE)
        with pytest.raises(tk.NotFoundError):  # the keys are not served
            reader.get_role(".trustkit/keys", "root", max_size=MAX_ROOT_SIZE)
        with pytest.raises(tk.RemoteError):  # a static server cannot take writes
            reader.publish(GUN, repo.add_release("v2", b"two"))
