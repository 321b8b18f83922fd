"""Named check functions over Columns, shared by the document kinds.

Each returns a failure struct or null (``reasons.failure``); a kind gathers them into its
errors and warnings. Field names are the document's own paths (``deal.region``,
``tiers[2].annual_gross_margin``) so a sender can find them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

from dealdesk.checks.reasons import failure
from dealdesk.config import (
    EARLIEST_BUSINESS_YEAR,
    INCENTIVE_CATEGORY_ALIASES,
    LATEST_BUSINESS_YEAR,
    MAX_AMOUNT,
    REFERENCE_PATTERN,
    BusinessRules,
)

EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
REFERENCE = REFERENCE_PATTERN


# -- typed readings of text fields ------------------------------------------------
def blank(text: Column) -> Column:
    return text.isNull() | (F.trim(text) == "")


def as_number(text: Column) -> Column:
    return F.trim(text).try_cast("double")


def as_date(text: Column) -> Column:
    """A real calendar date in YYYY-MM-DD form, else null (2025-02-30 is null)."""
    return F.when(F.trim(text).rlike(ISO_DATE), F.trim(text).try_cast("date"))


def as_timestamp(text: Column) -> Column:
    """An ISO-8601 time with a zone, as a timestamp (UTC), else null."""
    return F.when(F.trim(text).rlike(ISO_TIMESTAMP), F.trim(text).try_cast("timestamp"))


def representable(value: Column) -> Column:
    """A number the desk can store and add up: finite, and at most MAX_AMOUNT either way."""
    return ~F.isnan(value) & (F.abs(value) <= F.lit(MAX_AMOUNT))


def too_large(text: Column, field: str | Column, label: str | None = None) -> Column:
    """The failure of a given number past what the desk can represent (Infinity, NaN, 1e400);
    ``label`` names the field in the message when ``field`` is a computed path."""
    value = as_number(text)
    return failure(
        ~blank(text) & value.isNotNull() & ~representable(value),
        field,
        "max_amount",
        f"{label or field} must be a finite number from -{MAX_AMOUNT:,.0f} to {MAX_AMOUNT:,.0f}",
        text,
    )


def as_bool(text: Column) -> Column:
    return F.lower(F.trim(text)).try_cast("boolean")


def category_of(text: Column) -> Column:
    """Incentive category with the app's aliases resolved (marketing-ld means marketing)."""
    normalised = F.lower(F.trim(text))
    for alias, category in INCENTIVE_CATEGORY_ALIASES.items():
        normalised = F.when(normalised == alias, F.lit(category)).otherwise(normalised)
    return normalised


def derived_contract_term(start: Column, end: Column, rules: BusinessRules) -> Column:
    months = F.round(F.datediff(end, start) / F.lit(rules.validation.days_per_month)).cast("int")
    return F.greatest(months, F.lit(1))


# -- rule helpers -----------------------------------------------------------------
def required(text: Column, field: str) -> Column:
    return failure(blank(text), field, "required", f"{field} is required", text)


def one_of(text: Column, field: str, allowed: Sequence[str], *, optional: bool = False) -> Column:
    value = F.lower(F.trim(text))
    message = f"{field} must be one of {', '.join(allowed)}"
    if optional:
        return failure(~blank(text) & ~value.isin(*allowed), field, "one_of", message, text)
    return failure(blank(text) | ~value.isin(*allowed), field, "one_of", message, text)


def length_between(text: Column, field: str, low: int, high: int) -> Column:
    size = F.char_length(F.trim(text))
    return failure(
        text.isNotNull() & ((size < low) | (size > high)),
        field,
        "length",
        f"{field} must be {low} to {high:,} characters after trimming",
        F.concat(F.lit("length "), size.cast("string")),
    )


def max_length(text: Column, field: str, high: int) -> Column:
    return failure(
        F.char_length(text) > high,
        field,
        "max_length",
        f"{field} must be at most {high:,} characters",
        F.concat(F.lit("length "), F.char_length(text).cast("string")),
    )


def number(text: Column, field: str, *, minimum: float | None = None, maximum: float | None = None,
           optional: bool = True, label: str | None = None) -> Column:  # fmt: skip
    value = as_number(text)
    bounds = []
    if minimum is not None:
        bounds.append(value < minimum)
    if maximum is not None:
        bounds.append(value > maximum)
    out_of_range = bounds[0] if len(bounds) == 1 else (bounds[0] | bounds[1]) if bounds else F.lit(False)
    rule = label or ("between" if minimum is not None and maximum is not None else "minimum")
    if minimum is not None and maximum is not None:
        message = f"{field} must be a number from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        message = (
            f"{field} must be a number of at least {minimum:,.0f}"
            if minimum >= 1000
            else f"{field} must be a number >= {minimum:g}"
        )
    else:
        message = f"{field} must be a number"
    bad = ~blank(text) & (value.isNull() | out_of_range)
    not_a_number = failure(~blank(text) & value.isNull(), field, "number", f"{field} must be a number", text)
    checked = F.coalesce(not_a_number, too_large(text, field), failure(bad, field, rule, message, text))
    if optional:
        return checked
    return F.coalesce(failure(blank(text), field, "required", f"{field} is required"), checked)


def email(text: Column, field: str) -> Column:
    return failure(
        blank(text) | ~F.trim(text).rlike(EMAIL),
        field,
        "email",
        f"{field} must be a valid e-mail address",
        text,
    )


def calendar_date(text: Column, field: str, *, optional: bool = False) -> Column:
    bad = ~blank(text) & as_date(text).isNull()
    if not optional:
        bad = bad | blank(text)
    outside = ~F.year(as_date(text)).between(EARLIEST_BUSINESS_YEAR, LATEST_BUSINESS_YEAR)
    return F.coalesce(
        failure(bad, field, "date", f"{field} must be a real calendar date in YYYY-MM-DD form", text),
        failure(
            outside,
            field,
            "date_range",
            f"{field} must be from {EARLIEST_BUSINESS_YEAR}-01-01 to {LATEST_BUSINESS_YEAR}-12-31",
            text,
        ),
    )


def timestamp(text: Column, field: str) -> Column:
    """A required business time: ISO-8601 with a zone, within the business years."""
    moment = as_timestamp(text)
    return F.coalesce(
        failure(blank(text) | moment.isNull(), field, "iso_timestamp",
                f"{field} must be an ISO-8601 timestamp with a zone", text),
        failure(
            ~F.year(moment).between(EARLIEST_BUSINESS_YEAR, LATEST_BUSINESS_YEAR),
            field,
            "business_time_range",
            f"{field} must be from {EARLIEST_BUSINESS_YEAR}-01-01 to {LATEST_BUSINESS_YEAR}-12-31 (UTC)",
            text,
        ),
    )  # fmt: skip


def end_after_start(start: Column, end: Column, prefix: str) -> Column:
    return failure(
        as_date(end) <= as_date(start),
        f"{prefix}term_end_date",
        "end_after_start",
        "term_end_date must be after term_start_date",
        F.concat_ws(" <= ", F.trim(end), F.trim(start)),
    )
