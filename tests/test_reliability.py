"""Faults, concurrency and re-runs: the tables must end as a clean single run leaves them.

The input is the first two sample days (submissions, reference data, decisions, status
changes, invalid documents) processed by one ``run_pipeline``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.config import BusinessRules
from dealdesk.intake import ingest_landing
from dealdesk.lakehouse import FAIL_AT_WRITE, InjectedFault, Lakehouse
from dealdesk.ledger import LEDGER
from dealdesk.migrations import MigrationRunner
from dealdesk.workflow import decisions
from dealdesk.workflow.commands import sample_days
from dealdesk.workflow.jobs import (
    LATEST_EVENT,
    business_clock,
    decide_pending,
    monitor_deals,
    route_deals,
    run_pipeline,
)
from tests import invariants
from tests.conftest import new_target
from tests.workflow_builders import snapshot

RULES = BusinessRules()
# Columns that record when or in which run something was processed, not what happened.
PROCESSING_COLUMNS = {"received_at", "run_id", "rejected_at", "replay_run_id", "taken_at", "processed_at"}
SEEDED_AT_MIGRATION = {"approval_departments": {"created_at", "updated_at"}}
JOBS = ("ingest", "route", "decide", "monitor")


def business_snapshot(lakehouse: Lakehouse) -> dict[str, list[tuple]]:
    """Every table's rows without the processing-time columns (job_runs and the DDL ledger left out)."""
    result = {}
    for table in lakehouse.table_names():
        if table in ("job_runs", "schema_migrations"):
            continue
        frame = lakehouse.read(table)
        skip = PROCESSING_COLUMNS | SEEDED_AT_MIGRATION.get(table, set())
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


def fresh(home: Path) -> Lakehouse:
    lakehouse = Lakehouse.open(new_target(home, "rel"))
    MigrationRunner(lakehouse).migrate()
    return lakehouse


def run(lakehouse: Lakehouse, landing: Path) -> None:
    run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("landing")
    for day in sample_days()[:2]:
        shutil.copytree(day, folder / day.name)
    return folder


@dataclass
class CleanRun:
    tables: dict[str, list[tuple]]
    writes: list[tuple[str, str]]  # (job, write) in order


@pytest.fixture(scope="module")
def clean(landing: Path, lakehouse_home: Path) -> CleanRun:
    lakehouse = fresh(lakehouse_home)
    Lakehouse.writes.clear()
    run(lakehouse, landing)
    invariants.check(lakehouse)
    return CleanRun(
        business_snapshot(lakehouse), list(zip(_jobs_of(Lakehouse.writes), Lakehouse.writes, strict=True))
    )


def _jobs_of(writes: list[str]) -> Iterator[str]:
    """Which job made each write: every job writes its job_runs row first and last."""
    marks = 0
    for write in writes:
        job = JOBS[min(marks // 2, len(JOBS) - 1)]
        if write == "MERGE job_runs":
            marks += 1
        yield job


CUT_POINTS = [
    ("ingest", "MERGE raw_documents"),
    ("ingest", "MERGE users"),
    ("ingest", "MERGE deals"),
    ("ingest", "MERGE deal_tiers"),
    ("ingest", "MERGE incentive_values"),
    ("ingest", "MERGE deal_status_history"),
    ("ingest", "MERGE rejected_documents"),
    ("ingest", "MERGE processed_events"),
    ("ingest", "MERGE landed_files"),
    ("route", "MERGE deal_approvals"),
    ("route", "MERGE approval_actions"),
    ("route", "MERGE deals"),
    ("route", "MERGE deal_status_history"),
    ("decide", "MERGE deal_approvals"),
    ("decide", "MERGE approval_actions"),
    ("decide", "MERGE deals"),
    ("decide", "MERGE deal_status_history"),
    ("decide", "MERGE rejected_documents"),
    ("decide", "MERGE processed_events"),
    ("monitor", "MERGE deals"),
]


@pytest.mark.parametrize(("job", "write"), CUT_POINTS, ids=[f"{j}-{w.split()[1]}" for j, w in CUT_POINTS])
def test_a_run_cut_at_a_write_then_run_again_ends_like_a_clean_run(
    job: str,
    write: str,
    clean: CleanRun,
    landing: Path,
    lakehouse_home: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    assert (job, write) in clean.writes, f"the pipeline no longer makes {write} in {job}"
    cut_at = clean.writes.index((job, write)) + 1
    lakehouse = fresh(lakehouse_home)
    Lakehouse.writes.clear()
    monkeypatch.setenv(FAIL_AT_WRITE, str(cut_at))
    with pytest.raises(InjectedFault, match=f"at write {cut_at} \\({write}\\)"):
        run(lakehouse, landing)
    monkeypatch.delenv(FAIL_AT_WRITE)
    run(lakehouse, landing)
    assert_same_tables(business_snapshot(lakehouse), clean.tables)
    invariants.check(lakehouse)


def test_two_runs_at_the_same_time_lose_and_double_nothing(
    clean: CleanRun, landing: Path, lakehouse_home: Path
):
    lakehouse = fresh(lakehouse_home)
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            run(lakehouse, landing)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert_same_tables(business_snapshot(lakehouse), clean.tables)
    invariants.check(lakehouse)


def test_a_decide_run_overtaken_by_another_run_after_its_ledger_read_changes_nothing(
    clean: CleanRun, landing: Path, lakehouse_home: Path, monkeypatch: pytest.MonkeyPatch
):
    """An interleaving two runs at once can produce: run B reads the ledger, then run A decides
    the same documents and monitors (moving some deals' updated_at on), and only then does B
    read the deals and decide. B finds A's history rows and must not take them for the marks
    of a run cut short: deciding again from there would write A's older state back."""
    lakehouse = fresh(lakehouse_home)
    ingest_landing(lakehouse, landing, RULES)
    route_deals(lakehouse, RULES)
    apply_batch = decisions._KindBatch.apply
    overtaken = []

    def run_a_first(batch: decisions._KindBatch, events: DataFrame, kind: str) -> None:
        if not overtaken:
            overtaken.append(kind)
            decide_pending(lakehouse, RULES)
            monitor_deals(lakehouse, RULES, business_clock(lakehouse))
        apply_batch(batch, events, kind)

    monkeypatch.setattr(decisions._KindBatch, "apply", run_a_first)
    run_b = decide_pending(lakehouse, RULES)
    assert overtaken, "run B never reached its batches"
    assert_same_tables(business_snapshot(lakehouse), clean.tables)
    decided = lakehouse.read(LEDGER).filter(F.col("kind").isin(*decisions.DECISION_KINDS))
    applied = decided.filter(F.col("outcome") == "applied").count()
    assert sum(run_b.accepted_by_kind.values()) == applied


def test_a_decide_run_that_read_deals_another_run_then_moved_on_writes_nothing_over_them(
    clean: CleanRun, landing: Path, lakehouse_home: Path, monkeypatch: pytest.MonkeyPatch
):
    """The other interleaving: run A has written its status changes but not its ledger when
    run B reads the deals; A then records its ledger and monitors; B writes last. B's rows
    carry the version B read, which A's monitoring changed: they must not land."""
    lakehouse = fresh(lakehouse_home)
    ingest_landing(lakehouse, landing, RULES)
    route_deals(lakehouse, RULES)
    a_paused, b_has_read, a_done = threading.Event(), threading.Event(), threading.Event()
    ledger_writes: list[int] = []
    record, write = decisions.record_outcomes, decisions._KindBatch.write

    def a_pauses_before_its_last_ledger_write(lh: Lakehouse, rows: DataFrame) -> int:
        if threading.current_thread().name == "A":
            ledger_writes.append(1)
            if len(ledger_writes) == 2:  # actions, then status changes
                a_paused.set()
                assert b_has_read.wait(300), "run B never reached its write"
        return record(lh, rows)

    def b_writes_after_a(batch: decisions._KindBatch, *args, **kwargs) -> None:
        if threading.current_thread().name == "B":
            b_has_read.set()
            assert a_done.wait(300), "run A never finished"
        write(batch, *args, **kwargs)

    monkeypatch.setattr(decisions, "record_outcomes", a_pauses_before_its_last_ledger_write)
    monkeypatch.setattr(decisions._KindBatch, "write", b_writes_after_a)
    failures: list[BaseException] = []

    def run_a() -> None:
        try:
            decide_pending(lakehouse, RULES)
            monitor_deals(lakehouse, RULES, business_clock(lakehouse))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            a_paused.set()
            a_done.set()

    def run_b() -> None:
        try:
            assert a_paused.wait(300), "run A never paused"
            decide_pending(lakehouse, RULES)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            b_has_read.set()

    threads = [threading.Thread(target=run_a, name="A"), threading.Thread(target=run_b, name="B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(ledger_writes) == 2
    assert_same_tables(business_snapshot(lakehouse), clean.tables)


def test_three_runs_on_the_same_input_leave_every_table_as_the_first(landing: Path, lakehouse_home: Path):
    lakehouse = fresh(lakehouse_home)
    run(lakehouse, landing)
    first = snapshot(lakehouse)
    run(lakehouse, landing)
    run(lakehouse, landing)
    assert snapshot(lakehouse) == first
