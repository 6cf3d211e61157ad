"""Planning and running a migration on trust data published by trustkit (MemoryRemote) and the in-process
registry of test_attachments: docker's release rule, drift, missing tags, attachment and invalid tag names,
image indexes, idempotence, report and progress. The real docker/notary/registry run is in
tests/interop/test_migrate_registry.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import trustkit as tk
from tests.support.fake_registry import REPO, FakeRegistry, digest_of
from trustkit.dct.registry import OCI_INDEX, OCI_MANIFEST
from trustkit.errors import InvalidArgumentError
from trustkit.migrate import (
    PROVENANCE_KEY,
    load_verification_key,
    parse_payload,
    plan_migration,
    read_signatures,
    released_tags,
    run_migration,
    verify_image,
)

GUN = f"registry.test/{REPO}"


def _manifest(fake: FakeRegistry, tag: str | None, body: bytes, media_type: str = OCI_MANIFEST) -> tuple[str, int]:
    if tag is not None:
        fake.manifests[(REPO, tag)] = (body, media_type)
    fake.manifests[(REPO, digest_of(body))] = (body, media_type)
    return digest_of(body), len(body)


def _publish(tmp_path: Path, targets: dict[str, tuple[tuple[str, int], list[str]]]) -> tk.TrustedMetadataSet:
    remote = tk.MemoryRemote()
    repo = tk.Repository(GUN, remote=remote, keystore=tk.MemoryKeyStore(), trust_dir=tmp_path / "publisher")
    repo.initialize(server_managed_snapshot=True)
    alice = tk.generate_private_key()
    repo.keystore.add_key(alice, role="alice")
    for role in ("targets/alice", "targets/releases"):
        repo.add_delegation(role, keys=[alice.public_key], all_paths=True)
    for tag, ((digest, size), roles) in targets.items():
        repo.add_target(tag, tk.TargetFile.from_digest(digest, size), roles=roles)
    repo.publish()
    return tk.Reader(GUN, remote, cache=tk.MetadataCache(tmp_path / "reader", GUN)).refresh()


def _image(number: int) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "n": number}).encode()


def test_plan_and_run(tmp_path: Path) -> None:
    fake = FakeRegistry()
    v1 = _manifest(fake, "v1", _image(1))
    admin = _manifest(fake, "admin", _image(2))
    old = _manifest(fake, None, _image(3))
    new = _manifest(fake, "moved", _image(4))
    children = [_manifest(fake, None, _image(n)) for n in (5, 6)]
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"digest": d, "size": s} for d, s in children]}
    ).encode()
    multi = _manifest(fake, "multi", index, OCI_INDEX)
    _manifest(fake, "never-signed", _image(7))
    releases, alice = "targets/releases", "targets/alice"
    trusted = _publish(
        tmp_path,
        {
            "v1": (v1, [releases, alice]),
            "admin": (admin, ["targets"]),
            "moved": (old, [releases]),
            "multi": (multi, [releases]),
            "gone": ((digest_of(b"gone"), 4), [releases]),
            "alice-only": (_manifest(fake, "alice-only", _image(8)), [alice]),
            "sha256-" + "ab" * 32 + ".sig": (v1, [releases]),
            "Not A Tag!": (v1, [releases]),
        },
    )
    released = {r.tag: r for r in released_tags(trusted, gun=GUN)}
    assert released["v1"].role == releases and released["v1"].signers == ("alice",)
    assert released["admin"].role == "targets" and released["admin"].signers == ("Repo Admin",)
    assert "alice-only" not in released and released["v1"].version >= 1 and released["v1"].key_ids

    key = tk.generate_private_key()
    with fake.registry() as registry:
        plan = plan_migration(trusted, registry, GUN)
        statuses = {record.tag: record.status for record in plan}
        assert statuses == {
            "v1": "planned",
            "admin": "planned",
            "moved": "drifted",
            "multi": "planned",
            "gone": "missing",
            "Not A Tag!": "failed",
            "alice-only": "not-released",
            "never-signed": "not-released",
        }
        by_tag = {record.tag: record for record in plan}
        assert by_tag["multi"].manifests == (multi[0], children[0][0], children[1][0])
        assert by_tag["moved"].registry_digest == new[0] and by_tag["moved"].digest == old[0]

        report = io.StringIO()
        progress: list[tuple[str, str, int, int]] = []
        records = run_migration(
            plan,
            registry,
            GUN,
            key,
            report=report,
            progress=lambda r, done, total: progress.append((r.tag, r.status, done, total)),
        )
        assert {r.tag: r.status for r in records} == {
            **statuses,
            "v1": "signed",
            "admin": "signed",
            "multi": "signed",
        }
        assert [json.loads(line)["status"] for line in report.getvalue().splitlines()] == [r.status for r in records]
        assert progress == [(r.tag, r.status, n, len(plan)) for n, r in enumerate(records, 1)]
        signed = {digest for record in records if record.status == "signed" for digest in record.manifests}
        assert {tag for (repo, tag) in fake.manifests if tag.endswith(".sig")} == {
            f"sha256-{digest.removeprefix('sha256:')}.sig" for digest in signed
        }
        (layer,) = read_signatures(registry, REPO, v1[0]).layers
        assert layer.payload is not None
        provenance = parse_payload(layer.payload).optional[PROVENANCE_KEY]  # type: ignore[index]
        assert provenance == {
            "gun": GUN,
            "tag": "v1",
            "role": releases,
            "signers": ["alice"],
            "keyIDs": list(released["v1"].key_ids),
            "targetsVersion": released["v1"].version,
        }
        verify_image(registry, f"{GUN}:v1", load_verification_key(key))

        again = run_migration(plan_migration(trusted, registry, GUN), registry, GUN, key)
        assert {r.tag: r.status for r in again if r.tag in ("v1", "admin", "multi")} == dict.fromkeys(
            ("v1", "admin", "multi"), "already-signed"
        )
        assert len(read_signatures(registry, REPO, v1[0]).layers) == 1


def test_misused_arguments_are_refused_up_front(tmp_path: Path) -> None:
    fake = FakeRegistry()
    v1 = _manifest(fake, "v1", _image(1))
    trusted = _publish(tmp_path, {"v1": (v1, ["targets/releases"])})
    with fake.registry() as registry:
        with pytest.raises(InvalidArgumentError, match=r"names an image, not a repository: pass the repository"):
            plan_migration(trusted, registry, f"{GUN}:v1")
        with pytest.raises(InvalidArgumentError, match=r"reader\(\)\.refresh\(\).*not str"):
            plan_migration("trusted", registry, GUN)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="needs the registry serving the images"):
            plan_migration(trusted, "https://registry.test", GUN)  # type: ignore[arg-type]
        plan = plan_migration(trusted, registry, GUN)
        with pytest.raises(InvalidArgumentError, match=r"PrivateKey or a securesystemslib Signer, not str"):
            run_migration(plan, registry, GUN, "x")
        with pytest.raises(InvalidArgumentError, match="names an image"):
            run_migration(plan, registry, f"{GUN}@{v1[0]}", tk.generate_private_key())
        with pytest.raises(InvalidArgumentError, match="MigrationRecord"):
            run_migration(["v1"], registry, GUN, tk.generate_private_key())  # type: ignore[list-item]
    assert not any(method in ("PUT", "POST") for method, _ in fake.requests)  # nothing was signed


def test_a_reader_is_taken_for_its_trusted_state(tmp_path: Path) -> None:
    fake = FakeRegistry()
    v1 = _manifest(fake, "v1", _image(1))
    _publish(tmp_path, {"v1": (v1, ["targets/releases"])})
    reader = tk.Reader(GUN, None, cache=tk.MetadataCache(tmp_path / "reader", GUN), offline=True)
    with fake.registry() as registry:
        plan = plan_migration(reader, registry, GUN)
    assert [(record.tag, record.status) for record in plan] == [("v1", "planned")]
    other = tk.Reader("registry.test/ns/other", None, cache=tk.MetadataCache(tmp_path / "o", "x"), offline=True)
    with (
        fake.registry() as registry,
        pytest.raises(InvalidArgumentError, match=r"the Reader reads registry\.test/ns/other"),
    ):
        plan_migration(other, registry, GUN)
