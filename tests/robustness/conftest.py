"""The robustness suite's report: its figures at the end of the terminal output (and as JSON on request)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.robustness.figures import FIGURES, summary_lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if not lines:
        return
    terminalreporter.section("trustkit robustness figures")
    for line in lines:
        terminalreporter.write_line(line)
    report = os.environ.get("TRUSTKIT_ROBUSTNESS_REPORT")
    if report:
        Path(report).write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str) + "\n")
