"""Guarded writes: a job writes a row back only if the row still has the version it read."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import functions as F

from dealdesk.frames import ROW_VERSION, read_columns, read_version, update_rows, upsert_rows
from dealdesk.lakehouse import Lakehouse
from tests.workflow_builders import add_deal, add_people, deal_id

LATER = datetime(2026, 3, 9, 12, 0)


def _deal_row(lakehouse: Lakehouse, reference: str) -> dict:
    return lakehouse.read("deals").filter(F.col("reference_number") == reference).first().asDict()


def test_an_update_is_written_only_over_the_version_it_read(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-001")
    read = lakehouse.spark.createDataFrame(read_version(lakehouse.read("deals")).toArrow())
    another_run = lakehouse.spark.createDataFrame(
        [(deal_id(lakehouse, "DEAL-2026-001"), "on_track", LATER)],
        "id BIGINT, flow_intelligence STRING, updated_at TIMESTAMP",
    )
    update_rows(lakehouse, another_run, "deals")

    stale = read.select("id", F.lit("needs_attention").alias("flow_intelligence"), *read_columns())
    assert update_rows(lakehouse, stale, "deals", guard=ROW_VERSION) == 1  # offered
    assert _deal_row(lakehouse, "DEAL-2026-001")["flow_intelligence"] == "on_track"  # but not written

    current = lakehouse.spark.createDataFrame(read_version(lakehouse.read("deals")).toArrow())
    fresh = current.select("id", F.lit("needs_attention").alias("flow_intelligence"), *read_columns())
    update_rows(lakehouse, fresh, "deals", guard=ROW_VERSION)
    assert _deal_row(lakehouse, "DEAL-2026-001")["flow_intelligence"] == "needs_attention"


def test_an_upsert_overwrites_only_the_version_it_read_and_still_inserts_new_rows(lakehouse: Lakehouse):
    add_people(lakehouse)
    add_deal(lakehouse, "DEAL-2026-001")
    add_deal(lakehouse, "DEAL-2026-002")
    deals = lakehouse.read("deals")
    first = deals.filter(F.col("reference_number") == "DEAL-2026-001")
    second = deals.filter(F.col("reference_number") == "DEAL-2026-002")
    rows = lakehouse.spark.createDataFrame(
        first.unionByName(second).join(read_version(deals), "id").toArrow()
    )
    lakehouse.sql(f"DELETE FROM {lakehouse.table_name('deals')} WHERE reference_number = 'DEAL-2026-002'")
    update_rows(
        lakehouse,
        lakehouse.spark.createDataFrame(
            [(deal_id(lakehouse, "DEAL-2026-001"), "high", LATER)],
            "id BIGINT, priority STRING, updated_at TIMESTAMP",
        ),
        "deals",
    )

    changed = rows.withColumn("priority", F.lit("low"))
    assert upsert_rows(lakehouse, changed, "deals", guard=ROW_VERSION) == 2
    assert _deal_row(lakehouse, "DEAL-2026-001")["priority"] == "high"  # changed since read: left alone
    assert _deal_row(lakehouse, "DEAL-2026-002")["priority"] == "low"  # gone since read: inserted again
