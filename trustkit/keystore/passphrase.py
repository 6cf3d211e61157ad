"""Passphrases for encrypted private keys: the retriever interface and its implementations.

A :class:`PassphraseRetriever` is asked for a passphrase with the key's ID and role, whether the passphrase is for a
new key (``create_new``: the key is about to be encrypted) and how many attempts failed before (``attempt``, from 0).
It answers with the passphrase, ``""`` for "no encryption", or ``None`` to give up. This is notary's
``PassRetriever(keyName, alias, createNew, attempts)``, with ``None`` in place of its ``giveup`` flag.

Implementations: :class:`RolePassphrases` (a fixed mapping by role), :class:`CallbackPassphrase` (a prompt-style
callback such as :func:`getpass.getpass`), :class:`NotaryEnvPassphrase` and :class:`DockerEnvPassphrase` (the
environment variables the ``notary`` CLI and ``docker trust`` read, in the same order of precedence). Any function
with the protocol's signature is a retriever too.

No retriever here puts a passphrase in its ``repr``, in a log record or in an exception message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from trustkit.errors import InvalidArgumentError, KeyFormatError, PassphraseError
from trustkit.keys.private import PrivateKey, load_private_key

__all__ = [
    "BASE_ROLES",
    "DEFAULT_MAX_ATTEMPTS",
    "DOCKER_REPOSITORY_PASSPHRASE_ENV",
    "DOCKER_ROOT_PASSPHRASE_ENV",
    "NOTARY_PASSPHRASE_ENV",
    "NO_PASSPHRASE",
    "CallbackPassphrase",
    "DockerEnvPassphrase",
    "NotaryEnvPassphrase",
    "PassphraseRetriever",
    "PassphraseSource",
    "RolePassphrases",
    "as_retriever",
    "new_passphrase",
    "prompt_text",
    "unlock_private_key",
    "unlock_with_passphrase",
]

BASE_ROLES = frozenset({"root", "targets", "snapshot", "timestamp"})
"""Notary's base roles; every other role (delegations, docker signer names) is a "delegation" for passphrases."""

NOTARY_PASSPHRASE_ENV: Mapping[str, str] = {
    "root": "NOTARY_ROOT_PASSPHRASE",
    "targets": "NOTARY_TARGETS_PASSPHRASE",
    "snapshot": "NOTARY_SNAPSHOT_PASSPHRASE",
    "delegation": "NOTARY_DELEGATION_PASSPHRASE",
}
"""The ``notary`` CLI's variables by alias (``cmd/notary/main.go``); there is none for ``timestamp``."""

DOCKER_ROOT_PASSPHRASE_ENV = "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"  # noqa: S105 -- a variable name
"""docker's variable for root keys."""

DOCKER_REPOSITORY_PASSPHRASE_ENV = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"  # noqa: S105 -- a variable name
"""docker's variable for every other key: targets, snapshot, delegations and signer keys."""

DEFAULT_MAX_ATTEMPTS = 3
"""How many passphrases a keystore tries for one key before it gives up (notary's prompt allows 3 retries)."""

_HIDDEN = "<hidden>"


@runtime_checkable
class PassphraseRetriever(Protocol):
    """Gives the passphrase of a key, or ``None`` to give up.

    ``key_id`` is the key's canonical ID (``""`` when it is not known yet, e.g. for a file being loaded), ``role``
    the role notary records for it (``""`` when none). ``create_new`` is True when the passphrase will encrypt a key
    being written; ``attempt`` counts the passphrases already rejected for this key (0 on the first call). Returning
    ``""`` for a new key stores it unencrypted, as notary does.
    """

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        """Return the passphrase for the key, or ``None`` to give up."""
        ...


PassphraseSource = PassphraseRetriever | str | Mapping[str, str] | None
"""What a keystore accepts as ``passphrase=``: a retriever, one passphrase for every key, a mapping by role, or
``None`` (no passphrase: encrypted keys cannot be read and new keys cannot be written)."""


class _NoPassphrase:
    """The retriever that always gives up."""

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        return None

    def __repr__(self) -> str:
        return "NO_PASSPHRASE"


NO_PASSPHRASE: PassphraseRetriever = _NoPassphrase()
"""A retriever that never has a passphrase."""


class RolePassphrases:
    """Fixed passphrases by role (the key's ``role:`` header), with an optional ``default`` for every other role.

    A fixed passphrase is offered on the first attempt only: when it was wrong, asking again cannot help, so the
    keystore stops at once with a :class:`~trustkit.errors.PassphraseError`.
    """

    __slots__ = ("_default", "_passphrases")

    def __init__(self, passphrases: Mapping[str, str] | None = None, *, default: str | None = None) -> None:
        self._passphrases = dict(passphrases or {})
        self._default = default

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles that have their own passphrase."""
        return tuple(sorted(self._passphrases))

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        """The role's passphrase (else the default) on the first attempt, then ``None``."""
        if attempt > 0:
            return None
        return self._passphrases.get(role, self._default)

    def __repr__(self) -> str:
        default = None if self._default is None else _HIDDEN
        return f"RolePassphrases(roles={list(self.roles)!r}, default={default})"


def prompt_text(key_id: str, role: str, *, create_new: bool, attempt: int) -> str:
    """Notary's prompt: ``Enter passphrase for [new ]<role> key with ID <7 chars>:`` (with a retry notice)."""
    new = "new " if create_new else ""
    short = f" with ID {key_id[:7]}" if key_id else ""
    retry = "Passphrase incorrect. Please retry.\n" if attempt > 0 and not create_new else ""
    return f"{retry}Enter passphrase for {new}{role or 'delegation'} key{short}: "


class CallbackPassphrase:
    """Asks a prompt-style callback, such as :func:`getpass.getpass`, with notary's prompt text.

    ``callback(prompt)`` returns the passphrase, or ``None`` to give up. With ``confirm_new`` a passphrase for a new
    key is asked twice and must match. With ``cache`` (the default, as notary's prompt does) the last passphrase
    entered for a role is offered first for the next key of that role, so one answer unlocks every key of a role.
    """

    __slots__ = ("_cache", "_cached", "_callback", "_confirm_new")

    def __init__(self, callback: Callable[[str], str | None], *, confirm_new: bool = False, cache: bool = True) -> None:
        self._callback = callback
        self._confirm_new = confirm_new
        self._cache = cache
        self._cached: dict[str, str] = {}

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        """Prompt through the callback (or reuse the role's cached passphrase on a first attempt)."""
        if self._cache and attempt == 0 and role in self._cached:
            return self._cached[role]
        answer = self._callback(prompt_text(key_id, role, create_new=create_new, attempt=attempt))
        if answer is None:
            return None
        if create_new and self._confirm_new:
            again = self._callback(f"Repeat passphrase for new {role or 'delegation'} key with ID {key_id[:7]}: ")
            if again != answer:
                raise PassphraseError("the passphrases entered do not match")
        if self._cache:
            self._cached[role] = answer
        return answer

    def __repr__(self) -> str:
        name = getattr(self._callback, "__qualname__", type(self._callback).__name__)
        return f"CallbackPassphrase({name}, cached_roles={sorted(self._cached)!r})"


class _EnvPassphrase:
    __slots__ = ("_environ", "_fallback")

    def __init__(
        self, *, environ: Mapping[str, str] | None = None, fallback: PassphraseRetriever | None = None
    ) -> None:
        self._environ = environ
        self._fallback = fallback

    def _variables(self, role: str) -> tuple[str, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    def variable_for(self, role: str) -> str | None:
        """The name of the variable that gives the passphrase of ``role`` now (None: none is set)."""
        environ = os.environ if self._environ is None else self._environ
        for name in self._variables(role):
            if environ.get(name):
                return name
        return None

    def __call__(self, key_id: str, role: str, *, create_new: bool, attempt: int) -> str | None:
        """The first set variable for ``role`` (tried once), else the fallback retriever, else ``None``."""
        name = self.variable_for(role)
        if name is not None:
            if attempt > 0:  # the same value cannot become right
                return None
            environ = os.environ if self._environ is None else self._environ
            return environ[name]
        if self._fallback is not None:
            return self._fallback(key_id, role, create_new=create_new, attempt=attempt)
        return None

    def __repr__(self) -> str:
        source = "os.environ" if self._environ is None else "environ"
        return f"{type(self).__name__}({source}, fallback={self._fallback!r})"


class NotaryEnvPassphrase(_EnvPassphrase):
    """The variables the ``notary`` CLI reads, in its order (``cmd/notary/main.go`` ``getPassphraseRetriever``).

    The role's own variable first (``NOTARY_ROOT_PASSPHRASE``, ``NOTARY_TARGETS_PASSPHRASE``,
    ``NOTARY_SNAPSHOT_PASSPHRASE``; ``NOTARY_DELEGATION_PASSPHRASE`` for the alias ``delegation``), then, for any
    role that is not a base role (delegations, docker signer names, no role), ``NOTARY_DELEGATION_PASSPHRASE``.
    Empty variables count as unset, and ``timestamp`` has no variable. When no variable applies, ``fallback`` (for
    instance a :class:`CallbackPassphrase`) is asked, as notary falls back to its prompt. ``environ`` defaults to
    :data:`os.environ`, read at each call.
    """

    __slots__ = ()

    def _variables(self, role: str) -> tuple[str, ...]:
        names = []
        if role in NOTARY_PASSPHRASE_ENV:
            names.append(NOTARY_PASSPHRASE_ENV[role])
        if role not in BASE_ROLES:
            names.append(NOTARY_PASSPHRASE_ENV["delegation"])
        return tuple(names)


class DockerEnvPassphrase(_EnvPassphrase):
    """The variables ``docker trust`` reads, in its order (docker/cli ``trust.GetPassphraseRetriever``).

    ``DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE`` for ``root``; ``DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE`` for every
    other role (targets, snapshot, delegations, signer names, and the ``encrypted`` alias of ``docker trust key
    load``). Empty variables count as unset; otherwise as :class:`NotaryEnvPassphrase`.
    """

    __slots__ = ()

    def _variables(self, role: str) -> tuple[str, ...]:
        if role == "root":
            return (DOCKER_ROOT_PASSPHRASE_ENV,)
        return (DOCKER_REPOSITORY_PASSPHRASE_ENV,)


def as_retriever(source: PassphraseSource) -> PassphraseRetriever:
    """A retriever for what a keystore was given: a retriever as is, a string for every key, a mapping by role."""
    if source is None:
        return NO_PASSPHRASE
    if isinstance(source, str):
        return RolePassphrases(default=source)
    if isinstance(source, Mapping):
        return RolePassphrases(source)
    if callable(source):
        return source
    raise InvalidArgumentError(
        f"passphrase must be a retriever, a string, a mapping or None, not {type(source).__name__}"
    )


def unlock_private_key(
    pem: bytes,
    retriever: PassphraseRetriever,
    *,
    key_id: str,
    role: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    where: str = "private key",
) -> PrivateKey:
    """Load a private key PEM, asking ``retriever`` when it is encrypted, as notary's ``GetKey`` does.

    The key is first read without a passphrase; an encrypted key is then tried with each passphrase the retriever
    gives, at most ``max_attempts`` times. Raises :class:`PassphraseError` when the retriever gives up or every
    passphrase was wrong, and :class:`KeyFormatError` when the PEM is not a usable key; both name ``where`` (the
    file), never the passphrase.
    """
    return unlock_with_passphrase(pem, retriever, key_id=key_id, role=role, max_attempts=max_attempts, where=where)[0]


def unlock_with_passphrase(
    pem: bytes,
    retriever: PassphraseRetriever,
    *,
    key_id: str,
    role: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    where: str = "private key",
) -> tuple[PrivateKey, str]:
    """:func:`unlock_private_key`, with the passphrase that decrypted the key (``""`` for an unencrypted key), so
    that the key can be encrypted again under the same passphrase (a key imported with weak encryption)."""
    try:
        return load_private_key(pem), ""
    except PassphraseError:
        pass
    except KeyFormatError as exc:
        raise KeyFormatError(f"{where}: {exc}") from None
    tried = 0
    for attempt in range(max_attempts):
        passphrase = retriever(key_id, role, create_new=False, attempt=attempt)
        if passphrase is None:
            if attempt == 0:
                raise PassphraseError(f"{where}: the key is encrypted and no passphrase was given for it")
            break  # a fixed passphrase (a string, an environment variable) is tried once
        tried += 1
        try:
            return load_private_key(pem, passphrase), passphrase
        except PassphraseError:
            continue
        except KeyFormatError as exc:
            raise KeyFormatError(f"{where}: {exc}") from None
    raise PassphraseError(f"{where}: wrong passphrase (gave up after {tried} attempt(s))")


def new_passphrase(
    retriever: PassphraseRetriever,
    *,
    key_id: str,
    role: str,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> str:
    """The passphrase to encrypt a new key with (``""``: store it unencrypted), as notary's ``AddKey`` asks.

    A retriever may raise :class:`PassphraseError` (a confirmation that does not match) and is then asked again, up
    to ``max_attempts`` times; ``None`` gives up at once. Raises :class:`PassphraseError`.
    """
    what = f"new {role or 'delegation'} key {key_id}"
    for attempt in range(max_attempts):
        try:
            passphrase = retriever(key_id, role, create_new=True, attempt=attempt)
        except PassphraseError:
            continue
        if passphrase is None:
            raise PassphraseError(f"{what}: no passphrase was given to encrypt it (use '' to store it unencrypted)")
        return passphrase
    raise PassphraseError(f"{what}: no usable passphrase after {max_attempts} attempt(s)")
