"""A deal submission: a new deal, a draft, or a resubmission (business rules, section 1).

Which errors apply depends on the deal (a draft is checked as a draft, a submission in full):
both sets are computed here and the core picks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.columns import (
    REFERENCE,
    as_date,
    as_number,
    blank,
    calendar_date,
    category_of,
    derived_contract_term,
    email,
    end_after_start,
    length_between,
    max_length,
    number,
    one_of,
    required,
    too_large,
)
from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.reasons import concat_reasons, failure, gather
from dealdesk.checks.values import (
    DEAL_DESCRIPTION,
    category,
    company_name,
    contract_term,
    enum,
    items,
    money,
    obj,
    raw_text,
    read_fields,
    text,
    whole_number,
)
from dealdesk.checks.values import as_date as date_of
from dealdesk.checks.values import number as number_of
from dealdesk.config import (
    AGENCY_CHANNELS,
    DEAL_PRIORITIES,
    DEAL_STRUCTURES,
    DEAL_TYPES,
    INCENTIVE_CATEGORIES,
    MAX_CONTRACT_TERM_MONTHS,
    REGIONS,
    SALES_CHANNELS,
    BusinessRules,
)
from dealdesk.core import ids

INCENTIVE = "STRUCT<category: STRING, sub_category: STRING, option: STRING, value: STRING, notes: STRING>"
TIER = f"STRUCT<tier_number: STRING, annual_revenue: STRING, annual_gross_margin: STRING, incentives: ARRAY<{INCENTIVE}>>"
DEAL_FIELDS = (
    "deal_name",
    "deal_type",
    "sales_channel",
    "deal_structure",
    "region",
    "advertiser_name",
    "agency_name",
    "business_summary",
    "growth_opportunity_miq",
    "growth_opportunity_client",
    "client_asks",
    "growth_ambition",
    "term_start_date",
    "term_end_date",
    "contract_term",
    "previous_year_revenue",
    "previous_year_margin",
    "priority",
)
FREE_TEXT_FIELDS = ("business_summary", "growth_opportunity_miq", "growth_opportunity_client", "client_asks")
SCHEMA = (
    "submitted_by STRING, reference_number STRING, status STRING, scoping_request_id STRING, "
    "revision_reason STRING, deal STRUCT<" + ", ".join(f"{f}: STRING" for f in DEAL_FIELDS) + f">, "
    f"tiers ARRAY<{TIER}>"
)


def _tier_errors(tier: Column, position: Column) -> Column:
    path = F.concat(F.lit("tiers["), position.cast("string"), F.lit("]."))

    def at(name: str) -> Column:
        return F.concat(path, F.lit(name))

    revenue, margin = as_number(tier["annual_revenue"]), as_number(tier["annual_gross_margin"])
    incentives = F.coalesce(tier["incentives"], F.array())
    tier_failures = gather(
        failure(
            blank(tier["annual_revenue"]) | revenue.isNull() | (revenue < 0),
            at("annual_revenue"),
            "minimum",
            "annual_revenue must be a number >= 0",
            tier["annual_revenue"],
        ),
        too_large(tier["annual_revenue"], at("annual_revenue"), "annual_revenue"),
        failure(
            blank(tier["annual_gross_margin"])
            | margin.isNull()
            | F.isnan(margin)
            | (margin < 0)
            | (margin > 1),
            at("annual_gross_margin"),
            "between",
            "annual_gross_margin must be a decimal from 0 to 1 (0.355 = 35.5 %)",
            tier["annual_gross_margin"],
        ),
        failure(
            F.size(incentives) == 0, at("incentives"), "required", "each tier needs at least one incentive"
        ),
    )

    def incentive_errors(incentive: Column, index: Column) -> Column:
        ipath = F.concat(path, F.lit("incentives["), (index + 1).cast("string"), F.lit("]."))
        value = as_number(incentive["value"])
        return gather(
            failure(
                ~category_of(incentive["category"]).isin(*INCENTIVE_CATEGORIES)
                | blank(incentive["category"]),
                F.concat(ipath, F.lit("category")),
                "one_of",
                "category must be one of " + ", ".join(INCENTIVE_CATEGORIES),
                incentive["category"],
            ),
            failure(
                blank(incentive["sub_category"]),
                F.concat(ipath, F.lit("sub_category")),
                "required",
                "sub_category is required",
            ),
            failure(
                blank(incentive["option"]), F.concat(ipath, F.lit("option")), "required", "option is required"
            ),
            failure(
                ~blank(incentive["value"]) & (value.isNull() | (value < 0)),
                F.concat(ipath, F.lit("value")),
                "minimum",
                "value must be a number >= 0 (USD)",
                incentive["value"],
            ),
            too_large(incentive["value"], F.concat(ipath, F.lit("value")), "value"),
        )

    return concat_reasons(tier_failures, F.flatten(F.transform(incentives, incentive_errors)))


def submission_errors(doc: Column, rules: BusinessRules, *, draft: Column) -> Column:
    """Every error rule of section 1; a draft gets only the name and enumeration checks."""
    tiers = submission_tier_errors(doc)
    return F.when(draft, concat_reasons(submission_draft_errors(doc, rules), tiers)).otherwise(
        concat_reasons(submission_document_errors(doc, rules), tiers)
    )


def submission_tier_errors(doc: Column) -> Column:
    """The failures inside tiers and their incentives, in document order."""
    tiers = F.coalesce(doc["tiers"], F.array())
    return F.flatten(F.transform(tiers, lambda t, i: _tier_errors(t, i + 1)))


def submission_document_errors(doc: Column, rules: BusinessRules) -> Column:
    """The document-level failures of a submission (tiers' contents apart)."""
    always, _, full = _submission_checks(doc, rules)
    return gather(*always, *full)


def submission_draft_errors(doc: Column, rules: BusinessRules) -> Column:
    """The document-level failures of a draft: what it gives must be valid."""
    always, draft, _ = _submission_checks(doc, rules)
    return gather(*always, *draft)


def with_submission_errors(rules: BusinessRules, doc: str = "doc") -> Callable[[DataFrame], DataFrame]:
    """Adds ``draft_errors`` and ``full_errors`` (the content checks of ``submission_errors`` as a
    draft and as a submission), one projection each: the local engine plans one very large
    expression far more slowly than several small ones."""

    def add(df: DataFrame) -> DataFrame:
        staged = df.withColumn("_tier_errors", submission_tier_errors(F.col(doc)))
        staged = staged.withColumn("_draft_doc_errors", submission_draft_errors(F.col(doc), rules))
        staged = staged.withColumn("_full_doc_errors", submission_document_errors(F.col(doc), rules))
        return staged.withColumns(
            {
                "draft_errors": concat_reasons(F.col("_draft_doc_errors"), F.col("_tier_errors")),
                "full_errors": concat_reasons(F.col("_full_doc_errors"), F.col("_tier_errors")),
            }
        ).drop("_tier_errors", "_draft_doc_errors", "_full_doc_errors")

    return add


def _submission_checks(doc: Column, rules: BusinessRules) -> tuple[list[Column], list[Column], list[Column]]:
    """(checks of every submission, of drafts only, of full submissions only)."""
    deal = doc["deal"]
    limits = rules.validation
    tiers = F.coalesce(doc["tiers"], F.array())
    tier_numbers = F.transform(tiers, lambda t: t["tier_number"].try_cast("int"))
    channel = F.lower(F.trim(deal["sales_channel"]))
    always = [
        required(deal["deal_name"], "deal.deal_name"),
        length_between(deal["deal_name"], "deal.deal_name", 1, limits.deal_name_max_chars),
        one_of(deal["priority"], "deal.priority", DEAL_PRIORITIES, optional=True),
        number(deal["contract_term"], "deal.contract_term", minimum=1, maximum=MAX_CONTRACT_TERM_MONTHS),
    ]
    enums = [
        one_of(deal["deal_type"], "deal.deal_type", DEAL_TYPES),
        one_of(deal["sales_channel"], "deal.sales_channel", SALES_CHANNELS),
        one_of(deal["deal_structure"], "deal.deal_structure", DEAL_STRUCTURES),
        one_of(deal["region"], "deal.region", REGIONS),
    ]
    draft_enums = [
        one_of(deal["deal_type"], "deal.deal_type", DEAL_TYPES, optional=True),
        one_of(deal["sales_channel"], "deal.sales_channel", SALES_CHANNELS, optional=True),
        one_of(deal["deal_structure"], "deal.deal_structure", DEAL_STRUCTURES, optional=True),
        one_of(deal["region"], "deal.region", REGIONS, optional=True),
        required(doc["submitted_by"], "submitted_by"),
    ]
    tier_sequence = failure(
        (F.size(tiers) >= 1)
        & (F.array_sort(tier_numbers) != F.sequence(F.lit(1), F.greatest(F.size(tiers), F.lit(1)))).cast(
            "boolean"
        ),
        "tiers.tier_number",
        "tier_sequence",
        "tier_number values must be 1..n with no gaps or repeats",
        F.array_join(F.transform(tiers, lambda t: F.coalesce(t["tier_number"], F.lit("null"))), ","),
    )
    full = [
        failure(
            (channel == "client_direct") & blank(deal["advertiser_name"]),
            "deal.advertiser_name",
            "client_for_channel",
            "advertiser_name is required for client_direct deals",
        ),
        failure(
            channel.isin(*AGENCY_CHANNELS) & blank(deal["agency_name"]),
            "deal.agency_name",
            "client_for_channel",
            "agency_name is required for agency channels",
            channel,
        ),
        email(doc["submitted_by"], "submitted_by"),
        calendar_date(deal["term_start_date"], "deal.term_start_date"),
        calendar_date(deal["term_end_date"], "deal.term_end_date"),
        end_after_start(deal["term_start_date"], deal["term_end_date"], "deal."),
        number(deal["growth_ambition"], "deal.growth_ambition", minimum=limits.min_growth_ambition),
        number(deal["previous_year_revenue"], "deal.previous_year_revenue", minimum=0),
        number(deal["previous_year_margin"], "deal.previous_year_margin", minimum=0, maximum=1),
        failure(
            (F.size(tiers) < 1) | (F.size(tiers) > limits.max_tiers),
            "tiers",
            "tier_count",
            f"a deal needs 1 to {limits.max_tiers} tiers",
            F.concat(F.size(tiers).cast("string"), F.lit(" tiers")),
        ),
        tier_sequence,
        failure(
            (F.lower(F.trim(deal["deal_structure"])) == "flat_commit") & (F.size(tiers) != 1),
            "tiers",
            "flat_commit_single_tier",
            "a flat_commit deal has exactly one tier",
            F.concat(F.size(tiers).cast("string"), F.lit(" tiers")),
        ),
        *[max_length(deal[f], f"deal.{f}", limits.free_text_max_chars) for f in FREE_TEXT_FIELDS],
        failure(
            ~blank(doc["reference_number"]) & ~F.trim(doc["reference_number"]).rlike(REFERENCE),
            "reference_number",
            "format",
            "reference_number must look like DEAL-YYYY-NNN",
            doc["reference_number"],
        ),
    ]
    # A draft may leave fields and tiers out; what it gives must be valid (the tables hold
    # only valid values, and the draft is routed later through the full checks).
    given_values = [
        email(doc["submitted_by"], "submitted_by"),
        calendar_date(deal["term_start_date"], "deal.term_start_date", optional=True),
        calendar_date(deal["term_end_date"], "deal.term_end_date", optional=True),
        end_after_start(deal["term_start_date"], deal["term_end_date"], "deal."),
        number(deal["growth_ambition"], "deal.growth_ambition", minimum=limits.min_growth_ambition),
        number(deal["previous_year_revenue"], "deal.previous_year_revenue", minimum=0),
        number(deal["previous_year_margin"], "deal.previous_year_margin", minimum=0, maximum=1),
        failure(
            F.size(tiers) > limits.max_tiers,
            "tiers",
            "tier_count",
            f"a deal has at most {limits.max_tiers} tiers",
            F.concat(F.size(tiers).cast("string"), F.lit(" tiers")),
        ),
        tier_sequence,
        *[max_length(deal[f], f"deal.{f}", limits.free_text_max_chars) for f in FREE_TEXT_FIELDS],
    ]
    return always, [*draft_enums, *given_values], [*enums, *full]


def submission_warnings(doc: Column, rules: BusinessRules) -> Column:
    deal = doc["deal"]
    derived = derived_contract_term(as_date(deal["term_start_date"]), as_date(deal["term_end_date"]), rules)
    given = as_number(deal["contract_term"])
    return gather(
        failure(
            given.isNotNull() & derived.isNotNull() & (given != derived),
            "deal.contract_term",
            "derived_from_dates",
            F.concat(
                F.lit("contract_term differs from the dates; stored the derived "), derived.cast("string")
            ),
            deal["contract_term"],
        )
    )


def submission_body(doc: dict[str, Any], rules: BusinessRules) -> dict[str, Any]:
    """What the core needs of a deal submission, and the rows it writes."""
    deal = obj(doc.get("deal"))
    start, end = date_of(deal.get("term_start_date")), date_of(deal.get("term_end_date"))
    given_term = number_of(deal.get("contract_term"))
    term = contract_term(start, end, rules)
    if term is None:
        given_ok = given_term is not None and 1 <= given_term <= MAX_CONTRACT_TERM_MONTHS
        term = int(given_term) if given_ok else rules.validation.default_contract_term_months  # type: ignore[arg-type]
    tiers, lines, categories = [], [], []
    for tier in items(doc.get("tiers")):
        tier = obj(tier)
        tier_number = whole_number(tier.get("tier_number"))
        incentives = [obj(i) for i in items(tier.get("incentives"))]
        first = incentives[0] if incentives else {}
        tiers.append(
            {
                "tier_number": tier_number,
                "annual_revenue": number_of(tier.get("annual_revenue")),
                "annual_gross_margin": number_of(tier.get("annual_gross_margin")),
                "category_name": category(first.get("category")),
                "sub_category_name": text(first.get("sub_category")),
                "incentive_option": text(first.get("option")),
                "incentive_value": money(sum(number_of(i.get("value")) or 0.0 for i in incentives)),
                "incentive_notes": text(first.get("notes")),
            }
        )
        for position, incentive in enumerate(incentives, start=1):
            categories.append(category(incentive.get("category")))
            lines.append(
                {
                    "tier_number": tier_number,
                    "line_number": position,
                    "category_id": category(incentive.get("category")),
                    "subcategory_id": text(incentive.get("sub_category")),
                    "option": text(incentive.get("option")),
                    "value": number_of(incentive.get("value")) or 0.0,
                    "notes": text(incentive.get("notes")),
                }
            )
    value = money(sum(t["annual_revenue"] or 0.0 for t in tiers))
    priority = enum(deal.get("priority")) or "medium"
    submitter = (raw_text(doc.get("submitted_by")) or "").strip().lower() or None
    advertiser, agency = text(deal.get("advertiser_name")), text(deal.get("agency_name"))
    return {
        "given_reference": text(doc.get("reference_number")),
        "wants_draft": enum(doc.get("status")) == "draft",
        "submitter": submitter,
        "submitted_by": raw_text(doc.get("submitted_by")),
        "scoping_ref": text(doc.get("scoping_request_id")),
        "advertiser_name": advertiser,
        "advertiser_id": ids.advertiser_id(company_name(advertiser) or "") if advertiser else None,
        "agency_name": agency,
        "agency_id": ids.agency_id(company_name(agency) or "") if agency else None,
        "deal_value": value,
        "priority": priority,
        "deal_type": enum(deal.get("deal_type")),
        "categories": sorted({c for c in categories if c}),
        "revision_reason": text(doc.get("revision_reason")),
        "tiers": tiers,
        "lines": lines,
        "deal_row": {
            "deal_name": text(deal.get("deal_name")),
            "email": submitter,
            **read_fields(deal, DEAL_DESCRIPTION),
            "advertiser_name": advertiser,
            "agency_name": agency,
            "business_summary": text(deal.get("business_summary")),
            "term_start_date": start,
            "term_end_date": end,
            "contract_term": term,
            "previous_year_revenue": number_of(deal.get("previous_year_revenue")) or 0.0,
            "previous_year_margin": number_of(deal.get("previous_year_margin")) or 0.0,
            "deal_value": value,
            "total_incentive_cost": money(sum(line["value"] for line in lines)),
            "required_approval_level": rules.level_for(value),
            "priority": priority,
        },
    }


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    body = submission_body(doc, rules)
    body["draft_errors"] = list(row.get("draft_errors") or [])
    body["full_errors"] = list(row.get("full_errors") or [])
    body["submission_warnings"] = []
    return body


KIND = DocumentKind(
    "deal_submission",
    read_body,
    schema=SCHEMA,
    warnings=submission_warnings,
    error_sets=with_submission_errors,
    error_set_columns=("draft_errors", "full_errors"),
)
