"""Trust policies: which repositories may run, anchored on which roots, signed by whom.

A :class:`Policy` is an immutable list of :class:`Rule` values, each matched by repository pattern: an exact
repository name (``registry.example.com/team/app``), a prefix ending in ``/*`` (``registry.example.com/team/*``,
every repository below it) or ``*`` (every repository). Patterns are written on the normalised repository name
(the GUN: ``docker.io/library/nginx`` for ``nginx``); a pattern docker would read differently (``nginx``,
``library/*``) is refused with the form to write. The most specific rule wins (exact, then the longest
prefix, then ``*``); a repository no rule matches is denied.

Each rule names its trust anchor (:class:`TrustAnchor`: pinned root certificate key IDs or root public keys, CA
certificates, or trust on first use only when it says so), the signers it requires (:class:`SignerRequirement`:
all of a set, or at least N of it, optionally pinned to public keys), whether docker's release rule applies (on
by default), how old a cached state may be when the server cannot be reached (0 by default: fail closed) and an
optional verification time. A policy is built from plain dicts (:meth:`Policy.from_dict`), JSON or TOML; a bad
one raises :class:`PolicyError` naming the rule and the field.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from trustkit.errors import ConfigurationError, TrustkitError
from trustkit.keys.public import PublicKey
from trustkit.remote.config import ImageReference

__all__ = ["Policy", "PolicyError", "Rule", "SignerRequirement", "TrustAnchor"]


class PolicyError(ConfigurationError):
    """A policy that cannot be used: ``rule`` is the pattern (or index) of the bad rule, ``field`` the bad field."""

    def __init__(self, message: str, *, rule: str | None = None, field: str | None = None) -> None:
        where = " ".join(
            part for part in (f"rule {rule!r}" if rule else "", f"field {field!r}" if field else "") if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.rule = rule
        self.field = field


def _public_keys(values: Sequence[PublicKey | str | bytes], *, rule: str | None, field: str) -> tuple[PublicKey, ...]:
    keys = []
    for value in values:
        if isinstance(value, PublicKey):
            keys.append(value)
            continue
        if not isinstance(value, (str, bytes)):
            raise PolicyError(f"a public key must be PEM text, not {type(value).__name__}", rule=rule, field=field)
        try:
            keys.append(PublicKey.from_pem(value))
        except TrustkitError as exc:
            raise PolicyError(f"not a PEM public key or certificate: {exc}", rule=rule, field=field) from None
    return tuple(keys)


def _strings(value: Any, *, rule: str | None, field: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError("must be a list of non-empty strings", rule=rule, field=field)
    return tuple(value)


_KEY_ID = re.compile(r"[0-9a-f]{64}")


def _key_ids(values: Any) -> tuple[Any, ...]:
    """Root key IDs as notary writes them: hex digits in lower case (checked by :meth:`TrustAnchor.check`)."""
    items = (values,) if isinstance(values, str) or not isinstance(values, Iterable) else values
    return tuple(value.lower() if isinstance(value, str) else value for value in items)


@attrs.frozen
class TrustAnchor:
    """What a repository's root must be: the anchor every other key is trusted from.

    ``root_key_ids`` are root certificate key IDs as ``root.json`` lists them (the TUF IDs ``docker trust
    inspect`` shows as the ``Root`` administrative keys); ``root_keys`` are root public keys (PEM public keys or
    certificates, matched on the bare key, as connaisseur pins them); ``ca`` is a PEM bundle the root certificate
    must chain to (notary's ``trust_pinning.ca``). The trusted root must hold at least one pinned key, on every
    read (not only the first). ``tofu`` (:meth:`trust_on_first_use`; ``"trust_on_first_use": true`` in a dict)
    trusts whatever root is seen first, and may not be combined with a pin: it is never a default.

    A root key ID is 64 hexadecimal digits; uppercase digits are read as lowercase (notary writes lowercase).
    """

    root_key_ids: tuple[str, ...] = attrs.field(default=(), kw_only=True, converter=_key_ids)
    root_keys: tuple[PublicKey, ...] = attrs.field(default=(), kw_only=True)
    ca: bytes | None = attrs.field(default=None, repr=False, kw_only=True)
    tofu: bool = attrs.field(default=False, kw_only=True)

    @classmethod
    def pinned(
        cls, *, root_key_ids: Sequence[str] = (), root_keys: Sequence[PublicKey | str | bytes] = ()
    ) -> TrustAnchor:
        """Pin root certificate key IDs and/or root public keys (PEM)."""
        return cls(root_key_ids=tuple(root_key_ids), root_keys=_public_keys(root_keys, rule=None, field="root_keys"))

    @classmethod
    def from_ca(cls, pem: bytes | str) -> TrustAnchor:
        """Trust roots whose certificate chains to this PEM CA bundle."""
        return cls(ca=pem.encode() if isinstance(pem, str) else pem)

    @classmethod
    def trust_on_first_use(cls) -> TrustAnchor:
        """Trust the first root seen (docker's default; weaker: say so explicitly)."""
        return cls(tofu=True)

    def check(self, *, rule: str | None = None) -> None:
        """Raise :class:`PolicyError` unless exactly one kind of anchor is given, and every root key ID is one."""
        pinned = bool(self.root_key_ids or self.root_keys)
        kinds = sum((pinned, self.ca is not None, self.tofu))
        if kinds == 0:
            raise PolicyError(
                "no trust anchor: give root_key_ids or root_keys, a ca, or trust_on_first_use = true",
                rule=rule,
                field="anchor",
            )
        if kinds > 1:
            raise PolicyError(
                "give one kind of anchor: pinned keys, a ca, or trust_on_first_use", rule=rule, field="anchor"
            )
        for key_id in self.root_key_ids:
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                raise PolicyError(
                    f"{key_id!r} is not a root key ID: it is 64 hex digits, as `docker trust inspect` lists the Root "
                    f"administrative key (or DockerTrust.inspect(image).root_key_ids)",
                    rule=rule,
                    field="anchor.root_key_ids",
                )

    @classmethod
    def from_dict(cls, obj: Any, *, rule: str | None = None) -> TrustAnchor:
        """Read ``{"root_key_ids": [...]}``, ``{"root_keys": [PEM...]}``, ``{"ca": PEM}`` or
        ``{"trust_on_first_use": true}`` (``"tofu"``, the earlier spelling, is read too)."""
        if not isinstance(obj, Mapping):
            raise PolicyError("must be a table/object", rule=rule, field="anchor")
        unknown = set(obj) - {"root_key_ids", "root_keys", "ca", "trust_on_first_use", "tofu"}
        if unknown:
            raise PolicyError(f"unknown key(s) {', '.join(sorted(unknown))}", rule=rule, field="anchor")
        if "tofu" in obj and "trust_on_first_use" in obj:
            raise PolicyError("give trust_on_first_use (tofu is its earlier spelling), not both", rule=rule)
        ids = _strings(obj.get("root_key_ids", []), rule=rule, field="anchor.root_key_ids")
        keys = _public_keys(
            _strings(obj.get("root_keys", []), rule=rule, field="anchor.root_keys"),
            rule=rule,
            field="anchor.root_keys",
        )
        ca = obj.get("ca")
        if ca is not None and not (isinstance(ca, str) and "-----BEGIN CERTIFICATE-----" in ca):
            raise PolicyError("must be a PEM certificate bundle", rule=rule, field="anchor.ca")
        tofu_key = "tofu" if "tofu" in obj else "trust_on_first_use"
        tofu = obj.get(tofu_key, False)
        if not isinstance(tofu, bool):
            raise PolicyError("must be true or false", rule=rule, field=f"anchor.{tofu_key}")
        anchor = cls(root_key_ids=ids, root_keys=keys, ca=ca.encode() if ca is not None else None, tofu=tofu)
        anchor.check(rule=rule)
        return anchor


@attrs.frozen
class SignerRequirement:
    """The signers a tag must be signed by: docker signer names (``alice`` is role ``targets/alice``).

    ``threshold`` None means all of ``names``; N means at least N of them. ``keys`` optionally pins signers to
    public keys: a pinned signer counts only when its role carries a valid signature by one of its keys.
    """

    names: tuple[str, ...]
    threshold: int | None = attrs.field(default=None, kw_only=True)
    keys: tuple[tuple[str, tuple[PublicKey, ...]], ...] = attrs.field(default=(), kw_only=True)

    @property
    def required(self) -> int:
        """How many of :attr:`names` must have signed."""
        return len(self.names) if self.threshold is None else self.threshold

    def keys_for(self, name: str) -> tuple[PublicKey, ...]:
        """The public keys signer ``name`` is pinned to (empty: any key its delegation holds)."""
        return next((keys for signer, keys in self.keys if signer == name), ())

    def check(self, *, rule: str | None = None) -> None:
        """Raise :class:`PolicyError` for an empty set, a duplicate, a bad N, or keys for an unknown signer."""
        if not self.names:
            raise PolicyError("the set of signers is empty", rule=rule, field="signers")
        if len(set(self.names)) != len(self.names):
            raise PolicyError("a signer is named twice", rule=rule, field="signers")
        for name in self.names:
            if "/" in name or name in ("releases", "targets") or not name.strip():
                raise PolicyError(f"{name!r} is not a docker signer name", rule=rule, field="signers")
        if self.threshold is not None and (
            isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1
        ):
            raise PolicyError("at_least must be a whole number >= 1", rule=rule, field="signers.at_least")
        if self.threshold is not None and self.threshold > len(self.names):
            raise PolicyError(
                f"at_least {self.threshold} is larger than the {len(self.names)} signer(s) named",
                rule=rule,
                field="signers.at_least",
            )
        for name, _ in self.keys:
            if name not in self.names:
                raise PolicyError(
                    f"keys given for {name!r}, which is not a required signer", rule=rule, field="signer_keys"
                )

    @classmethod
    def from_dict(cls, obj: Any, keys: Any = None, *, rule: str | None = None) -> SignerRequirement:
        """Read ``{"all_of": [names]}`` or ``{"at_least": N, "of": [names]}``, and ``keys`` as
        ``{"name": [PEM...]}``."""
        if not isinstance(obj, Mapping):
            raise PolicyError("must be a table/object", rule=rule, field="signers")
        unknown = set(obj) - {"all_of", "at_least", "of"}
        if unknown:
            raise PolicyError(f"unknown key(s) {', '.join(sorted(unknown))}", rule=rule, field="signers")
        if "all_of" in obj:
            if "at_least" in obj or "of" in obj:
                raise PolicyError("give all_of, or at_least with of, not both", rule=rule, field="signers")
            names, threshold = _strings(obj["all_of"], rule=rule, field="signers.all_of"), None
        elif "at_least" in obj and "of" in obj:
            names, threshold = _strings(obj["of"], rule=rule, field="signers.of"), obj["at_least"]
        else:
            raise PolicyError("give all_of, or at_least with of", rule=rule, field="signers")
        pinned: list[tuple[str, tuple[PublicKey, ...]]] = []
        if keys is not None:
            if not isinstance(keys, Mapping):
                raise PolicyError("must map signer names to lists of PEM keys", rule=rule, field="signer_keys")
            for name, pems in keys.items():
                field = f"signer_keys.{name}"
                pinned.append((str(name), _public_keys(_strings(pems, rule=rule, field=field), rule=rule, field=field)))
        requirement = cls(names, threshold=threshold, keys=tuple(pinned))
        requirement.check(rule=rule)
        return requirement


def _check_pattern(pattern: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        raise PolicyError("a rule needs a non-empty pattern", field="pattern")
    body = pattern[:-2] if pattern.endswith("/*") else pattern
    tagged = body == pattern and "/" in body and ":" in body.rsplit("/", 1)[-1]
    if pattern != "*" and ("*" in body or "?" in body or "@" in body or any(c.isspace() for c in body) or tagged):
        raise PolicyError(
            "a pattern is a repository name, a prefix ending in /*, or *; tags and other wildcards are not allowed",
            rule=pattern,
            field="pattern",
        )
    if body != body.lower():
        raise PolicyError("repository names are lower case", rule=pattern, field="pattern")
    if pattern == "*":
        return
    normalised = _docker_name(body, prefix=body != pattern, pattern=pattern)
    if normalised != body:
        written = f"{normalised}/*" if body != pattern else normalised
        raise PolicyError(
            f"patterns are written on the repository name as docker normalises it: write {written!r} "
            f"(docker reads {body!r} as {normalised!r})",
            rule=pattern,
            field="pattern",
        )


def _docker_name(body: str, *, prefix: bool, pattern: str) -> str:
    """``body`` (a repository name, or the part of a prefix pattern before ``/*``) as docker normalises it:
    ``nginx`` is ``docker.io/library/nginx``, ``team/*`` covers ``docker.io/team/*``."""
    first, _, rest = body.partition("/")
    if prefix and not rest and ("." in first or ":" in first or first == "localhost"):
        return ImageReference.parse(f"{first}/x/y").domain  # a whole registry: only index.docker.io changes
    try:
        name = ImageReference.parse(f"{body}/x" if prefix else body).name
    except ConfigurationError as exc:
        raise PolicyError(f"not a repository name: {exc}", rule=pattern, field="pattern") from None
    return name.removesuffix("/x") if prefix else name


_RULE_KEYS = frozenset(
    {
        "pattern",
        "anchor",
        "trust",  # the earlier spelling of "anchor"
        "signers",
        "signer_keys",
        "release_rule",
        "max_stale_seconds",
        "at",
        "verify_at",  # the earlier spelling of "at"
        "server",
        "allow_http",
        "action",
    }
)
_ACTIONS = ("verify", "allow", "deny")


@attrs.frozen
class Rule:
    """What a repository matched by :attr:`pattern` must satisfy.

    ``anchor`` is its :class:`TrustAnchor` (None only when :attr:`action` is not ``"verify"``); ``signers`` the required
    signers (None: any released tag, signed by the repository's own keys, is enough). ``release_rule``: a tag
    counts only when ``targets/releases`` or ``targets`` holds it, as docker reads tags (turn off only for
    notary-style repositories whose delegations are the releases). ``max_stale_seconds``: how old the cached
    trust data may be when the server cannot be reached or lost the repository (0: fail closed). ``at``
    checks expiry at that moment instead of now (archived trust data; ``open_archive``'s name for it). ``server`` is
    the notary server URL (None: as docker finds it), reached with docker's TLS files, login and proxy for that
    host; it must be ``https://`` unless ``allow_http`` says otherwise (plain HTTP shows every image a node pulls
    to the network, carries the registry login in clear, and lets anyone on the path withhold updates and
    revocations until the cached timestamp expires). ``action`` is ``"verify"`` (the default), ``"allow"``
    (admit without reading trust data: portieris' empty policy, connaisseur's static ``approve: true``; every
    verdict says so) or ``"deny"`` (connaisseur's static ``approve: false``).
    """

    pattern: str
    anchor: TrustAnchor | None
    signers: SignerRequirement | None = attrs.field(default=None, kw_only=True)
    release_rule: bool = attrs.field(default=True, kw_only=True)
    max_stale_seconds: float = attrs.field(default=0.0, kw_only=True)
    at: datetime | None = attrs.field(default=None, kw_only=True)
    server: str | None = attrs.field(default=None, kw_only=True)
    action: str = attrs.field(default="verify", kw_only=True)
    allow_http: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_pattern(self.pattern)
        if self.action not in _ACTIONS:
            raise PolicyError('must be "verify", "allow" or "deny"', rule=self.pattern, field="action")
        if self.action == "verify":
            if self.anchor is None:
                raise PolicyError("no trust anchor", rule=self.pattern, field="anchor")
            self.anchor.check(rule=self.pattern)
        if self.signers is not None:
            self.signers.check(rule=self.pattern)
        stale = self.max_stale_seconds
        if isinstance(stale, bool) or not isinstance(stale, (int, float)) or not (0 <= stale < math.inf):
            raise PolicyError("must be a number of seconds >= 0", rule=self.pattern, field="max_stale_seconds")
        if self.at is not None and (not isinstance(self.at, datetime) or self.at.tzinfo is None):
            raise PolicyError(
                "must be a datetime with a time zone (e.g. 2026-01-31T00:00:00Z)", rule=self.pattern, field="at"
            )
        if not isinstance(self.allow_http, bool):
            raise PolicyError("must be true or false", rule=self.pattern, field="allow_http")
        if self.server is not None:
            self._check_server(self.server)

    def _check_server(self, server: object) -> None:
        if not isinstance(server, str) or not server.startswith(("https://", "http://")):
            raise PolicyError("must be an https:// URL", rule=self.pattern, field="server")
        if server.startswith("http://") and not self.allow_http:
            raise PolicyError(
                f"{server} is plain HTTP: anyone on the network sees which images run, reads the registry login, "
                f"and can withhold new trust data (revocations) until the cache expires. Use https://, or set "
                f"allow_http = true on this rule for a server on a trusted network (a loopback test server)",
                rule=self.pattern,
                field="server",
            )

    def matches(self, gun: str) -> bool:
        """Whether this rule's pattern covers repository ``gun``."""
        if self.pattern == "*":
            return True
        if self.pattern.endswith("/*"):
            return gun.startswith(self.pattern[:-1])
        return gun == self.pattern

    @property
    def specificity(self) -> tuple[int, int]:
        """How specific the pattern is: exact names first, then longer prefixes, then ``*``."""
        if self.pattern == "*":
            return (0, 0)
        if self.pattern.endswith("/*"):
            return (1, len(self.pattern))
        return (2, len(self.pattern))

    @classmethod
    def from_dict(cls, obj: Any, *, index: int = 0) -> Rule:
        """Read one rule (see :meth:`Policy.from_dict` for the fields)."""
        if not isinstance(obj, Mapping):
            raise PolicyError("a rule must be a table/object", rule=f"#{index}")
        pattern = obj.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise PolicyError("a rule needs a non-empty pattern", rule=f"#{index}", field="pattern")
        unknown = set(obj) - _RULE_KEYS
        if unknown:
            raise PolicyError(f"unknown key(s) {', '.join(sorted(unknown))}", rule=pattern)
        action = obj.get("action", "verify")
        if action not in _ACTIONS:
            raise PolicyError('must be "verify", "allow" or "deny"', rule=pattern, field="action")
        release_rule = obj.get("release_rule", True)
        if not isinstance(release_rule, bool):
            raise PolicyError("must be true or false", rule=pattern, field="release_rule")
        if "anchor" in obj and "trust" in obj:
            raise PolicyError("give anchor (trust is its earlier spelling), not both", rule=pattern)
        trust = obj.get("anchor", obj.get("trust"))
        anchor = None if trust is None and action != "verify" else TrustAnchor.from_dict(trust or {}, rule=pattern)
        signers = None
        if obj.get("signers") is not None:
            signers = SignerRequirement.from_dict(obj["signers"], obj.get("signer_keys"), rule=pattern)
        elif obj.get("signer_keys") is not None:
            raise PolicyError("signer_keys needs signers", rule=pattern, field="signer_keys")
        if "at" in obj and "verify_at" in obj:
            raise PolicyError("give at (verify_at is its earlier spelling), not both", rule=pattern)
        at_key = "verify_at" if "verify_at" in obj else "at"
        at = obj.get(at_key)
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                raise PolicyError("must be an ISO 8601 time", rule=pattern, field=at_key) from None
        elif at is not None and not isinstance(at, datetime):
            raise PolicyError("must be an ISO 8601 time", rule=pattern, field=at_key)
        server = obj.get("server")
        if server is not None and not isinstance(server, str):
            raise PolicyError("must be a URL", rule=pattern, field="server")
        allow_http = obj.get("allow_http", False)
        if not isinstance(allow_http, bool):
            raise PolicyError("must be true or false", rule=pattern, field="allow_http")
        return cls(
            pattern,
            anchor,
            signers=signers,
            release_rule=release_rule,
            max_stale_seconds=obj.get("max_stale_seconds", 0),
            at=at,
            server=server,
            action=action,
            allow_http=allow_http,
        )


@attrs.frozen
class Policy:
    """Rules by repository pattern; :meth:`rule_for` finds the one that applies (None: deny)."""

    rules: tuple[Rule, ...]

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.pattern in seen:
                raise PolicyError("two rules have this pattern", rule=rule.pattern, field="pattern")
            seen.add(rule.pattern)

    def rule_for(self, gun: str) -> Rule | None:
        """The most specific rule matching repository ``gun``, or None (no rule: the image is denied)."""
        matching = [rule for rule in self.rules if rule.matches(gun)]
        return max(matching, key=lambda rule: rule.specificity) if matching else None

    @classmethod
    def from_dict(cls, obj: Any) -> Policy:
        """Build a policy from ``{"rules": [{...}, ...]}``. Each rule has ``pattern``, ``anchor``
        (``root_key_ids``/``root_keys``/``ca``/``trust_on_first_use``), optionally ``signers`` (``all_of`` or
        ``at_least`` + ``of``), ``signer_keys`` (name -> PEM list), ``release_rule``, ``max_stale_seconds``, ``at``
        (ISO 8601), ``server``, ``allow_http`` and ``action``. The earlier spellings ``trust`` (for ``anchor``),
        ``tofu`` (for ``trust_on_first_use``) and ``verify_at`` (for ``at``) are read too. Unknown keys are errors."""
        if not isinstance(obj, Mapping) or set(obj) - {"rules"}:
            raise PolicyError('a policy is an object with one key, "rules"')
        rules = obj.get("rules")
        if not isinstance(rules, Sequence) or isinstance(rules, str):
            raise PolicyError('"rules" must be a list', field="rules")
        return cls(tuple(Rule.from_dict(rule, index=i) for i, rule in enumerate(rules)))

    @classmethod
    def from_json(cls, text: str | bytes) -> Policy:
        """Build a policy from JSON text (see :meth:`from_dict`)."""
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise PolicyError(f"not valid JSON: {exc}") from None
        return cls.from_dict(obj)

    @classmethod
    def from_toml(cls, text: str) -> Policy:
        """Build a policy from TOML text (``[[rules]]`` tables; see :meth:`from_dict`). Needs Python 3.11+
        (``tomllib``)."""
        try:
            tomllib = importlib.import_module("tomllib")
        except ImportError:  # pragma: no cover - Python 3.10
            raise PolicyError("reading TOML needs Python 3.11 or later (tomllib): use JSON or a dict") from None
        try:
            obj = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"not valid TOML: {exc}") from None
        return cls.from_dict(obj)
