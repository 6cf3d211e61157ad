"""TLS settings for talking to a notary server: CA certificates, a client certificate, and docker's folders.

Two conventions exist and both are kept:

* notary's (``--tlscacert``, ``remote_server.root_ca``): the CA given is the **only** one trusted;
* docker's (``$DOCKER_CONFIG/tls/<host:port>/``): every ``*.crt`` file there is trusted **in addition to** the
  system's CAs, and a ``<name>.cert`` + ``<name>.key`` pair is the client certificate.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import attrs

from trustkit.remote import _EXPORTS
from trustkit.remote.base import ConfigurationError

__all__ = list(_EXPORTS[__name__])  # the package's table lists them (trustkit/remote/__init__.py)

StrPath = str | os.PathLike[str]
"""A file system path, as a string or a path object."""


def _paths(value: tuple[StrPath, ...] | list[StrPath]) -> tuple[Path, ...]:
    return tuple(Path(item) for item in value)


def _optional_path(value: StrPath | None) -> Path | None:
    return None if value is None else Path(value)


def _ca_files(location: Path) -> tuple[Path, ...]:
    """A CA file, or every ``*.crt`` file of a CA folder (sorted), as docker reads its certificate folders."""
    if location.is_dir():
        return tuple(sorted(path for path in location.iterdir() if path.suffix == ".crt" and path.is_file()))
    if not location.is_file():
        raise ConfigurationError(f"CA certificate file or folder {location} does not exist")
    return (location,)


@attrs.frozen
class TLSConfig:
    """How to verify a server and which client certificate to present.

    ``ca_files`` are PEM bundles of trusted CAs. ``system_roots`` adds the system's CAs to them (always, when
    ``ca_files`` is empty). ``client_cert`` is a PEM certificate (chain) and ``client_key`` its private key (or
    ``None`` when the key is in the certificate file). ``verify=False`` turns verification off, as notary's
    ``skipTLSVerify`` does; do not use it outside tests.
    """

    ca_files: tuple[Path, ...] = attrs.field(default=(), converter=_paths)
    system_roots: bool = False
    client_cert: Path | None = attrs.field(default=None, converter=_optional_path)
    client_key: Path | None = attrs.field(default=None, converter=_optional_path)
    verify: bool = True

    @classmethod
    def create(
        cls,
        *,
        ca: StrPath | None = None,
        client_cert: StrPath | None = None,
        client_key: StrPath | None = None,
        verify: bool = True,
    ) -> TLSConfig:
        """notary's convention: ``ca`` (a PEM file, or a folder whose ``*.crt`` files are read) is the only CA
        trusted; without it the system's CAs are. Raises :class:`ConfigurationError` for missing files."""
        files = _ca_files(Path(ca)) if ca is not None else ()
        if ca is not None and not files:
            raise ConfigurationError(f"CA folder {ca} holds no *.crt file")
        if client_key is not None and client_cert is None:
            raise ConfigurationError("a client key needs its client certificate: pass both, or neither")
        for path in (client_cert, client_key):
            if path is not None and not Path(path).is_file():
                raise ConfigurationError(f"TLS file {path} does not exist")
        return cls(
            ca_files=files, system_roots=not files, client_cert=client_cert, client_key=client_key, verify=verify
        )

    @classmethod
    def from_docker_dir(cls, directory: StrPath) -> TLSConfig:
        """docker's ``certs.d``-style folder: ``*.crt`` CAs added to the system's, ``X.cert`` + ``X.key`` client pair.

        A missing folder gives the default (system CAs only). A ``.cert`` without its ``.key`` (or the reverse)
        raises :class:`ConfigurationError` with docker's message; ``ca.pem`` and other names are ignored, as
        docker ignores them.
        """
        folder = Path(directory)
        if not folder.is_dir():
            return cls(system_roots=True)
        files = sorted(path for path in folder.iterdir() if path.is_file())
        names = {path.name for path in files}
        cas = tuple(path for path in files if path.suffix == ".crt")
        cert: Path | None = None
        key: Path | None = None
        for path in files:
            if path.suffix == ".cert":
                key_name = path.stem + ".key"
                if key_name not in names:
                    raise ConfigurationError(
                        f"missing key {key_name} for client certificate {path.name}. "
                        "CA certificates must use the extension .crt"
                    )
                cert, key = path, folder / key_name
            elif path.suffix == ".key" and path.stem + ".cert" not in names:
                raise ConfigurationError(f"missing client certificate {path.stem}.cert for key {path.name}")
        return cls(ca_files=cas, system_roots=True, client_cert=cert, client_key=key)

    def ssl_context(self) -> ssl.SSLContext:
        """A client :class:`ssl.SSLContext` (TLS 1.2 or later) with these settings.

        Raises :class:`ConfigurationError` when a file cannot be read or holds no usable certificate or key.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checks and CERT_REQUIRED by default
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif self.system_roots or not self.ca_files:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            _ensure_system_roots(context)
        for path in self.ca_files:
            try:
                context.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"cannot load CA certificates from {path}: {exc}") from None
        if self.client_cert is not None:
            key = None if self.client_key is None else str(self.client_key)
            try:
                context.load_cert_chain(str(self.client_cert), key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"cannot load the client certificate {self.client_cert} and key {self.client_key}: {exc}"
                ) from None
        return context


def _ensure_system_roots(context: ssl.SSLContext) -> None:
    """Fall back to certifi's bundle where the system has no CA store (minimal containers)."""
    if context.cert_store_stats().get("x509_ca", 0) == 0:
        try:
            import certifi
        except ImportError:  # pragma: no cover - httpx depends on certifi
            return
        context.load_verify_locations(cafile=certifi.where())
