"""processed_events: the ledger of decided documents, the last write of a batch."""

from __future__ import annotations

from pyspark.sql import DataFrame

from dealdesk.frames import upsert_rows
from dealdesk.lakehouse import Lakehouse

LEDGER = "processed_events"


def record_outcomes(lakehouse: Lakehouse, rows: DataFrame) -> int:
    """Ledger rows (event_id, kind, reference_number, outcome, occurred_at, run_id, processed_at):
    new events inserted; a known event's outcome, run and time replaced only when its outcome
    changed (a rejected event applied later). Returns the rows offered."""
    return upsert_rows(
        lakehouse,
        rows,
        LEDGER,
        key="event_id",
        keep_on_update=("event_id", "kind", "reference_number", "occurred_at"),
        update_condition="t.outcome <> s.outcome",
    )
