"""Smart re-approval through the command line on the embedded engine: `preview` says what a
resubmission would carry over, `run` carries it over, and a second run changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dealdesk.cli.main import main, open_lakehouse
from dealdesk.lakehouse.engine import Target
from tests.intake_builders import submission, user, write_jsonl
from tests.workflow_builders import action

REF = "DEAL-2026-001"
SENT = datetime(2026, 3, 2, 10, 0)
PEOPLE = [
    user("sam.seller@example.com", "seller", "trading"),
    user("trading.reviewer@example.com", "department_reviewer", "trading"),
    user("finance.reviewer@example.com", "department_reviewer", "finance"),
    user("director.approver@example.com", "approver", "trading", "director"),
]


def at(hours: int) -> datetime:
    return SENT + timedelta(hours=hours)


@pytest.fixture(scope="module")
def sent_back(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """A $150,000 deal whose two reviews approved and whose director sent it back."""
    home = tmp_path_factory.mktemp("reapproval")
    options = ["--home", str(home), "--schema", f"re_{uuid.uuid4().hex[:8]}"]
    assert main([*options, "migrate"]) == 0
    landing = home / "landing"
    write_jsonl(
        landing,
        "1.jsonl",
        [
            *PEOPLE,
            submission(),
            action(REF, 1, "trading", "approve", "trading.reviewer@example.com", at(1)),
            action(REF, 1, "finance", "approve", "finance.reviewer@example.com", at(2)),
            action(
                REF, 2, None, "request_revision", "director.approver@example.com", at(3), comments="rename it"
            ),
        ],
    )
    assert main([*options, "run", "--landing", str(landing)]) == 0
    return options, landing


def resubmission() -> dict:
    return submission(
        {"deal.deal_name": "Grow_CD_ACME_Renamed"}, reference_number=REF, occurred_at="2026-03-03T09:00:00Z"
    )


def test_preview_says_which_reviews_a_resubmission_carries_over(sent_back, tmp_path, capsys):
    options, _ = sent_back
    path = tmp_path / "resubmission.json"
    path.write_text(json.dumps(resubmission()))
    capsys.readouterr()
    assert main([*options, "preview", str(path)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line[:1] in ("1", "2")]
    shown = {(row[0], row[3]): " ".join(row[4:]) for row in rows}
    assert shown == {
        ("1", "finance"): "finance.reviewer@example.com carried over from round 0",
        ("1", "trading"): "trading.reviewer@example.com carried over from round 0",
        ("2", "trading"): "director director.approver@example.com asked anew",  # it sent the deal back
    }


def test_a_resubmission_carries_the_unchanged_reviews_over_and_a_rerun_changes_nothing(sent_back, capsys):
    options, landing = sent_back
    write_jsonl(landing, "2.jsonl", [resubmission()])
    assert main([*options, "run", "--landing", str(landing)]) == 0
    home = Path(options[1])
    lakehouse = open_lakehouse(Target(engine="local", catalog="main", schema=options[3], home=home))
    approvals = {
        (r["approval_stage"], r["department"]): r
        for r in lakehouse.read("deal_approvals").filter("approval_round = 1").collect()
    }
    assert {key: row["status"] for key, row in approvals.items()} == {
        (1, "trading"): "approved",
        (1, "finance"): "approved",
        (2, "trading"): "pending",  # the director sent it back: asked again
    }
    assert approvals[(1, "finance")]["comments"].startswith(
        "carried over from round 0: nothing finance judges"
    )
    carried = lakehouse.read("approval_fingerprints").filter(F.col("carried_over_from_round") == 0).collect()
    assert sorted(r["department"] for r in carried) == ["finance", "trading"]
    system_approvals = (
        lakehouse.read("approval_actions")
        .filter((F.col("action_type") == "approve") & F.col("performed_by").isNull())
        .count()
    )
    assert system_approvals == 2

    # analysts: a carried-over approval is no decision of its round and took nobody's time
    details = {
        (r["approval_round"], r["department"]): r
        for r in lakehouse.read("approval_details").filter("approval_stage = 1").collect()
    }
    finance = details[(1, "finance")]
    assert (finance["state"], finance["hours_to_decision"], finance["carried_over_from_round"]) == (
        "carried over",
        None,
        0,
    )
    assert details[(0, "finance")]["state"] == "decided" and details[(0, "finance")]["hours_to_decision"] == 2
    reviews = lakehouse.read("review_time_by_month").filter("department = 'finance'").collect()
    assert sum(r["decisions"] for r in reviews) == 1  # round 0's only

    tables = ("deal_approvals", "approval_actions", "approval_fingerprints", "deal_status_history")
    before = {table: lakehouse.read(table).count() for table in tables}
    capsys.readouterr()
    assert main([*options, "run", "--landing", str(landing)]) == 0
    assert {table: lakehouse.read(table).count() for table in tables} == before
