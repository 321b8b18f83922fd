"""Routing: which approvals a deal needs, who gets them, and when they are due (business rules, section 3).

Pure transformations (DataFrame -> DataFrame, rules -> Column); the routing job in ``jobs``
reads the tables, calls these and writes the result.

Assignment inside a batch is deterministic and balanced. The approvals of a batch are
ordered by (routed time, deal reference, department); each goes, in that order, to the
eligible person with the fewest open approvals at that moment (ties: lowest id), counting
the approvals handed out earlier in the same batch. That sequential rule is computed in
one set operation: every candidate offers the "slots" open, open + 1, open + 2, ...; the
n-th approval of a pool takes the n-th smallest (load, id) slot of its pool, which is
exactly the person the one-by-one rule would pick.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.config import APPROVAL_LEVELS, DEAL_PRIORITIES, ApprovalLadder, BusinessRules, SlaHours
from dealdesk.frames import union_all
from dealdesk.workflow.state_machine import IN_REVIEW_STATUSES, ROUTABLE_STATUSES

STAGE_DEPARTMENT_REVIEW = 1
STAGE_BUSINESS_APPROVAL = 2
DEPARTMENT_REVIEWER = "department_reviewer"
APPROVER = "approver"
# Approval priority from the deal priority; anything else is normal.
APPROVAL_PRIORITY_FOR_DEAL = {"critical": "urgent", "high": "high"}
DEFAULT_APPROVAL_PRIORITY = "normal"
# The submission event already wrote change 1 (the deal's creation or promotion); routing is change 2.
ROUTING_CHANGE_ORDER = 2
UNASSIGNED_NOTE = "nobody eligible is active: left unassigned"
# Order in which the approvals of one batch are handed out.
ASSIGNMENT_ORDER = ("created_at", "reference_number", "department")

APPROVAL_COLUMNS = (
    "id",
    "deal_id",
    "approval_round",
    "approval_stage",
    "department",
    "required_role",
    "approval_level",
    "status",
    "priority",
    "assigned_to",
    "due_date",
    "comments",
    "revision_reason",
    "reviewer_notes",
    "completed_at",
    "created_at",
    "updated_at",
)
ACTION_COLUMNS = (
    "id",
    "approval_id",
    "action_type",
    "performed_by",
    "assigned_to",
    "comments",
    "source_event_id",
    "created_at",
)


# -- rules as Columns ----------------------------------------------------------------------


def ladder_level(deal_value: Column, ladder: ApprovalLadder) -> Column:
    """The business approval level a deal value needs (inclusive lower bounds); null below the ladder."""
    level = F.lit(None).cast("string")
    for name, bound in ladder.thresholds()[::-1]:  # lowest first, so the highest match wins
        level = F.when(deal_value >= F.lit(bound), F.lit(name)).otherwise(level)
    return level


def level_rank(level: Column) -> Column:
    """0 for manager up to 3 for svp; null for no level."""
    rank = F.lit(None).cast("int")
    for position, name in enumerate(APPROVAL_LEVELS):
        rank = F.when(level == F.lit(name), F.lit(position)).otherwise(rank)
    return rank


def approval_priority(deal_priority: Column) -> Column:
    priority = F.lit(DEFAULT_APPROVAL_PRIORITY)
    for deal_level, approval_level in APPROVAL_PRIORITY_FOR_DEAL.items():
        priority = F.when(deal_priority == F.lit(deal_level), F.lit(approval_level)).otherwise(priority)
    return priority


def sla_hours(deal_priority: Column, sla: SlaHours) -> Column:
    hours = F.lit(sla.medium)
    for name in DEAL_PRIORITIES:
        hours = F.when(deal_priority == F.lit(name), F.lit(getattr(sla, name))).otherwise(hours)
    return hours


def add_hours(timestamp: Column, hours: Column) -> Column:
    return timestamp + F.make_interval(F.lit(0), F.lit(0), F.lit(0), F.lit(0), hours, F.lit(0), F.lit(0))


def due_date(routed_at: Column, deal_priority: Column, sla: SlaHours) -> Column:
    return add_hours(routed_at, sla_hours(deal_priority, sla))


# -- which deals, which departments ---------------------------------------------------------


def deals_to_route(deals: DataFrame, approvals: DataFrame, history: DataFrame | None = None) -> DataFrame:
    """Deals that need a round routed: submitted ones, and resubmitted ones with no approvals yet.

    A revision_requested deal whose current round has approvals is waiting for its seller;
    after a resubmission its revision_count (the round) moved on and the new round is empty.
    With ``history``: also a deal whose latest history row already says under_review (a
    routing run cut short after its first writes), so the rest of its routing is done.
    """
    routed_rounds = approvals.select(
        F.col("deal_id").alias("_routed_deal"), F.col("approval_round").alias("_routed_round")
    ).distinct()
    candidates = deals.filter(F.col("status").isin(*ROUTABLE_STATUSES))
    joined = candidates.join(
        routed_rounds,
        (F.col("id") == F.col("_routed_deal")) & (F.col("revision_count") == F.col("_routed_round")),
        "left",
    )
    routed_at = F.when(F.col("revision_count") > 0, F.col("last_revised_at")).otherwise(F.col("submitted_at"))
    ready = (F.col("status") == "submitted") | F.col("_routed_deal").isNull()
    if history is not None:
        latest = Window.partitionBy("deal_id").orderBy(F.col("seq").desc())
        half_routed = (
            history.withColumn("_n", F.row_number().over(latest))
            .filter((F.col("_n") == 1) & (F.col("status") == "under_review"))
            .select(F.col("deal_id").alias("_half_routed"))
        )
        joined = joined.join(half_routed, F.col("id") == F.col("_half_routed"), "left")
        ready = ready | F.col("_half_routed").isNotNull()
    return joined.filter(ready).select(
        F.col("id").alias("deal_id"),
        F.col("reference_number"),
        F.col("revision_count").alias("approval_round"),
        F.coalesce(routed_at, F.col("last_status_change"), F.col("created_at")).alias("routed_at"),
        F.col("source_event_id"),
        F.col("status"),
        F.col("updated_at"),
        F.col("priority"),
        F.col("deal_type"),
        F.col("deal_value"),
    )


def department_categories(departments: DataFrame) -> DataFrame:
    """(department, category) pairs of the active departments: the live category map."""
    return departments.filter(F.col("is_active")).select(
        F.col("department"),
        F.explode(F.from_json(F.col("incentive_types"), "array<string>")).alias("category"),
    )


def stage1_departments(
    to_route: DataFrame, incentives: DataFrame, departments: DataFrame, rules: BusinessRules
) -> DataFrame:
    """(deal_id, department): the always-reviewing departments, those of the deal's incentive
    categories, and legal for custom deals; inactive departments are left out."""
    always = to_route.select(
        F.col("deal_id"),
        F.explode(F.array(*[F.lit(d) for d in rules.always_reviewing_departments])).alias("department"),
    )
    custom = to_route.filter(F.col("deal_type") == "custom").select(
        F.col("deal_id"), F.lit(rules.custom_deal_department).alias("department")
    )
    categories = (
        incentives.join(to_route.select("deal_id"), "deal_id", "left_semi")
        .select(F.col("deal_id"), F.col("category_id").alias("category"))
        .distinct()
        .join(department_categories(departments), "category")
        .select("deal_id", "department")
    )
    active = departments.filter(F.col("is_active")).select("department")
    return (
        always.unionByName(custom).unionByName(categories).distinct().join(active, "department", "left_semi")
    )


def stage1_requests(
    to_route: DataFrame, incentives: DataFrame, departments: DataFrame, rules: BusinessRules
) -> DataFrame:
    """One request per stage-1 approval to create, with what routing needs to build the row."""
    return (
        stage1_departments(to_route, incentives, departments, rules)
        .join(to_route, "deal_id")
        .select(
            F.col("deal_id"),
            F.col("reference_number"),
            F.col("approval_round"),
            F.lit(STAGE_DEPARTMENT_REVIEW).alias("approval_stage"),
            F.col("department"),
            F.lit(DEPARTMENT_REVIEWER).alias("required_role"),
            F.lit(None).cast("string").alias("approval_level"),
            F.col("routed_at").alias("created_at"),
            F.col("priority"),
            F.col("source_event_id"),
        )
    )


def stage2_requests(completed: DataFrame, rules: BusinessRules) -> DataFrame:
    """The business approval for deals whose stage 1 just completed and whose value reaches the ladder.

    ``completed`` has deal_id, reference_number, approval_round, deal_value, priority,
    completed_at (business time of the completing decision) and source_event_id.
    """
    return (
        completed.withColumn("approval_level", ladder_level(F.col("deal_value"), rules.ladder))
        .filter(F.col("approval_level").isNotNull())
        .select(
            F.col("deal_id"),
            F.col("reference_number"),
            F.col("approval_round"),
            F.lit(STAGE_BUSINESS_APPROVAL).alias("approval_stage"),
            F.lit(rules.business_approval_department).alias("department"),
            F.lit(APPROVER).alias("required_role"),
            F.col("approval_level"),
            F.col("completed_at").alias("created_at"),
            F.col("priority"),
            F.col("source_event_id"),
        )
    )


# -- who gets them --------------------------------------------------------------------------


def open_approvals(approvals: DataFrame, deals: DataFrame) -> DataFrame:
    """Approvals still waiting for a decision: pending, in the deal's current round, deal in review.

    Pending rows of an earlier round, or of a deal that left review (revision requested,
    lost), can no longer be decided and are not open.
    """
    live = deals.filter(F.col("status").isin(*IN_REVIEW_STATUSES)).select(
        F.col("id").alias("_deal"), F.col("revision_count").alias("_round")
    )
    return (
        approvals.filter(F.col("status") == "pending")
        .join(live, (F.col("deal_id") == F.col("_deal")) & (F.col("approval_round") == F.col("_round")))
        .drop("_deal", "_round")
    )


def open_counts(approvals: DataFrame, deals: DataFrame) -> DataFrame:
    """(user_id, open_count): each assignee's open approvals."""
    return (
        open_approvals(approvals, deals)
        .filter(F.col("assigned_to").isNotNull())
        .groupBy(F.col("assigned_to").alias("user_id"))
        .agg(F.count(F.lit(1)).alias("open_count"))
    )


def add_counts(*counts: DataFrame) -> DataFrame:
    """(user_id, open_count) summed over several counts of disjoint approvals."""
    return union_all(counts).groupBy("user_id").agg(F.sum("open_count").cast("bigint").alias("open_count"))


def spread(items: DataFrame, candidates: DataFrame) -> DataFrame:
    """Give each item of a pool to a candidate of that pool, balancing open approvals.

    ``items`` has a ``pool`` column and the ASSIGNMENT_ORDER columns; ``candidates`` has
    pool, user_id, open_count. Adds ``assigned_to`` (null when the pool has no candidate).
    """
    item_order = Window.partitionBy("pool").orderBy(*ASSIGNMENT_ORDER)
    ranked = items.withColumn("_slot", F.row_number().over(item_order))
    demand = ranked.groupBy("pool").agg(F.count(F.lit(1)).alias("_demand"))
    slot_order = Window.partitionBy("pool").orderBy("_load", "user_id")
    slots = (
        candidates.join(demand, "pool")
        .withColumn("_extra", F.explode(F.sequence(F.lit(0), F.col("_demand") - 1)))
        .withColumn("_load", F.col("open_count") + F.col("_extra"))
        .withColumn("_slot", F.row_number().over(slot_order))
        .filter(F.col("_slot") <= F.col("_demand"))
        .select("pool", "_slot", F.col("user_id").alias("assigned_to"))
    )
    return ranked.join(slots, ["pool", "_slot"], "left").drop("_slot")


def _with_open_counts(candidates: DataFrame, counts: DataFrame) -> DataFrame:
    return candidates.join(counts, "user_id", "left").withColumn(
        "open_count", F.coalesce(F.col("open_count"), F.lit(0))
    )


def assign_stage1(
    requests: DataFrame, departments: DataFrame, users: DataFrame, counts: DataFrame
) -> DataFrame:
    """The department's default assignee when active; else its active reviewer with the fewest
    open approvals (ties: lowest id)."""
    active = users.filter(F.col("is_active"))
    defaults = departments.join(
        active.select(F.col("email").alias("default_assignee_email"), F.col("id").alias("_default_user")),
        "default_assignee_email",
    ).select("department", "_default_user")
    with_default = requests.join(defaults, "department", "left")
    direct = with_default.filter(F.col("_default_user").isNotNull()).withColumn(
        "assigned_to", F.col("_default_user")
    )
    candidates = _with_open_counts(
        active.filter((F.col("role") == DEPARTMENT_REVIEWER) & F.col("department").isNotNull()).select(
            F.col("department").alias("pool"), F.col("id").alias("user_id")
        ),
        counts,
    )
    pooled = spread(
        with_default.filter(F.col("_default_user").isNull()).withColumn("pool", F.col("department")),
        candidates,
    ).drop("pool")
    return direct.unionByName(pooled).drop("_default_user")


def stage2_pool_levels(approvers: DataFrame) -> DataFrame:
    """(required_rank, pool): for each required level, the lowest level at or above it that has an
    active approver."""
    available = approvers.select(F.col("pool")).distinct()
    required = approvers.sparkSession.range(len(APPROVAL_LEVELS)).select(
        F.col("id").cast("int").alias("required_rank")
    )
    return (
        required.join(available, F.col("pool") >= F.col("required_rank"))
        .groupBy("required_rank")
        .agg(F.min("pool").alias("pool"))
    )


def assign_stage2(requests: DataFrame, users: DataFrame, counts: DataFrame) -> DataFrame:
    """Among active approvers of a sufficient level: the lowest sufficient level, then the fewest
    open approvals, then the lowest id."""
    approvers = users.filter(
        F.col("is_active") & (F.col("role") == APPROVER) & F.col("approval_level").isNotNull()
    ).select(level_rank(F.col("approval_level")).alias("pool"), F.col("id").alias("user_id"))
    pools = stage2_pool_levels(approvers)
    with_pool = requests.withColumn("required_rank", level_rank(F.col("approval_level"))).join(
        pools, "required_rank", "left"
    )
    return spread(with_pool, _with_open_counts(approvers, counts)).drop("pool", "required_rank")


# -- rows to write ----------------------------------------------------------------------------


def approval_rows(assigned: DataFrame, sla: SlaHours) -> DataFrame:
    """deal_approvals rows (pending) for assigned requests."""
    return assigned.select(
        keys.approval_id(
            F.col("deal_id"), F.col("approval_round"), F.col("approval_stage"), F.col("department")
        ).alias("id"),
        F.col("deal_id").cast("bigint"),
        F.col("approval_round").cast("int"),
        F.col("approval_stage").cast("int"),
        F.col("department").cast("string"),
        F.col("required_role").cast("string"),
        F.col("approval_level").cast("string"),
        F.lit("pending").alias("status"),
        approval_priority(F.col("priority")).alias("priority"),
        F.col("assigned_to").cast("bigint"),
        due_date(F.col("created_at"), F.col("priority"), sla).alias("due_date"),
        F.lit(None).cast("string").alias("comments"),
        F.lit(None).cast("string").alias("revision_reason"),
        F.lit(None).cast("string").alias("reviewer_notes"),
        F.lit(None).cast("timestamp").alias("completed_at"),
        F.col("created_at").cast("timestamp"),
        F.col("created_at").cast("timestamp").alias("updated_at"),
        F.col("source_event_id"),
    )


def initiation_actions(new_rows: DataFrame) -> DataFrame:
    """An initiate action per new approval, and an assign action when it has an assignee.

    ``new_rows`` are approval rows with their ``source_event_id``. The system performs both.
    """
    initiate = new_rows.select(
        F.col("id").alias("approval_id"),
        F.lit("initiate").alias("action_type"),
        F.lit(None).cast("bigint").alias("assigned_to"),
        F.when(F.col("assigned_to").isNull(), F.lit(UNASSIGNED_NOTE)).alias("comments"),
        F.col("source_event_id"),
        F.col("created_at"),
    )
    assign = new_rows.filter(F.col("assigned_to").isNotNull()).select(
        F.col("id").alias("approval_id"),
        F.lit("assign").alias("action_type"),
        F.col("assigned_to"),
        F.lit(None).cast("string").alias("comments"),
        F.col("source_event_id"),
        F.col("created_at"),
    )
    return action_rows(initiate.unionByName(assign).withColumn("performed_by", F.lit(None).cast("bigint")))


def action_rows(actions: DataFrame) -> DataFrame:
    """approval_actions rows with their deterministic ids (causing event, approval, action type)."""
    return actions.select(
        keys.approval_action_id(F.col("source_event_id"), F.col("approval_id"), F.col("action_type")).alias(
            "id"
        ),
        F.col("approval_id").cast("bigint"),
        F.col("action_type").cast("string"),
        F.col("performed_by").cast("bigint"),
        F.col("assigned_to").cast("bigint"),
        F.col("comments").cast("string"),
        F.col("source_event_id").cast("string"),
        F.col("created_at").cast("timestamp"),
    )


def routing_changes(to_route: DataFrame) -> DataFrame:
    """The status change of each routed deal, for the status-history writer."""
    return to_route.select(
        F.col("deal_id"),
        F.lit("under_review").alias("status"),
        F.col("status").alias("previous_status"),
        F.lit(None).cast("bigint").alias("performed_by"),
        F.concat(F.lit("routed for approval, round "), F.col("approval_round").cast("string")).alias(
            "comments"
        ),
        F.col("source_event_id"),
        F.col("routed_at").alias("changed_at"),
        F.lit(ROUTING_CHANGE_ORDER).alias("change_order"),
    )
