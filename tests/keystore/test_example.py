"""examples/keys.py runs end to end, as a user would run it, and leaves notary's layout behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "keys.py"


def test_keys_example_runs(tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(trust)], capture_output=True, text=True, check=True, timeout=120
    )
    assert "targets/ci signed by ci: 1/1 signature(s) verified" in result.stdout
    assert "exported 1 key(s) of localhost:5000/example/app into memory: ['targets']" in result.stdout
    roles = [line.split()[0] for line in result.stdout.splitlines()[5:9]]
    assert roles == ["alice", "ci", "root", "targets"]
    keys = sorted(p.name for p in (trust / "private").iterdir())
    assert len(keys) == 4 and all(len(name) == 68 and name.endswith(".key") for name in keys)
