"""Advertisers and agencies: reference data matched by name, sharing their fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import Column

from dealdesk.checks.columns import number, one_of, required
from dealdesk.checks.kind import BodyReader
from dealdesk.checks.reasons import gather
from dealdesk.checks.values import company_name, enum, obj
from dealdesk.checks.values import number as number_of
from dealdesk.config import AGENCY_TYPES, REGIONS, BusinessRules
from dealdesk.core import ids

COMPANY_FIELDS = (
    "name",
    "region",
    "type",
    "previous_year_revenue",
    "previous_year_margin",
    "previous_year_profit",
    "previous_year_incentive_cost",
    "previous_year_client_value",
)


def schema_of(kind: str) -> str:
    return kind + " STRUCT<" + ", ".join(f"{f}: STRING" for f in COMPANY_FIELDS) + ">"


def company_errors(company: Column, prefix: str, *, agency: bool) -> Column:
    checks = [
        required(company["name"], f"{prefix}.name"),
        one_of(company["region"], f"{prefix}.region", REGIONS, optional=True),
        number(company["previous_year_margin"], f"{prefix}.previous_year_margin", minimum=0, maximum=1),
        *[
            number(company[f], f"{prefix}.{f}")
            for f in (
                "previous_year_revenue",
                "previous_year_profit",
                "previous_year_incentive_cost",
                "previous_year_client_value",
            )
        ],
    ]
    if agency:
        checks.append(one_of(company["type"], f"{prefix}.type", AGENCY_TYPES, optional=True))
    return gather(*checks)


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
    row.update({figure: number_of(company.get(figure)) or 0.0 for figure in COMPANY_FIGURES})
    row.update(region=enum(company.get("region")), source_event_id=event_id, created_at=at, updated_at=at)
    return row


def read_body_of(kind: str) -> BodyReader:
    """The body reader of the company kind ``kind`` (advertiser or agency)."""

    def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
        return {"row": company_row(doc, kind, row["event_id"], row["occurred_at"])}

    return read_body
