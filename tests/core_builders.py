"""Builders for pure tests of the decision core: people, departments, documents, snapshots.

No engine here. Documents carry the bodies the engine would hand the core
(``pipeline.fields``); ``World`` keeps the tables the core's effects would leave behind, in
plain dicts, and reads the next batch's ``Snapshot`` from them the way ``pipeline.state``
does, so a scenario can run over several batches.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dealdesk.checks.kinds import approval_action as approval_action_kind
from dealdesk.checks.kinds import deal_submission as deal_submission_kind
from dealdesk.checks.kinds import delegation as delegation_kind
from dealdesk.checks.kinds import scoping_request as scoping_request_kind
from dealdesk.checks.kinds import status_change as status_change_kind
from dealdesk.checks.kinds import user as user_kind
from dealdesk.config import DEPARTMENTS, BusinessRules
from dealdesk.core import ids
from dealdesk.core.desk import decide
from dealdesk.core.model import (
    APPROVAL_COLUMNS,
    DELEGATION_COLUMNS,
    Approval,
    Deal,
    Delegation,
    Department,
    Document,
    Effects,
    LatestApplied,
    ScopingRequest,
    Snapshot,
    User,
)
from dealdesk.core.state_machine import IN_REVIEW_STATUSES
from dealdesk.pipeline.state import DEAL_STATE_COLUMNS
from dealdesk.pipeline.write import DEAL_STATE

RULES = BusinessRules()
LATEST = "latest-event"  # World.run(as_of=LATEST): monitoring as of the latest business time applied
T0 = datetime(2026, 3, 2, 9, 0)
PEOPLE_SINCE = T0 - timedelta(days=30)  # when the staff below were loaded

ADMIN = "admin@example.com"
SELLER = "sam.seller@example.com"
TRADING = "trading.reviewer@example.com"
FINANCE = "finance.reviewer@example.com"
CREATIVE = "creative.reviewer@example.com"
MARKETING = "marketing.reviewer@example.com"
PRODUCT = "product.reviewer@example.com"
SOLUTIONS = "solutions.reviewer@example.com"
LEGAL = "legal.reviewer@example.com"
APPROVERS = {level: f"{level}.approver@example.com" for level in ("manager", "director", "vp", "svp")}
REVIEWERS = {
    "trading": TRADING,
    "finance": FINANCE,
    "creative": CREATIVE,
    "marketing": MARKETING,
    "product": PRODUCT,
    "solutions": SOLUTIONS,
    "legal": LEGAL,
}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# -- people and departments ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    department: str | None = None
    approval_level: str | None = None
    is_active: bool = True

    def user(self, since: datetime = PEOPLE_SINCE) -> User:
        return User(
            id=ids.user_id(self.email),
            email=self.email,
            role=self.role,
            department=self.department,
            approval_level=self.approval_level,
            is_active=self.is_active,
            updated_at=since,
        )


STAFF = (
    Person(ADMIN, "admin"),
    Person(SELLER, "seller", "trading"),
    *(Person(email, "department_reviewer", department) for department, email in REVIEWERS.items()),
    *(Person(email, "approver", "trading", level) for level, email in APPROVERS.items()),
)


def uid(email: str) -> int:
    return ids.user_id(email)


def users(people: tuple[Person, ...] | list[Person] = STAFF) -> dict[str, User]:
    return {p.email: p.user() for p in people}


# The seeded category -> department map (business rules, section 3), read from the rules.
INCENTIVE_TYPES = {
    name: tuple(sorted(c for c, d in RULES.category_departments.items() if d == name)) for name in DEPARTMENTS
}


def departments(
    *, inactive: tuple[str, ...] = (), defaults: dict[str, str] | None = None
) -> dict[str, Department]:
    defaults = defaults or {}
    return {
        name: Department(
            name=name,
            is_active=name not in inactive,
            default_assignee_email=defaults.get(name),
            incentive_types=INCENTIVE_TYPES[name],
        )
        for name in DEPARTMENTS
    }


# -- documents ------------------------------------------------------------------------------------

_numbers = itertools.count(1)


def next_event_id(prefix: str) -> str:
    return f"{prefix}-{next(_numbers):06d}"


def submission_json(
    *,
    reference: str | None = None,
    status: str = "submitted",
    submitted_by: str = SELLER,
    value: float = 20_000.0,
    tiers: list[tuple[float, tuple[str, ...]]] | None = None,
    categories: tuple[str, ...] = ("financial",),
    deal_type: str = "grow",
    priority: str = "medium",
    scoping_request_id: str | None = None,
    revision_reason: str | None = None,
    name: str = "Grow_CD_ACME",
    deal_fields: dict[str, Any] | None = None,
    incentive_value: float = 1000,
) -> dict[str, Any]:
    """A valid deal submission (contracts: deal_submission). One tier of ``value`` with one
    incentive per category unless ``tiers`` gives (annual revenue, categories) per tier;
    ``deal_fields`` replaces fields of its ``deal`` object."""
    tiers = tiers or [(value, categories)]
    document = {
        "submitted_by": submitted_by,
        "reference_number": reference,
        "status": status,
        "scoping_request_id": scoping_request_id,
        "revision_reason": revision_reason,
        "deal": {
            "deal_name": name,
            "deal_type": deal_type,
            "sales_channel": "client_direct",
            "deal_structure": "tiered" if len(tiers) > 1 else "flat_commit",
            "region": "northeast",
            "advertiser_name": "Acme Foods",
            "agency_name": None,
            "business_summary": "summary",
            "growth_opportunity_miq": "miq",
            "growth_opportunity_client": "client",
            "client_asks": None,
            "growth_ambition": 1_500_000,
            "term_start_date": "2026-04-01",
            "term_end_date": "2027-03-31",
            "contract_term": 12,
            "previous_year_revenue": 0,
            "previous_year_margin": 0.3,
            "priority": priority,
            **(deal_fields or {}),
        },
        "tiers": [
            {
                "tier_number": n,
                "annual_revenue": revenue,
                "annual_gross_margin": 0.3,
                "incentives": [
                    {"category": c, "sub_category": "sub", "option": "option", "value": incentive_value}
                    for c in cats
                ],
            }
            for n, (revenue, cats) in enumerate(tiers, start=1)
        ],
    }
    return document


def _document(kind: str, when: datetime, event_id: str | None, doc: dict[str, Any], body: dict) -> Document:
    import json

    event_id = event_id or next_event_id(kind)
    return Document(
        event_id=event_id,
        kind=kind,
        occurred_at=when,
        source_file="landing/test.jsonl",
        line_number=1,
        payload=json.dumps({"event_id": event_id, "kind": kind, **doc}, default=str),
        body=body,
    )


def submission(
    when: datetime,
    *,
    event_id: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    draft_errors: list[dict[str, Any]] | None = None,
    rules: BusinessRules = RULES,
    **deal: Any,
) -> Document:
    """A checked deal_submission: ``errors`` are the content errors the engine found (for a full
    submission), ``draft_errors`` those that apply to a draft; valid when both are empty."""
    doc = submission_json(**deal)
    body = deal_submission_kind.submission_body(doc, rules)
    body["draft_errors"] = list(draft_errors or [])
    body["full_errors"] = list(errors or []) + list(draft_errors or [])
    body["submission_warnings"] = []
    return _document("deal_submission", when, event_id, doc, body)


def action(
    reference: str,
    stage: int | str | None,
    department: str | None,
    verb: str | None,
    by: str | None,
    when: datetime,
    *,
    comments: str | None = None,
    assign_to: str | None = None,
    event_id: str | None = None,
) -> Document:
    doc = {
        "reference_number": reference,
        "approval_stage": stage,
        "department": department,
        "action": verb,
        "performed_by": by,
        "comments": comments,
        "assign_to": assign_to,
    }
    return _document("approval_action", when, event_id, doc, approval_action_kind.read_body(doc, {}, RULES))


def status_change(
    reference: str,
    new_status: str,
    by: str,
    when: datetime,
    *,
    comments: str | None = None,
    event_id: str | None = None,
) -> Document:
    doc = {"reference_number": reference, "new_status": new_status, "performed_by": by, "comments": comments}
    return _document("status_change", when, event_id, doc, status_change_kind.read_body(doc, {}, RULES))


def user_document(person: Person, when: datetime, *, event_id: str | None = None) -> Document:
    event_id = event_id or next_event_id("user")
    doc = {
        "user": {
            "email": person.email,
            "role": person.role,
            "department": person.department,
            "approval_level": person.approval_level,
            "is_active": person.is_active,
        }
    }
    return _document("user", when, event_id, doc, {"row": user_kind.user_row(doc, event_id, when)})


def delegation_document(
    delegator: str,
    delegate: str,
    starts: datetime,
    ends: datetime,
    when: datetime,
    *,
    why: str | None = "on holiday",
    event_id: str | None = None,
) -> Document:
    event_id = event_id or next_event_id("delegation")
    doc = {
        "delegator": delegator,
        "delegate": delegate,
        "starts_at": starts.isoformat() + "Z",
        "ends_at": ends.isoformat() + "Z",
        "reason": why,
    }
    body = delegation_kind.read_body(doc, {"event_id": event_id}, RULES)
    return _document("delegation", when, event_id, doc, body)


def scoping_document(when: datetime, *, event_id: str | None = None) -> Document:
    event_id = event_id or next_event_id("scoping")
    doc = {
        "submitted_by": SELLER,
        "request": {
            "request_title": "Scoping",
            "sales_channel": "client_direct",
            "advertiser_name": "Acme Foods",
            "growth_opportunity_miq": "miq",
            "growth_opportunity_client": "client",
            "growth_ambition": 2_000_000,
        },
    }
    body = {"row": scoping_request_kind.scoping_row(doc, event_id, when, "[]", RULES)}
    return _document("scoping_request", when, event_id, doc, body)


def approve_stage1(reference: str, hours: float = 1) -> list[Document]:
    return [
        action(reference, 1, "trading", "approve", TRADING, at(hours)),
        action(reference, 1, "finance", "approve", FINANCE, at(hours + 0.5)),
    ]


# -- snapshots of deals that already exist ------------------------------------------------------------


def existing_deal(
    reference: str,
    status: str,
    *,
    value: float = 20_000.0,
    priority: str = "medium",
    since: datetime = T0,
    revision_count: int = 0,
    last_seq: int = 1,
    draft_expires_at: datetime | None = None,
) -> Deal:
    return Deal(
        id=ids.deal_id(reference),
        reference_number=reference,
        status=status,
        revision_count=revision_count,
        deal_value=value,
        priority=priority,
        created_at=since,
        updated_at=since,
        last_status_change=since,
        submitted_at=None if status == "draft" else since,
        draft_expires_at=draft_expires_at,
        last_seq=last_seq,
    )


def snapshot(
    deals: list[Deal] = (),  # type: ignore[assignment]
    *,
    people: tuple[Person, ...] | list[Person] = STAFF,
    approvals: list[Approval] = (),  # type: ignore[assignment]
    **department_options: Any,
) -> Snapshot:
    shot = Snapshot(users=users(people), departments=departments(**department_options))
    for deal in deals:
        shot.deals[deal.reference_number] = deal
    for approval in approvals:
        shot.approvals.setdefault(approval.deal_id, []).append(approval)
    return shot


# -- several batches: the tables the effects leave behind ----------------------------------------------

REFERENCE_PARTS = re.compile(r"^DEAL-(\d{4})-(\d+)$")
KEPT_ON_UPDATE = {"id", "created_at", "reference_number"}
DEAL_FIELDS = DEAL_STATE_COLUMNS  # what the engine side reads of a deal


class World:
    """The tables as plain dicts, written from ``Effects`` the way the engine writes them
    (inserts skip rows already there, updates keep id and created_at, people by business
    time), and read back into a ``Snapshot`` the way the engine reads one."""

    def __init__(
        self,
        people: tuple[Person, ...] | list[Person] = STAFF,
        rules: BusinessRules = RULES,
        **department_options: Any,
    ) -> None:
        self.rules = rules
        self.users = users(people)
        self.departments = departments(**department_options)
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {
            name: {}
            for name in (
                "deals",
                "deal_tiers",
                "incentive_values",
                "deal_approvals",
                "approval_fingerprints",
                "approval_actions",
                "deal_status_history",
                "deal_scoping_requests",
                "delegations",
                "notifications",
                "rejected_documents",
                "processed_events",
            )
        }
        self.effects: list[Effects] = []

    # -- running batches
    def run(self, documents: list[Document], as_of: datetime | str | None = None) -> Effects:
        """One batch; ``as_of`` LATEST: monitoring as of the latest business time applied."""
        moment = LatestApplied(self.clock()) if as_of == LATEST else as_of
        effects = decide(self.snapshot(), documents, self.rules, moment)  # type: ignore[arg-type]
        self.write(effects)
        self.effects.append(effects)
        return effects

    def clock(self) -> datetime | None:
        """The latest business time of the documents applied so far."""
        applied = [
            r["occurred_at"] for r in self.tables["processed_events"].values() if r["outcome"] == "applied"
        ]
        return max(applied, default=None)

    def snapshot(self) -> Snapshot:
        shot = Snapshot(
            users=copy.deepcopy(self.users),
            departments=copy.deepcopy(self.departments),
        )
        deals = self.tables["deals"]
        for row in deals.values():
            shot.deals[row["reference_number"]] = Deal(**{k: row[k] for k in DEAL_FIELDS})
            match = REFERENCE_PARTS.match(row["reference_number"])
            if match:
                year, n = int(match[1]), int(match[2])
                shot.highest_reference[year] = max(shot.highest_reference.get(year, 0), n)
        by_id = {deal.id: deal for deal in shot.deals.values()}
        for row in self.tables["incentive_values"].values():
            deal = by_id[row["deal_id"]]
            deal.categories = tuple(sorted({*deal.categories, row["category_id"]}))
        for row in self.tables["deal_status_history"].values():
            deal = by_id[row["deal_id"]]
            deal.last_seq = max(deal.last_seq, row["seq"])
        judged = self.tables["approval_fingerprints"]
        for row in self.tables["deal_approvals"].values():
            deal = by_id[row["deal_id"]]
            if row["approval_round"] not in (deal.revision_count, deal.revision_count - 1):
                continue  # only the current round and the one before are read
            fingerprint = judged.get(row["id"], {})
            shot.add_approval(
                deal,
                Approval(
                    **{k: row[k] for k in APPROVAL_COLUMNS},
                    fingerprint=fingerprint.get("fingerprint"),
                    judged_value=fingerprint.get("deal_value"),
                    carried_over_from_round=fingerprint.get("carried_over_from_round"),
                ),
            )
            if row["approval_round"] != deal.revision_count:
                continue
            if (
                row["status"] == "pending"
                and row["assigned_to"] is not None
                and deal.status in IN_REVIEW_STATUSES
            ):
                shot.open_counts[row["assigned_to"]] = shot.open_counts.get(row["assigned_to"], 0) + 1
        for row in self.tables["deal_scoping_requests"].values():
            request = ScopingRequest(
                id=row["id"],
                source_event_id=row["source_event_id"],
                status=row["status"],
                converted_deal_id=row["converted_deal_id"],
            )
            shot.scoping[request.source_event_id] = request
            shot.scoping[str(request.id)] = request
        for table in ("deal_tiers", "incentive_values"):
            for row in self.tables[table].values():
                shot.part_ids.setdefault(row["deal_id"], {}).setdefault(table, set()).add(row["id"])
        shot.open_rejections = set(self.tables["rejected_documents"])
        shot.delegations = {i: Delegation(**row) for i, row in self.tables["delegations"].items()}
        return shot

    def write(self, effects: Effects) -> None:
        t = self.tables
        for row in effects.users:
            current = self.users.get(row["email"])
            if current is None or row["updated_at"] >= current.updated_at:
                self.users[row["email"]] = User(
                    id=row["id"],
                    email=row["email"],
                    role=row["role"],
                    department=row["department"],
                    approval_level=row["approval_level"],
                    is_active=row["is_active"],
                    updated_at=row["updated_at"],
                )
        for row in effects.delegations:  # inserted once; reassigned_at set once
            known = t["delegations"].setdefault(row["id"], {k: row[k] for k in DELEGATION_COLUMNS})
            if known["reassigned_at"] is None:
                known["reassigned_at"] = row["reassigned_at"]
        _insert(t["deal_scoping_requests"], effects.scoping_new)
        _update(t["deal_scoping_requests"], effects.scoping_converted)
        _insert(t["deals"], effects.deals_new)
        _update(t["deals"], effects.deals_replaced)
        _update(t["deals"], [{k: r[k] for k in ("id", *DEAL_STATE)} for r in effects.deals_moved])
        for table in ("deal_tiers", "incentive_values"):
            _insert(t[table], effects.parts_new.get(table, []))
            for row in effects.parts_replaced.get(table, []):
                if row["_delete"]:
                    t[table].pop(row["id"], None)
                elif row["id"] in t[table]:
                    _update(t[table], [{k: v for k, v in row.items() if k != "_delete"}])
                else:
                    _insert(t[table], [{k: v for k, v in row.items() if k != "_delete"}])
        _insert(t["deal_approvals"], effects.approvals_new)
        _update(t["deal_approvals"], effects.approvals_changed)
        for row in effects.fingerprints:
            t["approval_fingerprints"].setdefault(row["approval_id"], dict(row))
        _insert(t["approval_actions"], effects.actions)
        _insert(t["notifications"], effects.notifications)
        _insert(t["deal_status_history"], effects.history)
        for row in effects.rejected:
            t["rejected_documents"][row["event_id"]] = row
        for event_id in effects.replayed:
            t["rejected_documents"].pop(event_id, None)
        for row in effects.ledger:
            known = t["processed_events"].get(row["event_id"])
            if known is None or known["outcome"] == "rejected":
                t["processed_events"][row["event_id"]] = row

    # -- reading results
    def deal(self, reference: str) -> dict[str, Any]:
        return t if (t := self.tables["deals"].get(ids.deal_id(reference))) else {}

    def status(self, reference: str) -> str | None:
        return self.deal(reference).get("status")

    def approvals(self, reference: str) -> list[dict[str, Any]]:
        deal = ids.deal_id(reference)
        rows = [r for r in self.tables["deal_approvals"].values() if r["deal_id"] == deal]
        return sorted(rows, key=lambda r: (r["approval_round"], r["approval_stage"], r["department"]))

    def approval(self, reference: str, department: str, stage: int = 1) -> dict[str, Any]:
        rows = [a for a in self.approvals(reference) if a["department"] == department]
        rows = [a for a in rows if a["approval_stage"] == stage]
        return rows[-1]  # the latest round

    def history(self, reference: str) -> list[tuple]:
        deal = ids.deal_id(reference)
        rows = sorted(
            (r for r in self.tables["deal_status_history"].values() if r["deal_id"] == deal),
            key=lambda r: r["seq"],
        )
        return [(r["seq"], r["previous_status"], r["status"], r["changed_at"]) for r in rows]

    def actions_of(self, approval_id: int) -> list[dict[str, Any]]:
        return [r for r in self.tables["approval_actions"].values() if r["approval_id"] == approval_id]

    def rejection_rules(self, document: Document) -> list[str]:
        row = self.tables["rejected_documents"].get(document.event_id)
        return [] if row is None else [r["rule"] for r in row["reasons"]]

    def outcome(self, document: Document) -> str | None:
        row = self.tables["processed_events"].get(document.event_id)
        return None if row is None else row["outcome"]

    def dump(self) -> dict[str, list]:
        """Every table's rows, sorted: for comparing two worlds."""
        out: dict[str, list] = {name: sorted(map(repr, rows.values())) for name, rows in self.tables.items()}
        out["users"] = sorted(map(repr, self.users.values()))
        return out


def _insert(table: dict[Any, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        table.setdefault(row["id"], dict(row))


def _update(table: dict[Any, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["id"] in table:
            table[row["id"]].update({k: v for k, v in row.items() if k not in KEPT_ON_UPDATE})


def rules_of(effects: Effects, document: Document) -> list[str]:
    """The rule names a batch rejected ``document`` with ([] when it was applied)."""
    for row in effects.rejected:
        if row["event_id"] == document.event_id:
            return [r["rule"] for r in row["reasons"]]
    return []


def outcome_of(effects: Effects, document: Document) -> str | None:
    outcomes = [row["outcome"] for row in effects.ledger if row["event_id"] == document.event_id]
    assert len(outcomes) <= 1, outcomes
    return outcomes[0] if outcomes else None
