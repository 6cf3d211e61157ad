"""The compact parsed form of big targets files (``trustkit.metadata._compact``) and the warm reads that use it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trustkit as tk
from tests.support.repo_sim import GUN, NOW, Delegation, FakeRemote, RepoSim
from trustkit.client import MetadataCache, Reader
from trustkit.client.cache import PARSED_FOLDER
from trustkit.metadata import _compact
from trustkit.metadata._compact import dump_parsed, load_parsed
from trustkit.trust.trusted_set import Accelerator

RELEASES = "targets/releases"


def _sim(count: int = 1200) -> RepoSim:
    sim = RepoSim(now=NOW)
    sim.targets["v1"] = tk.TargetFile.from_data(b"content one")
    releases = sim.delegations[RELEASES] = Delegation(tk.generate_private_key(), [""])
    for i in range(count):
        releases.targets[f"v{i:05d}"] = tk.TargetFile.from_digest(hashlib.sha256(str(i).encode()).digest(), i)
    return sim


@pytest.fixture(scope="module")
def releases_file() -> bytes:
    files = _sim().publish()
    return files[RELEASES]


def test_the_form_rebuilds_the_same_metadata(releases_file: bytes) -> None:
    parsed = tk.Metadata.from_bytes(releases_file, role=RELEASES)
    form = dump_parsed(parsed, releases_file)
    assert form is not None
    loaded = load_parsed(form, releases_file, role=RELEASES)
    assert loaded is not None
    assert loaded.signed == parsed.signed and loaded.signatures == parsed.signatures
    assert loaded.signed_bytes == parsed.signed_bytes  # the file's own text: signatures are checked over it
    assert loaded.to_bytes() == parsed.to_bytes() == releases_file
    assert list(loaded.signed.targets.items()) == list(parsed.signed.targets.items())
    names = list(parsed.signed.targets)
    assert loaded.signed.targets.sha256_hex_and_lengths(names) == parsed.signed.targets.sha256_hex_and_lengths(names)


def test_the_form_serves_only_the_bytes_it_was_made_from(releases_file: bytes) -> None:
    form = dump_parsed(tk.Metadata.from_bytes(releases_file, role=RELEASES), releases_file)
    assert form is not None
    other = releases_file.replace(b'"length":7}', b'"length":8}', 1)
    assert other != releases_file
    assert load_parsed(form, other, role=RELEASES) is None
    assert load_parsed(form[:-1], releases_file, role=RELEASES) is None
    for offset in (0, 40, 60, 120, len(form) // 2, len(form) - 1):  # magic, hashes, sizes, body
        damaged = form[:offset] + bytes([form[offset] ^ 1]) + form[offset + 1 :]
        assert load_parsed(damaged, releases_file, role=RELEASES) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_damaged_form_is_refused_or_equal(releases_file: bytes, data: st.DataObject) -> None:
    """Whatever the bytes, loading gives None or the metadata itself -- never an exception."""
    form = dump_parsed(tk.Metadata.from_bytes(releases_file, role=RELEASES), releases_file)
    assert form is not None
    start = data.draw(st.integers(0, len(form)))
    end = data.draw(st.integers(start, min(len(form), start + 64)))
    damaged = form[:start] + data.draw(st.binary(max_size=64)) + form[end:]
    loaded = load_parsed(damaged, releases_file, role=RELEASES)
    assert loaded is None or (loaded.to_bytes() == releases_file and loaded.signed_bytes == _signed_text(releases_file))


def _signed_text(data: bytes) -> bytes:
    return tk.Metadata.from_bytes(data, role=RELEASES).signed_bytes


def _reforged(form: bytes, *, span_end: int = 0, skeleton: bytes | None = None) -> bytes:
    """``form`` changed as a bug or a hand might change it, with a checksum that matches again."""
    start = len(_compact._MAGIC) + _compact._HEADER.size
    source, _, *fields = _compact._HEADER.unpack_from(form, len(_compact._MAGIC))
    body = form[start:]
    if skeleton is not None:
        body = skeleton + body[fields[0] :]
        fields[0] = len(skeleton)
    fields[6] += span_end
    header = _compact._HEADER.pack(source, _compact._checksum(source, tuple(fields), body), *fields)
    return _compact._MAGIC + header + body


def test_a_form_must_frame_the_file_it_names(releases_file: bytes) -> None:
    """Version, expiry, delegations and the span checked are the file's own: a form that says otherwise, even
    with a valid checksum, is refused."""
    parsed = tk.Metadata.from_bytes(releases_file, role=RELEASES)
    form = dump_parsed(parsed, releases_file)
    assert form is not None and load_parsed(_reforged(form), releases_file, role=RELEASES) is not None
    assert load_parsed(_reforged(form, span_end=-1), releases_file, role=RELEASES) is None
    bumped = tk.Metadata(attrs.evolve(parsed.signed, targets={}, version=parsed.signed.version + 1), parsed.signatures)
    assert load_parsed(_reforged(form, skeleton=bumped.to_bytes()), releases_file, role=RELEASES) is None


def test_the_trusted_set_checks_signatures_over_the_bytes_it_was_given(releases_file: bytes) -> None:
    """A parse hook's answer is used only if its signatures are checked over those very bytes."""
    sim = _sim()
    files = sim.publish()
    other = tk.Metadata.from_bytes(_sim(count=1100).publish()[RELEASES], role=RELEASES)  # other bytes, other keys
    used: list[str] = []

    def hook(role: str, data: bytes) -> tk.Metadata | None:  # type: ignore[type-arg]
        used.append(role)
        return other if role == RELEASES else None

    trusted = tk.TrustedMetadataSet(
        files["root"], gun=GUN, first_contact=True, clock=lambda: NOW, accelerator=Accelerator(parse=hook)
    )
    for role, update in (("timestamp", trusted.update_timestamp), ("snapshot", trusted.update_snapshot)):
        update(files[role])
    trusted.update_targets(files["targets"])
    accepted = trusted.update_delegation(RELEASES, files[RELEASES])
    assert RELEASES in used and accepted is not other and len(accepted.signed.targets) == 1200


def test_no_form_where_it_would_not_pay() -> None:
    small = _sim(count=10).publish()[RELEASES]
    assert dump_parsed(tk.Metadata.from_bytes(small, role=RELEASES), small) is None
    sim = _sim()
    sim.delegations[RELEASES].targets["custom"] = tk.TargetFile.from_digest("ab" * 32, 1, custom={"a": 1})
    mixed = sim.publish()[RELEASES]
    assert dump_parsed(tk.Metadata.from_bytes(mixed, role=RELEASES), mixed) is None  # not all docker-shaped
    parsed = tk.Metadata.from_bytes(_sim().publish()[RELEASES], role=RELEASES)
    changed = tk.Metadata(parsed.signed.without_target("v00001"), parsed.signatures)
    assert dump_parsed(changed, changed.to_bytes()) is None  # built, not parsed


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The roles of the big files (over 10 kB) parsed from now on."""
    roles: list[str] = []
    original = tk.Metadata.from_bytes.__func__  # type: ignore[attr-defined]

    def counting(cls: type, data: bytes, *, role: str | None = None) -> tk.Metadata:  # type: ignore[type-arg]
        if len(data) > 10_000:
            roles.append(role or "")
        return original(cls, data, role=role)  # type: ignore[no-any-return]

    monkeypatch.setattr(tk.Metadata, "from_bytes", classmethod(counting))
    return roles


def test_a_warm_read_does_not_parse_big_roles_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = _sim()
    remote = FakeRemote()
    remote.serve(sim.publish())
    cache = MetadataCache(tmp_path, GUN)

    def read() -> list[tk.TargetRow]:
        return Reader(GUN, remote, cache=cache, clock=lambda: NOW).list_target_rows()  # type: ignore[arg-type]

    parses = _count_parses(monkeypatch)
    cold = read()
    assert RELEASES in parses and (tmp_path / "tuf" / GUN / PARSED_FOLDER / "targets" / "releases.bin").is_file()
    parses.clear()
    assert read() == cold and len(cold) == 1201
    assert RELEASES not in parses  # rebuilt from the form (only its small skeleton is parsed)

    # without the memo every signature is checked again -- over the file's bytes, and it passes
    (tmp_path / "tuf" / GUN / "trustkit-verified.json").unlink()
    assert read() == cold

    # a new version of the role: new bytes, so it is parsed (and a new form kept)
    sim.delegations[RELEASES].targets["v-new"] = tk.TargetFile.from_digest("cd" * 32, 3)
    remote.serve(sim.publish())
    parses.clear()
    rows = read()
    assert RELEASES in parses and ("v-new", "cd" * 32, 3, RELEASES) in rows
    parses.clear()
    assert read() == rows and RELEASES not in parses

    assert cache.remove(RELEASES)
    assert not (tmp_path / "tuf" / GUN / PARSED_FOLDER / "targets" / "releases.bin").exists()


def test_a_torn_or_foreign_form_is_ignored(tmp_path: Path) -> None:
    remote = FakeRemote()
    remote.serve(_sim().publish())
    cache = MetadataCache(tmp_path, GUN)
    cold = Reader(GUN, remote, cache=cache, clock=lambda: NOW).list_target_rows()  # type: ignore[arg-type]
    form = tmp_path / "tuf" / GUN / PARSED_FOLDER / "targets" / "releases.bin"
    form.write_bytes(form.read_bytes()[:1000])
    assert Reader(GUN, remote, cache=cache, clock=lambda: NOW).list_target_rows() == cold  # type: ignore[arg-type]
    assert len(form.read_bytes()) > 1000  # parsed again, and the form kept anew
