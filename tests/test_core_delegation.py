"""Delegation in the core (business rules, section 4b): who takes the approvals of a person away."""

from __future__ import annotations

from collections import Counter

from dealdesk.core import delegation
from tests.core_builders import (
    APPROVERS,
    FINANCE,
    LATEST,
    SELLER,
    STAFF,
    TRADING,
    Person,
    World,
    action,
    at,
    delegation_document,
    rules_of,
    submission,
    uid,
)

REF = "DEAL-2026-001"
COVER = "second.trading@example.com"  # a second trading reviewer
PEOPLE = (*STAFF, Person(COVER, "department_reviewer", "trading"))
MANAGER, DIRECTOR = APPROVERS["manager"], APPROVERS["director"]


def world() -> World:
    """Trading reviews go to TRADING (the department's default assignee) unless delegated."""
    return World(people=PEOPLE, defaults={"trading": TRADING})


def away(
    delegator: str = TRADING, delegate: str = COVER, starts: float = 0, ends: float = 48, when: float = 0
):
    return delegation_document(delegator, delegate, at(starts), at(ends), at(when))


def assigns(w: World, approval_id: int) -> list[tuple]:
    return sorted(
        (a["created_at"], a["performed_by"], a["assigned_to"], a["comments"], a["source_event_id"])
        for a in w.actions_of(approval_id)
        if a["action_type"] == "assign"
    )


def test_an_approval_routed_to_a_person_away_goes_to_the_delegate_with_the_reason():
    w = world()
    w.run([away(starts=0, ends=48), submission(at(1), value=80_000.0)])
    trading = w.approval(REF, "trading")
    assert trading["assigned_to"] == uid(COVER)
    ((when, by, to, comment, _),) = assigns(w, trading["id"])
    assert (when, by, to) == (at(1), None, uid(COVER))
    assert comment == f"delegated by {TRADING}, away until {at(48).isoformat(sep=' ')}: on holiday"
    assert w.approval(REF, "finance")["assigned_to"] == uid(FINANCE)  # finance's reviewer is not away


def test_open_approvals_are_handed_over_at_the_start_once():
    w = world()
    w.run([submission(at(0), value=80_000.0), away(starts=5, ends=48, when=1)])
    trading = w.approval(REF, "trading")
    assert trading["assigned_to"] == uid(TRADING)  # the start has not come yet (no monitoring)
    w.run([], as_of=at(6))
    trading = w.approval(REF, "trading")
    assert trading["assigned_to"] == uid(COVER)
    handed = assigns(w, trading["id"])[-1]
    assert handed[:3] == (at(5), None, uid(COVER))
    assert handed[4].startswith(delegation.START_EVENT_PREFIX)
    assert w.approval(REF, "finance")["assigned_to"] == uid(FINANCE)
    before = w.dump()
    w.run([], as_of=at(7))
    assert w.dump() == before  # the start fell due once


def test_a_delegation_that_has_started_hands_over_at_its_documents_time():
    w = world()
    w.run([submission(at(0), value=80_000.0)])
    w.run([away(starts=-24, ends=48, when=2)])
    assert assigns(w, w.approval(REF, "trading")["id"])[-1][:3] == (at(2), None, uid(COVER))


def test_a_delegate_who_may_not_decide_leaves_the_approval_with_the_person_away():
    w = world()
    w.run([away(TRADING, FINANCE), submission(at(1), value=80_000.0)])  # finance reviews no trading
    assert w.approval(REF, "trading")["assigned_to"] == uid(TRADING)
    assert w.approval(REF, "finance")["assigned_to"] == uid(FINANCE)


def test_the_delegates_own_delegation_is_not_followed():
    w = world()
    w.run([away(TRADING, COVER), away(COVER, "admin@example.com"), submission(at(1), value=80_000.0)])
    assert w.approval(REF, "trading")["assigned_to"] == uid(COVER)


def test_after_the_end_new_approvals_come_back_and_handed_ones_stay():
    w = world()
    w.run([submission(at(0), value=80_000.0), away(starts=0, ends=10, when=1)], as_of=LATEST)
    assert w.approval(REF, "trading")["assigned_to"] == uid(COVER)
    w.run([submission(at(12), value=90_000.0)])
    assert w.approval("DEAL-2026-002", "trading")["assigned_to"] == uid(TRADING)
    assert w.approval(REF, "trading")["assigned_to"] == uid(COVER)


def test_a_business_approval_goes_to_a_delegate_of_the_same_or_a_higher_level_only():
    w = world()
    w.run(
        [away(MANAGER, DIRECTOR), away(DIRECTOR, MANAGER), submission(at(1), value=80_000.0, categories=())]
    )
    w.run(
        [
            action(REF, 1, "trading", "approve", TRADING, at(2)),
            action(REF, 1, "finance", "approve", FINANCE, at(2)),
        ]
    )
    assert w.approval(REF, "trading", stage=2)["assigned_to"] == uid(DIRECTOR)  # manager level, manager away
    w.run([submission(at(3), value=150_000.0, categories=())])  # director level: a manager may not take it
    second = "DEAL-2026-002"
    w.run(
        [
            action(second, 1, "trading", "approve", TRADING, at(4)),
            action(second, 1, "finance", "approve", FINANCE, at(4)),
        ]
    )
    assert w.approval(second, "trading", stage=2)["assigned_to"] == uid(DIRECTOR)


def test_a_delegation_is_refused_for_unknown_people_sellers_and_periods_already_over():
    w = world()
    unknown = away(TRADING, "nobody@example.com")
    seller = away(SELLER, TRADING)
    over = away(starts=-48, ends=-1, when=0)
    effects = w.run([unknown, seller, over])
    assert rules_of(effects, unknown) == ["unknown_user"]
    assert rules_of(effects, seller) == ["role_not_allowed"]
    assert rules_of(effects, over) == ["already_ended"]
    assert w.tables["delegations"] == {}


def test_one_batch_or_one_batch_per_document_give_the_same_tables():
    documents = [
        submission(at(0), value=80_000.0),
        away(starts=3, ends=30, when=1),
        submission(at(4), value=200_000.0),
        action(REF, 1, "finance", "approve", FINANCE, at(5)),
        action(REF, 1, "trading", "approve", COVER, at(6)),
        submission(at(31), value=70_000.0),
    ]
    once = world()
    once.run(documents, as_of=LATEST)
    split = world()
    for document in documents:
        split.run([document], as_of=LATEST)
    assert split.dump() == once.dump()
    assert once.approval(REF, "trading")["status"] == "approved"
    assert once.approval("DEAL-2026-003", "trading")["assigned_to"] == uid(TRADING)
    assert len(once.tables["delegations"]) == 1
    (row,) = once.tables["delegations"].values()
    assert row["reassigned_at"] == at(3)


def test_routing_weighs_a_person_away_by_the_delegates_load_so_the_work_stays_spread():
    third = "third.trading@example.com"
    w = World(people=(*PEOPLE, Person(third, "department_reviewer", "trading")))  # no default assignee
    w.run([away(TRADING, COVER, starts=0, ends=100)])
    w.run([submission(at(hour), value=20_000.0, categories=()) for hour in (1, 2, 3, 4)])
    assigned = Counter(w.approval(f"DEAL-2026-{n:03d}", "trading")["assigned_to"] for n in (1, 2, 3, 4))
    # the reviewer away never has a queue of their own, yet is not picked every time for it
    assert assigned == {uid(COVER): 2, uid(third): 2}
