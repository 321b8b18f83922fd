"""Writing a batch's effects: each table once or twice, insert-only where the table only grows.

Every write is idempotent (deterministic ids; inserts skip rows already there; updates set
final values), so the redo journal can apply the same effects again after a cut.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

from pyspark.sql import functions as F

from dealdesk.core.model import Effects
from dealdesk.lakehouse import table_types
from dealdesk.lakehouse.gateway import DELETE_FLAG, Lakehouse

# Columns an update never changes.
KEPT_ON_UPDATE = {"id", "created_at", "reference_number"}
DEAL_STATE = [
    "status",
    "last_status_change",
    "revision_reason",
    "updated_at",
    "flow_intelligence",
    "submitted_at",
    "draft_expires_at",
]


def _insert(
    lakehouse: Lakehouse, table: str, rows: list[dict[str, Any]], key: str = "id", *, first: bool = False
) -> int:
    """New rows: appended when the effects are written for the first time (their ids are new:
    deterministic, of documents and timers never applied), else an insert-only MERGE on ``key``
    that skips the rows an earlier attempt wrote (a journal finished by a later run)."""
    if rows:
        lakehouse.insert_new(lakehouse.frame(table, rows), table, [key], known_new=first)
    return len(rows)


def _update(
    lakehouse: Lakehouse,
    table: str,
    rows: list[dict[str, Any]],
    columns: list[str] | None = None,
    *,
    key: str = "id",
    condition: str | None = None,
) -> int:
    if rows:
        names = [key, *(c for c in (columns or table_types.column_names(table)) if c != key)]
        updated = [c for c in names if c not in KEPT_ON_UPDATE and c != key]
        lakehouse.merge(
            lakehouse.frame(table, rows, names), table, [key], update_columns=updated,
            update_condition=condition, insert=False,
        )  # fmt: skip
    return len(rows)


def _upsert_by_business_time(lakehouse: Lakehouse, table: str, rows: list[dict[str, Any]]) -> int:
    """People and companies: newer business time wins; created_at is kept."""
    if rows:
        frame = lakehouse.frame(table, rows)
        updated = [c for c in frame.columns if c not in ("id", "created_at")]
        lakehouse.merge(
            frame, table, ["id"], update_columns=updated, update_condition="s.updated_at >= t.updated_at"
        )
    return len(rows)


def _replace_parts(lakehouse: Lakehouse, table: str, rows: list[dict[str, Any]]) -> int:
    """Tiers or incentive lines of existing deals: set, insert, and delete the flagged ones."""
    if not rows:
        return 0
    kept = [r for r in rows if not r.get("_delete")]
    dropped = [r for r in rows if r.get("_delete")]
    frame = lakehouse.frame(table, kept).withColumn(DELETE_FLAG, F.lit(False))
    if dropped:
        gone = lakehouse.frame(table, dropped, ["id", "deal_id"]).withColumn(DELETE_FLAG, F.lit(True))
        frame = frame.unionByName(gone, allowMissingColumns=True)
    updated = [c for c in table_types.column_names(table) if c not in KEPT_ON_UPDATE]
    lakehouse.merge(frame, table, ["id"], update_columns=updated, delete_flagged=True)
    return len(kept)


def write_effects(
    lakehouse: Lakehouse,
    effects: Effects,
    run_id: str,
    now: datetime,
    ledger_known: set[str],
    *,
    first: bool = False,
) -> Counter[str]:
    """Write every table a batch changes; returns rows written per table.

    ``ledger_known``: events that already have a ledger row (a rejection decided again).
    ``first``: the run that decided the effects writes them (new rows are appended, without a
    MERGE that reads the whole table); a journal finished by a later run is not.
    The ledger goes last: a run cut before it leaves its documents pending."""
    written: Counter[str] = Counter()
    new = partial(_insert, lakehouse, first=first)
    written["users"] += _upsert_by_business_time(lakehouse, "users", effects.users)
    written["advertisers"] += _upsert_by_business_time(lakehouse, "advertisers", effects.advertisers)
    written["agencies"] += _upsert_by_business_time(lakehouse, "agencies", effects.agencies)
    if effects.delegations:  # new ones, and the start of those handed over (set once)
        lakehouse.merge(
            lakehouse.frame("delegations", effects.delegations), "delegations", ["id"],
            update_columns=["reassigned_at"], update_condition="t.reassigned_at IS NULL",
        )  # fmt: skip
        written["delegations"] += len(effects.delegations)
    written["deal_scoping_requests"] += new("deal_scoping_requests", effects.scoping_new)
    written["deal_scoping_requests"] += _update(
        lakehouse, "deal_scoping_requests", effects.scoping_converted,
        ["id", "status", "converted_deal_id", "converted_at", "updated_at"],
    )  # fmt: skip
    written["deals"] += new("deals", effects.deals_new)
    written["deals"] += _update(lakehouse, "deals", effects.deals_replaced)
    written["deals"] += _update(lakehouse, "deals", effects.deals_moved, ["id", *DEAL_STATE])
    for table in ("deal_tiers", "incentive_values"):
        written[table] += new(table, effects.parts_new.get(table, []))
        written[table] += _replace_parts(lakehouse, table, effects.parts_replaced.get(table, []))
    written["deal_approvals"] += new("deal_approvals", effects.approvals_new)
    written["deal_approvals"] += _update(lakehouse, "deal_approvals", effects.approvals_changed)
    written["approval_fingerprints"] += new("approval_fingerprints", effects.fingerprints, "approval_id")
    written["approval_actions"] += new("approval_actions", effects.actions)
    # a document rejected before and rejected again (a replay) tells its sender once: by key
    again = [r for r in effects.notifications if r["source_event_id"] in ledger_known]
    written["notifications"] += new(
        "notifications", [r for r in effects.notifications if r["source_event_id"] not in ledger_known]
    )
    written["notifications"] += _insert(lakehouse, "notifications", again)
    written["deal_status_history"] += new("deal_status_history", effects.history)
    rejected = [
        {**r, "reasons": json.dumps(r["reasons"]), "rejected_at": now, "run_id": run_id}
        for r in effects.rejected
    ]
    if rejected:
        frame = lakehouse.frame("rejected_documents", rejected)
        updated = [c for c in frame.columns if c != "event_id"]
        lakehouse.merge(frame, "rejected_documents", ["event_id"], update_columns=updated)
    written["rejected_documents"] += len(rejected)
    replayed = [{"event_id": e, "replayed_at": now, "replay_run_id": run_id} for e in effects.replayed]
    _update(
        lakehouse,
        "rejected_documents",
        replayed,
        ["event_id", "replayed_at", "replay_run_id"],
        key="event_id",
    )
    ledger = [{**row, "run_id": run_id, "processed_at": now} for row in effects.ledger]
    new("processed_events", [r for r in ledger if r["event_id"] not in ledger_known], key="event_id")
    # a rejected event decided again takes its new outcome; an applied one is final
    again = [r for r in ledger if r["event_id"] in ledger_known]
    if again:
        names = ["event_id", "outcome", "run_id", "processed_at", "reference_number"]
        lakehouse.merge(
            lakehouse.frame("processed_events", again, names), "processed_events", ["event_id"],
            update_columns=["outcome", "run_id", "processed_at"], update_condition="t.outcome = 'rejected'",
            insert=False,
        )  # fmt: skip
    return written
