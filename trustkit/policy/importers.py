"""Policies from the configuration of the admission controllers people come from, given as parsed dicts.

- :func:`from_connaisseur`: connaisseur's ``validators`` and ``policy`` (its ``helm/values.yaml``), with the
  ``notaryv1`` validator's pinned root keys (``trustRoots[*].key``), server (``host``) and required delegations
  (``with.delegations``, all of them), and its ``static`` validators (``approve: true``/``false``).
- :func:`from_portieris`: the ``spec.repositories`` of a portieris ``ImagePolicy`` or ``ClusterImagePolicy``,
  with the ``trust`` section's ``trustServer`` and ``signerSecrets`` (each a Kubernetes secret holding ``name``
  and ``publicKey``, given resolved). portieris trusts each repository's root on first use; trustkit does so only
  when told: pass the ``anchor``.

Connection settings (connaisseur's ``auth``, ``cert``, ``isAcr``) are not policy: configure credentials and TLS
on the :class:`~trustkit.policy.Verifier`'s docker configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trustkit.policy.model import Policy, PolicyError, Rule, SignerRequirement, TrustAnchor

__all__ = ["from_connaisseur", "from_portieris"]


def _connaisseur_pattern(pattern: Any, index: int) -> str:
    """connaisseur matches ``name:tag`` patterns; trustkit rules are per repository, so the tag part must be
    ``*``."""
    if not isinstance(pattern, str) or not pattern:
        raise PolicyError("a policy entry needs a pattern", rule=f"policy[{index}]", field="pattern")
    repository, colon, tag = pattern.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = pattern, "*"
    if tag != "*":
        raise PolicyError(
            "trustkit rules apply to every tag of a repository: write the pattern as NAME:*",
            rule=pattern,
            field="pattern",
        )
    return "*" if repository in ("*", "") else repository


def _server(host: Any, rule: str) -> str:
    if not isinstance(host, str) or not host:
        raise PolicyError("a notaryv1 validator needs a host", rule=rule, field="host")
    return host if host.startswith(("https://", "http://")) else f"https://{host}"


def from_connaisseur(values: Mapping[str, Any]) -> Policy:
    """A policy from connaisseur's configuration: ``{"validators": [...], "policy": [...]}``.

    Each policy entry becomes a rule for its pattern (``NAME:*``; connaisseur's tag patterns other than ``*`` are
    refused) with its validator (``default`` when none is named): a ``notaryv1`` validator pins the root key named
    by ``with.trustRoot`` (or the older ``with.key``; ``default`` when there is one, else the only one; ``*`` any of
    them) and requires every delegation in ``with.delegations``; a ``static`` validator allows or denies.
    """
    if not isinstance(values, Mapping):
        raise PolicyError("connaisseur's configuration must be an object with validators and policy")
    validators: dict[str, Mapping[str, Any]] = {}
    for validator in values.get("validators") or []:
        if not isinstance(validator, Mapping) or not isinstance(validator.get("name"), str):
            raise PolicyError("every validator needs a name", field="validators")
        validators[validator["name"]] = validator
    entries = values.get("policy")
    if not isinstance(entries, list):
        raise PolicyError("policy must be a list of entries", field="policy")
    rules = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise PolicyError("a policy entry must be an object", rule=f"policy[{index}]")
        pattern = _connaisseur_pattern(entry.get("pattern"), index)
        name = entry.get("validator", "default")
        validator = validators.get(name)
        if validator is None:
            raise PolicyError(f"no validator called {name!r}", rule=pattern, field="validator")
        kind = validator.get("type")
        if kind == "static":
            action = "allow" if validator.get("approve") is True else "deny"
            rules.append(Rule(pattern, None, action=action))
            continue
        if kind != "notaryv1":
            raise PolicyError(
                f"validator {name!r} is of type {kind!r}; only notaryv1 and static are Notary v1", rule=pattern
            )
        options = entry.get("with") or {}
        if not isinstance(options, Mapping):
            raise PolicyError("with must be an object", rule=pattern, field="with")
        roots = {r.get("name"): r.get("key") for r in validator.get("trustRoots") or [] if isinstance(r, Mapping)}
        if not roots:
            raise PolicyError(f"validator {name!r} has no trustRoots", rule=pattern, field="trustRoots")
        wanted = options.get("trustRoot", options.get("key"))
        if wanted == "*":
            keys = list(roots.values())
        elif wanted is None and len(roots) != 1 and "default" not in roots:
            raise PolicyError(f"validator {name!r} has several trustRoots: name one in with.trustRoot", rule=pattern)
        else:
            chosen = wanted if wanted is not None else ("default" if "default" in roots else next(iter(roots)))
            if chosen not in roots:
                raise PolicyError(
                    f"validator {name!r} has no trustRoot {chosen!r}", rule=pattern, field="with.trustRoot"
                )
            keys = [roots[chosen]]
        anchor = TrustAnchor.from_dict({"root_keys": keys}, rule=pattern)
        delegations = options.get("delegations")
        signers = None
        if delegations:
            signers = SignerRequirement.from_dict({"all_of": delegations}, rule=pattern)
        rules.append(Rule(pattern, anchor, signers=signers, server=_server(validator.get("host"), pattern)))
    return Policy(tuple(rules))


def from_portieris(
    image_policy: Mapping[str, Any],
    *,
    anchor: TrustAnchor,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
) -> Policy:
    """A policy from a portieris ``ImagePolicy``/``ClusterImagePolicy`` (the whole resource or its ``spec``).

    ``anchor`` is the root trust for every rule (portieris trusts on first use; say
    :meth:`TrustAnchor.trust_on_first_use` to do the same). ``secrets`` maps each ``signerSecrets`` name to the
    secret's data, ``{"name": signer, "publicKey": PEM}``: every listed signer is required, pinned to its key. A
    repository whose policy is empty or whose trust is not enabled is admitted unverified (``action="allow"``),
    as portieris does.
    """
    spec = image_policy.get("spec", image_policy) if isinstance(image_policy, Mapping) else None
    repositories = spec.get("repositories") if isinstance(spec, Mapping) else None
    if not isinstance(repositories, list):
        raise PolicyError("an ImagePolicy needs spec.repositories", field="repositories")
    rules = []
    for index, repository in enumerate(repositories):
        if not isinstance(repository, Mapping) or not isinstance(repository.get("name"), str):
            raise PolicyError("a repository needs a name", rule=f"repositories[{index}]", field="name")
        pattern = repository["name"]
        if pattern.endswith("*") and not pattern.endswith("/*") and pattern != "*":
            raise PolicyError("only NAME, PREFIX/* and * patterns are supported", rule=pattern, field="name")
        policy = repository.get("policy") or {}
        if not isinstance(policy, Mapping):
            raise PolicyError("policy must be an object", rule=pattern, field="policy")
        trust = policy.get("trust") or {}
        if not isinstance(trust, Mapping):
            raise PolicyError("trust must be an object", rule=pattern, field="trust")
        if trust.get("enabled") is not True:
            rules.append(Rule(pattern, None, action="allow"))
            continue
        names: list[str] = []
        keys: dict[str, list[str]] = {}
        for signer in trust.get("signerSecrets") or []:
            secret_name = signer.get("name") if isinstance(signer, Mapping) else None
            secret = (secrets or {}).get(secret_name or "")
            if secret is None:
                raise PolicyError(f"secret {secret_name!r} was not given", rule=pattern, field="signerSecrets")
            if not isinstance(secret.get("name"), str) or not isinstance(secret.get("publicKey"), str):
                raise PolicyError(
                    f"secret {secret_name!r} needs name and publicKey", rule=pattern, field="signerSecrets"
                )
            names.append(secret["name"])
            keys.setdefault(secret["name"], []).append(secret["publicKey"])
        signers = (
            SignerRequirement.from_dict({"all_of": list(dict.fromkeys(names))}, keys, rule=pattern) if names else None
        )
        server = trust.get("trustServer") or None
        rules.append(Rule(pattern, anchor, signers=signers, server=server))
    return Policy(tuple(rules))
