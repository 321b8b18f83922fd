"""The one status-history writer every path uses (intake, routing, decisions, monitoring).

Callers pass the changes they made to ``deals.status``; each becomes exactly one
``deal_status_history`` row. The row id hashes (deal, causing event, change
order), so replaying an event writes nothing new; ``seq`` continues each deal's
numbering in the order the changes happened (changed_at, then event, then the
order of the change inside its event).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.lakehouse import Lakehouse

# What a caller provides for each change; change_order orders several changes caused by one event
# (e.g. submitted then under_review when a submission is routed).
CHANGE_COLUMNS = (
    "deal_id",
    "status",
    "previous_status",
    "performed_by",
    "comments",
    "source_event_id",
    "changed_at",
    "change_order",
)
HISTORY_COLUMNS = (
    "id",
    "deal_id",
    "seq",
    "status",
    "previous_status",
    "performed_by",
    "comments",
    "source_event_id",
    "changed_at",
)


def with_change_ids(changes: DataFrame) -> DataFrame:
    return changes.withColumn(
        "id", keys.status_change_id(F.col("deal_id"), F.col("source_event_id"), F.col("change_order"))
    )


def number_new_changes(changes: DataFrame, history: DataFrame) -> DataFrame:
    """History rows for the changes not yet recorded, with seq continuing each deal's numbering."""
    changes = with_change_ids(changes)
    deals_in_batch = changes.select("deal_id").distinct()
    existing = history.join(deals_in_batch, "deal_id", "left_semi")
    new = changes.join(existing.select("id"), "id", "left_anti")
    last_seq = existing.groupBy("deal_id").agg(F.max("seq").alias("last_seq"))
    order = Window.partitionBy("deal_id").orderBy("changed_at", "source_event_id", "change_order")
    return (
        new.join(last_seq, "deal_id", "left")
        .withColumn("seq", (F.coalesce(F.col("last_seq"), F.lit(0)) + F.row_number().over(order)).cast("int"))
        .select(
            F.col("id"),
            F.col("deal_id").cast("bigint"),
            F.col("seq"),
            F.col("status").cast("string"),
            F.col("previous_status").cast("string"),
            F.col("performed_by").cast("bigint"),
            F.col("comments").cast("string"),
            F.col("source_event_id").cast("string"),
            F.col("changed_at").cast("timestamp"),
        )
    )


def write_status_changes(lakehouse: Lakehouse, changes: DataFrame) -> int:
    """Append one history row per new change (insert-only MERGE); returns the rows written."""
    rows = number_new_changes(changes, lakehouse.read("deal_status_history")).collect()
    if not rows:
        return 0
    schema = lakehouse.read("deal_status_history").schema
    batch = lakehouse.spark.createDataFrame(rows, schema)
    lakehouse.merge(batch, "deal_status_history", ["id"])
    return len(rows)
