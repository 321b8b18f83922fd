"""Intake entry points: take a landing folder, replay rejected documents.

Both are the one processing job (``dealdesk.pipeline.job``): documents of every kind are
applied together in business-time order, so routing and decisions happen as their
documents are applied, not in later steps.
"""

from __future__ import annotations

from pathlib import Path

from dealdesk.config import BusinessRules
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.job import process
from dealdesk.pipeline.runs import JobRun


def ingest_landing(lakehouse: Lakehouse, landing: Path | str, rules: BusinessRules) -> JobRun:
    """Take every landing file not taken before and apply its documents (no monitoring)."""
    return process(lakehouse, rules, job="ingest", landing=Path(landing))


def replay(lakehouse: Lakehouse, event_ids: list[str], rules: BusinessRules) -> JobRun:
    """Decide rejected documents again from their latest landed copy, once the data they lacked
    arrived. Accepted ones are stamped replayed; the others stay open with their new reasons."""
    wanted = list(dict.fromkeys(event_ids))
    found = lakehouse.collect(
        lakehouse.read("rejected_documents")
        .join(
            lakehouse.spark.createDataFrame([(e,) for e in wanted], "event_id STRING"),
            "event_id",
            "left_semi",
        )
        .select("event_id")
    )
    missing = sorted(set(wanted) - {r["event_id"] for r in found})
    if missing:
        raise DealDeskError(f"not in rejected_documents: {', '.join(missing)}")
    return process(lakehouse, rules, job="replay", replay_ids=wanted)


__all__ = ["ingest_landing", "replay"]
