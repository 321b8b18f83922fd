"""The app's read models (ddl/092_app_read_models.sql), kept right by the processing run.

Each read model is a DataFrame over the lakehouse's tables, narrowed to the keys a run touched
(deals, approvals, documents, people) and MERGEd into its table: one engine query per read
model, only for a run that wrote something it shows. ``rebuild`` writes them whole (a lakehouse
that had deals before the read models existed). Every row carries ``refreshed_at``, the run's
time: the serving database copies the rows written since it last copied (``serving.sync``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dealdesk.core.model import Effects
from dealdesk.lakehouse.gateway import DELETE_FLAG, Lakehouse

KEYS = {
    "app_deals": ["deal_id"],
    "app_approval_queue": ["approval_id"],
    "app_deal_history": ["entry_id"],
    "app_document_outcomes": ["event_id"],
    "app_people": ["email"],
    "app_inbox": ["notification_id"],
}
READ_MODELS = tuple(KEYS)
BY_DEAL = ("app_deals", "app_approval_queue", "app_deal_history")  # every row of a deal, keyed by it
IN_REVIEW = ("under_review", "negotiating")


@dataclass
class Touched:
    """What a run wrote that the read models show."""

    deal_ids: set[int] = field(default_factory=set)
    approval_ids: set[int] = field(default_factory=set)  # actions name their approval, not the deal
    event_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    new_deal_ids: set[int] = field(default_factory=set)  # deals no read model has a row of yet

    def __bool__(self) -> bool:
        return bool(self.deal_ids or self.approval_ids or self.event_ids or self.emails)


def touched_by(effects: Effects, *, first: bool = False) -> Touched:
    """What ``effects`` change in the read models. ``first``: the run that decided the effects
    writes them, so the deals it created have no read-model row yet (a journal finished by a
    later run may have written some before it was cut)."""
    touched = Touched()
    for rows in (effects.deals_new, effects.deals_replaced, effects.deals_moved):
        touched.deal_ids.update(r["id"] for r in rows)
    owners = {r["id"]: r["deal_id"] for r in (*effects.approvals_new, *effects.approvals_changed)}
    for rows in (effects.approvals_new, effects.approvals_changed, effects.history):
        touched.deal_ids.update(r["deal_id"] for r in rows)
    for action in effects.actions:  # an action's deal is known when its approval changed too
        if action["approval_id"] in owners:
            touched.deal_ids.add(owners[action["approval_id"]])
        else:
            touched.approval_ids.add(action["approval_id"])
    touched.event_ids.update(r["event_id"] for r in (*effects.ledger, *effects.rejected))
    touched.emails.update(r["email"] for r in effects.users)
    if first:
        touched.new_deal_ids = {r["id"] for r in effects.deals_new}
    return touched


def _name(users: DataFrame, prefix: str) -> DataFrame:
    """users as (<prefix>_id, <prefix>_email, <prefix>_name)."""
    name = F.nullif(F.trim(F.concat_ws(" ", "first_name", "last_name")), F.lit(""))
    return users.select(
        F.col("id").alias(f"{prefix}_id"),
        F.col("email").alias(f"{prefix}_email"),
        name.alias(f"{prefix}_name"),
    )


def _only(frame: DataFrame, keys: DataFrame | None, column: str = "deal_id") -> DataFrame:
    """``frame``'s rows whose ``column`` is one of ``keys`` (a one-column frame; None: every row)."""
    if keys is None:
        return frame
    return frame.join(keys.withColumnRenamed(keys.columns[0], column), column, "left_semi")


def _json_list(*columns: Column) -> Column:
    """An aggregate: the group's rows as a JSON array, sorted by the first column."""
    return F.to_json(F.array_sort(F.collect_list(F.struct(*columns))))


class ReadModels:
    """Builds the read-model rows for a set of touched keys (or all) and writes them."""

    def __init__(self, lakehouse: Lakehouse, now: datetime) -> None:
        self.lakehouse = lakehouse
        self.now = now

    def _ids(self, values: Iterable[object], name: str, kind: str) -> DataFrame:
        return self.lakehouse.spark.createDataFrame([(v,) for v in sorted(values)], f"{name} {kind}")  # type: ignore[type-var]

    def _deal_ids(self, touched: Touched | None) -> DataFrame | None:
        """The touched deals: named, or owning a touched approval (None: every deal)."""
        if touched is None:
            return None
        named = self._ids(touched.deal_ids, "deal_id", "BIGINT")
        if not touched.approval_ids:
            return named
        approvals = self.lakehouse.read("deal_approvals").join(
            self._ids(touched.approval_ids, "id", "BIGINT"), "id", "left_semi"
        )
        return named.unionByName(approvals.select("deal_id")).distinct()

    def _departments(self, deal_ids: DataFrame | None) -> DataFrame:
        approvals = _only(self.lakehouse.read("deal_approvals"), deal_ids)
        return approvals.groupBy("deal_id").agg(
            F.to_json(F.array_sort(F.collect_set("department"))).alias("review_departments")
        )

    # -- the read models --------------------------------------------------------------------------
    def deals(self, deal_ids: DataFrame | None) -> DataFrame:
        read = self.lakehouse.read
        deals = _only(read("deals"), deal_ids, "id")
        lines, tiers = _only(read("incentive_values"), deal_ids), _only(read("deal_tiers"), deal_ids)
        incentives = lines.groupBy("deal_id", "tier_number").agg(
            F.array_sort(
                F.collect_list(
                    F.struct("line_number", F.col("category_id").alias("category"),
                             F.col("subcategory_id").alias("sub_category"), "option", "value")
                )
            ).alias("incentives")
        )  # fmt: skip
        tier_rows = (
            tiers.join(incentives, ["deal_id", "tier_number"], "left")
            .groupBy("deal_id")
            .agg(
                _json_list("tier_number", "annual_revenue", "annual_gross_margin", "incentives").alias(
                    "tiers"
                )
            )
        )
        users = read("users")
        approvals = _only(read("deal_approvals"), deal_ids)
        current = (
            approvals.join(deals.select(F.col("id").alias("deal_id"), "revision_count"), "deal_id")
            .filter(F.col("approval_round") == F.col("revision_count"))
            .join(_name(users, "assignee"), F.col("assigned_to") == F.col("assignee_id"), "left")
            .groupBy("deal_id")
            .agg(
                _json_list(
                    F.col("approval_stage").alias("stage"), "department",
                    F.col("id").cast("string").alias("approval_id"),  # JSON numbers lose 64-bit digits
                    F.col("approval_level").alias("level"), "status", "priority", "assignee_email",
                    F.date_format("due_date", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("due_date"),
                ).alias("approvals")
            )
        )  # fmt: skip
        seller = _name(users, "seller").select("seller_email", "seller_name")
        return (
            deals.join(seller, deals["email"] == seller["seller_email"], "left")
            .join(tier_rows, deals["id"] == tier_rows["deal_id"], "left")
            .drop(tier_rows["deal_id"])
            .join(current, deals["id"] == current["deal_id"], "left")
            .drop(current["deal_id"])
            .join(self._departments(deal_ids).withColumnRenamed("deal_id", "_d"), F.col("id") == F.col("_d"), "left")
            .select(
                F.col("id").alias("deal_id"), "reference_number", "deal_name", "status",
                F.coalesce("seller_email", deals["email"]).alias("seller_email"), "seller_name",
                "deal_type", "sales_channel", "deal_structure", "region", "advertiser_name", "agency_name",
                "deal_value", "total_incentive_cost", "required_approval_level", "priority", "revision_count",
                "flow_intelligence", "term_start_date", "term_end_date", "submitted_at", "last_status_change",
                "created_at", "updated_at",
                F.coalesce("tiers", F.lit("[]")).alias("tiers"),
                F.coalesce("approvals", F.lit("[]")).alias("approvals"),
                F.coalesce("review_departments", F.lit("[]")).alias("review_departments"),
                F.lit(self.now).alias("refreshed_at"),
            )
        )  # fmt: skip

    def approval_queue(self, deal_ids: DataFrame | None) -> DataFrame:
        read = self.lakehouse.read
        approvals, deals = _only(read("deal_approvals"), deal_ids), _only(read("deals"), deal_ids, "id")
        deal = deals.select(
            F.col("id").alias("deal_id"), "reference_number", "deal_name", F.col("status").alias("deal_status"),
            "deal_value", F.col("email").alias("seller_email"), "revision_count",
        )  # fmt: skip
        is_open = (
            (F.col("status") == "pending")
            & (F.col("approval_round") == F.col("revision_count"))
            & F.col("deal_status").isin(*IN_REVIEW)
        )
        return (
            approvals.join(deal, "deal_id")
            .join(_name(read("users"), "assignee"), F.col("assigned_to") == F.col("assignee_id"), "left")
            .select(
                F.col("id").alias("approval_id"), "deal_id", "reference_number", "deal_name", "deal_status",
                "deal_value", "seller_email", "approval_round", "approval_stage", "department", "approval_level",
                "status", "priority", "assignee_email", "assignee_name", "due_date", is_open.alias("is_open"),
                "created_at", "updated_at", F.lit(self.now).alias("refreshed_at"),
            )
        )  # fmt: skip

    def deal_history(self, deal_ids: DataFrame | None) -> DataFrame:
        read = self.lakehouse.read
        history, approvals = (
            _only(read("deal_status_history"), deal_ids),
            _only(read("deal_approvals"), deal_ids),
        )
        deals = _only(read("deals"), deal_ids, "id")
        actions = read("approval_actions").join(
            approvals.select(F.col("id").alias("approval_id"), "deal_id", "approval_stage", "department"),
            "approval_id",
        )
        people = _name(read("users"), "performer")
        changes = history.select(
            F.concat(F.lit("status-"), F.col("id").cast("string")).alias("entry_id"), "deal_id",
            F.col("changed_at").alias("happened_at"), F.lit("status_change").alias("entry_kind"), "seq",
            "previous_status", "status", F.lit(None).cast("string").alias("action"),
            F.lit(None).cast("int").alias("approval_stage"), F.lit(None).cast("string").alias("department"),
            "performed_by", "comments", "source_event_id",
        )  # fmt: skip
        steps = actions.select(
            F.concat(F.lit("action-"), F.col("id").cast("string")).alias("entry_id"), "deal_id",
            F.col("created_at").alias("happened_at"), F.lit("approval_action").alias("entry_kind"),
            F.lit(None).cast("int").alias("seq"), F.lit(None).cast("string").alias("previous_status"),
            F.lit(None).cast("string").alias("status"), F.col("action_type").alias("action"), "approval_stage",
            "department", "performed_by", "comments", "source_event_id",
        )  # fmt: skip
        deal = deals.select(
            F.col("id").alias("deal_id"), "reference_number", F.col("email").alias("seller_email")
        )
        return (
            changes.unionByName(steps)
            .join(deal, "deal_id")
            .join(self._departments(deal_ids), "deal_id", "left")
            .join(people, F.col("performed_by") == F.col("performer_id"), "left")
            .select(
                "entry_id", "deal_id", "reference_number", "happened_at", "entry_kind", "seq", "previous_status",
                "status", "action", "approval_stage", "department", "performer_email", "performer_name", "comments",
                "source_event_id", "seller_email", F.coalesce("review_departments", F.lit("[]")).alias("review_departments"),
                F.lit(self.now).alias("refreshed_at"),
            )
        )  # fmt: skip

    def document_outcomes(self, event_ids: DataFrame | None) -> DataFrame:
        read = self.lakehouse.read
        ledger, rejected, raw = (
            _only(read(table), event_ids, "event_id")
            for table in ("processed_events", "rejected_documents", "raw_documents")
        )
        open_rejections = rejected.filter(F.col("replayed_at").isNull()).select(
            "event_id", F.col("kind").alias("r_kind"), "reasons", "source_file", "line_number", "rejected_at",
            F.col("payload").alias("r_payload"),
        )  # fmt: skip
        sender = raw.groupBy("event_id").agg(F.max("payload").alias("raw_payload"))
        payload = F.coalesce("r_payload", "raw_payload")
        sent_by = F.lower(F.trim(F.coalesce(
            F.get_json_object(payload, "$.submitted_by"), F.get_json_object(payload, "$.performed_by"),
            F.get_json_object(payload, "$.delegator"))))  # fmt: skip
        applied = F.col("outcome") == "applied"
        return (
            ledger.join(open_rejections, "event_id", "full")
            .join(sender, "event_id", "left")
            .select(
                "event_id",
                F.coalesce("kind", "r_kind").alias("kind"),
                F.when(applied, "applied").otherwise("rejected").alias("outcome"),
                "reference_number",
                F.when(~applied | F.col("outcome").isNull(), F.col("reasons")).alias("reasons"),
                sent_by.alias("sent_by"),
                F.when(~applied | F.col("outcome").isNull(), F.col("source_file")).alias("source_file"),
                F.when(~applied | F.col("outcome").isNull(), F.col("line_number")).alias("line_number"),
                F.coalesce(F.when(applied, F.col("processed_at")), "rejected_at", "processed_at").alias(
                    "decided_at"
                ),
                F.lit(self.now).alias("refreshed_at"),
            )
        )

    def inbox(self, deal_ids: DataFrame | None, event_ids: DataFrame | None) -> DataFrame:
        """The notifications of the touched deals (and of the touched documents that name no
        deal), each with its recipient's e-mail and whether a reminder still stands."""
        read = self.lakehouse.read
        told = read("notifications")
        if deal_ids is not None:
            no_deal = _only(told.filter(F.col("deal_id").isNull()), event_ids, "source_event_id")
            told = _only(told, deal_ids).unionByName(no_deal)
        approvals = _only(read("deal_approvals"), deal_ids).select(
            F.col("id").alias("approval_id"), F.col("status").alias("approval_status"),
            F.col("assigned_to").alias("assignee_id"), "approval_round",
        )  # fmt: skip
        deals = _only(read("deals"), deal_ids, "id").select(
            F.col("id").alias("deal_id"), F.col("status").alias("deal_status"), "revision_count"
        )
        still_due = (
            (F.col("approval_status") == "pending")
            & (F.col("assignee_id") == F.col("recipient_id"))
            & (F.col("approval_round") == F.col("revision_count"))
            & F.col("deal_status").isin(*IN_REVIEW)
        )
        return (
            told.join(approvals, "approval_id", "left")
            .join(deals, "deal_id", "left")
            .join(read("users").select(F.col("id").alias("recipient_id"), F.col("email").alias("recipient_email")),
                  "recipient_id")
            .select(
                F.col("id").alias("notification_id"), "recipient_email", "kind", "deal_id", "reference_number",
                "approval_id", "message", "notify_at",
                ((F.col("kind") != "due_tomorrow") | F.coalesce(still_due, F.lit(False))).alias("is_current"),
                "source_event_id", "created_at", F.lit(self.now).alias("refreshed_at"),
            )
        )  # fmt: skip

    def people(self, emails: DataFrame | None) -> DataFrame:
        users = _only(self.lakehouse.read("users"), emails, "email")
        name = F.nullif(F.trim(F.concat_ws(" ", "first_name", "last_name")), F.lit(""))
        return users.select(
            "email", name.alias("display_name"), "role", "department", "approval_level", "is_active",
            F.lit(self.now).alias("refreshed_at"),
        )  # fmt: skip

    # -- writing -----------------------------------------------------------------------------------
    def frames(self, touched: Touched | None) -> dict[str, DataFrame]:
        """The rows each read model gets for ``touched`` (None: every row), for the models it changes."""
        deal_ids = self._deal_ids(touched)
        wanted = {
            "app_deals": touched is None or bool(touched.deal_ids or touched.approval_ids),
            "app_approval_queue": touched is None or bool(touched.deal_ids or touched.approval_ids),
            "app_deal_history": touched is None or bool(touched.deal_ids or touched.approval_ids),
            "app_document_outcomes": touched is None or bool(touched.event_ids),
            "app_people": touched is None or bool(touched.emails),
            "app_inbox": touched is None
            or bool(touched.deal_ids or touched.approval_ids or touched.event_ids),
        }
        events = None if touched is None else self._ids(touched.event_ids, "event_id", "STRING")
        emails = None if touched is None else self._ids(touched.emails, "email", "STRING")
        build = {
            "app_deals": lambda: self.deals(deal_ids),
            "app_approval_queue": lambda: self.approval_queue(deal_ids),
            "app_deal_history": lambda: self.deal_history(deal_ids),
            "app_document_outcomes": lambda: self.document_outcomes(events),
            "app_people": lambda: self.people(emails),
            "app_inbox": lambda: self.inbox(deal_ids, events),
        }
        return {name: build[name]() for name in READ_MODELS if wanted[name]}

    def write(self, touched: Touched | None) -> None:
        """Write the rows of ``touched`` (None: all) into the read models, whole rows by key.

        The models of deals hold every row of each deal they show, so the rows of deals that
        are new to them are appended (no MERGE that reads the whole model); when the run also
        changed deals shown before, see ``_replace_deals``."""
        for table, frame in self.frames(touched).items():
            if table in BY_DEAL and touched is not None and not touched.approval_ids:
                self._replace_deals(frame, table, touched.deal_ids - touched.new_deal_ids)
            else:
                self.lakehouse.upsert(frame, table, KEYS[table])

    def _replace_deals(self, frame: DataFrame, table: str, shown: set[int]) -> None:
        """Rows of whole deals, ``shown`` ones among them already in ``table``. None shown: one
        append. Spark and Databricks: one MERGE, so a reader of the model (a synced table) never
        sees a deal missing. The embedded engine: the shown deals' rows deleted by deal id, then
        one append (its MERGE ... UPDATE of wide rows is slow; a run cut between the two is
        redone whole)."""
        if not shown:
            self.lakehouse.append(frame, table)
        elif self.lakehouse.target.engine != "local":
            self.lakehouse.upsert(frame, table, KEYS[table])
        else:
            gone = self._ids(shown, "deal_id", "BIGINT").withColumn(DELETE_FLAG, F.lit(True))
            self.lakehouse.merge(gone, table, ["deal_id"], insert=False, delete_flagged=True)
            self.lakehouse.append(frame, table)


def refresh(lakehouse: Lakehouse, effects: Effects, now: datetime, *, first: bool = False) -> None:
    """The read models of what ``effects`` wrote (nothing when they wrote nothing shown there);
    ``first``: written by the run that decided them (see touched_by)."""
    touched = touched_by(effects, first=first)
    if touched:
        ReadModels(lakehouse, now).write(touched)


def rebuild(lakehouse: Lakehouse, now: datetime) -> None:
    """Every read model written whole from the tables."""
    ReadModels(lakehouse, now).write(None)
