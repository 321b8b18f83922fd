"""Engine selection: the one place that makes a Spark session.

- ``local`` (default): an in-process Sail server (pysail) writing real Delta
  tables under a home directory, and one Spark Connect session to it.
- ``spark``: a local Apache Spark 4.0 Spark Connect server with Delta Lake 4.0
  (what Databricks Runtime 17.3 LTS runs), started and stopped by this process
  (see dealdesk.lakehouse.spark_server); same home layout as ``local``.
- ``remote``: any Spark Connect endpoint with Delta Lake (``--remote sc://HOST:PORT``
  or SPARK_REMOTE); its tables get LOCATIONs under the home, which the server must reach.
- ``databricks``: Databricks Connect with the user's profile or environment
  auth; inside a Databricks job, the runtime's own session.

docs/engines.md lists where the engines differ and what the code does about it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dealdesk.errors import ConfigurationError
from dealdesk.lakehouse.spark_server import SparkServer, SparkTools

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EngineName = Literal["local", "spark", "remote", "databricks"]
ENGINES: tuple[EngineName, ...] = ("local", "spark", "remote", "databricks")
# Apache Spark's own catalog: Delta's catalog plugs in only under this name (a DeltaCatalog named
# anything else fails with INTERNAL_ERROR), so on Spark three-part names use it.
SPARK_SESSION_CATALOG = "spark_catalog"
DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "deal_desk"
DEFAULT_HOME = ".dealdesk"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")

# The Databricks Connect 17.3 client asks the server for these; Sail has no defaults for them.
CLIENT_CONFIGS = {
    "spark.sql.session.localRelationChunkSizeRows": "10000",
    "spark.sql.session.localRelationChunkSizeBytes": str(16 * 1024 * 1024),
    "spark.sql.session.localRelationBatchOfChunksSizeBytes": str(64 * 1024 * 1024),
    "spark.sql.session.timeZone": "UTC",
}


def validate_identifier(what: str, value: str) -> str:
    """Object names are built into SQL text, so only plain identifiers are allowed."""
    if not IDENTIFIER.match(value or ""):
        raise ConfigurationError(
            f"{what} '{value}' is not a valid identifier (letters, digits and _, not starting with a digit)"
        )
    return value


@dataclass(frozen=True)
class Target:
    """Where the lakehouse lives: engine, catalog, schema and (locally) the home directory.

    ``catalog`` is the lakehouse's catalog name: the Unity Catalog name on Databricks, the catalog
    Sail serves locally, and the folder under ``home/warehouse`` on every engine but Databricks.
    SQL text names the catalog ``sql_catalog``, which differs only on Spark (``spark_catalog``).
    """

    engine: EngineName = "local"
    catalog: str = DEFAULT_CATALOG
    schema: str = DEFAULT_SCHEMA
    home: Path = Path(DEFAULT_HOME)
    profile: str | None = None
    remote: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigurationError(f"engine '{self.engine}' is not one of {', '.join(ENGINES)}")
        validate_identifier("catalog", self.catalog)
        validate_identifier("schema", self.schema)
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())
        if self.engine == "remote":
            if not self.remote:
                raise ConfigurationError("--engine remote needs --remote sc://HOST:PORT (or SPARK_REMOTE)")
            if not self.remote.startswith("sc://"):
                raise ConfigurationError(
                    f"--remote '{self.remote}' is not a Spark Connect URL (sc://HOST:PORT)"
                )

    @property
    def is_local(self) -> bool:
        """Tables under ``home`` with LOCATIONs, a catalog to re-attach at every start, no Unity Catalog.

        True on every engine but Databricks: ``local``, ``spark`` and ``remote`` lakehouses are
        built, attached and migrated the same way (Databricks-only DDL is skipped).
        """
        return self.engine != "databricks"

    @property
    def sql_catalog(self) -> str:
        """The catalog name that SQL text uses: ``spark_catalog`` on Spark, else ``catalog``."""
        return SPARK_SESSION_CATALOG if self.engine in ("spark", "remote") else self.catalog

    @property
    def warehouse(self) -> Path:
        """Local folder that holds the Delta tables of this catalog."""
        return self.home / "warehouse" / self.catalog

    @classmethod
    def from_options(
        cls,
        engine: str | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        home: str | Path | None = None,
        profile: str | None = None,
        remote: str | None = None,
    ) -> Target:
        """Command-line values first, then DEALDESK_* environment variables (SPARK_REMOTE), then defaults."""
        env = os.environ
        return cls(
            engine=engine or env.get("DEALDESK_ENGINE", "local"),  # type: ignore[arg-type]
            catalog=catalog or env.get("DEALDESK_CATALOG", DEFAULT_CATALOG),
            schema=schema or env.get("DEALDESK_SCHEMA", DEFAULT_SCHEMA),
            home=Path(home or env.get("DEALDESK_HOME", DEFAULT_HOME)),
            profile=profile or env.get("DATABRICKS_CONFIG_PROFILE"),
            remote=remote or env.get("SPARK_REMOTE"),
        )


def connect(url: str) -> SparkSession:
    """A new Spark Connect session to ``url`` with the settings the client needs on every server."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:
        raise ConfigurationError(
            "the Spark Connect client (databricks-connect) is missing: run 'make env'"
        ) from exc
    # create(), not getOrCreate(): one process may hold sessions to two engines (the tests do).
    session = ConnectSession.builder.remote(url).create()
    for key, value in CLIENT_CONFIGS.items():
        session.conf.set(key, value)
    return session  # type: ignore[return-value]


class _Engine:
    """One server (where the engine has one) and one session per process, for one catalog."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.session: SparkSession | None = None
        self.catalog: str | None = None
        self.key: str | None = None
        self.server: Any = None  # the server this process started, where the engine has one

    def session_for(self, target: Target) -> SparkSession:
        key = target.remote or ""
        if self.session is not None:
            if (target.catalog, key) != (self.catalog, self.key):
                raise ConfigurationError(
                    f"this process already serves catalog '{self.catalog}' on the {self.name} engine; "
                    f"start a new one for '{target.catalog}'"
                )
            return self.session
        _install_cleanup()
        self.session = self.start(target)
        self.catalog, self.key = target.catalog, key
        return self.session

    def start(self, target: Target) -> SparkSession:
        raise NotImplementedError

    def stop(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                self.session.stop()
        self.session = self.catalog = self.key = None
        if self.server is not None:
            self.server.stop()
        self.server = None


class _SailEngine(_Engine):
    """The embedded engine: an in-process Sail server; the catalog lives in that server's memory."""

    def __init__(self) -> None:
        super().__init__("local")

    def start(self, target: Target) -> SparkSession:
        try:
            from pysail.spark import SparkConnectServer
        except ImportError as exc:
            raise ConfigurationError(
                "the local engine needs the 'local' extra (pysail and databricks-connect): run 'make env'"
            ) from exc
        # Sail reads its settings from the environment when the server starts.
        os.environ["SAIL_CATALOG__LIST"] = (
            f'[{{type="memory", name="{target.catalog}", initial_database=["default"]}}]'
        )
        os.environ.setdefault("SAIL_SPARK__SESSION_TIMEOUT_SECS", "86400")
        os.environ.setdefault("RUST_LOG", "error")
        server = SparkConnectServer(ip="127.0.0.1", port=0)
        server.start(background=True)
        self.server = server
        _, port = server.listening_address
        return connect(f"sc://127.0.0.1:{port}")


class _SparkEngine(_Engine):
    """A local Apache Spark + Delta Lake Spark Connect server, a child process of this one."""

    def __init__(self) -> None:
        super().__init__("spark")

    def start(self, target: Target) -> SparkSession:
        self.server = SparkServer(SparkTools.load())  # known before it starts: stop() can reach it
        return connect(self.server.start())


class _RemoteEngine(_Engine):
    """Any Spark Connect endpoint with Delta Lake; this process only holds the session."""

    def __init__(self) -> None:
        super().__init__("remote")

    def start(self, target: Target) -> SparkSession:
        assert target.remote is not None  # Target checked it
        return connect(target.remote)


_LOCAL = _SailEngine()
_SPARK = _SparkEngine()
_REMOTE = _RemoteEngine()
_ENGINES: dict[str, _Engine] = {"local": _LOCAL, "spark": _SPARK, "remote": _REMOTE}
_cleanup_installed = threading.Lock()
_cleanup_done: list[bool] = []


def _install_cleanup() -> None:
    """Stop every engine at exit and on SIGTERM (SIGINT already ends in KeyboardInterrupt and exit)."""
    with _cleanup_installed:
        if _cleanup_done:
            return
        _cleanup_done.append(True)
        atexit.register(stop_engines)
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_IGN:
            return

        def on_sigterm(signum: int, frame: object) -> None:
            stop_engines()
            if callable(previous):
                previous(signum, frame)
            else:
                raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, on_sigterm)


def in_databricks_runtime() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def spark_session(target: Target) -> SparkSession:
    """The Spark session for a target (created once per process and engine)."""
    if target.engine in _ENGINES:
        return _ENGINES[target.engine].session_for(target)
    if in_databricks_runtime():
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    try:
        from databricks.connect import DatabricksSession
    except ImportError as exc:
        raise ConfigurationError(
            "--engine databricks needs Databricks Connect 17.3: install the 'local' extra"
        ) from exc
    builder = DatabricksSession.builder
    if target.profile:
        builder = builder.profile(target.profile)
    session = builder.getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def spark_server() -> SparkServer | None:
    """The running local Spark server of this process, if any (start time, log)."""
    return _SPARK.server


def stop_engine(engine: str) -> None:
    """Stop one engine's session and server: the next session starts afresh (a restart).

    The client library keeps one default session per process and forgets it when that session
    stops; a session of another engine still serving this process becomes the default again, so
    stopping (or failing to start) one engine never leaves the other without its session."""
    if engine in _ENGINES:
        _ENGINES[engine].stop()
    _reactivate()


def _reactivate() -> None:
    live = next((e.session for e in _ENGINES.values() if e.session is not None), None)
    if live is None:
        return
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError:
        return
    if ConnectSession.getActiveSession() is None or ConnectSession._default_session is None:
        ConnectSession._set_default_and_active_session(live)  # type: ignore[arg-type]


def stop_local_engine() -> None:
    """Stop the embedded server (tests use it to prove tables survive a restart)."""
    stop_engine("local")


def stop_engines() -> None:
    """Stop every engine this process started; no server process is left behind."""
    for engine in _ENGINES.values():
        with contextlib.suppress(Exception):
            engine.stop()
