"""examples/explore_repository.ipynb executes from top to bottom, and its tables show what a user looks for."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest


def _import(name: str) -> Any:
    """The module, or a skip -- a failure under CI, which must execute the notebook."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} not installed: pip install -e '.[test]' (nbformat, nbclient, ipykernel)"
        if os.environ.get("CI"):
            pytest.fail(message + " -- CI must execute the notebook", pytrace=False)
        pytest.skip(message, allow_module_level=True)


nbformat = _import("nbformat")
nbclient = _import("nbclient")
_import("ipykernel")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "explore_repository.ipynb"


@pytest.fixture(scope="module")
def executed() -> Any:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
    return notebook


def outputs(notebook: Any, mime: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and mime == "text/plain":
                found.append(output["text"])
            elif mime in output.get("data", {}):
                found.append(output["data"][mime])
    return found


def test_the_stored_notebook_is_valid_and_has_no_errors() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_it_shows_roles_keys_thresholds_and_signed_tags_as_html_tables(executed: Any) -> None:
    html = outputs(executed, "text/html")
    summaries = [page for page in html if "trustkit-summary" in page]
    assert summaries, "the repository summary renders as HTML"
    summary = summaries[0]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", summary)
    assert headers[:8] == ["ROLE", "SIGNER", "KEYS", "THRESHOLD", "VERSION", "EXPIRES", "PATHS", "TARGETS"]
    assert headers[8:] == ["TAG", "DIGEST", "SIZE", "SIGNED BY"]
    for role in ("root", "targets", "snapshot", "timestamp", "targets/ci", "targets/releases", "targets/alice"):
        assert re.search(f"<td[^>]*>{role}</td>", summary), role
    assert "cert until" in summary and "not trusted" in summary  # root certificate expiry; bob's skipped role
    assert "nightly-2023-12-01" in summary and "sha256:" + "a1" * 32 in summary
    assert "targets/releases, targets/alice (alice)" in summary  # v1.0 by role, with docker's signer name
    assert re.search(r"<td[^>]*>targets/ci</td><td[^>]*>ci</td>", summary)  # the signer name beside its role
    assert "v0.9" not in summary  # bob's tag is not trusted any more


def test_the_health_report_finds_each_problem_then_none(executed: Any) -> None:
    reports = [page for page in outputs(executed, "text/html") if "trustkit-health" in page]
    assert len(reports) == 2
    before, after = reports
    assert ": 3 problems</h4>" in before
    assert "Roles expiring within 183 days" in before and "targets/ci" in before
    assert "Roles below their threshold" in before and "targets/bob" in before
    assert "Certificates expiring within 183 days" in before and "localhost:5000/example/explore" in before
    assert "Keys without a private key in the keystore" in before and "0 of 1 needed" in before
    assert ": ok</h4>" in after


def test_the_text_tables_print_in_a_terminal(executed: Any) -> None:
    text = "\n".join(outputs(executed, "text/plain"))
    assert "Trust data of localhost:5000/example/explore on " in text
    assert re.search(r"^ROLE +SIGNER +KEYS +THRESHOLD +VERSION +EXPIRES +PATHS +TARGETS$", text, re.MULTILINE)
    assert re.search(r"^TAG +DIGEST +SIZE +SIGNED BY$", text, re.MULTILINE)
