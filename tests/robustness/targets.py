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
* canonical JSON: the fast path equals the exact encoder for every decoded value it claims is plain;
* notary-server error responses (``NotaryServer._error``, status and headers from the input): the error's type
  follows the status, and it keeps the status and the ``code`` the body names;
* ``WWW-Authenticate`` (``parse_www_authenticate``, documented never to raise, so nothing at all may escape it):
  schemes and parameter names are lowercase tokens, values are text, and writing the challenges out and parsing
  them again gives the same challenges; an :class:`~trustkit.remote.auth.Authenticator` answering them asks only
  for a realm that is an http(s) URL with a host and a valid port;
* token responses (``_parse_token_response``, and the whole token fetch of an ``Authenticator``): the token can be
  sent in an ``Authorization`` header (visible ASCII), the lifetime is a finite number, the cached token is reused;
* docker's ``config.json`` (``DockerConfig.from_bytes`` and ``load``, ``docker_credentials``): every credential
  can be sent (HTTP basic decodes back to ``user:password``), helper names are names, lookups give usable
  credentials or None;
* credential-helper output (``run_credential_helper`` with the helper's exit status, stdout and stderr from the
  input, no process started): None or credentials that can be sent;
* image references (``ImageReference.parse``, ``gun_from_reference``, ``docker_server_config``): the reference
  round-trips through ``str``, its GUN is a valid notary GUN, and docker's server for it is an https URL.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

import trustkit as tk
from tests.robustness.corpus import GUN, HTTP_STATUSES, NOW, PASSPHRASE, corpus
from trustkit._encoding import GoTime, _encode, canonical, decode, go_html_escape
from trustkit.client.changelist import Change, DelegationChange
from trustkit.keys.pem import encode_pem
from trustkit.remote import auth
from trustkit.remote.auth import Authenticator, Challenge, Credentials, DockerConfig, Scope, parse_www_authenticate
from trustkit.remote.base import CONFLICT_CODES, check_gun
from trustkit.remote.config import ImageReference, docker_credentials, docker_server_config, gun_from_reference
from trustkit.remote.notary_server import NotaryServer, _Reply
from trustkit.trust import TrustedMetadataSet, TrustPinning

__all__ = [
    "ENTRIES",
    "METADATA_ROLES",
    "REMOTE_ENTRIES",
    "STEPS",
    "HelperRun",
    "exact",
    "fake_credential_helper",
    "helper_run",
    "seeds",
    "write_challenges",
]

Entry = Callable[[bytes], None]
_In = TypeVar("_In")
_Out = TypeVar("_Out")

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


def _accepted(parse: Callable[[_In], _Out], value: _In) -> _Out | None:
    """``parse(value)``, or None when it refuses the input with a :class:`trustkit.TrustkitError`: the one error an
    entry lets pass (the parsers used with it never return None)."""
    try:
        return parse(value)
    except tk.TrustkitError:
        return None


def _text(data: bytes) -> str:
    """Fuzz bytes as text: UTF-8, each byte that is not valid UTF-8 kept as a lone surrogate (any input is text)."""
    return data.decode("utf-8", "surrogateescape")


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
    if (staged := _accepted(Change.from_bytes, data)) is None:
        return
    if not _has_surrogate(staged.scope, staged.path):  # Go writes a lone surrogate as U+FFFD
        assert Change.from_bytes(staged.to_bytes()) == staged, "a change does not survive to_bytes()"
    for accessor in (staged.describe, staged.target, staged.delegation, staged.base_keys):
        with suppress(tk.TrustkitError):
            accessor()


def delegation_change(data: bytes) -> None:
    """``DelegationChange.from_json``."""
    if (payload := _accepted(DelegationChange.from_json, data)) is None:
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
    text = _text(data)
    if (parsed := _accepted(GoTime.parse, text)) is None:
        return
    again = GoTime.parse(parsed.text)
    assert again.text == parsed.text and again.datetime == parsed.datetime, f"{text!r} does not normalise stably"


def json_decode(data: bytes) -> None:
    """``_encoding.decode``; the canonical fast path equals the exact encoder."""
    if (decoded := _accepted(decode, data)) is None:
        return
    value, plain = decoded
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


# --- the remote layer: notary-server errors, authentication, docker configuration, image references ------------

_SERVER_URL = "https://notary.example.com:4443"
_REALM = "https://auth.example.com/token"
_SCOPE = Scope.repository(GUN, "pull")
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_NOT_IN_FIELD_VALUES = bytes(range(0x20)).replace(b"\t", b"") + b"\x7f"
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_SERVERS = (auth.DOCKER_HUB_AUTH_KEY, "localhost:5000", "registry.example.com", "https://registry.example.com/v1/")


@functools.cache
def _notary_server() -> NotaryServer:
    """A client that never connects: the entries call its response handling directly."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a fuzz entry sent a request: {request.method} {request.url}")

    return NotaryServer(_SERVER_URL, transport=httpx.MockTransport(refuse), retries=0)


def _http_headers(block: bytes) -> httpx.Headers:
    """``Name: value`` lines as a server's response carries them: field values hold no control characters
    (h11 refuses those), header names are tokens, values are trimmed."""
    fields = []
    for line in block.split(b"\n"):
        name, sep, value = line.rstrip(b"\r").partition(b":")
        if sep and _HEADER_NAME.fullmatch(name):
            fields.append((name, value.translate(None, _NOT_IN_FIELD_VALUES).strip(b" \t")))
    return httpx.Headers(fields)


def _split_response(data: bytes) -> tuple[int, httpx.Headers, bytes]:
    """The first byte picks the status; the rest is ``headers\\r\\n\\r\\nbody`` (just a body without the blank line)."""
    status = HTTP_STATUSES[data[0] % len(HTTP_STATUSES)]
    head, sep, body = data[1:].partition(b"\r\n\r\n")
    return (status, _http_headers(head), body) if sep else (status, httpx.Headers(), data[1:])


def _body_code(body: bytes) -> str | None:
    """The ``code`` of the first entry of notary's ``{"errors":[...]}``, read independently of trustkit."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return None
    errors = obj.get("errors") if isinstance(obj, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    code = first.get("code") if isinstance(first, dict) else None
    return code if isinstance(code, str) else None


def notary_error_body(data: bytes) -> None:
    """``NotaryServer._error``: the error a notary-server response with that status, headers and body maps to."""
    if not data:
        return
    status, headers, body = _split_response(data)
    with suppress(tk.TrustkitError):
        error = _notary_server()._error(
            _Reply(status, headers, body), what="timestamp.json", gun=GUN, scope=_SCOPE, attempts=1 + data[0] % 3
        )
        assert isinstance(error, tk.RemoteError), f"HTTP {status} mapped to a {type(error).__name__}"
        assert error.status == status, f"HTTP {status} mapped to an error with status {error.status}"
        assert isinstance(str(error), str) and str(error), "an error without a message"
        code = _body_code(body)
        if status in (401, 403):
            assert isinstance(error, tk.UnauthorizedError), f"HTTP {status} is a {type(error).__name__}"
        elif status == 404:
            assert isinstance(error, tk.NotFoundError), f"HTTP 404 is a {type(error).__name__}"
            code = "METADATA_NOT_FOUND"
        elif status >= 500 or status == 429:
            assert isinstance(error, tk.ServerUnavailableError), f"HTTP {status} is a {type(error).__name__}"
        elif code in CONFLICT_CODES:
            assert isinstance(error, tk.ConflictError), f"code {code} with HTTP {status} is a {type(error).__name__}"
        assert error.code == code, f"the body names code {code!r}, the error keeps {error.code!r}"


def _header_text(data: bytes) -> str:
    """Header bytes as httpx decodes them: ASCII or UTF-8 when they are, else ISO-8859-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_challenges(challenges: Sequence[Challenge]) -> str:
    """Challenges as one ``WWW-Authenticate`` value, every parameter value a quoted string (RFC 7235)."""
    return ", ".join(
        " ".join([c.scheme, ", ".join(f"{name}={_quoted(value)}" for name, value in c.params.items())]).rstrip()
        for c in challenges
    )


def _check_sendable(creds: Credentials) -> None:
    """Credentials trustkit read from outside must be sendable: as HTTP basic, as form or query fields."""
    assert isinstance(creds.username, str) and isinstance(creds.password, str)
    assert creds.identity_token is None or isinstance(creds.identity_token, str)
    header = creds.basic_header()
    decoded = base64.b64decode(header.removeprefix("Basic ").encode("ascii")).decode("utf-8")
    assert decoded == f"{creds.username}:{creds.password}", "HTTP basic does not decode to user:password"
    for text in (creds.username, creds.password, creds.identity_token or ""):
        text.encode("utf-8")  # a form field, a query parameter: a lone surrogate cannot be sent


class _TokenServer:
    """A :class:`~trustkit.remote.auth.TokenFetcher` answering every request with one reply."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.urls: list[str] = []

    def __call__(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]],
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.hostname, f"a token requested from {url!r}"
        _ = parts.port  # raises ValueError for a port that is not a number in range
        assert not re.search(r"[\x00-\x1f\x7f]", url), f"a token requested from {url!r}, control characters and all"
        for value in [*headers.values(), *(v for _, v in params), *(form or {}).values()]:
            value.encode("utf-8")
        self.urls.append(url)
        return self.status, self.body


_CREDENTIALS = (
    None,
    Credentials("user", "pass"),
    Credentials(identity_token="refresh-token"),
)


def www_authenticate(data: bytes) -> None:
    """``parse_www_authenticate`` of header values (one per line), then an ``Authenticator`` answering them."""
    values = _header_text(data).split("\n")
    challenges = parse_www_authenticate(values[0] if len(values) == 1 else values)  # documented never to raise
    for challenge in challenges:
        assert _TOKEN_CHARS.fullmatch(challenge.scheme) and challenge.scheme == challenge.scheme.lower()
        for name, value in challenge.params.items():
            assert _TOKEN_CHARS.fullmatch(name) and name == name.lower(), f"parameter name {name!r}"
            assert isinstance(value, str), f"parameter {name} is a {type(value).__name__}"
        assert challenge.realm is None or isinstance(challenge.realm, str)
    again = parse_www_authenticate(write_challenges(challenges))
    assert again == challenges, f"{challenges} written out parse as {again}"
    fetch = _TokenServer(200, b'{"token":"fuzz-token","expires_in":300}')
    with suppress(tk.TrustkitError):
        answer = Authenticator(_CREDENTIALS[len(data) % len(_CREDENTIALS)]).authenticate(challenges, _SCOPE, fetch)
        assert answer is None or answer in ("Bearer fuzz-token", Credentials("user", "pass").basic_header())


def token_response(data: bytes) -> None:
    """``_parse_token_response``, and an ``Authenticator``'s token fetch answered with the input (the first byte
    picks the status and the credentials)."""
    if not data:
        return
    body = data[1:]
    with suppress(tk.TrustkitError):
        token, lifetime = auth._parse_token_response(body, _REALM)
        assert isinstance(token, str) and _VISIBLE_ASCII.fullmatch(token), f"token {token!r} cannot be sent"
        assert isinstance(lifetime, float) and math.isfinite(lifetime), f"token lifetime {lifetime!r}"
    status = HTTP_STATUSES[data[0] % len(HTTP_STATUSES)] if data[0] >= 128 else 200
    authenticator = Authenticator(_CREDENTIALS[data[0] % len(_CREDENTIALS)], clock=lambda: 1000.0)
    challenge = Challenge("bearer", {"realm": _REALM, "service": "notary"})
    with suppress(tk.TrustkitError):
        answer = authenticator.authenticate([challenge], _SCOPE, _TokenServer(status, body))
        assert answer is not None and answer.startswith("Bearer "), f"the token flow answered {answer!r}"
        assert _VISIBLE_ASCII.fullmatch(answer.removeprefix("Bearer ")), f"{answer!r} cannot be sent"
        assert authenticator.authorization(_SCOPE) == answer, "the token fetched is not reused for its scope"


@functools.cache
def _scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="trustkit-fuzz-remote-"))


def _check_docker_config(config: DockerConfig) -> None:
    for key, creds in config.auths.items():
        assert isinstance(key, str) and isinstance(creds, Credentials)
        _check_sendable(creds)
    for helper in (config.creds_store, *config.cred_helpers.values()):
        assert helper is None or auth._HELPER_NAME.match(helper), f"helper name {helper!r}"
    for server in (*_SERVERS, *config.auths):
        helper = config.helper_for(server)
        if helper is not None:  # asking it would run docker-credential-<helper>: not from a fuzzer
            assert isinstance(helper, str)
            continue
        found = config.credentials(server)
        if found is not None:
            _check_sendable(found)
            assert found.username or found.identity_token, f"unusable credentials for {server!r}"


def docker_config(data: bytes) -> None:
    """``DockerConfig.from_bytes`` (first byte even) or ``DockerConfig.load`` and ``docker_credentials`` of a
    ``config.json`` file (odd), then every lookup that runs no credential helper."""
    if not data:
        return
    with suppress(tk.TrustkitError):
        if data[0] % 2 == 0:
            _check_docker_config(DockerConfig.from_bytes(data[1:]))
            return
        folder = _scratch_dir() / "docker"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_bytes(data[1:])
        config = DockerConfig.load(folder / "config.json")
        _check_docker_config(config)
        if config.creds_store is None and not config.cred_helpers:
            for server in _SERVERS:
                creds = docker_credentials(server, env={"DOCKER_CONFIG": str(folder)})
                assert creds == config.credentials(server), "docker_credentials differs from DockerConfig"


class HelperRun:
    """Stands in for ``subprocess`` and ``shutil`` inside :mod:`trustkit.remote.auth`: the helper "exists" and
    exits with the status and output given."""

    TimeoutExpired = subprocess.TimeoutExpired

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.result = subprocess.CompletedProcess(["docker-credential-fuzz", "get"], returncode, stdout, stderr)
        self.calls = 0

    def run(self, args: Sequence[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        assert args[1:] == ["get"] and options.get("input") == auth.DOCKER_HUB_AUTH_KEY.encode()
        self.calls += 1
        return self.result

    @staticmethod
    def which(program: str) -> str:
        return f"/nonexistent/{program}"


@contextmanager
def fake_credential_helper(run: HelperRun) -> Iterator[None]:
    """Within the block, :mod:`trustkit.remote.auth` runs ``run`` for any credential helper it finds."""
    namespace = vars(auth)
    saved = namespace["subprocess"], namespace["shutil"]
    namespace["subprocess"] = namespace["shutil"] = run
    try:
        yield
    finally:
        namespace["subprocess"], namespace["shutil"] = saved


def helper_run(data: bytes) -> HelperRun:
    """What a helper does for this input: the first byte's bit 0 makes it fail (exit 1), bit 1 puts the output on
    stderr instead of stdout."""
    flags, output = (data[0], data[1:]) if data else (0, b"")
    return HelperRun(flags & 1, b"" if flags & 2 else output, output if flags & 2 else b"")


def credential_helper(data: bytes) -> None:
    """``run_credential_helper`` reading a helper's answer (no process is started: see :class:`HelperRun`)."""
    run = helper_run(data)
    with fake_credential_helper(run), suppress(tk.TrustkitError):
        creds = auth.run_credential_helper("fuzz", auth.DOCKER_HUB_AUTH_KEY)
        if creds is not None:
            _check_sendable(creds)
            assert bool(creds.username) != bool(creds.identity_token), f"a helper gave {creds!r}"
    assert run.calls == 1, "the helper was not run exactly once"


def image_reference(data: bytes) -> None:
    """``ImageReference.parse``, ``gun_from_reference`` and ``docker_server_config`` of a reference."""
    text = _text(data)
    if (ref := _accepted(ImageReference.parse, text)) is None:
        return
    written = str(ref)
    assert written.isascii(), f"{text!r} normalises to {written!r}"
    assert ImageReference.parse(written) == ref, f"{text!r} normalises to {written!r}, which parses differently"
    assert gun_from_reference(text) == ref.gun == ref.name
    check_gun(ref.gun)
    assert ref.auth_key == (auth.DOCKER_HUB_AUTH_KEY if ref.domain == "docker.io" else ref.domain)
    with suppress(tk.ConfigurationError):
        server = docker_server_config(ref, env={"DOCKER_CONFIG": str(_scratch_dir()), "HOME": str(_scratch_dir())})
        assert server.url.startswith("https://") and server.registry == ref.auth_key, f"{ref} -> {server}"


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
    "notary_error_body": notary_error_body,
    "www_authenticate": www_authenticate,
    "token_response": token_response,
    "docker_config": docker_config,
    "credential_helper": credential_helper,
    "image_reference": image_reference,
}
REMOTE_ENTRIES = (
    "notary_error_body",
    "www_authenticate",
    "token_response",
    "docker_config",
    "credential_helper",
    "image_reference",
)
"""The entries of the remote layer's parsers (also run as hypothesis properties in ``test_properties.py``)."""


def seeds(name: str) -> list[bytes]:
    """The valid inputs an entry's fuzzing starts from."""
    c = corpus()
    by_entry = {
        "metadata": c.metadata,
        "metadata_role": [bytes([METADATA_ROLES.index(role)]) + data for role, data in c.files.items()],
        "public_key_dict": c.key_dicts,
        "public_key_pem": c.public_pems,
        "public_key_der": c.public_ders,
        "private_key": [bytes([i]) + pem for pem in c.private_pems for i in (0, 1)],
        "change": c.changes,
        "delegation_change": c.delegation_payloads,
        "trust_pinning": c.pinning_configs,
        "go_time": c.times,
        "json_decode": c.json_texts,
        "trusted_set": [
            bytes([i]) + c.files["root" if step == "root-update" else step] for i, step in enumerate(STEPS)
        ],
        "root_certificate": [b"\x00" + c.root_cert_der, b"\x01" + c.root_cert_der],
        "notary_error_body": c.error_responses,
        "www_authenticate": c.challenges,
        "token_response": c.token_responses,
        "docker_config": [bytes([i]) + config for config in c.docker_configs for i in (0, 1)],
        "credential_helper": c.helper_outputs,
        "image_reference": c.image_references,
    }
    return by_entry[name]
