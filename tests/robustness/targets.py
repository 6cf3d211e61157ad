"""One fuzz entry per parser of outside bytes: ``entry(data)`` feeds ``data`` to the parser and checks what it returns.

An entry lets exactly one kind of exception pass silently: :class:`trustkit.TrustkitError` (and its subclasses),
the only errors trustkit may raise for bad input. Anything else escaping -- a ``ValueError`` from
``cryptography``, a ``RecursionError``, a ``decimal.InvalidOperation``, an ``AssertionError`` from a broken
round-trip invariant -- propagates, and the fuzzer (atheris, the fallback mutator or hypothesis) reports the
input. The entries are shared by ``test_fuzz.py`` (coverage-guided, in worker processes) and
``test_properties.py`` (hypothesis), so both check the same contract.

Invariants checked on success, besides "no foreign exception":

* metadata: serialising what was parsed and parsing it again is stable (``to_bytes`` is a fixed point);
* trusted set: a mutated file that is accepted carries exactly the signed message of the original;
* keys: ``from_dict(to_dict(k)) == k``, ``verify`` returns a bool, a loaded private key survives ``to_pem``;
* changes: ``from_bytes(to_bytes(c)) == c`` (for text Go can write unchanged);
* times: normalisation is idempotent;
* canonical JSON: the fast path equals the exact encoder for every decoded value it claims is plain.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import trustkit as tk
from tests.robustness.corpus import GUN, NOW, PASSPHRASE, corpus
from trustkit._encoding import GoTime, _encode, canonical, decode, go_html_escape
from trustkit.client.changelist import Change, DelegationChange
from trustkit.keys._pem import encode_pem
from trustkit.trust import TrustedMetadataSet, TrustPinning

__all__ = ["ENTRIES", "METADATA_ROLES", "STEPS", "exact", "seeds"]

Entry = Callable[[bytes], None]

METADATA_ROLES: tuple[str | None, ...] = (
    None,
    "root",
    "targets",
    "snapshot",
    "timestamp",
    "targets/releases",
    "targets/releases/beta",
    "targets/Bad",
)
STEPS = ("root", "timestamp", "snapshot", "targets", "targets/releases", "targets/releases/beta", "root-update")
_PASSPHRASES: tuple[str | bytes | None, ...] = (None, PASSPHRASE, "", b"\xff\xfe", "wrong")
_SURROGATE = re.compile("[\ud800-\udfff]")


def exact(value: Any) -> bytes:
    """The exact (slow) canonical encoder's output, which the fast path must equal."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def _clock() -> Any:
    return NOW


def _has_surrogate(*texts: str) -> bool:
    return any(_SURROGATE.search(text) for text in texts)


# --- metadata ------------------------------------------------------------------------------------------------


def _reserialise_is_stable(md: tk.Metadata[Any], role: str | None) -> None:
    try:
        out = md.to_bytes()
    except tk.CanonicalizationError:  # a control character: Go cannot write it either
        return
    again = tk.Metadata.from_bytes(out, role=role)
    assert again.to_bytes() == out, "to_bytes(from_bytes(to_bytes(parsed))) differs from to_bytes(parsed)"


def metadata(data: bytes) -> None:
    """``Metadata.from_bytes`` without a role."""
    with suppress(tk.TrustkitError):
        md = tk.Metadata.from_bytes(data)
        _ = md.signed_bytes
        _reserialise_is_stable(md, None)


def metadata_role(data: bytes) -> None:
    """``Metadata.from_bytes(..., role=...)``: the first byte picks the role."""
    if not data:
        return
    role = METADATA_ROLES[data[0] % len(METADATA_ROLES)]
    with suppress(tk.TrustkitError):
        md = tk.Metadata.from_bytes(data[1:], role=role)
        _reserialise_is_stable(md, role)


# --- keys ----------------------------------------------------------------------------------------------------


def _use_public_key(key: tk.PublicKey) -> None:
    assert re.fullmatch("[0-9a-f]{64}", key.key_id)
    assert tk.PublicKey.from_dict(key.to_dict()) == key
    for method in ("ecdsa", "eddsa", "rsapss", "rsapkcs1v15", "bogus"):
        assert key.verify(method, b"\x01" * 64, b"message") in (True, False)
    for accessor in ("certificates", "crypto_key", "canonical_id"):
        with suppress(tk.KeyFormatError):
            getattr(key, accessor)


def public_key_dict(data: bytes) -> None:
    """``PublicKey.from_dict`` of a decoded JSON value."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return
    with suppress(tk.TrustkitError):
        _use_public_key(tk.PublicKey.from_dict(obj))


def public_key_pem(data: bytes) -> None:
    """``PublicKey.from_pem`` (leaf only, and with the chain)."""
    for chain in (False, True):
        with suppress(tk.TrustkitError):
            _use_public_key(tk.PublicKey.from_pem(data, chain=chain))


def public_key_der(data: bytes) -> None:
    """``PublicKey.from_der``."""
    with suppress(tk.TrustkitError):
        _use_public_key(tk.PublicKey.from_der(data))


def private_key(data: bytes) -> None:
    """``load_private_key``: the first byte picks the passphrase (none, right, empty, binary, wrong)."""
    if not data:
        return
    passphrase = _PASSPHRASES[data[0] % len(_PASSPHRASES)]
    with suppress(tk.TrustkitError):
        key = tk.load_private_key(data[1:], passphrase)
        public = key.public_key
        again = tk.load_private_key(key.to_pem())
        assert again.public_key == public, "a loaded private key does not survive to_pem()"


# --- changelist ----------------------------------------------------------------------------------------------


def change(data: bytes) -> None:
    """``Change.from_bytes``, then every accessor of the change it read."""
    try:
        staged = Change.from_bytes(data)
    except tk.TrustkitError:
        return
    if not _has_surrogate(staged.scope, staged.path):  # Go writes a lone surrogate as U+FFFD
        assert Change.from_bytes(staged.to_bytes()) == staged, "a change does not survive to_bytes()"
    for accessor in (staged.describe, staged.target, staged.delegation, staged.base_keys):
        with suppress(tk.TrustkitError):
            accessor()


def delegation_change(data: bytes) -> None:
    """``DelegationChange.from_json``."""
    try:
        payload = DelegationChange.from_json(data)
    except tk.TrustkitError:
        return
    texts = (payload.new_name, *payload.remove_keys, *payload.add_paths, *payload.remove_paths)
    texts += tuple(k.keytype for k in payload.add_keys)
    if not _has_surrogate(*texts):
        assert DelegationChange.from_json(payload.to_json()) == payload, "a delegation payload does not round-trip"


# --- trust pinning, times, JSON ------------------------------------------------------------------------------


@functools.cache
def _empty_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="trustkit-fuzz-pinning-"))


def _safe_paths(section: Any) -> bool:
    """CA paths stay inside an empty folder: no absolute paths and no ``..`` (``/dev/zero`` would never end)."""
    if not isinstance(section, dict):
        return True
    for inner in (section, section.get("trust_pinning")):
        ca = inner.get("ca") if isinstance(inner, dict) else None
        if isinstance(ca, dict):
            for value in ca.values():
                if isinstance(value, str) and (value.startswith(("/", "~")) or ".." in value):
                    return False
    return True


def trust_pinning(data: bytes) -> None:
    """``TrustPinning.from_config`` of a decoded ``config.json`` object."""
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(config, dict) or not _safe_paths(config):
        return
    try:
        pinning = TrustPinning.from_config(config, base_dir=_empty_dir())
    except tk.TrustkitError:
        return
    for gun in (GUN, "", "docker.io/library/x"):
        pinning.certs_for(gun)
        pinning.ca_for(gun)


def go_time(data: bytes) -> None:
    """``GoTime.parse``; a parsed time re-parses to itself."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        parsed = GoTime.parse(text)
    except tk.TrustkitError:
        return
    again = GoTime.parse(parsed.text)
    assert again.text == parsed.text and again.datetime == parsed.datetime, f"{text!r} does not normalise stably"


def json_decode(data: bytes) -> None:
    """``_encoding.decode``; the canonical fast path equals the exact encoder."""
    try:
        value, plain = decode(data)
    except tk.TrustkitError:
        return
    results: list[bytes | None] = []
    for encoder in (lambda v: canonical(v, plain=plain), exact):
        try:
            results.append(encoder(value))
        except tk.CanonicalizationError:
            results.append(None)
    assert results[0] == results[1], "canonical(plain=...) differs from the exact encoder"
    if results[0] is not None:
        with suppress(tk.CanonicalizationError):
            go_html_escape(results[0])


# --- the trusted set -----------------------------------------------------------------------------------------


def _load(trusted: TrustedMetadataSet, role: str, data: bytes) -> None:
    if role == "timestamp":
        trusted.update_timestamp(data)
    elif role == "snapshot":
        trusted.update_snapshot(data)
    elif role == "targets":
        trusted.update_targets(data)
    else:
        trusted.update_delegation(role, data)


@functools.cache
def _signed_bytes() -> dict[str, bytes]:
    files = corpus().files
    return {role: tk.Metadata.from_bytes(data, role=role).signed_bytes for role, data in files.items()}


def trusted_set(data: bytes) -> None:
    """The trusted-metadata workflow with one file replaced by ``data`` (the first byte picks which step)."""
    if not data:
        return
    files = corpus().files
    step, payload = STEPS[data[0] % len(STEPS)], data[1:]
    trusted: TrustedMetadataSet | None = None
    accepted: list[str] = []
    with suppress(tk.TrustkitError):
        trusted = TrustedMetadataSet(
            payload if step == "root" else files["root"], gun=GUN, first_contact=True, clock=_clock
        )
        if step == "root":
            accepted.append("root")
        if step == "root-update":
            trusted.update_root(payload)
            accepted.append("root")
        for role in STEPS[1:-1]:
            _load(trusted, role, payload if role == step else files[role])
            if role == step:
                accepted.append(role)
    for role in accepted:  # whatever was accepted, even before a later step failed, is the original message
        assert trusted is not None
        assert trusted[role].signed_bytes == _signed_bytes()[role], f"a changed {role} was trusted"


def _root_with_certificate(der: bytes) -> bytes:
    """The valid root with its root certificate's DER replaced (key ID and signature unchanged)."""
    seeds = corpus()
    root = json.loads(seeds.files["root"])
    keyid = root["signed"]["roles"]["root"]["keyids"][0]
    root["signed"]["keys"][keyid]["keyval"]["public"] = base64.b64encode(encode_pem("CERTIFICATE", der)).decode()
    return json.dumps(root, separators=(",", ":")).encode()


def root_certificate(data: bytes) -> None:
    """A root whose root certificate is ``data`` (DER): first contact, rotation, and the key's accessors."""
    if not data:
        return
    root = _root_with_certificate(data[1:])
    original = data[1:] == corpus().root_cert_der
    with suppress(tk.TrustkitError):
        if data[0] % 2:
            TrustedMetadataSet(root, gun=GUN, first_contact=True, clock=_clock)
        else:
            TrustedMetadataSet(corpus().files["root"], gun=GUN, first_contact=True, clock=_clock).update_root(root)
        assert original, "a root with a changed certificate was trusted"
    with suppress(tk.TrustkitError):
        _use_public_key(tk.PublicKey("ecdsa-x509", encode_pem("CERTIFICATE", data[1:])))


ENTRIES: dict[str, Entry] = {
    "metadata": metadata,
    "metadata_role": metadata_role,
    "public_key_dict": public_key_dict,
    "public_key_pem": public_key_pem,
    "public_key_der": public_key_der,
    "private_key": private_key,
    "change": change,
    "delegation_change": delegation_change,
    "trust_pinning": trust_pinning,
    "go_time": go_time,
    "json_decode": json_decode,
    "trusted_set": trusted_set,
    "root_certificate": root_certificate,
}


def seeds(name: str) -> list[bytes]:
    """The valid inputs an entry's fuzzing starts from."""
    c = corpus()
    if name == "metadata":
        return c.metadata
    if name == "metadata_role":
        return [bytes([METADATA_ROLES.index(role)]) + data for role, data in c.files.items()]
    if name == "public_key_dict":
        return c.key_dicts
    if name == "public_key_pem":
        return c.public_pems
    if name == "public_key_der":
        return c.public_ders
    if name == "private_key":
        return [bytes([i]) + pem for pem in c.private_pems for i in (0, 1)]
    if name == "change":
        return c.changes
    if name == "delegation_change":
        return c.delegation_payloads
    if name == "trust_pinning":
        return c.pinning_configs
    if name == "go_time":
        return c.times
    if name == "json_decode":
        return c.json_texts
    if name == "trusted_set":
        return [bytes([i]) + c.files["root" if step == "root-update" else step] for i, step in enumerate(STEPS)]
    if name == "root_certificate":
        return [b"\x00" + c.root_cert_der, b"\x01" + c.root_cert_der]
    raise KeyError(name)
