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


@dataclass(frozen=True)
class ApprovalLadder:
    """Inclusive lower bounds of deal value (USD) for each business approval level."""

    manager: float = 50_000.0
    director: float = 100_000.0
    vp: float = 500_000.0
    svp: float = 1_000_000.0

    def thresholds(self) -> list[tuple[str, float]]:
        """(level, lower bound) from the highest level down."""
        return [(level, getattr(self, level)) for level in reversed(APPROVAL_LEVELS)]

    def level_for(self, deal_value: float) -> str | None:
        for level, bound in self.thresholds():
            if deal_value >= bound:
                return level
        return None


@dataclass(frozen=True)
class SlaHours:
    """Hours from routing to an approval's due date, by deal priority."""

    critical: int = 24
    high: int = 48
    medium: int = 72
    low: int = 72


@dataclass(frozen=True)
class StatusAgeLimits:
    """Days in a status after which monitoring flags a deal as needing attention."""

    submitted: int = 2
    scoping: int = 3
    under_review: int = 3
    negotiating: int = 4
    approved: int = 2
    contract_drafting: int = 3
    client_review: int = 4


@dataclass(frozen=True)
class ValidationLimits:
    deal_name_max_chars: int = 500
    free_text_max_chars: int = 10_000
    min_growth_ambition: float = 1_000_000.0
    max_tiers: int = 5
    days_per_month: float = 30.44
    default_contract_term_months: int = 12
    draft_lifetime_days: int = 30


@dataclass(frozen=True)
class MonitoringRules:
    overdue_escalation_hours: int = 24
    revision_count_attention: int = 2
    urgent_priority_attention_days: int = 1
    negotiating_attention_days: int = 7
    status_age_days: StatusAgeLimits = field(default_factory=StatusAgeLimits)


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
    ladder: ApprovalLadder = field(default_factory=ApprovalLadder)
    sla_hours: SlaHours = field(default_factory=SlaHours)
    validation: ValidationLimits = field(default_factory=ValidationLimits)
    monitoring: MonitoringRules = field(default_factory=MonitoringRules)
    reapproval: ReapprovalRules = field(default_factory=ReapprovalRules)
    always_reviewing_departments: tuple[str, ...] = ("trading", "finance")
    custom_deal_department: str = "legal"
    business_approval_department: str = "trading"
    # Seed for approval_departments.incentive_types; the table is the live map.
    category_departments: dict[str, str] = field(default_factory=_default_category_departments)


def _apply_overrides(obj: Any, overrides: dict[str, Any], path: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise ConfigurationError(f"rules override: unknown setting '{path}{key}'")
        current = getattr(obj, key)
        if hasattr(current, "__dataclass_fields__"):
            if not isinstance(value, dict):
                raise ConfigurationError(f"rules override: '{path}{key}' must be an object")
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
