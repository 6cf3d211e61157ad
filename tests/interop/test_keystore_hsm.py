"""Keys that never leave their store sign Notary delegations that the real notary-server and notary CLI accept.

- An ECDSA P-256 key generated inside a SoftHSM2 token (PKCS#11, non-extractable) signs through securesystemslib's
  ``HSMSigner`` behind trustkit's :class:`~trustkit.keystore.ExternalKeyStore`.
- An Ed25519 delegation key trustkit wrote to a trust directory is used by the real ``notary`` CLI to sign (notary's
  own commands cannot add Ed25519 delegation keys, so trustkit publishes the delegation).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.interop._publish import fetch_server_key, publish, read_table
from tests.interop.harness import NotaryCLI, NotaryServer, interop_required, require_binary
from trustkit.errors import SigningError
from trustkit.keystore import (
    ChainedKeyStore,
    ExternalKeyStore,
    FileKeyStore,
    KeyStore,
    MemoryKeyStore,
    NotaryEnvPassphrase,
    generate_key,
)

pytestmark = pytest.mark.interop

LIST_COLUMNS = ("NAME", "DIGEST", "SIZE (BYTES)", "ROLE")
TOKEN_LABEL = "trustkit-test"
USER_PIN = "246810"
SO_PIN = "13579111"
HSM_KEY_ID = 7  # CKA_ID 0x07: URI hsm:7?label=trustkit-test
SOFTHSM_LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


def pin(_secret: str) -> str:
    return USER_PIN


def _missing(what: str) -> None:
    if interop_required():
        pytest.fail(f"{what} (TRUSTKIT_REQUIRE_INTEROP=1 makes this a failure)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def hsm_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A SoftHSM2 token with an ECDSA P-256 key pair generated inside it; yields (URI, securesystemslib key).

    The PKCS#11 library reads its configuration once per process, so there is one token per test session.
    """
    require_binary("softhsm2-util", "softhsm2")
    try:
        import pkcs11
        from pkcs11.util.ec import encode_named_curve_parameters
        from securesystemslib.signer import HSMSigner
    except ImportError as exc:
        _missing(f"python-pkcs11 is not installed ({exc}); pip install 'securesystemslib[hsm]'")
    library = next((path for path in SOFTHSM_LIBRARIES if os.path.exists(path)), None)
    if library is None:
        _missing("libsofthsm2.so not found; apt-get install -y softhsm2")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))
        patch.setenv("PYKCS11LIB", library)
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
        token = pkcs11.lib(library).get_token(token_label=TOKEN_LABEL)
        with token.open(rw=True, user_pin=USER_PIN) as session:
            parameters = session.create_domain_parameters(
                pkcs11.KeyType.EC,
                {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            _public, private = parameters.generate_keypair(
                store=True,
                label="trustkit-delegation",
                id=bytes([HSM_KEY_ID]),
                private_template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False},
            )
            assert private[pkcs11.Attribute.EXTRACTABLE] is False  # the private key never leaves the token
            assert private[pkcs11.Attribute.SENSITIVE] is True
        uri, sslib_key = HSMSigner.import_(hsm_keyid=HSM_KEY_ID, token_label=TOKEN_LABEL, secrets_handler=pin)
        assert uri == f"hsm:{HSM_KEY_ID}?label={TOKEN_LABEL}"
        yield uri, sslib_key


def hsm_store(hsm_key: tuple[str, Any], role: str) -> tuple[ExternalKeyStore, tk.PublicKey]:
    uri, sslib_key = hsm_key
    store = ExternalKeyStore(secrets_handler=pin)
    info = store.add_uri(uri, sslib_key, role=role)
    public = tk.PublicKey.from_sslib_key(sslib_key)
    assert public.keytype == "ecdsa" and info.key_id == public.key_id and info.location == uri
    return store, public


def delegated_targets(version: int, name: str, data: bytes) -> tk.Targets:
    return tk.Targets(version=version, expires=tk.default_expiry("targets")).with_target(
        name, tk.TargetFile.from_data(data)
    )


def test_hsm_key_signs_delegation_metadata_that_verifies(hsm_key: tuple[str, Any]) -> None:
    store, public = hsm_store(hsm_key, "targets/hsm")
    assert isinstance(store, KeyStore)
    role = tk.DelegatedRole((public.key_id,), 1, name="targets/hsm", paths=("",))
    parent = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(role, [public])
    signed = tk.Metadata(delegated_targets(1, "firmware.bin", b"firmware")).sign(store.get_signer(public.key_id))
    [signature] = signed.signatures
    assert (signature.keyid, signature.method, len(signature.sig)) == (public.key_id, "ecdsa", 64)  # raw r‖s
    reread = tk.Metadata.from_bytes(signed.to_bytes(), role="targets/hsm")
    assert parent.verify_delegate("targets/hsm", reread).verified
    tampered = tk.Metadata.from_bytes(signed.to_bytes().replace(b"firmware.bin", b"firmware.bim"), role="targets/hsm")
    assert not parent.get_verification_result("targets/hsm", tampered).verified

    wrong_pin = ExternalKeyStore(secrets_handler=lambda _secret: "000000")
    wrong_pin.add_uri(*hsm_key, role="targets/hsm")
    with pytest.raises(SigningError) as info:
        tk.Metadata(delegated_targets(1, "x", b"x")).sign(wrong_pin.get_signer(public.key_id))
    assert "PinIncorrect" in repr(info.value.__cause__) and "000000" not in str(info.value)
    assert str(info.value).endswith("failed: PinIncorrect")  # the message names the cause, not an empty reason

    unknown_token = ExternalKeyStore(secrets_handler=pin)
    unknown_token.add_uri(f"hsm:{HSM_KEY_ID}?label=no-such-token", hsm_key[1], role="targets/hsm")
    with pytest.raises(SigningError, match="ValueError: No PKCS#11 token found for label no-such-token"):
        tk.Metadata(delegated_targets(1, "x", b"x")).sign(unknown_token.get_signer(public.key_id))


def publish_repository_delegating_to(server: NotaryServer, gun: str, name: str, key: tk.PublicKey) -> tk.Targets:
    """trustkit makes a repository (root and targets; the server holds snapshot and timestamp) whose targets
    delegates ``name`` (all paths) to ``key``, and publishes it. Returns the targets role."""
    root_private = tk.generate_private_key(role="root")
    root_key = tk.make_root_key(root_private, gun)
    targets_private = tk.generate_private_key(role="targets", gun=gun)
    base = {
        "root": root_key,
        "targets": targets_private.public_key,
        "snapshot": fetch_server_key(server, gun, "snapshot"),
        "timestamp": fetch_server_key(server, gun, "timestamp"),
    }
    root = tk.Root(
        version=1,
        expires=tk.default_expiry("root"),
        keys={k.key_id: k for k in base.values()},
        roles={role: tk.Role((k.key_id,), 1) for role, k in base.items()},
    )
    delegation = tk.DelegatedRole((key.key_id,), 1, name=name, paths=("",))
    targets = tk.Targets(version=1, expires=tk.default_expiry("targets")).with_delegation(delegation, [key])
    files = {
        "root": tk.Metadata(root).sign(root_private.signer(), key=root_key).to_bytes(),
        "targets": tk.Metadata(targets).sign(targets_private.signer()).to_bytes(),
    }
    response = publish(server, gun, files)
    assert response.status_code == 200, response.text
    return targets


def test_hsm_signed_delegation_is_accepted_by_notary_server(
    hsm_key: tuple[str, Any], notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    require_binary("notary", "notary")
    store, public = hsm_store(hsm_key, "targets/hsm")
    publish_repository_delegating_to(notary_server, gun, "targets/hsm", public)
    payload = b"built and signed in CI with an HSM key\n"
    delegation = tk.Metadata(delegated_targets(1, "release.tar.gz", payload)).sign(store.get_signer(public.key_id))
    response = publish(notary_server, gun, {"targets/hsm": delegation.to_bytes()})
    assert response.status_code == 200, response.text

    cli = NotaryCLI(notary_server, tmp_path / "trust", tmp_path / "home")
    rows = read_table(cli.run("list", gun, "--roles", "targets/hsm").stdout, LIST_COLUMNS)
    assert rows == [["release.tar.gz", hashlib.sha256(payload).hexdigest(), str(len(payload)), "targets/hsm"]]
    cached = (cli.tuf_dir(gun) / "targets" / "hsm.json").read_bytes()
    assert cached == delegation.to_bytes()

    # control: a delegation signed by another key is refused
    stranger = tk.generate_private_key()
    forged = tk.Metadata(delegated_targets(2, "evil", b"evil")).sign(stranger.signer()).to_bytes()
    refused = publish(notary_server, gun, {"targets/hsm": forged})
    assert refused.status_code == 400, refused.text


def test_notary_signs_with_a_trustkit_ed25519_key(notary_cli: NotaryCLI, notary_server: NotaryServer, gun: str) -> None:
    store = FileKeyStore(notary_cli.trust_dir, passphrase=NotaryEnvPassphrase(environ=notary_cli.env))
    public = generate_key(store, "targets/edge", keytype="ed25519")
    publish_repository_delegating_to(notary_server, gun, "targets/edge", public)
    payload = notary_cli.home / "edge.bin"
    payload.write_bytes(b"signed by notary with trustkit's ed25519 key\n")
    notary_cli.run("add", gun, "edge.bin", str(payload), "--roles", "targets/edge", "-p")

    fresh = NotaryCLI(notary_server, notary_cli.home / "fresh", notary_cli.home / "fresh-home")
    rows = read_table(fresh.run("list", gun, "--roles", "targets/edge").stdout, LIST_COLUMNS)
    assert rows == [
        ["edge.bin", hashlib.sha256(payload.read_bytes()).hexdigest(), str(len(payload.read_bytes())), "targets/edge"]
    ]
    delegation = tk.Metadata.from_bytes((fresh.tuf_dir(gun) / "targets" / "edge.json").read_bytes())
    assert [(s.keyid, s.method) for s in delegation.signatures] == [(public.key_id, "eddsa")]


HSM_PUBLISHES = 36


def test_dozens_of_hsm_signed_publishes_through_repository_and_notary_server(
    hsm_key: tuple[str, Any], notary_server: NotaryServer, gun: str, tmp_path: Path
) -> None:
    """The real path a CI job takes: Repository over trustkit's NotaryServer (TLS, kept-alive connections), a
    delegation whose key is in SoftHSM2, one HSM signature per publish. A PKCS#11 signature leaves an error on
    OpenSSL's per-thread error queue; Python's ssl reported it on the next read of the kept-alive connection
    (``NO_SUCH_ENGINE``), so 22 publishes in 36 failed although the server accepted them."""
    hsm, public = hsm_store(hsm_key, "targets/releases")
    keystore = ChainedKeyStore(MemoryKeyStore(), hsm)  # new keys (root, targets) go to the first
    with tk.NotaryServer(notary_server.url, ca=notary_server.ca_path) as remote:
        repository = tk.Repository(gun, remote=remote, keystore=keystore, trust_dir=tmp_path / "trust")
        repository.initialize()
        repository.add_delegation("targets/releases", keys=[public], all_paths=True, publish=True)
        for number in range(HSM_PUBLISHES):
            target = tk.TargetFile.from_data(f"release {number}\n".encode())
            repository.add_target(f"v{number}", target, roles=["targets/releases"], publish=True)
        rows = repository.reader().list_target_rows()
    assert sorted(row.name for row in rows) == sorted(f"v{number}" for number in range(HSM_PUBLISHES))
    assert {row.role for row in rows} == {"targets/releases"}
