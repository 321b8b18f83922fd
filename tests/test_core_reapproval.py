"""Smart re-approval in the core (business rules, section 6): what carries over to a new round."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dealdesk.config import JUDGED_PARTS, BusinessRules, ReapprovalRules, load_rules
from dealdesk.core import reapproval
from dealdesk.errors import ConfigurationError
from tests.core_builders import (
    APPROVERS,
    CREATIVE,
    FINANCE,
    LEGAL,
    RULES,
    TRADING,
    World,
    action,
    at,
    status_change,
    submission,
    uid,
)

REF = "DEAL-2026-001"
CATEGORIES = ("product-innovation",)  # creative reviews it, beside trading and finance
MANAGER = APPROVERS["manager"]


def first_round(world: World, value: float = 80_000.0, **deal) -> None:
    """Submitted at T0 and every department review approved (stage 2 opens at manager level)."""
    world.run([submission(at(0), value=value, categories=CATEGORIES, **deal)])
    world.run(
        [
            action(REF, 1, "trading", "approve", TRADING, at(1)),
            action(REF, 1, "finance", "approve", FINANCE, at(1.5)),
            action(REF, 1, "creative", "approve", CREATIVE, at(2)),
            *(
                [action(REF, 1, "legal", "approve", LEGAL, at(2.5))]
                if deal.get("deal_type") == "custom"
                else []
            ),
        ]
    )


def sent_back_by_the_business_approver(world: World, value: float = 80_000.0, **deal) -> None:
    first_round(world, value, **deal)
    world.run([action(REF, 2, None, "request_revision", MANAGER, at(3), comments="client wants changes")])
    assert world.status(REF) == "revision_requested"


def approved_then_reopened_by_the_client(world: World, value: float = 80_000.0) -> None:
    """Approved in round 0, then the client pushed back: negotiating -> revision_requested."""
    first_round(world, value)
    world.run([action(REF, 2, None, "approve", MANAGER, at(3))])
    world.run(
        [
            status_change(REF, "contract_drafting", LEGAL, at(4)),
            status_change(REF, "client_review", LEGAL, at(5)),
            status_change(REF, "negotiating", MANAGER, at(6)),
            status_change(REF, "revision_requested", MANAGER, at(7), comments="client asks a lower commit"),
        ]
    )
    assert world.status(REF) == "revision_requested"


def round_one(world: World) -> dict[tuple[int, str], dict]:
    return {
        (a["approval_stage"], a["department"]): a for a in world.approvals(REF) if a["approval_round"] == 1
    }


def resubmit(world: World, value: float = 80_000.0, hours: float = 24, **deal) -> None:
    effects = world.run([submission(at(hours), reference=REF, value=value, categories=CATEGORIES, **deal)])
    assert effects.rejected == []


# -- department reviews -------------------------------------------------------------------------------


def test_reviews_approved_in_the_previous_round_carry_over_when_nothing_they_judge_changed():
    world = World()
    sent_back_by_the_business_approver(world)
    resubmit(world, name="Grow_CD_ACME_v2")  # the deal name: no department judges it
    reviews = round_one(world)
    assert {key: row["status"] for key, row in reviews.items()} == {
        (1, "creative"): "approved",
        (1, "finance"): "approved",
        (1, "trading"): "approved",
        (2, "trading"): "pending",  # the business approval was sent back: asked again
    }
    assert world.status(REF) == "under_review"


def test_a_carried_over_review_is_an_approved_row_of_the_new_round_with_actions_that_say_why():
    world = World()
    sent_back_by_the_business_approver(world)
    resubmit(world)
    finance = round_one(world)[(1, "finance")]
    assert (finance["status"], finance["completed_at"], finance["created_at"]) == ("approved", at(24), at(24))
    assert finance["assigned_to"] == uid(FINANCE)  # whose decision stands
    assert finance["comments"].startswith("carried over from round 0: nothing finance judges changed")
    actions = world.actions_of(finance["id"])
    assert sorted((a["action_type"], a["performed_by"]) for a in actions) == [
        ("approve", None),
        ("initiate", None),
    ]
    assert all("round 0" in a["comments"] for a in actions)
    judged = world.tables["approval_fingerprints"][finance["id"]]
    assert (judged["carried_over_from_round"], judged["judged_parts"]) == (
        0,
        "deal_value,tiers,incentive_values,previous_year",
    )


@pytest.mark.parametrize(
    ("change", "asked_anew"),
    [
        ({"value": 90_000}, {"trading", "finance"}),  # a tier's revenue, so the deal value
        ({"incentive_value": 2500}, {"finance", "creative"}),  # an incentive of creative's category
        ({"deal_fields": {"region": "west"}}, {"trading"}),  # the client
        ({"deal_fields": {"previous_year_margin": 0.2}}, {"finance"}),
    ],
)
def test_a_change_asks_again_exactly_the_departments_that_judge_it(change, asked_anew):
    world = World()
    sent_back_by_the_business_approver(world)
    resubmit(world, **change)
    reviews = round_one(world)
    departments = ("trading", "finance", "creative")
    assert {d for d in departments if reviews[(1, d)]["status"] == "pending"} == asked_anew
    carried = {
        d
        for d in departments
        if world.tables["approval_fingerprints"][reviews[(1, d)]["id"]]["carried_over_from_round"] == 0
    }
    assert carried == set(departments) - asked_anew


def test_a_review_that_asked_for_the_revision_is_asked_again_even_when_nothing_changed():
    world = World()
    world.run([submission(at(0), value=80_000, categories=CATEGORIES)])
    world.run(
        [
            action(REF, 1, "trading", "approve", TRADING, at(1)),
            action(REF, 1, "creative", "request_revision", CREATIVE, at(2), comments="notes unclear"),
        ]
    )
    resubmit(world)
    reviews = round_one(world)
    assert {d: reviews[(1, d)]["status"] for d in ("trading", "finance", "creative")} == {
        "trading": "approved",  # approved in round 0
        "finance": "pending",  # still pending in round 0: nothing to carry
        "creative": "pending",  # asked for the revision
    }


def test_legal_judges_the_terms_of_a_custom_deal():
    world = World()
    sent_back_by_the_business_approver(world, deal_type="custom")
    resubmit(world, deal_type="custom", deal_fields={"business_summary": "new exclusivity clause"})
    reviews = round_one(world)
    assert reviews[(1, "legal")]["status"] == "pending"
    assert reviews[(1, "trading")]["status"] == "pending"  # trading judges the terms too
    assert reviews[(1, "finance")]["status"] == "approved"


def test_with_carry_over_switched_off_every_review_is_asked_again():
    rules = replace(RULES, reapproval=ReapprovalRules(carry_over_reviews=False))
    world = World(rules=rules)
    sent_back_by_the_business_approver(world)
    resubmit(world)
    assert {row["status"] for row in round_one(world).values()} == {"pending"}


# -- the business approval ----------------------------------------------------------------------------


def test_an_approved_deal_reopened_and_resubmitted_unchanged_is_approved_at_once():
    world = World()
    approved_then_reopened_by_the_client(world)
    resubmit(world)
    assert world.status(REF) == "approved"
    business = round_one(world)[(2, "trading")]
    assert (business["status"], business["approval_level"], business["assigned_to"]) == (
        "approved",
        "manager",
        uid(MANAGER),
    )
    assert world.history(REF)[-2:] == [
        (8, "revision_requested", "under_review", at(24)),
        (9, "under_review", "approved", at(24)),
    ]


def test_a_lower_value_at_the_same_level_carries_the_business_approval_once_the_reviews_approve():
    world = World()
    approved_then_reopened_by_the_client(world)
    resubmit(world, value=60_000)  # trading and finance judge the value: asked again
    assert world.status(REF) == "under_review"
    world.run(
        [
            action(REF, 1, "trading", "approve", TRADING, at(25)),
            action(REF, 1, "finance", "approve", FINANCE, at(26)),
        ]
    )
    assert world.status(REF) == "approved"
    assert round_one(world)[(2, "trading")]["comments"].startswith("carried over from round 0")


@pytest.mark.parametrize(
    ("value", "share", "carried"),
    [
        (85_000, 0.0, False),  # rose: by default the approver is asked again
        (85_000, 0.1, True),  # rose 6.25 %, within a 10 % allowance
        (95_000, 0.1, False),  # rose 18.75 %
        (150_000, 1.0, False),  # director level now: another approver's
    ],
)
def test_the_business_approval_carries_over_within_the_allowed_rise_at_the_same_level(value, share, carried):
    rules = replace(RULES, reapproval=ReapprovalRules(max_value_rise_share=share))
    world = World(rules=rules)
    approved_then_reopened_by_the_client(world)
    resubmit(world, value=value)
    world.run(
        [
            action(REF, 1, "trading", "approve", TRADING, at(25)),
            action(REF, 1, "finance", "approve", FINANCE, at(26)),
        ]
    )
    business = round_one(world)[(2, "trading")]
    assert (business["status"] == "approved") is carried
    assert world.status(REF) == ("approved" if carried else "under_review")


def test_the_same_documents_in_one_batch_or_one_per_step_end_alike():
    documents = [
        submission(at(0), value=80_000, categories=CATEGORIES, event_id="s0"),
        action(REF, 1, "trading", "approve", TRADING, at(1), event_id="a1"),
        action(REF, 1, "finance", "approve", FINANCE, at(1.5), event_id="a2"),
        action(REF, 1, "creative", "approve", CREATIVE, at(2), event_id="a3"),
        action(REF, 2, None, "approve", MANAGER, at(3), event_id="a4"),
        status_change(REF, "contract_drafting", LEGAL, at(4), event_id="c1"),
        status_change(REF, "client_review", LEGAL, at(5), event_id="c2"),
        status_change(REF, "negotiating", MANAGER, at(6), event_id="c3"),
        status_change(REF, "revision_requested", MANAGER, at(7), comments="lower", event_id="c4"),
        submission(at(24), reference=REF, value=60_000, categories=CATEGORIES, event_id="s1"),
        action(REF, 1, "trading", "approve", TRADING, at(25), event_id="a5"),
        action(REF, 1, "finance", "approve", FINANCE, at(26), event_id="a6"),
    ]
    once = World()
    once.run(documents)
    one_per_step = World()
    for document in documents:
        one_per_step.run([document])
    assert one_per_step.dump() == once.dump()
    assert once.status(REF) == "approved"
    assert (
        sum(1 for row in once.tables["approval_fingerprints"].values() if row["carried_over_from_round"] == 0)
        == 2
    )


# -- the rules --------------------------------------------------------------------------------------


def test_each_department_judges_its_parts_and_the_others_their_incentives():
    rules = BusinessRules().reapproval
    assert rules.parts_judged_by("finance") == ("deal_value", "tiers", "incentive_values", "previous_year")
    assert rules.parts_judged_by("legal") == ("terms",)
    assert rules.parts_judged_by("creative") == ("own_incentives",)
    assert set(reapproval.PARTS) == set(JUDGED_PARTS)


def test_a_rules_file_overrides_what_a_department_judges_and_refuses_an_unknown_part(tmp_path: Path):
    good = tmp_path / "rules.json"
    good.write_text(
        json.dumps({"reapproval": {"judged": {"legal": ["terms", "client"]}, "max_value_rise_share": 0.05}})
    )
    rules = load_rules(good)
    assert rules.reapproval.parts_judged_by("legal") == ("client", "terms")
    assert rules.reapproval.parts_judged_by("finance")[0] == "deal_value"  # the others stay
    assert rules.reapproval.max_value_rise_share == 0.05
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"reapproval": {"judged": {"legal": ["terms", "mood"]}}}))
    with pytest.raises(ConfigurationError, match=r"reapproval\.judged\.legal names unknown part\(s\) mood"):
        load_rules(bad)


def test_a_fingerprint_changes_with_the_rules_in_force():
    body = {"deal_value": 1.0, "deal_row": {}, "tiers": [], "lines": []}
    departments = {}
    narrower = replace(RULES, reapproval=ReapprovalRules(judged={"finance": ("deal_value",)}))
    _, default = reapproval.judged("finance", body, departments, RULES)
    _, narrow = reapproval.judged("finance", body, departments, narrower)
    assert default != narrow
