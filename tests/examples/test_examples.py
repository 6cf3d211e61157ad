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
    assert "published to server/ and read back: v1.0 signed by targets/releases" in result.stdout


def run_example(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


def test_staged_changes_example() -> None:
    out = run_example("staged_changes.py")
    assert "add target 'oops' in targets" in out
    assert "after reset: 3 changes" in out and "published; still staged: 0" in out
    assert "v1.0 sha256:" + "ab" * 32 + " signed by targets/releases" in out
    assert "oops" not in out.split("published;")[1]


def test_admission_controller_example() -> None:
    out = run_example("admission_controller.py").splitlines()
    assert out[0].startswith("ADMIT v1@") and out[0].endswith("signed by alice")
    assert out[1].startswith("DENY  v1@") and "is signed for sha256:" in out[1]
    assert out[2].startswith("DENY  v2@") and "No valid trust data for v2" in out[2]
    assert out[3].startswith("DENY  v3@") and "No valid trust data for v3" in out[3]


def test_admission_controller_denies_a_tag_only_in_a_signers_role(tmp_path: Path) -> None:
    """docker releases a tag only from targets/releases or targets: a tag alice signed into her own role only is
    not released (docker pull refuses it), so the documented recipe must deny it too."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import admission_controller as example
    finally:
        sys.path.remove(str(EXAMPLES))
    import trustkit as tk

    remote, digest = example.publish_example(tmp_path)
    reader = tk.Reader(example.GUN, remote)
    assert reader.get_target("v2").role == "targets/alice"  # in alice's role, neither targets nor targets/releases
    assert example.admit(reader, "v1", digest, signers={"alice"}).allowed
    decision = example.admit(reader, "v2", digest, signers={"alice"})
    assert not decision.allowed
    assert "No valid trust data for v2" in decision.reason
