"""Route preview: what routing would do with a submission that has not been sent.

Approval systems show the seller, before submit, who will review the deal and which
business approval it needs. The preview runs the core's routing on the one deal, against
today's departments, people and open approvals; it writes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dealdesk.checks.kinds.deal_submission import submission_body
from dealdesk.checks.values import as_time
from dealdesk.config import (
    DEAL_PRIORITIES,
    DEAL_TYPES,
    INCENTIVE_CATEGORIES,
    INCENTIVE_CATEGORY_ALIASES,
    BusinessRules,
)
from dealdesk.core import delegation, reapproval, routing
from dealdesk.core.model import Approval
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.state import read_people_and_load


@dataclass(frozen=True)
class Reviewer:
    stage: int
    department: str
    approval_level: str | None
    assignee: str | None  # e-mail; None when nobody eligible is active
    due_in_hours: int
    # a resubmission: the round whose approval would stand for this one (smart re-approval)
    carried_over_from_round: int | None = None
    # the person routing picked, away: ``assignee`` is their delegate (section 4b)
    standing_in_for: str | None = None


@dataclass(frozen=True)
class RoutePreview:
    deal_value: float
    approval_level: str | None
    priority: str
    reviews: list[Reviewer]
    resubmission: bool = False  # the reference names a deal sent back for revision


@dataclass(frozen=True)
class BadLine:
    line_number: int  # in the file, from 1
    reason: str


@dataclass(frozen=True)
class Submissions:
    """The deal_submission documents of a file, each with its line number, and the lines that
    could not be read as one."""

    documents: list[tuple[int, dict[str, Any]]]
    bad_lines: list[BadLine]
    other_kinds: int = 0


def _is_submission(document: dict[str, Any]) -> bool:
    return document.get("kind", "deal_submission") == "deal_submission"


def load_submissions(path: Path) -> Submissions:
    """Every deal_submission of a file: one JSON document (possibly spread over several lines),
    or a JSON Lines file. A line that is not a JSON object is reported by its line number in the
    file (lines are split like intake splits them) and the others are still read; documents of
    other kinds are counted and left out."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DealDeskError(f"cannot read {path}: {exc.strerror}") from exc
    text = data.decode("utf-8", errors="replace")
    try:
        whole = json.loads(text)
    except ValueError:
        pass
    else:
        if isinstance(whole, dict):
            kept = [(1, whole)] if _is_submission(whole) else []
            return Submissions(kept, [], 1 - len(kept))
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    documents, bad, others = [], [], 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError as exc:
            bad.append(BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(document, dict):
            bad.append(BadLine(number, "not a JSON object"))
        elif _is_submission(document):
            documents.append((number, document))
        else:
            others += 1
    return Submissions(documents, bad, others)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DealDeskError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except ValueError as exc:
        raise DealDeskError(f"{what} must be a number, got {value!r}") from exc


def summarise(document: dict[str, Any]) -> tuple[str, str, float, list[str]]:
    """(deal_type, priority, deal value, incentive categories) of a submission, checked enough to route."""
    deal = document.get("deal")
    tiers = document.get("tiers")
    if not isinstance(deal, dict) or not isinstance(tiers, list) or not tiers:
        raise DealDeskError("a submission needs a 'deal' object and at least one tier")
    deal_type = str(deal.get("deal_type") or "").strip().lower()
    if deal_type not in DEAL_TYPES:
        raise DealDeskError(
            f"deal_type must be one of {', '.join(DEAL_TYPES)}, got {deal.get('deal_type')!r}"
        )
    priority = str(deal.get("priority") or "medium").strip().lower()
    if priority not in DEAL_PRIORITIES:
        raise DealDeskError(
            f"priority must be one of {', '.join(DEAL_PRIORITIES)}, got {deal.get('priority')!r}"
        )
    value, categories = 0.0, []
    for number, tier in enumerate(tiers, start=1):
        if not isinstance(tier, dict):
            raise DealDeskError(f"tier {number} is not an object")
        value += _number(tier.get("annual_revenue"), f"tier {number} annual_revenue")
        for incentive in tier.get("incentives") or []:
            raw = str((incentive or {}).get("category") or "").strip().lower()
            category = INCENTIVE_CATEGORY_ALIASES.get(raw, raw)
            if category not in INCENTIVE_CATEGORIES:
                raise DealDeskError(f"tier {number}: incentive category {raw!r} is not known")
            categories.append(category)
    return deal_type, priority, value, sorted(set(categories))


def preview_route(lakehouse: Lakehouse, document: dict[str, Any], rules: BusinessRules) -> RoutePreview:
    """The routing the core would give this submission now: today's people, departments and load.
    A resubmission (its reference names a deal sent back for revision) shows which of the current
    round's approvals would carry over."""
    deal_type, priority, value, categories = summarise(document)
    reference = str(document.get("reference_number") or "").strip().upper() or None
    snapshot = read_people_and_load(lakehouse, rules, reference)
    deal = snapshot.deals.get(reference or "")
    prior: dict[tuple[int, str], Approval] = {}
    if deal is not None and deal.status == "revision_requested":
        prior = {(a.approval_stage, a.department): a for a in snapshot.approvals.get(deal.id, [])}
    body = submission_body(document, rules) if prior else None
    counts: Counter[int] = Counter(snapshot.open_counts)
    emails = {user.id: user.email for user in snapshot.users.values()}
    people = {user.id: user for user in snapshot.users.values()}
    at = business_time(document)
    away: dict[tuple[int, str], int] = {}  # (stage, department) -> whom the delegate stands in for
    delegations_of = delegation.by_delegator(snapshot.delegations.values())

    def load(stage: int, department: str, role: str, level: str | None) -> delegation.EffectiveLoad:
        return delegation.EffectiveLoad(counts, delegations_of, people, (stage, department, role, level), at)

    def routed(stage: int, department: str, role: str, level: str | None, person: int | None) -> int | None:
        """Whom an approval routed to ``person`` goes to: their delegate while they are away."""
        standing = delegation.stand_in(delegations_of, person, (stage, department, role, level), people, at)
        if standing is None or person is None:
            return person
        away[(stage, department)] = person
        return standing.delegate_id

    reviews: list[tuple[int, str, str | None, int | None, int | None]] = []
    for name in routing.stage1_departments(deal_type, categories, snapshot.departments, rules):
        standing = reapproval.review_decision(name, body, prior, snapshot.departments, rules)[2]
        if standing is not None:
            reviews.append((routing.STAGE_DEPARTMENT_REVIEW, name, None, standing.assigned_to,
                            standing.approval_round))  # fmt: skip
            continue
        reviewing = (routing.STAGE_DEPARTMENT_REVIEW, name, routing.DEPARTMENT_REVIEWER, None)
        assignee = routing.stage1_assignee(snapshot.departments[name], snapshot.users, load(*reviewing))
        assignee = routed(routing.STAGE_DEPARTMENT_REVIEW, name, routing.DEPARTMENT_REVIEWER, None, assignee)
        if assignee is not None:
            counts[assignee] += 1
        reviews.append((routing.STAGE_DEPARTMENT_REVIEW, name, None, assignee, None))
    level = rules.level_for(value)
    if level is not None:
        business = prior.get((routing.STAGE_BUSINESS_APPROVAL, rules.business_approval_department))
        if reapproval.business_carries_over(business, level, value, rules):
            assert business is not None
            reviews.append((routing.STAGE_BUSINESS_APPROVAL, rules.business_approval_department, level,
                            business.assigned_to, business.approval_round))  # fmt: skip
        else:
            approving = (
                routing.STAGE_BUSINESS_APPROVAL,
                rules.business_approval_department,
                routing.APPROVER,
                level,
            )
            assignee = routing.stage2_assignee(level, snapshot.users, load(*approving))
            assignee = routed(routing.STAGE_BUSINESS_APPROVAL, rules.business_approval_department, routing.APPROVER,
                              level, assignee)  # fmt: skip
            reviews.append(
                (routing.STAGE_BUSINESS_APPROVAL, rules.business_approval_department, level, assignee, None)
            )
    hours = rules.sla_hours[priority]
    return RoutePreview(
        deal_value=value,
        approval_level=level,
        priority=priority,
        reviews=[
            Reviewer(
                stage,
                department,
                lvl,
                emails.get(a) if a else None,
                hours,
                carried,
                emails.get(away.get((stage, department), 0)),
            )
            for stage, department, lvl, a, carried in reviews
        ],
        resubmission=bool(prior),
    )


def business_time(document: dict[str, Any]) -> datetime:
    """The submission's ``occurred_at`` (naive UTC), or now when it has none that reads."""
    return as_time(document.get("occurred_at")) or datetime.now(UTC).replace(tzinfo=None)


def describe(line_number: int, document: dict[str, Any]) -> str:
    """A heading for one submission of a file: its line, name and event id."""
    deal = document.get("deal") if isinstance(document.get("deal"), dict) else {}
    name = str(deal.get("deal_name") or "(no deal_name)").strip()
    event = document.get("event_id")
    return f"line {line_number}: {name}" + (f" (event {event})" if event else "")
