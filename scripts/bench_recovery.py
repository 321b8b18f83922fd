"""Backup and restore times on the embedded engine at the 7-year volume.

    .venv/bin/python scripts/bench_recovery.py [--years 7]

Builds the lakehouse as scripts/bench.py does (one base month through the real pipeline, then
its rows copied back month by month), then times, on a fresh engine each:
1. ``backup``: every table copied at one recorded version;
2. a bad change: one more month of rows written into every history table;
3. ``restore --dry-run`` and a whole-schema ``restore --timestamp`` (audit tables included) to
   the moment before the change;
4. the change again, then a whole-schema ``restore`` from the backup.
Writes bench/recovery.json. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # the 7-year build of scripts/bench.py, reused as it is

from dealdesk.config import load_rules
from dealdesk.lakehouse.engine import stop_local_engine
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.generator import Mix, generate
from dealdesk.operations.recovery import Recovery, RestoreRequest, recoverable_tables
from dealdesk.pipeline import jobs

ROOT = Path(__file__).resolve().parents[1]


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def timed(action) -> tuple[float, object]:  # noqa: ANN001  # any callable
    started = time.perf_counter()
    result = action()
    return round(time.perf_counter() - started, 2), result


def bad_change(lakehouse: Lakehouse, months: int) -> None:
    """One more month of copied rows in every history table: the change a restore must undo."""
    bench.grow_history(lakehouse, "bench_base", months, months + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, default=7)
    parser.add_argument("--deals-per-month", type=int, default=1_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work-recovery")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "recovery.json")
    args = parser.parse_args(argv)

    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    home = args.work / "lakehouse"
    months = args.years * 12
    print(f"building {args.years} years ...", flush=True)
    build_started = time.perf_counter()
    base = bench.fresh_lakehouse(home, "bench_base")
    generate(args.work / "base", years=1 / 12, mix=Mix(deals_per_month=args.deals_per_month, revised=0.0),
             start=bench.BASE_MONTH)  # fmt: skip
    jobs.run_pipeline(base, args.work / "base", load_rules(None), jobs.LATEST_EVENT)
    lakehouse = bench.fresh_lakehouse(home, "recovery")
    for table in ("users", "advertisers", "agencies"):
        lakehouse.sql(
            f"INSERT INTO {lakehouse.table_name(table)} SELECT * FROM `main`.`bench_base`.`{table}`"
        ).collect()
    bench.grow_history(lakehouse, "bench_base", 0, months)
    build_seconds = round(time.perf_counter() - build_started, 1)
    stop_local_engine()  # every command starts its own engine

    lakehouse = bench.fresh_lakehouse(home, "recovery")
    bench.fresh_lakehouse(home, "bench_base")  # the source of the bad change
    recovery = Recovery(lakehouse)
    counts = bench.row_counts(lakehouse)
    print(f"{counts['deals']:,} deals, {sum(counts.values()):,} rows; backup ...", flush=True)
    backup_seconds, backup = timed(lambda: recovery.backup(keep=7))
    before = datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"
    change_seconds, _ = timed(lambda: bad_change(lakehouse, months))
    request = RestoreRequest("timestamp", before, include_audit=True)
    dry_seconds, _ = timed(lambda: recovery.restore(request, dry_run=True))
    print("restore to the time before the change ...", flush=True)
    pit_seconds, pit = timed(lambda: recovery.restore(request))
    restored_counts = bench.row_counts(lakehouse)
    bad_change(lakehouse, months)
    print("restore from the backup ...", flush=True)
    from_backup_seconds, from_backup = timed(
        lambda: recovery.restore(RestoreRequest("backup", include_audit=True))
    )

    results = {
        "engine": "local",
        "machine_cores": os.cpu_count(),
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "years": args.years,
        "deals_per_month": args.deals_per_month,
        "rows": counts,
        "rows_total": sum(counts.values()),
        "schema_bytes": folder_bytes(home / "warehouse" / "main" / "recovery"),
        "backup_bytes": folder_bytes(home / "warehouse" / "main" / "recovery_backup"),
        "build_seconds": build_seconds,
        "backup_seconds": backup_seconds,
        "backup_tables": len(backup.rows),  # type: ignore[attr-defined]
        "bad_change_seconds": change_seconds,
        "restore_dry_run_seconds": dry_seconds,
        "restore_timestamp_seconds": pit_seconds,
        "restore_timestamp_tables": sum(1 for p in pit.plans if p.changes),  # type: ignore[attr-defined]
        "restore_backup_seconds": from_backup_seconds,
        "restore_backup_tables": sum(1 for p in from_backup.plans if p.changes),  # type: ignore[attr-defined]
        "restored_rows_equal_before": all(restored_counts[t] == counts[t] for t in recoverable_tables()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for key, value in results.items():
        if key != "rows":
            print(f"{key:28} {value}")
    print(f"\nwritten: {args.out}")
    shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
