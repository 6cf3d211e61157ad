"""The documentation site builds with Sphinx, warnings as errors, and its API reference covers every public name.

The same build by hand: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import trustkit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NEEDED = ("sphinx", "myst_parser", "furo")


def _require_sphinx() -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install -e '.[docs]' (the test extra includes it)"
        if os.environ.get("CI"):
            pytest.fail(message + " -- CI must build the docs", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML site, built once from a clean state with warnings as errors."""
    _require_sphinx()
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"the docs build failed or warned:\n{result.stderr}\n{result.stdout}"
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    return out


def inventory(site: Path) -> dict[str, str]:
    """Sphinx's objects.inv: every documented object's full name and its role (``py:class``, ``std:doc``, …)."""
    data = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four text header lines, then zlib-compressed lines
        header_end = data.index(b"\n", header_end) + 1
    objects = {}
    for line in zlib.decompress(data[header_end:]).decode().splitlines():
        name, role, *_ = line.split(" ", 2)
        objects[name] = role
    return objects


def test_every_page_is_built(site: Path) -> None:
    pages = sorted(p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md") if "_build" not in p.parts)
    assert Path("index.html") in pages and Path("getting-started.html") in pages
    assert [page for page in pages if not (site / page).is_file()] == []
    home = (site / "index.html").read_text(encoding="utf-8")
    for page in ("getting-started", "keys-and-roles", "delegations-and-signers", "trust-model", "repository"):
        assert f'href="{page}.html"' in home
    for page in ("servers", "expiry-and-health", "how-to/index", "api/index", "changelog"):
        assert f'href="{page}.html"' in home


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    objects = inventory(site)
    documented = {name.rsplit(".", 1)[-1] for name, role in objects.items() if role.startswith("py:")}
    public = [name for name in trustkit.__all__ if not name.startswith("_")]
    undocumented = [name for name in public if name not in documented]
    assert undocumented == [], f"add the layer's page to docs/api/ (automodule) for: {undocumented}"
    for name in ("trustkit.client.Reader", "trustkit.client.Repository", "trustkit.trust.TrustedMetadataSet"):
        assert objects.get(name) == "py:class", name
    assert objects.get("trustkit.client.health.health_report") == "py:function"
    assert objects.get("trustkit.client.health.HealthReport") == "py:class"


def test_the_api_pages_carry_the_docstrings(site: Path) -> None:
    health = (site / "api" / "health.html").read_text(encoding="utf-8")
    assert "trusted state for what will break soon" in health
    assert "repository_summary" in health and "unsignable_roles" in health
    client = (site / "api" / "client.html").read_text(encoding="utf-8")
    assert "Run the update workflow and return the trusted state" in client
