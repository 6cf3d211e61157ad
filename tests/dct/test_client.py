"""DockerTrust: docker's configuration, the key wrappers, the notary steps, errors that say what to do, and
Repository.publish_changes (the small feature the DCT layer added to the client layer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import trustkit as tk
from tests.support.dct import DIGEST, ENV, REPO
from trustkit.client import Change, Repository
from trustkit.dct import DockerTrust
from trustkit.keystore import DockerEnvPassphrase, FileKeyStore
from trustkit.remote import NotaryServer


def test_configured_as_docker(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "dc")}
    trust = DockerTrust(env=env)
    assert trust.trust_dir == tmp_path / "dc" / "trust"
    assert isinstance(trust.keystore, FileKeyStore) and trust.keystore.trust_dir == trust.trust_dir
    assert trust.server_config("localhost:5000/a/b:v1").url == "https://localhost:5000"
    assert trust.server_config("busybox").url == "https://notary.docker.io"
    served = DockerTrust(env={**env, "DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:4443"})
    server = served.remote_for("localhost:5000/a/b")
    assert isinstance(server, NotaryServer) and server.url == "https://127.0.0.1:4443"
    assert served.remote_for("localhost:5000/c/d") is server  # one connection pool per server
    assert served.repository("localhost:5000/a/b:v1").gun == "localhost:5000/a/b"
    assert served.repository("busybox").gun == "docker.io/library/busybox"
    served.close()
    with pytest.raises(tk.ConfigurationError, match="https"):
        DockerTrust(env={**env, "DOCKER_CONTENT_TRUST_SERVER": "http://insecure:4443"}).remote_for("x/y")
    home = DockerTrust(env={"HOME": str(tmp_path / "home")})
    assert home.trust_dir == tmp_path / "home" / ".docker" / "trust"
    assert "DockerTrust(" in repr(home)
    with DockerTrust(config_dir=tmp_path / "explicit", env=env) as explicit:
        assert explicit.trust_dir == tmp_path / "explicit" / "trust"


def test_keys(admin: DockerTrust, tmp_path: Path) -> None:
    public = admin.generate_key("jeff", directory=tmp_path)
    assert (tmp_path / "jeff.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----\nrole: jeff\n")
    key_file = tmp_path / "delegation.key"
    key_file.write_bytes(tk.generate_private_key().to_pem())
    os.chmod(key_file, 0o600)
    [loaded] = admin.load_key(key_file, name="ben")
    listed = {(k.role, k.gun, k.key_id, k.location) for k in admin.list_keys()}
    location = str(admin.trust_dir / "private")
    assert listed == {("jeff", None, public.key_id, location), ("ben", None, loaded.key_id, location)}
    assert admin.list_keys(role="ben") == [loaded]
    assert admin.remove_key(loaded.key_id).key_id == loaded.key_id
    assert [k.role for k in admin.list_keys()] == ["jeff"]
    os.chmod(key_file, 0o644)
    with pytest.raises(tk.FileAccessError, match="chmod 600"):
        admin.load_key(key_file, name="x")
    # keys are encrypted with docker's repository passphrase
    other = FileKeyStore(admin.trust_dir, passphrase=DockerEnvPassphrase(environ=ENV))
    assert other.get_private_key(public.key_id).role == "jeff"


def test_remove_delegation_keys_like_notary_but_safer(admin: DockerTrust) -> None:
    first, second = admin.generate_key("jeff"), tk.generate_private_key()
    cert = tk.make_root_key(second, "jeff")  # an x509 key: TUF ID and canonical ID differ
    admin.add_signer("jeff", REPO, keys=[first, cert])
    removal = admin.remove_delegation_keys(REPO, [cert.key_id], roles=["targets/releases", "targets/jeff"])
    assert removal.roles == (
        ("targets/releases", (cert.canonical_id,)),
        ("targets/jeff", (cert.canonical_id,)),
    )
    assert admin.inspect(REPO)[0].signer("jeff").key_ids == (first.key_id,)
    with pytest.raises(tk.UnknownKeyError, match="has no key"):
        admin.remove_delegation_keys(REPO, [cert.canonical_id])
    with pytest.raises(tk.UnknownRoleError):
        admin.remove_delegation_keys(REPO, [first.key_id], roles=["targets/nobody"])
    with pytest.raises(ValueError):
        admin.remove_delegation_keys(REPO, [])
    emptied = admin.remove_delegation_keys(REPO, [first.key_id], roles=["targets/jeff"])
    assert emptied.warnings == (
        "role targets/jeff has fewer keys than its threshold of 1; it will not be usable until keys are added to it",
    )


def test_witness_and_delete(admin: DockerTrust, remote: tk.MemoryRemote) -> None:
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    admin.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    before = admin.repository(REPO).reader().refresh()["targets/releases"].signed.version
    admin.witness(REPO, "targets/releases")
    after = admin.repository(REPO).reader().refresh()["targets/releases"].signed.version
    assert after == before + 1
    with pytest.raises(ValueError):
        admin.witness(REPO)
    admin.delete(REPO, remote=False)
    assert admin.repository(REPO).cache.roles() == []
    assert admin.inspect(REPO)[0].signed_tags  # still on the remote
    admin.delete(REPO)
    with pytest.raises(tk.RepositoryNotFoundError):
        admin.inspect(REPO)
    assert admin.list_keys(role="jeff")  # private keys are kept, as notary keeps them


def test_wrong_passphrase_says_which_variable(make_trust: Callable[..., DockerTrust]) -> None:
    admin = make_trust("admin")
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    wrong = make_trust("admin", env={"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "wrong"})
    with pytest.raises(tk.PassphraseError, match="DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE") as raised:
        wrong.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    assert "wrong passphrase" in str(raised.value) and "wrong" not in str(raised.value).split("passphrase")[-1][:20]
    root_wrong = make_trust("admin", env={"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": "wrong"})
    with pytest.raises(tk.PassphraseError, match="DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"):
        root_wrong.add_signer("jeff", f"{REPO}-two", keys=[admin.generate_key("jeff2")])


def test_unauthorized_says_log_in(make_trust: Callable[..., DockerTrust]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="notary"'}, request=request)

    locked = NotaryServer("https://notary.example.com", transport=httpx.MockTransport(refuse))
    trust = make_trust("admin", remote=locked)
    with pytest.raises(tk.UnauthorizedError) as raised:
        trust.add_signer("jeff", REPO, keys=[trust.generate_key("jeff")])
    assert raised.value.status == 401 and "docker login localhost:5000" in str(raised.value)
    with pytest.raises(tk.UnauthorizedError, match="no signatures or cannot access"):
        trust.inspect(REPO)


def test_publish_changes_leaves_the_changelist_alone(admin: DockerTrust) -> None:
    admin.add_signer("jeff", REPO, keys=[admin.generate_key("jeff")])
    repository: Repository = admin.repository(REPO)
    repository.add_target("staged", tk.TargetFile.from_digest(DIGEST, 1))
    staged = repository.status()
    repository.publish_changes([Change.add_target("direct", tk.TargetFile.from_digest(DIGEST, 2))])
    assert repository.status() == staged
    names = {m.name for m in repository.reader().list_targets()}
    assert "direct" in names and "staged" not in names
    with pytest.raises(tk.InvalidChangeError):
        repository.publish_changes([])
    with pytest.raises(tk.InvalidChangeError):  # nothing is published when one change fails
        repository.publish_changes(
            [Change.add_target("x", tk.TargetFile.from_digest(DIGEST, 3)), Change.delete_delegation("targets/a/b")]
        )
    assert "x" not in {m.name for m in repository.reader().list_targets()}
    admin.sign(f"{REPO}:v1", digest=DIGEST, size=1)
    assert repository.status() == staged  # DCT operations never publish what others staged
