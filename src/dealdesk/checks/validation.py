"""Validation rules of each document kind, as Columns (business rules, sections 1, 7 and 9).

Each helper returns a failure struct or null; ``*_errors``/``*_warnings``
gather them into arrays. Field names in reasons are the document's own paths
(``deal.region``, ``tiers[2].annual_gross_margin``) so a sender can find them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.documents import FREE_TEXT_FIELDS
from dealdesk.checks.reasons import concat_reasons, failure, gather
from dealdesk.config import (
    AGENCY_CHANNELS,
    AGENCY_TYPES,
    APPROVAL_LEVELS,
    DEAL_PRIORITIES,
    DEAL_STRUCTURES,
    DEAL_TYPES,
    DEPARTMENTS,
    EARLIEST_BUSINESS_YEAR,
    INCENTIVE_CATEGORIES,
    INCENTIVE_CATEGORY_ALIASES,
    LATEST_BUSINESS_YEAR,
    MAX_AMOUNT,
    MAX_CONTRACT_TERM_MONTHS,
    REGIONS,
    ROLES,
    SALES_CHANNELS,
    BusinessRules,
)

EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
REFERENCE = r"^DEAL-\d{4}-\d{3,}$"


# -- typed readings of text fields ------------------------------------------------
def blank(text: Column) -> Column:
    return text.isNull() | (F.trim(text) == "")


def as_number(text: Column) -> Column:
    return F.trim(text).try_cast("double")


def as_date(text: Column) -> Column:
    """A real calendar date in YYYY-MM-DD form, else null (2025-02-30 is null)."""
    return F.when(F.trim(text).rlike(ISO_DATE), F.trim(text).try_cast("date"))


def representable(value: Column) -> Column:
    """A number the desk can store and add up: finite, and at most MAX_AMOUNT either way."""
    return ~F.isnan(value) & (F.abs(value) <= F.lit(MAX_AMOUNT))


def too_large(text: Column, field: str | Column, label: str | None = None) -> Column:
    """The failure of a given number past what the desk can represent (Infinity, NaN, 1e400);
    ``label`` names the field in the message when ``field`` is a computed path."""
    value = as_number(text)
    return failure(
        ~blank(text) & value.isNotNull() & ~representable(value),
        field,
        "max_amount",
        f"{label or field} must be a finite number from -{MAX_AMOUNT:,.0f} to {MAX_AMOUNT:,.0f}",
        text,
    )


def as_bool(text: Column) -> Column:
    return F.lower(F.trim(text)).try_cast("boolean")


def category_of(text: Column) -> Column:
    """Incentive category with the app's aliases resolved (marketing-ld means marketing)."""
    normalised = F.lower(F.trim(text))
    for alias, category in INCENTIVE_CATEGORY_ALIASES.items():
        normalised = F.when(normalised == alias, F.lit(category)).otherwise(normalised)
    return normalised


def derived_contract_term(start: Column, end: Column, rules: BusinessRules) -> Column:
    months = F.round(F.datediff(end, start) / F.lit(rules.validation.days_per_month)).cast("int")
    return F.greatest(months, F.lit(1))


# -- rule helpers -----------------------------------------------------------------
def required(text: Column, field: str) -> Column:
    return failure(blank(text), field, "required", f"{field} is required", text)


def one_of(text: Column, field: str, allowed: Sequence[str], *, optional: bool = False) -> Column:
    value = F.lower(F.trim(text))
    message = f"{field} must be one of {', '.join(allowed)}"
    if optional:
        return failure(~blank(text) & ~value.isin(*allowed), field, "one_of", message, text)
    return failure(blank(text) | ~value.isin(*allowed), field, "one_of", message, text)


def length_between(text: Column, field: str, low: int, high: int) -> Column:
    size = F.char_length(F.trim(text))
    return failure(
        text.isNotNull() & ((size < low) | (size > high)),
        field,
        "length",
        f"{field} must be {low} to {high:,} characters after trimming",
        F.concat(F.lit("length "), size.cast("string")),
    )


def max_length(text: Column, field: str, high: int) -> Column:
    return failure(
        F.char_length(text) > high,
        field,
        "max_length",
        f"{field} must be at most {high:,} characters",
        F.concat(F.lit("length "), F.char_length(text).cast("string")),
    )


def number(text: Column, field: str, *, minimum: float | None = None, maximum: float | None = None,
           optional: bool = True, label: str | None = None) -> Column:  # fmt: skip
    value = as_number(text)
    bounds = []
    if minimum is not None:
        bounds.append(value < minimum)
    if maximum is not None:
        bounds.append(value > maximum)
    out_of_range = bounds[0] if len(bounds) == 1 else (bounds[0] | bounds[1]) if bounds else F.lit(False)
    rule = label or ("between" if minimum is not None and maximum is not None else "minimum")
    if minimum is not None and maximum is not None:
        message = f"{field} must be a number from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        message = (
            f"{field} must be a number of at least {minimum:,.0f}"
            if minimum >= 1000
            else f"{field} must be a number >= {minimum:g}"
        )
    else:
        message = f"{field} must be a number"
    bad = ~blank(text) & (value.isNull() | out_of_range)
    not_a_number = failure(~blank(text) & value.isNull(), field, "number", f"{field} must be a number", text)
    checked = F.coalesce(not_a_number, too_large(text, field), failure(bad, field, rule, message, text))
    if optional:
        return checked
    return F.coalesce(failure(blank(text), field, "required", f"{field} is required"), checked)


def email(text: Column, field: str) -> Column:
    return failure(
        blank(text) | ~F.trim(text).rlike(EMAIL),
        field,
        "email",
        f"{field} must be a valid e-mail address",
        text,
    )


def calendar_date(text: Column, field: str, *, optional: bool = False) -> Column:
    bad = ~blank(text) & as_date(text).isNull()
    if not optional:
        bad = bad | blank(text)
    outside = ~F.year(as_date(text)).between(EARLIEST_BUSINESS_YEAR, LATEST_BUSINESS_YEAR)
    return F.coalesce(
        failure(bad, field, "date", f"{field} must be a real calendar date in YYYY-MM-DD form", text),
        failure(
            outside,
            field,
            "date_range",
            f"{field} must be from {EARLIEST_BUSINESS_YEAR}-01-01 to {LATEST_BUSINESS_YEAR}-12-31",
            text,
        ),
    )


def end_after_start(start: Column, end: Column, prefix: str) -> Column:
    return failure(
        as_date(end) <= as_date(start),
        f"{prefix}term_end_date",
        "end_after_start",
        "term_end_date must be after term_start_date",
        F.concat_ws(" <= ", F.trim(end), F.trim(start)),
    )


# -- deal submissions ----------------------------------------------------------------
def _tier_errors(tier: Column, position: Column, structure_field: str) -> Column:
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
    return F.flatten(F.transform(tiers, lambda t, i: _tier_errors(t, i + 1, "tiers")))


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


# -- scoping requests --------------------------------------------------------------
def scoping_errors(doc: Column, rules: BusinessRules) -> Column:
    request = doc["request"]
    return gather(
        email(doc["submitted_by"], "submitted_by"),
        required(request["request_title"], "request.request_title"),
        length_between(
            request["request_title"], "request.request_title", 1, rules.validation.deal_name_max_chars
        ),
        one_of(request["sales_channel"], "request.sales_channel", SALES_CHANNELS),
        required(request["growth_opportunity_miq"], "request.growth_opportunity_miq"),
        required(request["growth_opportunity_client"], "request.growth_opportunity_client"),
        number(
            request["growth_ambition"],
            "request.growth_ambition",
            minimum=rules.validation.min_growth_ambition,
            optional=False,
        ),
        one_of(request["region"], "request.region", REGIONS, optional=True),
        one_of(request["deal_type"], "request.deal_type", DEAL_TYPES, optional=True),
        one_of(request["deal_structure"], "request.deal_structure", DEAL_STRUCTURES, optional=True),
        calendar_date(request["term_start_date"], "request.term_start_date", optional=True),
        calendar_date(request["term_end_date"], "request.term_end_date", optional=True),
        end_after_start(request["term_start_date"], request["term_end_date"], "request."),
        *[
            max_length(request[f], f"request.{f}", rules.validation.free_text_max_chars)
            for f in ("description", "growth_opportunity_miq", "growth_opportunity_client", "client_asks")
        ],
    )


# -- people and reference data --------------------------------------------------------
def user_errors(doc: Column) -> Column:
    user = doc["user"]
    return gather(
        email(user["email"], "user.email"),
        one_of(user["role"], "user.role", ROLES),
        one_of(user["department"], "user.department", DEPARTMENTS, optional=True),
        one_of(user["approval_level"], "user.approval_level", APPROVAL_LEVELS, optional=True),
        failure(
            ~blank(user["is_active"]) & as_bool(user["is_active"]).isNull(),
            "user.is_active",
            "boolean",
            "is_active must be true or false",
            user["is_active"],
        ),
    )


def user_warnings(doc: Column) -> Column:
    user = doc["user"]
    return gather(
        failure(
            (F.lower(F.trim(user["role"])) == "approver") & blank(user["approval_level"]),
            "user.approval_level",
            "approver_level",
            "an approver without approval_level cannot give business approvals",
        )
    )


def company_errors(company: Column, prefix: str, *, agency: bool) -> Column:
    checks = [
        required(company["name"], f"{prefix}.name"),
        one_of(company["region"], f"{prefix}.region", REGIONS, optional=True),
        number(company["previous_year_margin"], f"{prefix}.previous_year_margin", minimum=0, maximum=1),
        *[
            number(company[f], f"{prefix}.{f}")
            for f in (
                "previous_year_revenue",
                "previous_year_profit",
                "previous_year_incentive_cost",
                "previous_year_client_value",
            )
        ],
    ]
    if agency:
        checks.append(one_of(company["type"], f"{prefix}.type", AGENCY_TYPES, optional=True))
    return gather(*checks)
