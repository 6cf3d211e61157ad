""":class:`DockerTrust`: the ``docker trust`` commands, and the notary steps docker's documentation sends people to,
as one typed entry point configured the way docker configures itself.

Configuration (as ``docker trust``): the trust directory is ``$DOCKER_CONFIG/trust`` (keys in a
:class:`~trustkit.keystore.FileKeyStore` unlocked with docker's passphrase variables); the notary server of an
image is ``DOCKER_CONTENT_TRUST_SERVER``, else ``https://<registry host>`` (Docker Hub: ``https://notary.docker.io``),
with TLS files from ``$DOCKER_CONFIG/tls/<host:port>/`` and the credentials ``docker login`` stored for the image's
registry; the GUN is the image's normalised repository name. An explicit ``remote`` (a
:class:`~trustkit.remote.LocalRemote`, :class:`~trustkit.remote.MemoryRemote` or any
:class:`~trustkit.remote.Remote`) replaces the server lookup, for tests, notebooks and air-gapped work.

Every operation that changes trust data publishes exactly its own changes in one request and leaves changes
staged by others (the notary CLI, :meth:`~trustkit.client.Repository.add_target`) alone. Failures are typed
trustkit errors whose messages say what to do (``docs/troubleshooting.md`` maps each to its cause and fix).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import attrs

from trustkit._closing import Closing
from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Change
from trustkit.client.reader import AsyncMetadataSource, AsyncReader
from trustkit.client.repository import Repository
from trustkit.dct._errors import explained, logged
from trustkit.dct._format import natural_sort_key
from trustkit.dct.inspect import (
    RELEASES_ROLE,
    InspectFailure,
    RepositoryTrust,
    TrustInspection,
    delegation_roles,
    inspect_trusted,
    released_target,
    signer_role,
    walk_roles,
)
from trustkit.dct.signers import AddedSigner, RemovedSigner, SignerKeySource, add_signer, remove_signer, signer_changes
from trustkit.dct.tags import (
    Revocation,
    TagResolver,
    TagSignature,
    check_releases,
    check_signable,
    revoke_changes,
    sign_changes,
    signable_roles,
)
from trustkit.errors import (
    ConfigurationError,
    InvalidArgumentError,
    RepositoryNotFoundError,
    ServiceRetiredError,
    TargetNotFoundError,
    TrustkitError,
    UnknownKeyError,
    UnknownRoleError,
)
from trustkit.keys.public import PublicKey
from trustkit.keystore.base import KeyInfo, KeyStore
from trustkit.keystore.file import FileKeyStore, docker_trust_dir
from trustkit.keystore.operations import generate_delegation_key, load_key_file
from trustkit.keystore.passphrase import DockerEnvPassphrase, PassphraseSource
from trustkit.metadata.files import TargetFile
from trustkit.metadata.names import TARGETS
from trustkit.remote import environment_proxy
from trustkit.remote.auth import Credentials
from trustkit.remote.base import Remote
from trustkit.remote.config import (
    DOCKER_HUB_NOTARY,
    ImageReference,
    ServerConfig,
    docker_config_dir,
    docker_credentials,
    docker_server_config,
)
from trustkit.remote.notary_server import AsyncNotaryServer, NotaryServer
from trustkit.trust.trusted_set import TrustedMetadataSet, utc_now

__all__ = ["DelegationKeysRemoval", "DockerTrust"]

logger = logging.getLogger(__name__)


_DOCKER_HUB_NOTARY_HOST = urlsplit(DOCKER_HUB_NOTARY).hostname
_DOCKER_HUB_NOTARY_SHUTDOWN = datetime(2026, 12, 8, tzinfo=timezone.utc)
"""Docker Hub's notary service shuts down on this day; from then on its trust data can only come from elsewhere."""


@attrs.frozen
class DelegationKeysRemoval:
    """Keys removed from delegations (``notary delegation remove``): for each role, the canonical key IDs removed;
    ``warnings`` names the roles left with fewer keys than their threshold."""

    gun: str
    roles: tuple[tuple[str, tuple[str, ...]], ...]
    warnings: tuple[str, ...] = ()


_INSPECT_PREFIX = "no signatures or cannot access {reference}: "


def _failure(reference: str, error: TrustkitError, *, strict: bool) -> InspectFailure:
    """What an inspect does with a repository it cannot read: raise (``strict``), or report it as docker does."""
    if strict:
        raise error
    return InspectFailure(reference, error)


class _ThreadedRemote:
    """A blocking remote's ``get_role`` as a coroutine, run in a worker thread (an asyncio inspect over a
    :class:`~trustkit.remote.LocalRemote`, say)."""

    def __init__(self, remote: Remote) -> None:
        self._remote = remote

    async def get_role(
        self, gun: str, role: str, *, max_size: int, checksum: str | None = None, version: int | None = None
    ) -> bytes:
        import asyncio

        return await asyncio.to_thread(
            self._remote.get_role, gun, role, max_size=max_size, checksum=checksum, version=version
        )


class DockerTrust(Closing):
    """Docker Content Trust for the repositories of one docker configuration.

    ``config_dir`` is docker's configuration folder (default ``$DOCKER_CONFIG``, else ``~/.docker``): its ``trust``
    folder holds keys and cached trust data, ``tls/<host:port>/`` the servers' CAs, ``config.json`` the logins.
    ``remote`` serves every repository (default: each image's notary server, found as docker finds it).
    ``keystore`` defaults to the trust directory's keys, unlocked by ``passphrase`` (default docker's variables
    ``DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE`` and ``DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE`` from ``env``).
    ``credentials`` replace docker's stored logins; ``resolver`` finds a tag's digest and size when :meth:`sign`
    is given none; ``env`` defaults to :data:`os.environ`. ``clock`` (default: now, in UTC) is the time expiry is
    judged by; from 2026-12-08, when Docker Hub's notary service shuts down, it also makes ``docker.io`` images (and
    any use of ``https://notary.docker.io``) a :class:`~trustkit.errors.ServiceRetiredError` saying what to do.
    ``proxy`` is a proxy URL for every notary server;
    without it, ``HTTPS_PROXY``/``NO_PROXY`` of ``env`` apply as docker applies them to its trust server
    (:func:`~trustkit.remote.environment_proxy`: never for ``localhost`` and loopback addresses).

    Use it as a context manager (or call :meth:`close`) to close the HTTP connections it opened.
    """

    def __init__(
        self,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        remote: Remote | None = None,
        keystore: KeyStore | None = None,
        passphrase: PassphraseSource = None,
        credentials: Credentials | None = None,
        resolver: TagResolver | None = None,
        env: Mapping[str, str] | None = None,
        proxy: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        environ = dict(os.environ if env is None else env)
        if config_dir is not None:
            environ["DOCKER_CONFIG"] = os.fspath(config_dir)
        self._env = environ
        self.config_dir = docker_config_dir(env=environ)
        self.trust_dir = docker_trust_dir(environ=environ)
        if keystore is None:
            unlock = passphrase if passphrase is not None else DockerEnvPassphrase(environ=environ)
            keystore = FileKeyStore(self.trust_dir, passphrase=unlock)
        self.keystore: KeyStore = keystore
        self.remote = remote
        self.credentials = credentials
        self.resolver = resolver
        self._proxy = proxy
        self._clock = clock
        self._servers: dict[str, NotaryServer] = {}

    def __repr__(self) -> str:
        where = repr(self.remote) if self.remote is not None else "docker's trust servers"
        return f"DockerTrust({str(self.config_dir)!r}, remote={where})"

    # --- configuration -------------------------------------------------------------------------------------

    def server_config(self, reference: str, *, server: str | None = None) -> ServerConfig:
        """Where docker finds the trust data of ``reference``: server URL (``server`` when given), TLS files,
        registry, trust directory."""
        return docker_server_config(reference, env=self._env, server=server)

    def remote_for(self, reference: str, *, server: str | None = None) -> Remote:
        """The remote holding ``reference``'s trust data: :attr:`remote`, else its notary server (one connection
        pool per server URL, kept until :meth:`close`).

        ``server`` names the notary server instead (a policy rule's): it is reached exactly as docker reaches its
        own -- CA and client certificate from ``$DOCKER_CONFIG/tls/<host:port>/``, the image registry's login,
        the proxy settings, the Docker Hub shutdown check -- and it wins over :attr:`remote`."""
        if self.remote is not None and server is None:
            return self.remote
        config = self.server_config(reference, server=server)
        self._refuse_retired(config.url, reference)
        notary = self._servers.get(config.url)
        if notary is None:
            url, options = self.server_options(reference, server=server)
            notary = self._servers[url] = NotaryServer(url, **options)
        return notary

    def server_options(self, reference: str, *, server: str | None = None) -> tuple[str, dict[str, Any]]:
        """The URL of ``reference``'s notary server (``server`` when given, as :meth:`remote_for` takes it) and
        the options docker would talk to it with (TLS files, logins, proxy): what
        :class:`~trustkit.remote.NotaryServer` or :class:`~trustkit.remote.AsyncNotaryServer` take. Raises
        :class:`~trustkit.errors.ServiceRetiredError` for Docker Hub's notary after its shutdown."""
        config = self.server_config(reference, server=server)
        self._refuse_retired(config.url, reference)
        auth = self.credentials if self.credentials is not None else config.load_credentials
        proxy = self._proxy if self._proxy is not None else environment_proxy(config.url, env=self._env)
        return config.url, {"tls": config.tls, "auth": auth, "proxy": proxy, "proxy_from_environment": False}

    def _refuse_retired(self, url: str, reference: str) -> None:
        """From its shutdown on (by the ``clock`` given), Docker Hub's notary is a typed error saying what to do
        instead, not a connection failure to a server that is gone."""
        if urlsplit(url).hostname != _DOCKER_HUB_NOTARY_HOST:
            return
        now = self._clock()
        if (now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)) < _DOCKER_HUB_NOTARY_SHUTDOWN:
            return
        raise ServiceRetiredError(
            f"Docker Hub's notary service ({url}) shut down on {_DOCKER_HUB_NOTARY_SHUTDOWN:%Y-%m-%d}, and docker "
            f"CLI 29 removed `docker trust`: the trust data of {ImageReference.parse(reference).gun} cannot be read "
            f"or published there any more. Instead: read an archive of it made by trustkit.archive.export_repository "
            f"before the shutdown -- trustkit.archive.open_archive(folder, gun, root=<pinned root.json bytes>), or "
            f"trust_archived_root(folder, gun, trust_dir, root=...) then DockerTrust(remote=ArchiveRemote(folder)); "
            f"verify the image's cosign-format (sigstore) signatures if "
            f"its publisher migrated to them; or, if another notary server holds the repository, name it with "
            f"DOCKER_CONTENT_TRUST_SERVER or DockerTrust(remote=NotaryServer(url))"
        )

    def repository(self, reference: str) -> Repository:
        """The notary-level :class:`~trustkit.client.Repository` of ``reference``'s GUN, on this configuration's
        trust directory, keys and remote (for everything the notary CLI does beyond docker's commands)."""
        image = ImageReference.parse(reference)
        return Repository(
            image.gun,
            remote=self.remote_for(reference),
            keystore=self.keystore,
            trust_dir=self.trust_dir,
            clock=self._clock,
        )

    def close(self) -> None:
        """Close the connections to the notary servers opened so far."""
        for server in self._servers.values():
            server.close()
        self._servers.clear()

    @contextlib.contextmanager
    def _explained(self, reference: str, *, prefix: str = "") -> Iterator[str]:
        """Parse ``reference`` and explain the errors of the block; yields the GUN."""
        image = ImageReference.parse(reference)
        if self.remote is not None:
            server = getattr(self.remote, "url", None) or repr(self.remote)
        else:
            server = self.server_config(reference).url
        with explained(gun=image.gun, server=server, registry=image.auth_key, prefix=prefix):
            yield image.gun

    # --- delegation keys (docker trust key …, notary key …) ---------------------------------------------------

    def generate_key(self, name: str, *, directory: str | os.PathLike[str] | None = None) -> PublicKey:
        """``docker trust key generate NAME [--dir DIRECTORY]``: a new ECDSA signer key stored as ``role: NAME``
        (encrypted with the repository passphrase); with ``directory``, ``NAME.pub`` is written there. Returns the
        public key to give to :meth:`add_signer`."""
        return generate_delegation_key(self.keystore, name, directory=directory)

    def load_key(
        self, path: str | os.PathLike[str], *, name: str = "signer", passphrase: PassphraseSource = None
    ) -> list[KeyInfo]:
        """``docker trust key load FILE --name NAME``: import an RSA or ECDSA private key (PEM, encrypted or not,
        never readable by group or others) as signer ``NAME``; ``passphrase`` decrypts an encrypted file."""
        return load_key_file(
            self.keystore, path, name=name, passphrase=passphrase if passphrase is not None else self._docker_pass()
        )

    def _docker_pass(self) -> DockerEnvPassphrase:
        return DockerEnvPassphrase(environ=self._env)

    def list_keys(self, *, role: str | None = None, gun: str | None = None) -> list[KeyInfo]:
        """The local private keys (``notary key list``): role, GUN, key ID and location of each; no passphrase."""
        return self.keystore.list_keys(role=role, gun=gun)

    def remove_key(self, key_id: str) -> KeyInfo:
        """``notary key remove KEYID``: delete a local private key and return what it was."""
        return self.keystore.remove_key(key_id)

    # --- signers (docker trust signer …) ---------------------------------------------------------------------

    def add_signer(self, name: str, reference: str, *, keys: Sequence[SignerKeySource]) -> AddedSigner:
        """``docker trust signer add --key K… NAME REPO``: add ``keys`` to ``targets/NAME`` and ``targets/releases``,
        initialising the repository on first use. Adding a known signer again adds keys to it (key rotation)."""
        with self._explained(reference):
            return add_signer(self.repository(reference), name, keys)

    def remove_signer(self, name: str, reference: str, *, witness: bool = False) -> RemovedSigner:
        """``docker trust signer remove NAME REPO``, done (docker 28 mostly does nothing): the signer's keys leave
        ``targets/releases`` and ``targets/NAME`` is deleted; the result lists warnings and tags to re-sign. With
        ``witness``, ``targets/releases`` is re-signed in the same publish by its remaining keys held locally."""
        with self._explained(reference):
            return remove_signer(self.repository(reference), name, witness=witness)

    # --- inspect ---------------------------------------------------------------------------------------------

    def inspect(self, *references: str, strict: bool = True) -> TrustInspection:
        """``docker trust inspect REF…``: signed tags, signers and administrative keys of each repository.

        A reference with a tag (``REPO:TAG``) shows that tag only. With ``strict`` the first repository that cannot
        be read raises its error (a typed trustkit error: "no signatures or cannot access REF: …" with the cause
        and what to do); without, failures are returned in :attr:`TrustInspection.failures` as docker reports them
        and goes on. Reads need no key and no passphrase.
        """
        if not references:
            raise InvalidArgumentError("give at least one image reference")
        results: list[RepositoryTrust | InspectFailure] = []
        for reference in references:
            try:
                results.append(self._inspect_one(reference))
            except TrustkitError as exc:
                results.append(_failure(reference, exc, strict=strict))
        return TrustInspection(tuple(results))

    async def inspect_async(
        self, *references: str, strict: bool = True, remote: AsyncMetadataSource | None = None
    ) -> TrustInspection:
        """:meth:`inspect` for asyncio: the same report and errors, the repositories read concurrently by
        :class:`~trustkit.client.AsyncReader` (each repository's delegations too). ``remote`` is an asyncio remote
        for every repository; without it, each image's notary server as docker finds it
        (:class:`~trustkit.remote.AsyncNotaryServer`, opened for this call), or this object's blocking
        :attr:`remote`, called from worker threads."""
        import asyncio

        if not references:
            raise InvalidArgumentError("give at least one image reference")
        servers: dict[str, AsyncNotaryServer] = {}

        async def one(reference: str) -> RepositoryTrust | TrustkitError:
            try:
                return await self._inspect_one_async(reference, remote, servers)
            except TrustkitError as exc:
                return exc

        try:
            outcomes = await asyncio.gather(*(one(reference) for reference in references))
        finally:
            for server in servers.values():
                await server.aclose()
        return TrustInspection(
            tuple(
                _failure(reference, outcome, strict=strict) if isinstance(outcome, TrustkitError) else outcome
                for reference, outcome in zip(references, outcomes, strict=True)
            )
        )

    def _inspect_one(self, reference: str) -> RepositoryTrust:
        with self._explained(reference, prefix=_INSPECT_PREFIX.format(reference=reference)) as gun:
            reader = self.repository(reference).reader()
            return self._report(reference, gun, reader.refresh(), reader.invalid)

    async def _inspect_one_async(
        self, reference: str, remote: AsyncMetadataSource | None, servers: dict[str, AsyncNotaryServer]
    ) -> RepositoryTrust:
        with self._explained(reference, prefix=_INSPECT_PREFIX.format(reference=reference)) as gun:
            if remote is None:
                remote = self._async_remote(reference, servers)
            reader = AsyncReader(gun, remote, cache=MetadataCache(self.trust_dir, gun), clock=self._clock)
            return self._report(reference, gun, await reader.refresh(), reader.invalid)

    def _async_remote(self, reference: str, servers: dict[str, AsyncNotaryServer]) -> AsyncMetadataSource:
        if self.remote is not None:
            return _ThreadedRemote(self.remote)
        url, options = self.server_options(reference)
        server = servers.get(url)
        if server is None:
            server = servers[url] = AsyncNotaryServer(url, **options)
        return server

    @staticmethod
    def _report(reference: str, gun: str, trusted: TrustedMetadataSet, invalid: dict[str, bytes]) -> RepositoryTrust:
        image = ImageReference.parse(reference)
        tag = image.tag if image.digest is None else None
        return inspect_trusted(trusted, name=reference, gun=gun, tag=tag, invalid=invalid)

    # --- tags (docker trust sign / revoke) -------------------------------------------------------------------

    def sign(
        self,
        reference: str,
        *,
        digest: str | None = None,
        size: int | None = None,
        signer: str | None = None,
    ) -> TagSignature:
        """Sign ``REPO:TAG`` as ``docker trust sign`` does once the image is pushed.

        The target is the manifest's ``digest`` (``sha256:<hex>`` or hex) and ``size``; without them, the
        :attr:`resolver` gives them, else a tag that is already released is signed again with its current target
        (docker's path for an existing tag). The tag goes into every signable role (see
        :mod:`trustkit.dct.tags`). A repository without trust data is initialised first with signer ``signer``
        (default: the registry login's user name, as docker names it) and ``targets/releases``, using the
        signer's local key or a new one.
        """
        image = ImageReference.parse(reference)
        if image.tag is None or image.digest is not None:
            if image.digest is not None:
                raise ConfigurationError(f"cannot use a digest reference for IMAGE:TAG ({reference})")
            raise ConfigurationError(f"no tag specified for {reference}: give REPO:TAG")
        tag = image.tag
        target = self._target(reference, digest, size)
        with self._explained(reference) as gun:
            repository = self.repository(reference)
            reader = repository.reader()
            try:
                trusted = reader.refresh()
            except RepositoryNotFoundError:
                return self._sign_new(repository, reference, tag, target, signer)
            if target is None:
                target = released_target(trusted, tag)
                if target is None:
                    raise TargetNotFoundError(
                        f"no digest and size given for {reference}, no resolver configured, and {tag} is not signed "
                        f"yet: pass digest= and size= (the manifest's) or DockerTrust(resolver=...)"
                    )
            check_releases(trusted, gun=gun)
            local = [info.key_id for info in self.keystore.list_keys()]
            roles = signable_roles(trusted, local, tag)
            warnings = logged(logger, check_signable(trusted, roles, reader.invalid, gun=gun))
            repository.publish_changes(sign_changes(tag, target, roles))
            return TagSignature(gun, tag, target, tuple(roles), warnings=warnings)

    def _target(self, reference: str, digest: str | None, size: int | None) -> TargetFile | None:
        if digest is None and size is None:
            if self.resolver is None:
                return None
            manifest = self.resolver.resolve(reference)
            digest, size = manifest.digest, manifest.size
        if digest is None or size is None:
            raise InvalidArgumentError("give both digest= and size= (the manifest's sha256 and its length in bytes)")
        try:
            return TargetFile.from_digest(digest, size)
        except TrustkitError as exc:
            raise InvalidArgumentError(
                f"cannot sign {reference} with digest={digest!r}, size={size!r}: {exc}"
            ) from None

    def _sign_new(
        self, repository: Repository, reference: str, tag: str, target: TargetFile | None, signer: str | None
    ) -> TagSignature:
        """docker's ``initNotaryRepoWithSigners`` then the push path: init, signer + releases, tag in both."""
        if target is None:
            raise RepositoryNotFoundError(
                f"trust data missing for remote repository {repository.gun}, so {tag} has no digest to re-sign: pass "
                f"digest= and size= to sign it and initialise the repository"
            )
        name = signer if signer is not None else self._login_name(reference)
        key = self._signer_key(name)
        repository.initialize(server_managed_snapshot=True)
        roles = (signer_role(name), RELEASES_ROLE)
        repository.publish_changes([*signer_changes(name, [key]), *sign_changes(tag, target, roles)])
        return TagSignature(repository.gun, tag, target, roles, initialized=True, signer=name)

    def _login_name(self, reference: str) -> str:
        image = ImageReference.parse(reference)
        credentials = (
            self.credentials if self.credentials is not None else docker_credentials(image.auth_key, env=self._env)
        )
        if credentials is None or not credentials.username:
            raise ConfigurationError(
                f"{image.gun} has no trust data yet and docker names its first signer after the registry user: log "
                f"in (docker login {image.domain}) or pass signer=NAME"
            )
        return credentials.username

    def _signer_key(self, name: str) -> PublicKey:
        """docker's ``getOrGenerateNotaryKey``: the first local key of role ``name`` (by ID), else a new one."""
        existing = sorted(info.key_id for info in self.keystore.list_keys(role=name))
        if existing:
            return PublicKey.from_sslib_key(self.keystore.get_signer(existing[0]).public_key)
        return generate_delegation_key(self.keystore, name)

    def revoke(self, reference: str) -> Revocation:
        """``docker trust revoke REPO[:TAG]``: remove the tag (or every released tag) from every signable role.

        Raises :class:`~trustkit.errors.TargetNotFoundError` when the tag is not signed (or nothing is).
        """
        image = ImageReference.parse(reference)
        if image.tag is None and image.digest is not None:
            raise ConfigurationError(f"cannot use a digest reference for IMAGE:TAG ({reference})")
        with self._explained(reference) as gun:
            repository = self.repository(reference)
            trusted = repository.reader().refresh()
            released = (RELEASES_ROLE, TARGETS)
            if image.tag is not None:
                match = trusted.get_target(image.tag, roles=released)
                if match is None:
                    raise TargetNotFoundError(f"No valid trust data for {image.tag} in {gun}: nothing to revoke")
                names = [match.name]
            else:
                names = sorted((match.name for match in trusted.list_targets(roles=released)), key=natural_sort_key)
                if not names:
                    raise TargetNotFoundError(f"no signed tags to remove from {gun}")
            local = [info.key_id for info in self.keystore.list_keys()]
            changes: list[Change] = []
            removed: list[tuple[str, tuple[str, ...]]] = []
            warnings: list[str] = []
            for name in names:
                roles = signable_roles(trusted, local, name)
                changes.extend(revoke_changes(name, roles))
                removed.append((name, tuple(roles)))
                holding = [
                    role
                    for role in walk_roles(trusted, name)
                    if role in released and role not in roles and name in trusted[role].signed.targets
                ]
                if holding:
                    warnings.append(
                        f"{name} stays signed in {', '.join(holding)} of {gun}: the keystore holds none of its keys"
                    )
            said = logged(logger, warnings)
            repository.publish_changes(changes)
            return Revocation(gun, tuple(removed), said)

    # --- the notary steps docker's documentation sends people to ---------------------------------------------

    def remove_delegation_keys(
        self, reference: str, key_ids: Sequence[str], *, roles: Sequence[str] = (RELEASES_ROLE,)
    ) -> DelegationKeysRemoval:
        """``notary delegation remove REPO ROLE KEYID… --publish`` for each of ``roles``, in one publish.

        Key IDs may be canonical (as ``docker trust inspect`` and ``notary delegation list`` show them) or TUF IDs
        (of a certificate); a key that a role does not hold raises :class:`~trustkit.errors.UnknownKeyError`
        rather than being silently ignored, an unknown role :class:`~trustkit.errors.UnknownRoleError`.
        """
        if not key_ids or not roles:
            raise InvalidArgumentError("give the key IDs to remove and the roles to remove them from")
        with self._explained(reference) as gun:
            repository = self.repository(reference)
            trusted = repository.reader().refresh()
            known = {delegation.name: (delegation, ids) for delegation, ids in delegation_roles(trusted)}
            changes: list[Change] = []
            removed: list[tuple[str, tuple[str, ...]]] = []
            warnings: list[str] = []
            for role in roles:
                if role not in known:
                    raise UnknownRoleError(f"{gun} has no delegation {role}")
                delegation, canonical = known[role]
                by_any = dict(zip(delegation.keyids, canonical, strict=True)) | {c: c for c in canonical}
                missing = [key_id for key_id in key_ids if key_id not in by_any]
                if missing:
                    raise UnknownKeyError(f"{role} of {gun} has no key {', '.join(missing)}")
                ids = tuple(dict.fromkeys(by_any[key_id] for key_id in key_ids))
                changes.append(Change.update_delegation(role, remove_keys=ids))
                removed.append((role, ids))
                left = len(set(canonical) - set(ids))
                if left < delegation.threshold:
                    warnings.append(
                        f"role {role} has fewer keys than its threshold of {delegation.threshold}; it will not be "
                        f"usable until keys are added to it"
                    )
            said = logged(logger, warnings)
            repository.publish_changes(changes)
            return DelegationKeysRemoval(gun, tuple(removed), said)

    def witness(self, reference: str, *roles: str) -> None:
        """``notary witness REPO ROLE… --publish``: re-sign delegations as they are, with their current keys held
        locally, e.g. ``targets/releases`` after a signer's key left it and its signatures no longer meet its
        threshold."""
        if not roles:
            raise InvalidArgumentError("give the roles to re-sign, e.g. 'targets/releases'")
        with self._explained(reference):
            self.repository(reference).publish_changes([Change.witness(role) for role in roles])

    def delete(self, reference: str, *, remote: bool = True) -> None:
        """``notary delete REPO [--remote]``: remove the repository's cached trust data and staged changes, and with
        ``remote`` (the default) the server's trust data too. Private keys are kept."""
        with self._explained(reference):
            self.repository(reference).delete(remote=remote)
