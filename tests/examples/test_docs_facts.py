"""Facts the docs state about the code, checked against the code, so a changed default cannot leave a page behind."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop.harness import interop_required
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


def _section(page: str, heading: str) -> str:
    """The text of ``## heading`` up to the next section."""
    start = page.index(f"\n## {heading}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end >= 0 else None]


# What the how-to's code above the PKCS#11 section does with the key, on the names the section defines.
_REST_OF_THE_RECIPE = """
import tempfile
from pathlib import Path

work = Path(tempfile.mkdtemp())
gun = "localhost:5000/docs/ci"
server = tk.LocalRemote(work / "server")
admin = tk.Repository(gun, remote=server, keystore=tk.MemoryKeyStore(), trust_dir=work / "admin")
admin.initialize(server_managed_snapshot=True)
admin.add_delegation("targets/ci", keys=[public_key], paths=["build-"], publish=True)
ci = tk.Repository(gun, remote=server, keystore=ci_keys, trust_dir=work / "ci-job")
ci.add_target("build-42", tk.TargetFile.from_digest("sha256:" + "c1" * 32, 1024), roles=["targets/ci"])
ci.publish()
reader = tk.Reader(gun, server)
[signature] = reader.trusted["targets/ci"].signatures
print(uri, reader.get_target("build-42").role, signature.keyid == public_key.key_id)
"""


def test_the_pkcs11_recipe_runs_on_a_softhsm_token(tmp_path: Path) -> None:
    section = _section(
        (ROOT / "docs" / "how-to" / "sign-with-hsm-or-kms.md").read_text(encoding="utf-8"), "With a PKCS#11 token"
    )
    shell = "\n".join(re.findall(r"```sh\n(.*?)```", section, re.DOTALL))
    [python] = re.findall(r"```py\n(.*?)```", section, re.DOTALL)
    pin = re.search(r"--init-token .*--pin (\d+)", shell)
    assert pin is not None
    missing = [tool for tool in ("softhsm2-util", "pkcs11-tool") if shutil.which(tool) is None]
    library = re.search(r"PYKCS11LIB=(\S+)", shell)
    assert library is not None
    if not Path(library.group(1)).exists() or importlib.util.find_spec("pkcs11") is None:
        missing.append("the SoftHSM2 module or python-pkcs11")
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y softhsm2 opensc; pip install -e '.[test]'"
        if interop_required():
            pytest.fail(message)
        pytest.skip(message)

    # The page's shell lines, as a reader pastes them; then its Python (in a process of its own: a PKCS#11 module
    # reads its configuration once per process) and the rest of the recipe on the names it defines.
    report = 'printf "%s\\n%s\\n" "$SOFTHSM2_CONF" "$PYKCS11LIB"'
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"{shell}\n{report}"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    conf, module = done.stdout.splitlines()[-2:]
    (tmp_path / "recipe.py").write_text(python + _REST_OF_THE_RECIPE, encoding="utf-8")
    env = {**os.environ, "SOFTHSM2_CONF": conf, "PYKCS11LIB": module, "HSM_PIN": pin.group(1)}
    ran = subprocess.run(
        [sys.executable, "recipe.py"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "hsm:7?label=ci targets/ci True"
