"""Decisions: approval actions and status changes through the decide job, on real tables."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from pyspark.sql import functions as F

from dealdesk.lakehouse import Lakehouse
from dealdesk.runs import JobRun
from dealdesk.workflow.decisions import decide_documents
from dealdesk.workflow.jobs import decide_pending, route_deals
from tests import invariants
from tests.workflow_builders import (
    RULES,
    STAFF,
    T0,
    Person,
    action,
    add_deal,
    add_deals,
    add_people,
    approvals_of,
    history_of,
    land,
    rejection_rules,
    resubmit,
    snapshot,
    status_change,
    status_of,
)

TRADING = "trading.reviewer@example.com"
FINANCE = "finance.reviewer@example.com"
ADMIN = "admin@example.com"
SELLER = "sam.seller@example.com"
LEGAL = "legal.reviewer@example.com"
APPROVERS = {level: f"{level}.approver@example.com" for level in ("manager", "director", "vp", "svp")}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def decide(lakehouse: Lakehouse, *documents: dict) -> JobRun:
    land(lakehouse, list(documents))
    return decide_pending(lakehouse, RULES)


def routed_deal(lakehouse: Lakehouse, reference: str = "DEAL-2026-100", **deal) -> None:
    add_people(lakehouse)
    add_deal(lakehouse, reference, **deal)
    route_deals(lakehouse, RULES)


def approve_stage1(reference: str, hours: float = 1) -> list[dict]:
    return [
        action(reference, 1, "trading", "approve", TRADING, at(hours)),
        action(reference, 1, "finance", "approve", FINANCE, at(hours + 0.5)),
    ]


# -- the dollar ladder ---------------------------------------------------------------------------

LADDER = [
    (49_999.99, None),
    (50_000.00, "manager"),
    (99_999.99, "manager"),
    (100_000.00, "director"),
    (499_999.99, "director"),
    (500_000.00, "vp"),
    (999_999.99, "vp"),
    (1_000_000.00, "svp"),
]


def test_every_ladder_boundary_decides_the_business_approval(lakehouse: Lakehouse):
    people = add_people(lakehouse)
    refs = [f"DEAL-2026-{n:03d}" for n in range(1, len(LADDER) + 1)]
    add_deals(lakehouse, [dict(reference=r, value=v) for r, (v, _) in zip(refs, LADDER, strict=True)])
    route_deals(lakehouse, RULES)
    run = decide(lakehouse, *[doc for r in refs for doc in approve_stage1(r)])
    assert run.rejected == 0 and run.accepted == 2 * len(refs)
    for ref, (value, level) in zip(refs, LADDER, strict=True):
        stage2 = [r for r in approvals_of(lakehouse, ref) if r["approval_stage"] == 2]
        if level is None:
            assert stage2 == [], value
            assert status_of(lakehouse, ref) == "approved", value
        else:
            assert [(r["approval_level"], r["department"], r["required_role"]) for r in stage2] == [
                (level, "trading", "approver")
            ], value
            assert stage2[0]["assigned_to"] == people[APPROVERS[level]]
            assert stage2[0]["created_at"] == at(1.5)  # the completing decision's business time
            assert status_of(lakehouse, ref) == "under_review", value
    invariants.check(lakehouse)
    # The business approval by the assigned approver approves the deal.
    second = [
        action(ref, 2, None, "approve", APPROVERS[level], at(3))
        for ref, (_, level) in zip(refs, LADDER, strict=True)
        if level
    ]
    assert decide(lakehouse, *second).rejected == 0
    assert {status_of(lakehouse, ref) for ref in refs} == {"approved"}
    invariants.check(lakehouse)


def test_the_ladder_is_configuration(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-050", value=55_000)
    route_deals(lakehouse, RULES)
    land(lakehouse, approve_stage1("DEAL-2026-050"))
    decide_pending(lakehouse, replace(RULES, ladder=replace(RULES.ladder, manager=60_000)))
    assert status_of(lakehouse, "DEAL-2026-050") == "approved"


# -- approve-all paths ------------------------------------------------------------------------------


def test_approve_all_without_stage_2(lakehouse: Lakehouse):
    routed_deal(lakehouse, value=20_000, categories=("analytics",))
    run = decide(
        lakehouse,
        *approve_stage1("DEAL-2026-100"),
        action(
            "DEAL-2026-100", 1, "solutions", "approve", "solutions.reviewer@example.com", at(2), comments="ok"
        ),
    )
    assert run.accepted == 3
    rows = approvals_of(lakehouse, "DEAL-2026-100")
    assert {(r["department"], r["status"]) for r in rows} == {
        ("finance", "approved"),
        ("solutions", "approved"),
        ("trading", "approved"),
    }
    assert next(r for r in rows if r["department"] == "solutions")["completed_at"] == at(2)
    assert history_of(lakehouse, "DEAL-2026-100")[-1] == (3, "under_review", "approved", at(2))
    actions = lakehouse.read("approval_actions").filter(F.col("action_type") == "approve").collect()
    assert sorted(a["created_at"] for a in actions) == [at(1), at(1.5), at(2)]
    invariants.check(lakehouse)


def test_a_whole_path_in_one_batch_applies_in_business_time_order(lakehouse: Lakehouse):
    """Stage 1, stage 2 and the contract steps of one deal arriving together."""
    routed_deal(lakehouse, value=150_000)
    ref = "DEAL-2026-100"
    run = decide(
        lakehouse,
        # landed out of order on purpose
        status_change(ref, "signed", ADMIN, at(9), comments="signed by the client"),
        action(ref, 2, "trading", "approve", APPROVERS["director"], at(3)),
        *approve_stage1(ref),
        status_change(ref, "contract_drafting", LEGAL, at(5)),
        status_change(ref, "client_review", LEGAL, at(7)),
    )
    assert run.rejected == 0, snapshot(lakehouse)["rejected_documents"]
    assert [h[2] for h in history_of(lakehouse, ref)] == [
        "submitted",
        "under_review",
        "approved",
        "contract_drafting",
        "client_review",
        "signed",
    ]
    assert [h[3] for h in history_of(lakehouse, ref)][2:] == [at(3), at(5), at(7), at(9)]
    invariants.check(lakehouse)


# -- refusals ---------------------------------------------------------------------------------------


def test_an_unauthorised_approver_is_refused(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    ref = "DEAL-2026-100"
    docs = {
        "finance on trading": action(ref, 1, "trading", "approve", FINANCE, at(1)),
        "seller": action(ref, 1, "finance", "approve", SELLER, at(1)),
        "stranger": action(ref, 1, "finance", "approve", "nobody@example.com", at(1)),
    }
    run = decide(lakehouse, *docs.values())
    assert run.rejected == 3 and run.accepted == 0
    assert rejection_rules(lakehouse, docs["finance on trading"]["event_id"]) == ["not_authorised"]
    assert rejection_rules(lakehouse, docs["seller"]["event_id"]) == ["not_authorised"]
    assert rejection_rules(lakehouse, docs["stranger"]["event_id"]) == ["unknown_user"]
    assert {r["status"] for r in approvals_of(lakehouse, ref)} == {"pending"}
    # An admin may decide any approval.
    assert decide(lakehouse, action(ref, 1, "trading", "approve", ADMIN, at(2))).accepted == 1
    invariants.check(lakehouse)


def test_an_inactive_reviewer_and_an_insufficient_approval_level_are_refused(lakehouse: Lakehouse):
    add_people(
        lakehouse,
        [*STAFF, Person("old.finance@example.com", "department_reviewer", "finance", is_active=False)],
    )
    add_deal(lakehouse, "DEAL-2026-100", value=600_000)
    route_deals(lakehouse, RULES)
    ref = "DEAL-2026-100"
    inactive = action(ref, 1, "finance", "approve", "old.finance@example.com", at(1))
    decide(lakehouse, inactive, *approve_stage1(ref, hours=2))
    assert rejection_rules(lakehouse, inactive["event_id"]) == ["inactive_user"]
    low = action(ref, 2, "trading", "approve", APPROVERS["director"], at(4))
    high = action(ref, 2, "trading", "approve", APPROVERS["svp"], at(5))
    run = decide(lakehouse, low, high)
    assert rejection_rules(lakehouse, low["event_id"]) == ["not_authorised"]
    assert run.accepted == 1 and status_of(lakehouse, ref) == "approved"
    invariants.check(lakehouse)


def test_an_action_on_a_closed_approval_is_refused(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    ref = "DEAL-2026-100"
    again = action(ref, 1, "trading", "comment", TRADING, at(2), comments="one more thing")
    run = decide(lakehouse, action(ref, 1, "trading", "approve", TRADING, at(1)), again)
    assert run.accepted == 1 and rejection_rules(lakehouse, again["event_id"]) == ["approval_closed"]


def test_request_revision_needs_a_comment_and_moves_the_deal(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    ref = "DEAL-2026-100"
    bare = action(ref, 1, "finance", "request_revision", FINANCE, at(1))
    decide(lakehouse, bare)
    assert rejection_rules(lakehouse, bare["event_id"]) == ["required"]
    decide(
        lakehouse, action(ref, 1, "finance", "request_revision", FINANCE, at(2), comments="margin too thin")
    )
    finance = next(r for r in approvals_of(lakehouse, ref) if r["department"] == "finance")
    assert (finance["status"], finance["revision_reason"], finance["completed_at"]) == (
        "revision_requested",
        "margin too thin",
        at(2),
    )
    assert status_of(lakehouse, ref) == "revision_requested"
    late = action(ref, 1, "trading", "approve", TRADING, at(3))
    decide(lakehouse, late)
    assert rejection_rules(lakehouse, late["event_id"]) == ["deal_not_in_review"]
    invariants.check(lakehouse)


def test_revision_then_resubmission_opens_a_new_round_and_old_round_actions_are_refused(lakehouse: Lakehouse):
    routed_deal(lakehouse, value=80_000)
    ref = "DEAL-2026-100"
    decide(lakehouse, action(ref, 1, "trading", "request_revision", TRADING, at(1), comments="fix tiers"))
    resubmit(lakehouse, ref, at(24), value=40_000)
    route_deals(lakehouse, RULES)
    rows = approvals_of(lakehouse, ref)
    assert [(r["approval_round"], r["department"], r["status"]) for r in rows] == [
        (0, "finance", "pending"),
        (0, "trading", "revision_requested"),
        (1, "finance", "pending"),
        (1, "trading", "pending"),
    ]
    assert {r["created_at"] for r in rows if r["approval_round"] == 1} == {at(24)}
    assert [h[1:] for h in history_of(lakehouse, ref)] == [
        (None, "submitted", T0),
        ("submitted", "under_review", T0),
        ("under_review", "revision_requested", at(1)),
        ("revision_requested", "under_review", at(24)),
    ]
    # An action that happened before the new round was routed belongs to the old one.
    stale = action(ref, 1, "finance", "approve", FINANCE, at(12))
    run = decide(lakehouse, stale, *approve_stage1(ref, hours=25))
    assert rejection_rules(lakehouse, stale["event_id"]) == ["earlier_round"]
    assert run.accepted == 2
    assert status_of(lakehouse, ref) == "approved"  # 40,000 after the revision: below the ladder
    assert {r["status"] for r in approvals_of(lakehouse, ref) if r["approval_round"] == 0} == {
        "pending",
        "revision_requested",
    }
    invariants.check(lakehouse)


def test_rejection_loses_the_deal(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    ref = "DEAL-2026-100"
    decide(lakehouse, action(ref, 1, "trading", "reject", TRADING, at(1), comments="no strategic fit"))
    trading = next(r for r in approvals_of(lakehouse, ref) if r["department"] == "trading")
    assert (trading["status"], trading["completed_at"], trading["comments"]) == (
        "rejected",
        at(1),
        "no strategic fit",
    )
    assert history_of(lakehouse, ref)[-1] == (3, "under_review", "lost", at(1))
    invariants.check(lakehouse)


def test_comment_and_assign_write_actions_and_the_new_assignee_may_decide(lakehouse: Lakehouse):
    people = add_people(lakehouse, [*STAFF, Person("fin.two@example.com", "department_reviewer", "finance")])
    add_deal(lakehouse, "DEAL-2026-100")
    route_deals(lakehouse, RULES)
    ref = "DEAL-2026-100"
    wrong = action(ref, 1, "finance", "assign", FINANCE, at(1.5), assign_to=SELLER)
    run = decide(
        lakehouse,
        action(ref, 1, "finance", "comment", FINANCE, at(1), comments="looking"),
        wrong,
        action(ref, 1, "finance", "assign", FINANCE, at(2), assign_to="fin.two@example.com"),
    )
    assert run.accepted == 2 and rejection_rules(lakehouse, wrong["event_id"]) == ["not_eligible"]
    finance = next(r for r in approvals_of(lakehouse, ref) if r["department"] == "finance")
    assert (finance["status"], finance["assigned_to"]) == ("pending", people["fin.two@example.com"])
    actions = lakehouse.read("approval_actions").filter(F.col("approval_id") == finance["id"]).collect()
    assert {(a["action_type"], a["performed_by"], a["assigned_to"], a["comments"]) for a in actions} == {
        ("assign", None, min(people[FINANCE], people["fin.two@example.com"]), None),
        ("assign", people[FINANCE], people["fin.two@example.com"], None),
        ("comment", people[FINANCE], None, "looking"),
        ("initiate", None, None, None),
    }
    assert status_of(lakehouse, ref) == "under_review"


def test_documents_that_do_not_parse_are_rejected_with_every_reason(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    bad = action("DEAL-2026-100", 7, "finance", "bless", None, at(1))  # type: ignore[arg-type]
    unknown = action("DEAL-2026-999", 1, "finance", "approve", FINANCE, at(1))
    decide(lakehouse, bad, unknown)
    assert sorted(rejection_rules(lakehouse, bad["event_id"])) == ["invalid", "invalid", "required"]
    assert rejection_rules(lakehouse, unknown["event_id"]) == ["unknown_deal"]
    row = lakehouse.read("rejected_documents").filter(F.col("event_id") == unknown["event_id"]).first()
    assert json.loads(row["payload"])["reference_number"] == "DEAL-2026-999"


# -- replay safety ----------------------------------------------------------------------------------


def test_deciding_again_changes_nothing(lakehouse: Lakehouse):
    routed_deal(lakehouse, value=70_000)
    decide(
        lakehouse,
        *approve_stage1("DEAL-2026-100"),
        action("DEAL-2026-999", 1, "x", "approve", FINANCE, at(1)),
    )
    before = snapshot(lakehouse)
    run = decide_pending(lakehouse, RULES)
    assert run.lines_read == 0
    assert snapshot(lakehouse) == before


def test_a_rejected_document_is_applied_when_replayed_after_its_deal_arrives(lakehouse: Lakehouse):
    add_people(lakehouse)
    early = action("DEAL-2026-100", 1, "trading", "approve", TRADING, at(1))
    decide(lakehouse, early)
    assert rejection_rules(lakehouse, early["event_id"]) == ["unknown_deal"]
    add_deal(lakehouse, "DEAL-2026-100")
    route_deals(lakehouse, RULES)
    documents = lakehouse.read("raw_documents").filter(F.col("event_id") == early["event_id"])
    with_run = JobRun("replay")
    outcome = decide_documents(lakehouse, documents, with_run, RULES)
    assert outcome.applied == [early["event_id"]]
    assert with_run.accepted_by_kind == {"approval_action": 1}
    replayed = lakehouse.read("rejected_documents").filter(F.col("event_id") == early["event_id"]).first()
    assert replayed["replayed_at"] is not None and replayed["replay_run_id"] == with_run.run_id
    # A second replay of the same document applies nothing new.
    again = decide_documents(lakehouse, documents, JobRun("replay"), RULES)
    assert again.already_applied == [early["event_id"]] and again.applied == []
    assert len([a for a in approvals_of(lakehouse, "DEAL-2026-100") if a["status"] == "approved"]) == 1
    invariants.check(lakehouse)


def test_a_later_copy_of_a_still_rejected_document_is_decided_once_not_on_every_run(lakehouse: Lakehouse):
    add_people(lakehouse)
    early = action("DEAL-2026-100", 1, "trading", "approve", TRADING, at(1))
    decide(lakehouse, early)
    land(lakehouse, [early], source_file="landing/resent.jsonl")  # the same document, sent again
    first = decide_pending(lakehouse, RULES)
    assert first.rejected_by_kind == {"approval_action": 1}
    assert rejection_rules(lakehouse, early["event_id"]) == ["unknown_deal"]
    again = decide_pending(lakehouse, RULES)
    assert again.lines_read == 0


# -- stage 2 assignment -----------------------------------------------------------------------------


def test_stage_2_goes_to_the_lowest_sufficient_level_then_the_least_loaded(lakehouse: Lakehouse):
    team = [p for p in STAFF if p.approval_level != "manager"] + [
        Person("dir.two@example.com", "approver", "trading", "director"),
        Person("svp.gone@example.com", "approver", "trading", "svp", is_active=False),
    ]
    people = add_people(lakehouse, team)
    refs = ["DEAL-2026-201", "DEAL-2026-202", "DEAL-2026-203"]
    add_deals(lakehouse, [dict(reference=r, value=60_000, submitted_at=at(n)) for n, r in enumerate(refs)])
    route_deals(lakehouse, RULES)
    decide(lakehouse, *[doc for n, r in enumerate(refs) for doc in approve_stage1(r, hours=5 + n)])
    directors = sorted([people["director.approver@example.com"], people["dir.two@example.com"]])
    assigned = [
        next(a["assigned_to"] for a in approvals_of(lakehouse, r) if a["approval_stage"] == 2) for r in refs
    ]
    # No active manager: directors take manager-level approvals, balanced, lowest id first.
    assert assigned == [directors[0], directors[1], directors[0]]


# -- status changes -----------------------------------------------------------------------------


def test_status_changes_follow_the_machine_and_the_roles(lakehouse: Lakehouse):
    people = add_people(lakehouse)
    add_deals(
        lakehouse,
        [
            dict(reference="DEAL-2026-301"),
            dict(reference="DEAL-2026-302"),
            dict(reference="DEAL-2026-303", status="draft"),
        ],
    )
    route_deals(lakehouse, RULES)
    a, b, draft = "DEAL-2026-301", "DEAL-2026-302", "DEAL-2026-303"
    refused = {
        "seller from under_review": status_change(a, "lost", SELLER, at(1)),
        "approver into under_review": status_change(draft, "submitted", APPROVERS["vp"], at(1)),
        "approved with open approvals": status_change(a, "approved", APPROVERS["vp"], at(1.5)),
        "not in the table": status_change(b, "signed", ADMIN, at(1)),
        "unknown status": status_change(b, "won", ADMIN, at(1)),
    }
    run = decide(
        lakehouse,
        *refused.values(),
        status_change(a, "negotiating", APPROVERS["vp"], at(2), comments="client pushes back"),
        status_change(b, "lost", ADMIN, at(2), comments="client withdrew"),
        status_change(draft, "submitted", SELLER, at(3)),
    )
    assert run.accepted == 3 and run.rejected == len(refused)
    assert rejection_rules(lakehouse, refused["seller from under_review"]["event_id"]) == ["role_not_allowed"]
    assert rejection_rules(lakehouse, refused["approver into under_review"]["event_id"]) == [
        "role_not_allowed"
    ]
    assert rejection_rules(lakehouse, refused["approved with open approvals"]["event_id"]) == [
        "open_approvals"
    ]
    assert rejection_rules(lakehouse, refused["not in the table"]["event_id"]) == ["transition_not_allowed"]
    assert rejection_rules(lakehouse, refused["unknown status"]["event_id"]) == ["invalid"]
    assert (status_of(lakehouse, a), status_of(lakehouse, b), status_of(lakehouse, draft)) == (
        "negotiating",
        "lost",
        "submitted",
    )
    last = lakehouse.read("deal_status_history").orderBy(F.col("changed_at").desc()).first()
    assert (last["status"], last["performed_by"], last["changed_at"]) == ("submitted", people[SELLER], at(3))
    # Decisions go on while negotiating; the last approval approves the deal.
    decide(lakehouse, *approve_stage1(a, hours=4))
    assert status_of(lakehouse, a) == "approved"
    # A submitted-by-hand draft is routed like any submission.
    route_deals(lakehouse, RULES)
    assert status_of(lakehouse, draft) == "under_review"
    invariants.check(lakehouse)


def test_a_seller_cannot_reopen_review_by_hand(lakehouse: Lakehouse):
    routed_deal(lakehouse)
    ref = "DEAL-2026-100"
    decide(lakehouse, action(ref, 1, "trading", "request_revision", TRADING, at(1), comments="fix it"))
    reopen = status_change(ref, "under_review", SELLER, at(2))
    decide(lakehouse, reopen)
    assert rejection_rules(lakehouse, reopen["event_id"]) == ["routing_only"]
    decide(lakehouse, status_change(ref, "lost", SELLER, at(3), comments="client walked away"))
    assert status_of(lakehouse, ref) == "lost"
    invariants.check(lakehouse)
