"""Intake's subcommands of ``dealdesk``: ingest, rejects, replay, sync-users.

Thin entry points: parse the options, open the lakehouse, call a job, print its summary.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import functions as F

from dealdesk.cli import common
from dealdesk.cli.output import TEXT, render, render_runs
from dealdesk.config import load_rules
from dealdesk.errors import DealDeskError
from dealdesk.pipeline.directory import sync_users
from dealdesk.pipeline.ingest import ingest_landing, replay
from dealdesk.pipeline.runs import JobRun


def print_run(run: JobRun, fmt: str = "text") -> None:
    """A run's summary: one readable line, or one JSON object (json)."""
    print(render_runs([run.summary()], fmt), flush=True)


def parse_since(text: str) -> datetime:
    """A date or ISO-8601 time; UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DealDeskError(f"--since '{text}' is not a date (YYYY-MM-DD) or an ISO-8601 time") from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def describe_reasons(reasons_json: str | None) -> str:
    """The stored reasons (JSON text) as one readable line: field rule: message (value)."""
    parts = []
    for reason in json.loads(reasons_json or "[]"):
        value = reason.get("value")
        shown = f" (got {value!r})" if value is not None else ""
        parts.append(f"{reason.get('field')} [{reason.get('rule')}]: {reason.get('message')}{shown}")
    return "; ".join(parts)


def cmd_ingest(args: argparse.Namespace) -> int:
    """take new files: keep every line, validate, MERGE, reject with reasons

    Examples:
        dealdesk ingest --landing landing
        dealdesk ingest --landing landing --format json
    """
    landing = common.landing_folder(args.landing)
    run = ingest_landing(common.open_to_write(args), landing, load_rules(args.rules))
    print_run(run, args.format)
    return common.unreadable_files_status([run])


def cmd_rejects(args: argparse.Namespace) -> int:
    """rejected documents and why

    Examples:
        dealdesk rejects                                   # those no replay has accepted
        dealdesk rejects --since 2026-03-01 --format csv
        dealdesk rejects --all --format json               # with the reasons as JSON
    """
    lakehouse = common.open_to_read(args, only={"rejected_documents"})
    rejected = lakehouse.read("rejected_documents")
    if not args.all:
        rejected = rejected.filter(F.col("replayed_at").isNull())
    if args.since:
        rejected = rejected.filter(F.col("rejected_at") >= F.lit(parse_since(args.since)))
    rows = lakehouse.rows(rejected.orderBy("rejected_at", "source_file", "line_number"))
    columns = ["event_id", "kind", "source", "rejected_at", "replayed_at", "reasons"]
    table = [
        (
            r["event_id"],
            r["kind"],
            f"{Path(r['source_file']).name}:{r['line_number']}" if r["source_file"] else None,
            r["rejected_at"],
            r["replayed_at"],
            describe_reasons(r["reasons"]) if args.format in TEXT else json.loads(r["reasons"]),
        )
        for r in rows
    ]
    text = render(columns, table, args.format)
    if text:
        print(text)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """re-process rejects once the data they lacked arrived

    Examples:
        dealdesk rejects                                        # their event_id first
        dealdesk replay 6513270e-269e-0d37-f2a7-4de452e6b438   # one of them, once its data arrived
        dealdesk replay 6513270e-269e-0d37-f2a7-4de452e6b438 d23f0824-128b-2f33-0c5c-7fd0a6a3a450 --format json
    """
    print_run(replay(common.open_to_write(args), list(args.event_ids), load_rules(args.rules)), args.format)
    return 0


def cmd_sync_users(args: argparse.Namespace) -> int:
    """merge users from the Databricks workspace directory (groups give the role)

    Examples:
        dealdesk sync-users --engine databricks --profile DEFAULT
        dealdesk sync-users --group-prefix acme-dealdesk- --format json
    """
    lakehouse, rules = common.open_to_write(args), load_rules(args.rules)
    run = sync_users(lakehouse, group_prefix=args.group_prefix, profile=args.profile, rules=rules)
    print_run(run, args.format)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the intake subcommands on the ``dealdesk`` parser."""
    ingest = common.add_command(commands, cmd_ingest, prints=True, notes=common.ONE_JOB)
    ingest.add_argument("--landing", required=True, help="folder of JSON Lines files from the app")

    rejects = common.add_command(commands, cmd_rejects, prints=True)
    rejects.add_argument("--since", help="only those rejected at or after this date or time (UTC)")
    rejects.add_argument("--all", action="store_true", help="include documents a replay has accepted")

    again = common.add_command(commands, cmd_replay, prints=True, notes=common.ONE_JOB)
    again.add_argument("event_ids", nargs="+", metavar="EVENT_ID", help="event ids from `dealdesk rejects`")

    sync = common.add_command(commands, cmd_sync_users, prints=True)
    sync.add_argument(
        "--group-prefix",
        default="dealdesk-",
        help="prefix of the groups that carry roles (default dealdesk-)",
    )
