"""What the subcommands share: the target the options name, opening the lakehouse to read or to
write, checks of the paths a user gives, and engine errors as one readable line.

The entry point (``cli``) and the command modules (``intake.commands``, ``workflow.commands``)
import this module and it imports none of them: entry point -> commands -> jobs.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import shlex
import shutil
import sys
import textwrap
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from dealdesk.cli.output import FORMATS
from dealdesk.errors import ConfigurationError, MigrationError, NoLakehouseError, PathError
from dealdesk.lakehouse.ddl import LEDGER
from dealdesk.lakehouse.engine import DEFAULT_CATALOG, DEFAULT_SCHEMA, ENGINES, Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.pipeline.runs import JobRun

Command = Callable[[argparse.Namespace], int]  # what a command runs: its options in, its exit status out

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


def program(argv0: str | None = None) -> str:
    """How to start this program again from the current folder, as the commands we suggest say it.

    ``dealdesk`` when the one on the PATH is the one running; else the path it was started by
    (relative to the current folder when it lies under it: ``.venv/bin/dealdesk``); for
    ``python -m dealdesk.cli`` that interpreter with ``-m dealdesk.cli``. Started any other way
    (the command called from another program), ``dealdesk``.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    started = Path(argv0)
    if started.stem == "dealdesk":
        return _runnable(argv0, "dealdesk")
    if started.parent.name == "cli" and started.parent.parent.name == "dealdesk" and started.suffix == ".py":
        return f"{_runnable(sys.executable, 'python3')} -m dealdesk.cli"
    return "dealdesk"


def _runnable(path: str, name: str) -> str:
    """``name`` when the PATH finds ``path`` by it; else ``path`` as it runs from the current folder."""
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(path):
        return name
    if not os.path.isabs(path):
        shown = path
    else:
        relative = os.path.relpath(path)
        shown = path if relative.startswith("..") else relative
    if os.sep not in shown:  # a bare name runs from the PATH only: ./dealdesk runs from here
        shown = os.path.join(os.curdir, shown)
    return shlex.quote(shown)


def command_prefix(target: Target) -> str:
    """This program with the options that reach this target, for the commands we suggest."""
    words = ["--home", str(target.home)]
    if target.catalog != DEFAULT_CATALOG:
        words += ["--catalog", target.catalog]
    if target.schema != DEFAULT_SCHEMA:
        words += ["--schema", target.schema]
    return f"{program()} {shlex.join(words)}"


# -- options and help pages -------------------------------------------------------------------------

GLOBAL_OPTIONS_TITLE = "global options (before or after the command)"
_PLAIN_OPTIONS = (  # the global options that take a plain value: flag, metavar (None: argparse's), help
    ("--remote", "sc://HOST:PORT", "Spark Connect URL for --engine remote (env SPARK_REMOTE)"),
    ("--catalog", None, "catalog name (env DEALDESK_CATALOG, default main)"),
    ("--schema", None, "schema name (env DEALDESK_SCHEMA, default deal_desk)"),
    (
        "--home",
        None,
        "local lakehouse folder (env DEALDESK_HOME, default ./.dealdesk; the demo's: ./.dealdesk/demo)",
    ),
    ("--profile", None, "Databricks config profile for --engine databricks"),
    ("--rules", None, "JSON file overriding business rules (env DEALDESK_RULES_FILE)"),
)


def add_global_options(parser: argparse.ArgumentParser, default: object = None) -> argparse._ArgumentGroup:
    """The options every command takes: on the ``dealdesk`` parser (``default`` None) and, with
    ``default`` argparse.SUPPRESS, on each command's, so that they may follow the command too
    without a command's default overwriting a value given before it."""
    group = parser.add_argument_group(GLOBAL_OPTIONS_TITLE)
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default=default,
        help="local (embedded, default), spark (local Apache Spark + Delta Lake: make spark-env), "
        "remote (a Spark Connect server, see --remote) or databricks (env DEALDESK_ENGINE)",
    )
    for flag, metavar, help_text in _PLAIN_OPTIONS:
        group.add_argument(flag, metavar=metavar, default=default, help=help_text)
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help="show progress (on a terminal it shows anyway) and stack traces",
    )
    return group


def _command_options() -> argparse.ArgumentParser:
    """The global options as a command's parser takes them (a parent: no help of its own)."""
    parent = argparse.ArgumentParser(add_help=False)
    add_global_options(parent, default=argparse.SUPPRESS)
    return parent


COMMAND_OPTIONS = _command_options()
FORMAT_HELP = (
    "text (default): for reading, aligned columns or one line per step; json: one JSON object per "
    "line; csv: a header, then one record per line"
)


def _format_name(text: str) -> str:
    return "text" if text == "table" else text  # the name text had before: scripts may still say it


def add_format(parser: argparse._ActionsContainer, before_command: bool = False) -> None:
    """``--format``, the same on every command that prints rows or summaries, given before the
    command or after it: the ``dealdesk`` parser holds the default, a command's copy none (so that
    it never overwrites a value given before the command) and marks the command as one that prints."""
    default = FORMATS[0] if before_command else argparse.SUPPRESS
    parser.add_argument("--format", type=_format_name, choices=FORMATS, default=default, help=FORMAT_HELP)
    if not before_command:
        parser.set_defaults(prints=True)


def _format_last(actions: Iterable[argparse.Action]) -> list[argparse.Action]:
    """``--format`` after the command's own options (``add_command`` declares it before them)."""
    return sorted(actions, key=lambda action: action.dest == "format")


class HelpPage(argparse.RawDescriptionHelpFormatter):
    """A command's help page: the description and examples as written, a usage line without the
    global options (their own section lists them), and ``--format`` after the command's own options."""

    def add_usage(
        self,
        usage: str | None,
        actions: Sequence[argparse.Action],
        groups: Sequence[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        own = _format_last(action for action in actions if action not in COMMAND_OPTIONS._actions)
        super().add_usage(usage, own, groups, prefix)

    def add_arguments(self, actions: Iterable[argparse.Action]) -> None:
        super().add_arguments(_format_last(actions))


def _fill(text: str) -> str:
    """Paragraphs wrapped for the help page, words kept whole (the page shows them as they are)."""
    return "\n\n".join(
        textwrap.fill(" ".join(p.split()), 88, break_long_words=False, break_on_hyphens=False)
        for p in text.split("\n\n")
    )


def add_parser(
    commands: argparse._SubParsersAction,
    name: str,
    summary: str,
    examples: Sequence[str],
    *,
    func: Command | None = None,
    prints: bool = False,
    notes: str = "",
    description: str = "",
) -> argparse.ArgumentParser:
    """A command's parser: its help page opens with its one-line summary (then ``description``, when
    given), ends with ``notes`` and its examples (``dealdesk ...   # what it does``), and takes the
    global options after the command too. ``func`` runs the command; ``prints``: it prints rows or
    summaries, so it takes ``--format`` (after the command's own options)."""
    epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)
    parser = commands.add_parser(
        name,
        help=summary,
        description=_fill(f"{summary}\n\n{description}" if description else summary),
        epilog=f"{_fill(notes)}\n\n{epilog}" if notes else epilog,
        formatter_class=HelpPage,
        parents=[COMMAND_OPTIONS],
    )
    if prints:
        add_format(parser)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def add_command(
    commands: argparse._SubParsersAction, func: Command, *, prints: bool = False, notes: str = ""
) -> argparse.ArgumentParser:
    """The command ``func`` runs, declared by the handler itself: its name is the handler's
    (``cmd_sync_users``: ``sync-users``) and its help page its docstring (the first paragraph the
    one-line summary, the next ones the description, then ``Examples:``, one per line). ``prints``
    and ``notes`` as in ``add_parser``."""
    name = func.__name__.removeprefix("cmd_").replace("_", "-")
    summary, description, examples = _help_of(func)
    return add_parser(
        commands, name, summary, examples, func=func, prints=prints, notes=notes, description=description
    )


def _help_of(func: Command) -> tuple[str, str, list[str]]:
    """The summary, description and examples a handler's docstring gives (none when the
    interpreter strips docstrings: the page then holds the name and options only)."""
    text = inspect.cleandoc(func.__doc__ or "")
    prose, _, examples = text.partition("\nExamples:\n")
    summary, _, description = prose.strip().partition("\n\n")
    lines = textwrap.dedent(examples).splitlines()
    return " ".join(summary.split()), description.strip(), [line for line in lines if line.strip()]


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


def open_lakehouse(target: Target, only: Collection[str] | None = None) -> Lakehouse:
    """Open the lakehouse; locally re-attach the tables (the local catalog lives in memory):
    ``only`` those tables and views, for a command that reads no other."""
    lakehouse = Lakehouse.open(target)
    if target.is_local:
        MigrationRunner(lakehouse).attach(only)
    return lakehouse


def no_lakehouse(target: Target) -> NoLakehouseError:
    prefix = command_prefix(target)
    where = str(target.home) if target.schema == DEFAULT_SCHEMA else f"{target.home} (schema {target.schema})"
    return NoLakehouseError(
        f"no lakehouse at {where} (run '{prefix} migrate' or '{prefix} run --landing PATH')"
    )


def open_to_read(args: argparse.Namespace, only: Collection[str] | None = None) -> Lakehouse:
    """Open an existing lakehouse for a command that only reads: never creates one. ``only``:
    the tables and views it reads (None: all)."""
    target = target_of(args)
    if target.is_local:
        check_folder(target.home, "--home")
        if not lakehouse_exists(target):
            raise no_lakehouse(target)
    return open_lakehouse(target, only)


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
        lakehouse = Lakehouse.open(target)
        pending = MigrationRunner(lakehouse).pending()  # attaches what is applied
        if pending:
            names = ", ".join(m.name for m in pending)
            raise MigrationError(
                f"this lakehouse has DDL files not applied yet ({names}): run '{command_prefix(target)} migrate' first"
            )
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
