"""Routing as plain functions (business rules, section 3): departments, assignees, due dates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from dealdesk.config import APPROVAL_LEVELS, APPROVAL_PRIORITIES, DEPARTMENTS, BusinessRules
from dealdesk.core.model import Department, User

STAGE_DEPARTMENT_REVIEW = 1
STAGE_BUSINESS_APPROVAL = 2
DEPARTMENT_REVIEWER = "department_reviewer"
APPROVER = "approver"
ADMIN = "admin"
# Approval priority from the deal priority; anything else is normal.
APPROVAL_PRIORITY_FOR_DEAL = {"critical": "urgent", "high": "high"}
DEFAULT_APPROVAL_PRIORITY = "normal"
UNASSIGNED_NOTE = "nobody eligible is active: left unassigned"


def level_rank(level: str | None) -> int | None:
    """0 for manager up to 3 for svp; None for no level."""
    return APPROVAL_LEVELS.index(level) if level in APPROVAL_LEVELS else None


def approval_priority(deal_priority: str | None) -> str:
    return APPROVAL_PRIORITY_FOR_DEAL.get(deal_priority or "", DEFAULT_APPROVAL_PRIORITY)


def due_date(routed_at: datetime, deal_priority: str | None, sla_hours: Mapping[str, int]) -> datetime:
    """``sla_hours`` by deal priority; a deal without a known priority is a medium one."""
    hours = sla_hours.get(deal_priority or "medium", sla_hours["medium"])
    return routed_at + timedelta(hours=hours)


def escalated_priority(current: str, deal_priority: str | None) -> str:
    """One step above the priority the approval was routed with, never lower than it is now."""
    routed = APPROVAL_PRIORITIES.index(approval_priority(deal_priority))
    now = APPROVAL_PRIORITIES.index(current) if current in APPROVAL_PRIORITIES else 0
    return APPROVAL_PRIORITIES[min(max(now, routed + 1), len(APPROVAL_PRIORITIES) - 1)]


def seeded_departments(rules: BusinessRules) -> dict[str, Department]:
    """The departments as the DDL seeds them from the rules (every department active, nobody by
    default, the incentive categories each reviews): routing before any change to the table."""
    reviews: dict[str, list[str]] = {name: [] for name in DEPARTMENTS}
    for category, department in rules.category_departments.items():
        reviews.setdefault(department, []).append(category)
    return {
        name: Department(
            name=name, is_active=True, default_assignee_email=None, incentive_types=tuple(sorted(types))
        )
        for name, types in reviews.items()
    }


def stage1_departments(
    deal_type: str | None,
    categories: Iterable[str],
    departments: Mapping[str, Department],
    rules: BusinessRules,
) -> list[str]:
    """The always-reviewing departments, those reviewing the deal's incentive categories, and
    legal for custom deals; inactive or unknown departments left out. Sorted by name."""
    wanted = set(rules.always_reviewing_departments)
    present = set(categories)
    for department in departments.values():
        if department.is_active and present.intersection(department.incentive_types):
            wanted.add(department.name)
    if deal_type == "custom":
        wanted.add(rules.custom_deal_department)
    return sorted(d for d in wanted if d in departments and departments[d].is_active)


def _least_loaded(candidates: Iterable[User], open_counts: Mapping[int, int]) -> User | None:
    return min(candidates, key=lambda u: (open_counts.get(u.id, 0), u.id), default=None)


def stage1_assignee(
    department: Department,
    users: Mapping[str, User],
    open_counts: Mapping[int, int],
) -> int | None:
    """The department's default assignee while active; else its active reviewer with the fewest
    open approvals (ties: lowest id)."""
    default = users.get((department.default_assignee_email or "").lower())
    if default is not None and default.is_active:
        return default.id
    reviewers = (
        u
        for u in users.values()
        if u.is_active and u.role == DEPARTMENT_REVIEWER and u.department == department.name
    )
    chosen = _least_loaded(reviewers, open_counts)
    return chosen.id if chosen else None


def stage2_assignee(level: str, users: Mapping[str, User], open_counts: Mapping[int, int]) -> int | None:
    """Among active approvers of a sufficient level: the lowest sufficient level, then the fewest
    open approvals, then the lowest id."""
    needed = level_rank(level)
    ranked = [
        (rank, u)
        for u in users.values()
        if u.is_active and u.role == APPROVER and (rank := level_rank(u.approval_level)) is not None
    ]
    sufficient = [(rank, u) for rank, u in ranked if needed is not None and rank >= needed]
    if not sufficient:
        return None
    lowest = min(rank for rank, _ in sufficient)
    chosen = _least_loaded((u for rank, u in sufficient if rank == lowest), open_counts)
    return chosen.id if chosen else None


def may_decide(user: User, stage: int, department: str, required_role: str, level: str | None) -> bool:
    """Whether ``user`` holds what an approval requires: stage 1 its role in its department,
    stage 2 an approver of a sufficient level; an admin always."""
    if user.role == ADMIN:
        return True
    if stage == STAGE_DEPARTMENT_REVIEW:
        return user.role == required_role and user.department == department
    if stage == STAGE_BUSINESS_APPROVAL:
        mine, needed = level_rank(user.approval_level), level_rank(level)
        return user.role == APPROVER and mine is not None and needed is not None and mine >= needed
    return False
