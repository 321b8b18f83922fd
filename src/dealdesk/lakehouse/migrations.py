"""The migration runner: applies the numbered SQL files of ddl/ in order.

- A file is applied once; its version and checksum go to ``schema_migrations``.
- An applied file that changed since is refused: add a new numbered file instead.
- ``*.databricks.sql`` files hold Unity-Catalog-only statements and run only there.
- The local engine keeps its catalog in memory, so every local start re-attaches
  the tables (the CREATE statements of the applied files, which are idempotent).
- The reporting views of ``ddl/views/`` are not migrations: one ``NNN_<view>.sql``
  file per view, re-created in file order after every attach and migrate (replacing
  a view is cheap, and the local catalog forgets views at every restart).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dealdesk.errors import MigrationError
from dealdesk.lakehouse.ddl import (
    ADD_CHECK,
    CREATE_TABLE,
    DROP_CHECK,
    LEDGER,
    PARAMETER_KEYS,
    PLACEHOLDER,
    PRINCIPAL,
    Migration,
    ViewDefinition,
    discover,
    discover_views,
    table_names,
    validate_parameters,
)
from dealdesk.lakehouse.gateway import Lakehouse


def render(
    statement: str,
    lakehouse: Lakehouse,
    *,
    for_databricks: bool | None = None,
    parameters: Mapping[str, str] | None = None,
) -> str:
    """Fill ${catalog}, ${schema}, ${schema_location}, ${location:table} and the DDL parameters.

    Locations are given only on the local engine; Unity Catalog manages its tables.
    ``${param:NAME}`` becomes a back-quoted principal (GRANT ... TO), ``${param_string:NAME}``
    a string literal (is_account_group_member); values were validated, so neither can hold a quote.
    """
    local = lakehouse.target.is_local if for_databricks is None else not for_databricks

    def substitute(match: re.Match[str]) -> str:
        key, arg = match[1], match[2]
        if key == "catalog":  # the name SQL uses: spark_catalog on Spark (docs/engines.md)
            return f"`{lakehouse.target.catalog if for_databricks else lakehouse.target.sql_catalog}`"
        if key == "schema":
            return f"`{lakehouse.target.schema}`"
        if key == "schema_location":
            return f"LOCATION '{lakehouse.schema_location()}'" if local else ""
        if key == "location" and arg:
            return f"LOCATION '{lakehouse.table_location(arg)}'" if local else ""
        if key in PARAMETER_KEYS and arg:
            value = (parameters or {}).get(arg)
            if value is None:
                raise MigrationError(f"DDL parameter '{arg}' is not set: pass --param {arg}=VALUE")
            validate_parameters({arg: value})
            return f"`{value}`" if key == "param" else f"'{value}'"
        raise MigrationError(f"unknown placeholder {match[0]}")

    return PLACEHOLDER.sub(substitute, statement)


@dataclass
class MigrationReport:
    applied: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class MigrationRunner:
    def __init__(
        self,
        lakehouse: Lakehouse,
        migrations: list[Migration] | None = None,
        views: list[ViewDefinition] | None = None,
        analysts_group: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        """``views`` default to ddl/views/ with the default migrations, to none with a custom list.

        ``analysts_group``: on Databricks, the group granted SELECT on every view.
        ``parameters``: values of ${param:NAME} in DDL (principal names of the Databricks-only files).
        """
        self.lakehouse = lakehouse
        self.migrations = migrations if migrations is not None else discover()
        if not self.migrations or self.migrations[0].version != 0:
            raise MigrationError("the first DDL file must be 000_*.sql (schema and ledger)")
        self.views = views if views is not None else ([] if migrations is not None else discover_views())
        if analysts_group is not None and not PRINCIPAL.match(analysts_group):
            raise MigrationError(f"analysts group '{analysts_group}' is not a valid group name")
        self.analysts_group = analysts_group
        self.parameters = validate_parameters(parameters or {})

    def _applies_here(self, migration: Migration) -> bool:
        return not (migration.databricks_only and self.lakehouse.target.is_local)

    def _bootstrap(self) -> None:
        for statement in self.migrations[0].statements:
            self.lakehouse.execute(render(statement, self.lakehouse))

    def applied_checksums(self) -> dict[int, tuple[str, str]]:
        rows = self.lakehouse.collect(self.lakehouse.read(LEDGER).select("version", "name", "checksum"))
        return {row["version"]: (row["name"], row["checksum"]) for row in rows}

    def _verify_unchanged(self, applied: dict[int, tuple[str, str]]) -> None:
        by_version = {m.version: m for m in self.migrations}
        for version, (name, checksum) in sorted(applied.items()):
            migration = by_version.get(version)
            if migration is None:
                raise MigrationError(f"{name} was applied but is missing from ddl/")
            if migration.checksum != checksum:
                raise MigrationError(
                    f"{migration.name} changed after it was applied (checksum {checksum[:12]} is now "
                    f"{migration.checksum[:12]}); put the change in a new numbered file"
                )

    def attach(self, only: Collection[str] | None = None) -> dict[int, tuple[str, str]]:
        """Register the schema and the applied tables in this session (local catalogs are in memory).

        ``only``: the tables and views to register (see ``names_used``), for a command that reads
        a few of them; None: every one."""
        self._bootstrap()
        applied = self.applied_checksums()
        self._verify_unchanged(applied)
        if self.lakehouse.target.is_local:
            for migration in self.migrations[1:]:
                if migration.version in applied:
                    for statement in migration.create_table_statements:
                        if only is None or CREATE_TABLE.match(statement)[1] in only:  # type: ignore[index]
                            self._reattach(statement)
        if all(m.version in applied for m in self.migrations if self._applies_here(m)):
            self.create_views(only)  # a schema with pending files gets its views after migrate
        return applied

    def _reattach(self, statement: str) -> None:
        """Register an applied table from its Delta log: data, constraints and defaults come back.

        On Spark without a column list: Spark refuses a CREATE whose columns have DEFAULTs over an
        existing table (DELTA_CREATE_TABLE_SCHEME_MISMATCH), and the log holds the schema anyway.
        The embedded engine takes the full statement. A table whose folder is gone is created
        anew from the full statement.
        """
        table = CREATE_TABLE.match(statement)[1]  # type: ignore[index]  # create_table_statements matched it
        location = self.lakehouse.table_location(table)
        # the embedded engine takes the full statement over an existing table and then shows the
        # columns' comments and the table's properties; attached without columns it shows neither
        if self.lakehouse.target.engine != "local" and (Path(location) / "_delta_log").is_dir():
            name = self.lakehouse.table_name(table)
            self.lakehouse.execute(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{location}'")
        else:
            self.lakehouse.execute(render(statement, self.lakehouse))

    def pending(self) -> list[Migration]:
        applied = self.attach()
        return [m for m in self.migrations if m.version not in applied and self._applies_here(m)]

    def migrate(self) -> MigrationReport:
        report = MigrationReport()
        applied = self.attach()
        pending = [m for m in self.migrations if m.version not in applied and self._applies_here(m)]
        # a constraint a later pending file replaces is not added first (the embedded engine
        # cannot drop a constraint; every engine ends with the same one)
        replaced = {
            (match[1].lower(), match[2].lower()): m.version
            for m in pending
            for statement in m.statements
            if (match := DROP_CHECK.match(statement))
        }
        never_added: set[tuple[str, str]] = set()
        for migration in self.migrations:
            if migration.version in applied:
                report.already_applied.append(migration.name)
            elif not self._applies_here(migration):
                report.skipped.append(migration.name)
            else:
                self._apply(migration, replaced, never_added)
                report.applied.append(migration.name)
        if report.applied:
            if self.lakehouse.target.engine == "local":
                self._register_again()
            self.create_views()
        return report

    def _register_again(self) -> None:
        """Register the schema's tables anew from their Delta logs.

        The embedded engine keeps the catalog entry a table got when it was created in this
        process, and every later MERGE into a table whose constraints were added since pays
        seconds for it (measured: 5-10 s instead of 0.1-0.3 s). Dropping the entry of a
        table with a LOCATION removes the name from the in-memory catalog only (the files
        stay; the next start attaches them again in the same way), and attaching it again
        reads the current log."""
        for migration in self.migrations[1:]:
            for table in migration.table_names:
                self.lakehouse.execute(f"DROP TABLE IF EXISTS {self.lakehouse.table_name(table)}")
        self.attach()

    def create_views(self, only: Collection[str] | None = None) -> None:
        """(Re-)create every reporting view in file order (``only``: those named); on Databricks
        grant them to the analysts."""
        for view in self.views:
            if only is not None and view.name not in only:
                continue
            try:
                self.lakehouse.execute(render(view.statement, self.lakehouse))
                if self.analysts_group and not self.lakehouse.target.is_local:
                    self.lakehouse.execute(grant_select(self.lakehouse, view.name, self.analysts_group))
            except Exception as exc:
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise MigrationError(f"views/{view.file_name}: {first_line}") from exc

    def _apply(
        self,
        migration: Migration,
        replaced: Mapping[tuple[str, str], int] | None = None,
        never_added: set[tuple[str, str]] | None = None,
    ) -> None:
        """Run a file's statements. ``replaced``: constraints a pending file drops and adds anew
        (by version), whose earlier ADD is left out and recorded in ``never_added``."""
        missing = sorted(migration.parameter_names - self.parameters.keys())
        if missing:
            flags = " ".join(f"--param {name}=VALUE" for name in missing)
            raise MigrationError(f"{migration.name} needs DDL parameters {', '.join(missing)}: pass {flags}")
        replaced, never_added = replaced or {}, never_added if never_added is not None else set()
        plan: list[tuple[int, str]] = []  # the statements to run, checked before the first runs
        for number, statement in enumerate(migration.statements, start=1):
            added, dropped = ADD_CHECK.match(statement), DROP_CHECK.match(statement)
            named = added or dropped
            key = (named[1].lower(), named[2].lower()) if named else ("", "")
            if added and replaced.get(key, 0) > migration.version:
                never_added.add(key)
                continue
            if dropped and key in never_added:
                continue  # nothing to drop: its earlier ADD was left out
            if dropped and self.lakehouse.target.engine == "local":
                raise MigrationError(
                    f"{migration.name}, statement {number}: the embedded engine cannot drop the CHECK "
                    f"constraint {dropped[2]} this lakehouse was built with; migrate it once with the "
                    "Spark engine (--engine spark migrate, same --home), or build it anew"
                )
            plan.append((number, statement))
        for number, statement in plan:
            try:
                self.lakehouse.execute(render(statement, self.lakehouse, parameters=self.parameters))
            except Exception as exc:
                if ADD_CHECK.match(statement) and "already exists" in str(exc):
                    continue  # re-run after a partial failure: the constraint is already in the Delta log
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise MigrationError(f"{migration.name}, statement {number}: {first_line}") from exc
        self._record(migration)

    def _record(self, migration: Migration) -> None:
        row = [
            (
                migration.version,
                migration.name,
                migration.checksum,
                self.lakehouse.target.engine,
                len(migration.statements),
                datetime.now(UTC).replace(tzinfo=None),
            )
        ]
        schema = (
            "version INT, name STRING, checksum STRING, engine STRING, statements INT, applied_at TIMESTAMP"
        )
        source = self.lakehouse.spark.createDataFrame(row, schema)
        self.lakehouse.merge(source, LEDGER, ["version"])


def names_used(text: str) -> set[str] | None:
    """The tables and views ``text`` (a query) names, with those the named views read, in turn;
    None when it names none (``SHOW TABLES``, a misspelt name): then everything is attached."""
    statements = {view.name: view.statement for view in discover_views()}
    known = table_names() | set(statements)

    def named(sql: str) -> set[str]:
        return {word for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()) if word in known}

    found, todo = set(), named(text)
    if not todo:
        return None
    while todo:
        name = todo.pop()
        found.add(name)
        todo |= named(statements.get(name, "")) - found
    return found


def grant_select(lakehouse: Lakehouse, view: str, group: str) -> str:
    """Unity Catalog grant of one view to a group (views are table securables there)."""
    if not PRINCIPAL.match(group):
        raise MigrationError(f"analysts group '{group}' is not a valid group name")
    return f"GRANT SELECT ON TABLE {lakehouse.table_name(view)} TO `{group}`"
