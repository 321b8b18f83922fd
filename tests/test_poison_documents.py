"""No document can stop the desk, on every engine; every landing file is accounted for.

A poison line (a business time, date or amount the desk cannot represent) is rejected at intake
with a named rule, the field and the value; the valid file that lands after it is applied; and
the next run is clean. A rejected document moves no clock; a file the run does not read is named;
a JSON array on one line is refused document by document under their own event ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealdesk.cli.output import describe_run
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.job import business_clock
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from tests.conftest import Built, copy_of
from tests.intake_builders import reference_data, submission, write_jsonl

RULES = BusinessRules()


def run(lakehouse: Lakehouse, landing: Path):
    return run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)[0]


def reasons(lakehouse: Lakehouse) -> dict[str, list[tuple[str, str, str | None]]]:
    """Every rejected document's reasons as (field, rule, value), by event id."""
    return {
        row["event_id"]: [(r["field"], r["rule"], r["value"]) for r in json.loads(row["reasons"])]
        for row in lakehouse.read("rejected_documents").collect()
    }


def poisoned(event_id: str, changes: dict[str, object]) -> dict:
    """A valid submission with ``changes``: envelope fields, or dotted paths ("deal.region")."""
    paths = {k: v for k, v in changes.items() if "." in k}
    fields = {k: v for k, v in changes.items() if "." not in k}
    return submission(paths, **{"event_id": event_id, "occurred_at": "2026-03-03T10:00:00Z", **fields})


POISONS = {
    "far-future": ({"occurred_at": "9999-12-31T23:00:00Z"}, ("occurred_at", "business_time_range")),
    "year-one": ({"occurred_at": "0001-01-01T00:30:00+01:00"}, ("occurred_at", "business_time_range")),
    "huge-revenue": ({"tiers.0.annual_revenue": "1e400"}, ("tiers[1].annual_revenue", "max_amount")),
    "nan-revenue": ({"tiers.0.annual_revenue": "NaN"}, ("tiers[1].annual_revenue", "max_amount")),
    "far-term": ({"deal.term_end_date": "9999-12-31"}, ("deal.term_end_date", "date_range")),
    "huge-term": ({"deal.contract_term": 1e30}, ("deal.contract_term", "max_amount")),
    "long-term": ({"deal.contract_term": 5000}, ("deal.contract_term", "between")),
    "huge-ambition": ({"deal.growth_ambition": "9" * 400}, ("deal.growth_ambition", "max_amount")),
}


@pytest.mark.conformance(exhaustive_on=["spark"])  # on Spark: make test-exhaustive
def test_a_poison_line_is_rejected_the_valid_file_after_it_applied_and_the_next_run_is_clean(
    engine: str, built: Built, tmp_path: Path
):
    lakehouse = copy_of(built.home, built.pristine, engine=engine)
    landing = tmp_path / "landing"
    write_jsonl(landing, "a_reference.jsonl", reference_data())
    write_jsonl(
        landing, "b_poison.jsonl", [poisoned(name, changes) for name, (changes, _) in POISONS.items()]
    )
    first = run(lakehouse, landing)
    found = reasons(lakehouse)
    for name, (_, (field, rule)) in POISONS.items():
        assert (field, rule) in [(f, r) for f, r, _ in found[name]], (name, found[name])
    assert found["far-future"][0][2] == "9999-12-31T23:00:00Z"  # the value as sent
    write_jsonl(landing, "c_valid.jsonl", [submission(event_id="valid", occurred_at="2026-03-04T10:00:00Z")])
    second = run(lakehouse, landing)
    assert (second.lines_read, second.accepted, second.rejected) == (1, 1, 0)
    (deal,) = lakehouse.read("deals").collect()
    assert deal["status"] == "under_review"
    third = run(lakehouse, landing)
    assert (third.lines_read, third.rows_merged.get("deals", 0)) == (0, 0)
    assert first.rejected == len(POISONS)


def test_a_rejected_document_dated_far_ahead_moves_no_clock(fresh_lakehouse: Lakehouse, tmp_path: Path):
    landing = tmp_path / "landing"
    draft = submission(event_id="draft", occurred_at="2026-03-03T10:00:00Z", status="draft")
    write_jsonl(landing, "a.jsonl", [*reference_data(), draft])
    run(fresh_lakehouse, landing)
    stray = {
        "event_id": "stray", "kind": "approval_action", "occurred_at": "2099-01-01T00:00:00Z",
        "reference_number": "DEAL-2099-001", "approval_stage": 1, "department": "finance",
        "action": "approve", "performed_by": "fin.reviewer@example.com",
    }  # fmt: skip
    write_jsonl(landing, "b.jsonl", [stray])
    assert run(fresh_lakehouse, landing).rejected == 1
    assert [r[1] for r in reasons(fresh_lakehouse)["stray"]] == ["unknown_deal"]
    (deal,) = fresh_lakehouse.read("deals").collect()
    assert deal["status"] == "draft"  # not expired: the clock stayed at the draft
    assert business_clock(fresh_lakehouse).isoformat() == "2026-03-03T10:00:00"


def test_every_landing_file_is_read_or_named(fresh_lakehouse: Lakehouse, tmp_path: Path):
    landing = tmp_path / "landing"
    user = {"event_id": "u1", "kind": "user", "occurred_at": "2026-03-02T09:00:00Z",
            "user": {"email": "p1@example.com", "role": "seller"}}  # fmt: skip
    write_jsonl(landing, "users.txt", [user])
    write_jsonl(
        landing,
        "USERS2.JSONL",
        [{**user, "event_id": "u2", "user": {**user["user"], "email": "p2@example.com"}}],
    )
    (landing / "empty.jsonl").write_text("\n \n")
    done = run(fresh_lakehouse, landing)
    assert (done.lines_read, done.accepted) == (1, 1)
    assert [r["email"] for r in fresh_lakehouse.read("users").collect()] == ["p2@example.com"]
    assert [name.split(" ")[0] for name in done.not_read] == ["empty.jsonl", "users.txt"]
    line = describe_run(done.summary())
    assert "not read: empty.jsonl (empty" in line and "users.txt (extension .txt" in line


def test_a_json_array_on_one_line_is_refused_document_by_document(fresh_lakehouse: Lakehouse, tmp_path: Path):
    landing = tmp_path / "landing"
    users = [{"event_id": f"u{n}", "kind": "user", "occurred_at": "2026-03-02T09:00:00Z",
              "user": {"email": f"p{n}@example.com", "role": "seller"}} for n in range(1, 4)]  # fmt: skip
    landing.mkdir()
    (landing / "array.jsonl").write_text(json.dumps([users[0], users[1], {"kind": "user"}]) + "\n")
    (landing / "pretty.json").write_text(json.dumps([users[2]], indent=2) + "\n")
    done = run(fresh_lakehouse, landing)
    assert (done.lines_read, done.rejected, done.rejected_by_kind) == (2, 2, {"json array": 2})
    found = reasons(fresh_lakehouse)
    assert {e: [r[1] for r in rs] for e, rs in found.items() if not e.startswith("derived-")} == {
        "u1": ["json_lines"], "u2": ["json_lines"], "u3": ["json_lines"],
    }  # fmt: skip
    assert found["u2"][0][2] == "document 2 of 3"
    assert sorted(r[2] for e, rs in found.items() if e.startswith("derived-") for r in rs) == [
        "1 documents",
        "3 documents",
    ]
    # sent again as JSON Lines, each is a corrected copy and applied
    write_jsonl(landing, "again.jsonl", users)
    assert run(fresh_lakehouse, landing).accepted == 3


def test_a_line_without_event_id_gets_the_same_id_wherever_its_file_lands(
    fresh_lakehouse: Lakehouse, tmp_path: Path
):
    line = {
        "kind": "user",
        "occurred_at": "2026-03-02T09:00:00Z",
        "user": {"email": "p@example.com", "role": "x"},
    }
    first, second = tmp_path / "one", tmp_path / "two" / "later"
    write_jsonl(first, "a.jsonl", [line])
    run(fresh_lakehouse, first)
    write_jsonl(second, "renamed.jsonl", [line])  # the same bytes: taken once
    assert run(fresh_lakehouse, second).lines_read == 0
    write_jsonl(second, "other.jsonl", [line, line])  # other content: other ids
    run(fresh_lakehouse, second)
    ids = [
        r["event_id"]
        for r in fresh_lakehouse.read("raw_documents").orderBy("source_file", "line_number").collect()
    ]
    assert len(set(ids)) == 3 and all(i.startswith("derived-") for i in ids)
