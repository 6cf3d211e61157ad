"""Fixtures for the keystore unit tests: stores on temporary trust directories and in memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trustkit.keystore import FileKeyStore, MemoryKeyStore, PassphraseSource, PemKeyStore

GUN = "localhost:5000/keystore/app"
PASSPHRASES = {
    "root": "root passphrase 1",
    "targets": "targets passphrase 2",
    "snapshot": "snapshot passphrase 3",
}
DEFAULT_PASSPHRASE = "delegation passphrase 4"
DATA = Path(__file__).parent / "data"

StoreFactory = Callable[..., PemKeyStore]


@pytest.fixture(params=["file", "memory"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Builds a FileKeyStore on a fresh trust dir, or a MemoryKeyStore; ``passphrase`` as the stores take it."""

    def make(passphrase: PassphraseSource = "fixed", **kwargs: object) -> PemKeyStore:
        if passphrase == "fixed":
            from trustkit.keystore import RolePassphrases

            passphrase = RolePassphrases(PASSPHRASES, default=DEFAULT_PASSPHRASE)
        if request.param == "file":
            return FileKeyStore(tmp_path / "trust", passphrase=passphrase, **kwargs)  # type: ignore[arg-type]
        return MemoryKeyStore(passphrase=passphrase, **kwargs)  # type: ignore[arg-type]

    return make


class CountingRetriever:
    """A retriever that records every call and answers from a list (None once the list is used up)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, bool, int]] = []

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        self.calls.append((key_id, role, create_new, attempt))
        return self.answers.pop(0) if self.answers else None
