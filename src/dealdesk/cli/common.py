"""What the subcommands share: the target the options name, opening the lakehouse to read or to
write, checks of the paths a user gives, and engine errors as one readable line.

The entry point (``cli``) and the command modules (``intake.commands``, ``workflow.commands``)
import this module and it imports none of them: entry point -> commands -> jobs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dealdesk.cli.output import RUN_FORMATS
from dealdesk.errors import ConfigurationError, NoLakehouseError, PathError
from dealdesk.lakehouse.ddl import LEDGER
from dealdesk.lakehouse.engine import DEFAULT_CATALOG, DEFAULT_SCHEMA, Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.pipeline.runs import JobRun

# Options whose empty value would otherwise silently mean the default.
_NOT_EMPTY = {
    "catalog": "a catalog name",
    "schema": "a schema name",
    "home": "a folder",
    "profile": "a profile name",
    "rules": "a JSON file",
}

ONE_JOB = (  # the --help footer of every command that is a run of the processing job
    "Each of run, ingest, replay, route, decide and monitor is one run of the same processing job: "
    "it finishes a run cut short, then applies the documents it takes and those still pending, in "
    "business-time order. run and monitor also monitor as of --as-of; ingest, replay, route and "
    "decide do not."
)


def target_of(args: argparse.Namespace) -> Target:
    """The target of the global options; an option given empty is an error, not the default."""
    for option, wanted in _NOT_EMPTY.items():
        value = getattr(args, option, None)
        if value is not None and not value.strip():
            raise ConfigurationError(f"--{option} is empty: give {wanted}, or leave the option out")
    return Target.from_options(
        args.engine, args.catalog, args.schema, args.home, args.profile, getattr(args, "remote", None)
    )


def command_prefix(target: Target) -> str:
    """``dealdesk`` with the options that reach this target, for the commands we suggest."""
    words = ["dealdesk", "--home", str(target.home)]
    if target.catalog != DEFAULT_CATALOG:
        words += ["--catalog", target.catalog]
    if target.schema != DEFAULT_SCHEMA:
        words += ["--schema", target.schema]
    return " ".join(words)


def add_run_format(parser: argparse.ArgumentParser) -> None:
    """``--format`` of the commands that print job summaries."""
    parser.add_argument(
        "--format",
        choices=RUN_FORMATS,
        default="text",
        help="text: one readable line per step (default); json: one JSON object per step per line",
    )


# -- paths the user names ---------------------------------------------------------------------------


def check_folder(path: Path, option: str) -> Path:
    """A folder option must not name a file nor lie under one (the engine's own errors say neither).

    Only looks: nothing is created.
    """
    for candidate in (path, *path.parents):
        if candidate.exists():  # the nearest part that exists
            if not candidate.is_dir():
                where = "is a file" if candidate == path else f"is under {candidate}, which is a file"
                raise PathError(f"{option} {path} {where}, not a folder")
            break
    return path


def landing_folder(text: str) -> Path:
    """The folder ``--landing`` names: it must exist and be a folder."""
    path = Path(text)
    if path.is_dir():
        return path
    if path.exists():
        raise PathError(
            f"--landing {path} is a file, not a folder: give the folder that holds the landing files"
        )
    check_folder(path, "--landing")
    raise PathError(f"landing folder {path} does not exist")


# -- opening the lakehouse --------------------------------------------------------------------------


def lakehouse_exists(target: Target) -> bool:
    """Whether a local home holds this lakehouse: its migration ledger has a Delta log.

    Looks at the folder of ``schema_migrations`` (``Lakehouse.table_location``: warehouse/schema/table)
    without starting the engine or creating anything. Unity Catalog answers for itself.
    """
    if not target.is_local:
        return True
    return (target.warehouse / target.schema / LEDGER / "_delta_log").is_dir()


def open_lakehouse(target: Target) -> Lakehouse:
    """Open the lakehouse; locally re-attach the tables (the local catalog lives in memory)."""
    lakehouse = Lakehouse.open(target)
    if target.is_local:
        MigrationRunner(lakehouse).attach()
    return lakehouse


def no_lakehouse(target: Target) -> NoLakehouseError:
    prefix = command_prefix(target)
    where = str(target.home) if target.schema == DEFAULT_SCHEMA else f"{target.home} (schema {target.schema})"
    return NoLakehouseError(
        f"no lakehouse at {where} (run '{prefix} migrate' or '{prefix} run --landing PATH')"
    )


def open_to_read(args: argparse.Namespace) -> Lakehouse:
    """Open an existing lakehouse for a command that only reads: never creates one."""
    target = target_of(args)
    if target.is_local:
        check_folder(target.home, "--home")
        if not lakehouse_exists(target):
            raise no_lakehouse(target)
    return open_lakehouse(target)


def open_to_write(args: argparse.Namespace) -> Lakehouse:
    """Open the lakehouse for a command that writes; a new local home is set up on first use."""
    target = target_of(args)
    if target.is_local:
        check_folder(target.home, "--home")
        if not lakehouse_exists(target):
            lakehouse = Lakehouse.open(target)
            report = MigrationRunner(lakehouse).migrate()
            print(f"new lakehouse at {target.home}: applied {len(report.applied)} DDL files", file=sys.stderr)
            return lakehouse
    return open_lakehouse(target)


# -- engine errors as one line ----------------------------------------------------------------------

# The local engine (Sail)
_SAIL_COLUMN = re.compile(r"attribute ObjectName\(\[(.*?)\]\) is missing from the schema")
_SAIL_NAME_PART = re.compile(r'Identifier\("((?:[^"\\]|\\.)*)"\)')
_SAIL_SYNTAX = re.compile(r"invalid argument: found (.+?) at (\d+):(\d+) expected (.+)$")
_SAIL_SYNTAX_END = re.compile(r"invalid argument: found end of input expected (.+)$")
_SAIL_TABLE = re.compile(r"Table or view not found: (\S+)")
_SAIL_FUNCTION = re.compile(r"unknown function: (\S+)")
# Spark and Databricks
_SPARK_COLUMN = re.compile(r"\[UNRESOLVED_COLUMN[.\w]*\].*?name `?([^`\s]+?)`? cannot be resolved")
_SPARK_TABLE = re.compile(r"\[TABLE_OR_VIEW_NOT_FOUND\].*?`?([\w.`]+?)`? cannot be found")
_SPARK_FUNCTION = re.compile(r"\[UNRESOLVED_ROUTINE\].*?routine `?([^`\s]+?)`? cannot be found")
_SPARK_SYNTAX = re.compile(r"\[PARSE_SYNTAX_ERROR\] Syntax error at or near (.+?)(?:\.\s*SQLSTATE|$)")
_UNQUOTE = re.compile(r"^[`'\"]|[`'\"]$")


def _short_expected(text: str) -> str | None:
    """The parser's 'expected ...' when it is short enough to help."""
    text = text.strip().rstrip(".")
    if "something else" in text or len(text) > 40:
        return None
    return text


def _position(query: str, offset: int) -> str:
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def describe_engine_error(exc: BaseException, query: str | None = None) -> str | None:
    """A readable line for the engine errors a user causes (a missing column, table or function,
    a syntax error); None for any other error."""
    text = " ".join(str(exc).split())
    if match := _SAIL_COLUMN.search(text):
        name = ".".join(_SAIL_NAME_PART.findall(match[1])) or match[1]
        return f"column {name} does not exist"
    if match := _SPARK_COLUMN.search(text):
        return f"column {match[1]} does not exist"
    if match := _SAIL_TABLE.search(text) or _SPARK_TABLE.search(text):
        return f"table or view {match[1].replace('`', '')} does not exist"
    if match := _SAIL_FUNCTION.search(text) or _SPARK_FUNCTION.search(text):
        return f"unknown function {match[1]}"
    if "expected one statement" in text:
        return "one statement at a time"
    if match := _SAIL_SYNTAX_END.search(text):
        expected = _short_expected(match[1])
        detail = f": expected {expected}" if expected else " (is a quote or a parenthesis left open?)"
        return f"syntax error: the statement ends too early{detail}"
    if match := _SAIL_SYNTAX.search(text):
        near, start = match[1], int(match[2])
        where = f" ({_position(query, start)})" if query is not None else ""
        expected = _short_expected(match[4])
        return f"syntax error near {near!r}{where}" + (f": expected {expected}" if expected else "")
    if match := _SPARK_SYNTAX.search(text):
        return f"syntax error near {_UNQUOTE.sub('', match[1].strip())!r}"
    return None


def one_line(exc: BaseException) -> str:
    """Any exception as one line: the readable form when we know it, else its type and first line."""
    described = describe_engine_error(exc)
    if described:
        return described
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def unreadable_files_status(runs: list[JobRun]) -> int:
    """1, with one line on stderr per run, when a run left landing files it could not read."""
    status = 0
    for run in runs:
        if run.unreadable:
            print(
                f"error: {len(run.unreadable)} landing file(s) could not be read and were left for the next run "
                f"(the others were taken): {'; '.join(run.unreadable)}",
                file=sys.stderr,
            )
            status = 1
    return status
