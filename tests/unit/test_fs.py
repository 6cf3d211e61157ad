"""Atomic private writes: permissions, replacement, and no torn file when a write fails midway."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trustkit._fs import atomic_write, ensure_private_dir, remove_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_creates_private_files_and_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "key.key"
    atomic_write(target, b"one")
    assert target.read_bytes() == b"one"
    assert mode(target) == 0o600
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(os.listdir(target.parent)) == ["key.key"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f"
    atomic_write(target, b"old")

    def crash(src: str, dst: str, **dir_fds: int) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f"]


def test_remove_and_existing_dirs(tmp_path: Path) -> None:
    ensure_private_dir(tmp_path)
    assert mode(tmp_path) != 0 and tmp_path.is_dir()
    target = tmp_path / "x"
    atomic_write(target, b"")
    assert remove_file(target) is True
    assert remove_file(target) is False
