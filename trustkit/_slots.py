"""Building many frozen attrs instances fast: the setter of one slot (private to trustkit, shared by its layers)."""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any

__all__ = ["slot_setter"]


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of slot ``name`` of an attrs slotted class (its member descriptor: half the cost of
    ``object.__setattr__``), for building many frozen instances; ``object.__setattr__`` when there is none."""
    for klass in cls.__mro__:
        found = vars(klass).get(name)
        if isinstance(found, MemberDescriptorType):
            return found.__set__
    return lambda obj, value: object.__setattr__(obj, name, value)  # pragma: no cover - attrs classes have slots
