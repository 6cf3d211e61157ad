"""Property-based tests (hypothesis) of every parser of outside bytes, and the round-trip properties.

Contract for every parser: whatever the bytes, the only exceptions that escape are ``TrustkitError`` subclasses
(the entries in ``targets.py`` check it, and the invariants of what they return). Inputs: random bytes; valid
files from the repository simulator mutated byte-wise (truncations, bit flips, splices) and JSON-wise (fields
deleted, retyped, duplicated, numbers turned to floats/huge/negative, strings with control characters, lone
surrogates and HTML, deep nesting); PEM files with their DER mutated.

Round trips: trust data built by trustkit (random target names with HTML and non-ASCII characters, random custom
JSON, random delegations, any version and expiry) serialises, parses and serialises to the same bytes and the
same model; and a changed byte inside ``signed`` never verifies another message.

The remote layer: notary-server error responses, ``WWW-Authenticate`` values, token responses, docker's
``config.json``, credential-helper output and image references, mutated from real ones and hostile JSON; any
challenge written out parses back to itself; any valid image reference normalises as docker's
``ParseNormalizedNamed`` does; and the fuzz entry's stand-in for a credential helper reads what a real helper
program prints exactly as running it does.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import trustkit as tk
from tests.robustness import budget, targets
from tests.robustness.corpus import corpus
from tests.robustness.figures import FIGURES, record
from tests.robustness.strategies import (
    custom_json,
    delegated_roles,
    go_times,
    hostile_json,
    hostile_text,
    json_texts,
    mutated,
    public_keys,
    rfc3339_texts,
    target_files,
    target_names,
)
from tests.robustness.targets import ENTRIES, METADATA_ROLES, STEPS, exact
from trustkit._encoding import GoTime, canonical, decode, go_html_escape
from trustkit.remote import auth
from trustkit.remote.auth import Challenge, parse_www_authenticate
from trustkit.remote.config import ImageReference

P = ParamSpec("P")
R = TypeVar("R")

PROPERTY = settings(
    max_examples=budget.HYPOTHESIS_EXAMPLES,
    deadline=timedelta(seconds=5),  # generous for slow CI; a real hang is caught by pytest-timeout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SEEDS = corpus()
FILES = sorted(SEEDS.files.items())
ROOT = tk.Metadata.from_bytes(SEEDS.files["root"], role="root")
MODELS = {role: tk.Metadata.from_bytes(data, role=role) for role, data in SEEDS.files.items()}
MUTATIONS = ("bytes", "json", "truncate", "flip")


def counted(test: Callable[P, R]) -> Callable[P, R]:
    """Count the examples a property ran, for the suite's figures."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        entry = FIGURES.setdefault("properties", {}).setdefault(test.__name__, {"examples": 0})
        entry["examples"] += 1
        return test(*args, **kwargs)

    return run


def _metadata(role: str | None, data: bytes) -> None:
    targets.metadata_role(bytes([METADATA_ROLES.index(role)]) + data)


# --- metadata envelopes and every role ------------------------------------------------------------------------


@PROPERTY
@given(role=st.sampled_from(METADATA_ROLES), data=st.binary(max_size=2048))
@counted
def test_metadata_random_bytes(role: str | None, data: bytes) -> None:
    _metadata(role, data)


@pytest.mark.parametrize("how", MUTATIONS)
@PROPERTY
@given(role=st.sampled_from(METADATA_ROLES), data=st.data())
@counted
def test_metadata_mutated(how: str, role: str | None, data: st.DataObject) -> None:
    """Valid files of every role, mutated, parsed with and without a role."""
    _metadata(role, data.draw(mutated(SEEDS.metadata, how=how)))


@PROPERTY
@given(role=st.sampled_from(METADATA_ROLES), value=hostile_json, where=st.sampled_from(["signed", "envelope"]))
@counted
def test_metadata_hostile_json(role: str | None, value: Any, where: str) -> None:
    envelope = {"signed": value, "signatures": []} if where == "signed" else value
    _metadata(role, json.dumps(envelope).encode())


@PROPERTY
@given(step=st.sampled_from(STEPS), data=st.data())
@counted
def test_trusted_set_with_a_mutated_file(step: str, data: st.DataObject) -> None:
    """The update workflow with one file mutated: a typed error, or (bytes that mean the same) the same message."""
    seed = SEEDS.files["root" if step == "root-update" else step]
    changed = data.draw(mutated([seed], how=data.draw(st.sampled_from(MUTATIONS))))
    targets.trusted_set(bytes([STEPS.index(step)]) + changed)


@PROPERTY
@given(data=mutated([SEEDS.root_cert_der], how="bytes"), first_contact=st.booleans())
@counted
def test_root_with_a_mutated_certificate(data: bytes, first_contact: bool) -> None:
    """A root whose certificate DER is mutated: first contact and rotation fail with typed errors only."""
    targets.root_certificate(bytes([int(first_contact)]) + data)


# --- keys --------------------------------------------------------------------------------------------------------


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.key_dicts, how="json"), hostile_json.map(lambda v: json.dumps(v).encode())))
@counted
def test_public_key_from_dict(data: bytes) -> None:
    targets.public_key_dict(data)


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.public_pems, how="pem"), mutated(SEEDS.public_pems), st.binary(max_size=512)))
@counted
def test_public_key_from_pem(data: bytes) -> None:
    targets.public_key_pem(data)


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.public_ders, how="bytes"), st.binary(max_size=512)))
@counted
def test_public_key_from_der(data: bytes) -> None:
    targets.public_key_der(data)


@PROPERTY
@given(
    passphrase=st.integers(0, 255),
    data=st.one_of(mutated(SEEDS.private_pems, how="pem"), mutated(SEEDS.private_pems), st.binary(max_size=512)),
)
@counted
def test_load_private_key(passphrase: int, data: bytes) -> None:
    targets.private_key(bytes([passphrase]) + data)


# --- changelist, pinning, times, JSON -----------------------------------------------------------------------------


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.changes), json_texts(), st.binary(max_size=256)))
@counted
def test_change_from_bytes(data: bytes) -> None:
    targets.change(data)


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.delegation_payloads), json_texts(), st.binary(max_size=256)))
@counted
def test_delegation_change_from_json(data: bytes) -> None:
    targets.delegation_change(data)


@PROPERTY
@given(
    data=st.one_of(
        mutated(SEEDS.pinning_configs, how="json"),
        st.dictionaries(st.sampled_from(["trust_pinning", "certs", "ca", "disable_tofu"]), hostile_json).map(
            lambda v: json.dumps(v).encode()
        ),
    )
)
@counted
def test_trust_pinning_from_config(data: bytes) -> None:
    targets.trust_pinning(data)


@PROPERTY
@given(text=st.one_of(rfc3339_texts(), st.text(max_size=40), mutated(SEEDS.times).map(lambda b: b.decode("latin-1"))))
@counted
def test_go_time_parse(text: str) -> None:
    targets.go_time(text.encode("utf-8", "surrogatepass"))


@PROPERTY
@given(text=rfc3339_texts())
@counted
def test_go_time_accepts_what_go_writes(text: str) -> None:
    """Every RFC 3339 time with a valid date parses, and its normal form is stable."""
    parsed = GoTime.parse(text)
    assert GoTime.parse(parsed.text) == parsed
    assert parsed.datetime.tzinfo is not None


@PROPERTY
@given(data=st.one_of(json_texts(), st.binary(max_size=512), mutated(SEEDS.json_texts)))
@counted
def test_decode(data: bytes) -> None:
    targets.json_decode(data)


@PROPERTY
@given(value=hostile_json)
@counted
def test_canonical_fast_path_equals_exact_encoder(value: Any) -> None:
    """``canonical(v, plain=True)`` is byte-identical to the exact encoder for every value ``decode`` calls plain."""
    text = json.dumps({"v": value}).encode()  # ASCII escapes: lone surrogates survive as \\udXXX
    decoded, plain = decode(text)
    if plain:
        assert canonical(decoded, plain=True) == exact(decoded)
    try:
        expected: bytes | None = exact(decoded)
    except tk.CanonicalizationError:
        expected = None
    if expected is None:
        with pytest.raises(tk.CanonicalizationError):
            canonical(decoded)
    else:
        assert canonical(decoded) == expected


@PROPERTY
@given(value=hostile_json)
@counted
def test_html_escaping_keeps_the_meaning(value: Any) -> None:
    """Go's envelope escaping (``<>&``, U+2028/9) decodes to the same value; control characters are refused."""
    encoded = canonical(value)
    try:
        escaped = go_html_escape(encoded)
    except tk.CanonicalizationError:
        assert any(byte < 0x20 for byte in encoded)
        return
    assert json.loads(escaped) == json.loads(encoded)
    assert not any(token in escaped for token in (b"<", b">", b"&", "\u2028".encode()))


# --- round trips ---------------------------------------------------------------------------------------------------


def _round_trip(md: tk.Metadata[Any], role: str) -> tk.Metadata[Any]:
    data = md.to_bytes()
    parsed = tk.Metadata.from_bytes(data, role=role)
    assert parsed.to_bytes() == data
    assert parsed.signed == md.signed
    assert parsed.signed_bytes == md.signed_bytes
    return parsed


@PROPERTY
@given(
    files=st.dictionaries(target_names, target_files(), max_size=6),
    delegations=st.lists(delegated_roles(), max_size=3, unique_by=lambda d: d[0].name),
    version=st.integers(1, 2**53),
    expires=go_times,
)
@counted
def test_targets_round_trip(
    files: dict[str, tk.TargetFile],
    delegations: list[tuple[tk.DelegatedRole, list[tk.PublicKey]]],
    version: int,
    expires: GoTime,
) -> None:
    """``from_bytes(x).to_bytes() == x`` for signed targets built by trustkit, and the signature still verifies."""
    signed = tk.Targets(version=version, expires=expires, targets=files)
    for role, keys in delegations:
        signed = signed.with_delegation(role, keys)
    md = tk.Metadata(signed).sign(SEEDS.sim.keys["targets"].signer())
    parsed = _round_trip(md, "targets")
    ROOT.signed.verify_delegate("targets", parsed)


@PROPERTY
@given(
    files=st.dictionaries(target_names, target_files(), max_size=4),
    delegation=delegated_roles(parent="targets/releases"),
    custom=custom_json,
)
@counted
def test_delegated_targets_round_trip(
    files: dict[str, tk.TargetFile], delegation: tuple[tk.DelegatedRole, list[tk.PublicKey]], custom: Any
) -> None:
    signed = tk.Targets(version=7, expires=tk.default_expiry("targets")).with_delegation(*delegation)
    signed = signed.with_target("x", tk.TargetFile.from_data(b"x", custom=custom))
    for name, target in files.items():
        signed = signed.with_target(name, target)
    md = tk.Metadata(signed).sign(SEEDS.sim.delegations["targets/releases"].key.signer())
    parsed = _round_trip(md, "targets/releases")
    MODELS["targets"].signed.verify_delegate("targets/releases", parsed)


@PROPERTY
@given(data=st.data(), version=st.integers(1, 2**53), expires=go_times, consistent=st.booleans())
@counted
def test_root_round_trip(data: st.DataObject, version: int, expires: GoTime, consistent: bool) -> None:
    keys = data.draw(st.lists(public_keys(), min_size=1, max_size=6, unique_by=lambda k: k.key_id))
    roles = {}
    for name in ("root", "targets", "snapshot", "timestamp"):
        chosen = data.draw(st.lists(st.sampled_from(keys), max_size=3, unique_by=lambda k: k.key_id))
        roles[name] = tk.Role([k.key_id for k in chosen], data.draw(st.integers(1, 2**53)))
    root = tk.Root(
        version=version,
        expires=expires,
        keys={k.key_id: k for k in keys},
        roles=roles,
        consistent_snapshot=consistent,
    )
    md: tk.Metadata[tk.Root] = tk.Metadata(root)
    if SEEDS.sim.root_certs[0] in keys:
        md = md.sign(SEEDS.sim.root_keys[0].signer(), key=SEEDS.sim.root_certs[0])
    _round_trip(md, "root")


@PROPERTY
@given(
    meta=st.dictionaries(target_names, target_files(), max_size=5),
    version=st.integers(1, 2**53),
    expires=go_times,
    snapshot=target_files(),
)
@counted
def test_snapshot_and_timestamp_round_trip(
    meta: dict[str, tk.TargetFile], version: int, expires: GoTime, snapshot: tk.TargetFile
) -> None:
    files = {name: tk.MetaFile(f.length, f.hashes) for name, f in meta.items()}
    files["root"] = tk.MetaFile.from_data(SEEDS.files["root"])
    files["targets"] = tk.MetaFile.from_data(SEEDS.files["targets"])
    snap = tk.Metadata(tk.Snapshot(version=version, expires=expires, meta=files))
    _round_trip(snap.sign(SEEDS.sim.keys["snapshot"].signer()), "snapshot")
    stamp = tk.Timestamp(
        version=version, expires=expires, meta={"snapshot": tk.MetaFile(snapshot.length, snapshot.hashes)}
    )
    _round_trip(tk.Metadata(stamp).sign(SEEDS.sim.keys["timestamp"].signer()), "timestamp")


@PROPERTY
@given(name=target_names, control=st.characters(max_codepoint=0x1F))
@counted
def test_control_characters_cannot_be_written(name: str, control: str) -> None:
    """Go cannot write a control character in an envelope; trustkit refuses too, with a typed error."""
    signed = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_target(
        name + control, tk.TargetFile.from_data(b"x")
    )
    with pytest.raises(tk.CanonicalizationError):
        tk.Metadata(signed).to_bytes()


# --- a changed signed byte never verifies another message ----------------------------------------------------------

_SIGNED_START = len(b'{"signed":')
_ORIGINAL = {role: md.signed_bytes for role, md in MODELS.items()}


def _verify(role: str, md: tk.Metadata[Any]) -> None:
    if role in ("root", "targets", "snapshot", "timestamp"):
        ROOT.signed.verify_delegate(role, md)
    else:
        MODELS[role.rsplit("/", 1)[0]].signed.verify_delegate(role, md)


def changed_signed_byte(role: str, changed: bytes) -> str:
    """Parse and verify ``changed`` (a file of ``role`` with a byte of ``signed`` changed); say what happened.

    ``malformed`` and ``unverified`` are the expected outcomes. ``same message`` is allowed only when the change
    does not change the decoded ``signed`` value (``\\u003c`` -> ``\\u003C``): what is verified is then exactly the
    message that was signed.
    """
    try:
        md = tk.Metadata.from_bytes(changed, role=role)
    except tk.MalformedMetadataError:
        return "malformed"
    try:
        _verify(role, md)
    except tk.VerificationError:
        return "unverified"
    assert md.signed_bytes == _ORIGINAL[role], f"a changed {role} verified with another message"
    assert md.signed == MODELS[role].signed, f"a changed {role} verified with another model"
    return "same message"


@PROPERTY
@given(data=st.data())
@counted
def test_a_changed_signed_byte_never_verifies_another_message(data: st.DataObject) -> None:
    role, original = data.draw(st.sampled_from(FILES))
    end = original.rindex(b',"signatures":[')
    position = data.draw(st.integers(_SIGNED_START, end - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]))
    changed_signed_byte(role, original[:position] + bytes([byte]) + original[position + 1 :])


def test_every_bit_flip_in_a_signed_timestamp() -> None:
    """Exhaustively: each of the 8 flips of each byte of timestamp.json's ``signed`` part."""
    original = SEEDS.files["timestamp"]
    outcomes: dict[str, int] = {}
    for position in range(_SIGNED_START, original.rindex(b',"signatures":[')):
        for bit in range(8):
            changed = bytearray(original)
            changed[position] ^= 1 << bit
            outcome = changed_signed_byte("timestamp", bytes(changed))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    record("properties", "every_bit_flip_in_a_signed_timestamp", examples=sum(outcomes.values()), **outcomes)
    assert outcomes.get("same message", 0) == 0  # a timestamp has no escape whose case could change


def test_an_escape_written_differently_is_the_same_message() -> None:
    """The one kind of accepted change: ``\\u003c`` written ``\\u003C`` decodes to the same ``signed``."""
    original = SEEDS.files["targets"]
    assert b"\\u003c" in original
    changed = original.replace(b"\\u003c", b"\\u003C", 1)
    assert changed_signed_byte("targets", changed) == "same message"


# --- the remote layer --------------------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _unprefixed(seeds: list[bytes]) -> list[bytes]:
    return [seed[1:] for seed in seeds]


_ERROR_BODIES = [seed[1:].partition(b"\r\n\r\n")[2] or seed[1:] for seed in SEEDS.error_responses]
_HEADER_BLOCKS = [seed[1:].partition(b"\r\n\r\n")[0] for seed in SEEDS.error_responses if b"\r\n\r\n" in seed]
_RESPONSE_BODIES = st.one_of(
    mutated(_ERROR_BODIES, how="json"),
    st.fixed_dictionaries(
        {
            "errors": st.lists(
                st.fixed_dictionaries({"code": hostile_json, "message": hostile_json, "detail": hostile_json})
            )
        }
    ).map(_json),
    json_texts(),
    st.binary(max_size=256),
)


@PROPERTY
@given(
    status=st.integers(0, 255),
    headers=st.one_of(st.sampled_from(_HEADER_BLOCKS), mutated(_HEADER_BLOCKS, how="bytes"), st.binary(max_size=128)),
    body=_RESPONSE_BODIES,
)
@counted
def test_notary_error_responses(status: int, headers: bytes, body: bytes) -> None:
    """Any status, headers and body map to the error the status calls for, keeping the code the body names."""
    targets.notary_error_body(bytes([status]) + headers + b"\r\n\r\n" + body)


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.challenges), st.text(max_size=120).map(str.encode), st.binary(max_size=160)))
@counted
def test_www_authenticate_values(data: bytes) -> None:
    targets.www_authenticate(data)


_TOKEN_VALUES = st.one_of(hostile_json, st.sampled_from(["a", "eyJ0.eyJ1.c2ln", "t\u00f6ken", "a b", "\x7f"]))


@PROPERTY
@given(
    flags=st.integers(0, 255),
    body=st.one_of(
        mutated(_unprefixed(SEEDS.token_responses), how="json"),
        st.fixed_dictionaries(
            {},
            optional={"token": _TOKEN_VALUES, "access_token": _TOKEN_VALUES, "expires_in": hostile_json},
        ).map(_json),
        st.builds(lambda n: b'{"token":"t","expires_in":%d}' % n, st.integers(-(10**400), 10**400)),
        json_texts(),
    ),
)
@counted
def test_token_responses(flags: int, body: bytes) -> None:
    targets.token_response(bytes([flags]) + body)


_AUTH_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "auth": st.one_of(hostile_json, st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode())),
        "username": hostile_json,
        "password": hostile_json,
        "identitytoken": hostile_json,
    },
)


@PROPERTY
@given(
    mode=st.integers(0, 1),
    config=st.one_of(
        mutated(SEEDS.docker_configs, how="json"),
        st.fixed_dictionaries(
            {"auths": st.dictionaries(hostile_text, _AUTH_ENTRY, max_size=3)},
            optional={"credsStore": hostile_json, "credHelpers": st.dictionaries(hostile_text, hostile_json)},
        ).map(_json),
        json_texts(),
    ),
)
@counted
def test_docker_configs(mode: int, config: bytes) -> None:
    targets.docker_config(bytes([mode]) + config)


@PROPERTY
@given(
    flags=st.integers(0, 3),
    output=st.one_of(
        mutated(_unprefixed(SEEDS.helper_outputs), how="json"),
        st.fixed_dictionaries({}, optional={"Username": hostile_json, "Secret": hostile_json}).map(_json),
        st.binary(max_size=128),
    ),
)
@counted
def test_credential_helper_outputs(flags: int, output: bytes) -> None:
    targets.credential_helper(bytes([flags]) + output)


@PROPERTY
@given(data=st.one_of(mutated(SEEDS.image_references, how="bytes"), st.text(max_size=60).map(str.encode)))
@counted
def test_image_reference_texts(data: bytes) -> None:
    targets.image_reference(data)


_SCHEME_OR_NAME = st.from_regex(r"[!#$%&'*+.^_`|~0-9a-z-]{1,12}", fullmatch=True)


@PROPERTY
@given(
    challenges=st.lists(
        st.builds(
            Challenge,
            _SCHEME_OR_NAME,
            st.dictionaries(_SCHEME_OR_NAME, st.text(st.characters(exclude_categories=["Cs"]), max_size=20)),
        ),
        max_size=4,
    )
)
@counted
def test_written_challenges_parse_back(challenges: list[Challenge]) -> None:
    """Challenges written with quoted values (quotes, backslashes, commas, controls, non-ASCII) parse back."""
    assert parse_www_authenticate(targets.write_challenges(challenges)) == challenges


_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_HOST = st.from_regex(
    r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-z0-9])?){1,3}", fullmatch=True
)
_DOMAIN = st.one_of(
    st.none(),
    st.sampled_from(["localhost", "docker.io", "index.docker.io", "[::1]", "[fe80::1]:443"]),
    st.tuples(st.one_of(_HOST, st.just("localhost")), st.integers(1, 65535)).map(lambda hp: f"{hp[0]}:{hp[1]}"),
    _HOST,
)


@PROPERTY
@given(
    domain=_DOMAIN,
    components=st.lists(_COMPONENT, min_size=1, max_size=4),
    tag=st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    digest=st.none() | st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
)
@counted
def test_image_references_normalise_as_docker_does(
    domain: str | None, components: list[str], tag: str | None, digest: str | None
) -> None:
    """A valid reference keeps its registry (``docker.io`` when none, for ``index.docker.io`` too), its path
    (``library/`` before a lone Hub name), tag and digest; its normal form parses to itself."""
    # with no registry, a first component holding "." is one (docker's splitDockerDomain): "0.0/app" is on 0.0
    assume(domain is not None or len(components) == 1 or "." not in components[0])
    path = "/".join(components)
    text = (f"{domain}/" if domain else "") + path + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    want_domain = "docker.io" if domain in (None, "docker.io", "index.docker.io") else domain
    want_path = f"library/{path}" if want_domain == "docker.io" and len(components) == 1 else path
    ref = ImageReference.parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (want_domain, want_path, tag, digest)
    assert ref.gun == f"{want_domain}/{want_path}"
    assert ImageReference.parse(str(ref)) == ref


_FAKE_HELPER = """#!/bin/sh
cat >/dev/null
if [ "$FAKE_HELPER_STDERR" = 1 ]; then cat "$FAKE_HELPER_OUTPUT" >&2; else cat "$FAKE_HELPER_OUTPUT"; fi
exit "$FAKE_HELPER_EXIT"
"""


def _helper_outcome(call: Callable[[], Any]) -> tuple[str, object]:
    try:
        return "returned", call()
    except tk.TrustkitError as exc:
        return type(exc).__name__, str(exc)


def test_the_credential_helper_entry_reads_what_a_real_helper_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fuzz entry runs ``run_credential_helper`` with ``subprocess`` replaced: a real helper program printing
    the same bytes (stdout or stderr, exit 0 or 1) gives the same credentials or the same error."""
    (tmp_path / "docker-credential-fuzz").write_text(_FAKE_HELPER)
    (tmp_path / "docker-credential-fuzz").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    output = tmp_path / "output"
    monkeypatch.setenv("FAKE_HELPER_OUTPUT", str(output))
    inputs = [
        *targets.seeds("credential_helper"),
        b'\x00{"Username":"\\ud800","Secret":"\\udfff"}',
        b"\x00not JSON",
        b"\x00[]",
        b"\x01",
        b"\x02" + _json({"Username": "u", "Secret": "s"}),
        b'\x00{"Username":"<token>","Secret":""}',
        b"\x00" + b" " * (1 << 20) + b"{}",  # beyond the 1 MiB read: not JSON
    ]
    for data in inputs:
        run = targets.helper_run(data)
        output.write_bytes(run.result.stdout or run.result.stderr)
        monkeypatch.setenv("FAKE_HELPER_STDERR", "1" if run.result.stderr else "0")
        monkeypatch.setenv("FAKE_HELPER_EXIT", str(run.result.returncode))
        real = _helper_outcome(lambda: auth.run_credential_helper("fuzz", auth.DOCKER_HUB_AUTH_KEY))
        with targets.fake_credential_helper(run):
            stubbed = _helper_outcome(lambda: auth.run_credential_helper("fuzz", auth.DOCKER_HUB_AUTH_KEY))
        assert real == stubbed, f"input {data[:80]!r}"
    record("properties", "credential_helper_stub_matches_a_real_helper", examples=len(inputs))


# --- bounded memory ------------------------------------------------------------------------------------------------

ADVERSARIAL = {
    "deep-array": b"[" * 50_000 + b"]" * 50_000,
    "deep-object": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "huge-exponent": b'{"signed":{"_type":"Targets","version":1e999999999,"expires":"x"},"signatures":[]}',
    "long-number": b"[" + b"9" * 4000 + b"]",
    "long-string": b'["' + b"a" * 200_000 + b'"]',
    "wide-array": b"[" + b"0," * 50_000 + b"0]",
    "many-keys": b"{" + b",".join(b'"k%d":0' % i for i in range(20_000)) + b"}",
    "pem-many-blocks": b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" * 2_000,
    "base64-junk": b'{"keytype":"ecdsa","keyval":{"public":"' + b"A" * 100_000 + b'"}}',
}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_parsers_allocate_in_proportion_to_their_input(name: str) -> None:
    """No parser allocates more than 64 bytes per input byte (plus 16 MB) on hostile inputs of up to 200 KB."""
    entry = ENTRIES[name]
    worst = 0.0
    for label, payload in ADVERSARIAL.items():
        tracemalloc.start()
        try:
            entry(payload)
        except Exception:  # escapes are the other tests' business; here only memory counts
            pass
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        limit = 64 * len(payload) + 16 * 1024 * 1024
        if len(payload) >= 50_000:  # below that the fixed allowance dominates the ratio
            worst = max(worst, peak / len(payload))
        assert peak <= limit, f"{name} on {label}: peak {peak} bytes for {len(payload)} input bytes"
    record("properties", f"memory_{name}", examples=len(ADVERSARIAL), worst_bytes_per_input_byte=round(worst, 1))
