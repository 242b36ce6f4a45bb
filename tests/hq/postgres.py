"""A real PostgreSQL for the HQ tests and benchmarks: initdb in a temp directory, a private port
on loopback and a private socket directory, run as an unprivileged user.

initdb and postgres refuse to run as root. As root we run them as `nobody` (through `runuser`),
in a directory handed to that user; as anyone else, as ourselves. Debian keeps the server binaries
in /usr/lib/postgresql/<major>/bin, off PATH; tools/setup.sh installs the `postgresql` package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.sync.broker import free_port

UNPRIVILEGED = "nobody"


def server_bin(name: str) -> Path:
    """`initdb`, `pg_ctl`, `postgres`: the newest Debian install, else whatever PATH has."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        if (folder / name).exists():
            return folder / name
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install Debian's postgresql package (tools/setup.sh does)")
    return Path(found)


class Postgres:
    """One cluster; `url` is an SQLAlchemy URL for psycopg over TCP on 127.0.0.1."""

    def __init__(self, folder: Path, *, fsync: bool = True) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.port = free_port()
        self.fsync = fsync
        self.user = "hq"
        self._as_root = os.geteuid() == 0

    def _run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self._as_root:
            argv = ["runuser", "-u", UNPRIVILEGED, "--", *argv]
        return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self._as_root:
            # The tree above the data directory must be enterable by the server's user.
            for path in (self.folder, self.sockets):
                shutil.chown(path, UNPRIVILEGED)
            for parent in self.folder.parents:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                [str(server_bin("initdb")), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8"],
                env={**os.environ, "LC_ALL": "C.UTF-8"},
            )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockets} "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=100"
        )
        self._run(
            [
                str(server_bin("pg_ctl")),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.folder / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def create_database(self, name: str) -> str:
        """A fresh database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(server_bin("pg_ctl")), "-D", str(self.data), "-m", "fast", "-w", "stop"])
