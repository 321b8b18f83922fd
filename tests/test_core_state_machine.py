"""The status machine and who may move a deal by hand, through the core (business rules, section 5)."""

from __future__ import annotations

import itertools

import pytest

from dealdesk.config import DEAL_STATUSES
from dealdesk.core.desk import decide
from dealdesk.core.state_machine import manual_change_refusal, transition_allowed
from tests.core_builders import (
    ADMIN,
    APPROVERS,
    FINANCE,
    LEGAL,
    RULES,
    SELLER,
    STAFF,
    TRADING,
    Person,
    action,
    at,
    existing_deal,
    rules_of,
    snapshot,
    status_change,
    uid,
)
from tests.test_state_machine import ALLOWED  # the section-5 table, written out independently

# Who may move a deal by hand out of which statuses.
PEOPLE = {
    "seller": SELLER,
    "approver": APPROVERS["vp"],
    "legal": LEGAL,
    "finance reviewer": FINANCE,
    "trading reviewer": TRADING,
    "admin": ADMIN,
    "legal approver": "legal.approver@example.com",
}
EXTRA = (Person("legal.approver@example.com", "approver", "legal", "manager"),)
MAY_START_FROM = {
    "seller": {"draft", "scoping", "revision_requested"},
    "approver": {"submitted", "under_review", "negotiating", "client_review"},
    "legal": {"approved", "contract_drafting"},
    "finance reviewer": set(),
    "trading reviewer": set(),
    "admin": set(DEAL_STATUSES) - {"signed", "lost"},
    "legal approver": {
        "submitted",
        "under_review",
        "negotiating",
        "client_review",
        "approved",
        "contract_drafting",
    },
}
REF = "DEAL-2026-100"


def test_the_table_is_exactly_the_section_5_table():
    assert {
        (a, b) for a, b in itertools.product(DEAL_STATUSES, DEAL_STATUSES) if transition_allowed(a, b)
    } == ALLOWED
    assert not transition_allowed(None, "submitted")  # creation is not a transition


@pytest.mark.parametrize("person", list(PEOPLE))
def test_every_manual_change_of_every_role_through_the_core(person):
    """Each (current, new) pair of statuses, by each kind of person, on a deal with no open
    approvals: applied exactly when the table allows it, the person may start from there and it
    is not a move into review; otherwise rejected with the reasons that say why."""
    email = PEOPLE[person]
    for current, new in itertools.product(DEAL_STATUSES, DEAL_STATUSES):
        change = status_change(REF, new, email, at(1), comments="by hand")
        shot = snapshot([existing_deal(REF, current)], people=[*STAFF, *EXTRA])
        effects = decide(shot, [change], RULES)
        if (current, new) not in ALLOWED:
            expected = ["transition_not_allowed"]
        else:
            expected = [] if current in MAY_START_FROM[person] else ["role_not_allowed"]
            expected += ["routing_only"] if new == "under_review" else []
        assert rules_of(effects, change) == expected, (person, current, new)
        if expected:
            assert effects.history == [] and effects.deals_moved == [], (person, current, new)
            assert [r["outcome"] for r in effects.ledger] == ["rejected"]
            continue
        routed = [(3, "submitted", "under_review", None, "routed for approval, round 0", at(1))]
        assert [(h["seq"], h["previous_status"], h["status"], h["performed_by"], h["comments"],
                 h["changed_at"]) for h in effects.history] == [
            (2, current, new, uid(email), "by hand", at(1)),
            *(routed if new == "submitted" else []),  # a deal submitted by hand is routed
        ], (person, current, new)  # fmt: skip
        final = "under_review" if new == "submitted" else new
        assert [(d["status"], d["last_status_change"]) for d in effects.deals_moved] == [(final, at(1))]
        assert [(r["outcome"], r["reference_number"]) for r in effects.ledger] == [("applied", REF)]


@pytest.mark.parametrize("person", ["seller", "approver", "legal", "finance reviewer", "admin"])
def test_the_plain_refusal_agrees_with_the_table(person):
    user = snapshot(people=[*STAFF, *EXTRA]).users[PEOPLE[person]]
    for current, new in sorted(ALLOWED):
        refusal = manual_change_refusal(user.role, user.department, current, new)
        if current not in MAY_START_FROM[person]:
            assert refusal == "role_not_allowed", (person, current, new)
        elif new == "under_review":
            assert refusal == "routing_only", (person, current, new)
        else:
            assert refusal is None, (person, current, new)


@pytest.mark.parametrize("final", ["signed", "lost"])
def test_final_statuses_allow_nothing_even_for_an_admin(final):
    changes = [status_change(REF, s, ADMIN, at(1)) for s in DEAL_STATUSES]
    effects = decide(snapshot([existing_deal(REF, final)]), changes, RULES)
    assert len(effects.rejected) == len(DEAL_STATUSES) and effects.history == []


@pytest.mark.parametrize("new", ["won", ""])
def test_an_unknown_or_missing_status_is_refused(new):
    change = status_change(REF, new, ADMIN, at(1))
    effects = decide(snapshot([existing_deal(REF, "submitted")]), [change], RULES)
    assert rules_of(effects, change) == ["invalid"]
    assert effects.history == []


def test_manual_approval_needs_the_round_closed():
    """under_review -> approved by an approver is in the table, but not while approvals are pending."""
    from tests.core_builders import World, submission

    world = World()
    world.run([submission(at(0))])
    early = status_change("DEAL-2026-001", "approved", APPROVERS["vp"], at(1))
    world.run([early])
    assert world.rejection_rules(early) == ["open_approvals"]
    world.run([action("DEAL-2026-001", 1, "trading", "approve", TRADING, at(2))])
    still = status_change("DEAL-2026-001", "approved", APPROVERS["vp"], at(3))
    world.run([still])
    assert world.rejection_rules(still) == ["open_approvals"]
    assert world.status("DEAL-2026-001") == "under_review"


def test_an_unknown_or_inactive_performer_is_refused():
    gone = Person("gone.admin@example.com", "admin", is_active=False)
    stranger = status_change(REF, "lost", "nobody@example.com", at(1))
    inactive = status_change(REF, "lost", gone.email, at(1))
    unknown_deal = status_change("DEAL-2026-999", "lost", ADMIN, at(1))
    effects = decide(
        snapshot([existing_deal(REF, "submitted")], people=[*STAFF, gone]),
        [stranger, inactive, unknown_deal],
        RULES,
    )
    assert rules_of(effects, stranger) == ["unknown_user"]
    assert rules_of(effects, inactive) == ["inactive_user"]
    assert rules_of(effects, unknown_deal) == ["unknown_deal"]
    assert effects.history == []
