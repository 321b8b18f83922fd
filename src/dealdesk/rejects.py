"""Rejected documents: kept with every reason, replayable after a fix."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.lakehouse import Lakehouse

REJECT_INPUT_COLUMNS = ("event_id", "kind", "source_file", "line_number", "payload", "reasons")


def rejection_rows(rejected: DataFrame, run_id: str) -> DataFrame:
    """Shape rejected documents (reasons as an array of structs) for ``rejected_documents``."""
    return rejected.select(
        F.col("event_id").cast("string"),
        F.col("kind").cast("string"),
        F.col("source_file").cast("string"),
        F.col("line_number").cast("bigint"),
        F.col("payload").cast("string"),
        F.to_json(F.col("reasons")).alias("reasons"),
        F.current_timestamp().alias("rejected_at"),
        F.lit(run_id).alias("run_id"),
        F.lit(None).cast("timestamp").alias("replayed_at"),
        F.lit(None).cast("string").alias("replay_run_id"),
    )


def write_rejections(lakehouse: Lakehouse, rejected: DataFrame, run_id: str) -> None:
    """Record rejected documents; one rejected again (a failed replay, a corrected copy that still
    fails) gets its latest copy and reasons."""
    rows = rejection_rows(rejected, run_id)
    lakehouse.merge(
        rows, "rejected_documents", ["event_id"], update_columns=[c for c in rows.columns if c != "event_id"]
    )


def mark_replayed(lakehouse: Lakehouse, event_ids: DataFrame, run_id: str) -> None:
    """Stamp documents a replay accepted (``event_ids`` has one column, event_id)."""
    accepted = event_ids.select(
        F.col("event_id").cast("string"),
        F.current_timestamp().alias("replayed_at"),
        F.lit(run_id).alias("replay_run_id"),
    )
    lakehouse.merge(
        accepted,
        "rejected_documents",
        ["event_id"],
        update_columns=["replayed_at", "replay_run_id"],
        insert=False,
    )
