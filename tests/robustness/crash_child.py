"""The writers the crash-safety test kills: ``python -m tests.robustness.crash_child`` (a fork server).

The process imports trustkit once, then reads one JSON command per line on stdin and forks a writer for each: the
parent test kills that writer with SIGKILL at a random moment. Forking makes a fresh writer in about a millisecond,
so hundreds of kill points take seconds. The writer reports on stdout, one line written with a single
``os.write`` (atomic on a pipe) before and after each write it makes:

* ``B <n> <what>`` -- write number ``n`` is about to start;
* ``D <n> <what>`` -- write number ``n`` returned (it is complete and durable).

The server itself reports ``S <pid>`` when a writer starts and ``E <pid> <wait status>`` when it is gone.

Writers (``mode``):

* ``cache`` -- ``MetadataCache.store`` of signed targets files (``targets``, ``targets/releases``,
  ``targets/releases/beta`` in turn) that grow with each version;
* ``changelist`` -- ``Changelist.add`` of one target change per write;
* ``keys`` -- ``_fs.atomic_write`` of private-key PEM files, four files rewritten in turn with other keys;
* ``publish`` -- a :class:`~trustkit.Repository` on a trust directory in notary's layout (``FileKeyStore`` keys
  under ``private/``, the metadata cache and the changelist under ``tuf/<gun>/``) staging target changes with
  ``add_target`` (``B <n> add`` / ``D <n> add <change file>``, one to three per publish) and publishing them to a
  real notary-server (``B <n> publish`` / ``D <n> publish <seconds it took>``, ``n`` the last change staged).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import trustkit as tk
from trustkit._fs import atomic_write
from trustkit.client.cache import MetadataCache
from trustkit.client.changelist import Change, Changelist
from trustkit.client.repository import Repository
from trustkit.keystore import FileKeyStore, NotaryEnvPassphrase
from trustkit.remote import NotaryServer

GUN = "localhost:5000/crash/app"
CACHE_ROLES = ("targets", "targets/releases", "targets/releases/beta")
KEY_FILES = ("k0.key", "k1.key", "k2.key", "k3.key")
EXPIRES = "2030-01-01T00:00:00Z"
MAX_TARGETS = 2500


def cache_model(role: str, version: int) -> tk.Targets:
    """The content of ``role`` at ``version``: deterministic, and larger with each version (up to ~400 KB)."""
    count = min(MAX_TARGETS, 40 * version)
    files = {
        f"pkg/{role}/{index:05d}": tk.TargetFile.from_digest(
            hashlib.sha256(f"{role}:{version}:{index}".encode()).digest(), index
        )
        for index in range(count)
    }
    return tk.Targets(version=version, expires=EXPIRES, targets=files)


def target_name(index: int) -> str:
    """The name of the target change number ``index`` adds."""
    return f"t-{index:06d}"


def target_for(index: int) -> tk.TargetFile:
    """The target change number ``index`` adds (each one different)."""
    digest = hashlib.sha256(str(index).encode()).digest()
    return tk.TargetFile.from_digest(digest, index, custom={"index": index})


def change_for(index: int) -> Change:
    """The change staged by write number ``index``."""
    return Change.add_target(target_name(index), target_for(index))


def batch_size(index: int) -> int:
    """How many changes the publish writer stages before it publishes, when the first of them is ``index``."""
    return 1 + index % 3


def publish_repository(command: dict[str, Any]) -> Repository:
    """The repository a ``publish`` command names, as a notary client opens it: keys, cache and changelist all in
    the one trust directory, the keys' passphrases from the ``NOTARY_*_PASSPHRASE`` variables given."""
    trust_dir = Path(command["dir"])
    return Repository(
        command["gun"],
        remote=NotaryServer(command["url"], ca=command["ca"]),
        keystore=FileKeyStore(trust_dir, passphrase=NotaryEnvPassphrase(environ=command["passphrases"])),
        trust_dir=trust_dir,
    )


def key_version(index: int, count: int) -> int:
    """Which of the ``count`` key versions write number ``index`` writes (never the same one twice in a row)."""
    return (index // len(KEY_FILES) + index) % count


@functools.cache
def _signer(path: str) -> Any:
    return tk.load_private_key(Path(path).read_bytes()).signer()


@functools.cache
def _versions(path: str) -> list[bytes]:
    return [base64.b64decode(item) for item in json.loads(Path(path).read_text())]


def _emit(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _write_cache(command: dict[str, Any]) -> None:
    cache = MetadataCache(command["dir"], GUN)
    signer = _signer(command["key"])
    index = command["start"]
    while True:
        version, role = divmod(index, len(CACHE_ROLES))
        role_name = CACHE_ROLES[role]
        data = tk.Metadata(cache_model(role_name, version + 1)).sign(signer).to_bytes()
        _emit(f"B {index} {role_name}")
        cache.store(role_name, data)
        _emit(f"D {index} {role_name}")
        index += 1


def _write_changelist(command: dict[str, Any]) -> None:
    changelist = Changelist(command["dir"], GUN)
    index = command["start"]
    while True:
        change = change_for(index)
        _emit(f"B {index} -")
        staged = changelist.add(change)
        _emit(f"D {index} {staged.id}")
        index += 1


def _write_keys(command: dict[str, Any]) -> None:
    folder = Path(command["dir"])
    versions = _versions(command["versions"])
    index = command["start"]
    while True:
        name = KEY_FILES[index % len(KEY_FILES)]
        _emit(f"B {index} {name}")
        atomic_write(folder / name, versions[key_version(index, len(versions))])
        _emit(f"D {index} {name}")
        index += 1


def _write_publish(command: dict[str, Any]) -> None:
    repo = publish_repository(command)
    index = command["start"]
    while True:
        for _ in range(batch_size(index)):
            _emit(f"B {index} add")
            (staged,) = repo.add_target(target_name(index), target_for(index))
            _emit(f"D {index} add {staged.id}")
            index += 1
        _emit(f"B {index - 1} publish")
        started = time.monotonic()
        repo.publish()
        _emit(f"D {index - 1} publish {time.monotonic() - started:.4f}")


WRITERS = {"cache": _write_cache, "changelist": _write_changelist, "keys": _write_keys, "publish": _write_publish}


def serve() -> None:
    """Fork one writer per command line; report its pid and, once the parent has killed it, its status."""
    for line in sys.stdin:
        command = json.loads(line)
        writer = WRITERS[command["mode"]]
        if command["mode"] == "cache":
            _signer(command["key"])  # load once here: every writer forked after inherits it
        if command["mode"] == "keys":
            _versions(command["versions"])
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                writer(command)
            except BaseException:  # a writer never ends on its own: report why it did
                traceback.print_exc()
                status = 3
            finally:
                os._exit(status)
        _emit(f"S {pid}")
        _, status = os.waitpid(pid, 0)
        _emit(f"E {pid} {status}")


if __name__ == "__main__":
    serve()
