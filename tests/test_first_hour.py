"""A new user's first hour: the demo keeps what it did not create, a fresh or mistyped home says so,
errors are one line, the README's quick start works as written, and replay leaves the views working."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dealdesk.config import BusinessRules
from dealdesk.intake import ingest_landing, replay
from dealdesk.lakehouse import Lakehouse
from dealdesk.report import write_report
from tests.intake_builders import reference_data, scoping_request, submission, write_jsonl
from tests.test_views import write

RULES = BusinessRules()


# -- replay, then the views ----------------------------------------------------------------------


def test_the_rejection_views_and_the_report_work_after_a_replay(lakehouse: Lakehouse, tmp_path: Path):
    request = scoping_request()
    early = submission(scoping_request_id=request["event_id"])  # rejected: its scoping request is unknown
    wrong = submission({"deal.region": "atlantis"})  # rejected for good
    landing = tmp_path / "landing"
    write_jsonl(landing, "1.jsonl", [*reference_data(), early, wrong])
    ingest_landing(lakehouse, landing, RULES)
    write_jsonl(landing, "2.jsonl", [request])
    ingest_landing(lakehouse, landing, RULES)
    assert replay(lakehouse, [early["event_id"]], RULES).accepted == 1  # stamps its row replayed
    # Stored reasons that are not a list of reasons still give their document one row.
    odd = [{"event_id": f"odd-{i}", "reasons": text} for i, text in enumerate(["", "not json", "[]"])]
    write(lakehouse, "rejected_documents", odd, {"kind": "user", "source_file": "x.jsonl", "line_number": 1,
          "payload": "{}", "rejected_at": datetime(2026, 3, 2), "run_id": "run-x"})  # fmt: skip

    reasons = lakehouse.sql(
        f"SELECT event_id, rule, is_open FROM {lakehouse.table_name('rejection_reasons')} ORDER BY event_id"
    ).collect()
    assert sorted((r["event_id"], r["rule"], r["is_open"]) for r in reasons) == sorted([
        (early["event_id"], "known_scoping_request", False),
        (wrong["event_id"], "one_of", True),
        ("odd-0", None, True), ("odd-1", None, True), ("odd-2", None, True),
    ])  # fmt: skip
    summary = lakehouse.sql(
        f"SELECT rule, documents, open_documents, replayed_documents "
        f"FROM {lakehouse.table_name('rejects_summary')} ORDER BY rule"
    ).collect()
    assert [tuple(r) for r in summary] == [
        ("known_scoping_request", 1, 0, 1),
        ("one_of", 1, 1, 0),
        ("unknown", 3, 3, 0),
    ]
    page = write_report(lakehouse, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "known_scoping_request" in page
