"""The workflow's entry points, each one run of the processing job (``dealdesk.pipeline.job``).

Routing and decisions happen as their documents are applied, in business-time order with
every other document; ``route`` and ``decide`` apply what is still pending, ``monitor``
also lets monitoring's own changes fall due and recomputes flow_intelligence as of a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.job import LATEST_EVENT, business_clock, process
from dealdesk.pipeline.runs import JobRun

__all__ = [
    "LATEST_EVENT",
    "business_clock",
    "decide_pending",
    "monitor_deals",
    "route_deals",
    "run_pipeline",
    "utc_now",
]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def route_deals(lakehouse: Lakehouse, rules: BusinessRules) -> JobRun:
    return process(lakehouse, rules, job="route")


def decide_pending(lakehouse: Lakehouse, rules: BusinessRules) -> JobRun:
    return process(lakehouse, rules, job="decide")


def monitor_deals(lakehouse: Lakehouse, rules: BusinessRules, as_of: datetime | str | None = None) -> JobRun:
    return process(lakehouse, rules, job="monitor", as_of=as_of or utc_now())


def run_pipeline(
    lakehouse: Lakehouse, landing: Path, rules: BusinessRules, as_of: datetime | str | None = None
) -> list[JobRun]:
    """What ``dealdesk run`` and the scheduled job do: take the landing folder and apply every
    document in order; monitoring as of ``as_of`` (None: now; LATEST_EVENT: the latest
    business time landed so far)."""
    return [process(lakehouse, rules, job="run", landing=landing, as_of=as_of or utc_now())]
