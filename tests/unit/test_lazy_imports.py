"""Exports: the root's one table (``trustkit._EXPORTS``) and its stub (``trustkit/__init__.pyi``) agree, every
package's imports and ``__all__`` agree, and a process that only reads trust data imports only the read path (the
start-up cost of every inspect; see benchmarks/README.md)."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "trustkit"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def _declared_imports(path: Path) -> dict[str, str]:
    """name -> module, from the imports of ``path``: its own and those of its ``if TYPE_CHECKING:`` block (the lazy
    loader's import aside)."""
    names: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        statements = [node]
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            statements = node.body
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and statement.module and statement.module != "trustkit._lazy":
                names.update({alias.asname or alias.name: statement.module for alias in statement.names})
    return names


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_package_exports_agree(name: str) -> None:
    """A plain package imports what it exports; a lazy one (``client``, ``keys``, ``remote``) has one table, and
    its stub ``__init__.pyi`` imports the same names from the same modules for type checkers."""
    module = importlib.import_module(f"trustkit.{name}")
    stub = PACKAGE / name / "__init__.pyi"
    declared = _declared_imports(stub if stub.exists() else PACKAGE / name / "__init__.py")
    assert sorted(declared) == sorted(module.__all__), "the package's imports (or its stub's) and __all__ differ"
    if stub.exists():
        assert not _declared_imports(PACKAGE / name / "__init__.py"), "a lazy package names its exports once"
        assert declared == {export: home for home, names in module._EXPORTS.items() for export in names}
    for export, home in declared.items():
        value = getattr(module, export)
        assert value is getattr(importlib.import_module(home), export)
        assert export in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_top_level_exports_resolve() -> None:
    import trustkit

    for export in trustkit.__all__:
        assert getattr(trustkit, export) is not None


def test_stub_is_the_table() -> None:
    """Type checkers read ``trustkit/__init__.pyi``: it must name what the table names, from the same modules."""
    import trustkit

    table = {name: module for module, names in trustkit._EXPORTS.items() for name in names}
    stub = _declared_imports(PACKAGE / "__init__.pyi")
    assert stub == table
    assert sorted(trustkit.__all__) == sorted(table)
    assert set(table) <= set(dir(trustkit))
    for name, module in table.items():
        assert getattr(trustkit, name) is getattr(importlib.import_module(module), name)
    with pytest.raises(AttributeError, match="module 'trustkit' has no attribute 'nope'"):
        trustkit.nope  # noqa: B018


def test_table_names_defining_modules() -> None:
    """The table points at the module that defines each name and lists it in its ``__all__``, not at a package that
    re-exports it, so that a name's first use imports only its own module."""
    import trustkit

    for module_name, names in trustkit._EXPORTS.items():
        module = importlib.import_module(module_name)
        assert not hasattr(module, "__path__"), f"{module_name} is a package"
        assert set(names) <= set(module.__all__), module_name


def test_version_module_does_not_import_the_package_root() -> None:
    """The HTTP core's User-Agent reads ``trustkit._version``, not the package root (no import cycle through it)."""
    http_core = (PACKAGE / "remote" / "_http.py").read_text()
    assert "from trustkit import" not in http_core
    assert "from trustkit._version import __version__" in http_core


_READ_PATH = """
import json, sys
from trustkit import MetadataCache, NotaryServer, Reader
Reader, NotaryServer, MetadataCache  # resolved: their modules are imported
print(json.dumps(sorted(sys.modules)))
"""


def test_read_path_imports_only_what_reading_needs() -> None:
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", _READ_PATH], text=True)))
    assert {"trustkit.client.reader", "trustkit.remote.notary_server", "trustkit.trust.trusted_set"} <= loaded
    heavy_for_nothing = {
        "trustkit.client.repository",
        "trustkit.client.changelist",
        "trustkit.client.health",
        "trustkit.keystore",
        "trustkit.keys.private",
        "trustkit.remote.local",
        "trustkit.remote._notary_rules",
        "trustkit.remote.auth",  # credentials and challenges: imported when given or first asked for
        "trustkit.remote.config",
        "subprocess",  # credential helpers
        "trustkit.dct",
        "importlib.metadata",  # 18 ms for a version string
        "secrets",
    }
    assert not heavy_for_nothing & loaded


_READ_FROM_A_SERVER = """
import datetime, json, sys
import httpx
from trustkit import MetadataCache, NotaryServer, Reader

files = {path: bytes.fromhex(data) for path, data in json.loads(open(sys.argv[1]).read()).items()}
gun, cache, now = sys.argv[2], sys.argv[3], datetime.datetime.fromisoformat(sys.argv[4])
challenge = 'Bearer realm="https://notary.test/token",service="notary-server"'

def serve(request, *, token=None):
    if request.url.path == "/token":
        return httpx.Response(200, json={"token": "t0k"})
    if token is not None and request.headers.get("authorization") != f"Bearer {token}":
        return httpx.Response(401, headers={"www-authenticate": challenge})
    data = files.get(request.url.path.partition("/_trust/tuf/")[2])
    return httpx.Response(404) if data is None else httpx.Response(200, content=data)

def rows(handler, folder, **auth):
    server = NotaryServer("https://notary.test", transport=httpx.MockTransport(handler), **auth)
    reader = Reader(gun, server, cache=MetadataCache(folder, gun), clock=lambda: now)
    return [row.name for row in reader.list_target_rows(roles=["targets", "targets/releases"])]

anonymous = rows(serve, cache + "/anonymous")
loaded = sorted(sys.modules)
challenged = rows(lambda request: serve(request, token="t0k"), cache + "/challenged")
after = sorted(sys.modules)
from trustkit.remote import Credentials
logged_in = rows(lambda request: serve(request, token="t0k"), cache + "/logged-in", auth=Credentials("u", "p"))
print(json.dumps({"anonymous": anonymous, "loaded": loaded, "challenged": challenged, "after": after,
                  "logged_in": logged_in, "last": sorted(sys.modules)}))
"""


def test_reading_without_credentials_imports_no_authentication(tmp_path: Path) -> None:
    """A read from a notary server that asks for no credentials, given none, never imports the authentication
    module, docker's configuration or ``subprocess`` (credential helpers): every inspect's start-up pays for what it
    uses. A server that challenges the same read is still answered (the module is imported then), as it is with
    credentials given."""
    from tests.support.repo_sim import GUN, NOW, small_repo

    sim = small_repo()
    published = sim.publish()
    served: dict[str, str] = {}
    for role, data in published.items():
        served[f"{role}.json"] = data.hex()
        served[f"{role}.{hashlib.sha256(data).hexdigest()}.json"] = data.hex()
    served["1.root.json"] = published["root"].hex()
    (tmp_path / "files.json").write_text(json.dumps(served))
    script = [sys.executable, "-c", _READ_FROM_A_SERVER, str(tmp_path / "files.json"), GUN, str(tmp_path)]
    out = json.loads(subprocess.check_output([*script, NOW.isoformat()], text=True))
    assert out["anonymous"] == out["challenged"] == out["logged_in"] == ["v1", "v2"]
    credentials_machinery = {"trustkit.remote.auth", "trustkit.remote.config", "trustkit._config", "subprocess"}
    assert not credentials_machinery & set(out["loaded"])
    assert "trustkit.remote.auth" in out["after"]
