"""Plain values the decision core works on: documents, the state of what they touch, effects.

No Spark here. The engine side parses and validates documents (content rules as Columns),
reads the state a batch needs into these values, and writes the effects back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dealdesk.config import DOCUMENT_KINDS

# The order of application: business time, then kind (reference data and people before the
# documents that use them), then event id (contract: "Order of application").
KIND_RANK = {kind: rank for rank, kind in enumerate(DOCUMENT_KINDS)}
TIMER_RANK = -1  # monitoring's own changes come before documents of the same instant

Reason = dict[str, Any]  # {"field", "rule", "message", "value"}


def reason(field_name: str, rule: str, message: str, value: object = None) -> Reason:
    return {
        "field": field_name,
        "rule": rule,
        "message": message,
        "value": None if value is None else str(value),
    }


@dataclass
class Document:
    """One landed document with a readable envelope, parsed and checked by the content rules.

    ``body`` holds the kind's fields as the engine normalised them (trimmed text, lower-case
    enumerations, numbers, dates, and the rows a submission would write); ``errors`` and
    ``warnings`` are the stateless rule results. For a submission, ``errors`` is empty and
    ``body`` carries ``draft_errors`` and ``full_errors``: which apply depends on the deal.
    """

    event_id: str
    kind: str
    occurred_at: datetime
    source_file: str
    line_number: int
    payload: str
    body: dict[str, Any]
    errors: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    replay: bool = False  # re-decided on request: a rejection it resolves is stamped replayed

    @property
    def order(self) -> tuple[datetime, int, str]:
        return (self.occurred_at, KIND_RANK[self.kind], self.event_id)


@dataclass
class Deal:
    """What deciding needs of a deal, and what it changes."""

    id: int
    reference_number: str
    status: str
    revision_count: int
    deal_value: float
    priority: str
    created_at: datetime
    updated_at: datetime
    revision_reason: str | None = None
    last_status_change: datetime | None = None
    submitted_at: datetime | None = None
    draft_expires_at: datetime | None = None
    flow_intelligence: str | None = None
    deal_type: str | None = None
    email: str | None = None  # the seller who submitted it (notifications)
    categories: tuple[str, ...] = ()  # incentive categories of its lines: which departments review it
    last_seq: int = 0  # the deal's highest deal_status_history.seq
    existed: bool = True  # in the table before this batch
    row: dict[str, Any] | None = None  # the whole row, when a submission in the batch wrote it
    changed: bool = False


@dataclass
class Approval:
    id: int
    deal_id: int
    approval_round: int
    approval_stage: int
    department: str
    required_role: str
    approval_level: str | None
    status: str
    priority: str
    assigned_to: int | None
    due_date: datetime
    created_at: datetime
    updated_at: datetime
    comments: str | None = None
    revision_reason: str | None = None
    reviewer_notes: str | None = None
    completed_at: datetime | None = None
    existed: bool = True
    changed: bool = False
    # From approval_fingerprints: what the department judged when the approval was routed (a
    # hash; None for approvals routed before it was recorded), the deal value then, and the round
    # a carried-over approval came from.
    fingerprint: str | None = None
    judged_value: float | None = None
    carried_over_from_round: int | None = None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in APPROVAL_COLUMNS}


# What approval_fingerprints adds to an approval read from the tables (Approval's fields).
JUDGED_COLUMNS = ("fingerprint", "judged_value", "carried_over_from_round")

APPROVAL_COLUMNS = (
    "id",
    "deal_id",
    "approval_round",
    "approval_stage",
    "department",
    "required_role",
    "approval_level",
    "status",
    "priority",
    "assigned_to",
    "due_date",
    "comments",
    "revision_reason",
    "reviewer_notes",
    "completed_at",
    "created_at",
    "updated_at",
)


@dataclass
class User:
    id: int
    email: str
    role: str
    department: str | None
    approval_level: str | None
    is_active: bool
    updated_at: datetime


@dataclass
class Department:
    name: str
    is_active: bool
    default_assignee_email: str | None
    incentive_types: tuple[str, ...]


@dataclass
class Delegation:
    """A delegation (business rules, section 4b); ``reassigned_at``: when the delegator's open
    approvals were handed over at its start (None until then)."""

    id: int
    delegator_id: int
    delegate_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    source_event_id: str
    created_at: datetime  # the document's business time
    reassigned_at: datetime | None = None
    existed: bool = True
    changed: bool = False

    @property
    def begins(self) -> datetime:
        """It counts from its start, or from its document's business time when that is later."""
        return max(self.starts_at, self.created_at)

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DELEGATION_COLUMNS}


DELEGATION_COLUMNS = (
    "id",
    "delegator_id",
    "delegate_id",
    "starts_at",
    "ends_at",
    "reason",
    "source_event_id",
    "created_at",
    "reassigned_at",
)


@dataclass
class ScopingRequest:
    id: int
    source_event_id: str
    status: str
    converted_deal_id: int | None = None


@dataclass
class Snapshot:
    """The state a batch needs, as read before it is applied."""

    deals: dict[str, Deal] = field(default_factory=dict)  # by reference number
    approvals: dict[int, list[Approval]] = field(default_factory=dict)  # current round, by deal id
    # the previous round's business approval, by deal id, when it was approved (smart re-approval)
    previous_business: dict[int, Approval] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by e-mail
    departments: dict[str, Department] = field(default_factory=dict)
    advertiser_ids: set[int] = field(default_factory=set)
    agency_ids: set[int] = field(default_factory=set)
    scoping: dict[str, ScopingRequest] = field(default_factory=dict)  # by event id and by id text
    highest_reference: dict[int, int] = field(default_factory=dict)  # year -> highest n used
    open_counts: dict[int, int] = field(default_factory=dict)  # user id -> open approvals, all deals
    part_ids: dict[int, dict[str, set[int]]] = field(default_factory=dict)  # deal -> table -> row ids
    open_rejections: set[str] = field(default_factory=set)  # events with a rejection not replayed yet
    # delegations that may count during the batch or whose start is still to come, by id
    delegations: dict[int, Delegation] = field(default_factory=dict)

    def add_approval(self, deal: Deal, approval: Approval) -> None:
        """File an approval read from the tables (its deal's current round or the one before): the
        current round's all, and the previous round's business approval when it was approved."""
        if approval.approval_round == deal.revision_count:
            self.approvals.setdefault(deal.id, []).append(approval)
        elif (
            approval.approval_round == deal.revision_count - 1
            and approval.approval_stage == 2
            and approval.status == "approved"
        ):
            self.previous_business[deal.id] = approval


@dataclass(frozen=True)
class LatestApplied:
    """Monitoring's "now" as of the data: the latest business time of the documents applied,
    ``clock`` before this batch (None when nothing was applied yet), moved by the documents
    the batch applies. A rejected document moves no clock."""

    clock: datetime | None = None

    def reach(self, times: list[datetime]) -> datetime | None:
        """The furthest this clock can move with documents at ``times``: the latest of them all."""
        return max([*times, *([self.clock] if self.clock else [])], default=None)


@dataclass
class Effects:
    """Rows to write, table by table; built by the core, written by the engine side."""

    deals_new: list[dict[str, Any]] = field(default_factory=list)
    deals_replaced: list[dict[str, Any]] = field(default_factory=list)  # existing deals, new content
    deals_moved: list[dict[str, Any]] = field(default_factory=list)  # existing deals, state columns
    parts_new: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tiers/lines of new deals
    parts_replaced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # with _delete flags
    approvals_new: list[dict[str, Any]] = field(default_factory=list)
    approvals_changed: list[dict[str, Any]] = field(default_factory=list)
    fingerprints: list[dict[str, Any]] = field(default_factory=list)  # one per approval routed
    actions: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    delegations: list[dict[str, Any]] = field(default_factory=list)  # new, or started (reassigned_at)
    advertisers: list[dict[str, Any]] = field(default_factory=list)
    agencies: list[dict[str, Any]] = field(default_factory=list)
    scoping_new: list[dict[str, Any]] = field(default_factory=list)
    scoping_converted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # monitoring's "now" the batch was decided at (None: no monitoring)
    as_of: datetime | None = None
    # documents whose decision raised: event id -> the error in one line (rejected, rule DECISION_FAILED)
    failed: dict[str, str] = field(default_factory=dict)
