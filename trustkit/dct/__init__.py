"""Layer 6: Docker Content Trust -- what ``docker trust`` does, as typed Python, plus the notary steps docker's
documentation sends people to.

:class:`DockerTrust` is the entry point: delegation keys (generate, load, list, remove), signers (add, remove),
:meth:`~DockerTrust.inspect` (typed results whose :meth:`~RepositoryTrust.to_json` and
:meth:`~RepositoryTrust.pretty` are byte for byte what ``docker trust inspect [--pretty]`` prints), signing and
revoking tags, removing keys from delegations, witnessing and deleting trust data.
"""

from trustkit.dct.client import DelegationKeysRemoval, DockerTrust
from trustkit.dct.inspect import (
    RELEASES_ROLE,
    REPO_ADMIN,
    AdministrativeKeys,
    InspectFailure,
    RepositoryTrust,
    SignedTag,
    Signer,
    TrustInspection,
    inspect_trusted,
    render_json,
)
from trustkit.dct.registry import (
    MANIFEST_ACCEPT,
    MANIFEST_MEDIA_TYPES,
    MAX_MANIFEST_SIZE,
    ManifestInfo,
    Registry,
    registry_url,
)
from trustkit.dct.registry_write import (
    RegistryManifest,
    blob_exists,
    get_blob,
    get_manifest,
    list_tags,
    push_blob,
    put_manifest,
)
from trustkit.dct.signers import AddedSigner, RemovedSigner, SignerKeySource, read_signer_key
from trustkit.dct.tags import Revocation, TagResolver, TagSignature, signable_roles

__all__ = [
    "MANIFEST_ACCEPT",
    "MANIFEST_MEDIA_TYPES",
    "MAX_MANIFEST_SIZE",
    "RELEASES_ROLE",
    "REPO_ADMIN",
    "AddedSigner",
    "AdministrativeKeys",
    "DelegationKeysRemoval",
    "DockerTrust",
    "InspectFailure",
    "ManifestInfo",
    "Registry",
    "RegistryManifest",
    "RemovedSigner",
    "RepositoryTrust",
    "Revocation",
    "SignedTag",
    "Signer",
    "SignerKeySource",
    "TagResolver",
    "TagSignature",
    "TrustInspection",
    "blob_exists",
    "get_blob",
    "get_manifest",
    "inspect_trusted",
    "list_tags",
    "push_blob",
    "put_manifest",
    "read_signer_key",
    "registry_url",
    "render_json",
    "signable_roles",
]
