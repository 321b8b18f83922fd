"""The intake job: land files, keep every line, validate, MERGE the good, reject the bad with reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dealdesk import keys
from dealdesk.config import WORKFLOW_KINDS, BusinessRules
from dealdesk.errors import DealDeskError
from dealdesk.frames import insert_rows, materialize, union_all, upsert_rows
from dealdesk.intake import documents as D
from dealdesk.intake import transforms as T
from dealdesk.intake import validation as V
from dealdesk.intake.landing import LandedFile, new_files
from dealdesk.lakehouse import Lakehouse
from dealdesk.ledger import LEDGER, record_outcomes
from dealdesk.rejects import mark_replayed, write_rejections
from dealdesk.rules import concat_reasons, failure, gather
from dealdesk.runs import JobRun, job_run
from dealdesk.status_history import write_status_changes

LINE_SCHEMA = "source_file STRING, line_number BIGINT, payload STRING"
DEAL_KEEP_ON_UPDATE = ("id", "reference_number", "created_at")


def ingest_landing(lakehouse: Lakehouse, landing: Path | str, rules: BusinessRules) -> JobRun:
    """Take every landing file not taken before and process its lines."""
    with job_run(lakehouse, "ingest") as run:
        taken = {r["sha256"] for r in lakehouse.read("landed_files").select("sha256").collect()}
        files = new_files(Path(landing), taken)
        rows = [(f.path, n, line) for f in files for n, line in enumerate(f.lines, start=1) if line.strip()]
        if rows:
            lines = lakehouse.spark.createDataFrame(rows, LINE_SCHEMA)
            process_lines(lakehouse, lines, run, rules)
        _record_files(lakehouse, files, run)
    return run


def _record_files(lakehouse: Lakehouse, files: list[LandedFile], run: JobRun) -> None:
    if not files:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(f.path, f.size_bytes, f.sha256, len(f.lines), run.run_id, now) for f in files]
    schema = (
        "path STRING, size_bytes BIGINT, sha256 STRING, line_count BIGINT, run_id STRING, taken_at TIMESTAMP"
    )
    lakehouse.merge(lakehouse.spark.createDataFrame(rows, schema), "landed_files", ["sha256"])


def process_lines(lakehouse: Lakehouse, lines: DataFrame, run: JobRun, rules: BusinessRules) -> None:
    """Keep every line in raw_documents, then process the documents not accepted before."""
    docs = D.read_envelopes(lines).withColumn("received_at", F.current_timestamp())
    docs = materialize(lakehouse.spark, docs)  # one snapshot of the batch
    fresh, duplicates = _split_duplicates(lakehouse, docs)
    raw = docs.select(*D.RAW_COLUMNS[:-1], F.lit(run.run_id).alias("run_id"))
    lakehouse.merge(raw, "raw_documents", ["source_file", "line_number", "event_id", "payload"])
    count = docs.count()
    run.lines_read += count
    run.rows_merged["raw_documents"] += count
    for row in duplicates.groupBy("kind").count().collect():
        run.accepted_by_kind[f"{row['kind']} (duplicate)"] += row["count"]
    process_documents(lakehouse, fresh, run, rules)


def _split_duplicates(lakehouse: Lakehouse, docs: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(documents to process, duplicates): an event already applied, or repeated within the batch.

    Applied means recorded in processed_events (written after a batch's effects, so a run cut
    short processes its documents again). Workflow documents are only kept here: once kept,
    and not rejected by the decide step, a copy is a duplicate. A rejected event is never a
    duplicate: a corrected copy may follow it.
    """
    batch = docs.select("event_id")
    applied = (
        lakehouse.read(LEDGER)
        .filter(F.col("outcome") == "applied")
        .select("event_id")
        .join(batch, "event_id", "left_semi")
    )
    open_rejects = lakehouse.read("rejected_documents").filter("replayed_at IS NULL").select("event_id")
    kept = (
        lakehouse.read("raw_documents")
        .filter(F.col("kind").isin(*WORKFLOW_KINDS))
        .select("event_id")
        .join(batch, "event_id", "left_semi")
        .join(open_rejects, "event_id", "left_anti")
    )
    seen = applied.unionByName(kept).distinct().withColumn("_seen", F.lit(True))
    order = Window.partitionBy("event_id").orderBy("source_file", "line_number")
    ranked = docs.withColumn("_copy", F.row_number().over(order)).join(seen, "event_id", "left")
    # frozen: once raw_documents is written, every event of the batch would look seen
    flagged = materialize(
        lakehouse.spark,
        ranked.withColumn("_duplicate", (F.col("_copy") > 1) | F.col("_seen").isNotNull()).drop(
            "_copy", "_seen"
        ),
    )
    duplicate = F.col("_duplicate")
    return flagged.filter(~duplicate).drop("_duplicate"), flagged.filter(duplicate).drop("_duplicate")


def process_documents(lakehouse: Lakehouse, fresh: DataFrame, run: JobRun, rules: BusinessRules) -> DataFrame:
    """Validate and apply documents (raw-document rows with envelope errors/warnings); returns accepted ids."""
    rejected = [fresh.filter(F.size("errors") > 0)]
    ok = fresh.filter(F.size("errors") == 0)
    accepted = [ok.filter(F.col("kind").isin(*WORKFLOW_KINDS)).select("event_id", "kind", "occurred_at")]

    for kind, handler in (
        ("user", _users),
        ("advertiser", partial(_companies, agency=False)),
        ("agency", partial(_companies, agency=True)),
        ("scoping_request", _scoping),
        ("deal_submission", _submissions),
    ):
        batch = ok.filter(F.col("kind") == kind)
        if batch.isEmpty():
            continue
        good, bad = handler(lakehouse, batch, run, rules)
        accepted.append(good.select("event_id", "kind", "occurred_at"))
        rejected.append(bad)

    rejected_all = materialize(lakehouse.spark, union_all(rejected, allow_missing=True))
    if not rejected_all.isEmpty():
        write_rejections(lakehouse, rejected_all.withColumnRenamed("errors", "reasons"), run.run_id)
    accepted_all = materialize(lakehouse.spark, union_all(accepted))
    _record_applied(lakehouse, accepted_all.filter(~F.col("kind").isin(*WORKFLOW_KINDS)), run)
    # a corrected copy accepted (or a replay) resolves the event's open rejection
    resolved = materialize(
        lakehouse.spark,
        accepted_all.filter(~F.col("kind").isin(*WORKFLOW_KINDS))
        .select("event_id")
        .join(lakehouse.read("rejected_documents").filter("replayed_at IS NULL"), "event_id", "left_semi"),
    )
    if not resolved.isEmpty():
        mark_replayed(lakehouse, resolved, run.run_id)
    for row in accepted_all.groupBy("kind").count().collect():
        run.accepted_by_kind[row["kind"]] += row["count"]
    for row in rejected_all.groupBy(F.coalesce("kind", F.lit("unreadable")).alias("kind")).count().collect():
        run.rejected_by_kind[row["kind"]] += row["count"]
    return accepted_all


def _record_applied(lakehouse: Lakehouse, accepted: DataFrame, run: JobRun) -> None:
    """Ledger rows for applied intake documents: the last write of a batch, so a cut-short run
    leaves them unrecorded and the next run applies them again (every write is idempotent)."""
    if accepted.isEmpty():
        return
    rows = accepted.select(
        "event_id",
        "kind",
        F.lit(None).cast("string").alias("reference_number"),
        F.lit("applied").alias("outcome"),
        "occurred_at",
        F.lit(run.run_id).alias("run_id"),
        F.current_timestamp().alias("processed_at"),
    )
    record_outcomes(lakehouse, rows)


def _split(batch: DataFrame) -> tuple[DataFrame, DataFrame]:
    frozen = materialize(batch.sparkSession, batch)
    return frozen.filter(F.size("errors") == 0), frozen.filter(F.size("errors") > 0)


def _users(
    lakehouse: Lakehouse, batch: DataFrame, run: JobRun, rules: BusinessRules
) -> tuple[DataFrame, DataFrame]:
    docs = batch.withColumn("doc", F.from_json("payload", D.USER_SCHEMA))
    docs = docs.withColumn("errors", V.user_errors(F.col("doc"))).withColumn(
        "warnings", F.concat("warnings", V.user_warnings(F.col("doc")))
    )
    good, bad = _split(docs)
    rows = T.user_rows(good)
    _upsert_by_business_time(lakehouse, rows, "users")
    run.rows_merged["users"] += rows.count()
    return good, bad.drop("doc")


def _companies(
    lakehouse: Lakehouse, batch: DataFrame, run: JobRun, rules: BusinessRules, *, agency: bool
) -> tuple[DataFrame, DataFrame]:
    """Advertiser or agency documents (the same shape under their own field name)."""
    field, table = ("agency", "agencies") if agency else ("advertiser", "advertisers")
    schema = D.AGENCY_SCHEMA if agency else D.ADVERTISER_SCHEMA
    docs = batch.withColumn("doc", F.from_json("payload", schema))
    docs = docs.withColumn("errors", V.company_errors(F.col(f"doc.{field}"), field, agency=agency))
    good, bad = _split(docs)
    rows = T.company_rows(good, field, agency=agency)
    _upsert_by_business_time(lakehouse, rows, table)
    run.rows_merged[table] += rows.count()
    return good, bad.drop("doc")


def _upsert_by_business_time(lakehouse: Lakehouse, rows: DataFrame, table: str) -> None:
    """Newer events win; an older event arriving late does not overwrite (created_at is kept)."""
    lakehouse.merge(
        rows,
        table,
        ["id"],
        update_columns=[c for c in rows.columns if c not in ("id", "created_at")],
        update_condition="s.updated_at >= t.updated_at",
    )


def _scoping(
    lakehouse: Lakehouse, batch: DataFrame, run: JobRun, rules: BusinessRules
) -> tuple[DataFrame, DataFrame]:
    docs = batch.withColumn("doc", F.from_json("payload", D.SCOPING_SCHEMA))
    docs = docs.withColumn("errors", V.scoping_errors(F.col("doc"), rules))
    good, bad = _split(docs)
    rows = T.scoping_rows(good, rules)
    lakehouse.merge(rows, "deal_scoping_requests", ["id"])  # insert-only: a request is never re-submitted
    run.rows_merged["deal_scoping_requests"] += rows.count()
    return good, bad.drop("doc")


# -- deal submissions --------------------------------------------------------------------
def _submissions(
    lakehouse: Lakehouse, batch: DataFrame, run: JobRun, rules: BusinessRules
) -> tuple[DataFrame, DataFrame]:
    """Process submissions in waves: each wave holds at most one document per reference number, so a
    draft and its promotion (or two resubmissions) in one batch apply in business-time order."""
    docs = (
        batch.withColumn("doc", F.from_json("payload", D.SUBMISSION_SCHEMA))
        .withColumn("given_reference", T.text(F.col("doc.reference_number")))
        # content checks once per batch; a wave picks the draft or the full set by the deal's state
        .transform(V.with_submission_errors(rules))
    )
    order = Window.partitionBy("given_reference").orderBy("occurred_at", "event_id")
    docs = docs.withColumn(
        # new deals first: a promotion or resubmission in the same batch needs its deal to exist
        "wave",
        F.when(F.col("given_reference").isNull(), F.lit(1)).otherwise(F.row_number().over(order) + 1),
    )
    docs = materialize(lakehouse.spark, docs)
    goods, bads = [], []
    waves = sorted(r["wave"] for r in docs.select("wave").distinct().collect())
    for wave in waves:
        wave_docs = docs.filter(F.col("wave") == wave).drop("wave")
        good, bad = _submission_wave(lakehouse, wave_docs, run, rules, new_deals=wave == 1)
        goods.append(good)
        bads.append(bad)
    return union_all(goods), union_all(bads)


def _submission_wave(
    lakehouse: Lakehouse, docs: DataFrame, run: JobRun, rules: BusinessRules, *, new_deals: bool
) -> tuple[DataFrame, DataFrame]:
    spark = lakehouse.spark
    doc = F.col("doc")
    is_draft = F.coalesce(F.lower(F.trim(doc["status"])) == "draft", F.lit(False))
    existing = lakehouse.read("deals").select(
        F.col("reference_number").alias("given_reference"),
        F.col("id").alias("existing_id"),
        F.col("status").alias("existing_status"),
        F.col("revision_count").alias("existing_revision_count"),
        F.col("created_at").alias("existing_created_at"),
        F.col("submitted_at").alias("existing_submitted_at"),
        F.col("draft_expires_at").alias("existing_draft_expires_at"),
        F.col("last_status_change").alias("existing_last_status_change"),
        F.col("source_event_id").alias("existing_event_id"),
    )
    # the event that created the deal a request was converted to: a cut-short run re-applying
    # that very event is not a second conversion
    created_by = (
        lakehouse.read("deal_status_history")
        .filter(F.col("previous_status").isNull())
        .select(F.col("deal_id").alias("converted_deal_id"), F.col("source_event_id").alias("converted_by"))
    )
    requests = (
        lakehouse.read("deal_scoping_requests")
        .join(created_by, "converted_deal_id", "left")
        .select(
            F.col("id").alias("scoping_id"),
            F.col("source_event_id").alias("scoping_event_id"),
            F.col("status").alias("scoping_status"),
            F.col("converted_by"),
        )
    )
    users = lakehouse.read("users").filter("is_active").select(F.col("email").alias("_user_email"))
    advertisers = lakehouse.read("advertisers").select(F.col("id").alias("_advertiser_known"))
    agencies = lakehouse.read("agencies").select(F.col("id").alias("_agency_known"))

    scoping_ref = T.text(doc["scoping_request_id"])
    docs = (
        docs.join(existing, "given_reference", "left")
        .withColumn("scoping_ref", scoping_ref)
        .join(
            requests,
            (F.col("scoping_ref") == F.col("scoping_event_id"))
            | (F.col("scoping_ref") == F.col("scoping_id").cast("string")),
            "left",
        )
        .withColumn("submitter", F.lower(F.trim(doc["submitted_by"])))
        .join(users, F.col("submitter") == F.col("_user_email"), "left")
        .withColumn("advertiser_key", keys.advertiser_id(T.text(doc["deal"]["advertiser_name"])))
        .withColumn("agency_key", keys.agency_id(T.text(doc["deal"]["agency_name"])))
        .join(advertisers, F.col("advertiser_key") == F.col("_advertiser_known"), "left")
        .join(agencies, F.col("agency_key") == F.col("_agency_known"), "left")
    )
    given = F.col("given_reference").isNotNull()
    state_errors = gather(
        failure(
            given & F.col("existing_id").isNull() & F.col("given_reference").rlike(V.REFERENCE),
            "reference_number",
            "known_reference",
            "reference_number is not a known deal; leave it empty for a new deal",
            F.col("given_reference"),
        ),
        failure(
            given
            & F.col("existing_id").isNotNull()
            & ~F.col("existing_status").isin("revision_requested", "draft"),
            "reference_number",
            "resubmission_allowed",
            F.concat(
                F.lit("a deal can be resubmitted only in revision_requested or draft; it is "),
                F.col("existing_status"),
            ),
            F.col("given_reference"),
        ),
        failure(
            scoping_ref.isNotNull() & F.col("scoping_status").isNull(),
            "scoping_request_id",
            "known_scoping_request",
            "scoping_request_id is not a known scoping request",
            scoping_ref,
        ),
        failure(
            (F.col("scoping_status") == "converted")
            & ~F.coalesce(F.col("converted_by") == F.col("event_id"), F.lit(False)),
            "scoping_request_id",
            "not_converted_twice",
            "the scoping request was already converted to a deal",
            scoping_ref,
        ),
    )
    deal = doc["deal"]
    lookup_warnings = gather(
        failure(F.col("_user_email").isNull(), "submitted_by", "known_user", "submitter is not an active user",
                doc["submitted_by"]),
        failure(~V.blank(deal["advertiser_name"]) & F.col("_advertiser_known").isNull(), "deal.advertiser_name",
                "known_advertiser", "advertiser not found in the reference data", deal["advertiser_name"]),
        failure(~V.blank(deal["agency_name"]) & F.col("_agency_known").isNull(), "deal.agency_name",
                "known_agency", "agency not found in the reference data", deal["agency_name"]),
    )  # fmt: skip
    docs = docs.withColumn(
        "is_draft", is_draft & (F.col("existing_status").isNull() | (F.col("existing_status") == "draft"))
    )
    docs = docs.withColumn(
        "errors",
        concat_reasons(
            F.when(F.col("is_draft"), F.col("draft_errors")).otherwise(F.col("full_errors")), state_errors
        ),
    ).withColumn(
        "warnings", concat_reasons(F.col("warnings"), V.submission_warnings(doc, rules), lookup_warnings)
    )
    docs = materialize(spark, docs)
    good = docs.filter(F.size("errors") == 0)
    bad = docs.filter(F.size("errors") > 0).select(
        *[c for c in D.RAW_COLUMNS if c != "run_id"], "errors", "warnings"
    )
    if good.isEmpty():
        return good.select("event_id", "kind", "occurred_at"), bad

    good = _assign_references(lakehouse, good)
    _check_id_collisions(lakehouse, good)
    deals = _deal_rows(good, rules)
    upsert_rows(lakehouse, deals, "deals", keep_on_update=DEAL_KEEP_ON_UPDATE)
    tiers = T.tier_rows(good)
    _write_deal_parts(lakehouse, tiers, "deal_tiers", new_deals=new_deals)
    incentives = T.incentive_rows(good)
    _write_deal_parts(lakehouse, incentives, "incentive_values", new_deals=new_deals)
    changes = (
        good.filter(F.col("existing_status").isNull() | (F.col("existing_status") == "draft"))
        .select(
            "deal_id",
            F.when(F.col("is_draft"), F.lit("draft")).otherwise(F.lit("submitted")).alias("status"),
            F.col("existing_status").alias("previous_status"),
            keys.user_id(F.col("submitter")).alias("performed_by"),
            F.when(F.col("existing_status") == "draft", F.lit("draft submitted")).alias("comments"),
            F.col("event_id").alias("source_event_id"),
            F.col("occurred_at").alias("changed_at"),
            F.lit(1).alias("change_order"),
        )
        # a draft saved again is no change of status
        .filter(F.coalesce(F.col("previous_status"), F.lit("")) != F.col("status"))
    )
    written = write_status_changes(lakehouse, changes)
    # after the history: a cut-short run finds the converting event by the deal's first history row
    _convert_scoping_requests(lakehouse, good)
    for table, frame in (("deals", deals), ("deal_tiers", tiers), ("incentive_values", incentives)):
        run.rows_merged[table] += frame.count()
    run.rows_merged["deal_status_history"] += written
    return good.select("event_id", "kind", "occurred_at"), bad


def _write_deal_parts(lakehouse: Lakehouse, rows: DataFrame, table: str, *, new_deals: bool) -> None:
    """Tiers or incentive lines of a wave's deals. New deals have none yet: insert-only (a re-run
    after a cut-short run finds the same ids and leaves them). A resubmitted or promoted deal's
    rows are replaced, and the ones it no longer has deleted."""
    if new_deals:
        insert_rows(lakehouse, rows, table)
        return
    updated = [c for c in rows.columns if c not in ("id", "created_at")]
    lakehouse.merge(rows, table, ["id"], update_columns=updated, delete_missing_for=["deal_id"])


def highest_reference_numbers(deals: DataFrame) -> DataFrame:
    """(year, last_n): the highest n of the DEAL-<year>-<n> references in ``deals``, per year."""
    parts = r"^DEAL-(\d{4})-(\d+)$"
    return (
        deals.select(
            F.regexp_extract("reference_number", parts, 1).cast("int").alias("year"),
            F.regexp_extract("reference_number", parts, 2).cast("long").alias("n"),
        )
        .groupBy("year")
        .agg(F.max("n").alias("last_n"))
    )


def _assign_references(lakehouse: Lakehouse, good: DataFrame) -> DataFrame:
    """DEAL-<year>-<n>: n continues the highest number used that year, in (submitted_at, event_id) order."""
    used = highest_reference_numbers(lakehouse.read("deals"))
    # A run cut short may have created the deal already: the event keeps the number it got.
    deals = lakehouse.read("deals")
    batch = good.select("event_id")
    by_history = (
        lakehouse.read("deal_status_history")
        .filter(F.col("previous_status").isNull())
        .select(F.col("source_event_id").alias("event_id"), "deal_id")
        .join(batch, "event_id", "left_semi")
        .join(
            deals.select(F.col("id").alias("deal_id"), F.col("reference_number").alias("_by_history")),
            "deal_id",
        )
        .drop("deal_id")
    )
    by_deal = deals.select(
        F.col("source_event_id").alias("event_id"), F.col("reference_number").alias("_by_deal")
    )
    new = (
        good.filter(F.col("given_reference").isNull())
        .join(by_history.join(batch, "event_id", "left_semi"), "event_id", "left")
        .join(by_deal.join(batch, "event_id", "left_semi"), "event_id", "left")
        .withColumn("_made", F.coalesce("_by_history", "_by_deal"))
        .drop("_by_history", "_by_deal")
    )
    again = (
        new.filter(F.col("_made").isNotNull()).withColumn("reference_number", F.col("_made")).drop("_made")
    )
    new = new.filter(F.col("_made").isNull()).drop("_made").withColumn("year", F.year("occurred_at"))
    order = Window.partitionBy("year").orderBy("occurred_at", "event_id")
    numbered = (
        new.join(used, "year", "left")
        .withColumn("n", F.coalesce("last_n", F.lit(0)) + F.row_number().over(order))
        .withColumn("reference_number", F.format_string("DEAL-%d-%03d", F.col("year"), F.col("n")))
        .drop("year", "last_n", "n")
    )
    existing = good.filter(F.col("given_reference").isNotNull()).withColumn(
        "reference_number", F.col("given_reference")
    )
    both = (
        numbered.unionByName(again)
        .unionByName(existing)
        .withColumn("deal_id", keys.deal_id(F.col("reference_number")))
    )
    return materialize(lakehouse.spark, both)


def _check_id_collisions(lakehouse: Lakehouse, good: DataFrame) -> None:
    """Two references hashing to one id would merge two deals: stop instead of assuming it away."""
    clash = (
        good.select(F.col("deal_id").alias("id"), F.col("reference_number").alias("new_reference"))
        .join(lakehouse.read("deals").select("id", "reference_number"), "id")
        .filter(F.col("new_reference") != F.col("reference_number"))
        .first()
    )
    if clash:
        raise DealDeskError(
            f"deal id collision: {clash['new_reference']} and {clash['reference_number']} hash to {clash['id']}"
        )


def _deal_rows(good: DataFrame, rules: BusinessRules) -> DataFrame:
    doc = F.col("doc")
    deal = doc["deal"]
    start, end = V.as_date(deal["term_start_date"]), V.as_date(deal["term_end_date"])
    term = F.coalesce(
        V.derived_contract_term(start, end, rules),
        V.as_number(deal["contract_term"]).cast("int"),
        F.lit(rules.validation.default_contract_term_months),
    )
    resubmission = F.col("existing_status") == "revision_requested"
    applied_already = F.coalesce(F.col("existing_event_id") == F.col("event_id"), F.lit(False))
    value = T.deal_value(doc)
    status = (
        F.when(resubmission, F.lit("revision_requested"))
        .when(F.col("is_draft"), F.lit("draft"))
        .otherwise(F.lit("submitted"))
    )
    expires = F.col("occurred_at") + F.expr(f"INTERVAL {int(rules.validation.draft_lifetime_days)} DAYS")
    return good.select(
        F.col("deal_id").alias("id"),
        F.col("reference_number"),
        F.trim(deal["deal_name"]).alias("deal_name"),
        F.col("submitter").alias("email"),
        T.enum(deal["deal_type"]).alias("deal_type"),
        T.enum(deal["sales_channel"]).alias("sales_channel"),
        T.enum(deal["deal_structure"]).alias("deal_structure"),
        T.enum(deal["region"]).alias("region"),
        T.text(deal["advertiser_name"]).alias("advertiser_name"),
        T.text(deal["agency_name"]).alias("agency_name"),
        F.col("_advertiser_known").alias("advertiser_id"),
        F.col("_agency_known").alias("agency_id"),
        T.text(deal["business_summary"]).alias("business_summary"),
        T.text(deal["growth_opportunity_miq"]).alias("growth_opportunity_miq"),
        T.text(deal["growth_opportunity_client"]).alias("growth_opportunity_client"),
        T.text(deal["client_asks"]).alias("client_asks"),
        V.as_number(deal["growth_ambition"]).alias("growth_ambition"),
        start.alias("term_start_date"),
        end.alias("term_end_date"),
        term.cast("int").alias("contract_term"),
        F.coalesce(V.as_number(deal["previous_year_revenue"]), F.lit(0.0)).alias("previous_year_revenue"),
        F.coalesce(V.as_number(deal["previous_year_margin"]), F.lit(0.0)).alias("previous_year_margin"),
        value.alias("deal_value"),
        T.incentive_cost(doc).alias("total_incentive_cost"),
        T.approval_level(value, rules).alias("required_approval_level"),
        status.alias("status"),
        F.when(F.col("is_draft"), F.lit("submission_draft")).alias("draft_type"),
        # counted once: a run cut short may have stored this very resubmission already
        (
            F.coalesce("existing_revision_count", F.lit(0))
            + F.when(resubmission & ~applied_already, 1).otherwise(0)
        )
        .cast("int")
        .alias("revision_count"),
        F.coalesce(resubmission, F.lit(False)).alias("is_revision"),
        F.lit(None).cast("bigint").alias("parent_submission_id"),
        T.text(doc["revision_reason"]).alias("revision_reason"),
        F.when(resubmission, F.col("occurred_at")).alias("last_revised_at"),
        F.lit(True).alias("can_edit"),
        F.when(F.col("is_draft"), F.coalesce("existing_draft_expires_at", expires)).alias("draft_expires_at"),
        F.when(resubmission, F.col("existing_last_status_change"))
        .otherwise(F.col("occurred_at"))
        .alias("last_status_change"),
        F.coalesce(T.enum(deal["priority"]), F.lit("medium")).alias("priority"),
        F.lit(None).cast("string").alias("flow_intelligence"),
        F.when(F.col("is_draft"), F.lit(None).cast("timestamp"))
        .otherwise(F.coalesce("existing_submitted_at", F.col("occurred_at")))
        .alias("submitted_at"),
        F.to_json("warnings").alias("validation_warnings"),
        F.col("event_id").alias("source_event_id"),
        F.coalesce("existing_created_at", F.col("occurred_at")).alias("created_at"),
        F.col("occurred_at").alias("updated_at"),
    )


def _convert_scoping_requests(lakehouse: Lakehouse, good: DataFrame) -> None:
    conversions = good.filter(F.col("scoping_id").isNotNull()).select(
        F.col("scoping_id").alias("id"),
        F.lit("converted").alias("status"),
        F.col("deal_id").alias("converted_deal_id"),
        F.col("occurred_at").alias("converted_at"),
        F.col("occurred_at").alias("updated_at"),
    )
    if conversions.isEmpty():
        return
    lakehouse.merge(
        conversions,
        "deal_scoping_requests",
        ["id"],
        update_columns=["status", "converted_deal_id", "converted_at", "updated_at"],
        update_condition="t.status = 'pending'",
        insert=False,
    )


# -- replay ---------------------------------------------------------------------------------
def replay(lakehouse: Lakehouse, event_ids: list[str], rules: BusinessRules) -> JobRun:
    """Re-process rejected documents after the reference data they lacked arrived.

    Intake kinds are validated again from their stored payload; approval actions and status
    changes go back to the decide step with their latest landed copy. Accepted ones are
    stamped replayed; the others stay open with their new reasons.
    """
    spark = lakehouse.spark
    wanted = spark.createDataFrame([(e,) for e in dict.fromkeys(event_ids)], "event_id STRING")
    rejected = materialize(spark, lakehouse.read("rejected_documents").join(wanted, "event_id", "left_semi"))
    missing = sorted(set(event_ids) - {r["event_id"] for r in rejected.select("event_id").collect()})
    if missing:
        raise DealDeskError(f"not in rejected_documents: {', '.join(missing)}")
    from dealdesk.workflow.decisions import decide_documents  # the workflow builds on intake

    with job_run(lakehouse, "replay") as run:
        workflow = F.col("kind").isin(*WORKFLOW_KINDS)
        lines = rejected.filter(~F.coalesce(workflow, F.lit(False))).select(
            "source_file", "line_number", "payload"
        )
        docs = materialize(spark, D.read_envelopes(lines).withColumn("received_at", F.current_timestamp()))
        if not docs.isEmpty():
            run.lines_read += docs.count()
            process_documents(lakehouse, docs, run, rules)  # marks the accepted ones replayed
        decisions = rejected.filter(workflow).select("event_id")
        if not decisions.isEmpty():
            latest = Window.partitionBy("event_id").orderBy(F.col("received_at").desc())
            copies = (
                lakehouse.read("raw_documents")
                .join(decisions, "event_id", "left_semi")
                .withColumn("_n", F.row_number().over(latest))
                .filter("_n = 1")
                .drop("_n")
            )
            decide_documents(lakehouse, materialize(spark, copies), run, rules)
    return run


__all__ = ["ingest_landing", "process_lines", "replay"]
