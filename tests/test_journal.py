"""The redo journal of a large run: written in several appends (one engine message stops at
128 MB), read back whole, and a journal cut while being written is left unapplied and not read
again."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from dealdesk.core.model import Effects
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline import journal


def record(run_id: str, rows: int) -> journal.RunRecord:
    """A record whose effects compress badly (distinct ids and text), so that it needs many parts."""
    history = [
        {"id": n, "comments": f"{n * 7919:x}-{n}", "changed_at": datetime(2026, 1, 1)} for n in range(rows)
    ]
    return journal.RunRecord(run_id, datetime(2026, 1, 2), Effects(history=history))


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "PART_CHARS", 20_000)
    monkeypatch.setattr(journal, "APPEND_CHARS", 60_000)  # three parts per append


def test_a_large_journal_is_appended_in_groups_of_parts_and_read_back_whole(
    fresh_lakehouse: Lakehouse, small_parts
):
    big = record("big", 20_000)
    parts = len(journal.encode(big))
    assert parts > 6  # the test can fail: at least three appends
    before = fresh_lakehouse.queries
    journal.write_journal(fresh_lakehouse, big)
    assert fresh_lakehouse.queries - before == -(-parts // 3)  # one append per three parts
    assert fresh_lakehouse.read("run_journal").count() == parts
    assert journal.unfinished(fresh_lakehouse) == [big]


def test_a_journal_cut_while_written_is_not_applied_and_not_read_again(
    fresh_lakehouse: Lakehouse, small_parts
):
    cut, whole = record("cut", 20_000), record("whole", 10)
    journal.write_journal(fresh_lakehouse, cut)
    journal.write_journal(fresh_lakehouse, whole)
    table = fresh_lakehouse.table_name("run_journal")
    last = fresh_lakehouse.read("run_journal").filter(F.col("run_id") == "cut").agg(F.max("part")).first()[0]
    fresh_lakehouse.execute(
        f"DELETE FROM {table} WHERE run_id = 'cut' AND part = {last}"
    )  # the last append lost
    assert journal.unfinished(fresh_lakehouse) == [whole]
    marked = fresh_lakehouse.read("run_journal").filter("run_id = 'cut' AND applied_at IS NOT NULL").count()
    assert marked == last  # every part left is marked: the next run does not read them
    assert journal.unfinished(fresh_lakehouse) == [whole]
