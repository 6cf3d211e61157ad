"""The frozen metadata models stay frozen: what parsing learns about a file (the bytes its signatures are over, the
text to write back, Go's nulls) belongs to the parsed instance only -- never to a copy that :func:`attrs.evolve`
or a constructor makes -- and nothing in trustkit writes past a frozen class's ``__setattr__``."""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import trustkit as tk
from tests.support.repo_sim import ParsedRepo
from trustkit.metadata import dump_parsed, load_parsed
from trustkit.metadata.parsed_targets import slot_setter

TRUSTKIT = Path(__file__).resolve().parents[2] / "trustkit"

_Form = Callable[[bytes], bytes]


def _custom_file(repo: ParsedRepo) -> bytes:
    """targets/releases, signed, with a target whose ``custom`` holds ``{"a":1}``."""
    target = tk.TargetFile.from_data(b"c", custom={"a": 1})
    signed = repo.releases.signed.with_target("c", target)
    return tk.Metadata(signed).sign(repo.releases_key.signer()).to_bytes()


def _many_targets_file(repo: ParsedRepo) -> bytes:
    """targets/releases, signed, with 100 docker-shaped targets (the bulk reader's and the compact form's case)."""
    added = {f"t{n:03}": tk.TargetFile.from_digest(f"{n:064x}", n) for n in range(100)}
    signed = repo.releases.signed.with_changes(added, ["v2"])
    return tk.Metadata(signed).sign(repo.releases_key.signer()).to_bytes()


# how a signed file is written: each form takes another way to the bytes its signatures are over
FORMS: dict[str, tuple[Callable[[ParsedRepo], bytes], _Form]] = {
    # the signed text is canonical: checked over the file's own text
    "canonical": (_custom_file, lambda data: data),
    # whitespace: checked over the canonical form of the decoded object, computed on first use
    "spaced": (_custom_file, lambda data: data.replace(b'{"signed":{', b'{"signed": {', 1)),
    # a float: checked over the canonical form computed by the exact encoder at parse
    "float": (_custom_file, lambda data: data.replace(b'"custom":{"a":1}', b'"custom":{"a":1.0}', 1)),
    # 100 entries: the bulk reader
    "bulk": (_many_targets_file, lambda data: data),
}


def _parse(repo: ParsedRepo, form: str) -> tuple[bytes, tk.Metadata[tk.Targets]]:
    build, rewrite = FORMS[form]
    data = rewrite(build(repo))
    parsed: tk.Metadata[tk.Targets] = tk.Metadata.from_bytes(data, role="targets/releases")
    repo.targets.signed.verify_delegate("targets/releases", parsed)  # the file is sound as written
    return data, parsed


def _assert_fresh(
    changed: tk.Metadata[tk.Targets], old: tk.Metadata[tk.Targets], data: bytes, repo: ParsedRepo
) -> None:
    """``changed`` (a copy of ``old``, parsed from ``data``, with another ``signed``) holds nothing of the file."""
    built: tk.Metadata[tk.Targets] = tk.Metadata(changed.signed, changed.signatures)
    assert changed.signed_bytes == built.signed_bytes != old.signed_bytes
    assert changed.to_bytes() == built.to_bytes() != data
    assert not changed.parsed_from(data)
    with pytest.raises(tk.ThresholdError):  # the old signature is not over the changed payload
        repo.targets.signed.verify_delegate("targets/releases", changed)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_changed_copy_never_verifies_with_the_parsed_bytes(repo: ParsedRepo, form: str) -> None:
    data, parsed = _parse(repo, form)
    # everything the parsed instance may learn, learnt before the copies are made
    assert parsed.signed_bytes and parsed.to_bytes() and parsed.parsed_from(data) == (form in {"canonical", "bulk"})
    for changed in (
        attrs.evolve(parsed, signed=parsed.signed.bump()),
        attrs.evolve(parsed, signed=parsed.signed.with_target("new", tk.TargetFile.from_data(b"new"))),
        attrs.evolve(parsed, signed=parsed.signed.without_target(next(iter(parsed.signed.targets)))),
        tk.Metadata(parsed.signed.bump(), parsed.signatures),
    ):
        _assert_fresh(changed, parsed, data, repo)
    # a copy with the same payload knows nothing of the file either: it is written from its model
    same = attrs.evolve(parsed)
    assert same == parsed and repr(same) == repr(parsed) and not same.parsed_from(data)
    assert same.signed_bytes == tk.Metadata(parsed.signed).signed_bytes


def test_a_changed_copy_of_a_compact_form_never_verifies_with_the_file(repo: ParsedRepo) -> None:
    data, parsed = _parse(repo, "bulk")
    form = dump_parsed(parsed, data, min_entries=10)
    assert form is not None
    loaded = load_parsed(form, data, role="targets/releases")
    assert loaded is not None and loaded.parsed_from(data) and loaded.signed_bytes == parsed.signed_bytes
    _assert_fresh(attrs.evolve(loaded, signed=loaded.signed.bump()), loaded, data, repo)


def test_a_copy_of_signed_metadata_is_written_from_its_own_model(repo: ParsedRepo) -> None:
    signed = tk.Metadata(repo.releases.signed).sign(repo.releases_key.signer())
    assert signed.to_bytes()
    bumped = attrs.evolve(signed, signed=signed.signed.bump())
    assert bumped.to_bytes() == tk.Metadata(bumped.signed, bumped.signatures).to_bytes() != signed.to_bytes()
    assert b'"version":%d' % (signed.signed.version + 1) in bumped.to_bytes()


def test_a_shallow_copy_is_the_same_parsed_file(repo: ParsedRepo) -> None:
    """``copy.copy`` keeps the same payload and signatures, so it may share what is known of their bytes."""
    data, parsed = _parse(repo, "canonical")
    copied = copy.copy(parsed)
    assert copied == parsed and copied.parsed_from(data) and copied.to_bytes() == data


def _with_nulls(data: bytes, *paths: tuple[Any, ...]) -> bytes:
    """``data`` with the value at each of ``paths`` set to null, written compactly (signatures untouched)."""
    obj = json.loads(data)
    for *parents, last in paths:
        container = obj
        for key in parents:
            container = container[key]
        container[last] = None
    return json.dumps(obj, separators=(",", ":")).encode()


def _go_nulls(repo: ParsedRepo) -> tuple[tk.Root, tk.Targets]:
    """A root whose snapshot keyids are null, and a targets role whose delegation keys and its delegation's keyids
    are null, all as parsed."""
    root_data = _with_nulls(repo.root.to_bytes(), ("signed", "roles", "snapshot", "keyids"))
    targets_data = _with_nulls(
        repo.targets.to_bytes(),
        ("signed", "delegations", "keys"),
        ("signed", "delegations", "roles", 0, "keyids"),
    )
    root = tk.Metadata.from_bytes(root_data, role="root")
    targets = tk.Metadata.from_bytes(targets_data, role="targets")
    assert root.to_bytes() == root_data and targets.to_bytes() == targets_data  # as parsed: nulls kept
    return root.signed, targets.signed


def test_go_nulls_belong_to_the_parsed_instance_only(repo: ParsedRepo) -> None:
    root, targets = _go_nulls(repo)
    snapshot = root.roles["snapshot"]
    assert snapshot.to_dict()["keyids"] is None
    assert attrs.evolve(snapshot).to_dict()["keyids"] == []
    assert attrs.evolve(snapshot, threshold=2).to_dict()["keyids"] == []
    assert attrs.evolve(snapshot, keyids=("ab",)).to_dict()["keyids"] == ["ab"]

    delegations = targets.delegations
    role = delegations.roles[0]
    assert delegations.to_dict()["keys"] is None and role.to_dict()["keyids"] is None
    assert attrs.evolve(role, paths=("v",)).to_dict()["keyids"] == []
    copied = attrs.evolve(delegations, roles=(attrs.evolve(role),))
    assert copied.to_dict() == {"keys": {}, "roles": [{"keyids": [], "name": role.name, "paths": [""], "threshold": 1}]}
    absent = tk.Delegations.absent()
    assert absent.to_dict() == {"keys": None, "roles": None}
    assert attrs.evolve(absent).to_dict() == tk.Delegations().to_dict() == {"keys": {}, "roles": []}
    # a changed role keeps its (unchanged) delegations object, and with it what was parsed about it
    assert targets.bump().delegations.to_dict()["keys"] is None


def _frozen_bypasses(tree: ast.AST) -> list[int]:
    """The lines that name ``object.__setattr__`` or ``object.__delattr__`` (a call, or the function itself)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"__setattr__", "__delattr__"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "object"
    ]


def test_nothing_writes_past_a_frozen_class() -> None:
    """Parse state lives in mutable side objects, models are built through attrs: no ``object.__setattr__``."""
    found = []
    for path in sorted(TRUSTKIT.rglob("*.py")):
        lines = _frozen_bypasses(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found.extend(f"{path.relative_to(TRUSTKIT.parent)}:{line}" for line in lines)
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "object.__setattr__(model, 'x', 1)\n",
        "set_x = object.__setattr__\n",
        "def f(m):\n    object.__delattr__(m, 'x')\n",
    ],
)
def test_the_bypass_checker_catches_what_it_must(source: str) -> None:
    assert _frozen_bypasses(ast.parse(source)) != []


def test_slot_setter_has_no_fallback_past_frozenness() -> None:
    @attrs.frozen
    class Slotted:
        value: int

    instance: Any = object.__new__(Slotted)
    slot_setter(Slotted, "value")(instance, 7)
    assert instance == Slotted(7)

    @attrs.frozen(slots=False)
    class Plain:
        value: int

    with pytest.raises(TypeError, match="no slot 'value'"):
        slot_setter(Plain, "value")
