"""The trusted-metadata state machine and the attack catalogue: each attack ends in its specific typed error,
and what was trusted before stays trusted (python-tuf's and tuf-conformance's catalogues, plus notary's cases)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, RepoSim
from trustkit.trust import TrustedMetadataSet, TrustPinning, UpdateOrderError


def clock(moment: datetime = NOW) -> Callable[[], datetime]:
    return lambda: moment


def load_all(files: dict[str, bytes], **kwargs: Any) -> TrustedMetadataSet:
    """Run the whole workflow over ``files`` from a first-contact root."""
    kwargs.setdefault("clock", clock())
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, **kwargs)
    trusted.update_timestamp(files["timestamp"])
    trusted.update_snapshot(files["snapshot"])
    trusted.update_targets(files["targets"])
    for role in sorted((r for r in files if r.startswith("targets/")), key=lambda r: r.count("/")):
        trusted.update_delegation(role, files[role])
    return trusted


#: The roles of the update workflow after root, in the order a client loads them.
WORKFLOW = ("timestamp", "snapshot", "targets", "targets/releases")


def update_role(trusted: TrustedMetadataSet, role: str, data: bytes) -> None:
    """Load ``data`` as ``role`` with the update method the workflow uses for it (delegations are named)."""
    if role.startswith("targets/"):
        trusted.update_delegation(role, data)
    else:
        getattr(trusted, f"update_{role}")(data)


def publish_then_rotate_root(sim: RepoSim, *, old_key_signs: bool = True) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The root-rotation tests' set-up: publish, then add a root key and publish root version 2 signed by the old
    and the new key (or by the new key alone). Returns both publishes' files."""
    files = sim.publish()
    new_key = tk.generate_private_key()
    sim.add_root_cert(new_key)
    sim.signing_root_keys = [sim.root_keys[0], new_key] if old_key_signs else [new_key]
    return files, sim.publish(new_root=True)


@pytest.fixture
def sim() -> RepoSim:
    sim = RepoSim()
    sim.targets["v1"] = tk.TargetFile.from_digest("11" * 32, 100)
    sim.delegations["targets/releases"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases"].targets["v2"] = tk.TargetFile.from_digest("22" * 32, 200)
    return sim


def test_happy_path(sim: RepoSim) -> None:
    trusted = load_all(sim.publish())
    assert trusted.roles() == ["root", "timestamp", "snapshot", "targets", "targets/releases"]
    match = trusted.get_target("v2")
    assert match is not None and match.role == "targets/releases" and match.target.length == 200
    assert [(m.name, m.role) for m in trusted.list_targets()] == [("v1", "targets"), ("v2", "targets/releases")]
    assert trusted.get_target("missing") is None


def test_cached_root_need_not_be_first_contact(sim: RepoSim) -> None:
    files = sim.publish()
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=False, clock=clock())
    assert trusted.root.signed.version == 1


# --- rollback ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", WORKFLOW)
def test_rollback_of_each_role(sim: RepoSim, role: str) -> None:
    """A validly signed, consistent chain in which ``role`` is older than the version trusted before."""
    files = sim.publish()
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock(), min_versions={role: 2})
    for step in WORKFLOW[: WORKFLOW.index(role)]:
        update_role(trusted, step, files[step])
    with pytest.raises(tk.RollbackError, match=f"{role} version 1 is lower than current version 2"):
        update_role(trusted, role, files[role])
    assert role not in trusted


def test_rollback_detected_even_with_consistent_old_chain(sim: RepoSim) -> None:
    old = sim.publish()
    trusted_versions = {r: 2 for r in WORKFLOW}
    with pytest.raises(tk.RollbackError, match="timestamp version 1 is lower than current version 2"):
        load_all(old, min_versions=trusted_versions)


def test_equal_version_is_accepted(sim: RepoSim) -> None:
    files = sim.publish()
    load_all(files, min_versions={"timestamp": 1, "snapshot": 1, "targets": 1})


def test_root_rollback(sim: RepoSim) -> None:
    first = sim.publish()
    sim.publish(new_root=True)
    trusted = TrustedMetadataSet(sim.roots[-1], gun=GUN, first_contact=True, clock=clock())
    with pytest.raises(tk.RollbackError, match="root version 1"):
        trusted.update_root(first["root"])


# --- freeze -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets", "targets/releases", "root"])
def test_freeze_expired_role(sim: RepoSim, role: str) -> None:
    sim.expires[role] = NOW - timedelta(seconds=1)
    files = sim.publish()
    with pytest.raises(tk.ExpiredMetadataError, match=f"{role} expired at"):
        load_all(files)


# --- mix and match ----------------------------------------------------------------------------------------


def test_mix_and_match_snapshot(sim: RepoSim) -> None:
    old = sim.publish()
    new = sim.publish()
    with pytest.raises(tk.HashMismatchError, match="snapshot"):
        load_all({**new, "snapshot": old["snapshot"]})


def test_mix_and_match_targets(sim: RepoSim) -> None:
    old = sim.publish()
    new = sim.publish()
    with pytest.raises(tk.HashMismatchError, match="targets"):
        load_all({**new, "targets": old["targets"]})


def test_endless_data_is_caught_by_length(sim: RepoSim) -> None:
    files = sim.publish()
    with pytest.raises(tk.HashMismatchError, match="length"):
        load_all({**files, "snapshot": files["snapshot"] + b" " * 10_000})


# --- arbitrary package and paths --------------------------------------------------------------------------


def test_arbitrary_package_outside_delegated_paths(sim: RepoSim) -> None:
    sim.delegations["targets/releases"].paths = ["release/"]
    sim.delegations["targets/releases"].targets["evil"] = tk.TargetFile.from_digest("66" * 32, 1)
    sim.delegations["targets/releases"].targets["release/ok"] = tk.TargetFile.from_digest("77" * 32, 1)
    trusted = load_all(sim.publish())
    assert trusted.get_target("evil") is None
    assert trusted.get_target("release/ok") is not None
    assert "evil" not in {m.name for m in trusted.list_targets()}


def test_paths_are_restricted_through_the_chain(sim: RepoSim) -> None:
    sim.delegations["targets/a"] = Delegation(tk.generate_private_key(), ["a/"])
    sim.delegations["targets/a/b"] = Delegation(tk.generate_private_key(), ["a/b/", "x/"])
    sim.delegations["targets/a/b"].targets.update(
        {"a/b/ok": tk.TargetFile.from_digest("33" * 32, 1), "x/escape": tk.TargetFile.from_digest("44" * 32, 1)}
    )
    trusted = load_all(sim.publish())
    assert trusted.delegation_paths("targets/a/b") == ("a/b/",)
    assert trusted.get_target("a/b/ok") is not None
    assert trusted.get_target("x/escape") is None


def test_first_match_wins_breadth_first(sim: RepoSim) -> None:
    sim.targets["dup"] = tk.TargetFile.from_digest("aa" * 32, 1)
    sim.delegations["targets/releases"].targets["dup"] = tk.TargetFile.from_digest("bb" * 32, 2)
    trusted = load_all(sim.publish())
    match = trusted.get_target("dup")
    assert match is not None and match.role == "targets"


# --- signatures and keys ----------------------------------------------------------------------------------


def test_threshold_not_met(sim: RepoSim) -> None:
    sim.delegations["targets/releases"].threshold = 2
    files = sim.publish()
    with pytest.raises(tk.ThresholdError, match="targets/releases"):
        load_all(files)


def test_duplicate_signatures_from_one_key(sim: RepoSim) -> None:
    sim.delegations["targets/releases"].threshold = 2
    files = sim.publish()
    obj = json.loads(files["targets/releases"])
    obj["signatures"] = obj["signatures"] * 2
    files["targets/releases"] = json.dumps(obj, separators=(",", ":")).encode()
    files = sim.seal(files)
    with pytest.raises(tk.ThresholdError, match="1/2"):
        load_all(files)


def test_wrong_key_signs_timestamp(sim: RepoSim) -> None:
    files = sim.publish()
    sim.keys["timestamp"] = tk.generate_private_key()
    forged = sim.publish()
    with pytest.raises(tk.ThresholdError, match="timestamp"):
        load_all({**forged, "root": files["root"]})


def test_key_id_not_matching_key_content(sim: RepoSim) -> None:
    files = sim.publish()
    obj = json.loads(files["targets"])
    keys = obj["signed"]["delegations"]["keys"]
    keyid = next(iter(keys))
    keys[keyid] = tk.generate_private_key().public_key.to_dict()
    targets = tk.Metadata.from_bytes(json.dumps(obj, separators=(",", ":")).encode())
    releases = tk.Metadata.from_bytes(files["targets/releases"])
    with pytest.raises(tk.KeyIdMismatchError, match=keyid):
        targets.signed.verify_delegate("targets/releases", releases)


def test_delegation_not_named_by_parent_or_snapshot(sim: RepoSim) -> None:
    files = sim.publish()
    trusted = load_all(files)
    with pytest.raises(tk.UnknownRoleError, match="no delegation named"):
        trusted.update_delegation("targets/other", files["targets/releases"])
    with pytest.raises(UpdateOrderError, match="parent"):
        trusted.update_delegation("targets/x/y", files["targets/releases"])


# --- root rotation ----------------------------------------------------------------------------------------


def test_root_rotation(sim: RepoSim) -> None:
    files, rotated = publish_then_rotate_root(sim)
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    trusted.update_root(rotated["root"])
    trusted.update_timestamp(rotated["timestamp"])
    assert trusted.root.signed.version == 2


def test_root_rotation_without_old_threshold(sim: RepoSim) -> None:
    files, rotated = publish_then_rotate_root(sim, old_key_signs=False)
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    with pytest.raises(tk.UntrustedRootError, match="previous root requires"):
        trusted.update_root(rotated["root"])
    assert trusted.root.signed.version == 1


def test_skipped_intermediate_root(sim: RepoSim) -> None:
    files = sim.publish()
    key2, key3 = tk.generate_private_key(), tk.generate_private_key()
    sim.add_root_cert(key2)
    sim.signing_root_keys = [sim.root_keys[0], key2]
    v2 = sim.publish(new_root=True)["root"]
    sim.add_root_cert(key3)
    sim.signing_root_keys = [key2, key3]
    v3 = sim.publish(new_root=True)["root"]
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    with pytest.raises(tk.UntrustedRootError):
        trusted.update_root(v3)  # v1's key never signed v3
    trusted.update_root(v2, intermediate=True)
    trusted.update_root(v3)
    assert trusted.root.signed.version == 3


def test_root_update_only_before_timestamp(sim: RepoSim) -> None:
    files = sim.publish()
    trusted = load_all(files)
    with pytest.raises(UpdateOrderError):
        trusted.update_root(files["root"])


def test_snapshot_listing_another_root(sim: RepoSim) -> None:
    files, rotated = publish_then_rotate_root(sim)
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    trusted.update_timestamp(rotated["timestamp"])
    with pytest.raises(tk.RootMismatchError) as info:
        trusted.update_snapshot(rotated["snapshot"])
    assert info.value.expected_sha256 == tk.MetaFile.from_data(rotated["root"]).hashes["sha256"].hex()


# --- root certificates and pinning ------------------------------------------------------------------------


def test_root_certificate_for_another_gun(sim: RepoSim) -> None:
    files = sim.publish()
    with pytest.raises(tk.UntrustedRootError, match="not 'localhost:5000/other/app'"):
        TrustedMetadataSet(files["root"], gun="localhost:5000/other/app", first_contact=True, clock=clock())


def test_wildcard_certificate() -> None:
    sim = RepoSim()
    key = sim.root_keys[0]
    sim.root_certs = [tk.make_root_key(key, "localhost:5000/sim/*", now=NOW - timedelta(days=1))]
    files = sim.publish()
    TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())


def test_expired_root_certificate(sim: RepoSim) -> None:
    files = sim.publish()
    later = NOW + timedelta(days=3651)
    sim.expires["root"] = later + timedelta(days=1)
    with pytest.raises(tk.UntrustedRootError, match="expired"):
        TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock(later))


def test_root_with_bare_keys_is_untrusted() -> None:
    sim = RepoSim()
    sim.root_certs = [sim.root_keys[0].public_key]
    files = sim.publish()
    with pytest.raises(tk.UntrustedRootError, match="not a certificate"):
        TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())


def test_pinned_certificates(sim: RepoSim) -> None:
    files = sim.publish()
    cert_id = sim.root_certs[0].key_id
    TrustedMetadataSet(
        files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(certs={GUN: [cert_id]})
    )
    TrustedMetadataSet(
        files["root"],
        gun=GUN,
        first_contact=True,
        clock=clock(),
        pinning=TrustPinning(certs={"localhost:5000/*": [cert_id]}),
    )
    with pytest.raises(tk.UntrustedRootError, match="pinned"):
        TrustedMetadataSet(
            files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(certs={GUN: ["ab" * 32]})
        )


def test_a_pin_that_does_not_match_says_so_with_the_ids(sim: RepoSim) -> None:
    files = sim.publish()
    cert_id = sim.root_certs[0].key_id
    with pytest.raises(tk.UntrustedRootError) as info:
        TrustedMetadataSet(
            files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(certs={GUN: ["ab" * 32]})
        )
    message = str(info.value)
    assert "do not match the pinned ID(s)" in message and cert_id in message and "ab" * 32 in message


def test_a_single_pinned_id_as_a_string_is_one_pin(sim: RepoSim) -> None:
    """certs={gun: "abcd…"} pinned one ID per character (and so matched nothing); a string is now one ID."""
    files = sim.publish()
    cert_id = sim.root_certs[0].key_id
    assert TrustPinning(certs={GUN: cert_id}).certs_for(GUN) == (cert_id,)
    TrustedMetadataSet(
        files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(certs={GUN: cert_id})
    )
    for bad in ({GUN: [1, 2]}, {GUN: None}, ["not", "a", "mapping"]):
        with pytest.raises(tk.InvalidArgumentError, match="certificate IDs"):
            TrustPinning(certs=bad)  # type: ignore[arg-type]


def test_disable_tofu(sim: RepoSim) -> None:
    files = sim.publish()
    with pytest.raises(tk.UntrustedRootError, match="TOFU"):
        TrustedMetadataSet(
            files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(disable_tofu=True)
        )


def test_pinned_ca() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sim-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    sim = RepoSim()
    leaf_key = sim.root_keys[0]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GUN)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.crypto_key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    sim.root_certs = [tk.PublicKey.from_certificate(leaf)]
    files = sim.publish()
    bundle = ca.public_bytes(serialization.Encoding.PEM)
    TrustedMetadataSet(
        files["root"], gun=GUN, first_contact=True, clock=clock(), pinning=TrustPinning(ca={"localhost:5000/": bundle})
    )
    other = RepoSim()
    with pytest.raises(tk.UntrustedRootError, match="chains to the pinned CA"):
        TrustedMetadataSet(
            other.publish()["root"],
            gun=GUN,
            first_contact=True,
            clock=clock(),
            pinning=TrustPinning(ca={"localhost:5000/": bundle}),
        )


# --- malformed input and order ----------------------------------------------------------------------------


@pytest.mark.parametrize("step", WORKFLOW)
def test_malformed_json_at_every_step_keeps_last_good_state(sim: RepoSim, step: str) -> None:
    files = sim.publish()
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    for role in WORKFLOW[: WORKFLOW.index(step)]:
        update_role(trusted, role, files[role])
    before = trusted.roles()
    garbage = b'{"signed": {"_type": '
    with pytest.raises((tk.MalformedMetadataError, tk.HashMismatchError)):
        update_role(trusted, step, garbage)
    assert trusted.roles() == before


def test_malformed_root() -> None:
    with pytest.raises(tk.MalformedMetadataError):
        TrustedMetadataSet(b"{}", gun=GUN, first_contact=True)


def test_out_of_order(sim: RepoSim) -> None:
    files = sim.publish()
    trusted = TrustedMetadataSet(files["root"], gun=GUN, first_contact=True, clock=clock())
    with pytest.raises(UpdateOrderError):
        trusted.update_snapshot(files["snapshot"])
    with pytest.raises(UpdateOrderError):
        trusted.update_targets(files["targets"])
    with pytest.raises(tk.UnknownRoleError):
        trusted.raw("targets")


def test_models_unchanged(sim: RepoSim) -> None:
    trusted = load_all(sim.publish())
    assert attrs.has(type(trusted.root.signed))


def test_role_priority_lists(sim: RepoSim) -> None:
    sim.targets["dup"] = tk.TargetFile.from_digest("aa" * 32, 1)
    sim.delegations["targets/releases"].targets["dup"] = tk.TargetFile.from_digest("bb" * 32, 2)
    sim.delegations["targets/releases/nightly"] = Delegation(tk.generate_private_key(), [""])
    sim.delegations["targets/releases/nightly"].targets["n1"] = tk.TargetFile.from_digest("cc" * 32, 3)
    trusted = load_all(sim.publish())
    match = trusted.get_target("dup", roles=("targets/releases", "targets"))
    assert match is not None and match.role == "targets/releases"
    names = [(m.name, m.role) for m in trusted.list_targets(roles=("targets/releases", "targets"))]
    assert names == [
        ("dup", "targets/releases"),
        ("v2", "targets/releases"),
        ("n1", "targets/releases/nightly"),
        ("v1", "targets"),
    ]
    assert [m.name for m in trusted.list_targets(roles=("targets/releases/nightly",))] == ["n1"]
    assert trusted.list_targets(roles=("targets/unknown",)) == []


def test_sha1_root_certificate(tmp_path: Any) -> None:
    import shutil
    import subprocess

    from cryptography import x509

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a SHA-1 certificate (apt-get install -y openssl)")
    key_path, cert_path = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-sha1",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=sha1-root",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
            str(key_path),
            "-out",
            str(cert_path),
        ],
        check=True,
        capture_output=True,
    )
    sim = RepoSim(gun="sha1-root")
    sim.root_keys = [tk.load_private_key(key_path.read_bytes())]
    sim.signing_root_keys = list(sim.root_keys)
    sim.root_certs = [tk.PublicKey.from_certificate(x509.load_pem_x509_certificate(cert_path.read_bytes()))]
    files = sim.publish()
    with pytest.raises(tk.UntrustedRootError, match="SHA-1"):
        TrustedMetadataSet(files["root"], gun="sha1-root", first_contact=True)
