"""The remote interface: where a repository's trust data is published and read from.

Everything above this layer talks to a :class:`Remote` only, so the notary server over HTTP
(:class:`~trustkit.remote.NotaryServer`), a folder (:class:`~trustkit.remote.LocalRemote`) and memory
(:class:`~trustkit.remote.MemoryRemote`) are interchangeable. The GUN is passed per call, as in notary-server's
routes, so one remote serves many repositories.

The names and rules shared by every implementation live here too: GUN and role-name checks, the file names
notary-server serves (``<role>.json``, ``<role>.<sha256>.json``, ``<version>.<role>.json``), notary's size caps,
and the changefeed record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs

from trustkit._encoding import GoTime
from trustkit.errors import (
    ConfigurationError,
    ConflictError,
    InvalidArgumentError,
    MalformedMetadataError,
    NotFoundError,
    RemoteError,
    UnknownRoleError,
)
from trustkit.keys.public import PublicKey
from trustkit.metadata.names import MAX_DOWNLOAD_SIZE, SNAPSHOT, TIMESTAMP, check_gun, is_valid_role

__all__ = [
    "CONFLICT_CODES",
    "MAX_METADATA_SIZE",
    "MAX_ROOT_SIZE",
    "MAX_TIMESTAMP_SIZE",
    "NOTARY_MESSAGES",
    "SERVER_KEY_ROLES",
    "ChangeRecord",
    "ConfigurationError",
    "Remote",
    "Scope",
    "check_gun",
    "check_role",
    "check_server_url",
    "check_upload",
    "describe_detail",
    "metadata_name",
    "notary_error",
]

MAX_ROOT_SIZE = MAX_DOWNLOAD_SIZE
"""Notary's cap on a ``root.json`` whose length is not known yet (``notary.MaxDownloadSize``, 100 MiB)."""

MAX_TIMESTAMP_SIZE = 1 << 20
"""Notary's cap on ``timestamp.json`` (``notary.MaxTimestampSize``, 1 MiB)."""

MAX_METADATA_SIZE = MAX_DOWNLOAD_SIZE
"""The cap on any other file whose length no trusted metadata gives (notary's ``MaxDownloadSize``)."""

SERVER_KEY_ROLES = (TIMESTAMP, SNAPSHOT)
"""The roles whose keys a server may hold (``GET``/``POST <role>.key``)."""


def _frozen_actions(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class Scope:
    """A token scope such as ``repository:localhost:5000/ns/app:push,pull``; the action order does not matter.

    Every request of a service names the scope it needs, so it lives with the remote interface: reading without
    credentials never imports the authentication module (:mod:`trustkit.remote.auth`, which answers challenges)."""

    type: str
    name: str
    actions: frozenset[str] = attrs.field(converter=_frozen_actions)

    @classmethod
    def repository(cls, name: str, *actions: str) -> Scope:
        """``repository:<name>:<actions>``."""
        return cls("repository", name, frozenset(actions))

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Read ``type:name:actions``; the name may hold colons (a registry port). Raises
        :class:`~trustkit.errors.InvalidArgumentError` (a :class:`ValueError`)."""
        if not isinstance(text, str):
            raise InvalidArgumentError("a scope must be a string")
        kind, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not kind or not name or not actions:
            raise InvalidArgumentError(f"not a scope: {text!r}")
        parsed = frozenset(action for action in actions.split(",") if action)
        if not parsed:
            raise InvalidArgumentError(f"scope {text!r} has no actions")
        return cls(kind, name, parsed)

    def covers(self, other: Scope) -> bool:
        """Whether a token for this scope also grants ``other`` (``*`` grants every action)."""
        return (self.type, self.name) == (other.type, other.name) and (
            "*" in self.actions or other.actions <= self.actions
        )

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions, reverse=True))}"


_CHECKSUM = re.compile(r"[0-9a-fA-F]{64}(?:[0-9a-fA-F]{32}){0,2}\Z")


def check_server_url(url: str, *, https_only: bool = False, service: str = "trust server") -> str:
    """Return a server base URL without its trailing ``/``, or raise :class:`ConfigurationError`.

    It must be ``https://`` (or ``http://`` unless ``https_only``) with a host, and no query or fragment.
    ``service`` names what the URL is for in the message (``trust server``, ``registry``), so a user who gave
    several URLs knows which one to fix.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"the {service} URL must be a string, not {type(url).__name__}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigurationError(f"invalid {service} URL {shown!r}") from None
    schemes = ("https",) if https_only else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        wanted = "https" if https_only else "http(s)"
        hint = f": give the scheme, e.g. 'https://{shown}'" if "://" not in url else ""
        raise ConfigurationError(f"valid {wanted} URL required for {service}, got {shown!r}{hint}")
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"the {service} URL {shown!r} carries user information, which trustkit never sends nor uses to log in "
            "(it would show in logs): drop it from the URL and pass the credentials as auth=Credentials(username, "
            "password), or log in with docker login"
        )
    return url.rstrip("/")


def redact_url(url: str) -> str:
    """``url`` with the password of its user information replaced by ``***``: what a repr, a message or a log may
    show. Works on any string (a URL too malformed to parse is redacted all the same)."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # no scheme: what a user forgot it on is shown as carefully
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{host}{rest[end:]}"


def check_role(role: str) -> str:
    """Return ``role`` if it is a base role or a valid delegation name, else raise :class:`UnknownRoleError`."""
    if not isinstance(role, str) or not is_valid_role(role):
        raise UnknownRoleError(f"{role!r} is not a valid role name")
    return role


def check_upload(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files of a publish as role name → bytes, checked the same for every remote: each key a role name
    (``.json`` optional) given once, each value bytes, at least one. Raises :class:`UnknownRoleError`,
    :class:`ValueError` or :class:`TypeError` before anything is sent or stored."""
    uploads: dict[str, bytes] = {}
    for name, data in files.items():
        role = check_role(name.removesuffix(".json") if isinstance(name, str) else name)
        if role in uploads:
            raise ValueError(f"role {role} is given twice")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"the metadata of {role} must be bytes, not {type(data).__name__}")
        uploads[role] = bytes(data)
    if not uploads:
        raise ValueError("nothing to publish")
    return uploads


def metadata_name(role: str, *, checksum: str | None = None, version: int | None = None) -> str:
    """The file name notary-server serves: ``<role>.json``, ``<role>.<sha256 hex>.json`` or ``<v>.<role>.json``.

    The checksum is lowercased: the server indexes lowercase hex only (an uppercase name always gives 404).
    """
    check_role(role)
    if checksum is not None and version is not None:
        raise ValueError("give a checksum or a version, not both")
    if checksum is not None:
        if not isinstance(checksum, str) or not _CHECKSUM.match(checksum):
            raise ValueError(f"a checksum is 64, 96 or 128 hex digits, not {checksum!r}")
        return f"{role}.{checksum.lower()}.json"
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"a version is an integer of at least 1, not {version!r}")
        return f"{version}.{role}.json"
    return f"{role}.json"


NOTARY_MESSAGES: Mapping[str, str] = {
    "METADATA_NOT_FOUND": "You have requested metadata that does not exist.",
    "MALFORMED_JSON": "JSON sent by the client could not be parsed by the server",
    "INVALID_ROLE": "The role you are attempting to operate on is invalid.",
    "INVALID_UPDATE": "Update sent by the client is invalid.",
    "VERSION": "A newer version of metadata is already available.",
    "INVALID_PARAMETERS": "The parameters provided are not valid.",
}
"""notary-server's messages for the error codes every remote reports alike (``server/errors/errors.go``)."""

CONFLICT_CODES = frozenset({"VERSION", "INVALID_UPDATE"})
"""The codes of an update a remote rejected on its merits: raised as :class:`~trustkit.errors.ConflictError`."""

_DETAIL_LIMIT = 500


def describe_detail(detail: object) -> str:
    """A short text for notary's ``detail``: ``ErrBadRoot: <msg>`` for validation errors, the value otherwise
    ("" when there is nothing to say)."""
    if detail is None or detail in ({}, ""):
        return ""
    if isinstance(detail, dict) and isinstance(detail.get("Name"), str):
        error = detail.get("Error")
        message = error.get("Msg") if isinstance(error, dict) else None
        return f"{detail['Name']}: {message}" if isinstance(message, str) else str(detail["Name"])
    if isinstance(detail, str):
        return detail[:_DETAIL_LIMIT]
    try:
        text = json.dumps(detail, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(detail)
    return text[:_DETAIL_LIMIT]


def notary_error(
    code: str,
    *,
    where: str,
    gun: str | None,
    what: str,
    message: str | None = None,
    detail: object = None,
    status: int | None = None,
) -> RemoteError:
    """The trustkit error for a notary error ``code``, worded the same for every remote.

    ``where`` names the remote (``127.0.0.1:4443``, ``local folder /srv/trust``), ``what`` the file or operation.
    ``METADATA_NOT_FOUND`` gives :class:`~trustkit.errors.NotFoundError`, ``VERSION`` and ``INVALID_UPDATE`` give
    :class:`~trustkit.errors.ConflictError` (code and detail kept), anything else a :class:`RemoteError`.
    """
    repository = gun if gun is not None else "any repository"
    text = message or NOTARY_MESSAGES.get(code, code)
    extra = describe_detail(detail)
    suffix = f" ({extra})" if extra else ""
    if code == "METADATA_NOT_FOUND":
        return NotFoundError(
            f"{where} does not have trust data for {repository}: {what} not found",
            status=status,
            code=code,
            detail=detail,
        )
    if code in CONFLICT_CODES:
        return ConflictError(
            f"{where} rejected the update of {repository}: {text}{suffix}", status=status, code=code, detail=detail
        )
    return RemoteError(
        f"{where} rejected {what} of {repository}: {code}: {text}{suffix}", status=status, code=code, detail=detail
    )


@attrs.frozen
class ChangeRecord:
    """One changefeed entry: a new timestamp version of a GUN (``update``) or its deletion (``deletion``)."""

    id: str
    """The record's ID, a decimal string; pass it as ``change_id`` to read the records after it."""
    gun: str
    version: int
    """The new timestamp version (0 for a deletion)."""
    sha256: str
    """Hex sha256 of the new timestamp file ("" for a deletion)."""
    category: str
    """``update`` or ``deletion``."""
    created_at: datetime

    @classmethod
    def from_dict(cls, obj: Any) -> ChangeRecord:
        """Read notary-server's ``{"ID","CreatedAt","GUN","Version","SHA256","Category"}`` record.

        Raises :class:`RemoteError` for anything else, naming the field at fault.
        """
        if not isinstance(obj, dict):
            raise RemoteError("malformed changefeed record: not a JSON object")
        fields = {"ID": str, "CreatedAt": str, "GUN": str, "Version": int, "SHA256": str, "Category": str}
        for name, kind in fields.items():
            value = obj.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise RemoteError(f"malformed changefeed record: {name} must be a {kind.__name__}")
        try:
            created = GoTime.parse(obj["CreatedAt"], field="CreatedAt").datetime
        except MalformedMetadataError as exc:
            raise RemoteError(f"malformed changefeed record: {exc}") from None
        return cls(obj["ID"], obj["GUN"], obj["Version"], obj["SHA256"], obj["Category"], created)

    def to_dict(self) -> dict[str, Any]:
        """The record as notary-server writes it."""
        return {
            "ID": self.id,
            "CreatedAt": GoTime.from_datetime(self.created_at).text,
            "GUN": self.gun,
            "Version": self.version,
            "SHA256": self.sha256,
            "Category": self.category,
        }


@runtime_checkable
class Remote(Protocol):
    """Where trust data is published: notary-server's operations, with the GUN passed per call.

    Implementations raise :class:`~trustkit.errors.NotFoundError` for trust data that does not exist,
    :class:`~trustkit.errors.ConflictError` for an update the remote rejects (``code`` ``VERSION`` or
    ``INVALID_UPDATE``, with notary's ``detail``), :class:`~trustkit.errors.UnauthorizedError`,
    :class:`~trustkit.errors.ServerUnavailableError` and :class:`~trustkit.errors.OversizedResponseError`.
    """

    def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        """The bytes of ``role``'s metadata: the current file, the one with sha256 ``checksum`` (hex), or
        ``version``. More than ``max_size`` bytes raises :class:`~trustkit.errors.OversizedResponseError`."""
        ...

    def publish(self, gun: str, files: Mapping[str, bytes]) -> None:
        """Store several roles at once (role name → envelope bytes), all or none, as notary-server does:
        validate the update, make the snapshot when the remote holds its key and none was sent, and always
        make a new timestamp."""
        ...

    def get_key(self, gun: str, role: str) -> PublicKey:
        """The remote's public key for ``timestamp`` or ``snapshot``, created when it holds none that root uses."""
        ...

    def rotate_key(self, gun: str, role: str) -> PublicKey:
        """Create a new remote key for ``timestamp`` or ``snapshot``; it signs once a root lists it."""
        ...

    def delete(self, gun: str) -> None:
        """Delete every piece of metadata of ``gun`` (no error when there is none)."""
        ...

    def changefeed(self, gun: str | None = None, *, change_id: int | str = 0, records: int = 100) -> list[ChangeRecord]:
        """Changefeed records after ``change_id`` (of one GUN, or of all), at most ``records`` of them.

        A negative ``change_id`` reads the latest records; a negative ``records`` pages backwards from
        ``change_id``; ``records=0`` means 100.
        """
        ...
