"""containers/image configuration for migrated signatures: policy.json (merged), registries.d and the key."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trustkit.errors import ConfigurationError
from trustkit.keys import generate_private_key
from trustkit.migrate import load_verification_key, write_consumer_config

SPKI = PublicFormat.SubjectPublicKeyInfo


def test_writes_policy_registries_d_and_key(tmp_path: Path) -> None:
    key = generate_private_key()
    config = write_consumer_config(tmp_path, "127.0.0.1:5000/demo", key, signed_identity="matchRepository")
    policy = json.loads(config.policy.read_text())
    assert policy["default"] == [{"type": "reject"}]
    assert policy["transports"]["docker"]["127.0.0.1:5000/demo"] == [
        {
            "type": "sigstoreSigned",
            "keyPath": str(config.public_key.resolve()),
            "signedIdentity": {"type": "matchRepository"},
        }
    ]
    assert config.public_key.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert config.registries_d.read_text() == 'docker:\n  "127.0.0.1:5000/demo":\n    use-sigstore-attachments: true\n'


def test_merges_into_an_existing_policy_and_embeds_the_key(tmp_path: Path) -> None:
    existing = {"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {"other.io": []}}}
    (tmp_path / "policy.json").write_text(json.dumps(existing))
    config = write_consumer_config(tmp_path, "registry.example", generate_private_key(), embed_key=True)
    policy = json.loads(config.policy.read_text())
    assert policy["default"] == [{"type": "insecureAcceptAnything"}]
    (requirement,) = policy["transports"]["docker"]["registry.example"]
    assert base64.b64decode(requirement["keyData"]) == config.public_key.read_bytes()
    assert requirement["signedIdentity"] == {"type": "matchRepoDigestOrExact"}
    assert "other.io" in policy["transports"]["docker"]


def test_refuses_bad_scope_and_broken_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="scope"):
        write_consumer_config(tmp_path, "Bad Scope", generate_private_key())
    (tmp_path / "policy.json").write_text("[]")
    with pytest.raises(ConfigurationError, match="not a containers policy"):
        write_consumer_config(tmp_path, "registry.example", generate_private_key())


def test_a_second_repository_keeps_the_first_working(tmp_path: Path) -> None:
    first, second = generate_private_key(), generate_private_key()
    one = write_consumer_config(tmp_path, "a.example/team/app", first)
    two = write_consumer_config(tmp_path, "b.example/other", second)
    assert one.registries_d == two.registries_d
    assert two.registries_d.read_text() == (
        'docker:\n  "a.example/team/app":\n    use-sigstore-attachments: true\n'
        '  "b.example/other":\n    use-sigstore-attachments: true\n'
    )
    docker = json.loads(two.policy.read_text())["transports"]["docker"]
    for scope, key in (("a.example/team/app", first), ("b.example/other", second)):
        path = Path(docker[scope][0]["keyPath"])
        assert load_verification_key(path.read_bytes()) == load_verification_key(key)
    assert one.public_key != two.public_key
    again = write_consumer_config(tmp_path, "a.example/team/app", first)  # the same scope again: no duplicate
    assert again.registries_d.read_text() == two.registries_d.read_text()


def test_refuses_to_replace_another_key_or_a_foreign_registries_d(tmp_path: Path) -> None:
    key = generate_private_key()
    config = write_consumer_config(tmp_path, "a.example", key)
    config.public_key.write_bytes(load_verification_key(generate_private_key()).public_bytes(Encoding.PEM, SPKI))
    with pytest.raises(ConfigurationError, match="holds another key"):
        write_consumer_config(tmp_path, "b.example", key)
    config.public_key.unlink()
    config.registries_d.write_text("docker:\n  a.example:\n    lookaside: https://sigs.example\n")
    with pytest.raises(ConfigurationError, match="not written by write_consumer_config"):
        write_consumer_config(tmp_path, "b.example", key)
    assert not config.public_key.exists()  # nothing written when refused


def test_new_policy_default_rejects_and_the_docstring_says_how_to_merge() -> None:
    doc = write_consumer_config.__doc__ or ""
    assert '"default": [{"type": "reject"}]' in doc
    assert 'policy_path="/etc/containers/policy.json"' in doc
