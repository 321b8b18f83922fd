"""A scoping request: a deal idea before its submission (business rules, section 7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import Column

from dealdesk.checks import columns as check
from dealdesk.checks.kind import DocumentKind
from dealdesk.checks.reasons import gather
from dealdesk.checks.values import (
    DEAL_DESCRIPTION,
    as_date,
    contract_term,
    obj,
    raw_text,
    read_fields,
    text,
)
from dealdesk.config import DEAL_STRUCTURES, DEAL_TYPES, REGIONS, SALES_CHANNELS, BusinessRules
from dealdesk.core import ids

SCOPING_FIELDS = (
    "request_title",
    "description",
    "sales_channel",
    "advertiser_name",
    "agency_name",
    "region",
    "deal_type",
    "deal_structure",
    "term_start_date",
    "term_end_date",
    "growth_opportunity_miq",
    "growth_opportunity_client",
    "client_asks",
    "growth_ambition",
    "contract_term",
)
SCHEMA = "submitted_by STRING, request STRUCT<" + ", ".join(f"{f}: STRING" for f in SCOPING_FIELDS) + ">"


def errors(doc: Column, rules: BusinessRules) -> Column:
    request = doc["request"]
    return gather(
        check.email(doc["submitted_by"], "submitted_by"),
        check.required(request["request_title"], "request.request_title"),
        check.length_between(
            request["request_title"], "request.request_title", 1, rules.validation.deal_name_max_chars
        ),
        check.one_of(request["sales_channel"], "request.sales_channel", SALES_CHANNELS),
        check.required(request["growth_opportunity_miq"], "request.growth_opportunity_miq"),
        check.required(request["growth_opportunity_client"], "request.growth_opportunity_client"),
        check.number(
            request["growth_ambition"],
            "request.growth_ambition",
            minimum=rules.validation.min_growth_ambition,
            optional=False,
        ),
        check.one_of(request["region"], "request.region", REGIONS, optional=True),
        check.one_of(request["deal_type"], "request.deal_type", DEAL_TYPES, optional=True),
        check.one_of(request["deal_structure"], "request.deal_structure", DEAL_STRUCTURES, optional=True),
        check.calendar_date(request["term_start_date"], "request.term_start_date", optional=True),
        check.calendar_date(request["term_end_date"], "request.term_end_date", optional=True),
        check.end_after_start(request["term_start_date"], request["term_end_date"], "request."),
        *[
            check.max_length(request[f], f"request.{f}", rules.validation.free_text_max_chars)
            for f in ("description", "growth_opportunity_miq", "growth_opportunity_client", "client_asks")
        ],
    )


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
        **read_fields(request, DEAL_DESCRIPTION),
        "advertiser_name": text(request.get("advertiser_name")),
        "agency_name": text(request.get("agency_name")),
        "contract_term": term,
        "term_start_date": start,
        "term_end_date": end,
        "status": "pending",
        "converted_deal_id": None,
        "converted_at": None,
        "validation_warnings": warnings,
        "source_event_id": event_id,
        "created_at": at,
        "updated_at": at,
    }


def read_body(doc: dict[str, Any], row: Mapping[str, Any], rules: BusinessRules) -> dict[str, Any]:
    warnings = list(row["warnings"] or [])
    return {"row": scoping_row(doc, row["event_id"], row["occurred_at"], json.dumps(warnings), rules)}


KIND = DocumentKind("scoping_request", read_body, schema=SCHEMA, errors=errors)
