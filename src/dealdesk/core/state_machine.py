"""The deal status machine and who may move a deal by hand (business rules, section 5).

Plain functions over plain values: the decision core applies them event by event.
"""

from __future__ import annotations

from dealdesk.config import DEAL_STATUSES, FINAL_STATUSES, STATUS_TRANSITIONS

# Statuses in which approvals are being decided: decisions are accepted only then.
IN_REVIEW_STATUSES = ("under_review", "negotiating")
LEGAL_DEPARTMENT = "legal"

# Statuses a manual change (status_change event) may start from, per kind of person.
# "legal" means any user of the legal department, whatever their role.
MANUAL_CHANGE_FROM: dict[str, tuple[str, ...]] = {
    "seller": ("draft", "scoping", "revision_requested"),
    "approver": ("submitted", "under_review", "negotiating", "client_review"),
    "legal": ("approved", "contract_drafting"),
    "admin": tuple(s for s in DEAL_STATUSES if s not in FINAL_STATUSES),
}

# Moves that belong to the jobs even though the table allows them: a deal enters review only
# through routing, which creates the approvals of its round (a manual move would leave a deal
# under review with nothing to approve).
ROUTING_ONLY_STATUSES = ("under_review",)

# Moves only the system makes, outside the table: monitoring closes expired drafts.
SYSTEM_TRANSITIONS = frozenset({("draft", "lost")})


def transition_allowed(current: str | None, new: str) -> bool:
    """Whether the status machine allows ``current -> new`` (creation has no current status)."""
    return current is not None and new in STATUS_TRANSITIONS.get(current, ())


def actor_kinds(role: str | None, department: str | None) -> tuple[str, ...]:
    """The kinds of person a user counts as for manual changes (a legal approver is both)."""
    kinds = [role] if role in MANUAL_CHANGE_FROM else []
    if department == LEGAL_DEPARTMENT:
        kinds.append("legal")
    return tuple(kinds)


def manual_change_refusals(role: str | None, department: str | None, current: str, new: str) -> list[str]:
    """Every rule a manual change from ``current`` to ``new`` breaks (empty: allowed). A move the
    machine does not allow breaks that rule alone."""
    if not transition_allowed(current, new):
        return ["transition_not_allowed"]
    broken = []
    if not any(current in MANUAL_CHANGE_FROM[kind] for kind in actor_kinds(role, department)):
        broken.append("role_not_allowed")
    if new in ROUTING_ONLY_STATUSES:
        broken.append("routing_only")
    return broken


def manual_change_refusal(role: str | None, department: str | None, current: str, new: str) -> str | None:
    """The first rule a manual change breaks, or None when it is allowed."""
    return next(iter(manual_change_refusals(role, department, current, new)), None)
