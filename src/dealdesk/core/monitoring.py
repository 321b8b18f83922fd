"""Monitoring's flags: flow_intelligence of every deal as of a time (business rules, section 8).

A set-based recomputation over the tables, a function of the data and ``as_of`` only:
flags are recomputed, not accumulated. Monitoring's changes that depend on order (a draft
expiring, an overdue approval escalated) are the decision core's timers.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.config import FINAL_STATUSES, BusinessRules
from dealdesk.core.state_machine import IN_REVIEW_STATUSES

ALWAYS_ON_TRACK = (*FINAL_STATUSES, "draft", "converted")
URGENT_DEAL_PRIORITIES = ("critical", "high")
SECONDS_PER_DAY = 86_400.0


def open_approvals(approvals: DataFrame, deals: DataFrame) -> DataFrame:
    """Approvals waiting for a decision: pending, in the deal's current round, the deal in review.

    Pending rows of an earlier round, or of a deal that left review (revision requested,
    lost), can no longer be decided and are not open."""
    live = deals.filter(F.col("status").isin(*IN_REVIEW_STATUSES)).select(
        F.col("id").alias("deal_id"), F.col("revision_count").alias("approval_round")
    )
    return approvals.filter(F.col("status") == "pending").join(live, ["deal_id", "approval_round"])


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
        open_approvals(approvals, deals)
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
