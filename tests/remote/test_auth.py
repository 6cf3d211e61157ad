"""WWW-Authenticate parsing, scopes, credentials, docker's config.json, credential helpers and the Authenticator."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import trustkit as tk
from trustkit.remote import (
    DOCKER_HUB_AUTH_KEY,
    Authenticator,
    Challenge,
    ConfigurationError,
    Credentials,
    DockerConfig,
    Scope,
    parse_www_authenticate,
    run_credential_helper,
)

NOTARY_CHALLENGE = (
    'Bearer realm="https://127.0.0.1:14444/token",service="notary-test",'
    'scope="repository:docker.io/library/alpine:pull,push",error="insufficient_scope"'
)


# --- WWW-Authenticate ------------------------------------------------------------------------------------------


def test_parse_notary_server_challenge() -> None:
    (challenge,) = parse_www_authenticate(NOTARY_CHALLENGE)
    assert challenge.scheme == "bearer"
    assert dict(challenge.params) == {
        "realm": "https://127.0.0.1:14444/token",
        "service": "notary-test",
        "scope": "repository:docker.io/library/alpine:pull,push",
        "error": "insufficient_scope",
    }
    assert challenge.realm == "https://127.0.0.1:14444/token"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Basic realm="a", Bearer realm="b",service=s',
            [("basic", {"realm": "a"}), ("bearer", {"realm": "b", "service": "s"})],
        ),
        ('Bearer Realm="x" , SERVICE = "y"', [("bearer", {"realm": "x", "service": "y"})]),
        (r'Bearer realm="say \"hi\"\\"', [("bearer", {"realm": 'say "hi"\\'})]),
        ('Bearer realm="a,b=c"', [("bearer", {"realm": "a,b=c"})]),
        ("Basic", [("basic", {})]),
        ('Negotiate, Basic realm="r"', [("negotiate", {}), ("basic", {"realm": "r"})]),
        ('Bearer realm="unterminated', [("bearer", {})]),
        ("Bearer realm=", [("bearer", {})]),
        ("", []),
        (",,,", []),
        ('"quoted"', []),
        ('Bearer realm="a", realm="b"', [("bearer", {"realm": "a"})]),
    ],
)
def test_parse_www_authenticate_variants(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, dict(c.params)) for c in parse_www_authenticate(header)] == expected


def test_parse_several_header_values() -> None:
    challenges = parse_www_authenticate(['Basic realm="a"', NOTARY_CHALLENGE])
    assert [c.scheme for c in challenges] == ["basic", "bearer"]


# --- scopes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("actions", ["push,pull", "pull,push", "pull,,push"])
def test_scope_action_order_does_not_matter(actions: str) -> None:
    scope = Scope.parse(f"repository:localhost:5000/ns/app:{actions}")
    assert scope == Scope.repository("localhost:5000/ns/app", "pull", "push")
    assert str(scope) == "repository:localhost:5000/ns/app:push,pull"


def test_scope_covers() -> None:
    push = Scope.repository("g", "push", "pull")
    assert push.covers(Scope.repository("g", "pull"))
    assert not Scope.repository("g", "pull").covers(push)
    assert Scope.repository("g", "*").covers(push)
    assert not push.covers(Scope.repository("other", "pull"))
    assert str(Scope("registry", "catalog", {"*"})) == "registry:catalog:*"


@pytest.mark.parametrize("text", ["", "repository", "repository:name", "repository::pull", ":n:pull", "repository:n:,"])
def test_scope_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Scope.parse(text)


# --- credentials -----------------------------------------------------------------------------------------------


def test_credentials_from_auth_string() -> None:
    encoded = base64.b64encode(b"alice:se:cret").decode()
    assert Credentials.from_auth_string(encoded) == Credentials("alice", "se:cret")
    assert "se:cret" not in repr(Credentials.from_auth_string(encoded))
    assert Credentials("a", "b").basic_header() == "Basic " + base64.b64encode(b"a:b").decode()


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        base64.b64encode(b"nocolon").decode(),
        base64.b64encode(b":pw").decode(),
        base64.b64encode(b"\xff:x").decode(),
    ],
)
def test_credentials_from_bad_auth_string(text: str) -> None:
    with pytest.raises(ConfigurationError):
        Credentials.from_auth_string(text)


# --- docker's config.json --------------------------------------------------------------------------------------


def _config(obj: object) -> DockerConfig:
    return DockerConfig.from_bytes(json.dumps(obj).encode())


def test_docker_config_auths() -> None:
    config = _config(
        {
            "auths": {
                "localhost:5000": {"auth": base64.b64encode(b"alice:secret").decode()},
                "https://registry.example.com/v1/": {"username": "bob", "password": "pw"},
                DOCKER_HUB_AUTH_KEY: {"auth": "", "identitytoken": "refresh-me"},
                "empty.example.com": {},
            }
        }
    )
    assert config.credentials("localhost:5000") == Credentials("alice", "secret")
    assert config.credentials("registry.example.com") == Credentials("bob", "pw")  # matched by host, as docker does
    assert config.credentials(DOCKER_HUB_AUTH_KEY) == Credentials(identity_token="refresh-me")
    assert config.credentials("empty.example.com") is None
    assert config.credentials("unknown.example.com") is None


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {"auths": []},
        {"auths": {"h": "x"}},
        {"auths": {"h": {"auth": 5}}},
        {"auths": {"h": {"auth": "!!"}}},
        {"credsStore": 5},
        {"credsStore": "../evil"},
        {"credHelpers": {"h": ""}},
        {"credHelpers": []},
    ],
)
def test_docker_config_malformed(obj: object) -> None:
    with pytest.raises(ConfigurationError):
        _config(obj)


def test_docker_config_not_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        DockerConfig.load(path)
    assert DockerConfig.load(tmp_path / "missing.json").credentials("h") is None


def _helper(directory: Path, name: str, script: str) -> Path:
    path = directory / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def helper_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return directory


def test_credential_helper_protocol(helper_dir: Path) -> None:
    log = helper_dir / "stdin.log"
    _helper(
        helper_dir,
        "store",
        f'[ "$1" = get ] || exit 3\ncat > {log}\nprintf \'{{"ServerURL":"x","Username":"alice","Secret":"s3cret"}}\'\n',
    )
    assert run_credential_helper("store", "localhost:5000") == Credentials("alice", "s3cret")
    assert log.read_text() == "localhost:5000"  # the server on stdin, no newline, as docker writes it


def test_credential_helper_identity_token(helper_dir: Path) -> None:
    _helper(helper_dir, "tok", 'printf \'{"Username":"<token>","Secret":"refresh"}\'\n')
    assert run_credential_helper("tok", "h") == Credentials(identity_token="refresh")


def test_credential_helper_not_found(helper_dir: Path) -> None:
    _helper(helper_dir, "none", "echo 'credentials not found in native keychain'\nexit 1\n")
    assert run_credential_helper("none", "h") is None


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'the keychain is locked' >&2\nexit 1\n", "the keychain is locked"),
        ("echo nonsense\n", "not JSON"),
        ("echo '[1]'\n", "JSON object"),
        ('echo \'{"Username": 5, "Secret": "x"}\'\n', "must be strings"),
        ("sleep 5\n", "did not answer"),
    ],
)
def test_credential_helper_failures(helper_dir: Path, script: str, message: str) -> None:
    _helper(helper_dir, "bad", script)
    with pytest.raises(ConfigurationError, match=message):
        run_credential_helper("bad", "h", timeout=0.5)


def test_credential_helper_missing_or_invalid_name(helper_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found on PATH"):
        run_credential_helper("absent-helper-xyz", "h")
    with pytest.raises(ConfigurationError, match="invalid credential helper name"):
        run_credential_helper("../x", "h")


def test_cred_helpers_take_precedence_over_creds_store_and_auths(helper_dir: Path) -> None:
    _helper(helper_dir, "per-host", 'printf \'{"Username":"from-cred-helpers","Secret":"1"}\'\n')
    _helper(helper_dir, "store", 'printf \'{"Username":"from-creds-store","Secret":"2"}\'\n')
    auth = base64.b64encode(b"from-auths:3").decode()
    config = _config(
        {"auths": {"a.example": {"auth": auth}}, "credsStore": "store", "credHelpers": {"localhost:5000": "per-host"}}
    )
    assert config.credentials("localhost:5000") == Credentials("from-cred-helpers", "1")
    assert config.credentials("a.example") == Credentials("from-creds-store", "2")  # credsStore wins over auths
    assert _config({"auths": {"a.example": {"auth": auth}}}).credentials("a.example") == Credentials("from-auths", "3")


# --- the Authenticator -----------------------------------------------------------------------------------------


class FakeTokenServer:
    def __init__(self, status: int = 200, body: bytes | None = None) -> None:
        self.calls: list[tuple[str, str, list[tuple[str, str]], dict[str, str] | None, dict[str, str]]] = []
        self.status = status
        self.body = body

    def __call__(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]],
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes]:
        self.calls.append((method, url, list(params), dict(form) if form else None, dict(headers)))
        body = (
            self.body
            if self.body is not None
            else json.dumps({"access_token": f"t{len(self.calls)}", "expires_in": 120}).encode()
        )
        return self.status, body


BEARER = [Challenge("bearer", {"realm": "https://auth.test/token", "service": "notary"})]


def test_authenticator_fetches_and_caches_tokens() -> None:
    now = [1000.0]
    auth = Authenticator(Credentials("alice", "pw"), clock=lambda: now[0])
    fetch = FakeTokenServer()
    pull = Scope.repository("g", "pull")
    push = Scope.repository("g", "push", "pull")
    assert auth.authorization(pull) is None
    assert auth.authenticate(BEARER, push, fetch) == "Bearer t1"
    assert auth.authorization(pull) == "Bearer t1"  # a push,pull token covers pull
    assert auth.authorization(Scope.repository("other", "pull")) is None
    method, url, params, form, headers = fetch.calls[0]
    assert (method, url) == ("GET", "https://auth.test/token")
    assert params == [("account", "alice"), ("service", "notary"), ("scope", "repository:g:push,pull")]
    assert form is None
    assert headers == {"Authorization": Credentials("alice", "pw").basic_header()}
    now[0] += 200  # expired (120 s)
    assert auth.authorization(pull) is None


def test_authenticator_anonymous_and_identity_token() -> None:
    fetch = FakeTokenServer()
    Authenticator().authenticate(BEARER, Scope.repository("g", "pull"), fetch)
    assert fetch.calls[0][2] == [("service", "notary"), ("scope", "repository:g:pull")]
    assert fetch.calls[0][4] == {}
    Authenticator(Credentials(identity_token="idt"), client_id="me").authenticate(
        BEARER, Scope.repository("g", "*"), fetch
    )
    method, _, params, form, headers = fetch.calls[1]
    assert (method, params, headers) == ("POST", [], {})
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "idt",
        "service": "notary",
        "scope": "repository:g:*",
        "client_id": "me",
    }


def test_authenticator_looks_credentials_up_lazily_once() -> None:
    calls: list[int] = []

    def source() -> Credentials:
        calls.append(1)
        return Credentials("lazy", "pw")

    auth = Authenticator(source)
    assert not auth.sent_credentials
    assert calls == []
    auth.authenticate(BEARER, Scope.repository("g", "pull"), FakeTokenServer())
    auth.authenticate(BEARER, Scope.repository("h", "pull"), FakeTokenServer())
    assert calls == [1]
    assert auth.sent_credentials


def test_authenticator_errors() -> None:
    scope = Scope.repository("g", "pull")
    with pytest.raises(tk.UnauthorizedError, match="refused an anonymous request"):
        Authenticator().authenticate(BEARER, scope, FakeTokenServer(status=401))
    with pytest.raises(tk.ServerUnavailableError):
        Authenticator().authenticate(BEARER, scope, FakeTokenServer(status=502))
    with pytest.raises(tk.RemoteError, match="HTTP 302"):
        Authenticator().authenticate(BEARER, scope, FakeTokenServer(status=302))
    with pytest.raises(ConfigurationError):
        Authenticator(lambda: "nope").authenticate(BEARER, scope, FakeTokenServer())  # type: ignore[arg-type,return-value]
    assert Authenticator().authenticate([Challenge("negotiate")], scope, FakeTokenServer()) is None
    assert Authenticator().authenticate([], scope, FakeTokenServer()) is None


def test_token_lifetime_is_read_defensively() -> None:
    for lifetime in ("soon", None, float("nan"), True, -5):
        body = json.dumps({"token": "t", "expires_in": lifetime}).encode()
        auth = Authenticator(clock=lambda: 0.0)
        assert auth.authenticate(BEARER, Scope.repository("g", "pull"), FakeTokenServer(body=body)) == "Bearer t"
        assert auth.authorization(Scope.repository("g", "pull")) == "Bearer t"  # at least distribution's 60 s
