"""The bytes of key files trustkit writes, checked against notary's ``tuf/utils/pkcs8.go`` independently of the
reader (the interop tests check them with notary and docker themselves)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

import trustkit as tk
from trustkit.keys.pem import decode_pem_blocks

# SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.6.1.4.1.11591.15.1 }, OCTET STRING (96 bytes) ...
NOTARY_ED25519_PREFIX = bytes.fromhex("3072020100300b06092b06010401da470f01") + bytes.fromhex("0460")  # 0x72 = 3+13+98


def test_ed25519_is_written_in_notarys_inner_form() -> None:
    key = tk.generate_private_key("ed25519", role="targets/x")
    [block] = decode_pem_blocks(key.to_pem())
    assert block.type == "PRIVATE KEY" and block.headers == {"role": "targets/x"}
    der = block.der
    assert der.startswith(NOTARY_ED25519_PREFIX) and len(der) == len(NOTARY_ED25519_PREFIX) + 96
    blob = der[len(NOTARY_ED25519_PREFIX) :]
    public = key.public_key.public
    seed = key.crypto_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert blob == public + seed + public  # pub ‖ Go's ed25519.PrivateKey (seed ‖ pub)
    assert tk.load_private_key(key.to_pem("p"), "p").public_key == key.public_key


def test_ecdsa_and_rsa_stay_standard_pkcs8() -> None:
    key = tk.generate_private_key("ecdsa")
    [block] = decode_pem_blocks(key.to_pem())
    assert serialization.load_der_private_key(block.der, None).public_key() == key.crypto_key.public_key()
