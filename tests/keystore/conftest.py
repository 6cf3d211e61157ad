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


class CountingRetriever:
    """A retriever that records every call and answers from a list (None once the list is used up)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, bool, int]] = []

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        self.calls.append((key_id, role, create_new, attempt))
        return self.answers.pop(0) if self.answers else None
