"""Publishing many target changes: a run of them applies to each role in one copy (linear in the changes, where
one ``with_target`` a change was quadratic), with the result of applying them one by one, order included."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from trustkit.client import Change
from trustkit.client.changes import _PendingTargets
from trustkit.client.repository import Repository
from trustkit.keystore import MemoryKeyStore
from trustkit.metadata import roles
from trustkit.remote import MemoryRemote

GUN = "localhost:5000/repo/runs"
EXPIRES = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _target(n: int) -> tk.TargetFile:
    return tk.TargetFile.from_digest(f"{n:064x}", n)


def _parsed(count: int) -> tk.Targets:
    """A targets role as read from a file: docker-shaped entries and one that is not (custom data)."""
    targets = {f"t{n}": _target(n) for n in range(count)}
    targets["full"] = tk.TargetFile.from_data(b"full", custom={"a": 1})
    parsed = tk.Targets.from_dict(tk.Targets(version=1, expires=EXPIRES, targets=targets).to_dict())
    assert isinstance(parsed.targets, roles._ParsedTargets)
    return parsed


def _operations(rng: random.Random, names: list[str], count: int) -> Iterator[tuple[str, tk.TargetFile | None]]:
    """Adds (new names, replacements, a name's own target again) and removes (present, absent, re-added)."""
    for _ in range(count):
        name = rng.choice(names)
        yield name, None if rng.random() < 0.4 else _target(rng.randrange(3))


@pytest.mark.parametrize("base", ["parsed", "parsed overlay", "built in memory"])
@pytest.mark.parametrize("seed", range(12))
def test_a_run_gives_what_one_by_one_gives(base: str, seed: int) -> None:
    start = {
        "parsed": lambda: _parsed(6),
        "parsed overlay": lambda: (
            _parsed(6).without_target("t2").with_target("t2", _target(1)).with_target("x", _target(0))
        ),
        "built in memory": lambda: tk.Targets(
            version=1, expires=EXPIRES, targets={f"t{n}": _target(n) for n in range(6)}
        ),
    }[base]()
    rng = random.Random(seed)
    names = [*(f"t{n}" for n in range(6)), "full", "x", "y", "z"]
    pending, one_by_one = _PendingTargets(start), start
    for name, target in _operations(rng, names, 60):
        if target is None:
            pending.remove(name)
            one_by_one = one_by_one.without_target(name)
        else:
            pending.add(name, target)
            one_by_one = one_by_one.with_target(name, target)
        assert {n: pending.get(n) for n in names} == {n: one_by_one.targets.get(n) for n in names}
    applied = pending.apply()
    assert list(applied.targets.items()) == list(one_by_one.targets.items())  # the order too
    assert applied.to_dict() == one_by_one.to_dict()
    assert tk.Metadata(applied).to_bytes() == tk.Metadata(one_by_one).to_bytes()


def _published(tmp_path: Path, count: int) -> Repository:
    """A published repository whose targets and targets/releases each hold ``count`` targets."""
    repo = Repository(GUN, remote=MemoryRemote(), keystore=MemoryKeyStore(), trust_dir=tmp_path / "trust")
    repo.initialize()
    releases = tk.generate_private_key()
    repo.keystore.add_key(releases, role="targets/releases")
    changes = [Change.create_delegation("targets/releases", keys=[releases.public_key], paths=[""])]
    changes += [
        Change.add_target(f"t{n}", _target(n), role=role)
        for role in ("targets", "targets/releases")
        for n in range(count)
    ]
    repo.publish_changes(changes)
    return repo


def test_publishing_interleaved_runs_matches_one_by_one(tmp_path: Path) -> None:
    repo = _published(tmp_path, 8)
    before = repo.reader().refresh()
    rng = random.Random(7)
    names = [f"t{n}" for n in range(12)]
    changes: list[Change] = []
    for index in range(300):
        role = rng.choice(("targets", "targets/releases"))
        name = rng.choice(names)
        if index == 150:  # a change of another kind in the middle: the runs before it apply first
            changes.append(Change.create_delegation("targets/releases", paths=["t"]))
        elif rng.random() < 0.4:
            changes.append(Change.remove_target(name, role=role))
        else:
            changes.append(Change.add_target(name, _target(rng.randrange(4)), role=role))
    expected = {role: before[role].signed for role in ("targets", "targets/releases")}
    for change in changes:
        if change.type == "target":
            role = change.scope
            if change.action == "create":
                expected[role] = expected[role].with_target(change.path, change.target())
            else:
                expected[role] = expected[role].without_target(change.path)

    repo.publish_changes(changes)

    after = repo.reader().refresh()  # written as canonical JSON: read back in name order, so compared as dicts
    for role, targets in expected.items():
        assert dict(after[role].signed.targets) == dict(targets.targets)
        assert after[role].signed.to_dict()["targets"] == targets.to_dict()["targets"]


def test_a_run_applies_before_the_change_after_it(tmp_path: Path) -> None:
    """The delegation is deleted after a run of changes to it: the run must not bring it back."""
    repo = _published(tmp_path, 2)
    repo.publish_changes(
        [
            Change.add_target("late", _target(5), role="targets/releases"),
            Change.add_target("kept", _target(6)),
            Change.delete_delegation("targets/releases"),
            Change.remove_target("t0"),
        ]
    )
    trusted = repo.reader().refresh()
    assert "targets/releases" not in list(trusted.walk())
    assert trusted["targets"].signed.delegations.roles == ()
    assert sorted(trusted["targets"].signed.targets) == ["kept", "t1"]


def test_applying_20k_changes_to_one_role_copies_each_change_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted, not timed: every overlay the changes make, and the entries copied into it."""
    repo = _published(tmp_path, 3)
    overlay = roles._ParsedTargets._overlay
    made: list[int] = []

    def counting(self: Any, replaced: dict[str, Any], removed: frozenset[str], extra: dict[str, Any]) -> Any:
        made.append(len(replaced) + len(removed) + len(extra))
        return overlay(self, replaced, removed, extra)

    def one_by_one(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a change applied on its own")

    monkeypatch.setattr(roles._ParsedTargets, "_overlay", counting)
    monkeypatch.setattr(tk.Targets, "with_target", one_by_one)
    monkeypatch.setattr(tk.Targets, "without_target", one_by_one)
    k = 20_000
    changes = [Change.add_target(f"new{n}", _target(n)) for n in range(k)]
    changes += [Change.remove_target(f"new{n}") for n in range(0, k, 10)]  # removes of names a change added
    changes += [Change.remove_target("t0"), Change.add_target("t1", _target(99))]  # and of the published ones

    repo.publish_changes(changes)

    assert len(made) == 1  # one overlay for the role, whatever the number of changes
    assert made[0] <= len(changes)  # each change's entry copied once (one by one: ~k*k/2 = 2e8 copies)
    monkeypatch.undo()
    targets = repo.reader().refresh()["targets"].signed.targets
    assert len(targets) == 3 - 1 + k - k // 10
    assert targets["t1"] == _target(99) and "t0" not in targets and "new0" not in targets and "new1" in targets
