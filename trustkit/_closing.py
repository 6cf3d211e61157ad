"""Objects that hold connections: ``with`` closes them on the way out, whatever happens inside.

Shared by every layer whose objects open connections lazily (:class:`~trustkit.dct.DockerTrust`,
:class:`~trustkit.policy.Verifier`), so that each says once what closing means (its ``close()``) and the context
manager protocol is written once.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["Closing"]

_Self = TypeVar("_Self", bound="Closing")


class Closing:
    """A context manager whose exit calls :meth:`close`: ``with Thing(...) as thing:`` closes ``thing`` after."""

    __slots__ = ()

    def close(self) -> None:
        """Close what this object opened (each subclass says what)."""
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
