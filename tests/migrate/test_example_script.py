"""examples/migrate_off_dct.py as a new user meets it: a passphrase is required, a dry run writes nothing, and a
failure is one line saying what to do (exit status 1), not a traceback. Its full run against a real registry is
tests/interop/test_migrate_registry.py::test_example_migrates_and_resumes."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "migrate_off_dct.py"
GUN = "registry.example/team/app"


def _main(*argv: str) -> int:
    main: Callable[[list[str]], int] = runpy.run_path(str(SCRIPT))["main"]
    return main(list(argv))


@pytest.fixture(autouse=True)
def _no_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)


def test_an_empty_passphrase_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "cosign.key"
    assert _main(GUN, "--registry", "https://127.0.0.1:9", "--key", str(key)) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "COSIGN_PASSWORD is unset or empty" in line and "--allow-empty-passphrase" in line
    assert not key.exists()


def test_a_dry_run_writes_no_key_and_a_bad_registry_url_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "cosign.key"
    assert _main(GUN, "--registry", "127.0.0.1:5000", "--key", str(key), "--dry-run") == 1
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert "Traceback" not in captured.err and captured.out == ""
    assert line.endswith(
        "ConfigurationError: valid http(s) URL required for registry, got '127.0.0.1:5000': give the scheme, "
        "e.g. 'https://127.0.0.1:5000'"
    )
    assert not key.exists() and not key.with_suffix(".pub").exists()
