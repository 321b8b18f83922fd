"""Invariants every workflow scenario must leave true; the tests call check() after each one.

- Each status change has exactly one history row: per deal, seq runs 1..n without gaps or
  repeats, seq 1 is the creation (no previous status), and every later row starts from the
  status the row before it ended in (a missing or doubled change breaks that chain).
- Every move in the history is one the status machine allows (or monitoring's draft expiry).
- The latest history row equals deals.status, and last_status_change its changed_at.
- No deal that was approved (or went on to a contract) has an open approval in its current round.
- Ids of the audit tables are unique.
"""

from __future__ import annotations

import itertools

from pyspark.sql import functions as F

from dealdesk.config import STATUS_TRANSITIONS
from dealdesk.core.state_machine import SYSTEM_TRANSITIONS
from dealdesk.lakehouse.gateway import Lakehouse

APPROVED_OR_LATER = ("approved", "contract_drafting", "client_review", "signed")


def check(lakehouse: Lakehouse) -> None:
    history = [r.asDict() for r in lakehouse.read("deal_status_history").collect()]
    deals = {r["id"]: r.asDict() for r in lakehouse.read("deals").collect()}
    problems: list[str] = []

    by_deal: dict[int, list[dict]] = {}
    for row in history:
        by_deal.setdefault(row["deal_id"], []).append(row)
    if len({row["id"] for row in history}) != len(history):
        problems.append("deal_status_history ids repeat")
    for deal_id, deal in deals.items():
        rows = sorted(by_deal.get(deal_id, []), key=lambda r: r["seq"])
        ref = deal["reference_number"]
        if not rows:
            problems.append(f"{ref}: no history row")
            continue
        if [r["seq"] for r in rows] != list(range(1, len(rows) + 1)):
            problems.append(f"{ref}: seq is {[r['seq'] for r in rows]}")
        if rows[0]["previous_status"] is not None:
            problems.append(f"{ref}: first history row has previous status {rows[0]['previous_status']}")
        for before, after in itertools.pairwise(rows):
            if after["previous_status"] != before["status"]:
                problems.append(
                    f"{ref}: seq {after['seq']} starts from {after['previous_status']}, "
                    f"seq {before['seq']} ended in {before['status']}"
                )
            move = (after["previous_status"], after["status"])
            if after["status"] not in STATUS_TRANSITIONS.get(move[0], ()) and move not in SYSTEM_TRANSITIONS:
                problems.append(f"{ref}: the history moves {move[0]} -> {move[1]}")
        if rows[-1]["status"] != deal["status"]:
            problems.append(f"{ref}: deals.status {deal['status']}, latest history row {rows[-1]['status']}")
        if deal["last_status_change"] != rows[-1]["changed_at"]:
            problems.append(
                f"{ref}: last_status_change {deal['last_status_change']}, latest change {rows[-1]['changed_at']}"
            )
    orphans = set(by_deal) - set(deals)
    if orphans:
        problems.append(f"history rows for unknown deals {sorted(orphans)}")

    approvals = lakehouse.read("deal_approvals")
    open_after_approval = (
        approvals.filter(F.col("status") == "pending")
        .join(
            lakehouse.read("deals")
            .filter(F.col("status").isin(*APPROVED_OR_LATER))
            .select(
                F.col("id").alias("deal_id"),
                F.col("revision_count").alias("approval_round"),
                "reference_number",
            ),
            ["deal_id", "approval_round"],
        )
        .select("reference_number", "department", "approval_stage")
        .collect()
    )
    for row in open_after_approval:
        problems.append(
            f"{row['reference_number']}: approved with stage {row['approval_stage']} {row['department']} still pending"
        )
    for table in ("deal_approvals", "approval_actions"):
        frame = lakehouse.read(table)
        if frame.count() != frame.select("id").distinct().count():
            problems.append(f"{table} ids repeat")
    assert not problems, "invariants broken:\n" + "\n".join(problems)
