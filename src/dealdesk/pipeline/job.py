"""The processing job: land files, read once, decide in order, write once.

1. Take the lease (journal.acquire). It says whether the lakehouse is settled: the last run
   that held it succeeded. Only a run after one that did not looks for work left behind: a
   journal to finish, lines landed but never decided (a full scan of raw_documents).
2. Land the new files in bounded chunks: each chunk is parsed and checked by the content
   rules of the kinds it names (one query) and appended to raw_documents (an insert-only MERGE
   after a run that did not succeed, which may have landed the same lines).
3. Add the documents asked to be replayed.
4. Read the state the batch needs (a fixed number of queries), decide every document in
   business-time order in plain Python, flag the deals (flow_intelligence as of monitoring's
   "now"), record the effects in the journal, write them.
5. Leave the business clock and monitoring time for the next run (run_state), when they moved.

The number of engine queries depends on the number of chunks (bytes landed), never on how
many events a deal has or how many days the files hold; what each query reads is what the
batch names, the timers due and the deals still on track, not the history.
A run with nothing new and nothing due takes the lease, lists the landing folder and records
itself: five queries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dealdesk.checks.envelope import RAW_COLUMNS, read_envelopes
from dealdesk.config import DOCUMENT_KINDS, BusinessRules
from dealdesk.core.desk import DECISION_FAILED, decide
from dealdesk.core.model import Document, Effects, LatestApplied, reason
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline import journal, read_models
from dealdesk.pipeline.landing import LandedFile, made_file, new_files
from dealdesk.pipeline.parse import kinds_named, parse_documents, to_document
from dealdesk.pipeline.runs import JobRun, job_run
from dealdesk.pipeline.serve import serve
from dealdesk.pipeline.state import read_snapshot
from dealdesk.pipeline.write import write_effects

log = logging.getLogger(__name__)
progress_log = logging.getLogger("dealdesk.progress")  # a line per phase; the command line shows them
SLOW_PHASE_SECONDS = 1.0  # a phase that took this long says so when it ends

LATEST_EVENT = "latest-event"
CHUNK_BYTES = 16 * 1024 * 1024  # landing text sent to the engine per message, well under its limit
LINE_SCHEMA = (
    "source_file STRING, line_number BIGINT, payload STRING, encoding_error STRING, nesting INT, "
    "event_id_hint STRING, derived_id STRING"
)
RAW_KEY = ["source_file", "line_number", "event_id", "payload"]

Progress = Callable[[str], None]


@dataclass
class Batch:
    """The documents a run decides, and how each landed line was counted."""

    documents: list[Document] = field(default_factory=list)
    envelope_rejects: list[dict[str, Any]] = field(default_factory=list)
    duplicates: Counter[str] = field(default_factory=Counter)
    ledger_known: set[str] = field(default_factory=set)
    open_rejections: set[str] = field(default_factory=set)
    # copies of an event whose first copy was applied before (checked against it) or is decided
    # in this batch (checked after): the same content is a duplicate, other content is refused
    copies_of_applied: list[dict[str, Any]] = field(default_factory=list)
    copies_in_batch: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    lines: int = 0


Line = tuple[str, int, str, str | None, int | None, str | None, str]


def _chunks(files: list[LandedFile]) -> list[list[Line]]:
    """The non-blank lines of the files (with what reading them found), in chunks of at most
    about CHUNK_BYTES."""
    chunks: list[list[Line]] = [[]]
    size = 0
    for landed in files:
        problems, deep = landed.encoding_errors or {}, landed.too_deep or {}
        for number, line in enumerate(landed.lines, start=1):
            if not line.strip():
                continue
            if size > CHUNK_BYTES:
                chunks.append([])
                size = 0
            depth, hint = deep.get(number, (None, None))
            chunks[-1].append(
                (landed.path, number, line, problems.get(number), depth, hint, landed.derived_id(number))
            )
            size += len(line) + 64
    return [c for c in chunks if c]


def _with_ledger(lakehouse: Lakehouse, parsed: DataFrame) -> DataFrame:
    """Each document with its event's ledger outcome and whether a rejection of it is open."""
    ledger = lakehouse.read("processed_events").select("event_id", F.col("outcome").alias("ledger_outcome"))
    open_rejections = (
        lakehouse.read("rejected_documents")
        .filter(F.col("replayed_at").isNull())
        .select("event_id", F.lit(True).alias("open_rejection"))
    )
    return parsed.join(ledger, "event_id", "left").join(open_rejections, "event_id", "left")


def _parse(
    lakehouse: Lakehouse,
    lines: DataFrame,
    rules: BusinessRules,
    kinds: set[str] | None = None,
    count: int | None = None,
) -> list[dict[str, Any]]:
    """Parsed and checked lines with their ledger status: one query per frame of parse_documents
    (two at most), with the checks of ``kinds`` only (None: every kind) for ``count`` lines. A
    line missing or of another kind means the guess missed: the lines are parsed again with
    every kind."""
    frames = parse_documents(lines, rules, kinds)
    # independent queries: sent at once, the engine plans and runs them side by side
    with ThreadPoolExecutor(max_workers=len(frames)) as pool:
        found = pool.map(lambda frame: lakehouse.collect(_with_ledger(lakehouse, frame)), frames)
        rows = [row for part in found for row in part]
    if kinds is not None and (
        len(rows) != count or any(not r["envelope_error_count"] and r["kind"] not in kinds for r in rows)
    ):
        return _parse(lakehouse, lines, rules)
    return rows


def _land(lakehouse: Lakehouse, lines: DataFrame, run: JobRun, received_at: datetime, settled: bool) -> None:
    """Every line as it came, readable or not. Appended on a settled lakehouse: its files were
    never landed before (a file is taken once, by checksum). After a run that did not succeed, a
    file it landed may come again: then an insert-only MERGE on the whole line adds what is new."""
    raw = read_envelopes(lines).select(
        *RAW_COLUMNS[:-2], F.lit(received_at).alias("received_at"), F.lit(run.run_id).alias("run_id")
    )
    lakehouse.insert_new(raw, "raw_documents", RAW_KEY, known_new=settled)


def _earlier_pending(
    lakehouse: Lakehouse, this_run_files: list[str], replay_ids: Sequence[str], settled: bool
) -> DataFrame | None:
    """Lines of earlier runs still to decide: never decided (a run cut short before its journal),
    or asked to be replayed (their latest copy). None when there are none.

    On a settled lakehouse (see journal.acquire) no landed line is undecided, so raw_documents is
    read only for the lines asked to be replayed: no scan that grows with the history."""
    if settled and not replay_ids:
        return None
    raw = lakehouse.read("raw_documents")
    ledger = lakehouse.read("processed_events").select("event_id", "outcome")
    undecided = (
        raw.filter(F.col("kind").isin(*DOCUMENT_KINDS) & F.col("occurred_at").isNotNull())
        .select("event_id", "source_file", "line_number", "received_at")
        .join(ledger, "event_id", "left")
        .filter(F.col("outcome").isNull())
        .drop("outcome")
    )
    if this_run_files:
        files = lakehouse.spark.createDataFrame([(f,) for f in this_run_files], "source_file STRING")
        undecided = undecided.join(files, "source_file", "left_anti")
    if replay_ids:
        wanted = lakehouse.spark.createDataFrame([(e,) for e in replay_ids], "event_id STRING")
        replayed = raw.join(wanted, "event_id", "left_semi").select(
            "event_id", "source_file", "line_number", "received_at"
        )
        undecided = replayed if settled else undecided.unionByName(replayed)
    keys = lakehouse.collect(undecided)
    if not keys:
        return None
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(keys, key=lambda r: (r["received_at"], r["source_file"], -r["line_number"])):
        latest[row["event_id"]] = row  # an event's latest copy
    found = lakehouse.spark.createDataFrame(
        [(r["source_file"], r["line_number"]) for r in latest.values()],
        "source_file STRING, line_number BIGINT",
    )
    payloads = lakehouse.read("raw_documents").select("source_file", "line_number", "payload", "event_id")
    rows = lakehouse.collect(payloads.join(found, ["source_file", "line_number"], "left_semi"))
    # parsed from plain rows, as landed lines are (the embedded engine cannot resolve the parse
    # projections over a table read: "No field named ...payload")
    return lakehouse.spark.createDataFrame(
        [(r["source_file"], r["line_number"], r["payload"], None, None, None, r["event_id"]) for r in rows],
        LINE_SCHEMA,
    )


def _sort_out(rows: list[dict[str, Any]], batch: Batch, replay_ids: set[str], rules: BusinessRules) -> None:
    """Each landed line counted once: rejected for its envelope, a duplicate, or decided."""
    chosen: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["source_file"], r["line_number"])):
        batch.lines += 1
        if row["envelope_error_count"]:
            batch.envelope_rejects.append(row)
            continue
        if row["ledger_outcome"] == "applied":  # applied is final, replay or not
            batch.copies_of_applied.append(row)
            continue
        if row["event_id"] in chosen:
            batch.copies_in_batch.append((row, chosen[row["event_id"]]))
            continue
        chosen[row["event_id"]] = row
    for row in chosen.values():
        if row["ledger_outcome"] is not None:
            batch.ledger_known.add(row["event_id"])
        if row["open_rejection"]:
            batch.open_rejections.add(row["event_id"])
        document = to_document(row, rules)
        document.replay = row["event_id"] in replay_ids
        batch.documents.append(document)


JSON_LINES = "json_lines"


def _array_of(payload: str) -> list[Any] | None:
    """The documents of a line that holds a JSON array of them (not JSON Lines), else None."""
    if not payload.lstrip().startswith("["):
        return None
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    is_documents = isinstance(value, list) and any(isinstance(item, dict) for item in value)
    return value if is_documents else None


def _array_rejections(lakehouse: Lakehouse, effects: Effects) -> list[dict[str, Any]]:
    """The batch's rejections, a line holding a JSON array refused with rule json_lines, and
    with it each document of the array that has an event_id of its own, under that id: the app
    finds every document it sent. An id the desk applied (before or in this batch) or rejects
    for another reason keeps that outcome. Stored outcomes are read only when such lines came."""
    found, lines = [], []
    for row in effects.rejected:
        documents = _array_of(row["payload"]) if row["kind"] is None else None
        if documents is None:
            lines.append(row)
            continue
        count, where = len(documents), "file (pretty-printed)" if "\n" in row["payload"] else "line"
        message = (
            f"the {where} holds a JSON array of {count} documents: send each document on a line of its "
            "own (JSON Lines); each document with an event_id is rejected under it"
        )
        lines.append({**row, "reasons": [reason("line", JSON_LINES, message, f"{count} documents")]})
        for number, document in enumerate(documents, start=1):
            event_id = document.get("event_id") if isinstance(document, dict) else None
            if isinstance(event_id, str) and event_id.strip():
                kind = document.get("kind")
                note = (
                    f"document {number} of a JSON array of {count} in one {where}: send it on a line of "
                    "its own (JSON Lines)"
                )
                found.append({**row, "event_id": event_id.strip(), "kind": kind if kind in DOCUMENT_KINDS else None,
                              "payload": json.dumps(document),
                              "reasons": [reason("line", JSON_LINES, note, f"document {number} of {count}")]})  # fmt: skip
    if not found:
        return lines
    taken = {r["event_id"] for r in lines} | {
        e["event_id"] for e in effects.ledger if e["outcome"] == "applied"
    }
    wanted = lakehouse.spark.createDataFrame([(r["event_id"],) for r in found], "event_id STRING")
    applied = lakehouse.read("processed_events").filter(F.col("outcome") == "applied")
    taken |= {
        r["event_id"]
        for r in lakehouse.collect(applied.join(wanted, "event_id", "left_semi").select("event_id"))
    }
    for row in found:
        if row["event_id"] not in taken:
            taken.add(row["event_id"])
            lines.append(row)
    return lines


REUSED = "event_id_reused"
FAILED_NOTE = "could not be decided"  # how job_runs counts a document rejected by decision_failed


def same_content(first: str, second: str) -> bool:
    """Two copies of a document say the same (spacing and key order aside)."""
    if first == second:
        return True
    try:
        return json.loads(first) == json.loads(second)
    except ValueError:
        return False


def _reuse_rejection(row: dict[str, Any]) -> dict[str, Any]:
    message = (
        f"event_id {row['event_id']} was already used by a document with other content, which stands; "
        "this copy is not applied: send it with an event_id of its own"
    )
    return {
        **{k: row[k] for k in ("event_id", "kind", "source_file", "line_number", "payload")},
        "reasons": [{"field": "event_id", "rule": REUSED, "message": message, "value": row["event_id"]}],
    }


def _check_copies(
    lakehouse: Lakehouse, batch: Batch, effects: Effects
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Copies of applied events: duplicates when they say what a stored copy says, refused (one
    rejection per event) when they say something else. Stored copies are read only when such
    copies landed (one query)."""
    applied_now = {e["event_id"] for e in effects.ledger if e["outcome"] == "applied"}
    refused: dict[str, dict[str, Any]] = {}
    counted: Counter[str] = Counter()  # every refused copy, by kind (one rejection row per event)
    for row, first in batch.copies_in_batch:
        if row["event_id"] in applied_now and not same_content(first["payload"], row["payload"]):
            refused.setdefault(row["event_id"], _reuse_rejection(row))
            counted[row["kind"]] += 1
        else:
            batch.duplicates[row["kind"]] += 1
    if batch.copies_of_applied:
        wanted = lakehouse.spark.createDataFrame(
            [(r["event_id"],) for r in batch.copies_of_applied], "event_id STRING"
        )
        found = lakehouse.read("raw_documents").join(wanted, "event_id", "left_semi")
        stored: dict[str, list[tuple[str, int, str]]] = {}
        for r in lakehouse.collect(found.select("event_id", "source_file", "line_number", "payload")):
            stored.setdefault(r["event_id"], []).append((r["source_file"], r["line_number"], r["payload"]))
        for row in batch.copies_of_applied:
            others = [
                p
                for f, n, p in stored.get(row["event_id"], [])
                if (f, n) != (row["source_file"], row["line_number"])
            ]
            if not others or any(same_content(p, row["payload"]) for p in others):
                batch.duplicates[row["kind"]] += 1
            else:
                refused.setdefault(row["event_id"], _reuse_rejection(row))
                counted[row["kind"]] += 1
    return list(refused.values()), counted


def business_clock(lakehouse: Lakehouse) -> datetime | None:
    """The latest business time of the documents applied so far (monitoring as of the data:
    --as-of latest-event). A rejected document moves no clock."""
    applied = lakehouse.read("processed_events").filter(F.col("outcome") == "applied")
    rows = lakehouse.collect(applied.agg(F.max("occurred_at").alias("at")))
    return rows[0]["at"] if rows else None


def _apply(lakehouse: Lakehouse, record: journal.RunRecord, *, first: bool = False) -> Counter[str]:
    """Write a journal's effects: ``first`` by the run that decided them, else a journal finished
    by a later run (see write_effects)."""
    written = write_effects(
        lakehouse, record.effects, record.run_id, record.now, set(record.ledger_known), first=first
    )
    if record.landed:
        lakehouse.insert_new(
            lakehouse.frame("landed_files", record.landed), "landed_files", ["sha256"], known_new=first
        )
    read_models.refresh(lakehouse, record.effects, record.now, first=first)
    journal.mark_applied(lakehouse, record.run_id)
    return written


def rules_fingerprint(rules: BusinessRules) -> str:
    """A fingerprint of the rules a run monitored with: flags computed under other rules are
    computed again for every deal."""
    text = json.dumps(asdict(rules), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _progress(message: str) -> None:
    """Long steps say what they do, as they start (the dealdesk.progress log, INFO)."""
    progress_log.info("%s ...", message)


class _Phases:
    """Seconds per phase of a run, kept on the run (the benchmark reports them)."""

    def __init__(self, run: JobRun) -> None:
        self.run, self.last = run, time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.run.phases[phase] = round(self.run.phases.get(phase, 0.0) + now - self.last, 3)
        if now - self.last >= SLOW_PHASE_SECONDS:
            progress_log.info("%s done in %.1f s", phase, now - self.last)
        self.last = now


def process(
    lakehouse: Lakehouse,
    rules: BusinessRules,
    *,
    job: str = "run",
    landing: Path | None = None,
    as_of: datetime | str | None = None,
    replay_ids: Sequence[str] = (),
    lines: Sequence[tuple[str, Sequence[str]]] = (),
    progress: Progress | None = None,
) -> JobRun:
    """One processing run. ``as_of``: monitoring's business "now" (a time, LATEST_EVENT, or None
    for no monitoring: timers and flags are left for a run that has one)."""
    say = progress or _progress
    start_queries = lakehouse.queries
    with job_run(lakehouse, job) as run:
        lease = journal.acquire(lakehouse, run.run_id)
        try:
            for record in [] if lease.settled else journal.unfinished(lakehouse):
                say(f"finishing run {record.run_id}, cut short after recording its effects")
                run.mark_running(lakehouse)
                _apply(lakehouse, record)
            _process(lakehouse, rules, run, landing, lines, as_of, replay_ids, say, lease)
        finally:
            journal.release(lakehouse, run.run_id)
        run.engine_queries = lakehouse.queries - start_queries + 1  # and the final save
    return run


def _process(
    lakehouse: Lakehouse,
    rules: BusinessRules,
    run: JobRun,
    landing: Path | None,
    lines: Sequence[tuple[str, Sequence[str]]],
    as_of: datetime | str | None,
    replay_ids: Sequence[str],
    say: Progress,
    lease: journal.Lease,
) -> None:
    settled = lease.settled
    now = journal.utc_now()
    phases = _Phases(run)
    batch = Batch()
    files: list[LandedFile] = []
    rows: list[dict[str, Any]] = []
    if landing is not None:
        taken = {r["sha256"] for r in lakehouse.collect(lakehouse.read("landed_files").select("sha256"))}
        files, run.unreadable, not_read = new_files(Path(landing), taken)
        run.not_read = [str(n) for n in not_read]
        for skipped in not_read:
            log.warning("not read: %s", skipped)
    made = [made_file(source, text) for source, text in lines]  # documents a job made
    chunks = _chunks([*files, *made])
    run.rows_merged["raw_documents"] += sum(len(c) for c in chunks)
    if chunks:
        say(f"landing {len(files) + len(made):,} file(s), {sum(len(c) for c in chunks):,} lines")
        for number, chunk in enumerate(chunks, start=1):
            if len(chunks) > 1:
                say(f"landing chunk {number}/{len(chunks)}: {len(chunk):,} lines")
            frame = lakehouse.spark.createDataFrame(chunk, LINE_SCHEMA)
            rows += _parse(lakehouse, frame, rules, kinds_named(line[2] for line in chunk), len(chunk))
            run.mark_running(lakehouse)
            _land(lakehouse, frame, run, now, settled)
    phases.done("land")
    earlier = _earlier_pending(lakehouse, [f.path for f in [*files, *made]], replay_ids, settled)
    if earlier is not None:
        rows += _parse(lakehouse, earlier, rules)
    _sort_out(rows, batch, set(replay_ids), rules)
    known, clock = lease.trusted("business_clock")
    if not known:
        clock = business_clock(lakehouse)
    moment = LatestApplied(clock) if as_of == LATEST_EVENT else as_of
    phases.done("pending")
    say(f"deciding {len(batch.documents):,} documents")
    # the state as of the latest time the batch may reach (timers due by then)
    horizon = (
        moment.reach([d.occurred_at for d in batch.documents])
        if isinstance(moment, LatestApplied)
        else moment
    )
    fingerprint = rules_fingerprint(rules)
    flagged, monitored = lease.trusted("monitored_as_of")
    same_rules = lease.state is not None and lease.state["rules_fingerprint"] == fingerprint
    # nothing to decide and no timer that can fall due: no document, and either no monitoring or
    # monitoring as of the very time the last run monitored at, under the same rules
    idle = not batch.documents and (moment is None or (flagged and same_rules and horizon == monitored))
    if idle:
        effects = Effects()
    else:
        # the deals whose flag may change by time alone, when every deal was flagged as of an
        # earlier time under the same rules; else every deal whose flag may be wrong
        since = (
            moment.clock if isinstance(moment, LatestApplied) else moment
        )  # it monitors as of this or later
        incremental = flagged and same_rules and None not in (monitored, since) and monitored <= since
        flags = None if moment is None else ("incremental" if incremental else "full")
        snapshot = read_snapshot(lakehouse, batch.documents, rules, horizon, flags)  # type: ignore[arg-type]
        snapshot.open_rejections = batch.open_rejections
        phases.done("read_state")
        effects = decide(snapshot, batch.documents, rules, moment)  # type: ignore[arg-type]
    for event_id, error in effects.failed.items():
        log.error("document %s could not be decided: %s; rejected (rule decision_failed)", event_id, error)
    phases.done("decide")
    for document in batch.envelope_rejects:
        effects.rejected.append({k: document[k] for k in ("event_id", "kind", "source_file", "line_number", "payload")}
                                | {"reasons": document["errors"]})  # fmt: skip
    effects.rejected = _array_rejections(lakehouse, effects)
    reused, refused_copies = _check_copies(lakehouse, batch, effects)
    effects.rejected.extend(reused)
    for message in effects.warnings:
        log.warning(message)
    landed = [
        {"path": f.path, "size_bytes": f.size_bytes, "sha256": f.sha256, "line_count": sum(1 for line in f.lines if line.strip()),
         "run_id": run.run_id, "taken_at": now}
        for f in files
    ]  # fmt: skip
    record = journal.RunRecord(run.run_id, now, effects, landed, sorted(batch.ledger_known))
    if effects.ledger or effects.rejected or landed or effects.deals_moved:
        say("writing")
        run.mark_running(lakehouse)
        journal.write_journal(lakehouse, record)
        run.rows_merged.update(_apply(lakehouse, record, first=True))
    phases.done("write")
    touched = read_models.touched_by(effects).deal_ids
    wrote = bool(effects.ledger or effects.rejected or landed or touched)
    applied = [e["occurred_at"] for e in effects.ledger if e["outcome"] == "applied"]
    state = {
        "business_clock": max([*applied, *([clock] if clock else [])], default=None),
        # flags as of this run's monitoring; a run without it that changed deals leaves them stale
        "monitored_as_of": effects.as_of if effects.as_of is not None else (monitored if flagged and not touched else None),
        "rules_fingerprint": fingerprint if effects.as_of is not None else (lease.state or {}).get("rules_fingerprint"),
    }  # fmt: skip
    if lease.state is None or any(lease.state[k] != v for k, v in state.items()):
        journal.save_state(lakehouse, run.run_id, state)
    # the last run synced what it wrote (a settled one succeeded): a run that wrote nothing has
    # nothing to bring over
    served = serve(lakehouse) if wrote or not settled else None
    if served is not None:
        run.rows_merged.update({f"serving {table}": n for table, n in served.rows.items() if n})
        phases.done("serve")
    run.lines_read += batch.lines
    for kind, count in batch.duplicates.items():
        run.accepted_by_kind[f"{kind} (duplicate)"] += count
    failed = {
        r["event_id"] for r in effects.rejected if any(x["rule"] == DECISION_FAILED for x in r["reasons"])
    }
    for entry in effects.ledger:
        if entry["event_id"] in failed:
            run.rejected_by_kind[f"{entry['kind']} ({FAILED_NOTE})"] += 1
            continue
        (run.accepted_by_kind if entry["outcome"] == "applied" else run.rejected_by_kind)[entry["kind"]] += 1
    for document in batch.envelope_rejects:
        array = document["kind"] is None and _array_of(document["payload"]) is not None
        run.rejected_by_kind[document["kind"] or ("json array" if array else "unreadable")] += 1
    run.rejected_by_kind.update(refused_copies)
