"""Deciding whether an image may run: :func:`verify` and :class:`Verifier` return an explained :class:`Verdict`.

A verdict reads the repository's trust data through a :class:`~trustkit.client.Reader` (the rule's anchor
pinned on first contact and checked again on every read, expiry checked at the rule's verification time, the
cache used only as the rule's ``max_stale_seconds`` allows), finds the tag as docker does (``targets/releases``
then ``targets``: a tag only in a signer's own role is not released), and counts the required signers that hold
the same digest for that tag in a trusted role. A deny never raises: every reason is in the verdict. Misuse (an
image reference that is not one, a digest that is not sha256) raises.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from trustkit._closing import Closing
from trustkit.client.cache import MetadataCache
from trustkit.client.reader import MAX_TIMESTAMP_SIZE, AsyncMetadataSource, AsyncReader, Reader
from trustkit.dct.client import DockerTrust
from trustkit.dct.inspect import RELEASES_ROLE, delegation_roles, invalid_role_error, signer_role, walk_roles
from trustkit.errors import ConfigurationError, InvalidArgumentError, TrustkitError, UntrustedRootError
from trustkit.keys.public import PublicKey
from trustkit.metadata.envelope import Metadata
from trustkit.metadata.names import ROOT, TARGETS, TIMESTAMP
from trustkit.policy.model import Policy, Rule, SignerRequirement, TrustAnchor
from trustkit.remote import overall_deadline
from trustkit.remote.base import Remote
from trustkit.remote.config import ImageReference
from trustkit.remote.notary_server import AsyncNotaryServer
from trustkit.trust.pinning import TrustPinning, validate_root
from trustkit.trust.trusted_set import TrustedMetadataSet

__all__ = ["AsyncVerifier", "Verdict", "VerdictCache", "Verifier", "verify"]


_REINITIALISED = (
    "if {gun} was legitimately re-initialised, check its new root key out of band (DockerTrust.inspect(...)"
    ".root_key_ids), update the policy's pin, and call Verifier.forget({gun!r}) to drop the old cached root"
)


_DEFAULT_DEADLINE = 8.0
"""Seconds a :class:`Verifier` gives one verdict by default: under the 10 s an admission webhook is given by
default (Kubernetes allows at most 30 s), leaving time to answer."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _check_image(image: object) -> str:
    """``image`` if it is a string, else :class:`InvalidArgumentError` saying what to give."""
    if not isinstance(image, str):
        raise InvalidArgumentError(
            f"an image is a reference string such as 'registry.example.com/team/app:v1', not {type(image).__name__}"
        )
    return image


def _check_policy(policy: object) -> Policy:
    """``policy`` if it is a :class:`Policy`, else :class:`InvalidArgumentError` saying how to build one."""
    if isinstance(policy, Policy):
        return policy
    hint = "Policy.from_dict(...)" if isinstance(policy, Mapping) else "Policy.from_dict, from_json or from_toml"
    raise InvalidArgumentError(
        f"a verifier needs a trustkit.policy.Policy, not {type(policy).__name__}: build it with {hint}"
    )


def _check_deadline(deadline: object) -> float | None:
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or not 0 < deadline < float("inf"):
        raise InvalidArgumentError(f"deadline must be a number of seconds > 0 (or None: no deadline), not {deadline!r}")
    return float(deadline)


@attrs.frozen
class Verdict:
    """Whether ``image`` may run under a policy, and why.

    ``digest`` (``sha256:<hex>``) is the signed manifest digest when one was found; ``satisfied`` and
    ``unsatisfied`` the required signers that did and did not sign it (with ``unsatisfied`` giving each one's
    reason); ``reasons`` every reason for the decision, ``warnings`` what deserves attention without changing it;
    ``skipped_roles`` the delegations that did not verify (expired, under-signed), with why and how to fix them;
    ``cache_age`` how many seconds old the cached trust data was when the server could not be reached (None: the
    server answered); ``role_versions`` the versions of the trusted roles; ``rule`` the pattern of the rule applied.
    """

    image: str
    allowed: bool
    gun: str = attrs.field(default="", kw_only=True)
    tag: str | None = attrs.field(default=None, kw_only=True)
    digest: str | None = attrs.field(default=None, kw_only=True)
    rule: str | None = attrs.field(default=None, kw_only=True)
    satisfied: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    unsatisfied: tuple[tuple[str, str], ...] = attrs.field(default=(), kw_only=True)
    reasons: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    warnings: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    skipped_roles: tuple[tuple[str, str], ...] = attrs.field(default=(), kw_only=True)
    cache_age: float | None = attrs.field(default=None, kw_only=True)
    role_versions: tuple[tuple[str, int], ...] = attrs.field(default=(), kw_only=True)

    @property
    def from_cache(self) -> bool:
        """Whether the decision rests on cached trust data the server could not confirm."""
        return self.cache_age is not None

    @property
    def pinned_image(self) -> str | None:
        """``image`` rewritten to ``repo@sha256:…`` (as written, without tag), or None when there is no digest."""
        if self.digest is None:
            return None
        name = self.image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name = name[: len(name) - len(last)] + last.split(":", 1)[0]
        return f"{name}@{self.digest}"

    @property
    def message(self) -> str:
        """One line for a person: the image, allowed or denied, and the reasons."""
        verdict = "allowed" if self.allowed else "denied"
        return f"{self.image}: {verdict}: {'; '.join(self.reasons)}"


class VerdictCache:
    """Verdicts kept for ``ttl`` seconds, at most ``max_size`` of them (least recently used dropped first), for
    admission controllers that see the same images many times a second. Thread-safe."""

    def __init__(self, *, ttl: float = 30.0, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        if not ttl > 0 or max_size < 1:
            raise InvalidArgumentError("ttl must be > 0 seconds and max_size >= 1")
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Verdict]] = OrderedDict()

    def get(self, image: str) -> Verdict | None:
        """The cached verdict for ``image`` while it is fresh, else None."""
        with self._lock:
            entry = self._entries.get(image)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[image]
                return None
            self._entries.move_to_end(image)
            return entry[1]

    def put(self, verdict: Verdict) -> None:
        """Keep ``verdict`` for :attr:`ttl` seconds."""
        with self._lock:
            self._entries[verdict.image] = (self._clock() + self.ttl, verdict)
            self._entries.move_to_end(verdict.image)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every verdict (after a policy change)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _anchor_problem(anchor: TrustAnchor, trusted: TrustedMetadataSet, gun: str, now: datetime) -> str | None:
    """Why the trusted root does not satisfy ``anchor`` (None: it does). Checked on every read: a cached root
    trusted earlier does not escape a pin."""
    if anchor.tofu:
        return None
    root = trusted.root.signed
    role = root.roles[ROOT]
    if anchor.ca is not None:
        try:
            validate_root(trusted.root, gun, pinning=TrustPinning(ca={gun: anchor.ca}, disable_tofu=True), now=now)
        except TrustkitError as exc:
            return f"the root of {gun} does not chain to the pinned CA: {exc}"
        return None
    ids = set(role.keyids)
    if ids & set(anchor.root_key_ids):
        return None
    canonical = {root.keys[key_id].canonical_id for key_id in role.keyids if key_id in root.keys}
    if canonical & {key.canonical_id for key in anchor.root_keys}:
        return None
    return f"the root of {gun} is not signed by a pinned key (its root keys are {', '.join(sorted(ids))}): " + (
        _REINITIALISED.format(gun=gun)
    )


def _signed_by_pinned(metadata: Metadata[Any], keys: tuple[PublicKey, ...]) -> bool:
    """Whether a signature on ``metadata`` verifies with one of ``keys``."""
    data = metadata.signed_bytes
    return any(key.verify(signature.method, signature.sig, data) for key in keys for signature in metadata.signatures)


def _cache_note(cache_age: float | None) -> list[str]:
    """The reason to give when the answer came from the cache."""
    if cache_age is None:
        return []
    return [f"from cache, {cache_age:.0f} s old: the server could not confirm it"]


class _NeedState:
    """What a verdict asks its driver for: the trusted state of ``gun`` under ``rule`` at ``now``."""

    __slots__ = ("anchor", "gun", "now", "rule")

    def __init__(self, gun: str, rule: Rule, anchor: TrustAnchor, now: datetime) -> None:
        self.gun, self.rule, self.anchor, self.now = gun, rule, anchor, now


def _finish(flow: Generator[_NeedState, _State, Verdict], outcome: _State | TrustkitError) -> Verdict:
    """Give ``flow`` the state it asked for (or throw it the error of reading it); its verdict."""
    try:
        if isinstance(outcome, TrustkitError):
            flow.throw(outcome)
        else:
            flow.send(outcome)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise AssertionError("a verdict asks for one state only")  # pragma: no cover


@attrs.frozen
class _State:
    """A repository's trusted state as a verdict uses it: the roles it skipped, how old it was when it came from
    the cache, and the remote it was read from."""

    trusted: TrustedMetadataSet
    invalid: dict[str, bytes]
    cache_age: float | None
    remote: object
    """The remote it was read from (a :class:`~trustkit.remote.Remote`, or an asyncio one)."""


def _signers(
    requirement: SignerRequirement | None,
    trusted: TrustedMetadataSet,
    invalid: dict[str, bytes],
    gun: str,
    *,
    tags: tuple[str, ...],
    digest: str,
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    if requirement is None:
        return (), ()
    hex_digest = digest.removeprefix("sha256:")
    reachable = {role for tag in tags for role in walk_roles(trusted, tag)}
    satisfied: list[str] = []
    unsatisfied: list[tuple[str, str]] = []
    for name in requirement.names:
        role = signer_role(name)
        if role in invalid:
            unsatisfied.append((name, f"{role} was skipped: it does not verify (expired or under-signed)"))
        elif role not in trusted:
            unsatisfied.append((name, f"{gun} has no trusted signer {name}"))
        elif role not in reachable:
            unsatisfied.append((name, f"{role} may not sign {', '.join(tags)} (its paths exclude it)"))
        elif not any(
            (target := trusted[role].signed.targets.get(tag)) is not None and target.sha256_hex == hex_digest
            for tag in tags
        ):
            unsatisfied.append((name, f"{name} did not sign {', '.join(tags)} for {digest}"))
        elif (keys := requirement.keys_for(name)) and not _signed_by_pinned(trusted[role], keys):
            unsatisfied.append((name, f"{role} carries no valid signature by the key pinned for {name}"))
        else:
            satisfied.append(name)
    return tuple(satisfied), tuple(unsatisfied)


class Verifier(Closing):
    """Verdicts for images under one :class:`~trustkit.policy.Policy`.

    ``trust_dir`` holds the verified cache (``<trust_dir>/tuf/<gun>/metadata``, notary's layout); ``remote``
    serves every repository (tests, air-gapped mirrors), else a rule's ``server``, else the server docker would
    use for the image. Both servers are reached through ``docker`` (a :class:`~trustkit.dct.DockerTrust`, default
    one for this environment's ``$DOCKER_CONFIG`` and ``clock``): the CA and client certificate in
    ``$DOCKER_CONFIG/tls/<host:port>/``, the registry's ``docker login``, the proxy settings and Docker Hub's
    shutdown apply to a rule's ``server`` as they do to docker's own. ``verdict_cache`` keeps verdicts for a while
    (see :class:`VerdictCache`). ``clock`` is the time expiry is judged by (and the Docker Hub shutdown check).

    ``deadline`` bounds each :meth:`verify` (every request it makes, retries included) to that many seconds
    (default 8 s: an admission webhook is given 10 s by default, at most 30 s); a
    server that does not answer in time denies the image, as an unreachable one does (the rule's
    ``max_stale_seconds`` decides whether the cached state may answer instead). ``None``: no overall deadline,
    only each request's own timeouts.

    Each repository's trusted state is kept and reused while the server's ``timestamp.json`` is byte for byte the
    one it was built from and nothing in it has expired: a verdict then costs one round trip. Thread-safe: the
    kept states are read-only, full reads use a reader each, the connection pools are shared. Use it as a context
    manager (or call :meth:`close`) to close the connections it opened.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        trust_dir: str | os.PathLike[str],
        remote: Remote | None = None,
        docker: DockerTrust | None = None,
        verdict_cache: VerdictCache | None = None,
        clock: Callable[[], datetime] = _utc_now,
        deadline: float | None = _DEFAULT_DEADLINE,
    ) -> None:
        self.policy = _check_policy(policy)
        self.trust_dir = Path(trust_dir)
        self.remote = remote
        self.docker = docker
        self.verdict_cache = verdict_cache
        self.deadline = _check_deadline(deadline)
        self._clock = clock
        self._lock = threading.Lock()
        self._key_repositories: dict[str, set[str]] = {}
        self._states: dict[str, _State] = {}
        self._own_docker = False

    def close(self) -> None:
        """Close the connections opened to the notary servers, when this verifier created its ``docker``."""
        with self._lock:
            if self._own_docker and self.docker is not None:
                self.docker.close()

    def forget(self, gun: str) -> None:
        """Drop the cached trust data of repository ``gun`` and every cached verdict: after a legitimate
        re-initialisation (new root key, checked out of band and pinned in the policy), the old cached root would
        otherwise refuse the new one, correctly."""
        cache = MetadataCache(self.trust_dir, gun)
        for role in {*cache.roles(), *cache.invalid_roles()}:
            cache.remove(role)
        with self._lock:
            self._states.pop(gun, None)
        if self.verdict_cache is not None:
            self.verdict_cache.clear()

    def _remote_for(self, image: str, rule: Rule) -> Remote:
        if self.remote is not None:
            return self.remote
        with self._lock:  # DockerTrust keeps one connection pool per server: create each once
            if self.docker is None:
                self.docker, self._own_docker = DockerTrust(clock=self._clock), True
            return self.docker.remote_for(image, server=rule.server)

    def verify(self, image: str) -> Verdict:
        """The verdict for ``image`` (``repo``, ``repo:tag``, ``repo@sha256:…`` or ``repo:tag@sha256:…``; a
        bare ``repo`` means ``repo:latest``, as docker pulls it). Raises only for misuse: ``ConfigurationError``
        for a reference that is not one or a digest that is not sha256, ``InvalidArgumentError`` for something
        that is not a string. Ends within :attr:`deadline` seconds."""
        _check_image(image)
        if self.verdict_cache is not None:
            cached = self.verdict_cache.get(image)
            if cached is not None:
                return cached
        if self.deadline is None:
            verdict = self._verify(image)
        else:
            with overall_deadline(self.deadline):
                verdict = self._verify(image)
        if self.verdict_cache is not None:
            self.verdict_cache.put(verdict)
        return verdict

    def _verify(self, image: str) -> Verdict:
        """Drive :meth:`_verdict_flow` with a blocking read of the repository's state."""
        flow = self._verdict_flow(image)
        try:
            need = next(flow)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            state = self._state(need.gun, self._remote_for(image, need.rule), need.rule, need.anchor, need.now)
        except TrustkitError as exc:
            return _finish(flow, exc)
        return _finish(flow, state)

    def _verdict_flow(self, image: str) -> Generator[_NeedState, _State, Verdict]:
        """The decision without I/O: yields the repository state it needs (at most once), is sent it (or thrown
        the error of reading it), returns the verdict. :class:`Verifier` and :class:`AsyncVerifier` drive it."""
        reference = ImageReference.parse(image)
        if reference.digest is not None and not reference.digest.startswith("sha256:"):
            raise ConfigurationError(f"docker content trust signs sha256 manifest digests, not {reference.digest}")
        gun = reference.gun
        tag = reference.tag if reference.tag is not None or reference.digest is not None else "latest"
        rule = self.policy.rule_for(gun)
        if rule is None:
            return Verdict(image, False, gun=gun, tag=tag, reasons=(f"no policy rule matches {gun}",))
        base = Verdict(image, False, gun=gun, tag=tag, rule=rule.pattern)
        if rule.action == "allow":
            return attrs.evolve(
                base, allowed=True, reasons=(f"rule {rule.pattern!r} admits {gun} without verification",)
            )
        if rule.action == "deny":
            return attrs.evolve(base, reasons=(f"rule {rule.pattern!r} denies {gun}",))
        anchor = rule.anchor if rule.anchor is not None else TrustAnchor(tofu=True)  # Rule requires one
        now = rule.at if rule.at is not None else self._clock()
        try:
            state = yield _NeedState(gun, rule, anchor, now)
        except TrustkitError as exc:
            # the reader's limit is the rule's max_stale_seconds: name the setting the policy's author can change
            message = str(exc).replace("and max_cache_age allows", "and the rule's max_stale_seconds allows")
            reason = f"the trust data of {gun} cannot be trusted: {message}"
            if isinstance(exc, UntrustedRootError) and not anchor.tofu:
                reason += f" ({_REINITIALISED.format(gun=gun)})"
            return attrs.evolve(base, reasons=(reason,))
        trusted = state.trusted
        skipped = tuple(
            (role, str(invalid_role_error(trusted, role, data, gun=gun)))
            for role, data in sorted(state.invalid.items())
        )
        versions = tuple((role, int(trusted[role].signed.version)) for role in trusted.roles())
        base = attrs.evolve(base, skipped_roles=skipped, cache_age=state.cache_age, role_versions=versions)
        problem = _anchor_problem(anchor, trusted, gun, now)
        if problem is not None:
            return attrs.evolve(base, reasons=(*_cache_note(state.cache_age), problem))
        return self._decide(rule, reference.digest, state, base)

    def _state(self, gun: str, remote: Remote, rule: Rule, anchor: TrustAnchor, now: datetime) -> _State:
        """The trusted state of ``gun``: the last one again when the server's timestamp is byte for byte the one
        it was built from and nothing in it has expired at ``now`` (the timestamp chains every other role by
        hash, so nothing else can have changed), else a full read by a :class:`~trustkit.client.Reader`."""
        last = self._kept(gun, remote)
        if last is not None:
            try:
                current = remote.get_role(gun, TIMESTAMP, max_size=MAX_TIMESTAMP_SIZE)
            except TrustkitError:
                current = None  # the full read below decides what an unreachable server means
            if self._still_current(last, current, now):
                return last
        reader = Reader(gun, remote, **self._reader_options(gun, rule, anchor, now))
        return self._keep(gun, _State(reader.refresh(), dict(reader.invalid), reader.cache_age, remote))

    def _kept(self, gun: str, remote: object) -> _State | None:
        """The state kept for ``gun`` from the same remote, if any."""
        with self._lock:
            last = self._states.get(gun)
        return last if last is not None and last.remote is remote else None

    def _still_current(self, last: _State, timestamp: bytes | None, now: datetime) -> bool:
        """Whether ``last`` holds: the server's ``timestamp`` is the one it was built from, nothing expired."""
        if timestamp != last.trusted.raw(TIMESTAMP) or not all(
            last.trusted[role].signed.expires > now for role in last.trusted.roles()
        ):
            return False
        gun = last.trusted.gun
        MetadataCache(self.trust_dir, gun).touch(TIMESTAMP)  # confirmed now (Reader.cache_age counts from it)
        return True

    def _reader_options(self, gun: str, rule: Rule, anchor: TrustAnchor, now: datetime) -> dict[str, Any]:
        """A reader's options for a full read of ``gun`` under ``rule``: cache, pinned anchor, clock, staleness."""
        pinning = TrustPinning(
            certs={gun: anchor.root_key_ids} if anchor.root_key_ids else {},
            ca={gun: anchor.ca} if anchor.ca is not None else {},
            disable_tofu=bool(anchor.root_key_ids or anchor.ca is not None),
        )
        return {
            "cache": MetadataCache(self.trust_dir, gun),
            "pinning": pinning,
            "clock": lambda: now,
            "max_cache_age": rule.max_stale_seconds,
        }

    def _keep(self, gun: str, state: _State) -> _State:
        """Keep a state read fresh from the server (not one from the cache) for the next verdicts."""
        if state.cache_age is None:
            with self._lock:
                self._states[gun] = state
        return state

    def _decide(self, rule: Rule, digest: str | None, state: _State, base: Verdict) -> Verdict:
        gun, tag, trusted = base.gun, base.tag, state.trusted
        reasons = _cache_note(state.cache_age)

        def deny(reason: str, found: str | None = None) -> Verdict:
            return attrs.evolve(base, digest=found, reasons=(*reasons, reason))

        released = (RELEASES_ROLE, TARGETS) if rule.release_rule else (TARGETS,)
        if tag is not None:
            # docker's pull: the first match, releases first, must be in a releasing role
            match = trusted.get_target(tag, roles=released)
            if match is None:
                return deny(f"{tag} is not signed in {gun}")
            if rule.release_rule and match.role not in released:
                return deny(
                    f"{tag} is signed only in {match.role}, a signer's own role: docker never releases it "
                    f"(it must be in {RELEASES_ROLE} or {TARGETS})"
                )
            found = f"sha256:{match.target.sha256_hex}"
            if digest is not None and digest != found:
                return deny(f"{tag} is signed for {found}, not {digest}", found)
            tags: tuple[str, ...] = (tag,)
            reasons.append(f"{tag} is signed in {match.role} for {found}")
        else:
            found = digest or ""
            hex_digest = found.removeprefix("sha256:")
            rows = trusted.list_target_rows(roles=released)
            tags = tuple(
                row.name
                for row in rows
                if row.sha256_hex == hex_digest and (not rule.release_rule or row.role in released)
            )
            if not tags:
                return deny(f"no released tag of {gun} is signed for {found}")
            reasons.append(f"{found} is signed as {', '.join(tags)}")
        satisfied, unsatisfied = _signers(rule.signers, trusted, state.invalid, gun, tags=tags, digest=found)
        base = attrs.evolve(base, digest=found, satisfied=satisfied, unsatisfied=unsatisfied)
        warnings: list[str] = []
        if rule.signers is not None:
            needed = rule.signers.required
            if len(satisfied) < needed:
                detail = "; ".join(f"{name}: {why}" for name, why in unsatisfied)
                reasons.append(f"{len(satisfied)} of the {needed} required signer(s) signed it ({detail})")
                return attrs.evolve(base, reasons=tuple(reasons))
            reasons.append(f"signed by {', '.join(satisfied)} ({len(satisfied)} of {needed} required)")
            warnings.extend(self._shared_keys(trusted, gun, satisfied))
        return attrs.evolve(base, allowed=True, reasons=tuple(reasons), warnings=tuple(warnings))

    def _shared_keys(self, trusted: TrustedMetadataSet, gun: str, signers: tuple[str, ...]) -> list[str]:
        """Warn when a signer's key also signs other repositories seen by this verifier: delegation metadata does
        not name its repository, so a server could serve one repository's signer role for another."""
        roles = {signer_role(name) for name in signers}
        warnings = []
        with self._lock:
            for delegation, ids in delegation_roles(trusted):
                if delegation.name not in roles:
                    continue
                for key_id in ids:
                    seen = self._key_repositories.setdefault(key_id, set())
                    others = sorted(seen - {gun})
                    seen.add(gun)
                    if others:
                        warnings.append(
                            f"key {key_id[:12]} of {delegation.name} also signs {', '.join(others)}: a signer role "
                            f"does not name its repository, so prefer one key per repository"
                        )
        return warnings


class AsyncVerifier:
    """:class:`Verifier` for asyncio: the same verdicts (the same decision code, and the same kept states and
    verdict cache), with the repository read by an :class:`~trustkit.client.AsyncReader`.

    ``remote`` is an asyncio remote serving every repository (:class:`~trustkit.remote.AsyncNotaryServer`), else a
    rule's ``server``, else the server docker would use for the image (``docker``'s configuration, TLS and logins);
    the servers it opens are closed by :meth:`aclose` (or ``async with``). Verdicts of many tasks run concurrently.
    Use it from one event loop; not thread-safe.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        trust_dir: str | os.PathLike[str],
        remote: AsyncMetadataSource | None = None,
        docker: DockerTrust | None = None,
        verdict_cache: VerdictCache | None = None,
        clock: Callable[[], datetime] = _utc_now,
        deadline: float | None = _DEFAULT_DEADLINE,
    ) -> None:
        self.remote = remote
        self._core = Verifier(
            policy, trust_dir=trust_dir, docker=docker, verdict_cache=verdict_cache, clock=clock, deadline=deadline
        )
        self._servers: dict[str, AsyncNotaryServer] = {}

    @property
    def policy(self) -> Policy:
        """The policy verdicts are decided under."""
        return self._core.policy

    def forget(self, gun: str) -> None:
        """:meth:`Verifier.forget`."""
        self._core.forget(gun)

    async def aclose(self) -> None:
        """Close the connections opened to rules' and docker's servers."""
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            await server.aclose()
        self._core.close()

    async def __aenter__(self) -> AsyncVerifier:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def verify(self, image: str) -> Verdict:
        """:meth:`Verifier.verify`, awaited (within the same ``deadline``)."""
        _check_image(image)
        cache = self._core.verdict_cache
        if cache is not None:
            cached = cache.get(image)
            if cached is not None:
                return cached
        flow = self._core._verdict_flow(image)
        try:
            need = next(flow)
        except StopIteration as stop:
            verdict: Verdict = stop.value
        else:
            deadline = self._core.deadline
            try:
                with contextlib.nullcontext() if deadline is None else overall_deadline(deadline):
                    state = await self._state(need, self._remote_for(image, need.rule))
            except TrustkitError as exc:
                verdict = _finish(flow, exc)
            else:
                verdict = _finish(flow, state)
        if cache is not None:
            cache.put(verdict)
        return verdict

    def _remote_for(self, image: str, rule: Rule) -> AsyncMetadataSource:
        if self.remote is not None:
            return self.remote
        core = self._core
        if core.docker is None:
            core.docker, core._own_docker = DockerTrust(clock=core._clock), True
        url, options = core.docker.server_options(image, server=rule.server)  # as Verifier reaches them
        server = self._servers.get(url)
        if server is None:
            server = self._servers[url] = AsyncNotaryServer(url, **options)
        return server

    async def _state(self, need: _NeedState, remote: AsyncMetadataSource) -> _State:
        """:meth:`Verifier._state`, awaited."""
        core, gun = self._core, need.gun
        last = core._kept(gun, remote)
        if last is not None:
            try:
                current: bytes | None = await remote.get_role(gun, TIMESTAMP, max_size=MAX_TIMESTAMP_SIZE)
            except TrustkitError:
                current = None
            if core._still_current(last, current, need.now):
                return last
        reader = AsyncReader(gun, remote, **core._reader_options(gun, need.rule, need.anchor, need.now))
        return core._keep(gun, _State(await reader.refresh(), dict(reader.invalid), reader.cache_age, remote))


def verify(
    image: str,
    policy: Policy,
    *,
    trust_dir: str | os.PathLike[str],
    remote: Remote | None = None,
    docker: DockerTrust | None = None,
    clock: Callable[[], datetime] = _utc_now,
    deadline: float | None = _DEFAULT_DEADLINE,
) -> Verdict:
    """The :class:`Verdict` for one ``image`` under ``policy`` (a one-off :class:`Verifier`; keep a
    :class:`Verifier` for many). A deny is a verdict, never an exception."""
    verifier = Verifier(policy, trust_dir=trust_dir, remote=remote, docker=docker, clock=clock, deadline=deadline)
    try:
        return verifier.verify(image)
    finally:
        verifier.close()
