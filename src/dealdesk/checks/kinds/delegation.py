"""A delegation: a reviewer or approver names a delegate for a period (business rules, section 4b).

The content is checked here (addresses, times, the period's order); who may delegate to whom
depends on the people as they stand at the document's business time, so the core judges that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from dealdesk.checks.columns import as_timestamp, blank, email, max_length, timestamp
from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.reasons import failure, gather
from dealdesk.checks.values import as_time, enum, text
from dealdesk.config import BusinessRules
from dealdesk.core import ids

FIELDS = ("delegator", "delegate", "starts_at", "ends_at", "reason")
SCHEMA = ", ".join(f"{name} STRING" for name in FIELDS)
REASON_LENGTH = 10_000


def errors(doc: Column, rules: BusinessRules) -> Column:
    starts, ends = as_timestamp(doc["starts_at"]), as_timestamp(doc["ends_at"])
    return gather(
        email(doc["delegator"], "delegator"),
        email(doc["delegate"], "delegate"),
        failure(
            ~blank(doc["delegate"]) & (F.lower(F.trim(doc["delegate"])) == F.lower(F.trim(doc["delegator"]))),
            "delegate",
            "not_self",
            "delegate must be another person than the delegator",
            doc["delegate"],
        ),
        timestamp(doc["starts_at"], "starts_at"),
        timestamp(doc["ends_at"], "ends_at"),
        failure(
            ends <= starts,
            "ends_at",
            "end_after_start",
            "ends_at must be after starts_at",
            F.concat_ws(" <= ", F.trim(doc["ends_at"]), F.trim(doc["starts_at"])),
        ),
        max_length(doc["reason"], "reason", REASON_LENGTH),
    )


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    return {
        "id": ids.delegation_id(row["event_id"]),
        "delegator": enum(doc.get("delegator")),
        "delegate": enum(doc.get("delegate")),
        "starts_at": as_time(doc.get("starts_at")),
        "ends_at": as_time(doc.get("ends_at")),
        "reason": text(doc.get("reason")),
    }


KIND = DocumentKind("delegation", read_body, schema=SCHEMA, errors=errors)
