"""Configuration resolution, in one place: which server, which TLS files, which credentials, which GUN.

* docker (:func:`docker_server_config`): ``DOCKER_CONTENT_TRUST_SERVER`` (https only), else ``https://<registry
  host>`` with Docker Hub's notary at ``https://notary.docker.io``; TLS files from
  ``$DOCKER_CONFIG/tls/<host:port>/``; credentials from ``$DOCKER_CONFIG/config.json`` for the image's registry;
  the trust directory ``$DOCKER_CONFIG/trust``.
* notary (:func:`notary_server_config`): ``~/.notary/config.json`` (``trust_dir``, ``remote_server.url``,
  ``root_ca``, ``tls_client_cert``, ``tls_client_key``, ``skipTLSVerify``) with TLS paths relative to the config
  file, and ``NOTARY_AUTH`` credentials.
* The GUN of an image reference, normalised as docker does (:class:`ImageReference`): ``busybox`` →
  ``docker.io/library/busybox``, ``localhost:5000/ns/app:tag`` → ``localhost:5000/ns/app``.

Functions take ``env`` (default: ``os.environ``) so that resolution can be tested and run for other users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from trustkit import _config
from trustkit.remote import _EXPORTS
from trustkit.remote.auth import DOCKER_HUB_AUTH_KEY, Credentials, DockerConfig
from trustkit.remote.base import ConfigurationError, check_server_url, redact_url
from trustkit.remote.tls import TLSConfig

__all__ = list(_EXPORTS[__name__])  # the package's table lists them (trustkit/remote/__init__.py)

DOCKER_HUB_DOMAIN = "docker.io"
"""The registry domain docker gives names without one."""
DOCKER_HUB_NOTARY = "https://notary.docker.io"
"""Docker Hub's notary server, docker's trust server for ``docker.io`` images."""
NOTARY_DEFAULT_SERVER = "https://notary-server:4443"
"""The notary CLI's built-in default ``remote_server.url``."""

_LEGACY_HUB_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_NAME_MAX = 255
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*))"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?\Z",
    re.ASCII,
)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}\Z")
_DIGEST_SIZES = {"sha256": 64, "sha384": 96, "sha512": 128}


@attrs.frozen
class ImageReference:
    """A docker image reference, normalised as docker does: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Normalise ``text`` as docker's ``ParseNormalizedNamed`` does.

        A name without a registry is on Docker Hub (``docker.io``); a single-component Hub name is in
        ``library/``; ``index.docker.io`` becomes ``docker.io``. Raises :class:`ConfigurationError` with docker's
        message for an invalid reference (uppercase repository, bad tag or digest, name over 255 characters).
        """
        if not isinstance(text, str) or not text:
            raise ConfigurationError("invalid reference format: repository name must have at least one component")
        if _IDENTIFIER.match(text):
            raise ConfigurationError(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
        domain, remainder = _split_domain(text)
        remote = remainder.split("@", 1)[0].split(":", 1)[0]
        if remote.lower() != remote:
            raise ConfigurationError(f"invalid reference format: repository name ({remote}) must be lowercase")
        match = _REFERENCE.match(f"{domain}/{remainder}")
        if match is None:
            scheme, sep, rest = text.partition("://")
            hint = f" (an image reference has no scheme: write {rest!r})" if sep and "/" not in scheme else ""
            raise ConfigurationError(f"invalid reference format: {text!r}{hint}")
        if len(match.group("name")) > _NAME_MAX:
            raise ConfigurationError(
                f"invalid reference format: repository name must not be more than {_NAME_MAX} characters"
            )
        digest = match.group("digest")
        if digest is not None:
            algorithm, _, hex_digest = digest.partition(":")
            if _DIGEST_SIZES.get(algorithm) != len(hex_digest) or hex_digest != hex_digest.lower():
                raise ConfigurationError(f"invalid reference format: unsupported or malformed digest {digest!r}")
        # A first component that looks like a host but is not a valid one ("in_r.io/app") is read as part of the
        # path, with no domain, as docker's reference.Parse reads it.
        return cls(match.group("domain") or "", match.group("path"), match.group("tag"), digest)

    @property
    def name(self) -> str:
        """The fully qualified repository name, ``domain/path`` (docker's ``Name()``; just ``path`` in the rare
        reference docker reads without a domain)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def gun(self) -> str:
        """The GUN docker uses for the image's trust data: the fully qualified name, without tag or digest."""
        return self.name

    @property
    def is_docker_hub(self) -> bool:
        """Whether the image is on Docker Hub (docker's "official index")."""
        return self.domain == DOCKER_HUB_DOMAIN

    @property
    def auth_key(self) -> str:
        """The key docker looks credentials up by: the registry host, or :data:`DOCKER_HUB_AUTH_KEY`."""
        return DOCKER_HUB_AUTH_KEY if self.is_docker_hub else self.domain

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _split_domain(name: str) -> tuple[str, str]:
    """docker's ``splitDockerDomain``."""
    first, sep, rest = name.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DOCKER_HUB_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == _LEGACY_HUB_DOMAIN:
        domain = DOCKER_HUB_DOMAIN
    if domain == DOCKER_HUB_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def gun_from_reference(reference: str) -> str:
    """The GUN docker derives from an image reference (``busybox:1`` → ``docker.io/library/busybox``)."""
    return ImageReference.parse(reference).gun


@attrs.frozen
class ServerConfig:
    """Where a repository's trust data lives and how to reach it, as docker or notary resolve it."""

    url: str = attrs.field(repr=lambda url: repr(redact_url(url)))
    """The notary server's base URL (no trailing ``/``)."""
    tls: TLSConfig = attrs.field(factory=TLSConfig)
    trust_dir: Path | None = None
    """The client's trust directory (keys, cached metadata, changelists)."""
    credentials: Credentials | None = attrs.field(default=None, repr=False)
    """Credentials the configuration itself holds (``NOTARY_AUTH``)."""
    registry: str | None = None
    """docker: the key of the registry whose ``docker login`` authenticates to the server."""
    docker_config: Path | None = None
    """docker: the config folder holding ``config.json``."""

    def load_credentials(self) -> Credentials | None:
        """The credentials to authenticate with: :attr:`credentials`, else docker's for :attr:`registry`.

        Looking docker's up may run a credential helper; errors raise :class:`ConfigurationError`.
        """
        if self.credentials is not None:
            return self.credentials
        if self.registry is None or self.docker_config is None:
            return None
        return DockerConfig.load(self.docker_config / "config.json").credentials(self.registry)


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def docker_config_dir(*, env: Mapping[str, str] | None = None) -> Path:
    """docker's config folder: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    return _config.docker_config_dir(_environ(env))


def docker_credentials(registry: str, *, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials ``docker login`` stored for ``registry`` (a host, or :data:`DOCKER_HUB_AUTH_KEY`)."""
    return DockerConfig.load(docker_config_dir(env=env) / "config.json").credentials(registry)


def docker_server_config(
    reference: str | ImageReference, *, env: Mapping[str, str] | None = None, server: str | None = None
) -> ServerConfig:
    """The notary server, TLS files, credentials source and trust directory docker uses for ``reference``.

    The server is ``server`` when given (an explicit choice, e.g. a policy rule's: ``http://`` is accepted, the
    caller decides whether plain HTTP is acceptable), else ``DOCKER_CONTENT_TRUST_SERVER`` (which must be an
    https URL), else Docker Hub's notary for ``docker.io`` images, else ``https://<registry host>``. TLS comes from
    ``$DOCKER_CONFIG/tls/<host:port>/`` of that URL (its ``*.crt`` files are trusted along with the system's CAs).
    Credentials are those of the image's registry, looked up when first needed.
    """
    environ = _environ(env)
    image = reference if isinstance(reference, ImageReference) else ImageReference.parse(reference)
    configured = environ.get("DOCKER_CONTENT_TRUST_SERVER")
    if server is not None:
        url = check_server_url(server)
    elif configured:
        url = check_server_url(configured, https_only=True)
    elif image.is_docker_hub:
        url = DOCKER_HUB_NOTARY
    else:
        url = check_server_url(f"https://{image.domain}", https_only=True)
    config_dir = docker_config_dir(env=environ)
    host = urlsplit(url).netloc.rpartition("@")[2]
    return ServerConfig(
        url=url,
        tls=TLSConfig.from_docker_dir(config_dir / "tls" / host),
        trust_dir=_config.docker_trust_dir(environ),
        registry=image.auth_key,
        docker_config=config_dir,
    )


def notary_server_config(
    *, config_file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> ServerConfig:
    """The server, TLS files, credentials and trust directory the notary CLI uses.

    Reads ``config_file`` (default ``~/.notary/config.json``; a missing default file means notary's defaults;
    keys are case-insensitive, as notary reads them).
    ``trust_dir`` expands ``~`` and defaults to ``~/.notary``; ``root_ca``, ``tls_client_cert`` and
    ``tls_client_key`` are relative to the config file's folder; ``root_ca`` is then the only CA trusted.
    ``NOTARY_AUTH`` (base64 ``user:password``) gives the credentials.
    """
    environ = _environ(env)
    config = _config.read_notary_config(config_file, environ=environ)
    path, where = config.path, str(config.path)
    remote = config.values.get("remote_server")
    remote = {} if remote is None else remote
    if not isinstance(remote, dict):
        raise ConfigurationError(f"{where}: remote_server must be an object")
    trust_dir = config.trust_dir()
    url = check_server_url(_config.config_string(remote, "url", where) or NOTARY_DEFAULT_SERVER)

    def relative(name: str) -> Path | None:
        value = _config.config_string(remote, name, where)
        if value is None:
            return None
        candidate = Path(value)
        return candidate if candidate.is_absolute() else Path(os.path.normpath(path.parent / candidate))

    skip_verify = remote.get("skiptlsverify", False)
    if not isinstance(skip_verify, bool):
        raise ConfigurationError(f"{where}: remote_server.skipTLSVerify must be a boolean")
    cert, key = relative("tls_client_cert"), relative("tls_client_key")
    if (cert is None) != (key is None):
        raise ConfigurationError(f"{where}: either give both tls_client_cert and tls_client_key, or neither")
    tls = TLSConfig.create(ca=relative("root_ca"), client_cert=cert, client_key=key, verify=not skip_verify)
    auth = environ.get("NOTARY_AUTH")
    credentials = Credentials.from_auth_string(auth, where="NOTARY_AUTH") if auth else None
    if credentials is not None:
        credentials = attrs.evolve(credentials, password=credentials.password.strip())
    return ServerConfig(url=url, tls=tls, trust_dir=trust_dir, credentials=credentials)
