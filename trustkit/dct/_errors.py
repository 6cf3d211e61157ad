"""Turning lower-layer failures into the errors the DCT layer raises: the same types, with what to do.

Each error keeps its class (and a :class:`~trustkit.errors.RemoteError`'s ``status``, ``code`` and ``detail``) and
is chained to the original (``raise … from``), so callers catch the narrow types they already know. What is not a
failure but deserves attention is logged and kept in the result (:func:`logged`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

from trustkit.errors import (
    PassphraseError,
    RemoteError,
    RepositoryNotFoundError,
    RootMismatchError,
    TrustkitError,
    UnauthorizedError,
)
from trustkit.keystore.passphrase import DOCKER_REPOSITORY_PASSPHRASE_ENV, DOCKER_ROOT_PASSPHRASE_ENV
from trustkit.remote.auth import login_hint

__all__ = ["advice_for", "explained", "logged", "with_message"]


def with_message(error: TrustkitError, message: str) -> TrustkitError:
    """A copy of ``error`` (same class and fields) with another message."""
    try:
        if isinstance(error, RemoteError):
            return type(error)(message, status=error.status, code=error.code, detail=error.detail)
        if isinstance(error, RootMismatchError):
            return type(error)(message, expected_sha256=error.expected_sha256)
        return type(error)(message)
    except TypeError:  # pragma: no cover - a subclass with another constructor: keep the original
        return error


def advice_for(error: TrustkitError, *, gun: str, server: str, registry: str | None) -> str | None:
    """What to do about ``error`` met while working on ``gun`` at ``server``, or None when there is nothing to add."""
    if isinstance(error, RepositoryNotFoundError):
        return (
            f"trust data missing for remote repository {gun} or remote repository not found at {server}: add a "
            f"signer (DockerTrust.add_signer) or sign a tag to initialise it, or, if it exists, check that "
            f"DOCKER_CONTENT_TRUST_SERVER names its notary server (docker uses https://<registry host> otherwise)"
        )
    if isinstance(error, UnauthorizedError):
        cause = str(error).split(". To fix it,", 1)[0]
        return f"unauthorized: {server} refused {gun} ({cause}). To fix it, {login_hint(registry)}"
    if isinstance(error, PassphraseError):
        return (
            f"wrong or missing passphrase: set {DOCKER_ROOT_PASSPHRASE_ENV} for root keys and "
            f"{DOCKER_REPOSITORY_PASSPHRASE_ENV} for repository and signer keys (or pass passphrase=)"
        )
    return None


@contextlib.contextmanager
def explained(*, gun: str, server: str, registry: str | None, prefix: str = "") -> Iterator[None]:
    """Re-raise trustkit errors met inside the block with ``prefix`` and advice (same type, chained)."""
    try:
        yield
    except TrustkitError as exc:
        advice = advice_for(exc, gun=gun, server=server, registry=registry)
        if advice is None and not prefix:
            raise
        if advice is None:
            message = str(exc)
        elif isinstance(exc, UnauthorizedError):
            message = advice
        else:
            message = f"{advice} ({exc})"
        raise with_message(exc, f"{prefix}{message}") from exc


def logged(logger: logging.Logger, warnings: Iterable[str]) -> tuple[str, ...]:
    """``warnings`` logged one by one at WARNING on ``logger``, and returned to be kept in the result (its
    ``warnings`` or ``problems``): a DCT operation both says and returns what deserves attention."""
    kept = tuple(warnings)
    for warning in kept:
        logger.warning("%s", warning)
    return kept
