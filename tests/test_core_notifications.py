"""Notifications in the core (business rules, section 10): who hears what, when, once."""

from __future__ import annotations

from datetime import timedelta

from dealdesk.core import notifications
from dealdesk.core.desk import decide
from tests.core_builders import (
    APPROVERS,
    FINANCE,
    RULES,
    SELLER,
    TRADING,
    World,
    action,
    approve_stage1,
    at,
    delegation_document,
    status_change,
    submission,
    uid,
)

REF = "DEAL-2026-001"
MANAGER = APPROVERS["manager"]


def told(world: World, kind: str) -> list[tuple]:
    return sorted(
        (r["recipient_id"], r["reference_number"], r["notify_at"], r["message"])
        for r in world.tables["notifications"].values()
        if r["kind"] == kind
    )


def test_each_reviewer_hears_of_the_review_assigned_and_a_day_before_it_is_due():
    world = World()
    world.run([submission(at(0), value=80_000.0, categories=())])
    due = at(72)  # medium priority: 72 hours
    assert told(world, notifications.ASSIGNED) == sorted(
        (uid(who), REF, at(0), f"{REF}: the {dept} review is yours, due {due:%Y-%m-%d %H:%M} UTC")
        for dept, who in (("trading", TRADING), ("finance", FINANCE))
    )
    reminders = told(world, notifications.DUE_TOMORROW)
    assert [(r[0], r[2]) for r in reminders] == sorted([(uid(TRADING), due - timedelta(hours=24)),
                                                       (uid(FINANCE), due - timedelta(hours=24))])  # fmt: skip


def test_the_seller_hears_when_the_deal_is_approved_or_sent_back():
    world = World()
    world.run([submission(at(0), value=80_000.0, categories=()), *approve_stage1(REF, hours=1)])
    assert any(r[0] == uid(MANAGER) for r in told(world, notifications.ASSIGNED))  # stage 2 is theirs
    world.run([action(REF, 2, None, "request_revision", MANAGER, at(2), comments="lower the commit")])
    assert told(world, notifications.REVISION_REQUESTED) == [
        (uid(SELLER), REF, at(2), f"{REF}: a revision is requested: lower the commit")
    ]
    world.run([submission(at(3), reference=REF, value=70_000.0, categories=())])
    world.run([*approve_stage1(REF, hours=4), action(REF, 2, None, "approve", MANAGER, at(5))])
    assert told(world, notifications.DEAL_DECIDED) == [(uid(SELLER), REF, at(5), f"{REF} is approved")]


def test_an_approval_overdue_by_a_day_is_escalated_to_its_assignee_once():
    world = World()
    world.run([submission(at(0), value=20_000.0, categories=())])
    world.run([], as_of=at(200))
    world.run([], as_of=at(300))
    escalations = told(world, notifications.ESCALATED)
    assert sorted(r[0] for r in escalations) == sorted([uid(TRADING), uid(FINANCE)])
    assert all(r[2] == at(72 + 24) and "is overdue since" in r[3] for r in escalations)


def test_a_rejected_document_is_told_to_its_sender_when_the_sender_is_a_user():
    world = World()
    refused = status_change("DEAL-2026-999", "lost", TRADING, at(1))
    stranger = status_change("DEAL-2026-999", "lost", "stranger@example.com", at(1))
    world.run([refused, stranger])
    ((recipient, reference, when, message),) = told(world, notifications.DOCUMENT_REJECTED)
    assert (recipient, reference, when) == (uid(TRADING), None, at(1))
    assert message.startswith(
        f"your status_change {refused.event_id} was rejected: no deal has this reference"
    )


def test_the_delegate_hears_of_each_approval_handed_over():
    world = World()
    world.run([submission(at(0), value=80_000.0, categories=())])
    cover = APPROVERS["director"]  # an approver may not take a trading review: nothing handed over
    world.run([delegation_document(TRADING, cover, at(1), at(48), at(1))])
    assert [r[0] for r in told(world, notifications.ASSIGNED)].count(uid(cover)) == 0
    world.run([delegation_document(MANAGER, cover, at(1), at(48), at(1))])
    world.run([*approve_stage1(REF, hours=2)])  # the business approval goes to the director
    assert any(r[0] == uid(cover) and "manager business approval is yours" in r[3]
               for r in told(world, notifications.ASSIGNED))  # fmt: skip


def test_deciding_the_same_documents_again_makes_the_same_notifications():
    documents = [submission(at(0), value=80_000.0, categories=()), *approve_stage1(REF, hours=1)]
    first = decide(World().snapshot(), documents, RULES)
    again = decide(World().snapshot(), list(reversed(documents)), RULES)
    assert first.notifications and sorted(r["id"] for r in first.notifications) == sorted(
        r["id"] for r in again.notifications
    )
    assert len({r["id"] for r in first.notifications}) == len(first.notifications)
