"""The decision core's keys (plain Python) equal the engine's (Columns): one id per natural key."""

from __future__ import annotations

from pyspark.sql import functions as F

from dealdesk.core import ids
from dealdesk.lakehouse.gateway import Lakehouse
from tests import column_keys as keys

REFERENCES = ["DEAL-2026-001", "DEAL-2026-1234", "DEAL-1999-000"]
NAMES = ["Acme Foods", "Café Ünïcode", "x"]


def test_python_ids_equal_the_engine_ids(shared_lakehouse: Lakehouse):
    rows = [
        (r, n, e, t) for r in REFERENCES for n in NAMES for e in ("ev-1", "événement") for t in (1, 5, None)
    ]
    frame = shared_lakehouse.spark.createDataFrame(rows, "ref STRING, name STRING, event STRING, tier INT")
    deal = keys.deal_id(F.col("ref"))
    computed = frame.select(
        "ref", "name", "event", "tier",
        deal.alias("deal"),
        keys.tier_id(F.col("ref"), F.col("tier")).alias("tier_id"),
        keys.incentive_id(F.col("ref"), F.col("tier"), F.lit(2)).alias("line"),
        keys.advertiser_id(F.col("name")).alias("advertiser"),
        keys.agency_id(F.col("name")).alias("agency"),
        keys.user_id(F.concat(F.col("event"), F.lit("@example.com"))).alias("user"),
        keys.scoping_request_id(F.col("event")).alias("scoping"),
        keys.approval_id(deal, F.lit(1), F.lit(2), F.col("name")).alias("approval"),
        keys.approval_action_id(F.col("event"), deal, F.lit("approve")).alias("action"),
        keys.status_change_id(deal, F.col("event"), F.lit(2)).alias("change"),
    ).collect()  # fmt: skip
    assert len(computed) == len(rows)
    for row in computed:
        d = ids.deal_id(row["ref"])
        assert row["deal"] == d
        assert row["tier_id"] == ids.tier_id(row["ref"], row["tier"])
        assert row["line"] == ids.incentive_id(row["ref"], row["tier"], 2)
        assert row["advertiser"] == ids.advertiser_id(row["name"])
        assert row["agency"] == ids.agency_id(row["name"])
        assert row["user"] == ids.user_id(f"{row['event']}@example.com")
        assert row["scoping"] == ids.scoping_request_id(row["event"])
        assert row["approval"] == ids.approval_id(d, 1, 2, row["name"])
        assert row["action"] == ids.approval_action_id(row["event"], d, "approve")
        assert row["change"] == ids.status_change_id(d, row["event"], 2)


def test_ids_differ_by_namespace_and_by_null():
    assert ids.deal_id("DEAL-2026-001") != ids.stable_id("deal_tiers", "DEAL-2026-001")
    assert ids.tier_id("DEAL-2026-001", None) != ids.tier_id("DEAL-2026-001", 0)
