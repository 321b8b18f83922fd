"""Decisions: approval_action and status_change documents (business rules, sections 4 and 5).

Intake keeps every document in raw_documents and checks only its envelope; this module
parses the two workflow kinds, applies the rules and writes the effects. Refused
documents go to rejected_documents with every reason; the processed_events ledger
records what was decided so a re-run or a replay writes nothing twice.

Events of one deal depend on each other (an assignment then the assignee's approval, the
last stage-1 approval then the business approval, approved then contract_drafting), so
a batch is applied in waves: wave k holds the k-th event of every deal, in occurred_at
order. Each wave is one set-based step over all deals; the number of waves is the
largest number of events one deal has in the batch, not the number of events.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from dealdesk import rejects
from dealdesk.config import APPROVAL_ACTIONS, DEAL_STATUSES, DEPARTMENTS, WORKFLOW_KINDS, BusinessRules
from dealdesk.frames import (
    ROW_VERSION,
    insert_rows,
    materialize,
    overlay,
    read_columns,
    read_version,
    union_all,
    update_rows,
    upsert_rows,
)
from dealdesk.lakehouse import Lakehouse
from dealdesk.ledger import LEDGER, record_outcomes
from dealdesk.rules import failure, gather
from dealdesk.runs import JobRun
from dealdesk.status_history import write_status_changes
from dealdesk.workflow import routing
from dealdesk.workflow.state_machine import (
    IN_REVIEW_STATUSES,
    ROUTING_ONLY_STATUSES,
    role_may_change_from_col,
    transition_allowed_col,
)

log = logging.getLogger(__name__)

APPROVAL_ACTION = "approval_action"
STATUS_CHANGE = "status_change"
DECISION_KINDS = WORKFLOW_KINDS
APPLIED, REJECTED = "applied", "rejected"
CLOSING_ACTIONS = {"approve": "approved", "request_revision": "revision_requested", "reject": "rejected"}
COMMENT_REQUIRED = ("request_revision", "reject")
DEAL_UPDATE_COLUMNS = ("id", "status", "last_status_change", "revision_reason", "updated_at")
# What deciding reads of a deal, and writes back: the batch's copy carries only these.
DEAL_STATE_COLUMNS = (*DEAL_UPDATE_COLUMNS, "reference_number", "revision_count", "deal_value", "priority")
DOCUMENT_COLUMNS = ("event_id", "kind", "source_file", "line_number", "occurred_at", "payload")
# One landed copy of a document, without its payload.
RAW_DOCUMENT_KEY = ("event_id", "source_file", "line_number", "received_at")

# Payload fields are read as text and cast afterwards, so a wrong type is a reason, not a crash.
ACTION_FIELDS = (
    "reference_number STRING, approval_stage STRING, department STRING, action STRING, "
    "performed_by STRING, comments STRING, assign_to STRING"
)
STATUS_FIELDS = "reference_number STRING, new_status STRING, performed_by STRING, comments STRING"


@dataclass
class DecisionOutcome:
    """Event ids by outcome; ``already_applied`` were decided before and left alone."""

    applied: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    rows_written: Counter[str] = field(default_factory=Counter)


# -- parsing -------------------------------------------------------------------------------


def _text(column: Column) -> Column:
    """Trimmed text, null when empty."""
    trimmed = F.trim(column)
    return F.when(F.length(trimmed) > 0, trimmed)


def _key(column: Column) -> Column:
    return F.lower(_text(column))


def with_waves(events: DataFrame) -> DataFrame:
    """Number each deal's events 1, 2, 3 ... in (occurred_at, event_id) order."""
    per_deal = Window.partitionBy(F.coalesce(F.col("reference_number"), F.col("event_id"))).orderBy(
        "occurred_at", "event_id"
    )
    return events.withColumn("wave", F.row_number().over(per_deal))


def _parse(documents: DataFrame, kind: str, fields: str, columns: list[Column]) -> DataFrame:
    """The documents of one kind with the reference number and ``columns`` read from the payload
    (as ``_doc``), numbered in waves."""
    return with_waves(
        documents.filter(F.col("kind") == kind)
        .withColumn("_doc", F.from_json(F.col("payload"), fields))
        .select(
            *DOCUMENT_COLUMNS,
            F.upper(_text(F.col("_doc.reference_number"))).alias("reference_number"),
            *columns,
        )
    )


def parse_actions(documents: DataFrame) -> DataFrame:
    return _parse(
        documents,
        APPROVAL_ACTION,
        ACTION_FIELDS,
        [
            F.expr("try_cast(_doc.approval_stage AS INT)").alias("approval_stage"),
            _text(F.col("_doc.approval_stage")).alias("approval_stage_text"),
            _key(F.col("_doc.department")).alias("department"),
            _key(F.col("_doc.action")).alias("action"),
            _key(F.col("_doc.performed_by")).alias("performed_by"),
            _text(F.col("_doc.comments")).alias("comments"),
            _key(F.col("_doc.assign_to")).alias("assign_to"),
        ],
    )


def parse_status_changes(documents: DataFrame) -> DataFrame:
    return _parse(
        documents,
        STATUS_CHANGE,
        STATUS_FIELDS,
        [
            _key(F.col("_doc.new_status")).alias("new_status"),
            _key(F.col("_doc.performed_by")).alias("performed_by"),
            _text(F.col("_doc.comments")).alias("comments"),
        ],
    )


# -- context ---------------------------------------------------------------------------------


def _deal_context(deals: DataFrame) -> DataFrame:
    return deals.select(
        F.col("reference_number"),
        F.col("id").alias("deal_id"),
        F.col("status").alias("deal_status"),
        F.col("revision_count"),
        F.col("deal_value"),
        F.col("priority").alias("deal_priority"),
        F.col("revision_reason").alias("deal_revision_reason"),
    )


def _person(users: DataFrame, key: str, prefix: str) -> DataFrame:
    return users.select(
        F.col("email").alias(key),
        F.col("id").alias(f"{prefix}_id"),
        F.col("role").alias(f"{prefix}_role"),
        F.col("department").alias(f"{prefix}_department"),
        F.col("approval_level").alias(f"{prefix}_level"),
        F.col("is_active").alias(f"{prefix}_active"),
    )


def may_decide(prefix: str) -> Column:
    """Whether the person ``prefix`` holds what the target approval row requires.

    Stage 1: the row's role in the row's department; stage 2: an approver of a sufficient
    level; an admin always.
    """
    role, department, level = (F.col(f"{prefix}_{part}") for part in ("role", "department", "level"))
    stage1 = (
        (F.col("row_stage") == routing.STAGE_DEPARTMENT_REVIEW)
        & (role == F.col("row_required_role"))
        & (department == F.col("row_department"))
    )
    stage2 = (
        (F.col("row_stage") == routing.STAGE_BUSINESS_APPROVAL)
        & (role == routing.APPROVER)
        & (routing.level_rank(level) >= routing.level_rank(F.col("row_level")))
    )
    return F.coalesce((role == "admin") | stage1 | stage2, F.lit(False))


def _person_checks(prefix: str, field_name: str, applies: Column) -> list[Column]:
    """A person named in the document must be a known, active user."""
    value = F.col(field_name)
    return [
        failure(applies & value.isNull(), field_name, "required", f"{field_name} is required"),
        failure(
            applies & value.isNotNull() & F.col(f"{prefix}_id").isNull(),
            field_name,
            "unknown_user",
            f"{field_name} is not a known user",
            value,
        ),
        failure(
            applies & F.col(f"{prefix}_id").isNotNull() & ~F.col(f"{prefix}_active"),
            field_name,
            "inactive_user",
            f"{field_name} is not an active user",
            value,
        ),
    ]


def _deal_checks() -> list[Column]:
    reference = F.col("reference_number")
    return [
        failure(F.col("occurred_at").isNull(), "occurred_at", "required", "occurred_at is required"),
        failure(reference.isNull(), "reference_number", "required", "reference_number is required"),
        failure(
            reference.isNotNull() & F.col("deal_id").isNull(),
            "reference_number",
            "unknown_deal",
            "no deal has this reference number (yet): replay the document once it exists",
            reference,
        ),
    ]


# -- approval actions --------------------------------------------------------------------------


def evaluate_actions(
    events: DataFrame, deals: DataFrame, approvals: DataFrame, users: DataFrame, rules: BusinessRules
) -> DataFrame:
    """Each approval_action event with its target approval, its reasons and what it causes."""
    current_round = approvals.groupBy("deal_id", "approval_round").agg(
        F.min("created_at").alias("round_started_at"),
        F.sum(F.when(F.col("approval_stage") == routing.STAGE_DEPARTMENT_REVIEW, 1).otherwise(0)).alias(
            "stage1_total"
        ),
        F.sum(
            F.when(
                (F.col("approval_stage") == routing.STAGE_DEPARTMENT_REVIEW)
                & (F.col("status") == "approved"),
                1,
            ).otherwise(0)
        ).alias("stage1_approved"),
    )
    rows = approvals.select(
        F.col("deal_id").alias("row_deal_id"),
        F.col("approval_round").alias("row_round"),
        F.col("approval_stage").alias("row_stage"),
        F.col("department").alias("row_department"),
        F.col("id").alias("approval_id"),
        F.col("status").alias("approval_status"),
        F.col("required_role").alias("row_required_role"),
        F.col("approval_level").alias("row_level"),
        F.col("assigned_to").alias("row_assignee"),
        F.col("comments").alias("row_comments"),
        F.col("revision_reason").alias("row_revision_reason"),
        F.col("completed_at").alias("row_completed_at"),
        F.col("created_at").alias("row_created_at"),
    )
    target_department = F.when(
        F.col("approval_stage") == routing.STAGE_BUSINESS_APPROVAL,
        F.coalesce(F.col("department"), F.lit(rules.business_approval_department)),
    ).otherwise(F.col("department"))
    joined = (
        events.withColumn("target_department", target_department)
        .join(_deal_context(deals), "reference_number", "left")
        .join(_person(users, "performed_by", "performer"), "performed_by", "left")
        .join(_person(users, "assign_to", "assignee"), "assign_to", "left")
        .join(
            current_round.withColumnRenamed("approval_round", "revision_count"),
            ["deal_id", "revision_count"],
            "left",
        )
        .join(
            rows,
            (F.col("row_deal_id") == F.col("deal_id"))
            & (F.col("row_round") == F.col("revision_count"))
            & (F.col("row_stage") == F.col("approval_stage"))
            & (F.col("row_department") == F.col("target_department")),
            "left",
        )
    )
    action, stage = F.col("action"), F.col("approval_stage")
    in_round = F.col("occurred_at") >= F.col("round_started_at")
    found = F.col("approval_id").isNotNull()
    checks = [
        *_deal_checks(),
        failure(
            stage.isNull() | ~stage.isin(routing.STAGE_DEPARTMENT_REVIEW, routing.STAGE_BUSINESS_APPROVAL),
            "approval_stage",
            "invalid",
            "approval_stage must be 1 or 2",
            F.col("approval_stage_text"),
        ),
        failure(
            (stage == routing.STAGE_DEPARTMENT_REVIEW)
            & (F.col("department").isNull() | ~F.col("department").isin(*DEPARTMENTS)),
            "department",
            "invalid",
            F.lit(f"department must be one of {', '.join(DEPARTMENTS)}"),
            F.col("department"),
        ),
        failure(
            action.isNull() | ~action.isin(*APPROVAL_ACTIONS),
            "action",
            "invalid",
            f"action must be one of {', '.join(APPROVAL_ACTIONS)}",
            action,
        ),
        *_person_checks("performer", "performed_by", F.lit(True)),
        failure(
            action.isin(*COMMENT_REQUIRED) & F.col("comments").isNull(),
            "comments",
            "required",
            F.concat(F.lit("a comment is required to "), action),
        ),
        failure(
            F.col("deal_id").isNotNull() & F.col("round_started_at").isNull(),
            "reference_number",
            "not_routed",
            "the deal has no approvals in its current round",
            F.col("reference_number"),
        ),
        failure(
            ~in_round,
            "occurred_at",
            "earlier_round",
            F.concat(
                F.lit("the action happened before round "),
                F.col("revision_count").cast("string"),
                F.lit(" was routed: it belongs to an earlier round"),
            ),
            F.col("occurred_at"),
        ),
        failure(
            in_round
            & stage.isin(routing.STAGE_DEPARTMENT_REVIEW, routing.STAGE_BUSINESS_APPROVAL)
            & F.col("target_department").isin(*DEPARTMENTS)
            & ~found,
            "department",
            "no_such_approval",
            F.concat(
                F.lit("the current round has no stage "),
                stage.cast("string"),
                F.lit(" approval for "),
                F.col("target_department"),
            ),
            F.col("target_department"),
        ),
        failure(
            in_round & found & (F.col("row_created_at") > F.col("occurred_at")),
            "occurred_at",
            "approval_not_open_yet",
            "the approval was created after the action happened",
            F.col("occurred_at"),
        ),
        failure(
            in_round & found & (F.col("approval_status") != "pending"),
            "approval_stage",
            "approval_closed",
            F.concat(F.lit("the approval is closed ("), F.col("approval_status"), F.lit(")")),
            F.col("approval_status"),
        ),
        failure(
            F.col("deal_id").isNotNull() & ~F.col("deal_status").isin(*IN_REVIEW_STATUSES),
            "reference_number",
            "deal_not_in_review",
            F.concat(F.lit("the deal is not under review (status "), F.col("deal_status"), F.lit(")")),
            F.col("deal_status"),
        ),
        failure(
            found
            & F.col("performer_id").isNotNull()
            & ~(
                F.coalesce(F.col("performer_id") == F.col("row_assignee"), F.lit(False))
                | may_decide("performer")
            ),
            "performed_by",
            "not_authorised",
            "the performer is neither the assignee nor holds the role this approval requires",
            F.col("performed_by"),
        ),
        *_person_checks("assignee", "assign_to", action == "assign"),
        failure(
            (action == "assign") & found & F.col("assignee_id").isNotNull() & ~may_decide("assignee"),
            "assign_to",
            "not_eligible",
            "the new assignee does not hold the role this approval requires",
            F.col("assign_to"),
        ),
    ]
    reasons = gather(*checks)
    stage1_complete = (
        (action == "approve")
        & (stage == routing.STAGE_DEPARTMENT_REVIEW)
        & (F.col("stage1_approved") + 1 == F.col("stage1_total"))
    )
    needed_level = routing.ladder_level(F.col("deal_value"), rules.ladder)
    deal_new_status = (
        F.when((action == "approve") & (stage == routing.STAGE_BUSINESS_APPROVAL), F.lit("approved"))
        .when(stage1_complete & needed_level.isNull(), F.lit("approved"))
        .when(action == "request_revision", F.lit("revision_requested"))
        .when(action == "reject", F.lit("lost"))
    )
    return joined.select(
        *events.columns,
        "deal_id",
        "deal_status",
        "revision_count",
        "deal_value",
        "deal_priority",
        "deal_revision_reason",
        "performer_id",
        "assignee_id",
        "approval_id",
        "row_assignee",
        "row_comments",
        "row_revision_reason",
        "row_completed_at",
        reasons.alias("reasons"),
        (stage1_complete & needed_level.isNotNull()).alias("creates_stage2"),
        deal_new_status.alias("deal_new_status"),
    )


def approval_updates(accepted: DataFrame) -> DataFrame:
    """deal_approvals columns changed by accepted closing and assign actions."""
    action = F.col("action")
    closing = action.isin(*CLOSING_ACTIONS)
    new_status = F.lit(None).cast("string")
    for name, status in CLOSING_ACTIONS.items():
        new_status = F.when(action == name, F.lit(status)).otherwise(new_status)
    return accepted.filter(closing | (action == "assign")).select(
        F.col("approval_id").alias("id"),
        F.when(closing, new_status).otherwise(F.lit("pending")).alias("status"),
        F.when(action == "assign", F.col("assignee_id"))
        .otherwise(F.col("row_assignee"))
        .alias("assigned_to"),
        F.when(closing, F.coalesce(F.col("comments"), F.col("row_comments")))
        .otherwise(F.col("row_comments"))
        .alias("comments"),
        F.when(action == "request_revision", F.col("comments"))
        .otherwise(F.col("row_revision_reason"))
        .alias("revision_reason"),
        F.when(closing, F.col("occurred_at")).otherwise(F.col("row_completed_at")).alias("completed_at"),
        F.col("occurred_at").alias("updated_at"),
    )


def decision_actions(accepted: DataFrame) -> DataFrame:
    """One approval_actions row per accepted decision."""
    return routing.action_rows(
        accepted.select(
            F.col("approval_id"),
            F.col("action").alias("action_type"),
            F.col("performer_id").alias("performed_by"),
            F.when(F.col("action") == "assign", F.col("assignee_id")).alias("assigned_to"),
            F.col("comments"),
            F.col("event_id").alias("source_event_id"),
            F.col("occurred_at").alias("created_at"),
        )
    )


def completed_stage1(accepted: DataFrame) -> DataFrame:
    """Deals whose stage 1 the batch completed and that need a business approval."""
    return accepted.filter(F.col("creates_stage2")).select(
        F.col("deal_id"),
        F.col("reference_number"),
        F.col("revision_count").alias("approval_round"),
        F.col("deal_value"),
        F.col("deal_priority").alias("priority"),
        F.col("occurred_at").alias("completed_at"),
        F.col("event_id").alias("source_event_id"),
    )


def deal_changes(accepted: DataFrame) -> DataFrame:
    """Status changes caused by accepted events, for the status-history writer."""
    return accepted.filter(F.col("deal_new_status").isNotNull()).select(
        F.col("deal_id"),
        F.col("deal_new_status").alias("status"),
        F.col("deal_status").alias("previous_status"),
        F.col("performer_id").alias("performed_by"),
        F.col("comments"),
        F.col("event_id").alias("source_event_id"),
        F.col("occurred_at").alias("changed_at"),
        F.lit(1).alias("change_order"),
    )


def deal_updates(accepted: DataFrame) -> DataFrame:
    """deals columns changed by accepted events that moved a deal."""
    revision = F.col("deal_new_status") == "revision_requested"
    return accepted.filter(F.col("deal_new_status").isNotNull()).select(
        F.col("deal_id").alias("id"),
        F.col("deal_new_status").alias("status"),
        F.col("occurred_at").alias("last_status_change"),
        F.when(revision, F.coalesce(F.col("comments"), F.col("deal_revision_reason")))
        .otherwise(F.col("deal_revision_reason"))
        .alias("revision_reason"),
        F.col("occurred_at").alias("updated_at"),
    )


# -- status changes --------------------------------------------------------------------------


def evaluate_status_changes(
    events: DataFrame, deals: DataFrame, approvals: DataFrame, users: DataFrame
) -> DataFrame:
    """Each status_change event with its reasons; accepted ones carry ``deal_new_status``."""
    pending_now = (
        approvals.filter(F.col("status") == "pending")
        .groupBy("deal_id", F.col("approval_round").alias("revision_count"))
        .agg(F.count(F.lit(1)).alias("pending_in_round"))
    )
    joined = (
        events.join(_deal_context(deals), "reference_number", "left")
        .join(_person(users, "performed_by", "performer"), "performed_by", "left")
        .join(pending_now, ["deal_id", "revision_count"], "left")
    )
    new, current = F.col("new_status"), F.col("deal_status")
    known = F.col("deal_id").isNotNull() & new.isin(*DEAL_STATUSES)
    allowed = transition_allowed_col(current, new)
    move = F.concat(
        F.lit("from "), F.coalesce(current, F.lit("?")), F.lit(" to "), F.coalesce(new, F.lit("?"))
    )
    checks = [
        *_deal_checks(),
        failure(
            new.isNull() | ~new.isin(*DEAL_STATUSES),
            "new_status",
            "invalid",
            f"new_status must be one of {', '.join(DEAL_STATUSES)}",
            new,
        ),
        *_person_checks("performer", "performed_by", F.lit(True)),
        failure(
            known & ~allowed,
            "new_status",
            "transition_not_allowed",
            F.concat(F.lit("the status machine does not allow a move "), move),
            new,
        ),
        failure(
            known
            & allowed
            & F.col("performer_id").isNotNull()
            & ~role_may_change_from_col(F.col("performer_role"), F.col("performer_department"), current),
            "performed_by",
            "role_not_allowed",
            F.concat(
                F.lit("a "),
                F.coalesce(F.col("performer_role"), F.lit("user")),
                F.lit(" of "),
                F.coalesce(F.col("performer_department"), F.lit("no department")),
                F.lit(" may not move a deal "),
                move,
            ),
            F.col("performed_by"),
        ),
        failure(
            known & allowed & new.isin(*ROUTING_ONLY_STATUSES),
            "new_status",
            "routing_only",
            "deals enter review only through routing: submit or resubmit the deal",
            new,
        ),
        failure(
            known & allowed & (new == "approved") & (F.coalesce(F.col("pending_in_round"), F.lit(0)) > 0),
            "new_status",
            "open_approvals",
            F.concat(
                F.lit("the current round still has "),
                F.col("pending_in_round").cast("string"),
                F.lit(" pending approval(s)"),
            ),
            new,
        ),
    ]
    return joined.select(
        *events.columns,
        "deal_id",
        "deal_status",
        "deal_revision_reason",
        "performer_id",
        gather(*checks).alias("reasons"),
        new.alias("deal_new_status"),
    )


# -- applying a batch ------------------------------------------------------------------------


def _rejections(evaluated: DataFrame) -> DataFrame:
    return evaluated.filter(F.size("reasons") > 0).select(*rejects.REJECT_INPUT_COLUMNS)


def _ledger_rows(evaluated: DataFrame, run: JobRun) -> DataFrame:
    return evaluated.select(
        F.col("event_id"),
        F.col("kind"),
        F.col("reference_number"),
        F.when(F.size("reasons") > 0, F.lit(REJECTED)).otherwise(F.lit(APPLIED)).alias("outcome"),
        F.col("occurred_at"),
        F.lit(run.run_id).alias("run_id"),
        F.current_timestamp().alias("processed_at"),
    )


class _KindBatch:
    """Decides all documents of one kind, wave by wave, then writes the result once.

    The waves work on a private copy of the batch's deals and approvals, updated after each
    wave, so a later wave sees what earlier ones decided; the tables are written at the
    end (writes to deals are the expensive part on the local engine: its CHECK constraints).
    """

    def __init__(
        self, lakehouse: Lakehouse, run: JobRun, rules: BusinessRules, outcome: DecisionOutcome
    ) -> None:
        self.lakehouse, self.run, self.rules, self.outcome = lakehouse, run, rules, outcome

    def _freeze(self, df: DataFrame) -> DataFrame:
        return materialize(self.lakehouse.spark, df)

    def apply(self, events: DataFrame, kind: str) -> None:
        if events.isEmpty():
            return
        read = self.lakehouse.read
        all_deals, all_approvals, users = read("deals"), read("deal_approvals"), read("users")
        deals = self._freeze(
            all_deals.join(
                events.select("reference_number").distinct(), "reference_number", "left_semi"
            ).select(*DEAL_STATE_COLUMNS)
        )
        deal_ids = deals.select(F.col("id").alias("deal_id"))
        approvals = self._freeze(all_approvals.join(deal_ids, "deal_id", "left_semi"))
        versions = read_version(deals), read_version(approvals)  # the guards of the writes
        events, deals, approvals = self._undo_cut_short_run(events, kind, deals, approvals)
        waves = events.agg(F.max("wave")).first()[0] or 0
        if not waves:  # every event was finished by a concurrent run
            return
        if kind == APPROVAL_ACTION:
            # the other deals' open approvals do not change here: counted once, not per wave
            other_counts = self._freeze(
                routing.open_counts(
                    all_approvals.join(deal_ids, "deal_id", "left_anti"),
                    all_deals.join(deals.select("id"), "id", "left_anti"),
                )
            )
        decided, actions, changes, touched_deals, touched_approvals, created = [], [], [], [], [], []
        for wave in range(1, waves + 1):
            batch = events.filter(F.col("wave") == wave).drop("wave")
            if kind == APPROVAL_ACTION:
                evaluated = self._freeze(evaluate_actions(batch, deals, approvals, users, self.rules))
                accepted = evaluated.filter(F.size("reasons") == 0)
                counts = routing.add_counts(other_counts, routing.open_counts(approvals, deals))
                requests = routing.stage2_requests(completed_stage1(accepted), self.rules)
                stage2 = self._freeze(
                    routing.approval_rows(
                        routing.assign_stage2(requests, users, counts), self.rules.sla_hours
                    )
                )
                created.append(stage2)
                updates = approval_updates(accepted)
                new_rows = stage2.select(*routing.APPROVAL_COLUMNS).join(
                    approvals.select("id"), "id", "left_anti"
                )
                approvals = self._freeze(overlay(approvals, updates).unionByName(new_rows))
                touched_approvals += [updates.select("id"), new_rows.select("id")]
                actions += [decision_actions(accepted), routing.initiation_actions(stage2)]
            else:
                evaluated = self._freeze(evaluate_status_changes(batch, deals, approvals, users))
                accepted = evaluated.filter(F.size("reasons") == 0)
            moved = deal_updates(accepted)
            deals = self._freeze(overlay(deals, moved))
            touched_deals.append(moved.select("id"))
            changes.append(deal_changes(accepted))
            decided.append(evaluated.select(*rejects.REJECT_INPUT_COLUMNS, "reference_number", "occurred_at"))
        if created and not union_all(created).filter(F.col("assigned_to").isNull()).isEmpty():
            log.warning("business approvals left unassigned: no active approver of a sufficient level")
        self.write(
            kind,
            deals.join(versions[0], "id"),
            approvals.join(versions[1], "id", "left"),
            decided,
            actions,
            changes,
            touched_deals,
            touched_approvals,
        )

    def _undo_cut_short_run(
        self, events: DataFrame, kind: str, deals: DataFrame, approvals: DataFrame
    ) -> tuple[DataFrame, DataFrame, DataFrame]:
        """The batch's deals and approvals as they were before a cut-short run applied some of
        these events (their history and action rows, written first, name them; the ledger does
        not). Deciding them again from there gives the same effects, and the writes are idempotent.

        Marked events the ledger now says are applied were finished by a run working at the
        same time, after this batch was read: they leave the batch (the deals just read may
        already hold later changes, which re-deciding would write over).
        """
        read = self.lakehouse.read
        ids = events.select(F.col("event_id").alias("source_event_id"))
        moves = self._freeze(read("deal_status_history").join(ids, "source_event_id", "left_semi"))
        actions = self._freeze(read("approval_actions").join(ids, "source_event_id", "left_semi"))
        if moves.isEmpty() and actions.isEmpty():
            return events, deals, approvals
        finished = self._freeze(  # read after the deals: a run that finished before then is seen
            read(LEDGER)
            .filter(F.col("outcome") == APPLIED)
            .select("event_id")
            .join(events.select("event_id"), "event_id", "left_semi")
        )
        finished_ids = [row["event_id"] for row in finished.collect()]
        if finished_ids:
            self.outcome.already_applied += finished_ids
            self.run.accepted_by_kind[kind] += len(finished_ids)
            events = self._freeze(events.join(finished, "event_id", "left_anti"))
            done = finished.select(F.col("event_id").alias("source_event_id"))
            moves = moves.join(done, "source_event_id", "left_anti")
            actions = actions.join(done, "source_event_id", "left_anti")
        first_move = Window.partitionBy("deal_id").orderBy("seq")
        before = (
            moves.withColumn("_n", F.row_number().over(first_move))
            .filter(F.col("_n") == 1)
            .select(F.col("deal_id").alias("id"), F.col("previous_status").alias("status"))
        )
        created = actions.filter(F.col("action_type") == "initiate").select(F.col("approval_id").alias("id"))
        reopened = (
            actions.filter(F.col("action_type").isin(*CLOSING_ACTIONS))
            .select(F.col("approval_id").alias("id"))
            .distinct()
            .select(
                "id", F.lit("pending").alias("status"), F.lit(None).cast("timestamp").alias("completed_at")
            )
        )
        approvals = overlay(approvals.join(created, "id", "left_anti"), reopened)
        return events, self._freeze(overlay(deals, before)), self._freeze(approvals)

    def write(
        self,
        kind: str,
        deals: DataFrame,
        approvals: DataFrame,
        decided: list[DataFrame],
        actions: list[DataFrame],
        changes: list[DataFrame],
        touched_deals: list[DataFrame],
        touched_approvals: list[DataFrame],
    ) -> None:
        """Effects first, the ledger last, so a run cut short decides its documents again.

        The order makes that safe: the history and action rows (insert-only, keyed by the
        event) go first and mark the events as being applied; the approvals and deals they
        change follow. A re-run finds the marks and lets those events' own effects stand.
        """
        lakehouse, written = self.lakehouse, self.outcome.rows_written
        written["deal_status_history"] += write_status_changes(lakehouse, union_all(changes))
        if touched_approvals:
            written["approval_actions"] += insert_rows(lakehouse, union_all(actions), "approval_actions")
            changed = approvals.join(union_all(touched_approvals).distinct(), "id", "left_semi")
            written["deal_approvals"] += upsert_rows(lakehouse, changed, "deal_approvals", guard=ROW_VERSION)
        moved = deals.join(union_all(touched_deals).distinct(), "id", "left_semi").select(
            *DEAL_UPDATE_COLUMNS, *read_columns()
        )
        written["deals"] += update_rows(lakehouse, moved, "deals", guard=ROW_VERSION)
        evaluated = self._freeze(union_all(decided))
        rejected = self._freeze(_rejections(evaluated))
        if not rejected.isEmpty():
            rejects.write_rejections(lakehouse, rejected, self.run.run_id)
        record_outcomes(lakehouse, _ledger_rows(evaluated, self.run))
        for row in evaluated.select("event_id", F.size("reasons").alias("n")).collect():
            (self.outcome.rejected if row["n"] else self.outcome.applied).append(row["event_id"])
            (self.run.rejected_by_kind if row["n"] else self.run.accepted_by_kind)[kind] += 1


def decide_documents(
    lakehouse: Lakehouse, documents: DataFrame, run: JobRun, rules: BusinessRules
) -> DecisionOutcome:
    """Apply approval_action and status_change documents (rows shaped like raw_documents).

    Actions first, then status changes, each in occurred_at order. Documents already
    applied are counted and left alone; rejected ones (re-fed by a replay) are decided
    again, and those now accepted are marked replayed in rejected_documents.
    """
    outcome = DecisionOutcome()
    spark = lakehouse.spark
    latest = Window.partitionBy("event_id").orderBy(F.col("received_at").desc(), "source_file", "line_number")
    applied = (
        lakehouse.read(LEDGER)
        .filter(F.col("outcome") == APPLIED)
        .select("event_id", F.lit(True).alias("_done"))
    )
    candidates = materialize(  # one read of the documents and the ledger
        spark,
        documents.filter(F.col("kind").isin(*DECISION_KINDS))
        .withColumn("_n", F.row_number().over(latest))
        .filter(F.col("_n") == 1)
        .join(applied, "event_id", "left")
        .select(*DOCUMENT_COLUMNS, F.col("_done").isNotNull().alias("_done")),
    )
    for row in candidates.filter("_done").select("event_id", "kind").collect():
        outcome.already_applied.append(row["event_id"])
        run.accepted_by_kind[row["kind"]] += 1
    todo = candidates.filter(~F.col("_done")).drop("_done")
    actions = materialize(spark, parse_actions(todo))
    changes = materialize(spark, parse_status_changes(todo))
    run.lines_read += len(outcome.already_applied) + actions.count() + changes.count()
    _KindBatch(lakehouse, run, rules, outcome).apply(actions, APPROVAL_ACTION)
    _KindBatch(lakehouse, run, rules, outcome).apply(changes, STATUS_CHANGE)
    if outcome.applied:
        ids = spark.createDataFrame([(e,) for e in outcome.applied], "event_id STRING")
        replayed = materialize(spark, ids.join(lakehouse.read("rejected_documents"), "event_id", "left_semi"))
        if not replayed.isEmpty():
            rejects.mark_replayed(lakehouse, replayed, run.run_id)
    for table, rows in outcome.rows_written.items():
        run.rows_merged[table] += rows
    return outcome


def pending_documents(lakehouse: Lakehouse) -> DataFrame:
    """Workflow documents with a readable envelope that no decide run has decided yet (frozen).

    A document decided as rejected comes back when a copy arrives later (intake keeps a
    corrected copy of an event that is still rejected). The documents are found on their
    narrow columns first and their payloads read for those rows only: carrying every
    payload through the join with the ledger costs seconds once the tables are large.
    """
    raw = lakehouse.read("raw_documents").filter(
        F.col("kind").isin(*DECISION_KINDS) & F.col("occurred_at").isNotNull()
    )
    ledger = lakehouse.read(LEDGER).select("event_id", "outcome", "processed_at")
    undecided = F.col("outcome").isNull() | (
        (F.col("outcome") == REJECTED) & (F.col("received_at") > F.col("processed_at"))
    )
    found = materialize(
        lakehouse.spark,
        raw.select(*RAW_DOCUMENT_KEY)
        .join(ledger, "event_id", "left")
        .filter(undecided)
        .select(*RAW_DOCUMENT_KEY),
    )
    return materialize(lakehouse.spark, raw.join(found, list(RAW_DOCUMENT_KEY), "left_semi"))
