"""No passphrase ever appears in a log record, a repr, or an exception, whatever the keystore does."""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path

import pytest

import trustkit as tk
from trustkit.errors import TrustkitError
from trustkit.keystore import (
    CallbackPassphrase,
    DockerEnvPassphrase,
    FileKeyStore,
    MemoryKeyStore,
    NotaryEnvPassphrase,
    RolePassphrases,
    generate_delegation_key,
    load_key_file,
)

SECRETS = ("Root-Secret-7f3a", "Targets-Secret-91bc", "Delegation-Secret-4d2e", "File-Secret-0a9f", "New-Secret-55e1")


def exception_text(exc: BaseException) -> str:
    """Everything an exception shows: str, repr, the formatted traceback and its chained causes."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), *traceback.format_exception(type(seen), seen, seen.__traceback__)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def test_no_passphrase_in_logs_reprs_or_exceptions(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root_pass, targets_pass, delegation_pass, file_pass, new_pass = SECRETS
    caplog.set_level(logging.DEBUG)  # every logger, trustkit's and securesystemslib's
    texts: list[str] = []
    errors: list[BaseException] = []

    def expect_error(call: object, *args: object, **kwargs: object) -> None:
        try:
            call(*args, **kwargs)  # type: ignore[operator]
        except (TrustkitError, OSError, ValueError) as exc:
            errors.append(exc)
        else:
            raise AssertionError(f"{call} did not fail")

    retriever = RolePassphrases({"root": root_pass, "targets": targets_pass}, default=delegation_pass)
    store = FileKeyStore(tmp_path / "trust", passphrase=retriever)
    root = tk.generate_private_key(role="root")
    targets = tk.generate_private_key(role="targets", gun="localhost:5000/s/app")
    store.add_key(root)
    store.add_key(targets)
    generate_delegation_key(store, "alice", directory=tmp_path)
    store.forget_decrypted_keys()
    for info in store.list_keys():
        texts += [repr(info), repr(store.get_signer(info.key_id)), repr(store.get_private_key(info.key_id))]
    bundle = store.export_keys()
    store.change_passphrase(targets.key_id, new_passphrase=new_pass)

    wrong = FileKeyStore(tmp_path / "trust", passphrase=RolePassphrases(default=new_pass + "x"))
    for info in wrong.list_keys():
        expect_error(wrong.get_signer, info.key_id)

    def always(key_id: str, role: str, *, create_new: bool, attempt: int) -> str:
        return f"{root_pass}-attempt-{attempt}"  # a wrong passphrase on every attempt

    stubborn = FileKeyStore(tmp_path / "trust", passphrase=always)
    expect_error(stubborn.get_signer, root.key_id)
    (tmp_path / "trust" / "private" / ("f" * 64 + ".key")).write_bytes(b"-----BEGIN PRIVATE KEY-----\nbad")
    wrong.list_keys()  # logs a warning for the corrupt file

    key_file = tmp_path / "signer.pem"
    key_file.write_bytes(tk.generate_private_key().to_pem(file_pass))
    os.chmod(key_file, 0o600)
    expect_error(load_key_file, store, key_file, name="bob", passphrase=file_pass + "?")
    load_key_file(store, key_file, name="bob", passphrase=file_pass)

    memory = MemoryKeyStore(passphrase=new_pass)
    memory.import_keys(bundle)
    expect_error(memory.get_signer, root.key_id)
    expect_error(memory.import_keys, tk.generate_private_key().to_pem(file_pass))

    envs: list[object] = [
        NotaryEnvPassphrase(environ={"NOTARY_ROOT_PASSPHRASE": root_pass}),
        DockerEnvPassphrase(environ={"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE": root_pass}),
        CallbackPassphrase(lambda _prompt: root_pass),
    ]
    texts += [repr(store), repr(wrong), repr(memory), repr(retriever), *map(repr, envs)]
    texts += [exception_text(exc) for exc in errors]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    assert errors and any("wrong passphrase" in str(e) for e in errors)
    assert any("f" * 64 in record.getMessage() for record in caplog.records)
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in joined
