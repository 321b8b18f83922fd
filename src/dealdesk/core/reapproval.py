"""Smart re-approval (business rules, section 6) as plain functions.

Every approval records a fingerprint of what its department judged of the deal when it was
routed. When a deal sent back for revision is resubmitted, a review its department approved in
the previous round is carried over when the new submission gives the same fingerprint; the
business approval when the approval level is the same and the value did not rise by more than
the configured share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from dealdesk.config import JUDGED_PARTS, BusinessRules
from dealdesk.core.model import Approval, Department

Part = Callable[[Mapping[str, Any], tuple[str, ...]], Any]


def _deal_fields(*names: str) -> Part:
    def read(body: Mapping[str, Any], _categories: tuple[str, ...]) -> Any:
        row = body.get("deal_row") or {}
        return {name: row.get(name) for name in names}

    return read


def _tiers(body: Mapping[str, Any], _categories: tuple[str, ...]) -> Any:
    tiers = body.get("tiers") or []
    return sorted(
        ([t.get("tier_number"), t.get("annual_revenue"), t.get("annual_gross_margin")] for t in tiers),
        key=repr,
    )


def _incentive_values(body: Mapping[str, Any], _categories: tuple[str, ...]) -> Any:
    lines = body.get("lines") or []
    return sorted(([ln.get("category_id"), ln.get("value")] for ln in lines), key=repr)


def _own_incentives(body: Mapping[str, Any], categories: tuple[str, ...]) -> Any:
    lines = body.get("lines") or []
    fields = ("category_id", "subcategory_id", "option", "value", "notes")
    return sorted(
        ([ln.get(name) for name in fields] for ln in lines if ln.get("category_id") in categories), key=repr
    )


# How each part of JUDGED_PARTS reads a submission body (the checks' reader of deal_submission).
# Lines are compared as a set, not by position: moving an unchanged line to another tier or
# place changes nothing a department judges of it.
PARTS: dict[str, Part] = {
    "deal_value": lambda body, _categories: body.get("deal_value"),
    "tiers": _tiers,
    "incentive_values": _incentive_values,
    "own_incentives": _own_incentives,
    "client": _deal_fields("sales_channel", "advertiser_name", "agency_name", "region"),
    "terms": _deal_fields(
        "deal_type",
        "deal_structure",
        "term_start_date",
        "term_end_date",
        "contract_term",
        "business_summary",
        "client_asks",
    ),
    "previous_year": _deal_fields("previous_year_revenue", "previous_year_margin"),
    "description": _deal_fields(
        "deal_name", "growth_opportunity_miq", "growth_opportunity_client", "growth_ambition"
    ),
}
assert tuple(PARTS) == JUDGED_PARTS, "every part the rules may name has a reader here"


def judged(
    department: str, body: Mapping[str, Any], departments: Mapping[str, Department], rules: BusinessRules
) -> tuple[tuple[str, ...], str]:
    """The parts ``department`` judges and the fingerprint of what the submission gives for them.
    The parts' names are part of what is hashed: a change of the rules never matches an older
    fingerprint."""
    parts = rules.reapproval.parts_judged_by(department)
    known = departments.get(department)
    categories = known.incentive_types if known is not None else ()
    content = {part: PARTS[part](body, categories) for part in parts}
    text = json.dumps([department, content], sort_keys=True, default=str, separators=(",", ":"))
    return parts, hashlib.sha256(text.encode()).hexdigest()[:32]


def review_decision(
    department: str,
    body: Mapping[str, Any] | None,
    prior: Mapping[tuple[int, str], Approval],
    departments: Mapping[str, Department],
    rules: BusinessRules,
) -> tuple[tuple[str, ...], str | None, Approval | None]:
    """For a stage-1 review of a new round: the parts judged, the fingerprint of ``body`` (the
    submission; None without one), and the previous round's review that stands for it, if any.
    ``prior``: the previous round's approvals by (stage, department)."""
    parts, fingerprint = judged(department, body, departments, rules) if body else ((), None)
    earlier = prior.get((1, department))
    return parts, fingerprint, earlier if review_carries_over(earlier, fingerprint, rules) else None


def review_carries_over(prior: Approval | None, fingerprint: str | None, rules: BusinessRules) -> bool:
    """Whether the previous round's review ``prior`` stands for the new round: it was approved and
    what its department judges is unchanged (an approval without a fingerprint never carries)."""
    return (
        rules.reapproval.carry_over_reviews
        and prior is not None
        and prior.status == "approved"
        and prior.fingerprint is not None
        and prior.fingerprint == fingerprint
    )


def business_carries_over(
    prior: Approval | None, level: str | None, deal_value: float, rules: BusinessRules
) -> bool:
    """Whether the previous round's business approval ``prior`` stands: approved, at the level the
    deal needs now, and the deal value at most ``max_value_rise_share`` above the value it had."""
    return (
        rules.reapproval.carry_over_business_approval
        and prior is not None
        and prior.status == "approved"
        and prior.judged_value is not None
        and level is not None
        and prior.approval_level == level
        and deal_value <= prior.judged_value * (1.0 + rules.reapproval.max_value_rise_share)
    )


def carried_note(department: str, stage: int, prior: Approval, parts: tuple[str, ...]) -> str:
    """The comment of a carried-over approval and of its approve action."""
    if stage == 2:
        return (
            f"carried over from round {prior.approval_round}: the business approval stands "
            f"(same level {prior.approval_level}, value not above the approved one)"
        )
    what = ", ".join(part.replace("_", " ") for part in parts) or "nothing"
    return f"carried over from round {prior.approval_round}: nothing {department} judges changed ({what})"
