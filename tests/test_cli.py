"""The dealdesk command: separate processes, so every call is a restart of the engine."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dealdesk.cli.common import open_lakehouse
from dealdesk.cli.main import DEMO_MARKER, main, progress_shown
from dealdesk.lakehouse.engine import Target, stop_engine
from dealdesk.lakehouse.migrations import names_used
from tests.conftest import REPO


def dealdesk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEALDESK_HOME": str(home), "DEALDESK_SCHEMA": "cli_test"}
    return subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli")
    result = dealdesk(home, "migrate")
    assert result.returncode == 0, result.stderr
    assert "applied  020_deals.sql" in result.stdout
    return home


def test_tables_survive_a_restart(migrated_home: Path):
    insert = dealdesk(
        migrated_home,
        "sql",
        "INSERT INTO advertisers (id, name, previous_year_revenue, previous_year_margin, previous_year_profit, "
        "previous_year_incentive_cost, previous_year_client_value, region, source_event_id, created_at, "
        "updated_at) VALUES (7, 'Acme Foods', 800000, 0.31, 248000, 30000, 120000, 'northeast', 'e1', "
        "current_timestamp(), current_timestamp())",
    )
    assert insert.returncode == 0, insert.stderr
    again = dealdesk(migrated_home, "sql", "SELECT id, name FROM advertisers", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert [json.loads(line) for line in again.stdout.splitlines()] == [{"id": 7, "name": "Acme Foods"}]
    # Constraints come back from the Delta log after the restart.
    bad = dealdesk(
        migrated_home,
        "sql",
        "INSERT INTO advertisers (id, name, previous_year_revenue, previous_year_margin, previous_year_profit, "
        "previous_year_incentive_cost, previous_year_client_value, region, source_event_id, created_at, "
        "updated_at) VALUES (8, 'Bad', 0, 2.5, 0, 0, 0, 'mars', 'e2', current_timestamp(), current_timestamp())",
    )
    assert bad.returncode == 1
    assert "advertisers_" in bad.stderr and "violated" in bad.stderr


def test_migrate_again_in_a_new_process_applies_nothing(migrated_home: Path):
    result = dealdesk(migrated_home, "migrate")
    assert result.returncode == 0, result.stderr
    assert "0 applied" in result.stdout


def test_sql_json_returns_one_object_per_line(migrated_home: Path):
    result = dealdesk(
        migrated_home, "sql", "SELECT department, is_active FROM approval_departments ORDER BY department",
        "--format", "json",
    )  # fmt: skip
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0] == {"department": "creative", "is_active": True}
    assert len(rows) == 7


def test_sql_csv_has_a_header(migrated_home: Path):
    result = dealdesk(migrated_home, "sql", "SELECT department FROM approval_departments WHERE department = 'legal'",
                      "--format", "csv")  # fmt: skip
    assert result.stdout.splitlines() == ["department", "legal"]


def test_errors_are_one_line_and_non_zero(migrated_home: Path):
    result = dealdesk(migrated_home, "sql", "SELECT * FROM no_such_table")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "no_such_table" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_schema_name_is_a_clear_error(capsys: pytest.CaptureFixture[str]):
    assert main(["--schema", "deal desk; DROP", "tables"]) == 1
    assert "schema 'deal desk; DROP' is not a valid identifier" in capsys.readouterr().err


def test_find_python_explains_what_is_missing(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")}
    if Path("/usr/bin/python3.12").exists() or Path("/usr/local/bin/python3.12").exists():
        pytest.fail("this check needs a machine without a system Python 3.12; adjust it for this one")
    result = subprocess.run(
        [str(REPO / "scripts" / "find-python312")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert "no Python 3.12 interpreter found" in result.stderr
    assert "pyenv install 3.12" in result.stderr


def test_find_python_honours_an_explicit_interpreter(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": sys.executable}
    result = subprocess.run(
        [str(REPO / "scripts" / "find-python312")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0
    assert result.stdout.strip() == sys.executable


def test_every_command_the_readme_describes_once_has_that_description_in_its_help():
    """The README's command lines (`.venv/bin/dealdesk CMD ...  # what it does`) and `--help`
    say the same; a command the README shows several times (with other options) is left out."""
    import argparse
    import re
    from pathlib import Path

    from dealdesk.cli.main import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    described: dict[str, list[str]] = {}
    for command, comment in re.findall(
        r"^\.venv/bin/dealdesk ([a-z][a-z-]*)\b[^\n#]*(?:#\s*(.+))?$", readme, re.MULTILINE
    ):
        described.setdefault(command, []).append(comment.strip())
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    once = {
        command: comments[0] for command, comments in described.items() if len(comments) == 1 and comments[0]
    }
    assert {"run", "route", "decide", "monitor", "ingest", "replay"} <= set(once)
    assert {command: helps.get(command) for command in once} == once
    for command in ("route", "decide"):  # and each command's own --help opens with it
        assert " ".join(commands.choices[command].format_help().split("\n\n")[1].split()) == helps[command]


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    """`dealdesk sql ... | head -1`: the reader goes away; no error, no traceback."""
    import subprocess
    import sys

    home = str(tmp_path / "home")
    command = [sys.executable, "-m", "dealdesk.cli.main", "--home", home]
    assert subprocess.run([*command, "migrate"], capture_output=True, timeout=300).returncode == 0
    reader = subprocess.Popen(
        [*command, "sql", "SELECT id, repeat('x', 100) AS filler FROM range(50000)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stdout.readline().split() == [b"id", b"filler"]
    reader.stdout.close()  # as `head -1` does once it has its line
    _, err = reader.communicate(timeout=300)
    assert err.decode() == "" and reader.returncode == 141


def test_sql_table_output_escapes_control_characters():
    from dealdesk.cli.output import render

    text = render(["name\x1b"], [["red\x1b[31m\r\nnext\ttab\x7f\x9b"]])
    assert "\x1b" not in text and "\r" not in text and "\x7f" not in text and "\x9b" not in text
    assert "red\\x1b[31m\\r\\nnext\\ttab\\x7f\\x9b" in text and "name\\x1b" in text
    assert text.count("\n") == 3  # header, rule, one row, the count: one line each


class ClosedPipe:
    """A stdout whose reader has gone (`dealdesk ... | head` after head's last line): every write
    and flush fails as on a closed pipe, and it has no file to point elsewhere."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


def fake_demo(home: Path) -> Path:
    """A demo home as the demo leaves it, its marker listing what it created: no engine needed."""
    (home / "landing").mkdir(parents=True)
    (home / "landing" / "day.jsonl").write_text("{}\n")
    marker = {
        "created_by": "dealdesk demo",
        "created": ["warehouse/main/deal_desk", "landing", "report.html"],
    }
    (home / DEMO_MARKER).write_text(json.dumps(marker))
    return home


def test_a_closed_pipe_ends_help_quietly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["--help"]) == 141  # not SystemExit: the help never reached the reader
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_ends_a_command_quietly_when_stdout_has_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    home = fake_demo(tmp_path / "demo")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["--home", str(home), "demo", "--remove"]) == 141
    assert capsys.readouterr().err == "" and not home.exists()


@pytest.mark.parametrize("command", [["--help"], ["demo", "--remove"]], ids=["help", "demo-remove"])
def test_a_reader_gone_before_the_last_buffered_lines_ends_the_command_quietly(
    command: list[str], tmp_path: Path
):
    """Buffered stdout, as on any machine without PYTHONUNBUFFERED: the few lines a command prints
    reach the pipe at the very end, after its reader has closed it."""
    home = fake_demo(tmp_path / "demo")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dealdesk.cli.main", "--home", str(home), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes before the command has written anything
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141 and err == ""


def test_sql_never_writes_a_control_character_of_a_value_to_the_terminal(migrated_home: Path):
    query = "SELECT concat('red', chr(27), '[31m', chr(13), 'over', chr(155)) AS s"
    table = dealdesk(migrated_home, "sql", query)
    assert table.returncode == 0, table.stderr
    shown = "red\\x1b[31m\\rover\\x9b"
    assert table.stdout.split("\n") == ["s", "-" * len(shown), shown, "(1 row)", ""]
    env = {**os.environ, "DEALDESK_HOME": str(migrated_home), "DEALDESK_SCHEMA": "cli_test"}
    as_csv = subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", "sql", query, "--format", "csv"],
        capture_output=True,
        env=env,
        timeout=300,
    )  # bytes: text mode would turn the value's CR into a newline
    assert as_csv.stdout == 's\n"red\x1b[31m\rover\x9b"\n'.encode()  # exact, quoted for its CR


@pytest.mark.parametrize("command", ["run", "ingest", "replay", "route", "decide", "monitor"])
def test_each_entry_point_of_the_processing_job_says_so_in_its_help(command: str):
    from dealdesk.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    page = " ".join(commands.choices[command].format_help().split())
    assert (
        "Each of run, ingest, replay, route, decide and monitor is one run of the same processing job" in page
    )
    assert "ingest, replay, route and decide do not" in page


# -- one command line: the options anywhere, --format alike, a help page with examples -------------

GLOBAL_OPTIONS = ["--engine", "--remote", "--catalog", "--schema", "--home", "--profile", "--rules", "-v"]
PRINTING = {
    "sql", "tables", "rejects", "ingest", "replay", "sync-users", "route", "decide", "monitor", "run",
    "backup", "restore", "serving url", "serving sync", "serving rebuild", "whatif",
}  # fmt: skip


def command_pages() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser by its words (``tables``, ``serving url``), nested ones too."""
    from dealdesk.cli.main import build_parser

    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, page in action.choices.items():
                    found[" ".join([*words, name])] = page
                    walk(page, [*words, name])

    walk(build_parser(), [])
    return found


def chosen(args: argparse.Namespace) -> str:
    """The command words a parse chose."""
    return " ".join(w for w in (args.command, getattr(args, "action", None)) if w)


def test_every_command_is_walked_including_the_nested_ones():
    pages = command_pages()
    assert {"migrate", "tables", "demo", "serving", "serving url", "serving stop", "serving sync"} <= set(
        pages
    )
    assert len(pages) >= 23


@pytest.mark.parametrize("words", sorted(command_pages()))
def test_every_command_help_opens_with_its_summary_and_shows_an_example_of_it(words: str):
    from dealdesk.cli.main import build_parser

    page = command_pages()[words]
    text = page.format_help()
    *parents, name = words.split()
    above = command_pages()[" ".join(parents)] if parents else build_parser()
    summary = next(
        c.help
        for a in above._actions
        if isinstance(a, argparse._SubParsersAction)
        for c in a._choices_actions
        if c.dest == name
    )
    assert " ".join(text.split("\n\n")[1].split()) == " ".join(str(summary).split())
    assert "\nexamples:\n" in text
    examples = [
        shlex.split(line, comments=True)
        for line in text.split("\nexamples:\n", 1)[1].splitlines()
        if line.startswith("  dealdesk ")
    ]
    assert examples, f"dealdesk {words} --help shows no example"
    parser = build_parser()
    # every example parses, and at least one runs this very command (serving: one of its actions)
    ran = [chosen(parser.parse_args(example[1:])) for example in examples]
    assert any(f"{path} ".startswith(f"{words} ") for path in ran), ran


@pytest.mark.parametrize("words", sorted(command_pages()))
def test_every_command_takes_the_global_options_after_it(words: str):
    page = command_pages()[words]
    options = {o: a for a in page._actions for o in a.option_strings}
    assert set(GLOBAL_OPTIONS) <= set(options)
    assert all(options[o].default is argparse.SUPPRESS for o in GLOBAL_OPTIONS)  # never overwrite


def test_global_options_after_the_command_parse_as_before_it():
    from dealdesk.cli.main import build_parser

    options = ["--home", "h", "--engine", "spark", "--catalog", "c", "--schema", "s", "--profile", "p",
               "--rules", "r.json", "--remote", "sc://h:1", "-v", "--format", "json"]  # fmt: skip
    before = build_parser().parse_args([*options, "tables"])
    after = build_parser().parse_args(["tables", *options])
    mixed = build_parser().parse_args(["--home", "h", "-v", "tables", "--format", "json", "--schema", "s",
                                       "--engine", "spark", "--catalog", "c", "--profile", "p", "--rules",
                                       "r.json", "--remote", "sc://h:1"])  # fmt: skip
    assert vars(before) == vars(after) == vars(mixed)
    assert (after.home, after.engine, after.verbose, after.format) == ("h", "spark", True, "json")
    nested = build_parser().parse_args(["serving", "sync", "--home", "h", "-v", "--format", "csv"])
    assert (nested.action, nested.home, nested.verbose, nested.format) == ("sync", "h", True, "csv")
    kept = build_parser().parse_args(["--home", "h", "--format", "csv", "-v", "rejects"])
    assert (kept.home, kept.format, kept.verbose) == ("h", "csv", True)  # no command default over them
    assert build_parser().parse_args(["tables"]).format == "text"


def test_format_is_the_same_option_on_every_command_that_prints():
    from dealdesk.cli.main import build_parser

    formats = {
        words: next(a for a in page._actions if "--format" in a.option_strings)
        for words, page in command_pages().items()
        if any("--format" in a.option_strings for a in page._actions)
    }
    assert set(formats) == PRINTING
    top = next(a for a in build_parser()._actions if "--format" in a.option_strings)
    assert {(tuple(a.option_strings), tuple(a.choices), a.help) for a in formats.values()} == {
        (("--format",), ("text", "json", "csv"), top.help)
    }
    assert build_parser().parse_args(["tables", "--format", "table"]).format == "text"  # the old name


def test_format_on_a_command_that_prints_no_rows_is_a_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as ended:
        main(["--format", "json", "migrate"])
    assert ended.value.code == 2
    assert "migrate prints no rows or summaries; it takes no --format" in capsys.readouterr().err


def test_global_options_after_the_command_reach_the_lakehouse(migrated_home: Path, tmp_path: Path):
    """The environment names another home and schema: only the options after the command reach it."""
    env = {**os.environ, "DEALDESK_HOME": str(tmp_path / "elsewhere"), "DEALDESK_SCHEMA": "other"}
    result = subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", "tables", "--home", str(migrated_home),
         "--schema", "cli_test", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert {"table": "approval_departments", "rows": 7} in [
        json.loads(line) for line in result.stdout.splitlines()
    ]
    assert not (tmp_path / "elsewhere").exists()


# -- progress of a long run -------------------------------------------------------------------------


def progress_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if re.fullmatch(r"  \S.* \.\.\.|  \w+ done in [\d.]+ s", line)]


def test_progress_shows_with_verbose_only_on_stderr(capsys: pytest.CaptureFixture[str]):
    """The handler the command sets up: shown with -v, not when stderr is no terminal; gone after."""
    progress = logging.getLogger("dealdesk.progress")
    with progress_shown(verbose=False):
        progress.info("landing 3 file(s), 40 lines ...")
    assert capsys.readouterr() == ("", "")
    with progress_shown(verbose=True):
        progress.info("deciding 40 documents ...")
    assert capsys.readouterr() == ("", "  deciding 40 documents ...\n")
    assert (progress.handlers, progress.propagate) == ([], True)  # the handler went with the command


def test_a_run_shows_its_phases_on_stderr_with_verbose_and_stdout_stays_json(tmp_path: Path):
    from importlib import resources

    home, landing = tmp_path / "home", tmp_path / "landing"
    samples = Path(str(resources.files("dealdesk") / "sample_data" / "landing"))
    shutil.copytree(samples / "day01", landing / "day01")
    done = dealdesk(
        home, "run", "--landing", str(landing), "--as-of", "latest-event", "--format", "json", "-v"
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["job"] for line in done.stdout.splitlines()] == ["run"]
    shown = progress_lines(done.stderr)
    assert re.fullmatch(r"  landing 1 file\(s\), \d+ lines \.\.\.", shown[0]), shown
    assert any(re.fullmatch(r"  deciding \d+ documents \.\.\.", line) for line in shown), shown
    assert "  writing ..." in shown
    quiet = dealdesk(home, "route", "--format", "json")  # stderr no terminal, no -v: no progress
    assert quiet.returncode == 0, quiet.stderr
    assert progress_lines(quiet.stderr) == [] and json.loads(quiet.stdout)["job"] == "route"


def test_a_run_shows_its_phases_when_stderr_is_a_terminal(migrated_home: Path):
    main_side, terminal = pty.openpty()
    env = {**os.environ, "DEALDESK_HOME": str(migrated_home), "DEALDESK_SCHEMA": "cli_test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dealdesk.cli.main", "route", "--format", "json"],
        stdout=subprocess.PIPE, stderr=terminal, env=env,
    )  # fmt: skip
    os.close(terminal)
    err = b""
    while True:
        try:
            chunk = os.read(main_side, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        err += chunk
    out, _ = process.communicate(timeout=300)
    os.close(main_side)
    assert process.returncode == 0, err
    assert "  deciding 0 documents ..." in err.decode().replace("\r\n", "\n").splitlines()
    assert json.loads(out)["job"] == "route"  # the results alone on stdout


def test_the_commands_an_error_suggests_run_as_printed(tmp_path: Path):
    """Started as a module, the hint names that interpreter with -m, the home and the schema."""
    home = tmp_path / "home"
    missing = dealdesk(home, "tables")
    assert missing.returncode == 1
    suggested = re.search(r"run '([^']+ migrate)'", missing.stderr)
    assert suggested, missing.stderr
    words = shlex.split(suggested[1])
    assert words[1:3] == ["-m", "dealdesk.cli"] and words[3:] == [
        "--home",
        str(home),
        "--schema",
        "cli_test",
        "migrate",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALDESK_")}
    done = subprocess.run(words, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "applied  020_deals.sql" in done.stdout and (home / "warehouse" / "main" / "cli_test").is_dir()


def test_a_command_that_writes_asks_for_migrate_when_a_ddl_file_is_not_applied(tmp_path: Path):
    home, landing = tmp_path / "home", tmp_path / "landing"
    landing.mkdir()
    assert dealdesk(home, "migrate").returncode == 0
    # a lakehouse migrated before the newest DDL file came: its ledger lacks that file (one that
    # replaces no constraint: the embedded engine cannot take those on a lakehouse built before)
    newest = sorted(
        p.name
        for p in (REPO / "ddl").glob("*.sql")
        if ".databricks." not in p.name and "DROP CONSTRAINT" not in p.read_text()
    )[-1]
    lakehouse = open_lakehouse(Target(engine="local", schema="cli_test", home=home))
    ledger = lakehouse.table_name("schema_migrations")
    lakehouse.execute(f"DELETE FROM {ledger} WHERE name = '{newest}'")
    stop_engine("local")
    refused = dealdesk(home, "run", "--landing", str(landing))
    assert refused.returncode == 1
    assert f"this lakehouse has DDL files not applied yet ({newest}): run '" in refused.stderr
    assert dealdesk(home, "tables").returncode == 0  # reading needs no migrate
    assert f"applied  {newest}" in dealdesk(home, "migrate").stdout
    assert dealdesk(home, "run", "--landing", str(landing)).returncode == 0


def test_sql_attaches_what_the_query_names_with_what_its_views_read():
    assert names_used("SELECT count(*) FROM DEALS") == {"deals"}
    queue = names_used("select * from approval_queue")
    assert queue is not None and {"approval_queue", "deal_approvals", "deals"} <= queue
    assert "raw_documents" not in queue
    assert names_used("SHOW TABLES") is None  # names nothing: everything is attached


def test_a_command_is_declared_by_its_handler_name_and_docstring():
    from dealdesk.cli.common import add_command

    def cmd_send_again(args: argparse.Namespace) -> int:
        """send a document again

        Once its data arrived; the first document
        is kept.

        Examples:
            dealdesk send-again X        # one
            dealdesk send-again X Y
        """
        return 0

    commands = argparse.ArgumentParser(prog="dealdesk").add_subparsers()
    page = add_command(commands, cmd_send_again, prints=True).format_help()
    assert page.startswith("usage: dealdesk send-again [-h] [--format")
    assert page.split("\n\n")[1:3] == [
        "send a document again",
        "Once its data arrived; the first document is kept.",
    ]
    assert page.endswith("examples:\n  dealdesk send-again X        # one\n  dealdesk send-again X Y\n")


def test_a_handler_without_docstring_still_gets_a_page_python_OO_strips_them():
    from dealdesk.cli.common import add_command

    def cmd_quiet(args: argparse.Namespace) -> int:
        return 0

    commands = argparse.ArgumentParser(prog="dealdesk").add_subparsers()
    page = add_command(commands, cmd_quiet).format_help()
    assert page.startswith("usage: dealdesk quiet [-h]")


def test_the_demo_help_names_the_folder_the_demo_builds():
    from dealdesk.cli.main import DEMO_HOME, cmd_demo

    assert f"(in ./{DEMO_HOME.as_posix()} unless --home)" in (cmd_demo.__doc__ or "").splitlines()[0]
