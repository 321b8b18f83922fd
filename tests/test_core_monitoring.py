"""flow_intelligence, the monitoring flag (business rules, section 8), as the decision core sets it.

Plain values, no engine: one test per rule, the flag only ever turning to needs_attention as time
passes (what lets a run re-flag only the deals it touched and those still on track), and the core
writing a flag that time alone turned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dealdesk.config import FINAL_STATUSES, BusinessRules
from dealdesk.core.model import Deal
from dealdesk.core.monitoring import ALWAYS_ON_TRACK, flag
from tests.core_builders import T0, World, submission

REF = "DEAL-2026-001"  # the first deal submitted

RULES = BusinessRules()
LIVE = (
    "submitted",
    "scoping",
    "under_review",
    "negotiating",
    "approved",
    "contract_drafting",
    "client_review",
)


def deal(
    status: str = "under_review", *, since: datetime = T0, priority: str = "medium", revisions: int = 0
) -> Deal:
    return Deal(
        id=1, reference_number=REF, status=status, revision_count=revisions, deal_value=10_000.0,
        priority=priority, created_at=since - timedelta(days=30), updated_at=since, last_status_change=since,
    )  # fmt: skip


def test_a_final_draft_or_converted_deal_is_always_on_track():
    old = T0 + timedelta(days=400)
    for status in (*FINAL_STATUSES, "draft", "converted"):
        assert flag(deal(status, revisions=5, priority="critical"), [T0], old, RULES) == "on_track", status


def test_a_deal_sent_back_for_revision_needs_attention_at_once():
    assert flag(deal("revision_requested"), [], T0, RULES) == "needs_attention"


def test_an_open_approval_past_its_due_date_needs_attention():
    due = T0 + timedelta(hours=72)
    recent = deal(since=due - timedelta(hours=1))  # in review for an hour: no other rule holds
    assert flag(recent, [due], due, RULES) == "on_track"  # due now: not past it
    assert flag(recent, [due], due + timedelta(seconds=1), RULES) == "needs_attention"
    assert flag(recent, [None], due + timedelta(hours=1), RULES) == "on_track"  # no due date


def test_a_deal_revised_twice_needs_attention():
    assert flag(deal(revisions=1), [], T0, RULES) == "on_track"
    assert flag(deal(revisions=2), [], T0, RULES) == "needs_attention"


def test_an_urgent_deal_waiting_more_than_a_day_needs_attention():
    day = T0 + timedelta(days=1)
    assert flag(deal(priority="critical"), [], day, RULES) == "on_track"
    assert flag(deal(priority="high"), [], day + timedelta(seconds=1), RULES) == "needs_attention"
    assert flag(deal(priority="medium"), [], day + timedelta(seconds=1), RULES) == "on_track"


def test_a_deal_negotiating_over_its_days_needs_attention():
    limit = RULES.monitoring.negotiating_attention_days
    assert limit > RULES.monitoring.status_age_days["negotiating"]  # the status age rule comes first
    at_limit = T0 + timedelta(days=RULES.monitoring.status_age_days["negotiating"])
    assert flag(deal("negotiating"), [], at_limit - timedelta(seconds=1), RULES) == "on_track"
    assert flag(deal("negotiating"), [], at_limit, RULES) == "needs_attention"


def test_a_deal_as_old_as_its_status_limit_needs_attention():
    limits = RULES.monitoring.status_age_days
    for status in LIVE:
        days = limits[status]
        assert flag(deal(status), [], T0 + timedelta(days=days, seconds=-1), RULES) == "on_track", status
        assert flag(deal(status), [], T0 + timedelta(days=days), RULES) == "needs_attention", status


@given(
    status=st.sampled_from([*LIVE, *ALWAYS_ON_TRACK, "revision_requested"]),
    priority=st.sampled_from(["low", "medium", "high", "critical"]),
    revisions=st.integers(0, 3),
    due_hours=st.lists(st.integers(-200, 400), max_size=3),
    first=st.integers(-100, 600),
    later=st.integers(0, 600),
)
def test_time_alone_only_ever_turns_a_flag_to_needs_attention(
    status, priority, revisions, due_hours, first, later
):
    subject = deal(status, priority=priority, revisions=revisions)
    due = [T0 + timedelta(hours=h) for h in due_hours]
    before = flag(subject, due, T0 + timedelta(hours=first), RULES)
    after = flag(subject, due, T0 + timedelta(hours=first + later), RULES)
    assert before == after or (before, after) == ("on_track", "needs_attention")


def test_a_run_with_no_document_flags_a_deal_whose_approvals_fell_due():
    world = World()
    world.run([submission(T0)], as_of=T0 + timedelta(hours=1))
    assert world.deal(REF)["flow_intelligence"] == "on_track"
    effects = world.run([], as_of=T0 + timedelta(hours=73))  # past the approvals' 72 hours
    assert [(row["id"], row["flow_intelligence"]) for row in effects.deals_moved] == [
        (world.deal(REF)["id"], "needs_attention")
    ]
    assert world.deal(REF)["status"] == "under_review"  # nothing else changed
    assert effects.history == [] and effects.approvals_changed == []
