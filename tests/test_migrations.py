"""The migration runner: order, idempotence, checksums, Databricks-only files, re-attach."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dealdesk.errors import MigrationError
from dealdesk.lakehouse.ddl import discover, split_statements
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner, render
from tests.conftest import REPO


@pytest.fixture
def lakehouse(empty_lakehouse: Lakehouse) -> Lakehouse:
    """Migrated here, file by file (elsewhere tests take a copy of a migrated one)."""
    MigrationRunner(empty_lakehouse).migrate()
    return empty_lakehouse


def delta_versions(lakehouse: Lakehouse) -> dict[str, int]:
    """Commits in each table's _delta_log: any write at all would add one."""
    root = Path(lakehouse.schema_location())
    return {d.name: len(list((d / "_delta_log").glob("*.json"))) for d in sorted(root.iterdir())}


def test_files_apply_in_order_and_are_recorded(lakehouse: Lakehouse):
    rows = lakehouse.read("schema_migrations").orderBy("version").collect()
    portable = [m for m in discover() if not m.databricks_only]
    assert [r["name"] for r in rows] == [m.name for m in portable]
    assert all(r["checksum"] == m.checksum for r, m in zip(rows, portable, strict=True))
    assert {r["engine"] for r in rows} == {"local"}


def test_migrate_twice_changes_nothing(lakehouse: Lakehouse):
    before = delta_versions(lakehouse)
    report = MigrationRunner(lakehouse).migrate()
    assert report.applied == []
    assert len(report.already_applied) == len([m for m in discover() if not m.databricks_only])
    assert report.skipped == [m.name for m in discover() if m.databricks_only]
    assert "090_keys_clustering.databricks.sql" in report.skipped
    assert delta_versions(lakehouse) == before


def test_changed_applied_file_is_refused(empty_lakehouse: Lakehouse, tmp_path: Path):
    ddl = tmp_path / "ddl"
    shutil.copytree(REPO / "ddl", ddl)
    MigrationRunner(empty_lakehouse, discover(ddl)).migrate()
    users = ddl / "010_users.sql"
    users.write_text(users.read_text().replace("Sign-in name", "Login name"))
    with pytest.raises(MigrationError, match=r"010_users.sql changed after it was applied"):
        MigrationRunner(empty_lakehouse, discover(ddl)).migrate()


def test_new_file_is_applied_on_the_next_run(empty_lakehouse: Lakehouse, tmp_path: Path):
    ddl = tmp_path / "ddl"
    shutil.copytree(REPO / "ddl", ddl)
    MigrationRunner(empty_lakehouse, discover(ddl)).migrate()
    (ddl / "999_notes.sql").write_text(
        "CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.notes (id BIGINT NOT NULL COMMENT 'key')\n"
        "USING DELTA COMMENT 'notes' ${location:notes};\n"
    )
    report = MigrationRunner(empty_lakehouse, discover(ddl)).migrate()
    assert report.applied == ["999_notes.sql"]
    assert empty_lakehouse.table_exists("notes")


def test_failed_statement_names_file_and_statement(empty_lakehouse: Lakehouse, tmp_path: Path):
    ddl = tmp_path / "ddl"
    ddl.mkdir()
    shutil.copy(REPO / "ddl" / "000_schema.sql", ddl)
    (ddl / "001_broken.sql").write_text("SELECT 1;\nSELECT * FROM no_such_table;\n")
    with pytest.raises(MigrationError, match=r"001_broken.sql, statement 2: .*no_such_table"):
        MigrationRunner(empty_lakehouse, discover(ddl)).migrate()
    versions = [r["version"] for r in empty_lakehouse.read("schema_migrations").collect()]
    assert versions == [0]


KINDS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ${catalog}.${schema}.kinds (kind STRING NOT NULL COMMENT 'kind')\n"
    "USING DELTA COMMENT 'kinds' ${location:kinds};\n"
    "ALTER TABLE ${catalog}.${schema}.kinds ADD CONSTRAINT kinds_known CHECK (kind IN ('a'));\n"
)
KINDS_WIDENED = (
    "ALTER TABLE ${catalog}.${schema}.kinds DROP CONSTRAINT IF EXISTS kinds_known;\n"
    "ALTER TABLE ${catalog}.${schema}.kinds ADD CONSTRAINT kinds_known CHECK (kind IN ('a', 'b'));\n"
)


def _kinds_ddl(tmp_path: Path, *files: str) -> Path:
    ddl = tmp_path / "ddl"
    ddl.mkdir(exist_ok=True)
    shutil.copy(REPO / "ddl" / "000_schema.sql", ddl)
    for number, text in zip((10, 20), files, strict=False):
        (ddl / f"{number:03d}_kinds.sql").write_text(text)
    return ddl


def test_a_constraint_a_later_file_replaces_ends_in_its_new_form(empty_lakehouse: Lakehouse, tmp_path: Path):
    report = MigrationRunner(
        empty_lakehouse, discover(_kinds_ddl(tmp_path, KINDS_TABLE, KINDS_WIDENED))
    ).migrate()
    assert report.applied == ["000_schema.sql", "010_kinds.sql", "020_kinds.sql"]
    table = empty_lakehouse.table_name("kinds")
    empty_lakehouse.execute(f"INSERT INTO {table} VALUES ('a'), ('b')")
    with pytest.raises(Exception, match="kinds_known"):
        empty_lakehouse.execute(f"INSERT INTO {table} VALUES ('c')")


def test_a_constraint_built_before_cannot_be_replaced_on_the_embedded_engine(
    empty_lakehouse: Lakehouse, tmp_path: Path
):
    MigrationRunner(empty_lakehouse, discover(_kinds_ddl(tmp_path, KINDS_TABLE))).migrate()
    (tmp_path / "ddl" / "020_kinds.sql").write_text(KINDS_WIDENED)
    with pytest.raises(MigrationError, match=r"020_kinds.sql, statement 1: .*cannot drop the CHECK constraint "
                       r"kinds_known.*--engine spark migrate"):  # fmt: skip
        MigrationRunner(empty_lakehouse, discover(tmp_path / "ddl")).migrate()


def test_badly_named_file_is_refused(tmp_path: Path):
    (tmp_path / "users.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        discover(tmp_path)


def test_split_statements_respects_quotes_and_comments():
    text = "-- a; comment\nSELECT 'a;b' AS x;\n\nSELECT `c;d` FROM t; -- trailing;\n"
    assert split_statements(text) == ["SELECT 'a;b' AS x", "SELECT `c;d` FROM t"]


def test_databricks_rendering_has_no_locations(lakehouse: Lakehouse):
    deals = next(m for m in discover() if m.name == "020_deals.sql")
    local = render(deals.statements[0], lakehouse)
    remote = render(deals.statements[0], lakehouse, for_databricks=True)
    assert f"LOCATION '{lakehouse.table_location('deals')}'" in local
    assert "LOCATION" not in remote
    assert f"`main`.`{lakehouse.target.schema}`.deals" in remote
    assert "${" not in remote


def test_every_file_uses_parameters_not_literal_names():
    for migration in discover():
        for statement in migration.statements:
            assert "deal_desk" not in statement, migration.name
            assert "main." not in statement, migration.name
