"""Validation as data: each rule is a Column that is a failure struct or null.

A document's rules are gathered into an ``errors`` array and a ``warnings``
array; a document with any error is rejected with all of them, never dropped.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

REASON_FIELDS = "field STRING, rule STRING, message STRING, value STRING"
REASON_TYPE = f"STRUCT<{REASON_FIELDS.replace(' STRING', ': STRING')}>"
REASONS_TYPE = f"ARRAY<{REASON_TYPE}>"


def reason(field: str | Column, rule: str, message: str | Column, value: Column | None = None) -> Column:
    """A reason struct: which field, which rule, a readable message and the offending value as text."""
    return F.struct(
        (F.lit(field) if isinstance(field, str) else field).cast("string").alias("field"),
        F.lit(rule).alias("rule"),
        (F.lit(message) if isinstance(message, str) else message).cast("string").alias("message"),
        (value if value is not None else F.lit(None)).cast("string").alias("value"),
    )


def failure(
    failed: Column, field: str | Column, rule: str, message: str | Column, value: Column | None = None
) -> Column:
    """The reason when ``failed`` is true, else null (a null condition counts as passed)."""
    return F.when(failed, reason(field, rule, message, value))


def gather(*checks: Column) -> Column:
    """An array of the failures among ``checks`` (nulls dropped)."""
    if not checks:
        return F.array().cast(REASONS_TYPE)
    return F.filter(F.array(*checks), lambda item: item.isNotNull())


def concat_reasons(*arrays: Column) -> Column:
    """Join several reason arrays (e.g. document-level and per-tier failures)."""
    return F.concat(*[F.coalesce(a, F.array().cast(REASONS_TYPE)) for a in arrays])


def empty_reasons() -> Column:
    return F.array().cast(REASONS_TYPE)
