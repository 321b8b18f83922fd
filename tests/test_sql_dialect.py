"""Every SQL statement the project can send parses as Databricks SQL (sqlglot's databricks dialect).

Two sources: every DDL file and view rendered for Unity Catalog, and every statement the jobs
send on the embedded engine, recorded by ``Lakehouse.recorded_statements``. Also the DDL
parameters (``${param:NAME}``) that the Databricks-only files take from ``dealdesk migrate``.
"""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from unittest.mock import MagicMock

import pytest
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from dealdesk.cli.main import build_parser, ddl_parameters, main
from dealdesk.errors import MigrationError
from dealdesk.lakehouse.ddl import Migration, discover, discover_views, parse_parameters
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner, grant_select, render
from dealdesk.operations.maintenance import maintenance_statements
from dealdesk.operations.recovery import Recovery, RestoreRequest, recoverable_tables
from tests.conftest import REPO, new_target

# Principals as the bundle passes them (see bundle/migration_job.yml).
DDL_PARAMETERS = {
    "job_principal": "6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
    "admins_group": "dealdesk-admins",
    "analysts_group": "dealdesk-analysts",
    "sellers_group": "dealdesk-sellers",
    "reviewers_group": "dealdesk-reviewers",
    "approvers_group": "dealdesk-approvers",
}

# The jobs in the order the processing job runs them, each with its arguments: one line per job.
# A job whose subcommand is not in the CLI yet is left out here; tests/test_bundle.py reports it.
JOB_COMMANDS: dict[str, list[str]] = {
    "migrate": [],
    "ingest": ["--landing", "{landing}"],
    "route": [],
    "decide": [],
    "monitor": [],
}

_IDENT = r"(?:`[^`]+`|\w+)"
_NAME = rf"{_IDENT}(?:\.{_IDENT}){{0,2}}"
# sqlglot falls back to a bare Command for statements it has no grammar for. These few shapes are
# accepted as Databricks SQL, each matched in full (a typo anywhere fails); every other Command fails.
JUSTIFIED_COMMANDS = {
    "Unity Catalog row filter: no sqlglot grammar": re.compile(
        rf"ALTER TABLE {_NAME}\s+SET ROW FILTER {_NAME} ON \({_IDENT}(?:, {_IDENT})*\)", re.IGNORECASE
    ),
    "Unity Catalog column mask: no sqlglot grammar": re.compile(
        rf"ALTER TABLE {_NAME} ALTER COLUMN {_IDENT} SET MASK {_NAME}", re.IGNORECASE
    ),
    "SHOW TABLES: sqlglot parses SHOW for MySQL-like dialects only": re.compile(
        rf"SHOW TABLES IN {_NAME}", re.IGNORECASE
    ),
    "SHOW TBLPROPERTIES: the same": re.compile(rf"SHOW TBLPROPERTIES {_NAME}", re.IGNORECASE),
    "Delta maintenance (OPTIMIZE without ZORDER: the tables are liquid-clustered): no sqlglot grammar": re.compile(
        rf"OPTIMIZE {_NAME}", re.IGNORECASE
    ),
    "Delta VACUUM: no sqlglot grammar": re.compile(rf"VACUUM {_NAME}(?: RETAIN \d+ HOURS)?", re.IGNORECASE),
    "Delta RESTORE: no sqlglot grammar (a parse error, not a Command)": re.compile(
        rf"RESTORE TABLE {_NAME} TO VERSION AS OF \d+", re.IGNORECASE
    ),
    "Delta DEEP CLONE of a version: no sqlglot grammar": re.compile(
        rf"CREATE OR REPLACE TABLE {_NAME} DEEP CLONE {_NAME} VERSION AS OF \d+", re.IGNORECASE
    ),
}


def databricks_problem(statement: str) -> str | None:
    """Why a statement is not Databricks SQL, or None."""
    if any(shape.fullmatch(statement.strip()) for shape in JUSTIFIED_COMMANDS.values()):
        return None
    try:
        trees = sqlglot.parse(statement, dialect="databricks", error_level=ErrorLevel.RAISE)
    except ParseError as exc:
        return f"{exc.errors[0]['description'] if exc.errors else exc}: {statement[:160]}"
    for tree in trees:
        if isinstance(tree, exp.Command) and not any(
            shape.fullmatch(statement.strip()) for shape in JUSTIFIED_COMMANDS.values()
        ):
            return f"not understood as Databricks SQL (parsed as a bare command): {statement[:160]}"
    return None


def databricks_lakehouse() -> Lakehouse:
    """Names only: rendering for Unity Catalog needs a target, not a session."""
    return Lakehouse(spark=None, target=Target(engine="databricks", catalog="main", schema="deal_desk_test"))  # type: ignore[arg-type]


def ddl_for_databricks() -> Iterator[tuple[str, str]]:
    """(where, statement) for every statement of every DDL file and view, rendered for Unity Catalog."""
    lakehouse = databricks_lakehouse()
    for migration in discover():
        for number, statement in enumerate(migration.statements, start=1):
            rendered = render(statement, lakehouse, for_databricks=True, parameters=DDL_PARAMETERS)
            yield f"{migration.name} #{number}", rendered
    for view in discover_views():
        yield f"views/{view.file_name}", render(view.statement, lakehouse, for_databricks=True)
        yield f"grant on {view.name}", grant_select(lakehouse, view.name, DDL_PARAMETERS["analysts_group"])


# -- the checker itself --------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELEC 1",
        "CREATE TABLE `main`.`s`.t (id BIGINT NOT NULL",
        "ALTER TABLE `main`.`s`.deals SET ROW FILTR `main`.`s`.f ON (id)",
        "ALTER TABLE `main`.`s`.deals ALTER COLUMN deal_value SET MASKING `main`.`s`.f",
        "OPTIMIZE `main`.`s`.deals ZORDER BY (id)",
    ],
)
def test_checker_rejects_what_is_not_databricks_sql(statement: str):
    assert databricks_problem(statement) is not None


def test_checker_accepts_the_justified_commands():
    assert (
        databricks_problem("ALTER TABLE `main`.`s`.deals SET ROW FILTER `main`.`s`.f ON (id, email)") is None
    )
    assert (
        databricks_problem("ALTER TABLE `main`.`s`.deals ALTER COLUMN deal_value SET MASK `main`.`s`.f")
        is None
    )
    assert databricks_problem("SHOW TABLES IN `main`.`s`") is None


# -- the DDL --------------------------------------------------------------------


def test_every_ddl_statement_parses_as_databricks_sql():
    statements = list(ddl_for_databricks())
    databricks_only = {m.name for m in discover() if m.databricks_only}
    assert {
        "090_keys_clustering.databricks.sql",
        "091_row_filter_and_masks.databricks.sql",
    } <= databricks_only
    assert len(statements) > 100
    problems = [
        f"{where}: {problem}" for where, statement in statements if (problem := databricks_problem(statement))
    ]
    assert problems == []


def test_the_overdue_alert_query_is_databricks_sql_and_counts_the_overdue_approvals(lakehouse: Lakehouse):
    alert = yaml.safe_load((REPO / "bundle" / "overdue_alert.yml").read_text())["resources"]["alerts"]
    query = alert["overdue_approvals"]["query_text"]
    names = {"${var.catalog}": "main", "${resources.schemas.deal_desk.name}": "deal_desk_test"}
    for placeholder, name in names.items():
        query = query.replace(placeholder, name)
    assert databricks_problem(query) is None
    local = query.replace("main.deal_desk_test.approval_queue", lakehouse.table_name("approval_queue"))
    (row,) = lakehouse.rows(lakehouse.sql(local))
    overdue = lakehouse.read("approval_queue").filter("is_overdue").count()
    assert row["overdue_approvals"] == overdue


def test_security_ddl_filters_deals_and_masks_money():
    security = next(m for m in discover() if m.name == "091_row_filter_and_masks.databricks.sql")
    rendered = [render(s, databricks_lakehouse(), parameters=DDL_PARAMETERS) for s in security.statements]
    text = "\n".join(rendered)
    assert "SET ROW FILTER `main`.`deal_desk_test`.deals_row_filter ON (id, email)" in text
    assert "is_account_group_member('dealdesk-admins')" in text
    assert f"current_user() = '{DDL_PARAMETERS['job_principal']}'" in text
    masked = re.findall(r"ALTER TABLE \S+\.(\w+) ALTER COLUMN (\w+) SET MASK", text)
    assert ("deals", "deal_value") in masked and ("deal_tiers", "annual_revenue") in masked
    assert security.parameter_names == set(DDL_PARAMETERS)


# -- the jobs -------------------------------------------------------------------


def available_jobs() -> list[tuple[str, list[str]]]:
    subcommands = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    return [(job, args) for job, args in JOB_COMMANDS.items() if job in subcommands]


def test_every_statement_the_jobs_send_parses_as_databricks_sql(lakehouse_home: Path, tmp_path: Path):
    landing = tmp_path / "landing"
    samples = resources.files("dealdesk") / "sample_data" / "landing"
    if samples.is_dir():
        shutil.copytree(str(samples), landing)
    else:
        landing.mkdir()
    target = new_target(lakehouse_home, "dialect")
    base = ["--home", str(lakehouse_home), "--schema", target.schema]
    jobs = available_jobs()
    assert jobs[0][0] == "migrate"

    Lakehouse.recorded_statements = []
    try:
        for job, args in jobs:
            exit_code = main([*base, job, *(arg.format(landing=landing) for arg in args)])
            assert exit_code == 0, job
        recorded = list(Lakehouse.recorded_statements)
    finally:
        Lakehouse.recorded_statements = None

    assert any(s.startswith("MERGE INTO") for s in recorded)  # the lease, at least
    assert any("CREATE TABLE IF NOT EXISTS" in s for s in recorded)
    problems = [problem for statement in recorded if (problem := databricks_problem(statement))]
    assert problems == []


def test_recording_is_off_unless_asked(lakehouse: Lakehouse):
    assert Lakehouse.recorded_statements is None
    lakehouse.sql("SELECT 1 AS one").collect()
    assert Lakehouse.recorded_statements is None


# -- DDL parameters ---------------------------------------------------------------


def test_parameters_render_as_principal_or_string():
    lakehouse = databricks_lakehouse()
    statement = "GRANT SELECT ON TABLE ${catalog}.${schema}.v TO ${param:who}; -- ${param_string:who}"
    rendered = render(statement, lakehouse, parameters={"who": "Deal Desk analysts"})
    assert (
        rendered
        == "GRANT SELECT ON TABLE `main`.`deal_desk_test`.v TO `Deal Desk analysts`; -- 'Deal Desk analysts'"
    )


@pytest.mark.parametrize("value", ["a`b", "x' OR '1'='1", "a;b", "", "tab\tname", "ü" * 3])
def test_parameter_values_outside_the_principal_characters_are_refused(value: str):
    with pytest.raises(MigrationError, match="not a principal name"):
        parse_parameters([f"who={value}"])


def test_parameters_come_from_the_environment_and_the_command_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEALDESK_DDL_PARAMS", "admins_group=dealdesk-admins, sellers_group=env sellers")
    args = build_parser().parse_args(
        ["migrate", "--param", "sellers_group=dealdesk-sellers", "--param", "x=a@b.c"]
    )
    assert ddl_parameters(args) == {
        "admins_group": "dealdesk-admins",
        "sellers_group": "dealdesk-sellers",
        "x": "a@b.c",
    }
    with pytest.raises(MigrationError, match="is not NAME=VALUE"):
        parse_parameters(["admins_group"])
    with pytest.raises(MigrationError, match="name 'Admins' is not"):
        parse_parameters(["Admins=x"])


def test_missing_parameter_is_named_before_anything_is_applied(empty_lakehouse: Lakehouse, tmp_path: Path):
    ddl = tmp_path / "ddl"
    ddl.mkdir()
    shutil.copy(REPO / "ddl" / "000_schema.sql", ddl)
    (ddl / "001_first.sql").write_text(
        "CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.first (id BIGINT) USING DELTA ${location:first};\n"
    )
    (ddl / "002_needs_who.sql").write_text(
        "CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.second (who STRING) USING DELTA ${location:second};\n"
        "INSERT INTO ${catalog}.${schema}.second (who) SELECT ${param_string:who} AS who;\n"
    )
    with pytest.raises(
        MigrationError, match=r"002_needs_who.sql needs DDL parameters who: pass --param who=VALUE"
    ):
        MigrationRunner(empty_lakehouse, discover(ddl)).migrate()
    assert not empty_lakehouse.table_exists("second")  # nothing of the file ran
    assert sorted(r["version"] for r in empty_lakehouse.read("schema_migrations").collect()) == [0, 1]

    report = MigrationRunner(empty_lakehouse, discover(ddl), parameters={"who": "dealdesk-admins"}).migrate()
    assert report.applied == ["002_needs_who.sql"]
    assert [r["who"] for r in empty_lakehouse.read("second").collect()] == ["dealdesk-admins"]


def test_local_runs_need_no_parameters(lakehouse: Lakehouse):
    # The fixture migrated without parameters: the Databricks-only files that need them were skipped.
    needing = [m.name for m in discover() if m.parameter_names]
    assert needing and all(m.databricks_only for m in discover() if m.parameter_names)
    applied = {r["name"] for r in lakehouse.read("schema_migrations").collect()}
    assert applied.isdisjoint(needing)


def test_migration_parameter_names_come_from_both_placeholder_forms():
    migration = Migration(
        1, "001_x.databricks.sql", "${param:a} ${param_string:b} ${catalog} ${location:t}", True
    )
    assert migration.parameter_names == {"a", "b"}


# -- backups, restores and maintenance on Databricks -----------------------------------------------


class RecordingLakehouse(Lakehouse):
    """Unity Catalog names and no engine: records what recovery sends and answers what it reads."""

    def __init__(self) -> None:
        super().__init__(
            spark=None, target=Target(engine="databricks", catalog="main", schema="deal_desk_test")
        )  # type: ignore[arg-type]
        self.sent: list[str] = []
        self.backup_rows: list[dict] = []
        self.written: list[str] = []

    def execute(self, statement: str) -> list:
        self.sent.append(statement)
        if statement.startswith("DESCRIBE HISTORY"):
            return [
                {"version": v, "timestamp": datetime(2026, 3, 1, v), "operation": "WRITE"} for v in range(4)
            ]
        if " count(*) AS n " in statement:
            return [{"k": key, "n": 5} for key in re.findall(r"SELECT '([^']+)' AS k", statement)]
        if "current_user()" in statement:
            return [{"who": "someone"}]
        return []

    def table_names(self) -> list[str]:
        return sorted([*recoverable_tables(), "backups", "restores", "schema_migrations"])

    def read(self, table: str) -> MagicMock:
        return MagicMock()

    def collect(self, df: object) -> list[dict]:
        return self.backup_rows

    def frame(self, table: str, rows: object, columns: object = None) -> MagicMock:
        return MagicMock()

    def merge(self, source: object, table: str, keys: object, **kwargs: object) -> None:
        self.written.append(f"MERGE {table}")  # the MERGE text itself is checked with the jobs' statements

    def append(self, df: object, table: str) -> None:
        self.written.append(f"APPEND {table}")


def test_backup_restore_and_maintenance_statements_are_databricks_sql():
    lakehouse = RecordingLakehouse()
    recovery = Recovery(lakehouse)
    lakehouse.backup_rows = [
        {
            "backup_id": f"2026030{d}T000000000000Z",
            "table_name": t,
            "source_version": 2,
            "backup_version": d,
            "row_count": 5,
            "backed_up_at": datetime(2026, 3, d),
        }
        for d in range(1, 4)
        for t in recoverable_tables()
    ]
    report = recovery.backup(keep=2, now=datetime(2026, 3, 20))
    recovery.restore(RestoreRequest("version", "1", "deals"))
    recovery.restore(RestoreRequest("backup", None, include_audit=True))
    sent = [*lakehouse.sent, *maintenance_statements(lakehouse, lakehouse.table_names())]

    # each restore recorded, and the lease left with it (the next run checks everything)
    assert lakehouse.written == [
        "MERGE backups", "APPEND restores", "MERGE run_lock", "APPEND restores", "MERGE run_lock"
    ]  # fmt: skip
    assert report.pruned == ["20260301T000000000000Z", "20260302T000000000000Z"]
    assert (
        "CREATE OR REPLACE TABLE `main`.`deal_desk_test_backup`.`deals` DEEP CLONE `main`.`deal_desk_test`.`deals` VERSION AS OF 3"
        in sent
    )
    assert "RESTORE TABLE `main`.`deal_desk_test`.`deals` TO VERSION AS OF 1" in sent
    assert any(s.startswith("VACUUM `main`.`deal_desk_test_backup`.`deals` RETAIN ") for s in sent)
    assert "OPTIMIZE `main`.`deal_desk_test`.`approval_actions`" in sent
    problems = [problem for statement in sent if (problem := databricks_problem(statement))]
    assert problems == []
