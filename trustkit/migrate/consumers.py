"""Configuration for the consumers of migrated signatures: containers/image (podman, skopeo, CRI-O, buildah).

Two files and a key make containers/image require a cosign-format signature for a repository:

* ``policy.json``: under ``transports.docker[<scope>]`` a ``sigstoreSigned`` requirement naming the public key
  (``keyPath`` to a file, or ``keyData``: base64 of the PEM file's bytes) and the ``signedIdentity`` rule;
* a ``registries.d`` YAML file with ``use-sigstore-attachments: true`` for the scope: without it containers/image
  never looks at the ``.sig`` tag ("A signature was required, but no signature exists");
* the public key file (PEM ``PUBLIC KEY``).

:func:`write_consumer_config` writes them, merging into an existing ``policy.json`` (its other scopes and its
default are kept). ``signedIdentity`` ``matchRepoDigestOrExact`` (containers/image's default) accepts the signed
tag when pulling by tag and any tag of the repository when pulling by digest; ``matchRepository`` ignores tags.
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

    In ``directory``: ``registries.d/<name>.yaml``, ``<name>.pub`` and (unless ``policy_path`` names another)
    ``policy.json``, merged into when it exists. With ``embed_key`` the policy carries the key as ``keyData``
    instead of a ``keyPath``. Point containers/image at them with ``--policy`` and ``--registries.d`` (or copy
    them to ``/etc/containers/``). Raises :class:`~trustkit.errors.ConfigurationError` for a bad scope, name or an
    existing ``policy.json`` that is not a policy.
    """
    if not _SCOPE.match(scope):
        raise ConfigurationError(f"not a containers/image docker scope: {scope!r} (use host, host/ns or host/repo)")
    if not _NAME.match(name):
        raise ConfigurationError(f"not a usable file name: {name!r}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    pem = load_verification_key(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_key = folder / f"{name}.pub"
    public_key.write_bytes(pem)
    requirement: dict[str, Any] = {"type": "sigstoreSigned"}
    if embed_key:
        requirement["keyData"] = base64.b64encode(pem).decode()
    else:
        requirement["keyPath"] = str(public_key.resolve())
    requirement["signedIdentity"] = {"type": signed_identity}
    policy = Path(policy_path) if policy_path is not None else folder / "policy.json"
    document: dict[str, Any] = {"default": [{"type": "reject"}]}
    if policy.exists():
        try:
            document = json.loads(policy.read_text())
        except (ValueError, OSError) as exc:
            raise ConfigurationError(f"{policy} is not a readable containers policy: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("default"), list):
            raise ConfigurationError(f'{policy} is not a containers policy (it needs a "default" list)')
    transports = document.setdefault("transports", {})
    docker = transports.setdefault("docker", {}) if isinstance(transports, dict) else None
    if not isinstance(docker, dict):
        raise ConfigurationError(f'{policy}: "transports" must map transport names to scopes')
    docker[scope] = [requirement]
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(json.dumps(document, indent=2) + "\n")
    registries_d = folder / "registries.d" / f"{name}.yaml"
    registries_d.parent.mkdir(parents=True, exist_ok=True)
    registries_d.write_text(f"docker:\n  {json.dumps(scope)}:\n    use-sigstore-attachments: true\n")
    return ConsumerConfig(policy=policy, registries_d=registries_d, public_key=public_key)
