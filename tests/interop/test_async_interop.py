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
from tests.interop.harness import DockerTrustCLI, NotaryCLI, NotaryServer
from tests.remote.connect_proxy import ConnectProxy
from tests.support.repo_sim import RepoSim
from trustkit.dct import DockerTrust
from trustkit.policy import AsyncVerifier, Policy, Rule, SignerRequirement, TrustAnchor, Verifier
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
        files = RepoSim.for_remote(alice, gun).initial_files()
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


def test_async_inspect_and_verdicts_equal_dockers_and_the_blocking_ones(
    docker_cli: DockerTrustCLI, gun: str, tmp_path: Path
) -> None:
    """docker signs; DockerTrust.inspect_async prints what `docker trust inspect` prints (a missing repository
    reported as docker reports it), and AsyncVerifier's verdicts are Verifier's."""
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(docker_cli.home))
    docker_cli.run("trust", "signer", "add", "--key", str(docker_cli.home / "alice.pub"), "alice", gun)
    notary = docker_cli.notary()
    for tag, roles in (("v1", ["targets/releases", "targets/alice"]), ("v2", ["targets/releases"])):
        role_args = [arg for role in roles for arg in ("--roles", role)]
        notary.run("addhash", gun, tag, "10", "--sha256", ("ab" if tag == "v1" else "cd") * 32, *role_args, "-p")
    missing = f"{gun}-missing"
    with DockerTrust(env=docker_cli.env) as trust:
        report = asyncio.run(trust.inspect_async(gun, missing, strict=False))
        blocking = trust.inspect(gun, missing, strict=False)
    plain = docker_cli.run("trust", "inspect", gun, missing, check=False)
    assert report.to_json() == plain.stdout == blocking.to_json()
    assert report.pretty() == docker_cli.run("trust", "inspect", "--pretty", gun, missing, check=False).stdout
    assert [failure.reference for failure in report.failures] == [missing]

    [info] = report.repositories
    anchor = TrustAnchor.pinned(root_key_ids=info.root_key_ids)
    policy = Policy((Rule(gun, anchor, signers=SignerRequirement(("alice",))),))
    images = [f"{gun}:v1", f"{gun}:v2", f"{gun}:nope", missing]

    async def verdicts() -> list[tk.policy.Verdict]:
        docker = DockerTrust(env=docker_cli.env)
        async with AsyncVerifier(policy, trust_dir=tmp_path / "async", docker=docker) as verifier:
            return list(await asyncio.gather(*(verifier.verify(image) for image in images)))

    with Verifier(policy, trust_dir=tmp_path / "blocking", docker=DockerTrust(env=docker_cli.env)) as verifier:
        expected = [verifier.verify(image) for image in images]
    got = asyncio.run(verdicts())
    assert [(v.allowed, v.reasons) for v in got] == [(v.allowed, v.reasons) for v in expected]
    assert [v.allowed for v in got] == [True, False, False, False]


def test_the_async_server_goes_through_the_proxy_it_is_given(notary_server: NotaryServer, gun: str) -> None:
    """As NotaryServer does: an explicit proxy tunnels every request (TLS verified end to end through it)."""

    async def read() -> None:
        async with AsyncNotaryServer(notary_server.url, ca=notary_server.ca_path, proxy=proxy.url) as server:
            await server.get_key(gun, "timestamp")
            with pytest.raises(tk.NotFoundError):
                await server.get_role(gun, "root", max_size=1 << 20)

    with ConnectProxy() as proxy:
        asyncio.run(read())
        assert proxy.requests == [f"CONNECT {notary_server.host_port}"]  # one tunnel, kept alive
