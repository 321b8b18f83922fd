"""Reading the state a batch needs into a ``Snapshot``: a fixed number of queries per run.

What is read does not depend on how many events a deal has: the deals the batch names (and
those whose monitoring timers fall due), their current round of approvals, their last
history ``seq``, the people and reference data, and counts per person.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.values import as_time
from dealdesk.config import REFERENCE_PATTERN, BusinessRules, reference_prefix
from dealdesk.core import ids, monitoring
from dealdesk.core.model import (
    APPROVAL_COLUMNS,
    DELEGATION_COLUMNS,
    JUDGED_COLUMNS,
    Approval,
    Deal,
    Delegation,
    Department,
    Document,
    ScopingRequest,
    Snapshot,
    User,
)
from dealdesk.lakehouse.gateway import Lakehouse

DEAL_STATE_COLUMNS = (
    "id",
    "reference_number",
    "status",
    "revision_count",
    "deal_value",
    "priority",
    "created_at",
    "updated_at",
    "revision_reason",
    "last_status_change",
    "submitted_at",
    "draft_expires_at",
    "flow_intelligence",
    "deal_type",
    "email",
)


def _strings(lakehouse: Lakehouse, name: str, values: set[str]) -> DataFrame:
    return lakehouse.spark.createDataFrame([(v,) for v in sorted(values)], f"{name} STRING")


def open_approvals(lakehouse: Lakehouse) -> DataFrame:
    """Approvals waiting for a decision (see monitoring.open_approvals)."""
    return monitoring.open_approvals(lakehouse.read("deal_approvals"), lakehouse.read("deals"))


def read_snapshot(
    lakehouse: Lakehouse,
    documents: list[Document],
    rules: BusinessRules,
    as_of: datetime | None,
    flags: Literal["incremental", "full"] | None = None,
) -> Snapshot:
    """The state for ``documents``, with the timers due by ``as_of`` and, for monitoring, the deals
    whose flag may change: by time alone (``incremental``) or for any reason (``full``)."""
    snapshot = Snapshot()
    submissions = [d for d in documents if d.kind == "deal_submission"]
    references = {d.body.get("given_reference") for d in submissions} | {
        d.body.get("reference_number") for d in documents if d.kind in ("approval_action", "status_change")
    }
    references.discard(None)
    earliest = min((d.occurred_at for d in documents), default=as_of)
    _read_people(lakehouse, snapshot, earliest)
    # delegators whose open approvals a delegation hands over at its start: one of the batch, or
    # one read that has not started and whose start falls due by then (rare: usually none)
    delegators = {
        ids.user_id(d.body["delegator"])
        for d in documents
        if d.kind == "delegation" and d.body.get("delegator")
    } | {
        d.delegator_id
        for d in snapshot.delegations.values()
        if d.reassigned_at is None and as_of is not None and d.starts_at <= as_of
    }
    _read_deals(lakehouse, snapshot, references, rules, as_of, flags, delegators)  # type: ignore[arg-type]
    if submissions:
        _read_for_submissions(lakehouse, snapshot, submissions)
    return snapshot


def read_people_and_load(
    lakehouse: Lakehouse, rules: BusinessRules, reference: str | None = None
) -> Snapshot:
    """Users, departments and open approvals per person: what routing needs (the route preview);
    with ``reference``, that deal and its current round too (what a resubmission would carry over)."""
    snapshot = Snapshot()
    if reference:
        _read_deals(lakehouse, snapshot, {reference}, rules, None, None)
    _read_people(lakehouse, snapshot)
    return snapshot


def _read_deals(
    lakehouse: Lakehouse,
    snapshot: Snapshot,
    references: set[str],
    rules: BusinessRules,
    as_of: datetime | None,
    flags: Literal["incremental", "full"] | None,
    delegators: set[int] | None = None,
) -> None:
    deals = lakehouse.read("deals")
    wanted = [
        deals.join(_strings(lakehouse, "reference_number", references), "reference_number", "left_semi")
    ]
    if as_of is not None:
        wanted.append(
            deals.filter((F.col("status") == "draft") & (F.col("draft_expires_at") <= F.lit(as_of)))
        )
        due_by = as_of - timedelta(hours=rules.monitoring.overdue_escalation_hours)
        overdue = (
            open_approvals(lakehouse)
            .filter(F.col("due_date") <= F.lit(due_by))
            .select(F.col("deal_id").alias("id"))
        )
        wanted.append(deals.join(overdue, "id", "left_semi"))
    if delegators:  # deals with open approvals of a delegator whose delegation starts: handed over
        away = open_approvals(lakehouse).filter(F.col("assigned_to").isin(sorted(delegators)))
        wanted.append(deals.join(away.select(F.col("deal_id").alias("id")), "id", "left_semi"))
    if flags is not None:  # on Databricks deals are clustered by status: these filters prune
        wanted.append(
            deals.filter(monitoring.time_may_turn() if flags == "incremental" else monitoring.may_be_stale())
        )
    found = wanted[0]
    for more in wanted[1:]:
        found = found.unionByName(more)
    wanted_any = references or as_of or flags or delegators
    rows = lakehouse.collect(found.select(*DEAL_STATE_COLUMNS).distinct()) if wanted_any else []
    for row in rows:
        snapshot.deals[row["reference_number"]] = Deal(**row)
    if not rows:
        return
    # the current round and the one before it (smart re-approval: its approved business approval)
    rounds = lakehouse.spark.createDataFrame(
        [
            (r["id"], r["revision_count"] - back)
            for r in rows
            for back in (0, 1)
            if r["revision_count"] >= back
        ],
        "deal_id BIGINT, approval_round INT",
    )
    judged = (
        lakehouse.read("approval_fingerprints")
        .join(rounds, ["deal_id", "approval_round"], "left_semi")
        .select(
            F.col("approval_id").alias("id"),
            "fingerprint",
            F.col("deal_value").alias("judged_value"),
            "carried_over_from_round",
        )
    )
    approvals = (
        lakehouse.read("deal_approvals")
        .join(rounds, ["deal_id", "approval_round"], "left_semi")
        .join(judged, "id", "left")
    )
    history = (
        lakehouse.read("deal_status_history")
        .join(rounds.select("deal_id"), "deal_id", "left_semi")
        .groupBy("deal_id")
        .agg(F.max("seq").alias("last_seq"))
    )
    categories = (
        lakehouse.read("incentive_values")
        .join(rounds.select("deal_id"), "deal_id", "left_semi")
        .select("deal_id", F.col("category_id").alias("category"))
        .distinct()
    )
    # one query for all three: approval rows, each deal's last seq and its incentive categories
    both = (
        approvals.select(F.lit("approval").alias("tag"), F.to_json(F.struct(*approvals.columns)).alias("row"))
        .unionByName(
            history.select(F.lit("seq").alias("tag"), F.to_json(F.struct("deal_id", "last_seq")).alias("row"))
        )
        .unionByName(
            categories.select(
                F.lit("category").alias("tag"), F.to_json(F.struct("deal_id", "category")).alias("row")
            )
        )
    )
    by_id = {deal.id: deal for deal in snapshot.deals.values()}
    for item in lakehouse.collect(both):
        value = json.loads(item["row"])
        if item["tag"] == "seq":
            by_id[value["deal_id"]].last_seq = value["last_seq"]
            continue
        if item["tag"] == "category":
            deal = by_id[value["deal_id"]]
            deal.categories = tuple(sorted({*deal.categories, value["category"]}))
            continue
        value = {
            name: value.get(name) for name in (*APPROVAL_COLUMNS, *JUDGED_COLUMNS)
        }  # to_json leaves out nulls
        for name in ("due_date", "created_at", "updated_at", "completed_at"):
            value[name] = as_time(value.get(name))
        snapshot.add_approval(by_id[value["deal_id"]], Approval(**value))


def _read_people(lakehouse: Lakehouse, snapshot: Snapshot, earliest: datetime | None = None) -> None:
    """Users, departments, the known advertisers and agencies (small tables), the delegations
    that may count from ``earliest`` on or have not started yet, and the open approvals per
    assignee, over every deal (on Databricks deal_approvals is clustered by assignee and
    status): one query."""
    read = lakehouse.read
    users = read("users").select(
        F.lit("user").alias("tag"),
        F.to_json(
            F.struct("id", "email", "role", "department", "approval_level", "is_active", "updated_at")
        ).alias("row"),
    )
    departments = read("approval_departments").select(
        F.lit("department").alias("tag"),
        F.to_json(F.struct("department", "is_active", "default_assignee_email", "incentive_types")).alias(
            "row"
        ),
    )
    advertisers = read("advertisers").select(
        F.lit("advertiser").alias("tag"), F.col("id").cast("string").alias("row")
    )
    agencies = read("agencies").select(F.lit("agency").alias("tag"), F.col("id").cast("string").alias("row"))
    load = (
        open_approvals(lakehouse)
        .filter(F.col("assigned_to").isNotNull())
        .groupBy(F.col("assigned_to").alias("user_id"))
        .agg(F.count(F.lit(1)).alias("n"))
        .select(F.lit("load").alias("tag"), F.to_json(F.struct("user_id", "n")).alias("row"))
    )
    delegations = read("delegations")
    if earliest is not None:
        delegations = delegations.filter(
            (F.col("ends_at") > F.lit(earliest)) | F.col("reassigned_at").isNull()
        )
    delegations = delegations.select(
        F.lit("delegation").alias("tag"), F.to_json(F.struct(*DELEGATION_COLUMNS)).alias("row")
    )
    rows = lakehouse.collect(
        users.unionByName(departments)
        .unionByName(advertisers)
        .unionByName(agencies)
        .unionByName(load)
        .unionByName(delegations)
    )
    for item in rows:
        tag, text = item["tag"], item["row"]
        if tag == "delegation":
            value = {name: json.loads(text).get(name) for name in DELEGATION_COLUMNS}
            for name in ("starts_at", "ends_at", "created_at", "reassigned_at"):
                value[name] = as_time(value[name])
            snapshot.delegations[value["id"]] = Delegation(**value)
        elif tag == "load":
            value = json.loads(text)
            snapshot.open_counts[value["user_id"]] = value["n"]
        elif tag == "advertiser":
            snapshot.advertiser_ids.add(int(text))
        elif tag == "agency":
            snapshot.agency_ids.add(int(text))
        elif tag == "user":
            value = json.loads(text)
            value["updated_at"] = as_time(value["updated_at"])
            value.setdefault("department", None)
            value.setdefault("approval_level", None)
            snapshot.users[value["email"]] = User(**value)
        else:
            value = json.loads(text)
            snapshot.departments[value["department"]] = Department(
                name=value["department"],
                is_active=bool(value.get("is_active")),
                default_assignee_email=value.get("default_assignee_email"),
                incentive_types=tuple(json.loads(value.get("incentive_types") or "[]")),
            )


def _read_for_submissions(lakehouse: Lakehouse, snapshot: Snapshot, submissions: list[Document]) -> None:
    """Scoping requests the submissions name, the highest reference numbers, and the tier and
    incentive-line ids of existing deals a submission may replace: one query."""
    read = lakehouse.read
    refs = {d.body.get("scoping_ref") for d in submissions} - {None}
    requests = read("deal_scoping_requests").select("id", "source_event_id", "status", "converted_deal_id")
    requests = requests.join(
        _strings(lakehouse, "ref", refs),  # type: ignore[arg-type]
        (F.col("ref") == F.col("source_event_id")) | (F.col("ref") == F.col("id").cast("string")),
        "left_semi",
    )
    # the highest number of each year the submissions may number in: their business years only
    prefixes = sorted({reference_prefix(d.occurred_at.year) for d in submissions})
    named = F.lit(False)
    for prefix in prefixes:
        named = named | F.col("reference_number").startswith(prefix)
    years = (
        read("deals")
        .filter(named)
        .select(
            F.regexp_extract("reference_number", REFERENCE_PATTERN, 1).cast("int").alias("year"),
            F.regexp_extract("reference_number", REFERENCE_PATTERN, 2).cast("long").alias("n"),
        )
        .groupBy("year")
        .agg(F.max("n").alias("n"))
    )
    existing = [d.id for d in snapshot.deals.values()]
    ids = lakehouse.spark.createDataFrame([(i,) for i in existing], "deal_id BIGINT")
    parts = [
        read(table)
        .join(ids, "deal_id", "left_semi")
        .select(F.lit(table).alias("tag"), F.to_json(F.struct("deal_id", "id")).alias("row"))
        for table in ("deal_tiers", "incentive_values")
    ]
    packed = (
        requests.select(F.lit("request").alias("tag"), F.to_json(F.struct(*requests.columns)).alias("row"))
        .unionByName(years.select(F.lit("year").alias("tag"), F.to_json(F.struct("year", "n")).alias("row")))
        .unionByName(parts[0])
        .unionByName(parts[1])
    )
    for item in lakehouse.collect(packed):
        value = json.loads(item["row"])
        if item["tag"] == "request":
            request = ScopingRequest(
                id=value["id"],
                source_event_id=value["source_event_id"],
                status=value["status"],
                converted_deal_id=value.get("converted_deal_id"),
            )
            snapshot.scoping[request.source_event_id] = request
            snapshot.scoping[str(request.id)] = request
        elif item["tag"] == "year":
            if value.get("year") is not None:
                snapshot.highest_reference[value["year"]] = value["n"]
        else:
            snapshot.part_ids.setdefault(value["deal_id"], {}).setdefault(item["tag"], set()).add(value["id"])
