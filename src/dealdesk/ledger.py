"""processed_events: the ledger of decided documents, the last write of a batch."""

from __future__ import annotations

from pyspark.sql import DataFrame

from dealdesk.frames import upsert_rows
from dealdesk.lakehouse import Lakehouse

LEDGER = "processed_events"


def record_outcomes(lakehouse: Lakehouse, rows: DataFrame) -> int:
    """Ledger rows (event_id, kind, reference_number, outcome, occurred_at, run_id, processed_at):
    new events inserted; a known event's outcome, run and time replaced while it is rejected
    (applied later, or decided again from a later copy: its new time keeps that copy from
    being decided on every run). An applied event is final. Returns the rows offered."""
    return upsert_rows(
        lakehouse,
        rows,
        LEDGER,
        key="event_id",
        keep_on_update=("event_id", "kind", "reference_number", "occurred_at"),
        update_condition="t.outcome = 'rejected'",
    )
