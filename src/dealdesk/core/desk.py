"""The decision core: documents applied one by one in business-time order, in plain Python.

Everything that depends on order lives here: the status machine, submissions and
resubmissions, routing rounds, stage 1 -> stage 2, decisions and who may make them,
assignment with the running count of open approvals, history ``seq``, and monitoring's own
changes (a draft expiring, an overdue approval escalated) at the time they fall due.

The input is a ``Snapshot`` of the state the batch touches and the batch's ``Document``s;
the output is ``Effects``: the rows to write. Same snapshot and documents, same effects,
whichever order the documents were handed in.
"""

from __future__ import annotations

import heapq
import json
import pickle
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from dealdesk.config import (
    APPROVAL_ACTIONS,
    DEAL_STATUSES,
    DELEGATING_ROLES,
    DEPARTMENTS,
    DOCUMENT_KINDS,
    REFERENCE_PATTERN,
    BusinessRules,
    reference_for,
)
from dealdesk.core import delegation, ids, monitoring, notifications, reapproval, routing
from dealdesk.core.model import (
    TIMER_RANK,
    Approval,
    Deal,
    Delegation,
    Document,
    Effects,
    LatestApplied,
    Reason,
    ScopingRequest,
    Snapshot,
    User,
    reason,
)
from dealdesk.core.state_machine import (
    IN_REVIEW_STATUSES,
    manual_change_refusals,
)

APPLIED, REJECTED = "applied", "rejected"
REFERENCE = re.compile(REFERENCE_PATTERN)
RESUBMITTABLE = ("revision_requested", "draft")
CLOSING_ACTIONS = {"approve": "approved", "request_revision": "revision_requested", "reject": "rejected"}
COMMENT_REQUIRED = ("request_revision", "reject")
DRAFT_EXPIRED = "draft expired"
DRAFT_EXPIRY_EVENT_PREFIX = "draft-expired:"
# A submission writes change 1 (creation or promotion); routing is change 2 of the same event, and
# change 3 when every approval of the new round was carried over (the deal is approved at once).
SUBMISSION_CHANGE, ROUTING_CHANGE, CARRIED_CHANGE = 1, 2, 3
PART_TABLES = ("deal_tiers", "incentive_values")


DECISION_FAILED = "decision_failed"


# One handler per document kind (config.DOCUMENT_KINDS), registered with ``@handles``: a kind
# without one fails at import (below the class), not when its first document arrives.
Handler = Callable[["Desk", Document], "str | None"]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(method: Handler) -> Handler:
        if kind in HANDLERS:
            raise ImportError(f"two handlers for the document kind {kind!r}")
        HANDLERS[kind] = method
        return method

    return register


class Rejected(Exception):
    """A document refused by the rules, with every reason."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(f"{len(reasons)} reasons")
        self.reasons = reasons


def one_line(error: BaseException) -> str:
    """An error as one short line: its type and message."""
    return f"{type(error).__name__}: {' '.join(str(error).split()) or 'no message'}"[:500]


def decision_failure(event_id: str, error: str) -> Reason:
    """The reason a document is rejected with when the desk itself failed on it."""
    return reason(
        "document",
        DECISION_FAILED,
        f"the desk could not apply this document ({error}); it changed nothing and can be replayed "
        "once the fault is mended",
        event_id,
    )


class _DecisionFailed(Exception):
    """Deciding a document raised: the batch is decided again without it (see ``decide``)."""

    def __init__(self, document: Document, error: BaseException) -> None:
        super().__init__(one_line(error))
        self.event_id = document.event_id


@dataclass(order=True)
class _Timer:
    """A business time at which monitoring acts: ``fire(at)``, in the order of application."""

    at: datetime
    rank: int
    key: str
    fire: Callable[[datetime], None] = field(compare=False)


class Desk:
    """Applies a batch to a snapshot. One instance per batch."""

    def __init__(
        self,
        snapshot: Snapshot,
        rules: BusinessRules,
        as_of: datetime | None = None,
        settled: Mapping[str, list[Reason]] | None = None,
    ) -> None:
        self.state = snapshot
        self.rules = rules
        self.as_of = as_of  # monitoring's "now"; None: no timers fire
        self.settled = settled or {}  # documents rejected before they are looked at, with the reasons
        self.effects = Effects()
        self.open_counts: Counter[int] = Counter(snapshot.open_counts)
        self.timers: list[_Timer] = []
        self.user_rows: dict[str, dict[str, Any]] = {}
        self.people: dict[int, User] = {u.id: u for u in snapshot.users.values()}  # by id
        self.deals_by_id: dict[int, Deal] = {d.id: d for d in snapshot.deals.values()}
        self.company_rows: dict[str, dict[int, dict[str, Any]]] = {"advertiser": {}, "agency": {}}
        self.parts: dict[int, dict[str, list[dict[str, Any]]]] = {}  # deal id -> table -> rows
        # every approval the batch may change, current round or not (a resubmission in the same
        # batch starts a new round, but the earlier round's rows are still to be written)
        self.approvals: dict[int, Approval] = {a.id: a for rows in snapshot.approvals.values() for a in rows}
        for deal in snapshot.deals.values():
            self._schedule_draft_expiry(deal)
            for approval in snapshot.approvals.get(deal.id, []):
                self._schedule_escalation(deal, approval)
        # deals with an approval assigned to a person (ever, in this batch): where a delegation's
        # start looks for their open approvals
        self.assigned_deals: dict[int, set[int]] = {}
        for rows in snapshot.approvals.values():
            for approval in rows:
                if approval.assigned_to is not None:
                    self.assigned_deals.setdefault(approval.assigned_to, set()).add(approval.deal_id)
        self.delegations_of = delegation.by_delegator(snapshot.delegations.values())
        for pending in snapshot.delegations.values():
            if pending.reassigned_at is None:
                self._schedule_delegation_start(pending)

    # -- the loop ----------------------------------------------------------------------------
    def apply(self, documents: list[Document]) -> Effects:
        for document in sorted(documents, key=lambda d: d.order):
            self._fire_timers(until=(document.occurred_at, document.order[1]))
            self._decide(document)
        self._fire_timers(until=None)
        self._collect_rows()
        return self.effects

    def _decide(self, document: Document) -> None:
        handler = HANDLERS[document.kind]
        try:
            if document.event_id in self.settled:
                raise Rejected(self.settled[document.event_id])
            if document.errors:
                raise Rejected(document.errors)
            reference = handler(self, document)
        except Rejected as refused:
            self._reject(document, refused.reasons)
            return
        except Exception as error:  # the last line of defence: see decide()
            raise _DecisionFailed(document, error) from error
        self._ledger(document, APPLIED, reference)
        if document.event_id in self.state.open_rejections:
            self.effects.replayed.append(document.event_id)

    def _reject(self, document: Document, reasons: list[Reason]) -> None:
        self.effects.rejected.append(
            {
                "event_id": document.event_id,
                "kind": document.kind,
                "source_file": document.source_file,
                "line_number": document.line_number,
                "payload": document.payload,
                "reasons": reasons,
            }
        )
        body = document.body
        self._ledger(document, REJECTED, body.get("reference_number") or body.get("given_reference"))
        sender = self.state.users.get(notifications.sender(document.payload) or "")
        if sender is not None:
            self.effects.notifications.append(
                notifications.rejected(
                    document.kind, document.event_id, sender.id, reasons, document.occurred_at
                )
            )

    def _ledger(self, document: Document, outcome: str, reference: str | None) -> None:
        self.effects.ledger.append(
            {
                "event_id": document.event_id,
                "kind": document.kind,
                "reference_number": reference,
                "outcome": outcome,
                "occurred_at": document.occurred_at,
            }
        )

    # -- people and reference data -------------------------------------------------------------
    @handles("user")
    def _user(self, document: Document) -> None:
        row = document.body["row"]
        email = row["email"]
        current = self.state.users.get(email)
        if current is not None and document.occurred_at < current.updated_at:
            return None  # an older event arriving late does not overwrite a newer one
        self.state.users[email] = self.people[row["id"]] = User(
            id=row["id"],
            email=email,
            role=row["role"],
            department=row["department"],
            approval_level=row["approval_level"],
            is_active=bool(row["is_active"]),
            updated_at=document.occurred_at,
        )
        self.user_rows[email] = row
        return None

    def _company(self, document: Document, kind: str) -> None:
        row = document.body["row"]
        known = self.state.agency_ids if kind == "agency" else self.state.advertiser_ids
        known.add(row["id"])
        rows = self.company_rows[kind]
        if row["id"] not in rows or rows[row["id"]]["updated_at"] <= row["updated_at"]:
            rows[row["id"]] = row

    @handles("advertiser")
    def _advertiser(self, document: Document) -> None:
        self._company(document, "advertiser")

    @handles("agency")
    def _agency(self, document: Document) -> None:
        self._company(document, "agency")

    @handles("delegation")
    def _delegation(self, document: Document) -> None:
        body, at = document.body, document.occurred_at
        delegator, delegate = self._person(body, "delegator"), self._person(body, "delegate")
        errors = self._person_checks(body, "delegator", delegator) + self._person_checks(
            body, "delegate", delegate
        )
        for name, person in (("delegator", delegator), ("delegate", delegate)):
            if person is not None and person.role not in DELEGATING_ROLES:
                errors.append(reason(name, "role_not_allowed",
                                     f"a {person.role} takes no approvals: the {name} must be one of "
                                     f"{', '.join(DELEGATING_ROLES)}", body.get(name)))  # fmt: skip
        if body["ends_at"] <= at:
            errors.append(reason("ends_at", "already_ended",
                                 "the period ended before the document's business time", _stamp(body["ends_at"])))  # fmt: skip
        if errors:
            raise Rejected(errors)
        assert delegator is not None and delegate is not None
        made = Delegation(
            id=body["id"],
            delegator_id=delegator.id,
            delegate_id=delegate.id,
            starts_at=body["starts_at"],
            ends_at=body["ends_at"],
            reason=body.get("reason"),
            source_event_id=document.event_id,
            created_at=at,
            existed=False,
            changed=True,
        )
        self.state.delegations[made.id] = made
        self.delegations_of.setdefault(made.delegator_id, []).append(made)
        if made.begins == at:
            self._start_delegation(made, at, document.event_id)
        else:
            self._schedule_delegation_start(made)

    def _start_delegation(self, started: Delegation, at: datetime, event_id: str) -> None:
        """The delegator's open approvals the delegate may decide go to the delegate (unless a
        later delegation of the delegator already counts at ``at``)."""
        started.reassigned_at, started.changed = at, True
        if delegation.in_force(self.delegations_of[started.delegator_id], at) is not started:
            return
        delegator = self.people.get(started.delegator_id)
        delegate = self.people.get(started.delegate_id)
        comment = delegation.note(started, delegator.email if delegator else str(started.delegator_id))
        for deal_id in sorted(self.assigned_deals.get(started.delegator_id, ())):
            deal = self.deals_by_id[deal_id]
            if deal.status not in IN_REVIEW_STATUSES:
                continue
            for approval in self.state.approvals.get(deal.id, []):
                if (
                    approval.status != "pending"
                    or approval.assigned_to != started.delegator_id
                    or approval.approval_round != deal.revision_count
                    or not delegation.may_take(delegate, delegation.asked(approval))
                ):
                    continue
                self._action(approval, "assign", None, started.delegate_id, comment, event_id, at)
                with self._counting(deal):
                    approval.assigned_to, approval.updated_at, approval.changed = (
                        started.delegate_id,
                        at,
                        True,
                    )

    @handles("scoping_request")
    def _scoping_request(self, document: Document) -> None:
        row = document.body["row"]
        request = ScopingRequest(id=row["id"], source_event_id=document.event_id, status="pending")
        self.state.scoping[document.event_id] = request
        self.state.scoping[str(row["id"])] = request
        self.effects.scoping_new.append(row)

    # -- submissions ---------------------------------------------------------------------------
    @handles("deal_submission")
    def _deal_submission(self, document: Document) -> str:
        body, at = document.body, document.occurred_at
        given = body.get("given_reference")
        deal = self.state.deals.get(given) if given else None
        is_draft = bool(body.get("wants_draft")) and (deal is None or deal.status == "draft")
        errors = list(body["draft_errors"] if is_draft else body["full_errors"])
        if given and deal is None and REFERENCE.match(given):
            errors.append(
                reason(
                    "reference_number",
                    "known_reference",
                    "reference_number is not a known deal; leave it empty for a new deal",
                    given,
                )
            )
        if deal is not None and deal.status not in RESUBMITTABLE:
            errors.append(
                reason(
                    "reference_number",
                    "resubmission_allowed",
                    f"a deal can be resubmitted only in revision_requested or draft; it is {deal.status}",
                    given,
                )
            )
        scoping_ref = body.get("scoping_ref")
        request = self.state.scoping.get(scoping_ref) if scoping_ref else None
        if scoping_ref and request is None:
            errors.append(
                reason(
                    "scoping_request_id",
                    "known_scoping_request",
                    "scoping_request_id is not a known scoping request",
                    scoping_ref,
                )
            )
        if request is not None and request.status == "converted":
            errors.append(
                reason(
                    "scoping_request_id",
                    "not_converted_twice",
                    "the scoping request was already converted to a deal",
                    scoping_ref,
                )
            )
        if errors:
            raise Rejected(errors)

        warnings = [*document.warnings, *body.get("submission_warnings", []), *self._lookup_warnings(body)]
        if deal is None:
            reference = self._next_reference(at)
            deal = Deal(
                id=ids.deal_id(reference),
                reference_number=reference,
                status="draft" if is_draft else "submitted",
                revision_count=0,
                deal_value=body["deal_value"],
                priority=body["priority"],
                created_at=at,
                updated_at=at,
                existed=False,
            )
            self.state.deals[reference] = self.deals_by_id[deal.id] = deal
            self._history(deal, deal.status, None, self._user_id(body.get("submitter")), None, _cause(document),
                          SUBMISSION_CHANGE)  # fmt: skip
            deal.last_status_change = at
            deal.submitted_at = None if is_draft else at
            deal.draft_expires_at = (
                at + timedelta(days=self.rules.validation.draft_lifetime_days) if is_draft else None
            )
            resubmission = False
        else:
            resubmission = deal.status == "revision_requested"
            if deal.status == "draft" and not is_draft:
                self._move(deal, "submitted", self._user_id(body.get("submitter")), "draft submitted", _cause(document),
                           SUBMISSION_CHANGE)  # fmt: skip
                deal.submitted_at = deal.submitted_at or at
                deal.draft_expires_at = None
            elif is_draft:
                deal.draft_expires_at = deal.draft_expires_at or at + timedelta(
                    days=self.rules.validation.draft_lifetime_days
                )
            if resubmission:
                deal.revision_count += 1
        deal.deal_value = body["deal_value"]
        deal.priority = body["priority"]
        deal.email = body.get("submitter")
        deal.deal_type, deal.categories = body.get("deal_type"), tuple(body.get("categories") or ())
        deal.revision_reason = body.get("revision_reason")
        deal.updated_at = at
        deal.changed = True
        deal.row = self._deal_row(deal, body, warnings, document, is_draft, resubmission)
        self._write_parts(deal, body)
        if request is not None:
            request.status, request.converted_deal_id = "converted", deal.id
            self.effects.scoping_converted.append(
                {"id": request.id, "status": "converted", "converted_deal_id": deal.id,
                 "converted_at": at, "updated_at": at}
            )  # fmt: skip
        if is_draft:
            self._schedule_draft_expiry(deal)
        else:
            self._route(deal, document, body)
        return deal.reference_number

    def _lookup_warnings(self, body: dict[str, Any]) -> list[Reason]:
        warnings = []
        submitter = self.state.users.get(body.get("submitter") or "")
        if submitter is None or not submitter.is_active:
            warnings.append(
                reason(
                    "submitted_by", "known_user", "submitter is not an active user", body.get("submitted_by")
                )
            )
        if body.get("advertiser_name") and body.get("advertiser_id") not in self.state.advertiser_ids:
            warnings.append(
                reason("deal.advertiser_name", "known_advertiser", "advertiser not found in the reference data",
                       body["advertiser_name"])
            )  # fmt: skip
        if body.get("agency_name") and body.get("agency_id") not in self.state.agency_ids:
            warnings.append(
                reason("deal.agency_name", "known_agency", "agency not found in the reference data",
                       body["agency_name"])
            )  # fmt: skip
        return warnings

    def _next_reference(self, at: datetime) -> str:
        year = at.year
        number = self.state.highest_reference.get(year, 0) + 1
        self.state.highest_reference[year] = number
        return reference_for(year, number)

    def _deal_row(
        self,
        deal: Deal,
        body: dict[str, Any],
        warnings: list[Reason],
        document: Document,
        is_draft: bool,
        resubmission: bool,
    ) -> dict[str, Any]:
        row = dict(body["deal_row"])
        row["advertiser_id"] = (
            body.get("advertiser_id") if body.get("advertiser_id") in self.state.advertiser_ids else None
        )
        row["agency_id"] = body.get("agency_id") if body.get("agency_id") in self.state.agency_ids else None
        previous = deal.row or {}
        row.update(
            id=deal.id,
            reference_number=deal.reference_number,
            draft_type="submission_draft" if is_draft else None,
            is_revision=deal.revision_count > 0,
            parent_submission_id=None,
            last_revised_at=document.occurred_at if resubmission else previous.get("last_revised_at"),
            can_edit=True,
            validation_warnings=json.dumps(warnings),
            source_event_id=document.event_id,
            created_at=deal.created_at,
        )
        return row

    def _write_parts(self, deal: Deal, body: dict[str, Any]) -> None:
        """The deal's tiers and incentive lines as the submission gives them; rows it no longer
        has are deleted (only the last submission of the batch counts: rows are by deal)."""
        reference, at = deal.reference_number, deal.updated_at
        # a row the batch already wrote for this deal keeps its creation time, as it would have
        # in the table had the batch been applied in several runs
        earlier = {r["id"]: r["created_at"] for rows in self.parts.get(deal.id, {}).values() for r in rows}
        tiers = []
        for tier in body.get("tiers") or []:
            key = ids.tier_id(reference, tier["tier_number"])
            tiers.append(
                {**tier, "id": key, "deal_id": deal.id, "created_at": earlier.get(key, at), "updated_at": at}
            )
        lines = []
        for line in body.get("lines") or []:
            key = ids.incentive_id(reference, line["tier_number"], line["line_number"])
            lines.append(
                {**line, "id": key, "deal_id": deal.id, "created_at": earlier.get(key, at), "updated_at": at}
            )
        self.parts[deal.id] = {"deal_tiers": tiers, "incentive_values": lines}

    # -- routing ---------------------------------------------------------------------------------
    def _route(self, deal: Deal, document: Document, body: Mapping[str, Any] | None = None) -> None:
        """A new round of department reviews; the deal moves to under_review. A review approved in
        the previous round whose department judges nothing new in ``body`` (the submission) is
        carried over (section 6); when every review is, stage 2 follows at once."""
        at = document.occurred_at
        self._move(deal, "under_review", None, f"routed for approval, round {deal.revision_count}", _cause(document),
                   ROUTING_CHANGE)  # fmt: skip
        departments = routing.stage1_departments(
            deal.deal_type, deal.categories, self.state.departments, self.rules
        )
        prior = {
            (a.approval_stage, a.department): a
            for a in self.state.approvals.get(deal.id, [])
            if a.approval_round == deal.revision_count - 1
        }
        business = prior.get((routing.STAGE_BUSINESS_APPROVAL, self.rules.business_approval_department))
        if business is not None and business.status == "approved":
            self.state.previous_business[deal.id] = business
        else:
            self.state.previous_business.pop(deal.id, None)
        self.state.approvals[deal.id] = []  # earlier rounds stay as history, outside the batch's state
        for name in departments:
            parts, fingerprint, standing = reapproval.review_decision(
                name, body, prior, self.state.departments, self.rules
            )
            if standing is not None:
                self._carry_over(deal, standing, parts, fingerprint, at, document.event_id)
                continue
            asked = (routing.STAGE_DEPARTMENT_REVIEW, name, routing.DEPARTMENT_REVIEWER, None)
            assignee = routing.stage1_assignee(
                self.state.departments[name], self.state.users, self._load(asked, at)
            )
            with self._counting(deal):
                approval = self._open_approval(deal, routing.STAGE_DEPARTMENT_REVIEW, name,
                                               routing.DEPARTMENT_REVIEWER, None, assignee, at, document.event_id)  # fmt: skip
            self._record_judged(deal, approval, parts, fingerprint)
        if not departments:
            self.effects.warnings.append(f"{deal.reference_number}: no active department to review it")
        elif self._stage1_complete(deal) and self._business_step(deal, at, document.event_id) == "approved":
            # every review carried over, and the business approval too (or none is needed)
            self._move(deal, "approved", None, "approved: every review carried over from the previous round",
                       _cause(document), CARRIED_CHANGE)  # fmt: skip

    def _carry_over(
        self,
        deal: Deal,
        prior: Approval,
        parts: tuple[str, ...],
        fingerprint: str | None,
        at: datetime,
        event_id: str,
    ) -> None:
        """The previous round's approval ``prior`` stands: an approved row of the new round, with an
        initiate and an approve action by the system that say from which round and why."""
        note = reapproval.carried_note(prior.department, prior.approval_stage, prior, parts)
        approval = Approval(
            id=ids.approval_id(deal.id, deal.revision_count, prior.approval_stage, prior.department),
            deal_id=deal.id,
            approval_round=deal.revision_count,
            approval_stage=prior.approval_stage,
            department=prior.department,
            required_role=prior.required_role,
            approval_level=prior.approval_level,
            status="approved",
            priority=routing.approval_priority(deal.priority),
            assigned_to=prior.assigned_to,
            due_date=routing.due_date(at, deal.priority, self.rules.sla_hours),
            created_at=at,
            updated_at=at,
            comments=note,
            completed_at=at,
            existed=False,
            changed=True,
            carried_over_from_round=prior.approval_round,
        )
        self.state.approvals.setdefault(deal.id, []).append(approval)
        self.approvals[approval.id] = approval
        self._action(approval, "initiate", None, None, note, event_id, at)
        self._action(approval, "approve", None, None, note, event_id, at)
        self._record_judged(deal, approval, parts, fingerprint)

    def _record_judged(
        self, deal: Deal, approval: Approval, parts: tuple[str, ...], fingerprint: str | None
    ) -> None:
        """The approval_fingerprints row of a routed approval: what its department judged."""
        approval.fingerprint, approval.judged_value = fingerprint, deal.deal_value
        self.effects.fingerprints.append(
            {
                "approval_id": approval.id,
                "deal_id": approval.deal_id,
                "approval_round": approval.approval_round,
                "approval_stage": approval.approval_stage,
                "department": approval.department,
                "judged_parts": ",".join(parts) or None,
                "fingerprint": fingerprint,
                "deal_value": deal.deal_value,
                "carried_over_from_round": approval.carried_over_from_round,
                "created_at": approval.created_at,
            }
        )

    def _business_step(self, deal: Deal, at: datetime, event_id: str) -> str | None:
        """Stage 1 complete: "approved" when the value is below the ladder or the previous round's
        business approval carries over; else the stage-2 approval is opened (None)."""
        level = self.rules.level_for(deal.deal_value)
        if level is None:
            return "approved"
        prior = self.state.previous_business.get(deal.id)
        if (
            prior is not None
            and prior.approval_round == deal.revision_count - 1
            and reapproval.business_carries_over(prior, level, deal.deal_value, self.rules)
        ):
            self._carry_over(deal, prior, ("deal_value",), None, at, event_id)
            return "approved"
        asked = (
            routing.STAGE_BUSINESS_APPROVAL,
            self.rules.business_approval_department,
            routing.APPROVER,
            level,
        )
        business = routing.stage2_assignee(level, self.state.users, self._load(asked, at))
        with self._counting(deal):
            approval = self._open_approval(deal, routing.STAGE_BUSINESS_APPROVAL, self.rules.business_approval_department,
                                           routing.APPROVER, level, business, at, event_id)  # fmt: skip
        self._record_judged(deal, approval, ("deal_value",), None)
        return None

    def _load(self, asked: delegation.Asked, at: datetime) -> delegation.EffectiveLoad:
        """Open approvals per person as routing weighs them (someone away: their delegate's)."""
        return delegation.EffectiveLoad(self.open_counts, self.delegations_of, self.people, asked, at)

    def _open_approval(
        self,
        deal: Deal,
        stage: int,
        department: str,
        role: str,
        level: str | None,
        assignee: int | None,
        at: datetime,
        event_id: str,
    ) -> Approval:
        approval = Approval(
            id=ids.approval_id(deal.id, deal.revision_count, stage, department),
            deal_id=deal.id,
            approval_round=deal.revision_count,
            approval_stage=stage,
            department=department,
            required_role=role,
            approval_level=level,
            status="pending",
            priority=routing.approval_priority(deal.priority),
            assigned_to=assignee,
            due_date=routing.due_date(at, deal.priority, self.rules.sla_hours),
            created_at=at,
            updated_at=at,
            existed=False,
            changed=True,
        )
        self.state.approvals.setdefault(deal.id, []).append(approval)
        self.approvals[approval.id] = approval
        self._action(
            approval, "initiate", None, None, None if assignee else routing.UNASSIGNED_NOTE, event_id, at
        )
        asked = delegation.asked(approval)
        away = delegation.stand_in(self.delegations_of, assignee, asked, self.people, at)
        if away is not None and assignee is not None:
            approval.assigned_to = away.delegate_id
            note = delegation.note(away, self.people[assignee].email)
            self._action(approval, "assign", None, away.delegate_id, note, event_id, at)
        elif assignee is not None:
            self._action(approval, "assign", None, assignee, None, event_id, at)
        else:
            what = "business approval" if stage == routing.STAGE_BUSINESS_APPROVAL else f"{department} review"
            self.effects.warnings.append(
                f"{deal.reference_number}: {what} left unassigned: nobody eligible is active"
            )
        self._schedule_escalation(deal, approval)
        return approval

    # -- approval actions -------------------------------------------------------------------------
    @handles("approval_action")
    def _approval_action(self, document: Document) -> str | None:
        body, at = document.body, document.occurred_at
        reference = body.get("reference_number")
        deal = self.state.deals.get(reference) if reference else None
        stage, action = body.get("approval_stage"), body.get("action")
        department = body.get("department")
        target_department = (
            department or self.rules.business_approval_department
            if stage == routing.STAGE_BUSINESS_APPROVAL
            else department
        )
        performer = self._person(body, "performed_by")
        assignee = self._person(body, "assign_to") if action == "assign" else None
        errors = self._deal_checks(reference, deal)
        if stage not in (routing.STAGE_DEPARTMENT_REVIEW, routing.STAGE_BUSINESS_APPROVAL):
            errors.append(reason("approval_stage", "invalid", "approval_stage must be 1 or 2",
                                 body.get("approval_stage_text")))  # fmt: skip
        if stage == routing.STAGE_DEPARTMENT_REVIEW and department not in DEPARTMENTS:
            errors.append(reason("department", "invalid", f"department must be one of {', '.join(DEPARTMENTS)}",
                                 department))  # fmt: skip
        if action not in APPROVAL_ACTIONS:
            errors.append(reason("action", "invalid", f"action must be one of {', '.join(APPROVAL_ACTIONS)}",
                                 action))  # fmt: skip
        errors += self._person_checks(body, "performed_by", performer)
        if action in COMMENT_REQUIRED and not body.get("comments"):
            errors.append(reason("comments", "required", f"a comment is required to {action}"))
        row = None
        if deal is not None:
            current = self.state.approvals.get(deal.id, [])
            if not current:
                errors.append(reason("reference_number", "not_routed",
                                     "the deal has no approvals in its current round", reference))  # fmt: skip
            else:
                started = min(a.created_at for a in current)
                if at < started:
                    errors.append(
                        reason("occurred_at", "earlier_round",
                               f"the action happened before round {deal.revision_count} was routed: "
                               "it belongs to an earlier round", _stamp(at))
                    )  # fmt: skip
                else:
                    row = next(
                        (
                            a
                            for a in current
                            if a.approval_stage == stage and a.department == target_department
                        ),
                        None,
                    )
                    if row is None and stage in (1, 2) and target_department in DEPARTMENTS:
                        errors.append(
                            reason("department", "no_such_approval",
                                   f"the current round has no stage {stage} approval for {target_department}",
                                   target_department)
                        )  # fmt: skip
                    if row is not None and row.created_at > at:
                        errors.append(reason("occurred_at", "approval_not_open_yet",
                                             "the approval was created after the action happened", _stamp(at)))  # fmt: skip
                    if row is not None and row.status != "pending":
                        errors.append(reason("approval_stage", "approval_closed",
                                             f"the approval is closed ({row.status})", row.status))  # fmt: skip
            if deal.status not in IN_REVIEW_STATUSES:
                errors.append(reason("reference_number", "deal_not_in_review",
                                     f"the deal is not under review (status {deal.status})", deal.status))  # fmt: skip
        if (
            row is not None
            and performer is not None
            and not (performer.id == row.assigned_to or self._may_decide(performer, row))
        ):
            errors.append(
                reason("performed_by", "not_authorised",
                       "the performer is neither the assignee nor holds the role this approval requires",
                       body.get("performed_by"))
            )  # fmt: skip
        if action == "assign":
            errors += self._person_checks(body, "assign_to", assignee)
            if row is not None and assignee is not None and not self._may_decide(assignee, row):
                errors.append(reason("assign_to", "not_eligible",
                                     "the new assignee does not hold the role this approval requires",
                                     body.get("assign_to")))  # fmt: skip
        if errors:
            raise Rejected(errors)
        assert deal is not None and row is not None and performer is not None
        self._apply_action(deal, row, document, performer, assignee)
        return deal.reference_number

    def _apply_action(
        self, deal: Deal, row: Approval, document: Document, performer: User, assignee: User | None
    ) -> None:
        body, at, action = document.body, document.occurred_at, document.body["action"]
        comments = body.get("comments")
        self._action(
            row, action, performer.id, assignee.id if assignee else None, comments, document.event_id, at
        )
        with self._counting(deal):
            if action in CLOSING_ACTIONS:
                row.status = CLOSING_ACTIONS[action]
                row.comments = comments or row.comments
                row.completed_at = at
                if action == "request_revision":
                    row.revision_reason = comments
            if action == "assign" and assignee is not None:
                row.assigned_to = assignee.id
            if action in CLOSING_ACTIONS or action == "assign":
                row.updated_at, row.changed = at, True
        new_status = None
        if action == "approve" and row.approval_stage == routing.STAGE_BUSINESS_APPROVAL:
            new_status = "approved"
        elif action == "approve" and self._stage1_complete(deal):
            new_status = self._business_step(deal, at, document.event_id)
        elif action == "request_revision":
            new_status = "revision_requested"
            deal.revision_reason = comments or deal.revision_reason
        elif action == "reject":
            new_status = "lost"
        if new_status is not None:
            with self._counting(deal):
                self._move(deal, new_status, performer.id, comments, _cause(document), 1)

    def _stage1_complete(self, deal: Deal) -> bool:
        """Every department review of the round approved, and no business approval yet."""
        current = self.state.approvals.get(deal.id, [])
        stage1 = [a for a in current if a.approval_stage == routing.STAGE_DEPARTMENT_REVIEW]
        has_stage2 = any(a.approval_stage == routing.STAGE_BUSINESS_APPROVAL for a in current)
        return bool(stage1) and not has_stage2 and all(a.status == "approved" for a in stage1)

    def _may_decide(self, user: User, row: Approval) -> bool:
        return routing.may_decide(
            user, row.approval_stage, row.department, row.required_role, row.approval_level
        )

    # -- status changes -------------------------------------------------------------------------------
    @handles("status_change")
    def _status_change(self, document: Document) -> str | None:
        body = document.body
        reference, new = body.get("reference_number"), body.get("new_status")
        deal = self.state.deals.get(reference) if reference else None
        performer = self._person(body, "performed_by")
        errors = self._deal_checks(reference, deal)
        if new not in DEAL_STATUSES:
            errors.append(reason("new_status", "invalid", f"new_status must be one of {', '.join(DEAL_STATUSES)}",
                                 new))  # fmt: skip
        errors += self._person_checks(body, "performed_by", performer)
        if deal is not None and new in DEAL_STATUSES:
            move = f"from {deal.status} to {new}"
            broken = manual_change_refusals(
                performer.role if performer else None,
                performer.department if performer else None,
                deal.status,
                new,
            )
            if "transition_not_allowed" in broken:
                errors.append(reason("new_status", "transition_not_allowed",
                                     f"the status machine does not allow a move {move}", new))  # fmt: skip
            else:
                if performer is not None and "role_not_allowed" in broken:
                    errors.append(
                        reason("performed_by", "role_not_allowed",
                               f"a {performer.role} of {performer.department or 'no department'} "
                               f"may not move a deal {move}", body.get("performed_by"))
                    )  # fmt: skip
                if "routing_only" in broken:
                    errors.append(reason("new_status", "routing_only",
                                         "deals enter review only through routing: submit or resubmit the deal",
                                         new))  # fmt: skip
                pending = sum(1 for a in self.state.approvals.get(deal.id, []) if a.status == "pending")
                if new == "approved" and pending:
                    errors.append(reason("new_status", "open_approvals",
                                         f"the current round still has {pending} pending approval(s)", new))  # fmt: skip
        if errors:
            raise Rejected(errors)
        assert deal is not None and performer is not None
        if new == "revision_requested":
            deal.revision_reason = body.get("comments") or deal.revision_reason
        with self._counting(deal):
            self._move(deal, new, performer.id, body.get("comments"), _cause(document), 1)
        if new == "submitted":  # a draft submitted by hand is routed like any submission
            deal.submitted_at = deal.submitted_at or document.occurred_at
            deal.draft_expires_at = None  # no longer a draft: nothing left to expire
            self._route(deal, document)
        return deal.reference_number

    # -- shared checks ---------------------------------------------------------------------------------
    @staticmethod
    def _deal_checks(reference: str | None, deal: Deal | None) -> list[Reason]:
        if not reference:
            return [reason("reference_number", "required", "reference_number is required")]
        if deal is None:
            return [
                reason("reference_number", "unknown_deal",
                       "no deal has this reference number (yet): replay the document once it exists", reference)
            ]  # fmt: skip
        return []

    def _person(self, body: dict[str, Any], field_name: str) -> User | None:
        return self.state.users.get(body.get(field_name) or "")

    @staticmethod
    def _person_checks(body: dict[str, Any], field_name: str, user: User | None) -> list[Reason]:
        """A person named in the document must be a known, active user."""
        value = body.get(field_name)
        if not value:
            return [reason(field_name, "required", f"{field_name} is required")]
        if user is None:
            return [reason(field_name, "unknown_user", f"{field_name} is not a known user", value)]
        if not user.is_active:
            return [reason(field_name, "inactive_user", f"{field_name} is not an active user", value)]
        return []

    def _user_id(self, email: str | None) -> int | None:
        return ids.user_id(email) if email else None

    # -- status, history, actions ----------------------------------------------------------------------
    def _move(
        self,
        deal: Deal,
        status: str,
        performer: int | None,
        comments: str | None,
        cause: Cause,
        change_order: int,
    ) -> None:
        """``deal`` moves to ``status`` because of ``cause``; one history row records it."""
        self._history(deal, status, deal.status, performer, comments, cause, change_order)
        deal.status, deal.last_status_change, deal.updated_at, deal.changed = status, cause.at, cause.at, True
        seller = self.state.users.get(deal.email or "")
        if seller and (
            told := notifications.deal_moved(deal, seller.id, status, comments, cause.event_id, cause.at)
        ):
            self.effects.notifications.append(told)

    def _history(
        self,
        deal: Deal,
        status: str,
        previous: str | None,
        performer: int | None,
        comments: str | None,
        cause: Cause,
        change_order: int,
    ) -> None:
        at, event_id = cause
        deal.last_seq += 1
        self.effects.history.append(
            {
                "id": ids.status_change_id(deal.id, event_id, change_order),
                "deal_id": deal.id,
                "seq": deal.last_seq,
                "status": status,
                "previous_status": previous,
                "performed_by": performer,
                "comments": comments,
                "source_event_id": event_id,
                "changed_at": at,
            }
        )

    def _action(
        self,
        approval: Approval,
        action_type: str,
        performer: int | None,
        assigned_to: int | None,
        comments: str | None,
        event_id: str,
        at: datetime,
    ) -> None:
        if action_type == "assign" and assigned_to is not None:
            self.assigned_deals.setdefault(assigned_to, set()).add(approval.deal_id)
            deal = self.deals_by_id[approval.deal_id]
            self.effects.notifications += notifications.assigned(deal, approval, assigned_to, event_id, at)
        self.effects.actions.append(
            {
                "id": ids.approval_action_id(event_id, approval.id, action_type),
                "approval_id": approval.id,
                "action_type": action_type,
                "performed_by": performer,
                "assigned_to": assigned_to,
                "comments": comments,
                "source_event_id": event_id,
                "created_at": at,
            }
        )

    # -- open approvals per person ----------------------------------------------------------------------
    def _open_by(self, deal: Deal) -> Counter[int]:
        """Assignees of the deal's open approvals: pending, current round, deal in review."""
        if deal.status not in IN_REVIEW_STATUSES:
            return Counter()
        return Counter(
            a.assigned_to
            for a in self.state.approvals.get(deal.id, [])
            if a.status == "pending" and a.assigned_to is not None and a.approval_round == deal.revision_count
        )

    @contextmanager
    def _counting(self, deal: Deal) -> Iterator[None]:
        """Keep the running count of open approvals per person right across a change of ``deal``."""
        before = self._open_by(deal)
        yield
        self.open_counts.subtract(before)
        self.open_counts.update(self._open_by(deal))

    # -- monitoring's timers ----------------------------------------------------------------------------
    def _schedule(self, at: datetime, key: str, fire: Callable[[datetime], None]) -> None:
        heapq.heappush(self.timers, _Timer(at, TIMER_RANK, key, fire))

    def _schedule_draft_expiry(self, deal: Deal) -> None:
        if self.as_of is None or deal.status != "draft" or deal.draft_expires_at is None:
            return
        if deal.draft_expires_at <= self.as_of:
            reference = deal.reference_number
            self._schedule(
                deal.draft_expires_at,
                f"draft:{reference}",
                lambda at: self._expire_draft(self.state.deals[reference], at),
            )

    def _schedule_escalation(self, deal: Deal, approval: Approval) -> None:
        if self.as_of is None or approval.status != "pending":
            return
        due = approval.due_date + timedelta(hours=self.rules.monitoring.overdue_escalation_hours)
        if due <= self.as_of:
            reference, approval_id = deal.reference_number, approval.id
            self._schedule(
                due,
                f"escalate:{approval_id}",
                lambda at: self._escalate(self.state.deals[reference], approval_id, at),
            )

    def _schedule_delegation_start(self, pending: Delegation) -> None:
        if self.as_of is not None and pending.begins <= self.as_of:
            event_id = f"{delegation.START_EVENT_PREFIX}{pending.source_event_id}"
            started = pending.id
            self._schedule(
                pending.begins,
                f"delegate:{pending.source_event_id}",
                lambda at: self._start_delegation(self.state.delegations[started], at, event_id),
            )

    def _fire_timers(self, until: tuple[datetime, int] | None) -> None:
        while self.timers and (until is None or (self.timers[0].at, self.timers[0].rank) < until):
            timer = heapq.heappop(self.timers)
            timer.fire(timer.at)

    def _expire_draft(self, deal: Deal, at: datetime) -> None:
        if deal.status != "draft" or deal.draft_expires_at != at:
            return
        event_id = f"{DRAFT_EXPIRY_EVENT_PREFIX}{deal.reference_number}"
        self._move(deal, "lost", None, DRAFT_EXPIRED, Cause(at, event_id), 1)

    def _escalate(self, deal: Deal, approval_id: int, at: datetime) -> None:
        approval = next((a for a in self.state.approvals.get(deal.id, []) if a.id == approval_id), None)
        if approval is None or not monitoring.is_open(approval, deal):
            return
        raised = routing.escalated_priority(approval.priority, deal.priority)
        if raised != approval.priority:
            approval.priority, approval.updated_at, approval.changed = raised, at, True
            told = notifications.escalated(deal, approval, f"escalate:{approval.id}", at)
            if told is not None:
                self.effects.notifications.append(told)

    # -- rows -----------------------------------------------------------------------------------------
    def _flag_deals(self) -> None:
        """Every deal of the state flagged as of monitoring's "now" (none without one): a deal
        whose flag changes is written, with nothing else changed for it."""
        if self.as_of is None:
            return
        for deal in self.state.deals.values():
            due = [a.due_date for a in self.state.approvals.get(deal.id, []) if monitoring.is_open(a, deal)]
            flagged = monitoring.flag(deal, due, self.as_of, self.rules)
            if flagged != deal.flow_intelligence:
                deal.flow_intelligence, deal.changed = flagged, True

    def _collect_rows(self) -> None:
        effects = self.effects
        self._flag_deals()
        for deal in self.state.deals.values():
            if not deal.changed:
                continue
            state = {
                "id": deal.id,
                "status": deal.status,
                "last_status_change": deal.last_status_change,
                "revision_reason": deal.revision_reason,
                "updated_at": deal.updated_at,
                "flow_intelligence": deal.flow_intelligence,
                "submitted_at": deal.submitted_at,
                "draft_expires_at": deal.draft_expires_at,
            }
            if deal.row is None:
                effects.deals_moved.append(state)
                continue
            row = {
                **deal.row,
                **state,
                "revision_count": deal.revision_count,
            }
            (effects.deals_replaced if deal.existed else effects.deals_new).append(row)
            parts = self.parts.get(deal.id, {})
            for table in PART_TABLES:
                rows = parts.get(table, [])
                if not deal.existed:
                    effects.parts_new.setdefault(table, []).extend(rows)
                    continue
                keep = {r["id"] for r in rows}
                stale = self.state.part_ids.get(deal.id, {}).get(table, set()) - keep
                replaced = effects.parts_replaced.setdefault(table, [])
                replaced.extend({**r, "_delete": False} for r in rows)
                replaced.extend({"id": i, "deal_id": deal.id, "_delete": True} for i in sorted(stale))
        for approval in self.approvals.values():
            if approval.changed:
                (effects.approvals_changed if approval.existed else effects.approvals_new).append(
                    approval.row()
                )
        effects.users = list(self.user_rows.values())
        effects.delegations = [d.row() for d in self.state.delegations.values() if d.changed]
        effects.advertisers = list(self.company_rows["advertiser"].values())
        effects.agencies = list(self.company_rows["agency"].values())


_UNHANDLED = [kind for kind in DOCUMENT_KINDS if kind not in HANDLERS]
if _UNHANDLED or len(HANDLERS) != len(DOCUMENT_KINDS):
    raise ImportError(
        f"document kinds without a handler in the core: {_UNHANDLED or sorted(set(HANDLERS) - set(DOCUMENT_KINDS))}"
    )


class Cause(NamedTuple):
    """What a change happened because of: its business time and the event (or timer) id."""

    at: datetime
    event_id: str


def _cause(document: Document) -> Cause:
    return Cause(document.occurred_at, document.event_id)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def decide(
    snapshot: Snapshot,
    documents: list[Document],
    rules: BusinessRules,
    as_of: datetime | LatestApplied | None = None,
) -> Effects:
    """Apply ``documents`` in business-time order to ``snapshot``; the rows to write.

    ``as_of`` is monitoring's "now" (timers fire up to it): a time, None for no monitoring, or
    ``LatestApplied``: the latest business time of the documents applied. Each document is
    still judged at its own business time; when rejected documents come after the last applied
    one, the batch is decided again with them rejected as they were and the timers stopped at
    the last applied document, so a rejected document moves no clock.

    A document whose decision raises (a fault of the desk, not of the rules) is rejected with
    rule ``decision_failed`` and the error in one line, and the batch is decided again without
    it: its deal stays as the earlier documents left it and every other document is applied as
    if it had never come. ``Effects.failed`` names such documents.
    """
    pristine = pickle.dumps(snapshot, pickle.HIGHEST_PROTOCOL)  # each new attempt starts from it
    settled: dict[str, list[Reason]] = {}
    failed: dict[str, str] = {}
    latest = as_of if isinstance(as_of, LatestApplied) else None
    moment = latest.reach([d.occurred_at for d in documents]) if latest is not None else as_of
    for attempt in range(len(documents) + 2):
        state = snapshot if attempt == 0 else pickle.loads(pristine)
        try:
            effects = Desk(state, rules, moment, settled).apply(documents)
        except _DecisionFailed as fault:
            failed[fault.event_id] = str(fault)
            settled[fault.event_id] = [decision_failure(fault.event_id, str(fault))]
            continue
        if latest is not None:
            applied = latest.reach([e["occurred_at"] for e in effects.ledger if e["outcome"] == APPLIED])
            reasons = {e["event_id"]: e["reasons"] for e in effects.rejected}
            tail = {
                e["event_id"]: reasons[e["event_id"]]
                for e in effects.ledger
                if e["outcome"] == REJECTED and (applied is None or e["occurred_at"] > applied)
            }
            if applied != moment and tail:
                settled.update(tail)  # judged at their own time: the same reasons stand
                moment = applied
                continue
        effects.as_of = moment
        effects.failed = failed
        return effects
    raise AssertionError("unreachable: every attempt settles at least one more document")
