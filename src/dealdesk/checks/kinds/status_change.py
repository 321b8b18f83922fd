"""A manual status change of a deal (business rules, section 3). Every rule of it depends on
state, so the core alone judges it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.values import enum, text
from dealdesk.config import BusinessRules


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    return {
        "reference_number": (text(doc.get("reference_number")) or "").upper() or None,
        "new_status": enum(doc.get("new_status")),
        "performed_by": enum(doc.get("performed_by")),
        "comments": text(doc.get("comments")),
    }


KIND = DocumentKind("status_change", read_body)
