"""Which proxy trustkit uses, as docker (Go's net/http) picks it: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, loopback
never proxied, an explicit proxy= for everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustkit.dct import DockerTrust, Registry
from trustkit.remote import NotaryServer, environment_proxy

PROXY = "http://proxy.corp:3128"


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY}, PROXY),
        ("https://notary.example.com", {"https_proxy": PROXY}, PROXY),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "https_proxy": "http://other:1"}, PROXY),
        ("https://notary.example.com", {"HTTP_PROXY": PROXY}, None),  # http's proxy is not https's
        ("http://registry.example.com:5000", {"HTTP_PROXY": PROXY}, PROXY),
        ("https://notary.example.com", {"HTTPS_PROXY": "proxy.corp:3128"}, PROXY),  # no scheme: http://
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": "notary.example.com"}, None),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": ".example.com"}, None),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "no_proxy": "example.com"}, None),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": "ample.com"}, PROXY),
        ("https://example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": ".example.com"}, PROXY),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": "*"}, None),
        ("https://notary.example.com:4443", {"HTTPS_PROXY": PROXY, "NO_PROXY": "notary.example.com:443"}, PROXY),
        ("https://notary.example.com", {"HTTPS_PROXY": PROXY, "NO_PROXY": "notary.example.com:443"}, None),
        ("https://10.1.2.3:4443", {"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"}, None),
        ("https://11.1.2.3:4443", {"HTTPS_PROXY": PROXY, "NO_PROXY": "10.0.0.0/8"}, PROXY),
        ("https://localhost:4443", {"HTTPS_PROXY": PROXY}, None),  # Go never proxies loopback
        ("https://127.0.0.1:4443", {"HTTPS_PROXY": PROXY}, None),
        ("https://[::1]:4443", {"HTTPS_PROXY": PROXY}, None),
        ("https://notary.example.com", {}, None),
    ],
)
def test_environment_proxy_follows_go(url: str, env: dict[str, str], expected: str | None) -> None:
    assert environment_proxy(url, env=env) == expected


def test_servers_honour_the_environment_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:secret@proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for cls in (NotaryServer, Registry):
        with cls("https://notary.example.com") as server:
            assert server.proxy == "http://user:***@proxy.corp:3128"
        with cls("https://notary.example.com", proxy_from_environment=False) as server:
            assert server.proxy is None
        with cls("https://localhost:4443", proxy="http://explicit:8080") as server:
            assert server.proxy == "http://explicit:8080"  # an explicit proxy applies to every host


def test_docker_trust_picks_its_servers_proxy_from_its_env(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "HTTPS_PROXY": PROXY, "NO_PROXY": "internal.corp"}
    with DockerTrust(config_dir=tmp_path / "docker", env=env) as trust:
        assert trust.remote_for("registry.example.com/app:v1").proxy == PROXY  # type: ignore[attr-defined]
        assert trust.remote_for("registry.internal.corp/app:v1").proxy is None  # type: ignore[attr-defined]
        assert trust.remote_for("localhost:5000/app:v1").proxy is None  # type: ignore[attr-defined]
    with DockerTrust(config_dir=tmp_path / "docker", env=env, proxy="http://explicit:8080") as trust:
        assert trust.remote_for("localhost:5000/app:v1").proxy == "http://explicit:8080"  # type: ignore[attr-defined]


def test_registry_from_reference_takes_the_proxy_of_its_env(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path), "HTTPS_PROXY": PROXY}
    with Registry.from_reference("registry.example.com/app:v1", env=env, certs_dir=None) as registry:
        assert registry.proxy == PROXY
    with Registry.from_reference("registry.example.com/app:v1", env={"HOME": str(tmp_path)}, certs_dir=None) as plain:
        assert plain.proxy is None
