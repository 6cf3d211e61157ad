"""Applying changes apart from I/O and signing: a working copy of the trusted state and the staged changes in, the
roles to re-sign out; and the one keystore lookup for the private key of a public key."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from trustkit.client.changelist import Change, StagedChange
from trustkit.client.changes import InvalidChangeError, WorkingCopy, apply_changes
from trustkit.keystore.base import private_key_id

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _trusted(tmp_path: Path) -> tk.TrustedMetadataSet:
    repo = tk.Repository(
        "localhost:5000/changes/app", remote=tk.MemoryRemote(), keystore=tk.MemoryKeyStore(), trust_dir=tmp_path
    )
    repo.initialize()
    repo.add_target("v1", tk.TargetFile.from_data(b"one"), publish=True)
    return repo.reader().refresh()


def _staged(*changes: Change) -> list[StagedChange]:
    return [StagedChange(f"c{n}", change) for n, change in enumerate(changes)]


def test_changes_apply_to_a_working_copy_without_a_keystore(tmp_path: Path) -> None:
    trusted = _trusted(tmp_path)
    asked: list[str] = []

    def holds(key_id: str, key: tk.PublicKey) -> bool:
        asked.append(key_id)
        return True

    work = WorkingCopy.from_trusted(trusted, {})
    staged = _staged(Change.add_target("v2", tk.TargetFile.from_data(b"two")), Change.remove_target("v1"))
    assert apply_changes(work, staged, holds=holds, clock=lambda: NOW) is work
    assert work.dirty == {"targets"}
    assert list(work.targets["targets"].targets) == ["v2"]
    assert asked == list(trusted.root.signed.roles["targets"].keyids)  # one look a run of target changes
    assert list(trusted["targets"].signed.targets) == ["v1"]  # the trusted state itself is untouched


def test_a_role_nobody_can_sign_is_refused_before_anything_is_signed(tmp_path: Path) -> None:
    work = WorkingCopy.from_trusted(_trusted(tmp_path), {})
    with pytest.raises(tk.SigningError, match="no usable keys for targets"):
        apply_changes(
            work,
            _staged(Change.add_target("v2", tk.TargetFile.from_data(b"two"))),
            holds=lambda *_: False,
            clock=lambda: NOW,
        )


def test_an_invalid_change_is_named(tmp_path: Path) -> None:
    work = WorkingCopy.from_trusted(_trusted(tmp_path), {})
    change = Change.add_target("v2", tk.TargetFile.from_data(b"two"), role="targets/nobody")
    with pytest.raises(InvalidChangeError, match="targets/nobody"):
        apply_changes(work, _staged(change), holds=lambda *_: True, clock=lambda: NOW)


class _Unreadable:
    """A keystore whose key files cannot be read: not the same as a key it does not hold."""

    def get_key_info(self, key_id: str) -> Any:
        raise tk.KeyFormatError(f"key file for {key_id} is unreadable: restore it from a backup")


def test_one_lookup_for_the_private_key_of_a_public_key(tmp_path: Path) -> None:
    store = tk.MemoryKeyStore()
    root = tk.generate_private_key()
    certificate = tk.make_root_key(root, "localhost:5000/changes/app")
    store.add_key(root, role="root")
    assert certificate.key_id != certificate.canonical_id
    assert private_key_id(store, certificate) == certificate.canonical_id  # notary files it by canonical ID
    assert private_key_id(store, root.public_key) == root.public_key.key_id
    assert private_key_id(store, tk.generate_private_key().public_key) is None
    with pytest.raises(tk.KeyFormatError, match="unreadable"):
        private_key_id(_Unreadable(), certificate)  # type: ignore[arg-type]
    with pytest.raises(tk.KeyFormatError, match="unreadable"):
        tk.health_report(_trusted(tmp_path), keystore=_Unreadable())  # type: ignore[arg-type]
