"""Sphinx configuration of trustkit's documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (needs ``pip install -e '.[docs]'``).
The pages are Markdown (MyST); the API reference is generated from the docstrings with autodoc.
"""

from __future__ import annotations

import importlib.util
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # document the working tree, installed or not

import trustkit  # noqa: E402

project = "trustkit"
author = "the trustkit authors"
copyright = "the trustkit authors"
release = trustkit.__version__
version = re.sub(r"(\d+\.\d+).*", r"\1", release)

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# MyST: anchors for headings (links such as keystores.md#passphrases), ::: fences, definition lists.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc: members in source order, type hints in the signature, no private names.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Names the remotes import for type checkers only (a read without credentials loads neither module): shown by name
autodoc_type_aliases = {"AuthOption": "AuthOption", "ServerConfig": "ServerConfig"}
add_module_names = False
python_display_short_literal_types = True

html_theme = "furo"
html_title = f"trustkit {release}"
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}

# Pages written alongside other layers: the Docker Content Trust guide, troubleshooting and the API page of
# trustkit.dct, with that layer; the robustness report with tests/robustness/. They are listed in the toctrees where
# they belong, and other pages link to them. Until a page exists (for api/dct: until trustkit.dct exists), it is
# excluded, its toctree entries are dropped and links to it become plain text, so the build stays warning-free
# meanwhile -- and a link to any other missing page still fails it.
PENDING_PAGES = ("dct-guide", "troubleshooting", "robustness", "api/dct")


def _present(page: str) -> bool:
    if page == "api/dct" and importlib.util.find_spec("trustkit.dct") is None:
        return False
    return (DOCS / f"{page}.md").exists()


MISSING_PAGES = [page for page in PENDING_PAGES if not _present(page)]
exclude_patterns += [f"{page}.md" for page in MISSING_PAGES]


def _drop_missing_pages(app: Any, docname: str, source: list[str]) -> None:
    for page in MISSING_PAGES:
        relative = posixpath.relpath(page, posixpath.dirname(docname) or ".")
        entry = re.escape(relative)
        source[0] = re.sub(rf"(?m)^{entry}\n", "", source[0])  # a toctree entry
        source[0] = re.sub(rf"\[([^\]]*)\]\({entry}\.md(?:#[^)]*)?\)", r"\1", source[0])  # a link


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _drop_missing_pages)
    return {"parallel_read_safe": True}
