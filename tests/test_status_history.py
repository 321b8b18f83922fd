"""The status-history writer: one row per change, seq per deal, replay writes nothing."""

from __future__ import annotations

from datetime import datetime

from dealdesk.lakehouse import Lakehouse
from dealdesk.status_history import write_status_changes

SCHEMA = (
    "deal_id BIGINT, status STRING, previous_status STRING, performed_by BIGINT, comments STRING, "
    "source_event_id STRING, changed_at TIMESTAMP, change_order INT"
)


def changes(lakehouse: Lakehouse, rows: list[tuple]):
    return lakehouse.spark.createDataFrame(rows, SCHEMA)


def history(lakehouse: Lakehouse) -> list[tuple]:
    rows = lakehouse.read("deal_status_history").orderBy("deal_id", "seq").collect()
    return [(r["deal_id"], r["seq"], r["previous_status"], r["status"], r["source_event_id"]) for r in rows]


def test_rows_are_numbered_per_deal_in_the_order_changes_happened(lakehouse: Lakehouse):
    t0, t1 = datetime(2026, 3, 2, 14, 5), datetime(2026, 3, 3, 9, 0)
    written = write_status_changes(
        lakehouse,
        changes(
            lakehouse,
            [
                (1, "under_review", "submitted", None, "routed", "e1", t0, 2),
                (1, "submitted", None, None, None, "e1", t0, 1),
                (2, "submitted", None, None, None, "e2", t1, 1),
            ],
        ),
    )
    assert written == 3
    assert history(lakehouse) == [
        (1, 1, None, "submitted", "e1"),
        (1, 2, "submitted", "under_review", "e1"),
        (2, 1, None, "submitted", "e2"),
    ]
    # A later event continues the numbering.
    write_status_changes(
        lakehouse,
        changes(lakehouse, [(1, "approved", "under_review", 9, "ok", "e3", datetime(2026, 3, 4), 1)]),
    )
    assert history(lakehouse)[2] == (1, 3, "under_review", "approved", "e3")


def test_replaying_an_event_writes_nothing(lakehouse: Lakehouse):
    batch = [(5, "submitted", None, None, None, "e9", datetime(2026, 1, 1), 1)]
    assert write_status_changes(lakehouse, changes(lakehouse, batch)) == 1
    assert write_status_changes(lakehouse, changes(lakehouse, batch)) == 0
    assert len(history(lakehouse)) == 1
