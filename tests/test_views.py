"""The reporting views: each view's numbers on a small known scenario, worked out by hand.

The scenario is written straight into the tables with known business times. Approvals that
are still open are placed relative to the current time, because "open", "age" and "overdue"
are measured against now; everything else sits in January and February 2026.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp

from dealdesk.config import DEAL_STATUSES
from dealdesk.errors import MigrationError
from dealdesk.lakehouse.ddl import discover_views
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner, grant_select, render
from tests.conftest import REPO, new_target

VIEWS = [view.name for view in discover_views()]
TABLES = {
    "users",
    "advertisers",
    "agencies",
    "deals",
    "deal_tiers",
    "incentive_values",
    "deal_scoping_requests",
    "deal_approvals",
    "approval_actions",
    "approval_fingerprints",
    "deal_status_history",
    "approval_departments",
    "raw_documents",
    "rejected_documents",
}
STAMP = datetime(2026, 1, 1, tzinfo=UTC)

# People: (id, first, last, email, role, department, approval level)
FIONA, THEO, MAYA, SAM = 1, 2, 3, 4
USERS = [
    (FIONA, "Fiona", "Finance", "fiona@example.com", "department_reviewer", "finance", None),
    (THEO, "Theo", "Trading", "theo@example.com", "department_reviewer", "trading", None),
    (MAYA, "Maya", "Director", "maya@example.com", "approver", "trading", "vp"),
    (SAM, "Sam", "Seller", "sam@example.com", "seller", None, None),
]


def at(text: str) -> datetime:
    """A business time in UTC (aware, so the engine reads it the same in any local time zone)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


@dataclass(frozen=True)
class Scenario:
    lakehouse: Lakehouse
    now: datetime  # when the scenario was written; open approvals are placed relative to it


def write(lakehouse: Lakehouse, table: str, rows: list[dict[str, Any]], defaults: dict[str, Any]) -> None:
    schema = lakehouse.read(table).schema
    unknown = {key for row in rows for key in row} - set(schema.fieldNames())
    assert not unknown, f"{table} has no column {unknown}"
    data = [tuple(row.get(f.name, defaults.get(f.name)) for f in schema.fields) for row in rows]
    lakehouse.append(lakehouse.spark.createDataFrame(data, schema), table)


def deal(deal_id: int, ref: int, status: str, value: float, cost: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": deal_id,
        "reference_number": f"DEAL-2026-{ref:03d}",
        "deal_name": f"Deal {ref}",
        "status": status,
        "deal_value": float(value),
        "total_incentive_cost": float(cost),
        **extra,
    }


def approval(
    approval_id: int,
    deal_id: int,
    department: str,
    routed: datetime,
    due: datetime,
    status: str = "pending",
    completed: datetime | None = None,
    assigned_to: int | None = None,
    stage: int = 1,
    level: str | None = None,
    round_: int = 0,
) -> dict[str, Any]:
    return {
        "id": approval_id,
        "deal_id": deal_id,
        "approval_round": round_,
        "approval_stage": stage,
        "department": department,
        "required_role": "approver" if stage == 2 else "department_reviewer",
        "approval_level": level,
        "status": status,
        "assigned_to": assigned_to,
        "due_date": due,
        "completed_at": completed,
        "created_at": routed,
    }


def history(deal_id: int, *changes: tuple[str, str | datetime, int | None]) -> list[dict[str, Any]]:
    """Status-history rows of one deal: (status, business time, performer) in order."""
    rows, previous = [], None
    for seq, (status, changed_at, performer) in enumerate(changes, start=1):
        rows.append(
            {
                "id": deal_id * 100 + seq,
                "deal_id": deal_id,
                "seq": seq,
                "status": status,
                "previous_status": previous,
                "performed_by": performer,
                "source_event_id": f"ev-{deal_id}-{seq}",
                "changed_at": at(changed_at) if isinstance(changed_at, str) else changed_at,
            }
        )
        previous = status
    return rows


def build_scenario(lakehouse: Lakehouse) -> Scenario:
    now = datetime.now(UTC).replace(microsecond=0)
    user_rows = [
        {
            "id": i,
            "username": email.split("@")[0],
            "email": email,
            "role": role,
            "department": dept,
            "approval_level": level,
            "first_name": first,
            "last_name": last,
        }
        for i, first, last, email, role, dept, level in USERS
    ]
    write(lakehouse, "users", user_rows, {"is_active": True, "created_at": STAMP, "updated_at": STAMP})
    deal_defaults = {
        "email": "sam@example.com",
        "deal_type": "grow",
        "deal_structure": "tiered",
        "contract_term": 12,
        "previous_year_revenue": 0.0,
        "previous_year_margin": 0.0,
        "revision_count": 0,
        "is_revision": False,
        "can_edit": True,
        "priority": "medium",
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    northeast_direct = {"region": "northeast", "sales_channel": "client_direct"}
    west_holding = {"region": "west", "sales_channel": "holding_company"}
    deals = [
        # A and C share a pipeline group: approved, northeast, client_direct, director.
        deal(101, 1, "approved", 150_000, 10_000, required_approval_level="director", **northeast_direct),
        deal(102, 2, "approved", 40_000, 2_000, priority="critical", **west_holding),
        deal(
            103,
            3,
            "approved",
            400_000,
            30_000,
            required_approval_level="director",
            revision_count=1,
            is_revision=True,
            **northeast_direct,
        ),
        deal(
            104,
            4,
            "under_review",
            80_000,
            5_000,
            region="midwest",
            sales_channel="independent_agency",
            required_approval_level="manager",
            priority="high",
            flow_intelligence="needs_attention",
        ),
        deal(
            105,
            5,
            "under_review",
            20_000,
            1_000,
            region="south",
            sales_channel="client_direct",
            deal_type="custom",
        ),
        deal(106, 6, "lost", 70_000, 4_000, required_approval_level="manager", **northeast_direct),
        deal(107, 7, "draft", 0, 0, region="west", sales_channel="client_direct"),
        deal(108, 8, "approved", 45_000, 3_000, **west_holding),
    ]
    write(lakehouse, "deals", deals, deal_defaults)

    d_routed, e_routed = now - timedelta(hours=100), now - timedelta(hours=10)
    changes = [
        *history(
            101,
            ("submitted", "2026-01-05T09:00", None),
            ("under_review", "2026-01-05T09:00", None),
            ("approved", "2026-01-07T15:00", MAYA),
        ),
        *history(
            102,
            ("submitted", "2026-01-10T10:00", None),
            ("under_review", "2026-01-10T10:00", None),
            ("approved", "2026-01-12T22:00", None),
        ),
        *history(
            103,
            ("submitted", "2026-01-20T08:00", None),
            ("under_review", "2026-01-20T08:00", None),
            ("revision_requested", "2026-01-21T08:00", FIONA),
            ("under_review", "2026-01-23T08:00", None),
            ("approved", "2026-02-02T08:00", MAYA),
        ),
        *history(104, ("submitted", d_routed, None), ("under_review", d_routed, None)),
        *history(105, ("submitted", e_routed, None), ("under_review", e_routed, None)),
        *history(
            106,
            ("submitted", "2026-02-10T09:00", None),
            ("under_review", "2026-02-10T09:00", None),
            ("lost", "2026-02-11T12:00", FIONA),
        ),
        *history(107, ("draft", "2026-02-15T10:00", SAM)),
        *history(
            108,
            ("submitted", "2026-01-14T12:00", None),
            ("under_review", "2026-01-14T12:00", None),
            ("approved", "2026-01-15T00:00", None),
        ),
    ]
    write(lakehouse, "deal_status_history", changes, {})

    def t(text: str) -> datetime:
        return at(f"2026-{text}")

    due_e = now + timedelta(hours=62)
    # id, deal, department, routed, due, status, decided, assignee, stage, level, round
    # fmt: off
    approval_rows = [
        (201, 101, "finance", t("01-05T09:00"), t("01-08T09:00"), "approved", t("01-06T09:00"), FIONA),
        (202, 101, "trading", t("01-05T09:00"), t("01-08T09:00"), "approved", t("01-06T21:00"), THEO),
        (203, 101, "trading", t("01-06T21:00"), t("01-09T21:00"), "approved", t("01-07T15:00"), MAYA, 2, "director"),
        (204, 102, "finance", t("01-10T10:00"), t("01-11T10:00"), "approved", t("01-12T22:00"), FIONA),
        (205, 102, "trading", t("01-10T10:00"), t("01-11T10:00"), "approved", t("01-11T08:00"), THEO),
        # C, round 0: finance sent it back (the time comes from its action row); trading is superseded.
        (206, 103, "finance", t("01-20T08:00"), t("01-23T08:00"), "revision_requested", None, FIONA),
        (207, 103, "trading", t("01-20T08:00"), t("01-23T08:00"), "pending", None, THEO),
        (208, 103, "finance", t("01-23T08:00"), t("01-26T08:00"), "approved", t("01-30T08:00"), FIONA, 1, None, 1),
        (209, 103, "trading", t("01-23T08:00"), t("01-26T08:00"), "approved", t("01-24T08:00"), THEO, 1, None, 1),
        (210, 103, "trading", t("01-30T08:00"), t("02-02T08:00"), "approved", t("02-02T08:00"), MAYA, 2, "director", 1),
        # D: finance open and overdue; trading decided in 10 hours.
        (211, 104, "finance", d_routed, now - timedelta(hours=28), "pending", None, FIONA),
        (212, 104, "trading", d_routed, d_routed + timedelta(hours=48), "approved", d_routed + timedelta(hours=10), THEO),
        # E: legal open and unassigned, finance open; neither overdue.
        (213, 105, "legal", e_routed, due_e, "pending", None, None),
        (214, 105, "finance", e_routed, due_e, "pending", None, FIONA),
        # F: finance rejected the deal; the trading review left pending is superseded.
        (215, 106, "finance", t("02-10T09:00"), t("02-13T09:00"), "rejected", t("02-11T12:00"), FIONA),
        (216, 106, "trading", t("02-10T09:00"), t("02-13T09:00"), "pending", None, THEO),
    ]
    # fmt: on
    approvals = [approval(*row) for row in approval_rows]
    write(lakehouse, "deal_approvals", approvals, {"priority": "normal", "updated_at": STAMP})

    actions = [
        {
            "id": 301,
            "approval_id": 201,
            "action_type": "initiate",
            "source_event_id": "ev-a",
            "created_at": at("2026-01-05T09:00"),
        },
        {
            "id": 302,
            "approval_id": 201,
            "action_type": "assign",
            "assigned_to": FIONA,
            "source_event_id": "ev-a",
            "created_at": at("2026-01-05T09:00"),
        },
        {
            "id": 303,
            "approval_id": 201,
            "action_type": "approve",
            "performed_by": FIONA,
            "comments": "Margins fine",
            "source_event_id": "ev-b",
            "created_at": at("2026-01-06T09:00"),
        },
        {
            "id": 304,
            "approval_id": 206,
            "action_type": "request_revision",
            "performed_by": FIONA,
            "comments": "Tier 2 margin too low",
            "source_event_id": "ev-c",
            "created_at": at("2026-01-21T08:00"),
        },
    ]
    write(lakehouse, "approval_actions", actions, {})

    region = '{"field":"region","rule":"enumeration","message":"unknown region","value":"mars"}'
    channel = '{"field":"sales_channel","rule":"enumeration","message":"unknown channel","value":"tv"}'
    name = '{"field":"deal_name","rule":"required","message":"deal_name is missing"}'
    auth = '{"field":"performed_by","rule":"not_authorised","message":"not the assignee","value":"x@y.z"}'
    unreadable = '{"field":"document","rule":"invalid_json","message":"not JSON"}'
    rejects = [
        {
            "event_id": "r1",
            "kind": "deal_submission",
            "rejected_at": at("2026-02-01T10:00"),
            "reasons": f"[{region},{channel}]",
        },
        {
            "event_id": "r2",
            "kind": "deal_submission",
            "rejected_at": at("2026-02-01T11:00"),
            "reasons": f"[{name},{region}]",
            "replayed_at": at("2026-02-03T09:00"),
            "replay_run_id": "run-2",
        },
        {
            "event_id": "r3",
            "kind": "approval_action",
            "rejected_at": at("2026-02-02T09:00"),
            "reasons": f"[{auth}]",
        },
        {"event_id": "r4", "kind": None, "rejected_at": at("2026-02-02T09:30"), "reasons": f"[{unreadable}]"},
    ]
    reject_defaults = {
        "source_file": "landing/batch-1.jsonl",
        "line_number": 1,
        "payload": "{}",
        "run_id": "run-1",
    }
    write(lakehouse, "rejected_documents", rejects, reject_defaults)
    return Scenario(lakehouse, now)


@pytest.fixture(scope="module")
def scenario(lakehouse_home: Path) -> Iterator[Scenario]:
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "views"))
    MigrationRunner(lakehouse).migrate()
    yield build_scenario(lakehouse)


def rows(lakehouse: Lakehouse, view: str, order: str, where: str = "true") -> list[dict[str, Any]]:
    result = lakehouse.sql(f"SELECT * FROM {lakehouse.table_name(view)} WHERE {where} ORDER BY {order}")
    return [row.asDict() for row in result.collect()]


def pick(records: list[dict[str, Any]], *columns: str) -> list[tuple]:
    return [tuple(record[c] for c in columns) for record in records]


def elapsed_hours(since: datetime, before: datetime, after: datetime) -> tuple[float, float]:
    """Bounds of the hours between ``since`` and a query made between ``before`` and ``after``."""
    return hours_between(since, before) - 0.01, hours_between(since, after) + 0.01


# -- definitions ------------------------------------------------------------------------------
def test_every_view_is_commented_and_parses_as_databricks_sql(shared_lakehouse: Lakehouse):
    assert len(VIEWS) >= 10
    known = TABLES | set(VIEWS)
    for view in discover_views():
        sql = render(view.statement, shared_lakehouse, for_databricks=True)
        tree = sqlglot.parse_one(sql, read="databricks")
        assert isinstance(tree, exp.Create) and tree.kind == "VIEW", view.file_name
        assert tree.this.this.name == view.name
        assert not list(tree.find_all(exp.Qualify)), f"{view.file_name}: QUALIFY is not portable"
        schema = shared_lakehouse.target.schema
        used = {t.name for t in tree.expression.find_all(exp.Table) if t.db == schema}
        assert used and used <= known, f"{view.file_name} reads {used - known}"
        # A view reads only views created before it.
        assert used & set(VIEWS) <= set(VIEWS[: VIEWS.index(view.name)]), view.file_name


def test_views_and_their_columns_carry_comments_in_the_catalog(shared_lakehouse: Lakehouse):
    listing = shared_lakehouse.sql(f"SHOW VIEWS IN {shared_lakehouse.schema_name}").collect()
    comments = {row["tableName"]: row["description"] for row in listing}
    assert set(VIEWS) <= set(comments)
    for view in VIEWS:
        assert comments[view], f"{view} has no comment"
        columns = shared_lakehouse.sql(f"DESCRIBE TABLE {shared_lakehouse.table_name(view)}").collect()
        uncommented = [c["col_name"] for c in columns if c["col_name"] and not c["comment"]]
        assert not uncommented, f"{view}: {uncommented}"


def test_a_view_file_creates_the_commented_view_it_is_named_after(tmp_path: Path):
    view_file = tmp_path / "010_pipeline.sql"
    view_file.write_text(
        "CREATE OR REPLACE VIEW ${catalog}.${schema}.other (a COMMENT 'x') COMMENT 'y' AS SELECT 1 AS a;"
    )
    with pytest.raises(MigrationError, match=r"010_pipeline\.sql"):
        discover_views(tmp_path)
    view_file.write_text("CREATE OR REPLACE VIEW ${catalog}.${schema}.pipeline AS SELECT 1 AS a;")
    with pytest.raises(MigrationError, match="COMMENT"):
        discover_views(tmp_path)
    view_file.write_text(
        "CREATE OR REPLACE VIEW ${catalog}.${schema}.pipeline (a COMMENT 'x') COMMENT 'y' AS SELECT 1 AS a;"
    )
    assert [v.name for v in discover_views(tmp_path)] == ["pipeline"]


def test_pipeline_status_order_follows_the_workflow():
    statement = next(v for v in discover_views() if v.name == "deal_pipeline").statement
    for position, status in enumerate(DEAL_STATUSES, start=1):
        assert f"WHEN '{status}' THEN {position}\n" in statement, status


def test_the_analysts_grant_is_one_statement_per_view(shared_lakehouse: Lakehouse):
    statement = grant_select(shared_lakehouse, "deal_pipeline", "deal desk analysts")
    assert (
        statement
        == f"GRANT SELECT ON TABLE {shared_lakehouse.table_name('deal_pipeline')} TO `deal desk analysts`"
    )
    assert isinstance(sqlglot.parse_one(statement, read="databricks"), exp.Grant)
    with pytest.raises(MigrationError):
        grant_select(shared_lakehouse, "deal_pipeline", "x` TO `everyone")


def test_views_come_back_after_a_restart(scenario: Scenario):
    """A new process re-attaches the tables and re-creates the views (the local catalog is in memory)."""
    target = scenario.lakehouse.target
    env = {**os.environ, "DEALDESK_HOME": str(target.home), "DEALDESK_SCHEMA": target.schema}
    query = "SELECT count(*) AS n FROM approval_queue"
    result = subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", "sql", query, "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "3"]


# -- numbers on the scenario ------------------------------------------------------------------
def test_deal_pipeline(scenario: Scenario):
    got = rows(scenario.lakehouse, "deal_pipeline", "status_order, region, sales_channel, approval_level")
    columns = (
        "status",
        "status_order",
        "region",
        "sales_channel",
        "approval_level",
        "deals",
        "total_deal_value",
        "total_incentive_cost",
        "deals_needing_attention",
    )
    assert pick(got, *columns) == [
        ("draft", 1, "west", "client_direct", "none", 1, 0.0, 0.0, 0),
        ("under_review", 5, "midwest", "independent_agency", "manager", 1, 80_000.0, 5_000.0, 1),
        ("under_review", 5, "south", "client_direct", "none", 1, 20_000.0, 1_000.0, 0),
        # A (150,000 / 10,000) and C (400,000 / 30,000)
        ("approved", 8, "northeast", "client_direct", "director", 2, 550_000.0, 40_000.0, 0),
        # B (40,000 / 2,000) and H (45,000 / 3,000)
        ("approved", 8, "west", "holding_company", "none", 2, 85_000.0, 5_000.0, 0),
        ("lost", 12, "northeast", "client_direct", "manager", 1, 70_000.0, 4_000.0, 0),
    ]


def test_approval_details_decision_times_and_states(scenario: Scenario):
    got = {r["approval_id"]: r for r in rows(scenario.lakehouse, "approval_details", "approval_id")}
    assert len(got) == 16
    decided = {k: v["hours_to_decision"] for k, v in got.items() if v["decided_at"] is not None}
    expected = {
        201: 24,
        202: 36,
        203: 18,
        204: 60,
        205: 22,
        206: 24,
        208: 168,
        209: 24,
        210: 72,
        212: 10,
        215: 27,
    }
    assert decided == pytest.approx(expected)
    assert {k for k, v in got.items() if v["state"] == "open"} == {211, 213, 214}
    assert {k for k, v in got.items() if v["state"] == "superseded"} == {207, 216}
    assert {k for k, v in got.items() if v["decided_late"]} == {204, 208}
    assert {k for k, v in got.items() if v["is_overdue"]} == {211}
    assert got[204]["hours_past_due"] == pytest.approx(36)
    assert got[208]["hours_past_due"] == pytest.approx(96)
    assert got[210]["hours_past_due"] is None  # decided exactly at the due time is on time
    assert (got[201]["assignee_name"], got[201]["department_name"]) == ("Fiona Finance", "Finance")
    assert got[213]["assignee_name"] is None
    assert (got[201]["stage_name"], got[203]["stage_name"]) == ("department review", "business approval")


def test_approval_queue(scenario: Scenario):
    before = datetime.now(UTC)
    got = rows(scenario.lakehouse, "approval_queue", "approval_id")
    after = datetime.now(UTC)
    assert pick(
        got, "approval_id", "reference_number", "department_name", "assignee", "assignee_email", "is_overdue"
    ) == [
        (211, "DEAL-2026-004", "Finance", "Fiona Finance", "fiona@example.com", True),
        (213, "DEAL-2026-005", "Legal", "Unassigned", None, False),
        (214, "DEAL-2026-005", "Finance", "Fiona Finance", "fiona@example.com", False),
    ]
    # Age and time to the due date are measured against now.
    low, high = elapsed_hours(scenario.now, before, after)
    for row, age, due_in in zip(got, (100, 10, 10), (-28, 62, 62), strict=True):
        assert age + low <= row["age_hours"] <= age + high
        assert due_in - high <= row["hours_until_due"] <= due_in - low


def test_deal_cycle_times(scenario: Scenario):
    got = rows(scenario.lakehouse, "deal_cycle_times", "reference_number")
    # The draft (deal 7) was never submitted.
    assert [r["reference_number"][-1] for r in got] == ["1", "2", "3", "4", "5", "6", "8"]
    by_deal = {r["reference_number"][-1]: r for r in got}
    # A: 09:00 Jan 5 -> 15:00 Jan 7; B: 10:00 Jan 10 -> 22:00 Jan 12; C: 08:00 Jan 20 -> 08:00 Feb 2,
    # its revision round included; H: 12:00 Jan 14 -> 00:00 Jan 15. D, E and F were never approved.
    assert {k: r["cycle_hours"] for k, r in by_deal.items()} == {
        "1": pytest.approx(54),
        "2": pytest.approx(60),
        "3": pytest.approx(312),
        "4": None,
        "5": None,
        "6": None,
        "8": pytest.approx(12),
    }
    c = by_deal["3"]
    assert c["cycle_days"] == pytest.approx(13)
    assert (c["submitted_month"].isoformat(), c["approved_month"].isoformat()) == ("2026-01-01", "2026-02-01")
    assert (c["revision_rounds"], c["approval_level"], by_deal["2"]["approval_level"]) == (
        1,
        "director",
        "none",
    )


def test_cycle_time_by_month_median_and_p90(scenario: Scenario):
    got = rows(scenario.lakehouse, "cycle_time_by_month", "month, approval_level")
    table = {(r["month"].isoformat()[:7], r["approval_level"]): r for r in got}
    assert set(table) == {
        ("2026-01", "all"),
        ("2026-01", "director"),
        ("2026-01", "none"),
        ("2026-02", "all"),
        ("2026-02", "director"),
    }
    # January, every level: 12, 54, 60 -> median 54; p90 at rank 0.9 * 2 = 1.8: 54 + 0.8 * 6; mean 42.
    january = table[("2026-01", "all")]
    assert pick([january], "approved_deals", "median_cycle_hours", "p90_cycle_hours", "mean_cycle_hours") == [
        (3, pytest.approx(54), pytest.approx(58.8), pytest.approx(42))
    ]
    # January below the ladder: H 12 and B 60 -> median 36; p90 = 12 + 0.9 * 48.
    below = table[("2026-01", "none")]
    assert (below["median_cycle_hours"], below["p90_cycle_hours"]) == (pytest.approx(36), pytest.approx(55.2))
    assert table[("2026-01", "director")]["median_cycle_hours"] == pytest.approx(54)
    assert table[("2026-02", "director")]["p90_cycle_hours"] == pytest.approx(312)


def test_deal_status_durations(scenario: Scenario):
    got = rows(scenario.lakehouse, "deal_status_durations", "seq", where="deal_id = 103")
    assert pick(got, "seq", "status", "next_status", "is_current") == [
        (1, "submitted", "under_review", False),
        (2, "under_review", "revision_requested", False),
        (3, "revision_requested", "under_review", False),
        (4, "under_review", "approved", False),
        (5, "approved", None, True),
    ]
    assert [r["hours_in_status"] for r in got[:4]] == pytest.approx([0, 24, 48, 240])
    # Still approved: the hours up to now.
    assert got[4]["hours_in_status"] >= hours_between(at("2026-02-02T08:00"), scenario.now) - 0.01
    lost = rows(scenario.lakehouse, "deal_status_durations", "seq", where="deal_id = 106")
    assert (lost[-1]["status"], lost[-1]["is_current"], lost[-1]["hours_in_status"]) == ("lost", True, None)


def test_status_time_by_month(scenario: Scenario):
    got = rows(scenario.lakehouse, "status_time_by_month", "month, status", where="month < DATE'2026-03-01'")
    table = {(r["month"].isoformat()[:7], r["status"]): r for r in got}
    # Stays in under_review that ended in January: A 54, B 60, H 12, C 24 -> median 39;
    # p90 at rank 0.9 * 3 = 2.7: 54 + 0.7 * 6.
    january = table[("2026-01", "under_review")]
    assert pick([january], "spells", "median_hours", "p90_hours") == [
        (4, pytest.approx(39), pytest.approx(58.2))
    ]
    assert table[("2026-01", "revision_requested")]["median_hours"] == pytest.approx(48)
    assert (table[("2026-01", "submitted")]["spells"], table[("2026-01", "submitted")]["p90_hours"]) == (4, 0)
    # February: C 240 and F 27 -> median 133.5; p90 = 27 + 0.9 * 213.
    february = table[("2026-02", "under_review")]
    assert (february["median_hours"], february["p90_hours"]) == (pytest.approx(133.5), pytest.approx(218.7))


def test_review_time_by_month(scenario: Scenario):
    got = rows(
        scenario.lakehouse,
        "review_time_by_month",
        "month, department, approval_stage",
        where="month < DATE'2026-03-01'",
    )
    table = {(r["month"].isoformat()[:7], r["department"], r["approval_stage"]): r for r in got}
    assert set(table) == {
        ("2026-01", "finance", 1),
        ("2026-01", "trading", 1),
        ("2026-01", "trading", 2),
        ("2026-02", "finance", 1),
        ("2026-02", "trading", 2),
    }
    # January finance: A 24, C round 0 24 (the revision request), B 60 (late), C round 1 168 (late)
    # -> median 42; p90 at rank 2.7: 60 + 0.7 * 108.
    finance = table[("2026-01", "finance", 1)]
    assert pick(
        [finance], "decisions", "median_hours_to_decision", "p90_hours_to_decision", "decided_late"
    ) == [(4, pytest.approx(42), pytest.approx(135.6), 2)]
    trading = table[("2026-01", "trading", 1)]  # B 22, C 24, A 36
    assert (trading["median_hours_to_decision"], trading["p90_hours_to_decision"]) == (
        pytest.approx(24),
        pytest.approx(33.6),
    )
    business = table[("2026-02", "trading", 2)]
    assert (business["approval_level"], business["median_hours_to_decision"]) == (
        "director",
        pytest.approx(72),
    )


def test_approval_bottlenecks(scenario: Scenario):
    got = rows(scenario.lakehouse, "approval_bottlenecks", "department, approver_name")
    columns = (
        "department",
        "approver_name",
        "open_approvals",
        "overdue_open_approvals",
        "decided_approvals",
        "decided_late",
    )
    assert pick(got, *columns) == [
        ("finance", "Fiona Finance", 2, 1, 5, 2),
        ("legal", "Unassigned", 1, 0, 0, 0),
        ("trading", "Maya Director", 0, 0, 2, 0),
        ("trading", "Theo Trading", 0, 0, 4, 0),  # his two superseded reviews do not count
    ]
    fiona, legal, maya, theo = got
    # Fiona decided in 24, 24, 27, 60 and 168 hours; one open approval is overdue and two were late.
    assert fiona["median_hours_to_decision"] == pytest.approx(27)
    assert fiona["p90_hours_to_decision"] == pytest.approx(124.8)  # rank 3.6: 60 + 0.6 * 108
    assert fiona["overdue_rate"] == pytest.approx(3 / 7)
    assert fiona["oldest_open_hours"] >= 100 - 0.01
    assert theo["median_hours_to_decision"] == pytest.approx(23)  # 10, 22, 24, 36
    assert maya["median_hours_to_decision"] == pytest.approx(45)  # 18, 72
    assert (legal["median_hours_to_decision"], legal["overdue_rate"]) == (None, 0)


def test_audit_trail_reads_with_names(scenario: Scenario):
    where = "reference_number IN ('DEAL-2026-001', 'DEAL-2026-003')"
    order = "occurred_at, entry_type DESC, status_seq, action DESC"
    got = rows(scenario.lakehouse, "audit_trail", order, where=where)
    assert len(got) == 3 + 5 + 3 + 1  # the history rows of A and C, the actions on A and C
    assert pick(got[:5], "entry_type", "performed_by_name", "description") == [
        ("status_change", "System", "Deal created as submitted"),
        ("status_change", "System", "Status changed from submitted to under_review"),
        ("approval_action", "System", "Opened Finance department review"),
        ("approval_action", "System", "Assigned Finance department review to Fiona Finance"),
        ("approval_action", "Fiona Finance", "Approved Finance department review"),
    ]
    revision = next(r for r in got if r["action"] == "request_revision")
    assert pick([revision], "reference_number", "performed_by_email", "comments", "approval_round") == [
        ("DEAL-2026-003", "fiona@example.com", "Tier 2 margin too low", 0)
    ]
    change = next(r for r in got if r["to_status"] == "revision_requested")
    assert pick([change], "from_status", "performed_by_name", "status_seq") == [
        ("under_review", "Fiona Finance", 3)
    ]
    # Every status change (A 3, B 3, C 5, D 2, E 2, F 3, the draft 1, H 3) and every action, once.
    assert scenario.lakehouse.read("audit_trail").count() == 22 + 4


def test_rejection_reasons_and_summary(scenario: Scenario):
    reasons = rows(scenario.lakehouse, "rejection_reasons", "event_id, field")
    assert pick(reasons, "event_id", "kind", "field", "rule", "value", "is_open") == [
        ("r1", "deal_submission", "region", "enumeration", "mars", True),
        ("r1", "deal_submission", "sales_channel", "enumeration", "tv", True),
        ("r2", "deal_submission", "deal_name", "required", None, False),
        ("r2", "deal_submission", "region", "enumeration", "mars", False),
        ("r3", "approval_action", "performed_by", "not_authorised", "x@y.z", True),
        ("r4", "unreadable", "document", "invalid_json", None, True),
    ]
    summary = rows(scenario.lakehouse, "rejects_summary", "rejected_day, kind, rule")
    columns = ("kind", "rule", "documents", "open_documents", "replayed_documents", "reasons", "fields")
    assert [(r["rejected_day"].isoformat(), *pick([r], *columns)[0]) for r in summary] == [
        ("2026-02-01", "deal_submission", "enumeration", 2, 1, 1, 3, "region, sales_channel"),
        ("2026-02-01", "deal_submission", "required", 1, 0, 1, 1, "deal_name"),
        ("2026-02-02", "approval_action", "not_authorised", 1, 1, 0, 1, "performed_by"),
        ("2026-02-02", "unreadable", "invalid_json", 1, 1, 0, 1, "document"),
    ]


# -- the dashboard over the views ---------------------------------------------------------------
DASHBOARD = REPO / "dashboards" / "dealdesk.lvdash.json"


def dataset_sql(dataset: dict[str, Any], lakehouse: Lakehouse) -> str:
    """A dataset query with its view names qualified (the bundle sets the dashboard's catalog and schema)."""
    tree = sqlglot.parse_one("".join(dataset["queryLines"]), read="databricks")
    for table in tree.find_all(exp.Table):
        assert table.name in VIEWS, f"dataset {dataset['name']} reads {table.name}, which is not a view"
        table.set("db", exp.to_identifier(lakehouse.target.schema))
        table.set("catalog", exp.to_identifier(lakehouse.target.catalog))
    return tree.sql(dialect="databricks")


def test_dashboard_datasets_read_the_views_and_run(scenario: Scenario):
    dashboard = json.loads(DASHBOARD.read_text())
    results = {}
    for dataset in dashboard["datasets"]:
        result = scenario.lakehouse.sql(dataset_sql(dataset, scenario.lakehouse))
        results[dataset["name"]] = (result.columns, [row.asDict() for row in result.collect()])
    headline = results["headline"][1]
    assert headline == [
        {
            "deals_in_pipeline": 6,  # two under review, four approved
            "pipeline_value": 735_000.0,
            "median_cycle_hours": pytest.approx(57),  # 12, 54, 60, 312
            "open_approvals": 3,
            "overdue_approvals": 1,
        }
    ]
    trend = {(r["month"].isoformat()[:7], r["measure"]): r["hours"] for r in results["cycle_trend"][1]}
    assert trend == {
        ("2026-01", "median"): pytest.approx(54),
        ("2026-01", "p90"): pytest.approx(58.8),
        ("2026-02", "median"): pytest.approx(312),
        ("2026-02", "p90"): pytest.approx(312),
    }
    labels = sorted({r["status_label"] for r in results["pipeline"][1]})
    assert labels == ["01. draft", "05. under review", "08. approved", "12. lost"]
    assert [r["reference_number"] for r in results["overdue"][1]] == ["DEAL-2026-004"]
    # Every widget reads a dataset of the dashboard, and its encodings use fields its query selects.
    for page in dashboard["pages"]:
        for item in page["layout"]:
            widget = item["widget"]
            (named_query,) = widget["queries"]
            query = named_query["query"]
            columns = results[query["datasetName"]][0]
            fields = {f["name"] for f in query["fields"]}
            for f in query["fields"]:
                referenced = re.findall(r"`([^`]+)`", f["expression"])
                assert referenced and set(referenced) <= set(columns), (widget["name"], f)
            encodings = widget["spec"]["encodings"]
            used = [e["fieldName"] for e in encodings.get("columns", [])] + [
                e["fieldName"] for key, e in encodings.items() if key != "columns"
            ]
            assert used and set(used) <= fields, widget["name"]
            assert set(item["position"]) == {"x", "y", "width", "height"}
            assert item["position"]["x"] + item["position"]["width"] <= 6, widget["name"]


def test_bundle_deploys_the_dashboard_over_this_schema():
    resource = yaml.safe_load((REPO / "bundle" / "dashboard.yml").read_text())["resources"]["dashboards"]
    (dashboard,) = resource.values()
    assert (REPO / "bundle" / dashboard["file_path"]).resolve() == DASHBOARD
    assert dashboard["warehouse_id"] == "${var.warehouse_id}"
    assert dashboard["dataset_catalog"] == "${var.catalog}"
    assert dashboard["dataset_schema"] == "${resources.schemas.deal_desk.name}"


# -- the analysts' notebooks ----------------------------------------------------------------------
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.sql"))
NOTEBOOK_HEADER = "-- Databricks notebook source\n"
CELL_SEPARATOR = "\n-- COMMAND ----------\n"


def notebook_queries(path: Path) -> list[str]:
    """The query cells of a SQL notebook (not markdown, widgets or USE)."""
    text = path.read_text()
    assert text.startswith(NOTEBOOK_HEADER), path.name
    cells = [cell.strip() for cell in text[len(NOTEBOOK_HEADER) :].split(CELL_SEPARATOR)]
    assert all(cells), f"{path.name} has an empty cell"
    return [cell for cell in cells if not cell.startswith(("-- MAGIC", "CREATE WIDGET", "USE "))]


def test_notebooks_are_databricks_sql_notebooks_with_widgets():
    assert {p.name for p in NOTEBOOKS} >= {
        "explore_pipeline_and_audit_trail.sql",
        "review_and_replay_rejects.sql",
    }
    for path in NOTEBOOKS:
        text = path.read_text()
        assert "CREATE WIDGET TEXT catalog" in text and "USE SCHEMA IDENTIFIER(:schema)" in text, path.name
        assert "-- MAGIC %md" in text, path.name


def test_notebook_queries_run_on_the_views(scenario: Scenario):
    lakehouse = scenario.lakehouse
    known = TABLES | set(VIEWS)
    values = {"reference_number": "DEAL-2026-003", "event_id": "r1"}
    results = {}
    for path in NOTEBOOKS:
        for number, cell in enumerate(notebook_queries(path), start=1):
            tree = sqlglot.parse_one(cell, read="databricks")
            for table in tree.find_all(exp.Table):
                assert table.name in known and not table.db, f"{path.name} query {number}: {table.sql()}"
                table.set("db", exp.to_identifier(lakehouse.target.schema))
                table.set("catalog", exp.to_identifier(lakehouse.target.catalog))
            names = {p.name for p in tree.find_all(exp.Placeholder)}
            args = {name: values[name] for name in names}
            results[(path.stem, number)] = lakehouse.sql(tree.sql(dialect="databricks"), args).collect()
    assert len(results) >= 12
    explore, rejects = "explore_pipeline_and_audit_trail", "review_and_replay_rejects"
    pipeline = results[(explore, 1)]
    assert [(r["status"], r["deals"], r["deal_value"]) for r in pipeline] == [
        ("draft", 1, 0.0),
        ("under_review", 2, 100_000.0),
        ("approved", 4, 635_000.0),
        ("lost", 1, 70_000.0),
    ]
    trail = next(
        rows for (nb, _), rows in results.items() if nb == explore and rows and "description" in rows[0]
    )
    assert [r["description"] for r in trail] == [
        "Deal created as submitted",
        "Status changed from submitted to under_review",
        "Status changed from under_review to revision_requested",
        "Revision requested on Finance department review",
        "Status changed from revision_requested to under_review",
        "Status changed from under_review to approved",
    ]
    document = [rows for (nb, _), rows in results.items() if nb == rejects and rows and "payload" in rows[0]]
    assert [r["event_id"] for r in document[0]] == ["r1"]
    open_rules = next(rows for (nb, n), rows in results.items() if nb == rejects and n == 2)
    assert {(r["kind"], r["rule"], r["open_documents"]) for r in open_rules} == {
        ("deal_submission", "enumeration", 1),
        ("approval_action", "not_authorised", 1),
        ("unreadable", "invalid_json", 1),
    }
