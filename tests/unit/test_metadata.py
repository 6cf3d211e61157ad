"""Role models and the envelope: round trips, verification, and every kind of bad input as a typed error."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

import trustkit as tk
from tests.support.repo_sim import GUN, ParsedRepo
from trustkit import errors


def edit(data: bytes, change: Any) -> bytes:
    """Decode an envelope, let ``change`` mutate it, and re-encode it compactly (signatures untouched)."""
    obj = json.loads(data)
    change(obj)
    return json.dumps(obj, separators=(",", ":")).encode()


def test_round_trip_every_role(repo: ParsedRepo) -> None:
    for md, role in ((repo.root, "root"), (repo.targets, "targets"), (repo.releases, "targets/releases")):
        data = md.to_bytes()
        again = tk.Metadata.from_bytes(data, role=role)
        assert again.to_bytes() == data
        assert again == md
        assert again.signed_bytes == md.signed_bytes
        assert not data.endswith(b"\n") and data.startswith(b'{"signed":{"_type":')


def test_verification_chain(repo: ParsedRepo) -> None:
    root = tk.Metadata.from_bytes(repo.root.to_bytes(), role="root")
    result = root.signed.verify_delegate("root", root)
    assert result.verified and result.signed == {repo.root_cert.key_id} and bool(result)
    targets = tk.Metadata.from_bytes(repo.targets.to_bytes(), role="targets")
    root.signed.verify_delegate("targets", targets)
    releases = tk.Metadata.from_bytes(repo.releases.to_bytes(), role="targets/releases")
    targets.signed.verify_delegate("targets/releases", releases)
    with pytest.raises(tk.ThresholdError, match="targets/releases"):
        targets.signed.verify_delegate("targets/releases", targets)
    with pytest.raises(tk.UnknownRoleError):
        root.signed.verify_delegate("mirror", targets)
    with pytest.raises(tk.UnknownRoleError):
        targets.signed.verify_delegate("targets/other", releases)


def test_snapshot_and_timestamp(repo: ParsedRepo) -> None:
    root_bytes, targets_bytes = repo.root.to_bytes(), repo.targets.to_bytes()
    snapshot = tk.Snapshot(
        version=1,
        expires=tk.default_expiry("snapshot"),
        meta={"root": tk.MetaFile.from_data(root_bytes), "targets": tk.MetaFile.from_data(targets_bytes)},
    )
    snap_md = tk.Metadata(snapshot).sign(repo.snapshot_key.signer())
    snap_bytes = snap_md.to_bytes()
    parsed = tk.Metadata.from_bytes(snap_bytes, role="snapshot")
    repo.root.signed.verify_delegate("snapshot", parsed)
    parsed.signed.meta["targets"].verify_data(targets_bytes, what="targets")
    with pytest.raises(tk.HashMismatchError, match="sha256 checksum for targets did not match"):
        parsed.signed.meta["targets"].verify_data(targets_bytes[:-1] + b" ", what="targets")
    with pytest.raises(tk.HashMismatchError, match="length"):
        parsed.signed.meta["targets"].verify_data(targets_bytes + b" ", what="targets")
    timestamp = tk.Timestamp(
        version=1, expires=tk.default_expiry("timestamp"), meta={"snapshot": tk.MetaFile.from_data(snap_bytes)}
    )
    ts_md = tk.Metadata.from_bytes(tk.Metadata(timestamp).sign(repo.timestamp_key.signer()).to_bytes())
    repo.root.signed.verify_delegate("timestamp", ts_md)
    ts_md.signed.snapshot_meta.verify_data(snap_bytes)


def test_signed_by_wrong_role_key(repo: ParsedRepo) -> None:
    with pytest.raises(tk.ThresholdError, match="valid signatures did not meet threshold for snapshot"):
        repo.root.signed.verify_delegate("snapshot", repo.targets)


def test_tampered_byte_fails(repo: ParsedRepo) -> None:
    data = repo.targets.to_bytes().replace(b'"version":1', b'"version":2')
    with pytest.raises(tk.ThresholdError):
        repo.root.signed.verify_delegate("targets", tk.Metadata.from_bytes(data))


def test_no_signatures(repo: ParsedRepo) -> None:
    unsigned = tk.Metadata(repo.targets.signed)
    with pytest.raises(tk.ThresholdError, match="no signatures"):
        repo.root.signed.verify_delegate("targets", unsigned)


def test_duplicate_signatures_from_one_key_count_once(repo: ParsedRepo) -> None:
    signature = repo.targets.signatures[0]
    doubled = attrs.evolve(repo.targets, signatures=(signature, signature))
    root = repo.root.signed
    role = root.roles["targets"]
    strict = attrs.evolve(root, roles={**root.roles, "targets": tk.Role(role.keyids, 2)})
    result = strict.get_verification_result("targets", doubled)
    assert result.signed == {signature.keyid} and not result.verified
    with pytest.raises(tk.ThresholdError, match="1/2"):
        strict.verify_delegate("targets", doubled)
    data = doubled.to_bytes()
    assert len(tk.Metadata.from_bytes(data).signatures) == 2


def test_key_id_not_matching_content(repo: ParsedRepo) -> None:
    root = repo.root.signed
    targets_id = root.roles["targets"].keyids[0]
    impostor = tk.generate_private_key().public_key
    forged = attrs.evolve(root, keys={**root.keys, targets_id: impostor})
    with pytest.raises(tk.KeyIdMismatchError, match=targets_id):
        forged.verify_delegate("targets", repo.targets)


def test_unknown_method_does_not_count(repo: ParsedRepo) -> None:
    data = edit(repo.targets.to_bytes(), lambda o: o["signatures"][0].update(method="rsassa-pss-sha512"))
    md = tk.Metadata.from_bytes(data)
    assert md.signatures[0].method == "rsassa-pss-sha512"
    with pytest.raises(tk.ThresholdError):
        repo.root.signed.verify_delegate("targets", md)


def test_method_is_lowercased(repo: ParsedRepo) -> None:
    data = edit(repo.targets.to_bytes(), lambda o: o["signatures"][0].update(method="ECDSA"))
    md = tk.Metadata.from_bytes(data)
    repo.root.signed.verify_delegate("targets", md)
    assert md.signatures[0].method == "ecdsa"


def _set(path: list[Any], value: Any) -> Any:
    def change(obj: Any) -> None:
        target = obj
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Any:
    def change(obj: Any) -> None:
        target = obj
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


MALFORMED_ROOT = [
    ("lowercase _type", _set(["signed", "_type"], "root"), "expected type Root"),
    ("other _type", _set(["signed", "_type"], "Targets"), "expected type Root"),
    ("float version", _set(["signed", "version"], 5.0), "version"),
    ("zero version", _set(["signed", "version"], 0), "version must be at least 1"),
    ("bool version", _set(["signed", "version"], True), "version"),
    ("string version", _set(["signed", "version"], "1"), "version"),
    ("no expires", _delete(["signed", "expires"]), "expires"),
    ("bad expires", _set(["signed", "expires"], "tomorrow"), "expires"),
    ("no keys", _delete(["signed", "keys"]), "keys"),
    ("missing base role", _delete(["signed", "roles", "snapshot"]), "missing snapshot role"),
    ("zero threshold", _set(["signed", "roles", "root", "threshold"], 0), "threshold"),
    ("unknown role key", _set(["signed", "roles", "root", "keyids"], ["ab" * 32]), "not in keys"),
    ("consistent_snapshot type", _set(["signed", "consistent_snapshot"], "no"), "consistent_snapshot"),
    ("signed not object", _set(["signed"], []), "'signed' must be a JSON object"),
    ("signatures not list", _set(["signatures"], {}), "'signatures' must be a list"),
    ("bad sig base64", _set(["signatures", 0, "sig"], "not base64!"), "sig is not valid base64"),
    ("unpadded sig", lambda o: o["signatures"][0].update(sig=o["signatures"][0]["sig"].rstrip("=") + "A"), "base64"),
    ("keyid not string", _set(["signatures", 0, "keyid"], 7), "must be strings"),
]


@pytest.mark.parametrize(("name", "change", "message"), MALFORMED_ROOT, ids=[m[0] for m in MALFORMED_ROOT])
def test_malformed_root(repo: ParsedRepo, name: str, change: Any, message: str) -> None:
    with pytest.raises(tk.MalformedMetadataError, match=message):
        tk.Metadata.from_bytes(edit(repo.root.to_bytes(), change), role="root")


def test_key_with_bad_base64_in_root(repo: ParsedRepo) -> None:
    keyid = repo.root.signed.roles["targets"].keyids[0]
    data = edit(repo.root.to_bytes(), _set(["signed", "keys", keyid, "keyval", "public"], "%%%"))
    with pytest.raises(tk.MalformedMetadataError, match=keyid):
        tk.Metadata.from_bytes(data)


MALFORMED_TARGETS = [
    ("bad hash base64", _set(["signed", "targets", "v1", "hashes", "sha256"], "***"), "not valid base64"),
    ("short sha256", _set(["signed", "targets", "v1", "hashes", "sha256"], "AAAA"), "32 bytes"),
    ("negative length", _set(["signed", "targets", "v1", "length"], -1), "length"),
    ("float length", _set(["signed", "targets", "v1", "length"], 1.5), "length"),
    ("no targets", _delete(["signed", "targets"]), "targets"),
    ("target not object", _set(["signed", "targets", "v1"], 3), "must be an object"),
    ("uppercase delegation", _set(["signed", "delegations", "roles", 0, "name"], "targets/Releases"), "invalid"),
    ("grandchild delegation", _set(["signed", "delegations", "roles", 0, "name"], "targets/a/b"), "invalid"),
    ("not a delegation", _set(["signed", "delegations", "roles", 0, "name"], "releases"), "invalid"),
    ("dotted delegation", _set(["signed", "delegations", "roles", 0, "name"], "targets/../x"), "invalid"),
    ("delegation threshold", _set(["signed", "delegations", "roles", 0, "threshold"], 0), "threshold"),
    ("roles not list", _set(["signed", "delegations", "roles"], {}), "must be a list"),
    ("custom float", _set(["signed", "targets", "v1", "custom"], 1.5), "cannot encode"),
]


@pytest.mark.parametrize(("name", "change", "message"), MALFORMED_TARGETS, ids=[m[0] for m in MALFORMED_TARGETS])
def test_malformed_targets(repo: ParsedRepo, name: str, change: Any, message: str) -> None:
    with pytest.raises(tk.MalformedMetadataError, match=message):
        tk.Metadata.from_bytes(edit(repo.targets.to_bytes(), change), role="targets")


def test_duplicate_delegation_names(repo: ParsedRepo) -> None:
    data = edit(
        repo.targets.to_bytes(),
        lambda o: o["signed"]["delegations"]["roles"].append(o["signed"]["delegations"]["roles"][0]),
    )
    with pytest.raises(tk.MalformedMetadataError, match="listed twice"):
        tk.Metadata.from_bytes(data)


def test_delegations_must_be_children_of_the_file_role(repo: ParsedRepo) -> None:
    data = repo.targets.to_bytes()
    tk.Metadata.from_bytes(data, role="targets")
    with pytest.raises(tk.MalformedMetadataError, match="delegation role targets/releases invalid"):
        tk.Metadata.from_bytes(data, role="targets/other")


def test_role_and_type_must_agree(repo: ParsedRepo) -> None:
    with pytest.raises(tk.MalformedMetadataError, match="expected type Targets, not Root"):
        tk.Metadata.from_bytes(repo.root.to_bytes(), role="targets/releases")
    with pytest.raises(tk.MalformedMetadataError, match="not a valid role"):
        tk.Metadata.from_bytes(repo.root.to_bytes(), role="Targets/x")


def test_snapshot_and_timestamp_require_meta() -> None:
    expires = tk.default_expiry("snapshot")
    with pytest.raises(tk.MalformedMetadataError, match="missing root meta"):
        tk.Snapshot(version=1, expires=expires, meta={"targets": tk.MetaFile.from_data(b"x")})
    with pytest.raises(tk.MalformedMetadataError, match="sha256"):
        tk.Snapshot(
            version=1,
            expires=expires,
            meta={"root": tk.MetaFile.from_data(b"x", algorithms=["sha512"]), "targets": tk.MetaFile.from_data(b"")},
        )
    with pytest.raises(tk.MalformedMetadataError, match="snapshot meta"):
        tk.Timestamp(version=1, expires=expires, meta={})


def test_every_truncation_is_a_typed_error(repo: ParsedRepo) -> None:
    data = repo.releases.to_bytes()
    for end in range(len(data)):
        with pytest.raises(tk.MalformedMetadataError):
            tk.Metadata.from_bytes(data[:end])


@pytest.mark.parametrize("data", [b"[]", b"null", b"1", b'{"signed":1}', b"x", b"\xff"])
def test_not_an_envelope(data: bytes) -> None:
    with pytest.raises(tk.MalformedMetadataError):
        tk.Metadata.from_bytes(data)


def test_from_bytes_needs_bytes() -> None:
    with pytest.raises(tk.MalformedMetadataError, match="expected bytes"):
        tk.Metadata.from_bytes("{}")  # type: ignore[arg-type]


def test_html_characters_and_unicode_names(repo: ParsedRepo) -> None:
    names = ["a<b>&c", "caf\u00e9 \U0001f600", "line\u2028sep", "sl/ash es", "x" * 500]
    targets = repo.releases.signed
    for name in names:
        targets = targets.with_target(name, tk.TargetFile.from_data(name.encode(), custom={"z": 1, "a": [name]}))
    md = tk.Metadata(targets).sign(repo.releases_key.signer())
    data = md.to_bytes()
    assert b"a\\u003cb\\u003e\\u0026c" in data and b"\\u2028" in data and "caf\u00e9".encode() in data
    again = tk.Metadata.from_bytes(data, role="targets/releases")
    assert again.to_bytes() == data
    assert set(names) <= set(again.signed.targets)
    assert again.signed.targets[names[0]].custom == {"a": [names[0]], "z": 1}
    repo.targets.signed.verify_delegate("targets/releases", again)


def test_control_characters_cannot_be_written(repo: ParsedRepo) -> None:
    targets = repo.releases.signed.with_target("bad\nname", tk.TargetFile.from_data(b""))
    with pytest.raises(tk.CanonicalizationError, match="control character"):
        tk.Metadata(targets).to_bytes()


def test_custom_is_written_canonically(repo: ParsedRepo) -> None:
    targets = repo.releases.signed.with_target("c", tk.TargetFile.from_data(b"", custom={"b": 2, "a": 1.0}))
    data = tk.Metadata(targets).to_bytes()
    assert b'"custom":{"a":1,"b":2}' in data
    with pytest.raises(tk.CanonicalizationError):
        tk.TargetFile.from_data(b"", custom={"a": 0.5})


def test_expiry(repo: ParsedRepo) -> None:
    targets = repo.targets.signed
    assert not targets.is_expired()
    assert targets.is_expired(targets.expires + timedelta(seconds=1))
    offset = timezone(timedelta(hours=-5))
    moved = attrs.evolve(targets, expires=datetime(2116, 7, 3, 17, 56, 36, 27379, tzinfo=offset))
    assert moved.expires_text == "2116-07-03T17:56:36.027379-05:00"
    assert attrs.evolve(targets, expires="2116-07-03T17:56:36.027379879-05:00").expires_text.endswith("879-05:00")
    bumped = targets.bump(expires=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert bumped.version == targets.version + 1 and bumped.expires_text == "2030-01-01T00:00:00Z"


def test_default_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert tk.default_expiry("root", now=now) - now == timedelta(days=3650)
    assert tk.default_expiry("targets/releases", now=now) - now == timedelta(days=3 * 365)
    assert tk.default_expiry("timestamp", now=now) - now == timedelta(days=14)
    with pytest.raises(tk.UnknownRoleError):
        tk.default_expiry("mirror")


def test_sign_as_certificate_key_checks_match(repo: ParsedRepo) -> None:
    with pytest.raises(tk.SigningError, match="is not the key"):
        tk.Metadata(repo.root.signed).sign(repo.targets_key.signer(), key=repo.root_cert)


def test_resigning_replaces_own_signature(repo: ParsedRepo) -> None:
    again = repo.targets.sign(repo.targets_key.signer())
    assert len(again.signatures) == 1
    both = again.sign(repo.root_key.signer())
    assert len(both.signatures) == 2
    assert len(both.sign(repo.root_key.signer(), append=False).signatures) == 1


def test_with_role_keys_keeps_old_root_certificates(repo: ParsedRepo) -> None:
    root = repo.root.signed
    new_key = tk.generate_private_key()
    new_cert = tk.make_root_key(new_key, GUN)
    rotated = root.with_role_keys("root", [new_cert])
    assert rotated.roles["root"].keyids == (new_cert.key_id,)
    assert repo.root_cert.key_id in rotated.keys
    new_targets = tk.generate_private_key().public_key
    swapped = rotated.with_role_keys("targets", [new_targets])
    assert repo.targets_key.public_key.key_id not in swapped.keys
    assert swapped.role_keys("targets") == {new_targets.key_id: new_targets}


def test_target_helpers() -> None:
    target = tk.TargetFile.from_digest("sha256:" + "ab" * 32, 528)
    assert target.sha256_hex == "ab" * 32 and target.to_dict() == {
        "hashes": {"sha256": base64.b64encode(bytes.fromhex("ab" * 32)).decode()},
        "length": 528,
    }
    with pytest.raises(tk.MalformedMetadataError):
        tk.TargetFile.from_digest("abcd", 1)
    targets = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target("t", target)
    assert "t" not in targets.without_target("t").targets
    with pytest.raises(tk.MalformedMetadataError, match="not provided"):
        targets.with_delegation(tk.DelegatedRole(["ab" * 32], 1, name="targets/x"))
    assert tk.DelegatedRole([], 1, name="targets/x", paths=["v1"]).covers("v10")
    assert not tk.DelegatedRole([], 1, name="targets/x").covers("v1")


def test_models_are_immutable(repo: ParsedRepo) -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        repo.targets.signed.version = 7  # type: ignore[misc]
    with pytest.raises(TypeError):
        repo.targets.signed.targets["new"] = tk.TargetFile.from_data(b"")  # type: ignore[index]
    with pytest.raises(TypeError, match="unhashable"):
        hash(repo.targets)


def test_error_hierarchy() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), tk.TrustkitError)
    for kind in (tk.ThresholdError, tk.ExpiredMetadataError, tk.RollbackError, tk.KeyIdMismatchError):
        assert issubclass(kind, tk.VerificationError)
    assert issubclass(tk.PassphraseError, tk.KeyFormatError)


def test_go_nil_lists_round_trip(repo: ParsedRepo) -> None:
    """notary writes emptied keyids and roles as null, and a missing delegations object as nulls."""
    data = edit(repo.targets.to_bytes(), _set(["signed", "delegations", "roles", 0, "keyids"], None))
    assert b'"keyids":null' in data and tk.Metadata.from_bytes(data).to_bytes() == data
    data = edit(repo.targets.to_bytes(), _set(["signed", "delegations", "roles"], None))
    assert tk.Metadata.from_bytes(data).to_bytes() == data
    absent = tk.Metadata.from_bytes(edit(repo.targets.to_bytes(), _delete(["signed", "delegations"])))
    assert b'"delegations":{"keys":null,"roles":null}' in absent.to_bytes()
    assert absent.signed.delegations.roles == ()
    root_data = edit(repo.root.to_bytes(), _set(["signed", "roles", "snapshot", "keyids"], None))
    assert tk.Metadata.from_bytes(root_data).to_bytes() == root_data
    built = tk.Targets(version=1, expires=tk.default_expiry("targets"))
    assert b'"delegations":{"keys":{},"roles":[]}' in tk.Metadata(built).to_bytes()
