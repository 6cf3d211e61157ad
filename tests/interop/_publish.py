"""Test-only helpers that talk to a real notary-server over HTTP, and read the notary CLI's tables and files.

Nothing here interprets trust data: it moves bytes between the real programs and the tests, so that every
expectation a test checks comes from notary itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization

import trustkit
from tests.interop.harness import NotaryCLI, NotaryServer
from trustkit import PublicKey

__all__ = [
    "DIGEST",
    "MANIFEST",
    "cache_files",
    "fetch_metadata",
    "fetch_server_key",
    "notary_list",
    "notary_sign",
    "pem_headers",
    "publish",
    "read_table",
    "role_url",
]


MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
"""An OCI image manifest, as docker pushes one (the interop tests sign its digest)."""
DIGEST = hashlib.sha256(MANIFEST).hexdigest()


def role_url(gun: str, name: str) -> str:
    """The server path of ``name`` (``root.json``, ``timestamp.key``, …) for ``gun``; the GUN is not escaped."""
    return f"/v2/{gun}/_trust/tuf/{name}"


def fetch_server_key(server: NotaryServer, gun: str, role: str) -> PublicKey:
    """``GET <role>.key``: the server-held key of ``timestamp`` or ``snapshot``, parsed with trustkit.

    Before a root exists each call makes a new key, so call this once per role and GUN.
    """
    with server.client() as client:
        response = client.get(role_url(gun, f"{role}.key"))
    assert response.status_code == 200, f"GET {role}.key: HTTP {response.status_code}: {response.text}"
    return PublicKey.from_dict(response.json(), where=f"server {role} key")


def fetch_metadata(server: NotaryServer, gun: str, role: str) -> bytes:
    """``GET <role>.json``: the current bytes the server holds for ``role``."""
    with server.client() as client:
        response = client.get(role_url(gun, f"{role}.json"))
    assert response.status_code == 200, f"GET {role}.json: HTTP {response.status_code}: {response.text}"
    return response.content


def publish(server: NotaryServer, gun: str, files: Mapping[str, bytes]) -> httpx.Response:
    """One multipart ``POST .../_trust/tuf/`` with a part per role, as notary's client publishes.

    Each part is ``name="files"; filename="<role>"`` with the envelope bytes as its body.
    """
    parts = [("files", (role, data, "application/octet-stream")) for role, data in files.items()]
    with server.client() as client:
        return client.post(role_url(gun, ""), files=parts)


def cache_files(metadata_dir: Path) -> dict[str, bytes]:
    """Every ``<role>.json`` below a notary cache directory (``<trust_dir>/tuf/<gun>/metadata``), by role name."""
    files: dict[str, bytes] = {}
    for path in sorted(metadata_dir.rglob("*.json")):
        role = path.relative_to(metadata_dir).as_posix().removesuffix(".json")
        files[role] = path.read_bytes()
    return files


def read_table(output: str, columns: Sequence[str]) -> list[list[str]]:
    """Rows of a table the notary CLI prints with Go's ``tabwriter`` (header, a ``----`` line, then rows).

    Cells are cut at the header's column offsets, which ``tabwriter`` aligns by code point, so cells holding
    spaces (``SIZE (BYTES)``, ``"" <all paths>``, target names) are read whole. Parsing stops at the first
    blank line after the table.
    """
    lines = output.split("\n")  # not splitlines(): target names may hold U+2028
    found = [i for i, line in enumerate(lines) if line.startswith(columns[0]) and all(c in line for c in columns)]
    if not found:
        raise AssertionError(f"no table with columns {list(columns)} in:\n{output}")
    index = found[0]
    header = lines[index]
    starts = [header.index(column) for column in columns]
    assert starts == sorted(starts), f"unexpected header layout: {header!r}"
    dashes = lines[index + 1]
    assert set(dashes.replace(" ", "")) == {"-"}, f"no separator line under the header: {dashes!r}"
    rows: list[list[str]] = []
    for line in lines[index + 2 :]:
        if not line.strip(" \r"):
            break
        bounds = [*starts[1:], None]
        rows.append([line[start:end].strip(" ") for start, end in zip(starts, bounds, strict=True)])
    return rows


def pem_headers(pem: bytes) -> dict[str, str]:
    """The ``Name: value`` header lines of the first PEM block, read independently of trustkit."""
    headers: dict[str, str] = {}
    lines = pem.decode().splitlines()
    assert lines and lines[0].startswith("-----BEGIN "), "not a PEM block"
    for line in lines[1:]:
        if not line.strip() or ":" not in line:
            break
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return headers


def notary_sign(
    notary: NotaryCLI, gun: str, tag: str, *roles: str, digest: str = DIGEST, size: int = len(MANIFEST)
) -> None:
    """What ``docker trust sign`` does after the push, with the notary CLI on docker's trust dir."""
    role_args = [arg for role in roles for arg in ("--roles", role)]
    notary.run("addhash", gun, tag, str(size), "--sha256", digest, *role_args, "-p")


def notary_list(cli: NotaryCLI, gun: str, *roles: str) -> dict[str, tuple[str, str, str]]:
    """``notary list``: name -> (sha256 hex, size, role)."""
    args = [arg for role in roles for arg in ("--roles", role)]
    rows = read_table(cli.run("list", gun, *args).stdout, ["NAME", "DIGEST", "SIZE (BYTES)", "ROLE"])
    return {name: (digest, size, role) for name, digest, size, role in rows}


def add_delegation(cli: NotaryCLI, gun: str, role: str, tmp_path: Path, paths: list[str]) -> None:
    key = trustkit.generate_private_key()
    cert = tmp_path / f"{role.replace('/', '_')}.crt"
    cert.write_bytes(trustkit.make_root_certificate(key, "delegate").public_bytes(serialization.Encoding.PEM))
    pem = tmp_path / f"{role.replace('/', '_')}.key"
    pem.write_bytes(key.to_pem())
    path_args = [arg for p in paths for arg in ("--paths", p)] if paths else ["--all-paths"]
    cli.run("delegation", "add", gun, role, str(cert), *path_args, "-p")
    cli.run("key", "import", str(pem), "-r", role)
