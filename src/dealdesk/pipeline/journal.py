"""The redo journal and the run lock: what makes a cut-short or concurrent run safe.

A run decides its whole batch in memory, records the effects in ``run_journal`` (one append,
several for a run whose journal would not fit in one message to the engine), applies them table
by table, then marks the journal applied. A run cut at any
write after the journal is finished by the next run, which applies the same effects again
(every write is idempotent) before it takes anything new: no half-applied state is ever
decided from. A run cut before the journal wrote nothing but raw documents, and its files
are taken again.

``run_lock`` lets one processing run at a time read, decide and write (Databricks jobs are
also deployed with one concurrent run); a second run waits for the lease.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pyspark.sql import functions as F

from dealdesk.config import PIPELINE_LEASE
from dealdesk.core.model import Effects
from dealdesk.errors import DealDeskError
from dealdesk.lakehouse.gateway import Lakehouse

log = logging.getLogger(__name__)

JOURNAL, LOCK, STATE = "run_journal", "run_lock", "run_state"
STATE_COLUMNS = ("business_clock", "monitored_as_of", "rules_fingerprint")
PART_CHARS = 8_000_000  # one journal row holds at most this much text
# One append carries at most this much journal text: a Spark Connect message stops at 128 MB
# (a year of documents in one run journals about 25 MB, seven years about 170 MB).
APPEND_CHARS = 48_000_000
LEASE = timedelta(minutes=30)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    """Everything a run writes after its decisions: replayable as it is."""

    run_id: str
    now: datetime
    effects: Effects
    landed: list[dict[str, Any]] = field(default_factory=list)
    ledger_known: list[str] = field(default_factory=list)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$ts": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot journal {type(value).__name__}")


def _decode(value: dict[str, Any]) -> Any:
    if "$ts" in value:
        return datetime.fromisoformat(value["$ts"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    return value


def encode(record: RunRecord) -> list[str]:
    text = json.dumps(asdict(record), default=_encode, separators=(",", ":"))
    packed = base64.b64encode(zlib.compress(text.encode(), 6)).decode()
    return [packed[i : i + PART_CHARS] for i in range(0, len(packed), PART_CHARS)] or [""]


def decode(parts: list[str]) -> RunRecord:
    data = json.loads(zlib.decompress(base64.b64decode("".join(parts))), object_hook=_decode)
    data["effects"] = Effects(**data["effects"])
    return RunRecord(**data)


def write_journal(lakehouse: Lakehouse, record: RunRecord) -> None:
    """The run's record, in parts; several appends when it is larger than one message may carry.
    The effects are written only once every part is: a journal cut short is found incomplete
    (``unfinished``) and none of its effects were written."""
    rows = [
        {"run_id": record.run_id, "part": n, "body": body, "written_at": record.now, "applied_at": None}
        for n, body in enumerate(encode(record))
    ]
    per_append = max(1, APPEND_CHARS // PART_CHARS)
    for first in range(0, len(rows), per_append):
        group = rows[first : first + per_append]
        lakehouse.append(lakehouse.frame(JOURNAL, group), JOURNAL)


def mark_applied(lakehouse: Lakehouse, run_id: str) -> None:
    rows = [{"run_id": run_id, "applied_at": utc_now()}]
    lakehouse.merge(lakehouse.frame(JOURNAL, rows, ["run_id", "applied_at"]), JOURNAL, ["run_id"],
                    update_columns=["applied_at"], insert=False)  # fmt: skip


def unfinished(lakehouse: Lakehouse) -> list[RunRecord]:
    """Journals of runs cut short after recording their effects, oldest first."""
    rows = lakehouse.collect(
        lakehouse.read(JOURNAL).filter(F.col("applied_at").isNull()).select("run_id", "part", "body")
    )
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        parts.setdefault(row["run_id"], []).append((row["part"], row["body"]))
    records = []
    for run_id, found in parts.items():
        try:
            records.append(decode([body for _, body in sorted(found)]))
        except (ValueError, zlib.error) as error:  # a part missing: base64, zlib or JSON refuses it
            # cut while its parts were appended: none of its effects were written (they follow the
            # whole journal), its lines are taken again; marked so that no run reads it again
            log.warning("run %s: its journal was cut while being written (%s); nothing of it was applied, "
                        "its documents are taken again", run_id, error)  # fmt: skip
            mark_applied(lakehouse, run_id)
    return sorted(records, key=lambda r: r.now)


# -- the lock ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lease:
    """What taking the lease found: whether the lakehouse is settled, and then the state the last
    successful run left (run_state), which only a settled lakehouse may be trusted to hold.

    Settled: no run ever held the lease, or the run that held it last succeeded. Every run that
    succeeds has decided every line it landed and finished every journal before it (a run finishes
    its predecessors' first), so a settled lakehouse has no unfinished journal, no landed line left
    undecided and no raw line written twice by a retake: the next run need not look for any of
    them. A restore leaves the lease with itself (operations.recovery), so the run after it is
    not settled."""

    settled: bool
    state: dict[str, Any] | None = None  # the run_state row, when settled and written before

    def trusted(self, column: str) -> tuple[bool, Any]:
        """(whether run_state's ``column`` can be used, its value)."""
        if not self.settled or self.state is None:
            return False, None
        return True, self.state[column]


def acquire(lakehouse: Lakehouse, owner: str, *, wait_seconds: float = 600.0) -> Lease:
    """Take the pipeline lease, waiting while another run holds it. A lease is free when it was
    released, has expired, or belongs to a run that has ended (failed, or died after its end)."""
    deadline = time.monotonic() + wait_seconds
    told = False
    previous: dict[str, Any] | None = None
    while True:
        holder = _holder(lakehouse)
        if holder and holder["owner"] == owner:
            return _lease(previous, holder)
        previous = holder
        now = utc_now()
        if not holder or holder["expires_at"] <= now or holder["status"] in ("succeeded", "failed"):
            offer = [{"name": PIPELINE_LEASE, "owner": owner, "acquired_at": now, "expires_at": now + LEASE,
                      "replaces": holder["owner"] if holder else None}]  # fmt: skip
            frame = lakehouse.frame(LOCK, offer, ["name", "owner", "acquired_at", "expires_at"])
            frame = frame.withColumn("replaces", F.lit(offer[0]["replaces"]).cast("string"))
            # only the holder judged free is replaced: of two runs taking it at once, one wins
            changed = lakehouse.merge(frame, LOCK, ["name"], update_columns=["owner", "acquired_at", "expires_at"],
                                      update_condition="t.owner <=> s.replaces", condition_columns=["replaces"])  # fmt: skip
            if changed == 1:  # won, as the engine says: what was read before is what we replaced
                return _lease(holder)
            continue  # lost, or the engine does not say: read the lock again
        if time.monotonic() > deadline:
            raise DealDeskError(
                f"another run ({holder['owner']}) is processing this lakehouse; its lease ends at "
                f"{holder['expires_at']:%Y-%m-%d %H:%M:%S} UTC: try again later"
            )
        if not told:
            log.warning("another run is processing this lakehouse: waiting for it to finish")
            told = True
        time.sleep(0.5)


def _lease(previous: dict[str, Any] | None, current: dict[str, Any] | None = None) -> Lease:
    """The lease taken over from ``previous`` (the lock row with its run's status; None: never
    taken), with the run_state row as read with ``current`` (default: with ``previous``). Only a
    lease holder writes run_state and a succeeded one has written it all, so either read holds it."""
    settled = previous is None or previous["status"] == "succeeded"
    found = current if current is not None else previous
    state = found if settled and found is not None and found["state_run_id"] is not None else None
    return Lease(settled, state)


def _holder(lakehouse: Lakehouse) -> dict[str, Any] | None:
    """The lock row with its run's status and the run_state row (None when nobody ever took it):
    one query."""
    runs = lakehouse.read("job_runs").select(F.col("run_id").alias("owner"), "status")
    state = lakehouse.read(STATE).select("name", F.col("run_id").alias("state_run_id"), *STATE_COLUMNS)
    rows = lakehouse.collect(
        lakehouse.read(LOCK)
        .filter(F.col("name") == PIPELINE_LEASE)
        .join(runs, "owner", "left")
        .join(state, "name", "left")
        .select("owner", "expires_at", "status", "state_run_id", *STATE_COLUMNS)
    )
    return rows[0] if rows else None


def save_state(lakehouse: Lakehouse, run_id: str, values: dict[str, Any]) -> None:
    """Write the state this run leaves for the next (run_state), replacing the last: one MERGE."""
    row = [{"name": PIPELINE_LEASE, "run_id": run_id, **values, "updated_at": utc_now()}]
    frame = lakehouse.frame(STATE, row)
    lakehouse.merge(frame, STATE, ["name"], update_columns=[c for c in frame.columns if c != "name"])


def release(lakehouse: Lakehouse, owner: str) -> None:
    """Give the lease back (only our own): the lock row ends expired."""
    now = utc_now()
    row = [{"name": PIPELINE_LEASE, "owner": owner, "acquired_at": now, "expires_at": now}]
    lakehouse.merge(
        lakehouse.frame(LOCK, row), LOCK, ["name", "owner"], update_columns=["expires_at"], insert=False
    )
