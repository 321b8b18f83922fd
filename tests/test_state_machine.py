"""The deal status machine and the role rules for manual changes (business rules, section 5)."""

from __future__ import annotations

import itertools

import pytest

from dealdesk.config import DEAL_STATUSES
from dealdesk.core.state_machine import (
    manual_change_refusal,
    transition_allowed,
)

# The section-5 table, written out here independently of the configuration.
ALLOWED = {
    ("draft", "scoping"),
    ("draft", "submitted"),
    ("scoping", "submitted"),
    ("submitted", "under_review"),
    ("submitted", "lost"),
    ("under_review", "revision_requested"),
    ("under_review", "negotiating"),
    ("under_review", "approved"),
    ("under_review", "lost"),
    ("revision_requested", "under_review"),
    ("revision_requested", "lost"),
    ("negotiating", "revision_requested"),
    ("negotiating", "approved"),
    ("negotiating", "lost"),
    ("approved", "contract_drafting"),
    ("approved", "lost"),
    ("contract_drafting", "client_review"),
    ("contract_drafting", "lost"),
    ("client_review", "signed"),
    ("client_review", "negotiating"),
    ("client_review", "lost"),
}
# Who may move a deal by hand out of which statuses: (role, department) -> statuses.
PEOPLE = {
    "seller": ("seller", "trading"),
    "approver": ("approver", "trading"),
    "legal": ("department_reviewer", "legal"),
    "finance reviewer": ("department_reviewer", "finance"),
    "admin": ("admin", None),
}
MAY_START_FROM = {
    "seller": {"draft", "scoping", "revision_requested"},
    "approver": {"submitted", "under_review", "negotiating", "client_review"},
    "legal": {"approved", "contract_drafting"},
    "finance reviewer": set(),
    "admin": set(DEAL_STATUSES) - {"signed", "lost"},
}


def test_the_table_is_exactly_the_section_5_table():
    assert {
        (a, b) for a, b in itertools.product(DEAL_STATUSES, DEAL_STATUSES) if transition_allowed(a, b)
    } == ALLOWED


@pytest.mark.parametrize("final", ["signed", "lost"])
def test_final_statuses_allow_nothing(final):
    assert not any(transition_allowed(final, s) for s in DEAL_STATUSES)
    assert all(manual_change_refusal("admin", None, final, s) for s in DEAL_STATUSES)


@pytest.mark.parametrize("person", list(PEOPLE))
def test_every_allowed_manual_change_per_role(person):
    role, department = PEOPLE[person]
    for current, new in sorted(ALLOWED):
        refusal = manual_change_refusal(role, department, current, new)
        if current not in MAY_START_FROM[person]:
            assert refusal == "role_not_allowed", (person, current, new)
        elif new == "under_review":
            assert refusal == "routing_only", (person, current, new)  # only routing puts a deal in review
        else:
            assert refusal is None, (person, current, new)


@pytest.mark.parametrize(
    ("person", "current", "new", "rule"),
    [
        ("seller", "under_review", "approved", "role_not_allowed"),
        ("seller", "draft", "approved", "transition_not_allowed"),
        ("seller", "revision_requested", "negotiating", "transition_not_allowed"),
        ("approver", "approved", "contract_drafting", "role_not_allowed"),
        ("approver", "submitted", "approved", "transition_not_allowed"),
        ("approver", "client_review", "contract_drafting", "transition_not_allowed"),
        ("legal", "contract_drafting", "signed", "transition_not_allowed"),
        ("legal", "client_review", "signed", "role_not_allowed"),
        ("finance reviewer", "under_review", "approved", "role_not_allowed"),
        ("admin", "signed", "lost", "transition_not_allowed"),
        ("admin", "approved", "under_review", "transition_not_allowed"),
    ],
)
def test_forbidden_manual_changes_say_why(person, current, new, rule):
    role, department = PEOPLE[person]
    assert manual_change_refusal(role, department, current, new) == rule


def test_a_legal_approver_counts_as_both():
    assert manual_change_refusal("approver", "legal", "approved", "contract_drafting") is None
    assert manual_change_refusal("approver", "legal", "under_review", "negotiating") is None
