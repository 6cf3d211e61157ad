"""Attacks through the trust directory and the key files (issue 14: items 1, 5, 10, 11; issue 15: item 5).

A hostile GUN, a hostile key bundle, a hostile trust directory (links, loose permissions) and hostile key files
must each end in a typed trustkit error that says what to do, and never in a write outside the trust directory,
a lost key or a key read from a file others can read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.robustness.test_regressions import trustkit_error
from trustkit.client import Change, Changelist, MetadataCache
from trustkit.keystore import MemoryKeyStore
from trustkit.remote import LocalRemote, MemoryRemote

ESCAPES = ["../../escape/x", "a/../../escape", "..", "a/./b", "/abs/path", "a//b", "nul\x00byte", "a/b/"]


def _nothing_outside(tmp_path: Path) -> None:
    """Nothing was created beside the trust directory (``tmp_path/trust``)."""
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["trust"]), sorted(tmp_path.iterdir())


# --- issue 14 item 1: the GUN names a folder below the trust directory, never a path outside it ---------------


@pytest.mark.parametrize("gun", ESCAPES)
def test_a_gun_cannot_lead_the_cache_out_of_the_trust_dir(tmp_path: Path, gun: str) -> None:
    trust_dir = tmp_path / "trust"

    def store() -> None:
        MetadataCache(trust_dir, gun).store("root", b"{}")

    error = trustkit_error(store, f"MetadataCache(trust_dir, {gun!r}).store")
    assert isinstance(error, tk.ConfigurationError) and "GUN" in str(error)
    _nothing_outside(tmp_path)


@pytest.mark.parametrize("gun", ESCAPES)
def test_a_gun_cannot_lead_the_changelist_out_of_the_trust_dir(tmp_path: Path, gun: str) -> None:
    trust_dir = tmp_path / "trust"
    change = Change.add_target("x", tk.TargetFile.from_digest("01" * 32, 1))
    error = trustkit_error(lambda: Changelist(trust_dir, gun).add(change), f"Changelist(trust_dir, {gun!r}).add")
    assert isinstance(error, tk.ConfigurationError)
    _nothing_outside(tmp_path)


@pytest.mark.parametrize("gun", ESCAPES)
@pytest.mark.parametrize(
    "entry",
    [
        "repository",
        "reader",
        "local remote",
        "memory remote",
    ],
)
def test_every_entry_point_refuses_a_gun_that_escapes(tmp_path: Path, gun: str, entry: str) -> None:
    trust_dir = tmp_path / "trust"
    remote = MemoryRemote()
    calls: dict[str, Callable[[], Any]] = {
        "repository": lambda: tk.Repository(
            gun, remote=remote, keystore=MemoryKeyStore(passphrase=""), trust_dir=trust_dir
        ).add_target("x", tk.TargetFile.from_digest("01" * 32, 1)),
        "reader": lambda: tk.Reader(gun, remote, cache=MetadataCache(trust_dir, gun)).refresh(),
        "local remote": lambda: LocalRemote(trust_dir / "remote").publish(gun, {"root": b"{}"}),
        "memory remote": lambda: remote.get_role(gun, "root", max_size=1 << 20),
    }
    error = trustkit_error(calls[entry], f"{entry} with GUN {gun!r}")
    assert isinstance(error, tk.ConfigurationError), repr(error)
    _nothing_outside(tmp_path)


def test_a_key_gun_cannot_inject_pem_headers() -> None:
    store = MemoryKeyStore(passphrase="")
    key = tk.generate_private_key()

    def add() -> None:
        store.add_key(key, role="targets", gun="example.com/app\nrole: root")

    assert isinstance(trustkit_error(add, "add_key with a GUN holding a newline"), tk.ConfigurationError)
    assert store.list_keys() == []
