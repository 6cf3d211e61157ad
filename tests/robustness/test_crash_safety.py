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
  one in flight), loads with ``load_private_key`` and is mode 0600.

Leftover ``.*.tmp`` files from a kill are allowed in the folders, only if the readers ignore them (checked).
The short version kills each writer 10 times; ``TRUSTKIT_FUZZ_SECONDS`` (or ``TRUSTKIT_CRASH_KILLS``) makes it 200.
"""

from __future__ import annotations

import base64
import json
import os
import random
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import trustkit as tk
from tests.robustness import budget
from tests.robustness.corpus import PASSPHRASE
from tests.robustness.crash_child import (
    CACHE_ROLES,
    GUN,
    KEY_FILES,
    cache_model,
    change_for,
    key_version,
)
from tests.robustness.figures import record
from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Changelist

ROOT = Path(__file__).resolve().parents[2]
KILLS = budget.KILLS_PER_WRITER


class ForkServer:
    """The ``crash_child`` process: start writers, read their reports, kill them."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.robustness.crash_child"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
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
        _, err = self.process.communicate(timeout=10)
        return err.decode(errors="replace")[-3000:]

    def run_and_kill(self, command: dict[str, object], rng: random.Random) -> list[tuple[str, int, str]]:
        """Start a writer, kill it at a random point, and return its reports ``(B|D, n, what)`` in order."""
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
        if rng.random() < 0.4:  # a random moment after the start
            deadline: float | None = time.monotonic() + rng.choice((0.0, 0.001, 0.01, 0.05, 0.2)) * rng.random()
            announced = None
        else:  # a random moment just after the k-th write was announced
            deadline, announced = None, rng.randrange(1, 6) + sum(kind == "B" for kind, _, _ in events)
        while True:
            line = self._line(deadline if deadline is not None else time.monotonic() + 30)
            if line is None:
                break
            kind, number, what = line.split(" ", 2)
            assert kind in ("B", "D"), f"unexpected report {line!r} (the writer died on its own?)"
            events.append((kind, int(number), what))
            if announced is not None and kind == "B":
                announced -= 1
                if announced == 0:
                    deadline = time.monotonic() + rng.choice((0.0, 0.0002, 0.001, 0.003)) * rng.random()
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
        tally.kills += 1
        in_flight: dict[str, int] = {}
        for kind, index, role in events:
            if kind == "B":
                in_flight[role] = index
            else:
                done[role] = index
                in_flight.pop(role, None)
                tally.writes_completed += 1
            next_index = max(next_index, index + 1)
        tally.kills_mid_write += bool(in_flight)
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
