"""The workflow jobs: thin functions that read the tables, call the pure steps and write.

Each job records itself in job_runs. ``run_pipeline`` is what ``dealdesk run`` and the
scheduled job call: intake, routing, decisions and monitoring, in that order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import functions as F

from dealdesk.config import BusinessRules
from dealdesk.frames import ROW_VERSION, insert_rows, materialize, overlay, read_version, update_rows
from dealdesk.intake import ingest_landing
from dealdesk.lakehouse import Lakehouse
from dealdesk.runs import JobRun, job_run
from dealdesk.status_history import write_status_changes
from dealdesk.workflow import monitoring, routing
from dealdesk.workflow.decisions import decide_documents, pending_documents

log = logging.getLogger(__name__)

LATEST_EVENT = "latest-event"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- routing -------------------------------------------------------------------------------------


def route_batch(lakehouse: Lakehouse, rules: BusinessRules, run: JobRun) -> None:
    """Route every deal waiting for a round: stage-1 approvals, their actions, under_review."""
    read = lakehouse.read
    deals, approvals = read("deals"), read("deal_approvals")
    to_route = materialize(
        lakehouse.spark, routing.deals_to_route(deals, approvals, read("deal_status_history"))
    )
    if to_route.isEmpty():
        return
    departments, users = read("approval_departments"), read("users")
    requests = routing.stage1_requests(to_route, read("incentive_values"), departments, rules)
    assigned = routing.assign_stage1(requests, departments, users, routing.open_counts(approvals, deals))
    rows = materialize(lakehouse.spark, routing.approval_rows(assigned, rules.sla_hours))
    unassigned = rows.filter(F.col("assigned_to").isNull()).count()
    if unassigned:
        log.warning(
            "%d department reviews left unassigned: no active reviewer in their department", unassigned
        )
    # history first: a run cut after it finds the deal half routed (deals_to_route) and finishes it
    run.rows_merged["deal_status_history"] += write_status_changes(
        lakehouse, routing.routing_changes(to_route)
    )
    run.rows_merged["deal_approvals"] += insert_rows(
        lakehouse, rows.select(*routing.APPROVAL_COLUMNS), "deal_approvals"
    )
    run.rows_merged["approval_actions"] += insert_rows(
        lakehouse, routing.initiation_actions(rows), "approval_actions"
    )
    moved = to_route.select(
        F.col("deal_id").alias("id"),
        F.lit("under_review").alias("status"),
        F.col("routed_at").alias("last_status_change"),
        F.col("routed_at").alias("updated_at"),
        F.col("status").alias("read_status"),
        F.col("updated_at").alias("read_updated_at"),
    )
    run.rows_merged["deals"] += update_rows(lakehouse, moved, "deals", guard=ROW_VERSION)


def route_deals(lakehouse: Lakehouse, rules: BusinessRules) -> JobRun:
    with job_run(lakehouse, "route") as run:
        route_batch(lakehouse, rules, run)
    return run


# -- decisions -----------------------------------------------------------------------------------


def decide_pending(lakehouse: Lakehouse, rules: BusinessRules) -> JobRun:
    """Decide the approval_action and status_change documents not decided yet."""
    with job_run(lakehouse, "decide") as run:
        decide_documents(lakehouse, pending_documents(lakehouse), run, rules)
    return run


# -- monitoring ----------------------------------------------------------------------------------


def monitor_batch(lakehouse: Lakehouse, rules: BusinessRules, as_of: datetime, run: JobRun) -> None:
    """Close expired drafts, escalate overdue approvals, recompute flow_intelligence: one write per table."""
    read = lakehouse.read
    deals, approvals = read("deals"), read("deal_approvals")
    expired = materialize(lakehouse.spark, monitoring.expired_drafts(deals, as_of))
    closed = monitoring.draft_expiry_updates(expired)
    after_expiry = overlay(deals, closed)
    flags = monitoring.flow_updates(
        monitoring.flow_intelligence(after_expiry, approvals, as_of, rules), as_of
    )
    touched = closed.select("id").unionByName(flags.select("id")).distinct()
    changed = overlay(after_expiry, flags).join(touched, "id", "left_semi")
    run.rows_merged["deal_approvals"] += update_rows(
        lakehouse,
        monitoring.escalations(approvals, deals, as_of, rules).join(read_version(approvals), "id"),
        "deal_approvals",
        guard=ROW_VERSION,
    )
    run.rows_merged["deal_status_history"] += write_status_changes(
        lakehouse, monitoring.draft_expiry_changes(expired)
    )
    run.rows_merged["deals"] += update_rows(
        lakehouse,
        changed.select("id", "status", "last_status_change", "flow_intelligence", "updated_at").join(
            read_version(deals), "id"
        ),
        "deals",
        guard=ROW_VERSION,
    )


def monitor_deals(lakehouse: Lakehouse, rules: BusinessRules, as_of: datetime | None = None) -> JobRun:
    with job_run(lakehouse, "monitor") as run:
        monitor_batch(lakehouse, rules, as_of or utc_now(), run)
    return run


# -- the whole pipeline --------------------------------------------------------------------------


def run_pipeline(
    lakehouse: Lakehouse, landing: Path, rules: BusinessRules, as_of: datetime | str | None = None
) -> list[JobRun]:
    """Intake, routing, decisions and monitoring, in that order, in this process.

    Monitoring runs as of ``as_of``: a time, None for now, or LATEST_EVENT for the latest
    business time landed so far (replaying old files, the demo).
    """
    runs = [
        ingest_landing(lakehouse, landing, rules),
        route_deals(lakehouse, rules),
        decide_pending(lakehouse, rules),
    ]
    moment = business_clock(lakehouse) if as_of == LATEST_EVENT else as_of
    runs.append(monitor_deals(lakehouse, rules, moment))  # type: ignore[arg-type]
    return runs


def business_clock(lakehouse: Lakehouse) -> datetime | None:
    """The latest business time seen in the landing documents (the demo monitors as of then)."""
    return lakehouse.read("raw_documents").agg(F.max("occurred_at")).first()[0]
