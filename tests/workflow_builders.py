"""Builders for workflow scenarios: people, deals as intake leaves them, and landed documents.

Rows go into the real tables through DataFrames and Lakehouse.merge/append; the
workflow jobs then read them like any other data.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.config import BusinessRules
from dealdesk.lakehouse import Lakehouse
from dealdesk.status_history import write_status_changes

RULES = BusinessRules()
T0 = datetime(2026, 3, 2, 9, 0)


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    department: str | None = None
    approval_level: str | None = None
    is_active: bool = True


STAFF = (
    Person("admin@example.com", "admin"),
    Person("sam.seller@example.com", "seller", "trading"),
    Person("trading.reviewer@example.com", "department_reviewer", "trading"),
    Person("finance.reviewer@example.com", "department_reviewer", "finance"),
    Person("creative.reviewer@example.com", "department_reviewer", "creative"),
    Person("marketing.reviewer@example.com", "department_reviewer", "marketing"),
    Person("product.reviewer@example.com", "department_reviewer", "product"),
    Person("solutions.reviewer@example.com", "department_reviewer", "solutions"),
    Person("legal.reviewer@example.com", "department_reviewer", "legal"),
    Person("manager.approver@example.com", "approver", "trading", "manager"),
    Person("director.approver@example.com", "approver", "trading", "director"),
    Person("vp.approver@example.com", "approver", "trading", "vp"),
    Person("svp.approver@example.com", "approver", "trading", "svp"),
)


def user_ids(lakehouse: Lakehouse) -> dict[str, int]:
    return {r["email"]: r["id"] for r in lakehouse.read("users").select("email", "id").collect()}


def add_people(lakehouse: Lakehouse, people: tuple[Person, ...] | list[Person] = STAFF) -> dict[str, int]:
    """Users as intake writes them (id = hash of the e-mail); returns e-mail -> id."""
    rows = [
        (
            p.email.split("@")[0],
            p.email,
            p.role,
            p.department,
            p.approval_level,
            p.email.split(".")[0].title(),
            "Example",
            p.is_active,
            f"ext-{p.email}",
            f"user-{p.email}",
            T0,
            T0,
        )
        for p in people
    ]
    schema = (
        "username STRING, email STRING, role STRING, department STRING, approval_level STRING, first_name STRING, "
        "last_name STRING, is_active BOOLEAN, external_id STRING, source_event_id STRING, created_at TIMESTAMP, "
        "updated_at TIMESTAMP"
    )
    frame = lakehouse.spark.createDataFrame(rows, schema)
    frame = frame.select(keys.user_id(F.col("email")).alias("id"), *frame.columns)
    lakehouse.merge(frame, "users", ["id"], update_columns=[c for c in frame.columns if c != "id"])
    return user_ids(lakehouse)


def set_default_assignee(lakehouse: Lakehouse, department: str, email: str | None) -> None:
    frame = lakehouse.spark.createDataFrame(
        [(department, email)], "department STRING, default_assignee_email STRING"
    )
    lakehouse.merge(frame, "approval_departments", ["department"], update_columns=["default_assignee_email"])


def add_deal(
    lakehouse: Lakehouse,
    reference: str,
    *,
    value: float = 20_000.0,
    categories: tuple[str, ...] = ("financial",),
    deal_type: str = "grow",
    priority: str = "medium",
    submitted_at: datetime = T0,
    status: str = "submitted",
    seller: str = "sam.seller@example.com",
    draft_expires_at: datetime | None = None,
) -> int:
    """A deal as intake leaves an accepted submission (or a draft), with its incentive lines and
    its first history row. Returns the deal id."""
    add_deals(
        lakehouse,
        [
            dict(
                reference=reference,
                value=value,
                categories=categories,
                deal_type=deal_type,
                priority=priority,
                submitted_at=submitted_at,
                status=status,
                seller=seller,
                draft_expires_at=draft_expires_at,
            )
        ],
    )
    return deal_id(lakehouse, reference)


def add_deals(lakehouse: Lakehouse, specs: list[dict[str, Any]]) -> None:
    """Several deals in one write (see add_deal for the fields)."""
    schema = lakehouse.read("deals").schema
    deals, incentives, changes = [], [], []
    for spec in specs:
        reference = spec["reference"]
        status = spec.get("status", "submitted")
        at = spec.get("submitted_at", T0)
        draft = status == "draft"
        row = {f.name: None for f in schema.fields}
        row.update(
            reference_number=reference,
            deal_name=f"Deal {reference}",
            email=spec.get("seller", "sam.seller@example.com"),
            deal_type=spec.get("deal_type", "grow"),
            sales_channel="client_direct",
            deal_structure="flat_commit",
            region="northeast",
            advertiser_name="Acme Foods",
            contract_term=12,
            previous_year_revenue=0.0,
            previous_year_margin=0.0,
            deal_value=float(spec.get("value", 20_000.0)),
            total_incentive_cost=1000.0 * len(spec.get("categories", ("financial",))),
            required_approval_level=RULES.ladder.level_for(float(spec.get("value", 20_000.0))),
            status=status,
            draft_type="submission_draft" if draft else None,
            revision_count=spec.get("revision_count", 0),
            is_revision=spec.get("revision_count", 0) > 0,
            can_edit=True,
            draft_expires_at=spec.get("draft_expires_at") or (at + timedelta(days=30) if draft else None),
            last_status_change=at,
            priority=spec.get("priority", "medium"),
            submitted_at=None if draft else at,
            source_event_id=f"submit-{reference}",
            created_at=at,
            updated_at=at,
        )
        deals.append(row)
        for line, category in enumerate(spec.get("categories", ("financial",)), start=1):
            incentives.append((reference, 1, line, category, "sub", "option", 1000.0, at))
        changes.append((reference, status, f"submit-{reference}", at))
    ids = deal_ids(lakehouse, [row["reference_number"] for row in deals])
    for row in deals:
        row["id"] = ids[row["reference_number"]]
    # The table's own schema (NOT NULL flags included): the engine plans the CHECK constraints
    # of a write far better when it knows which columns cannot be null.
    frame = lakehouse.spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in deals], schema)
    lakehouse.merge(frame, "deals", ["id"])
    lines = lakehouse.spark.createDataFrame(
        incentives,
        "reference STRING, tier_number INT, line_number INT, category_id STRING, subcategory_id STRING, "
        "option STRING, value DOUBLE, created_at TIMESTAMP",
    )
    lines = lines.select(
        keys.incentive_id(F.col("reference"), F.col("tier_number"), F.col("line_number")).alias("id"),
        keys.deal_id(F.col("reference")).alias("deal_id"),
        "tier_number",
        "line_number",
        "category_id",
        "subcategory_id",
        "option",
        "value",
        F.lit(None).cast("string").alias("notes"),
        "created_at",
        F.col("created_at").alias("updated_at"),
    )
    lakehouse.merge(lines, "incentive_values", ["id"])
    first = lakehouse.spark.createDataFrame(
        changes, "reference STRING, status STRING, event STRING, at TIMESTAMP"
    )
    write_status_changes(
        lakehouse,
        first.select(
            keys.deal_id(F.col("reference")).alias("deal_id"),
            "status",
            F.lit(None).cast("string").alias("previous_status"),
            F.lit(None).cast("bigint").alias("performed_by"),
            F.lit(None).cast("string").alias("comments"),
            F.col("event").alias("source_event_id"),
            F.col("at").alias("changed_at"),
            F.lit(1).alias("change_order"),
        ),
    )


def resubmit(lakehouse: Lakehouse, reference: str, at: datetime, *, value: float | None = None) -> None:
    """What intake does with a resubmission: new round number, revision fields; status stays."""
    deal = lakehouse.read("deals").filter(F.col("reference_number") == reference).first()
    assert deal["status"] == "revision_requested"
    changes = lakehouse.spark.createDataFrame(
        [(deal["id"], deal["revision_count"] + 1, at, f"resubmit-{reference}-{at.isoformat()}", value)],
        "id BIGINT, revision_count INT, last_revised_at TIMESTAMP, source_event_id STRING, new_value DOUBLE",
    ).select(
        "id",
        "revision_count",
        F.lit(True).alias("is_revision"),
        "last_revised_at",
        "source_event_id",
        F.coalesce(F.col("new_value"), F.lit(deal["deal_value"])).alias("deal_value"),
        F.col("last_revised_at").alias("updated_at"),
    )
    lakehouse.merge(
        changes, "deals", ["id"], update_columns=[c for c in changes.columns if c != "id"], insert=False
    )


def deal_ids(lakehouse: Lakehouse, references: list[str]) -> dict[str, int]:
    """The deterministic ids of deal references, computed by the engine like intake does."""
    frame = lakehouse.spark.createDataFrame([(r,) for r in references], "reference STRING")
    return {
        r["reference"]: r["id"]
        for r in frame.select("reference", keys.deal_id(F.col("reference")).alias("id")).collect()
    }


def deal_id(lakehouse: Lakehouse, reference: str) -> int:
    return lakehouse.read("deals").filter(F.col("reference_number") == reference).first()["id"]


# -- landed workflow documents --------------------------------------------------------------------


def action(
    reference: str,
    stage: int,
    department: str | None,
    verb: str,
    by: str,
    at: datetime,
    *,
    comments: str | None = None,
    assign_to: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"act-{uuid.uuid4().hex[:12]}",
        "kind": "approval_action",
        "occurred_at": at.isoformat() + "Z",
        "reference_number": reference,
        "approval_stage": stage,
        "department": department,
        "action": verb,
        "performed_by": by,
        "comments": comments,
        "assign_to": assign_to,
    }


def status_change(
    reference: str,
    new_status: str,
    by: str,
    at: datetime,
    *,
    comments: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"chg-{uuid.uuid4().hex[:12]}",
        "kind": "status_change",
        "occurred_at": at.isoformat() + "Z",
        "reference_number": reference,
        "new_status": new_status,
        "performed_by": by,
        "comments": comments,
    }


def land(lakehouse: Lakehouse, documents: list[dict[str, Any]], source_file: str | None = None) -> None:
    """Append documents to raw_documents as intake keeps them (envelope read, payload as text)."""
    source_file = source_file or f"landing/{uuid.uuid4().hex[:8]}.jsonl"
    rows = [
        (
            doc["event_id"],
            doc["kind"],
            source_file,
            number,
            datetime.fromisoformat(doc["occurred_at"].removesuffix("Z")),
            json.dumps(doc),
            "test-intake",
        )
        for number, doc in enumerate(documents, start=1)
    ]
    frame = lakehouse.spark.createDataFrame(
        rows,
        "event_id STRING, kind STRING, source_file STRING, line_number BIGINT, occurred_at TIMESTAMP, "
        "payload STRING, run_id STRING",
    ).withColumn("received_at", F.current_timestamp())
    lakehouse.append(frame.select(*lakehouse.read("raw_documents").columns), "raw_documents")


# -- reading results -------------------------------------------------------------------------------


def approvals_of(lakehouse: Lakehouse, reference: str) -> list[dict[str, Any]]:
    rows = (
        lakehouse.read("deal_approvals")
        .filter(F.col("deal_id") == deal_id(lakehouse, reference))
        .orderBy("approval_round", "approval_stage", "department")
        .collect()
    )
    return [r.asDict() for r in rows]


def status_of(lakehouse: Lakehouse, reference: str) -> str:
    return lakehouse.read("deals").filter(F.col("reference_number") == reference).first()["status"]


def history_of(lakehouse: Lakehouse, reference: str) -> list[tuple]:
    rows = (
        lakehouse.read("deal_status_history")
        .filter(F.col("deal_id") == deal_id(lakehouse, reference))
        .orderBy("seq")
        .collect()
    )
    return [(r["seq"], r["previous_status"], r["status"], r["changed_at"]) for r in rows]


def rejection_rules(lakehouse: Lakehouse, event_id: str) -> list[str]:
    row = lakehouse.read("rejected_documents").filter(F.col("event_id") == event_id).first()
    return [] if row is None else [reason["rule"] for reason in json.loads(row["reasons"])]


def snapshot(lakehouse: Lakehouse) -> dict[str, list[tuple]]:
    """Every table's rows, sorted; job_runs is left out (it records each run by design), and views
    (some depend on the clock)."""
    tables = [t for t in lakehouse.table_names() if t != "job_runs"]
    return {t: sorted((tuple(r) for r in lakehouse.read(t).collect()), key=repr) for t in tables}
