"""The bugs the fuzzers and properties found, one deterministic input each.

Every test states the contract it checks (only a ``TrustkitError`` escapes; parsing ends in bounded time; what is
written can be read back) on the smallest input found. They fail until trustkit is fixed; see
``docs/robustness.md`` for each one's suggested fix.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import (
    CertificateBuilder,
    Name,
    NameAttribute,
    UnrecognizedExtension,
    load_der_x509_certificate,
)
from cryptography.x509.oid import ExtensionOID, NameOID

import trustkit as tk
from tests.robustness.corpus import GUN, NOW, corpus
from trustkit._encoding import canonical, decode
from trustkit.client.changelist import Change, Changelist, DelegationChange
from trustkit.keys._pem import encode_pem
from trustkit.trust import TrustedMetadataSet, TrustPinning


def only_trustkit_errors(call: Callable[[], Any], what: str) -> Any:
    """Run ``call``: a result or a ``TrustkitError`` is fine, anything else fails the test, named."""
    try:
        return call()
    except tk.TrustkitError:
        return None
    except BaseException as exc:  # the finding: report it as a test failure, not an error
        pytest.fail(f"{type(exc).__module__}.{type(exc).__name__} escaped from {what}: {str(exc)[:200]}")


def in_bounded_time(call: Callable[[], Any], seconds: float, what: str) -> None:
    """Run ``call`` in a child process and fail if it has not finished within ``seconds``."""
    context = multiprocessing.get_context("fork")
    child = context.Process(target=call, daemon=True)
    start = time.monotonic()
    child.start()
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"{what} still ran after {seconds} s (killed)")
    assert time.monotonic() - start <= seconds
    assert child.exitcode == 0, f"{what} failed in the child process (exit {child.exitcode})"


def _root_with_key(public: bytes, keytype: str = "ecdsa-x509") -> bytes:
    """The simulator's root.json with the root certificate's ``keyval.public`` replaced (unsigned change)."""
    root = json.loads(corpus().files["root"])
    keyid = root["signed"]["roles"]["root"]["keyids"][0]
    root["signed"]["keys"][keyid] = {"keytype": keytype, "keyval": {"private": None, "public": public.decode()}}
    return json.dumps(root, separators=(",", ":")).encode()


def _certificate_with_bad_point() -> bytes:
    """The root certificate's DER with one byte of its EC point's x coordinate changed: not on the curve."""
    der = bytearray(corpus().root_cert_der)
    certificate = load_der_x509_certificate(bytes(der))
    point = certificate.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    der[bytes(der).index(point) + 5] ^= 0x01
    return bytes(der)


def _certificate_with_bad_basic_constraints() -> bytes:
    """A well-formed, self-signed certificate (CN = the GUN) whose BasicConstraints value is not valid DER."""
    key = corpus().sim.root_keys[0].crypto_key
    name = Name([NameAttribute(NameOID.COMMON_NAME, GUN)])
    builder = (
        CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW.replace(year=2025))
        .not_valid_after(NOW.replace(year=2030))
        .add_extension(UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x01\x02garbage"), critical=False)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _certificate_with_version(version: int) -> bytes:
    """The root certificate's DER with its version field (``[0] INTEGER 2``) set to ``version``."""
    der = corpus().root_cert_der
    return der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01" + bytes([version]), 1)


# --- JSON: numbers and nesting --------------------------------------------------------------------------------


def test_a_number_with_a_huge_exponent_is_malformed_json() -> None:
    """``decimal.InvalidOperation`` escaped ``decode`` (so every metadata parser) for ``1e9999999999999999999999``."""
    for text in (b"1e9999999999999999999999", b'{"signed":1e9999999999999999999999,"signatures":[]}'):
        only_trustkit_errors(lambda text=text: decode(text), f"_encoding.decode({text!r})")
        only_trustkit_errors(lambda text=text: tk.Metadata.from_bytes(text), f"Metadata.from_bytes({text!r})")


def test_an_integer_beyond_float_range_is_malformed() -> None:
    """``OverflowError`` escaped ``Metadata.from_bytes`` for a 400-digit integer in an unknown field of
    ``signed``: the exact canonical encoder converts integers past 2**53 with ``float()``. (Go cannot decode such a
    number into a float64 either, so the file is malformed.)"""
    original = corpus().files["targets"]
    data = original.replace(b'{"signed":{', b'{"signed":{"x":' + b"9" * 400 + b",", 1)
    only_trustkit_errors(lambda: tk.Metadata.from_bytes(data, role="targets"), "Metadata.from_bytes")
    value, plain = decode(b"[" + b"9" * 400 + b"]")
    only_trustkit_errors(lambda: canonical(value, plain=plain), "_encoding.canonical")


@pytest.mark.parametrize("depth", [500, 900])
def test_deeply_nested_custom_json_is_malformed(depth: int) -> None:
    """``RecursionError`` escaped ``Metadata.from_bytes`` for a target's ``custom`` nested 500+ deep (Go reads
    10000 levels; normalising ``custom`` recursed twice per level)."""
    original = corpus().files["targets"]
    nested = b"[" * depth + b"1" + b"]" * depth
    data = original.replace(b'"length":', b'"custom":' + nested + b',"length":', 1)
    assert data != original
    only_trustkit_errors(lambda: tk.Metadata.from_bytes(data, role="targets"), f"custom nested {depth} deep")


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_change_files_are_malformed(depth: int, tmp_path: Path) -> None:
    """``RecursionError`` escaped ``Change.from_bytes``/``DelegationChange.from_json`` (``json.loads`` without the
    guard ``_encoding.decode`` has), and so ``Changelist.list()``, which promises to skip unreadable files."""
    nested = b"[" * depth + b"]" * depth
    only_trustkit_errors(lambda: Change.from_bytes(nested), "Change.from_bytes")
    only_trustkit_errors(lambda: DelegationChange.from_json(nested), "DelegationChange.from_json")
    changelist = Changelist(tmp_path, GUN)
    changelist.add(Change.witness("targets"))
    (changelist.path / "99999999999999999999_deep.change").write_bytes(nested)
    listed = only_trustkit_errors(changelist.list, "Changelist.list")
    assert listed is not None and len(listed) == 1


# --- changelist -----------------------------------------------------------------------------------------------


def test_a_role_change_without_data_can_be_described() -> None:
    """``describe()`` and ``base_keys()`` called each other forever (``RecursionError``) for a ``role`` change
    whose ``data`` is null; ``delegation()`` and ``target()`` on it too (their messages call ``describe()``)."""
    staged = Change.from_bytes(b'{"action":"create","role":"root","type":"role","path":"","data":null}')
    for accessor in (staged.describe, staged.base_keys, staged.delegation, staged.target):
        only_trustkit_errors(accessor, f"Change.{accessor.__name__}() of a role change with no data")


# --- keys and certificates --------------------------------------------------------------------------------------


def test_a_certificate_with_an_invalid_key_is_a_key_format_error() -> None:
    """``ValueError: Invalid key`` escaped ``PublicKey.from_der``/``from_pem`` (``certificate.public_key()`` in
    ``from_certificate`` is not guarded) for a certificate whose EC point is not on the curve."""
    der = _certificate_with_bad_point()
    only_trustkit_errors(lambda: tk.PublicKey.from_der(der), "PublicKey.from_der")
    only_trustkit_errors(lambda: tk.PublicKey.from_pem(encode_pem("CERTIFICATE", der)), "PublicKey.from_pem")


def test_a_certificate_with_an_unknown_key_algorithm_is_a_key_format_error() -> None:
    """``UnsupportedAlgorithm`` escaped ``PublicKey.from_der`` for a certificate whose key OID is unknown."""
    ec_oid = bytes.fromhex("06072a8648ce3d0201")
    der = corpus().root_cert_der.replace(ec_oid, bytes.fromhex("06072a8648ce3d0209"), 1)
    only_trustkit_errors(lambda: tk.PublicKey.from_der(der), "PublicKey.from_der")


def test_a_certificate_with_a_bad_version_never_raises_from_verify() -> None:
    """``cryptography.x509.InvalidVersion`` (not a ``ValueError``) escaped ``PublicKey.certificates``,
    ``crypto_key`` and ``verify`` -- documented as "False for any failure, never an exception" -- and
    ``from_der``, for a certificate whose version field is 22."""
    der = _certificate_with_version(22)
    key = tk.PublicKey("ecdsa-x509", encode_pem("CERTIFICATE", der))
    assert only_trustkit_errors(lambda: key.verify("ecdsa", b"\x00" * 64, b"message"), "PublicKey.verify") in (
        False,
        None,
    )
    only_trustkit_errors(lambda: key.certificates, "PublicKey.certificates")
    only_trustkit_errors(lambda: tk.PublicKey.from_der(der), "PublicKey.from_der")


@pytest.mark.parametrize("certificate", ["invalid EC point", "invalid BasicConstraints", "version 22"])
@pytest.mark.parametrize("how", ["first contact", "rotation"])
def test_a_root_with_a_broken_certificate_is_untrusted(certificate: str, how: str) -> None:
    """``ValueError`` (from ``certificate.public_key()`` in ``check_certificate`` and ``certificate.extensions``
    in ``_is_ca``) escaped ``TrustedMetadataSet`` for an unsigned root.json from the server on first contact,
    before any signature is checked. (``update_root`` checks the previous root's signatures first.)"""
    der = {
        "invalid EC point": _certificate_with_bad_point,
        "invalid BasicConstraints": _certificate_with_bad_basic_constraints,
        "version 22": lambda: _certificate_with_version(22),
    }[certificate]()
    root = _root_with_key(base64.b64encode(encode_pem("CERTIFICATE", der)))
    trusted = TrustedMetadataSet(corpus().files["root"], gun=GUN, first_contact=True, clock=lambda: NOW)

    def call() -> Any:
        if how == "first contact":
            return TrustedMetadataSet(root, gun=GUN, first_contact=True, clock=lambda: NOW)
        return trusted.update_root(root)

    only_trustkit_errors(call, f"TrustedMetadataSet ({how}, {certificate})")


def test_a_loaded_private_key_with_a_non_ascii_header_can_be_written() -> None:
    """``UnicodeEncodeError`` escaped ``PrivateKey.to_pem()`` for a key loaded with a non-ASCII ``gun``/``role``
    header (headers are decoded as UTF-8 with replacement, but written as ASCII)."""
    pem = tk.generate_private_key().to_pem().replace(b"-----\n", b"-----\ngun: caf\xc3\xa9\n\n", 1)
    key = only_trustkit_errors(lambda: tk.load_private_key(pem), "load_private_key")
    if key is not None:
        again = only_trustkit_errors(lambda: tk.load_private_key(key.to_pem()), "PrivateKey.to_pem")
        assert again is not None and again.gun == key.gun


def _quadratic_pem(lines: int) -> bytes:
    return b"-----BEGIN A-----\n" * lines


@pytest.mark.parametrize(
    "parser",
    ["PublicKey.from_pem", "load_private_key", "TrustedMetadataSet first contact"],
)
def test_pem_scanning_takes_linear_time(parser: str) -> None:
    """``decode_pem_blocks``' regex rescans to the end of the input for every ``-----BEGIN`` line without an
    ``-----END``: quadratic. 108 KB take seconds, a 1 MB root.json about five minutes, before any signature
    check (a first-contact root's certificate key is PEM). A linear scan takes milliseconds."""
    data = _quadratic_pem(6_000)  # 108 KB
    calls: dict[str, Callable[[], Any]] = {
        "PublicKey.from_pem": lambda: only_trustkit_errors(lambda: tk.PublicKey.from_pem(data), parser),
        "load_private_key": lambda: only_trustkit_errors(lambda: tk.load_private_key(data), parser),
        "TrustedMetadataSet first contact": lambda: only_trustkit_errors(
            lambda: TrustedMetadataSet(
                _root_with_key(base64.b64encode(data)), gun=GUN, first_contact=True, clock=lambda: NOW
            ),
            parser,
        ),
    }
    in_bounded_time(calls[parser], 2.0, f"{parser} on {len(data)} bytes of '-----BEGIN A-----' lines")


# --- trust pinning ----------------------------------------------------------------------------------------------


def test_a_ca_path_with_a_nul_byte_is_an_untrusted_root_error(tmp_path: Path) -> None:
    """``ValueError: embedded null byte`` escaped ``TrustPinning.from_config`` for a CA path holding U+0000."""
    config = json.loads('{"trust_pinning":{"ca":{"docker.io/":"ca\\u0000.pem"}}}')
    only_trustkit_errors(lambda: TrustPinning.from_config(config, base_dir=tmp_path), "TrustPinning.from_config")


# --- metadata round trip ----------------------------------------------------------------------------------------


def test_names_with_lone_surrogates_do_not_serialise_to_duplicate_keys() -> None:
    """Go's decoder turns a lone surrogate escape into U+FFFD, trustkit's model keeps it: a targets file naming
    ``"\\ud800"`` and ``"\\ufffd"`` parses to two targets, but ``to_bytes()`` (and ``signed_bytes``) write both as
    U+FFFD -- an object with a duplicate key, which parses back to one target."""
    obj = json.loads(corpus().files["targets"])
    entry = obj["signed"]["targets"]["v1"]
    obj["signed"]["targets"]["\ud800"] = entry
    obj["signed"]["targets"]["\ufffd"] = {"length": 1, "hashes": entry["hashes"]}
    parsed = tk.Metadata.from_bytes(json.dumps(obj).encode(), role="targets")
    written = parsed.to_bytes()
    again = tk.Metadata.from_bytes(written, role="targets")
    assert again.to_bytes() == written, "to_bytes() wrote an object with a duplicate key"
    assert len(again.signed.targets) == len(parsed.signed.targets)
