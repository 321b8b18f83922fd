"""Smart re-approval and `whatif`, measured on generated years (embedded engine).

    .venv/bin/python scripts/bench_whatif.py [--years 1,7]

For each number of years: the generator writes that many years of documents (its revisions
change one part of a deal, so some reviews carry over), one run per year takes them into a new
lakehouse, then `whatif` is timed twice on it:
1. smart re-approval switched off (``{"reapproval": {"carry_over_reviews": false,
   "carry_over_business_approval": false}}``): the approvals it avoided (carried over under the
   rules in force) and the median time from submission to approval with and without it (without:
   every review carried over is asked again and takes the median time reviews of its department
   took, the whatif estimate);
2. a manager threshold of $25,000: the deals it would reroute.
Writes the figures under "whatif" in bench/results.json (the other figures stay). Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from pyspark.sql import functions as F

from dealdesk.config import load_rules
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.operations.generator import Mix, generate
from dealdesk.pipeline.job import LATEST_EVENT, process
from dealdesk.pipeline.whatif import what_if

ROOT = Path(__file__).resolve().parents[1]
NO_REAPPROVAL = {"reapproval": {"carry_over_reviews": False, "carry_over_business_approval": False}}
LOWER_MANAGER = {"ladder": {"manager": 25_000}}


def _days(hours: float | None) -> float | None:
    return None if hours is None else round(hours / 24, 2)


def delegated(lakehouse: Lakehouse) -> dict[str, object]:
    """What delegation did (the generator's absences) and the notifications made, by kind."""
    actions = lakehouse.read("approval_actions").filter(F.col("action_type") == "assign")
    by_delegation = actions.filter(F.col("comments").startswith("delegated by "))
    handed = by_delegation.filter(F.col("source_event_id").startswith("delegation-start:"))
    kinds = lakehouse.read("notifications").groupBy("kind").count().collect()
    return {
        "delegations": lakehouse.read("delegations").count(),
        "assigned_to_a_delegate_at_routing": by_delegation.count() - handed.count(),
        "handed_over_at_a_start": handed.count(),
        "notifications": {r["kind"]: r["count"] for r in sorted(kinds, key=lambda r: r["kind"])},
    }


def measure(years: int, work: Path, deals_per_month: int) -> dict[str, object]:
    landing, home = work / f"landing_{years}y", work / f"home_{years}y"
    shutil.rmtree(landing, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    began = time.monotonic()
    generated = generate(landing, years=years, mix=Mix(deals_per_month=deals_per_month))
    print(
        f"{years} y: {generated.documents:,} documents generated in {time.monotonic() - began:.0f} s",
        flush=True,
    )
    lakehouse = Lakehouse.open(Target(engine="local", catalog="main", schema="bench_whatif", home=home))
    MigrationRunner(lakehouse).migrate()
    began, taken, accepted = time.monotonic(), work / f"taken_{years}y", 0
    shutil.rmtree(taken, ignore_errors=True)
    taken.mkdir()
    for year in sorted(p.name for p in landing.iterdir()):  # a run per year, as a backlog is taken
        shutil.move(landing / year, taken / year)
        accepted += process(lakehouse, load_rules(None), landing=taken, as_of=LATEST_EVENT).accepted
    print(
        f"{years} y: taken, a run per year, in {time.monotonic() - began:.0f} s ({accepted:,} accepted)",
        flush=True,
    )
    rules = load_rules(None)
    figures: dict[str, object] = {"documents_generated": generated.documents, "deals": generated.deals,
                                  "load_seconds": round(time.monotonic() - began, 1),
                                  **delegated(lakehouse)}  # fmt: skip
    for name, proposal in (("no_reapproval", NO_REAPPROVAL), ("manager_25k", LOWER_MANAGER)):
        path = work / f"{name}.json"
        path.write_text(json.dumps(proposal))
        result = what_if(lakehouse, rules, load_rules(path))
        now, other = result.comparison.now, result.comparison.proposal
        print(
            f"{years} y, {name}: {result.documents:,} documents replayed twice in {result.seconds:.1f} s",
            flush=True,
        )
        figures[name] = {
            "seconds": round(result.seconds, 1),
            "documents_replayed": result.documents,
            "deals_in_period": now.deals,
            "approvals_asked_now": sum(now.asked.values()),
            "approvals_asked_proposal": sum(other.asked.values()),
            "carried_over_now": now.carried_over,
            "carried_over_proposal": other.carried_over,
            "rerouted": len(result.comparison.rerouted),
            "median_cycle_days_now": _days(now.median_cycle_hours),
            "median_cycle_days_proposal": _days(other.median_cycle_hours),
            "approved_now": len(now.cycle_hours),
            "approved_proposal": len(other.cycle_hours),
            "estimated_proposal": len(other.estimated),
        }
        if name == "no_reapproval":
            revised = [h for ref, h in now.cycle_hours.items() if ref in other.estimated]
            again = [other.cycle_hours[ref] for ref in other.estimated]
            figures[name]["revised_deals_median_cycle_days_now"] = _days(
                statistics.median(revised) if revised else None
            )
            figures[name]["revised_deals_median_cycle_days_proposal"] = _days(
                statistics.median(again) if again else None
            )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", default="1,7", help="comma-separated (default 1,7)")
    parser.add_argument("--deals-per-month", type=int, default=1_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "whatif")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    measured = {f"{y}y": measure(int(y), args.work, args.deals_per_month) for y in args.years.split(",")}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["whatif"] = {**results.get("whatif", {}), **measured}
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
