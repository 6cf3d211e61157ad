"""Where docker and notary keep their configuration, and notary's ``config.json`` read once, with notary's rules.

Shared by the key stores (:func:`trustkit.keystore.docker_trust_dir`, :func:`trustkit.keystore.notary_trust_dir`)
and the remotes (:func:`trustkit.remote.docker_config_dir`, :func:`trustkit.remote.notary_server_config`), so
that both find the same folders and read the same file the same way. Every function takes the environment
(``HOME``, ``DOCKER_CONFIG``) as a mapping, so that resolution can be tested and run for other users.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trustkit.errors import ConfigurationError, FileAccessError

__all__ = [
    "NotaryConfig",
    "NotaryConfigError",
    "NotaryConfigMissingError",
    "config_string",
    "docker_config_dir",
    "docker_trust_dir",
    "home_dir",
    "read_notary_config",
]


class NotaryConfigError(ConfigurationError, ValueError):
    """A notary config file that cannot be used. Also a ``ValueError``, which
    :func:`~trustkit.keystore.notary_trust_dir` documents."""


class NotaryConfigMissingError(FileAccessError, FileNotFoundError):
    """A notary config file that was asked for and does not exist. Also a ``FileNotFoundError``, which
    :func:`~trustkit.keystore.notary_trust_dir` documents."""


def home_dir(environ: Mapping[str, str]) -> Path:
    """The home folder: ``$HOME``, else the account's (Go's ``os.UserHomeDir`` / docker's ``homedir.Get``)."""
    home = environ.get("HOME")
    return Path(home) if home else Path.home()


def docker_config_dir(environ: Mapping[str, str]) -> Path:
    """docker's config folder: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    configured = environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else home_dir(environ) / ".docker"


def docker_trust_dir(environ: Mapping[str, str]) -> Path:
    """docker's trust directory: ``trust`` in its config folder (``trust.GetTrustDirectory``)."""
    return docker_config_dir(environ) / "trust"


class NotaryConfig:
    """A notary CLI config file as notary reads it: its path, its values and the home folder ``~`` stands for.

    Keys are case-insensitive at every level (notary reads the file with viper): :attr:`values` holds them
    lowercased.
    """

    def __init__(self, path: Path, values: Mapping[str, Any], home: Path) -> None:
        self.path = path
        self.values = values
        self.home = home

    @property
    def default_trust_dir(self) -> Path:
        """``~/.notary``: the trust directory when the file names none."""
        return self.home / ".notary"

    def trust_dir(self, *, cwd: str | os.PathLike[str] | None = None) -> Path:
        """``trust_dir``, else ``~/.notary``: a leading ``~`` is the home folder (notary's ``homeExpand``); a
        relative folder is taken relative to the current folder ``cwd``, which is what notary 0.7 does (although
        its documentation says relative to the config file)."""
        text = config_string(self.values, "trust_dir", str(self.path))
        if text is None:
            return self.default_trust_dir
        if text == "~" or text.startswith("~/"):
            return self.home / text[2:] if len(text) > 1 else self.home
        return Path(os.path.abspath(os.path.join(cwd if cwd is not None else os.getcwd(), text)))


def read_notary_config(config_file: str | os.PathLike[str] | None, *, environ: Mapping[str, str]) -> NotaryConfig:
    """Read ``config_file`` (default ``~/.notary/config.json``, which may be missing: notary's defaults then).

    Raises :class:`NotaryConfigMissingError` for a given file that does not exist and :class:`NotaryConfigError`
    for one that cannot be read or is not a JSON object.
    """
    home = home_dir(environ)
    path = Path(config_file) if config_file is not None else home / ".notary" / "config.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if config_file is not None:
            raise NotaryConfigMissingError(f"error opening config file: {path} does not exist") from None
        return NotaryConfig(path, {}, home)
    except OSError as exc:
        raise NotaryConfigError(f"error opening config file {path}: {exc}") from None
    try:
        loaded = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise NotaryConfigError(f"{path}: not a JSON notary config, not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise NotaryConfigError(
            f"{path}: not a JSON notary config: expected an object (the file must hold a JSON object)"
        )
    return NotaryConfig(path, _lowercased(loaded), home)


def _lowercased(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with its keys and those of the objects in it lowercased (viper's keys are case-insensitive; notary's
    settings are at most two levels deep)."""
    return {
        str(key).lower(): {str(k).lower(): v for k, v in value.items()} if isinstance(value, dict) else value
        for key, value in obj.items()
    }


def config_string(obj: Mapping[str, Any], name: str, where: str) -> str | None:
    """The string ``obj[name]`` (``name`` lowercase), None when absent, null or empty; :class:`NotaryConfigError`
    when it is not a string."""
    value = obj.get(name.lower())
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise NotaryConfigError(f"{where}: {name} must be a string")
    return value
