"""Type checkers' view of ``trustkit/remote/__init__.py``: the names of its ``_EXPORTS`` table, imported from the
same modules (``tests/unit/test_lazy_imports.py`` keeps the two equal)."""

from trustkit.remote._http import DEFAULT_TOTAL_TIMEOUT as DEFAULT_TOTAL_TIMEOUT
from trustkit.remote._http import AsyncHTTPService as AsyncHTTPService
from trustkit.remote._http import ErrorBody as ErrorBody
from trustkit.remote._http import HTTPOptions as HTTPOptions
from trustkit.remote._http import HTTPRequest as HTTPRequest
from trustkit.remote._http import HTTPService as HTTPService
from trustkit.remote._http import Reply as Reply
from trustkit.remote._http import environment_proxy as environment_proxy
from trustkit.remote._http import overall_deadline as overall_deadline
from trustkit.remote.auth import DOCKER_HUB_AUTH_KEY as DOCKER_HUB_AUTH_KEY
from trustkit.remote.auth import Authenticator as Authenticator
from trustkit.remote.auth import AuthOption as AuthOption
from trustkit.remote.auth import Challenge as Challenge
from trustkit.remote.auth import ChallengeFlow as ChallengeFlow
from trustkit.remote.auth import Credentials as Credentials
from trustkit.remote.auth import CredentialsSource as CredentialsSource
from trustkit.remote.auth import DockerConfig as DockerConfig
from trustkit.remote.auth import TokenFetcher as TokenFetcher
from trustkit.remote.auth import TokenRequest as TokenRequest
from trustkit.remote.auth import login_hint as login_hint
from trustkit.remote.auth import parse_www_authenticate as parse_www_authenticate
from trustkit.remote.auth import run_credential_helper as run_credential_helper
from trustkit.remote.base import MAX_METADATA_SIZE as MAX_METADATA_SIZE
from trustkit.remote.base import MAX_ROOT_SIZE as MAX_ROOT_SIZE
from trustkit.remote.base import MAX_TIMESTAMP_SIZE as MAX_TIMESTAMP_SIZE
from trustkit.remote.base import SERVER_KEY_ROLES as SERVER_KEY_ROLES
from trustkit.remote.base import ChangeRecord as ChangeRecord
from trustkit.remote.base import ConfigurationError as ConfigurationError
from trustkit.remote.base import Remote as Remote
from trustkit.remote.base import Scope as Scope
from trustkit.remote.base import check_gun as check_gun
from trustkit.remote.base import metadata_name as metadata_name
from trustkit.remote.changefeed import changefeed_records as changefeed_records
from trustkit.remote.changefeed import latest_change_id as latest_change_id
from trustkit.remote.changefeed import server_repositories as server_repositories
from trustkit.remote.config import DOCKER_HUB_DOMAIN as DOCKER_HUB_DOMAIN
from trustkit.remote.config import DOCKER_HUB_NOTARY as DOCKER_HUB_NOTARY
from trustkit.remote.config import NOTARY_DEFAULT_SERVER as NOTARY_DEFAULT_SERVER
from trustkit.remote.config import ImageReference as ImageReference
from trustkit.remote.config import ServerConfig as ServerConfig
from trustkit.remote.config import docker_config_dir as docker_config_dir
from trustkit.remote.config import docker_credentials as docker_credentials
from trustkit.remote.config import docker_server_config as docker_server_config
from trustkit.remote.config import gun_from_reference as gun_from_reference
from trustkit.remote.config import notary_server_config as notary_server_config
from trustkit.remote.local import PRIVATE_FOLDER as PRIVATE_FOLDER
from trustkit.remote.local import LocalRemote as LocalRemote
from trustkit.remote.local import MemoryRemote as MemoryRemote
from trustkit.remote.notary_server import AsyncNotaryServer as AsyncNotaryServer
from trustkit.remote.notary_server import NotaryServer as NotaryServer
from trustkit.remote.tls import StrPath as StrPath
from trustkit.remote.tls import TLSConfig as TLSConfig

_EXPORTS: dict[str, tuple[str, ...]]
