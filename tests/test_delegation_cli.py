"""Delegation through the command line on the embedded engine: a reviewer away hands their open
review over at the delegation's start (which falls due in a later run than the delegation's),
a refused delegation is kept with its reason, and a second run changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from pyspark.sql import functions as F

from dealdesk.cli.main import main, open_lakehouse
from dealdesk.core import ids
from dealdesk.lakehouse.engine import Target
from tests.intake_builders import submission, user, write_jsonl
from tests.workflow_builders import action

REF = "DEAL-2026-001"
SENT = datetime(2026, 3, 2, 10, 0)
REVIEWERS = ("trading.reviewer@example.com", "trading.cover@example.com")
PEOPLE = [
    user("sam.seller@example.com", "seller", "trading"),
    *(user(email, "department_reviewer", "trading") for email in REVIEWERS),
    user("finance.reviewer@example.com", "department_reviewer", "finance"),
    user("director.approver@example.com", "approver", "trading", "director"),
]


def stamp(hours: float) -> str:
    return (SENT + timedelta(hours=hours)).isoformat() + "Z"


def delegation(delegator: str, delegate: str, *, said: float, starts: float, ends: float) -> dict:
    return {
        "event_id": f"away-{uuid.uuid4().hex[:12]}",
        "kind": "delegation",
        "occurred_at": stamp(said),
        "delegator": delegator,
        "delegate": delegate,
        "starts_at": stamp(starts),
        "ends_at": stamp(ends),
        "reason": "holiday",
    }


def test_a_reviewer_away_hands_the_open_review_over_at_the_start(tmp_path, capsys):
    home = tmp_path / "home"
    options = ["--home", str(home), "--schema", f"away_{uuid.uuid4().hex[:8]}"]
    landing = home / "landing"
    assert main([*options, "migrate"]) == 0
    write_jsonl(landing, "1.jsonl", [*PEOPLE, submission()])
    assert main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"]) == 0
    lakehouse = open_lakehouse(Target(engine="local", catalog="main", schema=options[3], home=home))
    review = lakehouse.read("deal_approvals").filter("department = 'trading'").collect()[0]
    away = next(e for e in REVIEWERS if ids.user_id(e) == review["assigned_to"])
    cover = next(e for e in REVIEWERS if e != away)

    handed = delegation(away, cover, said=1, starts=2, ends=48)
    refused = delegation(away, "nobody@example.com", said=1, starts=2, ends=48)
    later = action(REF, 1, "finance", "approve", "finance.reviewer@example.com", SENT + timedelta(hours=3))
    write_jsonl(landing, "2.jsonl", [handed, refused])
    assert main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"]) == 0
    (waiting,) = lakehouse.read("delegations").collect()
    assert waiting["reassigned_at"] is None  # the business clock has not reached its start yet
    # the next run's documents pass the start: it falls due then, at its own time
    write_jsonl(landing, "3.jsonl", [later])
    assert main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"]) == 0

    review = lakehouse.read("deal_approvals").filter(F.col("id") == review["id"]).collect()[0]
    assert review["assigned_to"] == ids.user_id(cover)
    (assign,) = (
        lakehouse.read("approval_actions")
        .filter(
            (F.col("approval_id") == review["id"]) & F.col("source_event_id").startswith("delegation-start:")
        )
        .collect()
    )
    assert (assign["action_type"], assign["performed_by"], assign["assigned_to"]) == (
        "assign",
        None,
        ids.user_id(cover),
    )
    assert assign["created_at"] == SENT + timedelta(hours=2)
    assert assign["comments"].startswith(f"delegated by {away}, away until 2026-03-04 10:00:00: holiday")
    # the delegate is told (notifications), the sender of the refused delegation too
    told = {
        (r["kind"], r["recipient_id"], r["source_event_id"])
        for r in lakehouse.read("notifications").collect()
    }
    assert ("assigned", ids.user_id(cover), assign["source_event_id"]) in told
    assert ("document_rejected", ids.user_id(away), refused["event_id"]) in told
    (row,) = lakehouse.read("delegations").collect()
    assert (row["source_event_id"], row["reassigned_at"]) == (handed["event_id"], SENT + timedelta(hours=2))
    (rejection,) = (
        lakehouse.read("rejected_documents").filter(F.col("event_id") == refused["event_id"]).collect()
    )
    assert [r["rule"] for r in json.loads(rejection["reasons"])] == ["unknown_user"]

    # preview: a submission while the reviewer is away goes to the delegate
    # (the reviewer away has fewer open reviews now, so routing picks them first)
    path = tmp_path / "next.json"
    path.write_text(json.dumps(submission(occurred_at=stamp(5))))
    capsys.readouterr()
    assert main([*options, "preview", str(path)]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if " trading " in f" {line} "]
    assert any(f"{cover} (for {away}, away)" in line for line in shown), shown

    tables = ("deal_approvals", "approval_actions", "delegations", "rejected_documents")
    before = {table: sorted(map(tuple, lakehouse.read(table).collect())) for table in tables}
    assert main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"]) == 0
    assert {table: sorted(map(tuple, lakehouse.read(table).collect())) for table in tables} == before
