"""Outside input never escapes as a traceback: every parser of the remote layer either succeeds or raises its
typed error, whatever it is fed (property tests)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

import trustkit as tk
from trustkit.remote import (
    ChangeRecord,
    ConfigurationError,
    DockerConfig,
    ImageReference,
    NotaryServer,
    Scope,
    parse_www_authenticate,
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
header_text = st.text(alphabet=st.sampled_from(list('Bearer Basic realm=service,scope="\\ \t:/a1*')), max_size=80)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=100), header_text))
def test_www_authenticate_never_raises(text: str) -> None:
    for challenge in parse_www_authenticate(text):
        assert challenge.scheme == challenge.scheme.lower()
        assert all(name == name.lower() for name in challenge.params)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_scope_parse_raises_only_value_error(text: str) -> None:
    try:
        scope = Scope.parse(text)
    except ValueError:
        return
    assert Scope.parse(str(scope)) == scope


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"[a-z0-9.:/_@-]{1,40}(:[a-z0-9._-]{1,10})?", fullmatch=True)))
def test_image_references_raise_only_configuration_errors(text: str) -> None:
    try:
        image = ImageReference.parse(text)
    except ConfigurationError:
        return
    assert ImageReference.parse(str(image)) == image
    assert image.gun == f"{image.domain}/{image.path}"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=100), json_values.map(lambda v: json.dumps(v).encode())))
def test_docker_config_raises_only_configuration_errors(data: bytes) -> None:
    try:
        config = DockerConfig.from_bytes(data)
    except ConfigurationError:
        return
    for key in config.auths:
        if config.helper_for(key) is None:
            found = config.credentials(key)
            assert found is None or found.username or found.identity_token


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_changefeed_records_raise_only_remote_errors(value: Any) -> None:
    try:
        record = ChangeRecord.from_dict(value)
    except tk.RemoteError:
        return
    assert ChangeRecord.from_dict(record.to_dict()) == record


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=200), st.text(max_size=60))
def test_any_answer_is_a_bytes_result_or_a_typed_error(status: int, body: bytes, challenge: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = (
            {"WWW-Authenticate": challenge} if status == 401 and challenge.isprintable() and challenge.isascii() else {}
        )
        return httpx.Response(status, content=body, headers=headers)

    with NotaryServer("https://n.test", transport=httpx.MockTransport(handler), retries=0) as server:
        results: list[Any] = []
        for call in (
            lambda: server.get_role("g/a", "root", max_size=100),
            lambda: server.get_key("g/a", "timestamp"),
            lambda: server.changefeed("g/a"),
            lambda: server.publish("g/a", {"root": b"{}"}),
        ):
            with contextlib.suppress(tk.TrustkitError):
                results.append(call())
    if 200 <= status < 300 and len(body) <= 100:
        assert results[0] == body  # a 2xx body within the cap is the answer
