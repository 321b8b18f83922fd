"""job_runs: one row per job run with its counts, for reconciliation and monitoring."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dealdesk.lakehouse.gateway import Lakehouse

RUN_SCHEMA = (
    "run_id STRING, job STRING, engine STRING, status STRING, started_at TIMESTAMP, finished_at TIMESTAMP, "
    "lines_read BIGINT, accepted BIGINT, rejected BIGINT, accepted_by_kind STRING, rejected_by_kind STRING, "
    "rows_merged STRING, error STRING"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class JobRun:
    job: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=_now)
    accepted_by_kind: Counter[str] = field(default_factory=Counter)
    rejected_by_kind: Counter[str] = field(default_factory=Counter)
    rows_merged: Counter[str] = field(default_factory=Counter)
    lines_read: int = 0
    engine_queries: int = 0
    unreadable: list[str] = field(default_factory=list)  # landing files left for the next run
    not_read: list[str] = field(default_factory=list)  # landing files no run reads: extension, empty
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the run
    recorded: bool = False  # whether job_runs has its row yet

    @property
    def accepted(self) -> int:
        return sum(self.accepted_by_kind.values())

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_kind.values())

    def summary(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "job": self.job,
            "lines_read": self.lines_read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "accepted_by_kind": dict(sorted(self.accepted_by_kind.items())),
            "rejected_by_kind": dict(sorted(self.rejected_by_kind.items())),
            "rows_merged": dict(sorted((k, v) for k, v in self.rows_merged.items() if v)),
            "seconds": round((_now() - self.started_at).total_seconds(), 2),
            "engine_queries": self.engine_queries,
            **({"phases": self.phases} if self.phases else {}),
            **({"unreadable_files": self.unreadable} if self.unreadable else {}),
            **({"files_not_read": self.not_read} if self.not_read else {}),
        }

    def _row(self, status: str, error: str | None) -> tuple:
        return (
            self.run_id,
            self.job,
            "",
            status,
            self.started_at,
            None if status == "running" else _now(),
            self.lines_read,
            self.accepted,
            self.rejected,
            json.dumps(dict(sorted(self.accepted_by_kind.items()))),
            json.dumps(dict(sorted(self.rejected_by_kind.items()))),
            json.dumps(dict(sorted(self.rows_merged.items()))),
            error,
        )

    def save(self, lakehouse: Lakehouse, status: str, error: str | None = None) -> None:
        row = list(self._row(status, error))
        row[2] = lakehouse.target.engine
        source = lakehouse.spark.createDataFrame([tuple(row)], RUN_SCHEMA)
        columns = [c for c in source.columns if c not in ("run_id", "job", "engine", "started_at")]
        # a row not written yet is inserted: insert-only, the cheap kind of MERGE
        lakehouse.merge(source, "job_runs", ["run_id"], update_columns=columns if self.recorded else None)
        self.recorded = True

    def mark_running(self, lakehouse: Lakehouse) -> None:
        """Record the run as running, before its first write (once): a run that writes nothing
        has its one row written at its end."""
        if not self.recorded:
            self.save(lakehouse, "running")


@contextmanager
def job_run(lakehouse: Lakehouse, job: str) -> Iterator[JobRun]:
    """Record a run: 'running' once it starts writing (JobRun.mark_running), then 'succeeded' with
    its counts, or 'failed' with the error. While a run holds the lease without a row, the lease
    counts it as running."""
    run = JobRun(job)
    try:
        yield run
    except BaseException as exc:
        run.save(
            lakehouse, "failed", str(exc).strip().splitlines()[0][:1000] if str(exc).strip() else repr(exc)
        )
        raise
    run.save(lakehouse, "succeeded")
