"""trustkit: a typed Python SDK for Docker Content Trust and Notary v1 trust data.

The names users type live here; each layer's package (``trustkit.keys``, ``trustkit.metadata``) holds the rest.

Importing ``trustkit`` is cheap: each name below is imported from its defining module the first time it is used
(module ``__getattr__``, PEP 562), so a program that only reads trust data never loads httpx, securesystemslib or
the keystores until it needs them.

One table, :data:`_EXPORTS`, says where each top-level name lives; it feeds ``__getattr__``, ``__all__`` and
``__dir__``. Type checkers and IDEs read ``trustkit/__init__.pyi``, which imports the same names from the same
modules; ``tests/unit/test_lazy_imports.py`` keeps the stub equal to the table.

To add a top-level name:

1. define it in its module and list it in that module's ``__all__``;
2. add it to :data:`_EXPORTS` under that module (the defining module, not its package);
3. add ``from <module> import <Name> as <Name>`` to ``trustkit/__init__.pyi``;
4. if its package exports it too, add it there (a plain import for most packages; ``trustkit.client``,
   ``trustkit.keys`` and ``trustkit.remote`` stay lazy, so there it is an entry in the package's ``_EXPORTS`` table
   and an import in the package's ``__init__.pyi``; ``trustkit.remote``'s modules read their ``__all__`` from that
   table).
"""

from __future__ import annotations

import logging

from trustkit import _lazy
from trustkit import errors as _errors

# trustkit's warnings and debug records go where the application sends them; with no logging configured, nowhere
# (not to stderr through logging's last-resort handler)
logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS: dict[str, tuple[str, ...]] = {
    "trustkit._version": ("__version__",),
    "trustkit.archive.export": (
        "export_repository",
        "export_server",
    ),
    "trustkit.archive.offline": (
        "ArchiveRemote",
        "open_archive",
    ),
    "trustkit.client.cache": ("MetadataCache",),
    "trustkit.client.changes": ("InvalidChangeError",),
    "trustkit.client.health": _lazy.exported_from("trustkit.client", "trustkit.client.health"),  # all of them
    "trustkit.client.reader": (
        "AsyncReader",
        "Reader",
    ),
    "trustkit.client.repository": ("Repository",),
    "trustkit.dct.client": ("DockerTrust",),
    "trustkit.dct.inspect": (
        "RepositoryTrust",
        "TrustInspection",
    ),
    "trustkit.errors": tuple(_errors.__all__),  # every error, as the hierarchy lists them
    "trustkit.fleet.follower": (
        "ChangefeedFollower",
        "RepositoryEvent",
    ),
    "trustkit.fleet.inventory": (
        "Inventory",
        "InventoryRow",
        "take_inventory",
    ),
    "trustkit.keys.certs": (
        "make_root_certificate",
        "make_root_key",
    ),
    "trustkit.keys.private": (
        "PrivateKey",
        "generate_private_key",
        "load_private_key",
    ),
    "trustkit.keys.public": ("PublicKey",),
    "trustkit.keystore.base": (
        "ChainedKeyStore",
        "KeyInfo",
        "KeyStore",
    ),
    "trustkit.keystore.external": ("ExternalKeyStore",),
    "trustkit.keystore.file": (
        "FileKeyStore",
        "docker_trust_dir",
        "notary_trust_dir",
    ),
    "trustkit.keystore.memory": ("MemoryKeyStore",),
    "trustkit.keystore.passphrase": (
        "CallbackPassphrase",
        "DockerEnvPassphrase",
        "NotaryEnvPassphrase",
        "RolePassphrases",
    ),
    "trustkit.metadata.envelope": ("Metadata",),
    "trustkit.metadata.files": (
        "MetaFile",
        "TargetFile",
    ),
    "trustkit.metadata.roles": (
        "DelegatedRole",
        "Delegations",
        "Role",
        "Root",
        "Snapshot",
        "Targets",
        "Timestamp",
        "default_expiry",
    ),
    "trustkit.metadata.verification": (
        "Signature",
        "VerificationResult",
    ),
    "trustkit.migrate.attachments": ("verify_image",),
    "trustkit.migrate.plan": (
        "MigrationRecord",
        "plan_migration",
        "run_migration",
    ),
    "trustkit.policy.model": (
        "Policy",
        "PolicyError",
        "Rule",
        "SignerRequirement",
        "TrustAnchor",
    ),
    "trustkit.policy.verdicts": (
        "AsyncVerifier",
        "Verdict",
        "VerdictCache",
        "Verifier",
        "verify",
    ),
    "trustkit.remote.auth": ("Credentials",),
    "trustkit.remote.base": (
        "ChangeRecord",
        "Remote",
    ),
    "trustkit.remote.local": (
        "LocalRemote",
        "MemoryRemote",
    ),
    "trustkit.remote.notary_server": (
        "AsyncNotaryServer",
        "NotaryServer",
    ),
    "trustkit.trust.pinning": ("TrustPinning",),
    "trustkit.trust.trusted_set": (
        "TargetMatch",
        "TargetRow",
        "TrustedMetadataSet",
    ),
}
"""Where each public name lives (defining module -> names): imported on first use and kept here."""

__getattr__, __dir__, __all__ = _lazy.lazy_exports(__name__, _EXPORTS)
del _errors
