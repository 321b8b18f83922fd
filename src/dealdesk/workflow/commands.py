"""The workflow's subcommands of ``dealdesk``: route, decide, monitor, run, preview; and the demo days.

Thin entry points: parse the options, open the lakehouse, call a job, print its summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from dealdesk.config import BusinessRules, load_rules
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse import Lakehouse
from dealdesk.output import render
from dealdesk.runs import JobRun
from dealdesk.workflow import jobs
from dealdesk.workflow.preview import BadLine, describe, load_submissions, preview_route, render_preview

LATEST_EVENT = jobs.LATEST_EVENT


def parse_as_of(text: str | None) -> datetime | str | None:
    """An ISO-8601 time (UTC when it has no zone), 'latest-event', or None for now."""
    if text is None or text == LATEST_EVENT:
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DealDeskError(f"--as-of '{text}' is not an ISO-8601 time or '{LATEST_EVENT}'") from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def resolve_as_of(lakehouse: Lakehouse, as_of: datetime | str | None) -> datetime | str | None:
    """The run resolves 'latest-event' itself, after landing its own documents."""
    return as_of


def print_runs(runs: list[JobRun]) -> None:
    for run in runs:
        print(
            f"{run.job:<8} {json.dumps({k: v for k, v in run.summary().items() if k not in ('run_id', 'job')})}"
        )


def _rules(args: argparse.Namespace) -> BusinessRules:
    return load_rules(getattr(args, "rules", None))


def _open(args: argparse.Namespace) -> Lakehouse:
    from dealdesk.cli import open_lakehouse, target_of

    return open_lakehouse(target_of(args))


def cmd_route(args: argparse.Namespace) -> int:
    print_runs([jobs.route_deals(_open(args), _rules(args))])
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    print_runs([jobs.decide_pending(_open(args), _rules(args))])
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    lakehouse = _open(args)
    print_runs(
        [jobs.monitor_deals(lakehouse, _rules(args), resolve_as_of(lakehouse, parse_as_of(args.as_of)))]
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    landing = Path(args.landing)
    if not landing.is_dir():
        raise DealDeskError(f"landing folder {landing} does not exist")
    print_runs(jobs.run_pipeline(_open(args), landing, _rules(args), parse_as_of(args.as_of)))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Preview every submission of the file; report the lines that are not usable submissions by
    their line number. Exit status 1 when any line was bad or there was no submission."""
    path = Path(args.file)
    found = load_submissions(path)
    bad: list[BadLine] = list(found.bad_lines)
    if found.documents:
        lakehouse, rules = _open(args), _rules(args)
        several = len(found.documents) > 1 or bool(bad)
        for number, document in found.documents:
            try:
                preview = render_preview(preview_route(lakehouse, document, rules))
            except DealDeskError as exc:
                bad.append(BadLine(number, str(exc)))
                continue
            print(f"== {describe(number, document)}\n{preview}\n" if several else preview, flush=True)
    for line in sorted(bad, key=lambda b: b.line_number):
        print(f"{path}: line {line.line_number}: {line.reason}", file=sys.stderr)
    if not found.documents and not bad:
        raise DealDeskError(f"{path} holds no deal_submission document")
    previewed = len(found.documents) - (len(bad) - len(found.bad_lines))
    if bad:
        print(f"{previewed} submission(s) previewed, {len(bad)} bad line(s)", file=sys.stderr)
    return 1 if bad else 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the workflow subcommands on the ``dealdesk`` parser."""
    as_of_help = (
        f"business 'now' for monitoring: ISO-8601 time, or '{LATEST_EVENT}' (default: the current time)"
    )
    commands.add_parser(
        "route", help="route submitted and resubmitted deals to their approvers"
    ).set_defaults(func=cmd_route)
    commands.add_parser("decide", help="apply landed approval actions and status changes").set_defaults(
        func=cmd_decide
    )
    monitor = commands.add_parser(
        "monitor", help="escalate overdue approvals, flag deals, close expired drafts"
    )
    monitor.add_argument("--as-of", help=as_of_help)
    monitor.set_defaults(func=cmd_monitor)
    run = commands.add_parser("run", help="ingest a landing folder, then route, decide and monitor")
    run.add_argument("--landing", required=True, help="folder of JSON Lines files from the app")
    run.add_argument("--as-of", help=as_of_help)
    run.set_defaults(func=cmd_run)
    preview = commands.add_parser("preview", help="show the departments and approvers a submission would get")
    preview.add_argument(
        "file", help="a deal_submission document (JSON), or a JSON Lines file: every submission in it"
    )
    preview.set_defaults(func=cmd_preview)


# -- the demo --------------------------------------------------------------------------------------


def sample_days() -> list[Path]:
    """The sample landing folders day01, day02, ... shipped with the package."""
    root = Path(str(resources.files("dealdesk") / "sample_data" / "landing"))
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("day"))


def run_demo_days(lakehouse: Lakehouse, home: Path, rules: BusinessRules) -> None:
    """Drop each sample day into <home>/landing in turn and run the pipeline after each,
    monitoring as of that day's latest event."""
    landing = home / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    for day in sample_days():
        shutil.copytree(day, landing / day.name, dirs_exist_ok=True)
        print(f"\n== {day.name}", flush=True)
        print_runs(jobs.run_pipeline(lakehouse, landing, rules, LATEST_EVENT))


def status_summary(lakehouse: Lakehouse) -> str:
    rows = lakehouse.sql(
        f"SELECT status, count(*) AS deals, round(sum(deal_value), 2) AS deal_value, "
        f"sum(CASE WHEN flow_intelligence = 'needs_attention' THEN 1 ELSE 0 END) AS needs_attention "
        f"FROM {lakehouse.table_name('deals')} GROUP BY status ORDER BY status"
    ).collect()
    return render(["status", "deals", "deal_value", "needs_attention"], [tuple(r) for r in rows])
