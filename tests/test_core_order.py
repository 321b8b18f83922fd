"""Order of application in the core: business time, kind, event id; late documents; history seq;
monitoring's timers; the ledger; and batching not mattering (contracts: "Order of application")."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealdesk.core.desk import decide
from dealdesk.core.model import Document
from tests.core_builders import (
    ADMIN,
    APPROVERS,
    FINANCE,
    LEGAL,
    RULES,
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
    delegation_document,
    existing_deal,
    scoping_document,
    snapshot,
    status_change,
    submission,
    uid,
    user_document,
)

REF = "DEAL-2026-001"


def batch() -> list[Document]:
    """A day of documents for two deals, with refusals, a resubmission and a new person."""
    newcomer = Person("new.solutions@example.com", "department_reviewer", "solutions")
    request = scoping_document(T0 - timedelta(hours=1))
    return [
        request,
        submission(T0, value=150_000, categories=("analytics",), scoping_request_id=request.event_id),
        submission(at(0.5), value=30_000, priority="critical"),
        *approve_stage1(REF),
        user_document(newcomer, at(2)),
        action(REF, 1, "solutions", "approve", newcomer.email, at(2)),  # same instant as the user
        action(REF, 2, None, "approve", APPROVERS["manager"], at(3)),  # level too low: refused
        action(REF, 2, None, "approve", APPROVERS["director"], at(4)),
        status_change(REF, "contract_drafting", LEGAL, at(5)),
        action("DEAL-2026-002", 1, "finance", "request_revision", FINANCE, at(1), comments="too rich"),
        submission(at(6), reference="DEAL-2026-002", value=25_000),
        *approve_stage1("DEAL-2026-002", hours=7),
        status_change("DEAL-2026-002", "lost", SELLER, at(9)),  # seller may not move an approved deal
    ]


def test_the_batch_applies_in_business_time_order():
    world = World()
    docs = batch()
    effects = world.run(docs)
    refused = {r["event_id"]: [x["rule"] for x in r["reasons"]] for r in effects.rejected}
    assert refused == {docs[7].event_id: ["not_authorised"], docs[14].event_id: ["role_not_allowed"]}
    assert [h[2] for h in world.history(REF)] == [
        "submitted",
        "under_review",
        "approved",
        "contract_drafting",
    ]
    assert [h[2] for h in world.history("DEAL-2026-002")] == [
        "submitted",
        "under_review",
        "revision_requested",
        "under_review",
        "approved",
    ]
    assert world.deal("DEAL-2026-002")["revision_count"] == 1


def test_any_order_handed_in_gives_the_same_effects():
    expected = decide(World().snapshot(), batch_fixed := batch(), RULES)
    for seed in range(20):
        shuffled = list(batch_fixed)
        random.Random(seed).shuffle(shuffled)
        assert decide(World().snapshot(), shuffled, RULES) == expected, seed


def test_kind_breaks_ties_at_equal_business_time():
    """A user created at the same instant as the action that needs them comes first, whatever
    the event ids say."""
    newcomer = Person("new.finance@example.com", "department_reviewer", "finance")
    world = World()
    world.run([submission(T0, value=60_000)])
    approve = action(REF, 1, "finance", "approve", newcomer.email, at(1), event_id="a-first")
    user = user_document(newcomer, at(1), event_id="z-last")
    effects = world.run([approve, user])
    assert [r["event_id"] for r in effects.ledger] == ["z-last", "a-first"]
    assert world.outcome(approve) == "applied"
    # and at equal time and kind, the event id decides: the close comes before the comment
    close = action(REF, 1, "trading", "approve", TRADING, at(2), event_id="b")
    comment = action(REF, 1, "trading", "comment", TRADING, at(2), event_id="c", comments="x")
    world.run([comment, close])
    assert world.rejection_rules(comment) == ["approval_closed"]


def test_history_seq_continues_across_batches_and_submission_then_routing():
    shot = snapshot([existing_deal(REF, "revision_requested", last_seq=7, revision_count=2)])
    effects = decide(
        shot, [submission(at(1), reference=REF), status_change(REF, "lost", ADMIN, at(2))], RULES
    )
    assert [(h["seq"], h["previous_status"], h["status"]) for h in effects.history] == [
        (8, "revision_requested", "under_review"),
        (9, "under_review", "lost"),
    ]
    assert {a["approval_round"] for a in effects.approvals_new} == {3}


def test_seq_numbers_each_deal_on_its_own():
    effects = decide(snapshot(), [submission(T0), submission(at(0.5)), *approve_stage1(REF)], RULES)
    by_deal: dict[int, list[int]] = {}
    for h in effects.history:
        by_deal.setdefault(h["deal_id"], []).append(h["seq"])
    assert sorted(by_deal.values()) == [[1, 2], [1, 2, 3]]


# -- late documents -----------------------------------------------------------------------------------


def test_a_late_document_is_applied_after_what_came_before_it_keeping_its_own_time():
    world = World()
    world.run(
        [
            submission(T0),
            action(REF, 1, "trading", "approve", TRADING, at(1)),
            status_change(REF, "negotiating", APPROVERS["vp"], at(5)),
        ]
    )
    late = action(REF, 1, "finance", "approve", FINANCE, at(3))  # happened before the negotiating move
    effects = world.run([late])
    assert effects.rejected == []
    assert world.history(REF) == [
        (1, None, "submitted", T0),
        (2, "submitted", "under_review", T0),
        (3, "under_review", "negotiating", at(5)),
        (4, "negotiating", "approved", at(3)),  # judged against the deal as it stands; own time
    ]
    deal = world.deal(REF)
    assert (deal["status"], deal["last_status_change"]) == ("approved", at(3))


def test_a_late_document_is_judged_against_the_deal_as_it_stands():
    world = World()
    world.run([submission(T0), action(REF, 1, "trading", "reject", TRADING, at(5), comments="no")])
    late = action(REF, 1, "finance", "approve", FINANCE, at(3))
    world.run([late])
    assert world.rejection_rules(late) == ["deal_not_in_review"]
    assert world.approval(REF, "finance")["status"] == "pending"


def test_an_action_before_its_approval_was_created_is_refused():
    world = World()
    world.run([submission(T0, value=80_000), *approve_stage1(REF)])  # stage 2 opens at 1.5
    early = action(REF, 2, None, "approve", APPROVERS["manager"], at(1.2))
    world.run([early])
    assert world.rejection_rules(early) == ["approval_not_open_yet"]
    before_routing = action(REF, 1, "trading", "comment", TRADING, T0 - timedelta(hours=1), comments="x")
    world.run([before_routing])
    assert world.rejection_rules(before_routing) == ["earlier_round"]


# -- monitoring's timers ------------------------------------------------------------------------------


def priorities(world: World, reference: str) -> set[str]:
    return {r["priority"] for r in world.approvals(reference) if r["status"] == "pending"}


def test_an_overdue_approval_is_raised_one_step_a_full_day_after_its_due_date_once():
    world = World()
    world.run([submission(T0, priority="medium"), submission(T0, priority="critical")])
    due = T0 + timedelta(hours=72)
    assert world.run([], as_of=due + timedelta(hours=1)).approvals_changed == []  # overdue, not by a day
    assert world.run([]).approvals_changed == []  # no as_of: no timers
    effects = world.run([], as_of=due + timedelta(hours=24))
    assert priorities(world, REF) == {"high"}
    assert {r["updated_at"] for r in world.approvals(REF)} == {due + timedelta(hours=24)}
    assert priorities(world, "DEAL-2026-002") == {"urgent"}  # already the top
    assert {r["deal_id"] for r in effects.approvals_changed} == {world.deal(REF)["id"]}
    # One step, once: later runs do not raise it again.
    assert world.run([], as_of=due + timedelta(days=5)).approvals_changed == []
    assert priorities(world, REF) == {"high"}


def test_the_escalation_takes_the_time_it_fell_due_not_as_of():
    effects = decide(World().snapshot(), [submission(T0)], RULES, as_of=T0 + timedelta(days=30))
    due = T0 + timedelta(hours=72 + 24)
    assert {(a["priority"], a["updated_at"]) for a in effects.approvals_new} == {("high", due)}


def test_an_approval_decided_before_it_is_overdue_by_a_day_is_not_raised():
    due = T0 + timedelta(hours=72)
    effects = decide(
        World().snapshot(),
        [
            submission(T0),
            action(REF, 1, "finance", "approve", FINANCE, due + timedelta(hours=23)),
            action(REF, 1, "trading", "approve", TRADING, due + timedelta(hours=30)),  # after the escalation
        ],
        RULES,
        as_of=due + timedelta(days=3),
    )
    rows = {a["department"]: (a["status"], a["priority"]) for a in effects.approvals_new}
    assert rows == {"finance": ("approved", "normal"), "trading": ("approved", "high")}


def test_an_approval_of_a_deal_out_of_review_is_not_raised():
    world = World()
    world.run([submission(T0), action(REF, 1, "trading", "request_revision", TRADING, at(1), comments="x")])
    assert world.run([], as_of=T0 + timedelta(days=10)).approvals_changed == []
    assert world.approval(REF, "finance")["priority"] == "normal"


def test_timers_and_documents_split_over_runs_give_the_same_tables():
    """Monitoring day by day equals once at the end: drafts and escalations fall due in business time."""
    docs = [
        submission(T0),
        submission(at(1), status="draft"),
        action(REF, 1, "finance", "approve", FINANCE, T0 + timedelta(days=5)),
    ]
    once = World()
    once.run(docs, as_of=T0 + timedelta(days=40))
    daily = World()
    for day in range(41):
        now = T0 + timedelta(days=day)
        daily.run([d for d in docs if now - timedelta(days=1) < d.occurred_at <= now], as_of=now)
    assert daily.dump() == once.dump()
    assert daily.status("DEAL-2026-002") == "lost" and daily.approval(REF, "trading")["priority"] == "high"


# -- the ledger ------------------------------------------------------------------------------------------


def test_the_ledger_has_every_decided_document_once():
    docs = batch()
    effects = decide(World().snapshot(), docs, RULES)
    assert sorted(r["event_id"] for r in effects.ledger) == sorted(d.event_id for d in docs)
    rejected = {r["event_id"] for r in effects.rejected}
    for row in effects.ledger:
        assert row["outcome"] == ("rejected" if row["event_id"] in rejected else "applied")
    by_kind = {(r["kind"], r["reference_number"]) for r in effects.ledger if r["outcome"] == "applied"}
    assert ("deal_submission", "DEAL-2026-002") in by_kind and ("user", None) in by_kind
    assert ("scoping_request", None) in by_kind
    assert [r["occurred_at"] for r in effects.ledger] == sorted(r["occurred_at"] for r in effects.ledger)


# -- batching does not matter: properties ---------------------------------------------------------------

EMAILS = [ADMIN, SELLER, TRADING, FINANCE, SOLUTIONS, LEGAL, *APPROVERS.values()]
VERBS = ["approve", "approve", "approve", "request_revision", "reject", "comment", "assign"]
STATUSES = ["negotiating", "approved", "lost", "contract_drafting", "client_review", "signed", "submitted"]
VALUES = [20_000.0, 50_000.0, 120_000.0, 600_000.0, 1_000_000.0]
CATEGORY_SETS = [("financial",), ("analytics",), ("analytics", "technology"), ("marketing",)]


REVIEWER_OF = {"trading": TRADING, "finance": FINANCE, "solutions": SOLUTIONS, "legal": LEGAL}


@st.composite
def batches(draw: st.DrawFn) -> list[Document]:
    """Up to three deals submitted early, then decisions, changes, resubmissions and a person
    leaving, at half-hour steps (so that many share an instant); most actions by someone
    entitled, some by anyone."""
    early = st.integers(0, 6).map(lambda h: at(h / 2))
    later = st.integers(2, 48).map(lambda h: at(h / 2))
    reference = st.sampled_from([1, 1, 1, 2, 2, 3]).map(lambda n: f"DEAL-2026-{n:03d}")
    docs: list[Document] = []
    for n in range(draw(st.integers(1, 3))):
        docs.append(
            submission(
                draw(early),
                event_id=f"s{n}",
                value=draw(st.sampled_from(VALUES)),
                categories=draw(st.sampled_from([("financial",)] * 3 + CATEGORY_SETS)),
                deal_type=draw(st.sampled_from(["grow", "grow", "grow", "custom"])),
                status=draw(st.sampled_from(["submitted"] * 5 + ["draft"])),
            )
        )
    for n in range(draw(st.integers(0, 3))):
        tiers = draw(
            st.lists(
                st.tuples(st.sampled_from(VALUES), st.sampled_from(CATEGORY_SETS)), min_size=1, max_size=3
            )
        )
        docs.append(submission(draw(later), event_id=f"r{n}", reference=draw(reference), tiers=tiers))
    for n in range(draw(st.integers(0, 20))):
        verb = draw(st.sampled_from(VERBS))
        stage = draw(st.sampled_from([1, 1, 1, 2]))
        department = (
            draw(st.sampled_from(["trading", "finance"] * 3 + list(REVIEWER_OF))) if stage == 1 else None
        )
        entitled = REVIEWER_OF[department] if department else draw(st.sampled_from(list(APPROVERS.values())))
        by = draw(st.sampled_from([entitled] * 12 + EMAILS))
        docs.append(
            action(
                draw(reference),
                stage,
                department,
                verb,
                by,
                draw(later),
                comments=draw(st.sampled_from([None, "because", "because"])),
                assign_to=draw(st.sampled_from([entitled, *EMAILS])) if verb == "assign" else None,
                event_id=f"a{n:02d}",
            )
        )
    for n in range(draw(st.integers(0, 4))):
        docs.append(
            status_change(
                draw(reference), draw(st.sampled_from(STATUSES)), draw(st.sampled_from(EMAILS)), draw(later),
                event_id=f"c{n}",
            )
        )  # fmt: skip
    for n in range(draw(st.sampled_from([0, 0, 1, 2]))):
        starts = draw(st.sampled_from([early, later]))
        away = draw(st.sampled_from([TRADING, FINANCE, *APPROVERS.values()]))
        stand_in = draw(st.sampled_from([ADMIN, SELLER, TRADING, *APPROVERS.values()]))
        docs.append(
            delegation_document(
                away,
                ADMIN if stand_in == away else stand_in,
                draw(starts),
                at(draw(st.integers(8, 60)) / 2),
                draw(early),
                event_id=f"d{n}",
            )
        )
    if draw(st.booleans()):
        docs.append(user_document(Person(TRADING, "department_reviewer", "trading", is_active=False), draw(later),
                                  event_id="u0"))  # fmt: skip
    return docs


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(docs=batches(), seed=st.integers(0, 2**32 - 1))
def test_any_permutation_of_a_batch_gives_the_same_effects(docs, seed):
    shuffled = list(docs)
    random.Random(seed).shuffle(shuffled)
    assert decide(World().snapshot(), shuffled, RULES) == decide(World().snapshot(), docs, RULES)


@FAST
@given(docs=batches(), cut=st.integers(0, 60), as_of=st.sampled_from([None, 10, 30]))
def test_a_batch_split_in_business_time_gives_the_same_tables(docs, cut, as_of):
    """The first documents in one run, the rest in the next, each run reading the state the first
    left behind: the same deals, approvals, actions, history and ledger as one run."""
    ordered = sorted(docs, key=lambda d: d.order)
    cut = min(cut, len(ordered))
    moment = None if as_of is None else T0 + timedelta(days=as_of)
    if moment is not None and cut:
        # a timer of the first run must not fall after documents of the second
        cut_at = ordered[cut - 1].occurred_at
        first_as_of = min(moment, cut_at)
    else:
        first_as_of = None
    once = World()
    once.run(ordered, as_of=moment)
    split = World()
    split.run(ordered[:cut], as_of=first_as_of)
    split.run(ordered[cut:], as_of=moment)
    assert split.dump() == once.dump()


def test_the_staff_the_properties_use_are_known():
    assert set(EMAILS) <= {p.email for p in STAFF} and uid(ADMIN) != uid(SELLER)


@pytest.mark.xfail(
    strict=True,
    reason="a tier an earlier resubmission of the batch removed and a later one adds back is written "
    "as an update of the row still in the table, which keeps its first created_at; the writer "
    "offers no way to re-create a row, so two runs keep the old time where three runs would not",
)
def test_a_tier_removed_and_added_back_within_a_run_is_created_anew():
    def docs() -> list[Document]:
        two, one = [(10_000, ("financial",))] * 2, [(10_000, ("financial",))]
        return [
            submission(T0, tiers=two, event_id="s"),
            action(REF, 1, "trading", "request_revision", TRADING, at(1), comments="x", event_id="a1"),
            submission(at(2), reference=REF, tiers=one, event_id="r1"),
            action(REF, 1, "trading", "request_revision", TRADING, at(3), comments="x", event_id="a2"),
            submission(at(4), reference=REF, tiers=two, event_id="r2"),
        ]

    three = World()  # one run per step that changes the tiers: the row is deleted, then inserted
    for part in (docs()[:1], docs()[1:3], docs()[3:]):
        three.run(part)
    two = World()
    two.run(docs()[:1])
    two.run(docs()[1:])
    created = {r["tier_number"]: r["created_at"] for r in three.tables["deal_tiers"].values()}
    assert created == {1: T0, 2: at(4)}
    assert two.dump() == three.dump()
