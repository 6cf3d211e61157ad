"""trustkit through an HTTP CONNECT proxy to the real notary-server over TLS: an explicit proxy, docker's
environment variables, and TLS still verified end to end through the tunnel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import trustkit as tk
from tests.interop.harness import NotaryServer
from tests.remote.connect_proxy import ConnectProxy
from trustkit.dct import DockerTrust

pytestmark = pytest.mark.interop


def _docker_config(tmp_path: Path, server: NotaryServer, host_port: str) -> Path:
    folder = tmp_path / "docker"
    (folder / "tls" / host_port).mkdir(parents=True)
    shutil.copyfile(server.ca_path, folder / "tls" / host_port / "ca.crt")
    return folder


def test_an_explicit_proxy_tunnels_every_request(notary_server: NotaryServer, gun: str) -> None:
    with ConnectProxy() as proxy:
        with tk.NotaryServer(notary_server.url, ca=notary_server.ca_path, proxy=proxy.url) as remote:
            remote.get_key(gun, "timestamp")
            with pytest.raises(tk.NotFoundError):
                remote.get_role(gun, "root", max_size=1 << 20)
        assert proxy.requests == [f"CONNECT {notary_server.host_port}"]  # one tunnel, kept alive


def test_docker_trust_proxy_option(notary_server: NotaryServer, gun: str, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "DOCKER_CONTENT_TRUST_SERVER": notary_server.url}
    config = _docker_config(tmp_path, notary_server, notary_server.host_port)
    with ConnectProxy() as proxy:
        with (
            DockerTrust(config_dir=config, env=env, proxy=proxy.url) as trust,
            pytest.raises(tk.RepositoryNotFoundError),
        ):
            trust.inspect(f"{gun}:v1")
        assert proxy.requests and all(line == f"CONNECT {notary_server.host_port}" for line in proxy.requests)


def test_loopback_servers_are_not_proxied_as_in_docker(
    notary_server: NotaryServer, gun: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        with tk.NotaryServer(notary_server.url, ca=notary_server.ca_path) as remote:
            remote.get_key(gun, "timestamp")
        assert proxy.requests == []


def test_https_proxy_from_the_environment_and_tls_verified_through_it(
    notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    """HTTPS_PROXY reaches the proxy for a server that is not loopback; the tunnel leads to the test server, whose
    certificate does not name notary.test: trustkit still checks it, through the proxy, and refuses."""
    port = notary_server.host_port.rpartition(":")[2]
    env = {
        "HOME": str(tmp_path),
        "DOCKER_CONTENT_TRUST_SERVER": f"https://notary.test:{port}",
        "NO_PROXY": "other.test",
    }
    config = _docker_config(tmp_path, notary_server, f"notary.test:{port}")
    with ConnectProxy() as proxy:
        env["HTTPS_PROXY"] = proxy.url
        with DockerTrust(config_dir=config, env=env) as trust, pytest.raises(tk.RemoteError) as caught:
            trust.inspect(f"{gun}:v1")
        assert proxy.requests[0] == f"CONNECT notary.test:{port}"
    assert "notary.test" in str(caught.value)
    assert "certificate" in str(caught.value).lower()
