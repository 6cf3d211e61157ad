"""Layer 4: where trust data is published -- the :class:`Remote` interface and its implementations.

* :class:`NotaryServer`: notary-server 0.7's HTTP API over httpx, with TLS, basic and token authentication,
  bounded downloads, timeouts and retries;
* :class:`LocalRemote`: a folder that behaves as a notary server (the embedded default), servable read-only by
  any static web server; :class:`MemoryRemote`: the same in memory;
* configuration as docker and notary resolve it (:func:`docker_server_config`, :func:`notary_server_config`,
  :class:`ImageReference`), credentials from docker's ``config.json`` and credential helpers.
"""

from trustkit._lazy import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "trustkit.remote._http": (
        "DEFAULT_TOTAL_TIMEOUT",
        "AsyncHTTPService",
        "ErrorBody",
        "HTTPOptions",
        "HTTPRequest",
        "HTTPService",
        "Reply",
        "environment_proxy",
        "overall_deadline",
    ),
    "trustkit.remote.auth": (
        "DOCKER_HUB_AUTH_KEY",
        "Authenticator",
        "AuthOption",
        "Challenge",
        "ChallengeFlow",
        "Credentials",
        "CredentialsSource",
        "DockerConfig",
        "TokenFetcher",
        "TokenRequest",
        "login_hint",
        "parse_www_authenticate",
        "run_credential_helper",
    ),
    "trustkit.remote.base": (
        "MAX_METADATA_SIZE",
        "MAX_ROOT_SIZE",
        "MAX_TIMESTAMP_SIZE",
        "SERVER_KEY_ROLES",
        "ChangeRecord",
        "ConfigurationError",
        "Remote",
        "Scope",
        "check_gun",
        "metadata_name",
    ),
    "trustkit.remote.changefeed": (
        "changefeed_records",
        "latest_change_id",
        "server_repositories",
    ),
    "trustkit.remote.config": (
        "DOCKER_HUB_DOMAIN",
        "DOCKER_HUB_NOTARY",
        "NOTARY_DEFAULT_SERVER",
        "ImageReference",
        "ServerConfig",
        "docker_config_dir",
        "docker_credentials",
        "docker_server_config",
        "gun_from_reference",
        "notary_server_config",
    ),
    "trustkit.remote.local": (
        "PRIVATE_FOLDER",
        "LocalRemote",
        "MemoryRemote",
    ),
    "trustkit.remote.notary_server": (
        "AsyncNotaryServer",
        "NotaryServer",
    ),
    "trustkit.remote.tls": (
        "StrPath",
        "TLSConfig",
    ),
}
"""Where each name of the package lives (module -> names). For ``auth``, ``config``, ``local``, ``notary_server``
and ``tls`` these are all their public names: their ``__all__`` is read from here, so each name is listed once.
Type checkers read ``__init__.pyi``, which imports the same names from the same modules."""

# lazy: the read path imports this package but not all of it (see trustkit/_lazy.py)
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
