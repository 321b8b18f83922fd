"""The ``serving`` subcommand: the local serving database the app reads (url, stop, sync, rebuild)."""

from __future__ import annotations

import argparse
import json

from dealdesk.cli.common import open_to_read, target_of
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.postgres import LocalServer
from dealdesk.pipeline import read_models
from dealdesk.pipeline.journal import utc_now
from dealdesk.pipeline.serve import SyncReport, database_of, open_serving, sync

EXAMPLES = """examples:
  dealdesk --home .dealdesk/demo serving url        # start the home's PostgreSQL, print the app's URL
  psql "$(dealdesk --home .dealdesk/demo serving url)" -c "SET dealdesk.user_email = 'admin@example.com'" \\
       -c "SELECT reference_number, status FROM app.deals"
  dealdesk --home .dealdesk/demo serving stop"""


def _described(report: SyncReport) -> str:
    copied = ", ".join(f"{table} {n:,}" for table, n in report.rows.items() if n) or "nothing new"
    return f"synced: {copied}"


def cmd_serving(args: argparse.Namespace) -> int:
    target = target_of(args)
    if not target.is_local:
        raise DealDeskError(
            "serving: on Databricks the app reads Lakebase synced tables (docs/serving-databricks.md); "
            "this command runs a home's local PostgreSQL"
        )
    if args.action == "stop":
        stopped = LocalServer(target.home).stop()
        print("serving database stopped" if stopped else "serving database was not running")
        return 0
    lakehouse = open_to_read(args)
    if args.action == "rebuild":
        read_models.rebuild(lakehouse, utc_now())
    server = open_serving(lakehouse)
    owner = server.url("postgres", database=database_of(lakehouse))
    report = sync(lakehouse, owner)
    if args.action == "url":
        print(server.url(database=database_of(lakehouse)))
        return 0
    if args.format == "json":
        print(json.dumps({"rows": report.rows, "url": server.url(database=database_of(lakehouse))}))
    else:
        print(_described(report))
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``serving`` on the ``dealdesk`` parser."""
    serving = commands.add_parser(
        "serving",
        help="the app's serving database (a local PostgreSQL for the home): url, stop, sync, rebuild",
        description=(
            "The app's read models in a real PostgreSQL (schema app: deals, approval_queue, deal_history, "
            "document_outcomes, people), kept up to date by every run once the home has one. "
            "url: start it (made the first time), bring it up to date, print the app's connection URL; "
            "stop: stop it; sync: bring it up to date now; rebuild: write the read models whole from the "
            "tables (a lakehouse older than them), then sync."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serving.add_argument("action", choices=("url", "stop", "sync", "rebuild"))
    serving.add_argument("--format", choices=("text", "json"), default="text")
    serving.set_defaults(func=cmd_serving)
