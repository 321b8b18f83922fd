"""Pure transforms from validated documents to table rows."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.config import BusinessRules
from dealdesk.intake.validation import as_bool, as_date, as_number, blank, derived_contract_term


def text(value: Column) -> Column:
    return F.when(~blank(value), F.trim(value))


def enum(value: Column) -> Column:
    return F.when(~blank(value), F.lower(F.trim(value)))


def user_columns(u: Column) -> list[Column]:
    """A user document's users row (``u`` is the document's ``user`` object)."""
    email = F.lower(F.trim(u["email"]))
    return [
        keys.user_id(email).alias("id"),
        F.coalesce(text(u["username"]), F.split(email, "@")[0]).alias("username"),
        email.alias("email"),
        enum(u["role"]).alias("role"),
        enum(u["department"]).alias("department"),
        enum(u["approval_level"]).alias("approval_level"),
        text(u["first_name"]).alias("first_name"),
        text(u["last_name"]).alias("last_name"),
        F.coalesce(as_bool(u["is_active"]), F.lit(True)).alias("is_active"),
        text(u["external_id"]).alias("external_id"),
        F.col("event_id").alias("source_event_id"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    ]


def company_columns(c: Column, *, agency: bool) -> list[Column]:
    """An advertiser or agency document's row (``c`` is the document's company object)."""
    name = F.regexp_replace(F.trim(c["name"]), r"\s+", " ")
    id_fn = keys.agency_id if agency else keys.advertiser_id
    columns = [id_fn(name).alias("id"), name.alias("name")]
    if agency:
        columns.append(F.coalesce(enum(c["type"]), F.lit("independent")).alias("type"))
    columns += [
        F.coalesce(as_number(c[f]), F.lit(0.0)).alias(f)
        for f in (
            "previous_year_revenue",
            "previous_year_margin",
            "previous_year_profit",
            "previous_year_incentive_cost",
            "previous_year_client_value",
        )
    ]
    columns += [
        enum(c["region"]).alias("region"),
        F.col("event_id").alias("source_event_id"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    ]
    return columns


def scoping_columns(doc: Column, warnings: Column, rules: BusinessRules) -> list[Column]:
    """A scoping request document's row, pending (``doc`` is the whole document)."""
    r = doc["request"]
    start, end = as_date(r["term_start_date"]), as_date(r["term_end_date"])
    term = F.when(start.isNotNull() & end.isNotNull(), derived_contract_term(start, end, rules)).otherwise(
        F.lit(rules.validation.default_contract_term_months)
    )
    return [
        keys.scoping_request_id(F.col("event_id")).alias("id"),
        F.trim(r["request_title"]).alias("request_title"),
        text(r["description"]).alias("description"),
        F.lower(F.trim(doc["submitted_by"])).alias("email"),
        enum(r["sales_channel"]).alias("sales_channel"),
        text(r["advertiser_name"]).alias("advertiser_name"),
        text(r["agency_name"]).alias("agency_name"),
        enum(r["region"]).alias("region"),
        enum(r["deal_type"]).alias("deal_type"),
        enum(r["deal_structure"]).alias("deal_structure"),
        term.cast("int").alias("contract_term"),
        start.alias("term_start_date"),
        end.alias("term_end_date"),
        F.trim(r["growth_opportunity_miq"]).alias("growth_opportunity_miq"),
        as_number(r["growth_ambition"]).alias("growth_ambition"),
        F.trim(r["growth_opportunity_client"]).alias("growth_opportunity_client"),
        text(r["client_asks"]).alias("client_asks"),
        F.lit("pending").alias("status"),
        F.lit(None).cast("bigint").alias("converted_deal_id"),
        F.lit(None).cast("timestamp").alias("converted_at"),
        F.to_json(warnings).alias("validation_warnings"),
        F.col("event_id").alias("source_event_id"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    ]


def deal_value(doc: Column) -> Column:
    tiers = F.coalesce(doc["tiers"], F.array())
    return F.aggregate(
        F.transform(tiers, lambda t: F.coalesce(as_number(t["annual_revenue"]), F.lit(0.0))),
        F.lit(0.0),
        lambda a, v: a + v,
    )


def incentive_cost(doc: Column) -> Column:
    tiers = F.coalesce(doc["tiers"], F.array())
    values = F.flatten(
        F.transform(
            tiers,
            lambda t: F.transform(
                F.coalesce(t["incentives"], F.array()),
                lambda i: F.coalesce(as_number(i["value"]), F.lit(0.0)),
            ),
        )
    )
    return F.aggregate(values, F.lit(0.0), lambda a, v: a + v)


def approval_level(value: Column, rules: BusinessRules) -> Column:
    level = F.lit(None).cast("string")
    for name, bound in reversed(rules.ladder.thresholds()):
        level = F.when(value >= bound, F.lit(name)).otherwise(level)
    return level
