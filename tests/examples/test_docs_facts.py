"""Facts the docs state about the code, checked against the code, so a changed default cannot leave a page behind."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from trustkit.remote import NotaryServer

ROOT = Path(__file__).resolve().parents[2]


def test_the_notary_server_options_shown_as_defaults_are_the_defaults() -> None:
    page = (ROOT / "docs" / "servers.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"^\s+(\w+)=(.+?),\s+# the default", page, re.MULTILINE))
    assert set(shown) == {"timeout", "total_timeout", "retries", "backoff"}
    parameters = inspect.signature(NotaryServer).parameters
    assert {name: ast.literal_eval(value) for name, value in shown.items()} == {
        name: parameters[name].default for name in shown
    }
