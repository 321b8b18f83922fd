"""The ``dealdesk`` command: thin entry points that parse arguments and call the jobs."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dealdesk import __version__
from dealdesk.config import load_rules
from dealdesk.engine import ENGINES, Target
from dealdesk.errors import DealDeskError
from dealdesk.intake.commands import add_commands as add_intake_commands
from dealdesk.lakehouse import Lakehouse
from dealdesk.migrations import MigrationRunner, parse_parameters
from dealdesk.output import FORMATS, render
from dealdesk.report import write_report
from dealdesk.workflow.commands import add_commands as add_workflow_commands
from dealdesk.workflow.commands import run_demo_days, status_summary

Command = Callable[[argparse.Namespace], int]


def open_lakehouse(target: Target) -> Lakehouse:
    """Open the lakehouse; locally re-attach the tables (the local catalog lives in memory)."""
    lakehouse = Lakehouse.open(target)
    if target.is_local:
        MigrationRunner(lakehouse).attach()
    return lakehouse


def target_of(args: argparse.Namespace) -> Target:
    return Target.from_options(args.engine, args.catalog, args.schema, args.home, args.profile, args.remote)


def ddl_parameters(args: argparse.Namespace) -> dict[str, str]:
    """DDL parameters: DEALDESK_DDL_PARAMS (NAME=VALUE,NAME=VALUE), then each --param NAME=VALUE."""
    from_env = [pair for pair in os.environ.get("DEALDESK_DDL_PARAMS", "").split(",") if pair.strip()]
    return parse_parameters([*from_env, *(args.param or [])])


def cmd_migrate(args: argparse.Namespace) -> int:
    lakehouse = Lakehouse.open(target_of(args))
    parameters = ddl_parameters(args)
    analysts = parameters.get("analysts_group")
    report = MigrationRunner(lakehouse, analysts_group=analysts, parameters=parameters).migrate()
    for name in report.applied:
        print(f"applied  {name}")
    for name in report.skipped:
        print(f"skipped  {name} (Databricks only)")
    print(
        f"{len(report.applied)} applied, {len(report.already_applied)} already applied, "
        f"{len(report.skipped)} skipped in {lakehouse.schema_name}"
    )
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    lakehouse = open_lakehouse(target_of(args))
    lakehouse.use_schema()
    df = lakehouse.sql(args.query)
    rows = df.collect()
    text = render(df.columns, rows, args.format)
    if text:
        print(text)
    return 0


def table_counts(lakehouse: Lakehouse) -> list[tuple[str, int]]:
    return [(table, lakehouse.read(table).count()) for table in lakehouse.table_names()]


def cmd_tables(args: argparse.Namespace) -> int:
    lakehouse = open_lakehouse(target_of(args))
    print(render(["table", "rows"], table_counts(lakehouse), args.format))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    target = target_of(args)
    if not target.is_local:
        raise DealDeskError("demo builds a fresh local lakehouse: use --engine local or spark")
    if target.home.exists():
        shutil.rmtree(target.home)
    print(f"Building a fresh lakehouse in {target.home}", flush=True)
    lakehouse = Lakehouse.open(target)
    report = MigrationRunner(lakehouse).migrate()
    print(f"Applied {len(report.applied)} DDL files ({len(report.skipped)} Databricks-only skipped)")
    run_demo_days(lakehouse, target.home, load_rules(args.rules))
    print()
    print(render(["table", "rows"], table_counts(lakehouse)))
    print()
    print(status_summary(lakehouse))
    print(f'\nQuery it: dealdesk --home {args.home or target.home} sql "SELECT * FROM deals"')
    print(f"Report: {write_report(lakehouse, target.home / 'report.html')}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from dealdesk.generator import Mix, generate

    if args.years <= 0:
        raise DealDeskError(f"--years must be positive; got {args.years}")
    mix = Mix(deals_per_month=args.deals_per_month, invalid=args.invalid_share)
    result = generate(Path(args.out), years=args.years, seed=args.seed, mix=mix)
    print(
        f"{result.documents:,} documents for {result.deals:,} deals in {result.files:,} files "
        f"({result.first_day} .. {result.last_day}) under {args.out}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    target = target_of(args)
    default = target.home / "report.html" if target.is_local else Path("dealdesk-report.html")
    print(write_report(open_lakehouse(target), Path(args.out) if args.out else default))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dealdesk", description="Deal Desk lakehouse: Delta tables and jobs for deal approvals."
    )
    parser.add_argument("--version", action="version", version=f"dealdesk {__version__}")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        help="local (embedded, default), spark (local Apache Spark + Delta Lake: make spark-env), "
        "remote (a Spark Connect server, see --remote) or databricks (env DEALDESK_ENGINE)",
    )
    parser.add_argument(
        "--remote", metavar="sc://HOST:PORT", help="Spark Connect URL for --engine remote (env SPARK_REMOTE)"
    )
    parser.add_argument("--catalog", help="catalog name (env DEALDESK_CATALOG, default main)")
    parser.add_argument("--schema", help="schema name (env DEALDESK_SCHEMA, default deal_desk)")
    parser.add_argument("--home", help="local lakehouse folder (env DEALDESK_HOME, default ./.dealdesk)")
    parser.add_argument("--profile", help="Databricks config profile for --engine databricks")
    parser.add_argument("--rules", help="JSON file overriding business rules (env DEALDESK_RULES_FILE)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and show stack traces")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = commands.add_parser("migrate", help="apply pending DDL files")
    migrate.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a principal name for the Databricks-only DDL, e.g. admins_group=dealdesk-admins (repeatable; "
        "env DEALDESK_DDL_PARAMS=a=b,c=d)",
    )
    migrate.set_defaults(func=cmd_migrate)

    sql = commands.add_parser("sql", help="run Spark SQL against the lakehouse")
    sql.add_argument("query", help="the SQL text; unqualified names resolve to the lakehouse schema")
    sql.add_argument(
        "--format", choices=FORMATS, default="table", help="table, json (one object per line) or csv"
    )
    sql.set_defaults(func=cmd_sql)

    tables = commands.add_parser("tables", help="list the tables and their row counts")
    tables.add_argument("--format", choices=FORMATS, default="table")
    tables.set_defaults(func=cmd_tables)

    report = commands.add_parser("report", help="write a self-contained HTML report with charts")
    report.add_argument("--out", metavar="FILE.html", help="where to write it (default: <home>/report.html)")
    report.set_defaults(func=cmd_report)

    generate = commands.add_parser(
        "generate", help="write synthetic landing files: realistic volumes and mixes, reproducible"
    )
    generate.add_argument("--years", type=float, required=True, help="years of deals to generate")
    generate.add_argument("--out", required=True, help="folder for the files (one per day, in YYYY/MM)")
    generate.add_argument(
        "--seed", type=int, default=7, help="random seed (default 7): same seed, same files"
    )
    generate.add_argument("--deals-per-month", type=int, default=1_000, help="default 1000 (the seed volume)")
    generate.add_argument(
        "--invalid-share", type=float, default=0.02, help="share of documents sent broken (default 0.02)"
    )
    generate.set_defaults(func=cmd_generate)

    add_intake_commands(commands)
    add_workflow_commands(commands)

    commands.add_parser("demo", help="build a fresh local lakehouse with sample data").set_defaults(
        func=cmd_demo
    )
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.func(args)
    except DealDeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # Spark and engine failures: one line unless --verbose
        if args.verbose:
            raise
        print(f"error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
