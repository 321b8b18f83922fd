"""Monitoring's flags: flow_intelligence of a deal as of a time (business rules, section 8).

A function of the deal, its open approvals and ``as_of`` only: flags are recomputed, not
accumulated. The decision core flags every deal of its snapshot as of the run's monitoring time;
the snapshot holds the deals a batch touches and those whose flag may change (``time_may_turn``,
or ``may_be_stale`` when the lakehouse cannot say when flags were last set). Monitoring's changes
that depend on order (a draft expiring, an overdue approval escalated) are the core's timers.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.config import FINAL_STATUSES, BusinessRules
from dealdesk.core.model import Approval, Deal
from dealdesk.core.state_machine import IN_REVIEW_STATUSES

ALWAYS_ON_TRACK = (*FINAL_STATUSES, "draft", "converted")
URGENT_DEAL_PRIORITIES = ("critical", "high")
SECONDS_PER_DAY = 86_400.0


def time_may_turn() -> Column:
    """Over deals: the flag time alone may turn, to needs_attention. Every rule of section 8 holds
    from some moment on and keeps holding while nothing happens to the deal, so a deal already
    needing attention keeps needing it, and one always on track by its status stays so."""
    flagged = F.col("flow_intelligence")
    return ~F.col("status").isin(*ALWAYS_ON_TRACK) & (flagged.isNull() | (flagged != "needs_attention"))


def may_be_stale() -> Column:
    """Over deals: the flag may be wrong when nothing is known of when it was set: every deal but
    those on track in a status that is always on track."""
    flagged = F.col("flow_intelligence")
    return ~(F.col("status").isin(*ALWAYS_ON_TRACK) & flagged.eqNullSafe(F.lit("on_track")))


def is_open(approval: Approval, deal: Deal) -> bool:
    """One approval waiting for a decision (the rule of open_approvals, for one row)."""
    return (
        approval.status == "pending"
        and approval.approval_round == deal.revision_count
        and deal.status in IN_REVIEW_STATUSES
    )


def open_approvals(approvals: DataFrame, deals: DataFrame) -> DataFrame:
    """Approvals waiting for a decision: pending, in the deal's current round, the deal in review.

    Pending rows of an earlier round, or of a deal that left review (revision requested,
    lost), can no longer be decided and are not open."""
    live = deals.filter(F.col("status").isin(*IN_REVIEW_STATUSES)).select(
        F.col("id").alias("deal_id"), F.col("revision_count").alias("approval_round")
    )
    return approvals.filter(F.col("status") == "pending").join(live, ["deal_id", "approval_round"])


# -- flow intelligence ------------------------------------------------------------------------------


def _seconds(moment: datetime) -> int:
    """Whole seconds since the epoch of a naive UTC time (what the engines' unix_timestamp gives)."""
    return calendar.timegm(moment.utctimetuple())


def flag(deal: Deal, open_due_dates: Iterable[datetime | None], as_of: datetime, rules: BusinessRules) -> str:
    """flow_intelligence of ``deal`` as of ``as_of`` (business rules, section 8): needs_attention
    when any rule holds, on_track otherwise and always in a final status, a draft or converted.
    ``open_due_dates``: the due dates of the deal's open approvals (see open_approvals)."""
    if deal.status in ALWAYS_ON_TRACK:
        return "on_track"
    monitoring = rules.monitoring
    since = deal.last_status_change or deal.created_at
    days = None if since is None else (_seconds(as_of) - _seconds(since)) / SECONDS_PER_DAY
    limit = monitoring.status_age_days.get(deal.status)
    attention = (
        deal.status == "revision_requested"
        or any(due is not None and due < as_of for due in open_due_dates)
        or (deal.revision_count is not None and deal.revision_count >= monitoring.revision_count_attention)
        or (days is not None and deal.priority in URGENT_DEAL_PRIORITIES
            and days > monitoring.urgent_priority_attention_days)
        or (days is not None and deal.status == "negotiating" and days > monitoring.negotiating_attention_days)
        or (days is not None and limit is not None and days >= float(limit))
    )  # fmt: skip
    return "needs_attention" if attention else "on_track"
