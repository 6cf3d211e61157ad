"""Hypothesis strategies: hostile JSON and text, mutations of valid seeds, and valid trust data to round-trip."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

import trustkit as tk
from tests.robustness import mutations
from tests.robustness.corpus import corpus
from trustkit._encoding import GoTime

__all__ = [
    "custom_json",
    "delegated_roles",
    "go_times",
    "hostile_json",
    "hostile_text",
    "json_texts",
    "mutated",
    "public_keys",
    "rfc3339_texts",
    "target_files",
    "target_names",
]

hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=30),  # surrogates and control characters included
    st.sampled_from(mutations.NASTY_STRINGS),
    st.text(st.sampled_from('<>&\u2028\u2029"\\/\x00\x1f\x7f\ud800\udfff\ufffd\U0001f600e\u0301'), max_size=12),
)
"""Text with control characters, lone surrogates, HTML, JSON escapes and non-BMP characters."""

hostile_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, -1, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 2**64])
    | hostile_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(hostile_text, children, max_size=5),
    max_leaves=25,
)
"""Any decoded JSON value, with hostile strings and numbers beyond what Go or notary can represent."""


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """JSON text as an attacker writes it: floats, huge exponents, surrogate escapes, duplicate keys, nesting."""
    value = draw(hostile_json)
    rng = draw(st.randoms(use_true_random=False))
    text = mutations.dumps(value).encode()
    if draw(st.booleans()):
        text = mutations.mutate_json(rng, mutations.dumps({"v": value}).encode())
    return text


def mutated(seeds: list[bytes], *, how: str = "any") -> st.SearchStrategy[bytes]:
    """A seed changed by the mutators: ``bytes``, ``json``, ``pem``, ``truncate``, ``flip`` or ``any``."""

    @st.composite
    def strategy(draw: st.DrawFn) -> bytes:
        seed = draw(st.sampled_from(seeds))
        if how == "truncate":
            return seed[: draw(st.integers(0, max(0, len(seed) - 1)))]
        if how == "flip":
            bits = draw(st.lists(st.integers(0, len(seed) * 8 - 1), min_size=1, max_size=8))
            out = bytearray(seed)
            for bit in bits:
                out[bit // 8] ^= 1 << (bit % 8)
            return bytes(out)
        rng: random.Random = draw(st.randoms(use_true_random=False))
        if how == "bytes":
            return mutations.mutate_bytes(rng, seed, seeds)
        if how == "json":
            return mutations.mutate_json(rng, seed)
        if how == "pem":
            return mutations.mutate_pem(rng, seed)
        return mutations.mutate(rng, seed, seeds)

    return strategy()


# --- valid trust data to round-trip --------------------------------------------------------------------------

_NAME_CHARS = st.characters(exclude_categories=("Cs", "Cc"))
target_names = st.one_of(
    st.text(_NAME_CHARS, max_size=24),
    st.text(st.sampled_from('<>&\u2028\u2029"\\/ e\u0301\U0001f600\ufffd'), min_size=1, max_size=10),
)
"""Target names Go can write unchanged: any Unicode but control characters and lone surrogates."""

_json_text = st.text(_NAME_CHARS, max_size=16)
custom_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | _json_text
    | st.sampled_from(["<script>", "&amp;", "\u2028", '"\\'])
    | st.decimals(min_value=-(10**6), max_value=10**6, places=0, allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_json_text, children, max_size=4),
    max_leaves=12,
)
"""``custom`` JSON notary can sign and verify (integral numbers within 2**53, integral floats normalised)."""


@st.composite
def target_files(draw: st.DrawFn) -> tk.TargetFile:
    length = draw(st.integers(0, 2**53))
    hashes: dict[str, bytes] = {"sha256": draw(st.binary(min_size=32, max_size=32))}
    if draw(st.booleans()):
        hashes["sha512"] = draw(st.binary(min_size=64, max_size=64))
    if draw(st.booleans()):
        hashes[draw(st.sampled_from(["md5", "blake2b", "x<y>"]))] = draw(st.binary(max_size=20))
    custom = draw(st.none() | custom_json)
    return tk.TargetFile(length, hashes, custom)


def public_keys() -> st.SearchStrategy[tk.PublicKey]:
    seeds = corpus()
    keys = [seeds.sim.keys[role].public_key for role in ("targets", "snapshot", "timestamp")]
    keys += [d.key.public_key for d in seeds.sim.delegations.values()]
    keys += list(seeds.sim.root_certs)
    return st.sampled_from(keys)


@st.composite
def delegated_roles(draw: st.DrawFn, parent: str = "targets") -> tuple[tk.DelegatedRole, list[tk.PublicKey]]:
    leaf = draw(st.from_regex(r"[-a-z0-9_]{1,12}", fullmatch=True))
    keys = draw(st.lists(public_keys(), min_size=1, max_size=3, unique_by=lambda k: k.key_id))
    paths = draw(st.lists(target_names, max_size=3))
    threshold = draw(st.integers(1, len(keys) + 1))
    role = tk.DelegatedRole([k.key_id for k in keys], threshold, name=f"{parent}/{leaf}", paths=paths)
    return role, keys


_OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def rfc3339_texts(draw: st.DrawFn) -> str:
    """RFC 3339 times as Go writes and accepts them: any year, nanoseconds, any offset, ``Z``."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) < 19:
        text = f"{moment.year:04d}" + text[text.index("-") :]
    digits = draw(st.integers(0, 12))
    if digits:
        text += "." + draw(st.text("0123456789", min_size=digits, max_size=digits))
    if draw(st.booleans()):
        return text + "Z"
    minutes = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


go_times = st.one_of(
    rfc3339_texts().map(GoTime.parse),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc) | _OFFSETS
    ).map(GoTime.from_datetime),
)
