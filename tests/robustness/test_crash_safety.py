"""Crash safety: writers killed with SIGKILL at random points, many times; afterwards nothing is torn or lost.

A fork server (``crash_child.py``) runs each writer in a fresh child; this test kills it at a random moment --
a random time after it starts, or a few microseconds to milliseconds after it announced a write -- then checks
the folder before starting the next writer on the same folder (which continues where the killed one stopped,
leftovers and all):

* metadata cache (``MetadataCache.store``): every cached file parses, verifies with the signing key and holds
  exactly the last version whose write completed, or the one being written when the kill came;
  ``MetadataCache.roles()`` lists exactly the cached roles, never a leftover temporary file;
* changelist (``Changelist.add``): ``Changelist.list()`` (and ``iter_for_publish()``) return every change whose
  ``add`` returned, once, in the order added, plus at most the one in flight, and nothing else;
* private-key files (``_fs.atomic_write``): every key file holds one complete version (the last completed or the
  one in flight), loads with ``load_private_key`` and is mode 0600;
* publishing (``Repository.add_target`` and ``Repository.publish`` on a trust directory in notary's layout, to a
  real notary-server, one GUN per run), killed at a random moment or at a random point of a publish (uniformly
  over its typical duration, so inside the refresh, the signing, the upload and the unstaging alike): every key
  file loads with its passphrase and is mode 0600; every cached file parses and verifies with the cached root,
  and a fresh ``Reader`` over a copy of the cache and the server succeeds; every change whose ``add_target``
  returned is on the server (as that verifying read sees it) or still staged -- none lost, none changed, none
  staged twice, nothing published vanishes, and a publish that returned left nothing of its changes staged.
  After the last kill, a fresh ``Repository`` publishes once: then the changelist is empty, a fresh reader with
  an empty cache sees every target staged exactly once and nothing else, and the real ``notary list`` on the
  same trust directory lists exactly those targets.

Leftover ``.*.tmp`` files from a kill are allowed in the folders, only if trustkit's readers ignore them (checked).
The real notary reads every file of a changelist folder, leftovers too: the publish campaign counts those it
leaves, and ``test_regressions.py`` holds the deterministic case.
The short version kills each writer 10 times; ``TRUSTKIT_FUZZ_SECONDS`` (or ``TRUSTKIT_CRASH_KILLS``) makes it 200.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import select
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import trustkit as tk
from tests.interop._publish import read_table
from tests.interop.harness import NotaryCLI, NotaryServer, notary_passphrase_env, unique_gun
from tests.robustness import budget
from tests.robustness.corpus import PASSPHRASE
from tests.robustness.crash_child import (
    CACHE_ROLES,
    GUN,
    KEY_FILES,
    cache_model,
    change_for,
    key_version,
    publish_repository,
    target_for,
    target_name,
)
from tests.robustness.figures import record
from trustkit.client.cache import VERIFIED_FILE, MetadataCache
from trustkit.client.changelist import Changelist
from trustkit.keystore import FileKeyStore, NotaryEnvPassphrase
from trustkit.remote import NotaryServer as NotaryServerRemote

ROOT = Path(__file__).resolve().parents[2]
KILLS = budget.KILLS_PER_WRITER


@dataclass
class KillPlan:
    """When to kill a writer: a share of the kills at a random moment after it started, the others a random delay
    after it announced its k-th write (of those whose description starts with ``announced``)."""

    start_share: float = 0.4
    start_delay: Callable[[random.Random], float] = lambda rng: rng.choice((0.0, 0.001, 0.01, 0.05, 0.2)) * rng.random()
    announced: str = ""
    writes: Callable[[random.Random], int] = lambda rng: rng.randrange(1, 6)
    write_delay: Callable[[random.Random], float] = lambda rng: rng.choice((0.0, 0.0002, 0.001, 0.003)) * rng.random()


class ForkServer:
    """The ``crash_child`` process: start writers, read their reports, kill them."""

    def __init__(self) -> None:
        # a file, not a pipe: warnings from many writers cannot fill it (closed in close())
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.crash_child"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin
        self._out = self.process.stdout.fileno()
        self._buffer = b""

    def _line(self, deadline: float | None) -> str | None:
        """The next report line, or None once ``deadline`` (monotonic) has passed."""
        while b"\n" not in self._buffer:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._out], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self._out, 65536)
            if not chunk:
                raise AssertionError(f"the fork server died: {self._stderr()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _stderr(self) -> str:
        self.process.kill()
        self.process.wait(timeout=10)
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")[-3000:]

    def run_and_kill(
        self, command: dict[str, object], rng: random.Random, plan: KillPlan | None = None
    ) -> list[tuple[str, int, str]]:
        """Start a writer, kill it at a random point, and return its reports ``(B|D, n, what)`` in order."""
        plan = plan or KillPlan()
        self._in.write((json.dumps(command) + "\n").encode())
        self._in.flush()
        events: list[tuple[str, int, str]] = []
        while True:  # the writer may report before the server has reported its pid
            line = self._line(time.monotonic() + 30)
            assert line is not None, "no writer started"
            if line.startswith("S "):
                pid = int(line.split()[1])
                break
            kind, number, what = line.split(" ", 2)
            events.append((kind, int(number), what))
        if rng.random() < plan.start_share:  # a random moment after the start
            deadline: float | None = time.monotonic() + plan.start_delay(rng)
            announced = None
        else:  # a random moment just after the k-th write was announced
            counted = sum(kind == "B" and what.startswith(plan.announced) for kind, _, what in events)
            deadline, announced = None, plan.writes(rng) + counted
        while True:
            line = self._line(deadline if deadline is not None else time.monotonic() + 30)
            if line is None:
                break
            kind, number, what = line.split(" ", 2)
            if kind not in ("B", "D"):
                raise AssertionError(f"unexpected report {line!r} (the writer died on its own?): {self._stderr()}")
            events.append((kind, int(number), what))
            if announced is not None and kind == "B" and what.startswith(plan.announced):
                announced -= 1
                if announced == 0:
                    deadline = time.monotonic() + plan.write_delay(rng)
        os.kill(pid, signal.SIGKILL)
        while True:
            line = self._line(time.monotonic() + 30)
            assert line is not None, "the killed writer was never reaped"
            if line.startswith("E "):
                status = int(line.split()[2])
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                    f"the writer ended with status {status}, not by SIGKILL: {self._stderr()}"
                )
                return events
            kind, number, what = line.split(" ", 2)
            events.append((kind, int(number), what))

    def close(self) -> None:
        self._in.close()
        self.process.wait(timeout=30)
        self._errors.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    fork_server = ForkServer()
    yield fork_server
    fork_server.close()


@dataclass
class Tally:
    """What one writer's kill campaign checked."""

    kills: int = 0
    kills_mid_write: int = 0
    files_checked: int = 0
    writes_completed: int = 0
    leftovers: int = 0
    corrupt: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def report(self, name: str, record_property: pytest.RecordProperty) -> None:
        figures = {
            "kills": self.kills,
            "kills_mid_write": self.kills_mid_write,
            "files_checked": self.files_checked,
            "writes_completed": self.writes_completed,
            "leftovers": self.leftovers,
            "corrupt": len(self.corrupt),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
        }
        record("crash-safety", name, **figures)
        for key, value in figures.items():
            record_property(f"crash_{key}", value)
        print(f"crash-safety {name}: {figures}")
        problems = self.corrupt + self.lost + self.duplicated
        if problems:
            pytest.fail(
                f"{len(problems)} problems after {self.kills} kills:\n" + "\n".join(problems[:20]), pytrace=False
            )


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*.tmp")] if folder.exists() else []


def _check_private(path: Path, tally: Tally) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        tally.corrupt.append(f"{path}: mode {mode:o}, not 600")


def _count_file_writes(
    events: list[tuple[str, int, str]], done: dict[str, int], next_index: int, tally: Tally
) -> tuple[dict[str, int], int]:
    """Count one kill of a writer that reports one file per write (the cache's and the key files' writers): record
    each completed write in ``done`` (file -> index of its last completed write) and in ``tally``. Returns the write
    in flight per file when the kill came, and the index the next writer starts at."""
    tally.kills += 1
    in_flight: dict[str, int] = {}
    for kind, index, name in events:
        if kind == "B":
            in_flight[name] = index
        else:
            done[name] = index
            in_flight.pop(name, None)
            tally.writes_completed += 1
        next_index = max(next_index, index + 1)
    tally.kills_mid_write += bool(in_flight)
    return in_flight, next_index


# --- the metadata cache ---------------------------------------------------------------------------------------


def test_metadata_cache_survives_kills(
    server: ForkServer, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    rng = random.Random()
    key = tk.generate_private_key()
    key_path = tmp_path / "signing.key"
    key_path.write_bytes(key.to_pem())
    public = key.public_key
    trust_dir = tmp_path / "trust"
    cache = MetadataCache(trust_dir, GUN)
    done: dict[str, int] = {}  # role -> index of its last completed write
    next_index = 0
    tally = Tally()
    for _ in range(KILLS):
        events = server.run_and_kill(
            {"mode": "cache", "dir": str(trust_dir), "key": str(key_path), "start": next_index}, rng
        )
        in_flight, next_index = _count_file_writes(events, done, next_index, tally)
        for role in CACHE_ROLES:
            data = cache.load(role)
            allowed = {i for i in (done.get(role), in_flight.get(role)) if i is not None}
            if data is None:
                if role in done:
                    tally.lost.append(f"{role}: write {done[role]} completed, but nothing is cached")
                continue
            tally.files_checked += 1
            _check_private(cache.path.joinpath(*role.split("/")).with_suffix(".json"), tally)
            try:
                md = tk.Metadata.from_bytes(data, role=role)
            except tk.TrustkitError as exc:
                tally.corrupt.append(f"{role}: {len(data)} bytes do not parse: {exc}")
                continue
            index = next((i for i in allowed if i // len(CACHE_ROLES) + 1 == md.signed.version), None)
            if index is None:
                tally.corrupt.append(f"{role}: version {md.signed.version} cached, expected a write of {allowed}")
                continue
            done[role] = index  # the write in flight landed: from now on it must stay
            expected = tk.Metadata(cache_model(role, md.signed.version))
            if md.signed_bytes != expected.signed_bytes or not md.signatures:
                tally.corrupt.append(f"{role}: version {md.signed.version} does not hold what was written")
            elif not public.verify(md.signatures[0].method, md.signatures[0].sig, md.signed_bytes):
                tally.corrupt.append(f"{role}: version {md.signed.version} does not verify")
        cached = sorted(r for r in CACHE_ROLES if cache.load(r) is not None)
        if sorted(cache.roles()) != cached:
            tally.corrupt.append(f"MetadataCache.roles() is {cache.roles()}, the cached roles are {cached}")
        tally.leftovers = max(tally.leftovers, len(_leftovers(cache.path)))
    tally.report("metadata cache", record_property)


# --- the changelist -------------------------------------------------------------------------------------------


def test_changelist_survives_kills(server: ForkServer, tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    rng = random.Random()
    trust_dir = tmp_path / "trust"
    changelist = Changelist(trust_dir, GUN)
    staged: dict[int, str] = {}  # index -> file name, for every add that returned or was found on disk
    next_index = 0
    tally = Tally()
    for _ in range(KILLS):
        events = server.run_and_kill({"mode": "changelist", "dir": str(trust_dir), "start": next_index}, rng)
        tally.kills += 1
        in_flight = None
        for kind, index, what in events:
            if kind == "B":
                in_flight = index
            else:
                staged[index] = what
                in_flight = None
                tally.writes_completed += 1
            next_index = max(next_index, index + 1)
        tally.kills_mid_write += in_flight is not None
        listed = changelist.list()
        try:
            for_publish = list(changelist.iter_for_publish())
        except tk.TrustkitError as exc:
            tally.corrupt.append(f"iter_for_publish() failed after kill {tally.kills}: {exc}")
            for_publish = listed
        if [s.id for s in for_publish] != [s.id for s in listed]:
            tally.corrupt.append("list() and iter_for_publish() disagree")
        indices = []
        for entry in listed:
            tally.files_checked += 1
            _check_private(changelist.path / entry.id, tally)
            index = int(entry.change.path.removeprefix("t-"))
            indices.append(index)
            if entry.change != change_for(index):
                tally.corrupt.append(f"{entry.id}: does not hold change {index} as written")
            if index == in_flight and index not in staged:
                staged[index] = entry.id  # the add in flight landed: from now on it must stay
            elif staged.get(index) != entry.id:
                tally.corrupt.append(f"{entry.id}: change {index} was reported as {staged.get(index)}")
        if indices != sorted(indices):
            tally.corrupt.append(f"changes listed out of order: {indices}")
        for index in sorted(set(staged) - set(indices)):
            tally.lost.append(f"change {index} ({staged[index]}) was staged, then lost")
        for index in sorted({i for i in indices if indices.count(i) > 1}):
            tally.duplicated.append(f"change {index} is listed {indices.count(index)} times")
        names = {p.name for p in changelist.path.iterdir()} if changelist.path.exists() else set()
        tally.leftovers = max(tally.leftovers, len([n for n in names if n.endswith(".tmp")]))
        if any(not n.startswith(".") and not n.endswith(".change") for n in names):
            tally.corrupt.append(f"unexpected files in the changelist: {sorted(names)}")
    tally.report("changelist", record_property)


# --- private-key files -----------------------------------------------------------------------------------------


def _key_versions() -> list[bytes]:
    ecdsa, ed25519 = tk.generate_private_key(role="targets", gun=GUN), tk.generate_private_key("ed25519", role="root")
    return [ecdsa.to_pem(), ed25519.to_pem(PASSPHRASE), ecdsa.to_pem(PASSPHRASE), ed25519.to_pem()]


def test_private_key_files_survive_kills(
    server: ForkServer, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    rng = random.Random()
    versions = _key_versions()
    key_ids = [tk.load_private_key(pem, PASSPHRASE).key_id for pem in versions]
    versions_path = tmp_path / "versions.json"
    versions_path.write_text(json.dumps([base64.b64encode(v).decode() for v in versions]))
    folder = tmp_path / "private"
    done: dict[str, int] = {}
    next_index = 0
    tally = Tally()
    for _ in range(KILLS):
        command = {"mode": "keys", "dir": str(folder), "versions": str(versions_path), "start": next_index}
        events = server.run_and_kill(command, rng)
        in_flight, next_index = _count_file_writes(events, done, next_index, tally)
        for name in KEY_FILES:
            path = folder / name
            if not path.exists():
                if name in done:
                    tally.lost.append(f"{name}: write {done[name]} completed, but the file is gone")
                continue
            tally.files_checked += 1
            _check_private(path, tally)
            data = path.read_bytes()
            allowed = [i for i in (done.get(name), in_flight.get(name)) if i is not None]
            landed = next((i for i in allowed if data == versions[key_version(i, len(versions))]), None)
            if landed is None:
                tally.corrupt.append(f"{name}: {len(data)} bytes are none of the writes {allowed}")
                continue
            done[name] = landed  # the write in flight landed: from now on it must stay
            try:
                loaded = tk.load_private_key(data, PASSPHRASE)
            except tk.TrustkitError as exc:
                tally.corrupt.append(f"{name}: does not load: {exc}")
                continue
            if loaded.key_id not in key_ids:
                tally.corrupt.append(f"{name}: loads as an unknown key")
        tally.leftovers = max(tally.leftovers, len(_leftovers(folder)))
    tally.report("private-key files", record_property)


# --- publishing to a real notary-server -------------------------------------------------------------------------

LIST_COLUMNS = ("NAME", "DIGEST", "SIZE (BYTES)", "ROLE")


@dataclass
class PublishTally(Tally):
    """What the publish campaign checked, beyond the other writers' figures."""

    adds_completed: int = 0
    publishes_completed: int = 0
    kills_mid_add: int = 0
    kills_mid_publish: int = 0
    published_still_staged: int = 0
    """Kills after the server took a publish and before its changes were unstaged (the next publish re-applies)."""
    reader_checks: int = 0
    notary_list_checks: int = 0
    leftovers_notary_reads: int = 0
    """``.*.tmp`` files left in the changelist folder, which notary reads as staged changes (it reads every file)."""
    durations: list[float] = field(default_factory=list)

    def report_publish(self, record_property: pytest.RecordProperty) -> None:
        extra = {
            "adds_completed": self.adds_completed,
            "publishes_completed": self.publishes_completed,
            "kills_mid_add": self.kills_mid_add,
            "kills_mid_publish": self.kills_mid_publish,
            "published_still_staged": self.published_still_staged,
            "reader_checks": self.reader_checks,
            "notary_list_checks": self.notary_list_checks,
            "leftovers_notary_reads": self.leftovers_notary_reads,
            "median_publish_seconds": round(statistics.median(self.durations), 4) if self.durations else 0.0,
        }
        record("crash-safety", "publish", **extra)
        for key, value in extra.items():
            record_property(f"crash_{key}", value)
        self.report("publish", record_property)


@dataclass
class PublishState:
    """What the parent knows of the publish writer's repository between kills."""

    added: dict[int, str] = field(default_factory=dict)
    """index -> its change file, for every change whose add returned or that was found staged or published."""
    on_server: set[int] = field(default_factory=set)
    published_upto: int = -1
    """Every change up to this index was staged before a publish that returned."""
    next_index: int = 0


def _publish_plan(tally: PublishTally) -> KillPlan:
    """Kill at a random moment of the writer's first publishes, or at a uniformly random point of a publish:
    from its start to 1.5 times its median duration (so after it, in the next adds, now and then)."""

    def typical() -> float:
        return statistics.median(tally.durations[-25:]) if tally.durations else 0.05

    return KillPlan(
        start_share=0.3,
        start_delay=lambda rng: rng.random() * 6 * typical(),
        announced="publish",
        writes=lambda rng: rng.randrange(1, 4),
        write_delay=lambda rng: rng.random() * 1.5 * typical(),
    )


def _index(name: str) -> int | None:
    if not name.startswith("t-") or not name[2:].isdigit():
        return None
    return int(name[2:])


def _check_keys(trust_dir: Path, passphrases: dict[str, str], key_ids: set[str], tally: Tally) -> None:
    """Every key file is 0600 and loads (decrypted with its role's passphrase) as the key its name says."""
    store = FileKeyStore(trust_dir, passphrase=NotaryEnvPassphrase(environ=passphrases))
    try:
        listed = {info.key_id for info in store.list_keys(strict=True)}
    except tk.TrustkitError as exc:
        tally.corrupt.append(f"the key files do not list: {exc}")
        return
    if listed != key_ids:
        tally.lost.append(f"key files {sorted(listed)}, expected {sorted(key_ids)}")
    for key_id in sorted(listed):
        tally.files_checked += 1
        _check_private(store.key_path(key_id), tally)
        try:
            loaded = store.get_private_key(key_id)
        except tk.TrustkitError as exc:
            tally.corrupt.append(f"key {key_id} does not load: {exc}")
            continue
        if loaded.key_id != key_id:
            tally.corrupt.append(f"key file {key_id} holds key {loaded.key_id}")


def _check_cache(cache: MetadataCache, tally: Tally) -> None:
    """Every cached file is 0600, parses and verifies with the cached root; the verified-reads record parses."""
    roles = cache.roles()
    missing = {"root", "targets", "snapshot"} - set(roles)
    if missing:
        tally.lost.append(f"cached roles {roles}: {sorted(missing)} missing")
    root_data = cache.load("root")
    try:
        root = tk.Metadata.from_bytes(root_data or b"", role="root")
        root.signed.verify_delegate("root", root)
    except tk.TrustkitError as exc:
        tally.corrupt.append(f"the cached root does not verify: {exc}")
        return
    for role in roles:
        tally.files_checked += 1
        _check_private(cache.path / f"{role}.json", tally)
        try:
            metadata = tk.Metadata.from_bytes(cache.load(role) or b"", role=role)
            root.signed.verify_delegate(role, metadata)
        except tk.TrustkitError as exc:
            tally.corrupt.append(f"the cached {role} does not verify: {exc}")
    verified = cache.path.parent / VERIFIED_FILE
    if verified.exists():
        tally.files_checked += 1
        try:
            record_ = json.loads(verified.read_bytes())
        except ValueError as exc:
            tally.corrupt.append(f"{verified.name} is torn: {exc}")
        else:
            if not isinstance(record_, dict) or record_.get("version") != 1:
                tally.corrupt.append(f"{verified.name} holds {str(record_)[:200]}")


def _read_server(
    gun: str, remote: NotaryServerRemote, trust_dir: Path, scratch: Path, state: PublishState, tally: Tally
) -> dict[str, tk.TargetFile] | None:
    """The server's targets, read by a fresh ``Reader`` starting from a copy of the cache the kill left."""
    if scratch.exists():
        shutil.rmtree(scratch)
    source = MetadataCache(trust_dir, gun).path.parent
    target = MetadataCache(scratch, gun).path.parent
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("changelist"))
    try:
        matches = tk.Reader(gun, remote, cache=MetadataCache(scratch, gun)).list_targets()
    except tk.RepositoryNotFoundError as exc:
        if state.published_upto < 0 and not state.on_server:  # no publish has landed yet: nothing to read
            return {}
        tally.lost.append(f"the server lost the repository: {exc}")
        return None
    except tk.TrustkitError as exc:
        tally.corrupt.append(f"a fresh reader over the cache the kill left fails: {type(exc).__name__}: {exc}")
        return None
    names = [m.name for m in matches]
    if len(names) != len(set(names)):
        tally.duplicated.append(f"the server lists a target twice: {sorted(names)}")
    return {m.name: m.target for m in matches}


def _after_kill(
    events: list[tuple[str, int, str]],
    state: PublishState,
    changelist: Changelist,
    server: dict[str, tk.TargetFile] | None,
    tally: PublishTally,
) -> None:
    """Compare what the writer reported with what is staged and what the server holds."""
    in_flight_add: int | None = None
    in_flight_publish: int | None = None
    for kind, index, what in events:
        if what.startswith("add"):
            state.next_index = max(state.next_index, index + 1)
            if kind == "B":
                in_flight_add = index
            else:
                state.added[index] = what.split()[1]
                in_flight_add = None
                tally.adds_completed += 1
                tally.writes_completed += 1
        elif kind == "B":
            in_flight_publish = index
        else:
            in_flight_publish = None
            state.published_upto = max(state.published_upto, index)
            tally.publishes_completed += 1
            tally.writes_completed += 1
            tally.durations.append(float(what.split()[1]))
    tally.kills_mid_add += in_flight_add is not None
    tally.kills_mid_publish += in_flight_publish is not None
    tally.kills_mid_write += in_flight_add is not None or in_flight_publish is not None

    staged: dict[int, str] = {}
    listed = changelist.list()
    try:
        if [s.id for s in changelist.iter_for_publish()] != [s.id for s in listed]:
            tally.corrupt.append("list() and iter_for_publish() disagree")
    except tk.TrustkitError as exc:
        tally.corrupt.append(f"iter_for_publish() fails: {exc}")
    for entry in listed:
        tally.files_checked += 1
        _check_private(changelist.path / entry.id, tally)
        staged_index = _index(entry.change.path)
        if staged_index is None or entry.change != change_for(staged_index):
            tally.corrupt.append(f"staged change {entry.id} is none of the changes added: {entry.change}")
            continue
        if staged_index in staged:
            tally.duplicated.append(f"change {staged_index} is staged twice: {staged[staged_index]}, {entry.id}")
        staged[staged_index] = entry.id
    notary_reads = [p for p in changelist.path.iterdir() if p.name.endswith(".tmp")] if changelist.path.exists() else []
    tally.leftovers_notary_reads = max(tally.leftovers_notary_reads, len(notary_reads))
    if server is None:
        return
    published: set[int] = set()
    for name, target in server.items():
        published_index = _index(name)
        if published_index is None or target != target_for(published_index):
            tally.corrupt.append(f"the server holds target {name!r}, none of the changes added: {target}")
            continue
        published.add(published_index)
    for index in sorted((set(staged) | published) - set(state.added)):
        if index == in_flight_add:  # the add in flight landed: from now on it must stay
            state.added[index] = staged.get(index, "published")
        else:
            tally.corrupt.append(f"change {index} is staged or published, but was never added")
    for index, change_id in sorted(state.added.items()):
        if index not in staged and index not in published:
            tally.lost.append(f"change {index} ({change_id}) was added, then lost: neither staged nor published")
        elif change_id not in ("published", staged.get(index, change_id)):
            tally.corrupt.append(f"change {index} was staged as {change_id}, is now {staged[index]}")
        if index <= state.published_upto:
            if index not in published:
                tally.lost.append(f"change {index} was staged before a publish that returned, but is not published")
            if index in staged:
                tally.duplicated.append(f"change {index} is still staged after a publish of it returned")
    for index in sorted(state.on_server - published):
        tally.lost.append(f"change {index} was on the server, and is gone")
    # the kill came after the server took the publish in flight, before its changes were unstaged
    tally.published_still_staged += in_flight_publish is not None and bool((set(staged) & published) - state.on_server)
    state.on_server = published


@pytest.mark.interop
def test_publishing_survives_kills(
    server: ForkServer, notary_server: NotaryServer, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    rng = random.Random()
    gun = unique_gun("localhost:5000/crash")
    trust_dir = tmp_path / "trust"
    passphrases = notary_passphrase_env()
    command: dict[str, Any] = {
        "mode": "publish",
        "dir": str(trust_dir),
        "gun": gun,
        "url": notary_server.url,
        "ca": str(notary_server.ca_path),
        "passphrases": passphrases,
    }
    publish_repository(command).initialize()  # notary init: keys and the first metadata, nothing published yet
    store = FileKeyStore(trust_dir, passphrase=NotaryEnvPassphrase(environ=passphrases))
    key_ids = {info.key_id for info in store.list_keys(strict=True)}
    assert len(key_ids) == 3, f"initialize() made keys {key_ids}"
    remote = NotaryServerRemote(notary_server.url, ca=notary_server.ca_path)
    cache = MetadataCache(trust_dir, gun)
    changelist = Changelist(trust_dir, gun)
    state = PublishState()
    tally = PublishTally()
    plan = _publish_plan(tally)
    for _ in range(KILLS):
        events = server.run_and_kill({**command, "start": state.next_index}, rng, plan)
        tally.kills += 1
        _check_keys(trust_dir, passphrases, key_ids, tally)
        _check_cache(cache, tally)
        listing = _read_server(gun, remote, trust_dir, tmp_path / "reader", state, tally)
        tally.reader_checks += listing is not None
        _after_kill(events, state, changelist, listing, tally)
        tally.leftovers = max(tally.leftovers, len(_leftovers(trust_dir)))
        if tally.corrupt or tally.lost or tally.duplicated:
            break  # report the first problem with the state that shows it

    final = publish_repository(command)  # a fresh process would open the trust directory just so
    final.publish()
    if final.status():
        tally.lost.append(f"after a clean publish, still staged: {[s.change.path for s in final.status()]}")
    expected = {target_name(index): target_for(index) for index in state.added}
    try:
        audited = tk.Reader(gun, remote, cache=MetadataCache(tmp_path / "auditor", gun)).list_targets()
    except tk.TrustkitError as exc:
        tally.corrupt.append(f"the server's data does not verify for a fresh reader: {exc}")
        audited = []
    names = [m.name for m in audited]
    if len(names) != len(set(names)):
        tally.duplicated.append(f"after the clean publish, the server lists a target twice: {sorted(names)}")
    on_server = {m.name: m.target for m in audited}
    for name in sorted(set(expected) - set(on_server)):
        tally.lost.append(f"after the clean publish, {name} is not on the server")
    for name in sorted(set(on_server) - set(expected)):
        tally.corrupt.append(f"after the clean publish, the server holds {name}, which was never added")
    for name in sorted(set(on_server) & set(expected)):
        if on_server[name] != expected[name]:
            tally.corrupt.append(f"after the clean publish, {name} is {on_server[name]}, not {expected[name]}")

    notary = NotaryCLI(notary_server, trust_dir, tmp_path / "notary-home")
    output = notary.run("list", gun).stdout  # the real client: trusts the cached root, verifies the server's data
    rows = read_table(output, LIST_COLUMNS) if expected else []
    assert expected or "No targets" in output, output
    tally.notary_list_checks += 1
    listed = {row[0]: (row[1], row[2], row[3]) for row in rows}
    wanted = {
        name: (hashlib.sha256(str(index).encode()).hexdigest(), str(index), "targets")
        for name, index in ((target_name(i), i) for i in state.added)
    }
    if listed != wanted:
        missing, extra = sorted(set(wanted) - set(listed)), sorted(set(listed) - set(wanted))
        tally.corrupt.append(f"`notary list` differs: missing {missing[:10]}, unexpected {extra[:10]}")
    print(
        f"publish: {len(expected)} changes staged, {tally.publishes_completed} publishes completed, "
        f"{tally.kills_mid_publish} kills inside a publish, {tally.published_still_staged} after the server took it"
    )
    tally.report_publish(record_property)
