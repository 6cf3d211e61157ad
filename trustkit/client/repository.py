"""Repository transactions: every change ``notary`` can make, staged in notary's changelist and applied by one
atomic :meth:`Repository.publish`.

Publishing fetches and verifies the latest trusted state (or, for a repository the server does not know yet,
the state :meth:`Repository.initialize` left in the cache), applies the staged changes in order with notary's
rules (``client/helpers.go`` ``applyChangelist`` and ``tuf/tuf.go``; :func:`trustkit.client.changes.apply_changes`,
which does no I/O and no signing), re-signs what changed -- and root when it
changed or nears expiry, with the old and the new root keys -- and uploads every role in one request. Any
failure leaves the changelist as it was; success removes only the changes it applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Change, Changelist, StagedChange
from trustkit.client.changes import InvalidChangeError, WorkingCopy, apply_changes
from trustkit.client.reader import MAX_ROOT_SIZE, Reader, _roles
from trustkit.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    RepositoryNotFoundError,
    SigningError,
)
from trustkit.keys.certs import make_root_key
from trustkit.keys.private import PrivateKey, generate_private_key
from trustkit.keys.public import PublicKey
from trustkit.keystore.base import KeyStore, private_key_id
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import MetaFile, TargetFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP
from trustkit.metadata.roles import Role, Root, Snapshot, Targets, default_expiry
from trustkit.remote.base import Remote
from trustkit.trust.pinning import TrustPinning
from trustkit.trust.trusted_set import TrustedMetadataSet, utc_now

__all__ = ["InvalidChangeError", "Repository"]


_NEAR_EXPIRY = timedelta(days=183)  # notary's AddDate(0, 6, 0)


class Repository:
    """The trust data of one GUN, changed through staged changes and published atomically.

    ``remote`` is any :class:`~trustkit.remote.Remote`; ``keystore`` any :class:`~trustkit.keystore.KeyStore`;
    ``trust_dir`` holds the metadata cache and the changelist in notary's layout (so the real ``notary`` CLI sees
    the same staged changes); ``pinning`` applies when the repository is first read.
    """

    def __init__(
        self,
        gun: str,
        *,
        remote: Remote,
        keystore: KeyStore,
        trust_dir: Path | str,
        pinning: TrustPinning | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.gun = gun
        self.remote = remote
        self.keystore = keystore
        self.trust_dir = Path(trust_dir)
        self.pinning = pinning
        self.cache = MetadataCache(self.trust_dir, gun)
        self.changelist = Changelist(self.trust_dir, gun)
        self._clock = clock

    # --- reading -------------------------------------------------------------------------------------------

    def reader(self, *, offline: bool = False) -> Reader:
        """A :class:`~trustkit.client.Reader` on this repository's remote and cache."""
        return Reader(
            self.gun,
            None if offline else self.remote,
            cache=self.cache,
            pinning=self.pinning,
            offline=offline,
            clock=self._clock,
        )

    # --- staging -------------------------------------------------------------------------------------------

    def _stage(self, changes: Sequence[Change], publish: bool) -> list[StagedChange]:
        """Stage ``changes``; with ``publish`` (notary's ``-p``), publish every staged change, as ``notary add -p``
        does. Kept on every staging method: it is notary's flag and the common one-line case (docs/repository.md)."""
        staged = self.changelist.extend(changes)
        if publish:
            self.publish()
        return staged

    def add_target(
        self, name: str, target: TargetFile, *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage adding ``target`` as ``name`` to each of ``roles`` (``notary add``/``addhash --roles``)."""
        if not isinstance(target, TargetFile):
            raise InvalidArgumentError(
                f"target is a TargetFile (TargetFile.from_digest or from_data), not {type(target).__name__}"
            )
        return self._stage([Change.add_target(name, target, role=role) for role in _roles(roles)], publish)

    def add_targets(
        self, targets: Mapping[str, TargetFile], *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage adding every ``name -> target`` of ``targets`` to each of ``roles``, in one staging call: the
        changes are flushed to disk once for them all, not once per target (2,000 targets in a fraction of the
        time of 2,000 :meth:`add_target` calls). A kill stages a prefix of them, each whole."""
        changes = [Change.add_target(name, target, role=role) for name, target in targets.items() for role in roles]
        return self._stage(changes, publish)

    def remove_target(
        self, name: str, *, roles: Sequence[str] = (TARGETS,), publish: bool = False
    ) -> list[StagedChange]:
        """Stage removing ``name`` from each of ``roles`` (``notary remove``)."""
        return self._stage([Change.remove_target(name, role=role) for role in _roles(roles)], publish)

    def add_delegation(
        self,
        role: str,
        *,
        keys: Sequence[PublicKey | Any] = (),
        paths: Sequence[str] = (),
        all_paths: bool = False,
        publish: bool = False,
    ) -> list[StagedChange]:
        """Stage ``notary delegation add``: keys (creating the role, threshold 1) and then paths.

        ``keys`` are trustkit :class:`~trustkit.keys.PublicKey` values or securesystemslib ``Key`` values (what
        ``HSMSigner.import_`` returns); anything else raises :class:`~trustkit.errors.KeyFormatError`."""
        changes = []
        if keys:
            changes.append(Change.create_delegation(role, keys=keys))
        if isinstance(paths, str):
            raise InvalidArgumentError(f"paths is a list of path prefixes: write paths=[{paths!r}] (or all_paths=True)")
        wanted = [""] if all_paths else list(paths)
        if wanted:
            changes.append(Change.create_delegation(role, paths=wanted))
        if not changes:
            raise InvalidChangeError(f"delegation {role}: give keys or paths to add")
        return self._stage(changes, publish)

    def remove_delegation_keys(self, role: str, key_ids: Sequence[str], *, publish: bool = False) -> list[StagedChange]:
        """Stage removing keys (canonical IDs) from delegation ``role`` (``notary delegation remove ROLE ID``)."""
        return self._stage([Change.update_delegation(role, remove_keys=key_ids)], publish)

    def remove_delegation_paths(
        self, role: str, paths: Sequence[str] = (), *, clear: bool = False, publish: bool = False
    ) -> list[StagedChange]:
        """Stage removing paths from delegation ``role``, or all of them with ``clear``."""
        return self._stage([Change.update_delegation(role, remove_paths=paths, clear_paths=clear)], publish)

    def remove_delegation(self, role: str, *, publish: bool = False) -> list[StagedChange]:
        """Stage deleting delegation ``role`` entirely."""
        return self._stage([Change.delete_delegation(role)], publish)

    def purge_keys(self, key_ids: Sequence[str], *, under: str = TARGETS, publish: bool = False) -> list[StagedChange]:
        """Stage removing keys (canonical IDs) from every delegation below ``under`` (``notary delegation purge``)."""
        return self._stage([Change.update_delegation(f"{under}/*", remove_keys=key_ids)], publish)

    def witness(self, *roles: str, publish: bool = False) -> list[StagedChange]:
        """Stage re-signing ``roles`` as they are (``notary witness``), e.g. after their keys changed."""
        return self._stage([Change.witness(role) for role in roles], publish)

    def status(self) -> list[StagedChange]:
        """The staged changes, in the order they will apply (``notary status``)."""
        return self.changelist.list()

    def reset(self, ids: Iterable[str] | None = None) -> int:
        """Unstage the changes with these IDs, or all (``notary reset``); returns how many were removed."""
        return self.changelist.clear() if ids is None else self.changelist.remove(ids)

    # --- initialising --------------------------------------------------------------------------------------

    def initialize(self, *, root_key_ids: Sequence[str] = (), server_managed_snapshot: bool = False) -> Root:
        """Create the repository's keys and first metadata locally, as ``notary init`` does.

        The root key is the given one, else the first root key in the keystore, else a new ECDSA key, wrapped in
        a certificate for the GUN; a new targets key, a new snapshot key unless the server is to manage it; the
        server's timestamp key. Root, targets and snapshot (if local) version 1 go to the cache; nothing is
        uploaded until :meth:`publish`.

        A repository the server already has trust data for is refused (:class:`~trustkit.errors.ConflictError`)
        before any key is made: its root could only be replaced by a rotation signed with its root key.
        """
        self._refuse_existing()
        root_ids = list(root_key_ids) or sorted(info.key_id for info in self.keystore.list_keys(role=ROOT))[:1]
        if root_ids:
            root_signers = [(self.keystore.get_signer(kid), kid) for kid in root_ids]
        else:
            key = generate_private_key()
            self.keystore.add_key(key, role=ROOT)
            root_signers = [(self.keystore.get_signer(key.key_id), key.key_id)]
        root_certs = []
        for signer, _ in root_signers:
            bare = PublicKey.from_sslib_key(signer.public_key)
            root_certs.append(_certificate_for(signer, bare, self.gun, self._clock()))
        targets_key = self._new_key(TARGETS)
        snapshot_key = self.remote.get_key(self.gun, SNAPSHOT) if server_managed_snapshot else self._new_key(SNAPSHOT)
        timestamp_key = self.remote.get_key(self.gun, TIMESTAMP)
        base = {TARGETS: [targets_key], SNAPSHOT: [snapshot_key], TIMESTAMP: [timestamp_key], ROOT: root_certs}
        now = self._clock()
        root = Root(
            version=1,
            expires=default_expiry(ROOT, now=now),
            keys={key.key_id: key for keys in base.values() for key in keys},
            roles={name: Role([key.key_id for key in keys], 1) for name, keys in base.items()},
        )
        root_md: Metadata[Root] = Metadata(root)
        for (signer, _), cert in zip(root_signers, root_certs, strict=True):
            root_md = root_md.sign(signer, key=cert)
        targets_md = self._sign_with_role(
            Metadata(Targets(version=1, expires=default_expiry(TARGETS, now=now))), [targets_key], 1
        )
        self.cache.store(ROOT, root_md.to_bytes())
        self.cache.store(TARGETS, targets_md.to_bytes())
        if not server_managed_snapshot:
            snapshot = Snapshot(
                version=1,
                expires=default_expiry(SNAPSHOT, now=now),
                meta={ROOT: MetaFile.from_data(root_md.to_bytes()), TARGETS: MetaFile.from_data(targets_md.to_bytes())},
            )
            self.cache.store(SNAPSHOT, self._sign_with_role(Metadata(snapshot), [snapshot_key], 1).to_bytes())
        else:
            self.cache.remove(SNAPSHOT)
        return root

    def _refuse_existing(self) -> None:
        try:
            self.remote.get_role(self.gun, ROOT, max_size=MAX_ROOT_SIZE)
        except NotFoundError:
            return
        raise ConflictError(
            f"repository {self.gun} already exists on the server: initializing it again would replace its root, "
            f'which the server refuses ("could not rotate trust"). Read or change it as it is (reader(), '
            f"add_target, publish; rotate_key('root') with its root key), or delete it first (delete(remote=True)) "
            f"to start over"
        )

    def _new_key(self, role: str) -> PublicKey:
        key = generate_private_key()
        self.keystore.add_key(key, role=role, gun=self.gun)
        return key.public_key

    # --- key rotation and deletion -------------------------------------------------------------------------

    def rotate_key(
        self, role: str, *, server_managed: bool = False, keys: Sequence[PrivateKey] = ()
    ) -> list[PublicKey]:
        """Replace every key of base role ``role`` and publish at once, as ``notary key rotate`` does.

        ``timestamp`` can only be server-managed; ``snapshot`` either; ``targets`` and ``root`` are local (a new
        ECDSA key, or ``keys``). A new root is signed by the old and the new root keys.
        """
        if role not in (ROOT, TARGETS, SNAPSHOT, TIMESTAMP):
            raise InvalidChangeError(f"{role} is not a base role")
        if role == TIMESTAMP and not server_managed:
            raise InvalidChangeError("the timestamp key can only be rotated to the server (server_managed=True)")
        if role in (ROOT, TARGETS) and server_managed:
            raise InvalidChangeError(f"the {role} key cannot be managed by the server")
        if server_managed:
            new_keys = [self.remote.rotate_key(self.gun, role)]
        else:
            privates = list(keys) or [generate_private_key()]
            new_keys = []
            for private in privates:
                self.keystore.add_key(private, role=role, gun=None if role == ROOT else self.gun)
                if role == ROOT:
                    signer = self.keystore.get_signer(private.key_id)
                    new_keys.append(_certificate_for(signer, private.public_key, self.gun, self._clock()))
                else:
                    new_keys.append(private.public_key)
        self._publish([StagedChange("rotation", Change.replace_base_keys(role, new_keys))], remove_staged=False)
        return new_keys

    def delete(self, *, remote: bool = False) -> None:
        """Delete the local trust data of the GUN (cache and changelist, never private keys), and with ``remote``
        the server's too (``notary delete [--remote]``)."""
        if remote:
            self.remote.delete(self.gun)
        self.changelist.clear()
        for role in {*self.cache.roles(), *self.cache.invalid_roles()}:
            self.cache.remove(role)

    # --- publishing ----------------------------------------------------------------------------------------

    def publish(self) -> None:
        """Apply every staged change and upload the result in one request; see the module documentation."""
        staged = list(self.changelist.iter_for_publish())
        self._publish(staged, remove_staged=True)

    def publish_changes(self, changes: Sequence[Change]) -> None:
        """Apply ``changes`` in order and publish the result in one request, without staging them.

        The changelist is neither read nor changed, so changes staged by notary or by :meth:`add_target` and
        friends stay staged; it is how one operation (adding a signer, signing a tag) publishes exactly its own
        changes. Nothing is uploaded unless every change applies.
        """
        if not changes:
            raise InvalidChangeError("no changes to publish")
        self._publish([StagedChange(f"unstaged-{n}", change) for n, change in enumerate(changes)], remove_staged=False)

    def _publish(self, staged: list[StagedChange], *, remove_staged: bool) -> None:
        work, initial = self._load_for_write()
        apply_changes(work, staged, holds=self._holds, clock=self._clock)
        files = self._sign(work, initial)
        if files:  # changes already applied (a retried publish) leave nothing to upload
            self.remote.publish(self.gun, files)
        if remove_staged:
            self.changelist.remove(item.id for item in staged)

    def _load_for_write(self) -> tuple[WorkingCopy, bool]:
        reader = self.reader()
        try:
            trusted = reader.refresh()
        except RepositoryNotFoundError:
            return self._local_work(), True
        return WorkingCopy.from_trusted(trusted, reader.invalid), False

    def _local_work(self) -> WorkingCopy:
        """The state ``initialize`` cached, for a first publish (notary's ``bootstrapRepo``)."""
        root_data, targets_data = self.cache.load(ROOT), self.cache.load(TARGETS)
        if root_data is None or targets_data is None:
            raise RepositoryNotFoundError(
                f"trust data missing for remote repository {self.gun}: initialize the repository first"
            )
        trusted = TrustedMetadataSet(
            root_data, gun=self.gun, first_contact=True, pinning=self.pinning, clock=self._clock
        )
        root = trusted.root.signed
        targets = Metadata.from_bytes(targets_data, role=TARGETS)
        root.verify_delegate(TARGETS, targets)
        snapshot_data = self.cache.load(SNAPSHOT)
        snapshot = Metadata.from_bytes(snapshot_data, role=SNAPSHOT).signed if snapshot_data else None
        return WorkingCopy(
            root=root,
            original_root_role=root.roles[ROOT],
            root_bytes=root_data,
            targets={TARGETS: targets.signed},
            raw={TARGETS: targets_data},
            snapshot=snapshot,
        )

    def _store_id(self, keyid: str, key: PublicKey) -> str | None:
        """The keystore ID holding ``key``'s private key (listed as ``keyid``), or None."""
        return private_key_id(self.keystore, key, key_id=keyid)

    def _holds(self, keyid: str, key: PublicKey) -> bool:
        return self._store_id(keyid, key) is not None

    # --- signing -------------------------------------------------------------------------------------------

    def _sign(self, work: WorkingCopy, initial: bool) -> dict[str, bytes]:
        now = self._clock()
        files: dict[str, bytes] = {}
        root_bytes = work.root_bytes
        if work.root_dirty or work.root.expires < now + _NEAR_EXPIRY:
            root = attrs.evolve(work.root, version=work.root.version + 1, expires=default_expiry(ROOT, now=now))
            roles_to_sign = [work.root.roles[ROOT]]
            if work.original_root_role != work.root.roles[ROOT]:
                roles_to_sign.insert(0, work.original_root_role)
            root_bytes = self._sign_root(Metadata(root), roles_to_sign, work.root.keys).to_bytes()
            files[ROOT] = root_bytes
        elif initial:
            files[ROOT] = root_bytes
        if initial:
            work.dirty.add(TARGETS)
        signed_roles = {ROOT: root_bytes}
        for role, targets in work.targets.items():
            if role in work.dirty:
                bumped = targets.bump(expires=default_expiry(TARGETS, now=now))
                keyids, threshold, keys = work.role_keys(role)
                data = self._sign_with_role(
                    Metadata(bumped), [keys[k] for k in keyids if k in keys], threshold, role=role
                ).to_bytes()
                files[role] = data
                signed_roles[role] = data
            elif role in work.raw:
                signed_roles[role] = work.raw[role]
        snapshot_keys = [work.root.keys[k] for k in work.root.roles[SNAPSHOT].keyids if k in work.root.keys]
        if any(self._store_id(k.key_id, k) is not None for k in snapshot_keys):
            previous = work.snapshot
            meta = {} if previous is None else {r: m for r, m in previous.meta.items() if r not in work.deleted}
            meta.update((role, MetaFile.from_data(data)) for role, data in signed_roles.items())
            snapshot = Snapshot(
                version=(previous.version if previous else 0) + 1,
                expires=default_expiry(SNAPSHOT, now=now),
                meta=meta,
            )
            threshold = work.root.roles[SNAPSHOT].threshold
            files[SNAPSHOT] = self._sign_with_role(
                Metadata(snapshot), snapshot_keys, threshold, role=SNAPSHOT
            ).to_bytes()
        return files

    def _sign_root(
        self, metadata: Metadata[Root], roles: Sequence[Role], keys: Mapping[str, PublicKey]
    ) -> Metadata[Root]:
        """Sign with every available key of each root role given (old and new, for a rotation)."""
        for entry in roles:
            found = 0
            for keyid in entry.keyids:
                key = keys.get(keyid)
                store_id = self._store_id(keyid, key) if key is not None else None
                if key is None or store_id is None:
                    continue
                metadata = metadata.sign(self.keystore.get_signer(store_id), key=key)
                found += 1
            if found < entry.threshold:
                raise SigningError(
                    f"signing keys not available: need {entry.threshold} keys from {len(entry.keyids)} possible "
                    f"keys for root"
                )
        return metadata

    def _sign_with_role(
        self, metadata: Metadata[Any], keys: Sequence[PublicKey], threshold: int, *, role: str = ""
    ) -> Metadata[Any]:
        found = 0
        for key in keys:
            store_id = self._store_id(key.key_id, key)
            if store_id is None:
                continue
            metadata = metadata.sign(self.keystore.get_signer(store_id), key=key)
            found += 1
        if found < threshold:
            raise SigningError(
                f"signing keys not available: need {threshold} keys from {len(keys)} possible keys for "
                f"{role or metadata.signed.role}"
            )
        return metadata


def _certificate_for(signer: Any, bare: PublicKey, gun: str, now: datetime) -> PublicKey:
    """The root certificate key for a root signer (the certificate is signed with the private key itself, so
    root keys must be local keys: securesystemslib ``CryptoSigner``s)."""
    private = getattr(signer, "private_key", None) or getattr(signer, "_private_key", None)
    if private is None:
        raise SigningError("root keys must be local keys that can sign their own certificate")
    cert = make_root_key(PrivateKey(private), gun, now=now)
    if cert.canonical_id != bare.key_id:
        raise SigningError("the root signer's private key does not match its public key")
    return cert
