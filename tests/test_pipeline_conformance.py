"""The processing job on every engine: the embedded one and Apache Spark with Delta Lake.

The sample days go through ``run`` as ``make demo`` takes them (one run per day on the embedded
engine, two runs on Spark; monitoring as of the latest event): intake with its rejects, the
routing ladder and departments, decisions, the status machine and its history, resubmissions
and monitoring. On each engine the tables
keep the invariants, one run over all days ends as day by day (batching invariance), a re-run
changes nothing, a run cut at a sample of its writes and run again ends as a clean run, two
runs at once lose and double nothing, and a replay takes a document once its data arrived (on
Spark these four, and one run over all days, in ``make test-exhaustive``: `make test` proves them
on the embedded engine, and its Spark runs take the days in two batches, not five). On
Spark every table and every view then equals what the embedded engine leaves (chispa).

Every lakehouse here is a folder copy of one migrated per engine and session (``built``):
migrating on Spark takes minutes, copying its folder a moment.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.ddl import discover_views
from dealdesk.lakehouse.gateway import FAIL_AT_WRITE, InjectedFault, Lakehouse
from dealdesk.pipeline.ingest import ingest_landing, replay
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from dealdesk.pipeline.runs import JobRun
from tests import invariants
from tests.conftest import Built, copy_of
from tests.intake_builders import reference_data, scoping_request, submission, write_jsonl
from tests.test_reliability import (
    BOOKKEEPING,
    PROCESSING_COLUMNS,
    WRITES,
    WRITTEN_AT_COLUMNS,
    assert_same_tables,
    business_snapshot,
    two_runs_at_once,
)

pytestmark = pytest.mark.conformance
RULES = BusinessRules()
# A sample of the cut points (tests/test_reliability.py cuts at every one on the embedded engine):
# after the journal is written and before any effect; in the middle of the effects.
CUT_AT = [WRITES.index("APPEND run_journal") + 1, WRITES.index("APPEND deal_approvals") + 1]


def run(lakehouse: Lakehouse, landing: Path) -> JobRun:
    return run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)[0]


def document_lines(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.jsonl") for line in p.read_bytes().splitlines() if line.strip())


@dataclass
class DayByDay:
    lakehouse: Lakehouse
    landing: Path  # every sample day, as the last run found it
    runs: list[JobRun]
    tables: dict[str, list[tuple]]


def sample_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One landing folder for every engine: the tables record the files' paths (a line without an
    event id is known by its file and line), so the engines must land the days at the same path."""
    return tmp_path_factory.getbasetemp() / "sample_landing"


def day_groups(engine: str) -> list[list[Path]]:
    """The sample days as the runs take them: one run per day on the embedded engine (``make
    demo``); on Spark, where a run costs half a minute, two runs (days 1-2, then 3-5), so that the
    second reads and updates what the first wrote and the batching differs from the embedded
    engine's reference."""
    days = sample_days()
    return [[day] for day in days] if engine == "local" else [days[:2], days[2:]]


def run_day_by_day(lakehouse: Lakehouse, landing: Path, groups: list[list[Path]]) -> list[JobRun]:
    """Each group of sample days copied into ``landing`` (emptied first), a run after each.
    Every caller ends with the same files in the folder."""
    shutil.rmtree(landing, ignore_errors=True)
    runs = []
    for group in groups:
        for day in group:
            shutil.copytree(day, landing / day.name)
        runs.append(run(lakehouse, landing))
    return runs


@pytest.fixture(scope="module")
def day_by_day(engine: str, built: Built, tmp_path_factory: pytest.TempPathFactory) -> DayByDay:
    lakehouse = copy_of(built.home, built.pristine, "days", engine)
    landing = sample_landing(tmp_path_factory)
    runs = run_day_by_day(lakehouse, landing, day_groups(engine))
    return DayByDay(lakehouse, landing, runs, business_snapshot(lakehouse))


def test_the_sample_days_keep_every_invariant_and_keep_each_bad_document_with_its_reasons(
    day_by_day: DayByDay,
):
    invariants.check(day_by_day.lakehouse)
    runs = day_by_day.runs
    assert sum(r.lines_read for r in runs) == document_lines(day_by_day.landing)
    assert all(r.lines_read == r.accepted + r.rejected for r in runs)
    rejected = day_by_day.lakehouse.read("rejected_documents")
    assert rejected.count() == sum(r.rejected for r in runs) > 0
    # every rejected document says why: at least one reason naming a field and a rule
    without_reason = rejected.filter(F.col("reasons").isNull() | ~F.col("reasons").contains('"rule"'))
    assert without_reason.count() == 0
    statuses = {r["status"] for r in day_by_day.lakehouse.read("deals").select("status").collect()}
    assert {"under_review", "approved", "signed", "lost"} <= statuses  # decisions and status changes applied


@pytest.mark.conformance(exhaustive_on=["spark"])  # Spark: the sample days in two runs already equal five
def test_all_days_in_one_run_end_as_day_by_day(engine: str, built: Built, day_by_day: DayByDay):
    lakehouse = copy_of(built.home, built.pristine, "once", engine)
    result = run(lakehouse, day_by_day.landing)
    assert result.lines_read == document_lines(day_by_day.landing)
    assert_same_tables(business_snapshot(lakehouse), day_by_day.tables)


def test_a_rerun_on_the_same_input_changes_nothing(day_by_day: DayByDay):
    again = run(day_by_day.lakehouse, day_by_day.landing)
    assert (again.lines_read, sum(again.rows_merged.values())) == (0, 0)
    assert_same_tables(business_snapshot(day_by_day.lakehouse), day_by_day.tables)


@pytest.mark.conformance(exhaustive_on=["spark"])
@pytest.mark.parametrize("cut_at", CUT_AT, ids=[f"{n}-{WRITES[n - 1].split()[1]}" for n in CUT_AT])
def test_a_run_cut_at_a_write_then_run_again_ends_like_a_clean_run(
    cut_at: int, engine: str, built: Built, day_by_day: DayByDay, monkeypatch: pytest.MonkeyPatch
):
    lakehouse = copy_of(built.home, built.pristine, "cut", engine)
    Lakehouse.writes.clear()
    monkeypatch.setenv(FAIL_AT_WRITE, str(cut_at))
    with pytest.raises(InjectedFault, match=f"at write {cut_at} \\({WRITES[cut_at - 1]}\\)"):
        run(lakehouse, day_by_day.landing)
    monkeypatch.delenv(FAIL_AT_WRITE)
    run(lakehouse, day_by_day.landing)
    assert_same_tables(business_snapshot(lakehouse), day_by_day.tables)
    assert lakehouse.read("run_journal").filter(F.col("applied_at").isNull()).count() == 0


@pytest.mark.conformance(exhaustive_on=["spark"])
def test_two_runs_at_the_same_time_lose_and_double_nothing(engine: str, built: Built, day_by_day: DayByDay):
    lakehouse = copy_of(built.home, built.pristine, "two", engine)
    results, failures = two_runs_at_once(lambda: run(lakehouse, day_by_day.landing))
    assert failures == []
    assert_same_tables(business_snapshot(lakehouse), day_by_day.tables)
    # one run took the files; the other, waiting for the lease, found nothing new
    assert sorted(r.lines_read for r in results) == [0, document_lines(day_by_day.landing)]


@pytest.mark.conformance(exhaustive_on=["spark"])
def test_a_replay_takes_a_rejected_document_once_its_data_arrived(engine: str, built: Built, tmp_path: Path):
    lakehouse = copy_of(built.home, built.pristine, "replay", engine)
    request = scoping_request()
    early = submission(scoping_request_id=request["event_id"])  # rejected: its scoping request is unknown
    landing = tmp_path / "landing"
    write_jsonl(landing, "1.jsonl", [*reference_data(), early])
    assert ingest_landing(lakehouse, landing, RULES).rejected == 1
    write_jsonl(landing, "2.jsonl", [request])
    ingest_landing(lakehouse, landing, RULES)
    assert replay(lakehouse, [early["event_id"]], RULES).accepted == 1
    stamped = lakehouse.read("rejected_documents").filter(F.col("event_id") == early["event_id"])
    assert [r["replay_run_id"] is not None for r in stamped.collect()] == [True]
    deal = lakehouse.read("deals").filter(F.col("source_event_id") == early["event_id"])
    assert deal.select("status").collect()[0]["status"] == "under_review"


# -- Spark against the embedded engine --------------------------------------------------------------


@dataclass
class Reference:
    lakehouse: Lakehouse


@pytest.fixture(scope="module")
def embedded_days(
    lakehouse_home: Path, prepared_schema: str, tmp_path_factory: pytest.TempPathFactory
) -> Reference:
    """The same sample days taken by the embedded engine: the reference for the other engines."""
    lakehouse = copy_of(lakehouse_home, prepared_schema, "reference")
    run_day_by_day(lakehouse, sample_landing(tmp_path_factory), day_groups("local"))
    return Reference(lakehouse)


# View columns measured up to current_timestamp() (or aggregated from such): they differ between
# any two reads.
HOURS_UNTIL_NOW = {
    "hours_past_due", "age_hours", "hours_until_due", "hours_in_status", "oldest_open_hours", "median_hours",
    "p90_hours",
}  # fmt: skip


# View columns that say when or in which run a document was processed, not what happened.
WHEN_PROCESSED = PROCESSING_COLUMNS | {"rejected_day", "replayed_at"}


def business_frame(lakehouse: Lakehouse, table: str) -> DataFrame:
    frame = lakehouse.read(table)
    skip = PROCESSING_COLUMNS | WRITTEN_AT_COLUMNS.get(table, set())
    return frame.select(*sorted(c for c in frame.columns if c not in skip))


@pytest.mark.conformance(engines=["spark"])
def test_every_table_on_spark_equals_the_embedded_engine(day_by_day: DayByDay, embedded_days: Reference):
    spark, reference = day_by_day.lakehouse, embedded_days.lakehouse
    tables = [t for t in spark.table_names() if t not in BOOKKEEPING]
    assert tables == [t for t in reference.table_names() if t not in BOOKKEEPING]
    for table in tables:
        actual = business_frame(spark, table)
        expected = spark.spark.createDataFrame(business_frame(reference, table).collect(), actual.schema)
        assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.conformance(engines=["spark"])
def test_every_view_on_spark_equals_the_embedded_engine(day_by_day: DayByDay, embedded_days: Reference):
    spark, reference = day_by_day.lakehouse, embedded_days.lakehouse
    views = sorted(view.name for view in discover_views())
    assert views and views == sorted(spark.view_names())
    for view in views:
        kept = [c for c in spark.read(view).columns if c not in HOURS_UNTIL_NOW | WHEN_PROCESSED]
        actual = spark.read(view).select(*kept)
        expected = spark.spark.createDataFrame(reference.read(view).select(*kept).collect(), actual.schema)
        # percentile() interpolates with float operations in another order: the last digits differ
        assert_approx_df_equality(actual, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.conformance(engines=["spark"])
def test_a_home_written_by_spark_opens_on_the_embedded_engine(built: Built, day_by_day: DayByDay):
    written = day_by_day.lakehouse.target
    embedded = copy_of(built.home, written.schema, "opened", engine="local")
    assert_same_tables(business_snapshot(embedded), day_by_day.tables)
