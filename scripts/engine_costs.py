"""Measure what an engine costs: start-up, a simple query, a small MERGE, an ALTER TABLE commit.

    .venv/bin/python scripts/engine_costs.py --engine spark

Prints one line per figure (medians over --repeat runs). docs/engines.md quotes the results.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dealdesk.lakehouse.engine import ENGINES, Target, spark_server, spark_session, stop_engines
from dealdesk.lakehouse.gateway import Lakehouse


def median_seconds(action: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=[e for e in ENGINES if e != "databricks"], default="local")
    parser.add_argument("--remote", help="sc://HOST:PORT for --engine remote")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="dealdesk-costs-"))
    target = Target(engine=args.engine, home=home, schema="costs", remote=args.remote)
    try:
        began = time.perf_counter()
        spark = spark_session(target)
        spark.sql("SELECT 1").collect()
        print(f"{args.engine}: start to first answer {time.perf_counter() - began:.2f} s")
        server = spark_server() if args.engine == "spark" else None
        if server is not None and server.started_in is not None:
            print(f"{args.engine}: server listening after {server.started_in:.2f} s")
        lakehouse = Lakehouse(spark, target)
        query = median_seconds(lambda: spark.sql("SELECT 1 AS one").collect(), args.repeat)
        print(f"{args.engine}: simple query {query:.3f} s (median of {args.repeat})")
        schema, table = lakehouse.schema_name, lakehouse.table_name("t")
        lakehouse.sql(f"CREATE SCHEMA IF NOT EXISTS {schema} LOCATION '{lakehouse.schema_location()}'")
        lakehouse.sql(
            f"CREATE TABLE IF NOT EXISTS {table} (id BIGINT NOT NULL, n STRING) USING DELTA "
            f"LOCATION '{lakehouse.table_location('t')}' TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
        )
        source = spark.createDataFrame([(i, f"v{i}") for i in range(1000)], "id BIGINT, n STRING")
        merge = median_seconds(
            lambda: lakehouse.merge(source, "t", ["id"], update_columns=["n"]), args.repeat
        )
        print(
            f"{args.engine}: MERGE of 1,000 rows into a 1,000-row table {merge:.3f} s (median of {args.repeat})"
        )
        count = median_seconds(lambda: lakehouse.read("t").count(), args.repeat)
        print(f"{args.engine}: count(*) of a Delta table {count:.3f} s (median of {args.repeat})")
        names = iter(range(args.repeat))
        alter = median_seconds(
            lambda: lakehouse.sql(
                f"ALTER TABLE {table} ADD CONSTRAINT c{next(names)} CHECK (id >= 0)"
            ).collect(),
            args.repeat,
        )
        print(f"{args.engine}: ALTER TABLE ADD CONSTRAINT {alter:.3f} s (median of {args.repeat})")
    finally:
        stop_engines()
    return 0


if __name__ == "__main__":
    sys.exit(main())
