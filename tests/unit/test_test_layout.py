"""The tests' own layout: a test module takes shared helpers from tests/support (or an interop helper module), never
from another test module or a conftest, so that moving or deleting one test file breaks no other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in _imported_modules(path):
            last = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                offenders.append(f"{path.relative_to(TESTS)} imports {module}")
    assert offenders == []


def test_the_shared_helpers_are_one_package() -> None:
    assert (TESTS / "support" / "__init__.py").is_file()
    assert (TESTS / "support" / "repo_sim.py").is_file()
    assert not (TESTS / "unit" / "repo_sim.py").exists()


def _called_names(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            found.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return found


def test_one_repository_simulator() -> None:
    """Only tests/support/repo_sim.py builds signed repositories among the shared helpers (the server's view and a
    publishing client's deltas alike), so a second builder cannot grow there again."""
    builders = {"make_root_key", "Root", "Targets", "Snapshot", "Timestamp"}
    others = sorted(
        path.name
        for path in (TESTS / "support").glob("*.py")
        if path.name != "repo_sim.py" and _called_names(path) & builders
    )
    assert others == []
    assert _called_names(TESTS / "support" / "repo_sim.py") >= builders
