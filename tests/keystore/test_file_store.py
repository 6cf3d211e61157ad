"""FileKeyStore on disk: notary's layout and permissions, atomic writes under crashes, corrupt and foreign files,
legacy layouts, and the default trust directories."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trustkit as tk
from tests.support.keystores import DATA, GUN
from trustkit.errors import KeyFormatError, UnknownKeyError
from trustkit.keys.pem import decode_pem_blocks
from trustkit.keystore import FileKeyStore, docker_trust_dir, notary_trust_dir

PASS = "file store passphrase"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_layout_and_permissions(tmp_path: Path) -> None:
    trust = tmp_path / "new" / "trust"
    store = FileKeyStore(trust, passphrase=PASS)
    assert not trust.exists()  # opening changes nothing on disk
    key = tk.generate_private_key(role="targets", gun=GUN)
    info = store.add_key(key)
    path = trust / "private" / f"{key.key_id}.key"
    assert info.path == path and info.location == str(trust / "private")
    assert sorted(p.name for p in (trust / "private").iterdir()) == [path.name]
    assert mode(path) == 0o600
    assert mode(trust / "private") == 0o700 and mode(trust) == 0o700
    text = path.read_bytes()
    assert text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: " + GUN.encode() + b"\nrole: targets\n\n")
    assert tk.load_private_key(text, PASS).key_id == key.key_id
    assert repr(store) == f"FileKeyStore({str(trust)!r}, passphrase=RolePassphrases(roles=[], default=<hidden>))"


def test_existing_folders_keep_their_mode_but_private_is_made_0700(tmp_path: Path) -> None:
    (tmp_path / "trust" / "private").mkdir(parents=True, mode=0o755)
    os.chmod(tmp_path / "trust", 0o755)
    os.chmod(tmp_path / "trust" / "private", 0o755)
    store = FileKeyStore(tmp_path / "trust", passphrase=PASS)
    info = store.add_key(tk.generate_private_key(role="root"))
    assert info.path is not None and mode(info.path) == 0o600
    assert mode(tmp_path / "trust") == 0o755 and mode(tmp_path / "trust" / "private") == 0o700


@pytest.mark.parametrize("fail", ["replace", "fsync"])
def test_failed_write_leaves_the_old_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: str) -> None:
    store = FileKeyStore(tmp_path, passphrase=PASS)
    key = tk.generate_private_key(role="targets/a")
    info = store.add_key(key)
    assert info.path is not None
    before = info.path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, fail, crash)
    with pytest.raises(tk.FileAccessError, match="No space left"):
        store.change_passphrase(key.key_id, new_passphrase="another passphrase")
    monkeypatch.undo()
    assert info.path.read_bytes() == before
    assert sorted(p.name for p in info.path.parent.iterdir()) == [info.path.name]  # no temporary file left
    fresh = FileKeyStore(tmp_path, passphrase=PASS)
    assert fresh.get_private_key(key.key_id).role == "targets/a"


def test_killed_writer_leaves_a_readable_key(tmp_path: Path) -> None:
    """A process killed (SIGKILL) in the middle of replacing a key file: the old file is intact and readable."""
    store = FileKeyStore(tmp_path, passphrase=PASS)
    key = tk.generate_private_key(role="root")
    info = store.add_key(key)
    assert info.path is not None
    before = info.path.read_bytes()
    child = textwrap.dedent(
        f"""
        import os, signal
        from trustkit.keystore import FileKeyStore
        store = FileKeyStore({str(tmp_path)!r}, passphrase={PASS!r})
        def die(*args, **kwargs):  # the new bytes are fsynced in the temporary file: die before the rename
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace = die
        store.change_passphrase({key.key_id!r}, new_passphrase="passphrase never committed")
        """
    )
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert info.path.read_bytes() == before
    leftovers = [p.name for p in info.path.parent.iterdir() if p != info.path]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")  # the uncommitted temporary file
    fresh = FileKeyStore(tmp_path, passphrase=PASS)
    assert [i.key_id for i in fresh.list_keys(strict=True)] == [key.key_id]  # temporary files are not keys
    assert fresh.get_private_key(key.key_id).key_id == key.key_id


FOREIGN = {
    "garbage": b"this is not a key\n",
    "empty": b"",
    "certificate": b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    "public": tk.PublicKey.from_crypto(tk.generate_private_key().crypto_key.public_key()).public,
    "bad-base64": b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n!!!!\n-----END ENCRYPTED PRIVATE KEY-----\n",
    "headers-no-blank": b"-----BEGIN PRIVATE KEY-----\nrole: root\nMAA=\n-----END PRIVATE KEY-----\n",
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_corrupt_and_foreign_files_are_reported_with_their_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    store = FileKeyStore(tmp_path, passphrase=PASS)
    good = store.add_key(tk.generate_private_key(role="root"))
    data = FOREIGN[kind]
    if kind == "public":
        data = b"-----BEGIN PUBLIC KEY-----\n" + __import__("base64").encodebytes(data) + b"-----END PUBLIC KEY-----\n"
    bad = tmp_path / "private" / ("c" * 64 + ".key")
    bad.write_bytes(data)
    bad.chmod(0o600)

    with caplog.at_level(logging.WARNING, logger="trustkit.keystore"):
        assert store.list_keys() == [good]
    [record] = [r for r in caplog.records if r.name == "trustkit.keystore"]
    assert record.levelno == logging.WARNING and str(bad) in record.getMessage()

    with pytest.raises(KeyFormatError) as info:
        store.list_keys(strict=True)
    assert str(bad) in str(info.value)
    for operation in (store.get_key_info, store.get_signer, store.export_key):
        with pytest.raises(KeyFormatError, match=str(bad)):
            operation("c" * 64)
    store.remove_key("c" * 64)  # a bad file can still be removed
    assert not bad.exists()


def test_key_file_holding_another_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, passphrase=PASS)
    real = store.add_key(tk.generate_private_key(role="targets/a"))
    assert real.path is not None
    impostor = tmp_path / "private" / ("d" * 64 + ".key")
    shutil.copyfile(real.path, impostor)
    impostor.chmod(0o600)
    assert {i.key_id for i in store.list_keys()} == {real.key_id, "d" * 64}  # listing reads headers only
    with pytest.raises(KeyFormatError, match=f"{impostor}: holds key {real.key_id}, not {'d' * 64}"):
        store.get_signer("d" * 64)


def test_oversized_file(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, passphrase=PASS)
    big = tmp_path / "private" / ("e" * 64 + ".key")
    big.parent.mkdir(parents=True)
    big.write_bytes(b"x" * ((1 << 20) + 1))
    big.chmod(0o600)
    with pytest.raises(KeyFormatError, match="too large"):
        store.get_key_info("e" * 64)


def test_what_is_not_listed(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, passphrase=PASS)
    key = tk.generate_private_key(role="root")
    info = store.add_key(key)
    assert info.path is not None
    private = tmp_path / "private"
    (private / "elsewhere").mkdir()
    shutil.copyfile(info.path, private / "elsewhere" / info.path.name)  # notary cannot use keys in sub-folders
    other = tk.generate_private_key(role="root")
    target = tmp_path / "outside.key"
    target.write_bytes(other.to_pem(PASS))
    (private / f"{other.key_id}.key").symlink_to(target)  # notary skips symlinks
    (private / "notes.txt").write_text("not a key")
    assert [i.key_id for i in store.list_keys(strict=True)] == [key.key_id]
    with pytest.raises(UnknownKeyError):
        store.get_signer(other.key_id)
    with pytest.raises(ValueError, match="not a key ID"):
        store.key_path("../escape")


def copy_legacy(version: str, tmp_path: Path) -> Path:
    trust = tmp_path / f"notary{version}"
    shutil.copytree(DATA / f"notary{version}", trust)
    for key_file in trust.rglob("*.key"):  # notary wrote them 0600; the fixtures' checkout may not keep that
        key_file.chmod(0o600)
    return trust


V01 = "docker.com/notary0.1/samplerepo"
V03 = "docker.com/notary0.3/tst"
LEGACY = {
    "0.1": (
        "randompass",
        {
            ("d0c623c8e70c70d42a8a8125c44a8598588b3f6e31d5c21a83cbc338dfde8a68", "root", None),
            ("7fc757801b9bab4ec9e35bfe7a6b61668ff6f4c81b5632af19e6c728ab799599", "targets", V01),
            ("a55ccf652b0be4b6c4d356cbb02d9ea432bb84a2571665be3df7c7396af8e8b8", "snapshot", V01),
        },
    ),
    "0.3": (
        "password",
        {
            ("f4eaf871a74aa3b3a0ff95cef2455a1e4d461639f5625418e76756fc5c948690", "root", None),
            ("041b64dab281324ef2b62fd2d04f4758269e120ff063b7bc78709272821a0a02", "targets", V03),
            ("85559599cf3cf681ff193f432a7ca6d128182bd1cfa8ede2c70761deac8bc2dc", "snapshot", V03),
            ("fa842f66cac2dc898677a8660789dcff0e3b0b93b73f8952491f6493199936d3", "targets/releases", None),
        },
    ),
}  # fmt: skip


@pytest.mark.parametrize("version", sorted(LEGACY))
def test_legacy_layouts_are_read_in_place(tmp_path: Path, version: str) -> None:
    passphrase, expected = LEGACY[version]
    trust = copy_legacy(version, tmp_path)
    before = sorted(p.relative_to(trust) for p in trust.rglob("*"))
    store = FileKeyStore(trust, passphrase=passphrase)
    infos = store.list_keys(strict=True)
    assert {(i.key_id, i.role, i.gun) for i in infos} == expected
    assert sorted(store.legacy_keys(), key=lambda i: i.key_id) == sorted(infos, key=lambda i: i.key_id)
    for info in infos:
        assert info.encrypted and info.path is not None and info.path.parent != store.private_dir
        key = store.get_private_key(info.key_id)  # legacy OpenSSL-encrypted EC/RSA PEM
        assert (key.key_id, key.role, key.gun) == (info.key_id, info.role, info.gun)
        message = b"signed by a legacy key"
        method = {"ecdsa": "ecdsa", "rsa": "rsapss"}[key.keytype]
        raw = bytes.fromhex(store.get_signer(info.key_id).sign(message).signature)
        if method == "ecdsa":
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            r, s = decode_dss_signature(raw)
            raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert key.public_key.verify(method, raw, message)
        [block] = decode_pem_blocks(store.export_key(info.key_id))
        assert block.headers["path"] == info.key_id and block.headers["role"] == info.role
        assert block.headers.get("gun") == info.gun
    assert sorted(p.relative_to(trust) for p in trust.rglob("*")) == before  # nothing moved


@pytest.mark.parametrize("version", sorted(LEGACY))
def test_legacy_migration_as_notary(tmp_path: Path, version: str) -> None:
    passphrase, expected = LEGACY[version]
    trust = copy_legacy(version, tmp_path)
    store = FileKeyStore(trust, passphrase=passphrase, migrate=True)
    assert sorted(p.relative_to(trust / "private").as_posix() for p in (trust / "private").rglob("*")) == sorted(
        f"{key_id}.key" for key_id, _, _ in expected
    )
    assert store.legacy_keys() == []
    infos = store.list_keys(strict=True)
    assert {(i.key_id, i.role, i.gun) for i in infos} == expected
    for info in infos:
        assert info.path == trust / "private" / f"{info.key_id}.key" and mode(info.path) == 0o600
        text = info.path.read_bytes()
        headers = decode_pem_blocks(text)[0].headers
        assert list(headers)[:2] == ["Proc-Type", "DEK-Info"]  # Go's pem.Encode order, body unchanged
        assert headers.get("role") == info.role and headers.get("gun") == info.gun
        assert store.get_private_key(info.key_id).key_id == info.key_id
    assert store.migrate_legacy_keys() == []


def test_legacy_operations_move_or_remove_the_old_file(tmp_path: Path) -> None:
    trust = copy_legacy("0.3", tmp_path)
    store = FileKeyStore(trust, passphrase="password")
    targets_id = "041b64dab281324ef2b62fd2d04f4758269e120ff063b7bc78709272821a0a02"
    info = store.change_passphrase(targets_id, new_passphrase="a new one")
    assert info.path == trust / "private" / f"{targets_id}.key" and info.gun == "docker.com/notary0.3/tst"
    assert [i.key_id for i in store.legacy_keys()].count(targets_id) == 0
    root_id = "f4eaf871a74aa3b3a0ff95cef2455a1e4d461639f5625418e76756fc5c948690"
    store.remove_key(root_id)
    assert root_id not in store  # type: ignore[operator]
    assert not list(trust.rglob(f"{root_id}*"))


def test_docker_trust_dir(tmp_path: Path) -> None:
    assert docker_trust_dir(environ={"DOCKER_CONFIG": str(tmp_path), "HOME": "/h"}) == tmp_path / "trust"
    assert docker_trust_dir(environ={"HOME": "/h"}) == Path("/h/.docker/trust")
    assert docker_trust_dir(environ={"DOCKER_CONFIG": "", "HOME": "/h"}) == Path("/h/.docker/trust")


def test_notary_trust_dir(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert notary_trust_dir(environ=env) == home / ".notary"
    config = home / ".notary" / "config.json"
    config.parent.mkdir(parents=True)
    for value, expected in [
        ("~/.docker/trust", home / ".docker" / "trust"),
        ("/abs/trust", Path("/abs/trust")),
        ("relative/trust", tmp_path / "cwd" / "relative" / "trust"),  # relative to the cwd, as notary 0.7 does
        ("", home / ".notary"),
    ]:
        config.write_text(f'{{"Trust_Dir": "{value}", "remote_server": {{"url": "https://x"}}}}')
        assert notary_trust_dir(environ=env, cwd=tmp_path / "cwd") == expected
    config.write_text("{}")
    assert notary_trust_dir(environ=env) == home / ".notary"
    other = tmp_path / "other.json"
    with pytest.raises(FileNotFoundError):
        notary_trust_dir(other, environ=env)
    other.write_text("[1]")
    with pytest.raises(ValueError, match="expected an object"):
        notary_trust_dir(other, environ=env)
    other.write_text("{not json")
    with pytest.raises(ValueError, match="not a JSON notary config"):
        notary_trust_dir(other, environ=env)
