"""`dealdesk whatif`: the documents applied so far, decided again under the rules in force and under
a proposal, in memory; nothing is written.

One query reads the applied documents (the ledger's applied events with the copy of each that
stands in raw_documents, up to ``end``); each is read by its kind's body reader under each set of
rules and the whole history is decided in one batch from the people, departments and companies
the lakehouse knows today (the departments' incentive types as the proposal maps them). Deals are
counted when their first submission falls in the period; the history before it is replayed too,
so that every deal is in the state its documents left it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from datetime import datetime

from pyspark.sql import functions as F

from dealdesk.config import BusinessRules
from dealdesk.core import routing, whatif
from dealdesk.core.desk import decide
from dealdesk.core.model import Document, LatestApplied, Snapshot
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.parse import to_document
from dealdesk.pipeline.state import read_people_and_load

DOCUMENT_COLUMNS = ("event_id", "kind", "occurred_at", "source_file", "line_number", "payload")


@dataclass
class WhatIf:
    comparison: whatif.Comparison
    documents: int
    seconds: float
    emails: dict[int, str]  # user id -> e-mail, for the approvers


def applied_rows(lakehouse: Lakehouse, end: datetime | None) -> list[dict]:
    """The applied documents up to ``end`` (business time), each in the copy that stands: the
    first landed (an event id reused with other content is refused and the first copy stands)."""
    applied = lakehouse.read("processed_events").filter(F.col("outcome") == "applied")
    if end is not None:
        applied = applied.filter(F.col("occurred_at") <= F.lit(end))
    raw = lakehouse.read("raw_documents").join(applied.select("event_id"), "event_id", "left_semi")
    rows = lakehouse.collect(raw.select(*DOCUMENT_COLUMNS, "received_at"))
    first: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r["received_at"], r["source_file"], r["line_number"])):
        first.setdefault(row["event_id"], dict(row))
    return list(first.values())


def _documents(rows: list[dict], rules: BusinessRules) -> list[Document]:
    return [to_document({**row, "errors": [], "warnings": []}, rules) for row in rows]


def _snapshot(known: Snapshot, rules: BusinessRules) -> Snapshot:
    """Today's people, companies and departments, with no deal and nothing open; the departments'
    incentive types as ``rules`` map them (the table is the live map of the rules in force)."""
    seeded = routing.seeded_departments(rules)
    departments = {
        name: replace(department, incentive_types=seeded[name].incentive_types)
        if name in seeded
        else department
        for name, department in known.departments.items()
    }
    return Snapshot(
        users=copy.deepcopy(known.users),
        departments=departments,
        advertiser_ids=set(known.advertiser_ids),
        agency_ids=set(known.agency_ids),
    )


def what_if(
    lakehouse: Lakehouse,
    rules: BusinessRules,
    proposal: BusinessRules,
    start: datetime | None = None,
    end: datetime | None = None,
) -> WhatIf:
    """The applied documents decided again under ``rules`` and under ``proposal``; the deals first
    submitted in [start, end] compared. Writes nothing."""
    began = time.monotonic()
    rows = applied_rows(lakehouse, end)
    known = read_people_and_load(lakehouse, rules)
    replays = {}
    for name, chosen in (("now", rules), ("proposal", proposal)):
        replays[name] = decide(_snapshot(known, chosen), _documents(rows, chosen), chosen, LatestApplied())
    medians = whatif.step_hours(replays["now"])
    now = whatif.outcome(replays["now"], start, end, medians)
    approved = set(now.cycle_hours)
    proposed = whatif.outcome(replays["proposal"], start, end, medians, approved)
    emails = {user.id: user.email for user in known.users.values()}
    return WhatIf(whatif.compare(now, proposed), len(rows), time.monotonic() - began, emails)
