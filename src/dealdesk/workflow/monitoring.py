"""Monitoring: overdue approvals, flow_intelligence and expired drafts (business rules, section 8).

Pure transformations over the tables and an ``as_of`` time (the job passes the current
time; tests and the demo pass a fixed one). Each result is a function of the data and
``as_of``, never of how often it ran: an overdue approval is raised one step above its
routed priority, once; flags are recomputed, not accumulated.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.config import APPROVAL_PRIORITIES, FINAL_STATUSES, BusinessRules
from dealdesk.workflow import routing

DRAFT_EXPIRED = "draft expired"
DRAFT_EXPIRY_EVENT_PREFIX = "draft-expired:"
ALWAYS_ON_TRACK = (*FINAL_STATUSES, "draft", "converted")
URGENT_DEAL_PRIORITIES = ("critical", "high")
SECONDS_PER_DAY = 86_400.0


def hours_between(start: Column, end: Column) -> Column:
    return (F.unix_timestamp(end) - F.unix_timestamp(start)) / F.lit(3600.0)


def priority_rank(priority: Column) -> Column:
    rank = F.lit(0)
    for position, name in enumerate(APPROVAL_PRIORITIES):
        rank = F.when(priority == F.lit(name), F.lit(position)).otherwise(rank)
    return rank


def priority_of_rank(rank: Column) -> Column:
    top = len(APPROVAL_PRIORITIES) - 1
    name = F.lit(APPROVAL_PRIORITIES[top])
    for position, level in reversed(list(enumerate(APPROVAL_PRIORITIES[:top]))):
        name = F.when(rank <= F.lit(position), F.lit(level)).otherwise(name)
    return name


# -- expired drafts ------------------------------------------------------------------------------


def expired_drafts(deals: DataFrame, as_of: datetime) -> DataFrame:
    return deals.filter(
        (F.col("status") == "draft")
        & F.col("draft_expires_at").isNotNull()
        & (F.col("draft_expires_at") <= F.lit(as_of))
    )


def draft_expiry_changes(expired: DataFrame) -> DataFrame:
    """draft -> lost at the expiry time, by the system; the expiry is its own stable event id."""
    return expired.select(
        F.col("id").alias("deal_id"),
        F.lit("lost").alias("status"),
        F.col("status").alias("previous_status"),
        F.lit(None).cast("bigint").alias("performed_by"),
        F.lit(DRAFT_EXPIRED).alias("comments"),
        F.concat(F.lit(DRAFT_EXPIRY_EVENT_PREFIX), F.col("reference_number")).alias("source_event_id"),
        F.col("draft_expires_at").alias("changed_at"),
        F.lit(1).alias("change_order"),
    )


def draft_expiry_updates(expired: DataFrame) -> DataFrame:
    return expired.select(
        F.col("id"),
        F.lit("lost").alias("status"),
        F.col("draft_expires_at").alias("last_status_change"),
        F.col("draft_expires_at").alias("updated_at"),
    )


# -- overdue approvals -----------------------------------------------------------------------------


def escalations(approvals: DataFrame, deals: DataFrame, as_of: datetime, rules: BusinessRules) -> DataFrame:
    """(id, priority, updated_at) for open approvals overdue by the escalation period whose
    priority is not yet one step above the one they were routed with."""
    overdue_for = hours_between(F.col("due_date"), F.lit(as_of))
    routed_with = routing.approval_priority(F.col("deal_priority"))
    target = priority_of_rank(
        F.greatest(priority_rank(F.col("priority")), priority_rank(routed_with) + F.lit(1))
    )
    return (
        routing.open_approvals(approvals, deals)
        .join(deals.select(F.col("id").alias("deal_id"), F.col("priority").alias("deal_priority")), "deal_id")
        .filter(overdue_for >= F.lit(rules.monitoring.overdue_escalation_hours))
        .withColumn("raised", target)
        .filter(F.col("raised") != F.col("priority"))
        .select(F.col("id"), F.col("raised").alias("priority"), F.lit(as_of).alias("updated_at"))
    )


# -- flow intelligence ------------------------------------------------------------------------------


def status_age_limit(status: Column, rules: BusinessRules) -> Column:
    """Days in a status after which a deal needs attention; null for statuses without a limit."""
    limits = rules.monitoring.status_age_days
    limit = F.lit(None).cast("double")
    for name in limits.__dataclass_fields__:
        limit = F.when(status == F.lit(name), F.lit(float(getattr(limits, name)))).otherwise(limit)
    return limit


def flow_intelligence(
    deals: DataFrame, approvals: DataFrame, as_of: datetime, rules: BusinessRules
) -> DataFrame:
    """(id, flow_intelligence) for every deal: needs_attention when any rule of section 8 holds."""
    monitoring = rules.monitoring
    overdue = (
        routing.open_approvals(approvals, deals)
        .filter(F.col("due_date") < F.lit(as_of))
        .select(F.col("deal_id").alias("id"))
        .distinct()
        .withColumn("has_overdue", F.lit(True))
    )
    days = (
        F.unix_timestamp(F.lit(as_of)) - F.unix_timestamp(F.coalesce("last_status_change", "created_at"))
    ) / F.lit(SECONDS_PER_DAY)
    status = F.col("status")
    attention = (
        (status == "revision_requested")
        | F.coalesce(F.col("has_overdue"), F.lit(False))
        | (F.col("revision_count") >= F.lit(monitoring.revision_count_attention))
        | (
            F.col("priority").isin(*URGENT_DEAL_PRIORITIES)
            & (days > F.lit(monitoring.urgent_priority_attention_days))
        )
        | ((status == "negotiating") & (days > F.lit(monitoring.negotiating_attention_days)))
        | F.coalesce(days >= status_age_limit(status, rules), F.lit(False))
    )
    flag = (
        F.when(status.isin(*ALWAYS_ON_TRACK), F.lit("on_track"))
        .when(attention, F.lit("needs_attention"))
        .otherwise(F.lit("on_track"))
    )
    return deals.join(overdue, "id", "left").select(
        F.col("id"), flag.alias("flow_intelligence"), F.col("flow_intelligence").alias("_previous")
    )


def flow_updates(flags: DataFrame, as_of: datetime) -> DataFrame:
    """Only the deals whose flag changes (an unchanged row is not rewritten)."""
    return flags.filter(~F.col("flow_intelligence").eqNullSafe(F.col("_previous"))).select(
        F.col("id"), F.col("flow_intelligence"), F.lit(as_of).alias("updated_at")
    )
