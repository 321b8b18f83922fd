"""Faults, concurrency and re-runs: the tables must end as a clean single run leaves them.

The input is the first two sample days (submissions, reference data, decisions, status
changes, invalid documents) taken by one ``run``. A run cut at any of its writes, then run
again, ends like the clean run: the redo journal finishes what was recorded, and what was
not recorded is decided again from an untouched state.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import FAIL_AT_WRITE, InjectedFault, Lakehouse
from dealdesk.pipeline import journal
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from dealdesk.pipeline.read_models import BY_DEAL, READ_MODELS
from dealdesk.pipeline.runs import JobRun
from tests import invariants
from tests.conftest import copy_of

RULES = BusinessRules()
# Columns that record when or in which run something was processed, not what happened.
PROCESSING_COLUMNS = {
    "received_at", "run_id", "rejected_at", "replay_run_id", "taken_at", "processed_at",
    "refreshed_at", "decided_at",  # the app's read models: when a run wrote them
}  # fmt: skip
# Per table, columns that say when a row was written, not what it says: the departments seeded at
# migration, and the state each run leaves for the next (its clock and monitoring time compared).
WRITTEN_AT_COLUMNS = {"approval_departments": {"created_at", "updated_at"}, "run_state": {"updated_at"}}
# The runs' own bookkeeping: compared by what it must say, not row by row.
BOOKKEEPING = {"job_runs", "schema_migrations", "run_journal", "run_lock"}

# Every table write of a clean run, in order (the cut points).
WRITES = [
    "MERGE run_lock",
    "MERGE job_runs",  # running, before its first write
    "APPEND raw_documents",
    "APPEND run_journal",
    "MERGE users",
    "MERGE advertisers",
    "MERGE agencies",
    # new rows appended by the run that decided them; updates merged
    "APPEND deal_scoping_requests",
    "MERGE deal_scoping_requests",
    "APPEND deals",
    "APPEND deal_tiers",
    "APPEND incentive_values",
    "APPEND deal_approvals",
    "APPEND approval_fingerprints",
    "APPEND approval_actions",
    "APPEND notifications",
    "APPEND deal_status_history",
    "MERGE rejected_documents",
    "APPEND processed_events",
    "APPEND landed_files",
    # the app's read models: every row of a deal new to them appended; the other models' rows
    # replaced, each as a delete and an insert on this engine
    *(f"APPEND {model}" for model in BY_DEAL),
    *(f"MERGE {model}" for model in READ_MODELS if model not in BY_DEAL for _ in range(2)),
    "MERGE run_journal",
    "MERGE run_state",
    "MERGE run_lock",
    "MERGE job_runs",
]


def business_snapshot(lakehouse: Lakehouse) -> dict[str, list[tuple]]:
    """Every table's rows without the processing-time columns."""
    result = {}
    for table in lakehouse.table_names():
        if table in BOOKKEEPING:
            continue
        frame = lakehouse.read(table)
        skip = PROCESSING_COLUMNS | WRITTEN_AT_COLUMNS.get(table, set())
        columns = [c for c in frame.columns if c not in skip]
        result[table] = sorted((tuple(r) for r in frame.select(*columns).collect()), key=repr)
    return result


def assert_same_tables(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    """Equal snapshots, or a message naming each differing table and its extra and missing rows."""
    problems = []
    for table in sorted(set(actual) | set(expected)):
        got, want = actual.get(table, []), expected.get(table, [])
        if got != want:
            extra = [r for r in got if r not in want][:3]
            missing = [r for r in want if r not in got][:3]
            problems.append(f"{table}: {len(got)} rows vs {len(want)}; extra {extra}; missing {missing}")
    assert not problems, "\n".join(problems)


def run(lakehouse: Lakehouse, landing: Path) -> JobRun:
    return run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)[0]


def two_runs_at_once(one_run: Callable[[], JobRun]) -> tuple[list[JobRun], list[BaseException]]:
    """Start ``one_run`` in two threads at the same moment; their results and failures."""
    failures: list[BaseException] = []
    results: list[JobRun] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            results.append(one_run())
        except BaseException as exc:  # reported by the caller's assertion
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("landing")
    for day in sample_days()[:2]:
        shutil.copytree(day, folder / day.name)
    return folder


@dataclass
class CleanRun:
    tables: dict[str, list[tuple]]
    writes: list[str]
    run: JobRun


@pytest.fixture(scope="module")
def clean(landing: Path, lakehouse_home: Path, prepared_schema: str) -> CleanRun:
    lakehouse = copy_of(lakehouse_home, prepared_schema, "rel")
    Lakehouse.writes.clear()
    result = run(lakehouse, landing)
    invariants.check(lakehouse)
    return CleanRun(business_snapshot(lakehouse), list(Lakehouse.writes), result)


def test_the_cut_points_are_every_write_of_a_run(clean: CleanRun):
    assert clean.writes == WRITES
    assert clean.run.rejected > 0 and clean.run.accepted > 0
    assert clean.run.lines_read == clean.run.accepted + clean.run.rejected


# Cut in `make test`: the raw lines landed and nothing decided; the journal written and no
# effect; in the middle of the effects; the files marked taken; the first read model; the journal
# marked applied. Every other write: `make test-exhaustive`.
SAMPLE_CUTS = {
    "APPEND raw_documents", "APPEND run_journal", "APPEND deal_approvals", "APPEND landed_files",
    f"APPEND {BY_DEAL[0]}", "MERGE run_journal",
}  # fmt: skip


@pytest.mark.parametrize(
    "cut_at",
    [
        pytest.param(n, id=f"{n}-{w.split()[1]}", marks=() if w in SAMPLE_CUTS else pytest.mark.exhaustive)
        for n, w in enumerate(WRITES, 1)
    ],
)
def test_a_run_cut_at_a_write_then_run_again_ends_like_a_clean_run(
    cut_at: int,
    clean: CleanRun,
    landing: Path,
    lakehouse_home: Path,
    prepared_schema: str,
    monkeypatch: pytest.MonkeyPatch,
):
    lakehouse = copy_of(lakehouse_home, prepared_schema, "cut")
    Lakehouse.writes.clear()
    monkeypatch.setenv(FAIL_AT_WRITE, str(cut_at))
    with pytest.raises(InjectedFault, match=f"at write {cut_at} \\({WRITES[cut_at - 1]}\\)"):
        run(lakehouse, landing)
    monkeypatch.delenv(FAIL_AT_WRITE)
    run(lakehouse, landing)
    assert_same_tables(business_snapshot(lakehouse), clean.tables)
    invariants.check(lakehouse)
    unfinished = lakehouse.read("run_journal").filter(F.col("applied_at").isNull()).count()
    assert unfinished == 0


def test_two_runs_at_the_same_time_lose_and_double_nothing(
    clean: CleanRun, landing: Path, lakehouse_home: Path, prepared_schema: str
):
    lakehouse = copy_of(lakehouse_home, prepared_schema, "two")
    results, failures = two_runs_at_once(lambda: run(lakehouse, landing))
    assert failures == []
    assert_same_tables(business_snapshot(lakehouse), clean.tables)
    invariants.check(lakehouse)
    # one run took the files; the other, waiting for the lock, found nothing new
    assert sorted(r.lines_read for r in results) == [0, clean.run.lines_read]


def test_three_runs_on_the_same_input_leave_every_table_as_the_first(
    landing: Path, lakehouse_home: Path, prepared_schema: str
):
    lakehouse = copy_of(lakehouse_home, prepared_schema, "three")
    run(lakehouse, landing)
    first = business_snapshot(lakehouse)
    again = [run(lakehouse, landing) for _ in range(2)]
    assert business_snapshot(lakehouse) == first
    assert [(r.lines_read, sum(r.rows_merged.values())) for r in again] == [(0, 0), (0, 0)]


# A run that changes deals the read models already show: their rows are deleted by deal id and
# appended again on this engine.
REPLACED_READ_MODEL_WRITES = [w for model in BY_DEAL for w in (f"MERGE {model}", f"APPEND {model}")]


@dataclass
class LaterRun:
    day_one: Path  # the first sample day alone: the first run
    tables: dict[str, list[tuple]]  # after the first run, then the second on both days
    writes: list[str]  # the second run's


@pytest.fixture(scope="module")
def later(landing: Path, lakehouse_home: Path, prepared_schema: str, tmp_path_factory) -> LaterRun:
    day_one = tmp_path_factory.mktemp("day_one")
    shutil.copytree(sample_days()[0], day_one / sample_days()[0].name)
    lakehouse = copy_of(lakehouse_home, prepared_schema, "later")
    run(lakehouse, day_one)
    Lakehouse.writes.clear()
    run(lakehouse, landing)
    invariants.check(lakehouse)
    return LaterRun(day_one, business_snapshot(lakehouse), list(Lakehouse.writes))


def test_a_run_that_changes_shown_deals_replaces_their_read_model_rows(later: LaterRun):
    assert [w for w in later.writes if w in REPLACED_READ_MODEL_WRITES] == REPLACED_READ_MODEL_WRITES


# cut after a deal's rows were deleted and before they are appended again, for the first model and the last
@pytest.mark.parametrize("write", ["APPEND app_deals", "APPEND app_deal_history"])
def test_a_run_cut_while_replacing_read_model_rows_then_run_again_ends_like_a_clean_run(
    write: str, later: LaterRun, landing: Path, lakehouse_home: Path, prepared_schema: str, monkeypatch
):
    lakehouse = copy_of(lakehouse_home, prepared_schema, "cutlater")
    Lakehouse.writes.clear()
    run(lakehouse, later.day_one)
    cut_at = len(Lakehouse.writes) + later.writes.index(write) + 1
    monkeypatch.setenv(FAIL_AT_WRITE, str(cut_at))
    with pytest.raises(InjectedFault, match=f"at write {cut_at} \\({write}\\)"):
        run(lakehouse, landing)
    monkeypatch.delenv(FAIL_AT_WRITE)
    run(lakehouse, landing)
    assert_same_tables(business_snapshot(lakehouse), later.tables)
    invariants.check(lakehouse)


def test_a_live_lease_of_another_run_is_waited_for_then_refused_with_one_line(
    lakehouse_home: Path, prepared_schema: str
):
    lakehouse = copy_of(lakehouse_home, prepared_schema, "lock")
    journal.acquire(lakehouse, "someone-else")  # a run still holding the lease
    with pytest.raises(DealDeskError, match=r"another run \(someone-else\) is processing this lakehouse"):
        journal.acquire(lakehouse, "me", wait_seconds=1)
    journal.release(lakehouse, "someone-else")
    journal.acquire(lakehouse, "me", wait_seconds=1)
    held = lakehouse.read("run_lock").collect()
    assert [(r["owner"], r["expires_at"] - r["acquired_at"]) for r in held] == [("me", journal.LEASE)]
    assert timedelta(0) < journal.LEASE
