"""A registry plugin's view of a notary server: discover its repositories, follow what changes, audit them all.

Run it with ``python examples/registry_plugin.py``. It publishes a few repositories to a MemoryRemote (a notary
server as far as trustkit is concerned: swap in ``tk.NotaryServer(url, ...)`` for your own), lists those under a
prefix, starts a changefeed follower in a thread, signs, re-points and removes tags and deletes a repository while
it runs, prints each verified event, and finally takes an inventory with policy verdicts as JSON lines.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import trustkit as tk
from trustkit.fleet import ChangefeedFollower, RepositoryEvent, server_repositories, take_inventory

PREFIX = "registry.example.com/shop/"


def publish(server: tk.MemoryRemote, workdir: Path, gun: str, tags: dict[str, str]) -> tk.Repository:
    repo = tk.Repository(gun, remote=server, keystore=tk.MemoryKeyStore(), trust_dir=workdir)
    repo.initialize()
    repo.add_targets({name: tk.TargetFile.from_digest(digest * 32, 1000) for name, digest in tags.items()})
    repo.publish()
    return repo


def describe(event: RepositoryEvent) -> str:
    parts = [f"{event.kind} {event.gun.removeprefix(PREFIX)}"]
    parts += [f"+{name}" for name, _ in event.tags_added]
    parts += [f"-{name}" for name, _ in event.tags_removed]
    parts += [f"~{name}" for name, _, _ in event.tags_repointed]
    return " ".join(parts)


def main() -> None:
    workdir = Path(tempfile.mkdtemp())
    server = tk.MemoryRemote()
    web = publish(server, workdir / "signer", PREFIX + "web", {"latest": "aa", "v1": "aa"})
    publish(server, workdir / "signer", PREFIX + "api", {"latest": "bb"})
    publish(server, workdir / "signer", "registry.example.com/ops/proxy", {"v7": "cc"})
    print("discovered:", ", ".join(server_repositories(server, prefix=PREFIX)))

    follower = ChangefeedFollower(server, workdir / "follower", prefix=PREFIX, poll_interval=0.05)
    events: list[str] = []
    seen = threading.Semaphore(0)

    def run() -> None:
        for event in follower.follow():
            events.append(describe(event))
            seen.release()

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(2):  # the first poll: both repositories, as created
        seen.acquire(timeout=10)
    web.add_target("v2", tk.TargetFile.from_digest("dd" * 32, 1000))
    web.add_target("latest", tk.TargetFile.from_digest("dd" * 32, 1000))
    web.remove_target("v1")
    web.publish()
    seen.acquire(timeout=10)
    server.delete(PREFIX + "api")
    seen.acquire(timeout=10)
    follower.stop()
    thread.join()
    for line in sorted(events[:2]) + events[2:]:
        print("event:", line)

    policy = tk.Policy([tk.Rule("registry.example.com/*", anchor=tk.TrustAnchor(tofu=True))])
    with tk.Verifier(policy, trust_dir=workdir / "verifier", remote=server) as verifier:
        inventory = take_inventory(server, prefix="registry.example.com/", verifier=verifier)
    print(inventory.to_json_lines(), end="")


if __name__ == "__main__":
    main()
