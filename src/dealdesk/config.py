"""Business constants of the Deal Desk, typed and in one place.

Every number here is a default from the business rules. A deployment target
can override any of them with a JSON file (``DEALDESK_RULES_FILE`` or
``--rules``), e.g. ``{"ladder": {"manager": 60000}, "sla_hours": {"high": 36}}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dealdesk.errors import ConfigurationError

# Enumerations (the CHECK constraints in ddl/ hold the same lists).
ROLES = ("seller", "department_reviewer", "approver", "admin")
DEPARTMENTS = ("trading", "finance", "creative", "marketing", "product", "solutions", "legal")
APPROVAL_LEVELS = ("manager", "director", "vp", "svp")  # lowest to highest
DEAL_TYPES = ("grow", "protect", "custom")
SALES_CHANNELS = ("holding_company", "independent_agency", "client_direct")
AGENCY_CHANNELS = ("holding_company", "independent_agency")
DEAL_STRUCTURES = ("tiered", "flat_commit")
REGIONS = ("northeast", "midwest", "midatlantic", "west", "south")
DEAL_PRIORITIES = ("critical", "high", "medium", "low")
APPROVAL_PRIORITIES = ("normal", "high", "urgent")  # lowest to highest
INCENTIVE_CATEGORIES = (
    "financial",
    "resources",
    "product-innovation",
    "technology",
    "analytics",
    "marketing",
)
INCENTIVE_CATEGORY_ALIASES = {"marketing-ld": "marketing"}
AGENCY_TYPES = ("holding_company", "independent")
DEAL_STATUSES = (
    "draft",
    "scoping",
    "converted",
    "submitted",
    "under_review",
    "revision_requested",
    "negotiating",
    "approved",
    "contract_drafting",
    "client_review",
    "signed",
    "lost",
)
FINAL_STATUSES = ("signed", "lost")
APPROVAL_ACTIONS = ("approve", "reject", "request_revision", "comment", "assign")
# Who may name a delegate while away (business rules, section 4b): the people approvals go to.
DELEGATING_ROLES = ("department_reviewer", "approver", "admin")
DOCUMENT_KINDS = (
    "user",
    "delegation",
    "advertiser",
    "agency",
    "scoping_request",
    "deal_submission",
    "approval_action",
    "status_change",
)

# Documents are a few levels deep; the engine's JSON reader misreads lines nested past ~128
# levels, so deeper lines are rejected at landing with the true reason (and their event_id kept).
NESTING_LIMIT = 64

# A deal's reference: DEAL-<year>-<number>, the number at least three digits (DEAL-2025-001).
REFERENCE_PATTERN = r"^DEAL-(\d{4})-(\d{3,})$"


def reference_prefix(year: int) -> str:
    """What every reference of a year starts with."""
    return f"DEAL-{year}-"


def reference_for(year: int, number: int) -> str:
    """The reference of a year's ``number``-th deal."""
    return f"{reference_prefix(year)}{number:03d}"


# What the desk can represent, whatever the rules file says (contract: "Limits"). Business
# times and dates outside these years, or amounts past these bounds, are rejected at intake:
# the arithmetic of due dates, expiries and sums stays far from any overflow.
EARLIEST_BUSINESS_YEAR = 2000
LATEST_BUSINESS_YEAR = 2099
MAX_AMOUNT = 1_000_000_000_000.0  # USD, and any other figure: at most a trillion either way
MAX_CONTRACT_TERM_MONTHS = 1200

# Allowed status transitions (business rules, section 5).
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("scoping", "submitted"),
    "scoping": ("submitted",),
    "submitted": ("under_review", "lost"),
    "under_review": ("revision_requested", "negotiating", "approved", "lost"),
    "revision_requested": ("under_review", "lost"),
    "negotiating": ("revision_requested", "approved", "lost"),
    "approved": ("contract_drafting", "lost"),
    "contract_drafting": ("client_review", "lost"),
    "client_review": ("signed", "negotiating", "lost"),
    "signed": (),
    "lost": (),
    "converted": (),
}


def _default_ladder() -> dict[str, float]:
    """Inclusive lower bounds of deal value (USD) for each business approval level."""
    return {"manager": 50_000.0, "director": 100_000.0, "vp": 500_000.0, "svp": 1_000_000.0}


def _default_sla_hours() -> dict[str, int]:
    """Hours from routing to an approval's due date, by deal priority."""
    return {"critical": 24, "high": 48, "medium": 72, "low": 72}


def _default_status_age_days() -> dict[str, int]:
    """Days in a status after which monitoring flags a deal as needing attention."""
    return {
        "submitted": 2,
        "scoping": 3,
        "under_review": 3,
        "negotiating": 4,
        "approved": 2,
        "contract_drafting": 3,
        "client_review": 4,
    }


def _check_keyed(
    setting: str, values: dict[str, Any], known: tuple[str, ...], number: type | tuple[type, ...] = int
) -> None:
    """A setting keyed by an enumeration: known keys only, each a number above 0 (whole by default)."""
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigurationError(
            f"rules override: {setting} names unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, number) or value <= 0:
            kind = "a whole number" if number is int else "a number"
            raise ConfigurationError(
                f"rules override: '{setting}.{key}' must be {kind} above 0, got {value!r}"
            )


@dataclass(frozen=True)
class ValidationLimits:
    """What the content checks and the core accept (business rules, sections 2 and 7)."""

    deal_name_max_chars: int = 500
    free_text_max_chars: int = 10_000
    """Longest free text: descriptions, comments, notes, reasons."""
    min_growth_ambition: float = 1_000_000.0
    """The least growth ambition a deal or a scoping request may give."""
    max_tiers: int = 5
    days_per_month: float = 30.44
    """A contract's term in months is its days over this, rounded."""
    default_contract_term_months: int = 12
    """The term when a deal gives no dates and no valid term."""
    draft_lifetime_days: int = 30
    """A draft never submitted is lost this many days after it was saved."""


@dataclass(frozen=True)
class MonitoringRules:
    """When monitoring escalates an approval or flags a deal as needing attention (section 8)."""

    status_age_days: dict[str, int] = field(default_factory=_default_status_age_days)
    """Days in a status after which a deal needs attention, by status (a status not named: never)."""
    overdue_escalation_hours: int = 24
    """A pending approval this long past its due date has its priority raised."""
    revision_count_attention: int = 2
    """A deal revised this many times needs attention."""
    urgent_priority_attention_days: int = 1
    """A deal of an urgent priority this many days in its status needs attention."""
    negotiating_attention_days: int = 7

    def __post_init__(self) -> None:
        _check_keyed("monitoring.status_age_days", self.status_age_days, DEAL_STATUSES)


def _default_category_departments() -> dict[str, str]:
    return {
        "financial": "finance",
        "resources": "finance",
        "product-innovation": "creative",
        "technology": "product",
        "analytics": "solutions",
        "marketing": "marketing",
    }


# What a department may judge of a deal (business rules, section 6): each name is a part of the
# submission whose change asks that department again after a revision (core/reapproval.py).
JUDGED_PARTS = (
    "deal_value",  # the sum of the tiers' annual revenue
    "tiers",  # each tier's annual revenue and gross margin
    "incentive_values",  # every incentive line's category and value
    "own_incentives",  # every field of the incentive lines of the categories the department reviews
    "client",  # sales channel, advertiser, agency, region
    "terms",  # deal type and structure, contract dates and term, business summary, client asks
    "previous_year",  # last year's revenue and margin with the client
    "description",  # deal name, growth opportunities and ambition
)


def _default_judged() -> dict[str, tuple[str, ...]]:
    return {
        "trading": ("deal_value", "tiers", "client", "terms"),
        "finance": ("deal_value", "tiers", "incentive_values", "previous_year"),
        "legal": ("terms",),
    }


@dataclass(frozen=True)
class ReapprovalRules:
    """Smart re-approval on resubmission (business rules, section 6). A department review approved
    in the previous round is carried over when nothing its department judges changed; the business
    approval when the approval level is the same and the deal value rose by at most
    ``max_value_rise_share`` (0.0: not at all)."""

    carry_over_reviews: bool = True
    carry_over_business_approval: bool = True
    max_value_rise_share: float = 0.0
    # department -> the parts it judges; a department not named judges ``other_departments``
    judged: dict[str, tuple[str, ...]] = field(default_factory=_default_judged)
    other_departments: tuple[str, ...] = ("own_incentives",)

    def __post_init__(self) -> None:
        named = {f"judged.{d}": parts for d, parts in self.judged.items()}
        for setting, parts in {**named, "other_departments": self.other_departments}.items():
            unknown = sorted(set(parts) - set(JUDGED_PARTS))
            if unknown:
                raise ConfigurationError(
                    f"rules override: reapproval.{setting} names unknown part(s) "
                    f"{', '.join(unknown)}; known: {', '.join(JUDGED_PARTS)}"
                )
        if not 0.0 <= self.max_value_rise_share <= 10.0:
            raise ConfigurationError(
                f"rules override: reapproval.max_value_rise_share must be between 0 and 10, "
                f"got {self.max_value_rise_share}"
            )

    def parts_judged_by(self, department: str) -> tuple[str, ...]:
        """The parts ``department`` judges, in the order of JUDGED_PARTS."""
        named = set(self.judged.get(department, self.other_departments))
        return tuple(part for part in JUDGED_PARTS if part in named)


@dataclass(frozen=True)
class BusinessRules:
    ladder: dict[str, float] = field(default_factory=_default_ladder)  # lower bounds by approval level
    sla_hours: dict[str, int] = field(default_factory=_default_sla_hours)  # by deal priority
    validation: ValidationLimits = field(default_factory=ValidationLimits)
    monitoring: MonitoringRules = field(default_factory=MonitoringRules)
    reapproval: ReapprovalRules = field(default_factory=ReapprovalRules)
    always_reviewing_departments: tuple[str, ...] = ("trading", "finance")
    custom_deal_department: str = "legal"
    business_approval_department: str = "trading"
    # Seed for approval_departments.incentive_types; the table is the live map.
    category_departments: dict[str, str] = field(default_factory=_default_category_departments)

    def __post_init__(self) -> None:
        _check_keyed("sla_hours", self.sla_hours, DEAL_PRIORITIES)
        _check_keyed("ladder", self.ladder, APPROVAL_LEVELS, number=(int, float))
        bounds = [self.ladder[level] for level in APPROVAL_LEVELS if level in self.ladder]
        if len(bounds) != len(APPROVAL_LEVELS) or bounds != sorted(set(bounds)):
            raise ConfigurationError(
                f"rules override: ladder must give every level a bound, rising from manager to svp, got {self.ladder}"
            )

    def level_for(self, deal_value: float) -> str | None:
        """The business approval level of a deal value: the highest whose bound it reaches (None:
        below the ladder)."""
        return next((level for level in reversed(APPROVAL_LEVELS) if deal_value >= self.ladder[level]), None)


def _apply_overrides(obj: Any, overrides: dict[str, Any], path: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise ConfigurationError(f"rules override: unknown setting '{path}{key}'")
        current = getattr(obj, key)
        nested = isinstance(current, dict) or hasattr(current, "__dataclass_fields__")
        if nested and not isinstance(value, dict):
            raise ConfigurationError(f"rules override: '{path}{key}' must be an object")
        if hasattr(current, "__dataclass_fields__"):
            changes[key] = _apply_overrides(current, value, f"{path}{key}.")
        elif isinstance(current, dict):
            changes[key] = {**current, **value}
        elif isinstance(current, tuple):
            changes[key] = tuple(value)
        elif isinstance(current, int | float) and not isinstance(value, int | float):
            raise ConfigurationError(f"rules override: '{path}{key}' must be a number, got {value!r}")
        else:
            changes[key] = type(current)(value)
    return replace(obj, **changes)


def load_rules(path: str | Path | None = None) -> BusinessRules:
    """The defaults, with the overrides of a JSON file when one is given or set in DEALDESK_RULES_FILE."""
    path = path or os.environ.get("DEALDESK_RULES_FILE")
    rules = BusinessRules()
    if not path:
        return rules
    try:
        overrides = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read rules file {path}: {exc}") from exc
    return _apply_overrides(rules, overrides, "")


# -- backups, restores and retention -----------------------------------------------------------------
# Audit history the business keeps: 7 years with leap days. The append-only tables carry it as
# delta.logRetentionDuration and delta.deletedFileRetentionDuration (ddl/), which VACUUM honours.
AUDIT_RETENTION_DAYS = 2557
# Restore points `dealdesk backup` keeps (the backup job runs daily: a week of them).
BACKUP_KEEP = 7
# The backup copies live in the schema named like the lakehouse's with this suffix.
BACKUP_SCHEMA_SUFFIX = "_backup"
# Tables backup and restore leave alone: the DDL ledger follows the DDL files, the other two are
# recovery's own records (a restore must never rewrite the record of restores).
NOT_RECOVERED = ("schema_migrations", "backups", "restores")
# The processing runs' lease (run_lock.name). A restore hands it to itself and gives it back, so
# that the next run does not take the lakehouse as a settled one (pipeline.journal.acquire).
PIPELINE_LEASE = "pipeline"
