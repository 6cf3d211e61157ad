"""Passphrase retrievers: fixed mappings, callbacks, notary's and docker's environment variables, bounded attempts."""

from __future__ import annotations

import pytest

import trustkit as tk
from tests.support.keystores import CountingRetriever
from trustkit.errors import KeyFormatError, PassphraseError
from trustkit.keystore import (
    NO_PASSPHRASE,
    CallbackPassphrase,
    DockerEnvPassphrase,
    NotaryEnvPassphrase,
    PassphraseRetriever,
    RolePassphrases,
    as_retriever,
    new_passphrase,
    unlock_private_key,
)
from trustkit.keystore.passphrase import prompt_text

NOTARY_ENV = {
    "NOTARY_ROOT_PASSPHRASE": "n-root",
    "NOTARY_TARGETS_PASSPHRASE": "n-targets",
    "NOTARY_SNAPSHOT_PASSPHRASE": "n-snapshot",
    "NOTARY_DELEGATION_PASSPHRASE": "n-delegation",
}
DOCKER_ENV = {
    "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": "d-root",
    "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "d-repo",
}


def ask(retriever: PassphraseRetriever, role: str, *, create_new: bool = False, attempt: int = 0) -> str | None:
    return retriever("ab" * 32, role, create_new=create_new, attempt=attempt)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("root", "n-root"),
        ("targets", "n-targets"),
        ("snapshot", "n-snapshot"),
        ("timestamp", None),  # notary has no timestamp variable, and timestamp is a base role
        ("delegation", "n-delegation"),
        ("targets/releases", "n-delegation"),
        ("alice", "n-delegation"),  # docker signer names are "delegations" to notary
        ("", "n-delegation"),
    ],
)
def test_notary_env_precedence(role: str, expected: str | None) -> None:
    assert ask(NotaryEnvPassphrase(environ=NOTARY_ENV), role) == expected


def test_notary_env_own_variable_wins_and_empty_counts_as_unset() -> None:
    env = {**NOTARY_ENV, "NOTARY_TARGETS_PASSPHRASE": ""}
    retriever = NotaryEnvPassphrase(environ=env)
    assert ask(retriever, "targets") is None  # base role: no delegation fallback
    assert retriever.variable_for("targets") is None
    assert retriever.variable_for("targets/x") == "NOTARY_DELEGATION_PASSPHRASE"
    assert ask(NotaryEnvPassphrase(environ={}), "root") is None


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("root", "d-root"),
        ("targets", "d-repo"),
        ("snapshot", "d-repo"),
        ("timestamp", "d-repo"),
        ("default", "d-repo"),
        ("alice", "d-repo"),
        ("targets/releases", "d-repo"),
        ("encrypted", "d-repo"),  # the alias `docker trust key load` decrypts with
    ],
)
def test_docker_env_precedence(role: str, expected: str) -> None:
    assert ask(DockerEnvPassphrase(environ=DOCKER_ENV), role) == expected


def test_docker_root_never_uses_the_repository_passphrase() -> None:
    retriever = DockerEnvPassphrase(environ={"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "d-repo"})
    assert ask(retriever, "root") is None
    assert ask(retriever, "targets") == "d-repo"


def test_env_reads_os_environ_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    retriever = NotaryEnvPassphrase()
    monkeypatch.delenv("NOTARY_ROOT_PASSPHRASE", raising=False)
    assert ask(retriever, "root") is None
    monkeypatch.setenv("NOTARY_ROOT_PASSPHRASE", "later")
    assert ask(retriever, "root") == "later"


def test_env_values_are_offered_once_then_fallback_is_used_when_unset() -> None:
    fallback = CountingRetriever("from-fallback")
    retriever = NotaryEnvPassphrase(environ={"NOTARY_ROOT_PASSPHRASE": "n-root"}, fallback=fallback)
    assert ask(retriever, "root") == "n-root"
    assert ask(retriever, "root", attempt=1) is None  # the same wrong value is not tried again
    assert fallback.calls == []
    assert ask(retriever, "targets", create_new=True) == "from-fallback"
    assert fallback.calls == [("ab" * 32, "targets", True, 0)]
    chained = DockerEnvPassphrase(environ={}, fallback=NotaryEnvPassphrase(environ=NOTARY_ENV))
    assert ask(chained, "snapshot") == "n-snapshot"


def test_role_passphrases() -> None:
    retriever = RolePassphrases({"root": "r", "targets": "t"}, default="d")
    assert [ask(retriever, role) for role in ("root", "targets", "alice")] == ["r", "t", "d"]
    assert ask(retriever, "root", attempt=1) is None
    assert ask(RolePassphrases({"root": "r"}), "targets") is None
    assert retriever.roles == ("root", "targets")


def test_as_retriever() -> None:
    assert as_retriever(None) is NO_PASSPHRASE
    assert ask(as_retriever("one"), "anything") == "one"
    assert ask(as_retriever({"root": "r"}), "root") == "r"
    function = CountingRetriever("x")
    assert as_retriever(function) is function
    assert isinstance(function, PassphraseRetriever)
    with pytest.raises(tk.InvalidArgumentError, match="not int"):
        as_retriever(42)  # type: ignore[arg-type]


def test_callback_prompts_like_notary_and_caches_per_role() -> None:
    prompts: list[str] = []
    answers = iter(["first", "second", "third"])

    def callback(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    retriever = CallbackPassphrase(callback)
    key_id = "0123456789" + "a" * 54
    assert retriever(key_id, "targets", create_new=False, attempt=0) == "first"
    assert prompts == ["Enter passphrase for targets key with ID 0123456: "]
    assert retriever(key_id, "targets", create_new=False, attempt=0) == "first"  # cached for the role
    assert retriever(key_id, "targets", create_new=False, attempt=1) == "second"
    assert prompts[-1] == "Passphrase incorrect. Please retry.\nEnter passphrase for targets key with ID 0123456: "
    assert retriever(key_id, "root", create_new=True, attempt=0) == "third"
    assert prompts[-1] == "Enter passphrase for new root key with ID 0123456: "
    assert prompt_text("", "", create_new=False, attempt=0) == "Enter passphrase for delegation key: "


def test_callback_confirmation_must_match() -> None:
    answers = iter(["one", "two", "same", "same"])
    retriever = CallbackPassphrase(lambda _prompt: next(answers), confirm_new=True, cache=False)
    with pytest.raises(PassphraseError, match="do not match"):
        retriever("ab" * 32, "root", create_new=True, attempt=0)
    assert retriever("ab" * 32, "root", create_new=True, attempt=1) == "same"
    # new_passphrase() retries after a mismatch, within its bound
    answers = iter(["a", "b", "c", "c"])
    assert new_passphrase(retriever, key_id="ab" * 32, role="root") == "c"


def test_callback_none_gives_up() -> None:
    assert CallbackPassphrase(lambda _prompt: None)("ab" * 32, "root", create_new=False, attempt=0) is None


def test_unlock_tries_a_bounded_number_of_passphrases() -> None:
    key = tk.generate_private_key(role="targets", gun="g")
    pem = key.to_pem("right passphrase")
    retriever = CountingRetriever("wrong 1", "wrong 2", "wrong 3", "right passphrase")
    with pytest.raises(PassphraseError) as info:
        unlock_private_key(pem, retriever, key_id=key.key_id, role="targets", max_attempts=3, where="the/file.key")
    assert [call[3] for call in retriever.calls] == [0, 1, 2]
    assert all(call[:3] == (key.key_id, "targets", False) for call in retriever.calls)
    message = str(info.value)
    assert "the/file.key" in message and "wrong passphrase" in message and "3 attempt" in message
    assert "wrong 1" not in message and "right passphrase" not in message

    retriever = CountingRetriever("wrong", "right passphrase")
    again = unlock_private_key(pem, retriever, key_id=key.key_id, role="targets")
    assert again.key_id == key.key_id and len(retriever.calls) == 2


def test_a_fixed_passphrase_is_tried_once_and_said_so() -> None:
    """A string or an environment variable cannot become right: it is tried once, and the message says one attempt
    (it said "gave up after 2 attempt(s)" while the docs say a fixed passphrase is tried once)."""
    key = tk.generate_private_key(role="targets", gun="g")
    pem = key.to_pem("right passphrase")
    fixed = [
        as_retriever("wrong"),
        DockerEnvPassphrase(environ={"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE": "wrong"}),
    ]
    for retriever in fixed:
        with pytest.raises(PassphraseError, match=r"wrong passphrase \(gave up after 1 attempt\(s\)\)"):
            unlock_private_key(pem, retriever, key_id=key.key_id, role="targets", where="the/file.key")


def test_unlock_unencrypted_never_asks_and_giving_up_is_clear() -> None:
    key = tk.generate_private_key()
    retriever = CountingRetriever()
    assert unlock_private_key(key.to_pem(), retriever, key_id=key.key_id, role="").key_id == key.key_id
    assert retriever.calls == []
    with pytest.raises(PassphraseError, match="no passphrase was given"):
        unlock_private_key(key.to_pem("p"), NO_PASSPHRASE, key_id=key.key_id, role="", where="x.key")
    with pytest.raises(KeyFormatError, match=r"x\.key") as info:
        unlock_private_key(b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", NO_PASSPHRASE,
                           key_id="", role="", where="x.key")  # fmt: skip
    assert not isinstance(info.value, PassphraseError)


def test_new_passphrase() -> None:
    assert new_passphrase(as_retriever(""), key_id="k", role="root") == ""
    with pytest.raises(PassphraseError, match="no passphrase was given"):
        new_passphrase(NO_PASSPHRASE, key_id="k", role="root")
    retriever = CountingRetriever("chosen")
    assert new_passphrase(retriever, key_id="k", role="targets") == "chosen"
    assert retriever.calls == [("k", "targets", True, 0)]


def test_reprs_hide_passphrases() -> None:
    secret = "s3cret-passphrase"
    retrievers: list[object] = [
        RolePassphrases({"root": secret}, default=secret),
        as_retriever(secret),
        NotaryEnvPassphrase(environ={"NOTARY_ROOT_PASSPHRASE": secret}),
        DockerEnvPassphrase(environ={"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": secret}),
        CallbackPassphrase(lambda _prompt: secret),
    ]
    callback = retrievers[-1]
    assert callable(callback)
    callback("ab" * 32, "root", create_new=False, attempt=0)  # now cached inside
    for retriever in retrievers:
        assert secret not in repr(retriever)
        assert secret not in str(retriever)
    assert repr(retrievers[0]) == "RolePassphrases(roles=['root'], default=<hidden>)"
