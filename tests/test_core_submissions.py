"""Submissions in the core: reference numbers, drafts, resubmission, scoping conversion, rows written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from dealdesk.core import ids
from dealdesk.core.desk import decide
from dealdesk.core.model import reason
from tests.core_builders import (
    RULES,
    SELLER,
    T0,
    TRADING,
    Person,
    World,
    action,
    at,
    existing_deal,
    rules_of,
    scoping_document,
    snapshot,
    status_change,
    submission,
    uid,
    user_document,
)

REF = "DEAL-2026-001"
LIFETIME = timedelta(days=RULES.validation.draft_lifetime_days)


# -- reference numbers --------------------------------------------------------------------------------


def test_reference_numbers_continue_the_highest_of_the_year_zero_padded():
    shot = snapshot()
    shot.highest_reference = {2026: 6, 2025: 80}
    effects = decide(shot, [submission(at(1)), submission(at(2))], RULES)
    assert [d["reference_number"] for d in effects.deals_new] == ["DEAL-2026-007", "DEAL-2026-008"]
    assert [r["reference_number"] for r in effects.ledger] == ["DEAL-2026-007", "DEAL-2026-008"]
    assert [d["id"] for d in effects.deals_new] == [
        ids.deal_id("DEAL-2026-007"),
        ids.deal_id("DEAL-2026-008"),
    ]


def test_reference_numbers_grow_past_three_digits_and_start_again_each_year():
    shot = snapshot()
    shot.highest_reference = {2026: 999}
    docs = [submission(at(1)), submission(datetime(2027, 1, 1, 0, 0)), submission(at(2))]
    effects = decide(shot, docs, RULES)
    assert [d["reference_number"] for d in effects.deals_new] == [
        "DEAL-2026-1000",
        "DEAL-2026-1001",
        "DEAL-2027-001",
    ]


def test_within_a_batch_numbers_follow_business_time_then_event_id():
    late, b, a = (
        submission(at(5), event_id="e-0"),
        submission(at(1), event_id="e-b"),
        submission(at(1), event_id="e-a"),
    )
    effects = decide(snapshot(), [late, b, a], RULES)
    numbers = {r["event_id"]: r["reference_number"] for r in effects.ledger}
    assert numbers == {"e-a": "DEAL-2026-001", "e-b": "DEAL-2026-002", "e-0": "DEAL-2026-003"}


def test_a_rejected_submission_uses_no_number_and_an_unknown_reference_is_refused():
    invalid = submission(at(1), errors=[reason("deal.deal_name", "required", "deal_name is required")])
    unknown = submission(at(2), reference="DEAL-2026-555")
    fine = submission(at(3))
    effects = decide(snapshot(), [invalid, unknown, fine], RULES)
    assert rules_of(effects, invalid) == ["required"]
    assert rules_of(effects, unknown) == ["known_reference"]
    assert [d["reference_number"] for d in effects.deals_new] == ["DEAL-2026-001"]
    assert [(r["event_id"], r["outcome"], r["reference_number"]) for r in effects.ledger] == [
        (invalid.event_id, "rejected", None),
        (unknown.event_id, "rejected", "DEAL-2026-555"),
        (fine.event_id, "applied", "DEAL-2026-001"),
    ]


def test_a_deal_in_review_cannot_be_resubmitted():
    for status in ("submitted", "under_review", "negotiating", "approved", "signed", "lost"):
        again = submission(at(2), reference=REF)
        effects = decide(snapshot([existing_deal(REF, status)]), [again], RULES)
        assert rules_of(effects, again) == ["resubmission_allowed"], status
        assert effects.deals_replaced == effects.history == []


def test_a_new_deal_row_holds_what_was_submitted():
    effects = decide(
        snapshot(), [submission(T0, value=120_000, priority="high", categories=("analytics",))], RULES
    )
    [row] = effects.deals_new
    assert (row["status"], row["revision_count"], row["is_revision"], row["submitted_at"]) == (
        "under_review",
        0,
        False,
        T0,
    )
    assert (row["deal_value"], row["required_approval_level"], row["priority"]) == (
        120_000,
        "director",
        "high",
    )
    assert (row["draft_type"], row["draft_expires_at"], row["created_at"], row["updated_at"]) == (
        None,
        None,
        T0,
        T0,
    )
    assert json.loads(row["validation_warnings"]) and {
        w["rule"] for w in json.loads(row["validation_warnings"])
    } == {"known_advertiser"}  # Acme Foods is not in the (empty) reference data
    assert [t["annual_revenue"] for t in effects.parts_new["deal_tiers"]] == [120_000]
    assert [(v["category_id"], v["deal_id"]) for v in effects.parts_new["incentive_values"]] == [
        ("analytics", row["id"])
    ]
    assert effects.deals_replaced == effects.deals_moved == [] and effects.parts_replaced == {}


def test_a_submitter_who_is_not_an_active_user_is_a_warning_not_an_error():
    gone = Person("gone.seller@example.com", "seller", "trading", is_active=False)
    effects = decide(snapshot(people=[gone]), [submission(T0, submitted_by=gone.email)], RULES)
    [row] = effects.deals_new
    assert "known_user" in {w["rule"] for w in json.loads(row["validation_warnings"])}
    assert effects.history[0]["performed_by"] == uid(gone.email)


# -- drafts -------------------------------------------------------------------------------------------


def test_a_draft_is_saved_not_routed_with_its_expiry():
    world = World()
    effects = world.run([submission(T0, status="draft")])
    deal = world.deal(REF)
    assert (deal["status"], deal["draft_type"], deal["draft_expires_at"], deal["submitted_at"]) == (
        "draft",
        "submission_draft",
        T0 + LIFETIME,
        None,
    )
    assert effects.approvals_new == [] and effects.actions == []
    assert world.history(REF) == [(1, None, "draft", T0)]


def test_a_draft_needs_only_the_draft_checks():
    full_only = [reason("deal.term_end_date", "required", "term_end_date is required")]
    draft = submission(T0, status="draft", errors=full_only)
    effects = decide(snapshot(), [draft], RULES)
    assert effects.rejected == [] and effects.deals_new[0]["status"] == "draft"
    broken = submission(T0, status="draft", draft_errors=[reason("deal.deal_type", "invalid", "bad")])
    assert rules_of(decide(snapshot(), [broken], RULES), broken) == ["invalid"]
    # promoting a draft applies every check
    world = World()
    world.run([draft])
    promote = submission(at(1), reference=REF, errors=full_only)
    world.run([promote])
    assert world.rejection_rules(promote) == ["required"] and world.status(REF) == "draft"


def test_a_draft_saved_again_stays_a_draft_with_no_new_history():
    world = World()
    world.run([submission(T0, status="draft", value=10_000)])
    effects = world.run([submission(at(24), status="draft", reference=REF, value=30_000)])
    assert effects.history == [] and effects.approvals_new == []
    assert [d["deal_value"] for d in effects.deals_replaced] == [30_000]
    deal = world.deal(REF)
    assert (deal["status"], deal["deal_value"], deal["updated_at"], deal["created_at"]) == (
        "draft",
        30_000,
        at(24),
        T0,
    )
    # the expiry counts from when the draft was first stored
    assert deal["draft_expires_at"] == T0 + LIFETIME


def test_a_draft_submitted_by_a_status_change_is_routed_alike_in_one_run_or_two():
    draft, submit = submission(T0, status="draft"), status_change(REF, "submitted", SELLER, at(5))
    apart, together = World(), World()
    apart.run([draft])
    apart.run([submit])  # the deal's row is in the table: only its state is written
    together.run([draft, submit])
    for world in (apart, together):
        deal = world.deal(REF)
        assert (deal["status"], deal["submitted_at"], deal["draft_expires_at"]) == (
            "under_review",
            at(5),
            None,
        )
    assert apart.dump() == together.dump()


def test_a_draft_submitted_again_is_promoted_and_routed():
    world = World()
    world.run([submission(T0, status="draft")])
    effects = world.run([submission(at(5), reference=REF, value=70_000)])
    deal = world.deal(REF)
    assert (deal["status"], deal["submitted_at"], deal["draft_expires_at"], deal["draft_type"]) == (
        "under_review",
        at(5),
        None,
        None,
    )
    assert (deal["revision_count"], deal["is_revision"]) == (0, False)  # a promotion is not a revision
    assert world.history(REF) == [
        (1, None, "draft", T0),
        (2, "draft", "submitted", at(5)),
        (3, "submitted", "under_review", at(5)),
    ]
    event = effects.ledger[0]["event_id"]
    assert [h["id"] for h in effects.history] == [
        ids.status_change_id(ids.deal_id(REF), event, 1),
        ids.status_change_id(ids.deal_id(REF), event, 2),
    ]
    assert {a["department"] for a in world.approvals(REF)} == {"trading", "finance"}


def test_a_draft_expires_at_its_expiry_once_as_of_passes_it():
    world = World()
    world.run([submission(T0, status="draft"), submission(at(24 * 5), status="draft")])
    expiry = T0 + LIFETIME
    assert world.run([], as_of=expiry - timedelta(seconds=1)).history == []
    assert world.run([]).history == []  # no as_of: no timers
    effects = world.run([], as_of=expiry + timedelta(hours=1))
    assert world.status(REF) == "lost" and world.status("DEAL-2026-002") == "draft"
    assert world.history(REF) == [(1, None, "draft", T0), (2, "draft", "lost", expiry)]
    [row] = effects.history
    assert (row["comments"], row["performed_by"], row["source_event_id"]) == (
        "draft expired",
        None,
        f"draft-expired:{REF}",
    )
    assert [(d["status"], d["last_status_change"], d["updated_at"]) for d in effects.deals_moved] == [
        ("lost", expiry, expiry)
    ]
    assert effects.ledger == []  # a timer is not a document
    # once
    assert world.run([], as_of=expiry + timedelta(days=3)).history == []


def test_a_draft_saved_in_the_batch_expires_in_the_batch_when_as_of_is_past_its_expiry():
    expiry = T0 + LIFETIME
    late = submission(expiry + timedelta(hours=1), reference=REF)
    effects = decide(
        snapshot(), [submission(T0, status="draft"), late], RULES, as_of=expiry + timedelta(days=1)
    )
    assert [(h["previous_status"], h["status"], h["changed_at"]) for h in effects.history] == [
        (None, "draft", T0),
        ("draft", "lost", expiry),
    ]
    assert rules_of(effects, late) == ["resubmission_allowed"]  # lost before it came


def test_a_draft_promoted_before_its_expiry_does_not_expire():
    effects = decide(
        snapshot(),
        [submission(T0, status="draft"), submission(at(2), reference=REF)],
        RULES,
        as_of=T0 + LIFETIME * 2,
    )
    assert effects.deals_new[0]["status"] == "under_review"
    assert "lost" not in {h["status"] for h in effects.history}


# -- resubmission ------------------------------------------------------------------------------------


def test_a_resubmission_replaces_fields_and_tiers_and_removes_the_missing_ones():
    world = World()
    world.run([submission(T0, tiers=[(30_000, ("financial",)), (40_000, ("analytics", "technology"))])])
    world.run([action(REF, 1, "trading", "request_revision", TRADING, at(1), comments="one tier")])
    before = {name: set(world.tables[name]) for name in ("deal_tiers", "incentive_values")}
    effects = world.run([submission(at(2), reference=REF, tiers=[(45_000, ("marketing",))])])
    deleted = {r["id"] for r in effects.parts_replaced["deal_tiers"] if r["_delete"]}
    assert deleted == {ids.tier_id(REF, 2)}
    deleted_lines = {r["id"] for r in effects.parts_replaced["incentive_values"] if r["_delete"]}
    assert deleted_lines == {ids.incentive_id(REF, 2, 1), ids.incentive_id(REF, 2, 2)}
    assert set(world.tables["deal_tiers"]) == {ids.tier_id(REF, 1)} < before["deal_tiers"]
    assert [(v["category_id"], v["value"]) for v in world.tables["incentive_values"].values()] == [
        ("marketing", 1000)
    ]
    assert effects.parts_new == {}
    deal = world.deal(REF)
    assert (deal["deal_value"], deal["revision_count"], deal["status"]) == (45_000, 1, "under_review")
    # new round: trading, finance and now marketing; the earlier round stays as it was
    assert [(a["approval_round"], a["department"]) for a in world.approvals(REF)] == [
        (0, "finance"),
        (0, "product"),
        (0, "solutions"),
        (0, "trading"),
        (1, "finance"),
        (1, "marketing"),
        (1, "trading"),
    ]


def test_two_revisions_count_two():
    world = World()
    world.run([submission(T0)])
    for n in (1, 2):
        world.run([action(REF, 1, "finance", "request_revision", "finance.reviewer@example.com", at(10 * n),
                          comments="again")])  # fmt: skip
        world.run([submission(at(10 * n + 1), reference=REF)])
    deal = world.deal(REF)
    assert (deal["revision_count"], deal["status"]) == (2, "under_review")
    assert {a["approval_round"] for a in world.approvals(REF)} == {0, 1, 2}
    assert [h[0] for h in world.history(REF)] == list(range(1, 7))


# -- scoping requests ---------------------------------------------------------------------------------


def test_a_submission_converts_its_scoping_request_once():
    world = World()
    request = scoping_document(T0)
    effects = world.run([request])
    [row] = effects.scoping_new
    assert (row["status"], row["id"]) == ("pending", ids.scoping_request_id(request.event_id))
    effects = world.run([submission(at(1), scoping_request_id=request.event_id)])
    assert effects.scoping_converted == [
        {
            "id": row["id"],
            "status": "converted",
            "converted_deal_id": ids.deal_id(REF),
            "converted_at": at(1),
            "updated_at": at(1),
        }
    ]
    stored = world.tables["deal_scoping_requests"][row["id"]]
    assert (stored["status"], stored["converted_deal_id"]) == ("converted", ids.deal_id(REF))
    # converting twice is refused, by event id or by id
    twice = submission(at(2), scoping_request_id=request.event_id)
    by_id = submission(at(3), scoping_request_id=str(row["id"]))
    effects = world.run([twice, by_id])
    assert world.rejection_rules(twice) == ["not_converted_twice"]
    assert world.rejection_rules(by_id) == ["not_converted_twice"]
    assert effects.deals_new == [] and effects.scoping_converted == []


def test_two_submissions_converting_the_same_request_in_one_batch():
    request = scoping_document(T0)
    first, second = (
        submission(at(1), scoping_request_id=request.event_id),
        submission(at(2), scoping_request_id=request.event_id),
    )
    effects = decide(snapshot(), [second, first, request], RULES)
    assert rules_of(effects, first) == [] and rules_of(effects, second) == ["not_converted_twice"]
    assert [d["reference_number"] for d in effects.deals_new] == ["DEAL-2026-001"]


def test_an_unknown_scoping_request_is_refused():
    unknown = submission(at(1), scoping_request_id="no-such-request")
    assert rules_of(decide(snapshot(), [unknown], RULES), unknown) == ["known_scoping_request"]


# -- people --------------------------------------------------------------------------------------------


def test_a_user_document_updates_the_person_and_an_older_one_does_not():
    world = World()
    newer = user_document(Person(SELLER, "seller", "trading", is_active=False), at(5))
    effects = world.run([newer])
    assert [(u["email"], u["is_active"], u["role"]) for u in effects.users] == [(SELLER, False, "seller")]
    assert world.users[SELLER].is_active is False
    # an older event arriving late is applied (the ledger says so) but changes nothing
    older = user_document(Person(SELLER, "admin"), at(4))
    effects = world.run([older])
    assert [r["outcome"] for r in effects.ledger] == ["applied"] and effects.users == []
    assert (world.users[SELLER].role, world.users[SELLER].is_active) == ("seller", False)


def test_a_user_created_in_the_batch_can_act_later_in_it():
    newcomer = Person("new.finance@example.com", "department_reviewer", "finance")
    world = World()
    world.run([submission(T0)])
    approve = action(REF, 1, "finance", "approve", newcomer.email, at(2))
    world.run([approve, user_document(newcomer, at(1))])
    assert world.outcome(approve) == "applied"
