"""Builders for workflow scenarios: people, deals as intake leaves them, and landed documents.

Rows go into the real tables through DataFrames and Lakehouse.merge/append; the
workflow jobs then read them like any other data.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import functions as F

from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from tests import column_keys as keys

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
    """Every table's rows, sorted; the runs' bookkeeping is left out (job_runs records each run by
    design, run_lock and run_journal each run's lease and effects), and views (some depend on the
    clock)."""
    tables = [t for t in lakehouse.table_names() if t not in ("job_runs", "run_lock", "run_journal")]
    return {t: sorted((tuple(r) for r in lakehouse.read(t).collect()), key=repr) for t in tables}
