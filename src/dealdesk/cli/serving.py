"""The ``serving`` subcommand: the local serving database the app reads (url, stop, sync, rebuild)."""

from __future__ import annotations

import argparse

from dealdesk.cli.common import add_parser, open_to_read, target_of
from dealdesk.cli.output import TEXT, render
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.postgres import LocalServer
from dealdesk.pipeline import read_models
from dealdesk.pipeline.journal import utc_now
from dealdesk.pipeline.serve import SyncReport, database_of, open_serving, sync

URL_EXAMPLES = [
    "dealdesk --home .dealdesk/demo serving url        # start the home's PostgreSQL, print the app's URL",
    """psql "$(dealdesk --home .dealdesk/demo serving url)" -c "SET dealdesk.user_email = 'admin@example.com'" \\""",
    '     -c "SELECT reference_number, status FROM app.deals"',
]
ACTIONS = {  # each action of serving: its one-line summary and examples
    "url": (
        "start the home's serving database (made the first time), bring it up to date, "
        "print the app's connection URL",
        [*URL_EXAMPLES, "dealdesk serving url --format json"],
    ),
    "stop": ("stop the home's serving database", ["dealdesk --home .dealdesk/demo serving stop"]),
    "sync": (
        "bring the serving database up to date now",
        ["dealdesk serving sync", "dealdesk serving sync --format json"],
    ),
    "rebuild": (
        "write the app's read models whole from the tables (a lakehouse older than them), then sync",
        ["dealdesk serving rebuild --home .dealdesk/demo"],
    ),
}


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
    url = server.url(database=database_of(lakehouse))
    if args.action == "url":
        print(url if args.format in TEXT else render(["url"], [[url]], args.format))
    elif args.format in TEXT:
        print(_described(report))
    else:
        print(render(["rows", "url"], [[report.rows, url]], args.format))
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``serving`` and its actions (``serving url``, ...) on the ``dealdesk`` parser."""
    serving = add_parser(
        commands,
        "serving",
        "the app's serving database (a local PostgreSQL for the home): url, stop, sync, rebuild",
        [*URL_EXAMPLES, "dealdesk --home .dealdesk/demo serving stop"],
        description=(
            "The app's read models in a real PostgreSQL (schema app: deals, approval_queue, deal_history, "
            "document_outcomes, people), kept up to date by every run once the home has one."
        ),
        func=cmd_serving,
    )
    actions = serving.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (summary, examples) in ACTIONS.items():
        add_parser(actions, name, summary, examples, prints=name != "stop")
