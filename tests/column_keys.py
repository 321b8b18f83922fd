"""Deterministic keys as Columns, for Spark and SQL code: the test oracle for ``dealdesk.core.ids``.

A row's id is a 64-bit hash of its natural key.

A re-run or a concurrent run computes the same id, and a child row can be
written without reading its parent back. Each table hashes under its own
namespace so equal natural keys in two tables give different ids.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


def stable_id(namespace: str, *parts: Column) -> Column:
    """BIGINT id from a namespace and the natural-key columns.

    Each part is hashed with its null flag, so a null differs from any value (xxhash64 skips
    nulls). Not coalesce(part, marker): on the local engine that folds an all-null batch to a
    constant, and xxhash64 over constants only panics.
    """
    flagged = [c for p in parts for c in (p.isNull(), p.cast("string"))]
    return F.xxhash64(F.lit(namespace), *flagged)


def normalised_name(name: Column) -> Column:
    """Advertisers and agencies match by name, case- and space-insensitively."""
    return F.lower(F.regexp_replace(F.trim(name), r"\s+", " "))


def user_id(email: Column) -> Column:
    return stable_id("users", F.lower(F.trim(email)))


def advertiser_id(name: Column) -> Column:
    return stable_id("advertisers", normalised_name(name))


def agency_id(name: Column) -> Column:
    return stable_id("agencies", normalised_name(name))


def deal_id(reference_number: Column) -> Column:
    return stable_id("deals", reference_number)


def tier_id(reference_number: Column, tier_number: Column) -> Column:
    return stable_id("deal_tiers", reference_number, tier_number)


def incentive_id(reference_number: Column, tier_number: Column, line_number: Column) -> Column:
    return stable_id("incentive_values", reference_number, tier_number, line_number)


def scoping_request_id(event_id: Column) -> Column:
    return stable_id("deal_scoping_requests", event_id)


def approval_id(deal: Column, approval_round: Column, stage: Column, department: Column) -> Column:
    return stable_id("deal_approvals", deal, approval_round, stage, department)


def approval_action_id(source_event_id: Column, approval: Column, action_type: Column) -> Column:
    return stable_id("approval_actions", source_event_id, approval, action_type)


def status_change_id(deal: Column, source_event_id: Column, change_order: Column) -> Column:
    return stable_id("deal_status_history", deal, source_event_id, change_order)
