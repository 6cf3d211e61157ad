"""The verified metadata cache, in notary's layout: ``<trust_dir>/tuf/<gun>/metadata/<role>.json``.

Only bytes that passed verification are stored, each written atomically, so the cache always holds a last good
state that the next update can start from (and that the real notary client reads too, and vice versa).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from trustkit._fs import atomic_write, read_regular_file, remove_file
from trustkit.errors import FileAccessError, OversizedResponseError, UnknownRoleError
from trustkit.metadata.names import MAX_DOWNLOAD_SIZE, check_gun, is_valid_role

__all__ = ["INVALID_FOLDER", "MAX_CACHED_SIZE", "PARSED_FOLDER", "VERIFIED_FILE", "MetadataCache"]

MAX_CACHED_SIZE = MAX_DOWNLOAD_SIZE
"""notary's ``MaxDownloadSize``: a cached file larger than this is not read."""
VERIFIED_FILE = "trustkit-verified.json"
"""Beside ``metadata/`` (``<trust_dir>/tuf/<gun>/trustkit-verified.json``): the signature checks that passed on the
cached files, so that a warm read does not repeat them (see :class:`~trustkit.trust.trusted_set.VerificationMemo`).
notary ignores it; deleting it only makes the next read verify everything again."""
_MAX_VERIFIED_SIZE = 1024 * 1024
PARSED_FOLDER = "trustkit-parsed"
"""Beside ``metadata/``: the compact parsed form of big cached targets files, so that a warm read does not parse
them again (:mod:`trustkit.metadata._compact`). notary ignores it; deleting it only makes the next read parse."""
INVALID_FOLDER = "trustkit-invalid"
"""Beside ``metadata/``: the bytes of delegations a read downloaded but could not trust (expired, under-signed), so
that a read from the cache (offline, or the server down) skips them as the online read did, with the same reason.
Never trusted from there: each is checked again against the snapshot's hashes and the parent's keys. notary
ignores it; deleting it only makes such reads block those delegations as not cached."""


class MetadataCache:
    """The verified metadata of one GUN under a trust directory.

    Raises :class:`~trustkit.errors.ConfigurationError` for a GUN that would not name one folder below
    ``<trust_dir>/tuf/`` (:func:`~trustkit.metadata.names.check_gun`), and its subclass
    :class:`~trustkit.errors.FileAccessError` when ``trust_dir`` is a file. Writes never follow a symbolic link
    below the trust directory (a linked ``tuf/<gun>/metadata`` folder is refused, not written through).
    """

    def __init__(self, trust_dir: Path | str, gun: str) -> None:
        self.trust_dir = Path(trust_dir)
        self.gun = check_gun(gun)
        if self.trust_dir.exists() and not self.trust_dir.is_dir():
            raise FileAccessError(f"trust directory {self.trust_dir} is a file, not a folder: give a folder's path")
        self.path = self.trust_dir / "tuf" / Path(*gun.split("/")) / "metadata"

    def _file(self, role: str, *, parsed: bool = False, invalid: bool = False) -> Path:
        if not is_valid_role(role):
            raise UnknownRoleError(f"{role!r} is not a valid role name")
        if parsed:
            return self.path.parent.joinpath(PARSED_FOLDER, *role.split("/")).with_suffix(".bin")
        if invalid:
            return self.path.parent.joinpath(INVALID_FOLDER, *role.split("/")).with_suffix(".json")
        return self.path.joinpath(*role.split("/")).with_suffix(".json")

    def load(self, role: str, *, max_size: int = MAX_CACHED_SIZE) -> bytes | None:
        """The cached bytes of ``role``, or None when there are none; ``OversizedResponseError`` when there are
        more than ``max_size``."""
        return self._read(self._file(role), role, max_size, tail=False)

    def load_invalid(self, role: str) -> bytes | None:
        """The bytes of ``role`` kept by :meth:`store_invalid`, or None when there are none."""
        return self._read(self._file(role, invalid=True), role, MAX_CACHED_SIZE, tail=False)

    def load_tail(self, role: str, size: int) -> bytes | None:
        """The last ``size`` bytes of ``role``'s cached file (all of it when it is smaller), or None when there is
        none: where its version is, without reading a file that may be large."""
        return self._read(self._file(role), role, size, tail=True)

    def _read(self, path: Path, role: str, size: int, *, tail: bool) -> bytes | None:
        try:
            data = read_regular_file(path, size, tail=tail)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:  # a FIFO, a link (a loop), a name too long, no permission
            raise FileAccessError(
                f"cannot read cached {role} of {self.gun} at {path}: {exc.strerror or exc}: remove it (trustkit "
                "writes only regular files there, and fetches it again)"
            ) from None
        if len(data) > size:
            raise OversizedResponseError(f"cached {role} at {path} is larger than {size} bytes")
        return data

    def stored_at(self, role: str) -> float | None:
        """When ``role`` was last stored (seconds since the epoch), or None when it is not cached: the time of
        the last successful contact with the server, for the timestamp."""
        try:
            return self._file(role).stat().st_mtime
        except OSError:
            return None

    def touch(self, role: str) -> None:
        """Mark ``role``'s cached file as confirmed now (its modification time; no rewrite, no fsync), when the
        server served the same bytes again; nothing when it is not cached."""
        with contextlib.suppress(OSError):
            os.utime(self._file(role))

    def store(self, role: str, data: bytes) -> None:
        """Store verified bytes for ``role`` (atomically, 0600 in 0700 folders)."""
        atomic_write(self._file(role), data, root=self.trust_dir)

    def store_invalid(self, role: str, data: bytes) -> None:
        """Keep the bytes of delegation ``role`` that a read downloaded and could not trust (expired,
        under-signed; see :data:`INVALID_FOLDER`), so that reads from the cache skip it for the same reason."""
        atomic_write(self._file(role, invalid=True), data, root=self.trust_dir)

    def load_verified(self) -> dict[str, list[str]]:
        """The remembered signature checks (token -> valid key IDs); empty when there are none or the file is
        unreadable in any way (the checks are then simply made again)."""
        try:
            raw = read_regular_file(self.path.parent / VERIFIED_FILE, _MAX_VERIFIED_SIZE)
            obj = json.loads(raw) if len(raw) <= _MAX_VERIFIED_SIZE else None
        except (OSError, ValueError, RecursionError):
            return {}
        records = obj.get("checks") if isinstance(obj, dict) and obj.get("version") == 1 else None
        if not isinstance(records, dict):
            return {}
        return {
            token: ids
            for token, ids in records.items()
            if isinstance(token, str) and isinstance(ids, list) and all(isinstance(i, str) for i in ids)
        }

    def store_verified(self, records: dict[str, list[str]]) -> None:
        """Replace the remembered signature checks (atomically, 0600)."""
        text = json.dumps({"version": 1, "checks": records}, sort_keys=True, separators=(",", ":"))
        atomic_write(self.path.parent / VERIFIED_FILE, text.encode(), root=self.trust_dir)

    def load_parsed(self, role: str) -> bytes | None:
        """The compact parsed form kept for ``role``'s cached file (:mod:`trustkit.metadata._compact`), or None."""
        try:
            return read_regular_file(self._file(role, parsed=True), MAX_CACHED_SIZE)
        except OSError:
            return None

    def store_parsed(self, role: str, form: bytes) -> None:
        """Keep the compact parsed form of ``role``'s cached file. Not fsynced: it is derived data, bound to the
        bytes it was parsed from, and a lost or torn one is simply not used."""
        atomic_write(self._file(role, parsed=True), form, durable=False, root=self.trust_dir)

    def remove(self, role: str) -> bool:
        """Forget ``role`` (with its parsed form and any invalid bytes kept); False when it was not cached."""
        found = remove_file(self._file(role), root=self.trust_dir)
        remove_file(self._file(role, parsed=True), root=self.trust_dir)
        invalid = remove_file(self._file(role, invalid=True), root=self.trust_dir)
        return found or invalid

    def roles(self) -> list[str]:
        """The roles cached, base roles and delegations (``targets/…``)."""
        return self._roles(self.path)

    def invalid_roles(self) -> list[str]:
        """The delegations whose untrusted bytes are kept (:meth:`store_invalid`)."""
        return self._roles(self.path.parent / INVALID_FOLDER)

    def _roles(self, folder: Path) -> list[str]:
        try:
            if not folder.is_dir():
                return []
            files = sorted(folder.rglob("*.json"))
        except OSError as exc:  # a name too long, a link loop, no permission
            raise FileAccessError(
                f"cannot list the cached metadata of {self.gun} in {folder}: {exc.strerror or exc}: check that it "
                "is a folder you can read"
            ) from None
        found = []
        for file in files:
            role = file.relative_to(folder).with_suffix("").as_posix()
            if is_valid_role(role):
                found.append(role)
        return found
