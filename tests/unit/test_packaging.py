"""Packaging facts a user relies on: the distribution's name (the PyPI name ``trustkit`` is an unrelated project, so
every install hint must name ours) and where the package's own metadata is looked up."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "trustkit-dct"

_TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".rst"}
_SKIPPED_PARTS = {".git", ".venv", "_build", "node_modules", "__pycache__"}
# ``pip install trustkit``, ``pip install 'trustkit[hsm]'``, ``pip install "trustkit>=0.1"``: each installs the
# unrelated project. ``trustkit-dct`` and local paths (``-e .``) are fine.
_WRONG_HINT = re.compile(r"""pip install\s+(?:-\S+\s+)*['"]?trustkit(?![\w.-])""")


def _project_table() -> str:
    """The ``[project]`` table of pyproject.toml as text (tomllib is 3.11+, trustkit supports 3.10)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^\[project\]\n(.*?)(?=^\[)", text, re.MULTILINE | re.DOTALL)
    assert match is not None, "pyproject.toml has no [project] table"
    return match.group(1)


def _repository_text_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*")
        if path.suffix in _TEXT_SUFFIXES and path.is_file() and not _SKIPPED_PARTS & set(path.relative_to(ROOT).parts)
    ]


def test_the_distribution_is_not_named_like_the_unrelated_pypi_project() -> None:
    name = re.search(r'^name = "([^"]+)"$', _project_table(), re.MULTILINE)
    assert name is not None
    assert name.group(1) == DISTRIBUTION


def test_no_install_hint_names_the_unrelated_pypi_project() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _repository_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if _WRONG_HINT.search(line) and path.name != Path(__file__).name
    ]
    assert offenders == []


def test_the_hint_pattern_catches_the_old_hints() -> None:
    assert _WRONG_HINT.search("pip install 'trustkit[hsm]'")
    assert _WRONG_HINT.search("pip install trustkit[fast]")
    assert _WRONG_HINT.search("pip install -q trustkit")
    assert not _WRONG_HINT.search("pip install 'trustkit-dct[hsm]'")
    assert not _WRONG_HINT.search("pip install -e '.[hsm]'")


def test_no_metadata_lookup_of_the_wrong_distribution() -> None:
    # importlib.metadata.version("trustkit") would read the unrelated project's version when that one is installed,
    # or raise PackageNotFoundError when ours is: the package's own metadata is looked up under its real name.
    lookup = re.compile(r"""(?:version|metadata|distribution|files|requires)\(\s*['"]trustkit['"]\s*\)""")
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "trustkit").rglob("*.py"))
        if lookup.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
