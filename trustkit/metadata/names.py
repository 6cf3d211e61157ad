"""Role names and delegation paths as notary defines them (``tuf/data/roles.go``), and its cap on a metadata file."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from trustkit.errors import ConfigurationError

__all__ = [
    "BASE_ROLES",
    "MAX_DOWNLOAD_SIZE",
    "ROOT",
    "SNAPSHOT",
    "TARGETS",
    "TIMESTAMP",
    "check_gun",
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

MAX_DOWNLOAD_SIZE = 100 << 20
"""notary's ``MaxDownloadSize`` (100 MiB): the largest metadata file notary reads when no trusted metadata gives
its length; the one source of the remotes' and the cache's caps."""

_DELEGATION_CHARS = re.compile(r"[-a-z0-9_/]+\Z")
_MAX_ROLE_NAME = 255
_BAD_GUN_CHARS = re.compile(r"[\x00-\x20\x7f*\\?#%]")
MAX_GUN_LENGTH = 255
"""The longest GUN, in characters: docker's ``NameTotalLengthMax`` (``distribution/reference``) for a repository
name, which is what a GUN names."""
_MAX_PATH_COMPONENT = 255  # bytes: the file system's limit for one folder name (NAME_MAX)


def check_gun(gun: str) -> str:
    """Return ``gun`` if it can name a repository on every remote and one folder of a trust directory, else raise
    :class:`~trustkit.errors.ConfigurationError`.

    notary-server accepts any name without ``*`` in its routes (``{gun:[^*]+}``); trustkit also refuses names
    that would not map to one URL path or one folder below ``<trust_dir>/tuf/``: empty, whitespace or control
    characters (NUL included), ``?``, ``#``, ``%``, ``\\``, leading or trailing ``/``, and empty, ``.`` or ``..``
    path components, text that is not valid Unicode (a lone surrogate: it cannot be a file name or a URL), and
    names over 255 characters (docker's limit) or with a component over 255 bytes (a folder name's limit). Every
    place that builds a path or URL from a GUN (the metadata cache, the changelist, the remotes) calls this, so a
    GUN such as ``../../escape`` never leaves the trust directory.
    """
    if not isinstance(gun, str) or not gun:
        raise ConfigurationError("a GUN must be a non-empty string, such as 'docker.io/library/alpine'")
    scheme, sep, rest = gun.partition("://")
    if sep and "/" not in scheme:
        raise ConfigurationError(
            f"invalid GUN {gun!r}: a GUN is the image's repository name without a scheme, such as {rest!r}; "
            f"the server's URL ({scheme}://host[:port]) goes to the remote (NotaryServer, DOCKER_CONTENT_TRUST_SERVER)"
        )
    try:
        encoded = gun.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"invalid GUN {gun!r}: it is not valid Unicode (a lone surrogate): give the repository name as text, "
            "such as 'docker.io/library/alpine'"
        ) from None
    if len(gun) > MAX_GUN_LENGTH or any(len(part) > _MAX_PATH_COMPONENT for part in encoded.split(b"/")):
        raise ConfigurationError(
            f"invalid GUN {gun[:40]!r}...: at most {MAX_GUN_LENGTH} characters (docker's limit for a repository "
            f"name), and at most {_MAX_PATH_COMPONENT} bytes between two '/' (a folder name)"
        )
    if _BAD_GUN_CHARS.search(gun):
        raise ConfigurationError(
            f"invalid GUN {gun!r}: no whitespace, control characters, '*', '?', '#', '%' or '\\' (give the "
            "repository name, such as 'docker.io/library/alpine')"
        )
    if any(part in ("", ".", "..") for part in gun.split("/")):
        raise ConfigurationError(
            f"invalid GUN {gun!r}: empty, '.' or '..' path components are not allowed (give the repository name, "
            "such as 'docker.io/library/alpine')"
        )
    return gun


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


def path_allowed(target_name: str, paths: Iterable[str]) -> bool:
    """Whether a target name is covered by a role's paths: plain string prefixes, ``""`` covers everything.

    Notary's one rule for delegation paths (no globs): also whether a child's path stays within its parent's.
    """
    return any(target_name.startswith(prefix) for prefix in paths)
