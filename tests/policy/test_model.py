"""The policy model: rules from dicts, JSON and TOML, typed errors naming rule and field, and the importers
reading connaisseur's and portieris' documented configuration shapes."""

from __future__ import annotations

import json

import pytest

from trustkit.policy import Policy, PolicyError, Rule, SignerRequirement, TrustAnchor, from_connaisseur, from_portieris

# connaisseur docs/validators/notaryv1.md, "Example" (values.yaml, parsed)
SSE_KEY = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvtc/qpHtx7iUUj+rRHR99a8mnGni
qiGkmUb9YpWWTS4YwlvwdmMDiGzcsHiDOYz6f88u2hCRF5GUCvyiZAKrsA==
-----END PUBLIC KEY-----
"""
CONNAISSEUR = {
    "validators": [
        {"name": "allow", "type": "static", "approve": True},
        {"name": "deny", "type": "static", "approve": False},
        {
            "name": "docker_essentials",
            "type": "notaryv1",
            "host": "notary.docker.io",
            "trustRoots": [{"name": "sse", "key": SSE_KEY}],
        },
    ],
    "policy": [
        {"pattern": "*:*", "validator": "deny"},
        {"pattern": "k8s.gcr.io/*:*", "validator": "allow"},
        {
            "pattern": "docker.io/securesystemsengineering/connaisseur:*",
            "validator": "docker_essentials",
            "with": {"key": "sse", "delegations": ["belitzphilipp", "starkteetje"]},
        },
    ],
}

# portieris POLICIES.md and the IBM docs' trust section (signerSecrets resolved to the secrets' data)
PORTIERIS = {
    "apiVersion": "securityenforcement.admission.cloud.ibm.com/v1beta1",
    "kind": "ImagePolicy",
    "metadata": {"name": "allow-custom"},
    "spec": {
        "repositories": [
            {"name": "icr.io/*", "policy": {"trust": {"enabled": True, "trustServer": "https://icr.io:4443"}}},
            {
                "name": "icr.io/team/app",
                "policy": {"trust": {"enabled": True, "signerSecrets": [{"name": "signername"}]}},
            },
            {"name": "*", "policy": None},
        ]
    },
}


def test_rules_from_dict_json_and_toml_agree() -> None:
    obj = {
        "rules": [
            {
                "pattern": "registry.example.com/team/*",
                "trust": {"root_key_ids": ["ab" * 32]},
                "signers": {"at_least": 2, "of": ["alice", "bob", "carol"]},
                "max_stale_seconds": 60,
                "verify_at": "2026-01-31T00:00:00Z",
            },
            {"pattern": "*", "trust": {"tofu": True}, "release_rule": False},
        ]
    }
    toml = f"""
[[rules]]
pattern = "registry.example.com/team/*"
trust = {{ root_key_ids = ["{"ab" * 32}"] }}
signers = {{ at_least = 2, of = ["alice", "bob", "carol"] }}
max_stale_seconds = 60
verify_at = "2026-01-31T00:00:00Z"

[[rules]]
pattern = "*"
trust = {{ tofu = true }}
release_rule = false
"""
    policy = Policy.from_dict(obj)
    assert policy == Policy.from_json(json.dumps(obj)) == Policy.from_toml(toml)
    rule = policy.rule_for("registry.example.com/team/app")
    assert rule is not None and rule.signers == SignerRequirement(("alice", "bob", "carol"), threshold=2)
    assert rule.max_stale_seconds == 60 and rule.at is not None and rule.release_rule
    fallback = policy.rule_for("docker.io/library/nginx")
    assert fallback is not None and fallback.anchor == TrustAnchor(tofu=True) and not fallback.release_rule


def test_most_specific_rule_wins_and_no_rule_is_none() -> None:
    anchor = TrustAnchor(tofu=True)
    policy = Policy(
        (Rule("*", anchor), Rule("a.io/x/*", anchor), Rule("a.io/x/y/*", anchor), Rule("a.io/x/y/z", anchor))
    )
    assert policy.rule_for("a.io/x/y/z").pattern == "a.io/x/y/z"  # type: ignore[union-attr]
    assert policy.rule_for("a.io/x/y/w").pattern == "a.io/x/y/*"  # type: ignore[union-attr]
    assert policy.rule_for("a.io/x/q").pattern == "a.io/x/*"  # type: ignore[union-attr]
    assert policy.rule_for("b.io/q").pattern == "*"  # type: ignore[union-attr]
    assert Policy((Rule("a.io/x/*", anchor),)).rule_for("a.io/xy") is None
    assert Policy((Rule("localhost:5000/*", anchor),)).rule_for("localhost:5000/app") is not None


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"pattern": "a.io/x", "trust": {"tofu": True}, "color": 1}, None, "unknown key"),
        ({"pattern": "a.io/x:v1", "trust": {"tofu": True}}, "pattern", "tags and other wildcards"),
        ({"pattern": "a.io/*/x", "trust": {"tofu": True}}, "pattern", "tags and other wildcards"),
        ({"pattern": "a.io/x"}, "anchor", "no trust anchor"),
        ({"pattern": "a.io/x", "trust": {}}, "anchor", "no trust anchor"),
        ({"pattern": "a.io/x", "trust": {"tofu": True, "root_key_ids": ["ab"]}}, "anchor", "one kind of anchor"),
        ({"pattern": "a.io/x", "trust": {"root_keys": ["nope"]}}, "anchor.root_keys", "not a PEM public key"),
        (
            {"pattern": "a.io/x", "trust": {"tofu": True}, "signers": {"at_least": 3, "of": ["a", "b"]}},
            "signers.at_least",
            "larger than the 2 signer",
        ),
        (
            {"pattern": "a.io/x", "trust": {"tofu": True}, "signers": {"all_of": []}},
            "signers",
            "set of signers is empty",
        ),
        ({"pattern": "a.io/x", "trust": {"tofu": True}, "max_stale_seconds": -1}, "max_stale_seconds", ">= 0"),
        ({"pattern": "a.io/x", "trust": {"tofu": True}, "verify_at": "yesterday"}, "verify_at", "ISO 8601"),
        ({"pattern": "a.io/x", "trust": {"tofu": True}, "action": "maybe"}, "action", "verify"),
        (
            {"pattern": "a.io/x", "trust": {"tofu": True}, "signers": {"all_of": ["a"]}, "signer_keys": {"b": []}},
            "signer_keys",
            "not a required signer",
        ),
    ],
)
def test_bad_policies_name_the_rule_and_field(rule: dict[str, object], field: str | None, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as info:
        Policy.from_dict({"rules": [rule]})
    assert info.value.rule == rule["pattern"]
    assert info.value.field == field


def test_bad_documents() -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        Policy.from_json("{")
    with pytest.raises(PolicyError, match="not valid TOML"):
        Policy.from_toml("[[rules]")
    with pytest.raises(PolicyError, match="one key"):
        Policy.from_dict({"rule": []})
    with pytest.raises(PolicyError, match="two rules"):
        Policy.from_dict({"rules": [{"pattern": "*", "trust": {"tofu": True}}] * 2})


def test_connaisseur_configuration() -> None:
    policy = from_connaisseur(CONNAISSEUR)
    rule = policy.rule_for("docker.io/securesystemsengineering/connaisseur")
    assert rule is not None and rule.server == "https://notary.docker.io"
    assert rule.signers == SignerRequirement(("belitzphilipp", "starkteetje"))
    assert rule.anchor is not None and rule.anchor.root_keys[0] == TrustAnchor.pinned(root_keys=[SSE_KEY]).root_keys[0]
    assert policy.rule_for("k8s.gcr.io/pause").action == "allow"  # type: ignore[union-attr]
    assert policy.rule_for("docker.io/library/nginx").action == "deny"  # type: ignore[union-attr]


def test_connaisseur_key_with_role_header_and_errors() -> None:
    headed = SSE_KEY.replace("-----\n", "-----\nrole: root\n\n", 1)
    values = json.loads(json.dumps(CONNAISSEUR))
    values["validators"][2]["trustRoots"] = [{"name": "default", "key": headed}]
    values["policy"][2]["with"] = {}
    assert from_connaisseur(values).rule_for("docker.io/securesystemsengineering/connaisseur") is not None
    values["policy"][2]["pattern"] = "docker.io/securesystemsengineering/connaisseur:v1"
    with pytest.raises(PolicyError, match="NAME:\\*") as info:
        from_connaisseur(values)
    assert info.value.field == "pattern"
    values["policy"][2] = {"pattern": "a.io/x:*", "validator": "nope"}
    with pytest.raises(PolicyError, match="no validator called 'nope'"):
        from_connaisseur(values)


def test_portieris_image_policy() -> None:
    signer = TrustAnchor.trust_on_first_use()
    with pytest.raises(PolicyError, match="secret 'signername' was not given"):
        from_portieris(PORTIERIS, anchor=signer)
    secrets = {"signername": {"name": "alice", "publicKey": SSE_KEY}}
    policy = from_portieris(PORTIERIS, anchor=signer, secrets=secrets)
    app = policy.rule_for("icr.io/team/app")
    assert app is not None and app.signers is not None and app.signers.names == ("alice",)
    assert len(app.signers.keys_for("alice")) == 1 and app.server is None
    other = policy.rule_for("icr.io/team/other")
    assert other is not None and other.server == "https://icr.io:4443" and other.signers is None
    assert policy.rule_for("docker.io/library/nginx").action == "allow"  # type: ignore[union-attr]


def test_portieris_shapes_that_are_not_objects_are_refused() -> None:
    bad = {"spec": {"repositories": [{"name": "icr.io/*", "policy": "trust"}]}}
    with pytest.raises(PolicyError, match="policy must be an object") as info:
        from_portieris(bad, anchor=TrustAnchor.trust_on_first_use())
    assert (info.value.rule, info.value.field) == ("icr.io/*", "policy")
    with pytest.raises(PolicyError, match=r"spec\.repositories"):
        from_portieris({"spec": {}}, anchor=TrustAnchor.trust_on_first_use())
