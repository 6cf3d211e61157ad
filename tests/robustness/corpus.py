"""Valid inputs for every parser, built once per process: the seeds the fuzzer and the properties mutate.

Metadata comes from the unit tests' repository simulator (with nested delegations, target names holding HTML and
non-ASCII characters, and custom JSON), so every seed verifies; keys cover every PEM form ``load_private_key``
reads; changes cover every change notary stages. The remote layer's seeds are what notary-server, registry token
servers, ``docker login`` and docker's credential helpers really send or write, and image references in every form
docker normalises.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, RepoSim
from trustkit.client.changelist import Change, DelegationChange
from trustkit.keys.pem import encode_pem

__all__ = ["GUN", "HTTP_STATUSES", "NOW", "PASSPHRASE", "Corpus", "corpus"]

PASSPHRASE = "correct horse"
HTTP_STATUSES = (400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503, 504, 200, 302, 418, 599)
"""The statuses a response seed's first byte picks from (``seed[0] % len(HTTP_STATUSES)``)."""


@dataclass
class Corpus:
    """Seeds by parser, and the repository they come from."""

    sim: RepoSim
    files: dict[str, bytes]
    """One published version of the simulated repository: role -> bytes."""
    root_cert_der: bytes
    private_pems: list[bytes] = field(default_factory=list)
    public_pems: list[bytes] = field(default_factory=list)
    public_ders: list[bytes] = field(default_factory=list)
    key_dicts: list[bytes] = field(default_factory=list)
    changes: list[bytes] = field(default_factory=list)
    delegation_payloads: list[bytes] = field(default_factory=list)
    pinning_configs: list[bytes] = field(default_factory=list)
    times: list[bytes] = field(default_factory=list)
    json_texts: list[bytes] = field(default_factory=list)
    error_responses: list[bytes] = field(default_factory=list)
    """notary-server error responses: a status byte, then ``headers\r\n\r\nbody``."""
    challenges: list[bytes] = field(default_factory=list)
    """``WWW-Authenticate`` values (one per line)."""
    token_responses: list[bytes] = field(default_factory=list)
    """A byte picking the status and credentials, then a token server's JSON."""
    docker_configs: list[bytes] = field(default_factory=list)
    helper_outputs: list[bytes] = field(default_factory=list)
    """A flags byte (bit 0: exit 1; bit 1: output on stderr), then what a credential helper prints."""
    image_references: list[bytes] = field(default_factory=list)

    @property
    def metadata(self) -> list[bytes]:
        return list(self.files.values())


def _repository() -> tuple[RepoSim, dict[str, bytes]]:
    sim = RepoSim()
    sim.targets["v1"] = tk.TargetFile.from_digest("11" * 32, 100)
    sim.targets["<img src=x>&amp;"] = tk.TargetFile.from_data(b"html", custom={"note": "<b>&</b>", "n": [1, -2]})
    sim.targets["caf\u00e9/\u2028\U0001f600"] = tk.TargetFile.from_digest("22" * 32, 0, custom={"a": {"b": None}})
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key("ed25519"), [""])
    sim.delegations["targets/releases"].targets["v2"] = tk.TargetFile.from_digest("33" * 32, 200)
    sim.delegations["targets/releases/beta"] = Delegation(tk.generate_private_key(), ["beta/"], threshold=1)
    sim.delegations["targets/releases/beta"].targets["beta/1"] = tk.TargetFile.from_data(b"beta")
    return sim, sim.publish()


def _private_keys() -> list[bytes]:
    ecdsa = tk.generate_private_key(role="targets", gun=GUN)
    ed25519 = tk.generate_private_key("ed25519", role="root")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    sec1 = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    legacy_encrypted = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    ed_blob = ed25519.to_pem()
    legacy_ed = encode_pem(
        "ED25519 PRIVATE KEY",
        ed25519.crypto_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        + ed25519.crypto_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        + ed25519.crypto_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        {"role": "targets/releases"},
    )
    return [
        ecdsa.to_pem(),
        ecdsa.to_pem(PASSPHRASE),
        ed_blob,
        ed25519.to_pem(PASSPHRASE),
        legacy_ed,
        pkcs1,
        sec1,
        legacy_encrypted,
        tk.PrivateKey(rsa_key).to_pem(),
    ]


def _changes(keys: list[tk.PublicKey]) -> tuple[list[bytes], list[bytes]]:
    target = tk.TargetFile(5, {"sha256": b"\x01" * 32, "sha512": b"\x02" * 64}, custom={"b": "<x>", "a": 1})
    changes = [
        Change.add_target("v1 & <co>", target),
        Change.add_target("caf\u00e9", tk.TargetFile.from_digest("ab" * 32, 9), role="targets/releases"),
        Change.remove_target("old"),
        Change.create_delegation("targets/releases", keys=keys[:2], paths=["", "a/"], threshold=2),
        Change.update_delegation("targets/releases", remove_keys=[keys[0].canonical_id], clear_paths=True),
        Change.update_delegation("targets/*", remove_keys=["ab" * 32]),
        Change.delete_delegation("targets/x"),
        Change.witness("targets"),
        Change.replace_base_keys("snapshot", keys[2:3]),
    ]
    payloads = [
        DelegationChange(
            new_name="targets/new",
            threshold=3,
            add_keys=tuple(keys),
            remove_keys=("x",),
            add_paths=("a", "<b>"),
            remove_paths=("c",),
            clear_paths=True,
        ).to_json(),
        DelegationChange().to_json(),
    ]
    return [c.to_bytes() for c in changes], payloads


def _status(code: int) -> bytes:
    return bytes([HTTP_STATUSES.index(code)])


def _notary_error(code: str, message: str, detail: object = None) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode()


def _error_responses() -> list[bytes]:
    """What notary-server 0.7 answers when it refuses (``errors.go``), and what a proxy in front of it may say."""
    bearer = (
        b'WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="notary",'
        b'scope="repository:' + GUN.encode() + b':push,pull",error="insufficient_scope"\r\n'
    )
    return [
        _status(400)
        + b"Content-Type: application/json; charset=utf-8\r\n\r\n"
        + _notary_error(
            "INVALID_UPDATE",
            "Update sent by the client is invalid.",
            {"Name": "targets", "Error": {"Msg": "new version is lower than the current one"}},
        ),
        _status(400) + b"\r\n\r\n" + _notary_error("VERSION", "The update version was invalid.", "rollback"),
        _status(401)
        + bearer
        + b"\r\n"
        + _notary_error(
            "UNAUTHORIZED",
            "authentication required",
            [{"Type": "repository", "Class": "", "Name": GUN, "Action": "push"}],
        ),
        _status(403) + b'WWW-Authenticate: Basic realm="notary"\r\n\r\n' + _notary_error("DENIED", "denied"),
        _status(404)
        + b"\r\n\r\n"
        + _notary_error("METADATA_NOT_FOUND", "You have requested metadata that does not exist."),
        _status(404) + b"404 page not found\n",
        _status(405) + b"\r\n\r\n" + _notary_error("UNSUPPORTED", "The operation is unsupported."),
        _status(413) + b"<html><body><h1>413 Request Entity Too Large</h1></body></html>",
        _status(429) + b"Retry-After: 2\r\n\r\n" + _notary_error("TOOMANYREQUESTS", "slow down", {"wait": 2}),
        _status(500) + b"\r\n\r\n" + _notary_error("UNKNOWN", "unknown error", "storage backend: dial tcp"),
        _status(503) + b"Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n",
        _status(409) + b"\r\n\r\n" + json.dumps({"errors": []}).encode(),
    ]


def _challenges() -> list[bytes]:
    return [
        b'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/a:pull"',
        b'Basic realm="Registry Realm"',
        b'Basic realm="basic", Bearer realm="https://auth.example.com/token",service="notary"',
        b'Bearer realm="https://auth.example.com:5001/token",error="invalid_token",'
        b'error_description="The access token expired"',
        b'Basic realm="a"\nBearer realm="http://127.0.0.1:5001/auth", service="x\\"y"',
        b"Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCg==",
        b'Bearer realm=https://auth.example.com/token,service=notary,scope="repository:a/b:push,pull"',
    ]


def _token_responses() -> list[bytes]:
    return [
        bytes([i]) + body
        for i, body in enumerate(
            [
                json.dumps(
                    {
                        "token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhdXRoIn0.c2ln",
                        "access_token": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhdXRoIn0.c2ln",
                        "expires_in": 300,
                        "issued_at": "2026-11-25T10:00:00.123456789Z",
                    }
                ).encode(),
                b'{"access_token":"abc.def-ghi_jkl~","expires_in":60.5,"refresh_token":"r"}',
                b'{"token":"t0k3n"}',
                b'{"details":"access to the requested resource is not authorized"}',
            ]
        )
    ]


def _docker_configs() -> list[bytes]:
    hub = base64.b64encode(b"user:pa:ss").decode()
    return [
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": hub},
                    "localhost:5000": {"auth": base64.b64encode(b"alice:secret").decode(), "email": "a@b.c"},
                    "https://registry.example.com/v1/": {"username": "bob", "password": "pw"},
                    "ghcr.io": {"identitytoken": "refresh-token"},
                },
                "HttpHeaders": {"User-Agent": "Docker-Client/24.0.7 (linux)"},
                "psFormat": "table {{.ID}}",
            },
            indent="\t",
        ).encode(),
        json.dumps(
            {"auths": {"localhost:5000": {}}, "credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}
        ).encode(),
        b'{"auths":{}}',
        b"{}",
    ]


def _helper_outputs() -> list[bytes]:
    return [
        b"\x00" + json.dumps({"ServerURL": "https://index.docker.io/v1/", "Username": "user", "Secret": "s3"}).encode(),
        b"\x00"
        + json.dumps({"ServerURL": "https://index.docker.io/v1/", "Username": "<token>", "Secret": "rt"}).encode(),
        b"\x01credentials not found in native keychain\n",
        b"\x03error getting credentials - err: exit status 1, out: `no usernames for https://index.docker.io/v1/`",
        b'\x00{"Username":"","Secret":""}',
    ]


def _image_references() -> list[bytes]:
    digest = "sha256:" + "ab" * 32
    return [
        text.encode()
        for text in (
            "busybox",
            "busybox:1.36",
            f"library/busybox@{digest}",
            "docker.io/library/busybox:latest",
            "index.docker.io/user/app",
            "localhost/app",
            "localhost:5000/trustkit/app:v1.2.3",
            f"[::1]:5000/ns/app@{digest}",
            f"registry.example.com:443/a/b/c:v1-rc.2@{digest}",
            "example.com/a__b/c-d.e/f---g",
            "Registry.Example.COM/x",
            "sha512:" + "cd" * 64,
            "ef" * 32,
        )
    ]


@functools.cache
def corpus() -> Corpus:
    """The seeds (built once per process)."""
    sim, files = _repository()
    root_cert = sim.root_certs[0]
    cert_der = root_cert.certificates[0].public_bytes(serialization.Encoding.DER)
    ecdsa_pub = sim.keys["targets"].public_key
    ed_pub = sim.delegations["targets/releases"].key.public_key
    rsa_pub = tk.PublicKey.from_crypto(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    public_keys = [ecdsa_pub, ed_pub, rsa_pub, root_cert]
    seeds = Corpus(sim=sim, files=files, root_cert_der=cert_der)
    seeds.private_pems = _private_keys()
    for key in (ecdsa_pub, ed_pub, rsa_pub):
        der = key.crypto_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        seeds.public_ders.append(der)
        seeds.public_pems.append(encode_pem("PUBLIC KEY", der))
    seeds.public_ders.append(cert_der)
    seeds.public_pems.append(root_cert.public)
    seeds.public_pems.append(root_cert.public + root_cert.public)  # a "chain"
    seeds.key_dicts = [json.dumps(key.to_dict()).encode() for key in public_keys]
    seeds.changes, seeds.delegation_payloads = _changes(public_keys)
    seeds.pinning_configs = [
        json.dumps(
            {
                "trust_pinning": {
                    "certs": {GUN: [root_cert.key_id], "docker.io/*": ["ab" * 32]},
                    "ca": {"docker.io/": "ca.pem"},
                    "disable_tofu": True,
                }
            }
        ).encode(),
        b'{"certs":{},"ca":{}}',
    ]
    seeds.times = [
        b"2116-07-03T17:56:36.027379879-05:00",
        b"2030-01-01T00:00:00Z",
        b"0001-01-01T00:00:00+23:59",
        b"9999-12-31T23:59:59.999999999-23:59",
    ]
    seeds.json_texts = [
        b'{"a":"a\\nb","b":[1,2.0,-0.0,1e3],"c":"\\u003c\\ud800","d":null,"e":true}',
        base64.b64decode(base64.b64encode(files["targets"])),
    ]
    seeds.error_responses = _error_responses()
    seeds.challenges = _challenges()
    seeds.token_responses = _token_responses()
    seeds.docker_configs = _docker_configs()
    seeds.helper_outputs = _helper_outputs()
    seeds.image_references = _image_references()
    return seeds
