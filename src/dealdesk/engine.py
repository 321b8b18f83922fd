"""Engine selection: the one place that makes a Spark session.

- ``local`` (default): an in-process Sail server (pysail) writing real Delta
  tables under a home directory, and one Spark Connect session to it.
- ``databricks``: Databricks Connect with the user's profile or environment
  auth; inside a Databricks job, the runtime's own session.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dealdesk.errors import ConfigurationError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EngineName = Literal["local", "databricks"]
ENGINES: tuple[EngineName, ...] = ("local", "databricks")
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
    """Where the lakehouse lives: engine, catalog, schema and (locally) the home directory."""

    engine: EngineName = "local"
    catalog: str = DEFAULT_CATALOG
    schema: str = DEFAULT_SCHEMA
    home: Path = Path(DEFAULT_HOME)
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigurationError(f"engine '{self.engine}' is not one of {', '.join(ENGINES)}")
        validate_identifier("catalog", self.catalog)
        validate_identifier("schema", self.schema)
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @property
    def is_local(self) -> bool:
        return self.engine == "local"

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
    ) -> Target:
        """Command-line values first, then DEALDESK_* environment variables, then defaults."""
        env = os.environ
        return cls(
            engine=engine or env.get("DEALDESK_ENGINE", "local"),  # type: ignore[arg-type]
            catalog=catalog or env.get("DEALDESK_CATALOG", DEFAULT_CATALOG),
            schema=schema or env.get("DEALDESK_SCHEMA", DEFAULT_SCHEMA),
            home=Path(home or env.get("DEALDESK_HOME", DEFAULT_HOME)),
            profile=profile or env.get("DATABRICKS_CONFIG_PROFILE"),
        )


class _LocalServer:
    """One Sail server and one session per process; the catalog lives in that session."""

    def __init__(self) -> None:
        self.server = None
        self.session: SparkSession | None = None
        self.catalog: str | None = None

    def session_for(self, catalog: str) -> SparkSession:
        if self.session is not None:
            if catalog != self.catalog:
                raise ConfigurationError(
                    f"this process already serves catalog '{self.catalog}'; start a new one for '{catalog}'"
                )
            return self.session
        try:
            from pysail.spark import SparkConnectServer
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise ConfigurationError(
                "the local engine needs the 'local' extra (pysail and databricks-connect): run 'make env'"
            ) from exc
        # Sail reads its settings from the environment when the server starts.
        os.environ["SAIL_CATALOG__LIST"] = (
            f'[{{type="memory", name="{catalog}", initial_database=["default"]}}]'
        )
        os.environ.setdefault("SAIL_SPARK__SESSION_TIMEOUT_SECS", "86400")
        os.environ.setdefault("RUST_LOG", "error")
        server = SparkConnectServer(ip="127.0.0.1", port=0)
        server.start(background=True)
        _, port = server.listening_address
        session = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
        for key, value in CLIENT_CONFIGS.items():
            session.conf.set(key, value)
        self.server, self.session, self.catalog = server, session, catalog
        atexit.register(self.stop)
        return session

    def stop(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                self.session.stop()
        if self.server is not None:
            self.server.stop()
        self.server = self.session = self.catalog = None


_LOCAL = _LocalServer()


def in_databricks_runtime() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def spark_session(target: Target) -> SparkSession:
    """The Spark session for a target (created once per process)."""
    if target.is_local:
        return _LOCAL.session_for(target.catalog)
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


def stop_local_engine() -> None:
    """Stop the embedded server (tests use it to prove tables survive a restart)."""
    _LOCAL.stop()
