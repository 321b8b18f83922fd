"""Reading a checked document's values in plain Python, the way the checks read them.

The engine checks every document (the kinds' Column checks); the documents it accepts have
valid values, and these readers take them as the checks did (text trimmed of spaces,
enumerations lower-case, numbers and dates cast, the app's category aliases), so the rows
hold exactly what was validated.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from dealdesk.config import INCENTIVE_CATEGORY_ALIASES, BusinessRules

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Infinity|NaN)$")
TRUE, FALSE = {"t", "true", "y", "yes", "1"}, {"f", "false", "n", "no", "0"}


def obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one when the document has something else there (rejected anyway)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def raw_text(value: Any) -> str | None:
    """A JSON value as the text the rules see (objects and arrays as JSON text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def text(value: Any) -> str | None:
    """Trimmed of spaces (as the engine's trim), None when empty."""
    raw = raw_text(value)
    if raw is None:
        return None
    trimmed = raw.strip(" ")
    return trimmed or None


def enum(value: Any) -> str | None:
    trimmed = text(value)
    return trimmed.lower() if trimmed is not None else None


def number(value: Any) -> float | None:
    """A finite number (as the rules read it), else None: the rules reject what is not finite."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        found = float(value) if not isinstance(value, int) or abs(value) < 10**308 else math.inf
    else:
        trimmed = text(value)
        if trimmed is None or not NUMBER.match(trimmed):
            return None
        found = float(trimmed)
    return found if math.isfinite(found) else None


def boolean(value: Any) -> bool | None:
    trimmed = enum(value)
    if trimmed in TRUE:
        return True
    if trimmed in FALSE:
        return False
    return None


def as_date(value: Any) -> date | None:
    trimmed = text(value)
    if trimmed is None or not ISO_DATE.match(trimmed):
        return None
    try:
        return date.fromisoformat(trimmed)
    except ValueError:
        return None


def as_time(value: Any) -> datetime | None:
    """An ISO-8601 time as naive UTC (how the tables hold business times); one without a zone is
    taken as UTC; None when it does not read."""
    trimmed = text(value)
    if trimmed is None:
        return None
    try:
        moment = datetime.fromisoformat(trimmed.replace(" ", "T", 1).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def category(value: Any) -> str | None:
    name = (text(value) or "").lower() or None
    return INCENTIVE_CATEGORY_ALIASES.get(name, name) if name else None


def contract_term(start: date | None, end: date | None, rules: BusinessRules) -> int | None:
    """Months between the dates, rounded half up, at least 1."""
    if start is None or end is None:
        return None
    return max(math.floor((end - start).days / rules.validation.days_per_month + 0.5), 1)


def money(total: float) -> float:
    """A sum of amounts in USD, in whole cents.

    Sums of two-decimal amounts pick up binary noise (19008.86 + 7811.58 is
    26820.440000000002), and the embedded engine rewrites such a value to 15 significant
    digits when a later MERGE updates another column of its row: a stored amount would change
    with how the documents were batched. Whole cents are what the business counts anyway."""
    return round(total, 2)


def company_name(value: Any) -> str | None:
    trimmed = text(value)
    return " ".join(trimmed.split()) if trimmed else None


def whole_number(value: Any) -> int | None:
    """A whole number written as one: 2 or "2" (as the rules read it, "2.0" is not a stage)."""
    if isinstance(value, bool | float):
        return None
    trimmed = text(value)
    return int(trimmed) if trimmed is not None and re.fullmatch(r"[+-]?\d{1,18}", trimmed) else None


def read_fields(source: Mapping[str, Any], readers: Mapping[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """Each named field of ``source`` through its reader."""
    return {name: read(source.get(name)) for name, read in readers.items()}


# The fields a scoping request and a deal share, read alike.
DEAL_DESCRIPTION = {
    "sales_channel": enum,
    "deal_type": enum,
    "deal_structure": enum,
    "region": enum,
    "growth_opportunity_miq": text,
    "growth_opportunity_client": text,
    "client_asks": text,
    "growth_ambition": number,
}
