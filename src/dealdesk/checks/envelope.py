"""The envelope every document shares (event_id, kind, occurred_at), checked as Columns.

Every leaf is parsed as text (``from_json`` against STRING fields) and cast with
``try_cast``, so a wrong type is a validation failure, never a crash.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.columns import ISO_TIMESTAMP
from dealdesk.checks.reasons import REASONS_TYPE, failure, gather
from dealdesk.config import DOCUMENT_KINDS, EARLIEST_BUSINESS_YEAR, LATEST_BUSINESS_YEAR, NESTING_LIMIT

RAW_COLUMNS = (
    "event_id",
    "kind",
    "source_file",
    "line_number",
    "occurred_at",
    "payload",
    "received_at",
    "run_id",
)

ENVELOPE_SCHEMA = "event_id STRING, kind STRING, occurred_at STRING"

EARLIEST_TIME = f"{EARLIEST_BUSINESS_YEAR}-01-01T00:00:00Z"
LATEST_TIME = f"{LATEST_BUSINESS_YEAR}-12-31T23:59:59Z"


def is_json_object(payload: Column) -> Column:
    return F.get_json_object(payload, "$").isNotNull() & F.ltrim(payload).startswith("{")


def read_envelopes(lines: DataFrame) -> DataFrame:
    """Lines (source_file, line_number, payload) -> raw documents with envelope errors and warnings.

    A missing event_id gets a stable one, with a warning: ``derived_id`` when the lines carry it
    (from the file's content checksum and the line number), else from file and line.
    """
    envelope = F.from_json(F.col("payload"), ENVELOPE_SCHEMA)
    is_object = is_json_object(F.col("payload"))
    event_id = F.trim(envelope["event_id"])
    derived_id = F.concat(
        F.lit("derived-"), F.sha2(F.concat_ws(":", "source_file", "line_number"), 256).substr(1, 32)
    )
    if "derived_id" in lines.columns:
        derived_id = F.coalesce(F.col("derived_id"), derived_id)
    occurred_text = envelope["occurred_at"]
    parsed_at = F.when(
        occurred_text.rlike(ISO_TIMESTAMP),
        F.from_json(F.col("payload"), "occurred_at STRING")["occurred_at"].try_cast("timestamp"),
    )
    # outside the business years the time is not kept at all (nothing downstream can misread it)
    in_years = F.year(parsed_at).between(EARLIEST_BUSINESS_YEAR, LATEST_BUSINESS_YEAR)
    occurred_at = F.when(in_years, parsed_at)
    kind = F.trim(envelope["kind"])
    encoding = F.col("encoding_error") if "encoding_error" in lines.columns else F.lit(None).cast("string")
    errors = gather(
        failure(
            encoding.isNotNull(),
            "line",
            "utf8",
            F.concat(
                F.lit("line is not valid UTF-8 at "),
                encoding,
                F.lit(": kept as received, the bad bytes written as \\xNN"),
            ),
            encoding,
        ),
        failure(
            ~is_object,
            "line",
            "valid_json_object",
            "line is not a JSON object",
            F.col("payload").substr(1, 200),
        ),
        failure(is_object & kind.isNull(), "kind", "required", "envelope field kind is missing"),
        failure(
            is_object & kind.isNotNull() & ~kind.isin(*DOCUMENT_KINDS),
            "kind",
            "one_of",
            F.concat(F.lit("kind must be one of " + ", ".join(DOCUMENT_KINDS) + "; got "), kind),
            kind,
        ),
        failure(
            is_object & occurred_text.isNull(),
            "occurred_at",
            "required",
            "envelope field occurred_at is missing",
        ),
        failure(
            is_object & occurred_text.isNotNull() & parsed_at.isNull(),
            "occurred_at",
            "iso_timestamp",
            "occurred_at must be an ISO-8601 timestamp with a zone",
            occurred_text,
        ),
        failure(
            is_object & parsed_at.isNotNull() & ~in_years,
            "occurred_at",
            "business_time_range",
            f"occurred_at must be from {EARLIEST_TIME} to {LATEST_TIME} (UTC)",
            occurred_text,
        ),
    )
    warnings = gather(
        failure(
            is_object & (event_id.isNull() | (event_id == "")),
            "event_id",
            "required",
            "event_id missing: derived from the file's content and the line number",
            F.lit(None),
        )
    )
    if "nesting" in lines.columns:
        # a line nested deeper than the reader's limit: one true reason, and the event_id the
        # landing step read from its text (the engine's reader would misread the line)
        too_deep = F.col("nesting").isNotNull()
        nesting = gather(
            failure(
                too_deep,
                "line",
                "nesting_depth",
                F.concat(
                    F.lit("the document is nested "),
                    F.col("nesting").cast("string"),
                    F.lit(f" levels deep; at most {NESTING_LIMIT} are read"),
                ),
                F.col("nesting"),
            )
        )
        errors = F.when(too_deep, nesting).otherwise(errors)
        warnings = F.when(too_deep, F.array().cast(REASONS_TYPE)).otherwise(warnings)
        is_object = is_object & ~too_deep
        derived_id = F.coalesce(F.col("event_id_hint"), derived_id)
    return lines.select(
        F.when(is_object & (event_id != ""), event_id).otherwise(derived_id).alias("event_id"),
        F.when(is_object, kind).alias("kind"),
        "source_file",
        F.col("line_number").cast("bigint").alias("line_number"),
        occurred_at.alias("occurred_at"),
        "payload",
        errors.alias("errors"),
        warnings.alias("warnings"),
    )
