"""Every public signature resolves at run time: ``typing.get_type_hints`` on each exported function, and on each
public method (and ``__init__``) of each exported class, of every package.

Tools read them (pydantic's ``validate_call``, FastAPI's dependencies, typer, beartype, Sphinx): a name imported
for type checkers only, to keep a module off the read path, must still resolve when asked for
(``typing.ForwardRef`` to its public place, imported then)."""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import trustkit

PACKAGES = (
    "trustkit",
    "trustkit.archive",
    "trustkit.client",
    "trustkit.dct",
    "trustkit.fleet",
    "trustkit.keys",
    "trustkit.keystore",
    "trustkit.metadata",
    "trustkit.migrate",
    "trustkit.policy",
    "trustkit.remote",
    "trustkit.trust",
)


def _public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    seen: set[int] = set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                candidates = [(f"{package}.{name}", obj)]
            elif inspect.isclass(obj):
                candidates = []
                for attribute in dir(obj):
                    if attribute.startswith("_") and attribute != "__init__":
                        continue
                    static = inspect.getattr_static(obj, attribute)
                    if inspect.isfunction(static) or isinstance(static, classmethod | staticmethod):
                        function = getattr(obj, attribute)
                        if getattr(function, "__module__", "").startswith("trustkit"):
                            candidates.append((f"{package}.{name}.{attribute}", function))
            else:
                continue
            for qualified, function in candidates:
                if id(function) not in seen:
                    seen.add(id(function))
                    yield qualified, function


def test_every_public_signature_resolves() -> None:
    failures = []
    checked = 0
    for qualified, function in _public_callables():
        checked += 1
        try:
            typing.get_type_hints(function)
        except Exception as exc:
            failures.append(f"{qualified}: {type(exc).__name__}: {exc}")
    assert checked > 300, f"only {checked} signatures found: the sweep no longer sees the packages"
    assert failures == []


@pytest.mark.parametrize(
    ("function", "parameter", "text"),
    [
        (trustkit.NotaryServer.__init__, "auth", "Authenticator"),
        (trustkit.AsyncNotaryServer.from_config, "config", "ServerConfig"),
        (trustkit.make_root_key, "key", "PrivateKey"),
    ],
)
def test_names_imported_for_type_checkers_only_resolve_to_the_real_classes(
    function: Callable[..., Any], parameter: str, text: str
) -> None:
    assert text in repr(typing.get_type_hints(function)[parameter])
