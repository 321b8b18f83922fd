"""The workflow's subcommands of ``dealdesk``: route, decide, monitor, run, preview; and the demo days.

Thin entry points: parse the options, open the lakehouse, call a job, print its summary.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from dealdesk.cli import common
from dealdesk.cli.output import render, render_runs
from dealdesk.config import BusinessRules, load_rules
from dealdesk.core.routing import STAGE_DEPARTMENT_REVIEW
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline import jobs
from dealdesk.pipeline.preview import BadLine, RoutePreview, describe, load_submissions, preview_route
from dealdesk.pipeline.runs import JobRun

LATEST_EVENT = jobs.LATEST_EVENT
# Monitoring as of the wall clock on data older than this marks everything overdue: say so.
STALE_BUSINESS_CLOCK = timedelta(days=30)


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


def print_runs(runs: list[JobRun], fmt: str = "text") -> None:
    """The summaries of the runs: one readable line per step, or one JSON object per step (json)."""
    text = render_runs([run.summary() for run in runs], fmt)
    if text:
        print(text, flush=True)


def stale_clock_hint(latest: datetime | None, now: datetime) -> str | None:
    """A hint when monitoring ran as of ``now`` but the latest business time landed is much older."""
    if latest is None or now - latest <= STALE_BUSINESS_CLOCK:
        return None
    return (
        f"hint: monitoring ran as of now ({now:%Y-%m-%d}), but the latest business time landed is "
        f"{latest:%Y-%m-%d} ({(now - latest).days} days earlier), so open approvals look overdue; "
        f"to monitor as of the data, pass --as-of {LATEST_EVENT}"
    )


def _hint_if_stale(lakehouse: Lakehouse, as_of: datetime | str | None) -> None:
    if as_of is None:
        hint = stale_clock_hint(jobs.business_clock(lakehouse), jobs.utc_now())
        if hint:
            print(hint, file=sys.stderr)


def _rules(args: argparse.Namespace) -> BusinessRules:
    return load_rules(getattr(args, "rules", None))


def cmd_route(args: argparse.Namespace) -> int:
    """apply documents still pending (a run cut short before its journal)

    Examples:
        dealdesk route
        dealdesk route --home .dealdesk/demo --format json
    """
    print_runs([jobs.route_deals(common.open_to_write(args), _rules(args))], args.format)
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """the same as route: kept for the deployed jobs and scripts that name the old steps

    Examples:
        dealdesk decide
        dealdesk decide --format json
    """
    print_runs([jobs.decide_pending(common.open_to_write(args), _rules(args))], args.format)
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """let drafts expire and approvals escalate as of a time; flow_intelligence

    Examples:
        dealdesk monitor                                  # as of now
        dealdesk monitor --as-of latest-event             # as of the latest business time landed
        dealdesk monitor --as-of 2026-03-10T12:00:00Z --format json
    """
    as_of = parse_as_of(args.as_of)
    lakehouse = common.open_to_write(args)
    print_runs([jobs.monitor_deals(lakehouse, _rules(args), resolve_as_of(lakehouse, as_of))], args.format)
    _hint_if_stale(lakehouse, as_of)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """take new files and apply every document in order: what the scheduled job runs

    Examples:
        dealdesk run --landing landing
        dealdesk run --landing backlog --as-of latest-event -v    # a backlog: progress on stderr
        dealdesk run --landing landing --format json
    """
    landing, as_of = common.landing_folder(args.landing), parse_as_of(args.as_of)
    lakehouse = common.open_to_write(args)
    runs = jobs.run_pipeline(lakehouse, landing, _rules(args), as_of)
    print_runs(runs, args.format)
    _hint_if_stale(lakehouse, as_of)
    return common.unreadable_files_status(runs)


def cmd_preview(args: argparse.Namespace) -> int:
    """departments, approval level and likely assignees, before submitting

    Examples:
        dealdesk preview submission.json
        dealdesk preview submissions.jsonl   # every submission in it
    """
    # Preview every submission of the file; report the lines that are not usable submissions by
    # their line number. Exit status 1 when any line was bad or there was no submission.
    path = Path(args.file)
    found = load_submissions(path)
    bad: list[BadLine] = list(found.bad_lines)
    if found.documents:
        lakehouse, rules = common.open_to_read(args), _rules(args)
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
    common.add_command(commands, cmd_route, prints=True, notes=common.ONE_JOB)
    common.add_command(commands, cmd_decide, prints=True, notes=common.ONE_JOB)
    monitor = common.add_command(commands, cmd_monitor, prints=True, notes=common.ONE_JOB)
    monitor.add_argument("--as-of", help=as_of_help)
    run = common.add_command(commands, cmd_run, prints=True, notes=common.ONE_JOB)
    run.add_argument("--landing", required=True, help="folder of JSON Lines files from the app")
    run.add_argument("--as-of", help=as_of_help)
    preview = common.add_command(commands, cmd_preview)
    preview.add_argument(
        "file", help="a deal_submission document (JSON), or a JSON Lines file: every submission in it"
    )


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
    rows = lakehouse.rows(
        lakehouse.sql(
            f"SELECT status, count(*) AS deals, round(sum(deal_value), 2) AS deal_value, "
            f"sum(CASE WHEN flow_intelligence = 'needs_attention' THEN 1 ELSE 0 END) AS needs_attention "
            f"FROM {lakehouse.table_name('deals')} GROUP BY status ORDER BY status"
        )
    )
    return render(["status", "deals", "deal_value", "needs_attention"], [tuple(r) for r in rows])


def render_preview(preview: RoutePreview) -> str:
    """The preview as text for the terminal; for a resubmission, which approvals carry over."""
    level = preview.approval_level or "none (approved when the department reviews are done)"
    due = preview.reviews[0].due_in_hours if preview.reviews else 0
    header = [
        f"Deal value:        ${preview.deal_value:,.2f}",
        f"Business approval: {level}",
        f"Priority:          {preview.priority} (reviews due {due} h after routing)",
        "",
    ]
    columns = ["stage", "department", "level", "likely assignee"]
    rows = [
        [
            "1 department review" if r.stage == STAGE_DEPARTMENT_REVIEW else "2 business approval",
            r.department,
            r.approval_level or "",
            (r.assignee or "nobody eligible: unassigned")
            + (f" (for {r.standing_in_for}, away)" if r.standing_in_for else ""),
        ]
        for r in preview.reviews
    ]
    if preview.resubmission:  # which approvals of the round sent back would stand
        columns.append("this round")
        for row, r in zip(rows, preview.reviews, strict=True):
            carried = r.carried_over_from_round
            row.append("asked anew" if carried is None else f"carried over from round {carried}")
    return "\n".join(header) + render(columns, rows)
