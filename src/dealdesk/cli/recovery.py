"""The ``backup`` and ``restore`` subcommands: parse, call ``dealdesk.operations.recovery``, print."""

from __future__ import annotations

import argparse

from dealdesk.cli.common import add_command, open_to_read
from dealdesk.cli.output import TEXT, render
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


def _print_records(records: list[dict], fmt: str) -> None:
    """Records as json (one object per line) or csv (a header, one record per line)."""
    text = render(list(records[0]) if records else [], [list(r.values()) for r in records], fmt)
    if text:
        print(text)


def cmd_backup(args: argparse.Namespace) -> int:
    """a restore point: every table at one recorded version

    Examples:
        dealdesk backup
        dealdesk backup --keep 14 --format json
    """
    recovery = Recovery(open_to_read(args))
    report = recovery.backup(keep=args.keep)
    if args.format not in TEXT:  # one record per table, the pruned restore points on each
        records = [{**row, "pruned": report.pruned} for row in report.rows]
        _print_records(records, args.format)
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
    scope = {"table": args.table, "include_audit": args.include_audit}
    given = [(kind, value) for kind in ("version", "timestamp", "backup") if (value := getattr(args, kind))]
    if len(given) > 1:
        raise RecoveryError("give one of --version, --timestamp and --backup")
    if not given:
        return RestoreRequest("backup", None, **scope)  # no target: the latest backup
    kind, value = given[0]
    return RestoreRequest(kind, None if kind == "backup" and value == "latest" else value, **scope)


def cmd_restore(args: argparse.Namespace) -> int:
    """put a table, or every table, back to a version, a time or a backup (default: latest backup)

    Examples:
        dealdesk restore --dry-run                                    # what the latest backup would change
        dealdesk restore --table deals --version 41
        dealdesk restore --timestamp 2026-03-10T08:00:00Z --include-audit --dry-run --format json
        dealdesk restore --backup latest --include-audit
    """
    request = restore_request(args)
    recovery = Recovery(open_to_read(args))
    report = recovery.restore(request, dry_run=args.dry_run)
    rows = report.rows()
    if args.format not in TEXT:
        _print_records(
            [{**row, "restore_id": report.restore_id, "dry_run": report.dry_run} for row in rows], args.format
        )
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
    """OPTIMIZE and VACUUM (Spark and Databricks)

    Examples:
        dealdesk --engine spark maintain
        dealdesk maintain --engine databricks --table deals
    """
    report = maintain(open_to_read(args), args.table)
    for table in report.tables:
        print(f"optimized and vacuumed {table} in {report.seconds[table]:.1f} s")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``backup``, ``restore`` and ``maintain`` on the ``dealdesk`` parser."""
    backup = add_command(commands, cmd_backup, prints=True)
    backup.add_argument(
        "--keep",
        type=int,
        default=BACKUP_KEEP,
        help=f"restore points to keep; older ones recorded by backup are pruned (default {BACKUP_KEEP})",
    )

    restore = add_command(commands, cmd_restore, prints=True)
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

    maintain_ = add_command(commands, cmd_maintain)
    maintain_.add_argument("--table", help="this table only (default: every table)")
