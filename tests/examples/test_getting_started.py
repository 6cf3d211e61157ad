"""docs/getting-started.md names every optional extra and every example, and says how each example runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "getting-started.md").read_text()


def test_every_extra_is_listed_with_what_it_is_for() -> None:
    text = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+, trustkit supports 3.10
    table = text[text.index("[project.optional-dependencies]\n") :].split("\n[", 1)[0]
    extras = set(re.findall(r"^([a-z]+) = ", table, flags=re.MULTILINE))
    assert {"hsm", "cosign", "fast", "test"} <= extras
    listed = set(re.findall(r"^- `([a-z]+)`: \S", PAGE, flags=re.MULTILINE))
    assert listed == extras


def test_every_example_is_named_and_those_that_need_arguments_say_so() -> None:
    examples = sorted(p.name for p in (ROOT / "examples").iterdir() if p.suffix in {".py", ".ipynb"})
    section = PAGE[PAGE.index("## Where next") :]
    runs_alone, needs_more = section.split("- Two need more:")
    for name in examples:
        assert f"`{name}`" in section, name
    for name in ("migrate_off_dct.py", "explore_repository.ipynb"):
        assert f"`{name}`" in needs_more and f"`{name}`" not in runs_alone
    assert "python examples/migrate_off_dct.py GUN --registry URL --key" in needs_more
