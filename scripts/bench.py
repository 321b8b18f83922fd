"""Benchmark on the embedded engine and on Apache Spark with Delta: a peak day against a 7-year
lakehouse, then 10x larger. Every figure under the same keys per engine.

    make bench                      # both engines; BENCH_ARGS="--engines spark" for one
    .venv/bin/python scripts/bench.py --help

1. Base month: one month of generated documents (seed volume) goes through the real
   pipeline, so every row is one the jobs wrote.
2. History: the base month's rows are copied back in time, month by month, until the
   lakehouse holds ``--years`` of history (then ``--scale`` times that). Copies get
   their own ids, event ids, reference numbers and times; users and companies are shared.
   The embedded engine writes the base month and the history for every engine (the same Delta
   files), so each engine times its runs against the same rows.
3. Peak day: ``--peak-documents`` generated documents are processed end to end in one run
   (every document in business-time order), each phase timed, engine queries counted. The
   honest floor, measured in the same process: reading that day's landing files plus one
   plain Delta append, per table the run wrote, of the same rows it wrote (taken from the
   run's journal). The old floor too: one append of the day's lines.
   The engine is restarted before the peak day, as a job run starts its own; an untimed
   monitoring run first leaves the state a run in steady operation finds (run_state).
   Then a trickle run (one new deal submission in a file of its own) and an empty run (nothing
   new), each timed with its queries; on 1x also a read command (`dealdesk tables` in a new
   process: engine start, attach, answer).
4. Backlog: ``--backlog-years`` of generated documents taken by one run on a new lakehouse.
5. Views: every reporting view queried ``--repeats`` times (median, p95), then by
   ``--clients`` concurrent clients.
6. Serving (embedded engine only, after every other timing: a home with a serving database
   syncs after every run): the app's read models rebuilt on the 7-year lakehouse and copied
   whole to the home's PostgreSQL, the app's queries timed at 1 to 1,000 concurrent users, and a
   second peak day run with serving on (scripts/bench_serving.py). ``--only serving`` runs this
   stage alone, on the 7-year lakehouse an earlier run left in ``--work`` (else built first).

Prints a table and writes the figures to bench/results.json. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import bench_serving
import pyarrow as pa

from dealdesk.cli.common import open_lakehouse
from dealdesk.config import load_rules
from dealdesk.lakehouse import table_types
from dealdesk.lakehouse.engine import Target, stop_engine
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.operations.generator import Mix, generate, peak_day
from dealdesk.pipeline import jobs, journal
from dealdesk.pipeline.job import LATEST_EVENT, process
from dealdesk.pipeline.landing import new_files

ROOT = Path(__file__).resolve().parents[1]
BASE_MONTH = date(2026, 4, 1)
PEAK_DAY = date(2026, 5, 4)

# Per copied table: BIGINT keys of copied rows (re-hashed per copy) and event-id columns (suffixed).
COPIED = {
    "deals": ("id", "parent_submission_id"),
    "deal_tiers": ("id", "deal_id"),
    "incentive_values": ("id", "deal_id"),
    "deal_scoping_requests": ("id", "converted_deal_id"),
    "deal_approvals": ("id", "deal_id"),
    "approval_actions": ("id", "approval_id"),
    "deal_status_history": ("id", "deal_id"),
    "raw_documents": (),
    "processed_events": (),
    "rejected_documents": (),
}
EVENT_COLUMNS = ("event_id", "source_event_id")
# The base month's users and companies are loaded once, not copied with each month.
NOT_COPIED = "kind NOT IN ('user', 'advertiser', 'agency')"
COPY_FILTERS = {"raw_documents": NOT_COPIED, "processed_events": NOT_COPIED}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


@dataclass
class Stopwatch:
    started: float = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


EMPTY = "bench_empty"
HISTORY_BUILDER = "local"


def open_existing(engine: str, home: Path, schema: str) -> Lakehouse:
    """A lakehouse built earlier in this folder, attached to the engine's current server."""
    return open_lakehouse(Target(engine=engine, catalog="main", schema=schema, home=home))  # type: ignore[arg-type]


def fresh_lakehouse(engine: str, home: Path, schema: str) -> Lakehouse:
    """A new empty lakehouse: a folder copy of one migrated once per engine (on Spark the DDL
    takes minutes), attached. Not timed."""
    target = Target(engine=engine, catalog="main", schema=EMPTY, home=home)  # type: ignore[arg-type]
    if not (target.warehouse / EMPTY).exists():
        MigrationRunner(Lakehouse.open(target)).migrate()
    shutil.rmtree(target.warehouse / schema, ignore_errors=True)
    shutil.copytree(target.warehouse / EMPTY, target.warehouse / schema)
    return open_existing(engine, home, schema)


def copy_expression(table: str, column: str, data_type: str) -> str:
    """How one column of a base row becomes the same column of copy ``k`` (k months earlier)."""
    name = f"`{column}`"
    if column in COPIED[table]:
        return f"xxhash64({name}, k)"
    if column in EVENT_COLUMNS:
        return f"concat({name}, '~', k)"
    if column == "reference_number":
        # DEAL-YYYY-NNN -> DEAL-YYYY-(NNN + (k + 1) * 100000): unique per copy, still the reference format
        return f"concat(substr({name}, 1, 10), cast(cast(substr({name}, 11) AS BIGINT) + (k + 1) * 100000 AS STRING))"
    if data_type == "timestamp":
        return f"{name} - make_interval(0, k)"
    if data_type == "date":
        return f"add_months({name}, -k)"
    return name


def grow_history(lakehouse: Lakehouse, base: Lakehouse, copies_from: int, copies_to: int) -> None:
    """Copy the base month's rows as months ``copies_from`` .. ``copies_to - 1`` before it."""
    for table in COPIED:
        fields = lakehouse.read(table).schema.fields
        select = ", ".join(
            f"{copy_expression(table, f.name, f.dataType.simpleString())} AS `{f.name}`" for f in fields
        )
        lakehouse.sql(
            f"INSERT INTO {lakehouse.table_name(table)} SELECT {select} "
            f"FROM {base.table_name(table)} "
            f"CROSS JOIN (SELECT id AS k FROM range({copies_from}, {copies_to}))"
            + (f" WHERE {COPY_FILTERS[table]}" if table in COPY_FILTERS else "")
        ).collect()


def row_counts(lakehouse: Lakehouse) -> dict[str, int]:
    return {t: lakehouse.read(t).count() for t in lakehouse.table_names()}


def highest_numbers(lakehouse: Lakehouse) -> dict[int, int]:
    rows = lakehouse.sql(
        "SELECT year, max(n) AS last_n FROM (SELECT cast(substr(reference_number, 6, 4) AS INT) AS year, "
        f"cast(substr(reference_number, 11) AS BIGINT) AS n FROM {lakehouse.table_name('deals')}) GROUP BY year"
    ).collect()
    return {r["year"]: r["last_n"] for r in rows}


# The journal's lists of rows, by the table they go to.
EFFECT_TABLES = {
    "deals_new": "deals", "deals_replaced": "deals", "deals_moved": "deals",
    "approvals_new": "deal_approvals", "approvals_changed": "deal_approvals",
    "actions": "approval_actions", "history": "deal_status_history", "users": "users",
    "advertisers": "advertisers", "agencies": "agencies", "scoping_new": "deal_scoping_requests",
    "scoping_converted": "deal_scoping_requests", "rejected": "rejected_documents", "ledger": "processed_events",
}  # fmt: skip


def honest_floor(lakehouse: Lakehouse, landing: Path, run_id: str) -> float:
    """Seconds to read the day's landing files and append, per table the run wrote, the rows it
    wrote to a plain Delta table (no constraints, no MERGE): what any pipeline must at least do."""
    (record,) = [r for r in _journal(lakehouse) if r.run_id == run_id]
    rows: dict[str, list[dict]] = {}
    for name, table in EFFECT_TABLES.items():
        rows.setdefault(table, []).extend(getattr(record.effects, name))
    for name in ("parts_new", "parts_replaced"):
        for table, found in getattr(record.effects, name).items():
            rows.setdefault(table, []).extend(r for r in found if not r.get("_delete"))
    rows["landed_files"] = record.landed
    with Stopwatch() as floor:
        files, _, _ = new_files(landing, set())
        lines = [(f.path, n, line) for f in files for n, line in enumerate(f.lines, start=1)]
        frames = {
            "raw_documents": lakehouse.spark.createDataFrame(
                lines, "source_file STRING, line_number BIGINT, payload STRING"
            )
        }
        for table, found in rows.items():
            if found:
                names = [c for c in table_types.column_names(table) if any(c in r for r in found)]
                schema = pa.schema([f.with_nullable(True) for f in table_types.arrow_schema(table, names)])
                plain = [{n: (str(r.get(n)) if n == "reasons" else r.get(n)) for n in names} for r in found]
                frames[table] = lakehouse.spark.createDataFrame(pa.Table.from_pylist(plain, schema=schema))
        for table, frame in frames.items():
            scratch = f"bench_floor_{table}"
            lakehouse.sql(f"DROP TABLE IF EXISTS {lakehouse.table_name(scratch)}").collect()
            frame.write.format("delta").mode("append").option(
                "path", lakehouse.table_location(scratch)
            ).saveAsTable(lakehouse.table_name(scratch))
    for table in frames:
        lakehouse.sql(f"DROP TABLE IF EXISTS {lakehouse.table_name(f'bench_floor_{table}')}").collect()
    return floor.seconds


def _journal(lakehouse: Lakehouse) -> list[journal.RunRecord]:
    rows = lakehouse.collect(lakehouse.read(journal.JOURNAL).select("run_id", "part", "body"))
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        parts.setdefault(row["run_id"], []).append((row["part"], row["body"]))
    return [journal.decode([b for _, b in sorted(found)]) for found in parts.values()]


def time_peak_day(lakehouse: Lakehouse, work: Path, documents: int) -> dict[str, object]:
    """Process one generated peak day in one run; seconds in all and per phase, engine queries,
    the honest floor and the old single-append floor."""
    rules = load_rules(None)
    folder = work / f"peak-{lakehouse.target.schema}"
    shutil.rmtree(folder, ignore_errors=True)
    generated = peak_day(folder, PEAK_DAY, documents=documents, first_numbers=highest_numbers(lakehouse))
    process(lakehouse, rules, job="ingest", landing=folder / "reference")  # people and companies: not timed
    # A lakehouse in steady operation: its last run monitored and left run_state. The copied
    # history has none, so this untimed run flags every deal once, as after a restore.
    process(lakehouse, rules, job="monitor", as_of=LATEST_EVENT)
    with Stopwatch() as total:
        run = process(lakehouse, rules, landing=folder / "peak", as_of=LATEST_EVENT)
    floor = honest_floor(lakehouse, folder / "peak", run.run_id)
    lines = [
        (str(path), n, line)
        for path in sorted((folder / "peak").rglob("*.jsonl"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
    ]
    frame = lakehouse.spark.createDataFrame(lines, "source_file STRING, line_number BIGINT, payload STRING")
    scratch = lakehouse.table_name("bench_append_floor")
    with Stopwatch() as single:
        frame.write.format("delta").mode("append").option(
            "path", lakehouse.table_location("bench_append_floor")
        ).saveAsTable(scratch)
    lakehouse.sql(f"DROP TABLE IF EXISTS {scratch}").collect()
    return {
        "seconds": round(total.seconds, 3),
        "steps": run.phases,
        "queries": run.engine_queries,
        "documents": generated.documents,
        "honest_floor_seconds": round(floor, 3),
        "append_floor_seconds": round(single.seconds, 3),
    }


def trickle_file(peak_landing: Path, into: Path) -> Path:
    """A landing file of one new deal submission: the peak day's first, under a new event id, a
    new name and no reference (the desk gives it the next number)."""
    for path in sorted(peak_landing.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            document = json.loads(line)
            if document.get("kind") == "deal_submission" and document.get("reference_number") is None:
                document["event_id"] = f"trickle-{uuid.uuid4()}"
                document["deal"]["deal_name"] = f"Trickle_{uuid.uuid4().hex[:8]}"
                shutil.rmtree(into, ignore_errors=True)
                into.mkdir(parents=True)
                target = into / "trickle.jsonl"
                target.write_text(json.dumps(document) + "\n")
                return target
    raise RuntimeError(f"no new deal submission in {peak_landing}")


def time_small_runs(lakehouse: Lakehouse, work: Path) -> dict[str, object]:
    """A trickle run (one new document, as the deployed job takes a file the app just wrote) and
    then an empty run (nothing new), on the lakehouse of the peak day: seconds and queries each."""
    rules = load_rules(None)
    folder = work / f"trickle-{lakehouse.target.schema}"
    trickle_file(work / f"peak-{lakehouse.target.schema}" / "peak", folder)
    with Stopwatch() as trickle:
        one = process(lakehouse, rules, landing=folder, as_of=LATEST_EVENT)
    assert one.accepted + one.rejected == 1, one.summary()
    with Stopwatch() as empty:
        none = process(lakehouse, rules, landing=folder, as_of=LATEST_EVENT)
    assert none.lines_read == 0, none.summary()
    return {
        "trickle_seconds": round(trickle.seconds, 3),
        "trickle_queries": one.engine_queries,
        "trickle_steps": one.phases,
        "empty_run_seconds": round(empty.seconds, 3),
        "empty_run_queries": none.engine_queries,
        "empty_run_steps": none.phases,
    }


def time_read_command(engine: str, home: Path, schema: str) -> float:
    """Seconds of `dealdesk tables` on the lakehouse, as a person runs it: a new process that
    starts its engine, attaches the lakehouse and answers."""
    command = [sys.executable, "-m", "dealdesk.cli.main", "--engine", engine, "--home", str(home),
               "--schema", schema, "tables"]  # fmt: skip
    with Stopwatch() as watch:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
    return watch.seconds


def time_backlog(
    engine: str, work: Path, home: Path, years: float, deals_per_month: int
) -> dict[str, object]:
    """``years`` of generated documents taken by one run on a new lakehouse."""
    landing = work / "backlog"
    shutil.rmtree(landing, ignore_errors=True)
    generated = generate(landing, years=years, mix=Mix(deals_per_month=deals_per_month))
    stop_engine(engine)
    lakehouse = fresh_lakehouse(engine, home, "bench_backlog")
    with Stopwatch() as watch:
        run = process(lakehouse, load_rules(None), landing=landing, as_of=LATEST_EVENT)
    return {"seconds": round(watch.seconds, 1), "queries": run.engine_queries, "documents": generated.documents,
            "phases": run.phases}  # fmt: skip


def time_views(lakehouse: Lakehouse, repeats: int, clients: int) -> dict[str, object]:
    lakehouse.use_schema()
    views = lakehouse.view_names()
    spark = lakehouse.spark

    def query(view: str) -> float:
        with Stopwatch() as watch:
            spark.sql(f"SELECT * FROM `{view}` LIMIT 1000").collect()
        return watch.seconds * 1000

    for view in views:  # warm-up: plans and file listings
        query(view)
    per_view = {view: [query(view) for _ in range(repeats)] for view in views}
    every = [ms for values in per_view.values() for ms in values]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        concurrent = list(pool.map(query, [v for _ in range(max(1, repeats // 4)) for v in views] * clients))
    return {
        "views": {
            v: {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 0.95), 1)}
            for v, ms in per_view.items()
        },
        "view_median_ms": round(statistics.median(every), 1),
        "view_p95_ms": round(percentile(every, 0.95), 1),
        "concurrent_view_p95_ms": round(percentile(concurrent, 0.95), 1),
        "concurrent_queries": len(concurrent),
    }


def build_base_month(work: Path, home: Path, args: argparse.Namespace) -> float:
    """The base month's generated documents through the pipeline, on a new lakehouse; seconds."""
    print(f"base month: {args.deals_per_month} deals through the pipeline ...", flush=True)
    base = fresh_lakehouse(HISTORY_BUILDER, home, "bench_base")
    generate(work / "base", years=1 / 12, mix=Mix(deals_per_month=args.deals_per_month, revised=0.0),
             start=BASE_MONTH)  # fmt: skip
    with Stopwatch() as watch:
        jobs.run_pipeline(base, work / "base", load_rules(None), jobs.LATEST_EVENT)
    return watch.seconds


def build_history(home: Path, schema: str, copies: int) -> float:
    """A new lakehouse holding the base month's people and companies and ``copies`` months of
    its rows; seconds."""
    base = open_existing(HISTORY_BUILDER, home, "bench_base")
    lakehouse = fresh_lakehouse(HISTORY_BUILDER, home, schema)
    with Stopwatch() as grow:
        for table in ("users", "advertisers", "agencies"):
            lakehouse.sql(
                f"INSERT INTO {lakehouse.table_name(table)} SELECT * FROM {base.table_name(table)}"
            ).collect()
        grow_history(lakehouse, base, 0, copies)
    return grow.seconds


SERVING_SCHEMA = "bench_1x"  # the 7-year lakehouse


def serving_stage(home: Path, work: Path, args: argparse.Namespace) -> dict[str, object]:
    """The serving figures on the 7-year lakehouse of ``home`` (embedded engine): after every other
    timing, since a home with a serving database syncs after every run. A failure is recorded,
    not raised: the other figures stand."""
    stop_engine("local")
    try:
        lakehouse = open_existing("local", home, SERVING_SCHEMA)
        (latest,) = lakehouse.sql(
            f"SELECT max(created_at) AS at FROM {lakehouse.table_name('deals')}"
        ).collect()
        return bench_serving.measure(
            lakehouse,
            work,
            day=max(PEAK_DAY, latest["at"].date()) + timedelta(days=1),
            documents=args.peak_documents,
            first_numbers=highest_numbers(lakehouse),
            levels=[int(n) for n in args.serving_users.split(",") if n.strip()],
            seconds=args.serving_seconds,
        )
    except Exception as error:  # the figures say what failed
        import traceback

        traceback.print_exc()
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        stop_engine("local")


def serving_only(args: argparse.Namespace) -> int:
    """The serving stage alone, on the 7-year lakehouse an earlier run left in the work folder
    (built first when there is none); only the ``serving`` figures of the results file change."""
    work = args.work / "local"
    home = work / "lakehouse"
    deals = args.years * 12 * args.deals_per_month
    marks = [work / "partial.json", work / "serving-history.json"]  # bench_engine's, this stage's own
    built = any(
        json.loads(m.read_text()).get("1x", {}).get("rows", {}).get("deals") == deals
        for m in marks
        if m.exists()
    )
    if built and (home / "warehouse").exists():
        print(f"serving: reusing the {args.years}-year lakehouse in {work}", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        build_base_month(work, home, args)
        print(f"1x: growing {args.years * 12} months of history ...", flush=True)
        build_history(home, SERVING_SCHEMA, args.years * 12)
        stop_engine(HISTORY_BUILDER)
        (work / "serving-history.json").write_text(json.dumps({"1x": {"rows": {"deals": deals}}}) + "\n")
    figures = serving_stage(home, work, args)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    previous["serving"] = figures
    previous.setdefault("engines", {}).setdefault("local", {})["serving"] = figures
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(previous, indent=2) + "\n")
    bench_serving.print_figures(figures)
    print(f"\nwritten: {args.out} (serving)")
    return 1 if "error" in figures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--engines", default="local,spark", help="engines to measure, comma-separated (default both)"
    )
    parser.add_argument("--years", type=int, default=7, help="history held by the lakehouse (default 7)")
    parser.add_argument("--scale", type=int, default=10, help="second run: this many times more (default 10)")
    parser.add_argument("--deals-per-month", type=int, default=1_000, help="seed volume (default 1000)")
    parser.add_argument("--peak-documents", type=int, default=10_000, help="documents in the peak day")
    parser.add_argument("--repeats", type=int, default=20, help="runs per view (default 20)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent view clients (default 20)")
    parser.add_argument(
        "--backlog-years", type=float, default=1.0, help="backlog taken by one run (default 1)"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work", help="scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--only",
        choices=("serving",),
        help="run one stage alone: serving (embedded engine, whatever --engines says), on the "
        "7-year lakehouse an earlier run left in --work, else built first",
    )
    parser.add_argument(
        "--serving-users",
        default="1,50,200,1000",
        help="concurrent app users to time (default 1,50,200,1000)",
    )
    parser.add_argument(
        "--serving-seconds",
        type=float,
        default=10.0,
        help="measured seconds per number of users (default 10)",
    )
    args = parser.parse_args(argv)
    if args.only == "serving":
        return serving_only(args)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - {"local", "spark"})
    if unknown or not engines:
        parser.error(f"--engines: {', '.join(unknown) or 'none'} (known: local, spark)")

    # Figures of an engine not measured this time are kept from the last results file.
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    measured = dict(previous.get("engines", {}))
    if "local" not in measured and previous.get("engine") == "local":
        measured["local"] = {k: v for k, v in previous.items() if k != "engines"}
    for engine in engines:
        print(f"== engine: {engine}", flush=True)
        measured[engine] = bench_engine(engine, args)
    # The default engine's figures at the top level (as before); every engine's under "engines".
    results = {**measured.get("local", {}), "engines": measured}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(measured)
    print(f"\nwritten: {args.out}")
    return 0


def bench_engine(engine: str, args: argparse.Namespace) -> dict[str, object]:
    """Every figure for one engine, under the same keys for each engine."""
    work = args.work / engine
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    home = work / "lakehouse"
    results: dict[str, object] = {
        "engine": engine,
        "machine_cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "started_at": datetime.now().isoformat(timespec="seconds"),
        "years": args.years,
        "scale": args.scale,
        "deals_per_month": args.deals_per_month,
        "history_built_by": HISTORY_BUILDER,
    }

    results["base_month_seconds"] = round(build_base_month(work, home, args), 1)

    months = args.years * 12
    runs = {}
    for label, copies in (("1x", months), (f"{args.scale}x", months * args.scale)):
        print(f"{label}: growing {copies} months of history ...", flush=True)
        # The history is written by the embedded engine for every engine: the same rows on each,
        # and minutes of copying saved on Spark. (The embedded engine cannot read every file Spark
        # writes: docs/engines.md.)
        grow_seconds = build_history(home, f"bench_{label}", copies)
        # A job run starts its own engine. The engine that has just written years of history
        # in one statement runs the same day about twice as slowly: time a fresh one.
        stop_engine(HISTORY_BUILDER)
        stop_engine(engine)
        lakehouse = open_existing(engine, home, f"bench_{label}")
        counts = row_counts(lakehouse)
        print(
            f"{label}: {counts['deals']:,} deals, built in {grow_seconds:.0f} s; timing the peak day ...",
            flush=True,
        )
        peak = time_peak_day(lakehouse, work, args.peak_documents)
        print(
            f"{label}: peak day {peak['seconds']} s, {peak['queries']} queries, phases {peak['steps']}",
            flush=True,
        )
        small = time_small_runs(lakehouse, work)
        print(
            f"{label}: trickle run {small['trickle_seconds']} s, {small['trickle_queries']} queries; "
            f"empty run {small['empty_run_seconds']} s, {small['empty_run_queries']} queries",
            flush=True,
        )
        views = time_views(lakehouse, args.repeats, args.clients) if label == "1x" else None
        if views:
            print(
                f"{label}: views median {views['view_median_ms']} ms, p95 {views['view_p95_ms']} ms",
                flush=True,
            )
        stop_engine(engine)
        read_seconds = time_read_command(engine, home, f"bench_{label}") if label == "1x" else None
        runs[label] = {
            "rows": counts,
            "build_seconds": round(grow_seconds, 1),
            "peak_day": peak,
            "small_runs": small,
            "read_command_seconds": read_seconds,
            "views": views,
        }
        (work / "partial.json").write_text(json.dumps(runs, indent=2, default=str))  # kept if stopped later

    print(f"backlog: {args.backlog_years} year(s) of documents in one run ...", flush=True)
    backlog = time_backlog(engine, work, home, args.backlog_years, args.deals_per_month)
    print(f"backlog: {backlog['seconds']} s, {backlog['queries']} queries", flush=True)
    stop_engine(engine)
    one, big = runs["1x"], runs[f"{args.scale}x"]
    results.update(
        {
            "peak_day_seconds": one["peak_day"]["seconds"],
            "peak_day_steps": one["peak_day"]["steps"],
            "peak_day_documents": one["peak_day"]["documents"],
            "peak_day_queries": one["peak_day"]["queries"],
            "honest_floor_seconds": one["peak_day"]["honest_floor_seconds"],
            "honest_floor_ratio": round(
                one["peak_day"]["seconds"] / one["peak_day"]["honest_floor_seconds"], 1
            ),
            "append_floor_seconds": one["peak_day"]["append_floor_seconds"],
            "peak_day_queries_10x": big["peak_day"]["queries"],
            "backlog_year_seconds": backlog["seconds"],
            "backlog_year_queries": backlog["queries"],
            "backlog_documents": backlog["documents"],
            "backlog_phases": backlog["phases"],
            "peak_day_seconds_10x": big["peak_day"]["seconds"],
            "peak_day_steps_10x": big["peak_day"]["steps"],
            "growth_factor_10x": round(big["peak_day"]["seconds"] / one["peak_day"]["seconds"], 2),
            "floor_multiple": round(one["peak_day"]["seconds"] / one["peak_day"]["append_floor_seconds"], 1),
            "view_median_ms": one["views"]["view_median_ms"],
            "view_p95_ms": one["views"]["view_p95_ms"],
            "concurrent_view_p95_ms": one["views"]["concurrent_view_p95_ms"],
            "views": one["views"]["views"],
            "rows_1x": one["rows"],
            "rows_10x": big["rows"],
            "build_seconds": {"1x": one["build_seconds"], "10x": big["build_seconds"]},
            "trickle_seconds": one["small_runs"]["trickle_seconds"],
            "trickle_queries": one["small_runs"]["trickle_queries"],
            "trickle_steps": one["small_runs"]["trickle_steps"],
            "trickle_seconds_10x": big["small_runs"]["trickle_seconds"],
            "trickle_queries_10x": big["small_runs"]["trickle_queries"],
            "empty_run_seconds": one["small_runs"]["empty_run_seconds"],
            "empty_run_queries": one["small_runs"]["empty_run_queries"],
            "empty_run_steps": one["small_runs"]["empty_run_steps"],
            "empty_run_seconds_10x": big["small_runs"]["empty_run_seconds"],
            "empty_run_queries_10x": big["small_runs"]["empty_run_queries"],
            "read_command_seconds": round(one["read_command_seconds"], 2),
        }
    )
    if engine == "local":
        print("serving: the app's serving database on the 7-year lakehouse ...", flush=True)
        results["serving"] = serving_stage(home, work, args)
    return results


def _figure(results: dict, key: str, shape: str) -> str:
    """One figure, or "not measured" (an older bench, or a stage that stopped)."""
    value = results.get(key)
    return "not measured" if value is None else shape.format(value)


def _run_figure(results: dict, run: str, suffix: str = "") -> str:
    """Seconds and queries of a small run, or "not measured"."""
    seconds, queries = results.get(f"{run}_seconds{suffix}"), results.get(f"{run}_queries{suffix}")
    return "not measured" if seconds is None else f"{seconds:.2f} s, {queries} queries"


def figure_rows(results: dict) -> list[tuple[str, str, str]]:
    """(what, value, target) for one engine's figures."""
    return [
        ("cores", str(results["machine_cores"]), ""),
        ("deals in the lakehouse (1x / 10x)", f"{results['rows_1x']['deals']:,} / {results['rows_10x']['deals']:,}", ""),
        ("peak day documents", str(results["peak_day_documents"]), ""),
        ("peak day, end to end", f"{results['peak_day_seconds']:.1f} s", "embedded <= 6 s, Spark <= 25 s"),
        ("  engine queries", str(results["peak_day_queries"]), "<= 50"),
        ("honest floor (read files + plain appends)", f"{results['honest_floor_seconds']:.2f} s", ""),
        ("peak day / honest floor", f"{results['honest_floor_ratio']}x", "embedded <= 6x"),
        ("single append of the lines (old floor)", f"{results['append_floor_seconds']:.2f} s", ""),
        ("peak day on 10x tables", _figure(results, "peak_day_seconds_10x", "{:.1f} s"), ""),
        ("10x cost growth", _figure(results, "growth_factor_10x", "{}x"), "<= 1.15x"),
        ("year backlog in one run", _figure(results, "backlog_year_seconds", "{:.0f} s") + (
            f", {results['backlog_year_queries']} queries" if results.get("backlog_year_queries") else ""),
         "< 120 s, <= 50 queries"),
        ("trickle run (1 document)", _run_figure(results, "trickle"), "embedded <= 2 s, Spark <= 10 s; <= 20 queries"),
        ("trickle run on 10x tables", _run_figure(results, "trickle", "_10x"), "<= 1.15x the 1x figure"),
        ("empty run", _run_figure(results, "empty_run"), "<= 5 queries"),
        ("read command (dealdesk tables, new process)", _figure(results, "read_command_seconds", "{:.1f} s"), "about 2 s"),
        ("views median / p95", f"{results['view_median_ms']} / {results['view_p95_ms']} ms", "p95 < 500 ms"),
        ("views p95 under concurrent clients", f"{results['concurrent_view_p95_ms']} ms", ""),
    ]  # fmt: skip


def print_table(measured: dict[str, dict]) -> None:
    """The engines side by side, one row per figure."""
    engines = [e for e in ("local", "spark") if e in measured]
    columns = {e: figure_rows(measured[e]) for e in engines}
    names = [name for name, _, _ in columns[engines[0]]]
    targets = [target for _, _, target in columns[engines[0]]]
    width = max(len(n) for n in names)
    header = {"local": "embedded (Sail)", "spark": "Apache Spark + Delta"}
    print(f"{'':<{width}}  " + "".join(f"{header[e]:<28}" for e in engines) + "target")
    for i, name in enumerate(names):
        print(f"{name:<{width}}  " + "".join(f"{columns[e][i][1]:<28}" for e in engines) + targets[i])
    for engine in engines:
        print(f"{header[engine]} per phase: {measured[engine]['peak_day_steps']}")
    if "serving" in measured.get("local", {}):
        bench_serving.print_figures(measured["local"]["serving"])


if __name__ == "__main__":
    sys.exit(main())
