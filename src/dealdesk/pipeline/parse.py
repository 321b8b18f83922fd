"""The content rules, set-based, as Columns: landed lines -> documents for the decision core.

The engine reads each line's envelope and checks the document against the stateless rules of
its kind (errors and warnings arrays with field, rule, message and value). The rules that
depend on state (is the deal there, may this person approve) belong to the decision core,
and the rows an accepted document writes are read from its JSON in ``fields``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.checks import documents as D
from dealdesk.checks import fields
from dealdesk.checks import validation as V
from dealdesk.checks.reasons import concat_reasons, empty_reasons
from dealdesk.config import BusinessRules
from dealdesk.core.desk import decision_failure, one_line
from dealdesk.core.model import Document

log = logging.getLogger(__name__)

ENVELOPE_COLUMNS = ("event_id", "kind", "source_file", "line_number", "occurred_at", "payload")


def _of(kind: str, schema: str) -> Column:
    return F.when(F.col("kind") == kind, F.from_json(F.col("payload"), schema))


def parse_documents(lines: DataFrame, rules: BusinessRules) -> tuple[DataFrame, DataFrame]:
    """Lines (source_file, line_number, payload[, encoding_error]) -> two frames, one row per line,
    with the envelope, ``errors``, ``warnings`` and ``envelope_error_count``:

    - the readable submissions, with ``draft_errors``, ``full_errors`` and their warnings
      (which errors apply depends on the deal: the core picks);
    - every other line.

    Two projections, each planned on its own: the local engine plans one very large
    expression far more slowly than a few smaller ones."""
    docs = D.read_envelopes(lines).withColumnsRenamed(
        {"errors": "envelope_errors", "warnings": "envelope_warnings"}
    )
    kind = F.col("kind")
    readable = F.size("envelope_errors") == 0
    submissions = (
        docs.filter(readable & (kind == "deal_submission"))
        .withColumn("sub", F.from_json(F.col("payload"), D.SUBMISSION_SCHEMA))
        .transform(V.with_submission_errors(rules, "sub"))
        .select(
            *ENVELOPE_COLUMNS,
            F.col("envelope_errors").alias("errors"),
            concat_reasons(F.col("envelope_warnings"), V.submission_warnings(F.col("sub"), rules)).alias(
                "warnings"
            ),
            F.lit(0).alias("envelope_error_count"),
            "draft_errors",
            "full_errors",
        )
    )
    others = docs.filter(~readable | (kind != "deal_submission")).withColumns(
        {
            "scoping": _of("scoping_request", D.SCOPING_SCHEMA),
            "usr": _of("user", D.USER_SCHEMA),
            "adv": _of("advertiser", D.ADVERTISER_SCHEMA),
            "agy": _of("agency", D.AGENCY_SCHEMA),
        }
    )
    content_errors = (
        F.when(kind == "scoping_request", V.scoping_errors(F.col("scoping"), rules))
        .when(kind == "user", V.user_errors(F.col("usr")))
        .when(kind == "advertiser", V.company_errors(F.col("adv.advertiser"), "advertiser", agency=False))
        .when(kind == "agency", V.company_errors(F.col("agy.agency"), "agency", agency=True))
        .otherwise(empty_reasons())
    )
    content_warnings = F.when(kind == "user", V.user_warnings(F.col("usr"))).otherwise(empty_reasons())
    others = others.select(
        *ENVELOPE_COLUMNS,
        concat_reasons(F.col("envelope_errors"), F.when(readable, content_errors)).alias("errors"),
        concat_reasons(F.col("envelope_warnings"), content_warnings).alias("warnings"),
        F.size("envelope_errors").alias("envelope_error_count"),
    )
    return submissions, others


def _integer(digits: str) -> int | float:
    return int(digits) if len(digits) < 4000 else float(digits)


def to_document(row: dict[str, Any], rules: BusinessRules) -> Document:
    """A checked row (readable envelope, known kind) as a core ``Document``. One whose fields
    cannot be read is rejected (rule decision_failed, the error in one line) rather than
    stopping the run."""
    try:
        return _read_document(row, rules)
    except Exception as error:
        log.error("document %s could not be read: %s", row["event_id"], one_line(error))
        return Document(
            event_id=row["event_id"],
            kind=row["kind"],
            occurred_at=row["occurred_at"],
            source_file=row["source_file"],
            line_number=row["line_number"],
            payload=row["payload"],
            body={},
            errors=[decision_failure(row["event_id"], one_line(error))],
        )


def _read_document(row: dict[str, Any], rules: BusinessRules) -> Document:
    kind, event_id, at = row["kind"], row["event_id"], row["occurred_at"]
    warnings = list(row["warnings"] or [])
    try:  # integers past Python's conversion limit are read as the engine reads them: doubles
        doc = json.loads(row["payload"], parse_int=_integer)
    except (ValueError, RecursionError):
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    if kind == "deal_submission":
        body = fields.submission_body(doc, rules)
        body["draft_errors"] = list(row.get("draft_errors") or [])
        body["full_errors"] = list(row.get("full_errors") or [])
        body["submission_warnings"] = []
    elif kind == "user":
        body = {"row": fields.user_row(doc, event_id, at)}
    elif kind in ("advertiser", "agency"):
        body = {"row": fields.company_row(doc, kind, event_id, at)}
    elif kind == "scoping_request":
        body = {"row": fields.scoping_row(doc, event_id, at, json.dumps(warnings), rules)}
    elif kind == "approval_action":
        body = fields.action_body(doc)
    else:
        body = fields.change_body(doc)
    return Document(
        event_id=event_id,
        kind=kind,
        occurred_at=at,
        source_file=row["source_file"],
        line_number=row["line_number"],
        payload=row["payload"],
        body=body,
        errors=list(row["errors"] or []),
        warnings=warnings,
    )
