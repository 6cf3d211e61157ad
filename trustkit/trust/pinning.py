"""Root trust: notary's root certificate checks, trust pinning and the rotation rules (``trustpinning/``).

A root is only trusted through the certificates of its ``root`` role: each must be an x509 leaf whose CN is the
GUN (or a ``prefix*`` wildcard), not SHA-1 signed, with RSA keys of 2048 bits or more, and -- for a root being
newly trusted -- within its validity. On first contact the pinning configuration decides which of those
certificates count: pinned certificate IDs for the GUN, else a pinned CA for its longest prefix, else trust on
first use (unless that is disabled). A rotation must be signed by the previous root's threshold of its (valid,
CN-matching, expiry not checked) certificates, and meet its own threshold with its own valid certificates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from trustkit.errors import InvalidArgumentError, KeyFormatError, UntrustedRootError
from trustkit.keys.certs import check_certificate, cn_matches_gun
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import ROOT
from trustkit.metadata.roles import Root
from trustkit.metadata.verification import VerificationResult, check_signatures

__all__ = ["TrustPinning", "valid_root_keys", "validate_root", "validate_root_rotation"]


def _freeze_certs(value: Mapping[str, Any]) -> Mapping[str, tuple[str, ...]]:
    """GUN → pinned IDs; one ID given as a string is one pin (not one pin per character)."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"certs maps GUNs to lists of root certificate IDs, not {type(value).__name__}")
    frozen: dict[str, tuple[str, ...]] = {}
    for gun, ids in value.items():
        pins = (ids,) if isinstance(ids, str) else ids
        if not isinstance(pins, Iterable) or not all(isinstance(i, str) for i in pins):
            raise InvalidArgumentError(f"certs[{gun!r}] must be a list of root certificate IDs (hex), not {ids!r}")
        frozen[str(gun)] = tuple(pins)
    return frozen


_MAX_CA_BUNDLE = 10 * 1024 * 1024


def _read_bundle(path: Path) -> bytes:
    """A CA bundle file, capped (a path to ``/dev/zero`` must not read forever)."""
    if not path.is_file():
        raise OSError(f"{path} is not a regular file")
    with path.open("rb") as handle:
        data = handle.read(_MAX_CA_BUNDLE + 1)
    if len(data) > _MAX_CA_BUNDLE:
        raise OSError(f"{path} is larger than {_MAX_CA_BUNDLE} bytes")
    return data


def _freeze_ca(value: Mapping[str, Any]) -> Mapping[str, bytes]:
    """GUN prefix → PEM bundle: bytes as given, a path read now; anything else is refused."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"ca maps GUN prefixes to PEM bundles or their paths, not {type(value).__name__}")
    frozen: dict[str, bytes] = {}
    for prefix, bundle in value.items():
        if isinstance(bundle, str | Path):
            try:
                frozen[str(prefix)] = _read_bundle(Path(bundle))
            except OSError as exc:
                raise InvalidArgumentError(f"ca[{prefix!r}]: the CA bundle cannot be read: {exc}") from None
        elif isinstance(bundle, bytes | bytearray):
            frozen[str(prefix)] = bytes(bundle)
        else:
            raise InvalidArgumentError(f"ca[{prefix!r}] must be PEM bytes or a file path, not {type(bundle).__name__}")
    return frozen


@attrs.frozen(unsafe_hash=False)
class TrustPinning:
    """Notary's ``trust_pinning`` configuration.

    ``certs`` maps a GUN (or ``prefix*``) to the root certificate key IDs (as root.json lists them) to accept (a
    single ID may be given as a string);
    ``ca`` maps a GUN prefix to a PEM bundle (bytes, or a path read at construction) the root certificate must
    chain to; ``disable_tofu`` refuses a first root that neither pins.
    """

    certs: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_freeze_certs)
    ca: Mapping[str, bytes] = attrs.field(factory=dict, converter=_freeze_ca, repr=False)
    disable_tofu: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, base_dir: Path | None = None) -> TrustPinning:
        """Read the ``trust_pinning`` section of a notary ``config.json`` (relative CA paths from ``base_dir``)."""
        if not isinstance(config, Mapping):
            raise UntrustedRootError("a notary configuration must be a JSON object")
        section = config.get("trust_pinning", config)
        if not isinstance(section, Mapping):
            raise UntrustedRootError("trust_pinning must be an object")
        certs, ca = section.get("certs") or {}, section.get("ca") or {}
        if not isinstance(certs, Mapping) or not all(
            isinstance(v, list) and all(isinstance(i, str) for i in v) for v in certs.values()
        ):
            raise UntrustedRootError("trust_pinning.certs must map GUNs to lists of key IDs")
        if not isinstance(ca, Mapping) or not all(isinstance(v, str) for v in ca.values()):
            raise UntrustedRootError("trust_pinning.ca must map GUN prefixes to file paths")
        paths = {prefix: (base_dir / path if base_dir else Path(path)) for prefix, path in ca.items()}
        try:
            return cls(certs=certs, ca=paths, disable_tofu=bool(section.get("disable_tofu", False)))
        except (OSError, ValueError) as exc:
            raise UntrustedRootError(f"trust_pinning.ca file cannot be read: {exc}") from None

    def certs_for(self, gun: str) -> tuple[str, ...] | None:
        """The pinned certificate IDs for ``gun``: an exact entry, else the longest matching ``prefix*``."""
        if gun in self.certs:
            return self.certs[gun]
        matches = [p for p in self.certs if p.endswith("*") and gun.startswith(p[:-1])]
        return self.certs[max(matches, key=len)] if matches else None

    def ca_for(self, gun: str) -> bytes | None:
        """The pinned CA bundle for the longest prefix of ``gun``."""
        matches = [p for p in self.ca if gun.startswith(p)]
        return self.ca[max(matches, key=len)] if matches else None


def _leaf_and_chain(key: PublicKey, gun: str) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """The root key's leaf certificate and intermediates, checked as notary's ``LoadCertBundleFromPEM``."""
    if not key.is_certificate:
        raise KeyFormatError(f"root key {key.key_id} is a {key.keytype} key, not a certificate")
    certs = key.certificates
    if not certs:
        raise KeyFormatError(f"root key {key.key_id} holds no certificate")
    leaves = [c for c in certs if not _is_ca(c)]
    if len(leaves) != 1 or leaves[0] is not certs[0]:
        raise KeyFormatError(f"root key {key.key_id} must hold exactly one leaf certificate, first")
    common_names = certs[0].subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = str(common_names[0].value) if common_names else ""
    if not cn_matches_gun(cn, gun):
        raise KeyFormatError(f"root certificate {key.key_id} is for {cn!r}, not {gun!r}")
    return certs[0], certs[1:]


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
    except ValueError as exc:  # extensions that are not valid DER
        raise KeyFormatError(
            f"certificate {certificate.subject.rfc4514_string()} has invalid extensions: {exc}"
        ) from None


def valid_root_keys(
    root: Root, gun: str, *, now: datetime | None = None, check_expiry: bool = True
) -> tuple[dict[str, PublicKey], list[str]]:
    """The root role's keys whose certificates pass notary's checks, and why the others were dropped."""
    valid: dict[str, PublicKey] = {}
    problems: list[str] = []
    for keyid in root.roles[ROOT].keyids:
        key = root.keys[keyid]
        try:
            leaf, _ = _leaf_and_chain(key, gun)
            check_certificate(leaf, now=now, check_expiry=check_expiry)
        except (KeyFormatError, ValueError) as exc:
            problems.append(str(exc))
            continue
        valid[keyid] = key
    return valid, problems


def _chains_to(
    leaf: x509.Certificate, intermediates: tuple[x509.Certificate, ...], bundle: bytes, now: datetime
) -> bool:
    """Whether ``leaf`` chains to a certificate of ``bundle`` (expired and SHA-1 CAs ignored, as notary)."""
    try:
        anchors = x509.load_pem_x509_certificates(bundle)
    except ValueError:
        return False
    usable = []
    for anchor in anchors:
        try:
            check_certificate(anchor, now=now)
        except KeyFormatError:
            continue
        usable.append(anchor)
    current, pool, seen = leaf, list(intermediates), 0
    while seen <= len(intermediates):
        for anchor in usable:
            if _issued_by(current, anchor):
                return True
        issuer = next((c for c in pool if _issued_by(current, c)), None)
        if issuer is None:
            return False
        pool.remove(issuer)
        current, seen = issuer, seen + 1
    return False


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def validate_root(
    metadata: Metadata[Root], gun: str, *, pinning: TrustPinning | None = None, now: datetime | None = None
) -> VerificationResult:
    """Trust a root on first contact, as notary's ``ValidateRoot`` with no previous root.

    Raises :class:`UntrustedRootError` when no certificate passes the checks and the pinning, or the root does
    not meet its own threshold with those that do.
    """
    moment = now or datetime.now(timezone.utc)
    root = metadata.signed
    valid, problems = valid_root_keys(root, gun, now=moment)
    if not valid:
        detail = "; ".join(problems) or "the root role lists no keys"
        raise UntrustedRootError(
            f"could not validate the path to a trusted root: unable to retrieve valid leaf certificates ({detail})"
        )
    pinning = pinning or TrustPinning()
    pinned_ids = pinning.certs_for(gun)
    ca_bundle = pinning.ca_for(gun)
    if pinned_ids is not None:
        offered = list(valid)
        valid = {kid: key for kid, key in valid.items() if kid in pinned_ids}
        if not valid:
            raise UntrustedRootError(
                f"could not validate the path to a trusted root: the root certificate(s) of {gun} "
                f"({', '.join(offered)}) do not match the pinned ID(s) ({', '.join(pinned_ids) or 'none'}): if the "
                f"repository's root was re-created or rotated, pin its new certificate IDs (trust_pinning.certs); "
                f"otherwise this is not the root you pinned"
            )
    elif ca_bundle is not None:
        chained = {}
        for kid, key in valid.items():
            leaf, intermediates = _leaf_and_chain(key, gun)
            if _chains_to(leaf, intermediates, ca_bundle, moment):
                chained[kid] = key
        if not chained:
            raise UntrustedRootError(
                f"could not validate the path to a trusted root: no root certificate of {gun} chains to the pinned CA"
            )
        valid = chained
    elif pinning.disable_tofu:
        raise UntrustedRootError(f"invalid trust pinning specified: {gun} is not pinned and TOFU is disabled")
    result = check_signatures(ROOT, valid, root.roles[ROOT].threshold, valid, metadata, enough=True)
    if not result.verified:
        raise UntrustedRootError(
            f"could not validate the path to a trusted root: root is signed by {len(result.signed)} of "
            f"{result.threshold} valid root certificates"
        )
    return result


def validate_root_rotation(
    previous: Root, metadata: Metadata[Root], gun: str, *, now: datetime | None = None, check_expiry: bool = True
) -> VerificationResult:
    """Accept a new root after ``previous``, as notary's ``ValidateRoot`` with a previous root.

    The new root must be signed by the previous root's threshold of its certificates (CN-matching, expiry not
    checked) and meet its own threshold with its own valid certificates (expiry checked unless ``check_expiry``
    is false, as for the intermediate roots of a rotation chain).
    """
    old_valid, _ = valid_root_keys(previous, gun, check_expiry=False)
    old = check_signatures(ROOT, old_valid, previous.roles[ROOT].threshold, old_valid, metadata, enough=True)
    if not old.verified:
        raise UntrustedRootError(
            f"could not rotate trust to a new trusted root: signed by {len(old.signed)} of the "
            f"{old.threshold} keys the previous root requires"
        )
    new_valid, problems = valid_root_keys(metadata.signed, gun, now=now, check_expiry=check_expiry)
    new = check_signatures(ROOT, new_valid, metadata.signed.roles[ROOT].threshold, new_valid, metadata, enough=True)
    if not new.verified:
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise UntrustedRootError(
            f"could not rotate trust to a new trusted root: signed by {len(new.signed)} of its own "
            f"{new.threshold} valid root keys{detail}"
        )
    return new
