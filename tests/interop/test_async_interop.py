"""The asyncio API against the real notary-server 0.7: AsyncReader over AsyncNotaryServer reads what `notary list`
lists (delegations fetched concurrently), and the token flow runs against a real token-auth notary-server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import trustkit as tk
from tests.interop._auth_setup import TokenAuthServer, token_auth_notary_server
from tests.interop._publish import read_table
from tests.interop.harness import NotaryCLI, NotaryServer
from tests.remote._repo import Repo
from trustkit.remote import MAX_ROOT_SIZE, AsyncNotaryServer, Credentials
from trustkit.remote import NotaryServer as Remote

pytestmark = pytest.mark.interop


def _delegate(cli: NotaryCLI, gun: str, role: str, tmp_path: Path) -> None:
    key = tk.generate_private_key()
    cert = tmp_path / f"{role.replace('/', '_')}.crt"
    cert.write_bytes(tk.make_root_certificate(key, "delegate").public_bytes(serialization.Encoding.PEM))
    pem = tmp_path / f"{role.replace('/', '_')}.key"
    pem.write_bytes(key.to_pem())
    cli.run("delegation", "add", gun, role, str(cert), "--all-paths", "-p")
    cli.run("key", "import", str(pem), "-r", role)


def _notary_list(cli: NotaryCLI, gun: str, *roles: str) -> dict[str, tuple[str, str, str]]:
    args = [arg for role in roles for arg in ("--roles", role)]
    rows = read_table(cli.run("list", gun, *args).stdout, ["NAME", "DIGEST", "SIZE (BYTES)", "ROLE"])
    return {name: (digest, size, role) for name, digest, size, role in rows}


def _rows(matches: list[tk.TargetMatch]) -> dict[str, tuple[str, str, str]]:
    return {m.name: (m.target.sha256_hex or "", str(m.target.length), m.role) for m in matches}


def test_async_reader_lists_what_notary_lists(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    roles = [f"targets/team{index}" for index in range(5)]
    notary_cli.run("init", gun, "-p")
    for index, role in enumerate(roles):
        _delegate(notary_cli, gun, role, tmp_path)
        notary_cli.run("addhash", gun, f"t{index}", str(index + 1), "--sha256", f"{index:02d}" * 32, "--roles", role)
    notary_cli.run("addhash", gun, "top", "10", "--sha256", "aa" * 32, "-p")

    async def read() -> tuple[list[tk.TargetMatch], list[tk.TargetMatch], tk.TargetMatch]:
        async with AsyncNotaryServer(notary_server.url, ca=notary_server.ca_path) as server:
            cold = tk.AsyncReader(gun, server, cache=tk.MetadataCache(tmp_path / "tk", gun), concurrency=3)
            first = await cold.list_targets(roles=["targets", *roles])
            warm = tk.AsyncReader(gun, server, cache=tk.MetadataCache(tmp_path / "tk", gun))
            return first, await warm.list_targets(), await warm.get_target("t3", roles=roles)

    cold, warm, t3 = asyncio.run(read())
    assert _rows(cold) == _notary_list(notary_cli, gun, "targets", *roles)
    assert _rows(warm) == _notary_list(notary_cli, gun)
    assert t3.role == "targets/team3"
    blocking = tk.Reader(gun, Remote(notary_server.url, ca=notary_server.ca_path))
    assert _rows(blocking.list_targets(roles=["targets", *roles])) == _rows(cold)


def test_async_reader_of_a_missing_repository(notary_server: NotaryServer, gun: str) -> None:
    async def read() -> None:
        async with AsyncNotaryServer(notary_server.url, ca=notary_server.ca_path) as server:
            await tk.AsyncReader(gun, server).refresh()

    with pytest.raises(tk.RepositoryNotFoundError, match="trust data missing"):
        asyncio.run(read())


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenAuthServer]:
    with token_auth_notary_server(tmp_path_factory, "async-token-auth") as server:
        yield server


def test_the_token_flow_against_a_real_token_server(token_server: TokenAuthServer) -> None:
    gun = f"localhost:5000/auth/a-{uuid.uuid4().hex[:8]}"
    url, ca = token_server.server.url, token_server.server.ca_path
    with Remote(url, ca=ca, auth=Credentials("alice", "secret")) as alice:
        files = Repo(alice, gun).initial_files()
        alice.publish(gun, files)

    async def read() -> tuple[bytes, list[tk.ChangeRecord], list[tk.ChangeRecord]]:
        async with AsyncNotaryServer(url, ca=ca, auth=Credentials("alice", "secret")) as server:
            root = await server.get_role(gun, "root", max_size=MAX_ROOT_SIZE)
            return root, await server.changefeed(gun), await server.changefeed()

    root, own, every = asyncio.run(read())
    assert root == files["root"]
    assert [r.version for r in own] == [1]
    assert any(r.gun == gun for r in every)

    async def anonymous_catalog() -> None:
        async with AsyncNotaryServer(url, ca=ca) as server:
            assert await server.get_role(gun, "root", max_size=MAX_ROOT_SIZE) == files["root"]  # anonymous pull
            await server.changefeed()

    with pytest.raises(tk.UnauthorizedError):
        asyncio.run(anonymous_catalog())

    async def wrong_password() -> None:
        async with AsyncNotaryServer(url, ca=ca, auth=Credentials("alice", "wrong")) as server:
            await server.get_role(gun, "root", max_size=MAX_ROOT_SIZE)

    with pytest.raises(tk.UnauthorizedError, match="refused the credentials of alice"):
        asyncio.run(wrong_password())
