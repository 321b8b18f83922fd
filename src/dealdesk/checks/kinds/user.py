"""A person of the desk: created or updated by e-mail (business rules, section 9)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from dealdesk.checks.columns import as_bool, blank, email, one_of
from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.reasons import failure, gather
from dealdesk.checks.values import boolean, enum, obj, raw_text, read_fields, text
from dealdesk.config import APPROVAL_LEVELS, DEPARTMENTS, ROLES, BusinessRules
from dealdesk.core import ids

SCHEMA = (
    "user STRUCT<email: STRING, username: STRING, first_name: STRING, last_name: STRING, role: STRING, "
    "department: STRING, approval_level: STRING, is_active: STRING, external_id: STRING>"
)


def errors(doc: Column, rules: BusinessRules) -> Column:
    user = doc["user"]
    return gather(
        email(user["email"], "user.email"),
        one_of(user["role"], "user.role", ROLES),
        one_of(user["department"], "user.department", DEPARTMENTS, optional=True),
        one_of(user["approval_level"], "user.approval_level", APPROVAL_LEVELS, optional=True),
        failure(
            ~blank(user["is_active"]) & as_bool(user["is_active"]).isNull(),
            "user.is_active",
            "boolean",
            "is_active must be true or false",
            user["is_active"],
        ),
    )


def warnings(doc: Column, rules: BusinessRules) -> Column:
    user = doc["user"]
    return gather(
        failure(
            (F.lower(F.trim(user["role"])) == "approver") & blank(user["approval_level"]),
            "user.approval_level",
            "approver_level",
            "an approver without approval_level cannot give business approvals",
        )
    )


# The fields of a person read as they stand, each by its reader.
PERSON = {"role": enum, "department": enum, "approval_level": enum, "first_name": text, "last_name": text}


def user_row(doc: dict[str, Any], event_id: str, at: datetime) -> dict[str, Any]:
    user = obj(doc.get("user"))
    email = (raw_text(user.get("email")) or "").strip().lower()
    return {
        "id": ids.user_id(email),
        "username": text(user.get("username")) or email.split("@")[0],
        "email": email,
        **read_fields(user, PERSON),
        "is_active": boolean(user.get("is_active")) is not False,
        "external_id": text(user.get("external_id")),
        "source_event_id": event_id,
        "created_at": at,
        "updated_at": at,
    }


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    return {"row": user_row(doc, row["event_id"], row["occurred_at"])}


KIND = DocumentKind("user", read_body, schema=SCHEMA, errors=errors, warnings=warnings)
