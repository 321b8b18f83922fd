"""The app's read path: read models kept by every run, copied to a real PostgreSQL, read as the app.

A home with a serving database (``open_serving``) gets the read models after each run; the
copy equals the lakehouse's read models (chispa) and those equal what a rebuild from the tables
gives; row-level security shows each person what the seed says, through a real client; a run
cut between its Delta writes and its sync, or a sync cut short, leaves the next run's copy equal
to the lakehouse.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame

from dealdesk.cli.main import main
from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import FAIL_AT_WRITE, InjectedFault, Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.lakehouse.postgres import OWNER, LocalServer
from dealdesk.pipeline import read_models
from dealdesk.pipeline import serve as sync
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from dealdesk.pipeline.read_models import KEYS, READ_MODELS
from tests.conftest import new_target
from tests.test_reliability import WRITES

RULES = BusinessRules()
ADMIN, SELLER, FINANCE = "admin@example.com", "sam.seller@example.com", "finance.reviewer@example.com"
WHEN_WRITTEN = ["refreshed_at"]  # when a run wrote a row, not what it holds


@pytest.fixture(scope="module")
def serving_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home of its own (a server makes every run in its home sync), stopped at the end."""
    home = tmp_path_factory.mktemp("serving_home")
    yield home
    LocalServer(home).stop()


def new_lakehouse(home: Path) -> Lakehouse:
    lakehouse = Lakehouse.open(new_target(home, "srv"))
    MigrationRunner(lakehouse).migrate()
    return lakehouse


def run_days(lakehouse: Lakehouse, landing: Path, days: list[Path]) -> None:
    for day in days:
        shutil.copytree(day, landing / day.name, dirs_exist_ok=True)
        run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)


def app_url(lakehouse: Lakehouse) -> str:
    return LocalServer(lakehouse.target.home).url(database=sync.database_of(lakehouse))


def owner_url(lakehouse: Lakehouse) -> str:
    return LocalServer(lakehouse.target.home).url(OWNER, database=sync.database_of(lakehouse))


def served(lakehouse: Lakehouse, model: str) -> DataFrame:
    """A serving table as a DataFrame with its read model's schema (jsonb back to JSON text)."""
    table, columns = sync.TABLES[model]
    schema = lakehouse.read(model).select(*columns).schema
    with psycopg.connect(owner_url(lakehouse)) as conn:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM app.{table}").fetchall()
    jsonb = [i for i, kind in enumerate(columns.values()) if kind == "jsonb"]
    fixed = [
        tuple(
            json.dumps(v, separators=(",", ":"), sort_keys=True) if i in jsonb and v is not None else v
            for i, v in enumerate(r)
        )
        for r in rows
    ]
    return lakehouse.spark.createDataFrame(fixed, schema)


def stored(lakehouse: Lakehouse, model: str) -> DataFrame:
    """A read model as the serving copy holds it (JSON text normalised the way PostgreSQL does)."""
    _table, columns = sync.TABLES[model]
    frame = lakehouse.read(model).select(*columns)
    jsonb = [name for name, kind in columns.items() if kind == "jsonb"]
    rows = [
        tuple(
            json.dumps(json.loads(r[c]), separators=(",", ":"), sort_keys=True)
            if c in jsonb and r[c] is not None
            else r[c]
            for c in columns
        )
        for r in frame.collect()
    ]
    return lakehouse.spark.createDataFrame(rows, frame.schema)


def assert_served_equals_lakehouse(lakehouse: Lakehouse) -> None:
    for model in READ_MODELS:
        assert_df_equality(
            served(lakehouse, model), stored(lakehouse, model), ignore_row_order=True, ignore_nullable=True
        )


def assert_read_models_equal_a_rebuild(lakehouse: Lakehouse) -> None:
    """What runs kept incrementally equals the read models written whole from the tables."""
    rebuilt = read_models.ReadModels(lakehouse, datetime(2000, 1, 1)).frames(None)
    for model, frame in rebuilt.items():
        assert_df_equality(
            lakehouse.read(model).drop(*WHEN_WRITTEN),
            frame.drop(*WHEN_WRITTEN),
            ignore_row_order=True,
            ignore_column_order=True,
            ignore_nullable=True,
        )


@pytest.fixture(scope="module")
def demo_days(serving_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lakehouse = new_lakehouse(serving_home)
    sync.open_serving(lakehouse)
    run_days(lakehouse, tmp_path_factory.mktemp("landing"), sample_days())
    return lakehouse


# -- the copy equals the lakehouse ----------------------------------------------------------------------


def test_every_run_brings_the_read_models_over_equal_to_the_lakehouse(demo_days: Lakehouse):
    assert_served_equals_lakehouse(demo_days)
    assert_read_models_equal_a_rebuild(demo_days)


def test_the_read_models_show_the_lakehouse_tables(demo_days: Lakehouse):
    deals = {r["reference_number"]: r["status"] for r in demo_days.read("deals").collect()}
    with psycopg.connect(owner_url(demo_days)) as conn:
        served_deals = dict(conn.execute("SELECT reference_number, status FROM app.deals").fetchall())
        outcomes = dict(conn.execute("SELECT event_id, outcome FROM app.document_outcomes").fetchall())
        open_count = conn.execute("SELECT count(*) FROM app.approval_queue WHERE is_open").fetchone()[0]
    assert served_deals == deals
    ledger = {r["event_id"]: r["outcome"] for r in demo_days.read("processed_events").collect()}
    assert {e: o for e, o in outcomes.items() if e in ledger} == ledger
    rejected = {
        r["event_id"] for r in demo_days.read("rejected_documents").filter("replayed_at IS NULL").collect()
    }
    assert {e for e, o in outcomes.items() if o == "rejected"} == rejected
    pending = demo_days.sql(
        f"SELECT count(*) AS n FROM {demo_days.table_name('deal_approvals')} a "
        f"JOIN {demo_days.table_name('deals')} d ON d.id = a.deal_id "
        "WHERE a.status = 'pending' AND a.approval_round = d.revision_count "
        "AND d.status IN ('under_review', 'negotiating')"
    ).collect()[0]["n"]
    assert open_count == pending > 0


def test_a_second_sync_copies_nothing_new(demo_days: Lakehouse):
    report = sync.sync(demo_days, owner_url(demo_days))
    assert report.total == 0


# -- row-level security, as the app reads ---------------------------------------------------------------


def as_app(lakehouse: Lakehouse, user: str | None, query: str, *params: object) -> list[tuple]:
    """One request of the app: a transaction naming its user, then the query."""
    with psycopg.connect(app_url(lakehouse)) as conn, conn.transaction():
        if user is not None:
            conn.execute("SELECT set_config('dealdesk.user_email', %s, true)", (user,))
        return conn.execute(query, params).fetchall()


def test_admins_and_approvers_see_every_deal_sellers_their_own_reviewers_their_departments(
    demo_days: Lakehouse,
):
    every = {r["reference_number"] for r in demo_days.read("deals").collect()}
    assert {r[0] for r in as_app(demo_days, ADMIN, "SELECT reference_number FROM app.deals")} == every
    assert {
        r[0] for r in as_app(demo_days, "vp.approver@example.com", "SELECT reference_number FROM app.deals")
    } == every
    sellers = as_app(demo_days, SELLER, "SELECT DISTINCT seller_email FROM app.deals")
    assert sellers == [(SELLER,)]
    finance = as_app(demo_days, FINANCE, "SELECT review_departments FROM app.deals")
    assert finance and all("finance" in departments for (departments,) in finance)
    assert len(finance) < len(every)
    queue = as_app(demo_days, FINANCE, "SELECT DISTINCT department FROM app.approval_queue WHERE is_open")
    assert queue == [("finance",)]


def test_a_transaction_that_names_nobody_sees_nothing_and_a_pooled_connection_forgets_its_user(
    demo_days: Lakehouse,
):
    assert as_app(demo_days, None, "SELECT count(*) FROM app.deals") == [(0,)]
    with psycopg.connect(app_url(demo_days)) as conn:  # one connection, two requests: as a pool reuses it
        with conn.transaction():
            conn.execute("SELECT set_config('dealdesk.user_email', %s, true)", (ADMIN,))
            assert conn.execute("SELECT count(*) FROM app.deals").fetchone()[0] > 0
        with conn.transaction():
            assert conn.execute("SELECT count(*) FROM app.deals").fetchone()[0] == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(app_url(demo_days)) as conn:
        conn.execute("DELETE FROM app.deals")


def test_the_app_reads_each_screen(demo_days: Lakehouse):
    (deal,) = as_app(
        demo_days, SELLER,
        "SELECT deal_id, reference_number, tiers, approvals FROM app.deals "
        "WHERE seller_email = %s AND status = 'under_review' ORDER BY updated_at DESC LIMIT 1", SELLER,
    )  # fmt: skip
    deal_id, _reference, tiers, approvals = deal
    assert tiers and all("annual_revenue" in t for t in tiers) and approvals
    history = as_app(
        demo_days, SELLER,
        "SELECT entry_kind, status, action FROM app.deal_history WHERE deal_id = %s "
        "ORDER BY happened_at, entry_kind DESC, seq", deal_id,
    )  # fmt: skip
    assert history[0] == ("status_change", "submitted", None)
    assert ("approval_action", None, "initiate") in history
    (assignee,) = as_app(
        demo_days, ADMIN, "SELECT assignee_email FROM app.approval_queue WHERE is_open LIMIT 1"
    )[0:1]
    queue = as_app(
        demo_days, assignee[0],
        "SELECT reference_number, due_date FROM app.approval_queue WHERE is_open AND assignee_email = %s "
        "ORDER BY due_date", assignee[0],
    )  # fmt: skip
    assert queue and [q[1] for q in queue] == sorted(q[1] for q in queue)
    rejected = (
        demo_days.read("rejected_documents")
        .filter("replayed_at IS NULL AND kind = 'deal_submission'")
        .first()
    )
    (outcome,) = as_app(
        demo_days,
        ADMIN,
        "SELECT outcome, reasons FROM app.document_outcomes WHERE event_id = %s",
        rejected["event_id"],
    )
    assert outcome[0] == "rejected" and outcome[1][0]["rule"]


def test_each_person_reads_their_own_inbox_and_a_reminder_stands_while_its_approval_is_theirs(
    demo_days: Lakehouse,
):
    users = {r["id"]: r["email"] for r in demo_days.read("users").collect()}
    told = [r.asDict() for r in demo_days.read("notifications").collect()]
    mine = sorted(r["id"] for r in told if users[r["recipient_id"]] == FINANCE)
    assert mine  # the finance reviewer was assigned reviews in the sample days: the test can fail
    rows = as_app(demo_days, FINANCE, "SELECT notification_id, recipient_email FROM app.inbox")
    assert sorted(r[0] for r in rows) == mine and {r[1] for r in rows} == {FINANCE}
    assert as_app(demo_days, None, "SELECT count(*) FROM app.inbox") == [(0,)]
    # a reminder stands only while its approval is pending, the recipient's, the deal in review
    reminders = as_app(
        demo_days, FINANCE,
        "SELECT i.is_current, q.is_open AND q.assignee_email = i.recipient_email FROM app.inbox i "
        "JOIN app.approval_queue q USING (approval_id) WHERE i.kind = 'due_tomorrow'",
    )  # fmt: skip
    assert reminders and all(current == still for current, still in reminders)
    assert {k for (k,) in as_app(demo_days, SELLER, "SELECT DISTINCT kind FROM app.inbox")} >= {
        "deal_decided"
    }


# -- cut short ------------------------------------------------------------------------------------------

SERVING_WRITES = [n for n, w in enumerate(WRITES, 1) if "app_" in w]


@pytest.mark.parametrize(
    "cut_at",
    [SERVING_WRITES[0], pytest.param(SERVING_WRITES[-3], marks=pytest.mark.exhaustive), SERVING_WRITES[-1]],
)
def test_a_run_cut_between_its_delta_writes_and_its_sync_leaves_the_next_run_equal(
    cut_at: int, serving_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    lakehouse = new_lakehouse(serving_home)
    sync.open_serving(lakehouse)
    landing = tmp_path / "landing"
    for day in sample_days()[:2]:  # the clean run of tests/test_reliability.py: its WRITES
        shutil.copytree(day, landing / day.name)
    Lakehouse.writes.clear()
    monkeypatch.setenv(FAIL_AT_WRITE, str(cut_at))
    with pytest.raises(InjectedFault, match=f"at write {cut_at} \\({WRITES[cut_at - 1]}\\)"):
        run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)
    monkeypatch.delenv(FAIL_AT_WRITE)
    run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)
    assert_served_equals_lakehouse(lakehouse)
    assert_read_models_equal_a_rebuild(lakehouse)


def test_a_sync_cut_short_copies_everything_the_next_time(
    serving_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    lakehouse = new_lakehouse(serving_home)
    sync.open_serving(lakehouse)
    landing = tmp_path / "landing"
    copied = []

    def failing_upsert(conn: object, model: str, rows: list) -> None:
        copied.append(model)
        raise ConnectionError("the serving database went away")

    monkeypatch.setattr(sync, "_upsert", failing_upsert)
    with pytest.raises(ConnectionError):
        run_days(lakehouse, landing, sample_days()[:1])
    monkeypatch.undo()
    assert copied
    run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)  # nothing new landed: the sync catches up
    assert_served_equals_lakehouse(lakehouse)


# -- the command line -----------------------------------------------------------------------------------


def test_serving_url_starts_the_database_and_stop_stops_it(
    demo_days: Lakehouse, capsys: pytest.CaptureFixture
):
    target = demo_days.target
    options = ["--home", str(target.home), "--schema", target.schema]
    assert main([*options, "serving", "stop"]) == 0
    assert not LocalServer(target.home).running()
    capsys.readouterr()
    assert main([*options, "serving", "url"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("postgresql://dealdesk_app@127.0.0.1:") and url.endswith(f"/{target.schema}")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("dealdesk_app",)
    assert main([*options, "serving", "sync", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == {t: 0 for t, _ in sync.TABLES.values()}


def test_the_read_models_have_their_keys(demo_days: Lakehouse):
    for model, keys in KEYS.items():
        frame = demo_days.read(model)
        assert frame.count() == frame.select(*keys).distinct().count() > 0, model
