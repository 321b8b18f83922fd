"""Deterministic keys in plain Python: the same 64-bit ids ``keys`` computes as Columns.

The decision core creates rows (deals, approvals, actions, history) on the driver and
needs their ids without asking the engine. Spark's ``xxhash64(c1, c2, ...)`` starts
from seed 42 and hashes each non-null argument with the previous hash as its seed:
a string as its UTF-8 bytes, a boolean as the 4-byte integer 0 or 1. ``keys.stable_id``
hashes a namespace and, per part, its null flag and its text; this module does the
same, and a test checks both against the engine.
"""

from __future__ import annotations

import struct
from datetime import datetime

import xxhash

SPARK_HASH_SEED = 42
_TRUE, _FALSE = struct.pack("<i", 1), struct.pack("<i", 0)
_UNSIGNED, _SIGN = 1 << 64, 1 << 63

Part = str | int | bool | datetime | None


def _text(part: Part) -> str:
    """The value as Spark's ``CAST(x AS STRING)`` writes it, for the types keys are made of."""
    if isinstance(part, bool):
        return "true" if part else "false"
    if isinstance(part, datetime):
        return part.isoformat(sep=" ")
    return str(part)


def stable_id(namespace: str, *parts: Part) -> int:
    """Signed 64-bit id of a namespace and natural-key parts (None is a value of its own)."""
    seed = xxhash.xxh64_intdigest(namespace.encode(), SPARK_HASH_SEED)
    for part in parts:
        seed = xxhash.xxh64_intdigest(_TRUE if part is None else _FALSE, seed)
        if part is not None:
            seed = xxhash.xxh64_intdigest(_text(part).encode(), seed)
    return seed - _UNSIGNED if seed >= _SIGN else seed


def normalised_name(name: str) -> str:
    """Advertisers and agencies match by name, case- and space-insensitively."""
    return " ".join(name.split()).lower()


def user_id(email: str) -> int:
    return stable_id("users", email.strip().lower())


def advertiser_id(name: str) -> int:
    return stable_id("advertisers", normalised_name(name))


def agency_id(name: str) -> int:
    return stable_id("agencies", normalised_name(name))


def deal_id(reference_number: str) -> int:
    return stable_id("deals", reference_number)


def tier_id(reference_number: str, tier_number: int | None) -> int:
    return stable_id("deal_tiers", reference_number, tier_number)


def incentive_id(reference_number: str, tier_number: int | None, line_number: int) -> int:
    return stable_id("incentive_values", reference_number, tier_number, line_number)


def scoping_request_id(event_id: str) -> int:
    return stable_id("deal_scoping_requests", event_id)


def approval_id(deal: int, approval_round: int, stage: int, department: str) -> int:
    return stable_id("deal_approvals", deal, approval_round, stage, department)


def approval_action_id(source_event_id: str, approval: int, action_type: str) -> int:
    return stable_id("approval_actions", source_event_id, approval, action_type)


def status_change_id(deal: int, source_event_id: str, change_order: int) -> int:
    return stable_id("deal_status_history", deal, source_event_id, change_order)


def delegation_id(source_event_id: str) -> int:
    return stable_id("delegations", source_event_id)


def notification_id(cause: str, kind: str, recipient: int, subject: int) -> int:
    return stable_id("notifications", cause, kind, recipient, subject)
