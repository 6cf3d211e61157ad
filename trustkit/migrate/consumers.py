"""Configuration for the consumers of migrated signatures: containers/image (podman, skopeo, CRI-O, buildah).

Two files and a key make containers/image require a cosign-format signature for a repository:

* ``policy.json``: under ``transports.docker[<scope>]`` a ``sigstoreSigned`` requirement naming the public key
  (``keyPath`` to a file, or ``keyData``: base64 of the PEM file's bytes) and the ``signedIdentity`` rule;
* a ``registries.d`` YAML file with ``use-sigstore-attachments: true`` for the scope: without it containers/image
  never looks at the ``.sig`` tag ("A signature was required, but no signature exists");
* the public key file (PEM ``PUBLIC KEY``), named after the key's ID so that each scope's ``keyPath`` keeps
  pointing at its own key.

:func:`write_consumer_config` writes them, merging into an existing ``policy.json`` (its other scopes and its
default are kept) and ``registries.d`` file (its other scopes are kept), so one folder serves several repositories.

A new ``policy.json`` gets containers/image's secure default, ``"default": [{"type": "reject"}]``: every image
outside the configured scopes is refused. Do not copy such a file over ``/etc/containers/policy.json`` (it would
block every other image): merge into the system policy instead, with ``policy_path="/etc/containers/policy.json"``,
or copy only the ``transports.docker`` entries.

``signedIdentity`` ``matchRepoDigestOrExact`` (containers/image's default) accepts the signed tag when pulling by
tag and any tag of the repository when pulling by digest; ``matchRepository`` ignores tags.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import attrs
from cryptography.hazmat.primitives import serialization

from trustkit.errors import ConfigurationError
from trustkit.keys.private import PrivateKey
from trustkit.keys.public import PublicKey
from trustkit.migrate.simplesigning import SignedIdentity, load_verification_key

__all__ = ["ConsumerConfig", "write_consumer_config"]

_SCOPE = re.compile(r"[a-z0-9.:\-\[\]]+(/[a-z0-9._\-/]+)?\Z")
_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")


@attrs.frozen
class ConsumerConfig:
    """What :func:`write_consumer_config` wrote: the ``policy`` path, the ``registries_d`` file and the
    ``public_key`` file."""

    policy: Path
    registries_d: Path
    public_key: Path


def write_consumer_config(
    directory: str | Path,
    scope: str,
    key: PublicKey | PrivateKey | bytes | str,
    *,
    name: str = "trustkit-migrated",
    signed_identity: SignedIdentity = "matchRepoDigestOrExact",
    embed_key: bool = False,
    policy_path: str | Path | None = None,
) -> ConsumerConfig:
    """Write containers/image's configuration requiring ``key``'s cosign-format signatures for ``scope`` (a
    registry host, ``host/namespace`` or ``host/repo``, as in ``transports.docker``).

    In ``directory``: ``registries.d/<name>.yaml``, ``<name>-<key ID prefix>.pub`` and (unless ``policy_path``
    names another) ``policy.json``. An existing ``policy.json`` and ``registries.d/<name>.yaml`` are merged into
    (other scopes kept; this scope's entry replaced), and each key has its own file, so earlier repositories
    written into the same folder keep working. With ``embed_key`` the policy carries the key as ``keyData`` instead
    of a ``keyPath``. Point containers/image at them with ``--policy`` and ``--registries.d``.

    A *new* ``policy.json`` gets the secure default ``"default": [{"type": "reject"}]``: every image outside the
    configured scopes is refused. **Do not copy it over** ``/etc/containers/policy.json``, which would block every
    other image: merge into the system policy with ``policy_path="/etc/containers/policy.json"`` (its default and
    scopes are kept) and copy ``registries.d/<name>.yaml`` and the key to ``/etc/containers/registries.d/`` and a
    path of your choice (with ``embed_key`` the key needs no file).

    Raises :class:`~trustkit.errors.ConfigurationError` for a bad scope or name, an existing ``policy.json`` that
    is not a policy, a ``registries.d/<name>.yaml`` this function did not write, or a key file of that name holding
    another key.
    """
    if not _SCOPE.match(scope):
        raise ConfigurationError(f"not a containers/image docker scope: {scope!r} (use host, host/ns or host/repo)")
    if not _NAME.match(name):
        raise ConfigurationError(f"not a usable file name: {name!r}")
    folder = Path(directory)
    verification_key = load_verification_key(key)
    pem = verification_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_key = folder / f"{name}-{PublicKey.from_key(verification_key).key_id[:16]}.pub"
    if public_key.exists() and public_key.read_bytes() != pem:
        raise ConfigurationError(
            f"{public_key} holds another key than the one given: the policy's other scopes may point at it. Remove "
            "it if nothing uses it, or write to another directory or name="
        )
    policy = Path(policy_path) if policy_path is not None else folder / "policy.json"
    document = _read_policy(policy)
    registries_d = folder / "registries.d" / f"{name}.yaml"
    scopes = _read_registries_d(registries_d)
    requirement: dict[str, Any] = {"type": "sigstoreSigned"}
    if embed_key:
        requirement["keyData"] = base64.b64encode(pem).decode()
    else:
        requirement["keyPath"] = str(public_key.resolve())
    requirement["signedIdentity"] = {"type": signed_identity}
    transports = document.setdefault("transports", {})
    docker = transports.setdefault("docker", {}) if isinstance(transports, dict) else None
    if not isinstance(docker, dict):
        raise ConfigurationError(f'{policy}: "transports" must map transport names to scopes')
    docker[scope] = [requirement]
    if scope not in scopes:
        scopes.append(scope)
    folder.mkdir(parents=True, exist_ok=True)
    public_key.write_bytes(pem)
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(json.dumps(document, indent=2) + "\n")
    registries_d.parent.mkdir(parents=True, exist_ok=True)
    entries = "".join(f"  {json.dumps(each)}:\n    use-sigstore-attachments: true\n" for each in scopes)
    registries_d.write_text("docker:\n" + entries)
    return ConsumerConfig(policy=policy, registries_d=registries_d, public_key=public_key)


def _read_policy(policy: Path) -> dict[str, Any]:
    """The existing ``policy`` to merge into, or a new one with the secure default (reject what no scope names)."""
    if not policy.exists():
        return {"default": [{"type": "reject"}]}
    try:
        document = json.loads(policy.read_text())
    except (ValueError, OSError) as exc:
        raise ConfigurationError(f"{policy} is not a readable containers policy: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("default"), list):
        raise ConfigurationError(f'{policy} is not a containers policy (it needs a "default" list)')
    return document


def _read_registries_d(path: Path) -> list[str]:
    """The scopes of a ``registries.d`` file this module wrote before (so a new scope is added, not swapped in)."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    scopes: list[str] = []
    pairs = lines[1:]
    ours = bool(lines) and lines[0] == "docker:" and len(pairs) % 2 == 0
    for entry, setting in zip(pairs[::2], pairs[1::2], strict=True) if ours else ():
        try:
            scope = json.loads(entry.strip().removesuffix(":"))
        except ValueError:
            scope = None
        if not entry.startswith("  ") or not isinstance(scope, str) or setting != "    use-sigstore-attachments: true":
            ours = False
            break
        scopes.append(scope)
    if not ours:
        raise ConfigurationError(
            f"{path} was not written by write_consumer_config: pass another name= or add the scope to it by hand"
        )
    return scopes
