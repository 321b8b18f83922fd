"""An approval action: approve, reject, request revision, comment or assign (business rules,
section 4). Every rule of it depends on state, so the core alone judges it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.values import enum, read_fields, text, whole_number
from dealdesk.config import BusinessRules

# The fields read as they stand, each by its reader (the stage and the reference are read below).
FIELDS = {"department": enum, "action": enum, "performed_by": enum, "comments": text, "assign_to": enum}


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    stage_text = text(doc.get("approval_stage"))
    return {
        "reference_number": (text(doc.get("reference_number")) or "").upper() or None,
        "approval_stage": whole_number(stage_text),
        "approval_stage_text": stage_text,
        **read_fields(doc, FIELDS),
    }


KIND = DocumentKind("approval_action", read_body)
