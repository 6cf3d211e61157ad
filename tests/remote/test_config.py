"""Configuration resolution: GUNs from image references, docker's and notary's server, TLS and credentials."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path

import pytest

from tests.interop.harness import make_tls_material
from trustkit.remote import (
    DOCKER_HUB_AUTH_KEY,
    ConfigurationError,
    Credentials,
    ImageReference,
    TLSConfig,
    docker_config_dir,
    docker_credentials,
    docker_server_config,
    gun_from_reference,
    notary_server_config,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("reference", "gun", "tag", "digest"),
    [
        ("busybox", "docker.io/library/busybox", None, None),
        ("busybox:1.36", "docker.io/library/busybox", "1.36", None),
        ("library/busybox", "docker.io/library/busybox", None, None),
        ("docker.io/busybox", "docker.io/library/busybox", None, None),
        ("index.docker.io/busybox", "docker.io/library/busybox", None, None),
        ("docker.io/library/busybox:latest", "docker.io/library/busybox", "latest", None),
        ("myuser/app", "docker.io/myuser/app", None, None),
        ("localhost:5000/ns/app:tag", "localhost:5000/ns/app", "tag", None),
        ("localhost/app", "localhost/app", None, None),
        ("registry.example.com/a/b/c", "registry.example.com/a/b/c", None, None),
        (f"registry.example.com:443/app@{DIGEST}", "registry.example.com:443/app", None, DIGEST),
        (f"app:v1@{DIGEST}", "docker.io/library/app", "v1", DIGEST),
        ("Registry.Example.com/app", "Registry.Example.com/app", None, None),
        ("[::1]:5000/app", "[::1]:5000/app", None, None),
        ("a__b/c-d--e.f_g", "docker.io/a__b/c-d--e.f_g", None, None),
    ],
)
def test_reference_normalisation(reference: str, gun: str, tag: str | None, digest: str | None) -> None:
    image = ImageReference.parse(reference)
    assert image.gun == gun == gun_from_reference(reference)
    assert (image.tag, image.digest) == (tag, digest)
    assert ImageReference.parse(str(image)) == image


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("BusyBox", "must be lowercase"),
        ("localhost:5000/NS/app", "must be lowercase"),
        ("ab" * 32, "64-byte hexadecimal"),
        ("", "at least one component"),
        ("app:", "invalid reference format"),
        ("app:-bad", "invalid reference format"),
        ("app@sha256:abc", "invalid reference format"),
        ("app@sha256:" + "AB" * 32, "digest"),
        ("app@md5:" + "ab" * 16, "digest"),
        ("a//b", "invalid reference format"),
        ("-app", "invalid reference format"),
        ("app/", "invalid reference format"),
        ("registry.example.com/" + "a" * 250, "255 characters"),
    ],
)
def test_invalid_references(reference: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ImageReference.parse(reference)


def test_reference_auth_key() -> None:
    assert ImageReference.parse("busybox").auth_key == DOCKER_HUB_AUTH_KEY
    assert ImageReference.parse("localhost:5000/a").auth_key == "localhost:5000"


# --- docker ----------------------------------------------------------------------------------------------------


def test_docker_server_defaults(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    hub = docker_server_config("busybox", env=env)
    assert hub.url == "https://notary.docker.io"
    assert hub.registry == DOCKER_HUB_AUTH_KEY
    assert hub.trust_dir == tmp_path / ".docker" / "trust"
    assert hub.tls == TLSConfig(system_roots=True)
    private = docker_server_config("registry.example.com:5000/ns/app:v1", env=env)
    assert private.url == "https://registry.example.com:5000"
    assert private.registry == "registry.example.com:5000"
    assert docker_config_dir(env=env) == tmp_path / ".docker"


def test_docker_content_trust_server_wins(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTENT_TRUST_SERVER": "https://notary.example.com:4443/"}
    config = docker_server_config("busybox", env=env)
    assert config.url == "https://notary.example.com:4443"
    assert config.trust_dir == tmp_path / "trust"
    assert config.registry == DOCKER_HUB_AUTH_KEY  # credentials stay those of the image's registry


@pytest.mark.parametrize("url", ["http://notary.example.com", "notary.example.com", "https://"])
def test_docker_wants_an_https_trust_server(tmp_path: Path, url: str) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTENT_TRUST_SERVER": url}
    with pytest.raises(ConfigurationError, match="valid https URL required for trust server"):
        docker_server_config("busybox", env=env)


def test_docker_tls_folder(tmp_path: Path) -> None:
    material = make_tls_material(tmp_path / "pki")
    folder = tmp_path / "tls" / "127.0.0.1:4443"
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_bytes(material.ca_cert.read_bytes())
    (folder / "ca.pem").write_text("ignored by docker")
    (folder / "client.cert").write_bytes(material.server_cert.read_bytes())
    (folder / "client.key").write_bytes(material.server_key.read_bytes())
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:4443"}
    config = docker_server_config("localhost:5000/a/b", env=env)
    assert config.tls == TLSConfig(
        ca_files=(folder / "ca.crt",),
        system_roots=True,
        client_cert=folder / "client.cert",
        client_key=folder / "client.key",
    )
    context = config.tls.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] >= 2  # the system's CAs plus ours


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["client.cert"], "missing key client.key for client certificate client.cert"),
        (["c.key"], "missing client certificate c.cert"),
    ],
)
def test_docker_tls_folder_pairs(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        (tmp_path / name).write_text("x")
    with pytest.raises(ConfigurationError, match=message):
        TLSConfig.from_docker_dir(tmp_path)


def test_docker_credentials_for_the_image_registry(tmp_path: Path) -> None:
    auth = base64.b64encode(b"alice:secret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"https://localhost:5000": {"auth": auth}}}))
    env = {"DOCKER_CONFIG": str(tmp_path), "DOCKER_CONTENT_TRUST_SERVER": "https://127.0.0.1:4443"}
    assert docker_credentials("localhost:5000", env=env) == Credentials("alice", "secret")
    assert docker_server_config("localhost:5000/a/b", env=env).load_credentials() == Credentials("alice", "secret")
    assert docker_server_config("busybox", env=env).load_credentials() is None


# --- notary ----------------------------------------------------------------------------------------------------


def test_notary_defaults(tmp_path: Path) -> None:
    config = notary_server_config(env={"HOME": str(tmp_path)})
    assert config.url == "https://notary-server:4443"
    assert config.trust_dir == tmp_path / ".notary"
    assert config.tls == TLSConfig(system_roots=True)
    assert config.credentials is None


def test_notary_config_file(tmp_path: Path) -> None:
    material = make_tls_material(tmp_path / "cfg" / "certs")
    config_file = tmp_path / "cfg" / "config.json"
    config_file.write_text(
        json.dumps(
            {
                "trust_dir": "~/trust",
                "remote_server": {
                    "url": "https://127.0.0.1:4443",
                    "root_ca": "certs/ca.crt",
                    "tls_client_cert": "certs/server.crt",
                    "tls_client_key": str(material.server_key),
                },
            }
        )
    )
    auth = base64.b64encode(b"bob:pw \n").decode()
    config = notary_server_config(config_file=config_file, env={"HOME": str(tmp_path), "NOTARY_AUTH": auth})
    assert config.url == "https://127.0.0.1:4443"
    assert config.trust_dir == tmp_path / "trust"
    assert config.tls == TLSConfig(
        ca_files=(material.ca_cert,),
        system_roots=False,
        client_cert=material.server_cert,
        client_key=material.server_key,
    )
    assert config.credentials == Credentials("bob", "pw")  # notary TrimSpaces the password
    assert config.load_credentials() == Credentials("bob", "pw")
    assert config.tls.ssl_context().cert_store_stats()["x509_ca"] == 1  # root_ca is the only CA (notary's rule)


def test_notary_default_file_under_home(tmp_path: Path) -> None:
    (tmp_path / ".notary").mkdir()
    (tmp_path / ".notary" / "config.json").write_text(
        json.dumps(
            {"trust_dir": "relative/trust", "remote_server": {"url": "http://notary.local:4443", "skipTLSVerify": True}}
        )
    )
    config = notary_server_config(env={"HOME": str(tmp_path)})
    assert config.url == "http://notary.local:4443"
    assert config.trust_dir == Path.cwd() / "relative" / "trust"  # notary leaves it relative to the working folder
    assert config.tls.verify is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"remote_server": []}', "remote_server must be an object"),
        ('{"trust_dir": 5}', "trust_dir must be a string"),
        ('{"remote_server": {"url": "ftp://x"}}', "URL"),
        ('{"remote_server": {"tls_client_cert": "a.crt"}}', "both"),
        ('{"remote_server": {"root_ca": "missing.crt"}}', "does not exist"),
        ('{"remote_server": {"skipTLSVerify": "yes"}}', "boolean"),
    ],
)
def test_notary_config_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        notary_server_config(config_file=path, env={"HOME": str(tmp_path)})


def test_notary_explicit_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="error opening config file"):
        notary_server_config(config_file=tmp_path / "nope.json", env={"HOME": str(tmp_path)})


def test_notary_auth_must_decode(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="NOTARY_AUTH"):
        notary_server_config(env={"HOME": str(tmp_path), "NOTARY_AUTH": "%%%"})


def test_tls_config_ca_folder(tmp_path: Path) -> None:
    material = make_tls_material(tmp_path / "pki")
    folder = tmp_path / "cas"
    folder.mkdir()
    (folder / "one.crt").write_bytes(material.ca_cert.read_bytes())
    assert TLSConfig.create(ca=folder).ca_files == (folder / "one.crt",)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match=r"holds no \*.crt"):
        TLSConfig.create(ca=empty)
    (tmp_path / "bad.crt").write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="cannot load CA certificates"):
        TLSConfig(ca_files=(tmp_path / "bad.crt",)).ssl_context()
    with pytest.raises(ConfigurationError, match="cannot load the client certificate"):
        TLSConfig(client_cert=material.server_cert, client_key=material.ca_key).ssl_context()
