"""``docker trust inspect`` as typed data: signed tags, signers and administrative keys of a repository.

:func:`inspect_trusted` reads a verified :class:`~trustkit.trust.TrustedMetadataSet` exactly as docker does
(``cli/command/trust/common.go``, ``inspect.go``):

- a tag is *released* when ``targets`` or ``targets/releases`` lists it; each released (tag, sha256) pair lists as
  signers every other role that holds the same tag with the same sha256 (the role name without ``targets/``), in
  the order notary's breadth-first walk reaches them, or ``"Repo Admin"`` when there is none;
- with a tag (``REPO:TAG``) only roles whose paths allow that tag are walked (and not their children otherwise);
- signers are every delegation except ``targets/releases``, with **canonical** key IDs, listed by name descending;
- the administrative keys are root's and targets' key IDs from ``root.json`` (**TUF** IDs: a root key is its
  certificate), ``Root`` before ``Repository``.

:meth:`RepositoryTrust.to_json` and :meth:`RepositoryTrust.pretty` render the exact bytes ``docker trust inspect``
and ``docker trust inspect --pretty`` print; :class:`TrustInspection` does the same for several repositories.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Literal, overload

import attrs

from trustkit._encoding import GoStruct, go_marshal
from trustkit._tables import Document, Table, by_name
from trustkit.dct._errors import logged
from trustkit.dct._format import go_indent, natural_sort_key, tab_table, truncate_id
from trustkit.errors import (
    ExpiredMetadataError,
    RootMismatchError,
    TrustkitError,
    UnknownKeyError,
    VerificationError,
)
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.files import TargetFile
from trustkit.metadata.names import ROOT, SNAPSHOT, TARGETS, TIMESTAMP, parent_role, path_allowed
from trustkit.metadata.roles import DelegatedRole, Targets
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = [
    "RELEASES_ROLE",
    "REPO_ADMIN",
    "AdministrativeKeys",
    "InspectFailure",
    "RepositoryTrust",
    "SignedTag",
    "Signer",
    "TrustInspection",
    "delegation_roles",
    "inspect_trusted",
    "invalid_role_error",
    "released_roles",
    "released_target",
    "render_json",
    "role_problems",
    "signer_name",
    "signer_role",
    "walk_roles",
]

logger = logging.getLogger(__name__)

RELEASES_ROLE = "targets/releases"
"""The delegation docker reads released tags from, and adds every signer's keys to."""
REPO_ADMIN = "Repo Admin"
"""docker's signer name for a tag signed only into ``targets`` or ``targets/releases``."""
_BASE_ROLES = frozenset({ROOT, TARGETS, SNAPSHOT, TIMESTAMP})
_RELEASED_ROLES = frozenset({TARGETS, RELEASES_ROLE})


def signer_role(name: str) -> str:
    """The delegation of docker signer ``name``: ``targets/<name>``."""
    return f"{TARGETS}/{name}"


def signer_name(role: str) -> str:
    """docker's signer name for a role: ``targets/jeff`` → ``jeff``; ``targets`` and ``targets/releases`` →
    ``"Repo Admin"``."""
    if role in _RELEASED_ROLES:
        return REPO_ADMIN
    return role.removeprefix(f"{TARGETS}/")


@attrs.frozen
class SignedTag:
    """A released tag: its name, the hex sha256 of its manifest, and who signed it (docker's ``SignedTags``).

    ``signers`` is in docker's JSON order (the order roles are walked); it is ``("Repo Admin",)`` when only
    ``targets`` or ``targets/releases`` holds the tag.
    """

    name: str
    digest: str
    signers: tuple[str, ...]

    @property
    def repo_admin_only(self) -> bool:
        """Whether no signer's own role holds the tag (docker shows ``(Repo Admin)``)."""
        return self.signers == (REPO_ADMIN,)

    def to_dict(self) -> GoStruct:
        """``{"SignedTag", "Digest", "Signers"}`` as docker writes it."""
        return GoStruct(SignedTag=self.name, Digest=self.digest, Signers=list(self.signers))


def _keys_struct(name: str, key_ids: Sequence[str]) -> GoStruct:
    """docker's ``trustSigner``: ``Name`` and ``Keys`` (each ``{"ID"}``), both omitted when empty."""
    out = GoStruct()
    if name:
        out["Name"] = name
    if key_ids:
        out["Keys"] = [GoStruct(ID=key_id) if key_id else GoStruct() for key_id in key_ids]
    return out


@attrs.frozen
class Signer:
    """A signer: a delegation other than ``targets/releases`` (``targets/jeff`` is ``jeff``) and its **canonical**
    key IDs, in the role's order."""

    name: str
    key_ids: tuple[str, ...]

    @property
    def role(self) -> str:
        """The delegation, ``targets/<name>``."""
        return signer_role(self.name)

    def to_dict(self) -> GoStruct:
        """``{"Name", "Keys": [{"ID"}]}`` as docker writes it (``Keys`` omitted when there are none)."""
        return _keys_struct(self.name, self.key_ids)


@attrs.frozen
class AdministrativeKeys:
    """The keys of an administrative role, as ``root.json`` lists them (TUF key IDs): ``Root`` (role ``root``)
    or ``Repository`` (role ``targets``)."""

    name: Literal["Root", "Repository"]
    key_ids: tuple[str, ...]

    @property
    def role(self) -> str:
        """``root`` or ``targets``."""
        return ROOT if self.name == "Root" else TARGETS

    def to_dict(self) -> GoStruct:
        """``{"Name", "Keys": [{"ID"}]}`` as docker writes it."""
        return _keys_struct(self.name, self.key_ids)


@attrs.frozen
class RepositoryTrust:
    """What ``docker trust inspect REPO[:TAG]`` shows about one repository.

    ``name`` is the reference as asked (docker prints it unchanged), ``gun`` the repository it names, ``tag`` the
    tag it filters on (None: every tag). ``signed_tags`` are in docker's natural order, ``signers`` and
    ``administrative_keys`` by name descending, as docker's JSON lists them. ``problems`` explains the delegations
    that were skipped because they did not verify (docker only logs them), with what to do about each.
    """

    name: str
    gun: str
    tag: str | None
    signed_tags: tuple[SignedTag, ...]
    signers: tuple[Signer, ...]
    administrative_keys: tuple[AdministrativeKeys, ...]
    problems: tuple[str, ...] = ()

    def signer(self, name: str) -> Signer:
        """The signer called ``name``; raises ``KeyError``."""
        return by_name(self.signers, name)

    def signed_tag(self, name: str) -> SignedTag:
        """The first released entry of tag ``name``; raises ``KeyError``."""
        return by_name(self.signed_tags, name)

    @property
    def root_key_ids(self) -> tuple[str, ...]:
        """The root role's key IDs (TUF IDs of the root certificates)."""
        return next((a.key_ids for a in self.administrative_keys if a.name == "Root"), ())

    @property
    def repository_key_ids(self) -> tuple[str, ...]:
        """The targets ("repository") role's key IDs."""
        return next((a.key_ids for a in self.administrative_keys if a.name == "Repository"), ())

    def to_dict(self) -> GoStruct:
        """docker's ``trustRepo`` object: ``Name``, ``SignedTags``, ``Signers``, ``AdministrativeKeys``."""
        return GoStruct(
            Name=self.name,
            SignedTags=[tag.to_dict() for tag in self.signed_tags],
            Signers=[signer.to_dict() for signer in self.signers],
            AdministrativeKeys=[admin.to_dict() for admin in self.administrative_keys],
        )

    def to_json(self) -> str:
        """Exactly what ``docker trust inspect REPO`` prints: a one-element JSON array, four-space indented, with a
        trailing newline."""
        return render_json([self])

    def pretty(self) -> str:
        """Exactly what ``docker trust inspect --pretty REPO`` prints."""
        name = self.name
        parts: list[str] = []
        if self.signed_tags:
            parts.append(f"\nSignatures for {name}\n\n")
            rows = [["SIGNED TAG", "DIGEST", "SIGNERS"]]
            for tag in self.signed_tags:
                signers = ["(Repo Admin)"] if tag.repo_admin_only else sorted(tag.signers, key=_go_bytes)
                rows.append([tag.name, tag.digest, ", ".join(signers)])
            parts.append(tab_table(rows))
        else:
            parts.append(f"\nNo signatures for {name}\n\n")
        if self.signers:
            parts.append(f"\nList of signers and their keys for {name}\n\n")
            rows = [["SIGNER", "KEYS"]]
            for signer in sorted(self.signers, key=lambda s: natural_sort_key(s.name)):
                keys = sorted(signer.key_ids, key=_go_bytes)
                rows.append([signer.name, ", ".join(truncate_id(k) for k in keys)])
            parts.append(tab_table(rows))
        parts.append(f"\nAdministrative keys for {name}\n\n")
        labels = {"Repository": "Repository Key", "Root": "Root Key"}
        for admin in sorted(self.administrative_keys, key=lambda a: a.role, reverse=True):
            keys = sorted(admin.key_ids, key=_go_bytes)
            parts.append(f"  {labels[admin.name]}:\t{', '.join(keys)}\n")
        return "".join(parts)

    def _document(self) -> Document:
        """What :meth:`pretty` shows, as tables for Jupyter: signed tags, signers with their keys, administrative
        keys, and the problems docker only logs."""
        tables = [
            Table(
                "Signed tags",
                ("SIGNED TAG", "DIGEST", "SIGNERS"),
                [(t.name, f"sha256:{t.digest}", ", ".join(t.signers)) for t in self.signed_tags],
                "none (no tag is in targets or targets/releases)",
            ),
            Table(
                "Signers and their keys",
                ("SIGNER", "ROLE", "KEYS"),
                [(s.name, s.role, s.key_ids) for s in self.signers],
                "none",
            ),
            Table(
                "Administrative keys",
                ("NAME", "ROLE", "KEYS"),
                [(a.name, a.role, a.key_ids) for a in self.administrative_keys],
                "none",
            ),
        ]
        if self.problems:
            tables.append(Table("Problems", ("WHAT TO DO",), [(problem,) for problem in self.problems], "none"))
        return Document(f"Trust data of {self.name}", "trustkit-inspect", tuple(tables))

    def _repr_html_(self) -> str:
        return self._document().html()


def _go_bytes(text: str) -> bytes:
    """Go's ``sort.Strings`` order: bytewise on UTF-8."""
    return text.encode()


def render_json(repositories: Sequence[RepositoryTrust]) -> str:
    """What ``docker trust inspect`` prints for these repositories: ``[]`` and a newline when there are none."""
    if not repositories:
        return "[]\n"
    compact = "[" + ",".join(go_marshal(repository.to_dict()) for repository in repositories) + "]"
    return go_indent(compact) + "\n"


@attrs.frozen
class InspectFailure:
    """A repository that could not be inspected, and why (docker prints "no signatures or cannot access …")."""

    reference: str
    error: TrustkitError


@attrs.frozen
class TrustInspection(Sequence[RepositoryTrust]):
    """The result of inspecting several repositories at once, in the order asked.

    It is a sequence of the repositories that could be read; :attr:`failures` holds the others.
    :meth:`to_json` and :meth:`pretty` give exactly what ``docker trust inspect [--pretty] REF...`` prints on
    standard output for the same references (docker reports the failures on standard error and exits 1).
    """

    results: tuple[RepositoryTrust | InspectFailure, ...]

    @property
    def repositories(self) -> tuple[RepositoryTrust, ...]:
        """The repositories that were read."""
        return tuple(r for r in self.results if isinstance(r, RepositoryTrust))

    @property
    def failures(self) -> tuple[InspectFailure, ...]:
        """The references that could not be read, with their errors."""
        return tuple(r for r in self.results if isinstance(r, InspectFailure))

    @overload
    def __getitem__(self, index: int) -> RepositoryTrust: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RepositoryTrust]: ...

    def __getitem__(self, index: int | slice) -> RepositoryTrust | Sequence[RepositoryTrust]:
        return self.repositories[index]

    def __len__(self) -> int:
        return len(self.repositories)

    def __iter__(self) -> Iterator[RepositoryTrust]:
        return iter(self.repositories)

    def raise_for_failures(self) -> None:
        """Raise the first failure's error (a typed trustkit error saying what to do), if any."""
        if self.failures:
            raise self.failures[0].error

    def to_json(self) -> str:
        """``docker trust inspect REF...``'s standard output: every repository that was read, in order."""
        return render_json(self.repositories)

    def _repr_html_(self) -> str:
        """For Jupyter: each repository's tables, then the references that could not be read and why."""
        parts = [result._repr_html_() for result in self.repositories]
        if self.failures:
            rows = [(failure.reference, str(failure.error)) for failure in self.failures]
            parts.append(Table("Could not inspect", ("REFERENCE", "ERROR"), rows, "none").html())
        return "\n".join(parts) or "<p>No repositories inspected</p>"

    def pretty(self) -> str:
        """``docker trust inspect --pretty REF...``'s standard output: each repository's text, separated by two
        newlines, up to the first failure (where docker stops)."""
        parts: list[str] = []
        for index, result in enumerate(self.results):
            if isinstance(result, InspectFailure):
                break
            parts.append(result.pretty())
            if index < len(self.results) - 1:
                parts.append("\n\n")
        return "".join(parts)


# --- reading trusted metadata as docker does ------------------------------------------------------------------


def walk_roles(trusted: TrustedMetadataSet, tag: str | None) -> Iterator[str]:
    """notary's ``WalkTargets(tag, "")``: loaded targets roles breadth-first in delegation order; with a tag, a
    role whose (restricted) paths do not allow it is not visited, and neither are its children."""
    queue = [TARGETS]
    while queue:
        role = queue.pop(0)
        if role not in trusted:
            continue
        if tag is not None and not path_allowed(tag, trusted.delegation_paths(role)):
            continue
        yield role
        signed = trusted[role].signed
        queue.extend(d.name for d in signed.delegations.roles if parent_role(d.name) == role)


def delegation_roles(trusted: TrustedMetadataSet) -> list[tuple[DelegatedRole, tuple[str, ...]]]:
    """notary's ``GetDelegationRoles``: every delegation listed by a trusted targets role, walked breadth-first,
    with its **canonical** key IDs. Raises :class:`~trustkit.errors.UnknownKeyError` when a delegation lists a key
    its parent does not hold, as notary fails then."""
    found = []
    for role in walk_roles(trusted, None):
        delegations = trusted[role].signed.delegations
        for delegation in delegations.roles:
            try:
                ids = tuple(delegations.keys[key_id].canonical_id for key_id in delegation.keyids)
            except KeyError as exc:
                raise UnknownKeyError(f"could not translate canonical key IDs for {delegation.name}: {exc}") from None
            found.append((delegation, ids))
    return found


def _signers(trusted: TrustedMetadataSet) -> list[Signer]:
    """The delegations without ``targets/releases``: when a key ID cannot be translated notary returns no
    delegation at all, and docker then shows no signers."""
    try:
        roles = delegation_roles(trusted)
    except TrustkitError as exc:
        logger.warning("no signers can be listed: %s", exc)
        return []
    found: dict[str, tuple[str, ...]] = {}
    for delegation, ids in roles:
        if delegation.name != RELEASES_ROLE and delegation.name not in _BASE_ROLES:
            found[signer_name(delegation.name)] = ids
    return [Signer(name, ids) for name, ids in found.items()]


def _signed_tags(trusted: TrustedMetadataSet, tag: str | None) -> list[SignedTag]:
    entries: list[tuple[str, str, str]] = []
    for role in walk_roles(trusted, tag):
        signed = trusted[role].signed
        names = (
            [tag] if tag is not None and tag in signed.targets else ([] if tag is not None else list(signed.targets))
        )
        digests, _ = signed.sha256_hex_and_lengths(names)  # no model per tag: 100k tags are common
        entries.extend((role, name, digest or "") for name, digest in zip(names, digests, strict=True))
    released: dict[tuple[str, str], list[str]] = {}
    for role, name, digest in entries:
        if role in _RELEASED_ROLES:
            released.setdefault((name, digest), [])
    for role, name, digest in entries:
        if role not in _RELEASED_ROLES and (name, digest) in released:
            released[(name, digest)].append(signer_name(role))
    keys = sorted(released, key=lambda key: (natural_sort_key(key[0]), key[1]))
    return [SignedTag(name, digest, tuple(released[(name, digest)]) or (REPO_ADMIN,)) for name, digest in keys]


def invalid_role_error(trusted: TrustedMetadataSet, role: str, data: bytes, *, gun: str) -> VerificationError:
    """The typed error saying why delegation ``role`` (skipped by a reader, with bytes ``data``) is not trusted,
    and how to fix it: :class:`~trustkit.errors.ThresholdError` when its valid signatures do not meet its
    threshold, :class:`~trustkit.errors.ExpiredMetadataError` when it expired (both fixed by a witness)."""
    error: type[VerificationError] = VerificationError
    reason = "it did not verify"
    try:
        metadata = Metadata.from_bytes(data, role=role)
        parent = trusted[parent_role(role)].signed
        if isinstance(parent, Targets):
            parent.verify_delegate(role, metadata)
            error, reason = ExpiredMetadataError, f"{role} expired at {metadata.signed.expires_text}"
    except VerificationError as exc:
        error, reason = type(exc), str(exc)
    except TrustkitError as exc:
        reason = f"it cannot be read: {exc}"
    if error is RootMismatchError:  # pragma: no cover - not raised for delegations
        error = VerificationError
    return error(
        f"{role} of {gun} is not trusted ({reason}): its tags are ignored until a holder of one of its keys "
        f"re-signs it with DockerTrust.witness({gun!r}, {role!r}) (notary witness {gun} {role} --publish)"
    )


def role_problems(trusted: TrustedMetadataSet, invalid: dict[str, bytes], *, gun: str) -> list[str]:
    """Why each delegation in ``invalid`` (a reader's skipped roles) was not trusted, and what fixes it."""
    return [str(invalid_role_error(trusted, role, data, gun=gun)) for role, data in sorted(invalid.items())]


def inspect_trusted(
    trusted: TrustedMetadataSet,
    *,
    name: str,
    gun: str,
    tag: str | None = None,
    invalid: dict[str, bytes] | None = None,
) -> RepositoryTrust:
    """What ``docker trust inspect`` shows for the verified state ``trusted`` of ``gun``, asked as ``name``.

    ``tag`` filters to one tag (as ``REPO:TAG`` does); ``invalid`` are the roles the reader skipped
    (:attr:`~trustkit.client.Reader.invalid`), reported in :attr:`RepositoryTrust.problems`.
    """
    root = trusted.root.signed
    admins = [
        AdministrativeKeys("Root", tuple(root.roles[ROOT].keyids)),
        AdministrativeKeys("Repository", tuple(root.roles[TARGETS].keyids)),
    ]
    signers = sorted(_signers(trusted), key=lambda s: s.name.encode(), reverse=True)
    problems = logged(logger, role_problems(trusted, invalid or {}, gun=gun))
    return RepositoryTrust(
        name=name,
        gun=gun,
        tag=tag,
        signed_tags=tuple(_signed_tags(trusted, tag)),
        signers=tuple(signers),
        administrative_keys=tuple(admins),
        problems=problems,
    )


def released_roles(trusted: TrustedMetadataSet) -> dict[str, str]:
    """Every tag docker pulls, mapped to the role it takes the tag from -- docker's release rule: notary's lookup
    with ``targets/releases`` first, then ``targets`` (each walked with its delegations), the first match counting
    only when it is one of those two roles. A tag that only a signer's own role (``targets/alice``) holds is
    absent: docker never pulls it. What ``notary list`` shows (the first role of the walk from ``targets``) can be
    that signer's role while ``targets/releases`` released the tag: audits need both."""
    rows = trusted.list_target_rows(roles=(RELEASES_ROLE, TARGETS))
    return {row.name: row.role for row in rows if row.role in _RELEASED_ROLES}


def released_target(trusted: TrustedMetadataSet, tag: str) -> TargetFile | None:
    """The tag's target in the first released role (``targets``/``targets/releases``) of the walk, as
    ``docker trust sign`` reuses it for a tag that is already signed; None when it is not released."""
    for role in walk_roles(trusted, tag):
        target = trusted[role].signed.targets.get(tag)
        if role in _RELEASED_ROLES and target is not None:
            return TargetFile(target.length, dict(target.hashes))
    return None
