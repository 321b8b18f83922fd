"""The ``dealdesk`` command: thin entry points that parse arguments and call the jobs."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from pyspark.sql import functions as F

from dealdesk import __version__
from dealdesk.cli.common import (
    add_command,
    add_format,
    add_global_options,
    check_folder,
    describe_engine_error,
    one_line,
    open_lakehouse,
    open_to_read,
    program,
    target_of,
)
from dealdesk.cli.intake import add_commands as add_intake_commands
from dealdesk.cli.output import FORMATS, render
from dealdesk.cli.recovery import add_commands as add_recovery_commands
from dealdesk.cli.serving import add_commands as add_serving_commands
from dealdesk.cli.whatif import add_commands as add_whatif_commands
from dealdesk.cli.whatif import period
from dealdesk.cli.workflow import add_commands as add_workflow_commands
from dealdesk.cli.workflow import run_demo_days, status_summary
from dealdesk.config import load_rules
from dealdesk.errors import DealDeskError, DemoError, QueryError
from dealdesk.lakehouse.ddl import parse_parameters, table_names
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner, names_used
from dealdesk.lakehouse.postgres import LocalServer
from dealdesk.operations.generator import Mix, generate
from dealdesk.operations.report import WhatIfReport, write_report
from dealdesk.pipeline import read_models
from dealdesk.pipeline.journal import utc_now
from dealdesk.pipeline.serve import database_of, open_serving
from dealdesk.pipeline.whatif import what_if

__all__ = ["build_parser", "main", "open_lakehouse", "target_of"]


def ddl_parameters(args: argparse.Namespace) -> dict[str, str]:
    """DDL parameters: DEALDESK_DDL_PARAMS (NAME=VALUE,NAME=VALUE), then each --param NAME=VALUE."""
    from_env = [pair for pair in os.environ.get("DEALDESK_DDL_PARAMS", "").split(",") if pair.strip()]
    return parse_parameters([*from_env, *(args.param or [])])


READ_MODELS_DDL = "092_app_read_models.sql"  # the migration that adds the app's read models


def cmd_migrate(args: argparse.Namespace) -> int:
    """apply pending DDL (safe to re-run)

    Examples:
        dealdesk migrate                                # the lakehouse in ./.dealdesk
        dealdesk migrate --engine databricks --profile DEFAULT --catalog my_catalog --schema deal_desk_dev --param admins_group=dealdesk-admins
    """
    target = target_of(args)
    if target.is_local:
        check_folder(target.home, "--home")
    lakehouse = Lakehouse.open(target)
    parameters = ddl_parameters(args)
    analysts = parameters.get("analysts_group")
    report = MigrationRunner(lakehouse, analysts_group=analysts, parameters=parameters).migrate()
    if READ_MODELS_DDL in report.applied and lakehouse.read("deals").limit(1).count():
        read_models.rebuild(lakehouse, utc_now())  # a lakehouse older than its read models: filled once
        print(f"wrote the app's read models from the tables ({', '.join(read_models.READ_MODELS)})")
    for name in report.applied:
        print(f"applied  {name}")
    for name in report.skipped:
        print(f"skipped  {name} (Databricks only)")
    print(
        f"{len(report.applied)} applied, {len(report.already_applied)} already applied, "
        f"{len(report.skipped)} skipped in {lakehouse.schema_name}"
    )
    return 0


# Statements `sql` refuses: it is for queries, and the tables belong to the DDL files and the jobs.
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.DOTALL)
_QUERY_WORDS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES", "FROM", "TABLE")


def statement_words(query: str) -> list[str]:
    """The keywords and names of a statement, upper-cased, without literals, quoted names or comments."""
    return re.findall(r"[A-Z_][A-Z0-9_]*", _QUOTED.sub(" ", query).upper())


def refused_statement(query: str) -> str | None:
    """What a statement would drop, truncate or delete; None for one `sql` may run."""
    words = statement_words(query)
    first = words[0] if words else ""
    if first in ("DROP", "TRUNCATE", "DELETE"):
        return " ".join(words[:2])
    if first == "ALTER" and "DROP" in words:
        return "ALTER ... DROP"
    if first == "INSERT" and words[1:2] == ["OVERWRITE"]:
        return "INSERT OVERWRITE"
    if first == "MERGE" and "DELETE" in words:
        return "MERGE ... DELETE"
    if first in ("CREATE", "REPLACE") and "REPLACE" in words and "TABLE" in words[:5]:
        return "REPLACE TABLE"
    return None


def cmd_sql(args: argparse.Namespace) -> int:
    """run Spark SQL against the lakehouse; refuses statements that drop, truncate or delete

    Examples:
        dealdesk sql "SELECT status, count(*) AS deals FROM deals GROUP BY status"
        dealdesk sql "SELECT * FROM deals" --format json     # one object per line
        dealdesk sql "SELECT * FROM rejects_summary" --home .dealdesk/demo --format csv
    """
    refused = refused_statement(args.query)
    if refused:
        raise QueryError(
            f"sql: {refused} refused: the sql command is for queries and never drops, truncates or "
            "deletes the lakehouse's data (tables change through the DDL files and the jobs)"
        )
    lakehouse = open_to_read(args, only=names_used(args.query))  # what the query names, else all
    lakehouse.use_schema()
    try:
        df = lakehouse.sql(args.query)
        rows = lakehouse.rows(df)
    except Exception as exc:
        described = describe_engine_error(exc, args.query)
        if described is None:
            raise
        raise QueryError(f"sql: {described}") from exc
    words = statement_words(args.query)
    if words and words[0] not in _QUERY_WORDS and all(isinstance(v, bool) for r in rows for v in r):
        print(f"ok: {words[0]} done")  # a statement's bare True says nothing
        return 0
    text = render(df.columns, rows, args.format)
    if text:
        print(text)
    return 0


def table_counts(lakehouse: Lakehouse) -> list[tuple[str, int]]:
    """Every table with its row count: one query."""
    counts = [
        lakehouse.read(table).select(F.lit(table).alias("table"), F.count(F.lit(1)).alias("rows"))
        for table in lakehouse.table_names()
    ]
    if not counts:
        return []
    every = counts[0]
    for count in counts[1:]:
        every = every.unionByName(count)
    return sorted((row["table"], row["rows"]) for row in lakehouse.collect(every))


def cmd_tables(args: argparse.Namespace) -> int:
    """tables and row counts

    Examples:
        dealdesk tables
        dealdesk tables --home .dealdesk/demo --format json
    """
    lakehouse = open_to_read(args, only=table_names())  # tables only: no view is made
    print(render(["table", "rows"], table_counts(lakehouse), args.format))
    return 0


# -- the demo --------------------------------------------------------------------------------------

DEMO_HOME = Path(".dealdesk") / "demo"  # the Makefile's DEMO_HOME: `make demo` builds the same one
DEMO_MARKER = ".dealdesk-demo"  # written first into a home the demo builds: what it may delete later


def demo_entries(target: Target) -> list[str]:
    """What the demo creates in its home (relative paths): its schema's tables, landing and report."""
    schema = (target.warehouse / target.schema).relative_to(target.home)
    return [schema.as_posix(), "landing", "report.html"]


def _recorded_entries(home: Path) -> list[Path]:
    """The paths the marker says the demo created, each checked to lie inside the home."""
    try:
        recorded = json.loads((home / DEMO_MARKER).read_text())["created"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"demo: {home / DEMO_MARKER} is not a demo marker; nothing was deleted") from exc
    entries = []
    for entry in recorded:
        path = home / str(entry)
        if ".." in Path(str(entry)).parts or Path(str(entry)).is_absolute() or path == home:
            raise DemoError(
                f"demo: {home / DEMO_MARKER} names {entry!r}, outside the demo; nothing was deleted"
            )
        entries.append(path)
    return entries


def _delete_recorded(entries: list[Path]) -> None:
    """Delete the paths the demo's marker records (checked to lie inside its home): only those."""
    for path in entries:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def prepare_demo_home(target: Target, rebuild: bool, shown: str) -> None:
    """Make the demo's home ready, deleting nothing the demo did not create.

    A missing or empty folder becomes a demo home. An existing demo home (it has the marker) is
    rebuilt only with ``rebuild``, and then only what the marker records is deleted. Any other
    non-empty folder is refused.
    """
    home = target.home
    check_folder(home, "--home")
    if home.is_dir() and any(home.iterdir()):
        if not (home / DEMO_MARKER).is_file():
            raise DemoError(
                f"demo: {shown} is not empty and is not a demo lakehouse; the demo never deletes what it "
                "did not create: give --home an empty or new folder"
            )
        if not rebuild:
            raise DemoError(
                f"demo: {shown} already holds a demo lakehouse: add --rebuild to build it again "
                "(deletes only the demo's tables, landing files and report)"
            )
        _delete_recorded(_recorded_entries(home))
    home.mkdir(parents=True, exist_ok=True)
    marker = {"created_by": "dealdesk demo", "created": demo_entries(target)}
    (home / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def next_commands(args: argparse.Namespace, shown: str, engine: str = "local") -> list[str]:
    """The commands to look at the demo lakehouse, as they run from here: this program as it was
    started, and the options that reach the demo (its --home unless a bare command reaches it)."""
    words = [] if engine == "local" else ["--engine", engine]
    if os.path.abspath(shown) != os.path.abspath(Target.from_options().home):
        words += ["--home", shown]
    for option in ("catalog", "schema"):
        if getattr(args, option, None):
            words += [f"--{option}", getattr(args, option)]
    prefix = " ".join([program(), *map(shlex.quote, words)])
    return [
        f"{prefix} tables",
        f'{prefix} sql "SELECT status, count(*) AS deals FROM deals GROUP BY status"',
        f"{prefix} rejects",
        f"{prefix} report",
        f"{prefix} serving url",
        f"{prefix} serving stop",
    ]


def remove_demo_home(home: Path, shown: str) -> None:
    """Delete what the demo created (its marker says what) and its serving database; the home
    folder too when nothing else is left in it. Anything else is refused."""
    if not (home / DEMO_MARKER).is_file():
        raise DemoError(f"demo: {shown} is not a demo lakehouse (no {DEMO_MARKER}); nothing was deleted")
    entries = _recorded_entries(home)
    LocalServer(home).remove()
    _delete_recorded(entries)
    (home / DEMO_MARKER).unlink()
    for path in entries:  # the folders they were in, once empty (warehouse/main), and the home
        for folder in path.parents:
            if folder == home.parent:
                break
            with contextlib.suppress(OSError):
                folder.rmdir()


def cmd_demo(args: argparse.Namespace) -> int:
    """build a local lakehouse with sample data (in ./.dealdesk/demo unless --home)

    Examples:
        dealdesk demo                                   # in ./.dealdesk/demo
        dealdesk demo --home .dealdesk/demo --rebuild   # build it again (what make demo runs)
        dealdesk demo --remove
    """
    shown = args.home or str(DEMO_HOME)
    target = replace(target_of(args), home=Path(shown))  # target_of checks the options
    if args.remove:
        remove_demo_home(target.home, shown)
        print(f"removed the demo lakehouse in {shown}")
        return 0
    if not target.is_local:
        raise DealDeskError("demo builds a fresh local lakehouse: use --engine local or spark")
    prepare_demo_home(target, args.rebuild, shown)
    print(f"Building a fresh lakehouse in {target.home}", flush=True)
    lakehouse = Lakehouse.open(target)
    report = MigrationRunner(lakehouse).migrate()
    print(f"Applied {len(report.applied)} DDL files ({len(report.skipped)} Databricks-only skipped)")
    server = open_serving(lakehouse, fresh=True)  # every run of the demo then brings the app's tables over
    run_demo_days(lakehouse, target.home, load_rules(args.rules))
    print()
    print(render(["table", "rows"], table_counts(lakehouse)))
    print()
    print(status_summary(lakehouse))
    print(f"\nReport: {write_report(lakehouse, target.home / 'report.html')}")
    url = server.url(database=database_of(lakehouse))
    *look, stop = next_commands(args, shown, target.engine)
    print(
        "\nThe app's serving database (PostgreSQL, schema app): its URL, a query, the command that stops it"
    )
    print(f"  {url}")
    print(
        f'  psql "{url}" -c "SET dealdesk.user_email = \'admin@example.com\'" -c "SELECT reference_number, status FROM app.deals"'
    )
    print(f"  {stop}")
    print("\nLook at it next:")
    for command in look:
        print(f"  {command}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """write synthetic landing files: realistic volumes and mixes, reproducible

    Examples:
        dealdesk generate --years 1 --out backlog           # a year of files, then: run --landing backlog
        dealdesk generate --years 0.25 --deals-per-month 5000 --invalid-share 0.1 --seed 11 --out busy
    """
    if args.years <= 0:
        raise DealDeskError(f"--years must be positive; got {args.years}")
    check_folder(Path(args.out), "--out")
    mix = Mix(deals_per_month=args.deals_per_month, invalid=args.invalid_share)
    result = generate(Path(args.out), years=args.years, seed=args.seed, mix=mix)
    print(
        f"{result.documents:,} documents for {result.deals:,} deals in {result.files:,} files "
        f"({result.first_day} .. {result.last_day}) under {args.out}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """HTML report with charts: <home>/report.html

    Examples:
        dealdesk --home .dealdesk/demo report
        dealdesk report --out deals-report.html
    """
    target = target_of(args)
    default = target.home / "report.html" if target.is_local else Path("dealdesk-report.html")
    lakehouse = open_to_read(args)
    whatif = None
    if args.whatif:  # the section comparing a proposal with the rules in force
        start, end = period(args.start, args.end)
        result = what_if(lakehouse, load_rules(None), load_rules(args.whatif), start, end)
        whatif = WhatIfReport(Path(args.whatif).name, result.comparison, result.emails, result.documents)
    print(write_report(lakehouse, Path(args.out) if args.out else default, whatif))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dealdesk",
        description="Deal Desk lakehouse: Delta tables and jobs for deal approvals.",
        epilog="examples:\n  dealdesk --home .dealdesk/demo tables --format json\n"
        "  dealdesk tables --help   # a command's options and examples",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dealdesk {__version__}")
    add_format(add_global_options(parser), before_command=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate = add_command(commands, cmd_migrate)
    migrate.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a principal name for the Databricks-only DDL, e.g. admins_group=dealdesk-admins (repeatable; "
        "env DEALDESK_DDL_PARAMS=a=b,c=d)",
    )

    sql = add_command(commands, cmd_sql, prints=True)
    sql.add_argument("query", help="the SQL text; unqualified names resolve to the lakehouse schema")

    add_command(commands, cmd_tables, prints=True)

    report = add_command(commands, cmd_report)
    report.add_argument("--out", metavar="FILE.html", help="where to write it (default: <home>/report.html)")
    report.add_argument("--whatif", metavar="PROPOSAL.json",
                        help="add a section comparing these rules with those in force (see dealdesk whatif)")  # fmt: skip
    report.add_argument("--from", dest="start", metavar="DATE", help="with --whatif: first day of the period")
    report.add_argument("--to", dest="end", metavar="DATE", help="with --whatif: last day of the period")

    generate = add_command(commands, cmd_generate)
    generate.add_argument("--years", type=float, required=True, help="years of deals to generate")
    generate.add_argument("--out", required=True, help="folder for the files (one per day, in YYYY/MM)")
    generate.add_argument(
        "--seed", type=int, default=7, help="random seed (default 7): same seed, same files"
    )
    generate.add_argument("--deals-per-month", type=int, default=1_000, help="default 1000 (the seed volume)")
    generate.add_argument(
        "--invalid-share", type=float, default=0.02, help="share of documents sent broken (default 0.02)"
    )

    add_intake_commands(commands)
    add_workflow_commands(commands)
    add_recovery_commands(commands)
    add_serving_commands(commands)
    add_whatif_commands(commands)

    demo = add_command(commands, cmd_demo)
    demo.add_argument(
        "--rebuild",
        action="store_true",
        help="build an existing demo lakehouse again (deletes only what the demo created)",
    )
    demo.add_argument(
        "--remove",
        action="store_true",
        help="delete the demo lakehouse: only what the demo created, and its serving database",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            code = _run(argv)
        except SystemExit:  # --help, --version or a usage error: argparse has printed
            _flush_stdout()
            raise
        _flush_stdout()  # the last buffered lines too, while a reader gone by now is still caught here
        return code
    except BrokenPipeError:
        # the reader went away (`dealdesk rejects | head`): end quietly, as any writer to a pipe does
        _stdout_to_devnull()
        return 141  # what a shell shows for a writer ended by SIGPIPE (128 + 13)


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _stdout_to_devnull() -> None:
    """Point stdout's file at /dev/null, so that the interpreter's last flush of what is still
    buffered does not fail on the closed pipe again (a stdout with no file has nothing to do)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is OSError and ValueError
        pass
    finally:
        os.close(devnull)


PROGRESS = logging.getLogger("dealdesk.progress")  # the jobs' line per phase (pipeline.job)


class _ToStderr(logging.Handler):
    """Each record as an indented line on the stderr of the moment, flushed."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"  {self.format(record)}", file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def progress_shown(verbose: bool) -> Iterator[None]:
    """Progress lines on stderr while a command runs, when stderr is a terminal or with -v; never
    on stdout, where the results go (--format json stays JSON)."""
    handler, saved = _ToStderr(), (PROGRESS.level, PROGRESS.propagate)
    shown = verbose or _is_terminal(sys.stderr)
    PROGRESS.setLevel(logging.INFO if shown else logging.WARNING)
    PROGRESS.propagate = False  # once, here: not again through the -v log
    PROGRESS.addHandler(handler)
    try:
        yield
    finally:
        PROGRESS.removeHandler(handler)
        PROGRESS.setLevel(saved[0])
        PROGRESS.propagate = saved[1]


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.format != FORMATS[0] and not getattr(args, "prints", False):
        parser.error(f"--format: {args.command} prints no rows or summaries; it takes no --format")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        with progress_shown(args.verbose):
            return args.func(args)
    except DealDeskError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # a closed stdout: main ends quietly
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # Spark and engine failures: one line unless --verbose
        if args.verbose:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
