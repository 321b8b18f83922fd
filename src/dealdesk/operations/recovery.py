"""Backups, point-in-time restores and the record of both.

Two halves. The decisions (which tables, which version to go back to, which restore points to
keep) are plain Python over plain values and raise ``RecoveryError`` with one line naming the
field, the value and the rule. The engine work goes through ``Lakehouse`` and differs by engine in
one place each (docs/engines.md, "Backups and restores"):

- history: the table's ``_delta_log`` on the local engines (files under ``--home``; the embedded
  engine has no DESCRIBE HISTORY), DESCRIBE HISTORY on Databricks;
- backup copy: DEEP CLONE on Databricks (a re-run copies only what changed), a CTAS elsewhere
  (Delta Lake OSS has SHALLOW CLONE only, which shares the source's files: no backup);
- restore from history: RESTORE TABLE on Spark and Databricks, an INSERT OVERWRITE from
  ``VERSION AS OF`` on the embedded engine; from a backup, an INSERT OVERWRITE everywhere.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pyspark.sql import functions as F

from dealdesk.config import BACKUP_KEEP, BACKUP_SCHEMA_SUFFIX, NOT_RECOVERED, PIPELINE_LEASE
from dealdesk.errors import RecoveryError
from dealdesk.lakehouse.ddl import CREATE_TABLE, discover
from dealdesk.lakehouse.engine import validate_identifier
from dealdesk.lakehouse.gateway import DELETE_FLAG, Lakehouse

TargetKind = Literal["version", "timestamp", "backup"]
APPEND_ONLY = "'delta.appendOnly' = 'true'"
# VACUUM refuses a retention under 7 days unless a safety check is turned off; we never turn it off.
MIN_VACUUM_HOURS = 168


# -- plain values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """One version of a table: its number, commit time (naive UTC) and operation."""

    version: int
    timestamp: datetime
    operation: str = ""


@dataclass(frozen=True)
class BackupRecord:
    """One row of the backups table."""

    backup_id: str
    table_name: str
    source_version: int
    backup_version: int
    row_count: int = 0
    backed_up_at: datetime | None = None

    @classmethod
    def of_row(cls, row: Any, backed_up_at: datetime | None = None) -> BackupRecord:
        """From a row of the backups table (or one about to be written, timed ``backed_up_at``)."""
        return cls(
            row["backup_id"],
            row["table_name"],
            row["source_version"],
            row["backup_version"],
            row["row_count"],
            backed_up_at if backed_up_at is not None else row["backed_up_at"],
        )


@dataclass(frozen=True)
class RestoreRequest:
    """What to restore to: a version (one table), a timestamp, or a backup (None: the latest); which
    tables (``table``: that one only, else every recoverable table); whether the append-only audit
    tables may be rewritten (``include_audit``)."""

    kind: TargetKind
    value: str | None = None
    table: str | None = None
    include_audit: bool = False

    @property
    def shown(self) -> str:
        return self.value if self.value is not None else "latest"


@dataclass(frozen=True)
class TableRestore:
    """The plan for one table: its version now, the version whose data comes back, from where."""

    table: str
    current_version: int
    target_version: int
    backup_id: str | None = None
    backup_version: int | None = None
    audit: bool = False
    # A backup's version of a table that was dropped and created again since: same number, other data.
    recreated: bool = False

    @property
    def changes(self) -> bool:
        return self.recreated or self.current_version != self.target_version


# -- the decisions (pure) -----------------------------------------------------------------------------


@cache
def recoverable_tables() -> tuple[str, ...]:
    """Every table the portable DDL creates, but the ledger and recovery's own records."""
    tables = [t for m in discover() if not m.databricks_only for t in m.table_names]
    return tuple(sorted(t for t in tables if t not in NOT_RECOVERED))


@cache
def audit_tables() -> tuple[str, ...]:
    """The append-only audit tables: those the DDL creates with delta.appendOnly (one definition)."""
    found = []
    for migration in discover():
        for statement in migration.create_table_statements:
            if APPEND_ONLY in statement:
                found.append(CREATE_TABLE.match(statement)[1])  # type: ignore[index]  # matched above
    return tuple(sorted(found))


def commits_from_log(entries: Iterable[tuple[int, str]]) -> list[Commit]:
    """Commits from ``_delta_log`` files given as (version, text): each holds one commitInfo line.

    The log keeps only the versions still inside the table's log retention; older ones are gone.
    """
    commits = []
    for version, text in entries:
        info: dict[str, Any] = {}
        for line in text.splitlines():
            if line.strip():
                action = json.loads(line)
                if "commitInfo" in action:
                    info = action["commitInfo"]
                    break
        millis = info.get("inCommitTimestamp") or info.get("timestamp") or 0
        moment = datetime.fromtimestamp(millis / 1000, UTC).replace(tzinfo=None)
        commits.append(Commit(version, moment, str(info.get("operation", ""))))
    return sorted(commits, key=lambda c: c.version)


def log_configuration(log: Path) -> dict[str, str]:
    """The configuration of the latest metaData action of a Delta log folder."""
    for entry in sorted(log.glob("[0-9]*.json"), reverse=True):
        for line in reversed(entry.read_text().splitlines()):
            if '"metaData"' in line:
                return dict(json.loads(line)["metaData"].get("configuration") or {})
    checkpoints = sorted(log.glob("[0-9]*.checkpoint*.parquet"))
    if checkpoints:  # every later commit kept the metadata: it is in the last checkpoint
        import pyarrow.parquet as pq

        for row in pq.read_table(checkpoints[-1], columns=["metaData"]).column("metaData").to_pylist():
            if row:
                return dict(row.get("configuration") or {})
    return {}


def snapshot_folder(table_folder: Path, version: int, into: Path) -> Path:
    """A read-only view of a local Delta table as of ``version``, built in ``into``.

    The embedded engine cannot read ``VERSION AS OF`` a version older than the table's latest
    checkpoint ("Missing commit file"). This folder holds the log up to ``version`` only, and
    links to the table's data and deletion-vector files, so reading it gives that version.
    Nothing of the table is changed; the caller removes ``into``.
    """
    log = into / "_delta_log"
    log.mkdir(parents=True)
    for entry in table_folder.iterdir():
        if entry.name != "_delta_log":
            os.symlink(entry, into / entry.name)
    for entry in (table_folder / "_delta_log").iterdir():
        number = entry.name.split(".")[0]
        if (
            number.isdigit()
            and int(number) <= version
            and (".checkpoint" in entry.name or entry.suffix == ".json")
        ):
            shutil.copy2(entry, log / entry.name)
    return into


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset, or naive meaning UTC) as naive UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecoveryError(
            f"--timestamp '{text}' is not an ISO 8601 time (e.g. 2026-03-01T12:00:00Z)"
        ) from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def version_at(table: str, history: Sequence[Commit], moment: datetime) -> int:
    """The latest version committed at or before ``moment``."""
    if not history:
        raise RecoveryError(f"table {table} has no history to restore from")
    earlier = [c.version for c in history if c.timestamp <= moment]
    if not earlier:
        first = history[0]
        raise RecoveryError(
            f"--timestamp {moment.isoformat()}Z is before the history of table {table}: its first kept "
            f"version, {first.version}, was committed at {first.timestamp.isoformat()}Z"
        )
    return max(earlier)


def choose_backup(backups: Sequence[BackupRecord], backup_id: str | None) -> str:
    """The backup asked for, or the latest one."""
    ids = sorted({b.backup_id for b in backups})
    if not ids:
        raise RecoveryError("no backup is recorded in this lakehouse: run 'dealdesk backup' first")
    if backup_id is None:
        return ids[-1]
    if backup_id not in ids:
        raise RecoveryError(
            f"--backup {backup_id}: no such backup (kept: {', '.join(ids[-5:])}; see the backups table)"
        )
    return backup_id


def check_table(table: str, existing: Sequence[str]) -> str:
    """A table named with ``--table``: one of the lakehouse's, and not one recovery leaves alone."""
    if table in NOT_RECOVERED:
        raise RecoveryError(
            f"--table {table}: recovery never restores {', '.join(NOT_RECOVERED)} (the DDL ledger and "
            "the records of backups and restores)"
        )
    if table not in existing:
        raise RecoveryError(
            f"--table {table}: no such table in this lakehouse (tables: {', '.join(existing)})"
        )
    return table


def plan_restore(
    request: RestoreRequest,
    tables: Sequence[str],
    histories: dict[str, list[Commit]],
    backups: Sequence[BackupRecord] = (),
    *,
    audit: Sequence[str] = (),
    dry_run: bool = False,
) -> list[TableRestore]:
    """Per table, the version to go back to; refuses what cannot or may not be done.

    An audit table that would change is refused without ``include_audit``: its rows are the
    7-year record and a restore rewrites them (a dry run shows it and says so).
    """
    if request.kind == "version" and request.table is None:
        raise RecoveryError(
            "--version needs --table: every table has its own versions; for the whole schema give "
            "--timestamp or --backup"
        )
    plans = []
    chosen = choose_backup(backups, request.value) if request.kind == "backup" else None
    moment = parse_timestamp(request.value or "") if request.kind == "timestamp" else None
    for table in tables:
        history = histories.get(table) or []
        if not history:
            raise RecoveryError(f"table {table} has no history to restore from")
        current = history[-1].version
        backup_version = None
        recreated = False
        if request.kind == "version":
            try:
                target = int(request.value or "")
            except ValueError as exc:
                raise RecoveryError(f"--version '{request.value}' is not a whole number") from exc
            kept = [c.version for c in history]
            if target not in kept:
                raise RecoveryError(
                    f"--version {target}: table {table} has no such version (versions {kept[0]} to "
                    f"{kept[-1]} are kept)"
                )
        elif moment is not None:
            target = version_at(table, history, moment)
        else:
            record = next((b for b in backups if b.backup_id == chosen and b.table_name == table), None)
            if record is None:
                raise RecoveryError(f"--backup {chosen}: table {table} is not in that backup")
            target, backup_version = record.source_version, record.backup_version
            committed = next((c for c in history if c.version == target), None)
            recreated = committed is None or (
                record.backed_up_at is not None and committed.timestamp > record.backed_up_at
            )
        plans.append(
            TableRestore(
                table, current, target, chosen, backup_version, audit=table in audit, recreated=recreated
            )
        )
    refused = [p.table for p in plans if p.audit and p.changes]
    if refused and not request.include_audit and not dry_run:
        raise RecoveryError(
            f"restore of the append-only audit table{'s' if len(refused) > 1 else ''} {', '.join(refused)} "
            "refused: they are the 7-year audit record; add --include-audit to restore them"
        )
    return plans


def backup_id_at(moment: datetime) -> str:
    """A restore point's id: its UTC start time, sortable as text."""
    return moment.strftime("%Y%m%dT%H%M%S%fZ")


def to_prune(backups: Sequence[BackupRecord], keep: int) -> list[BackupRecord]:
    """The records of every restore point but the ``keep`` latest."""
    if keep < 1:
        raise RecoveryError(f"--keep {keep}: keep at least 1 restore point")
    kept = set(sorted({b.backup_id for b in backups})[-keep:])
    return [b for b in backups if b.backup_id not in kept]


def vacuum_retain_hours(kept: Sequence[BackupRecord], now: datetime) -> int:
    """VACUUM retention for the backup copies: the age of the oldest kept restore point, plus an hour,
    so every kept version stays readable; never under VACUUM's 7-day floor."""
    times = [b.backed_up_at for b in kept if b.backed_up_at is not None]
    if not times:
        return MIN_VACUUM_HOURS
    return max(MIN_VACUUM_HOURS, math.ceil((now - min(times)).total_seconds() / 3600) + 1)


def _read_version(plan: TableRestore) -> int:
    """The version to read: of the backup copy for a backup, else of the table itself."""
    return plan.backup_version if plan.backup_version is not None else plan.target_version


# -- engine work --------------------------------------------------------------------------------------


@dataclass
class BackupReport:
    backup_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class RestoreReport:
    restore_id: str
    request: RestoreRequest
    plans: list[TableRestore]
    rows_before: dict[str, int]
    rows_target: dict[str, int]
    dry_run: bool
    new_versions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "table": p.table,
                "current_version": p.current_version,
                "target_version": p.target_version,
                "source": f"backup {p.backup_id}" if p.backup_id else "history",
                "current_rows": self.rows_before.get(p.table),
                "target_rows": self.rows_target.get(p.table),
                "action": ("restored" if not self.dry_run else "would restore") if p.changes else "unchanged",
                "new_version": self.new_versions.get(p.table),
            }
            for p in self.plans
        ]


class Recovery:
    """Backups and restores of one lakehouse schema."""

    def __init__(self, lakehouse: Lakehouse) -> None:
        self.lakehouse = lakehouse
        self.target = lakehouse.target
        self.backup_schema = validate_identifier("backup schema", self.target.schema + BACKUP_SCHEMA_SUFFIX)

    # -- names and history
    def backup_name(self, table: str) -> str:
        return f"`{self.target.sql_catalog}`.`{self.backup_schema}`.`{validate_identifier('table', table)}`"

    def backup_location(self, table: str) -> Path:
        return self.target.warehouse / self.backup_schema / table

    def tables(self) -> list[str]:
        """The recoverable tables this lakehouse has."""
        existing = set(self.lakehouse.table_names())
        missing = [t for t in NOT_RECOVERED[1:] if t not in existing]
        if missing:
            raise RecoveryError(f"this lakehouse has no {missing[0]} table yet: run 'dealdesk migrate' first")
        return [t for t in recoverable_tables() if t in existing]

    def history(self, table: str, *, backup: bool = False) -> list[Commit]:
        if self.target.is_local:  # the Delta log is a folder under --home on these engines
            folder = self.backup_location(table) if backup else Path(self.lakehouse.table_location(table))
            files = sorted((folder / "_delta_log").glob("[0-9]*.json"))
            return commits_from_log((int(f.name.split(".")[0]), f.read_text()) for f in files)
        name = self.backup_name(table) if backup else self.lakehouse.table_name(table)
        rows = self.lakehouse.execute(f"DESCRIBE HISTORY {name}")
        return sorted(
            (Commit(int(r["version"]), r["timestamp"], r["operation"]) for r in rows), key=lambda c: c.version
        )

    def properties(self, table: str) -> dict[str, str]:
        """The table properties in force: from the Delta log locally (the embedded engine shows
        those of the statement that attached the table), SHOW TBLPROPERTIES elsewhere."""
        if self.target.engine == "local":
            return log_configuration(Path(self.lakehouse.table_location(table)) / "_delta_log")
        rows = self.lakehouse.execute(f"SHOW TBLPROPERTIES {self.lakehouse.table_name(table)}")
        return {r["key"]: r["value"] for r in rows}

    def backups(self) -> list[BackupRecord]:
        rows = self.lakehouse.collect(self.lakehouse.read("backups"))
        return [BackupRecord.of_row(r) for r in rows]

    def counts(self, sources: dict[str, str]) -> dict[str, int]:
        """Row counts of several relations in one query: {key: relation SQL}."""
        if not sources:
            return {}
        union = " UNION ALL ".join(
            f"SELECT '{key}' AS k, count(*) AS n FROM {relation}" for key, relation in sources.items()
        )
        return {r["k"]: int(r["n"]) for r in self.lakehouse.execute(union)}

    # -- backup
    def _prepare_backup_schema(self, tables: Sequence[str]) -> None:
        location = f" LOCATION '{self.target.warehouse / self.backup_schema}'" if self.target.is_local else ""
        self.lakehouse.execute(
            f"CREATE SCHEMA IF NOT EXISTS `{self.target.sql_catalog}`.`{self.backup_schema}`"
            f" COMMENT 'Backup copies of {self.target.schema}, written by dealdesk backup'{location}"
        )
        if self.target.is_local:  # the local catalogs live in memory: attach the copies made before
            for table in tables:
                if (self.backup_location(table) / "_delta_log").is_dir():
                    self.lakehouse.execute(
                        f"CREATE TABLE IF NOT EXISTS {self.backup_name(table)} USING DELTA "
                        f"LOCATION '{self.backup_location(table)}'"
                    )

    def backup(self, keep: int = BACKUP_KEEP, now: datetime | None = None) -> BackupReport:
        """Copy every recoverable table at one recorded version; keep the ``keep`` latest restore points."""
        started = datetime.now(UTC).replace(tzinfo=None)
        now = now or started
        to_prune([], keep)  # checks keep before anything is written
        tables = self.tables()
        # Versions first, copies after: each copy is of the version recorded here, whatever commits
        # while the copies run.
        versions = {t: self.history(t)[-1].version for t in tables}
        self._prepare_backup_schema(tables)
        report = BackupReport(backup_id_at(now))
        method = "DEEP CLONE" if not self.target.is_local else "CTAS"
        with self._relations({t: (t, False, versions[t]) for t in tables}) as sources:
            for table in tables:
                self._copy(table, sources[table], method)
        backup_versions = {t: self.history(t, backup=True)[-1].version for t in tables}
        with self._relations({t: (t, True, backup_versions[t]) for t in tables}) as copies:
            counts = self.counts(copies)
        finished = datetime.now(UTC).replace(tzinfo=None)
        report.rows = [
            {
                "backup_id": report.backup_id,
                "table_name": t,
                "source_version": versions[t],
                "backup_version": backup_versions[t],
                "row_count": counts[t],
                "engine": self.target.engine,
                "method": method,
                "backed_up_at": finished,
            }
            for t in tables
        ]
        new = [BackupRecord.of_row(r, finished) for r in report.rows]
        everything = [*self.backups(), *new]
        pruned = to_prune(everything, keep)
        report.pruned = sorted({b.backup_id for b in pruned})
        # One MERGE records the new restore point and forgets the pruned ones (only our own rows).
        source_rows = report.rows + [
            {
                "backup_id": b.backup_id,
                "table_name": b.table_name,
                "source_version": b.source_version,
                "backup_version": b.backup_version,
                "row_count": b.row_count,
                "engine": self.target.engine,
                "method": method,
                "backed_up_at": b.backed_up_at or finished,
            }
            for b in pruned
        ]
        columns = [c for c in report.rows[0] if c != DELETE_FLAG] if report.rows else []
        if source_rows:
            frame = self.lakehouse.frame("backups", source_rows, columns)
            # the pruned ids travel in the plan as a literal list, never in SQL text
            frame = frame.withColumn(DELETE_FLAG, F.col("backup_id").isin(report.pruned))
            self.lakehouse.merge(frame, "backups", ["backup_id", "table_name"], delete_flagged=True)
        if pruned and self.target.engine != "local":  # the embedded engine has no VACUUM
            kept = [b for b in everything if b not in pruned]
            hours = vacuum_retain_hours(kept, finished)
            for table in tables:
                self.lakehouse.execute(f"VACUUM {self.backup_name(table)} RETAIN {hours} HOURS")
        report.seconds = (datetime.now(UTC).replace(tzinfo=None) - started).total_seconds()
        return report

    def _copy(self, table: str, source: str, method: str) -> None:
        if method == "DEEP CLONE":  # incremental: a re-run copies only the files that changed
            self.lakehouse.execute(f"CREATE OR REPLACE TABLE {self.backup_name(table)} DEEP CLONE {source}")
        else:
            # Spark copies column DEFAULTs with the columns and then needs the table feature
            self.lakehouse.execute(
                f"CREATE OR REPLACE TABLE {self.backup_name(table)} USING DELTA "
                f"LOCATION '{self.backup_location(table)}' "
                "TBLPROPERTIES ('delta.feature.allowColumnDefaults' = 'supported') "
                f"AS SELECT * FROM {source}"
            )

    @contextmanager
    def _relations(self, wanted: dict[str, tuple[str, bool, int]]) -> Iterator[dict[str, str]]:
        """SQL relations of tables at versions, by key: (table, in the backup schema, version).

        ``VERSION AS OF`` where the engine reads it right; on the embedded engine a snapshot folder
        (``snapshot_folder``), removed on leaving."""
        if self.target.engine != "local":
            yield {
                key: f"{self.backup_name(t) if in_backup else self.lakehouse.table_name(t)} VERSION AS OF {v}"
                for key, (t, in_backup, v) in wanted.items()
            }
            return
        with tempfile.TemporaryDirectory(prefix="dealdesk-snapshot-") as tmp:
            relations = {}
            for number, (key, (t, in_backup, v)) in enumerate(wanted.items()):
                folder = self.backup_location(t) if in_backup else Path(self.lakehouse.table_location(t))
                relations[key] = f"delta.`{snapshot_folder(folder, v, Path(tmp) / str(number))}`"
            yield relations

    # -- restore
    def plan(self, request: RestoreRequest, dry_run: bool = False) -> list[TableRestore]:
        existing = self.tables()
        tables = [check_table(request.table, existing)] if request.table else existing
        backups = self.backups() if request.kind == "backup" else []
        histories = {t: self.history(t) for t in tables}
        return plan_restore(
            request,
            tables,
            histories,
            backups,
            audit=audit_tables(),
            dry_run=dry_run,
        )

    def restore(self, request: RestoreRequest, *, dry_run: bool = False) -> RestoreReport:
        """Put one table, or every recoverable table, back to a version, a time or a backup.

        The data of each changed table is replaced by the data at the target; its constraints and
        properties stay. Every table restored is recorded in ``restores`` (one append at the end).
        """
        started = datetime.now(UTC).replace(tzinfo=None)
        plans = self.plan(request, dry_run)
        if request.kind == "backup":
            self._prepare_backup_schema([p.table for p in plans])
        wanted = {p.table: (p.table, p.backup_id is not None, _read_version(p)) for p in plans}
        with self._relations(wanted) as sources:
            report = self._restore_all(request, plans, sources, dry_run)
        report.seconds = (datetime.now(UTC).replace(tzinfo=None) - started).total_seconds()
        return report

    def _restore_all(
        self, request: RestoreRequest, plans: list[TableRestore], sources: dict[str, str], dry_run: bool
    ) -> RestoreReport:
        changed = [p for p in plans if p.changes]
        counts = self.counts(
            {
                **{f"now:{p.table}": self.lakehouse.table_name(p.table) for p in plans},
                **{f"target:{p.table}": sources[p.table] for p in plans},
            }
        )
        report = RestoreReport(
            restore_id=uuid.uuid4().hex,
            request=request,
            plans=plans,
            rows_before={p.table: counts[f"now:{p.table}"] for p in plans},
            rows_target={p.table: counts[f"target:{p.table}"] for p in plans},
            dry_run=dry_run,
        )
        if dry_run:
            return report
        who = self._who()
        records = []
        try:
            for plan in changed:
                self._restore_one(plan, sources[plan.table])
                report.new_versions[plan.table] = self.history(plan.table)[-1].version
                records.append(
                    {
                        "restore_id": report.restore_id,
                        "table_name": plan.table,
                        "restored_from_version": plan.current_version,
                        "restored_to_version": plan.target_version,
                        "new_version": report.new_versions[plan.table],
                        "target_kind": request.kind,
                        "target": request.value or (plan.backup_id or ""),
                        "backup_id": plan.backup_id,
                        "rows_before": report.rows_before[plan.table],
                        "rows_after": report.rows_target[plan.table],
                        "restored_by": who,
                        "engine": self.target.engine,
                        "restored_at": datetime.now(UTC).replace(tzinfo=None),
                    }
                )
        finally:  # what was restored is recorded even when a later table fails
            if records:
                self.lakehouse.append(self.lakehouse.frame("restores", records), "restores")
                self._unsettle(report.restore_id)
        return report

    def _unsettle(self, restore_id: str) -> None:
        """Leave the processing lease with this restore, given back at once: the next run sees a
        last holder that is no succeeded run, so it looks for unfinished journals and undecided
        lines again instead of trusting that the last run left none."""
        now = datetime.now(UTC).replace(tzinfo=None)
        row = [
            {"name": PIPELINE_LEASE, "owner": f"restore-{restore_id}", "acquired_at": now, "expires_at": now}
        ]
        self.lakehouse.merge(self.lakehouse.frame("run_lock", row), "run_lock", ["name"],
                             update_columns=["owner", "acquired_at", "expires_at"])  # fmt: skip

    def _restore_one(self, plan: TableRestore, source: str) -> None:
        name = self.lakehouse.table_name(plan.table)
        if plan.audit:  # an append-only table refuses the removes a restore commits
            self.lakehouse.execute(f"ALTER TABLE {name} SET TBLPROPERTIES ('delta.appendOnly' = 'false')")
        try:
            if plan.backup_id is None and self.target.engine != "local":
                self.lakehouse.execute(f"RESTORE TABLE {name} TO VERSION AS OF {plan.target_version}")
            else:  # the embedded engine has no RESTORE; a backup is another table
                self.lakehouse.execute(f"INSERT OVERWRITE {name} SELECT * FROM {source}")
        finally:
            if plan.audit:
                self.lakehouse.execute(f"ALTER TABLE {name} SET TBLPROPERTIES ('delta.appendOnly' = 'true')")

    def _who(self) -> str:
        if self.target.is_local:
            return getpass.getuser()
        return str(self.lakehouse.execute("SELECT current_user() AS who")[0]["who"])
