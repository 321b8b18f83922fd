"""The fields of a checked document as the rows it writes: plain Python over the parsed JSON.

The engine checks every document against the rules (``parse``); the documents it accepts
have valid values, and this module reads them the way the rules read them (text trimmed of
spaces, enumerations lower-case, numbers and dates cast, the app's category aliases),
so the rows hold exactly what was validated.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from dealdesk.config import INCENTIVE_CATEGORY_ALIASES, MAX_CONTRACT_TERM_MONTHS, BusinessRules
from dealdesk.core import ids

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Infinity|NaN)$")
TRUE, FALSE = {"t", "true", "y", "yes", "1"}, {"f", "false", "n", "no", "0"}


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one when the document has something else there (rejected anyway)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def raw_text(value: Any) -> str | None:
    """A JSON value as the text the rules see (objects and arrays as JSON text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return str(value)


def text(value: Any) -> str | None:
    """Trimmed of spaces (as the engine's trim), None when empty."""
    raw = raw_text(value)
    if raw is None:
        return None
    trimmed = raw.strip(" ")
    return trimmed or None


def enum(value: Any) -> str | None:
    trimmed = text(value)
    return trimmed.lower() if trimmed is not None else None


def number(value: Any) -> float | None:
    """A finite number (as the rules read it), else None: the rules reject what is not finite."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        found = float(value) if not isinstance(value, int) or abs(value) < 10**308 else math.inf
    else:
        trimmed = text(value)
        if trimmed is None or not NUMBER.match(trimmed):
            return None
        found = float(trimmed)
    return found if math.isfinite(found) else None


def boolean(value: Any) -> bool | None:
    trimmed = enum(value)
    if trimmed in TRUE:
        return True
    if trimmed in FALSE:
        return False
    return None


def as_date(value: Any) -> date | None:
    trimmed = text(value)
    if trimmed is None or not ISO_DATE.match(trimmed):
        return None
    try:
        return date.fromisoformat(trimmed)
    except ValueError:
        return None


def category(value: Any) -> str | None:
    name = (text(value) or "").lower() or None
    return INCENTIVE_CATEGORY_ALIASES.get(name, name) if name else None


def contract_term(start: date | None, end: date | None, rules: BusinessRules) -> int | None:
    """Months between the dates, rounded half up, at least 1."""
    if start is None or end is None:
        return None
    return max(math.floor((end - start).days / rules.validation.days_per_month + 0.5), 1)


def money(total: float) -> float:
    """A sum of amounts in USD, in whole cents.

    Sums of two-decimal amounts pick up binary noise (19008.86 + 7811.58 is
    26820.440000000002), and the embedded engine rewrites such a value to 15 significant
    digits when a later MERGE updates another column of its row: a stored amount would change
    with how the documents were batched. Whole cents are what the business counts anyway."""
    return round(total, 2)


def company_name(value: Any) -> str | None:
    trimmed = text(value)
    return " ".join(trimmed.split()) if trimmed else None


# -- rows of each kind --------------------------------------------------------------------------
def user_row(doc: dict[str, Any], event_id: str, at: datetime) -> dict[str, Any]:
    user = obj(doc.get("user"))
    email = (raw_text(user.get("email")) or "").strip().lower()
    return {
        "id": ids.user_id(email),
        "username": text(user.get("username")) or email.split("@")[0],
        "email": email,
        "role": enum(user.get("role")),
        "department": enum(user.get("department")),
        "approval_level": enum(user.get("approval_level")),
        "first_name": text(user.get("first_name")),
        "last_name": text(user.get("last_name")),
        "is_active": boolean(user.get("is_active")) is not False,
        "external_id": text(user.get("external_id")),
        "source_event_id": event_id,
        "created_at": at,
        "updated_at": at,
    }


COMPANY_FIGURES = (
    "previous_year_revenue",
    "previous_year_margin",
    "previous_year_profit",
    "previous_year_incentive_cost",
    "previous_year_client_value",
)


def company_row(doc: dict[str, Any], kind: str, event_id: str, at: datetime) -> dict[str, Any]:
    company = obj(doc.get(kind))
    name = company_name(company.get("name")) or ""
    row: dict[str, Any] = {
        "id": ids.agency_id(name) if kind == "agency" else ids.advertiser_id(name),
        "name": name,
    }
    if kind == "agency":
        row["type"] = enum(company.get("type")) or "independent"
    row.update({figure: number(company.get(figure)) or 0.0 for figure in COMPANY_FIGURES})
    row.update(region=enum(company.get("region")), source_event_id=event_id, created_at=at, updated_at=at)
    return row


def scoping_row(
    doc: dict[str, Any], event_id: str, at: datetime, warnings: str, rules: BusinessRules
) -> dict[str, Any]:
    request = obj(doc.get("request"))
    start, end = as_date(request.get("term_start_date")), as_date(request.get("term_end_date"))
    term = (
        contract_term(start, end, rules) if start and end else rules.validation.default_contract_term_months
    )
    return {
        "id": ids.scoping_request_id(event_id),
        "request_title": text(request.get("request_title")),
        "description": text(request.get("description")),
        "email": (raw_text(doc.get("submitted_by")) or "").strip().lower(),
        "sales_channel": enum(request.get("sales_channel")),
        "advertiser_name": text(request.get("advertiser_name")),
        "agency_name": text(request.get("agency_name")),
        "region": enum(request.get("region")),
        "deal_type": enum(request.get("deal_type")),
        "deal_structure": enum(request.get("deal_structure")),
        "contract_term": term,
        "term_start_date": start,
        "term_end_date": end,
        "growth_opportunity_miq": text(request.get("growth_opportunity_miq")),
        "growth_ambition": number(request.get("growth_ambition")),
        "growth_opportunity_client": text(request.get("growth_opportunity_client")),
        "client_asks": text(request.get("client_asks")),
        "status": "pending",
        "converted_deal_id": None,
        "converted_at": None,
        "validation_warnings": warnings,
        "source_event_id": event_id,
        "created_at": at,
        "updated_at": at,
    }


def submission_body(doc: dict[str, Any], rules: BusinessRules) -> dict[str, Any]:
    """What the core needs of a deal submission, and the rows it writes."""
    deal = obj(doc.get("deal"))
    start, end = as_date(deal.get("term_start_date")), as_date(deal.get("term_end_date"))
    given_term = number(deal.get("contract_term"))
    term = contract_term(start, end, rules)
    if term is None:
        given_ok = given_term is not None and 1 <= given_term <= MAX_CONTRACT_TERM_MONTHS
        term = int(given_term) if given_ok else rules.validation.default_contract_term_months  # type: ignore[arg-type]
    tiers, lines, categories = [], [], []
    for tier in items(doc.get("tiers")):
        tier = obj(tier)
        tier_number = _int(tier.get("tier_number"))
        incentives = [obj(i) for i in items(tier.get("incentives"))]
        first = incentives[0] if incentives else {}
        tiers.append(
            {
                "tier_number": tier_number,
                "annual_revenue": number(tier.get("annual_revenue")),
                "annual_gross_margin": number(tier.get("annual_gross_margin")),
                "category_name": category(first.get("category")),
                "sub_category_name": text(first.get("sub_category")),
                "incentive_option": text(first.get("option")),
                "incentive_value": money(sum(number(i.get("value")) or 0.0 for i in incentives)),
                "incentive_notes": text(first.get("notes")),
            }
        )
        for position, incentive in enumerate(incentives, start=1):
            categories.append(category(incentive.get("category")))
            lines.append(
                {
                    "tier_number": tier_number,
                    "line_number": position,
                    "category_id": category(incentive.get("category")),
                    "subcategory_id": text(incentive.get("sub_category")),
                    "option": text(incentive.get("option")),
                    "value": number(incentive.get("value")) or 0.0,
                    "notes": text(incentive.get("notes")),
                }
            )
    value = money(sum(t["annual_revenue"] or 0.0 for t in tiers))
    priority = enum(deal.get("priority")) or "medium"
    submitter = (raw_text(doc.get("submitted_by")) or "").strip().lower() or None
    advertiser, agency = text(deal.get("advertiser_name")), text(deal.get("agency_name"))
    return {
        "given_reference": text(doc.get("reference_number")),
        "wants_draft": enum(doc.get("status")) == "draft",
        "submitter": submitter,
        "submitted_by": raw_text(doc.get("submitted_by")),
        "scoping_ref": text(doc.get("scoping_request_id")),
        "advertiser_name": advertiser,
        "advertiser_id": ids.advertiser_id(company_name(advertiser) or "") if advertiser else None,
        "agency_name": agency,
        "agency_id": ids.agency_id(company_name(agency) or "") if agency else None,
        "deal_value": value,
        "priority": priority,
        "deal_type": enum(deal.get("deal_type")),
        "categories": sorted({c for c in categories if c}),
        "revision_reason": text(doc.get("revision_reason")),
        "tiers": tiers,
        "lines": lines,
        "deal_row": {
            "deal_name": text(deal.get("deal_name")),
            "email": submitter,
            "deal_type": enum(deal.get("deal_type")),
            "sales_channel": enum(deal.get("sales_channel")),
            "deal_structure": enum(deal.get("deal_structure")),
            "region": enum(deal.get("region")),
            "advertiser_name": advertiser,
            "agency_name": agency,
            "business_summary": text(deal.get("business_summary")),
            "growth_opportunity_miq": text(deal.get("growth_opportunity_miq")),
            "growth_opportunity_client": text(deal.get("growth_opportunity_client")),
            "client_asks": text(deal.get("client_asks")),
            "growth_ambition": number(deal.get("growth_ambition")),
            "term_start_date": start,
            "term_end_date": end,
            "contract_term": term,
            "previous_year_revenue": number(deal.get("previous_year_revenue")) or 0.0,
            "previous_year_margin": number(deal.get("previous_year_margin")) or 0.0,
            "deal_value": value,
            "total_incentive_cost": money(sum(line["value"] for line in lines)),
            "required_approval_level": rules.ladder.level_for(value),
            "priority": priority,
        },
    }


def _int(value: Any) -> int | None:
    """A whole number written as one: 2 or "2" (as the rules read it, "2.0" is not a stage)."""
    if isinstance(value, bool | float):
        return None
    trimmed = text(value)
    return int(trimmed) if trimmed is not None and re.fullmatch(r"[+-]?\d{1,18}", trimmed) else None


def action_body(doc: dict[str, Any]) -> dict[str, Any]:
    stage_text = text(doc.get("approval_stage"))
    return {
        "reference_number": (text(doc.get("reference_number")) or "").upper() or None,
        "approval_stage": _int(stage_text),
        "approval_stage_text": stage_text,
        "department": enum(doc.get("department")),
        "action": enum(doc.get("action")),
        "performed_by": enum(doc.get("performed_by")),
        "comments": text(doc.get("comments")),
        "assign_to": enum(doc.get("assign_to")),
    }


def change_body(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "reference_number": (text(doc.get("reference_number")) or "").upper() or None,
        "new_status": enum(doc.get("new_status")),
        "performed_by": enum(doc.get("performed_by")),
        "comments": text(doc.get("comments")),
    }
