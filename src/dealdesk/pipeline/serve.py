"""Bringing the read models over to the serving database: only what changed, idempotent.

The serving database holds schema ``app``: ``app.deals``, ``app.approval_queue``,
``app.deal_history``, ``app.document_outcomes``, ``app.people`` and ``app.inbox``, copies of the lakehouse's
read models (``serving.read_models``). A sync copies the rows a run wrote since the last sync
(``refreshed_at`` after the mark it keeps in ``app.sync_state``) and moves the mark in the
same transaction: a sync cut short, or a run cut between its Delta writes and its sync, leaves
the rows for the next one; copying a row twice changes nothing.

Row-level security, for the role the app logs in with (``dealdesk_app``): the app names its
user at the start of each transaction, ``SELECT set_config('dealdesk.user_email', $1, true)``, and
the policies show approvers and admins every deal, a seller the deals they submitted, a
reviewer the deals their department reviews, each sender the outcomes of their documents, and
each person their own inbox.
A transaction that names nobody sees no deal, approval, history entry or outcome; ``app.people``
(names, roles and departments) is the app's directory, readable without one. The policies cast
the JSON columns to ``jsonb``, so they hold on Lakebase too, whose synced tables keep them as text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyspark.sql import functions as F

from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.postgres import APP_ROLE, OWNER, LocalServer
from dealdesk.pipeline.read_models import KEYS, READ_MODELS

TABLES = {  # read model -> (serving table, its columns with PostgreSQL types)
    "app_deals": ("deals", {
        "deal_id": "bigint", "reference_number": "text", "deal_name": "text", "status": "text",
        "seller_email": "text", "seller_name": "text", "deal_type": "text", "sales_channel": "text",
        "deal_structure": "text", "region": "text", "advertiser_name": "text", "agency_name": "text",
        "deal_value": "double precision", "total_incentive_cost": "double precision",
        "required_approval_level": "text", "priority": "text", "revision_count": "integer",
        "flow_intelligence": "text", "term_start_date": "date", "term_end_date": "date",
        "submitted_at": "timestamp", "last_status_change": "timestamp", "created_at": "timestamp",
        "updated_at": "timestamp", "tiers": "jsonb", "approvals": "jsonb", "review_departments": "jsonb",
        "refreshed_at": "timestamp",
    }),
    "app_approval_queue": ("approval_queue", {
        "approval_id": "bigint", "deal_id": "bigint", "reference_number": "text", "deal_name": "text",
        "deal_status": "text", "deal_value": "double precision", "seller_email": "text",
        "approval_round": "integer", "approval_stage": "integer", "department": "text",
        "approval_level": "text", "status": "text", "priority": "text", "assignee_email": "text",
        "assignee_name": "text", "due_date": "timestamp", "is_open": "boolean", "created_at": "timestamp",
        "updated_at": "timestamp", "refreshed_at": "timestamp",
    }),
    "app_deal_history": ("deal_history", {
        "entry_id": "text", "deal_id": "bigint", "reference_number": "text", "happened_at": "timestamp",
        "entry_kind": "text", "seq": "integer", "previous_status": "text", "status": "text", "action": "text",
        "approval_stage": "integer", "department": "text", "performer_email": "text", "performer_name": "text",
        "comments": "text", "source_event_id": "text", "seller_email": "text", "review_departments": "jsonb",
        "refreshed_at": "timestamp",
    }),
    "app_document_outcomes": ("document_outcomes", {
        "event_id": "text", "kind": "text", "outcome": "text", "reference_number": "text", "reasons": "jsonb",
        "sent_by": "text", "source_file": "text", "line_number": "bigint", "decided_at": "timestamp",
        "refreshed_at": "timestamp",
    }),
    "app_people": ("people", {
        "email": "text", "display_name": "text", "role": "text", "department": "text",
        "approval_level": "text", "is_active": "boolean", "refreshed_at": "timestamp",
    }),
    "app_inbox": ("inbox", {
        "notification_id": "bigint", "recipient_email": "text", "kind": "text", "deal_id": "bigint",
        "reference_number": "text", "approval_id": "bigint", "message": "text", "notify_at": "timestamp",
        "is_current": "boolean", "source_event_id": "text", "created_at": "timestamp", "refreshed_at": "timestamp",
    }),
}  # fmt: skip
INDEXES = (
    "CREATE INDEX IF NOT EXISTS deals_by_seller ON app.deals (seller_email, updated_at DESC)",
    "CREATE INDEX IF NOT EXISTS deals_by_reference ON app.deals (reference_number)",
    "CREATE INDEX IF NOT EXISTS deals_by_status ON app.deals (status, updated_at DESC)",
    "CREATE INDEX IF NOT EXISTS open_by_assignee ON app.approval_queue (assignee_email, due_date) WHERE is_open",
    "CREATE INDEX IF NOT EXISTS open_by_department ON app.approval_queue (department, due_date) WHERE is_open",
    "CREATE INDEX IF NOT EXISTS history_by_deal ON app.deal_history (deal_id, happened_at, entry_id)",
    "CREATE INDEX IF NOT EXISTS outcomes_by_sender ON app.document_outcomes (sent_by, decided_at DESC)",
    "CREATE INDEX IF NOT EXISTS inbox_by_recipient ON app.inbox (recipient_email, notify_at DESC) WHERE is_current",
)
# Who the transaction's user is, as the app named it; and what they may see.
VIEWER = "nullif(lower(current_setting('dealdesk.user_email', true)), '')"
SEES_ALL = (
    f"(SELECT p.role IN ('approver', 'admin') FROM app.people p WHERE p.email = {VIEWER} AND p.is_active)"
)
DEPARTMENT = (
    f"(SELECT p.department FROM app.people p WHERE p.email = {VIEWER} AND p.is_active "
    "AND p.role = 'department_reviewer')"
)
POLICIES = {
    "deals": f"{SEES_ALL} OR seller_email = {VIEWER} OR review_departments::jsonb ? {DEPARTMENT}",
    "approval_queue": f"{SEES_ALL} OR seller_email = {VIEWER} OR assignee_email = {VIEWER} OR department = {DEPARTMENT}",
    "deal_history": f"{SEES_ALL} OR seller_email = {VIEWER} OR review_departments::jsonb ? {DEPARTMENT}",
    "document_outcomes": f"sent_by = {VIEWER} OR (SELECT p.role = 'admin' FROM app.people p WHERE p.email = {VIEWER} AND p.is_active)",
    "inbox": f"recipient_email = {VIEWER}",
}


@dataclass
class SyncReport:
    rows: dict[str, int] = field(default_factory=dict)
    mark: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def schema_statements() -> list[str]:
    """The app schema, its tables, indexes, grants and row-level security: idempotent."""
    statements = ["CREATE SCHEMA IF NOT EXISTS app"]
    for model, (table, columns) in TABLES.items():
        body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        keys = ", ".join(KEYS[model])
        statements.append(f"CREATE TABLE IF NOT EXISTS app.{table} ({body}, PRIMARY KEY ({keys}))")
    statements += list(INDEXES)
    statements.append(
        "CREATE TABLE IF NOT EXISTS app.sync_state (name text PRIMARY KEY, mark timestamp, version text)"
    )
    statements += [
        f"GRANT USAGE ON SCHEMA app TO {APP_ROLE}",
        f"GRANT SELECT ON {', '.join(f'app.{t}' for t, _ in TABLES.values())} TO {APP_ROLE}",
    ]
    for table, rule in POLICIES.items():
        statements += [
            f"ALTER TABLE app.{table} ENABLE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS visible_to_viewer ON app.{table}",
            f"CREATE POLICY visible_to_viewer ON app.{table} FOR SELECT TO {APP_ROLE} USING ({rule})",
        ]
    return statements


def serve(lakehouse: Lakehouse) -> SyncReport | None:
    """After a run on a home that has a serving database: start it if it stopped, and sync.
    None where there is none (Databricks syncs its own; a home gets one with ``serving url``)."""
    target = lakehouse.target
    if not target.is_local:
        return None
    server = LocalServer(target.home)
    if not server.exists():
        return None
    port = server.start(database_of(lakehouse))
    return sync(lakehouse, server.url(OWNER, database=database_of(lakehouse), port=port))


def database_of(lakehouse: Lakehouse) -> str:
    """The serving database of a lakehouse: one per schema of the home, named like it."""
    return lakehouse.target.schema


def open_serving(lakehouse: Lakehouse, *, fresh: bool = False) -> LocalServer:
    """The home's server started (made the first time), with the lakehouse's database in it
    (``fresh``: dropped and made anew, empty)."""
    server = LocalServer(lakehouse.target.home)
    if fresh:
        server.reset_database(database_of(lakehouse))
    else:
        server.start(database_of(lakehouse))
    return server


def schema_version() -> str:
    """A fingerprint of the schema statements: a database set up by other ones gets them again."""
    return hashlib.sha256("\n".join(schema_statements()).encode()).hexdigest()[:16]


def sync(lakehouse: Lakehouse, owner_url: str) -> SyncReport:
    """Copy the read-model rows written since the last sync into the serving database."""
    import psycopg  # the local engines' extra

    report = SyncReport()
    with psycopg.connect(owner_url) as conn:
        found = conn.execute("SELECT to_regclass('app.sync_state')").fetchone()
        state = (
            conn.execute("SELECT mark, version FROM app.sync_state WHERE name = 'read_models'").fetchone()
            if found and found[0]
            else None
        )
        version = schema_version()
        if state is None or state[1] != version:
            for statement in schema_statements():
                conn.execute(statement)
            state = (state[0] if state else None, version)
        mark = state[0]
        newest = mark
        for model in READ_MODELS:
            table, columns = TABLES[model]
            frame = lakehouse.read(model)
            if mark is not None:
                frame = frame.filter(F.col("refreshed_at") > F.lit(mark))
            rows = lakehouse.collect(frame.select(*columns))
            report.rows[table] = len(rows)
            if not rows:
                continue
            newest = max(filter(None, [newest, *(r["refreshed_at"] for r in rows)]))
            _upsert(conn, model, rows)
        conn.execute(
            "INSERT INTO app.sync_state (name, mark, version) VALUES ('read_models', %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET mark = excluded.mark, version = excluded.version",
            (newest, version),
        )
        report.mark = newest
    return report


def _upsert(conn: Any, model: str, rows: list[dict[str, Any]]) -> None:
    """COPY into a staging table, then insert or replace by key: one round of statements."""
    table, columns = TABLES[model]
    names = list(columns)
    keys = KEYS[model]
    staging = f"staging_{table}"
    conn.execute(f"CREATE TEMP TABLE {staging} (LIKE app.{table} INCLUDING DEFAULTS) ON COMMIT DROP")
    with conn.cursor().copy(f"COPY {staging} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_cell(row[n], columns[n]) for n in names])
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    conn.execute(
        f"INSERT INTO app.{table} ({', '.join(names)}) SELECT {', '.join(names)} FROM {staging} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _cell(value: Any, kind: str) -> Any:
    if kind == "jsonb" and value is not None and not isinstance(value, str):
        return json.dumps(value)
    return value
