"""Fixtures shared by the interop test modules (their helpers are in harness.py, registry_harness.py, _publish.py and
token_issuer.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.harness import make_tls_material, require_binary
from tests.interop.registry_harness import DockerRegistry, RegistryTokenAuth, TokenRegistry
from tests.interop.token_issuer import ISSUER, SERVICE, TokenIssuer


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    require_binary("docker-registry", "docker-registry")
    workdir = tmp_path_factory.mktemp("token-registry")
    tls = make_tls_material(workdir / "tls")
    with TokenIssuer(workdir / "issuer", tls=tls) as issuer:
        auth = RegistryTokenAuth(issuer.realm, SERVICE, ISSUER, issuer.cert_path)
        with DockerRegistry(workdir / "registry", tls=tls, token_auth=auth) as server:
            yield TokenRegistry(server, issuer)
