"""Layer 7: a way out of Docker Content Trust -- re-sign what DCT released as cosign-format ("simple signing")
signatures in sigstore attachments, verify them as containers/image does, and configure their consumers.

:func:`plan_migration` reads the released tags from verified DCT data and checks them against the registry (drift
is reported, never signed); :func:`run_migration` signs them, idempotently, with any trustkit key or securesystemslib
signer; :func:`verify_image` is trustkit's own verifier of cosign-format signatures; :func:`write_consumer_config`
writes the containers ``policy.json`` and ``registries.d`` entries; :func:`export_cosign_key` keeps a key usable by
cosign-format signing tools.
"""

from trustkit.migrate.attachments import (
    SignatureAttachment,
    SignatureLayer,
    VerifiedSignature,
    append_signatures,
    read_signatures,
    signature_tag,
    verify_image,
    verify_signature_layers,
)
from trustkit.migrate.consumers import ConsumerConfig, write_consumer_config
from trustkit.migrate.cosign_key import COSIGN_KEY_PEM_TYPE, export_cosign_key, load_cosign_key
from trustkit.migrate.plan import (
    PROVENANCE_KEY,
    MigrationRecord,
    MigrationStatus,
    ReleasedTag,
    plan_migration,
    released_tags,
    run_migration,
)
from trustkit.migrate.simplesigning import (
    PAYLOAD_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
    SignedIdentity,
    SimpleSigningPayload,
    check_identity,
    load_verification_key,
    make_payload,
    parse_payload,
    sign_payload,
    verify_payload,
    verify_payload_signature,
)

__all__ = [
    "COSIGN_KEY_PEM_TYPE",
    "PAYLOAD_TYPE",
    "PROVENANCE_KEY",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "ConsumerConfig",
    "MigrationRecord",
    "MigrationStatus",
    "ReleasedTag",
    "SignatureAttachment",
    "SignatureLayer",
    "SignedIdentity",
    "SimpleSigningPayload",
    "VerifiedSignature",
    "append_signatures",
    "check_identity",
    "export_cosign_key",
    "load_cosign_key",
    "load_verification_key",
    "make_payload",
    "parse_payload",
    "plan_migration",
    "read_signatures",
    "released_tags",
    "run_migration",
    "sign_payload",
    "signature_tag",
    "verify_image",
    "verify_payload",
    "verify_payload_signature",
    "verify_signature_layers",
    "write_consumer_config",
]
