"""Table maintenance: OPTIMIZE (compact small files) and VACUUM (remove files no version needs).

VACUUM is given no RETAIN: each table's ``delta.deletedFileRetentionDuration`` applies, which is
7 years (``AUDIT_RETENTION_DAYS``) on the append-only audit tables and Delta's default (7 days)
elsewhere, where the backups keep the older restore points. The embedded engine has neither
statement (docs/engines.md): its files stay until a Spark or Databricks engine runs this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dealdesk.errors import RecoveryError
from dealdesk.lakehouse.gateway import Lakehouse


def maintenance_statements(lakehouse: Lakehouse, tables: list[str]) -> list[str]:
    """OPTIMIZE then VACUUM, table by table."""
    statements = []
    for table in tables:
        name = lakehouse.table_name(table)
        statements += [f"OPTIMIZE {name}", f"VACUUM {name}"]
    return statements


@dataclass
class MaintenanceReport:
    tables: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def maintain(lakehouse: Lakehouse, table: str | None = None) -> MaintenanceReport:
    """Compact and vacuum every table of the schema (or one)."""
    if lakehouse.target.engine == "local":
        raise RecoveryError(
            "maintain: the embedded engine has no OPTIMIZE or VACUUM; run it with --engine spark "
            "(the same folder) or on Databricks"
        )
    existing = lakehouse.table_names()
    if table is not None and table not in existing:
        raise RecoveryError(
            f"--table {table}: no such table in this lakehouse (tables: {', '.join(existing)})"
        )
    report = MaintenanceReport(tables=[table] if table else existing)
    for name in report.tables:
        started = time.perf_counter()
        for statement in maintenance_statements(lakehouse, [name]):
            lakehouse.execute(statement)
        report.seconds[name] = round(time.perf_counter() - started, 2)
    return report
