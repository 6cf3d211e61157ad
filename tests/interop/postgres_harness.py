"""A throwaway PostgreSQL cluster for notary-server's ``postgres`` storage backend, as production runs it.

:class:`PostgresCluster` runs Debian's ``initdb`` in a folder of the caller's, starts ``postgres`` on a free
loopback port (no Unix socket outside that folder), creates the ``notaryserver`` database and its schema, and
stops and removes it all again. initdb refuses to run as root, so as root the cluster runs as the ``postgres``
user Debian's package creates (``runuser -u postgres``).

The schema is the one notary-server 0.7 reads and writes, as notary's migrations for PostgreSQL
(``migrations/server/postgresql/0001_initial.up.sql`` and ``0002_changefeed.up.sql`` at tag v0.7.0) define it: the
``tuf_files`` table (one row per role version; ``Delete`` removes every row of a GUN), the ``change_category``
table and the ``changefeed`` table with a ``serial`` ID. The test suite pins that notary-server uses it by running
the real server over it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.interop.harness import LOOPBACK, ServerStartError, free_port, require_binary

__all__ = ["SCHEMA", "PostgresCluster", "postgres_bin"]

SCHEMA = """
CREATE TABLE tuf_files (
  id serial PRIMARY KEY,
  created_at timestamp NULL DEFAULT NULL,
  updated_at timestamp NULL DEFAULT NULL,
  deleted_at timestamp NULL DEFAULT NULL,
  gun varchar(255) NOT NULL,
  role varchar(255) NOT NULL,
  version integer NOT NULL,
  data bytea NOT NULL,
  sha256 char(64) DEFAULT NULL,
  UNIQUE (gun, role, version)
);
CREATE INDEX tuf_files_sha256_idx ON tuf_files (sha256);
CREATE TABLE change_category (category varchar(20) PRIMARY KEY);
INSERT INTO change_category VALUES ('update'), ('deletion');
CREATE TABLE changefeed (
  id serial PRIMARY KEY,
  created_at timestamp DEFAULT CURRENT_TIMESTAMP,
  gun varchar(255) NOT NULL,
  version integer NOT NULL,
  sha256 char(64) DEFAULT NULL,
  category varchar(20) NOT NULL DEFAULT 'update' REFERENCES change_category
);
CREATE INDEX idx_changefeed_gun ON changefeed (gun);
"""
"""notary-server 0.7's tables in PostgreSQL (see the module docstring for where each comes from)."""

DATABASE = "notaryserver"


def postgres_bin(name: str) -> str:
    """The path of PostgreSQL server program ``name`` (``initdb``, ``pg_ctl``): Debian keeps them under
    ``/usr/lib/postgresql/<version>/bin``, off ``PATH``."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), "")
    if not found:
        require_binary(name, "postgresql")  # skips, or fails under TRUSTKIT_REQUIRE_INTEROP=1
    return found


class PostgresCluster:
    """A PostgreSQL cluster on 127.0.0.1:``port``, with notary-server's schema in database ``notaryserver``, in a
    new folder of the system's temporary folder (pytest's are private to root, and the cluster may run as the
    ``postgres`` user). Use as a context manager, or :meth:`start` and :meth:`stop`."""

    def __init__(self, *, startup_timeout: float = 30.0) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="trustkit-pg-")).resolve()
        self.data = self.workdir / "pgdata"
        self.log_path = self.workdir / "postgres.log"
        self.startup_timeout = startup_timeout
        self.port = 0
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str, stdin: str | None = None) -> str:
        command = list(argv) if self._user is None else ["runuser", "-u", self._user, "--", *argv]
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=self.startup_timeout, check=False
        )
        if done.returncode != 0:
            raise ServerStartError(f"{' '.join(argv)} failed (rc={done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> PostgresCluster:
        """initdb, start on a free loopback port, create the database and the schema."""
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        psql = shutil.which("psql") or postgres_bin("psql")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            shutil.chown(self.workdir, self._user)
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        for _ in range(5):
            self.port = free_port()
            options = f"-p {self.port} -c listen_addresses={LOOPBACK} -k {self.workdir} -c fsync=off"
            try:
                self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w", "start")
                break
            except ServerStartError:
                if "already in use" not in self._log():
                    raise
        else:  # pragma: no cover - five ports taken in a row
            raise ServerStartError(f"postgres could not bind a free port: {self._log()}")
        connect = ["-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        self._run(psql, *connect, "-d", "postgres", "-c", f"CREATE DATABASE {DATABASE}")
        self._run(psql, *connect, "-d", DATABASE, stdin=SCHEMA)
        return self

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    @property
    def dsn(self) -> str:
        """notary-server's ``db_url`` for the database."""
        return f"postgres://postgres@{LOOPBACK}:{self.port}/{DATABASE}?sslmode=disable"

    def storage(self) -> dict[str, str]:
        """notary-server's ``storage`` configuration for this cluster."""
        return {"backend": "postgres", "db_url": self.dsn}

    def stop(self) -> None:
        """Stop the cluster (fast shutdown) and remove its folder."""
        if self.port and self.data.exists():
            deadline = time.monotonic() + 10
            try:
                self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            except ServerStartError:
                if time.monotonic() > deadline:  # pragma: no cover
                    raise
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
