"""The performance paths give exactly what the plain paths give.

* the canonical text proof (``is_canonical_text``): whenever it accepts a file's ``signed`` text, that text *is*
  docker/go canonical JSON of the decoded value -- checked against the exact encoder on adversarial inputs;
* the optional orjson accelerator: byte-identical to the standard library, on and off;
* the lazy ``targets`` mapping and its overlays: the same as the dict they replace, and validation at load time
  as strict as before;
* the verification memo: a check is skipped only for the same bytes under the same keys and threshold.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, FakeRemote, RepoSim
from trustkit import _encoding
from trustkit._encoding import TextSpan, canonical, count_sorted_keys, decode, decode_envelope, is_canonical_text
from trustkit.client import MetadataCache, Reader
from trustkit.client.cache import VERIFIED_FILE
from trustkit.metadata.roles import _ParsedTargets
from trustkit.trust.trusted_set import VerificationMemo, verification_token

try:  # orjson is optional: the tests that need it skip without it
    import orjson  # noqa: F401

    HAVE_ORJSON = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_ORJSON = False


def exact(value: Any) -> bytes:
    """The reference: docker/go canonical JSON by the exact (slow) encoder."""
    out: list[str] = []
    _encoding._encode(value, out)
    return "".join(out).encode("utf-8")


@pytest.fixture(params=[False, True] if HAVE_ORJSON else [False], ids=["stdlib", "orjson"][: 1 + HAVE_ORJSON])
def accelerator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(_encoding, "USE_ORJSON", request.param)
    return bool(request.param)


# --- JSON values meant to break the proof ----------------------------------------------------------------

TRICKY_TEXT = st.sampled_from(['":', ":", '"', "\\", " ", "\n", "\t", "\x01", "<", "&", "\u2028", "-0", "é", "𝄞"])
KEYS = st.one_of(st.text(max_size=6), TRICKY_TEXT, st.sampled_from(["hashes", "length", "sha256", "targets"]))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.text(max_size=8),
    TRICKY_TEXT,
    st.floats(allow_nan=False, allow_infinity=False),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=25
)


def _serialise(value: Any, rng: random.Random) -> str:
    """JSON text of ``value``, written in one of many ways: canonical-looking, unsorted, spaced, escaped, with a
    key given twice, with -0 for 0."""
    if isinstance(value, dict):
        items = list(value.items())
        if rng.random() < 0.3:
            rng.shuffle(items)
        parts = [f"{_serialise(k, rng)}:{_serialise(v, rng)}" for k, v in items]
        if items and rng.random() < 0.1:  # a key given twice (json keeps the last)
            key, val = items[-1]
            parts.insert(0, f"{_serialise(key, rng)}:{_serialise([val], rng)}")
        sep = ", " if rng.random() < 0.1 else ","
        return "{" + sep.join(parts) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_serialise(v, rng) for v in value) + "]"
    if isinstance(value, str):
        if rng.random() < 0.2:
            return json.dumps(value)  # ASCII escapes
        return json.dumps(value, ensure_ascii=False)
    if value == 0 and not isinstance(value, bool) and isinstance(value, int) and rng.random() < 0.3:
        return "-0"
    return json.dumps(value)


@settings(max_examples=400, deadline=None)
@given(value=st.dictionaries(KEYS, VALUES, max_size=6), seed=st.integers(0, 2**32))
def test_the_canonical_text_proof_never_accepts_a_non_canonical_text(value: dict[str, Any], seed: int) -> None:
    text = _serialise(value, random.Random(seed)).encode()
    decoded, plain = decode(text)
    if not plain:
        return  # the proof is only asked of plain values
    if is_canonical_text(TextSpan(text, 0, len(text)), decoded, sorted_keys=count_sorted_keys(decoded)):
        assert text == exact(decoded)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(KEYS, VALUES, max_size=6))
def test_the_canonical_text_proof_accepts_canonical_text(value: dict[str, Any]) -> None:
    decoded, plain = decode(json.dumps(value).encode())
    if not plain:
        return
    text = exact(decoded)
    if any(b in text for b in (b"\\", b" ", b"\n", b"\t", b"\r", b"-0", b'":"', b'"":')):
        return  # (such texts need the encoder: the proof covers text without escapes or whitespace)
    if text.count(b'":') != count_sorted_keys(decoded):
        return  # a string that starts with a colon: counted as a key, so refused (conservatively)
    assert is_canonical_text(TextSpan(text, 0, len(text)), decoded, sorted_keys=count_sorted_keys(decoded))


# --- whole files: fast and slow paths agree ----------------------------------------------------------------


def _digest(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(32)).decode()


def _entry(rng: random.Random, kind: str) -> Any:
    digest = _digest(rng)
    if kind == "docker":
        return {"hashes": {"sha256": digest}, "length": rng.randint(0, 10_000)}
    if kind == "reversed":
        return {"length": rng.randint(1, 10_000), "hashes": {"sha256": digest}}
    if kind == "noncanonical-b64":
        return {"hashes": {"sha256": digest[:42] + "B="}, "length": 5}
    if kind == "custom":
        return {"custom": {"a": [1, "x"], "b": None}, "hashes": {"sha256": digest}, "length": 7}
    if kind == "sha512":
        return {"hashes": {"sha256": digest, "sha512": base64.b64encode(rng.randbytes(64)).decode()}, "length": 9}
    if kind == "extra-key":
        return {"hashes": {"sha256": digest}, "length": 3, "zzz": 1}
    if kind == "zero":
        return {"hashes": {"sha256": digest}, "length": 0}
    raise AssertionError(kind)


KINDS = ["docker", "reversed", "noncanonical-b64", "custom", "sha512", "extra-key", "zero"]


def _targets_file(entries: dict[str, Any], *, signed_text: str | None = None) -> bytes:
    """An unsigned targets file (signatures do not matter for parsing)."""
    signed = {
        "_type": "Targets",
        "delegations": {"keys": {}, "roles": []},
        "expires": "2030-01-01T00:00:00Z",
        "targets": entries,
        "version": 3,
    }
    text = signed_text if signed_text is not None else json.dumps(signed, sort_keys=True, separators=(",", ":"))
    return ('{"signed":' + text + ',"signatures":[]}').encode()


@pytest.mark.parametrize("seed", range(12))
def test_files_parse_to_the_same_bytes_and_models_on_every_path(seed: int, accelerator: bool) -> None:
    rng = random.Random(seed)
    size = rng.choice([3, 70, 300])
    kinds = ["docker"] * 8 + rng.sample(KINDS, 2)
    entries = {f"v{i:05d}": _entry(rng, rng.choice(kinds)) for i in range(size)}
    signed = {
        "_type": "Targets",
        "delegations": {"keys": {}, "roles": []},
        "expires": "2030-01-01T00:00:00Z",
        "targets": entries,
        "version": 3,
    }
    variants = [exact(signed).decode(), json.dumps(signed, separators=(",", ":")), json.dumps(signed)]
    names = list(entries)
    rng.shuffle(names)
    variants.append(json.dumps({**signed, "targets": {n: entries[n] for n in names}}, separators=(",", ":")))
    variants.append(exact(signed).decode().replace('"v00001":', '"v00001":{"length":1},"v00001":', 1))
    for text in variants:
        data = _targets_file(entries, signed_text=text)
        reference, _ = decode(data)
        try:
            expected_targets = {
                n: tk.TargetFile.from_dict(m, where="t") for n, m in reference["signed"]["targets"].items()
            }
        except tk.MalformedMetadataError:
            with pytest.raises(tk.MalformedMetadataError):
                tk.Metadata.from_bytes(data, role="targets")
            continue
        md = tk.Metadata.from_bytes(data, role="targets")
        assert md.signed_bytes == exact(reference["signed"])
        assert dict(md.signed.targets) == expected_targets
        assert list(md.signed.targets) == list(expected_targets)
        eager = tk.Targets(
            version=md.signed.version, expires=md.signed.expires_text, targets=expected_targets,
            delegations=md.signed.delegations,
        )  # fmt: skip
        assert md.signed.to_dict() == eager.to_dict()
        assert md.to_bytes() == tk.Metadata(eager, md.signatures).to_bytes()


@pytest.mark.parametrize(
    "entry",
    [
        {"hashes": {"sha256": "A" * 43 + "="}, "length": True},
        {"hashes": {"sha256": "A" * 43 + "="}, "length": -1},
        {"hashes": {"sha256": "A" * 43 + "="}, "length": 2**53 + 1},
        {"hashes": {"sha256": "A" * 42 + "=="}, "length": 1},
        {"hashes": {"sha256": "A" * 44}, "length": 1},
        {"hashes": {"sha256": "A" * 42 + "é="}, "length": 1},
        {"hashes": {"sha256": 5}, "length": 1},
        {"hashes": {"sha256": "AAAA"}, "length": 1},
        {"hashes": ["A" * 43 + "="], "length": 1},
        {"hashes": {}, "length": 1},
        {"length": 1},
        ["not", "an", "object"],
    ],
)
def test_bulk_validation_reads_odd_entries_as_the_entry_reader_does(entry: Any, accelerator: bool) -> None:
    entries = {f"t{i:03d}": _entry(random.Random(i), "docker") for i in range(100)}
    entries["t050"] = entry
    try:
        expected = tk.TargetFile.from_dict(entry, where="targets target 't050'")
    except tk.MalformedMetadataError as error:
        with pytest.raises(tk.MalformedMetadataError) as found:
            tk.Metadata.from_bytes(_targets_file(entries), role="targets")
        assert str(found.value) == str(error)
    else:
        assert tk.Metadata.from_bytes(_targets_file(entries), role="targets").signed.targets["t050"] == expected


@pytest.mark.skipif(not HAVE_ORJSON, reason="orjson is not installed")
@settings(max_examples=300, deadline=None)
@given(value=VALUES)
def test_orjson_and_json_dumps_give_the_same_canonical_bytes(value: Any) -> None:
    plain_value, plain = decode(json.dumps(value).encode())
    if not plain:
        return
    try:
        _encoding.USE_ORJSON = True
        fast = canonical(plain_value, plain=True)
        _encoding.USE_ORJSON = False
        slow = canonical(plain_value, plain=True)
    finally:
        _encoding.USE_ORJSON = HAVE_ORJSON
    assert fast == slow == exact(plain_value)


@pytest.mark.skipif(not HAVE_ORJSON, reason="orjson is not installed")
@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(KEYS, VALUES, max_size=5), seed=st.integers(0, 2**32))
def test_orjson_envelopes_decode_as_json_does_or_are_refused(value: dict[str, Any], seed: int) -> None:
    text = _serialise(value, random.Random(seed))
    data = ('{"signed":' + text + ',"signatures":[]}').encode()
    try:
        reference, plain = decode(data)
    except tk.MalformedMetadataError:
        return
    fast, _plain, fast_text, provisional = decode_envelope(data, accelerate=True)
    if provisional:  # kept only when the proof holds: then it equals the reference
        assert fast_text is not None
        if plain and is_canonical_text(fast_text, fast["signed"], sorted_keys=count_sorted_keys(fast["signed"])):
            assert fast == reference
    slow, slow_plain, slow_text, slow_provisional = decode_envelope(data, accelerate=False)
    assert not slow_provisional
    assert (slow, slow_plain) == (reference, plain)
    if slow_text is not None:
        assert slow_text.tobytes() == text.encode()


# --- the lazy mapping --------------------------------------------------------------------------------------


def test_parsed_targets_behave_as_the_dict_they_replace() -> None:
    rng = random.Random(7)
    entries = {f"tag-{i:04d}": _entry(rng, "docker") for i in range(200)}
    md = tk.Metadata.from_bytes(_targets_file(entries), role="targets")
    lazy = md.signed.targets
    assert isinstance(lazy, _ParsedTargets)
    model: dict[str, tk.TargetFile] = {n: tk.TargetFile.from_dict(m, where="t") for n, m in entries.items()}
    assert lazy == model and model == lazy and len(lazy) == 200 and list(lazy) == list(model)
    assert repr(lazy) == repr(md.signed.targets) and repr(lazy).startswith("mappingproxy(")
    assert (
        lazy["tag-0003"] is lazy["tag-0003"] and "tag-0003" in lazy and "nope" not in lazy and lazy.get("nope") is None
    )
    with pytest.raises(KeyError):
        lazy["nope"]
    with pytest.raises(TypeError):
        hash(lazy)
    targets = md.signed
    for step in range(300):
        name = rng.choice([*list(model)[:50], "new-a", "new-b", "new-c"])
        if rng.random() < 0.5:
            value = tk.TargetFile.from_digest(rng.randbytes(32), step)
            targets, model = targets.with_target(name, value), {**model, name: value}
        else:
            targets, model = targets.without_target(name), {k: v for k, v in model.items() if k != name}
        assert list(targets.targets) == list(model) and len(targets.targets) == len(model)
        assert dict(targets.targets) == model
    eager = tk.Targets(version=targets.version, expires=targets.expires_text, targets=model)
    assert targets.to_dict() == eager.to_dict()
    assert tk.Metadata(targets).to_bytes() == tk.Metadata(eager).to_bytes()
    assert md.signed.targets == {n: tk.TargetFile.from_dict(m, where="t") for n, m in entries.items()}  # untouched


def test_to_dict_never_hands_out_the_parsed_objects() -> None:
    entries = {f"tag-{i}": _entry(random.Random(i), "docker") for i in range(100)}
    md = tk.Metadata.from_bytes(_targets_file(entries), role="targets")
    out = md.signed.to_dict()
    out["targets"]["tag-1"]["length"] = -5
    out["targets"]["tag-2"]["hashes"]["sha256"] = "changed"
    assert md.signed.targets["tag-1"].length == entries["tag-1"]["length"]
    assert md.signed.to_dict()["targets"]["tag-2"]["hashes"]["sha256"] == entries["tag-2"]["hashes"]["sha256"]


def test_delegation_lookup_is_indexed_and_keeps_first_match() -> None:
    roles = [tk.DelegatedRole(("k",), 1, name=f"targets/r{i}", paths=[""]) for i in range(500)]
    delegations = tk.Delegations({}, roles)
    assert delegations.get("targets/r499") is roles[499]
    with pytest.raises(tk.UnknownRoleError):
        delegations.get("targets/none")


# --- the verification memo ---------------------------------------------------------------------------------


def test_tokens_bind_bytes_keys_and_threshold() -> None:
    a, b = tk.generate_private_key().public_key, tk.generate_private_key().public_key
    keys = {a.key_id: a, b.key_id: b}
    base = verification_token("targets", b"data", [a.key_id], 1, keys)
    assert base == verification_token("targets", b"data", [a.key_id, a.key_id], 1, keys)
    others = {
        verification_token("targets", b"datA", [a.key_id], 1, keys),
        verification_token("targets", b"data", [a.key_id], 2, keys),
        verification_token("targets", b"data", [a.key_id, b.key_id], 1, keys),
        verification_token("targets", b"data", [a.key_id], 1, {a.key_id: b}),
        verification_token("targets", b"data", [a.key_id], 1, {}),
        verification_token("targets/x", b"data", [a.key_id], 1, keys),
    }
    assert base not in others and len(others) == 6


@pytest.fixture
def sim() -> RepoSim:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"content one")
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    for i in range(100):
        sim.delegations["targets/releases"].targets[f"v{i}"] = tk.TargetFile.from_digest(f"{i:02d}" * 32, 200 + i)
    return sim


def _count_verifies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = tk.PublicKey._verify

    def counting(self: tk.PublicKey, method: str, signature: bytes, message: bytes, digest: bytes | None) -> bool:
        calls[0] += 1
        return original(self, method, signature, message, digest)

    monkeypatch.setattr(tk.PublicKey, "_verify", counting)
    return calls


def test_a_warm_read_replays_checks_of_unchanged_files_only(
    sim: RepoSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = FakeRemote()
    remote.serve(sim.publish())
    calls = _count_verifies(monkeypatch)

    def read() -> list[tuple[str, str]]:
        client = Reader(GUN, remote, cache=MetadataCache(tmp_path, GUN), clock=lambda: NOW)  # type: ignore[arg-type]
        return [(m.name, m.role) for m in client.list_targets()]

    first = read()
    cold = calls[0]
    assert (tmp_path / "tuf" / GUN / VERIFIED_FILE).is_file()
    calls[0] = 0
    assert read() == first
    assert calls[0] == 1  # only the cached root's own signature (timestamp, snapshot, targets… replayed)

    sim.delegations["targets/releases"].targets["v-new"] = tk.TargetFile.from_digest("ab" * 32, 1)
    remote.serve(sim.publish())  # every role re-signed: new bytes, so every check runs again
    calls[0] = 0
    assert ("v-new", "targets/releases") in read()
    assert calls[0] == cold


def test_a_memo_for_other_keys_or_a_broken_memo_file_is_not_used(
    sim: RepoSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = FakeRemote()
    remote.serve(sim.publish())
    cache = MetadataCache(tmp_path, GUN)
    Reader(GUN, remote, cache=cache, clock=lambda: NOW).list_targets()  # type: ignore[arg-type]
    records = cache.load_verified()
    assert records
    calls = _count_verifies(monkeypatch)

    forged = {token[:-1] + ("0" if token[-1] != "0" else "1"): ids for token, ids in records.items()}
    cache.store_verified(forged)  # records naming other inputs: never match
    Reader(GUN, remote, cache=cache, clock=lambda: NOW).refresh()  # type: ignore[arg-type]
    full = calls[0]
    assert full > 1

    (tmp_path / "tuf" / GUN / VERIFIED_FILE).write_bytes(b"{not json")
    calls[0] = 0
    Reader(GUN, remote, cache=cache, clock=lambda: NOW).refresh()  # type: ignore[arg-type]
    assert calls[0] == full
    assert cache.load_verified()  # rewritten after a good refresh


def test_replayed_checks_still_refuse_tampered_or_expired_files(sim: RepoSim, tmp_path: Path) -> None:
    remote = FakeRemote()
    remote.serve(sim.publish())
    cache = MetadataCache(tmp_path, GUN)
    Reader(GUN, remote, cache=cache, clock=lambda: NOW).refresh()  # type: ignore[arg-type]
    # the cached delegation is changed on disk: its hash no longer matches the snapshot, so it is fetched again
    path = cache.path / "targets" / "releases.json"
    path.write_bytes(path.read_bytes().replace(b'"version":1', b'"version":1 ', 1))
    trusted = Reader(GUN, remote, cache=cache, clock=lambda: NOW).refresh()  # type: ignore[arg-type]
    assert trusted.raw("targets/releases") == remote.files["targets/releases"]
    later = NOW.replace(year=NOW.year + 20)
    with pytest.raises(tk.ExpiredMetadataError):
        Reader(GUN, remote, cache=cache, clock=lambda: later).refresh()  # type: ignore[arg-type]


def test_memo_records_only_what_was_used() -> None:
    memo = VerificationMemo({"a": ["k1"], "b": ["k2"]})
    assert memo.lookup("a") == frozenset({"k1"}) and memo.lookup("c") is None
    memo.record("c", ["k3"])
    assert memo.records() == {"a": ["k1"], "c": ["k3"]} and memo.worth_storing()
    assert not VerificationMemo({}).worth_storing()


@pytest.mark.parametrize(
    "data",
    [
        b'{"signed":{"a\\ud800":"x\\udfff"},"signatures":[]}',
        b'{"signed":{"a":"x"},"signatures":[{"keyid":"k\\ud800","method":"m","sig":""}]}',
        b'{"signed":{"a":"\\ud83d\\ude00"},"signatures":[]}',
        b'{"signed":{"a":1e999999},"signatures":[]}',
        b'{"signed":{"a":1},"signatures":[],"signed":{"b":2}}',
    ],
)
def test_envelope_decoding_matches_decode_on_odd_files(data: bytes, accelerator: bool) -> None:
    try:
        expected = decode(data)
    except tk.MalformedMetadataError:
        with pytest.raises(tk.MalformedMetadataError):
            decode_envelope(data)
        return
    value, plain, _text, provisional = decode_envelope(data)
    if not provisional:
        assert (value, plain) == expected
    assert decode_envelope(data, accelerate=False)[:2] == expected


# --- listing rows ------------------------------------------------------------------------------------------


def _rows_from_models(trusted: tk.TrustedMetadataSet) -> list[tuple[str, str | None, int, str]]:
    return [(m.name, m.target.sha256_hex, m.target.length, m.role) for m in trusted.list_targets()]


def test_target_rows_are_what_list_targets_lists(tmp_path: Path) -> None:
    """Rows equal the models, over every kind of entry: docker-shaped (many, in bulk), custom data, other hashes,
    no sha256, a path-restricted delegation, names listed by several roles."""
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"content one", algorithms=("sha256", "sha512"))
    sim.targets["custom"] = tk.TargetFile.from_digest("cd" * 32, 5, custom={"a": [1, 2]})
    sim.targets["sha512-only"] = tk.TargetFile(3, {"sha512": b"\x05" * 64})
    releases = sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    for i in range(150):
        releases.targets[f"v{i}"] = tk.TargetFile.from_digest(f"{i:02x}" * 32, 200 + i)
    sim.delegations["targets/beta"] = Delegation(tk.generate_private_key(), ["beta/"])
    sim.delegations["targets/beta"].targets.update(
        {"beta/x": tk.TargetFile.from_digest("ee" * 32, 9), "outside": tk.TargetFile.from_digest("ff" * 32, 1)}
    )
    remote = FakeRemote()
    remote.serve(sim.publish())
    reader = Reader(GUN, remote, cache=MetadataCache(tmp_path, GUN), clock=lambda: NOW)  # type: ignore[arg-type]
    rows = reader.list_target_rows()
    assert rows == _rows_from_models(reader.trusted) and len(rows) == 153
    assert all(isinstance(row, tk.TargetRow) for row in rows)
    assert ("sha512-only", None, 3, "targets") in rows and ("beta/x", "ee" * 32, 9, "targets/beta") in rows
    assert "outside" not in {row.name for row in rows}  # outside the delegation's paths
    for roles in (("targets/releases",), ("targets/beta", "targets/releases")):
        assert [tuple(row) for row in reader.list_target_rows(roles=roles)] == [
            (m.name, m.target.sha256_hex, m.target.length, m.role) for m in reader.list_targets(roles=roles)
        ]


def _docker_targets_file(texts: list[str], extra: dict[str, Any] | None = None) -> bytes:
    targets = {f"t{i:03d}": {"hashes": {"sha256": text}, "length": i} for i, text in enumerate(texts)}
    targets.update(extra or {})
    signed = {"_type": "Targets", "delegations": {"keys": {}, "roles": []}, "expires": "2030-01-01T00:00:00Z"}
    signed.update({"targets": dict(sorted(targets.items())), "version": 1})
    return json.dumps({"signed": signed, "signatures": []}, separators=(",", ":"), sort_keys=True).encode()


@pytest.mark.parametrize("mixed", [False, True])
def test_bulk_digests_equal_the_models_whatever_the_padding_bits(mixed: bool) -> None:
    digests = [bytes(random.Random(i).randrange(256) for _ in range(32)) for i in range(100)]
    texts = [base64.b64encode(d).decode() for d in digests]
    # set the (ignored) low bits of the last character: notary reads these, and re-encodes them canonically
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    texts = [t[:42] + alphabet[alphabet.index(t[42]) | (i % 4)] + "=" if i % 3 else t for i, t in enumerate(texts)]
    extra = {"z-custom": {"custom": {"k": 1}, "hashes": {"sha256": texts[0]}, "length": 7}} if mixed else None
    targets = tk.Metadata.from_bytes(_docker_targets_file(texts, extra), role="targets").signed.targets
    assert isinstance(targets, _ParsedTargets)
    names = list(targets)
    hexes, lengths = targets.sha256_hex_and_lengths(names)
    assert hexes == [targets[n].sha256_hex for n in names] and lengths == [targets[n].length for n in names]
    assert hexes[:100] == [d.hex() for d in digests]
    one = names[5]  # a few names (one tag): read from their models, not by decoding every digest
    assert targets.sha256_hex_and_lengths([one]) == ([targets[one].sha256_hex], [targets[one].length])
    assert targets.sha256_hex_and_lengths([]) == ([], [])
    subset = names[::7][::-1]
    assert targets.sha256_hex_and_lengths(subset) == (
        [targets[n].sha256_hex for n in subset],
        [targets[n].length for n in subset],
    )
    changed = targets.with_target("t001", tk.TargetFile.from_digest("ab" * 32, 1)).without_target("t002")
    rest = [n for n in names if n != "t002"]
    assert changed.sha256_hex_and_lengths(rest)[0][1] == "ab" * 32
    assert changed.sha256_hex_and_lengths(rest) == (
        [changed[n].sha256_hex for n in rest],
        [changed[n].length for n in rest],
    )


def test_targets_digests_and_lengths_of_a_built_role() -> None:
    built = tk.Targets(
        version=1,
        expires=NOW,
        targets={"a": tk.TargetFile.from_digest("ab" * 32, 1), "b": tk.TargetFile(2, {"sha512": b"\x01" * 64})},
    )
    assert built.sha256_hex_and_lengths(["b", "a"]) == ([None, "ab" * 32], [2, 1])
