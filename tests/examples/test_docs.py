"""Every ```python block in the README and docs/ (its subfolders too) runs, so the documentation cannot rot."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def code_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in PAGES:
        for index, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
            blocks.append((f"{page.relative_to(ROOT).as_posix()}#{index}", match.group(1)))
    return blocks


BLOCKS = code_blocks()


def test_docs_have_code() -> None:
    assert len(BLOCKS) >= 4


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """A block may configure logging (as a reader's program would); later tests must not inherit that."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    saved = [(logger, logger.level, list(logger.handlers), logger.disabled) for logger in loggers]
    disabled = logging.root.manager.disable
    yield
    logging.disable(disabled)
    for logger, level, handlers, was_disabled in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.disabled = was_disabled


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_code_block_runs(where: str, code: str) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{where}"}
    exec(compile(code, where, "exec"), namespace)
