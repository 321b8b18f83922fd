"""Engine conformance: the same DDL, CLI and SQL behave the same on the embedded engine and on Spark.

Each test marked `conformance` runs once per engine (see conftest: --engines, engine_name). The
lakehouse is built by `dealdesk migrate` in a separate process and then re-attached in this one: a
new server and session, so every test here also shows that tables survive a restart.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality

from dealdesk.cli.main import build_parser, open_lakehouse
from dealdesk.errors import ConfigurationError
from dealdesk.lakehouse.ddl import CREATE_TABLE, discover, discover_views
from dealdesk.lakehouse.engine import SPARK_SESSION_CATALOG, Target, spark_server, stop_engine
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.spark_server import SparkTools, find_java
from tests.conftest import Built, dealdesk_cli

PORTABLE = [m for m in discover() if not m.databricks_only]
DATABRICKS_ONLY = [m for m in discover() if m.databricks_only]
# Every column without a DEFAULT: the embedded engine refuses an INSERT that leaves out a nullable
# column (Spark fills NULL), so portable INSERTs name them all.
USER_COLUMNS = "id, username, email, role, department, approval_level, first_name, last_name, external_id, source_event_id"
NULLS = ", ".join(["NULL"] * 6)
TABLES = sorted(CREATE_TABLE.match(s)[1] for m in PORTABLE for s in m.create_table_statements)


@pytest.fixture(scope="module")
def project(engine: str, built: Built) -> Lakehouse:
    """The CLI-built lakehouse, re-attached in this process (a new server and session)."""
    home, schema = built.home, built.schema
    return open_lakehouse(Target(engine=engine, catalog="main", schema=schema, home=home))


@pytest.mark.conformance
def test_cli_migrate_applies_every_portable_file(engine: str, built: Built):
    schema, output = built.schema, built.output
    applied = [line.split()[1] for line in output.splitlines() if line.startswith("applied  ")]
    assert applied == [m.name for m in PORTABLE]
    catalog = SPARK_SESSION_CATALOG if engine == "spark" else "main"
    assert output.splitlines()[-1] == (
        f"{len(PORTABLE)} applied, 0 already applied, {len(DATABRICKS_ONLY)} skipped in `{catalog}`.`{schema}`"
    )


@pytest.mark.conformance
def test_restart_keeps_tables_and_ledger(engine: str, project: Lakehouse):
    assert project.table_names() == TABLES
    ledger = project.read("schema_migrations").select("version", "name", "engine").orderBy("version")
    # The expected frame takes the actual schema: Spark reads NOT NULL columns as non-nullable, the
    # embedded engine as nullable (docs/engines.md); the values are what must agree.
    expected = project.spark.createDataFrame([(m.version, m.name, engine) for m in PORTABLE], ledger.schema)
    assert_df_equality(ledger, expected)


@pytest.mark.conformance
def test_check_constraint_fails_and_default_fills(project: Lakehouse):
    users = project.table_name("users")
    project.sql(
        f"INSERT INTO {users} ({USER_COLUMNS}) VALUES (101, 'ann', 'ann@example.com', 'seller', {NULLS})"
    ).collect()
    row = project.read("users").where("id = 101")
    actual = row.select("id", "username", "role", "is_active")
    assert_df_equality(actual, project.spark.createDataFrame([(101, "ann", "seller", True)], actual.schema))
    assert row.where("created_at IS NOT NULL AND updated_at IS NOT NULL").count() == 1
    with pytest.raises(Exception, match=r"(?s)CHECK constraint users_role_valid .*violated"):
        project.sql(
            f"INSERT INTO {users} ({USER_COLUMNS}) VALUES (102, 'bob', 'bob@example.com', 'hacker', {NULLS})"
        ).collect()
    assert project.read("users").where("id = 102").count() == 0


@pytest.mark.conformance(exhaustive_on=["spark"])  # Spark: every view equals the embedded engine's
def test_views_are_created_and_queryable(project: Lakehouse):
    views = discover_views()
    assert project.view_names() == sorted(v.name for v in views)
    # The declared columns of one view (each analysis is a round trip: seconds on Spark).
    details = next(v for v in views if v.name == "approval_details")
    declared = re.findall(r"^\s+(\w+) COMMENT '", details.statement.split(") COMMENT '")[0], re.MULTILINE)
    assert project.read("approval_details").columns == declared
    # One statement runs every view's query on the engine (each round trip costs on Spark).
    counts = " UNION ALL ".join(
        f"SELECT '{v.name}' AS view, count(*) AS n FROM {project.table_name(v.name)}" for v in views
    )
    assert {r["view"]: r["n"] for r in project.sql(counts).collect()} == {v.name: 0 for v in views}
    # Unqualified names resolve to the lakehouse schema after use_schema (the CLI's sql command).
    project.use_schema()
    assert project.sql("SELECT count(*) AS n FROM approval_details").collect()[0]["n"] == 0


@pytest.mark.conformance(exhaustive_on=["spark"])  # Spark: `project` already reads in a new server
def test_cli_sql_json_reads_what_another_process_wrote(engine: str, built: Built, project: Lakehouse):
    home, schema = built.home, built.schema
    advertisers = project.table_name("advertisers")
    project.sql(
        f"INSERT INTO {advertisers} (id, name, region, source_event_id) VALUES (7, 'Acme Foods', 'west', NULL)"
    ).collect()
    query = "SELECT id, name, region, previous_year_margin FROM advertisers WHERE id = 7"
    result = dealdesk_cli(engine, home, schema, "sql", "--format", "json", query)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [{"id": 7, "name": "Acme Foods", "region": "west", "previous_year_margin": 0.0}]


@pytest.mark.conformance(engines=["spark"])
def test_delta_history_restore_vacuum_optimize(project: Lakehouse):
    """What only Spark (and Databricks) offer locally, on a project table."""
    table = project.table_name("agencies")
    columns = project.read("agencies").columns
    assert "name" in columns
    start = project.sql(f"DESCRIBE HISTORY {table}").agg({"version": "max"}).collect()[0][0]
    project.sql(f"INSERT INTO {table} (id, name) VALUES (1, 'Blue Agency')").collect()
    project.sql(f"INSERT INTO {table} (id, name) VALUES (2, 'Red Agency')").collect()
    history = project.sql(f"DESCRIBE HISTORY {table}").orderBy("version").collect()
    assert [r["version"] for r in history][-2:] == [start + 1, start + 2]
    assert [r["operation"] for r in history][-2:] == ["WRITE", "WRITE"]

    project.sql(f"RESTORE TABLE {table} TO VERSION AS OF {start + 1}").collect()
    assert [r["name"] for r in project.read("agencies").collect()] == ["Blue Agency"]

    project.sql(f"INSERT INTO {table} (id, name) VALUES (3, 'Green Agency')").collect()
    optimized = project.sql(f"OPTIMIZE {table}").collect()  # two small files become one
    assert optimized[0]["metrics"]["numFilesAdded"] == 1
    assert optimized[0]["metrics"]["numFilesRemoved"] == 2
    vacuumed = project.sql(f"VACUUM {table}").collect()
    assert vacuumed and vacuumed[0]["path"].endswith("agencies")
    operations = [r["operation"] for r in project.sql(f"DESCRIBE HISTORY {table}").collect()]
    assert {"RESTORE", "OPTIMIZE", "VACUUM START", "VACUUM END"} <= set(operations)


@pytest.mark.conformance(engines=["spark"])
def test_remote_engine_talks_to_any_spark_connect_server(built: Built, project: Lakehouse):
    """--engine remote: a session of its own to a server this process did not start (here: the test server)."""
    server = spark_server()
    assert server is not None
    home, schema = built.home, built.schema
    remote = Lakehouse.open(Target(engine="remote", remote=server.url, schema=schema, home=home))
    try:
        assert remote.spark is not project.spark
        assert remote.table_names() == TABLES  # the server's catalog is shared by its sessions
        users = remote.table_name("users")
        remote.sql(
            f"INSERT INTO {users} ({USER_COLUMNS}) VALUES (201, 'cy', 'cy@example.com', 'admin', {NULLS})"
        ).collect()
        assert project.read("users").where("id = 201").count() == 1
    finally:
        stop_engine("remote")


@pytest.mark.conformance(engines=["spark"])
def test_spark_server_dies_with_its_owner(engine: str, tmp_path: Path):
    """A crashed owner (SIGKILL: no atexit, no signal handler) leaves no JVM behind."""
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from dealdesk.lakehouse.engine import Target, spark_session, spark_server\n"
            f"spark_session(Target(engine='spark', home={str(tmp_path)!r})).sql('SELECT 1').collect()\n"
            "print(spark_server().process.pid, spark_server().workdir, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid, workdir = owner.stdout.readline().split()
        group = int(pid)
        os.killpg(group, 0)  # the server's process group is alive
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(group, signal.SIGKILL)
        pytest.fail("the Spark server outlived its owner by a minute")
    assert not Path(workdir).exists()  # the watchdog removed the server's scratch folder


# -- engine selection, without a server --------------------------------------------------------------


def test_spark_sql_uses_the_session_catalog_and_keeps_the_folder(tmp_path: Path):
    local = Target(engine="local", home=tmp_path)
    spark = Target(engine="spark", home=tmp_path)
    assert (local.sql_catalog, spark.sql_catalog) == ("main", SPARK_SESSION_CATALOG)
    assert local.warehouse == spark.warehouse == tmp_path.resolve() / "warehouse" / "main"
    assert spark.is_local and not Target(engine="databricks", home=tmp_path).is_local


def test_remote_engine_needs_a_spark_connect_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    with pytest.raises(ConfigurationError, match=r"--remote sc://HOST:PORT"):
        Target.from_options(engine="remote", home=tmp_path)
    with pytest.raises(ConfigurationError, match=r"not a Spark Connect URL"):
        Target.from_options(engine="remote", home=tmp_path, remote="http://example:15002")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:15002")
    assert Target.from_options(engine="remote", home=tmp_path).remote == "sc://127.0.0.1:15002"
    args = build_parser().parse_args(["--engine", "remote", "--remote", "sc://h:1", "tables"])
    assert (args.engine, args.remote) == ("remote", "sc://h:1")


def test_missing_spark_setup_and_java_are_told_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ConfigurationError, match=r"run 'make spark-env'") as missing:
        SparkTools.load(tmp_path)
    assert "\n" not in str(missing.value)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"needs Java 17 .* install it") as no_java:
        find_java()
    assert "\n" not in str(no_java.value)
