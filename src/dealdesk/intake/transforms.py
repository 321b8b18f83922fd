"""Pure transforms from validated documents to table rows."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.config import BusinessRules
from dealdesk.intake.validation import as_bool, as_date, as_number, blank, category_of, derived_contract_term


def text(value: Column) -> Column:
    return F.when(~blank(value), F.trim(value))


def enum(value: Column) -> Column:
    return F.when(~blank(value), F.lower(F.trim(value)))


def latest_per_key(docs: DataFrame, key: Column) -> DataFrame:
    """Keep each key's latest document (business time, then event id): a batch may hold several updates."""
    order = Window.partitionBy("_key").orderBy(F.col("occurred_at").desc(), F.col("event_id").desc())
    return (
        docs.withColumn("_key", key)
        .withColumn("_rank", F.row_number().over(order))
        .filter("_rank = 1")
        .drop("_rank", "_key")
    )


def user_rows(docs: DataFrame) -> DataFrame:
    u = F.col("doc.user")
    email = F.lower(F.trim(u["email"]))
    docs = latest_per_key(docs, email)
    return docs.select(
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
    )


def company_rows(docs: DataFrame, field: str, *, agency: bool) -> DataFrame:
    c = F.col(f"doc.{field}")
    name = F.regexp_replace(F.trim(c["name"]), r"\s+", " ")
    docs = latest_per_key(docs, keys.normalised_name(name))
    id_fn = keys.agency_id if agency else keys.advertiser_id
    columns = [
        id_fn(name).alias("id"),
        name.alias("name"),
    ]
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
    return docs.select(*columns)


def scoping_rows(docs: DataFrame, rules: BusinessRules) -> DataFrame:
    r = F.col("doc.request")
    start, end = as_date(r["term_start_date"]), as_date(r["term_end_date"])
    term = F.when(start.isNotNull() & end.isNotNull(), derived_contract_term(start, end, rules)).otherwise(
        F.lit(rules.validation.default_contract_term_months)
    )
    return docs.select(
        keys.scoping_request_id(F.col("event_id")).alias("id"),
        F.trim(r["request_title"]).alias("request_title"),
        text(r["description"]).alias("description"),
        F.lower(F.trim(F.col("doc.submitted_by"))).alias("email"),
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
        F.to_json("warnings").alias("validation_warnings"),
        F.col("event_id").alias("source_event_id"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    )


def tier_rows(subs: DataFrame) -> DataFrame:
    """One row per tier: revenue, margin, the first incentive's fields and the tier's incentive total."""
    tiers = subs.select("reference_number", "deal_id", "occurred_at", F.explode("doc.tiers").alias("tier"))
    incentives = F.coalesce(F.col("tier.incentives"), F.array())
    first = incentives[0]
    tier_number = F.col("tier.tier_number").try_cast("int")
    return tiers.select(
        keys.tier_id(F.col("reference_number"), tier_number).alias("id"),
        F.col("deal_id"),
        tier_number.alias("tier_number"),
        as_number(F.col("tier.annual_revenue")).alias("annual_revenue"),
        as_number(F.col("tier.annual_gross_margin")).alias("annual_gross_margin"),
        category_of(first["category"]).alias("category_name"),
        text(first["sub_category"]).alias("sub_category_name"),
        text(first["option"]).alias("incentive_option"),
        F.aggregate(
            F.transform(incentives, lambda i: F.coalesce(as_number(i["value"]), F.lit(0.0))),
            F.lit(0.0),
            lambda acc, v: acc + v,
        ).alias("incentive_value"),
        text(first["notes"]).alias("incentive_notes"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    )


def incentive_rows(subs: DataFrame) -> DataFrame:
    tiers = subs.select("reference_number", "deal_id", "occurred_at", F.explode("doc.tiers").alias("tier"))
    lines = tiers.select(
        "reference_number",
        "deal_id",
        "occurred_at",
        F.col("tier.tier_number").try_cast("int").alias("tier_number"),
        F.posexplode(F.coalesce(F.col("tier.incentives"), F.array())).alias("position", "incentive"),
    )
    line_number = (F.col("position") + 1).cast("int")
    i = F.col("incentive")
    return lines.select(
        keys.incentive_id(F.col("reference_number"), F.col("tier_number"), line_number).alias("id"),
        F.col("deal_id"),
        F.col("tier_number"),
        line_number.alias("line_number"),
        category_of(i["category"]).alias("category_id"),
        F.trim(i["sub_category"]).alias("subcategory_id"),
        F.trim(i["option"]).alias("option"),
        F.coalesce(as_number(i["value"]), F.lit(0.0)).alias("value"),
        text(i["notes"]).alias("notes"),
        F.col("occurred_at").alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    )


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
