"""What-if as plain functions: what a replay of the applied documents left, and two replays side
by side (the rules in force and a proposal).

A replay decides every applied document again, in one batch, through the same core: the
decisions people made are kept at the business times they were made. What a proposal asks that
nobody decided (a business approval the rules in force did not need, a review no longer carried
over) is estimated: it takes the median time that kind of step took in the replay under the rules
in force (by department for a review, by level for a business approval).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dealdesk.core.model import Effects

NO_LEVEL = "none"
HOUR = 3600.0


def step_key(approval: Mapping[str, Any]) -> str:
    """The kind of step an approval is: its department for a review, its level for stage 2."""
    if approval["approval_stage"] == 1:
        return f"review:{approval['department']}"
    return f"business:{approval['approval_level']}"


def step_hours(effects: Effects) -> dict[str, float]:
    """Median hours from routing to decision per kind of step, over the approvals people decided
    (carried-over ones left out: they take no time)."""
    carried = {
        row["approval_id"] for row in effects.fingerprints if row["carried_over_from_round"] is not None
    }
    taken: dict[str, list[float]] = defaultdict(list)
    for row in effects.approvals_new:
        if row["completed_at"] is not None and row["id"] not in carried:
            taken[step_key(row)].append((row["completed_at"] - row["created_at"]).total_seconds() / HOUR)
    return {key: statistics.median(hours) for key, hours in taken.items()}


@dataclass
class Outcome:
    """What one replay left for the deals first submitted in the period."""

    deals: int = 0
    levels: Counter[str] = field(default_factory=Counter)  # deals by approval level ("none" below the ladder)
    asked: Counter[str] = field(default_factory=Counter)  # approvals people were asked for, by department
    by_approver: Counter[int] = field(default_factory=Counter)  # approvals asked, by assignee id
    carried_over: int = 0  # approvals smart re-approval carried over
    routes: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # reference -> route
    cycle_hours: dict[str, float] = field(default_factory=dict)  # reference -> submitted to approved
    estimated: set[str] = field(default_factory=set)  # references whose approval time is estimated

    @property
    def median_cycle_hours(self) -> float | None:
        return statistics.median(self.cycle_hours.values()) if self.cycle_hours else None


def outcome(
    effects: Effects,
    start: datetime | None,
    end: datetime | None,
    medians: Mapping[str, float],
    approved_in_record: set[str] | None = None,
) -> Outcome:
    """What ``effects`` (a replay) left for the deals first submitted in [start, end]. A deal left
    waiting for an approval nobody decided, approved in the record (``approved_in_record``), gets
    an estimated approval time from ``medians`` (see ``step_hours``)."""
    deals = {
        row["id"]: row
        for row in effects.deals_new
        if row.get("submitted_at") is not None
        and (start is None or row["submitted_at"] >= start)
        and (end is None or row["submitted_at"] <= end)
    }
    result = Outcome(deals=len(deals))
    carried = {
        row["approval_id"] for row in effects.fingerprints if row["carried_over_from_round"] is not None
    }
    approvals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in effects.approvals_new:
        if row["deal_id"] in deals:
            approvals[row["deal_id"]].append(row)
    approved_at: dict[int, datetime] = {}
    for row in effects.history:
        if row["deal_id"] in deals and row["status"] == "approved":
            approved_at.setdefault(row["deal_id"], row["changed_at"])
    for deal_id, deal in deals.items():
        reference, rows = deal["reference_number"], approvals[deal_id]
        result.levels[deal["required_approval_level"] or NO_LEVEL] += 1
        for row in rows:
            if row["id"] in carried:
                result.carried_over += 1
                continue
            result.asked[row["department"] if row["approval_stage"] == 1 else "business approval"] += 1
            if row["assigned_to"] is not None:
                result.by_approver[row["assigned_to"]] += 1
        first = sorted(r["department"] for r in rows if r["approval_round"] == 0 and r["approval_stage"] == 1)
        result.routes[reference] = (tuple(first), deal["required_approval_level"] or NO_LEVEL)
        if deal_id in approved_at:
            result.cycle_hours[reference] = (
                approved_at[deal_id] - deal["submitted_at"]
            ).total_seconds() / HOUR
        elif approved_in_record is not None and reference in approved_in_record:
            estimate = _estimated_approval(rows, deal["required_approval_level"], medians)
            if estimate is not None:
                result.cycle_hours[reference] = (estimate - deal["submitted_at"]).total_seconds() / HOUR
                result.estimated.add(reference)
    return result


def _estimated_approval(
    rows: list[dict[str, Any]], level: str | None, medians: Mapping[str, float]
) -> datetime | None:
    """When the last round would be approved had its undecided steps taken their median time."""
    if not rows:
        return None
    last = max(r["approval_round"] for r in rows)
    current = [r for r in rows if r["approval_round"] == last]
    pending = [r for r in current if r["status"] == "pending"]
    if not pending or any(r["status"] in ("rejected", "revision_requested") for r in current):
        return None
    done = [r["completed_at"] for r in current if r["completed_at"] is not None]
    ends = [r["created_at"] + timedelta(hours=medians.get(step_key(r), 0.0)) for r in pending]
    moment = max([*done, *ends])
    if level is not None and all(r["approval_stage"] == 1 for r in current):
        moment += timedelta(hours=medians.get(f"business:{level}", 0.0))  # stage 2 still to come
    return moment


@dataclass
class Comparison:
    """The rules in force and a proposal, replayed over the same documents."""

    now: Outcome
    proposal: Outcome
    rerouted: list[str]  # references whose route (first-round departments, level) differs


def compare(now: Outcome, proposal: Outcome) -> Comparison:
    rerouted = sorted(r for r, route in now.routes.items() if proposal.routes.get(r) != route)
    return Comparison(now, proposal, rerouted)
