"""``dealdesk whatif``: the desk's history decided again under proposed rules, beside the rules in
force. Thin entry point: parse the options, open the lakehouse, call the replay, print."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from dealdesk.cli import common
from dealdesk.cli.output import TEXT, render
from dealdesk.config import load_rules
from dealdesk.core.whatif import Outcome
from dealdesk.errors import DealDeskError
from dealdesk.pipeline.whatif import WhatIf, what_if

SHOWN = 20  # references and approvers listed at most (the JSON output has them all)


def _day(text: str | None, option: str, end: bool = False) -> datetime | None:
    """A date or ISO-8601 time (UTC unless it says otherwise); a bare --to date takes its whole day."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DealDeskError(f"{option} '{text}' is not a date (YYYY-MM-DD) or an ISO-8601 time") from exc
    moment = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return moment + timedelta(days=1, microseconds=-1) if end and len(text) == 10 else moment


def period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """--from and --to as business times (a bare --to date takes its whole day)."""
    first, last = _day(start, "--from"), _day(end, "--to", end=True)
    if first and last and first > last:
        raise DealDeskError(f"--from {start} is after --to {end}")
    return first, last


def _days(hours: float | None) -> str:
    return "-" if hours is None else f"{hours / 24:.1f} days"


def _side_by_side(title: str, now: dict[str, int], proposal: dict[str, int], limit: int | None = None) -> str:
    keys = sorted(set(now) | set(proposal), key=lambda k: (-abs(proposal.get(k, 0) - now.get(k, 0)), k))
    rows = [(k, now.get(k, 0), proposal.get(k, 0), proposal.get(k, 0) - now.get(k, 0)) for k in keys]
    cut = rows if limit is None else rows[:limit]
    more = (
        f"\n({len(rows) - len(cut)} more not shown; --format json lists them all)"
        if len(cut) < len(rows)
        else ""
    )
    return f"{title}\n{render([title.split()[-1], 'now', 'proposal', 'change'], cut)}{more}"


def _approvers(outcome: Outcome, emails: dict[int, str]) -> dict[str, int]:
    return {emails.get(user, str(user)): n for user, n in outcome.by_approver.items()}


def as_json(result: WhatIf) -> dict:
    c = result.comparison

    def side(outcome: Outcome) -> dict:
        return {
            "deals": outcome.deals,
            "deals_per_level": dict(outcome.levels),
            "approvals_per_department": dict(outcome.asked),
            "approvals_per_approver": _approvers(outcome, result.emails),
            "carried_over": outcome.carried_over,
            "median_cycle_days": None
            if outcome.median_cycle_hours is None
            else outcome.median_cycle_hours / 24,
            "approved_deals": len(outcome.cycle_hours),
            "estimated_deals": len(outcome.estimated),
        }

    return {
        "documents": result.documents,
        "seconds": round(result.seconds, 2),
        "now": side(c.now),
        "proposal": side(c.proposal),
        "rerouted": c.rerouted,
    }


def as_text(result: WhatIf) -> str:
    c = result.comparison
    now, proposal = c.now, c.proposal
    shown = ", ".join(c.rerouted[:SHOWN]) + (
        f", ... ({len(c.rerouted) - SHOWN} more)" if len(c.rerouted) > SHOWN else ""
    )
    parts = [
        f"{result.documents:,} documents decided again under each set of rules in {result.seconds:.1f} s "
        f"(nothing written); {now.deals:,} deals first submitted in the period.",
        _side_by_side("deals per approval level", dict(now.levels), dict(proposal.levels)),
        _side_by_side("approvals asked per department", dict(now.asked), dict(proposal.asked)),
        _side_by_side(
            "approvals asked per approver",
            _approvers(now, result.emails),
            _approvers(proposal, result.emails),
            SHOWN,
        ),
        f"routing changes (first-round departments or approval level): {len(c.rerouted):,} deals"
        + (f": {shown}" if c.rerouted else ""),
        f"approvals carried over by smart re-approval: now {now.carried_over:,}, proposal {proposal.carried_over:,}",
        f"median time from submission to approval: now {_days(now.median_cycle_hours)} "
        f"({len(now.cycle_hours):,} deals), proposal {_days(proposal.median_cycle_hours)} "
        f"({len(proposal.cycle_hours):,} deals, {len(proposal.estimated):,} of them estimated: a step "
        "nobody decided takes the median time that step took under the rules in force)",
    ]
    return "\n\n".join(parts)


def cmd_whatif(args: argparse.Namespace) -> int:
    """the deals of a period decided again under proposed rules, beside the rules in force; writes nothing

    --rules names the proposal (the override format of the rules file); the rules in force are the defaults,
    or DEALDESK_RULES_FILE. Every document applied up to --to is decided again in memory under each; the
    deals first submitted from --from to --to are compared.

    Examples:
        dealdesk whatif --rules proposal.json            # e.g. {"ladder": {"manager": 25000}}
        dealdesk whatif --rules proposal.json --from 2026-01-01 --to 2026-06-30
        dealdesk whatif --rules proposal.json --format json
    """
    if not args.rules:
        raise DealDeskError("whatif needs --rules PROPOSAL.json: the rules to compare with those in force")
    proposal = load_rules(args.rules)
    in_force = load_rules(None)  # DEALDESK_RULES_FILE, else the defaults
    start, end = period(args.start, args.end)
    result = what_if(common.open_to_read(args), in_force, proposal, start, end)
    print(as_text(result) if args.format in TEXT else json.dumps(as_json(result)), flush=True)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``whatif`` on the ``dealdesk`` parser."""
    whatif = common.add_command(commands, cmd_whatif, prints=True)
    whatif.add_argument(
        "--from", dest="start", metavar="DATE", help="first day of the period (default: the first deal)"
    )
    whatif.add_argument(
        "--to", dest="end", metavar="DATE", help="last day of the period (default: the last document)"
    )
