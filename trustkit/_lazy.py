"""Lazy package exports (PEP 562): a package names what it offers without importing every module behind it.

A process that only reads trust data then never pays for the keystores, the changelist, the DCT layer or their
dependencies (``logging``, ``subprocess``, ``html``, ...): each name is imported from its module the first time it
is used, and kept in the package. Packages keep an ordinary ``if TYPE_CHECKING:`` import block for type checkers
and a literal ``__all__``; ``tests/unit/test_lazy_imports.py`` checks the three agree.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers take it as True
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which exports ``exports`` (module -> names in it)."""
    home = {name: module for module, names in exports.items() for name in names}
    namespace = sys.modules[package].__dict__

    def getattr_(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(home))

    return getattr_, dir_
