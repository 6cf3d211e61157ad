"""Sign in CI with a key that never leaves an HSM (or a cloud KMS): a delegation signed through a private-key URI.

Run it with ``python examples/sign_with_hsm.py [--no-hsm]``.

A repository admin delegates ``targets/ci`` to a key held in a PKCS#11 token; the CI job then signs a tag into
``targets/ci`` with nothing but the key's securesystemslib URI (``hsm:7?label=trustkit-ci``) and the token PIN, via
:class:`trustkit.keystore.ExternalKeyStore`; a client reads the tag back and checks who signed it.

* When SoftHSM2 is installed (``apt-get install softhsm2``, and ``pip install 'trustkit-dct[hsm]'`` for PKCS#11), the
  example makes a throw-away token in a temporary folder, generates an ECDSA P-256 key *inside* it (sensitive,
  non-extractable), and signs with it: exactly what a YubiHSM, a Luna or a cloud HSM does through its PKCS#11 module.
* Otherwise (or with ``--no-hsm``) it says so and uses a ``file2:`` URI -- a plain key file -- instead. The rest of
  the code is the same: any securesystemslib URI works, so a cloud KMS key is registered the same way, e.g.
  ``awskms:arn:aws:kms:…``, ``gcpkms:projects/…/cryptoKeyVersions/1`` or ``azurekms:https://…`` (with the matching
  securesystemslib extra and the cloud's credentials in the environment).

Notary can only verify ECDSA **P-256**, Ed25519 and RSA-PSS keys: make HSM and KMS keys of those kinds.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

import trustkit as tk
from trustkit.keystore import ExternalKeyStore

GUN = "localhost:5000/example/hsm"
TOKEN_LABEL = "trustkit-ci"
KEY_ID = 7  # the PKCS#11 CKA_ID of the key: its URI is hsm:7?label=trustkit-ci
SOFTHSM_LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
# A CI job reads the PIN from its secrets; this demo token uses a fixed one.
PIN = os.environ.get("TRUSTKIT_HSM_PIN", "246810")


def pin(_secret: str) -> str:
    """securesystemslib's secrets handler: asked for the token's user PIN."""
    return PIN


def softhsm_library() -> str | None:
    """The SoftHSM2 PKCS#11 module, when SoftHSM2 and python-pkcs11 are installed; None otherwise."""
    if shutil.which("softhsm2-util") is None or importlib.util.find_spec("pkcs11") is None:
        return None
    candidates = (os.environ.get("PYKCS11LIB", ""), *SOFTHSM_LIBRARIES)
    return next((path for path in candidates if path and os.path.exists(path)), None)


def hsm_key(library: str, workdir: Path) -> tuple[str, Any]:
    """A new SoftHSM2 token holding an ECDSA P-256 key generated inside it; returns its URI and public key."""
    import pkcs11
    from pkcs11.util.ec import encode_named_curve_parameters
    from securesystemslib.signer import HSMSigner

    tokens = workdir / "softhsm-tokens"
    tokens.mkdir()
    config = workdir / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(config)  # read once per process, at the first use of the module
    os.environ["PYKCS11LIB"] = library  # where securesystemslib's HSMSigner finds the PKCS#11 module
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", "13579111"],
        check=True,
        capture_output=True,
    )
    token = pkcs11.lib(library).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=PIN) as session:
        curve = session.create_domain_parameters(
            pkcs11.KeyType.EC, {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
        )
        curve.generate_keypair(
            store=True,
            label="ci-signing",
            id=bytes([KEY_ID]),
            private_template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False},
        )
    # What a KMS's import_ does too: read the public key, and name the private key by a URI.
    uri, public_key = HSMSigner.import_(hsm_keyid=KEY_ID, token_label=TOKEN_LABEL, secrets_handler=pin)
    return uri, public_key


def file_key(workdir: Path) -> tuple[str, tk.PublicKey]:
    """The fallback: a plain key file named by a ``file2:`` URI (securesystemslib's CryptoSigner reads it)."""
    key = tk.generate_private_key()
    path = workdir / "ci-key.pem"
    path.write_bytes(
        key.crypto_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return f"file2:{path}", key.public_key


def main() -> None:
    """Delegate targets/ci to an HSM key, sign a tag with it in a "CI job", and verify it as a client."""
    workdir = Path(tempfile.mkdtemp(prefix="trustkit-hsm-"))
    library = None if "--no-hsm" in sys.argv[1:] else softhsm_library()
    if library is not None:
        uri, public_key = hsm_key(library, workdir)
        print(f"SoftHSM2 token {TOKEN_LABEL!r}: ECDSA P-256 key generated inside it, URI {uri}")
    else:
        uri, public_key = file_key(workdir)
        reason = (
            "--no-hsm given"
            if "--no-hsm" in sys.argv[1:]
            else "SoftHSM2 or python-pkcs11 not found (apt-get install softhsm2; pip install 'trustkit-dct[hsm]')"
        )
        print(f"no HSM: {reason}; signing through a file2: URI instead, the same code path as an HSM or KMS key")

    # The CI job's keystore: only the URI. The private key stays in the token (or the KMS).
    ci_keys = ExternalKeyStore(secrets_handler=pin)
    info = ci_keys.add_uri(uri, public_key, role="targets/ci")
    ci_public = tk.PublicKey.from_sslib_key(public_key) if not isinstance(public_key, tk.PublicKey) else public_key
    assert ci_public.key_id == info.key_id
    print(f"CI key {info.key_id[:12]} at {info.location.split(':', 1)[0]}:…")
    try:
        ci_keys.export_key(info.key_id)
    except tk.KeyFormatError as exc:
        print(f"export refused: {exc}")

    # The admin (with the repository's own keys) delegates targets/ci to the CI key. The server keeps the
    # snapshot key, so a signer needs no other key than its own.
    server = tk.LocalRemote(workdir / "server")
    admin = tk.Repository(GUN, remote=server, keystore=tk.MemoryKeyStore(), trust_dir=workdir / "admin")
    admin.initialize(server_managed_snapshot=True)
    admin.add_delegation("targets/ci", keys=[ci_public], paths=["build-"], publish=True)

    # The CI job signs a build tag into targets/ci with the HSM key, in its own workspace.
    ci = tk.Repository(GUN, remote=server, keystore=ci_keys, trust_dir=workdir / "ci-job")
    ci.add_target("build-42", tk.TargetFile.from_digest("sha256:" + "c1" * 32, 1024), roles=["targets/ci"])
    ci.publish()
    print("CI job published build-42 to targets/ci")

    # Anyone can verify it, with no key at all.
    reader = tk.Reader(GUN, server, cache=tk.MetadataCache(workdir / "client", GUN))
    match = reader.get_target("build-42")
    [signature] = reader.trusted["targets/ci"].signatures
    print(f"build-42 sha256:{match.target.sha256_hex[:12]}… signed by {match.role}")
    print(f"signature: method {signature.method}, key {signature.keyid[:12]}, {len(signature.sig)} bytes (raw r||s)")


if __name__ == "__main__":
    main()
