"""cosign's encrypted private key format: the key skopeo signed the fixture with decrypts, and what trustkit writes
has the same format (PEM type, scrypt parameters, secretbox) and signs signatures the fixture's verifier accepts."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from trustkit.errors import KeyFormatError, PassphraseError
from trustkit.keys import generate_private_key
from trustkit.migrate import (
    COSIGN_KEY_PEM_TYPE,
    export_cosign_key,
    load_cosign_key,
    load_verification_key,
    make_payload,
    sign_payload,
    verify_payload,
)

FIXTURE = Path(__file__).parent / "data" / "sigstore-skopeo-1.9.3"
PASSPHRASE = "fixture passphrase"


def _document(pem: bytes) -> dict[str, object]:
    match = re.search(rb"-----BEGIN ([A-Z ]+)-----\n(.*?)-----END \1-----", pem, re.DOTALL)
    assert match is not None
    assert match.group(1).decode() == COSIGN_KEY_PEM_TYPE
    document = json.loads(base64.b64decode(b"".join(match.group(2).split())))
    assert isinstance(document, dict)
    return document


def test_fixture_key_decrypts_to_the_fixture_public_key() -> None:
    key = load_cosign_key((FIXTURE / "signing.key").read_bytes(), PASSPHRASE)
    expected = load_verification_key((FIXTURE / "signing.pub").read_bytes())
    assert load_verification_key(key).public_numbers() == expected.public_numbers()  # type: ignore[union-attr]


def test_wrong_passphrase_and_wrong_formats() -> None:
    data = (FIXTURE / "signing.key").read_bytes()
    with pytest.raises(PassphraseError, match="decryption failed"):
        load_cosign_key(data, "wrong")
    with pytest.raises(KeyFormatError, match="ENCRYPTED COSIGN PRIVATE KEY"):
        load_cosign_key(data.replace(b"COSIGN", b"SIGSTORE"), PASSPHRASE)
    document = _document(data)
    document["kdf"]["params"]["N"] = 16384  # type: ignore[index]
    body = base64.b64encode(json.dumps(document).encode())
    weak = b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" + body + b"\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n"
    with pytest.raises(KeyFormatError, match="unexpected kdf parameters"):
        load_cosign_key(weak, PASSPHRASE)


@pytest.mark.parametrize("keytype", ["ecdsa", "ed25519"])
def test_written_key_has_the_fixture_format_and_round_trips(keytype: str) -> None:
    key = generate_private_key(keytype)  # type: ignore[arg-type]
    pem = export_cosign_key(key, "new passphrase")
    written, fixture = _document(pem), _document((FIXTURE / "signing.key").read_bytes())
    assert list(written) == list(fixture) == ["kdf", "cipher", "ciphertext"]
    assert written["kdf"]["params"] == fixture["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}  # type: ignore[index]
    assert written["cipher"]["name"] == fixture["cipher"]["name"] == "nacl/secretbox"  # type: ignore[index]
    assert len(base64.b64decode(written["kdf"]["salt"])) == 32  # type: ignore[index]
    assert len(base64.b64decode(written["cipher"]["nonce"])) == 24  # type: ignore[index]
    assert all(len(line) <= 64 for line in pem.splitlines())
    loaded = load_cosign_key(pem, "new passphrase")
    assert loaded.key_id == key.key_id
    payload = make_payload("127.0.0.1:15500/fixture/app:v1", "sha256:" + "ab" * 32)
    signature = base64.b64encode(sign_payload(loaded, payload)).decode()
    verify_payload(
        load_verification_key(key),
        payload,
        signature,
        manifest_digest="sha256:" + "ab" * 32,
        reference="127.0.0.1:15500/fixture/app:v1",
    )
