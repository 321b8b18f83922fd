"""No document can stop the desk, and only applied documents move the business clock.

Pure tests of the decision core: a document whose decision raises is rejected with rule
``decision_failed`` and the batch is decided as if it had never come; with ``LatestApplied``
monitoring's "now" is the latest business time of the documents applied, never of a rejected one.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealdesk.config import DOCUMENT_KINDS
from dealdesk.core.desk import DECISION_FAILED, decide
from dealdesk.core.model import Document, LatestApplied
from dealdesk.pipeline.parse import to_document
from tests.core_builders import (
    FINANCE,
    LATEST,
    RULES,
    SELLER,
    T0,
    TRADING,
    World,
    action,
    approve_stage1,
    at,
    existing_deal,
    rules_of,
    snapshot,
    status_change,
    submission,
    user_document,
)
from tests.core_builders import Person as StaffMember
from tests.test_core_order import FAST, batches

REF = "DEAL-2026-001"
FAR_FUTURE = datetime(9999, 12, 31, 23)  # past intake's limits: any due date after it overflows


def tables_but_outcomes(world: World) -> dict[str, list]:
    """Every table but the documents' outcomes (and the notifications of rejections)."""
    tables = {k: v for k, v in world.dump().items() if k not in ("rejected_documents", "processed_events")}
    told = world.tables["notifications"].values()
    tables["notifications"] = sorted(repr(r) for r in told if r["kind"] != "document_rejected")
    return tables


# -- the last line of defence ---------------------------------------------------------------------------


def test_a_document_whose_decision_raises_is_rejected_with_the_error_in_one_line():
    poison = submission(FAR_FUTURE, event_id="poison")
    effects = decide(snapshot(), [submission(T0, event_id="good"), poison], RULES)
    assert rules_of(effects, poison) == [DECISION_FAILED]
    (reason,) = next(r["reasons"] for r in effects.rejected if r["event_id"] == "poison")
    assert "OverflowError" in reason["message"] and "\n" not in reason["message"]
    assert effects.failed == {"poison": "OverflowError: date value out of range"}
    assert {(r["event_id"], r["outcome"]) for r in effects.ledger} == {
        ("good", "applied"),
        ("poison", "rejected"),
    }


def test_the_batch_is_decided_as_if_the_failing_document_had_never_come():
    # critical deals are due after an impossible number of hours: only that one fails, mid-batch
    rules = replace(RULES, sla_hours={**RULES.sla_hours, "critical": 10**9})
    docs = [
        submission(T0, event_id="s1"),
        submission(at(1), event_id="poison", priority="critical"),
        submission(at(2), event_id="s2"),
        *approve_stage1(REF, hours=3),
    ]
    with_poison, without = World(rules=rules), World(rules=rules)
    effects = with_poison.run(docs)
    without.run([d for d in docs if d.event_id != "poison"])
    assert list(effects.failed) == ["poison"]
    assert tables_but_outcomes(with_poison) == tables_but_outcomes(without)
    assert with_poison.status("DEAL-2026-002") == "under_review"  # the reference the poison would have had


def test_a_deal_is_left_as_it_was_before_the_document_that_failed_on_it():
    deal = existing_deal(REF, "revision_requested", revision_count=1, last_seq=4)
    resubmission = submission(FAR_FUTURE, reference=REF, event_id="poison")
    effects = decide(snapshot([deal]), [resubmission], RULES)
    assert rules_of(effects, resubmission) == [DECISION_FAILED]
    assert (effects.deals_new, effects.deals_replaced, effects.deals_moved) == ([], [], [])
    assert (effects.history, effects.approvals_new, effects.actions) == ([], [], [])


def test_a_failing_document_can_be_decided_again_by_a_replay():
    rules = replace(RULES, sla_hours={**RULES.sla_hours, "critical": 10**9})
    world = World(rules=rules)
    poison = submission(T0, event_id="poison", priority="critical")
    world.run([poison])
    assert world.outcome(poison) == "rejected"
    world.rules = RULES  # the fault mended
    world.run([poison])
    assert world.outcome(poison) == "applied" and world.status(REF) == "under_review"


# -- whatever a document holds: a property over extreme values -------------------------------------------

EXTREME_TEXT = ["", " ", "x" * 100_000, "\u0000\u001b[31m", "DEAL-9999-" + "9" * 30, "é" * 600]
EXTREME_NUMBERS = [0, -1, 10**30, -(10**30), 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan, "<huge>"]
EXTREME_WORDS = ["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000, "9999-12-31", "0001-01-01", "2.5"]
EXTREME = st.sampled_from([None, True, [], {}, *EXTREME_TEXT, *EXTREME_NUMBERS, *EXTREME_WORDS])
TIMES = st.sampled_from(
    [datetime(1, 1, 1), datetime(1, 1, 1, 0, 30), T0, FAR_FUTURE, datetime(9999, 12, 31, 23, 59, 59)]
)
FIELDS = {
    "deal_submission": ["submitted_by", "reference_number", "status", "scoping_request_id", "revision_reason"],
    "scoping_request": ["submitted_by"],
    "approval_action": ["reference_number", "approval_stage", "department", "action", "performed_by",
                        "comments", "assign_to"],
    "status_change": ["reference_number", "new_status", "performed_by", "comments"],
}  # fmt: skip
NESTED = {
    "deal_submission": ("deal", ["deal_name", "growth_ambition", "term_start_date", "term_end_date",
                                 "contract_term", "previous_year_revenue", "previous_year_margin", "priority"]),
    "scoping_request": ("request", ["request_title", "growth_ambition", "term_start_date", "term_end_date"]),
    "user": ("user", ["email", "role", "department", "approval_level", "is_active"]),
    "advertiser": ("advertiser", ["name", "previous_year_revenue", "previous_year_margin"]),
    "agency": ("agency", ["name", "type", "previous_year_profit"]),
}  # fmt: skip
TIER_FIELDS = ["tier_number", "annual_revenue", "annual_gross_margin"]


@st.composite
def extreme_documents(draw: st.DrawFn, number: int) -> Document:
    """A document of any kind whose fields hold extreme values, handed to the core as if the
    engine's checks had found nothing wrong (the worst case: the last line of defence alone)."""
    kind = draw(st.sampled_from(DOCUMENT_KINDS))
    doc: dict = {}
    for name in FIELDS.get(kind, []):
        doc[name] = (
            draw(st.sampled_from([REF, SELLER, FINANCE, "approve", 1, 2]))
            if draw(st.booleans())
            else draw(EXTREME)
        )
    if kind in NESTED:
        key, names = NESTED[kind]
        doc[key] = {name: draw(EXTREME) for name in names}
    if kind == "deal_submission":
        doc["tiers"] = [
            {**{name: draw(EXTREME) for name in TIER_FIELDS},
             "incentives": [{"category": "financial", "sub_category": "s", "option": "o", "value": draw(EXTREME)}]}
            for _ in range(draw(st.integers(0, 2)))
        ]  # fmt: skip
    event_id = f"x{number}"
    row = {
        "event_id": event_id,
        "kind": kind,
        "occurred_at": draw(TIMES),
        "source_file": "landing/extreme.jsonl",
        "line_number": number,
        # "<huge>": a JSON integer of 5,000 digits (more than Python converts by default)
        "payload": json.dumps({"event_id": event_id, "kind": kind, **doc}).replace('"<huge>"', "9" * 5000),
        "warnings": [],
        "errors": [],
        "draft_errors": [],
        "full_errors": [],
    }
    return to_document(row, RULES)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data(), count=st.integers(1, 6), clock=st.sampled_from([None, T0]))
def test_whatever_documents_hold_each_ends_applied_or_rejected_and_the_batch_goes_on(data, count, clock):
    extreme = [data.draw(extreme_documents(n)) for n in range(count)]
    ordinary = [
        submission(T0, event_id="ordinary"),
        user_document(StaffMember(TRADING, "department_reviewer", "trading"), at(1)),
    ]
    documents = [*extreme, *ordinary]
    effects = decide(World().snapshot(), documents, RULES, LatestApplied(clock))
    assert sorted(r["event_id"] for r in effects.ledger) == sorted(d.event_id for d in documents)
    for row in effects.rejected:
        assert row["reasons"] and all(r["rule"] and r["message"] for r in row["reasons"])
    outcome = {r["event_id"]: r["outcome"] for r in effects.ledger}
    assert outcome["ordinary"] == "applied"


# -- a rejected document moves no clock ------------------------------------------------------------------


def test_a_rejected_document_dated_far_ahead_moves_no_clock():
    world = World()
    world.run([submission(T0, status="draft")], as_of=LATEST)  # the draft expires 30 days later
    far_ahead = action("DEAL-2099-001", 1, "finance", "approve", FINANCE, datetime(2099, 1, 1))
    effects = world.run([far_ahead], as_of=LATEST)
    assert rules_of(effects, far_ahead) == ["unknown_deal"]
    assert effects.as_of == T0 and world.status(REF) == "draft"
    # an applied document moves it: the draft falls due on the way
    moved = world.run([status_change("DEAL-2026-099", "lost", FINANCE, T0 + timedelta(days=31)),
                       user_document(StaffMember(TRADING, "department_reviewer", "trading"), T0 + timedelta(days=31))],
                      as_of=LATEST)  # fmt: skip
    assert moved.as_of == T0 + timedelta(days=31) and world.status(REF) == "lost"


def test_a_rejected_document_is_still_judged_at_its_own_business_time():
    # the draft expired before the promotion came: refused, though the clock stays at the draft
    world = World()
    world.run([submission(T0, status="draft")], as_of=LATEST)
    promotion = submission(T0 + timedelta(days=40), reference=REF)
    effects = world.run([promotion], as_of=LATEST)
    assert rules_of(effects, promotion) == ["resubmission_allowed"]
    assert effects.as_of == T0 and world.status(REF) == "draft"


@FAST
@given(docs=batches(), cut=st.integers(0, 60))
def test_monitoring_as_of_the_latest_applied_document_does_not_depend_on_batching(docs, cut):
    ordered = sorted(docs, key=lambda d: d.order)
    once = World()
    once.run(ordered, as_of=LATEST)
    split = World()
    split.run(ordered[: min(cut, len(ordered))], as_of=LATEST)
    split.run(ordered[min(cut, len(ordered)) :], as_of=LATEST)
    assert split.dump() == once.dump()
    assert split.clock() == once.clock()
