"""Packaging facts a user relies on: the distribution's name (the PyPI name ``trustkit`` is an unrelated project, so
every install hint must name ours), where the package's own metadata is looked up, and dependency floors that are
the versions CI tests (``.ci/constraints-lowest.txt``)."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "trustkit-dct"

_TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".rst"}
_SKIPPED_PARTS = {"_build", "node_modules", "__pycache__", "build", "dist"}
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
    """The repository's own text files: hidden folders (``.git``, virtual environments) and build output pruned."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if not name.startswith(".") and name not in _SKIPPED_PARTS]
        found.extend(Path(folder, name) for name in files if Path(name).suffix in _TEXT_SUFFIXES)
    return found


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


def _requirements(key: str) -> list[Requirement]:
    """The requirement strings of the ``[project]`` array ``key`` (``dependencies``) or of an optional extra."""
    text = _project_table() if key == "dependencies" else (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    array = re.search(rf"^{re.escape(key)} = \[(.*?)\]$", text, re.MULTILINE | re.DOTALL)
    assert array is not None, f"pyproject.toml has no {key} array"
    return [Requirement(item) for item in re.findall(r'"([^"]+)"', array.group(1))]


def _lowest_pins() -> dict[str, str]:
    lines = (ROOT / ".ci" / "constraints-lowest.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): version.strip() for name, version in pins}


def test_every_floor_is_the_version_ci_tests() -> None:
    # A floor CI does not install is a guess: attrs 23.1 was allowed while 147 tests failed with it.
    floors = {}
    for requirement in [*_requirements("dependencies"), *_requirements("fast")]:
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert len(lower) == 1, f"{requirement} has no single >= floor"
        floors[requirement.name] = lower[0]
    assert floors == _lowest_pins()


def test_the_asyncio_client_never_pays_for_a_missing_sniffio() -> None:
    # httpcore's asyncio client imports sniffio for every request: when it is missing, every request searches
    # sys.path and fails (a fifth of an asyncio listing's time), so it is a dependency, not an extra.
    assert "sniffio" in {requirement.name for requirement in _requirements("dependencies")}
    assert importlib.util.find_spec("sniffio") is not None


def test_the_license_is_shipped_and_the_classifiers_say_where_it_runs() -> None:
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    project = _project_table()
    assert 'license = "Apache-2.0"' in project
    for classifier in (
        *(f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)),
        "Operating System :: OS Independent",
        "License :: OSI Approved :: Apache Software License",
    ):
        assert f'"{classifier}"' in project


def test_every_test_folder_ci_names_exists() -> None:
    # A renamed test folder left in .ci/test fails CI with "file or directory not found" (tests/dct_registry did).
    script = (ROOT / ".ci" / "test").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.-])(tests/[\w/.-]+)", script))
    assert named, "no test folder named in .ci/test"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
