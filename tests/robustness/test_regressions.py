"""The bugs the fuzzers, properties and crash tests found, one deterministic input each.

Every test states the contract it checks (only a ``TrustkitError`` escapes; parsing ends in bounded time; what is
written can be read back; what a kill leaves, the real notary reads as trustkit does) on the smallest input found.
They fail until trustkit is fixed; see ``docs/robustness.md`` for each one's suggested fix. A bug still open when
its test was written is marked ``xfail(strict=True)`` with the reason, so the suite stays green and the fix turns
the test into an unexpected pass that asks for the mark to go.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
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
from tests.interop.harness import NotaryCLI, NotaryServer
from tests.robustness import targets
from tests.robustness.corpus import GUN, NOW, corpus
from tests.support.expect import trustkit_error
from trustkit._encoding import canonical, decode
from trustkit.client.changelist import Change, Changelist, DelegationChange
from trustkit.keys.pem import encode_pem
from trustkit.keystore import FileKeyStore, NotaryEnvPassphrase
from trustkit.remote import NotaryServer as NotaryServerRemote
from trustkit.remote import auth
from trustkit.remote.auth import Credentials, DockerConfig
from trustkit.remote.config import ImageReference, gun_from_reference
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


# --- the remote layer: authentication, docker configuration, image references ------------------------------------


def _bearer_server(realm: str, token_body: bytes) -> NotaryServerRemote:
    """A notary server (no network) that challenges every request without a token for one from ``realm``."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, content=token_body)
        if "authorization" not in request.headers:
            challenge = f'Bearer realm="{realm}",service="notary"'.encode()
            return httpx.Response(401, headers=[(b"www-authenticate", challenge)])
        return httpx.Response(200, content=b"{}")

    return NotaryServerRemote("https://notary.example.com", transport=httpx.MockTransport(answer), retries=0)


def _get_timestamp(server: NotaryServerRemote) -> bytes:
    return server.get_role("example.com/app", "timestamp", max_size=1 << 20)


@pytest.mark.parametrize("token", ["caf\u00e9", "\u0442\u043e\u043a\u0435\u043d", "a\x01b", "a\tb", "a\x7f"])
def test_a_token_that_no_header_can_carry_is_a_remote_error(token: str) -> None:
    """``UnicodeEncodeError`` escaped every request once a token server answered a non-ASCII token (httpx writes
    header values as ASCII); a control character failed only when the request hit the wire."""
    server = _bearer_server("https://auth.example.com/token", json.dumps({"token": token}).encode())
    error = trustkit_error(lambda: _get_timestamp(server), "NotaryServer.get_role")
    assert isinstance(error, tk.RemoteError) and "usable token" in str(error), repr(error)


def test_a_token_lifetime_beyond_float_range_keeps_the_minimum() -> None:
    """``OverflowError`` escaped the token flow for ``"expires_in"`` 10**400 (``math.isfinite`` of an int)."""
    server = _bearer_server("https://auth.example.com/token", b'{"token":"t","expires_in":1' + b"0" * 400 + b"}")
    assert only_trustkit_errors(lambda: _get_timestamp(server), "NotaryServer.get_role") == b"{}"


@pytest.mark.parametrize(
    "realm", ["https://[", "https://auth.example.com:abc/token", "https://auth.example.com:99999/t", "http://\x01/t"]
)
def test_a_realm_that_is_not_a_url_is_a_remote_error(realm: str) -> None:
    """``ValueError`` (``urlsplit``) or ``httpx.InvalidURL`` escaped the token flow for a challenge whose realm is
    not a URL: an unclosed IPv6 bracket, a port that is not a number in range, a control character."""
    server = _bearer_server(realm, b'{"token":"t"}')
    error = trustkit_error(lambda: _get_timestamp(server), "NotaryServer.get_role")
    assert isinstance(error, tk.RemoteError) and "no usable realm" in str(error), repr(error)


@pytest.mark.parametrize("realm", ["https://xn--/token", "https://a\u00ad\u0300b.example/token"])
def test_a_realm_host_httpx_cannot_encode_is_a_remote_error(realm: str) -> None:
    server = _bearer_server(realm, b'{"token":"t"}')
    assert isinstance(trustkit_error(lambda: _get_timestamp(server), "NotaryServer.get_role"), tk.RemoteError)


def test_credentials_with_a_lone_surrogate_can_be_sent() -> None:
    """``UnicodeEncodeError`` escaped the first request with credentials from a ``config.json`` (or a credential
    helper) holding a lone surrogate escape: Python keeps it, HTTP basic cannot encode it. Go's decoder, so docker,
    reads it as U+FFFD."""
    config = DockerConfig.from_bytes(b'{"auths":{"localhost:5000":{"username":"\\ud800","password":"p\\udfff"}}}')
    creds = config.credentials("localhost:5000")
    assert creds is not None
    header = only_trustkit_errors(creds.basic_header, "Credentials.basic_header")
    assert header == "Basic " + base64.b64encode("\ufffd:p\ufffd".encode()).decode()
    run = targets.helper_run(b'\x00{"Username":"\\ud83d","Secret":"\\ude00x"}')
    with targets.fake_credential_helper(run):
        helper_creds = auth.run_credential_helper("fuzz", auth.DOCKER_HUB_AUTH_KEY)
    assert helper_creds == Credentials("\ufffd", "\ufffdx")


def test_a_reference_whose_first_component_is_no_host_has_no_domain() -> None:
    """``ImageReference.parse("in_r.io/app")`` gave ``domain=None``, so the GUN ``"None/in_r.io/app"``: docker's
    ``reference.Parse`` reads a first component that looks like a host but is not one as part of the path."""
    ref = ImageReference.parse("in_r.io/app:v1")
    assert (ref.domain, ref.path, ref.tag) == ("", "in_r.io/app", "v1")
    assert ref.gun == gun_from_reference("in_r.io/app") == "in_r.io/app"
    assert str(ref) == "in_r.io/app:v1" and ImageReference.parse(str(ref)) == ref


# --- the changelist, as the real notary reads it ------------------------------------------------------------------


def _killed_while_staging(changelist: Changelist, change: Change, at: str) -> None:
    """Stage ``change`` in a forked child that SIGKILLs itself at ``os.<at>`` inside ``atomic_write``: the state a
    process killed right then leaves (``fchmod``: an empty temporary file; ``replace``: a complete one)."""

    def child() -> None:
        setattr(os, at, lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))
        changelist.add(change)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    assert process.exitcode == -signal.SIGKILL, f"the staging child ended with {process.exitcode}"


@pytest.mark.interop
def test_a_killed_add_leaves_nothing_notary_reads_as_a_change(
    notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str
) -> None:
    keystore = FileKeyStore(notary_cli.trust_dir, passphrase=NotaryEnvPassphrase(environ=notary_cli.env))
    remote = NotaryServerRemote(notary_server.url, ca=notary_server.ca_path)
    repo = tk.Repository(gun, remote=remote, keystore=keystore, trust_dir=notary_cli.trust_dir)
    repo.initialize()
    repo.add_target("staged", tk.TargetFile.from_digest("01" * 32, 1))
    _killed_while_staging(
        repo.changelist, Change.add_target("ghost", tk.TargetFile.from_digest("02" * 32, 2)), "replace"
    )
    _killed_while_staging(repo.changelist, Change.add_target("torn", tk.TargetFile.from_digest("03" * 32, 3)), "fchmod")
    assert [s.change.path for s in repo.status()] == ["staged"]  # trustkit: the killed adds never happened
    status = notary_cli.run("status", gun).stdout
    assert "staged" in status and "ghost" not in status, status
    notary_cli.run("publish", gun)
    listing = notary_cli.run("list", gun).stdout
    assert "staged" in listing and "ghost" not in listing, listing
