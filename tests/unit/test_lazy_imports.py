"""Lazy exports: every package's ``TYPE_CHECKING`` imports, ``__all__`` and lazy map agree, and a process that only
reads trust data imports only the read path (the start-up cost of every inspect; see benchmarks/README.md)."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trustkit"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def _type_checking_imports(path: Path) -> dict[str, str]:
    """name -> module, from the ``if TYPE_CHECKING:`` block of ``path``."""
    names: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    names.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return names


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_package_exports_agree(name: str) -> None:
    module = importlib.import_module(f"trustkit.{name}")
    declared = _type_checking_imports(PACKAGE / name / "__init__.py")
    assert sorted(declared) == sorted(module.__all__), "TYPE_CHECKING imports and __all__ differ"
    for export, home in declared.items():
        value = getattr(module, export)
        assert value is getattr(importlib.import_module(home), export)
        assert export in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_top_level_exports_resolve() -> None:
    import trustkit

    for export in trustkit.__all__:
        assert getattr(trustkit, export) is not None


_READ_PATH = """
import json, sys
from trustkit import MetadataCache, NotaryServer, Reader
Reader, NotaryServer, MetadataCache  # resolved: their modules are imported
print(json.dumps(sorted(sys.modules)))
"""


def test_read_path_imports_only_what_reading_needs() -> None:
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", _READ_PATH], text=True)))
    assert {"trustkit.client.reader", "trustkit.remote.notary_server", "trustkit.trust.trusted_set"} <= loaded
    heavy_for_nothing = {
        "trustkit.client.repository",
        "trustkit.client.changelist",
        "trustkit.client.health",
        "trustkit.keystore",
        "trustkit.keys.private",
        "trustkit.remote.local",
        "trustkit.remote._notary_rules",
        "trustkit.dct",
        "importlib.metadata",  # 18 ms for a version string
        "secrets",
    }
    assert not heavy_for_nothing & loaded
