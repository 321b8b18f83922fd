"""The content rules, set-based, as Columns: landed lines -> documents for the decision core.

The engine reads each line's envelope and checks the document against the stateless rules of
its kind (errors and warnings arrays with field, rule, message and value). The rules that
depend on state (is the deal there, may this person approve) belong to the decision core,
and the rows an accepted document writes are read from its JSON in ``fields``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Iterable
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.envelope import read_envelopes
from dealdesk.checks.kinds import KINDS
from dealdesk.checks.reasons import concat_reasons, empty_reasons
from dealdesk.config import BusinessRules
from dealdesk.core.desk import decision_failure, one_line
from dealdesk.core.model import Document

log = logging.getLogger(__name__)

ENVELOPE_COLUMNS = ("event_id", "kind", "source_file", "line_number", "occurred_at", "payload")


def _body(name: str) -> str:
    return f"body_{name}"


KIND_NAMED = re.compile(r'"kind"\s*:\s*"([A-Za-z_]+)"')


def kinds_named(payloads: Iterable[str]) -> set[str]:
    """The document kinds the lines name as ``"kind": "..."`` anywhere in their text: the kinds a
    parse checks for (a guess from the text; ``parse_documents`` callers check it held)."""
    return {found for payload in payloads for found in KIND_NAMED.findall(payload) if found in KINDS}


def parse_documents(
    lines: DataFrame, rules: BusinessRules, kinds: Collection[str] | None = None
) -> list[DataFrame]:
    """Lines (source_file, line_number, payload[, encoding_error]) -> frames, one row per line,
    with the envelope, ``errors``, ``warnings`` and ``envelope_error_count``:

    - the readable documents of the kinds whose errors the core picks among (deal submissions:
      ``draft_errors`` and ``full_errors``), each such kind checked in its own projection;
    - every other line, each kind's checks applied to its own rows.

    Separate projections because the local engine plans one very large expression far more
    slowly than a few smaller ones. ``kinds``: only these kinds' checks are built (a trickle of
    one kind plans a fraction of the expression, in one query); a readable line of another kind
    then comes back unchecked, or a line of no frame does not come back, and the caller parses
    again with every kind (None)."""
    docs = read_envelopes(lines).withColumnsRenamed(
        {"errors": "envelope_errors", "warnings": "envelope_warnings"}
    )
    kind = F.col("kind")
    readable = F.size("envelope_errors") == 0
    wanted = [k for k in KINDS.values() if kinds is None or k.name in kinds]
    picked = [k for k in wanted if k.error_sets]
    set_columns = sorted({c for k in picked for c in k.error_set_columns})
    picked_frames = []
    for k in picked:
        body = F.col(_body(k.name))
        warnings = k.warnings(body, rules) if k.warnings else empty_reasons()
        picked_frames.append(
            docs.filter(readable & (kind == k.name))
            .withColumn(_body(k.name), F.from_json(F.col("payload"), k.schema))
            .transform(k.error_sets(rules, _body(k.name)))
            .select(
                *ENVELOPE_COLUMNS,
                F.col("envelope_errors").alias("errors"),
                concat_reasons(F.col("envelope_warnings"), warnings).alias("warnings"),
                F.lit(0).alias("envelope_error_count"),
                *[(F.col(c) if c in k.error_set_columns else empty_reasons()).alias(c) for c in set_columns],
            )
        )
    checked = [k for k in wanted if not k.error_sets and k.schema]
    if kinds is not None and picked and not checked:
        return picked_frames  # lines of those kinds only, all readable: the caller counts the rows
    others = docs.filter(~readable | ~kind.isin(*[k.name for k in picked])) if picked else docs
    if checked:
        others = others.withColumns(
            {_body(k.name): F.when(kind == k.name, F.from_json(F.col("payload"), k.schema)) for k in checked}
        )
    content_errors, content_warnings = empty_reasons(), empty_reasons()
    for k in reversed(checked):
        body = F.col(_body(k.name))
        if k.errors:
            content_errors = F.when(kind == k.name, k.errors(body, rules)).otherwise(content_errors)
        if k.warnings:
            content_warnings = F.when(kind == k.name, k.warnings(body, rules)).otherwise(content_warnings)
    others = others.select(
        *ENVELOPE_COLUMNS,
        concat_reasons(F.col("envelope_errors"), F.when(readable, content_errors)).alias("errors"),
        concat_reasons(F.col("envelope_warnings"), content_warnings).alias("warnings"),
        F.size("envelope_errors").alias("envelope_error_count"),
    )
    # the engine runs the frames as queries side by side
    return [*picked_frames, others]


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
    body = KINDS[kind].read_body(doc, row, rules)
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
