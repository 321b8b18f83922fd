"""Backups, restores and the recovery drill.

The decisions (which version, which backup, what is refused) are pure and tested without an
engine. The drill runs once per engine: a run with a wrong rules file writes bad results, the
engine under test backs up before it and restores to the versions before it, and the same run
with the right rules then equals a clean run. Yesterday's run and the clean reference are made
by the embedded engine (setting the scene); the backup, the bad run, the restore (RESTORE TABLE
on Spark) and the corrected run run on the engine under test. `make test` runs the drill on the
embedded engine; on Spark (minutes of statements) it runs, with maintenance, in
`make test-exhaustive` (engine conformance proves RESTORE, OPTIMIZE and VACUUM on Spark in both).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality

from dealdesk.cli.main import main, open_lakehouse
from dealdesk.cli.workflow import sample_days
from dealdesk.config import AUDIT_RETENTION_DAYS, BusinessRules
from dealdesk.errors import RecoveryError
from dealdesk.lakehouse.ddl import discover
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.maintenance import maintain
from dealdesk.operations.recovery import (
    BackupRecord,
    Commit,
    Recovery,
    RestoreRequest,
    audit_tables,
    check_table,
    commits_from_log,
    plan_restore,
    recoverable_tables,
    to_prune,
    vacuum_retain_hours,
    version_at,
)
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from tests.conftest import copy_of
from tests.test_reliability import BOOKKEEPING, PROCESSING_COLUMNS, WRITTEN_AT_COLUMNS

RULES = BusinessRules()
# The wrong rules file of the drill: every deal needs the highest approval level.
WRONG_RULES = replace(RULES, ladder={"manager": 1, "director": 2, "vp": 3, "svp": 4})
T0 = datetime(2026, 3, 1, 12, 0, 0)


def history(*minutes: int) -> list[Commit]:
    return [Commit(v, T0 + timedelta(minutes=m), "WRITE") for v, m in enumerate(minutes)]


# -- the decisions, pure -------------------------------------------------------------------------


def test_audit_tables_come_from_the_append_only_property_of_the_ddl():
    assert audit_tables() == (
        "approval_actions",
        "approval_fingerprints",
        "deal_status_history",
        "landed_files",
        "notifications",
        "raw_documents",
        "restores",
    )
    assert "restores" not in recoverable_tables() and "backups" not in recoverable_tables()
    assert "schema_migrations" not in recoverable_tables() and "deals" in recoverable_tables()


def test_every_audit_table_keeps_seven_years_of_history_in_its_ddl():
    # The DDL as Databricks gets it too: CREATE TABLE properties, and the ALTER of 082.
    text = "\n".join(m.text for m in discover())
    for table in audit_tables():
        statements = [s for m in discover() for s in m.statements if f".{table} " in s or f".{table}\n" in s]
        joined = "\n".join(statements)
        for key in ("delta.logRetentionDuration", "delta.deletedFileRetentionDuration"):
            assert f"'{key}' = 'interval {AUDIT_RETENTION_DAYS} days'" in joined, (table, key)
    assert AUDIT_RETENTION_DAYS >= 7 * 365 + 1 and "interval 30 days" not in text


def test_commits_are_read_from_the_delta_log():
    lines = [
        (0, '{"protocol":{}}\n{"commitInfo":{"timestamp":1772366400000,"operation":"CREATE TABLE"}}\n'),
        (
            1,
            '{"commitInfo":{"timestamp":1772366460000,"operation":"MERGE","inCommitTimestamp":1772366470000}}',
        ),
    ]
    assert commits_from_log(reversed(lines)) == [
        Commit(0, datetime(2026, 3, 1, 12, 0, 0), "CREATE TABLE"),
        Commit(1, datetime(2026, 3, 1, 12, 1, 10), "MERGE"),
    ]


def test_a_timestamp_resolves_to_the_last_version_committed_by_then():
    commits = history(0, 5, 10)
    assert version_at("deals", commits, T0 + timedelta(minutes=7)) == 1
    assert version_at("deals", commits, T0 + timedelta(minutes=10)) == 2
    with pytest.raises(
        RecoveryError, match=r"--timestamp 2026-03-01T11:59:00Z is before the history of table deals"
    ):
        version_at("deals", commits, T0 - timedelta(minutes=1))


def test_whole_schema_plan_from_a_timestamp_refuses_changed_audit_tables_without_the_flag():
    histories = {"deals": history(0, 5, 10), "approval_actions": history(0, 8), "users": history(0)}
    request = RestoreRequest("timestamp", "2026-03-01T12:06:00Z")
    tables = ["approval_actions", "deals", "users"]
    with pytest.raises(
        RecoveryError, match=r"append-only audit table approval_actions refused.*--include-audit"
    ):
        plan_restore(request, tables, histories, audit=["approval_actions"])
    included = replace(request, include_audit=True)
    plans = plan_restore(included, tables, histories, audit=["approval_actions"])
    assert [(p.table, p.current_version, p.target_version, p.changes) for p in plans] == [
        ("approval_actions", 1, 0, True),
        ("deals", 2, 1, True),
        ("users", 0, 0, False),
    ]
    dry = plan_restore(request, tables, histories, audit=["approval_actions"], dry_run=True)
    assert [p.target_version for p in dry] == [0, 1, 0]


def test_an_audit_table_that_would_not_change_needs_no_flag():
    plans = plan_restore(
        RestoreRequest("timestamp", "2026-03-01T13:00:00Z"),
        ["raw_documents"],
        {"raw_documents": history(0, 1)},
        audit=["raw_documents"],
    )
    assert [p.changes for p in plans] == [False]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            RestoreRequest("version", "9", "deals"),
            r"--version 9: table deals has no such version \(versions 0 to 2",
        ),
        (RestoreRequest("version", "x", "deals"), r"--version 'x' is not a whole number"),
        (RestoreRequest("version", "1"), r"--version needs --table"),
        (RestoreRequest("timestamp", "yesterday"), r"--timestamp 'yesterday' is not an ISO 8601 time"),
        (
            RestoreRequest("backup", "20990101T000000000000Z"),
            r"--backup 20990101T000000000000Z: no such backup",
        ),
    ],
)
def test_bad_targets_get_one_line_naming_the_value(request_: RestoreRequest, message: str):
    backups = [BackupRecord("20260301T120000000000Z", "deals", 1, 0)]
    with pytest.raises(RecoveryError, match=message):
        plan_restore(request_, ["deals"], {"deals": history(0, 5, 10)}, backups)


def test_backups_pick_the_latest_and_name_tables_missing_from_them():
    backups = [
        BackupRecord("20260301T120000000000Z", "deals", 1, 0),
        BackupRecord("20260302T120000000000Z", "deals", 2, 1),
    ]
    plans = plan_restore(RestoreRequest("backup"), ["deals"], {"deals": history(0, 5, 10)}, backups)
    assert [(p.backup_id, p.target_version, p.backup_version) for p in plans] == [
        ("20260302T120000000000Z", 2, 1)
    ]
    with pytest.raises(RecoveryError, match="table users is not in that backup"):
        plan_restore(RestoreRequest("backup"), ["users"], {"users": history(0)}, backups)
    with pytest.raises(
        RecoveryError, match=r"no backup is recorded in this lakehouse: run 'dealdesk backup'"
    ):
        plan_restore(RestoreRequest("backup"), ["users"], {"users": history(0)}, [])


def test_a_table_created_again_since_its_backup_is_restored_even_at_the_same_version_number():
    backups = [BackupRecord("20260301T120000000000Z", "deals", 1, 0, 5, T0 + timedelta(minutes=3))]
    same = plan_restore(RestoreRequest("backup"), ["deals"], {"deals": history(0, 1)}, backups)
    assert [p.changes for p in same] == [False]  # version 1 was committed before the backup
    dropped = plan_restore(RestoreRequest("backup"), ["deals"], {"deals": history(10, 11)}, backups)
    assert [(p.current_version, p.target_version, p.changes) for p in dropped] == [(1, 1, True)]


def test_unknown_and_unrecoverable_tables_are_refused():
    with pytest.raises(
        RecoveryError, match=r"--table dealz: no such table in this lakehouse \(tables: deals, users\)"
    ):
        check_table("dealz", ["deals", "users"])
    with pytest.raises(RecoveryError, match="--table restores: recovery never restores"):
        check_table("restores", ["deals", "restores"])


def test_pruning_keeps_the_last_n_restore_points_and_vacuum_keeps_them_readable():
    backups = [
        BackupRecord(f"2026030{day}T000000000000Z", table, 1, day, 5, datetime(2026, 3, day))
        for day in range(1, 6)
        for table in ("deals", "users")
    ]
    pruned = to_prune(backups, 3)
    assert sorted({b.backup_id for b in pruned}) == ["20260301T000000000000Z", "20260302T000000000000Z"]
    assert len(pruned) == 4
    with pytest.raises(RecoveryError, match="--keep 0: keep at least 1"):
        to_prune(backups, 0)
    kept = [b for b in backups if b not in pruned]
    assert vacuum_retain_hours(kept, datetime(2026, 3, 13)) == 10 * 24 + 1  # oldest kept: 3 March
    assert vacuum_retain_hours(kept, datetime(2026, 3, 6)) == 168  # never under VACUUM's floor


# -- the drill, per engine -----------------------------------------------------------------------


def business_frames(lakehouse: Lakehouse) -> dict[str, object]:
    """Every recoverable table without processing-time columns and the runs' bookkeeping."""
    frames = {}
    for table in recoverable_tables():
        if table in BOOKKEEPING:
            continue
        frame = lakehouse.read(table)
        skip = PROCESSING_COLUMNS | WRITTEN_AT_COLUMNS.get(table, set())
        frames[table] = frame.select(*[c for c in frame.columns if c not in skip])
    return frames


def assert_same_business_tables(actual: Lakehouse, expected: Lakehouse) -> None:
    got, want = business_frames(actual), business_frames(expected)
    assert sorted(got) == sorted(want)
    for table in want:
        # column comments are metadata the engines report differently; the rows and types must match
        assert_df_equality(
            got[table], want[table], ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
        )


def differing_tables(actual: Lakehouse, expected: Lakehouse) -> list[str]:
    got, want = business_frames(actual), business_frames(expected)
    return sorted(
        t
        for t in want
        if sorted(map(tuple, got[t].collect()), key=repr) != sorted(map(tuple, want[t].collect()), key=repr)
    )


@pytest.fixture(scope="module")
def drill(engine: str, lakehouse_home: Path, prepared_schema: str, tmp_path_factory: pytest.TempPathFactory):
    """Yesterday's run, then a backup and a bad run; a clean run of the same day beside it."""
    days = sample_days()[:2]
    landing = tmp_path_factory.mktemp(f"drill_landing_{engine}")
    shutil.copytree(days[0], landing / days[0].name)
    base = copy_of(lakehouse_home, prepared_schema, "drill")
    run_pipeline(base, landing, RULES, LATEST_EVENT)
    clean = copy_of(lakehouse_home, base.target.schema, "clean")
    shutil.copytree(days[1], landing / days[1].name)
    run_pipeline(clean, landing, RULES, LATEST_EVENT)

    # The engine under test opens the same folder (Spark: its own server, tables re-attached).
    target = Target(engine=engine, catalog="main", schema=base.target.schema, home=lakehouse_home)  # type: ignore[arg-type]
    tested = open_lakehouse(target)
    recovery = Recovery(tested)
    backup = recovery.backup(keep=2)
    before_bad = datetime.now(UTC).replace(tzinfo=None)
    run_pipeline(tested, landing, WRONG_RULES, LATEST_EVENT)  # the bad run, on the engine under test
    return {
        "engine": engine,
        "landing": landing,
        "base": base,
        "clean": clean,
        "tested": tested,
        "recovery": recovery,
        "backup": backup,
        "before_bad": before_bad,
    }


def cli(drill: dict, *args: str) -> int:
    lakehouse: Lakehouse = drill["tested"]
    home = str(lakehouse.target.home)
    return main(["--engine", drill["engine"], "--home", home, "--schema", lakehouse.target.schema, *args])


@pytest.mark.conformance(exhaustive_on=["spark"])
def test_recovery_drill(drill: dict, capsys: pytest.CaptureFixture[str]):
    clean, recovery = drill["clean"], drill["recovery"]
    assert {"deal_approvals", "approval_actions"} <= set(
        differing_tables(drill["tested"], clean)
    )  # the bad run did harm
    assert len(drill["backup"].rows) == len(recovery.tables())
    moment = drill["before_bad"].isoformat() + "Z"

    # A restore that would rewrite the audit trail needs the explicit flag.
    with pytest.raises(RecoveryError, match=r"append-only audit tables .*add --include-audit"):
        recovery.restore(RestoreRequest("timestamp", moment))

    # The dry run shows, per table, the versions and row counts, and changes nothing.
    assert cli(drill, "restore", "--timestamp", moment, "--dry-run", "--format", "json") == 0
    shown = {row["table"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(shown) == set(recovery.tables())
    backup_rows = {r["table_name"]: r["row_count"] for r in drill["backup"].rows}
    assert {
        t: row["target_rows"] for t, row in shown.items()
    } == backup_rows  # the backup is of the same moment
    assert shown["deal_approvals"]["action"] == "would restore" and shown["users"]["action"] == "unchanged"
    assert all(row["dry_run"] and row["new_version"] is None for row in shown.values())
    assert recovery.plan(RestoreRequest("timestamp", moment, include_audit=True))[0].changes is not None

    report = recovery.restore(RestoreRequest("timestamp", moment, include_audit=True))
    restored = {p.table for p in report.plans if p.changes}
    assert {"deal_approvals", "approval_actions", "raw_documents", "landed_files"} <= restored
    records = recovery.lakehouse.read("restores").collect()
    assert {r["table_name"] for r in records} == restored
    assert all(
        r["restored_to_version"] < r["restored_from_version"] < r["new_version"]
        and r["target_kind"] == "timestamp"
        for r in records
    )
    # The audit tables are append-only again after their restore.
    assert recovery.properties("approval_actions")["delta.appendOnly"] == "true"

    # The same day with the right rules now ends exactly like the clean run.
    run_pipeline(drill["tested"], drill["landing"], RULES, LATEST_EVENT)
    assert_same_business_tables(drill["tested"], clean)

    # A restore from the backup (taken before the bad run) would bring the same rows back.
    from_backup = recovery.restore(RestoreRequest("backup", include_audit=True), dry_run=True)
    assert from_backup.rows_target == backup_rows
    assert {row["source"] for row in from_backup.rows()} == {f"backup {drill['backup'].backup_id}"}


@pytest.mark.conformance(exhaustive_on=["spark"])
def test_audit_retention_in_force_is_seven_years(drill: dict):
    recovery: Recovery = drill["recovery"]
    for table in audit_tables():
        properties = recovery.properties(table)  # Spark: SHOW TBLPROPERTIES; embedded: the Delta log
        assert properties.get("delta.appendOnly") == "true", table
        for key in ("delta.logRetentionDuration", "delta.deletedFileRetentionDuration"):
            assert properties.get(key) == f"interval {AUDIT_RETENTION_DAYS} days", (table, key)
    # a table that is not audit keeps Delta's defaults: its history is what backups are for
    assert "delta.logRetentionDuration" not in recovery.properties("deals")


# -- the commands, on the embedded engine ----------------------------------------------------------


def test_backup_and_restore_commands_on_one_table(
    fresh_lakehouse: Lakehouse, capsys: pytest.CaptureFixture[str]
):
    lakehouse = fresh_lakehouse
    base = ["--home", str(lakehouse.target.home), "--schema", lakehouse.target.schema]
    users = lakehouse.table_name("users")
    columns = "id, username, email, role, department, approval_level, first_name, last_name, external_id, source_event_id"
    insert = f"INSERT INTO {users} ({columns}) VALUES ({{0}}, 'u{{0}}', 'u{{0}}@example.com', 'seller', {', '.join(['NULL'] * 6)})"
    lakehouse.sql(insert.format(1)).collect()
    assert main([*base, "backup", "--keep", "2"]) == 0
    first = capsys.readouterr().out
    assert "tables copied into" in first and "keeping the last 2 restore points" in first
    lakehouse.sql(insert.format(2)).collect()
    for _ in range(2):
        assert main([*base, "backup", "--keep", "2"]) == 0
    assert "pruned" in capsys.readouterr().out
    recorded = lakehouse.read("backups").where("table_name = 'users'").orderBy("backup_id").collect()
    assert [r["row_count"] for r in recorded] == [2, 2]  # the first restore point was pruned

    lakehouse.sql(insert.format(3)).collect()
    version = Recovery(lakehouse).history("users")[-2].version
    assert main([*base, "restore", "--table", "users", "--version", str(version), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert (
        "dry run: 1 of 1 tables would be restored to version" in dry and lakehouse.read("users").count() == 3
    )
    assert main([*base, "restore", "--table", "users", "--version", str(version)]) == 0
    assert sorted(r["id"] for r in lakehouse.read("users").collect()) == [1, 2]
    assert main([*base, "restore", "--table", "users", "--backup", "latest"]) == 0
    assert sorted(r["id"] for r in lakehouse.read("users").collect()) == [1, 2]

    # Bad input: one line each.
    for args, message in [
        (["--table", "dealz"], "error: --table dealz: no such table in this lakehouse"),
        (["--table", "users", "--version", "999"], "error: --version 999: table users has no such version"),
        (
            ["--timestamp", "2001-01-01T00:00:00Z"],
            "error: --timestamp 2001-01-01T00:00:00Z is before the history",
        ),
        (
            ["--table", "approval_actions", "--timestamp", "2001-01-01"],
            "is before the history of table approval_actions",
        ),
        (
            ["--table", "approval_actions", "--version", "0"],
            "error: restore of the append-only audit table approval_actions refused",
        ),
        (
            ["--table", "users", "--version", "1", "--backup", "latest"],
            "error: give one of --version, --timestamp",
        ),
    ]:
        assert main([*base, "restore", *args]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


@pytest.mark.conformance(engines=["spark"])
@pytest.mark.exhaustive  # with the drill on Spark: make test-exhaustive
def test_maintenance_compacts_and_vacuums_and_keeps_the_oldest_version_readable(drill: dict):
    lakehouse: Lakehouse = drill["tested"]
    for table in ("approval_actions", "deal_approvals"):  # an audit table (7 years kept) and another
        name = lakehouse.table_name(table)
        rows, files = (
            lakehouse.read(table).count(),
            lakehouse.sql(f"DESCRIBE DETAIL {name}").first()["numFiles"],
        )
        assert files > 1  # several runs wrote it: something to compact
        assert maintain(lakehouse, table).tables == [table]
        assert lakehouse.sql(f"DESCRIBE DETAIL {name}").first()["numFiles"] == 1
        assert lakehouse.read(table).count() == rows
        # VACUUM kept what the retention keeps: the table's first version still reads
        assert lakehouse.sql(f"SELECT count(*) AS n FROM {name} VERSION AS OF 0").first()["n"] >= 0
