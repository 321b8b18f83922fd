"""Intake end to end on the embedded engine: landing files in, Delta tables out.

Every run must reconcile (lines read = accepted + rejected), and a re-run of the same
input must change nothing.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.ingest import ingest_landing, replay
from dealdesk.pipeline.runs import JobRun
from tests.intake_builders import (
    SELLER,
    advertiser,
    deal_by_event,
    envelope,
    reasons_of,
    reference_data,
    rows,
    scoping_request,
    submission,
    tier,
    user,
    write_jsonl,
)
from tests.workflow_builders import snapshot

RULES = BusinessRules()


def ingest(lakehouse: Lakehouse, landing: Path) -> JobRun:
    """Ingest and check what every run must satisfy: reconciliation, in memory and in job_runs."""
    run = ingest_landing(lakehouse, landing, RULES)
    assert run.lines_read == run.accepted + run.rejected, run.summary()
    recorded = lakehouse.read("job_runs").filter(F.col("run_id") == run.run_id).first()
    assert (recorded["status"], recorded["lines_read"], recorded["accepted"], recorded["rejected"]) == (
        "succeeded",
        run.lines_read,
        run.accepted,
        run.rejected,
    )
    return run


def rule_names(lakehouse: Lakehouse, event_id: str) -> list[str]:
    return [r["rule"] for r in reasons_of(lakehouse, event_id)]


def test_the_sample_day_reconciles_and_a_rerun_changes_nothing(lakehouse: Lakehouse, tmp_path: Path):
    landing = tmp_path / "landing"
    shutil.copytree(sample_days()[0], landing)
    lines = sum(1 for f in landing.iterdir() for line in f.read_text().splitlines() if line.strip())

    run = ingest(lakehouse, landing)
    assert run.lines_read == lines == lakehouse.read("raw_documents").count()
    assert run.rejected == lakehouse.read("rejected_documents").count() > 0
    assert all(json.loads(r["reasons"]) for r in lakehouse.read("rejected_documents").collect())
    assert run.accepted_by_kind["deal_submission"] == lakehouse.read("deals").count() > 0

    before = snapshot(lakehouse)
    again = ingest(lakehouse, landing)
    assert again.lines_read == 0
    assert snapshot(lakehouse) == before


def test_every_kind_lands_in_its_table(lakehouse: Lakehouse, tmp_path: Path):
    deal = submission(occurred_at="2026-03-02T14:05:00Z")
    request = scoping_request()
    write_jsonl(tmp_path, "a.jsonl", [*reference_data(), request, deal])
    run = ingest(lakehouse, tmp_path)
    assert run.rejected == 0
    assert dict(run.accepted_by_kind) == {
        "user": 2,
        "advertiser": 1,
        "agency": 1,
        "scoping_request": 1,
        "deal_submission": 1,
    }

    assert rows(lakehouse, "users", "email", "role", "department") == [
        ("fin.reviewer@example.com", "department_reviewer", "finance"),
        (SELLER, "seller", "trading"),
    ]
    assert rows(lakehouse, "advertisers", "name") == [("Acme Foods",)]
    assert rows(lakehouse, "agencies", "name", "type") == [("Blue Agency", "independent")]
    assert rows(lakehouse, "deal_scoping_requests", "request_title", "status", "contract_term") == [
        ("Blue Agency growth", "pending", 12)  # no dates: 12 months
    ]

    stored = deal_by_event(lakehouse, deal["event_id"])
    assert stored["reference_number"] == "DEAL-2026-001"
    assert stored["status"] == "under_review"  # routed as it is applied
    assert stored["deal_value"] == 150_000  # 60,000 + 90,000
    assert stored["total_incentive_cost"] == 20_000
    assert stored["required_approval_level"] == "director"
    assert stored["contract_term"] == 12
    assert stored["submitted_at"] == datetime(2026, 3, 2, 14, 5)
    assert stored["advertiser_id"] is not None  # matched by name
    assert rows(
        lakehouse, "deal_tiers", "tier_number", "annual_revenue", "category_name", "incentive_value"
    ) == [
        (1, 60_000.0, "financial", 10_000.0),
        (2, 90_000.0, "financial", 10_000.0),
    ]
    assert rows(lakehouse, "incentive_values", "tier_number", "line_number", "category_id", "value") == [
        (1, 1, "financial", 10_000.0),
        (2, 1, "financial", 10_000.0),
    ]
    assert rows(lakehouse, "deal_status_history", "seq", "previous_status", "status", "changed_at") == [
        (1, None, "submitted", datetime(2026, 3, 2, 14, 5)),
        (2, "submitted", "under_review", datetime(2026, 3, 2, 14, 5)),
    ]


def test_a_corrupt_line_inside_a_good_file_is_rejected_and_the_rest_accepted(
    lakehouse: Lakehouse, tmp_path: Path
):
    good = submission()
    no_kind = {"event_id": "no-kind", "occurred_at": "2026-03-02T10:00:00Z"}
    bad_time = {**advertiser("Late Ltd"), "event_id": "bad-time", "occurred_at": "yesterday"}
    write_jsonl(
        tmp_path,
        "mixed.jsonl",
        [*reference_data(), '{"event_id": "cut", "kind": "deal_sub', "[1, 2]", no_kind, bad_time, good],
    )
    run = ingest(lakehouse, tmp_path)
    assert run.lines_read == 9
    assert run.rejected == 4
    deal_by_event(lakehouse, good["event_id"])
    unreadable = lakehouse.read("rejected_documents").filter(F.col("kind").isNull()).collect()
    assert sorted(r["line_number"] for r in unreadable) == [5, 6, 7]
    assert all("valid_json_object" in r["reasons"] or "required" in r["reasons"] for r in unreadable)
    assert rule_names(lakehouse, "bad-time") == ["iso_timestamp"]
    assert lakehouse.read("raw_documents").count() == 9  # every line kept as it came


def test_the_same_file_landed_twice_is_read_once(lakehouse: Lakehouse, tmp_path: Path):
    first = write_jsonl(tmp_path / "in", "day1.jsonl", [*reference_data(), submission()])
    ingest(lakehouse, tmp_path / "in")
    before = snapshot(lakehouse)
    shutil.copy(first, tmp_path / "in" / "day1-copy.jsonl")
    run = ingest(lakehouse, tmp_path / "in")
    assert run.lines_read == 0
    assert snapshot(lakehouse) == before


def test_the_same_event_in_two_files_is_applied_once(lakehouse: Lakehouse, tmp_path: Path):
    deal = submission()
    write_jsonl(tmp_path, "a.jsonl", [*reference_data(), deal])
    ingest(lakehouse, tmp_path)
    write_jsonl(tmp_path, "b.jsonl", [deal, advertiser("Other Co")])
    run = ingest(lakehouse, tmp_path)
    assert run.lines_read == 2
    assert run.accepted_by_kind == {"deal_submission (duplicate)": 1, "advertiser": 1}
    assert lakehouse.read("deals").count() == 1
    assert lakehouse.read("deal_status_history").count() == 2  # submitted, then routed: once
    assert lakehouse.read("raw_documents").filter(F.col("event_id") == deal["event_id"]).count() == 2


def test_the_same_event_twice_in_one_file_is_applied_once(lakehouse: Lakehouse, tmp_path: Path):
    deal = submission()
    write_jsonl(tmp_path, "a.jsonl", [*reference_data(), deal, deal])
    run = ingest(lakehouse, tmp_path)
    assert run.accepted_by_kind["deal_submission (duplicate)"] == 1
    assert lakehouse.read("deals").count() == 1


SQL_TEXT = "Robert'); DROP TABLE deals; -- ${schema} `x` \" OR 1=1"


def test_text_that_looks_like_sql_is_stored_verbatim(lakehouse: Lakehouse, tmp_path: Path):
    accepted = submission({"deal.deal_name": SQL_TEXT, "deal.client_asks": "'; DELETE FROM users; --"})
    rejected = submission({"deal.region": SQL_TEXT})
    write_jsonl(tmp_path, "a.jsonl", [*reference_data(), accepted, rejected])
    ingest(lakehouse, tmp_path)
    stored = deal_by_event(lakehouse, accepted["event_id"])
    assert stored["deal_name"] == SQL_TEXT.strip()
    assert stored["client_asks"] == "'; DELETE FROM users; --"
    assert reasons_of(lakehouse, rejected["event_id"])[0]["value"] == SQL_TEXT
    assert lakehouse.read("users").count() == 2  # nothing was executed
    assert lakehouse.read("deals").count() == 1


def test_drafts_are_kept_then_promoted_by_a_later_submission(lakehouse: Lakehouse, tmp_path: Path):
    draft = submission(
        {"tiers": [], "deal.term_start_date": None, "deal.advertiser_name": None},
        status="draft",
        occurred_at="2026-03-02T10:00:00Z",
    )
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), draft])
    ingest(lakehouse, tmp_path)
    stored = deal_by_event(lakehouse, draft["event_id"])
    assert (stored["status"], stored["draft_type"], stored["submitted_at"]) == (
        "draft",
        "submission_draft",
        None,
    )
    assert stored["draft_expires_at"] == datetime(2026, 3, 2, 10) + timedelta(days=30)
    reference = stored["reference_number"]

    saved_again = submission(
        {"tiers": [tier(1)], "deal.advertiser_name": None},
        status="draft",
        reference_number=reference,
        occurred_at="2026-03-03T10:00:00Z",
    )
    write_jsonl(tmp_path, "2.jsonl", [saved_again])
    ingest(lakehouse, tmp_path)
    assert lakehouse.read("deal_tiers").count() == 1
    assert deal_by_event(lakehouse, saved_again["event_id"])["draft_expires_at"] == stored["draft_expires_at"]

    promoted = submission(reference_number=reference, occurred_at="2026-03-04T10:00:00Z")
    incomplete = submission({"tiers": []}, reference_number=reference, occurred_at="2026-03-04T09:00:00Z")
    write_jsonl(tmp_path, "3.jsonl", [incomplete, promoted])
    ingest(lakehouse, tmp_path)
    assert "tier_count" in rule_names(lakehouse, incomplete["event_id"])  # a full submission is fully checked
    final = deal_by_event(lakehouse, promoted["event_id"])
    assert (final["id"], final["status"], final["draft_expires_at"]) == (stored["id"], "under_review", None)
    assert final["submitted_at"] == datetime(2026, 3, 4, 10)
    assert rows(lakehouse, "deal_status_history", "seq", "previous_status", "status") == [
        (1, None, "draft"),
        (2, "draft", "submitted"),
        (3, "submitted", "under_review"),
    ]


def test_a_resubmission_replaces_tiers_and_lines_of_that_deal_only(lakehouse: Lakehouse, tmp_path: Path):
    three_tiers = {"tiers": [tier(1), tier(2), tier(3)]}
    first, other = submission(three_tiers), submission(three_tiers, occurred_at="2026-03-02T11:00:00Z")
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), first, other])
    ingest(lakehouse, tmp_path)
    deal = deal_by_event(lakehouse, first["event_id"])

    too_early = submission(reference_number=deal["reference_number"], occurred_at="2026-03-03T10:00:00Z")
    write_jsonl(tmp_path, "2.jsonl", [too_early])
    ingest(lakehouse, tmp_path)
    assert rule_names(lakehouse, too_early["event_id"]) == ["resubmission_allowed"]

    lakehouse.merge(  # a reviewer asked for a revision (set directly: this test is about intake)
        lakehouse.spark.createDataFrame([(deal["id"], "revision_requested")], "id BIGINT, status STRING"),
        "deals",
        ["id"],
        update_columns=["status"],
        insert=False,
    )
    again = submission(
        {"tiers": [tier(1, revenue=40_000)]},
        reference_number=deal["reference_number"],
        revision_reason="Lower volume",
        occurred_at="2026-03-05T10:00:00Z",
    )
    write_jsonl(tmp_path, "3.jsonl", [again])
    ingest(lakehouse, tmp_path)
    stored = deal_by_event(lakehouse, again["event_id"])
    assert (stored["id"], stored["revision_count"], stored["is_revision"]) == (deal["id"], 1, True)
    assert (stored["revision_reason"], stored["deal_value"]) == ("Lower volume", 40_000)
    assert stored["last_revised_at"] == datetime(2026, 3, 5, 10)
    assert stored["created_at"] == deal["created_at"]
    tiers_by_deal = rows(lakehouse, "deal_tiers", "deal_id", "tier_number")
    assert [t for t in tiers_by_deal if t[0] == deal["id"]] == [(deal["id"], 1)]
    assert len([t for t in tiers_by_deal if t[0] != deal["id"]]) == 3  # the other deal keeps its tiers
    lines = rows(lakehouse, "incentive_values", "deal_id")
    assert lines.count((deal["id"],)) == 1 and len(lines) == 4


def test_a_scoping_request_converts_once(lakehouse: Lakehouse, tmp_path: Path):
    request = scoping_request()
    first = submission(scoping_request_id=request["event_id"], occurred_at="2026-03-03T10:00:00Z")
    second = submission(scoping_request_id=request["event_id"], occurred_at="2026-03-04T10:00:00Z")
    unknown = submission(scoping_request_id="no-such-request")
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), request, first])
    ingest(lakehouse, tmp_path)
    write_jsonl(tmp_path, "2.jsonl", [second, unknown])
    ingest(lakehouse, tmp_path)

    deal = deal_by_event(lakehouse, first["event_id"])
    (converted,) = lakehouse.read("deal_scoping_requests").collect()
    assert (converted["status"], converted["converted_deal_id"]) == ("converted", deal["id"])
    assert converted["converted_at"] == datetime(2026, 3, 3, 10)
    assert rule_names(lakehouse, second["event_id"]) == ["not_converted_twice"]
    assert rule_names(lakehouse, unknown["event_id"]) == ["known_scoping_request"]
    assert lakehouse.read("deals").count() == 1


def test_reference_numbers_follow_business_time_and_are_never_reissued(lakehouse: Lakehouse, tmp_path: Path):
    later = submission(occurred_at="2026-03-02T12:00:00Z")
    earlier = submission(occurred_at="2026-03-02T09:00:00Z")
    next_year = submission(occurred_at="2027-01-02T09:00:00Z")
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), later, earlier, next_year])
    ingest(lakehouse, tmp_path)
    assert deal_by_event(lakehouse, earlier["event_id"])["reference_number"] == "DEAL-2026-001"
    assert deal_by_event(lakehouse, later["event_id"])["reference_number"] == "DEAL-2026-002"
    assert deal_by_event(lakehouse, next_year["event_id"])["reference_number"] == "DEAL-2027-001"

    # a deal lost for good still holds its number: the next one continues after the highest
    third = submission(occurred_at="2026-03-01T09:00:00Z")  # older business time, later batch
    unknown = submission(reference_number="DEAL-2026-999")
    write_jsonl(tmp_path, "2.jsonl", [third, unknown])
    ingest(lakehouse, tmp_path)
    assert deal_by_event(lakehouse, third["event_id"])["reference_number"] == "DEAL-2026-003"
    assert rule_names(lakehouse, unknown["event_id"]) == ["known_reference"]


def test_lookups_that_fail_are_warnings_on_the_accepted_row(lakehouse: Lakehouse, tmp_path: Path):
    deal = submission(
        {"deal.advertiser_name": "Unknown Brand", "deal.contract_term": 7}, submitted_by="new@example.com"
    )
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), deal])
    ingest(lakehouse, tmp_path)
    stored = deal_by_event(lakehouse, deal["event_id"])
    assert stored["advertiser_id"] is None
    assert stored["contract_term"] == 12  # the derived value wins
    warned = {w["rule"] for w in json.loads(stored["validation_warnings"])}
    assert warned == {"known_user", "known_advertiser", "derived_from_dates"}


def test_a_later_user_document_wins_and_an_older_one_arriving_late_does_not(
    lakehouse: Lakehouse, tmp_path: Path
):
    write_jsonl(tmp_path, "1.jsonl", [user(SELLER, "seller", "trading")])
    ingest(lakehouse, tmp_path)
    leaving = {**user(SELLER, "seller", "trading", is_active=False), "occurred_at": "2026-03-05T08:00:00Z"}
    stale = {**user(SELLER, "admin"), "occurred_at": "2026-02-01T08:00:00Z"}
    write_jsonl(tmp_path, "2.jsonl", [leaving, stale, user("MIXED.Case@Example.com ", "seller")])
    ingest(lakehouse, tmp_path)
    assert rows(lakehouse, "users", "email", "role", "is_active") == [
        ("mixed.case@example.com", "seller", True),
        (SELLER, "seller", False),
    ]


def test_replay_accepts_a_rejected_document_once_its_reference_arrived(lakehouse: Lakehouse, tmp_path: Path):
    request = scoping_request()
    early = submission(scoping_request_id=request["event_id"])
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), early])
    ingest(lakehouse, tmp_path)
    assert rule_names(lakehouse, early["event_id"]) == ["known_scoping_request"]

    write_jsonl(tmp_path, "2.jsonl", [request])
    ingest(lakehouse, tmp_path)
    run = replay(lakehouse, [early["event_id"]], RULES)
    assert (run.lines_read, run.accepted, run.rejected) == (1, 1, 0)
    assert deal_by_event(lakehouse, early["event_id"])["status"] == "under_review"
    (row,) = lakehouse.read("rejected_documents").collect()
    assert row["replayed_at"] is not None and row["replay_run_id"] == run.run_id

    before = snapshot(lakehouse)
    write_jsonl(tmp_path, "3.jsonl", [early])  # the app sends it again: already accepted
    ingest(lakehouse, tmp_path)
    after = snapshot(lakehouse)
    assert {t: v for t, v in after.items() if t not in ("raw_documents", "landed_files")} == {
        t: v for t, v in before.items() if t not in ("raw_documents", "landed_files")
    }


def test_a_corrected_copy_of_a_rejected_event_is_accepted(lakehouse: Lakehouse, tmp_path: Path):
    wrong = submission({"deal.region": "antarctica"})
    write_jsonl(tmp_path, "1.jsonl", [*reference_data(), wrong])
    ingest(lakehouse, tmp_path)
    fixed = {**wrong, "deal": {**wrong["deal"], "region": "west"}}
    write_jsonl(tmp_path, "2.jsonl", [fixed])
    run = ingest(lakehouse, tmp_path)
    assert run.accepted_by_kind == {"deal_submission": 1}
    assert deal_by_event(lakehouse, wrong["event_id"])["region"] == "west"
    (resolved,) = lakehouse.read("rejected_documents").collect()
    assert resolved["replayed_at"] is not None and resolved["replay_run_id"] == run.run_id


def test_replay_of_an_unknown_event_is_a_clear_error(lakehouse: Lakehouse):
    with pytest.raises(DealDeskError, match="not in rejected_documents: nope"):
        replay(lakehouse, ["nope"], RULES)


def test_an_action_for_a_deal_not_there_yet_is_rejected_and_replayable(lakehouse: Lakehouse, tmp_path: Path):
    action = envelope("approval_action", reference_number="DEAL-2026-001", action="approve")
    write_jsonl(tmp_path, "1.jsonl", [action])
    run = ingest(lakehouse, tmp_path)
    assert run.rejected_by_kind == {"approval_action": 1}
    assert "unknown_deal" in rule_names(lakehouse, action["event_id"])
    assert lakehouse.read("raw_documents").count() == 1
