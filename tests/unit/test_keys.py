"""Keys: notary key IDs, every accepted private-key PEM form, root certificates and notary's signature rules."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from securesystemslib.signer import CryptoSigner, SSlibKey

import trustkit as tk
from trustkit.errors import KeyFormatError, SigningError
from trustkit.keys import PassphraseError, check_certificate, cn_matches_gun, sign_message
from trustkit.keys._der import der_integer, der_octets, der_oid, der_sequence
from trustkit.keys.pem import encode_pem

GUN = "localhost:5000/unit/app"


def notary_key_id(keytype: str, public: bytes) -> str:
    """The formula of notary-v1-format.md §4.2, written independently of trustkit."""
    obj = {"keytype": keytype, "keyval": {"private": None, "public": base64.b64encode(public).decode()}}
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_key_ids_follow_notary_formula() -> None:
    private = tk.generate_private_key()
    public = private.public_key
    assert public.keytype == "ecdsa"
    assert public.key_id == notary_key_id("ecdsa", public.public)
    assert public.public.startswith(base64.b64decode("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"))
    cert_key = tk.make_root_key(private, GUN)
    assert cert_key.keytype == "ecdsa-x509"
    assert cert_key.key_id == notary_key_id("ecdsa-x509", cert_key.public)
    assert cert_key.canonical_id == public.key_id == private.key_id
    assert cert_key.key_id != cert_key.canonical_id


def test_ed25519_public_is_raw_32_bytes() -> None:
    public = tk.generate_private_key("ed25519").public_key
    assert public.keytype == "ed25519" and len(public.public) == 32


def test_metadata_key_object_round_trip() -> None:
    public = tk.generate_private_key().public_key
    obj = public.to_dict()
    assert obj["keyval"]["private"] is None
    assert tk.PublicKey.from_dict(obj) == public


@pytest.mark.parametrize(
    "obj",
    [
        "not an object",
        {"keytype": 1, "keyval": {"public": "", "private": None}},
        {"keytype": "ecdsa"},
        {"keytype": "ecdsa", "keyval": {"public": "!!!", "private": None}},
        {"keytype": "ecdsa", "keyval": {"public": "AAAA", "private": "c2VjcmV0"}},
        {"keytype": "ecdsa", "keyval": {"public": None, "private": None}},
    ],
)
def test_bad_key_objects(obj: object) -> None:
    with pytest.raises(KeyFormatError):
        tk.PublicKey.from_dict(obj)


def test_unknown_keytype_never_verifies() -> None:
    key = tk.PublicKey("fancy", b"\x00" * 32)
    assert not key.verify("ecdsa", b"\x00" * 64, b"msg")
    with pytest.raises(KeyFormatError, match="unsupported keytype"):
        _ = key.crypto_key


def test_from_pem_public_key_and_certificate() -> None:
    private = tk.generate_private_key()
    spki = private.crypto_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert tk.PublicKey.from_pem(spki) == private.public_key
    cert = tk.make_root_certificate(private, GUN)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key = tk.PublicKey.from_pem(pem)
    assert key.keytype == "ecdsa-x509" and key.public == pem
    assert tk.PublicKey.from_der(cert.public_bytes(serialization.Encoding.DER)) == key
    with pytest.raises(KeyFormatError):
        tk.PublicKey.from_pem(b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n")
    with pytest.raises(KeyFormatError):
        tk.PublicKey.from_pem(b"no pem here")


def rsa_certificate(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "delegate")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def test_rsa_keys_and_pss_signatures() -> None:
    key, cert = rsa_certificate()
    cert_key = tk.PublicKey.from_certificate(cert)
    assert cert_key.keytype == "rsa-x509"
    assert cert_key.bare().keytype == "rsa"
    private = tk.PrivateKey(key)
    method, sig, public = sign_message(private.signer(), b"message")
    assert method == "rsapss" and len(sig) == 256 and public == cert_key.bare()
    assert cert_key.verify("rsapss", sig, b"message")
    assert not cert_key.verify("rsapss", sig, b"other")
    assert not cert_key.verify("rsapkcs1v15", sig, b"message")
    small, _ = rsa_certificate(1024)
    with pytest.raises(KeyFormatError, match="2048"):
        tk.PublicKey.from_crypto(small.public_key())


def test_ecdsa_signatures_are_raw_r_s() -> None:
    private = tk.generate_private_key()
    method, sig, public = sign_message(private.signer(), b"message")
    assert method == "ecdsa" and len(sig) == 64
    assert public.verify("ECDSA", sig, b"message")  # methods are case-insensitive, as notary lowercases them
    der = private.crypto_key.sign(b"message", ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
    assert not public.verify("ecdsa", der, b"message")  # DER is rejected by length
    assert not public.verify("eddsa", sig, b"message")
    assert not public.verify("unknown", sig, b"message")


def test_ed25519_signatures() -> None:
    private = tk.generate_private_key("ed25519")
    method, sig, public = sign_message(private.signer(), b"m")
    assert method == "eddsa" and len(sig) == 64 and public.verify("eddsa", sig, b"m")


@pytest.mark.parametrize("kind", ["ecdsa", "ed25519", "rsa"])
def test_verifying_over_a_precomputed_sha256_gives_the_same_answers(kind: str) -> None:
    private = tk.PrivateKey(rsa_certificate()[0]) if kind == "rsa" else tk.generate_private_key(kind)
    method, sig, public = sign_message(private.signer(), b"message")
    for message, signature in ((b"message", sig), (b"other", sig), (b"message", sig[:-1] + bytes([sig[-1] ^ 1]))):
        digest = hashlib.sha256(message).digest()
        assert public._verify(method, signature, message, digest) == public.verify(method, signature, message)
    assert public._verify(method, sig, b"message", hashlib.sha256(b"message").digest())
    if kind != "ed25519":  # ECDSA and RSA verify the digest given; Ed25519 always hashes the message itself
        assert not public._verify(method, sig, b"message", hashlib.sha256(b"other").digest())


def test_signers_with_other_schemes_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    signer = CryptoSigner(p384, SSlibKey.from_crypto(p384.public_key(), "k", "ecdsa-sha2-nistp384"))
    with pytest.raises(SigningError, match="nistp384"):
        sign_message(signer, b"m")


class BrokenSigner:
    def __init__(self) -> None:
        self.public_key = tk.generate_private_key().public_key.to_sslib_key()

    def sign(self, payload: bytes) -> object:
        raise RuntimeError("token removed")


def test_failing_signer_is_a_signing_error() -> None:
    with pytest.raises(SigningError, match="token removed"):
        sign_message(BrokenSigner(), b"m")


# --- private keys ------------------------------------------------------------------------------------------


def pem_with_headers(block_type: str, der: bytes, **headers: str) -> bytes:
    return encode_pem(block_type, der, headers)


def test_private_key_forms() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    none = serialization.NoEncryption()
    forms = {
        "sec1": ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none),
        "pkcs1": rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none
        ),
        "pkcs8-ec": ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, none),
        "pkcs8-ed": ed_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, none),
    }
    for name, pem in forms.items():
        loaded = tk.load_private_key(pem)
        assert loaded.public_key.keytype in ("ecdsa", "rsa", "ed25519"), name


def test_encrypted_pkcs8_standard_and_wrong_passphrase() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    assert tk.load_private_key(pem, "pw").public_key == tk.PublicKey.from_crypto(key.public_key())
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        tk.load_private_key(pem, "nope")
    with pytest.raises(PassphraseError, match="passphrase is needed"):
        tk.load_private_key(pem)


def test_notary_pkcs8_quirks() -> None:
    """Notary writes ECDSA PKCS#8 with version 1, RSA without NULL, Ed25519 under a private OID (§6.2)."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    sec1 = ec_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    ec_pkcs8 = der_sequence(
        der_integer(1), der_sequence(der_oid("1.2.840.10045.2.1"), der_oid("1.2.840.10045.3.1.7")), der_octets(sec1)
    )
    loaded = tk.load_private_key(pem_with_headers("PRIVATE KEY", ec_pkcs8, role="targets", gun=GUN))
    assert loaded.public_key == tk.PublicKey.from_crypto(ec_key.public_key())
    assert (loaded.role, loaded.gun) == ("targets", GUN)

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    rsa_pkcs8 = der_sequence(der_integer(0), der_sequence(der_oid("1.2.840.113549.1.1.1")), der_octets(pkcs1))
    assert tk.load_private_key(pem_with_headers("PRIVATE KEY", rsa_pkcs8)).public_key.keytype == "rsa"

    ed_key = ed25519.Ed25519PrivateKey.generate()
    seed = ed_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    blob = pub + seed + pub
    ed_pkcs8 = der_sequence(der_integer(0), der_sequence(der_oid("1.3.6.1.4.1.11591.15.1")), der_octets(blob))
    assert tk.load_private_key(pem_with_headers("PRIVATE KEY", ed_pkcs8, role="root")).public_key.public == pub
    assert tk.load_private_key(pem_with_headers("ED25519 PRIVATE KEY", blob)).public_key.public == pub
    with pytest.raises(KeyFormatError, match="does not match"):
        tk.load_private_key(pem_with_headers("ED25519 PRIVATE KEY", bytes(32) + seed + pub))
    with pytest.raises(KeyFormatError, match="96 bytes"):
        tk.load_private_key(pem_with_headers("ED25519 PRIVATE KEY", seed))


def test_legacy_openssl_encrypted_pem_with_role_header() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"password"),
    )
    lines = pem.split(b"\n")
    dek = next(i for i, line in enumerate(lines) if line.startswith(b"DEK-Info"))
    lines.insert(dek + 1, b"role: root")
    legacy = b"\n".join(lines)
    loaded = tk.load_private_key(legacy, "password")
    assert loaded.role == "root"
    with pytest.raises(PassphraseError):
        tk.load_private_key(legacy, "wrong")
    with pytest.raises(PassphraseError):
        tk.load_private_key(legacy)


@pytest.mark.parametrize("keytype", ["ecdsa", "ed25519"])
def test_to_pem_round_trip_as_notary_writes(keytype: str) -> None:
    key = tk.generate_private_key(keytype, role="targets", gun=GUN)  # type: ignore[arg-type]
    pem = key.to_pem("secret passphrase")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: " + GUN.encode() + b"\nrole: targets\n\n")
    again = tk.load_private_key(pem, "secret passphrase")
    assert again.public_key == key.public_key and again.role == "targets" and again.gun == GUN
    plain = key.to_pem()
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert tk.load_private_key(plain).public_key == key.public_key


@pytest.mark.parametrize(
    "pem",
    [
        b"",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
    ],
)
def test_bad_private_keys_are_key_format_errors(pem: bytes) -> None:
    with pytest.raises(KeyFormatError):
        tk.load_private_key(pem, "pw")


def test_generate_refuses_rsa() -> None:
    with pytest.raises(KeyFormatError, match="imported"):
        tk.generate_private_key("rsa")  # type: ignore[arg-type]


# --- certificates ------------------------------------------------------------------------------------------


def test_root_certificate_as_notary_makes_it() -> None:
    private = tk.generate_private_key()
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cert = tk.make_root_certificate(private, GUN, now=now)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == GUN
    assert cert.issuer == cert.subject
    assert cert.not_valid_before_utc == now
    assert cert.not_valid_after_utc - now == timedelta(days=3650)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [ExtendedKeyUsageOID.CODE_SIGNING]
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    check_certificate(cert, now=now + timedelta(days=1))
    with pytest.raises(KeyFormatError, match="expired"):
        check_certificate(cert, now=now + timedelta(days=3651))
    check_certificate(cert, now=now + timedelta(days=3651), check_expiry=False)


def test_check_certificate_rejects_sha1_and_small_rsa(tmp_path: Path) -> None:
    # cryptography refuses to make SHA-1 signatures, so openssl makes this certificate.
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a SHA-1 certificate (apt-get install -y openssl)")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-sha1",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=sha1-test",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(tmp_path / "c.pem"),
        ],
        check=True,
        capture_output=True,
    )
    sha1 = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
    with pytest.raises(KeyFormatError, match="SHA-1"):
        check_certificate(sha1)
    _, small = rsa_certificate(1024)
    with pytest.raises(KeyFormatError, match="2048"):
        check_certificate(small)


def test_cn_matches_gun() -> None:
    assert cn_matches_gun(GUN, GUN)
    assert cn_matches_gun("localhost:5000/unit/*", GUN)
    assert not cn_matches_gun("localhost:5000/other/*", GUN)
    assert not cn_matches_gun(GUN + "x", GUN)


def test_sslib_round_trip() -> None:
    for keytype in ("ecdsa", "ed25519"):
        public = tk.generate_private_key(keytype).public_key  # type: ignore[arg-type]
        assert tk.PublicKey.from_sslib_key(public.to_sslib_key()) == public


def test_certificate_chain_keeps_intermediates() -> None:
    leaf_key = tk.generate_private_key()
    _, ca = rsa_certificate()
    leaf = tk.make_root_certificate(leaf_key, GUN)
    bundle = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    single = tk.PublicKey.from_pem(bundle)
    assert single.certificates == (leaf,)
    chained = tk.PublicKey.from_pem(bundle, chain=True)
    assert chained.certificates == (leaf, ca) and chained.public == bundle
    assert chained.canonical_id == single.canonical_id == leaf_key.key_id
    assert chained.key_id != single.key_id


def test_to_pem_round_trips_with_from_pem() -> None:
    bare = [tk.generate_private_key(keytype).public_key for keytype in ("ecdsa", "ed25519")]  # type: ignore[arg-type]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    bare.append(tk.PublicKey.from_crypto(rsa_key))
    for public in bare:
        pem = public.to_pem()
        assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
        assert tk.PublicKey.from_pem(pem) == public
        assert serialization.load_pem_public_key(pem).public_bytes(  # what cryptography and openssl read too
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) == public.crypto_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    _, ca = rsa_certificate()
    leaf = tk.make_root_certificate(tk.generate_private_key(), GUN)
    bundle = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    chained = tk.PublicKey.from_pem(bundle, chain=True)
    assert tk.PublicKey.from_pem(chained.to_pem(), chain=True) == chained
    assert chained.to_pem().count(b"-----BEGIN CERTIFICATE-----") == 2
    with pytest.raises(KeyFormatError):
        tk.PublicKey("ecdsa", b"not DER").to_pem()


def test_from_key_accepts_securesystemslib_and_cryptography_keys() -> None:
    public = tk.generate_private_key().public_key
    assert tk.PublicKey.from_key(public) is public
    assert tk.PublicKey.from_key(public.crypto_key) == public
    sslib = SSlibKey.from_crypto(public.crypto_key, "some-id", "ecdsa-sha2-nistp256")  # what HSMSigner.import_ gives
    assert tk.PublicKey.from_key(sslib) == public
    for bad in ("-----BEGIN PUBLIC KEY-----", 42, None, object()):
        with pytest.raises(KeyFormatError, match="expected a public key"):
            tk.PublicKey.from_key(bad)
