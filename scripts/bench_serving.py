"""The benchmark's serving stage: the app's serving database (the home's local PostgreSQL) on the
7-year lakehouse, embedded engine only. ``scripts/bench.py`` runs it after its other timings;
alone, on the 7-year lakehouse an earlier run left in the bench's work folder (else built):

    .venv/bin/python scripts/bench.py --engines local --only serving

1. Rebuild: every read model written whole from the tables (the copied history has none).
2. Initial sync: the serving database made anew and filled whole (``serving.sync``).
3. Visible after a run: a second generated peak day taken by one run with serving on, while an
   observer (the app's role) asks every few milliseconds for the day's new deals: the time from
   the run's last Delta write (when the run starts its sync) until the observer sees them.
4. App load, after that run (its deals hold the open approvals): the app's five queries as the
   app runs them, a transaction per request (BEGIN; the user named with set_config; the query;
   COMMIT), the users drawn from app.people of every role so that row-level security applies.
   At 1, 50, 200 and 1,000 concurrent users, each sending its next request as soon as the last
   one is answered (no think time), through app instances of at most 20 connections each, one
   instance per 100 users (1,000 users: 10 x 20 connections), the users of an instance waiting in
   turn for its connections. A request's latency runs from asking the pool for a connection to
   the COMMIT's answer, the wait for a connection included. At 1,000 users also through the same
   instances with 4 connections each: fewer server processes sharing the cores.

The simulated app instances run in this process, on the same cores as the server: the latencies
include their CPU (each number of users records the cores busy: this process, the server, the
rest). Figures, not assertions. Loopback only; the server is stopped and its folders removed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import random
import re
import shutil
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from pyspark.sql import functions as F

from dealdesk.config import load_rules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.postgres import APP_ROLE, OWNER, LocalServer
from dealdesk.operations.generator import peak_day
from dealdesk.pipeline import job, read_models
from dealdesk.pipeline.job import LATEST_EVENT, process
from dealdesk.pipeline.journal import utc_now
from dealdesk.pipeline.serve import database_of, open_serving, sync

LEVELS = (1, 50, 200, 1000)
POOL_MAX = 20  # connections per app instance
USERS_PER_INSTANCE = 100
WARM_UP_SECONDS = 2.0
MAX_REQUESTS = 200_000  # per number of users, besides the time bound
SEED = 20260504
TARGETS_MS = {200: 100.0, 1000: 500.0}  # p95 per request, on 2 cores
VISIBLE_TARGET_SECONDS = 5.0

NAME_USER = "SELECT set_config('dealdesk.user_email', %s, true)"
QUERIES = {
    "deal_detail": "SELECT * FROM app.deals WHERE reference_number = %s",
    "my_deals": (
        "SELECT deal_id, reference_number, deal_name, status, deal_value, priority, flow_intelligence, "
        "updated_at FROM app.deals WHERE seller_email = %s ORDER BY updated_at DESC LIMIT 50"
    ),
    "open_queue": (
        "SELECT approval_id, deal_id, reference_number, deal_name, deal_status, deal_value, department, "
        "approval_level, priority, due_date FROM app.approval_queue "
        "WHERE is_open AND assignee_email = %s ORDER BY due_date LIMIT 50"
    ),
    "deal_history": "SELECT * FROM app.deal_history WHERE deal_id = %s ORDER BY happened_at, entry_id",
    "document_outcome": "SELECT * FROM app.document_outcomes WHERE event_id = %s",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Request:
    kind: str
    user: str  # the e-mail the app names for the transaction
    value: object  # the query's parameter


# -- the workload ------------------------------------------------------------------------------------
def workload(owner_url: str, per_kind: int) -> list[Request]:
    """``per_kind`` requests of each query, interleaved, each by a person who may see its answer:
    deals and histories by their seller, an approver, a reviewer of one of their departments or an
    admin; my deals by sellers; open queues by their assignees; outcomes by their sender or an admin.
    Sampled as the owner (who bypasses row-level security)."""
    rnd = random.Random(SEED)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.5)")
        people = conn.execute("SELECT email, role, department FROM app.people WHERE is_active").fetchall()
        deals = conn.execute(
            "SELECT deal_id, reference_number, seller_email, review_departments FROM app.deals "
            "ORDER BY random() LIMIT %s",
            (per_kind,),
        ).fetchall()
        sellers = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT d.seller_email FROM app.deals d JOIN app.people p ON p.email = d.seller_email "
                "WHERE p.role = 'seller' ORDER BY 1"
            )
        ]
        assignees = [
            r[0]
            for r in conn.execute(
                "SELECT assignee_email FROM app.approval_queue WHERE is_open AND assignee_email IS NOT NULL "
                "GROUP BY 1 ORDER BY 1"
            )
        ]
        outcomes = conn.execute(
            "SELECT o.event_id, o.sent_by FROM app.document_outcomes o JOIN app.people p ON p.email = o.sent_by "
            "ORDER BY random() LIMIT %s",
            (per_kind,),
        ).fetchall()
    by_role: dict[str, list[str]] = {}
    reviewers: dict[str, list[str]] = {}
    for email, role, department in people:
        by_role.setdefault(role, []).append(email)
        if role == "department_reviewer":
            reviewers.setdefault(department, []).append(email)
    if not (
        deals and sellers and assignees and outcomes and by_role.get("admin") and by_role.get("approver")
    ):
        raise RuntimeError("the serving database lacks deals, sellers, open approvals or outcomes to query")

    def deal_viewer(seller: str, departments: list[str]) -> str:
        reviewing = [e for d in departments or [] for e in reviewers.get(d, [])]
        choice = rnd.choice(("seller", "approver", "reviewer", "admin"))
        if choice == "approver":
            return rnd.choice(by_role["approver"])
        if choice == "admin":
            return rnd.choice(by_role["admin"])
        if choice == "reviewer" and reviewing:
            return rnd.choice(reviewing)
        return seller

    requests: list[Request] = []
    for i in range(per_kind):
        deal_id, reference, seller, departments = deals[i % len(deals)]
        event_id, sender = outcomes[i % len(outcomes)]
        one_seller = rnd.choice(sellers)
        requests += [
            Request("deal_detail", deal_viewer(seller, departments), reference),
            Request("my_deals", one_seller, one_seller),
            Request("open_queue", (assignee := rnd.choice(assignees)), assignee),
            Request("deal_history", deal_viewer(seller, departments), deal_id),
            Request(
                "document_outcome", sender if rnd.random() < 0.8 else rnd.choice(by_role["admin"]), event_id
            ),
        ]
    return requests


def check_row_security(app_url: str, requests: list[Request]) -> dict[str, bool]:
    """Row-level security applies to the app's role: a seller sees another seller's deal? No one
    named sees anything? (Both should be False.)"""
    detail = next(r for r in requests if r.kind == "my_deals")
    with psycopg.connect(app_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(NAME_USER, (detail.user,))
            foreign = conn.execute(
                "SELECT count(*) FROM app.deals WHERE seller_email <> %s", (detail.user,)
            ).fetchone()
        with conn.transaction():
            anonymous = conn.execute("SELECT count(*) FROM app.deals").fetchone()
    return {
        "seller_sees_others_deals": bool(foreign and foreign[0]),
        "unnamed_user_sees_deals": bool(anonymous and anonymous[0]),
    }


def server_times(app_url: str, requests: list[Request], per_kind: int = 20) -> dict[str, dict[str, object]]:
    """Per query, as the server runs it for the app's role (EXPLAIN ANALYZE, median of ``per_kind``):
    planning plus execution ms, and whether the plan reads an index."""
    figures: dict[str, dict[str, object]] = {}
    with psycopg.connect(app_url, autocommit=True) as conn:
        for kind, sql in QUERIES.items():
            times, indexed = [], True
            for request in [r for r in requests if r.kind == kind][:per_kind]:
                with conn.transaction():
                    conn.execute(NAME_USER, (request.user,))
                    row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", (request.value,)).fetchone()
                plan = row[0][0] if row else {}
                times.append(plan.get("Planning Time", 0.0) + plan.get("Execution Time", 0.0))
                indexed = indexed and "Index" in str(plan.get("Plan", {}))
            figures[kind] = {"server_ms": round(statistics.median(times), 3), "index_scan": indexed}
    return figures


# -- the app's load ---------------------------------------------------------------------------------------
class Pool:
    """One app instance's pool, like node-postgres's: at most ``size`` connections; a request
    finds an idle one or waits, and a released connection goes to the request that has waited
    longest (no request overtakes another)."""

    def __init__(self, connections: list[psycopg.AsyncConnection]) -> None:
        self.connections = connections
        self.idle = collections.deque(connections)
        self.waiting: collections.deque[asyncio.Future[psycopg.AsyncConnection]] = collections.deque()

    @classmethod
    async def open(cls, url: str, size: int) -> Pool:
        # autocommit: BEGIN and COMMIT are the app's own statements; no prepared statements, like
        # node-postgres's unnamed queries
        return cls([
            await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=None)
            for _ in range(size)
        ])  # fmt: skip

    async def acquire(self) -> psycopg.AsyncConnection:
        if self.idle:
            return self.idle.popleft()
        waiter: asyncio.Future[psycopg.AsyncConnection] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        return await waiter

    def release(self, conn: psycopg.AsyncConnection) -> None:
        if self.waiting:
            self.waiting.popleft().set_result(conn)
        else:
            self.idle.append(conn)

    async def close(self) -> None:
        for conn in self.connections:
            await conn.close()


@dataclass
class Sample:
    kind: str
    ms: float  # from asking for a connection to the COMMIT's answer
    wait_ms: float  # of which waiting for a connection
    rows: int
    started: float


@dataclass
class Level:
    users: int
    instances: int
    connections: int
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)  # CPU cores busy, by whom


def _cpu(server_pid: int | None) -> dict[str, float]:
    """CPU seconds so far: of the machine (busy and in all, from /proc/stat), of this process (the
    simulated app instances) and of the PostgreSQL server's processes. Linux; empty elsewhere."""
    found: dict[str, float] = {"client": time.process_time()}
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        found["machine"], found["elapsed"] = sum(fields) - fields[3] - fields[4], sum(fields)
        tick, server = os.sysconf("SC_CLK_TCK"), 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid, rest = stat.read_text().split(" (", 1)
                parts = rest.rsplit(") ", 1)[1].split()
                if server_pid in (int(pid), int(parts[1])):  # the server and its backends
                    server += (int(parts[11]) + int(parts[12])) / tick
        found["server"] = server
    return found


def _cores(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    cores: dict[str, float] = {"client": round((after["client"] - before["client"]) / seconds, 2)}
    if "machine" in before and "machine" in after and after["elapsed"] > before["elapsed"]:
        share = (after["machine"] - before["machine"]) / (after["elapsed"] - before["elapsed"])
        cores["machine"] = round(share * (os.cpu_count() or 1), 2)
        cores["server"] = round((after["server"] - before["server"]) / seconds, 2)
        cores["other"] = round(max(0.0, cores["machine"] - cores["client"] - cores["server"]), 2)
    return cores


async def _request(pool: Pool, request: Request) -> Sample:
    started = time.perf_counter()
    conn = await pool.acquire()
    got = time.perf_counter()
    try:
        await conn.execute("BEGIN")
        await conn.execute(NAME_USER, (request.user,))
        cursor = await conn.execute(QUERIES[request.kind], (request.value,))
        rows = len(await cursor.fetchall())
        await conn.execute("COMMIT")
    finally:
        pool.release(conn)
    done = time.perf_counter()
    return Sample(request.kind, (done - started) * 1000, (got - started) * 1000, rows, started)


async def _load(
    app_url: str, requests: list[Request], users: int, seconds: float, server_pid: int | None, pool_max: int
) -> Level:
    instances = math.ceil(users / USERS_PER_INSTANCE)
    size = min(pool_max, math.ceil(users / instances))
    pools = [await Pool.open(app_url, size) for _ in range(instances)]
    level = Level(users, instances, instances * size)
    measure_from = time.perf_counter() + WARM_UP_SECONDS
    stop_at = measure_from + seconds
    marks: dict[str, Any] = {}

    async def user(number: int) -> None:
        pool, at = pools[number % instances], number * 7919
        while time.perf_counter() < stop_at and len(level.samples) < MAX_REQUESTS:
            request = requests[at % len(requests)]
            at += 1
            sample = await _request(pool, request)
            if sample.started >= measure_from:
                level.samples.append(sample)
                marks["last"] = time.perf_counter()

    async def meter() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        marks["cpu"] = _cpu(server_pid)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        marks["cpu_end"], marks["end"] = _cpu(server_pid), time.perf_counter()

    try:
        await asyncio.gather(meter(), *(user(n) for n in range(users)))
    finally:
        for pool in pools:
            await pool.close()
    level.seconds = max(1e-9, marks.get("last", stop_at) - measure_from)
    level.cores = _cores(marks["cpu"], marks["cpu_end"], marks["end"] - measure_from)
    return level


def _summary(level: Level) -> dict[str, Any]:
    """Where a number of users' time goes: requests per second, the wait for a connection, the
    transaction itself, the cores busy and the CPU per request."""
    rate = len(level.samples) / level.seconds
    waits = [s.wait_ms for s in level.samples]
    inside = [s.ms - s.wait_ms for s in level.samples]
    server = level.cores.get("server")
    return {
        "app_instances": level.instances,
        "connections": level.connections,
        "requests": len(level.samples),
        "seconds": round(level.seconds, 1),
        "requests_per_second": round(rate),
        "p50_ms": round(percentile([s.ms for s in level.samples], 0.50), 1),
        "p95_ms": round(percentile([s.ms for s in level.samples], 0.95), 1),
        "p99_ms": round(percentile([s.ms for s in level.samples], 0.99), 1),
        "pool_wait_p50_ms": round(percentile(waits, 0.50), 1),
        "pool_wait_p95_ms": round(percentile(waits, 0.95), 1),
        "in_transaction_p50_ms": round(percentile(inside, 0.50), 1),
        "in_transaction_p95_ms": round(percentile(inside, 0.95), 1),
        "empty_answers": {k: sum(1 for s in level.samples if s.kind == k and not s.rows) for k in QUERIES},
        "cpu_cores": level.cores,  # client: this process; server: PostgreSQL; other: the rest
        "server_cpu_ms_per_request": round(server / rate * 1000, 3) if server is not None else None,
        "client_cpu_ms_per_request": round(level.cores["client"] / rate * 1000, 3),
    }


def _say(label: str, level: Level, found: dict[str, Any]) -> None:
    print(
        f"serving: {label} ({level.instances} x {level.connections // level.instances} connections): "
        f"p50 {found['p50_ms']} ms, p95 {found['p95_ms']} ms, {found['requests_per_second']} requests/s, "
        f"pool wait p95 {found['pool_wait_p95_ms']} ms, cores busy {level.cores}",
        flush=True,
    )


SMALL_POOL = 4  # the comparison at 1,000 users: the same instances with fewer connections each


def load_figures(
    app_url: str, requests: list[Request], levels: list[int], seconds: float, server_pid: int | None
) -> dict[str, Any]:
    """p50 and p95 per number of concurrent users, per query p95, where the time goes; at 1,000
    users also through pools of ``SMALL_POOL`` connections (fewer server processes sharing the cores)."""
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for users in levels:
        level = asyncio.run(_load(app_url, requests, users, seconds, server_pid, POOL_MAX))
        details[str(users)] = found = _summary(level)
        figures[f"p50_ms_{users}_users"] = found["p50_ms"]
        figures[f"p95_ms_{users}_users"] = found["p95_ms"]
        figures[f"p95_ms_by_query_{users}_users"] = {
            kind: round(percentile([s.ms for s in level.samples if s.kind == kind], 0.95), 1)
            for kind in QUERIES
            if any(s.kind == kind for s in level.samples)
        }
        _say(f"{users:>5} users", level, found)
    if 1000 in levels:
        level = asyncio.run(_load(app_url, requests, 1000, seconds, server_pid, SMALL_POOL))
        details[f"1000_users_{SMALL_POOL}_connections_per_instance"] = found = _summary(level)
        _say(f" 1000 users, {SMALL_POOL} connections per instance", level, found)
    figures["load"] = details
    return figures


# -- visible after a run --------------------------------------------------------------------------------
class Observer(threading.Thread):
    """Asks, as the app does, how many of ``references`` app.deals shows, every ``interval`` s;
    keeps the moments the answer changed."""

    def __init__(self, app_url: str, user: str, references: list[str], interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.app_url, self.user, self.references, self.interval = app_url, user, references, interval
        self.changes: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        seen = -1
        with psycopg.connect(self.app_url, autocommit=True) as conn:
            while not self.stopping.is_set():
                conn.execute("BEGIN")
                conn.execute(NAME_USER, (self.user,))
                row = conn.execute(
                    "SELECT count(*) FROM app.deals WHERE reference_number = ANY(%s)", (self.references,)
                ).fetchone()
                conn.execute("COMMIT")
                found = int(row[0]) if row else 0
                if found != seen:
                    self.changes.append((time.perf_counter(), found))
                    seen = found
                self.stopping.wait(self.interval)

    def first_seen(self, count: int) -> float | None:
        return next((at for at, found in self.changes if found >= count), None)


def visible_after_run(
    lakehouse: Lakehouse,
    folder: Path,
    day: date,
    documents: int,
    first_numbers: dict[int, int],
    app_url: str,
    viewer: str,
) -> dict[str, Any]:
    """A generated peak day in one run with serving on: the sync's seconds in the run, and how long
    after the run's last Delta write the day's new deals are visible to the app."""
    rules = load_rules(None)
    shutil.rmtree(folder, ignore_errors=True)
    generated = peak_day(folder, day, documents=documents, seed=day.toordinal(), first_numbers=first_numbers)
    process(lakehouse, rules, job="ingest", landing=folder / "reference")  # people: synced too, not timed
    text = "\n".join(p.read_text() for p in sorted((folder / "peak").rglob("*.jsonl")))
    references = sorted(
        {
            m.group(0)
            for m in re.finditer(r"DEAL-(\d{4})-(\d+)", text)
            if int(m.group(2)) > first_numbers.get(int(m.group(1)), 0)
        }
    )
    observer = Observer(app_url, viewer, references)
    observer.start()
    serve_called: list[float] = []
    serve = job.serve  # the run's last Delta write is done when it calls the sync

    def timed_serve(target: Lakehouse) -> Any:
        serve_called.append(time.perf_counter())
        return serve(target)

    job.serve = timed_serve
    try:
        started = time.perf_counter()
        run = process(lakehouse, rules, landing=folder / "peak", as_of=LATEST_EVENT)
        returned = time.perf_counter()
        seconds = returned - started
    finally:
        job.serve = serve
    made = lakehouse.read("deals").filter(F.col("reference_number").isin(references)).count()
    deadline = time.perf_counter() + 30
    while observer.first_seen(made) is None and time.perf_counter() < deadline and made:
        time.sleep(0.01)
    observer.stopping.set()
    observer.join()
    seen = observer.first_seen(made) if made else None
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "visible_after_run_seconds": round(seen - serve_called[0], 3) if seen and serve_called else None,
        "sync_seconds_peak_day": run.phases.get("serve"),
        "visible_before_run_returned": seen <= returned if seen else None,
        "peak_day_with_serving": {
            "day": day.isoformat(),
            "documents": generated.documents,
            "seconds": round(seconds, 3),
            "steps": run.phases,
            "new_deals_seen": made,
            "rows_synced": {k.removeprefix("serving "): v for k, v in run.rows_merged.items() if k.startswith("serving ")},
        },
    }  # fmt: skip


# -- the stage ------------------------------------------------------------------------------------------
def measure(
    lakehouse: Lakehouse,
    work: Path,
    *,
    day: date,
    documents: int,
    first_numbers: dict[int, int],
    levels: list[int] | tuple[int, ...] = LEVELS,
    seconds: float = 10.0,
) -> dict[str, Any]:
    """Every serving figure on ``lakehouse`` (the embedded engine). Its home gets a serving
    database for the stage only: stopped and removed at the end, whatever happens."""
    server = LocalServer(lakehouse.target.home)
    figures: dict[str, Any] = {
        "engine": lakehouse.target.engine,
        "measured_at": utc_now().isoformat(timespec="seconds"),
    }
    try:
        started = time.perf_counter()
        read_models.rebuild(lakehouse, utc_now())
        figures["rebuild_seconds"] = round(time.perf_counter() - started, 1)
        print(f"serving: read models rebuilt in {figures['rebuild_seconds']} s", flush=True)
        started = time.perf_counter()
        open_serving(lakehouse, fresh=True)
        figures["server_start_seconds"] = round(time.perf_counter() - started, 1)
        database = database_of(lakehouse)
        owner_url, app_url = server.url(OWNER, database=database), server.url(APP_ROLE, database=database)
        started = time.perf_counter()
        report = sync(lakehouse, owner_url)
        figures["initial_sync_seconds"] = round(time.perf_counter() - started, 1)
        figures["initial_sync_rows"] = report.rows
        with psycopg.connect(owner_url, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        figures["database_bytes"] = size[0] if size else None
        print(
            f"serving: initial sync {figures['initial_sync_seconds']} s, {report.total:,} rows "
            f"({report.rows}), {figures['database_bytes'] / 1e6:.0f} MB",
            flush=True,
        )
        with psycopg.connect(owner_url, autocommit=True) as conn:
            admin = conn.execute(
                "SELECT email FROM app.people WHERE role = 'admin' AND is_active ORDER BY email LIMIT 1"
            ).fetchone()
        figures.update(
            visible_after_run(
                lakehouse,
                work / "serving-peak",
                day,
                documents,
                first_numbers,
                app_url,
                admin[0] if admin else "",
            )
        )
        print(
            f"serving: peak day with serving: sync {figures['sync_seconds_peak_day']} s, visible "
            f"{figures['visible_after_run_seconds']} s after the run's last Delta write",
            flush=True,
        )
        # the app's load after the run: its new deals are the ones with open approvals
        requests = workload(owner_url, per_kind=2_000)
        figures["row_level_security"] = check_row_security(app_url, requests)
        figures["queries"] = {k: {"sql": sql, **found} for (k, sql), found in zip(
            QUERIES.items(), server_times(app_url, requests).values(), strict=True)}  # fmt: skip
        figures.update(load_figures(app_url, requests, list(levels), seconds, server_pid(server)))
        figures["targets"] = targets(figures)
    finally:
        stop_server(server)
    return figures


def server_pid(server: LocalServer) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((server.pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def targets(figures: dict[str, Any]) -> dict[str, object]:
    met: dict[str, object] = {}
    for users, limit in TARGETS_MS.items():
        found = figures.get(f"p95_ms_{users}_users")
        met[f"p95_under_{limit:.0f}_ms_at_{users}_users"] = None if found is None else found < limit
    visible = figures.get("visible_after_run_seconds")
    met[f"visible_within_{VISIBLE_TARGET_SECONDS:.0f}_s"] = (
        None if visible is None else visible < VISIBLE_TARGET_SECONDS
    )
    return met


def stop_server(server: LocalServer) -> None:
    """Stop the stage's server and remove its data: the home has no serving database after it."""
    with contextlib.suppress(Exception):
        server.stop()
    data = server.data_folder
    shutil.rmtree(server.folder, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    with contextlib.suppress(OSError):
        data.parent.rmdir()  # the shared folder of the servers run as another user, when empty


def print_figures(figures: dict[str, Any]) -> None:
    if "error" in figures:
        print(f"serving stage failed: {figures['error']}")
        return
    met = figures.get("targets", {})
    rows = [
        ("read models rebuilt whole", f"{figures['rebuild_seconds']} s", ""),
        ("initial sync (full copy)", f"{figures['initial_sync_seconds']} s", ""),
        *(
            (f"app queries at {n} users, p50 / p95", f"{figures[f'p50_ms_{n}_users']} / {figures[f'p95_ms_{n}_users']} ms",
             f"p95 < {TARGETS_MS[n]:.0f} ms: {'met' if met.get(f'p95_under_{TARGETS_MS[n]:.0f}_ms_at_{n}_users') else 'missed'}"
             if n in TARGETS_MS else "")
            for n in sorted(int(k.split("_")[2]) for k in figures if re.fullmatch(r"p50_ms_\d+_users", k))
        ),
        *(
            (f"  1000 users via {n['app_instances']} x {SMALL_POOL} connections", f"{n['p50_ms']} / {n['p95_ms']} ms", "")
            for n in [figures["load"].get(f"1000_users_{SMALL_POOL}_connections_per_instance")] if n
        ),
        ("sync in the peak-day run", f"{figures['sync_seconds_peak_day']} s", ""),
        ("visible after the run's last write", f"{figures['visible_after_run_seconds']} s",
         f"< {VISIBLE_TARGET_SECONDS:.0f} s: {'met' if met.get(f'visible_within_{VISIBLE_TARGET_SECONDS:.0f}_s') else 'missed'}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print("\nserving (embedded engine, local PostgreSQL)")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<28}{target}")
