"""Routing in the core: departments, the dollar ladder, assignment, due dates (business rules, section 3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from dealdesk.config import load_rules
from dealdesk.core import ids, routing
from dealdesk.core.desk import decide
from dealdesk.errors import ConfigurationError
from tests.core_builders import (
    APPROVERS,
    FINANCE,
    RULES,
    STAFF,
    T0,
    TRADING,
    Person,
    World,
    action,
    approve_stage1,
    at,
    departments,
    snapshot,
    submission,
    uid,
)

REF = "DEAL-2026-001"


def test_a_submission_gets_trading_and_finance_and_moves_under_review():
    world = World()
    effects = world.run([submission(T0, categories=("financial", "resources"), priority="high")])
    rows = world.approvals(REF)
    assert [(r["approval_stage"], r["department"], r["required_role"], r["status"]) for r in rows] == [
        (1, "finance", "department_reviewer", "pending"),
        (1, "trading", "department_reviewer", "pending"),
    ]
    assert [r["assigned_to"] for r in rows] == [uid(FINANCE), uid(TRADING)]
    assert all(r["created_at"] == T0 and r["due_date"] == T0 + timedelta(hours=48) for r in rows)
    assert all(r["priority"] == "high" and r["approval_round"] == 0 for r in rows)
    assert world.status(REF) == "under_review"
    # creation is change 1 of the submission event, routing change 2
    assert world.history(REF) == [(1, None, "submitted", T0), (2, "submitted", "under_review", T0)]
    event = effects.ledger[0]["event_id"]
    assert [h["id"] for h in effects.history] == [
        ids.status_change_id(ids.deal_id(REF), event, 1),
        ids.status_change_id(ids.deal_id(REF), event, 2),
    ]
    assert sorted(
        (a["action_type"], a["performed_by"], a["assigned_to"], a["created_at"]) for a in effects.actions
    ) == [
        ("assign", None, uid(FINANCE), T0),
        ("assign", None, uid(TRADING), T0),
        ("initiate", None, None, T0),
        ("initiate", None, None, T0),
    ]
    assert {a["source_event_id"] for a in effects.actions} == {event}


@pytest.mark.parametrize(
    ("category", "department"),
    [
        ("financial", None),
        ("resources", None),
        ("product-innovation", "creative"),
        ("technology", "product"),
        ("analytics", "solutions"),
        ("marketing", "marketing"),
        ("marketing-ld", "marketing"),  # the app's alias
    ],
)
def test_each_incentive_category_routes_to_its_department(category, department):
    effects = decide(snapshot(), [submission(T0, categories=(category,))], RULES)
    expected = sorted({"trading", "finance", *([department] if department else [])})
    assert sorted(r["department"] for r in effects.approvals_new) == expected


def test_categories_across_tiers_each_add_their_department():
    doc = submission(T0, tiers=[(10_000, ("technology",)), (10_000, ("analytics", "marketing"))])
    effects = decide(snapshot(), [doc], RULES)
    assert sorted(r["department"] for r in effects.approvals_new) == [
        "finance", "marketing", "product", "solutions", "trading",
    ]  # fmt: skip


def test_a_custom_deal_adds_legal():
    effects = decide(snapshot(), [submission(T0, deal_type="custom", categories=("analytics",))], RULES)
    assert sorted(r["department"] for r in effects.approvals_new) == [
        "finance",
        "legal",
        "solutions",
        "trading",
    ]
    grow = decide(snapshot(), [submission(T0, deal_type="protect")], RULES)
    assert "legal" not in {r["department"] for r in grow.approvals_new}


def test_an_inactive_department_is_left_out():
    effects = decide(
        snapshot(inactive=("solutions", "legal")),
        [submission(T0, deal_type="custom", categories=("analytics", "technology"))],
        RULES,
    )
    assert sorted(r["department"] for r in effects.approvals_new) == ["finance", "product", "trading"]


def test_the_category_map_is_data_not_code():
    """A department reviews the categories its incentive_types names."""
    shot = snapshot()
    shot.departments["legal"] = replace(shot.departments["legal"], incentive_types=("technology",))
    effects = decide(shot, [submission(T0, categories=("technology",))], RULES)
    assert sorted(r["department"] for r in effects.approvals_new) == [
        "finance",
        "legal",
        "product",
        "trading",
    ]


def test_stage1_departments_plain():
    deps = departments(inactive=("creative",))
    assert routing.stage1_departments("custom", ["product-innovation", "analytics"], deps, RULES) == [
        "finance", "legal", "solutions", "trading",
    ]  # fmt: skip
    assert routing.stage1_departments("grow", [], departments(inactive=("finance",)), RULES) == ["trading"]


def test_no_active_department_routes_nothing_with_a_warning():
    effects = decide(snapshot(inactive=("trading", "finance")), [submission(T0)], RULES)
    assert effects.approvals_new == []
    assert effects.warnings == [f"{REF}: no active department to review it"]
    assert effects.deals_new[0]["status"] == "under_review"


@pytest.mark.parametrize(("priority", "hours", "approval_priority"), [
    ("critical", 24, "urgent"), ("high", 48, "high"), ("medium", 72, "normal"), ("low", 72, "normal"),
])  # fmt: skip
def test_due_dates_and_priority_follow_the_deal_priority(priority, hours, approval_priority):
    effects = decide(snapshot(), [submission(at(3), priority=priority)], RULES)
    assert {
        (r["due_date"] - r["created_at"], r["created_at"], r["priority"]) for r in effects.approvals_new
    } == {(timedelta(hours=hours), at(3), approval_priority)}


def test_sla_hours_are_configuration(tmp_path: Path):
    (tmp_path / "rules.json").write_text(json.dumps({"sla_hours": {"high": 36}}))
    rules = load_rules(tmp_path / "rules.json")
    assert rules.sla_hours == {**RULES.sla_hours, "high": 36}  # the other priorities stay
    effects = decide(snapshot(), [submission(T0, priority="high")], rules)
    assert {r["due_date"] - r["created_at"] for r in effects.approvals_new} == {timedelta(hours=36)}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sla_hours": {"hgih": 36}}, r"sla_hours names unknown key\(s\) hgih; known: critical, high"),
        ({"sla_hours": {"high": "36"}}, r"'sla_hours\.high' must be a whole number above 0, got '36'"),
        ({"sla_hours": 36}, r"'sla_hours' must be an object"),
        (
            {"monitoring": {"status_age_days": {"signed": 0}}},
            r"'monitoring\.status_age_days\.signed' must be",
        ),
        (
            {"monitoring": {"status_age_days": {"sleeping": 3}}},
            r"status_age_days names unknown key\(s\) sleeping",
        ),
        (
            {"ladder": {"director": 40_000}},
            r"ladder must give every level a bound, rising from manager to svp",
        ),
        ({"ladder": {"manager": "50k"}}, r"'ladder\.manager' must be a number above 0, got '50k'"),
        (
            {"ladder": {"avp": 75_000}},
            r"ladder names unknown key\(s\) avp; known: manager, director, vp, svp",
        ),
    ],
)
def test_a_setting_by_level_priority_or_status_refuses_an_unknown_key_or_a_bad_number(
    tmp_path: Path, overrides: dict, message: str
):
    (tmp_path / "rules.json").write_text(json.dumps(overrides))
    with pytest.raises(ConfigurationError, match=message):
        load_rules(tmp_path / "rules.json")


# -- the dollar ladder -------------------------------------------------------------------------------

LADDER = [
    (49_999.99, None),
    (50_000.00, "manager"),
    (99_999.00, "manager"),
    (99_999.99, "manager"),
    (100_000.00, "director"),
    (499_999.00, "director"),
    (499_999.99, "director"),
    (500_000.00, "vp"),
    (999_999.00, "vp"),
    (999_999.99, "vp"),
    (1_000_000.00, "svp"),
    (25_000_000.00, "svp"),
]


@pytest.mark.parametrize(("value", "level"), LADDER)
def test_every_ladder_boundary_decides_the_business_approval(value, level):
    world = World()
    world.run([submission(T0, value=value)])
    assert world.deal(REF)["required_approval_level"] == level
    effects = world.run(approve_stage1(REF))
    assert effects.rejected == []
    stage2 = [r for r in world.approvals(REF) if r["approval_stage"] == 2]
    if level is None:
        assert stage2 == []
        assert world.status(REF) == "approved"
        assert world.history(REF)[-1] == (3, "under_review", "approved", at(1.5))
        return
    assert [(r["approval_level"], r["department"], r["required_role"], r["status"]) for r in stage2] == [
        (level, "trading", "approver", "pending")
    ]
    assert stage2[0]["assigned_to"] == uid(APPROVERS[level])
    assert stage2[0]["created_at"] == at(1.5)  # the completing decision's business time
    assert stage2[0]["due_date"] == at(1.5) + timedelta(hours=72)
    assert world.status(REF) == "under_review"
    # The business approval by the assigned approver approves the deal.
    world.run([action(REF, 2, None, "approve", APPROVERS[level], at(3))])
    assert world.status(REF) == "approved"
    assert world.history(REF)[-1] == (3, "under_review", "approved", at(3))


def test_the_ladder_is_configuration():
    rules = replace(RULES, ladder={**RULES.ladder, "manager": 60_000})
    world = World(rules=rules)
    world.run([submission(T0, value=55_000)])
    world.run(approve_stage1(REF))
    assert world.status(REF) == "approved"
    assert [r for r in world.approvals(REF) if r["approval_stage"] == 2] == []


def test_stage_2_only_when_every_stage_1_row_of_the_round_is_approved():
    world = World()
    world.run([submission(T0, value=200_000, categories=("analytics",))])
    world.run(approve_stage1(REF))
    assert [r["approval_stage"] for r in world.approvals(REF)] == [1, 1, 1]  # solutions still pending
    world.run(
        [action(REF, 1, "solutions", "comment", "solutions.reviewer@example.com", at(2), comments="hm")]
    )
    assert [r["approval_stage"] for r in world.approvals(REF)] == [1, 1, 1]
    world.run([action(REF, 1, "solutions", "approve", "solutions.reviewer@example.com", at(3))])
    assert [(r["approval_stage"], r["approval_level"]) for r in world.approvals(REF)][-1] == (2, "director")


# -- assignment ---------------------------------------------------------------------------------------

FINANCE_TEAM = (
    Person("fin.one@example.com", "department_reviewer", "finance"),
    Person("fin.two@example.com", "department_reviewer", "finance"),
    Person("fin.gone@example.com", "department_reviewer", "finance", is_active=False),
)
TEAM = [p for p in STAFF if p.department != "finance"] + list(FINANCE_TEAM)
LOW, HIGH = sorted([uid("fin.one@example.com"), uid("fin.two@example.com")])


def finance_assignees(world: World, references: list[str]) -> list[int | None]:
    return [world.approval(ref, "finance")["assigned_to"] for ref in references]


def test_the_active_default_assignee_gets_every_review_of_the_department():
    world = World(TEAM, defaults={"finance": "fin.two@example.com"})
    world.run([submission(T0 + timedelta(minutes=n)) for n in range(3)])
    refs = [f"DEAL-2026-00{n}" for n in (1, 2, 3)]
    assert finance_assignees(world, refs) == [uid("fin.two@example.com")] * 3


def test_without_an_active_default_the_reviewer_with_fewest_open_approvals_gets_it():
    world = World(TEAM, defaults={"finance": "fin.gone@example.com"})  # inactive: not used
    world.run([submission(T0)])
    assert finance_assignees(world, ["DEAL-2026-001"]) == [LOW]  # both had none: lowest id
    # One batch of three: each goes to whoever has the fewest open approvals at that point,
    # counting those handed out earlier in the same batch.
    world.run([submission(T0 + timedelta(hours=n)) for n in (1, 2, 3)])
    refs = ["DEAL-2026-002", "DEAL-2026-003", "DEAL-2026-004"]
    assert finance_assignees(world, refs) == [HIGH, LOW, HIGH]
    assert uid("fin.gone@example.com") not in finance_assignees(world, refs)


@pytest.mark.parametrize("closing", ["decided", "deal lost"])
def test_the_count_is_of_open_approvals_only(closing):
    """A closed approval, or one of a deal no longer in review, does not count against its reviewer."""
    world = World(TEAM)
    world.run([submission(T0), submission(at(0.1))])
    assert finance_assignees(world, ["DEAL-2026-001", "DEAL-2026-002"]) == [LOW, HIGH]
    if closing == "decided":  # LOW's approval is closed: LOW has none open, HIGH one
        world.run([action("DEAL-2026-001", 1, "finance", "approve", "fin.one@example.com", at(1))])
        expected = [LOW, LOW]
    else:  # HIGH's deal is lost: HIGH has none open, LOW one
        world.run([action("DEAL-2026-002", 1, "trading", "reject", TRADING, at(1), comments="no")])
        expected = [HIGH, LOW]
    world.run([submission(at(2))])
    world.run([submission(at(3))])
    assert finance_assignees(world, ["DEAL-2026-003", "DEAL-2026-004"]) == expected


def test_the_snapshot_counts_of_other_deals_decide_the_assignee():
    shot = snapshot(people=TEAM)
    shot.open_counts = {LOW: 3, HIGH: 2}
    effects = decide(shot, [submission(T0)], RULES)
    assert next(a["assigned_to"] for a in effects.approvals_new if a["department"] == "finance") == HIGH


def test_nobody_eligible_leaves_the_review_unassigned_with_a_warning():
    world = World([p for p in STAFF if p.department != "creative"])
    effects = world.run([submission(T0, categories=("product-innovation",))])
    creative = world.approval(REF, "creative")
    assert creative["assigned_to"] is None and creative["status"] == "pending"
    assert [(a["action_type"], a["comments"]) for a in world.actions_of(creative["id"])] == [
        ("initiate", routing.UNASSIGNED_NOTE)
    ]
    assert effects.warnings == [f"{REF}: creative review left unassigned: nobody eligible is active"]


def test_stage_2_goes_to_the_lowest_sufficient_level_then_the_least_loaded():
    team = [p for p in STAFF if p.approval_level != "manager"] + [
        Person("dir.two@example.com", "approver", "trading", "director"),
        Person("svp.gone@example.com", "approver", "trading", "svp", is_active=False),
    ]
    world = World(team)
    world.run([submission(at(n), value=60_000) for n in range(3)])
    refs = ["DEAL-2026-001", "DEAL-2026-002", "DEAL-2026-003"]
    world.run([doc for n, r in enumerate(refs) for doc in approve_stage1(r, hours=5 + n)])
    directors = sorted([uid(APPROVERS["director"]), uid("dir.two@example.com")])
    assigned = [world.approval(r, "trading", stage=2)["assigned_to"] for r in refs]
    # No active manager: directors take manager-level approvals, balanced, lowest id first.
    assert assigned == [directors[0], directors[1], directors[0]]


def test_stage_2_with_nobody_sufficient_is_unassigned():
    team = [p for p in STAFF if p.approval_level not in ("vp", "svp")]
    world = World(team)
    world.run([submission(T0, value=700_000)])
    effects = world.run(approve_stage1(REF))
    assert world.approval(REF, "trading", stage=2)["assigned_to"] is None
    assert effects.warnings == [f"{REF}: business approval left unassigned: nobody eligible is active"]


def test_assignment_plain_functions():
    people = {p.email: p.user() for p in STAFF}
    deps = departments(defaults={"finance": "FINANCE.REVIEWER@example.com"})
    assert routing.stage1_assignee(deps["finance"], people, {}) == uid(FINANCE)  # e-mails match lower-cased
    assert routing.stage2_assignee("director", people, {}) == uid(APPROVERS["director"])
    assert routing.stage2_assignee("svp", people, {}) == uid(APPROVERS["svp"])
    assert routing.stage2_assignee("manager", people, {uid(APPROVERS["manager"]): 50}) == uid(
        APPROVERS["manager"]
    )
