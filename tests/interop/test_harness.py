"""Tests of the interop harness itself, against the real notary-server, notary and docker CLIs."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import socket
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.interop import harness
from tests.interop.harness import (
    CommandError,
    DockerTrustCLI,
    NotaryCLI,
    NotaryServer,
    make_tls_material,
    require_binary,
    unique_gun,
)

interop = pytest.mark.interop


def _canonical_key_id(keytype: str, public_b64: str) -> str:
    """TUF key ID as notary computes it: sha256 of the canonical JSON of the public key."""
    obj = {"keytype": keytype, "keyval": {"private": None, "public": public_b64}}
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _table_rows(output: str) -> list[list[str]]:
    """Rows of a notary CLI table (header and ``----`` separator dropped), split on whitespace."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    return [row for row in lines[2:] if row]


# --- pure-Python parts of the harness ---------------------------------------------------------


def test_tls_material(tmp_path: Path) -> None:
    tls = make_tls_material(tmp_path / "tls")
    for path in (tls.ca_cert, tls.ca_key, tls.server_cert, tls.server_key):
        assert path.is_file() and path.parent == tmp_path / "tls"
    ca = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(tls.server_cert.read_bytes())
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.issuer == ca.subject
    server.verify_directly_issued_by(ca)
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    key = serialization.load_pem_private_key(tls.server_key.read_bytes(), password=None)
    assert key.public_key() == server.public_key()


def test_unique_gun() -> None:
    first, second = unique_gun(), unique_gun()
    assert first != second
    prefix, _, name = first.rpartition("/")
    assert prefix == "localhost:5000/trustkit"
    assert name.startswith("t-") and len(name) == 10 and name == name.lower()
    assert unique_gun("localhost:5000/other").startswith("localhost:5000/other/t-")


def test_require_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = "trustkit-no-such-binary-4d1f"
    monkeypatch.delenv(harness.REQUIRE_INTEROP_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install -y notary"):
        require_binary(missing, "notary")
    monkeypatch.setenv(harness.REQUIRE_INTEROP_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y docker\.io"):
        require_binary(missing, "docker.io")
    assert Path(require_binary("python3", "python3")).is_file()


# --- notary-server ----------------------------------------------------------------------------


@interop
def test_server_is_healthy(notary_server: NotaryServer) -> None:
    assert notary_server.is_running()
    assert notary_server.url == f"https://{notary_server.host_port}"
    assert notary_server.host_port.startswith("127.0.0.1:")
    with notary_server.client() as client:
        health = client.get("/_notary_server/health")
        assert health.status_code == 200
        assert health.json() == {}
        ping = client.get("/v2/")
        assert ping.status_code == 200
        assert ping.json() == {}
        missing = client.get(f"/v2/{unique_gun()}/_trust/tuf/root.json")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["code"] == "METADATA_NOT_FOUND"


@interop
def test_server_rejects_clients_without_the_ca(notary_server: NotaryServer) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{notary_server.url}/v2/", timeout=5.0)


@interop
def test_server_stop_terminates_process(tmp_path: Path) -> None:
    require_binary("notary-server", "notary")
    server = NotaryServer(tmp_path / "server")
    with server:
        assert server.is_running()
        port = server.port
        assert "Using memory backend" in server.log_tail()
    assert not server.is_running()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1.0):
        pass
    config = json.loads((tmp_path / "server" / "server-config.json").read_text())
    assert config["storage"] == {"backend": "memory"}
    assert config["trust_service"] == {"type": "local"}


@interop
def test_server_retries_on_port_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary("notary-server", "notary")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        ports = iter([taken])
        real_free_port = harness.free_port
        monkeypatch.setattr(harness, "free_port", lambda: next(ports, None) or real_free_port())
        with NotaryServer(tmp_path / "server") as server:
            assert server.port != taken
            with server.client() as client:
                assert client.get("/_notary_server/health").status_code == 200


@interop
def test_server_start_failure_reports_log_tail(tmp_path: Path) -> None:
    require_binary("notary-server", "notary")
    good = make_tls_material(tmp_path / "tls")
    broken = dataclasses.replace(good, server_key=tmp_path / "tls" / "missing.key")
    server = NotaryServer(tmp_path / "server", tls=broken, startup_timeout=5.0)
    with pytest.raises(harness.ServerStartError, match=r"(?s)exited with rc=1.*missing\.key"):
        server.start()
    assert not server.is_running()


# --- notary CLI -------------------------------------------------------------------------------


@interop
def test_notary_cli_init_add_publish_list(notary_cli: NotaryCLI, gun: str, tmp_path: Path) -> None:
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"trustkit interop payload\n")
    notary_cli.run("init", gun)
    added = notary_cli.run("add", gun, "v1", str(payload))
    assert "staged for next publish" in added.stdout
    published = notary_cli.run("publish", gun)
    assert "Successfully published" in published.stdout

    rows = _table_rows(notary_cli.run("list", gun).stdout)
    assert rows == [
        [
            "v1",
            hashlib.sha256(payload.read_bytes()).hexdigest(),
            str(payload.stat().st_size),
            "targets",
        ]
    ]

    keys = notary_cli.private_keys()
    assert len(keys) >= 2  # root and targets (snapshot too: notary init keeps it locally)
    assert all(k.parent == notary_cli.trust_dir / "private" for k in keys)
    assert any("role: root" in k.read_text() for k in keys)
    root = notary_cli.tuf_dir(gun) / "root.json"
    assert root == notary_cli.trust_dir / "tuf" / gun / "metadata" / "root.json"
    assert json.loads(root.read_text())["signed"]["_type"] == "Root"

    # HOME is a temp dir: the real ~/.notary is never used.
    assert notary_cli.env["HOME"] == str(notary_cli.home)
    assert notary_cli.env["NOTARY_ROOT_PASSPHRASE"] == harness.NOTARY_ROOT_PASSPHRASE


@interop
def test_notary_cli_failure_raises_with_output(notary_cli: NotaryCLI) -> None:
    unknown = unique_gun()
    with pytest.raises(CommandError) as excinfo:
        notary_cli.run("list", unknown)
    err = excinfo.value
    assert isinstance(err, AssertionError)
    assert err.returncode == 1
    # notary 0.7 prints fatal errors to stdout ("* fatal: ..."), not stderr.
    assert f"does not have trust data for {unknown}" in err.stdout
    assert unknown in str(err) and "rc: 1" in str(err)
    result = notary_cli.run("list", unknown, check=False)
    assert result.returncode == 1


# --- docker CLI -------------------------------------------------------------------------------


@interop
def test_docker_cli_environment(docker_cli: DockerTrustCLI, notary_server: NotaryServer) -> None:
    ca = docker_cli.config_dir / "tls" / notary_server.host_port / "ca.crt"
    assert ca.read_bytes() == notary_server.ca_path.read_bytes()
    assert docker_cli.trust_dir == docker_cli.config_dir / "trust"
    assert docker_cli.env["DOCKER_CONFIG"] == str(docker_cli.config_dir)
    assert docker_cli.env["DOCKER_CONTENT_TRUST_SERVER"] == notary_server.url
    assert docker_cli.inspect(unique_gun(), check=False) == []


@interop
def test_docker_signer_add_and_notary_signed_tag(docker_cli: DockerTrustCLI, gun: str, tmp_path: Path) -> None:
    require_binary("notary", "notary")
    key_dir = tmp_path / "keys"
    key_dir.mkdir()
    docker_cli.run("trust", "key", "generate", "alice", "--dir", str(key_dir))
    pub_pem = (key_dir / "alice.pub").read_text()
    assert "role: alice" in pub_pem
    spki_der = serialization.load_pem_public_key(
        "\n".join(ln for ln in pub_pem.splitlines() if not ln.startswith("role:")).encode()
    ).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    alice_id = _canonical_key_id("ecdsa", base64.b64encode(spki_der).decode())
    assert (docker_cli.trust_dir / "private" / f"{alice_id}.key").is_file()

    docker_cli.run("trust", "signer", "add", "--key", str(key_dir / "alice.pub"), "alice", gun)
    [info] = docker_cli.inspect(gun)
    assert info["Name"] == gun
    assert info["SignedTags"] == []
    assert info["Signers"] == [{"Name": "alice", "Keys": [{"ID": alice_id}]}]
    assert [k["Name"] for k in info["AdministrativeKeys"]] == ["Root", "Repository"]

    notary = docker_cli.notary()
    assert notary.trust_dir == docker_cli.trust_dir
    delegations = {row[0]: row for row in _table_rows(notary.run("delegation", "list", gun).stdout)}
    assert set(delegations) == {"targets/alice", "targets/releases"}
    assert all(alice_id in row for row in delegations.values())

    # `docker trust sign` needs a daemon; sign the tag with the notary CLI instead.
    digest = hashlib.sha256(b"fake manifest").hexdigest()
    notary.run(
        "addhash", gun, "v1", "1234", "--sha256", digest,
        "--roles", "targets/releases", "--roles", "targets/alice", "-p",
    )  # fmt: skip
    [info] = docker_cli.inspect(gun)
    assert info["SignedTags"] == [{"SignedTag": "v1", "Digest": digest, "Signers": ["alice"]}]
    [tagged] = docker_cli.inspect(f"{gun}:v1")
    assert tagged["SignedTags"][0]["SignedTag"] == "v1"


# --- notary-signer ----------------------------------------------------------------------------


def _timestamp_key(server: NotaryServer, gun: str) -> dict[str, object]:
    with server.client() as client:
        response = client.get(f"/v2/{gun}/_trust/tuf/timestamp.key")
    assert response.status_code == 200, response.text
    key: dict[str, object] = response.json()
    return key


@interop
def test_signer_variant_uses_ecdsa_keys(
    notary_server_with_signer: NotaryServer, notary_server: NotaryServer, gun: str
) -> None:
    assert notary_server_with_signer.is_running()
    assert notary_server_with_signer.signer_port not in (0, notary_server_with_signer.port)
    signer_key = _timestamp_key(notary_server_with_signer, gun)
    local_key = _timestamp_key(notary_server, gun)
    assert signer_key["keytype"] == "ecdsa"
    assert local_key["keytype"] == "ed25519"
    assert signer_key["keyval"] == {"public": signer_key["keyval"]["public"], "private": None}  # type: ignore[index]
    assert "CreateKey" in notary_server_with_signer.signer_log_path.read_text()
    with notary_server_with_signer.client() as client:
        assert client.get("/_notary_server/health").status_code == 200


@interop
def test_notary_cli_publishes_through_signer(notary_server_with_signer: NotaryServer, gun: str, tmp_path: Path) -> None:
    require_binary("notary", "notary")
    cli = NotaryCLI(notary_server_with_signer, tmp_path / "trust", tmp_path / "home")
    cli.run("init", gun, "-p")
    root = json.loads((cli.tuf_dir(gun) / "root.json").read_text())["signed"]
    timestamp_ids = root["roles"]["timestamp"]["keyids"]
    assert [root["keys"][kid]["keytype"] for kid in timestamp_ids] == ["ecdsa"]
    assert "Sign" in notary_server_with_signer.signer_log_path.read_text()
