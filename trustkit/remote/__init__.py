"""Layer 4: where trust data is published -- the :class:`Remote` interface and its implementations.

* :class:`NotaryServer`: notary-server 0.7's HTTP API over httpx, with TLS, basic and token authentication,
  bounded downloads, timeouts and retries;
* :class:`LocalRemote`: a folder that behaves as a notary server (the embedded default), servable read-only by
  any static web server; :class:`MemoryRemote`: the same in memory;
* configuration as docker and notary resolve it (:func:`docker_server_config`, :func:`notary_server_config`,
  :class:`ImageReference`), credentials from docker's ``config.json`` and credential helpers.
"""

from trustkit._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from trustkit.remote.auth import (
        DOCKER_HUB_AUTH_KEY,
        Authenticator,
        Challenge,
        Credentials,
        CredentialsSource,
        DockerConfig,
        Scope,
        TokenFetcher,
        login_hint,
        parse_www_authenticate,
        run_credential_helper,
    )
    from trustkit.remote.base import (
        MAX_METADATA_SIZE,
        MAX_ROOT_SIZE,
        MAX_TIMESTAMP_SIZE,
        SERVER_KEY_ROLES,
        ChangeRecord,
        ConfigurationError,
        Remote,
        check_gun,
        metadata_name,
    )
    from trustkit.remote.changefeed import changefeed_records, latest_change_id, server_repositories
    from trustkit.remote.config import (
        DOCKER_HUB_DOMAIN,
        DOCKER_HUB_NOTARY,
        NOTARY_DEFAULT_SERVER,
        ImageReference,
        ServerConfig,
        docker_config_dir,
        docker_credentials,
        docker_server_config,
        gun_from_reference,
        notary_server_config,
    )
    from trustkit.remote.local import PRIVATE_FOLDER, LocalRemote, MemoryRemote
    from trustkit.remote.notary_server import (
        DEFAULT_TOTAL_TIMEOUT,
        AuthOption,
        NotaryServer,
        environment_proxy,
        overall_deadline,
    )
    from trustkit.remote.tls import StrPath, TLSConfig

__all__ = [
    "DEFAULT_TOTAL_TIMEOUT",
    "DOCKER_HUB_AUTH_KEY",
    "DOCKER_HUB_DOMAIN",
    "DOCKER_HUB_NOTARY",
    "MAX_METADATA_SIZE",
    "MAX_ROOT_SIZE",
    "MAX_TIMESTAMP_SIZE",
    "NOTARY_DEFAULT_SERVER",
    "PRIVATE_FOLDER",
    "SERVER_KEY_ROLES",
    "AuthOption",
    "Authenticator",
    "Challenge",
    "ChangeRecord",
    "ConfigurationError",
    "Credentials",
    "CredentialsSource",
    "DockerConfig",
    "ImageReference",
    "LocalRemote",
    "MemoryRemote",
    "NotaryServer",
    "Remote",
    "Scope",
    "ServerConfig",
    "StrPath",
    "TLSConfig",
    "TokenFetcher",
    "changefeed_records",
    "check_gun",
    "docker_config_dir",
    "docker_credentials",
    "docker_server_config",
    "environment_proxy",
    "gun_from_reference",
    "latest_change_id",
    "login_hint",
    "metadata_name",
    "notary_server_config",
    "overall_deadline",
    "parse_www_authenticate",
    "run_credential_helper",
    "server_repositories",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "trustkit.remote.auth": (
            "DOCKER_HUB_AUTH_KEY",
            "Authenticator",
            "Challenge",
            "Credentials",
            "CredentialsSource",
            "DockerConfig",
            "Scope",
            "TokenFetcher",
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
            "DEFAULT_TOTAL_TIMEOUT",
            "AuthOption",
            "NotaryServer",
            "environment_proxy",
            "overall_deadline",
        ),
        "trustkit.remote.tls": (
            "StrPath",
            "TLSConfig",
        ),
    },
)
