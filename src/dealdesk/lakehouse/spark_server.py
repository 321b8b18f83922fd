"""A local Apache Spark 4.0 Spark Connect server with Delta Lake, owned by this process.

``make spark-env`` installs Spark (the ``pyspark`` package, in .tools/spark, apart from .venv) and
the Delta Lake jars, and writes ``engine.json`` there. :class:`SparkServer` starts
``spark-submit ... SparkConnectServer`` on a free loopback port and stops it again.

No JVM outlives its owner:

- the server runs in a process group of its own, and :meth:`SparkServer.stop` ends the whole group
  (SIGTERM, then SIGKILL after a grace period); the engine calls it at exit and on SIGTERM;
- between the owner and the JVM sits a small watchdog (``python -m dealdesk.lakehouse.spark_server``): it
  ends the JVM when the owner is gone, however it died (also SIGKILL), by polling its parent's
  pid twice a second; on Linux the JVM also gets PR_SET_PDEATHSIG, so it goes if the watchdog is
  killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dealdesk.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[3]
MANIFEST = REPO / "engines" / "spark.toml"
TOOLS_VARIABLE = "DEALDESK_SPARK_TOOLS"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT = float(os.environ.get("DEALDESK_SPARK_START_TIMEOUT", "240"))
# The server's heap (its driver runs every task in local mode). Spark's default of 1 GB ends the
# server (out of memory) when a run reads the state of most deals of a large lakehouse, e.g.
# flags checked for every deal after a restore; the JVM takes only what it uses.
DRIVER_MEMORY = os.environ.get("DEALDESK_SPARK_DRIVER_MEMORY", "4g")
STOP_GRACE = 15.0
_PR_SET_PDEATHSIG = 1

# Server settings. Tables always get a LOCATION under --home, so the warehouse folder below only
# catches what would otherwise land in the working directory.
SERVER_CONFIGS = {
    "spark.master": "local[*]",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.connect.grpc.binding.address": "127.0.0.1",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.session.timeZone": "UTC",
    # A small local machine: 200 shuffle partitions make every small join and MERGE slow, and
    # Delta rebuilds a table's state after every commit in 50 tasks by default.
    "spark.sql.shuffle.partitions": "4",
    "spark.databricks.delta.snapshotPartitions": "2",
    # Spark writes TIMESTAMP columns as INT96 by default, which the embedded engine refuses to read
    # as a UTC timestamp: INT64 microseconds marked UTC keep a home readable by both engines.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Compiling generated Java for every query costs more than it saves on a day's batch: the
    # processing run took about a third less time interpreted (54.7 s -> 37.8 s, then 32.6 -> 21.6 s
    # warm). Results are the same either way; Databricks keeps its own settings.
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    # INFO logs every plan in full: seconds per statement. The log is kept for start-up failures.
    "spark.log.level": "WARN",
    # Like the embedded engine: an idle client keeps its session (and temp views) for a day.
    "spark.connect.session.manager.defaultSessionTimeout": "24h",
}


@dataclass(frozen=True)
class SparkTools:
    """What ``make spark-env`` installed: read from .tools/spark/engine.json."""

    folder: Path
    pyspark: str
    delta: str
    spark_home: Path
    jars: tuple[Path, ...]

    @classmethod
    def load(cls, folder: Path | None = None) -> SparkTools:
        folder = folder or Path(os.environ.get(TOOLS_VARIABLE) or REPO / ".tools" / "spark")
        ready = folder / "engine.json"
        if not ready.exists():
            raise ConfigurationError(
                f"the spark engine is not set up ({ready} is missing): run 'make spark-env' "
                "(needs Java 17 and Maven)"
            )
        data = json.loads(ready.read_text())
        tools = cls(
            folder=folder,
            pyspark=data["pyspark"],
            delta=data["delta"],
            spark_home=Path(data["spark_home"]),
            jars=tuple(Path(jar) for jar in data["jars"]),
        )
        if MANIFEST.exists():
            manifest = tomllib.loads(MANIFEST.read_text())
            pinned = (manifest["spark"]["pyspark"], manifest["delta"]["version"])
            if pinned != (tools.pyspark, tools.delta):
                raise ConfigurationError(
                    f"the spark engine in {folder} is Spark {tools.pyspark} / Delta {tools.delta}, but "
                    f"engines/spark.toml pins {pinned[0]} / {pinned[1]}: run 'make spark-env'"
                )
        missing = [str(p) for p in (tools.spark_home / "bin" / "spark-submit", *tools.jars) if not p.exists()]
        if missing:
            raise ConfigurationError(
                f"the spark engine is incomplete ({missing[0]} is missing): run 'make spark-env'"
            )
        return tools


def find_java() -> str:
    """The java that spark-submit will use (JAVA_HOME first, as spark-submit does), or a clear error."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ConfigurationError(
            "the spark engine needs Java 17 or newer and none was found: install it "
            "(e.g. 'apt-get install openjdk-17-jdk-headless') or set JAVA_HOME"
        )
    return java


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class SparkServer:
    """One Spark Connect server process (with its watchdog) on a free loopback port."""

    def __init__(self, tools: SparkTools) -> None:
        self.tools = tools
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.workdir: Path | None = None
        self.started_in: float | None = None  # seconds from launch to a listening port

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the Spark server is not running")
        return f"sc://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path | None:
        return self.workdir / "server.log" if self.workdir else None

    def command(self, port: int, workdir: Path) -> list[str]:
        configs = {
            **SERVER_CONFIGS,
            "spark.connect.grpc.binding.port": str(port),
            "spark.sql.warehouse.dir": str(workdir / "warehouse"),
            "spark.local.dir": str(workdir / "tmp"),
            "spark.driver.memory": DRIVER_MEMORY,  # read by spark-submit: the JVM's -Xmx
            # The throughput collector: about a tenth less processor time than G1 on a migrate.
            "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dderby.system.home={workdir} -XX:+UseParallelGC",
        }
        command = [str(self.tools.spark_home / "bin" / "spark-submit"), "--class", SERVER_CLASS]
        command += ["--jars", ",".join(str(jar) for jar in self.tools.jars)]
        for key, value in configs.items():
            command += ["--conf", f"{key}={value}"]
        return [*command, "spark-internal"]

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Launch the server and wait until it listens; return its sc:// URL."""
        if self.process is not None:
            return self.url
        find_java()
        self.workdir = Path(tempfile.mkdtemp(prefix="dealdesk-spark-"))
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update(SPARK_HOME=str(self.tools.spark_home), SPARK_LOCAL_IP="127.0.0.1")
        watchdog = [
            sys.executable,
            "-m",
            "dealdesk.lakehouse.spark_server",
            str(os.getpid()),
            str(self.workdir),
            "--",
        ]
        began = time.monotonic()
        with open(self.workdir / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                [*watchdog, *self.command(self.port, self.workdir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                start_new_session=True,  # a process group of its own: Ctrl-C in a terminal does not reach it
            )
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() - began > timeout:
                reason = (
                    f"exited with code {self.process.returncode}"
                    if self.process.poll() is not None
                    else f"did not listen within {timeout:.0f} s"
                )
                tail = self.log_tail()
                self.stop()
                raise ConfigurationError(f"the Spark server {reason}; its log ends with:\n{tail}")
            time.sleep(0.1)
        self.started_in = time.monotonic() - began
        return self.url

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_file or not self.log_file.exists():
            return "(no log)"
        text = self.log_file.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """End the server's process group: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_GRACE)
        if process is not None:
            # The JVM may still be shutting down after the watchdog left: wait for the group to go.
            deadline = time.monotonic() + STOP_GRACE
            while _group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = self.port = None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """Linux: ask the kernel to send SIGTERM to this process when its parent exits (kept across exec)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def watch(owner: int, workdir: Path, command: list[str]) -> int:
    """Run ``command`` and end it when ``owner`` (the engine's process) is gone or a signal arrives.

    When the owner died, nobody else removes the server's scratch folder: the watchdog does.
    """
    # No PR_SET_PDEATHSIG here: it fires when the owner's *thread* that started us ends, and a
    # library cannot know which thread that is. The parent pid changes only when the process dies.
    if os.getppid() != owner:  # the owner died before we got here
        return 1
    child = subprocess.Popen(command, preexec_fn=_die_with_parent)  # single-threaded: preexec is safe
    deadline: list[float] = []

    def end(signum: int, _frame: object) -> None:
        if not deadline:
            deadline.append(time.monotonic() + STOP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                child.terminate()

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    signal.signal(signal.SIGHUP, end)
    orphaned = False
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != owner:
                orphaned = True
                end(signal.SIGTERM, None)
            if deadline and time.monotonic() > deadline[0]:
                child.kill()
    if orphaned and workdir.name.startswith("dealdesk-spark-"):
        shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    # python -m dealdesk.lakehouse.spark_server OWNER_PID WORKDIR -- COMMAND...
    separator = sys.argv.index("--")
    sys.exit(watch(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[separator + 1 :]))
