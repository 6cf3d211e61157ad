"""The layers hold: no module imports a higher layer, nor another package's private modules or names.

Layers bottom-up (docs/architecture.md): the base modules, keys, metadata, trust, keystore and remote, client, dct,
then the capabilities (policy, archive, migrate). Every ``import`` counts, wherever it stands: inside a function,
under ``TYPE_CHECKING``, in a ``try``. Private means a name or module starting with ``_``; a package's own private
parts are its business, another package's are not (what is shared gets a public, documented name in its owner).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "trustkit"

BASE = 0
LAYERS = {
    "keys": 1,
    "metadata": 2,
    "trust": 3,
    "keystore": 4,
    "remote": 4,
    "client": 5,
    "dct": 6,
    "policy": 7,
    "archive": 7,
    "migrate": 7,
    "fleet": 8,
}
"""Each package's layer; the top-level private modules (``trustkit._encoding``, ``_fs``, ``_lazy``, ``_config``) and
``trustkit.errors`` are the base, which every layer may use."""
TOP = 9
"""``trustkit`` itself: the public face that re-exports every layer."""

ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # Known violations, each to be fixed by another change of issue 18 -- this list must only shrink:
        # (none left: issue 18 item 2 gave the compact form and the HTTP core public names)
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str | None:
    """The layer package of a ``trustkit`` module (``keys``, ``metadata``…), None for the base and the root."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return parts[1]


def _layer(module: str) -> int:
    if module == "trustkit":
        return TOP
    package = _package(module)
    return BASE if package is None else LAYERS[package]


def _is_private_module(target: str, importer: str) -> bool:
    """Whether ``target`` is a private module of a package other than ``importer``'s (base modules are shared)."""
    package = _package(target)
    if package is None or package == _package(importer):
        return False
    return any(part.startswith("_") for part in target.split(".")[2:])


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(imported trustkit module, the private name imported from it or "", line) for every import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend(
                (alias.name, "", node.lineno) for alias in node.names if alias.name.split(".")[0] == "trustkit"
            )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "trustkit":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if (ROOT.parent / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                    ROOT.parent / submodule.replace(".", "/")
                ).is_dir():
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((base, alias.name if alias.name.startswith("_") else "", node.lineno))
    return found


def _violations() -> list[tuple[str, str, str]]:
    """(importer, imported, why) for every import that breaks the rules."""
    out: list[tuple[str, str, str]] = []
    for path in sorted(ROOT.rglob("*.py")):
        importer = _module_name(path)
        for target, private_name, line in _imports(path):
            if target == importer:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line}"
            if _layer(target) > _layer(importer) and not target.startswith(importer + "."):
                out.append((importer, target, f"{where}: {importer} (layer {_layer(importer)}) imports {target}"))
            elif _is_private_module(target, importer):
                out.append((importer, target, f"{where}: {importer} imports another package's private {target}"))
            elif private_name and _package(target) not in {None, _package(importer)}:
                out.append((importer, target, f"{where}: {importer} imports private {private_name} from {target}"))
    return out


def test_no_upward_or_private_import_outside_the_allow_list() -> None:
    """Every import respects the layers and privacy, except the listed known violations."""
    broken = [why for importer, target, why in _violations() if (importer, target) not in ALLOWED]
    assert broken == [], "\n".join(broken)


def test_the_allow_list_only_lists_real_violations() -> None:
    """A violation fixed must leave the allow-list: it only shrinks."""
    still = {(importer, target) for importer, target, _ in _violations()}
    assert sorted(ALLOWED - still) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from trustkit.client.reader import Reader\n", "imports trustkit.client.reader"),
        ("def f():\n    import trustkit.dct.client\n", "imports trustkit.dct.client"),
        ("from trustkit.keys._der import read\n", "private trustkit.keys._der"),
        ("from trustkit.keys.public import _helper\n", "private _helper"),
    ],
)
def test_the_checker_catches_what_it_must(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: str
) -> None:
    """A planted upward or private import in the metadata layer is reported (so the tests above can fail)."""
    fake_root = tmp_path / "trustkit"
    (fake_root / "metadata").mkdir(parents=True)
    (fake_root / "keys").mkdir()
    (fake_root / "keys" / "_der.py").write_text("")
    (fake_root / "metadata" / "planted.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    reports = [why for _, _, why in _violations()]
    assert len(reports) == 1 and expected in reports[0]
