"""trustkit's verifier of cosign-format signatures against a signature an unmodified skopeo 1.9.3 wrote
(``data/sigstore-skopeo-1.9.3``), with containers/image's rules and messages; signing checked by openssl."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from trustkit.errors import SigningError, VerificationError
from trustkit.keys import PrivateKey, generate_private_key
from trustkit.migrate import (
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING_MEDIA_TYPE,
    SignatureLayer,
    check_identity,
    load_verification_key,
    make_payload,
    parse_payload,
    sign_payload,
    verify_payload,
    verify_signature_layers,
)

FIXTURE = Path(__file__).parent / "data" / "sigstore-skopeo-1.9.3"
IMAGE_DIGEST = "sha256:" + hashlib.sha256((FIXTURE / "image-manifest.json").read_bytes()).hexdigest()
REFERENCE = "127.0.0.1:15500/fixture/app:v1"
PAYLOAD = (FIXTURE / "payload.json").read_bytes()
LAYER = json.loads((FIXTURE / "sig-manifest.json").read_bytes())["layers"][0]
SIGNATURE = LAYER["annotations"][SIGNATURE_ANNOTATION]
KEY = load_verification_key((FIXTURE / "signing.pub").read_bytes())


def test_fixture_layer_describes_its_payload() -> None:
    assert LAYER["mediaType"] == SIMPLE_SIGNING_MEDIA_TYPE
    assert LAYER["digest"] == "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    assert LAYER["size"] == len(PAYLOAD)


def test_accepts_what_skopeo_wrote() -> None:
    payload = verify_payload(KEY, PAYLOAD, SIGNATURE, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)
    assert payload.docker_reference == REFERENCE
    assert payload.manifest_digest == IMAGE_DIGEST
    assert payload.creator == "containers/image 5.22.1"
    assert payload.timestamp == 1796563174


def test_rejects_another_key() -> None:
    other = load_verification_key(generate_private_key())
    with pytest.raises(VerificationError, match=r"invalid signature when validating ASN\.1 encoded signature"):
        verify_payload(other, PAYLOAD, SIGNATURE, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)


def test_rejects_another_digest() -> None:
    other = "sha256:" + "8a" * 32
    with pytest.raises(VerificationError, match=f"Signature for digest {IMAGE_DIGEST} does not match"):
        verify_payload(KEY, PAYLOAD, SIGNATURE, manifest_digest=other, reference=REFERENCE)


@pytest.mark.parametrize("pulled", ["127.0.0.1:15500/fixture/other:v1", "127.0.0.1:15500/fixture/app:v2"])
def test_rejects_another_repository_or_tag(pulled: str) -> None:
    with pytest.raises(VerificationError, match=f"Signature for identity {REFERENCE} is not accepted"):
        verify_payload(KEY, PAYLOAD, SIGNATURE, manifest_digest=IMAGE_DIGEST, reference=pulled)


def test_tampered_payload_fails_the_signature() -> None:
    tampered = PAYLOAD.replace(b"fixture/app", b"fixture/apq")
    with pytest.raises(VerificationError, match="cryptographic signature verification failed"):
        verify_payload(KEY, tampered, SIGNATURE, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)


def test_missing_and_malformed_annotation() -> None:
    with pytest.raises(VerificationError, match=f"missing {SIGNATURE_ANNOTATION} annotation"):
        verify_payload(KEY, PAYLOAD, None, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)
    with pytest.raises(VerificationError, match="base64 decoding: illegal base64 data"):
        verify_payload(KEY, PAYLOAD, "!" + SIGNATURE, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)


def test_raw_ecdsa_signature_is_rejected() -> None:
    key = generate_private_key()
    payload = make_payload(REFERENCE, IMAGE_DIGEST)
    der = sign_payload(key, payload)
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
    with pytest.raises(VerificationError, match=r"ASN\.1"):
        verify_payload(load_verification_key(key), payload, raw, manifest_digest=IMAGE_DIGEST, reference=REFERENCE)


# containers/image's signedIdentity matrix (sigstore-attachments.md §4.3), d1 = IMAGE_DIGEST
_APP = "127.0.0.1:15000/demo/app"
_D1 = IMAGE_DIGEST
MATRIX = [
    # signed, pulled, matchExact, matchRepoDigestOrExact, matchRepository
    (_APP, f"{_APP}:v1", False, False, True),
    (_APP, f"{_APP}@{_D1}", False, False, True),
    (f"{_APP}:v1", f"{_APP}:v1", True, True, True),
    (f"{_APP}:v1", f"{_APP}@{_D1}", False, True, True),
    (f"{_APP}:v2", f"{_APP}:v1", False, False, True),
    (f"{_APP}:v2", f"{_APP}@{_D1}", False, True, True),
    (f"{_APP}@{_D1}", f"{_APP}:v1", False, False, True),
    (f"{_APP}@{_D1}", f"{_APP}@{_D1}", True, True, True),
    (f"{_APP}:v1@{_D1}", f"{_APP}:v1", False, False, True),
    (f"{_APP}:v1@{_D1}", f"{_APP}@{_D1}", False, True, True),
    ("127.0.0.1:15000/demo/other:v1", f"{_APP}:v1", False, False, False),
    ("registry.example/demo/app:v1", f"{_APP}:v1", False, False, False),
    ("demo/app", f"{_APP}:v1", False, False, False),
    ("127.0.0.1:15000/Demo/app:v1", f"{_APP}:v1", False, False, False),
]


@pytest.mark.parametrize(("signed", "pulled", "exact", "default", "repository"), MATRIX)
def test_signed_identity_matrix(signed: str, pulled: str, exact: bool, default: bool, repository: bool) -> None:
    for rule, expected in (("matchExact", exact), ("matchRepoDigestOrExact", default), ("matchRepository", repository)):
        if expected:
            check_identity(signed, pulled, rule)  # type: ignore[arg-type]
        else:
            with pytest.raises(VerificationError, match="is not accepted"):
                check_identity(signed, pulled, rule)  # type: ignore[arg-type]


def _payload(**changes: object) -> bytes:
    document = json.loads(PAYLOAD)
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (json.dumps({"critical": json.loads(PAYLOAD)["critical"]}).encode(), 'Key "optional" missing'),
        (_payload(x=1), 'Unknown key "x"'),
        (PAYLOAD[:-1] + b',"optional":null}', 'Duplicate key "optional"'),
        (PAYLOAD + b"{}", "invalid character '{' after top-level value"),
        (_payload(optional={"creator": 1}), "cannot unmarshal"),
        (_payload(optional={"timestamp": "now"}), "Field optional.timestamp is not is not an integer"),
        (_payload(optional="x"), 'JSON object expected, got "x"'),
        (PAYLOAD.replace(b'"type":"cosign container image signature"', b'"type":"other"'), "Unrecognized signature"),
        (PAYLOAD.replace(b'"type":', b'"extra":1,"type":'), 'Unknown key "extra"'),
        (b'"x"', 'JSON object expected, got "x"'),
        (_payload(optional={"timestamp": float("nan")}), "invalid character 'N' looking for beginning of value"),
    ],
)
def test_payload_is_parsed_strictly(data: bytes, message: str) -> None:
    with pytest.raises(VerificationError, match=message):
        parse_payload(data)


def test_payload_whitespace_and_key_order_are_free() -> None:
    pretty = json.dumps(json.loads(PAYLOAD), indent=4).encode()
    assert parse_payload(pretty) == parse_payload(PAYLOAD)
    assert parse_payload(_payload(optional=None)).optional is None


def _layer(payload: bytes, signature: str | None, media_type: str = SIMPLE_SIGNING_MEDIA_TYPE) -> SignatureLayer:
    annotations = {SIGNATURE_ANNOTATION: signature} if signature is not None else {}
    return SignatureLayer({"mediaType": media_type, "annotations": annotations}, payload)


def test_layers_one_good_signature_is_enough() -> None:
    bad = _layer(PAYLOAD, base64.b64encode(b"\x30\x00").decode())
    accepted = verify_signature_layers(
        [bad, _layer(PAYLOAD, SIGNATURE)], KEY, manifest_digest=IMAGE_DIGEST, reference=REFERENCE
    )
    assert [a.payload.docker_reference for a in accepted] == [REFERENCE]


def test_layers_messages_when_none_is_accepted() -> None:
    args = {"manifest_digest": IMAGE_DIGEST, "reference": REFERENCE}
    with pytest.raises(VerificationError, match="A signature was required, but no signature exists"):
        verify_signature_layers([], KEY, **args)  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match=r"\(0 non-sigstore signatures, 1 sigstore non-signature attachments\)"):
        verify_signature_layers([_layer(PAYLOAD, SIGNATURE, "application/json")], KEY, **args)  # type: ignore[arg-type]
    with pytest.raises(VerificationError, match=r"None of the signatures were accepted, reasons: missing .*; base64"):
        verify_signature_layers([_layer(PAYLOAD, None), _layer(PAYLOAD, "!")], KEY, **args)  # type: ignore[arg-type]


def test_signatures_verify_with_openssl(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed for the independent check"
    key = generate_private_key()
    payload = make_payload(REFERENCE, IMAGE_DIGEST, optional={"dev.trustkit.dct": {"tag": "v1"}}, creator="t")
    (tmp_path / "payload").write_bytes(payload)
    (tmp_path / "sig").write_bytes(sign_payload(key, payload))
    public = load_verification_key(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "pub.pem").write_bytes(public)
    (tmp_path / "other.pem").write_bytes((FIXTURE / "signing.pub").read_bytes())
    command = [openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "payload"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout.strip()) == (0, "Verified OK")
    command[4] = "other.pem"
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Verification failure" in bad.stdout


def test_ed25519_signs_and_payload_is_compact_sorted() -> None:
    key = generate_private_key("ed25519")
    payload = make_payload(REFERENCE, IMAGE_DIGEST, creator="trustkit", timestamp=5)
    assert payload == json.dumps(json.loads(payload), separators=(",", ":"), sort_keys=True).encode()
    signature = base64.b64encode(sign_payload(key, payload)).decode()
    parsed = verify_payload(
        load_verification_key(key), payload, signature, manifest_digest=IMAGE_DIGEST, reference=REFERENCE
    )
    assert (parsed.creator, parsed.timestamp) == ("trustkit", 5)


def test_rsa_pss_signers_are_refused() -> None:
    key = PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(SigningError, match="rsassa-pss-sha256"):
        sign_payload(key, make_payload(REFERENCE, IMAGE_DIGEST))
