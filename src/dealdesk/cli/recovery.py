"""The ``backup`` and ``restore`` subcommands: parse, call ``dealdesk.operations.recovery``, print."""

from __future__ import annotations

import argparse
import json

from dealdesk.cli.common import open_to_read
from dealdesk.cli.output import render
from dealdesk.config import BACKUP_KEEP
from dealdesk.errors import RecoveryError
from dealdesk.operations.maintenance import maintain
from dealdesk.operations.recovery import Recovery, RestoreRequest

RESTORE_COLUMNS = [
    "table",
    "current_version",
    "target_version",
    "source",
    "current_rows",
    "target_rows",
    "action",
    "new_version",
]


def cmd_backup(args: argparse.Namespace) -> int:
    recovery = Recovery(open_to_read(args))
    report = recovery.backup(keep=args.keep)
    if args.format == "json":
        for row in report.rows:
            print(
                json.dumps({**row, "backed_up_at": row["backed_up_at"].isoformat(), "pruned": report.pruned})
            )
        return 0
    print(
        render(
            ["table", "source_version", "backup_version", "rows"],
            [
                (r["table_name"], r["source_version"], r["backup_version"], r["row_count"])
                for r in report.rows
            ],
        )
    )
    pruned = f"; pruned {', '.join(report.pruned)}" if report.pruned else ""
    print(
        f"backup {report.backup_id}: {len(report.rows)} tables copied into {recovery.backup_schema} "
        f"in {report.seconds:.1f} s (keeping the last {args.keep} restore points{pruned})"
    )
    return 0


def restore_request(args: argparse.Namespace) -> RestoreRequest:
    given = [(kind, value) for kind in ("version", "timestamp", "backup") if (value := getattr(args, kind))]
    if len(given) > 1:
        raise RecoveryError("give one of --version, --timestamp and --backup")
    if not given:
        return RestoreRequest("backup", None)  # no target: the latest backup
    kind, value = given[0]
    return RestoreRequest(kind, None if kind == "backup" and value == "latest" else value)


def cmd_restore(args: argparse.Namespace) -> int:
    request = restore_request(args)
    recovery = Recovery(open_to_read(args))
    report = recovery.restore(request, args.table, include_audit=args.include_audit, dry_run=args.dry_run)
    rows = report.rows()
    if args.format == "json":
        for row in rows:
            print(json.dumps({**row, "restore_id": report.restore_id, "dry_run": report.dry_run}))
        return 0
    print(render(RESTORE_COLUMNS, [[row[c] for c in RESTORE_COLUMNS] for row in rows]))
    changed = sum(1 for p in report.plans if p.changes)
    if report.dry_run:
        print(f"dry run: {changed} of {len(rows)} tables would be restored to {request.kind} {request.shown}")
    else:
        print(
            f"restored {changed} of {len(rows)} tables to {request.kind} {request.shown} in "
            f"{report.seconds:.1f} s (restore {report.restore_id}, recorded in the restores table)"
        )
    return 0


def cmd_maintain(args: argparse.Namespace) -> int:
    report = maintain(open_to_read(args), args.table)
    for table in report.tables:
        print(f"optimized and vacuumed {table} in {report.seconds[table]:.1f} s")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``backup`` and ``restore`` on the ``dealdesk`` parser."""
    backup = commands.add_parser("backup", help="a restore point: every table at one recorded version")
    backup.add_argument(
        "--keep",
        type=int,
        default=BACKUP_KEEP,
        help=f"restore points to keep; older ones recorded by backup are pruned (default {BACKUP_KEEP})",
    )
    backup.add_argument("--format", choices=("text", "json"), default="text")
    backup.set_defaults(func=cmd_backup)

    restore = commands.add_parser(
        "restore",
        help="put a table, or every table, back to a version, a time or a backup (default: latest backup)",
    )
    restore.add_argument("--table", help="restore this table only (default: every table)")
    restore.add_argument("--version", help="a Delta version of --table")
    restore.add_argument("--timestamp", help="a time (ISO 8601, UTC unless an offset is given)")
    restore.add_argument("--backup", help="a backup id from the backups table, or 'latest'")
    restore.add_argument(
        "--include-audit",
        action="store_true",
        help="allow restoring the append-only audit tables (approval_actions, deal_status_history, ...)",
    )
    restore.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    restore.add_argument("--format", choices=("text", "json"), default="text")
    restore.set_defaults(func=cmd_restore)

    maintain_ = commands.add_parser(
        "maintain",
        help="OPTIMIZE and VACUUM (Spark and Databricks)",
    )
    maintain_.add_argument("--table", help="this table only (default: every table)")
    maintain_.set_defaults(func=cmd_maintain)
