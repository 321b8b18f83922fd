"""Documents as the app sends them, and landing files: for the intake tests."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from dealdesk.lakehouse.gateway import Lakehouse

SELLER = "sam.seller@example.com"


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value


def envelope(kind: str, occurred_at: str = "2026-03-02T10:00:00Z", **body: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "kind": kind, "occurred_at": occurred_at, **body}


def incentive(category: str = "financial", value: float = 10_000) -> dict[str, Any]:
    return {"category": category, "sub_category": "discounts", "option": "Volume Discount", "value": value}


def tier(number: int = 1, revenue: float = 60_000, margin: float = 0.3, **extra: Any) -> dict[str, Any]:
    return {
        "tier_number": number,
        "annual_revenue": revenue,
        "annual_gross_margin": margin,
        "incentives": [incentive()],
        **extra,
    }


def submission(overrides: dict[str, Any] | None = None, **envelope_fields: Any) -> dict[str, Any]:
    """A valid deal submission; ``overrides`` sets dotted paths ("deal.region", "tiers.0.annual_revenue")."""
    doc = envelope(
        "deal_submission",
        **{
            "submitted_by": SELLER,
            "reference_number": None,
            "status": "submitted",
            "scoping_request_id": None,
            "deal": {
                "deal_name": "Grow_CD_ACME_Tiered_SUBMISSION_20260401-20270331",
                "deal_type": "grow",
                "sales_channel": "client_direct",
                "deal_structure": "tiered",
                "region": "northeast",
                "advertiser_name": "Acme Foods",
                "agency_name": None,
                "business_summary": "Grow Acme in the northeast",
                "growth_opportunity_miq": "More CTV",
                "growth_opportunity_client": "Reach",
                "client_asks": "Discounts",
                "growth_ambition": 1_500_000,
                "term_start_date": "2026-04-01",
                "term_end_date": "2027-03-31",
                "contract_term": 12,
                "previous_year_revenue": 800_000,
                "previous_year_margin": 0.31,
                "priority": "high",
            },
            "tiers": [tier(1, 60_000, 0.34), tier(2, 90_000, 0.33)],
            **envelope_fields,
        },
    )
    for path, value in (overrides or {}).items():
        _set(doc, path, value)
    return doc


def with_tiers(count: int, structure: str = "tiered") -> dict[str, Any]:
    return {"tiers": [tier(n) for n in range(1, count + 1)], "deal.deal_structure": structure}


def user(
    email: str, role: str, department: str | None = None, level: str | None = None, **extra: Any
) -> dict:
    body = {
        "email": email,
        "username": email.split("@")[0],
        "first_name": email.split(".")[0].title(),
        "last_name": "Example",
        "role": role,
        "department": department,
        "approval_level": level,
        "is_active": True,
        "external_id": None,
        **extra,
    }
    return envelope("user", "2026-03-01T08:00:00Z", user=body)


def advertiser(name: str = "Acme Foods", **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "region": "northeast",
        "previous_year_revenue": 800_000,
        "previous_year_margin": 0.31,
    }
    return envelope("advertiser", "2026-03-01T08:00:00Z", advertiser={**body, **extra})


def agency(name: str = "Blue Agency", kind: str = "independent", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "type": kind, "region": "west", "previous_year_revenue": 500_000}
    return envelope("agency", "2026-03-01T08:00:00Z", agency={**body, **extra})


def scoping_request(**overrides: Any) -> dict[str, Any]:
    request = {
        "request_title": "Blue Agency growth",
        "description": "Scoping a tiered deal",
        "sales_channel": "independent_agency",
        "advertiser_name": None,
        "agency_name": "Blue Agency",
        "region": "west",
        "deal_type": "grow",
        "deal_structure": "tiered",
        "term_start_date": None,
        "term_end_date": None,
        "growth_opportunity_miq": "Programmatic",
        "growth_opportunity_client": "Audience",
        "client_asks": None,
        "growth_ambition": 2_000_000,
        **overrides,
    }
    return envelope("scoping_request", "2026-03-02T09:00:00Z", submitted_by=SELLER, request=request)


def reference_data() -> list[dict[str, Any]]:
    return [
        user(SELLER, "seller", "trading"),
        user("fin.reviewer@example.com", "department_reviewer", "finance"),
        advertiser(),
        agency(),
    ]


def write_jsonl(folder: Path, name: str, documents: list[Any]) -> Path:
    """A landing file: dicts become JSON lines, strings are written as they are (corrupt lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    lines = [d if isinstance(d, str) else json.dumps(d) for d in documents]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- reading results -------------------------------------------------------------------------------


def rows(lakehouse: Lakehouse, table: str, *columns: str) -> list[tuple]:
    frame = lakehouse.read(table)
    return sorted(tuple(r) for r in frame.select(*(columns or frame.columns)).collect())


def reasons_of(lakehouse: Lakehouse, event_id: str) -> list[dict[str, Any]]:
    found = lakehouse.read("rejected_documents").filter(F.col("event_id") == event_id).collect()
    assert found, f"{event_id} was not rejected"
    return json.loads(found[0]["reasons"])


def rejected_ids(lakehouse: Lakehouse) -> set[str]:
    return {r["event_id"] for r in lakehouse.read("rejected_documents").select("event_id").collect()}


def deal_by_event(lakehouse: Lakehouse, event_id: str) -> dict[str, Any]:
    found = lakehouse.read("deals").filter(F.col("source_event_id") == event_id).collect()
    assert found, f"no deal from {event_id}"
    return found[0].asDict()


def copy_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(doc)
