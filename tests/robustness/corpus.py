"""Valid inputs for every parser, built once per process: the seeds the fuzzer and the properties mutate.

Metadata comes from the unit tests' repository simulator (with nested delegations, target names holding HTML and
non-ASCII characters, and custom JSON), so every seed verifies; keys cover every PEM form ``load_private_key``
reads; changes cover every change notary stages.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import trustkit as tk
from tests.unit.repo_sim import GUN, NOW, Delegation, RepoSim
from trustkit.client.changelist import Change, DelegationChange
from trustkit.keys._pem import encode_pem

__all__ = ["GUN", "NOW", "PASSPHRASE", "Corpus", "corpus"]

PASSPHRASE = "correct horse"


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
    return seeds
