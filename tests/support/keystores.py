"""The keystore tests' GUN, passphrases, key files and passphrase retriever."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from trustkit.keystore import PemKeyStore

GUN = "localhost:5000/keystore/app"


PASSPHRASES = {
    "root": "root passphrase 1",
    "targets": "targets passphrase 2",
    "snapshot": "snapshot passphrase 3",
}


DEFAULT_PASSPHRASE = "delegation passphrase 4"


DATA = Path(__file__).parents[1] / "keystore" / "data"


StoreFactory = Callable[..., PemKeyStore]


class CountingRetriever:
    """A retriever that records every call and answers from a list (None once the list is used up)."""

    def __init__(self, *answers: str | None) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, bool, int]] = []

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        self.calls.append((key_id, role, create_new, attempt))
        return self.answers.pop(0) if self.answers else None
