"""The rotation, HSM/KMS signing and exploration examples run end to end, as a user would run them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.harness import interop_required

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


def test_rotate_keys_example() -> None:
    out = run_example("rotate_keys.py")
    steps = re.findall(r"^(before|after \w+): root v(\d+), v1 signed by targets$", out, re.MULTILINE)
    assert steps == [
        ("before", "1"),
        ("after targets", "2"),
        ("after snapshot", "3"),
        ("after timestamp", "4"),
        ("after root", "5"),
    ]
    keys = {
        step: dict(re.findall(r"^  (\w+) +([0-9a-f]{12})$", block, re.MULTILINE))
        for step, block in re.findall(r"^(before|after \w+): .*\n((?:  .*\n){4})", out, re.MULTILINE)
    }
    assert keys["after targets"]["targets"] != keys["before"]["targets"]
    assert keys["after snapshot"]["snapshot"] != keys["before"]["snapshot"]
    assert keys["after timestamp"]["timestamp"] != keys["before"]["timestamp"]
    assert keys["after root"]["root"] != keys["before"]["root"]
    assert "after a refresh the client sees ['v1', 'v2']" in out
    assert "retired 3 old local key(s): ['root', 'snapshot', 'targets']" in out


def check_hsm_output(out: str) -> None:
    assert "CI job published build-42 to targets/ci" in out
    assert "build-42 sha256:c1c1c1c1c1c1… signed by targets/ci" in out
    assert re.search(r"signature: method ecdsa, key [0-9a-f]{12}, 64 bytes", out)
    assert "cannot be exported" in out


def test_sign_with_hsm_example_falls_back_to_a_file_key() -> None:
    out = run_example("sign_with_hsm.py", "--no-hsm")
    assert out.startswith("no HSM: --no-hsm given; signing through a file2: URI instead")
    assert "at file2:…" in out
    check_hsm_output(out)


def test_sign_with_hsm_example_on_a_softhsm_token() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import sign_with_hsm
    finally:
        sys.path.remove(str(EXAMPLES))
    if sign_with_hsm.softhsm_library() is None:
        message = "SoftHSM2 or python-pkcs11 missing: apt-get install -y softhsm2; pip install -e '.[test]'"
        if interop_required():
            pytest.fail(message)
        pytest.skip(message)
    out = run_example("sign_with_hsm.py")
    assert out.startswith("SoftHSM2 token 'trustkit-ci': ECDSA P-256 key generated inside it, URI hsm:7?label=")
    assert "at hsm:…" in out
    check_hsm_output(out)


def test_explore_repository_example() -> None:
    out = run_example("explore_repository.py")
    assert out.startswith("Trust data of localhost:5000/example/explore on ")
    assert re.search(
        r"^targets/ci +ci +[0-9a-f]{12} \(ecdsa\) +1 +1 +\S+ \S+ UTC \(in 20 days\) +nightly- +1$", out, re.M
    )
    assert re.search(r"^targets/bob +bob +\(none\) +1 +- +not trusted", out, re.MULTILINE)
    assert re.search(r"^v1\.0 +sha256:(a1){32} +2048 +targets/releases, targets/alice \(alice\)$", out, re.MULTILINE)
    assert "v0.9" not in out
    assert ": 3 problems" in out
    assert re.search(r"^targets/ci +1 +\S+ \S+ UTC +in 20 days$", out, re.MULTILINE)
    assert re.search(r"^targets/bob +1 +0 +0 +0 key\(s\) for a threshold of 1", out, re.MULTILINE)
    assert re.search(r"^root +[0-9a-f]{12} +localhost:5000/example/explore +\S+ \S+ UTC +in (89|90) days$", out, re.M)
    missing = out.split("Keys without a private key in the keystore\n")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split()[0] for line in missing] == ["targets/ci", "targets/releases", "targets/alice"]


def test_explore_repository_example_on_a_folder(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import explore_repository
    finally:
        sys.path.remove(str(EXAMPLES))
    server, _ = explore_repository.build_demo(tmp_path)
    out = run_example("explore_repository.py", explore_repository.GUN, str(server.path))
    assert "v1.0" in out and "Keys without a private key in the keystore: not checked (no keystore given)" in out
