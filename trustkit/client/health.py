"""Expiry awareness and exploration: a repository's health report and summary, as data, text and HTML.

:func:`health_report` looks at the trusted state of one GUN (a :class:`~trustkit.trust.TrustedMetadataSet`, with
the delegations its refresh had to skip; or a :class:`~trustkit.client.Reader`, which holds both) and reports what
needs attention before it breaks a deployment: roles that expire within a window, roles whose keys or signatures
are below their threshold, role keys the local keystore does not hold, and certificates that are about to expire.
:func:`repository_summary` describes the same state for exploring it: every role with its keys, threshold, version
and expiry, and every signed tag with the roles that sign it.

Both results are immutable attrs classes holding plain data (for tests, CI gates and dashboards); ``str()`` gives
text tables for a terminal and ``_repr_html_`` HTML tables for Jupyter (rendered by ``trustkit._tables``). Nothing
here does I/O: given the state explicitly, nothing refreshes; a :class:`~trustkit.client.Reader` given as shorthand
refreshes through its own ``trusted`` if it never has.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from cryptography.x509.oid import NameOID

from trustkit._tables import Cell as _Cell
from trustkit._tables import Document as _Document
from trustkit._tables import Rendered as _Rendered
from trustkit._tables import Table as _Table
from trustkit._tables import by_name as _by_name
from trustkit._tables import date_cell as _date_cell
from trustkit._tables import duration_cell as _duration_cell
from trustkit._tables import plain_fields
from trustkit._tables import relative_cell as _relative_cell
from trustkit.client.reader import Reader
from trustkit.errors import InvalidArgumentError, MalformedMetadataError, TrustkitError
from trustkit.keys.public import PublicKey
from trustkit.keystore.base import KeyStore, private_key_id
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import BASE_ROLES, TARGETS, TIMESTAMP, path_allowed
from trustkit.metadata.roles import Targets
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = [
    "DEFAULT_SERVER_MANAGED",
    "DEFAULT_WINDOW",
    "BelowThreshold",
    "ExpiringCertificate",
    "ExpiringRole",
    "HealthReport",
    "MissingKey",
    "RepositorySummary",
    "RoleKey",
    "RoleSummary",
    "SignedTag",
    "health_report",
    "repository_summary",
]

DEFAULT_WINDOW = timedelta(days=183)
"""Notary's "nearing expiry" window: six months (``notary`` warns, and re-signs root, within it)."""

DEFAULT_SERVER_MANAGED: tuple[str, ...] = (TIMESTAMP,)
"""Roles the server signs by default: notary-server always holds the timestamp key and re-signs it."""

_SHORT_ID = 12
_RELEASES = f"{TARGETS}/releases"  # docker's release role: not a signer (trustkit.dct.RELEASES_ROLE, a layer up)


# --- the data -----------------------------------------------------------------------------------------------


@attrs.frozen
class ExpiringRole:
    """A role whose metadata expires within the report's window (or has expired)."""

    role: str
    version: int
    expires: datetime
    remaining: timedelta
    """Time left when the report was made; negative once expired."""
    trusted: bool = True
    """False for a delegation readers skip because it has expired (known from a :class:`Reader`)."""

    @property
    def expired(self) -> bool:
        """Whether the role has already expired."""
        return self.remaining <= timedelta(0)


@attrs.frozen
class BelowThreshold:
    """A role that cannot be trusted as it is: fewer keys, or fewer valid signatures, than its threshold."""

    role: str
    threshold: int
    keys: int
    """How many of the role's key IDs the delegating role provides a key for."""
    signatures: int | None
    """Valid signatures on the role's current metadata, when known (a delegation a :class:`Reader` skipped)."""
    reason: str


@attrs.frozen
class MissingKey:
    """A key of a role that the keystore holds no private key for."""

    role: str
    key_id: str
    """The ID the role lists (for a root certificate, the certificate's ID)."""
    canonical_id: str
    """The ID of the bare public key: what names the private key file, and what keystores look up."""
    keytype: str
    threshold: int
    held: int
    """How many of the role's keys the keystore does hold."""

    @property
    def can_sign(self) -> bool:
        """Whether the keys held locally still meet the role's threshold."""
        return self.held >= self.threshold


@attrs.frozen
class ExpiringCertificate:
    """A certificate key of a role (root certificates, x509 delegation keys) expiring within the window."""

    role: str
    key_id: str
    """The ID the role lists (the certificate's ID)."""
    canonical_id: str
    """The ID of the bare public key inside the certificate (names the private key file)."""
    subject: str
    """The certificate's common name (the GUN, for a root certificate)."""
    not_after: datetime
    remaining: timedelta

    @property
    def expired(self) -> bool:
        """Whether the certificate has already expired."""
        return self.remaining <= timedelta(0)


@attrs.frozen
class HealthReport(_Rendered):
    """What needs attention in one GUN's trust data, within ``window`` of ``checked_at``.

    :attr:`ok` is True when no role or certificate expires within the window and every role meets its threshold;
    keys missing from the keystore are informational (root keys are often kept offline, and a signer only holds its
    own key): :attr:`MissingKey.can_sign` tells whether a role can still be signed here.
    """

    gun: str
    checked_at: datetime
    window: timedelta
    expiring_roles: tuple[ExpiringRole, ...]
    below_threshold: tuple[BelowThreshold, ...]
    missing_keys: tuple[MissingKey, ...]
    keys_checked: bool
    """Whether a keystore was given (otherwise :attr:`missing_keys` is empty because nothing was checked)."""
    expiring_certificates: tuple[ExpiringCertificate, ...]

    @property
    def ok(self) -> bool:
        """No role or certificate expiring within the window, and no role below its threshold."""
        return not (self.expiring_roles or self.below_threshold or self.expiring_certificates)

    @property
    def unsignable_roles(self) -> tuple[str, ...]:
        """Roles whose threshold the keystore's keys cannot meet (empty when no keystore was given)."""
        return tuple(dict.fromkeys(m.role for m in self.missing_keys if not m.can_sign))

    def problems(self) -> list[str]:
        """One sentence per finding that makes the report not :attr:`ok`, for logs and CI output."""
        lines = []
        for entry in self.expiring_roles:
            when = _relative_cell(entry.remaining, past="expired", future="expires in")
            skipped = " (readers skip it)" if not entry.trusted else ""
            lines.append(f"{entry.role} version {entry.version} {when} ({_date_cell(entry.expires)}){skipped}")
        for below in self.below_threshold:
            lines.append(f"{below.role}: {below.reason}")
        for cert in self.expiring_certificates:
            when = _relative_cell(cert.remaining, past="expired", future="expires in")
            lines.append(f"{cert.role} certificate of key {cert.canonical_id[:_SHORT_ID]} (CN={cert.subject}) {when}")
        return lines

    def _document(self) -> _Document:
        """The report as a title and one table a finding kind, for :meth:`__str__` and :meth:`_repr_html_`."""
        window = _duration_cell(self.window)
        problems = len(self.problems())
        verdict = "ok" if self.ok else f"{problems} problem{'s' if problems != 1 else ''}"
        tables = (
            _Table(
                f"Roles expiring within {window}",
                ("ROLE", "VERSION", "EXPIRES", "WHEN"),
                [
                    (
                        e.role + ("" if e.trusted else " (skipped)"),
                        str(e.version),
                        _date_cell(e.expires),
                        _relative_cell(e.remaining, past="expired", future="in"),
                    )
                    for e in self.expiring_roles
                ],
                "none",
            ),
            _Table(
                "Roles below their threshold",
                ("ROLE", "THRESHOLD", "KEYS", "SIGNATURES", "WHY"),
                [
                    (
                        b.role,
                        str(b.threshold),
                        str(b.keys),
                        "?" if b.signatures is None else str(b.signatures),
                        b.reason,
                    )
                    for b in self.below_threshold
                ],
                "none",
            ),
            _Table(
                "Keys without a private key in the keystore",
                ("ROLE", "KEY ID", "KEY TYPE", "HELD", "CAN SIGN"),
                [
                    (
                        m.role,
                        m.canonical_id[:_SHORT_ID],
                        m.keytype,
                        f"{m.held} of {m.threshold} needed",
                        "yes" if m.can_sign else "no",
                    )
                    for m in self.missing_keys
                ],
                "none (every role key is held)" if self.keys_checked else "not checked (no keystore given)",
            ),
            _Table(
                f"Certificates expiring within {window}",
                ("ROLE", "KEY ID", "SUBJECT", "NOT AFTER", "WHEN"),
                [
                    (
                        c.role,
                        c.canonical_id[:_SHORT_ID],
                        c.subject,
                        _date_cell(c.not_after),
                        _relative_cell(c.remaining, past="expired", future="in"),
                    )
                    for c in self.expiring_certificates
                ],
                "none",
            ),
        )
        return _Document(f"Health of {self.gun} on {_date_cell(self.checked_at)}: {verdict}", "trustkit-health", tables)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, for dashboards and CI: every field (times as ISO 8601 UTC, the window in
        seconds), and ``ok`` and ``problems``. ``json.dumps(report.to_dict())`` writes it."""
        return {**plain_fields(self), "ok": self.ok, "problems": self.problems()}


@attrs.frozen
class RoleKey:
    """One key of a role."""

    key_id: str
    """The ID the role lists."""
    canonical_id: str
    """The ID of the bare public key (names the private key file; ``docker trust inspect`` shows it)."""
    keytype: str
    certificate_expires: datetime | None = None
    """When the certificate expires, for an x509 key."""


@attrs.frozen
class RoleSummary:
    """One role: its keys and threshold (as its delegating role lists them), and its metadata's version and expiry.

    ``version`` and ``expires`` are None for a delegation that is not trusted (never published, expired or signed
    below its threshold); ``paths`` is None for base roles and, for a trusted delegation, the paths it may sign once
    restricted by every ancestor's paths.
    """

    name: str
    threshold: int
    keys: tuple[RoleKey, ...]
    version: int | None
    expires: datetime | None
    paths: tuple[str, ...] | None
    targets: int
    """How many targets the role's own metadata lists."""
    trusted: bool
    parent: str | None
    """The delegating role (None for base roles, which root delegates to)."""

    @property
    def is_delegation(self) -> bool:
        """Whether this is a delegated targets role (what ``docker trust`` calls a signer)."""
        return self.parent is not None

    @property
    def signer(self) -> str | None:
        """docker's signer name for this role (``targets/alice`` → ``alice``), as ``docker trust inspect`` lists
        signers: every delegation except ``targets/releases``; None for the base roles and ``targets/releases``."""
        if not self.is_delegation or self.name == _RELEASES:
            return None
        return self.name.removeprefix(f"{TARGETS}/")


@attrs.frozen
class SignedTag:
    """A target (a tag, for docker) and every trusted role that signs it with the same hashes."""

    name: str
    digest: str
    """``sha256:<hex>``, or the empty string for a target without a sha256."""
    length: int
    roles: tuple[str, ...]


@attrs.frozen
class RepositorySummary(_Rendered):
    """The trust data of one GUN at a glance: roles with keys, thresholds and expiry, and signed tags by role."""

    gun: str
    generated_at: datetime
    roles: tuple[RoleSummary, ...]
    signed_tags: tuple[SignedTag, ...]

    def role(self, name: str) -> RoleSummary:
        """The summary of role ``name``; ``KeyError`` if the repository has no such role."""
        return _by_name(self.roles, name)

    @property
    def delegations(self) -> tuple[RoleSummary, ...]:
        """The delegated roles, parents first."""
        return tuple(role for role in self.roles if role.is_delegation)

    def tags_by_role(self) -> dict[str, tuple[str, ...]]:
        """Every trusted targets role and the names it signs, sorted."""
        by_role: dict[str, list[str]] = {
            role.name: [] for role in self.roles if role.trusted and (role.name == TARGETS or role.is_delegation)
        }
        for tag in self.signed_tags:
            for role in tag.roles:
                by_role.setdefault(role, []).append(tag.name)
        return {role: tuple(sorted(set(names))) for role, names in by_role.items()}

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data: every field (times as ISO 8601 UTC), each role with its docker
        ``signer`` name. ``json.dumps(summary.to_dict())`` writes it."""
        data = plain_fields(self)
        for role, role_data in zip(self.roles, data["roles"], strict=True):
            role_data["signer"] = role.signer
        return data

    def _signers(self) -> dict[str, str]:
        return {role.name: signer for role in self.roles if (signer := role.signer) is not None}

    def _document(self) -> _Document:
        """The summary as a title, a table of roles and one of signed tags."""
        role_rows: list[tuple[_Cell, ...]] = []
        for role in self.roles:
            keys = tuple(
                f"{key.canonical_id[:_SHORT_ID]} ({key.keytype}"
                + (f", cert until {key.certificate_expires:%Y-%m-%d}" if key.certificate_expires else "")
                + ")"
                for key in role.keys
            ) or ("(none)",)
            if role.expires is None:
                expiry = "not trusted"
            else:
                expiry = f"{_date_cell(role.expires)} ({_relative_cell(role.expires - self.generated_at)})"
            role_rows.append(
                (
                    role.name,
                    role.signer or "-",
                    keys,
                    str(role.threshold),
                    "-" if role.version is None else str(role.version),
                    expiry,
                    "-" if role.paths is None else ", ".join(p or "(all)" for p in role.paths) or "(none)",
                    str(role.targets) if role.parent is not None or role.name == TARGETS else "-",
                )
            )
        signers = self._signers()
        tag_rows: list[tuple[_Cell, ...]] = [
            (
                tag.name,
                tag.digest or "(no sha256)",
                str(tag.length),
                ", ".join(f"{role} ({signers[role]})" if role in signers else role for role in tag.roles),
            )
            for tag in self.signed_tags
        ]
        tables = (
            _Table(
                "Roles",
                ("ROLE", "SIGNER", "KEYS", "THRESHOLD", "VERSION", "EXPIRES", "PATHS", "TARGETS"),
                role_rows,
                "none",
            ),
            _Table("Signed tags", ("TAG", "DIGEST", "SIZE", "SIGNED BY"), tag_rows, "none"),
        )
        return _Document(f"Trust data of {self.gun} on {_date_cell(self.generated_at)}", "trustkit-summary", tables)


# --- building them ------------------------------------------------------------------------------------------


@attrs.frozen
class _RoleView:
    """A role as its delegator lists it, with its trusted metadata (or the bytes a reader skipped)."""

    name: str
    parent: str | None
    threshold: int
    keyids: tuple[str, ...]
    keys: Mapping[str, PublicKey]
    paths: tuple[str, ...] | None
    metadata: Metadata[Any] | None
    skipped: Metadata[Any] | None

    @property
    def usable_keys(self) -> list[PublicKey]:
        """The role's keys the delegator provides, each once."""
        return [self.keys[kid] for kid in dict.fromkeys(self.keyids) if kid in self.keys]


def _state(
    trusted: TrustedMetadataSet | Reader, skipped: Mapping[str, bytes] | None
) -> tuple[TrustedMetadataSet, Mapping[str, bytes]]:
    """The trusted state and the skipped roles the caller gave; a :class:`Reader` is shorthand for its
    ``trusted`` and ``invalid`` (kept for compatibility: the reader, not this module, refreshes if it never has)."""
    if isinstance(trusted, Reader):
        if skipped is not None:
            raise InvalidArgumentError(
                "give skipped= with a TrustedMetadataSet (reader.trusted), not with a Reader, which brings its own"
            )
        return trusted.trusted, dict(trusted.invalid)
    if not isinstance(trusted, TrustedMetadataSet):
        raise InvalidArgumentError(
            f"give a Reader or a TrustedMetadataSet (reader.trusted), not {type(trusted).__name__}"
        )
    return trusted, dict(skipped or {})


def _loaded(state: TrustedMetadataSet, role: str) -> Metadata[Any] | None:
    if role not in state:
        return None
    return state[role]


def _views(state: TrustedMetadataSet, invalid: Mapping[str, bytes]) -> list[_RoleView]:
    root = state.root.signed
    views = []
    for name in BASE_ROLES:
        entry = root.roles[name]
        metadata = _loaded(state, name)
        views.append(_RoleView(name, None, entry.threshold, entry.keyids, root.keys, None, metadata, None))
    for parent in state.walk():
        parent_signed: Targets = state[parent].signed
        for delegation in parent_signed.delegations.roles:
            name = delegation.name
            metadata = _loaded(state, name)
            skipped = None
            if metadata is None and name in invalid:
                try:
                    skipped = Metadata.from_bytes(invalid[name], role=name)
                except MalformedMetadataError:
                    skipped = None
            paths = state.delegation_paths(name) if metadata is not None else delegation.paths
            views.append(
                _RoleView(
                    name,
                    parent,
                    delegation.threshold,
                    delegation.keyids,
                    parent_signed.delegations.keys,
                    paths,
                    metadata,
                    skipped,
                )
            )
    return views


def _certificate_expiry(key: PublicKey) -> tuple[str, datetime] | None:
    """The subject CN and the earliest expiry of an x509 key's chain; None for a bare or unreadable key."""
    try:
        certificates = key.certificates
    except TrustkitError:
        return None
    if not certificates:
        return None
    names = certificates[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = str(names[0].value) if names else certificates[0].subject.rfc4514_string()
    return subject, min(cert.not_valid_after_utc for cert in certificates)


def _below_threshold(view: _RoleView, state: TrustedMetadataSet) -> BelowThreshold | None:
    usable = len(view.usable_keys)
    signatures: int | None = None
    reasons = []
    if usable < view.threshold:
        reasons.append(f"{usable} key(s) for a threshold of {view.threshold}: cannot be signed")
    if view.skipped is not None and view.parent is not None:
        parent: Targets = state[view.parent].signed
        try:
            signatures = len(parent.get_verification_result(view.name, view.skipped).signed)
        except TrustkitError:
            signatures = 0
        if signatures < view.threshold:
            reasons.append(f"valid signatures {signatures} of {view.threshold}: readers skip it")
    if not reasons:
        return None
    return BelowThreshold(view.name, view.threshold, usable, signatures, "; ".join(reasons))


def health_report(
    trusted: TrustedMetadataSet | Reader,
    *,
    skipped: Mapping[str, bytes] | None = None,
    keystore: KeyStore | None = None,
    window: timedelta = DEFAULT_WINDOW,
    now: datetime | None = None,
    server_managed: Collection[str] = DEFAULT_SERVER_MANAGED,
) -> HealthReport:
    """Check one GUN's trusted state for what will break soon, or already has.

    - **expiring roles**: every trusted role whose metadata expires before ``now + window``, and delegations a
      ``Reader`` skipped because they expired. Roles in ``server_managed`` are reported only once expired, since
      the server re-signs them (notary-server always does for the timestamp; add ``"snapshot"`` when the server
      holds the snapshot key too).
    - **below threshold**: roles listing fewer keys than their threshold, and delegations a ``Reader`` skipped
      because their signatures did not meet it.
    - **missing keys** (with ``keystore``): every key of every role, except those in ``server_managed``, whose
      private key the keystore does not hold, with whether the keys it holds still meet the threshold.
    - **expiring certificates**: x509 keys of any role (root certificates; certificates used as delegation keys)
      expiring before ``now + window``.

    ``trusted`` is the trusted state (a :class:`~trustkit.trust.TrustedMetadataSet`, e.g. ``reader.trusted``) and
    ``skipped`` the raw bytes of the delegations its refresh had to skip (``reader.invalid``), so that what is
    checked is exactly what the caller holds. A :class:`~trustkit.client.Reader` is still accepted as shorthand for
    both (``reader.trusted`` refreshes if the reader never has). ``now`` defaults to the current time (UTC).
    """
    state, invalid = _state(trusted, skipped)
    moment = now or datetime.now(timezone.utc)
    horizon = moment + window
    expiring: list[ExpiringRole] = []
    below: list[BelowThreshold] = []
    missing: list[MissingKey] = []
    certificates: dict[tuple[str, str], ExpiringCertificate] = {}
    for view in _views(state, invalid):
        if view.metadata is not None:
            signed = view.metadata.signed
            expired = signed.expires <= moment
            if signed.expires < horizon and (expired or view.name not in server_managed):
                expiring.append(ExpiringRole(view.name, signed.version, signed.expires, signed.expires - moment))
        elif view.skipped is not None and view.skipped.signed.expires <= moment:
            signed = view.skipped.signed
            expiring.append(
                ExpiringRole(view.name, signed.version, signed.expires, signed.expires - moment, trusted=False)
            )
        found = _below_threshold(view, state)
        if found is not None:
            below.append(found)
        keys = view.usable_keys
        if keystore is not None and view.name not in server_managed:
            held = [key for key in keys if private_key_id(keystore, key) is not None]
            for key in keys:
                if key not in held:
                    missing.append(
                        MissingKey(view.name, key.key_id, _canonical(key), key.keytype, view.threshold, len(held))
                    )
        for key in keys:
            expiry = _certificate_expiry(key)
            if expiry is not None and expiry[1] < horizon:
                subject, not_after = expiry
                certificates.setdefault(
                    (view.name, key.key_id),
                    ExpiringCertificate(view.name, key.key_id, _canonical(key), subject, not_after, not_after - moment),
                )
    return HealthReport(
        gun=state.gun,
        checked_at=moment,
        window=window,
        expiring_roles=tuple(sorted(expiring, key=lambda e: e.expires)),
        below_threshold=tuple(below),
        missing_keys=tuple(missing),
        keys_checked=keystore is not None,
        expiring_certificates=tuple(sorted(certificates.values(), key=lambda c: c.not_after)),
    )


def _canonical(key: PublicKey) -> str:
    try:
        return key.canonical_id
    except TrustkitError:
        return key.key_id


def repository_summary(
    trusted: TrustedMetadataSet | Reader, *, skipped: Mapping[str, bytes] | None = None, now: datetime | None = None
) -> RepositorySummary:
    """Describe one GUN's trusted state: every role (base roles, then delegations parents first) with its keys,
    threshold, version, expiry and paths, and every signed target with the roles that sign it (each role within
    its restricted paths; a name two roles sign with different hashes appears once per digest).

    ``trusted`` and ``skipped`` are as for :func:`health_report` (the trusted state and the delegations its refresh
    skipped; a :class:`~trustkit.client.Reader` is shorthand for both); ``now`` (default: the current time) is what
    "expires in" counts from.
    """
    state, invalid = _state(trusted, skipped)
    roles = []
    for view in _views(state, invalid):
        keys = []
        for key in view.usable_keys:
            expiry = _certificate_expiry(key)
            keys.append(RoleKey(key.key_id, _canonical(key), key.keytype, expiry[1] if expiry else None))
        metadata = view.metadata
        count = len(metadata.signed.targets) if metadata is not None and isinstance(metadata.signed, Targets) else 0
        roles.append(
            RoleSummary(
                name=view.name,
                threshold=view.threshold,
                keys=tuple(keys),
                version=metadata.signed.version if metadata is not None else None,
                expires=metadata.signed.expires if metadata is not None else None,
                paths=view.paths,
                targets=count,
                trusted=metadata is not None,
                parent=view.parent,
            )
        )
    signed: dict[tuple[str, str, int], list[str]] = {}
    for role in state.walk():
        paths = state.delegation_paths(role)
        everything = "" in paths
        for name, target in state[role].signed.targets.items():
            if everything or path_allowed(name, paths):
                digest = f"sha256:{target.sha256_hex}" if target.sha256_hex else ""
                signed.setdefault((name, digest, target.length), []).append(role)
    tags = tuple(SignedTag(name, digest, length, tuple(by)) for (name, digest, length), by in sorted(signed.items()))
    return RepositorySummary(state.gun, now or datetime.now(timezone.utc), tuple(roles), tags)
