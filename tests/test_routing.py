"""Routing: departments, the dollar ladder, assignment, due dates, actions and the move to under_review."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pyspark.sql import functions as F

from dealdesk.lakehouse import Lakehouse
from dealdesk.workflow.jobs import route_deals
from dealdesk.workflow.routing import UNASSIGNED_NOTE
from tests import invariants
from tests.workflow_builders import (
    RULES,
    STAFF,
    T0,
    Person,
    add_deal,
    add_deals,
    add_people,
    approvals_of,
    history_of,
    set_default_assignee,
    snapshot,
    status_of,
)


def test_a_submitted_deal_gets_trading_and_finance_and_moves_under_review(lakehouse: Lakehouse):
    people = add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-001", categories=("financial", "resources"), priority="high")
    run = route_deals(lakehouse, RULES)
    rows = approvals_of(lakehouse, "DEAL-2026-001")
    assert [(r["approval_stage"], r["department"], r["required_role"], r["status"]) for r in rows] == [
        (1, "finance", "department_reviewer", "pending"),
        (1, "trading", "department_reviewer", "pending"),
    ]
    assert {r["assigned_to"] for r in rows} == {
        people["finance.reviewer@example.com"],
        people["trading.reviewer@example.com"],
    }
    assert all(r["created_at"] == T0 and r["due_date"] == T0 + timedelta(hours=48) for r in rows)
    assert all(r["priority"] == "high" and r["approval_round"] == 0 for r in rows)
    assert status_of(lakehouse, "DEAL-2026-001") == "under_review"
    assert history_of(lakehouse, "DEAL-2026-001") == [
        (1, None, "submitted", T0),
        (2, "submitted", "under_review", T0),
    ]
    actions = lakehouse.read("approval_actions").orderBy("action_type").collect()
    assert sorted((a["action_type"], a["performed_by"], a["created_at"]) for a in actions) == [
        ("assign", None, T0),
        ("assign", None, T0),
        ("initiate", None, T0),
        ("initiate", None, T0),
    ]
    assert {a["source_event_id"] for a in actions} == {"submit-DEAL-2026-001"}
    assert run.rows_merged["deal_approvals"] == 2
    invariants.check(lakehouse)


@pytest.mark.parametrize(
    ("category", "department"),
    [
        ("financial", None),
        ("resources", None),
        ("product-innovation", "creative"),
        ("technology", "product"),
        ("analytics", "solutions"),
        ("marketing", "marketing"),
    ],
)
def test_each_incentive_category_routes_to_its_department(lakehouse: Lakehouse, category, department):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-002", categories=(category,))
    route_deals(lakehouse, RULES)
    expected = sorted({"trading", "finance", *([department] if department else [])})
    assert [r["department"] for r in approvals_of(lakehouse, "DEAL-2026-002")] == expected


def test_a_custom_deal_adds_legal(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-003", deal_type="custom", categories=("analytics",))
    route_deals(lakehouse, RULES)
    assert [r["department"] for r in approvals_of(lakehouse, "DEAL-2026-003")] == [
        "finance",
        "legal",
        "solutions",
        "trading",
    ]


@pytest.mark.parametrize(("priority", "hours", "approval_priority"), [
    ("critical", 24, "urgent"), ("high", 48, "high"), ("medium", 72, "normal"), ("low", 72, "normal"),
])  # fmt: skip
def test_due_dates_and_priority_follow_the_deal_priority(
    lakehouse: Lakehouse, priority, hours, approval_priority
):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-004", priority=priority)
    route_deals(lakehouse, RULES)
    rows = approvals_of(lakehouse, "DEAL-2026-004")
    assert {(r["due_date"] - r["created_at"], r["priority"]) for r in rows} == {
        (timedelta(hours=hours), approval_priority)
    }


def test_sla_hours_are_configuration(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-005", priority="high")
    route_deals(lakehouse, replace(RULES, sla_hours=replace(RULES.sla_hours, high=36)))
    assert {r["due_date"] - r["created_at"] for r in approvals_of(lakehouse, "DEAL-2026-005")} == {
        timedelta(hours=36)
    }


def test_routing_twice_changes_nothing(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-006")
    route_deals(lakehouse, RULES)
    before = snapshot(lakehouse)
    run = route_deals(lakehouse, RULES)
    assert snapshot(lakehouse) == before
    assert sum(run.rows_merged.values()) == 0
    invariants.check(lakehouse)


def test_drafts_and_deals_in_review_are_not_routed(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-007", status="draft")
    route_deals(lakehouse, RULES)
    assert approvals_of(lakehouse, "DEAL-2026-007") == []
    assert status_of(lakehouse, "DEAL-2026-007") == "draft"


FINANCE_TEAM = (
    Person("fin.one@example.com", "department_reviewer", "finance"),
    Person("fin.two@example.com", "department_reviewer", "finance"),
    Person("fin.gone@example.com", "department_reviewer", "finance", is_active=False),
)


def finance_assignees(lakehouse: Lakehouse, references: list[str]) -> list[int | None]:
    return [
        next(r["assigned_to"] for r in approvals_of(lakehouse, ref) if r["department"] == "finance")
        for ref in references
    ]


def test_the_active_default_assignee_gets_every_review_of_the_department(lakehouse: Lakehouse):
    people = add_people(lakehouse, [p for p in STAFF if p.department != "finance"] + list(FINANCE_TEAM))
    set_default_assignee(lakehouse, "finance", "fin.two@example.com")
    add_deals(
        lakehouse,
        [dict(reference=f"DEAL-2026-01{n}", submitted_at=T0 + timedelta(minutes=n)) for n in range(3)],
    )
    route_deals(lakehouse, RULES)
    refs = [f"DEAL-2026-01{n}" for n in range(3)]
    assert finance_assignees(lakehouse, refs) == [people["fin.two@example.com"]] * 3


def test_without_an_active_default_the_reviewer_with_fewest_open_approvals_gets_it(lakehouse: Lakehouse):
    people = add_people(lakehouse, [p for p in STAFF if p.department != "finance"] + list(FINANCE_TEAM))
    set_default_assignee(lakehouse, "finance", "fin.gone@example.com")  # inactive: not used
    low, high = sorted([people["fin.one@example.com"], people["fin.two@example.com"]])
    add_deal(lakehouse, "DEAL-2026-020")
    route_deals(lakehouse, RULES)
    assert finance_assignees(lakehouse, ["DEAL-2026-020"]) == [low]  # both had none: lowest id
    # One batch of three: each goes to whoever has the fewest open approvals at that point.
    refs = ["DEAL-2026-021", "DEAL-2026-022", "DEAL-2026-023"]
    add_deals(
        lakehouse, [dict(reference=r, submitted_at=T0 + timedelta(hours=n)) for n, r in enumerate(refs, 1)]
    )
    route_deals(lakehouse, RULES)
    assert finance_assignees(lakehouse, refs) == [high, low, high]
    assert people["fin.gone@example.com"] not in finance_assignees(lakehouse, refs)
    invariants.check(lakehouse)


def test_nobody_eligible_leaves_the_review_unassigned_with_a_warning(lakehouse: Lakehouse):
    add_people(lakehouse, [p for p in STAFF if p.department != "creative"])
    add_deal(lakehouse, "DEAL-2026-030", categories=("product-innovation",))
    route_deals(lakehouse, RULES)
    creative = next(r for r in approvals_of(lakehouse, "DEAL-2026-030") if r["department"] == "creative")
    assert creative["assigned_to"] is None and creative["status"] == "pending"
    actions = lakehouse.read("approval_actions").filter(F.col("approval_id") == creative["id"]).collect()
    assert [(a["action_type"], a["comments"]) for a in actions] == [("initiate", UNASSIGNED_NOTE)]
