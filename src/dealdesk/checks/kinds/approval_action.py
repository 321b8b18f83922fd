"""An approval action: approve, reject, request revision, comment or assign (business rules,
section 4). Every rule of it depends on state, so the core alone judges it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.values import enum, text, whole_number
from dealdesk.config import BusinessRules


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    stage_text = text(doc.get("approval_stage"))
    return {
        "reference_number": (text(doc.get("reference_number")) or "").upper() or None,
        "approval_stage": whole_number(stage_text),
        "approval_stage_text": stage_text,
        "department": enum(doc.get("department")),
        "action": enum(doc.get("action")),
        "performed_by": enum(doc.get("performed_by")),
        "comments": text(doc.get("comments")),
        "assign_to": enum(doc.get("assign_to")),
    }


KIND = DocumentKind("approval_action", read_body)
