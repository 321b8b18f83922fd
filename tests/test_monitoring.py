"""Monitoring: overdue approvals escalate, flow_intelligence is recomputed, expired drafts close."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pyspark.sql import functions as F

from dealdesk.lakehouse import Lakehouse
from dealdesk.workflow.jobs import monitor_deals, route_deals
from tests import invariants
from tests.workflow_builders import (
    RULES,
    T0,
    add_deals,
    add_people,
    approvals_of,
    history_of,
    snapshot,
    status_of,
)


def flag(lakehouse: Lakehouse, reference: str) -> str | None:
    return lakehouse.read("deals").filter(F.col("reference_number") == reference).first()["flow_intelligence"]


def priorities(lakehouse: Lakehouse, reference: str) -> set[str]:
    return {r["priority"] for r in approvals_of(lakehouse, reference)}


def test_overdue_approvals_need_attention_and_escalate_one_step_after_a_full_day(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deals(
        lakehouse,
        [
            dict(reference="DEAL-2026-401", priority="medium", submitted_at=T0),  # due T0 + 72 h
            dict(reference="DEAL-2026-402", priority="critical", submitted_at=T0),  # due T0 + 24 h, urgent
        ],
    )
    route_deals(lakehouse, RULES)
    due = T0 + timedelta(hours=72)
    monitor_deals(lakehouse, RULES, due - timedelta(hours=1))
    assert priorities(lakehouse, "DEAL-2026-401") == {"normal"}
    assert flag(lakehouse, "DEAL-2026-401") == "on_track"
    monitor_deals(lakehouse, RULES, due + timedelta(hours=1))
    assert priorities(lakehouse, "DEAL-2026-401") == {"normal"}  # overdue, not yet by a full day
    assert flag(lakehouse, "DEAL-2026-401") == "needs_attention"
    monitor_deals(lakehouse, RULES, due + timedelta(hours=24))
    assert priorities(lakehouse, "DEAL-2026-401") == {"high"}
    assert {r["updated_at"] for r in approvals_of(lakehouse, "DEAL-2026-401")} == {due + timedelta(hours=24)}
    assert priorities(lakehouse, "DEAL-2026-402") == {"urgent"}  # already the top
    # One step, once: later runs do not raise it again.
    later = due + timedelta(days=5)
    monitor_deals(lakehouse, RULES, later)
    assert priorities(lakehouse, "DEAL-2026-401") == {"high"}
    before = snapshot(lakehouse)
    monitor_deals(lakehouse, RULES, later)
    assert snapshot(lakehouse) == before
    invariants.check(lakehouse)


NOW = datetime(2026, 3, 20, 12, 0)


@pytest.mark.parametrize(
    ("deal", "expected"),
    [
        (dict(status="revision_requested", submitted_at=NOW - timedelta(hours=1)), "needs_attention"),
        (dict(status="negotiating", submitted_at=NOW - timedelta(days=3)), "on_track"),
        (dict(status="negotiating", submitted_at=NOW - timedelta(days=4)), "needs_attention"),
        (
            dict(status="under_review", revision_count=2, submitted_at=NOW - timedelta(hours=1)),
            "needs_attention",
        ),
        (dict(status="under_review", revision_count=1, submitted_at=NOW - timedelta(hours=1)), "on_track"),
        (
            dict(status="under_review", priority="high", submitted_at=NOW - timedelta(hours=25)),
            "needs_attention",
        ),
        (dict(status="under_review", priority="high", submitted_at=NOW - timedelta(hours=23)), "on_track"),
        (dict(status="under_review", priority="low", submitted_at=NOW - timedelta(days=2.9)), "on_track"),
        (
            dict(status="under_review", priority="low", submitted_at=NOW - timedelta(days=3)),
            "needs_attention",
        ),
        (dict(status="submitted", submitted_at=NOW - timedelta(days=2)), "needs_attention"),
        (dict(status="approved", submitted_at=NOW - timedelta(days=1)), "on_track"),
        (dict(status="approved", submitted_at=NOW - timedelta(days=2)), "needs_attention"),
        (dict(status="contract_drafting", submitted_at=NOW - timedelta(days=3)), "needs_attention"),
        (dict(status="client_review", submitted_at=NOW - timedelta(days=3.5)), "on_track"),
        (dict(status="client_review", submitted_at=NOW - timedelta(days=4)), "needs_attention"),
        (dict(status="signed", priority="critical", submitted_at=NOW - timedelta(days=90)), "on_track"),
        (dict(status="lost", revision_count=3, submitted_at=NOW - timedelta(days=90)), "on_track"),
        (dict(status="draft", priority="critical", submitted_at=NOW - timedelta(days=9)), "on_track"),
    ],
)
def test_flow_intelligence_rules(lakehouse: Lakehouse, deal, expected):
    add_deals(lakehouse, [dict(reference="DEAL-2026-500", **deal)])
    monitor_deals(lakehouse, RULES, NOW)
    assert flag(lakehouse, "DEAL-2026-500") == expected


def test_expired_drafts_are_closed_as_lost_at_their_expiry(lakehouse: Lakehouse):
    expiry = T0 + timedelta(days=30)
    add_deals(
        lakehouse,
        [
            dict(reference="DEAL-2026-601", status="draft", submitted_at=T0),
            dict(reference="DEAL-2026-602", status="draft", submitted_at=T0 + timedelta(days=5)),
        ],
    )
    monitor_deals(lakehouse, RULES, expiry + timedelta(hours=1))
    assert status_of(lakehouse, "DEAL-2026-601") == "lost"
    assert status_of(lakehouse, "DEAL-2026-602") == "draft"
    assert history_of(lakehouse, "DEAL-2026-601") == [(1, None, "draft", T0), (2, "draft", "lost", expiry)]
    row = lakehouse.read("deal_status_history").filter(F.col("seq") == 2).first()
    assert (row["comments"], row["performed_by"]) == ("draft expired", None)
    before = snapshot(lakehouse)
    monitor_deals(lakehouse, RULES, expiry + timedelta(hours=2))
    assert snapshot(lakehouse) == before
    invariants.check(lakehouse)
