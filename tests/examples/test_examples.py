"""Every example runs, end to end, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_and_verifies() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, check=True, timeout=120
    )
    assert "targets/releases verified: 1/1 signatures" in result.stdout
    assert "tampered file rejected: valid signatures did not meet threshold for targets/releases" in result.stdout
    assert "signed tag v1.0: sha256:" + "5f" * 32 in result.stdout
