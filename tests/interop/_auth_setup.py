"""Set-up shared by the token-auth interop tests (``test_dct_auth.py``, ``test_remote_auth.py``): a real
notary-server behind registry token auth, and a ``DOCKER_CONFIG`` folder that trusts it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.interop.harness import NotaryServer, make_tls_material, require_binary
from tests.interop.token_issuer import ConfiguredNotaryServer, TokenIssuer

__all__ = ["TokenAuthServer", "docker_config_env", "token_auth_notary_server"]


@dataclass
class TokenAuthServer:
    """A notary-server behind registry token auth, and the issuer whose tokens it takes."""

    server: NotaryServer
    issuer: TokenIssuer


@contextmanager
def token_auth_notary_server(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, refresh_tokens: Mapping[str, str] | None = None
) -> Iterator[TokenAuthServer]:
    """A notary-server with ``auth.type: token`` and the :class:`TokenIssuer` it trusts, on one test CA in a fresh
    temporary folder ``name``; the issuer also takes ``refresh_tokens``. Skips (or fails) without notary-server."""
    require_binary("notary-server", "notary")
    workdir = tmp_path_factory.mktemp(name)
    tls = make_tls_material(workdir / "tls")
    with TokenIssuer(workdir / "issuer", tls=tls, refresh_tokens=refresh_tokens) as issuer:
        auth = {
            "type": "token",
            "options": {
                "realm": issuer.realm,
                "service": "notary-test",
                "issuer": "test-issuer",
                "rootcertbundle": str(issuer.cert_path),
            },
        }
        with ConfiguredNotaryServer(workdir / "server", tls=tls, extra_config={"auth": auth}) as server:
            yield TokenAuthServer(server, issuer)


def docker_config_env(home: Path, server: NotaryServer, config: Mapping[str, Any]) -> dict[str, str]:
    """A ``DOCKER_CONFIG`` folder in ``home`` with ``config`` as ``config.json`` and the server's CA in
    ``tls/<host:port>/``, as docker keeps them; returns the environment naming it, the server and ``HOME``."""
    folder = home / "docker-config"
    (folder / "tls" / server.host_port).mkdir(parents=True)
    shutil.copyfile(server.ca_path, folder / "tls" / server.host_port / "ca.crt")
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder), "DOCKER_CONTENT_TRUST_SERVER": server.url, "HOME": str(home)}
