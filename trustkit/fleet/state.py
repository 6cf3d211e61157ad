"""The verified view of one repository that the follower and the inventory both take: its tags and its signers."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from trustkit.client import Reader
from trustkit.metadata.names import TIMESTAMP
from trustkit.trust import TrustedMetadataSet

__all__ = ["RepositoryState", "read_state", "state_of"]


@attrs.frozen
class RepositoryState:
    """What a verified read of a repository shows: each tag with the digest ``notary list`` shows for it, each
    delegation (signer role) with its key IDs, and the timestamp version it was read at. Immutable (do not change
    its mappings), so safe to share between threads."""

    timestamp_version: int
    tags: Mapping[str, str]
    """Tag -> ``sha256:<hex>`` (the empty string for a target without a sha256)."""
    signers: Mapping[str, tuple[str, ...]]
    """Every delegation role a trusted role delegates to (``targets/releases``, ``targets/alice``; also one that
    has signed nothing yet) -> its key IDs, sorted."""

    def to_json(self) -> dict[str, object]:
        """The state as the follower saves it (JSON-ready)."""
        return {
            "timestamp_version": self.timestamp_version,
            "tags": dict(self.tags),
            "signers": {role: list(ids) for role, ids in self.signers.items()},
        }

    @classmethod
    def from_json(cls, obj: object) -> RepositoryState:
        """Read what :meth:`to_json` wrote; ``ValueError`` (or ``KeyError``) for anything else."""
        if not isinstance(obj, dict):
            raise ValueError("not an object")
        version, tags, signers = obj["timestamp_version"], obj["tags"], obj["signers"]
        if not isinstance(version, int) or not isinstance(tags, dict) or not isinstance(signers, dict):
            raise ValueError("wrong field types")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise ValueError("tags must map text to text")
        if not all(isinstance(k, str) and isinstance(v, list) for k, v in signers.items()):
            raise ValueError("signers must map text to lists")
        return cls(version, tags, {role: tuple(str(i) for i in ids) for role, ids in signers.items()})


def state_of(trusted: TrustedMetadataSet) -> RepositoryState:
    """The state a verified read ended in (any reader's, blocking or asyncio: no I/O here)."""
    tags = {row.name: f"sha256:{row.sha256_hex}" if row.sha256_hex else "" for row in trusted.list_target_rows()}
    signers = {
        delegation.name: tuple(sorted(delegation.keyids))
        for role in trusted.walk()
        for delegation in trusted[role].signed.delegations.roles
    }
    return RepositoryState(int(trusted[TIMESTAMP].signed.version), tags, signers)


def read_state(reader: Reader) -> RepositoryState:
    """The state of the repository ``reader`` reads (refreshing it first if it never was)."""
    return state_of(reader.trusted)
