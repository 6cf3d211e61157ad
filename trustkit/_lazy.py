"""Lazy exports (PEP 562): the package root and the packages on the read path (``trustkit.client``, ``trustkit.keys``,
``trustkit.remote``) name what they offer without importing every module behind it.

A process that only reads trust data then never pays for the keystores, the changelist, the DCT layer or their
dependencies (``logging``, ``subprocess``, ``html``, ...): each name is imported from its module the first time it
is used, and kept in the package. Type checkers read the package's stub (``trustkit/__init__.pyi``,
``trustkit/client/__init__.pyi``...) of ``import Name as Name``; ``tests/unit/test_lazy_imports.py`` checks that it
agrees with the table. The other packages import eagerly: nothing on the read path imports them.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: type checkers take it as True
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["exported_from", "lazy_exports"]

_TABLES: dict[str, Mapping[str, tuple[str, ...]]] = {}
"""Each lazy package's table, as :func:`lazy_exports` was given it."""


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of ``package``, which exports ``exports`` (module -> names
    in it)."""
    home = {name: module for module, names in exports.items() for name in names}
    namespace = sys.modules[package].__dict__
    _TABLES[package] = exports

    def getattr_(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(home))

    return getattr_, dir_, sorted(home, key=_export_order)


def exported_from(package: str, module: str) -> tuple[str, ...]:
    """The names lazy ``package`` exports from ``module``, for a table that re-exports all of them (the root takes
    ``trustkit.client``'s health names), so that they are listed once. Imports the package, not the module."""
    importlib.import_module(package)
    return _TABLES[package][module]


def _export_order(name: str) -> tuple[int, str]:
    """``__all__``'s order as ruff sorts a literal one (RUF022): constants, then classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)
