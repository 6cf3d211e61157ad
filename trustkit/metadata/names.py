"""Role names and delegation paths as notary defines them (``tuf/data/roles.go``)."""

from __future__ import annotations

import posixpath
import re

__all__ = [
    "BASE_ROLES",
    "ROOT",
    "SNAPSHOT",
    "TARGETS",
    "TIMESTAMP",
    "is_delegation",
    "is_valid_role",
    "parent_role",
    "path_allowed",
]

ROOT = "root"
TARGETS = "targets"
SNAPSHOT = "snapshot"
TIMESTAMP = "timestamp"
BASE_ROLES = (ROOT, TARGETS, SNAPSHOT, TIMESTAMP)

_DELEGATION_CHARS = re.compile(r"[-a-z0-9_/]+\Z")
_MAX_ROLE_NAME = 255


def is_delegation(name: str) -> bool:
    """Notary's ``IsDelegation``: ``targets/…``, lowercase ``[-a-z0-9_/]``, under 256 characters, clean path."""
    return (
        isinstance(name, str)
        and name.startswith(TARGETS + "/")
        and len(name) <= _MAX_ROLE_NAME
        and _DELEGATION_CHARS.match(name) is not None
        and posixpath.normpath(name) == name
    )


def is_valid_role(name: str) -> bool:
    """A base role or a valid delegation name."""
    return name in BASE_ROLES or is_delegation(name)


def parent_role(name: str) -> str:
    """The role that delegates to ``name`` (``path.Dir``): ``targets/a/b`` → ``targets/a``."""
    return posixpath.dirname(name)


def path_allowed(target_name: str, paths: tuple[str, ...] | list[str]) -> bool:
    """Whether a target name is covered by a role's paths: plain string prefixes, ``""`` covers everything."""
    return any(target_name.startswith(prefix) for prefix in paths)
