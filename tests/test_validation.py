"""The validation rules as Column functions, evaluated on documents without touching a table.

Each case is a valid submission with one field changed: the rule named must fire (or, on
the valid side of a boundary, nothing may fire).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F

from dealdesk.checks.columns import as_date, derived_contract_term
from dealdesk.checks.kinds import deal_submission
from dealdesk.checks.kinds import scoping_request as scoping_request_kind
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from tests.intake_builders import scoping_request, submission, tier, with_tiers

RULES = BusinessRules()


@pytest.fixture(scope="module")
def spark(shared_lakehouse: Lakehouse) -> SparkSession:
    return shared_lakehouse.spark


Found = list[tuple[str, str]]  # (field, rule) of each reason


@dataclass(frozen=True)
class Judged:
    errors: Found
    warnings: Found
    reasons: list[Row]  # the errors whole: field, rule, value, message


def judge_all(
    spark: SparkSession, docs: dict[str, tuple[dict[str, Any], bool]], schema: str, errors, warnings
):
    """Every document of ``docs`` (name -> (document, judged as a draft)) judged in one query: the
    checks of a kind are one large expression, so a query costs about the same for one row or fifty."""
    rows = [(name, json.dumps(doc), draft) for name, (doc, draft) in docs.items()]
    frame = spark.createDataFrame(rows, "name STRING, payload STRING, draft BOOLEAN")
    doc = F.from_json("payload", schema)
    judged = frame.select(
        "name", errors(doc, F.col("draft")).alias("errors"), warnings(doc).alias("warnings")
    )
    return {
        r["name"]: Judged(
            [(e["field"], e["rule"]) for e in r["errors"]],
            [(w["field"], w["rule"]) for w in r["warnings"]],
            r["errors"],
        )
        for r in judged.collect()
    }


# (overrides, the (field, rule) that must fire, or None when the document must pass)
BOUNDARIES = {
    "growth ambition 999,999": ({"deal.growth_ambition": 999_999}, ("deal.growth_ambition", "minimum")),
    "growth ambition 1,000,000": ({"deal.growth_ambition": 1_000_000}, None),
    "growth ambition absent": ({"deal.growth_ambition": None}, None),
    "0 tiers": ({"tiers": []}, ("tiers", "tier_count")),
    "1 tier": (with_tiers(1), None),
    "5 tiers": (with_tiers(5), None),
    "6 tiers": (with_tiers(6), ("tiers", "tier_count")),
    "margin 1.0": ({"tiers": [tier(1, margin=1.0)]}, None),
    "margin 1.01": ({"tiers": [tier(1, margin=1.01)]}, ("tiers[1].annual_gross_margin", "between")),
    "margin 0": ({"tiers": [tier(1, margin=0)]}, None),
    "margin -0.01": ({"tiers": [tier(1, margin=-0.01)]}, ("tiers[1].annual_gross_margin", "between")),
    "revenue 0": ({"tiers": [tier(1, revenue=0)]}, None),
    "revenue -1": ({"tiers": [tier(1, revenue=-1)]}, ("tiers[1].annual_revenue", "minimum")),
    "2025-02-30": ({"deal.term_start_date": "2025-02-30"}, ("deal.term_start_date", "date")),
    "2024-02-29 (leap day)": ({"deal.term_start_date": "2024-02-29"}, None),
    "date not YYYY-MM-DD": ({"deal.term_end_date": "31/03/2027"}, ("deal.term_end_date", "date")),
    "end date = start date": (
        {"deal.term_start_date": "2026-04-01", "deal.term_end_date": "2026-04-01"},
        ("deal.term_end_date", "end_after_start"),
    ),
    "end date a day after start": (
        {"deal.term_start_date": "2026-04-01", "deal.term_end_date": "2026-04-02"},
        None,
    ),
    "name of 500 characters": ({"deal.deal_name": "x" * 500}, None),
    "name of 501 characters": ({"deal.deal_name": "x" * 501}, ("deal.deal_name", "length")),
    "name only spaces": ({"deal.deal_name": "   "}, ("deal.deal_name", "required")),
    "tier numbers with a gap": (
        {"tiers": [tier(1), tier(3)]},
        ("tiers.tier_number", "tier_sequence"),
    ),
    "tier numbers repeated": ({"tiers": [tier(1), tier(1)]}, ("tiers.tier_number", "tier_sequence")),
    "flat commit with two tiers": (
        with_tiers(2, "flat_commit"),
        ("tiers", "flat_commit_single_tier"),
    ),
    "flat commit with one tier": (with_tiers(1, "flat_commit"), None),
    "tier without incentives": (
        {"tiers": [tier(1, incentives=[])]},
        ("tiers[1].incentives", "required"),
    ),
    "unknown incentive category": (
        {"tiers.0.incentives": [{"category": "travel", "sub_category": "x", "option": "y", "value": 1}]},
        ("tiers[1].incentives[1].category", "one_of"),
    ),
    "marketing-ld means marketing": (
        {
            "tiers.0.incentives": [
                {"category": "marketing-ld", "sub_category": "x", "option": "y", "value": 1}
            ]
        },
        None,
    ),
    "negative incentive value": (
        {"tiers.0.incentives": [{"category": "financial", "sub_category": "x", "option": "y", "value": -5}]},
        ("tiers[1].incentives[1].value", "minimum"),
    ),
    "empty option": (
        {"tiers.0.incentives": [{"category": "financial", "sub_category": "x", "option": " ", "value": 1}]},
        ("tiers[1].incentives[1].option", "required"),
    ),
    "unknown deal type": ({"deal.deal_type": "expand"}, ("deal.deal_type", "one_of")),
    "unknown channel": ({"deal.sales_channel": "direct"}, ("deal.sales_channel", "one_of")),
    "unknown structure": ({"deal.deal_structure": "hybrid"}, ("deal.deal_structure", "one_of")),
    "unknown region": ({"deal.region": "antarctica"}, ("deal.region", "one_of")),
    "unknown priority": ({"deal.priority": "urgent"}, ("deal.priority", "one_of")),
    "enumerations in any case": ({"deal.region": " NorthEast ", "deal.deal_type": "GROW"}, None),
    "client_direct without advertiser": (
        {"deal.advertiser_name": None},
        ("deal.advertiser_name", "client_for_channel"),
    ),
    "agency channel without agency": (
        {"deal.sales_channel": "holding_company", "deal.agency_name": ""},
        ("deal.agency_name", "client_for_channel"),
    ),
    "bad e-mail": ({"submitted_by": "not-an-email"}, ("submitted_by", "email")),
    "previous margin 1.5": ({"deal.previous_year_margin": 1.5}, ("deal.previous_year_margin", "between")),
    "previous revenue -1": ({"deal.previous_year_revenue": -1}, ("deal.previous_year_revenue", "minimum")),
    "number given as text": ({"deal.growth_ambition": "lots"}, ("deal.growth_ambition", "number")),
    "free text of 10,000": ({"deal.client_asks": "a" * 10_000}, None),
    "free text of 10,001": ({"deal.client_asks": "a" * 10_001}, ("deal.client_asks", "max_length")),
    "reference not DEAL-YYYY-NNN": ({"reference_number": "DEAL-2026-7"}, ("reference_number", "format")),
}


# Documents the other tests judge: name -> (document, judged as a draft)
SUBMISSIONS: dict[str, tuple[dict[str, Any], bool]] = {
    **{case: (submission(overrides), False) for case, (overrides, _) in BOUNDARIES.items()},
    "base": (submission(), False),
    "four faults": (
        submission({"deal.region": "mars", "deal.deal_name": "", "tiers": [], "submitted_by": "nobody"}),
        False,
    ),
    "incomplete draft": (
        submission({"tiers": [], "deal.term_start_date": None, "deal.advertiser_name": None}),
        True,
    ),
    "draft of region mars": (submission({"tiers": [], "deal.region": "mars"}), True),
    "draft without a name": (submission({"deal.deal_name": None}), True),
    "region antarctica": (submission({"deal.region": "antarctica"}), False),
    "term of 24 months": (submission({"deal.contract_term": 24}), False),
}
SCOPING_CASES = {
    "valid": ({}, None),
    "ambition 999,999": ({"growth_ambition": 999_999}, ("request.growth_ambition", "minimum")),
    "no ambition": ({"growth_ambition": None}, ("request.growth_ambition", "required")),
    "no title": ({"request_title": ""}, ("request.request_title", "required")),
    "unknown channel": ({"sales_channel": "fax"}, ("request.sales_channel", "one_of")),
    "no client opportunity": (
        {"growth_opportunity_client": None},
        ("request.growth_opportunity_client", "required"),
    ),
    "end date = start date": (
        {"term_start_date": "2026-05-01", "term_end_date": "2026-05-01"},
        ("request.term_end_date", "end_after_start"),
    ),
}


@pytest.fixture(scope="module")
def submissions(spark: SparkSession) -> dict[str, Judged]:
    return judge_all(
        spark,
        SUBMISSIONS,
        deal_submission.SCHEMA,
        lambda doc, draft: deal_submission.submission_errors(doc, RULES, draft=draft),
        lambda doc: deal_submission.submission_warnings(doc, RULES),
    )


@pytest.fixture(scope="module")
def scoping(spark: SparkSession) -> dict[str, Judged]:
    docs = {case: (scoping_request(**overrides), False) for case, (overrides, _) in SCOPING_CASES.items()}
    return judge_all(
        spark,
        docs,
        scoping_request_kind.SCHEMA,
        lambda doc, _draft: scoping_request_kind.errors(doc, RULES),
        lambda _doc: F.array(),
    )


def test_the_base_submission_is_valid(submissions: dict[str, Judged]):
    assert submissions["base"].errors == []


@pytest.mark.parametrize("case", BOUNDARIES, ids=list(BOUNDARIES))
def test_submission_rule(submissions: dict[str, Judged], case: str):
    expected = BOUNDARIES[case][1]
    found = submissions[case].errors
    if expected is None:
        assert found == []
    else:
        assert expected in found, found


def test_every_failing_rule_is_listed_not_only_the_first(submissions: dict[str, Judged]):
    rules = {rule for _, rule in submissions["four faults"].errors}
    assert {"one_of", "required", "tier_count", "email"} <= rules


def test_a_draft_is_checked_for_name_and_enumerations_only(submissions: dict[str, Judged]):
    assert submissions["incomplete draft"].errors == []
    assert ("deal.region", "one_of") in submissions["draft of region mars"].errors
    assert ("deal.deal_name", "required") in submissions["draft without a name"].errors


def test_reasons_carry_the_offending_value(submissions: dict[str, Judged]):
    (reason,) = submissions["region antarctica"].reasons
    assert reason["value"] == "antarctica"
    assert "northeast" in reason["message"]


def test_a_contract_term_that_disagrees_with_the_dates_is_a_warning(submissions: dict[str, Judged]):
    judged = submissions["term of 24 months"]
    assert judged.errors == []
    assert judged.warnings == [("deal.contract_term", "derived_from_dates")]


@pytest.mark.parametrize("case", SCOPING_CASES, ids=list(SCOPING_CASES))
def test_scoping_rule(scoping: dict[str, Judged], case: str):
    expected = SCOPING_CASES[case][1]
    found = scoping[case].errors
    assert found == [] if expected is None else expected in found, found


def test_derived_contract_term(spark: SparkSession):
    frame = spark.createDataFrame(
        [("2026-04-01", "2027-03-31"), ("2026-04-01", "2026-04-02"), ("2026-01-01", "2026-07-01")],
        "start STRING, end STRING",
    )
    terms = [
        r[0]
        for r in frame.select(
            derived_contract_term(as_date(F.col("start")), as_date(F.col("end")), RULES)
        ).collect()
    ]
    # 364 / 30.44 = 11.96 -> 12; one day rounds to 0 -> at least 1; 181 / 30.44 = 5.95 -> 6
    assert terms == [12, 1, 6]
