"""Fixtures for the keystore unit tests: stores on temporary trust directories and in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.keystores import DEFAULT_PASSPHRASE, PASSPHRASES, StoreFactory
from trustkit.keystore import FileKeyStore, MemoryKeyStore, PassphraseSource, PemKeyStore


@pytest.fixture(params=["file", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds a FileKeyStore on the test's trust dir (another one with ``fresh``), or a MemoryKeyStore (always
    empty); ``passphrase`` as the stores take it."""

    made = []

    def make(passphrase: PassphraseSource = "fixed", *, fresh: bool = False, **kwargs: object) -> PemKeyStore:
        if passphrase == "fixed":
            from trustkit.keystore import RolePassphrases

            passphrase = RolePassphrases(PASSPHRASES, default=DEFAULT_PASSPHRASE)
        made.append(None)
        if request.param == "file":
            trust_dir = tmp_path / (f"trust{len(made)}" if fresh else "trust")
            return FileKeyStore(trust_dir, passphrase=passphrase, **kwargs)  # type: ignore[arg-type]
        return MemoryKeyStore(passphrase=passphrase, **kwargs)  # type: ignore[arg-type]

    return make
