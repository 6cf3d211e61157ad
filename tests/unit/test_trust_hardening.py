"""Regression tests for the trust-layer hardening of issues #14 and #15: each attack or defect that once got
through, reproduced with the repository simulator."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, DownRemote, FakeRemote, RepoSim, reader
from trustkit._encoding import GoTime
from trustkit.client import MetadataCache
from trustkit.keys.pem import encode_pem
from trustkit.trust import TrustedMetadataSet


def test_a_delegated_role_that_delegates_further_parses_without_its_role() -> None:
    sim = RepoSim()
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases/nested"] = Delegation(tk.generate_private_key(), ["a/"])
    data = sim.publish()["targets/releases"]
    parsed = tk.Metadata.from_bytes(data)
    assert [d.name for d in parsed.signed.delegations.roles] == ["targets/releases/nested"]
    assert tk.Metadata.from_bytes(data, role="targets/releases").signed == parsed.signed
    # with a role given, the direct-child check still applies
    with pytest.raises(tk.MalformedMetadataError, match="delegation role targets/releases/nested invalid"):
        tk.Metadata.from_bytes(data, role="targets")


def test_a_fast_forwarded_timestamp_is_forgotten_when_the_new_root_rotates_its_key(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"one")
    remote = FakeRemote()
    files = sim.publish()
    remote.serve(files)
    reader(remote, tmp_path).refresh()
    # the timestamp key (the server's) is stolen: a timestamp of version 1,000,000 is trusted and cached
    stolen = tk.Timestamp(
        version=1_000_000, expires=NOW + timedelta(days=1), meta={"snapshot": tk.MetaFile.from_data(files["snapshot"])}
    )
    remote.serve({**files, "timestamp": tk.Metadata(stolen).sign(sim.keys["timestamp"].signer()).to_bytes()})
    assert reader(remote, tmp_path).refresh().timestamp.signed.version == 1_000_000  # type: ignore[union-attr]
    # recovery: the owner rotates the timestamp key in a new root
    sim.keys["timestamp"] = tk.generate_private_key()
    remote.serve(sim.publish(new_root=True))
    trusted = reader(remote, tmp_path).refresh()
    assert (trusted.root.signed.version, trusted.timestamp.signed.version) == (2, 2)  # type: ignore[union-attr]
    assert reader(remote, tmp_path).refresh().timestamp.signed.version == 2  # type: ignore[union-attr]


def _without_in_snapshot(sim: RepoSim, files: dict[str, bytes], role: str) -> dict[str, bytes]:
    """The repository with ``role`` left out of a re-signed snapshot (the snapshot key is the server's)."""
    return sim.seal({name: data for name, data in files.items() if name != role})


def _two_delegations() -> RepoSim:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"one")
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), ["latest", "r/"])
    sim.delegations["targets/releases"].targets["latest"] = tk.TargetFile.from_digest("11" * 32, 1)
    sim.delegations["targets/other"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/other"].targets["latest"] = tk.TargetFile.from_digest("22" * 32, 2)
    sim.delegations["targets/other"].targets["v9"] = tk.TargetFile.from_digest("99" * 32, 9)
    return sim


def _answers(client: tk.Reader) -> tuple[object, ...]:
    """What a read answers, the roles it skipped (with why) and the ones it blocked."""
    return (
        client.get_target("latest").role,
        [(m.name, m.role) for m in client.list_targets()],
        client.skipped,
        client.invalid,
        client.trusted.blocked,
    )


NEVER_SIGNED = "targets delegates to it but the snapshot does not list it: never signed into"


def test_a_never_published_delegation_is_skipped_at_first_contact_and_warm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # docker trust signer add: the parent delegates to the role, which has no file until someone signs into it
    sim = _two_delegations()
    remote = FakeRemote()
    remote.serve(_without_in_snapshot(sim, sim.publish(), "targets/releases"))
    first = reader(remote, tmp_path)
    assert first.get_target("latest").role == "targets/other"  # as notary answers
    assert first.skipped == {"targets/releases": NEVER_SIGNED}
    assert first.trusted.blocked == {}
    assert "skipping targets/releases" in caplog.text
    first.refresh()  # again in the same process
    assert first.get_target("latest").role == "targets/other"
    warm = reader(remote, tmp_path)
    assert _answers(warm) == _answers(first)
    remote.serve(_without_in_snapshot(sim, sim.publish(), "targets/releases"))  # a newer version, still unsigned
    assert reader(remote, tmp_path).get_target("latest").role == "targets/other"


def test_a_delegation_the_new_snapshot_drops_stops_the_lookup(tmp_path: Path) -> None:
    sim = _two_delegations()
    remote = FakeRemote()
    remote.serve(sim.publish())
    client = reader(remote, tmp_path)
    assert client.get_target("latest").role == "targets/releases"
    nocache = tk.Reader(GUN, remote, clock=lambda: NOW)  # type: ignore[arg-type]
    nocache.refresh()
    # the snapshot key's holder (the server) drops targets/releases from a newer snapshot; targets still delegates
    remote.serve(_without_in_snapshot(sim, sim.publish(), "targets/releases"))
    dropped = r"targets/releases could hold 'latest'.*snapshot trusted before listed it.*TUF 5.5.5"
    # in the same process without a cache (twice), from the cached snapshot, once the cache moved on, offline
    attempts = (
        nocache,
        nocache,
        reader(remote, tmp_path),
        client,
        reader(remote, tmp_path),
        reader(None, tmp_path, offline=True),
    )
    for attempt in attempts:
        attempt.refresh()
        with pytest.raises(tk.VerificationError, match=dropped):
            attempt.get_target("latest")
        assert attempt.get_target("v9").role == "targets/other"  # outside the dropped role's paths
        assert [(m.name, m.role) for m in attempt.list_targets()] == [("v1", "targets"), ("v9", "targets/other")]
        assert list(attempt.trusted.blocked) == ["targets/releases"]
        assert attempt.skipped == {}
    # the server lists it again: reads recover
    remote.serve(sim.publish())
    assert reader(remote, tmp_path).get_target("latest").role == "targets/releases"


def test_a_deleted_delegation_reads_fine_and_may_be_created_again(tmp_path: Path) -> None:
    sim = _two_delegations()
    remote = FakeRemote()
    remote.serve(sim.publish())
    assert reader(remote, tmp_path).get_target("latest").role == "targets/releases"
    cache = MetadataCache(tmp_path, GUN)
    assert "targets/releases" in cache.roles()
    releases = sim.delegations.pop("targets/releases")  # its owner deletes the delegation: gone from targets too
    remote.serve(sim.publish())
    client = reader(remote, tmp_path)
    assert client.get_target("latest").role == "targets/other"
    assert (client.skipped, client.trusted.blocked) == ({}, {})
    assert "targets/releases" not in cache.roles()  # forgotten: no longer delegated
    # created again and not signed into yet: never published, skipped as notary does
    sim.delegations["targets/releases"] = Delegation(releases.key, releases.paths)
    remote.serve(_without_in_snapshot(sim, sim.publish(), "targets/releases"))
    client = reader(remote, tmp_path)
    assert client.get_target("latest").role == "targets/other"
    assert (client.skipped, client.trusted.blocked) == ({"targets/releases": NEVER_SIGNED}, {})


@pytest.mark.parametrize("why", ["never signed into", "expired", "under-signed"])
def test_a_skipped_delegation_is_skipped_offline_and_server_down_as_online(why: str, tmp_path: Path) -> None:
    sim = _two_delegations()
    if why == "expired":
        sim.expires["targets/releases"] = NOW - timedelta(days=1)
    if why == "under-signed":
        sim.delegations["targets/releases"].threshold = 2
    files = sim.publish()
    remote = FakeRemote()
    remote.serve(_without_in_snapshot(sim, files, "targets/releases") if why == "never signed into" else files)
    online = reader(remote, tmp_path)
    answers = _answers(online)
    assert answers[0] == "targets/other"  # notary's rule online: skipped, names fall through
    assert list(online.skipped) == ["targets/releases"]
    assert why in online.skipped["targets/releases"] or why != "never signed into"
    assert online.trusted.blocked == {}
    assert _answers(reader(None, tmp_path, offline=True)) == answers
    down = reader(DownRemote(), tmp_path)  # type: ignore[arg-type]
    assert _answers(down) == answers
    assert down.cache_age is not None


def test_kept_invalid_bytes_are_checked_again_and_trusted_once_they_verify(tmp_path: Path) -> None:
    sim = _two_delegations()
    sim.delegations["targets/releases"].threshold = 2  # one key: under-signed
    first = sim.publish()
    remote = FakeRemote()
    remote.serve(first)
    client = reader(remote, tmp_path)
    assert client.get_target("latest").role == "targets/other"
    assert list(client.invalid) == ["targets/releases"]
    # the owner lowers the threshold; the snapshot lists the same releases bytes
    sim.delegations["targets/releases"].threshold = 1
    files = {**sim.publish(), "targets/releases": first["targets/releases"]}
    meta = {name: tk.MetaFile.from_data(data) for name, data in files.items() if name not in ("snapshot", "timestamp")}
    remote.serve(_resign_snapshot(sim, files, meta))
    remote.requests.clear()
    client = reader(remote, tmp_path)
    assert client.get_target("latest").role == "targets/releases"
    assert (client.invalid, client.skipped) == ({}, {})
    assert "targets/releases" not in [role for role, _, _ in remote.requests]  # the kept bytes, not a download
    assert MetadataCache(tmp_path, GUN).load("targets/releases") == first["targets/releases"]
    assert reader(None, tmp_path, offline=True).get_target("latest").role == "targets/releases"


def test_a_listed_delegation_missing_from_the_cache_stops_offline_lookups(tmp_path: Path) -> None:
    sim = _two_delegations()
    remote = FakeRemote()
    remote.serve(sim.publish())
    reader(remote, tmp_path).refresh()
    MetadataCache(tmp_path, GUN).remove("targets/releases")  # lost, for no reason any read recorded
    offline = reader(None, tmp_path, offline=True)
    assert offline.get_target("v9").role == "targets/other"
    with pytest.raises(tk.VerificationError, match=r"targets/releases could hold 'latest'.*not cached"):
        offline.get_target("latest")
    down = reader(DownRemote(), tmp_path)  # type: ignore[arg-type]
    assert "server cannot give it now" in down.trusted.blocked["targets/releases"]


def _resign_snapshot(sim: RepoSim, files: dict[str, bytes], meta: dict[str, tk.MetaFile]) -> dict[str, bytes]:
    """``files`` with a snapshot listing exactly ``meta``, and a timestamp for it, re-signed."""
    snapshot = sim.sign_snapshot(meta)
    out = {name: data for name, data in files.items() if name in meta}
    return {**out, "snapshot": snapshot, "timestamp": sim.sign_timestamp(tk.MetaFile.from_data(snapshot))}


@pytest.mark.parametrize("algorithms", [("sha512",), ()])
def test_a_snapshot_entry_without_sha256_is_read_as_notary_reads_it(
    algorithms: tuple[str, ...], tmp_path: Path
) -> None:
    sim = _two_delegations()
    files = sim.publish()
    meta = {name: tk.MetaFile.from_data(data) for name, data in files.items() if name not in ("snapshot", "timestamp")}
    meta["targets/releases"] = tk.MetaFile.from_data(files["targets/releases"], algorithms=algorithms)
    remote = FakeRemote()
    remote.serve(_resign_snapshot(sim, files, meta))
    client = reader(remote, tmp_path)
    if algorithms:  # fetched by name, as notary does, and checked against the sha512 listed
        assert client.get_target("latest").role == "targets/releases"
        assert ("targets/releases", None, None) in remote.requests
    else:
        with pytest.raises(tk.MalformedMetadataError, match="targets/releases is listed without a sha256 or sha512"):
            client.refresh()


def test_a_snapshot_listed_with_length_zero_is_a_hash_mismatch(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    files = sim.publish()
    entry = tk.MetaFile.from_data(files["snapshot"])
    remote = FakeRemote()
    remote.serve({**files, "timestamp": sim.sign_timestamp(tk.MetaFile(0, entry.hashes))})
    with pytest.raises(tk.HashMismatchError, match="snapshot is listed with length 0"):
        reader(remote, tmp_path).refresh()


def test_a_length_beyond_what_go_can_verify_says_so() -> None:
    entry = {"length": 2**62, "hashes": {"sha256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}
    with pytest.raises(tk.MalformedMetadataError, match=r"length must be at most 2\*\*53 .*not 4611686018427387904"):
        tk.MetaFile.from_dict(entry, where="snapshot meta targets")
    with pytest.raises(tk.MalformedMetadataError, match="length must be at least 0, not -1"):
        tk.MetaFile.from_dict({**entry, "length": -1}, where="snapshot meta targets")


def test_a_validly_signed_timestamp_in_utf16_is_refused(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    files = sim.publish()
    remote = FakeRemote()
    remote.serve(files)
    reader(remote, tmp_path).refresh()
    for encoding in ("utf-16", "utf-8-sig", "utf-32-le"):
        remote.files["timestamp"] = files["timestamp"].decode().encode(encoding)
        with pytest.raises(tk.MalformedMetadataError, match="not UTF-8"):
            reader(remote, tmp_path).refresh()
        assert MetadataCache(tmp_path, GUN).load("timestamp") == files["timestamp"]


@pytest.mark.parametrize("expires", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_summaries_and_health_reports_show_expiries_at_the_ends_of_the_date_range(expires: str, tmp_path: Path) -> None:
    sim = _two_delegations()
    sim.expires["targets/releases"] = GoTime.parse(expires)  # type: ignore[assignment]
    remote = FakeRemote()
    remote.serve(sim.publish())
    client = reader(remote, tmp_path)
    client.refresh()
    text = str(tk.health_report(client, now=NOW)) + str(tk.repository_summary(client, now=NOW))
    assert expires[:10] in text


@pytest.mark.parametrize("shared_key", [True, False])
def test_mix_and_match_across_repositories_needs_a_shared_signer_key(shared_key: bool, tmp_path: Path) -> None:
    """The documented format limit: a role is not bound to its GUN, so only per-repository signer keys stop a
    snapshot-key holder from serving repository B's role as repository A's."""
    a = _two_delegations()
    b = RepoSim("localhost:5000/sim/other", now=NOW)
    signer = a.delegations["targets/releases"].key if shared_key else tk.generate_private_key()
    b.delegations["targets/releases"] = Delegation(signer, ["latest", "r/"])
    b.delegations["targets/releases"].targets["latest"] = tk.TargetFile.from_digest("bb" * 32, 66)
    files_a = a.publish()
    files_a["targets/releases"] = b.publish()["targets/releases"]
    meta = {
        name: tk.MetaFile.from_data(data) for name, data in files_a.items() if name not in ("snapshot", "timestamp")
    }
    remote = FakeRemote()
    remote.serve(_resign_snapshot(a, files_a, meta))
    match = reader(remote, tmp_path).get_target("latest")
    if shared_key:
        assert (match.role, match.target.length) == ("targets/releases", 66)  # the limit docs/trust-model.md states
    else:
        assert (match.role, match.target.length) == ("targets/other", 2)  # B's file does not verify: skipped


def _count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = tk.PublicKey._verify

    def counting(self: tk.PublicKey, method: str, signature: bytes, message: bytes, digest: bytes | None) -> bool:
        calls.append(self.key_id)
        return real(self, method, signature, message, digest)

    monkeypatch.setattr(tk.PublicKey, "_verify", counting)
    return calls


def test_a_signature_flood_costs_one_check_per_key(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = RepoSim(now=NOW)
    root = tk.Metadata.from_bytes(sim.publish()["root"], role="root")
    (good,) = root.signatures
    bogus = [tk.Signature(good.keyid, "ecdsa", bytes([i % 256]) * 64) for i in range(500)]
    flooded = tk.Metadata(root.signed, (*bogus, good)).to_bytes()
    calls = _count_verifications(monkeypatch)
    with pytest.raises(tk.UntrustedRootError, match="signed by 0 of 1"):  # the key ID failed once: not tried again
        TrustedMetadataSet(flooded, gun=sim.gun, first_contact=True, clock=lambda: NOW)
    assert len(calls) == 1
    # signatures beyond the threshold are not checked: the timestamp role of two keys, threshold 1, both signed
    second = tk.generate_private_key()
    signed = root.signed.with_role_keys("timestamp", [sim.keys["timestamp"].public_key, second.public_key])
    stamp = tk.Metadata(tk.Timestamp(version=1, expires=NOW, meta={"snapshot": tk.MetaFile.from_data(b"x")}))
    stamp = stamp.sign(sim.keys["timestamp"].signer()).sign(second.signer())
    calls.clear()
    assert len(signed.verify_delegate("timestamp", stamp).signed) == 1
    assert len(calls) == 1


def test_a_failed_signature_check_is_not_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    signers = [tk.generate_private_key() for _ in range(3)]
    keys = [s.public_key for s in signers]
    role = tk.DelegatedRole([k.key_id for k in keys], 3, name="targets/evil", paths=[""])
    parent = tk.Targets(version=1, expires=NOW).with_delegation(role, keys)
    bogus = [tk.Signature(k.key_id, "ecdsa", bytes([i]) * 64) for i, k in enumerate(keys)]
    flooded = tk.Metadata(tk.Targets(version=1, expires=NOW), bogus)
    calls = _count_verifications(monkeypatch)
    for _ in range(3):  # a refresh repeated after a root rotation, or the next warm refresh
        with pytest.raises(tk.ThresholdError, match=r"\(0/3\)"):
            parent.verify_delegate("targets/evil", tk.Metadata.from_bytes(flooded.to_bytes()))
    assert len(calls) == 3  # one per key, the first time only
    signed = tk.Metadata(tk.Targets(version=1, expires=NOW))
    for signer in signers:
        signed = signed.sign(signer.signer())
    assert parent.verify_delegate("targets/evil", signed)  # valid signatures are checked as ever


def test_a_file_with_more_signatures_than_any_signer_makes_is_malformed() -> None:
    sim = RepoSim(now=NOW)
    root = tk.Metadata.from_bytes(sim.publish()["root"], role="root")
    flooded = tk.Metadata(root.signed, [tk.Signature(f"{i:064x}", "ecdsa", b"\0" * 64) for i in range(1025)])
    with pytest.raises(tk.MalformedMetadataError, match="1025 signatures, more than the 1024"):
        tk.Metadata.from_bytes(flooded.to_bytes())


_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _spki(key: tk.PublicKey) -> bytes:
    return key.crypto_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_one_key_in_two_certificates_does_not_meet_a_root_threshold_of_two() -> None:
    sim = RepoSim(now=NOW)
    key = sim.root_keys[0]
    sim.add_root_cert(key)  # a second certificate of the same key
    sim.root_version = 1
    root = sim.root_metadata()
    certs = sim.root_certs
    signed = root.signed
    signed = attrs.evolve(signed, roles={**signed.roles, "root": tk.Role([c.key_id for c in certs], 2)})
    both = tk.Metadata(signed).sign(key.signer(), key=certs[0]).sign(key.signer(), key=certs[1])
    assert len(both.signatures) == 2
    with pytest.raises(tk.UntrustedRootError, match="signed by 1 of 2"):
        TrustedMetadataSet(both.to_bytes(), gun=sim.gun, first_contact=True, clock=lambda: NOW)


def test_one_key_under_several_key_ids_counts_once_toward_a_threshold() -> None:
    signer = tk.generate_private_key()
    bare = signer.public_key
    cert = tk.make_root_key(signer, "any/gun", now=NOW - timedelta(days=1))
    role = tk.DelegatedRole([bare.key_id, cert.key_id], 2, name="targets/releases", paths=[""])
    parent = tk.Targets(version=1, expires=NOW).with_delegation(role, [bare, cert])
    child = tk.Metadata(tk.Targets(version=1, expires=NOW)).sign(signer.signer()).sign(signer.signer(), key=cert)
    assert {s.keyid for s in child.signatures} == {bare.key_id, cert.key_id}
    result = parent.get_verification_result("targets/releases", child)
    assert len(result.signed) == 1
    with pytest.raises(tk.ThresholdError, match=r"\(1/2\)"):
        parent.verify_delegate("targets/releases", child)


def test_keys_notary_cannot_read_never_verify() -> None:
    signer = tk.generate_private_key()
    point = signer.public_key.crypto_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    compressed = tk.PublicKey("ecdsa", bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + point)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = tk.PublicKey(
        "rsa", rsa_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    )
    for key in (compressed, pkcs1):
        with pytest.raises(tk.KeyFormatError, match="not a PKIX public key with an uncompressed point"):
            key.crypto_key  # noqa: B018
    message = b"signed bytes"
    ecdsa_sig = tk.Metadata(tk.Targets(version=1, expires=NOW)).sign(signer.signer()).signatures[0]
    assert signer.public_key.verify(
        "ecdsa", ecdsa_sig.sig, tk.Metadata(tk.Targets(version=1, expires=NOW)).signed_bytes
    )
    assert not compressed.verify("ecdsa", ecdsa_sig.sig, tk.Metadata(tk.Targets(version=1, expires=NOW)).signed_bytes)
    pss = rsa_key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    assert tk.PublicKey("rsa", _spki(tk.PublicKey.from_crypto(rsa_key.public_key()))).verify("rsapss", pss, message)
    assert not pkcs1.verify("rsapss", pss, message)


def _der_length(n: int) -> bytes:
    return bytes([n]) if n < 128 else b"\x81" + bytes([n]) if n < 256 else b"\x82" + n.to_bytes(2, "big")


def _der_body(der: bytes, at: int) -> tuple[int, int]:
    """(start, length) of the contents of the TLV at ``at``."""
    first = der[at + 1]
    if first < 128:
        return at + 2, first
    count = first & 0x7F
    return at + 2 + count, int.from_bytes(der[at + 2 : at + 2 + count], "big")


def test_a_certificate_holding_a_compressed_point_is_refused_whatever_else_it_holds() -> None:
    """The check compared the key's uncompressed SPKI with the whole certificate by substring: the same bytes in
    an extension let a certificate whose own key is a compressed point (Go cannot parse it) pass."""
    from datetime import datetime, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ObjectIdentifier

    key = ec.generate_private_key(ec.SECP256R1())
    uncompressed = key.public_key().public_bytes(serialization.Encoding.DER, _SPKI)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    compressed = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + point
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com/app")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), uncompressed), False)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    start, _ = _der_body(der, 0)
    tbs_start, tbs_length = _der_body(der, start)
    tbs_body = der[tbs_start : tbs_start + tbs_length].replace(uncompressed, compressed, 1)  # the SPKI comes first
    tbs = b"\x30" + _der_length(len(tbs_body)) + tbs_body
    rest = der[tbs_start + tbs_length :]
    forged = b"\x30" + _der_length(len(tbs) + len(rest)) + tbs + rest
    as_key = tk.PublicKey("ecdsa-x509", encode_pem("CERTIFICATE", forged))
    with pytest.raises(tk.KeyFormatError, match="not a PKIX public key with an uncompressed point"):
        as_key.crypto_key  # noqa: B018
    honest = tk.PublicKey("ecdsa-x509", encode_pem("CERTIFICATE", der))  # the extension alone is fine
    assert honest.crypto_key.public_bytes(serialization.Encoding.DER, _SPKI) == uncompressed


def test_rsa_keys_go_cannot_read_or_larger_than_any_real_key_are_refused() -> None:
    n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
    big_exponent = rsa.RSAPublicNumbers((1 << 200) | 1, n).public_key()
    huge_modulus = rsa.RSAPublicNumbers(65537, (1 << 8200) | 1).public_key()
    for crypto, match in ((big_exponent, "201-bit public exponent"), (huge_modulus, "8201 bits")):
        key = tk.PublicKey("rsa", crypto.public_bytes(serialization.Encoding.DER, _SPKI))
        with pytest.raises(tk.KeyFormatError, match=match):
            key.crypto_key  # noqa: B018
        assert not key.verify("rsapss", b"\1" * 256, b"message")
        with pytest.raises(tk.KeyFormatError, match=match):
            tk.PublicKey.from_crypto(crypto)
    limit = rsa.RSAPublicNumbers(2**31 - 1, n).public_key()  # the largest exponent Go reads
    assert tk.PublicKey.from_crypto(limit).crypto_key.public_numbers().e == 2**31 - 1  # type: ignore[union-attr]


def test_a_read_checks_a_bounded_number_of_delegated_roles_and_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import trustkit.client.reader as reader_module

    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"one")
    for i in range(6):  # a fan-out of delegated roles, one key each
        sim.delegations[f"targets/r{i}"] = Delegation(tk.generate_private_key(), [""])
    files = sim.publish()
    remote = FakeRemote()
    remote.serve(files)
    monkeypatch.setattr(reader_module, "MAX_DELEGATIONS", 4)
    calls = _count_verifications(monkeypatch)
    trusted = reader(remote, tmp_path).refresh()
    delegation_checks = len(calls) - 4  # root, timestamp, snapshot, targets: one key each
    assert delegation_checks == 4
    assert sorted(trusted.blocked) == ["targets/r4", "targets/r5"]
    with pytest.raises(tk.VerificationError, match="targets/r4"):
        trusted.get_target("absent")
    monkeypatch.setattr(reader_module, "MAX_DELEGATIONS", 256)
    monkeypatch.setattr(reader_module, "MAX_DELEGATION_KEYS", 2)  # the key budget binds the same way
    assert sorted(reader(remote, tmp_path).refresh().blocked) == [f"targets/r{i}" for i in range(2, 6)]


@pytest.mark.parametrize("unit", [b"{},", b"[],", b'{"a":[]},'])
def test_a_file_packed_with_empty_objects_is_refused_before_it_is_parsed(unit: bytes) -> None:
    head = b'{"signed":{"_type":"Root","version":1},"signatures":['
    data = head + unit * (4 * 1024 * 1024 // len(unit)) + b"{}]}"
    tracemalloc.start()
    try:
        with pytest.raises(tk.MalformedMetadataError, match="more than trust data holds"):
            tk.Metadata.from_bytes(data, role="root")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(data)  # parsed, it cost 50 times its size


@pytest.mark.parametrize("unit", [b"1.0,", b"1e1,", b'"ab",'])
def test_a_file_packed_with_floats_or_strings_is_refused_within_the_stated_bound(unit: bytes) -> None:
    head = b'{"signed":{"_type":"Root","version":1,"x":['
    data = head + unit * (1024 * 1024 // len(unit)) + b'0]},"signatures":[]}'
    tracemalloc.start()
    try:
        with pytest.raises(tk.MalformedMetadataError, match="more than trust data holds"):
            tk.Metadata.from_bytes(data, role="root")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # floats cost 52 times their size (RSS), strings 20 times; now the worst is floats: 17 times (RSS), 20 (traced)
    assert peak < 24 * len(data)


def test_a_warm_read_does_not_parse_cached_files_it_does_not_use(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"one")
    remote = FakeRemote()
    remote.serve(sim.publish())
    reader(remote, tmp_path).refresh()
    cache = MetadataCache(tmp_path, GUN)
    planted = b'{"signed":{"_type":"Targets","x":[' + b"1.0," * (4 * 1024 * 1024 // 4) + b'0]},"signatures":[]}'
    (cache.path / "targets").mkdir()
    (cache.path / "targets" / "zzz.json").write_bytes(planted)  # a role nothing trusted refers to
    tracemalloc.start()
    try:
        assert reader(remote, tmp_path).refresh().get_target("v1").role == "targets"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(planted)  # it was parsed: 17 times its size and more (20 MB of floats: 550 MB)
    # a cached file is capped as the network is: a cached timestamp over notary's 1 MiB is not read
    (cache.path / "timestamp.json").write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(tk.RepositoryNotFoundError, match="no cached timestamp"):
        reader(None, tmp_path, offline=True).refresh()


def test_a_first_contact_root_is_capped_far_below_notarys_download_limit(tmp_path: Path) -> None:
    sim = RepoSim(now=NOW)
    files = sim.publish()
    remote = FakeRemote()
    remote.serve(files)
    remote.files["root"] = files["root"][:-1] + b" " * (10 * 1024 * 1024) + b"}"
    with pytest.raises(tk.OversizedResponseError):
        reader(remote, tmp_path).refresh()
    assert [max_size for role, max_size in remote.caps if role == "root"] == [10 * 1024 * 1024]


def test_real_sized_trust_data_passes_the_density_check() -> None:
    sim = RepoSim(now=NOW)
    sim.targets.update({f"{i}": tk.TargetFile.from_digest(f"{i:064x}", i) for i in range(20_000)})
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    files = sim.publish()
    assert len(files["targets"]) > 1_000_000
    assert len(tk.Metadata.from_bytes(files["targets"], role="targets").signed.targets) == 20_000
