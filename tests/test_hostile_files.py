"""Hostile landing files: unreadable files, invalid UTF-8, a byte-order mark, dangling links.

Nothing is lost: every line read is in raw_documents as it came, and lines read = accepted +
rejected; a file that cannot be read is named, left for the next run, and the run ends non-zero.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dealdesk.cli.main import main
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.ingest import ingest_landing, replay

RULES = BusinessRules()


def user_line(n: int) -> str:
    return json.dumps(
        {
            "event_id": f"user-{n}",
            "kind": "user",
            "occurred_at": "2026-03-02T09:00:00Z",
            "user": {"email": f"person{n}@example.com", "role": "seller"},
        }
    )


def reasons_of(lakehouse: Lakehouse, event_id: str) -> list[dict]:
    (row,) = lakehouse.read("rejected_documents").filter(f"event_id = '{event_id}'").collect()
    return json.loads(row["reasons"])


def test_invalid_utf8_is_kept_as_it_came_and_rejected_with_the_byte_offset(
    fresh_lakehouse: Lakehouse, tmp_path: Path
):
    bad = user_line(2).encode().replace(b"seller", b"sel\xffler")
    (tmp_path / "a.jsonl").write_bytes(user_line(1).encode() + b"\n" + bad + b"\n")
    run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert (run.lines_read, run.accepted, run.rejected) == (2, 1, 1)
    assert fresh_lakehouse.read("raw_documents").count() == 2
    (stored,) = fresh_lakehouse.read("rejected_documents").collect()
    assert "sel\\xffler" in stored["payload"]  # the bad byte kept, written out
    utf8 = [r for r in json.loads(stored["reasons"]) if r["rule"] == "utf8"]
    assert utf8 and utf8[0]["value"] == f"byte {bad.index(b'\xff')}"


def test_a_byte_order_mark_does_not_spoil_the_first_document(fresh_lakehouse: Lakehouse, tmp_path: Path):
    (tmp_path / "a.jsonl").write_bytes(
        b"\xef\xbb\xbf" + user_line(1).encode() + b"\n" + user_line(2).encode()
    )
    run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert (run.lines_read, run.accepted, run.rejected) == (2, 2, 0)
    assert fresh_lakehouse.read("users").count() == 2


def test_a_dangling_link_is_named_in_a_warning(
    fresh_lakehouse: Lakehouse, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    (tmp_path / "a.jsonl").write_text(user_line(1) + "\n")
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    with caplog.at_level(logging.WARNING):
        run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert run.lines_read == 1
    assert any("gone.jsonl" in message and "link" in message for message in caplog.messages)


def test_an_unreadable_file_is_named_left_for_the_next_run_and_the_rest_is_taken(
    fresh_lakehouse: Lakehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.jsonl").write_text(user_line(1) + "\n")
    (landing / "b.jsonl").write_text(user_line(2) + "\n")
    read_bytes = Path.read_bytes

    def failing_disk(path: Path) -> bytes:  # the operating system's answer for a bad sector
        if path.name == "b.jsonl":
            raise OSError(5, "Input/output error")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", failing_disk)
    target = fresh_lakehouse.target
    options = ["--home", str(target.home), "--schema", target.schema]
    status = main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"])
    err = capsys.readouterr().err
    assert status == 1
    assert "b.jsonl" in err and "Input/output error" in err and "left for the next run" in err
    assert fresh_lakehouse.read("users").count() == 1
    monkeypatch.undo()
    assert main([*options, "run", "--landing", str(landing), "--as-of", "latest-event"]) == 0
    assert fresh_lakehouse.read("users").count() == 2
    assert fresh_lakehouse.read("landed_files").count() == 2


@pytest.mark.parametrize("depth", [150, 300])
def test_a_document_nested_too_deep_gets_the_true_reason_and_keeps_its_event_id(
    depth: int, fresh_lakehouse: Lakehouse, tmp_path: Path
):
    document = json.loads(user_line(1))
    line = json.dumps(document)[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    (tmp_path / "a.jsonl").write_text(user_line(2) + "\n" + line + "\n")
    run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert (run.lines_read, run.accepted, run.rejected) == (2, 1, 1)
    (stored,) = fresh_lakehouse.read("rejected_documents").collect()
    assert stored["event_id"] == "user-1" and stored["payload"] == line
    assert [(r["rule"], r["value"]) for r in json.loads(stored["reasons"])] == [
        ("nesting_depth", str(depth + 1))
    ]


def test_blank_lines_are_skipped_and_not_counted(fresh_lakehouse: Lakehouse, tmp_path: Path):
    (tmp_path / "a.jsonl").write_text(user_line(1) + "\n\n   \n" + user_line(2) + "\n")
    run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert run.lines_read == 2 == fresh_lakehouse.read("raw_documents").count()
    assert [r["line_count"] for r in fresh_lakehouse.read("landed_files").collect()] == [2]


def test_a_reused_event_id_with_other_content_is_refused_and_the_first_copy_stands(
    fresh_lakehouse: Lakehouse, tmp_path: Path
):
    first = json.loads(user_line(1))
    other = {**first, "user": {**first["user"], "role": "admin"}}
    same_again = json.dumps(first, indent=None, separators=(",", ":"))  # same content, other spacing
    (tmp_path / "a.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(other) + "\n")
    run = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert (run.lines_read, run.accepted, run.rejected) == (2, 1, 1)
    (tmp_path / "b.jsonl").write_text(
        same_again + "\n" + json.dumps({**other, "user": {**other["user"], "x": 1}}) + "\n"
    )
    again = ingest_landing(fresh_lakehouse, tmp_path, RULES)
    assert (again.lines_read, again.accepted, again.rejected) == (2, 1, 1)
    assert again.accepted_by_kind == {"user (duplicate)": 1}
    (user,) = fresh_lakehouse.read("users").collect()
    assert user["role"] == "seller"  # the first copy stands
    assert [r["rule"] for r in reasons_of(fresh_lakehouse, "user-1")] == ["event_id_reused"]
    (ledger,) = fresh_lakehouse.read("processed_events").collect()
    assert ledger["outcome"] == "applied"
    replayed = replay(fresh_lakehouse, ["user-1"], RULES)  # an applied event is never applied twice
    assert replayed.accepted_by_kind == {"user (duplicate)": 1}
    assert fresh_lakehouse.read("users").collect()[0]["role"] == "seller"
