"""Keystores against the real notary 0.7 CLI and notary-server, in both directions.

notary → trustkit: keys made by ``notary init`` and ``notary key generate``, and keys notary re-encrypted, are listed
like ``notary key list`` lists them, decrypted, and sign metadata that verifies against the keys in notary's own
root.json -- and that notary-server accepts.
trustkit → notary: keys trustkit wrote, imported or re-encrypted are listed by ``notary key list`` and used by
``notary init``, ``notary publish``, ``notary key passwd/import/export`` and ``notary add --roles``.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import trustkit as tk
from tests.interop._publish import fetch_metadata, publish, read_table
from tests.interop.harness import NotaryCLI, NotaryServer, notary_passphrase_env, require_binary
from tests.support.keystores import DATA
from trustkit.keys.pem import decode_pem_blocks
from trustkit.keystore import FileKeyStore, NotaryEnvPassphrase, generate_key, public_key_pem

pytestmark = pytest.mark.interop

KEY_COLUMNS = ("ROLE", "GUN", "KEY ID", "LOCATION")
LIST_COLUMNS = ("NAME", "DIGEST", "SIZE (BYTES)", "ROLE")


@pytest.fixture
def short_gun() -> str:
    """A GUN short enough that ``notary key list`` prints it whole (it abbreviates long ones)."""
    return f"tk/k-{uuid.uuid4().hex[:8]}"


def notary_store(cli: NotaryCLI) -> FileKeyStore:
    """trustkit's view of the CLI's trust dir, with the passphrases the CLI reads from its environment."""
    return FileKeyStore(cli.trust_dir, passphrase=NotaryEnvPassphrase(environ=cli.env))


def key_table(cli: NotaryCLI) -> set[tuple[str, str | None, str, str]]:
    """``notary key list`` as (role, gun, key ID, location) rows."""
    rows = read_table(cli.run("key", "list").stdout, KEY_COLUMNS)
    return {(role, gun or None, key_id, location) for role, gun, key_id, location in rows}


def truncated(text: str, width: int) -> str:
    """notary's ``truncateWithEllipsis(text, width, leftTruncate=true)`` for the GUN (25) and LOCATION (40) cells."""
    return text if len(text) <= width else "..." + text[len(text) - (width - 3) :]


def store_table(store: FileKeyStore) -> set[tuple[str, str | None, str, str]]:
    """trustkit's listing, shown as ``notary key list`` shows it."""
    return {
        (i.role or "", truncated(i.gun, 25) if i.gun else None, i.key_id, truncated(i.location, 40))
        for i in store.list_keys(strict=True)
    }


def cached(cli: NotaryCLI, gun: str, role: str) -> tk.Metadata[tk.Root | tk.Targets | tk.Snapshot]:
    return tk.Metadata.from_bytes((cli.tuf_dir(gun) / f"{role}.json").read_bytes(), role=role)


def rsa_key(**kwargs: str) -> tk.PrivateKey:
    return tk.PrivateKey(rsa.generate_private_key(65537, 2048), **kwargs)


def test_notary_init_keys_are_listed_decrypted_and_sign(
    notary_cli: NotaryCLI, notary_server: NotaryServer, short_gun: str, tmp_path: Path
) -> None:
    gun = short_gun
    notary_cli.run("init", gun, "-p")
    store = notary_store(notary_cli)
    assert store_table(store) == key_table(notary_cli)
    assert {(i.role, i.gun) for i in store.list_keys()} == {("root", None), ("targets", gun), ("snapshot", gun)}

    root = cached(notary_cli, gun, "root").signed
    assert isinstance(root, tk.Root)
    # every key decrypts with notary's passphrase variables and is the key root.json lists for its role
    for info in store.list_keys():
        assert info.role is not None and info.path == store.private_dir / f"{info.key_id}.key"
        [listed] = root.role_keys(info.role).values()
        assert listed.canonical_id == info.key_id  # root's key is a certificate: the file is named by its bare key
        key = store.get_private_key(info.key_id)
        assert key.public_key == listed.bare()
        resigned = tk.Metadata(cached(notary_cli, gun, info.role).signed).sign(
            store.get_signer(info.key_id), key=listed
        )
        assert root.verify_delegate(info.role, resigned).verified

    # trustkit publishes a new target with notary's own targets and snapshot keys; a fresh notary CLI sees it.
    # (After `init -p` the CLI's cache holds version 1 while the server has version 2: read the server's.)
    targets = tk.Metadata.from_bytes(fetch_metadata(notary_server, gun, "targets"), role="targets").signed
    assert isinstance(targets, tk.Targets)
    new_targets = targets.bump().with_target("from-trustkit", tk.TargetFile.from_data(b"signed by trustkit\n"))
    [targets_id] = root.roles["targets"].keyids
    targets_bytes = tk.Metadata(new_targets).sign(store.get_signer(root.keys[targets_id].canonical_id)).to_bytes()
    snapshot = tk.Metadata.from_bytes(fetch_metadata(notary_server, gun, "snapshot"), role="snapshot").signed
    assert isinstance(snapshot, tk.Snapshot)
    new_snapshot = tk.Snapshot(
        version=snapshot.version + 1,
        expires=snapshot.expires,
        meta={**snapshot.meta, "targets": tk.MetaFile.from_data(targets_bytes)},
    )
    [snapshot_id] = root.roles["snapshot"].keyids
    snapshot_bytes = tk.Metadata(new_snapshot).sign(store.get_signer(root.keys[snapshot_id].canonical_id)).to_bytes()
    response = publish(notary_server, gun, {"targets": targets_bytes, "snapshot": snapshot_bytes})
    assert response.status_code == 200, response.text
    fresh = NotaryCLI(notary_server, tmp_path / "fresh", tmp_path / "fresh-home")
    rows = read_table(fresh.run("list", gun).stdout, LIST_COLUMNS)
    assert rows == [["from-trustkit", hashlib.sha256(b"signed by trustkit\n").hexdigest(), "19", "targets"]]


def test_notary_key_generate_keys(notary_cli: NotaryCLI) -> None:
    out = notary_cli.run("key", "generate").stdout + notary_cli.run("key", "generate", "--role", "targets/ci").stdout
    store = notary_store(notary_cli)
    assert store_table(store) == key_table(notary_cli)
    assert {i.role for i in store.list_keys()} == {"root", "targets/ci"}
    message = b"notary generated me"
    for info in store.list_keys():
        assert info.key_id in out
        signer = store.get_signer(info.key_id)
        method, raw, public = tk.keys.sign_message(signer, message)
        assert public.key_id == info.key_id and public.verify(method, raw, message)


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
def test_trustkit_root_key_is_used_by_notary_init(
    notary_cli: NotaryCLI, notary_server: NotaryServer, short_gun: str, keytype: str, tmp_path: Path
) -> None:
    """notary init picks up the root key trustkit wrote (Ed25519 cannot be a notary root: no certificate)."""
    store = notary_store(notary_cli)
    key = rsa_key(role="root") if keytype == "rsa" else tk.generate_private_key(role="root")
    info = store.add_key(key)
    assert key_table(notary_cli) == store_table(store) == {("root", None, key.key_id, truncated(store.location, 40))}
    result = notary_cli.run("init", short_gun, "-p")
    assert f"Root key found, using: {key.key_id}" in result.stdout
    root = cached(notary_cli, short_gun, "root").signed
    assert isinstance(root, tk.Root)
    [root_key] = root.role_keys("root").values()
    assert root_key.keytype == f"{keytype}-x509" and root_key.canonical_id == info.key_id
    fresh = NotaryCLI(notary_server, tmp_path / "fresh", tmp_path / "fresh-home")
    fresh.run("list", short_gun)  # a fresh client trusts and verifies what notary signed with trustkit's key


def test_trustkit_reencrypted_keys_are_used_by_notary_publish(
    notary_cli: NotaryCLI, notary_server: NotaryServer, short_gun: str, tmp_path: Path
) -> None:
    notary_cli.run("init", short_gun, "-p")
    store = notary_store(notary_cli)
    [targets] = store.list_keys(role="targets")
    [root] = store.list_keys(role="root")
    store.change_passphrase(targets.key_id, new_passphrase="a new targets passphrase")
    store.change_passphrase(root.key_id, new_passphrase="a new root passphrase")
    assert store_table(store) == key_table(notary_cli)
    payload = tmp_path / "payload.txt"
    payload.write_bytes(b"published with re-encrypted keys\n")

    notary_cli.run("add", short_gun, "v1", str(payload))
    stale = notary_cli.run("publish", short_gun, check=False)
    assert stale.returncode != 0  # control: the old passphrase no longer opens the targets key
    renewed = NotaryCLI(
        notary_server,
        notary_cli.trust_dir,
        notary_cli.home,
        passphrases=notary_passphrase_env(targets="a new targets passphrase", root="a new root passphrase"),
    )
    renewed.run("publish", short_gun)
    renewed.run("key", "rotate", short_gun, "targets")  # re-signs root.json: needs the re-encrypted root key
    renewed.run("publish", short_gun)
    fresh = NotaryCLI(notary_server, tmp_path / "fresh", tmp_path / "fresh-home")
    assert [row[0] for row in read_table(fresh.run("list", short_gun).stdout, LIST_COLUMNS)] == ["v1"]


@pytest.mark.parametrize("keytype", ["ecdsa", "ed25519", "rsa"])
def test_key_files_round_trip_through_notary(notary_cli: NotaryCLI, keytype: str, tmp_path: Path) -> None:
    """trustkit writes, notary re-encrypts (``key passwd``), trustkit reads notary's file; export and import both
    ways keep role, GUN, ID and key."""
    store = notary_store(notary_cli)
    key = rsa_key(role="targets/x") if keytype == "rsa" else tk.generate_private_key(keytype, role="targets/x")  # type: ignore[arg-type]
    info = store.add_key(key)
    targets = tk.generate_private_key(keytype if keytype != "rsa" else "ecdsa", role="targets", gun="tk/app")  # type: ignore[arg-type]
    store.add_key(targets)
    assert key_table(notary_cli) == store_table(store)

    assert info.path is not None
    before = info.path.read_bytes()
    result = notary_cli.run("key", "passwd", key.key_id)  # decrypts trustkit's file, writes notary's own
    assert f"Successfully updated passphrase for key ID: {key.key_id}" in result.stdout
    after = info.path.read_bytes()
    assert after != before and decode_pem_blocks(after)[0].headers == {"role": "targets/x"}
    store.forget_decrypted_keys()
    assert store.get_private_key(key.key_id).public_key == key.public_key

    # notary key export → trustkit import
    exported = tmp_path / "exported.pem"
    notary_cli.run("key", "export", "--key", key.key_id, "--key", targets.key_id, "-o", str(exported))
    other = FileKeyStore(tmp_path / "other", passphrase=NotaryEnvPassphrase(environ=notary_cli.env))
    other.import_keys(exported.read_bytes())
    assert {(i.key_id, i.role, i.gun) for i in other.list_keys()} == {
        (key.key_id, "targets/x", None),
        (targets.key_id, "targets", "tk/app"),
    }
    assert other.key_path(key.key_id).read_bytes() == after
    assert other.get_private_key(targets.key_id).public_key == targets.public_key

    # trustkit export → notary key import
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(store.export_keys())
    fresh = NotaryCLI(notary_cli.server, tmp_path / "fresh", tmp_path / "fresh-home")
    fresh.run("key", "import", str(bundle))
    fresh_store = notary_store(fresh)
    assert key_table(fresh) == store_table(fresh_store)
    assert {(i.key_id, i.role, i.gun) for i in fresh_store.list_keys()} == {
        (key.key_id, "targets/x", None),
        (targets.key_id, "targets", "tk/app"),
    }
    fresh.run("key", "passwd", targets.key_id)  # notary decrypts what trustkit exported

    # an unencrypted key: notary import encrypts it; trustkit import does the same, readably by notary
    plain = tmp_path / "plain.pem"
    loose = tk.generate_private_key(keytype if keytype != "rsa" else "ecdsa", role="targets/plain")  # type: ignore[arg-type]
    plain.write_bytes(loose.to_pem())
    fresh_store.import_keys(plain.read_bytes())
    assert decode_pem_blocks(fresh_store.key_path(loose.key_id).read_bytes())[0].type == "ENCRYPTED PRIVATE KEY"
    fresh.run("key", "passwd", loose.key_id)
    fresh.run("key", "remove", loose.key_id, input="yes\n")
    assert loose.key_id not in fresh_store  # type: ignore[operator]


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
def test_notary_signs_a_delegation_with_a_trustkit_key(
    notary_cli: NotaryCLI, notary_server: NotaryServer, short_gun: str, keytype: str, tmp_path: Path
) -> None:
    notary_cli.run("init", short_gun, "-p")
    store = notary_store(notary_cli)
    if keytype == "rsa":
        key = rsa_key(role="targets/ci")
        store.add_key(key)
        public = key.public_key
    else:
        public = generate_key(store, "targets/ci")
    pub = tmp_path / "ci.pub"
    pub.write_bytes(public_key_pem(public, role="targets/ci"))
    notary_cli.run("delegation", "add", short_gun, "targets/ci", str(pub), "--all-paths", "-p")
    payload = tmp_path / "artifact.bin"
    payload.write_bytes(b"signed by notary with a trustkit key\n")
    notary_cli.run("add", short_gun, "artifact", str(payload), "--roles", "targets/ci", "-p")

    fresh = NotaryCLI(notary_server, tmp_path / "fresh", tmp_path / "fresh-home")
    rows = read_table(fresh.run("list", short_gun, "--roles", "targets/ci").stdout, LIST_COLUMNS)
    assert rows == [["artifact", hashlib.sha256(payload.read_bytes()).hexdigest(), "37", "targets/ci"]]
    delegation = cached(fresh, short_gun, "targets/ci")
    targets = cached(fresh, short_gun, "targets").signed
    assert isinstance(targets, tk.Targets)
    assert targets.verify_delegate("targets/ci", delegation).verified
    assert [s.keyid for s in delegation.signatures] == [public.key_id]


@pytest.mark.parametrize("version", ["0.1", "0.3"])
def test_legacy_migration_matches_notary(notary_server: NotaryServer, tmp_path: Path, version: str) -> None:
    """notary (any command) migrates old layouts when it opens the trust dir; trustkit's migration writes the
    same bytes, and before it trustkit lists the legacy keys as notary lists them after its migration."""
    require_binary("notary", "notary")
    by_notary = tmp_path / "by-notary"
    by_trustkit = tmp_path / "by-trustkit"
    shutil.copytree(DATA / f"notary{version}", by_notary)
    shutil.copytree(DATA / f"notary{version}", by_trustkit)
    for key_file in [*by_notary.rglob("*.key"), *by_trustkit.rglob("*.key")]:
        key_file.chmod(0o600)  # as notary wrote them (the fixtures' checkout does not keep it)
    in_place = FileKeyStore(by_trustkit)
    listed_in_place = {(role, gun, key_id) for role, gun, key_id, _ in store_table(in_place)}

    cli = NotaryCLI(notary_server, by_notary, tmp_path / "home")
    rows = key_table(cli)
    assert {(role, gun, key_id) for role, gun, key_id, _ in rows} == listed_in_place
    FileKeyStore(by_trustkit, migrate=True)
    notary_files = {p.relative_to(by_notary): p.read_bytes() for p in (by_notary / "private").rglob("*") if p.is_file()}
    trustkit_files = {
        p.relative_to(by_trustkit): p.read_bytes() for p in (by_trustkit / "private").rglob("*") if p.is_file()
    }
    assert trustkit_files == notary_files
