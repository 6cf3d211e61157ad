"""trustkit side by side with the Go tools (notary 0.7, docker trust) on repositories with many signed tags.

The script starts a real ``notary-server`` on loopback (``tests/interop/harness.py``), builds one repository per
size the way docker signs tags -- three signers added with ``docker trust signer add``, each tag in
``targets/releases`` and in its signer's role -- by writing every change into notary's changelist and running one
``notary publish``, and then measures, alternating the tools run by run:

1. **inspect**, as whole processes, cold (empty trust dir) and warm (cache present): trustkit
   (``benchmarks/tk_inspect.py``, swappable with ``--trustkit-inspect``), ``notary list`` and
   ``docker trust inspect``;
2. **load + verify** of the ``targets/releases`` role in process: trustkit ``Metadata.from_bytes`` + parent
   ``verify_delegate`` on the server's file; python-tuf 7 on a TUF file with as many targets (if installed);
   and a bare ``json.loads`` of the same bytes;
3. **publish** one new tag into the repository, as whole processes: trustkit (``benchmarks/tk_publish.py``)
   against ``notary addhash ... -p``;
4. **peak RSS** of every process (``os.wait4``), and the time of ``import trustkit`` in a fresh interpreter.

It prints one table with medians, ratios and the targets of issue "Performance at scale", and with ``--json``
writes every run. Usage::

    .venv/bin/python benchmarks/bench_go.py                      # 1,000 and 10,000 tags
    .venv/bin/python benchmarks/bench_go.py --big --json out.json   # adds 100,000 tags

Needs ``notary``, ``notary-server`` and ``docker`` (the CLI only) on ``PATH``; without docker its rows are left
out (``--no-docker`` does the same on purpose).
"""

from __future__ import annotations

import argparse
import base64
import compileall
import gc
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

from tests.interop.harness import (  # noqa: E402 -- the repository root must be importable first
    DockerTrustCLI,
    NotaryCLI,
    NotaryServer,
)

__all__ = ["BIG_SIZE", "DEFAULT_SIZES", "SIGNERS", "TARGETS", "Run", "build_repository", "main"]

DEFAULT_SIZES = "1000,10000"
BIG_SIZE = 100_000
DEFAULT_REPEAT = 5
SEED = 2024
SIGNERS = ("alice", "bob", "carol")
PYTHON = sys.executable
TK_INSPECT = " ".join(
    [shlex.quote(PYTHON), shlex.quote(str(ROOT_DIR / "benchmarks" / "tk_inspect.py")), "{url} {ca} {trust_dir} {gun}"]
)
"""The trustkit inspect command (``--trustkit-inspect`` replaces it): a template with these placeholders."""
TK_PUBLISH = ROOT_DIR / "benchmarks" / "tk_publish.py"
RELEASES = "targets/releases"

TARGETS: dict[str, tuple[str, int | None, float]] = {
    # name: (what, size it applies to (None: any), the ratio it must not exceed)
    "cold_vs_notary": ("cold inspect: trustkit / notary list", 10_000, 0.5),
    "cold_vs_docker": ("cold inspect: trustkit / docker trust inspect", 10_000, 0.2),
    "cold_vs_notary_big": ("cold inspect: trustkit / notary list", BIG_SIZE, 0.25),
    "warm_vs_notary_big": ("warm inspect: trustkit / warm notary list", BIG_SIZE, 0.2),
    "load_vs_json": ("load+verify: trustkit / json.loads", BIG_SIZE, 2.0),
    "load_vs_tuf": ("load+verify: trustkit / python-tuf", BIG_SIZE, 0.2),
    "publish_vs_notary": ("publish one tag: trustkit / notary", BIG_SIZE, 0.5),
    "rss_vs_notary": ("peak RSS, cold inspect: trustkit / notary list", BIG_SIZE, 0.5),
    "import_ms": ("import trustkit (ms)", None, 150.0),
}
"""The issue's targets: which ratio, at which size, and its ceiling."""


# --- processes --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One whole-process run: wall seconds, peak resident set (MiB) and the exit status."""

    seconds: float
    rss_mib: float
    returncode: int


_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_process(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, stdout: Any = subprocess.DEVNULL) -> Run:
    """Run ``argv`` to completion and return its wall time and peak RSS.

    The peak RSS comes from ``/usr/bin/time -f %M``: a child forked straight from this (large) Python process would
    report this process's resident set as its own high-water mark, since ``ru_maxrss`` survives ``exec``.
    """
    with tempfile.NamedTemporaryFile(prefix="bench-rss-", suffix=".txt") as rss_file:
        full = [_TIME, "-f", "%M", "-o", rss_file.name, *argv] if _TIME else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(
            full, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE
        )
        _, err = proc.communicate()
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(argv)} failed with {proc.returncode}:\n{err.decode(errors='replace')[-3000:]}"
            )
        text = Path(rss_file.name).read_text().strip().splitlines()
    rss_kib = float(text[-1]) if _TIME and text else float("nan")
    return Run(seconds, rss_kib / 1024.0, proc.returncode)


def run_capture(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> str:
    """Run ``argv`` and return its standard output (for the correctness checks, never timed)."""
    result = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed with {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


# --- building the repositories ----------------------------------------------------------------------------


def tag_name(index: int) -> str:
    """A docker tag: mostly semantic versions, every fourth ``tag-<i>``."""
    if index % 4 == 3:
        return f"tag-{index}"
    return f"v{index % 7}.{index % 13}.{index % 17}-{index}"


def tags_for(size: int, *, seed: int = SEED) -> list[tuple[str, bytes, int, str]]:
    """``size`` tags as ``(name, sha256, length, signer)``, from a fixed seed."""
    rng = random.Random(seed + size)
    return [(tag_name(i), rng.randbytes(32), rng.randint(500, 60_000), SIGNERS[i % len(SIGNERS)]) for i in range(size)]


def _change_bytes(role: str, name: str, digest: bytes, length: int) -> bytes:
    """A ``notary addhash`` change file (Go's Marshal of TUFChange), written without going through Changelist."""
    payload = json.dumps(
        {"length": length, "hashes": {"sha256": base64.b64encode(digest).decode()}}, separators=(",", ":")
    )
    data = base64.b64encode(payload.encode()).decode()
    return json.dumps(
        {"action": "create", "role": role, "type": "target", "path": name, "data": data}, separators=(",", ":")
    ).encode()


def write_changes(changelist: Path, tags: Sequence[tuple[str, bytes, int, str]]) -> int:
    """Stage every tag in ``targets/releases`` and its signer's role, in notary's changelist format and order.

    (``trustkit.client.Changelist.add`` rescans the folder for each change, which is quadratic for 200k files, so
    the files are named here directly: ``<%020d>_<uuid4>.change``, increasing.)
    """
    changelist.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.time_ns()
    count = 0
    for name, digest, length, signer in tags:
        for role in (RELEASES, f"targets/{signer}"):
            (changelist / f"{stamp + count:020d}_{uuid.uuid4()}.change").write_bytes(
                _change_bytes(role, name, digest, length)
            )
            count += 1
    return count


@dataclass
class Repo:
    """A built repository and the CLIs around it."""

    size: int
    gun: str
    docker: DockerTrustCLI
    notary: NotaryCLI
    build_seconds: float
    files: dict[str, int] = field(default_factory=dict)


def build_repository(server: NotaryServer, work: Path, size: int) -> Repo:
    """Create a GUN with three docker signers and ``size`` tags on ``server``; return it with its CLIs."""
    from trustkit.keystore import DockerEnvPassphrase, FileKeyStore, generate_delegation_key

    gun = f"localhost:5000/bench/tags-{size}"
    base = work / f"build-{size}"
    shutil.rmtree(base, ignore_errors=True)  # the server keeps nothing between runs: neither does the client
    docker = DockerTrustCLI(server, base / "docker-config", base / "home")
    start = time.perf_counter()
    store = FileKeyStore(docker.trust_dir, passphrase=DockerEnvPassphrase(environ=docker.env))
    for signer in SIGNERS:
        generate_delegation_key(store, signer, directory=docker.home)
        docker.run("trust", "signer", "add", "--key", str(docker.home / f"{signer}.pub"), signer, gun)
    notary = docker.notary()
    write_changes(notary.trust_dir / "tuf" / gun / "changelist", tags_for(size))
    notary.run("publish", gun, timeout=3600)
    seconds = time.perf_counter() - start
    repo = Repo(size, gun, docker, notary, seconds)
    roles = ["root", "timestamp", "snapshot", "targets", RELEASES, *(f"targets/{s}" for s in SIGNERS)]
    repo.files = {f"{role}.json": len(fetch_role(server, gun, role)) for role in roles}
    return repo


def fetch_role(server: NotaryServer, gun: str, role: str) -> bytes:
    """The current bytes of ``role`` on the server."""
    with server.client(timeout=60) as client:
        response = client.get(f"/v2/{gun}/_trust/tuf/{role}.json")
    response.raise_for_status()
    return response.content


# --- measuring --------------------------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _summary(runs: Sequence[Run]) -> dict[str, Any]:
    return {
        "median_s": _median([r.seconds for r in runs]),
        "min_s": min((r.seconds for r in runs), default=float("nan")),
        "rss_mib": _median([r.rss_mib for r in runs]),
        "runs_s": [round(r.seconds, 4) for r in runs],
        "runs_rss_mib": [round(r.rss_mib, 1) for r in runs],
    }


class Inspectors:
    """The inspect commands of each tool, cold or warm, each with its own trust dir."""

    def __init__(self, repo: Repo, server: NotaryServer, work: Path, trustkit_template: str, docker: bool) -> None:
        self.repo, self.server, self.work = repo, server, work
        self.template = trustkit_template
        self.home = work / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTARY_", "DOCKER_"))}
        self.env["HOME"] = str(self.home)
        self.tools = ["trustkit", "notary"] + (["docker"] if docker else [])
        self.docker_config = work / "docker-config"
        tls = self.docker_config / "tls" / server.host_port
        tls.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.ca_path, tls / "ca.crt")

    def trust_dir(self, tool: str) -> Path:
        """Where ``tool`` keeps its cache."""
        return self.docker_config / "trust" if tool == "docker" else self.work / f"{tool}-trust"

    def clear(self, tool: str) -> None:
        """Make the next run of ``tool`` cold."""
        shutil.rmtree(self.trust_dir(tool), ignore_errors=True)

    def argv(self, tool: str) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of ``tool``."""
        gun, trust_dir = self.repo.gun, self.trust_dir(tool)
        if tool == "trustkit":
            text = self.template.format(url=self.server.url, ca=self.server.ca_path, trust_dir=trust_dir, gun=gun)
            return shlex.split(text), self.env
        if tool == "notary":
            ca = str(self.server.ca_path)
            return ["notary", "-s", self.server.url, "--tlscacert", ca, "-d", str(trust_dir), "list", gun], self.env
        env = {**self.env, "DOCKER_CONFIG": str(self.docker_config), "DOCKER_CONTENT_TRUST_SERVER": self.server.url}
        return ["docker", "trust", "inspect", gun], env

    def run(self, tool: str) -> Run:
        """One timed run (output to /dev/null)."""
        argv, env = self.argv(tool)
        return run_process(argv, env=env, cwd=self.home)

    def check(self, tool: str) -> int:
        """Run once with output and count the tags it reports (untimed): every tool must see every tag."""
        argv, env = self.argv(tool)
        out = run_capture(argv, env=env, cwd=self.home)
        if tool == "docker":
            [info] = json.loads(out)
            return len(info["SignedTags"])
        if tool == "notary":
            lines = [line for line in out.splitlines() if line.strip()]
            return len(lines) - 2  # header and ---- line
        return len([line for line in out.splitlines() if line.strip()])


def measure_inspect(inspectors: Inspectors, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Cold and warm inspect of every tool, alternating tools run by run (the order rotates each round)."""
    tools = inspectors.tools
    expected = inspectors.repo.size
    for tool in tools:  # correctness first (also warms the OS file cache for the binaries)
        inspectors.clear(tool)
        found = inspectors.check(tool)
        if found != expected:
            raise AssertionError(f"{tool} lists {found} tags, expected {expected}")
    cold: dict[str, list[Run]] = {tool: [] for tool in tools}
    warm: dict[str, list[Run]] = {tool: [] for tool in tools}
    for round_ in range(repeat):
        order = tools[round_ % len(tools) :] + tools[: round_ % len(tools)]
        for tool in order:
            inspectors.clear(tool)
            cold[tool].append(inspectors.run(tool))
        for tool in order:  # the cold run just filled the cache
            warm[tool].append(inspectors.run(tool))
        log(
            f"  inspect round {round_ + 1}/{repeat}: "
            + ", ".join(f"{t} cold {cold[t][-1].seconds:.2f}s warm {warm[t][-1].seconds:.2f}s" for t in tools)
        )
    return {
        "cold": {tool: _summary(runs) for tool, runs in cold.items()},
        "warm": {tool: _summary(runs) for tool, runs in warm.items()},
    }


def _tuf_file(size: int) -> tuple[bytes, Any] | None:
    """A python-tuf 7 targets file with ``size`` docker-like targets, signed with ECDSA, and a root that trusts
    its key; None when python-tuf is not installed."""
    try:
        from securesystemslib.signer import CryptoSigner
        from tuf.api.metadata import Metadata, Root, TargetFile, Targets
        from tuf.api.serialization.json import JSONSerializer
    except ImportError:
        return None
    signer = CryptoSigner.generate_ecdsa()
    targets = Targets(version=1)
    for name, digest, length, _signer in tags_for(size):
        targets.targets[name] = TargetFile(length, {"sha256": digest.hex()}, name)
    md = Metadata(targets)
    md.sign(signer)
    root = Root()
    root.add_key(signer.public_key, "targets")
    return md.to_bytes(JSONSerializer(compact=True)), root


def measure_load(repo: Repo, server: NotaryServer, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """In-process load + verify of ``targets/releases`` (trustkit), of a same-size TUF file (python-tuf), and
    ``json.loads`` of the same bytes; alternating, GC on as in real use, collected before each run."""
    import trustkit as tk

    data = fetch_role(server, repo.gun, RELEASES)
    parent = tk.Metadata.from_bytes(fetch_role(server, repo.gun, "targets"), role="targets")
    tuf = _tuf_file(repo.size)

    def trustkit_load() -> None:
        md = tk.Metadata.from_bytes(data, role=RELEASES)
        if not parent.signed.verify_delegate(RELEASES, md).verified:
            raise AssertionError("targets/releases did not verify")
        if len(md.signed.targets) != repo.size:
            raise AssertionError("targets/releases does not list every tag")

    def json_load() -> None:
        json.loads(data)

    def tuf_load() -> None:
        from tuf.api.metadata import Metadata

        assert tuf is not None
        md = Metadata.from_bytes(tuf[0])
        tuf[1].verify_delegate("targets", md.signed_bytes, md.signatures)

    operations: dict[str, Callable[[], None]] = {"trustkit": trustkit_load, "json.loads": json_load}
    if tuf is not None:
        operations["python-tuf"] = tuf_load
    runs: dict[str, list[float]] = {name: [] for name in operations}
    names = list(operations)
    for round_ in range(repeat):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            gc.collect()
            start = time.perf_counter()
            operations[name]()
            runs[name].append(time.perf_counter() - start)
        log(f"  load round {round_ + 1}/{repeat}: " + ", ".join(f"{n} {runs[n][-1] * 1000:.0f}ms" for n in names))
    return {
        "bytes": len(data),
        "tuf_bytes": len(tuf[0]) if tuf is not None else None,
        "ops": {
            name: {"median_s": _median(values), "min_s": min(values), "runs_s": [round(v, 5) for v in values]}
            for name, values in runs.items()
        },
    }


def measure_publish(
    repo: Repo, server: NotaryServer, work: Path, repeat: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Publish one new tag (alternating trustkit and notary, each from its own copy of docker's trust dir) into
    the repository; both then re-read the other's changes, as CI signers do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTARY_", "DOCKER_"))}
    home = work / "publish-home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(repo.notary.env)
    env["HOME"] = str(home)
    env["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"] = repo.docker.repository_passphrase
    dirs = {}
    for tool in ("trustkit", "notary"):
        dirs[tool] = work / f"publish-{tool}"
        shutil.rmtree(dirs[tool], ignore_errors=True)
        shutil.copytree(repo.docker.trust_dir, dirs[tool], symlinks=True)
    rng = random.Random(SEED)
    runs: dict[str, list[Run]] = {"trustkit": [], "notary": []}
    ca = str(server.ca_path)
    for round_ in range(repeat):
        order = ["trustkit", "notary"] if round_ % 2 == 0 else ["notary", "trustkit"]
        for tool in order:
            tag, digest, length = f"new-{tool}-{round_}", rng.randbytes(32).hex(), rng.randint(500, 60_000)
            signer = SIGNERS[round_ % len(SIGNERS)]
            if tool == "trustkit":
                argv = [PYTHON, str(TK_PUBLISH), server.url, ca, str(dirs[tool]), repo.gun, tag, digest, str(length)]
                argv.append(signer)
            else:
                argv = ["notary", "-s", server.url, "--tlscacert", ca, "-d", str(dirs[tool]), "addhash", repo.gun]
                argv += [
                    tag,
                    str(length),
                    "--sha256",
                    digest,
                    "--roles",
                    RELEASES,
                    "--roles",
                    f"targets/{signer}",
                    "-p",
                ]
            runs[tool].append(run_process(argv, env=env, cwd=home))
        log(f"  publish round {round_ + 1}/{repeat}: " + ", ".join(f"{t} {runs[t][-1].seconds:.2f}s" for t in order))
    return {tool: _summary(r) for tool, r in runs.items()}


def measure_import(repeat: int) -> dict[str, Any]:
    """``import trustkit`` in a fresh interpreter, timed inside it (interpreter start-up excluded)."""
    code = "import time; t = time.perf_counter(); import trustkit; print(time.perf_counter() - t)"
    values = []
    for _ in range(max(repeat, 5)):
        out = run_capture([PYTHON, "-c", code], env=os.environ, cwd=ROOT_DIR)
        values.append(float(out.strip()))
    return {"median_ms": _median(values) * 1000, "min_ms": min(values) * 1000, "runs_ms": [v * 1000 for v in values]}


# --- report -----------------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or not b else a / b


def ratios(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The ratios the targets are about, for one size."""
    inspect, load, publish = result.get("inspect"), result.get("load"), result.get("publish")
    out: dict[str, float | None] = {}
    if inspect:
        cold, warm = inspect["cold"], inspect["warm"]
        out["cold_vs_notary"] = _ratio(cold["trustkit"]["median_s"], cold["notary"]["median_s"])
        out["cold_vs_docker"] = _ratio(cold["trustkit"]["median_s"], cold.get("docker", {}).get("median_s"))
        out["warm_vs_notary"] = _ratio(warm["trustkit"]["median_s"], warm["notary"]["median_s"])
        out["warm_vs_docker"] = _ratio(warm["trustkit"]["median_s"], warm.get("docker", {}).get("median_s"))
        out["rss_vs_notary"] = _ratio(cold["trustkit"]["rss_mib"], cold["notary"]["rss_mib"])
        out["rss_vs_docker"] = _ratio(cold["trustkit"]["rss_mib"], cold.get("docker", {}).get("rss_mib"))
    if load:
        ops = load["ops"]
        out["load_vs_json"] = _ratio(ops["trustkit"]["median_s"], ops["json.loads"]["median_s"])
        out["load_vs_tuf"] = _ratio(ops["trustkit"]["median_s"], ops.get("python-tuf", {}).get("median_s"))
    if publish:
        out["publish_vs_notary"] = _ratio(publish["trustkit"]["median_s"], publish["notary"]["median_s"])
    return out


def _fmt_s(summary: Mapping[str, Any] | None) -> str:
    if not summary:
        return "-"
    return f"{summary['median_s']:.3f} s"


def _fmt_ratio(value: float | None, ceiling: float | None = None) -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}x"
    if ceiling is not None:
        text += f" (<= {ceiling}: {'met' if value <= ceiling else 'NOT met'})"
    return text


def _row(label: str, cells: Sequence[str], ratios: str) -> str:
    return f"{label:<34}" + "".join(f"{cell:>12}" for cell in cells) + f"   {ratios}"


def ceiling(metric: str, size: int) -> float | None:
    """The target for ``metric`` (a :func:`ratios` key) at ``size``, or None when the issue sets none there."""
    for name in (metric, f"{metric}_big"):
        if name in TARGETS and TARGETS[name][1] == size:
            return TARGETS[name][2]
    return None


def _inspect_rows(inspect: Mapping[str, Any], r: Mapping[str, float | None], size: int) -> list[str]:
    lines = []
    for kind in ("cold", "warm"):
        block = inspect[kind]
        ratio_text = f"vs notary {_fmt_ratio(r[f'{kind}_vs_notary'], ceiling(f'{kind}_vs_notary', size))}"
        if block.get("docker"):
            ratio_text += f"; vs docker {_fmt_ratio(r[f'{kind}_vs_docker'], ceiling(f'{kind}_vs_docker', size))}"
        cells = [_fmt_s(block["trustkit"]), _fmt_s(block["notary"]), _fmt_s(block.get("docker")), "", ""]
        lines.append(_row(f"{kind} inspect (whole process)", cells, ratio_text))
    cold = inspect["cold"]
    rss = [f"{cold[tool]['rss_mib']:.0f} MiB" if tool in cold else "-" for tool in ("trustkit", "notary", "docker")]
    ratio_text = f"vs notary {_fmt_ratio(r['rss_vs_notary'], ceiling('rss_vs_notary', size))}"
    ratio_text += f"; vs docker {_fmt_ratio(r['rss_vs_docker'])}"
    lines.append(_row("peak RSS, cold inspect", [*rss, "", ""], ratio_text))
    return lines


def _load_row(load: Mapping[str, Any], r: Mapping[str, float | None], size: int) -> str:
    ops = load["ops"]
    ms = {
        name: f"{ops[name]['median_s'] * 1000:.0f} ms" if name in ops else "-"
        for name in ("trustkit", "python-tuf", "json.loads")
    }
    ratio_text = f"vs json.loads {_fmt_ratio(r['load_vs_json'], ceiling('load_vs_json', size))}; "
    ratio_text += f"vs python-tuf {_fmt_ratio(r['load_vs_tuf'], ceiling('load_vs_tuf', size))}"
    return _row(
        "load+verify releases (in process)", [ms["trustkit"], "", "", ms["python-tuf"], ms["json.loads"]], ratio_text
    )


def _publish_rows(publish: Mapping[str, Any], r: Mapping[str, float | None], size: int) -> list[str]:
    ratio_text = f"vs notary {_fmt_ratio(r['publish_vs_notary'], ceiling('publish_vs_notary', size))}"
    cells = [_fmt_s(publish["trustkit"]), _fmt_s(publish["notary"]), "", "", ""]
    rss = [f"{publish[tool]['rss_mib']:.0f} MiB" for tool in ("trustkit", "notary")]
    rss_ratio = f"vs notary {_fmt_ratio(_ratio(publish['trustkit']['rss_mib'], publish['notary']['rss_mib']))}"
    return [
        _row("publish one tag (whole process)", cells, ratio_text),
        _row("peak RSS, publish", [*rss, "", "", ""], rss_ratio),
    ]


def format_report(report: Mapping[str, Any]) -> str:
    """The table printed at the end: one block per size, each row with its medians, ratios and targets."""
    lines = []
    for result in report["results"]:
        size, r = result["size"], ratios(result)
        releases_mb = result["files"].get("targets/releases.json", 0) / 1e6
        lines.append(f"== {size:,} tags (targets/releases.json {releases_mb:.2f} MB) ==")
        head = _row("measure", ["trustkit", "notary", "docker", "python-tuf", "json.loads"], "ratios (target)")
        lines += [head, "-" * (len(head) + 60)]
        if result.get("inspect"):
            lines += _inspect_rows(result["inspect"], r, size)
        if result.get("load"):
            lines.append(_load_row(result["load"], r, size))
        if result.get("publish"):
            lines += _publish_rows(result["publish"], r, size)
        lines.append("")
    imp = report.get("import")
    if imp:
        limit = TARGETS["import_ms"][2]
        met = "met" if imp["median_ms"] <= limit else "NOT met"
        median, fastest = imp["median_ms"], imp["min_ms"]
        lines.append(f"import trustkit: {median:.0f} ms median (min {fastest:.0f} ms) (<= {limit:.0f} ms: {met})")
    return "\n".join(lines)


def _environment() -> dict[str, Any]:
    def version(argv: Sequence[str]) -> str:
        try:
            return subprocess.run(list(argv), capture_output=True, text=True, check=False).stdout.strip()[:200]
        except OSError:
            return "not installed"

    import trustkit

    try:
        import tuf

        tuf_version = tuf.__version__
    except ImportError:
        tuf_version = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "trustkit": trustkit.__version__,
        "python_tuf": tuf_version,
        "orjson": _orjson_version(),
        "notary": version(["dpkg-query", "-W", "-f=${Version}", "notary"]) or "unknown",
        "docker": version(["docker", "--version"]),
    }


def _orjson_version() -> str | None:
    """The optional accelerator trustkit uses, if installed and enabled."""
    from trustkit import _encoding

    if not _encoding.USE_ORJSON:
        return None
    import orjson

    return str(orjson.__version__)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# --- command line -----------------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text!r}")
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=_sizes, default=_sizes(DEFAULT_SIZES), help=f"tags per repository (default {DEFAULT_SIZES})"
    )
    parser.add_argument("--big", action="store_true", help=f"also {BIG_SIZE:,} tags")
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help=f"runs per measure (default {DEFAULT_REPEAT})"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every run as JSON to PATH")
    parser.add_argument("--no-docker", action="store_true", help="leave docker trust inspect out")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: inspect, load, publish, import")
    parser.add_argument(
        "--trustkit-inspect",
        default=TK_INSPECT,
        help="the trustkit inspect command, with {url} {ca} {trust_dir} {gun} placeholders (default: tk_inspect.py)",
    )
    parser.add_argument(
        "--hold",
        action="store_true",
        help="only build the repositories, print where they are, and keep the server up until interrupted",
    )
    parser.add_argument("--workdir", type=Path, help="keep the servers' and tools' files here (default: a temp dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build the repositories, measure, print the table and write JSON when asked; return the exit status."""
    args = _parser().parse_args(argv)
    sizes = list(args.sizes) + ([BIG_SIZE] if args.big and BIG_SIZE not in args.sizes else [])
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    docker = not args.no_docker and shutil.which("docker") is not None
    for binary in ("notary", "notary-server"):
        if shutil.which(binary) is None:
            print(f"{binary} is not installed (apt-get install -y notary)", file=sys.stderr)
            return 2

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # trustkit's bytecode, as an installed package has it: a source tree under PYTHONDONTWRITEBYTECODE=1 would
    # otherwise be compiled again by every process timed (about 0.1-0.3 s each)
    compileall.compile_dir(str(ROOT_DIR / "trustkit"), quiet=1)
    compileall.compile_dir(str(ROOT_DIR / "benchmarks"), quiet=1, maxlevels=0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="trustkit-bench-") as tmp:
        work = args.workdir.resolve() if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        with NotaryServer(work / "server", log_level="error") as server:
            for size in sizes:
                log(f"building {size:,} tags ...")
                repo = build_repository(server, work, size)
                log(f"  built in {repo.build_seconds:.1f} s: {repo.files}")
                if args.hold:
                    print(
                        json.dumps(
                            {
                                "url": server.url,
                                "ca": str(server.ca_path),
                                "gun": repo.gun,
                                "docker_trust_dir": str(repo.docker.trust_dir),
                            }
                        ),
                        flush=True,
                    )
                    continue
                result: dict[str, Any] = {
                    "size": size,
                    "gun": repo.gun,
                    "build_s": repo.build_seconds,
                    "files": repo.files,
                }
                if "inspect" not in skip:
                    inspectors = Inspectors(repo, server, work / f"inspect-{size}", args.trustkit_inspect, docker)
                    result["inspect"] = measure_inspect(inspectors, args.repeat, log)
                if "load" not in skip:
                    result["load"] = measure_load(repo, server, args.repeat, log)
                if "publish" not in skip:
                    result["publish"] = measure_publish(repo, server, work / f"publish-{size}", args.repeat, log)
                result["ratios"] = ratios(result)
                results.append(result)
            if args.hold:
                log("holding the server; interrupt to stop")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    return 0
        report: dict[str, Any] = {**_environment(), "repeat": args.repeat, "sizes": sizes, "results": results}
        if "import" not in skip:
            report["import"] = measure_import(args.repeat)
        report["targets"] = {name: {"what": what, "size": at, "ceiling": c} for name, (what, at, c) in TARGETS.items()}
        report["wall_s"] = time.perf_counter() - started
    env = report
    print(
        f"trustkit {env['trustkit']} (orjson {env['orjson'] or 'not used'}), Python {env['python']}, "
        f"notary {env['notary']}, {env['docker']}, python-tuf {env['python_tuf']}; {env['platform']}, "
        f"{env['cpu_count']} x {env['cpu_model']}; "
        f"medians of {args.repeat} alternating runs"
    )
    print(format_report(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
