"""Approval actions and status changes in the core (business rules, sections 4 and 5)."""

from __future__ import annotations

from tests.core_builders import (
    ADMIN,
    APPROVERS,
    FINANCE,
    LEGAL,
    SELLER,
    SOLUTIONS,
    STAFF,
    T0,
    TRADING,
    Person,
    World,
    action,
    approve_stage1,
    at,
    status_change,
    submission,
    uid,
)

REF = "DEAL-2026-001"


def routed(value: float = 20_000.0, people: list[Person] | tuple[Person, ...] = STAFF, **deal) -> World:
    world = World(people)
    world.run([submission(T0, value=value, **deal)])
    assert world.status(REF) == "under_review"
    return world


# -- approve-all paths --------------------------------------------------------------------------------


def test_approve_all_without_stage_2():
    world = routed(categories=("analytics",))
    effects = world.run(
        [*approve_stage1(REF), action(REF, 1, "solutions", "approve", SOLUTIONS, at(2), comments="ok")]
    )
    assert effects.rejected == [] and [r["outcome"] for r in effects.ledger] == ["applied"] * 3
    rows = world.approvals(REF)
    assert {(r["department"], r["status"]) for r in rows} == {
        ("finance", "approved"),
        ("solutions", "approved"),
        ("trading", "approved"),
    }
    solutions = world.approval(REF, "solutions")
    assert (solutions["completed_at"], solutions["comments"], solutions["updated_at"]) == (at(2), "ok", at(2))
    assert world.history(REF)[-1] == (3, "under_review", "approved", at(2))
    approvals = [a for a in effects.actions if a["action_type"] == "approve"]
    assert sorted((a["created_at"], a["performed_by"]) for a in approvals) == [
        (at(1), uid(TRADING)),
        (at(1.5), uid(FINANCE)),
        (at(2), uid(SOLUTIONS)),
    ]
    # the deal's move is written as a state change of an existing deal
    assert [(d["status"], d["last_status_change"]) for d in effects.deals_moved] == [("approved", at(2))]
    assert effects.deals_new == effects.deals_replaced == []
    assert effects.approvals_new == [] and len(effects.approvals_changed) == 3


def test_a_whole_path_in_one_batch_applies_in_business_time_order():
    """Stage 1, stage 2 and the contract steps of one deal arriving together, out of order."""
    world = World()
    effects = world.run(
        [
            status_change(REF, "signed", ADMIN, at(9), comments="signed by the client"),
            action(REF, 2, "trading", "approve", APPROVERS["director"], at(3)),
            *approve_stage1(REF),
            status_change(REF, "contract_drafting", LEGAL, at(5)),
            status_change(REF, "client_review", LEGAL, at(7)),
            submission(T0, value=150_000),
        ]
    )
    assert effects.rejected == []
    assert [h[1:] for h in world.history(REF)] == [
        (None, "submitted", T0),
        ("submitted", "under_review", T0),
        ("under_review", "approved", at(3)),
        ("approved", "contract_drafting", at(5)),
        ("contract_drafting", "client_review", at(7)),
        ("client_review", "signed", at(9)),
    ]
    assert [h[0] for h in world.history(REF)] == [1, 2, 3, 4, 5, 6]
    # a deal new in this batch is written once, whole, with its final state
    assert [(d["status"], d["last_status_change"]) for d in effects.deals_new] == [("signed", at(9))]
    assert effects.deals_moved == effects.deals_replaced == []
    stage2 = world.approval(REF, "trading", stage=2)
    assert (stage2["status"], stage2["created_at"], stage2["completed_at"]) == ("approved", at(1.5), at(3))
    assert len(effects.approvals_new) == 3 and effects.approvals_changed == []


# -- refusals --------------------------------------------------------------------------------------------


def test_an_unauthorised_approver_is_refused():
    world = routed()
    docs = {
        "finance on trading": action(REF, 1, "trading", "approve", FINANCE, at(1)),
        "seller": action(REF, 1, "finance", "approve", SELLER, at(1)),
        "stranger": action(REF, 1, "finance", "approve", "nobody@example.com", at(1)),
        "approver on stage 1": action(REF, 1, "finance", "approve", APPROVERS["svp"], at(1)),
    }
    effects = world.run(list(docs.values()))
    assert len(effects.rejected) == 4 and effects.actions == []
    assert world.rejection_rules(docs["finance on trading"]) == ["not_authorised"]
    assert world.rejection_rules(docs["seller"]) == ["not_authorised"]
    assert world.rejection_rules(docs["stranger"]) == ["unknown_user"]
    assert world.rejection_rules(docs["approver on stage 1"]) == ["not_authorised"]
    assert {r["status"] for r in world.approvals(REF)} == {"pending"}
    # An admin may decide any approval.
    admin = action(REF, 1, "trading", "approve", ADMIN, at(2))
    world.run([admin])
    assert world.outcome(admin) == "applied" and world.approval(REF, "trading")["status"] == "approved"


def test_the_assignee_may_decide_whatever_their_role():
    """The performer must be the assignee, or hold the role, or be an admin (section 4)."""
    world = routed()
    handed = action(REF, 1, "finance", "assign", ADMIN, at(1), assign_to=ADMIN)
    world.run([handed])
    assert world.approval(REF, "finance")["assigned_to"] == uid(ADMIN)


def test_an_inactive_reviewer_and_an_insufficient_approval_level_are_refused():
    old = Person("old.finance@example.com", "department_reviewer", "finance", is_active=False)
    world = routed(600_000, [*STAFF, old])
    inactive = action(REF, 1, "finance", "approve", old.email, at(1))
    world.run([inactive, *approve_stage1(REF, hours=2)])
    assert world.rejection_rules(inactive) == ["inactive_user"]
    assert world.approval(REF, "trading", stage=2)["approval_level"] == "vp"
    low = action(REF, 2, "trading", "approve", APPROVERS["director"], at(4))
    high = action(REF, 2, "trading", "approve", APPROVERS["svp"], at(5))  # above the level: allowed
    effects = world.run([low, high])
    assert world.rejection_rules(low) == ["not_authorised"]
    assert world.outcome(high) == "applied" and world.status(REF) == "approved"
    assert effects.history[-1]["performed_by"] == uid(APPROVERS["svp"])


def test_an_action_on_a_closed_approval_is_refused():
    world = routed()
    again = action(REF, 1, "trading", "comment", TRADING, at(2), comments="one more thing")
    effects = world.run([action(REF, 1, "trading", "approve", TRADING, at(1)), again])
    assert [r["outcome"] for r in effects.ledger] == ["applied", "rejected"]
    assert world.rejection_rules(again) == ["approval_closed"]


def test_an_action_on_a_stage_the_round_does_not_have_is_refused():
    world = routed()
    stage2 = action(REF, 2, None, "approve", APPROVERS["svp"], at(1))
    legal = action(REF, 1, "legal", "approve", LEGAL, at(1))
    world.run([stage2, legal])
    assert world.rejection_rules(stage2) == ["no_such_approval"]
    assert world.rejection_rules(legal) == ["no_such_approval"]


def test_request_revision_needs_a_comment_and_moves_the_deal():
    world = routed()
    bare = action(REF, 1, "finance", "request_revision", FINANCE, at(1))
    world.run([bare])
    assert world.rejection_rules(bare) == ["required"]
    world.run([action(REF, 1, "finance", "request_revision", FINANCE, at(2), comments="margin too thin")])
    finance = world.approval(REF, "finance")
    assert (finance["status"], finance["revision_reason"], finance["completed_at"]) == (
        "revision_requested",
        "margin too thin",
        at(2),
    )
    assert world.status(REF) == "revision_requested"
    assert world.deal(REF)["revision_reason"] == "margin too thin"
    assert world.history(REF)[-1] == (3, "under_review", "revision_requested", at(2))
    late = action(REF, 1, "trading", "approve", TRADING, at(3))
    world.run([late])
    assert world.rejection_rules(late) == ["deal_not_in_review"]


def test_reject_needs_a_comment():
    world = routed()
    bare = action(REF, 1, "trading", "reject", TRADING, at(1))
    world.run([bare])
    assert world.rejection_rules(bare) == ["required"] and world.status(REF) == "under_review"


def test_revision_then_resubmission_opens_a_new_round_and_old_round_actions_are_refused():
    world = routed(80_000)
    world.run([action(REF, 1, "trading", "request_revision", TRADING, at(1), comments="fix tiers")])
    effects = world.run([submission(at(24), reference=REF, value=40_000, revision_reason="fixed")])
    assert effects.rejected == []
    rows = world.approvals(REF)
    assert [(r["approval_round"], r["department"], r["status"]) for r in rows] == [
        (0, "finance", "pending"),
        (0, "trading", "revision_requested"),
        (1, "finance", "pending"),
        (1, "trading", "pending"),
    ]
    assert {r["created_at"] for r in rows if r["approval_round"] == 1} == {at(24)}
    assert world.history(REF) == [
        (1, None, "submitted", T0),
        (2, "submitted", "under_review", T0),
        (3, "under_review", "revision_requested", at(1)),
        (4, "revision_requested", "under_review", at(24)),
    ]
    deal = world.deal(REF)
    assert (deal["revision_count"], deal["is_revision"], deal["last_revised_at"], deal["deal_value"]) == (
        1,
        True,
        at(24),
        40_000,
    )
    assert deal["revision_reason"] == "fixed"
    # the resubmission replaces an existing deal's row
    assert [d["id"] for d in effects.deals_replaced] == [deal["id"]] and effects.deals_new == []
    # An action that happened before the new round was routed belongs to the old one.
    stale = action(REF, 1, "finance", "approve", FINANCE, at(12))
    effects = world.run([stale, *approve_stage1(REF, hours=25)])
    assert world.rejection_rules(stale) == ["earlier_round"]
    assert [r["outcome"] for r in effects.ledger] == ["rejected", "applied", "applied"]
    assert world.status(REF) == "approved"  # 40,000 after the revision: below the ladder
    assert {r["status"] for r in world.approvals(REF) if r["approval_round"] == 0} == {
        "pending",
        "revision_requested",
    }


def test_rejection_loses_the_deal():
    world = routed()
    world.run([action(REF, 1, "trading", "reject", TRADING, at(1), comments="no strategic fit")])
    trading = world.approval(REF, "trading")
    assert (trading["status"], trading["completed_at"], trading["comments"]) == (
        "rejected",
        at(1),
        "no strategic fit",
    )
    assert world.history(REF)[-1] == (3, "under_review", "lost", at(1))
    assert world.approval(REF, "finance")["status"] == "pending"  # left as it was


def test_comment_and_assign_write_actions_and_the_new_assignee_may_decide():
    two = Person("fin.two@example.com", "department_reviewer", "finance")
    world = routed(people=[*STAFF, two])
    first = world.approval(REF, "finance")["assigned_to"]
    assert first == min(uid(FINANCE), uid(two.email))
    wrong = action(REF, 1, "finance", "assign", FINANCE, at(1.5), assign_to=SELLER)
    effects = world.run(
        [
            action(REF, 1, "finance", "comment", FINANCE, at(1), comments="looking"),
            wrong,
            action(REF, 1, "finance", "assign", FINANCE, at(2), assign_to=two.email),
        ]
    )
    assert [r["outcome"] for r in effects.ledger] == ["applied", "rejected", "applied"]
    assert world.rejection_rules(wrong) == ["not_eligible"]
    finance = world.approval(REF, "finance")
    assert (finance["status"], finance["assigned_to"]) == ("pending", uid(two.email))
    assert {
        (a["action_type"], a["performed_by"], a["assigned_to"], a["comments"])
        for a in world.actions_of(finance["id"])
    } == {
        ("assign", None, first, None),
        ("assign", uid(FINANCE), uid(two.email), None),
        ("comment", uid(FINANCE), None, "looking"),
        ("initiate", None, None, None),
    }
    assert world.status(REF) == "under_review"
    # the new assignee decides
    world.run([action(REF, 1, "finance", "approve", two.email, at(3))])
    assert world.approval(REF, "finance")["status"] == "approved"


def test_documents_that_do_not_parse_are_rejected_with_every_reason():
    world = routed()
    bad = action(REF, 7, "finance", "bless", None, at(1))
    unknown = action("DEAL-2026-999", 1, "finance", "approve", FINANCE, at(1))
    no_ref = action("", 1, "finance", "approve", FINANCE, at(1))
    bad_department = action(REF, 1, "sales", "approve", FINANCE, at(1))
    effects = world.run([bad, unknown, no_ref, bad_department])
    assert sorted(world.rejection_rules(bad)) == ["invalid", "invalid", "required"]
    assert world.rejection_rules(unknown) == ["unknown_deal"]
    assert world.rejection_rules(no_ref) == ["required"]
    assert world.rejection_rules(bad_department) == ["invalid"]
    row = next(r for r in effects.rejected if r["event_id"] == unknown.event_id)
    assert '"DEAL-2026-999"' in row["payload"]
    assert {r["reference_number"] for r in effects.ledger if r["event_id"] == unknown.event_id} == {
        "DEAL-2026-999"
    }


def test_an_action_before_the_deal_exists_is_rejected_and_applied_when_replayed():
    world = World()
    early = action(REF, 1, "trading", "approve", TRADING, at(1))
    world.run([early])
    assert world.rejection_rules(early) == ["unknown_deal"]
    world.run([submission(T0)])
    early.replay = True
    effects = world.run([early])
    assert effects.replayed == [early.event_id]
    assert world.outcome(early) == "applied"
    assert world.approval(REF, "trading")["status"] == "approved"


# -- status changes ----------------------------------------------------------------------------------


def test_status_changes_follow_the_machine_and_the_roles():
    world = World()
    world.run(
        [
            submission(T0),
            submission(at(0.1)),
            submission(at(0.2), status="draft"),
        ]
    )
    a, b, draft = "DEAL-2026-001", "DEAL-2026-002", "DEAL-2026-003"
    assert (world.status(a), world.status(b), world.status(draft)) == (
        "under_review",
        "under_review",
        "draft",
    )
    refused = {
        "seller from under_review": status_change(a, "lost", SELLER, at(1)),
        "approver from draft": status_change(draft, "submitted", APPROVERS["vp"], at(1)),
        "approved with open approvals": status_change(a, "approved", APPROVERS["vp"], at(1.5)),
        "not in the table": status_change(b, "signed", ADMIN, at(1)),
        "unknown status": status_change(b, "won", ADMIN, at(1)),
    }
    effects = world.run(
        [
            *refused.values(),
            status_change(a, "negotiating", APPROVERS["vp"], at(2), comments="client pushes back"),
            status_change(b, "lost", ADMIN, at(2), comments="client withdrew"),
            status_change(draft, "submitted", SELLER, at(3)),
        ]
    )
    assert len(effects.rejected) == len(refused)
    assert [r["outcome"] for r in effects.ledger].count("applied") == 3
    assert world.rejection_rules(refused["seller from under_review"]) == ["role_not_allowed"]
    assert world.rejection_rules(refused["approver from draft"]) == ["role_not_allowed"]
    assert world.rejection_rules(refused["approved with open approvals"]) == ["open_approvals"]
    assert world.rejection_rules(refused["not in the table"]) == ["transition_not_allowed"]
    assert world.rejection_rules(refused["unknown status"]) == ["invalid"]
    # the draft submitted by hand is routed at once, like any submission
    assert (world.status(a), world.status(b), world.status(draft)) == ("negotiating", "lost", "under_review")
    by_hand, routed = effects.history[-2:]
    assert (by_hand["status"], by_hand["performed_by"], by_hand["changed_at"]) == (
        "submitted",
        uid(SELLER),
        at(3),
    )
    assert (routed["status"], routed["performed_by"], routed["changed_at"]) == ("under_review", None, at(3))
    # Decisions go on while negotiating; the last approval approves the deal.
    world.run(approve_stage1(a, hours=4))
    assert world.status(a) == "approved"
    assert world.history(a)[-1] == (4, "negotiating", "approved", at(4.5))


def test_a_seller_cannot_reopen_review_by_hand():
    world = routed()
    world.run([action(REF, 1, "trading", "request_revision", TRADING, at(1), comments="fix it")])
    reopen = status_change(REF, "under_review", SELLER, at(2))
    world.run([reopen])
    assert world.rejection_rules(reopen) == ["routing_only"]
    world.run([status_change(REF, "lost", SELLER, at(3), comments="client walked away")])
    assert world.status(REF) == "lost"
    assert world.history(REF)[-1] == (4, "revision_requested", "lost", at(3))


def test_a_manual_revision_request_keeps_its_comment_as_the_reason():
    world = routed()
    world.run([status_change(REF, "revision_requested", APPROVERS["vp"], at(1), comments="re-price")])
    assert (world.status(REF), world.deal(REF)["revision_reason"]) == ("revision_requested", "re-price")


def test_a_draft_submitted_by_hand_is_routed_like_any_submission():
    world = World()
    world.run([submission(T0, status="draft")])
    world.run([status_change(REF, "submitted", SELLER, at(1))])
    assert world.status(REF) == "under_review"
    assert [r["department"] for r in world.approvals(REF)] == ["finance", "trading"]
