"""What a person must hear about (business rules, section 10), as rows, in plain Python.

The desk makes one notification at the moment something happens to someone: an approval
assigned to them (and a reminder the day before it is due), an approval of theirs overdue and
escalated, their deal decided or sent back for a revision, their document rejected. Each has
a deterministic key of its cause, kind, recipient and subject, so a re-run or a replay never
makes it twice; ``notify_at`` is the business time it is due to be delivered (a reminder's
lies ahead).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from dealdesk.core import ids
from dealdesk.core.model import Approval, Deal

ASSIGNED = "assigned"
DUE_TOMORROW = "due_tomorrow"
ESCALATED = "overdue_escalated"
DEAL_DECIDED = "deal_decided"
REVISION_REQUESTED = "revision_requested"
DOCUMENT_REJECTED = "document_rejected"
KINDS = (ASSIGNED, DUE_TOMORROW, ESCALATED, DEAL_DECIDED, REVISION_REQUESTED, DOCUMENT_REJECTED)
REMINDER_AHEAD = timedelta(hours=24)
# The fields a document names its sender in, by kind (the first one given).
SENDER_FIELDS = ("submitted_by", "performed_by", "delegator")


def what(approval: Approval) -> str:
    """How a message names an approval: "finance review", "director business approval"."""
    if approval.approval_stage == 1:
        return f"{approval.department} review"
    return f"{approval.approval_level or ''} business approval".strip()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def row(
    kind: str,
    recipient: int,
    cause: str,
    at: datetime,
    message: str,
    *,
    deal: Deal | None = None,
    approval: Approval | None = None,
    notify_at: datetime | None = None,
) -> dict[str, Any]:
    subject = approval.id if approval is not None else deal.id if deal is not None else 0
    return {
        "id": ids.notification_id(cause, kind, recipient, subject),
        "recipient_id": recipient,
        "kind": kind,
        "deal_id": deal.id if deal is not None else None,
        "reference_number": deal.reference_number if deal is not None else None,
        "approval_id": approval.id if approval is not None else None,
        "message": message,
        "source_event_id": cause,
        "notify_at": notify_at or at,
        "created_at": at,
    }


def assigned(
    deal: Deal, approval: Approval, recipient: int, cause: str, at: datetime
) -> list[dict[str, Any]]:
    """The approval is theirs; and, when its due date is more than a day away, a reminder a day
    before it (the inbox shows the reminder only while the approval is still theirs and open)."""
    due = approval.due_date
    rows = [
        row(ASSIGNED, recipient, cause, at, f"{deal.reference_number}: the {what(approval)} is yours, due {_stamp(due)}",
            deal=deal, approval=approval)
    ]  # fmt: skip
    if due - REMINDER_AHEAD > at:
        rows.append(
            row(DUE_TOMORROW, recipient, cause, at, f"{deal.reference_number}: the {what(approval)} is due tomorrow, "
                f"{_stamp(due)}", deal=deal, approval=approval, notify_at=due - REMINDER_AHEAD)
        )  # fmt: skip
    return rows


def escalated(deal: Deal, approval: Approval, cause: str, at: datetime) -> dict[str, Any] | None:
    if approval.assigned_to is None:
        return None
    message = (
        f"{deal.reference_number}: the {what(approval)} is overdue since {_stamp(approval.due_date)}; "
        f"its priority is now {approval.priority}"
    )
    return row(ESCALATED, approval.assigned_to, cause, at, message, deal=deal, approval=approval)


def deal_moved(
    deal: Deal, seller: int, status: str, comments: str | None, cause: str, at: datetime
) -> dict[str, Any] | None:
    """The seller hears when their deal is approved or lost, or sent back for a revision."""
    why = f": {comments}" if comments else ""
    if status in ("approved", "lost"):
        return row(DEAL_DECIDED, seller, cause, at, f"{deal.reference_number} is {status}{why}", deal=deal)
    if status == "revision_requested":
        message = f"{deal.reference_number}: a revision is requested{why}"
        return row(REVISION_REQUESTED, seller, cause, at, message, deal=deal)
    return None


def sender(payload: str) -> str | None:
    """The e-mail a document names its sender by (lower-case), if any."""
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    for name in SENDER_FIELDS:
        value = document.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    return None


def rejected(
    kind: str, event_id: str, recipient: int, reasons: list[dict[str, Any]], at: datetime
) -> dict[str, Any]:
    first = reasons[0]["message"] if reasons else "rejected"
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    message = f"your {kind} {event_id} was rejected: {first}{more}"
    return row(DOCUMENT_REJECTED, recipient, event_id, at, message)
