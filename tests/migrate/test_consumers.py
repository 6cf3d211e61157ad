"""containers/image configuration for migrated signatures: policy.json (merged), registries.d and the key."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from trustkit.errors import ConfigurationError
from trustkit.keys import generate_private_key
from trustkit.migrate import write_consumer_config


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
