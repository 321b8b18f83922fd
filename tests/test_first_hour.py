"""A new user's first hour: the demo keeps what it did not create, a fresh or mistyped home says so,
errors are one line, the README's quick start works as written, and replay leaves the views working."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dealdesk.cli.common import program
from dealdesk.cli.main import DEMO_HOME, DEMO_MARKER, demo_entries, main, prepare_demo_home
from dealdesk.cli.output import render_runs
from dealdesk.cli.workflow import stale_clock_hint
from dealdesk.config import BusinessRules
from dealdesk.errors import DemoError
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.report import write_report
from dealdesk.pipeline.ingest import ingest_landing, replay
from tests.conftest import REPO
from tests.intake_builders import reference_data, scoping_request, submission, write_jsonl
from tests.test_views import write

RULES = BusinessRules()


# -- replay, then the views ----------------------------------------------------------------------


def test_the_rejection_views_and_the_report_work_after_a_replay(lakehouse: Lakehouse, tmp_path: Path):
    request = scoping_request()
    early = submission(scoping_request_id=request["event_id"])  # rejected: its scoping request is unknown
    wrong = submission({"deal.region": "atlantis"})  # rejected for good
    landing = tmp_path / "landing"
    write_jsonl(landing, "1.jsonl", [*reference_data(), early, wrong])
    ingest_landing(lakehouse, landing, RULES)
    write_jsonl(landing, "2.jsonl", [request])
    ingest_landing(lakehouse, landing, RULES)
    assert replay(lakehouse, [early["event_id"]], RULES).accepted == 1  # stamps its row replayed
    # Stored reasons that are not a list of reasons still give their document one row.
    odd = [{"event_id": f"odd-{i}", "reasons": text} for i, text in enumerate(["", "not json", "[]"])]
    write(lakehouse, "rejected_documents", odd, {"kind": "user", "source_file": "x.jsonl", "line_number": 1,
          "payload": "{}", "rejected_at": datetime(2026, 3, 2), "run_id": "run-x"})  # fmt: skip

    reasons = lakehouse.sql(
        f"SELECT event_id, rule, is_open FROM {lakehouse.table_name('rejection_reasons')} ORDER BY event_id"
    ).collect()
    assert sorted((r["event_id"], r["rule"], r["is_open"]) for r in reasons) == sorted([
        (early["event_id"], "known_scoping_request", False),
        (wrong["event_id"], "one_of", True),
        ("odd-0", None, True), ("odd-1", None, True), ("odd-2", None, True),
    ])  # fmt: skip
    summary = lakehouse.sql(
        f"SELECT rule, documents, open_documents, replayed_documents "
        f"FROM {lakehouse.table_name('rejects_summary')} ORDER BY rule"
    ).collect()
    assert [tuple(r) for r in summary] == [
        ("known_scoping_request", 1, 0, 1),
        ("one_of", 1, 1, 0),
        ("unknown", 3, 3, 0),
    ]
    page = write_report(lakehouse, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "known_scoping_request" in page


# -- helpers ---------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``dealdesk ARGV`` in this process: exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def fresh_schema() -> str:
    return f"fh_{uuid.uuid4().hex[:10]}"


# -- 1. the demo deletes nothing it did not create ------------------------------------------------


def test_the_demo_refuses_a_folder_it_did_not_create(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    home = tmp_path / "mine"
    (home / "warehouse").mkdir(parents=True)
    (home / "notes.txt").write_text("keep me")
    for extra in ([], ["--rebuild"]):
        code, _, err = run_cli(capsys, "--home", str(home), "demo", *extra)
        assert code == 1
        assert "is not empty and is not a demo lakehouse" in one_error_line(err)
    assert (home / "notes.txt").read_text() == "keep me" and (home / "warehouse").is_dir()


def test_the_demo_needs_rebuild_to_build_an_existing_demo_again(tmp_path: Path, capsys):
    home = tmp_path / "demo"
    prepare_demo_home(Target(home=home), rebuild=False, shown=str(home))
    (home / "landing").mkdir()
    code, _, err = run_cli(capsys, "--home", str(home), "demo")
    assert code == 1
    assert "already holds a demo lakehouse: add --rebuild" in one_error_line(err)
    assert (home / "landing").is_dir() and (home / DEMO_MARKER).is_file()


def test_a_rebuild_deletes_only_what_the_demo_created(tmp_path: Path):
    home = tmp_path / "demo"
    target = Target(home=home, schema="deal_desk")
    prepare_demo_home(target, rebuild=False, shown=str(home))
    created = [home / "warehouse" / "main" / "deal_desk" / "deals", home / "landing" / "day01"]
    for folder in created:
        folder.mkdir(parents=True)
        (folder / "part.parquet").write_text("x")
    (home / "report.html").write_text("<html>")
    mine = [home / "notes.txt", home / "warehouse" / "main" / "my_schema" / "t.parquet"]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")

    prepare_demo_home(target, rebuild=True, shown=str(home))
    assert not any(path.exists() for path in [*created, home / "report.html"])
    assert all(path.read_text() == "keep me" for path in mine)
    assert json.loads((home / DEMO_MARKER).read_text())["created"] == demo_entries(target)


def test_a_marker_naming_a_path_outside_the_demo_deletes_nothing(tmp_path: Path):
    home = tmp_path / "demo"
    home.mkdir()
    (tmp_path / "precious").mkdir()
    (home / DEMO_MARKER).write_text(json.dumps({"created": ["../precious"]}))
    with pytest.raises(DemoError, match="outside the demo; nothing was deleted"):
        prepare_demo_home(Target(home=home), rebuild=True, shown=str(home))
    assert (tmp_path / "precious").is_dir()


def test_the_demo_builds_in_its_own_folder_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    makefile = (REPO / "Makefile").read_text()
    assert f"DEMO_HOME ?= {DEMO_HOME.as_posix()}\n" in makefile  # `make demo` and `dealdesk demo` agree
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEALDESK_HOME", raising=False)
    (tmp_path / ".dealdesk" / "warehouse").mkdir(parents=True)  # the user's own lakehouse
    (tmp_path / DEMO_HOME).mkdir(parents=True)
    (tmp_path / DEMO_HOME / "mine.txt").write_text("keep me")  # not a demo: refused, untouched
    code, _, err = run_cli(capsys, "demo")
    assert code == 1
    assert one_error_line(err).startswith(
        f"error: demo: {DEMO_HOME} is not empty and is not a demo lakehouse"
    )
    assert (tmp_path / ".dealdesk" / "warehouse").is_dir()
    assert (tmp_path / DEMO_HOME / "mine.txt").read_text() == "keep me"


# -- 2. a fresh home -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["tables"], ["sql", "SELECT 1"], ["rejects"], ["report"], ["preview", "x.json"]],
    ids=lambda c: c[0],
)
def test_reading_commands_never_create_a_home(command: list[str], tmp_path: Path, capsys):
    home = tmp_path / "mistyped"
    if command[0] == "preview":
        write_jsonl(tmp_path, "x.json", [submission()])
        command = ["preview", str(tmp_path / "x.json")]
    code, _, err = run_cli(capsys, "--home", str(home), *command)
    assert code == 1
    assert one_error_line(err) == (
        f"error: no lakehouse at {home} (run 'dealdesk --home {home} migrate' or "
        f"'dealdesk --home {home} run --landing PATH')"
    )
    assert not home.exists()


def test_a_writing_command_sets_up_a_new_home_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    home, landing, schema = tmp_path / "new", tmp_path / "landing", fresh_schema()
    write_jsonl(landing, "1.jsonl", [*reference_data(), submission()])  # business time: March 2026
    base = ["--home", str(home), "--schema", schema]

    code, out, err = run_cli(capsys, *base, "run", "--landing", str(landing), "--format", "json")
    assert code == 0, err
    notice, hint = err.strip().splitlines()
    assert re.fullmatch(rf"new lakehouse at {re.escape(str(home))}: applied \d+ DDL files", notice)
    assert hint.startswith("hint: monitoring ran as of now") and hint.endswith("pass --as-of latest-event")
    steps = [json.loads(line) for line in out.splitlines()]
    assert [s["job"] for s in steps] == ["run"]  # one step: every document in business-time order
    assert (steps[0]["lines_read"], steps[0]["accepted"], steps[0]["rejected"]) == (5, 5, 0)

    code, out, err = run_cli(capsys, *base, "monitor", "--as-of", "latest-event")
    assert code == 0 and err == ""  # no notice for a home that exists, no hint for the business clock
    assert out.startswith("monitor ") and "lines_read" not in out and "documents in" not in out
    code, out, _ = run_cli(capsys, *base, "tables", "--format", "json")
    assert {"table": "deals", "rows": 1} in [json.loads(line) for line in out.splitlines()]


# -- 4. run summaries ------------------------------------------------------------------------------

INGEST = {
    "run_id": "r1",
    "job": "ingest",
    "lines_read": 12,
    "accepted": 10,
    "rejected": 2,
    "accepted_by_kind": {"deal_submission": 10},
    "rejected_by_kind": {"approval_action": 0, "deal_submission": 2},
    "rows_merged": {"deal_tiers": 20, "deals": 10, "users": 0},
    "seconds": 3.25,
    "engine_queries": 41,
}
ROUTE = {
    "run_id": "r2",
    "job": "route",
    "lines_read": 0,
    "accepted": 0,
    "rejected": 0,
    "accepted_by_kind": {},
    "rejected_by_kind": {},
    "rows_merged": {"deal_approvals": 0},
}


def test_a_run_summary_reads_as_one_short_line_per_step():
    assert render_runs([INGEST, ROUTE]).splitlines() == [
        "ingest   12 documents in: 10 accepted, 2 rejected (deal_submission 2); "
        "rows written: deal_tiers 20, deals 10; 3.2 s; 41 engine queries",
        "route    no rows written",
    ]


def test_run_summaries_as_json_are_one_object_per_step_per_line():
    assert [json.loads(line) for line in render_runs([INGEST, ROUTE], "json").splitlines()] == [INGEST, ROUTE]


def test_run_summaries_as_csv_are_a_header_and_one_record_per_step():
    import csv

    header, ingest, route = csv.reader(render_runs([INGEST, ROUTE], "csv").splitlines())
    assert header == list(INGEST)  # every key a column, in the summary's order
    assert dict(zip(header, ingest, strict=True))["rows_merged"] == json.dumps(INGEST["rows_merged"])
    assert dict(zip(header, route, strict=True))["seconds"] == ""  # a step without it: empty
    assert (ingest[header.index("accepted")], route[header.index("job")]) == ("10", "route")


# -- 12 and 14. errors as one line; sql runs queries -----------------------------------------------


def test_paths_that_name_a_file_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (["--home", str(a_file), "tables"], f"error: --home {a_file} is a file, not a folder"),
        (["--home", str(a_file), "migrate"], f"error: --home {a_file} is a file, not a folder"),
        (["--home", str(a_file / "sub"), "route"], f"error: --home {a_file / 'sub'} is under {a_file}, "
                                                    "which is a file, not a folder"),
        (["generate", "--years", "1", "--out", str(a_file)], f"error: --out {a_file} is a file, not a folder"),
        (["--home", str(tmp_path / "h"), "run", "--landing", str(a_file)],
         f"error: --landing {a_file} is a file, not a folder: give the folder that holds the landing files"),
        (["--home", str(tmp_path / "h"), "ingest", "--landing", str(tmp_path / "none")],
         f"error: landing folder {tmp_path / 'none'} does not exist"),
    ]  # fmt: skip
    for argv, expected in cases:
        code, _, err = run_cli(capsys, *argv)
        assert (code, one_error_line(err)) == (1, expected), argv
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize("option", ["--schema", "--catalog", "--home"])
def test_an_empty_option_is_an_error_not_the_default(option: str, capsys: pytest.CaptureFixture[str]):
    code, _, err = run_cli(capsys, option, "", "tables")
    assert code == 1
    assert one_error_line(err).startswith(f"error: {option} is empty: give ")


def test_sql_errors_name_the_column_or_the_place(lakehouse: Lakehouse, capsys: pytest.CaptureFixture[str]):
    base = ["--home", str(lakehouse.target.home), "--schema", lakehouse.target.schema, "sql"]
    cases = [
        ("SELECT no_such_col FROM deals", "error: sql: column no_such_col does not exist"),
        ("SELECT d.nope FROM deals d", "error: sql: column d.nope does not exist"),
        ("SELECT *\nFROM deals\nWHERE status = 'x' ORDR BY 1", "error: sql: syntax error near 'ORDR' (line 3, column 20)"),
        ("SELECT * FROM deals WHERE", "error: sql: syntax error: the statement ends too early: expected expression"),
        ("SELECT * FROM no_such_table", "error: sql: table or view no_such_table does not exist"),
        ("SELECT no_such_fn(1)", "error: sql: unknown function no_such_fn"),
    ]  # fmt: skip
    for query, expected in cases:
        code, _, err = run_cli(capsys, *base, query)
        assert (code, one_error_line(err)) == (1, expected), query
    code, _, err = run_cli(capsys, "-v", *base, "SELECT no_such_col FROM deals")
    assert code == 1 and "Traceback" in err and "ObjectName" in err  # -v: the stack trace and the cause
    assert err.strip().splitlines()[-1] == "error: sql: column no_such_col does not exist"


def test_sql_refuses_to_drop_truncate_or_delete(lakehouse: Lakehouse, capsys: pytest.CaptureFixture[str]):
    base = ["--home", str(lakehouse.target.home), "--schema", lakehouse.target.schema, "sql"]
    for statement in [
        "DROP TABLE deals",
        "  drop table if exists deals",
        "/* tidy up */ TRUNCATE TABLE deals",
        "DELETE FROM approval_departments WHERE department = 'legal'",
        "ALTER TABLE deals DROP COLUMN priority",
        "INSERT OVERWRITE approval_departments SELECT * FROM approval_departments WHERE false",
    ]:
        code, out, err = run_cli(capsys, *base, statement)
        assert code == 1 and out == ""
        assert "refused: the sql command is for queries" in one_error_line(err), statement
    code, out, _ = run_cli(capsys, *base, "SELECT count(*) AS n FROM approval_departments", "--format", "csv")
    assert (code, out.splitlines()) == (0, ["n", "7"])
    code, out, _ = run_cli(capsys, *base, "CREATE TEMPORARY VIEW legal AS SELECT 'drop table deals' AS note")
    assert (code, out.strip()) == (0, "ok: CREATE done")  # a statement's result is no bare True


def test_the_stale_clock_hint_only_when_the_data_is_over_thirty_days_old():
    now = datetime(2026, 12, 2, 12)
    assert stale_clock_hint(None, now) is None
    assert stale_clock_hint(now - timedelta(days=30), now) is None
    hint = stale_clock_hint(datetime(2026, 3, 10), now)
    assert hint is not None and "2026-03-10 (267 days earlier)" in hint and "--as-of latest-event" in hint


# -- 15. the command layer stands in one direction -------------------------------------------------


@pytest.mark.parametrize("module", ["dealdesk.cli.intake", "dealdesk.cli.workflow"])
def test_each_command_module_imports_first_and_alone(module: str):
    code = f"import sys, {module}; print('dealdesk.cli.main' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_make_clean_removes_the_demo_by_its_marker_and_never_a_lakehouse_of_yours(tmp_path):
    """`make clean` in a copy of the Makefile: the build's folders and the demo's own files go,
    a lakehouse next to the demo stays."""
    import shutil
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "Makefile", tmp_path / "Makefile")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "dealdesk").symlink_to(repo / ".venv" / "bin" / "dealdesk")
    demo, mine = tmp_path / ".dealdesk" / "demo", tmp_path / ".dealdesk" / "mine"
    for path in (demo / "warehouse" / "main" / "deal_desk", demo / "landing", mine / "warehouse" / "main"):
        path.mkdir(parents=True)
        (path / "data.parquet").write_text("rows")
    (demo / ".dealdesk-demo").write_text(
        json.dumps(
            {"created_by": "dealdesk demo", "created": ["warehouse/main/deal_desk", "landing", "report.html"]}
        )
    )
    (tmp_path / ".pytest_cache").mkdir()
    done = subprocess.run(
        ["make", "-s", "clean", "VENV=venv"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert (
        not demo.exists() and not (tmp_path / "venv").exists() and not (tmp_path / ".pytest_cache").exists()
    )
    assert (mine / "warehouse" / "main" / "data.parquet").read_text() == "rows"
    assert "removed the demo lakehouse" in done.stdout


def make_clean_tree(folder: Path, *, marker: str | None, with_dealdesk: bool) -> dict[str, Path]:
    """A folder holding only a copy of the Makefile, the build's folders (stubs), the demo's home and
    a lakehouse of the user's own next to it: `make clean` there never reaches this checkout."""
    import shlex
    import shutil

    shutil.copy(REPO / "Makefile", folder / "Makefile")
    paths = {
        "venv": folder / "venv",
        "tools": folder / ".tools",
        "caches": folder / ".pytest_cache",
        "hypothesis": folder / ".hypothesis",
        "dist": folder / "dist",
        "demo": folder / ".dealdesk" / "demo",
        "mine": folder / ".dealdesk" / "mine",
        "home": folder / ".dealdesk" / "warehouse",  # ./.dealdesk: every command's default home
    }
    (paths["venv"] / "bin").mkdir(parents=True)
    if with_dealdesk:  # the environment's command, as this test session runs it
        command = paths["venv"] / "bin" / "dealdesk"
        command.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dealdesk.cli.main "$@"\n')
        command.chmod(0o755)
    for name in ("tools", "caches", "hypothesis", "dist"):
        paths[name].mkdir()
    for path in (paths["demo"] / "landing", paths["mine"] / "warehouse" / "main", paths["home"] / "main"):
        path.mkdir(parents=True)
        (path / "data.parquet").write_text("rows")
    if marker is not None:
        (paths["demo"] / DEMO_MARKER).write_text(marker)
    return paths


def make_clean(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "clean", "VENV=venv", "DEMO_HOME=.dealdesk/demo"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_clean_keeps_a_demo_home_whose_marker_it_cannot_read_and_cleans_the_rest(tmp_path: Path):
    paths = make_clean_tree(tmp_path, marker="not json", with_dealdesk=True)
    done = make_clean(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kept .dealdesk/demo" in done.stdout and "nothing was deleted" in done.stderr
    assert (paths["demo"] / "landing" / "data.parquet").read_text() == "rows"
    assert (paths["mine"] / "warehouse" / "main" / "data.parquet").read_text() == "rows"
    assert (paths["home"] / "main" / "data.parquet").read_text() == "rows"
    assert not any(paths[name].exists() for name in ("venv", "tools", "caches", "hypothesis", "dist"))


def test_make_clean_without_the_environment_leaves_the_demo_and_every_lakehouse(tmp_path: Path):
    marker = json.dumps({"created_by": "dealdesk demo", "created": ["landing"]})
    paths = make_clean_tree(tmp_path, marker=marker, with_dealdesk=False)
    done = make_clean(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kept .dealdesk/demo" in done.stdout
    for lakehouse in (
        paths["demo"] / "landing",
        paths["mine"] / "warehouse" / "main",
        paths["home"] / "main",
    ):
        assert (lakehouse / "data.parquet").read_text() == "rows"
    assert not any(paths[name].exists() for name in ("venv", "tools", "caches", "hypothesis", "dist"))


def test_make_clean_removes_the_demo_by_its_marker_and_keeps_the_default_home(tmp_path: Path):
    marker = json.dumps({"created_by": "dealdesk demo", "created": ["landing"]})
    paths = make_clean_tree(tmp_path, marker=marker, with_dealdesk=True)
    done = make_clean(tmp_path)
    assert done.returncode == 0, done.stderr
    assert not paths["demo"].exists() and "removed the demo lakehouse in .dealdesk/demo" in done.stdout
    assert (paths["home"] / "main" / "data.parquet").read_text() == "rows"
    assert (paths["mine"] / "warehouse" / "main" / "data.parquet").read_text() == "rows"


def test_the_clean_recipe_never_deletes_a_lakehouse_folder_itself():
    """The lakehouses go only through `demo --remove`: no rm in the recipe names .dealdesk or DEMO_HOME."""
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^clean:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no clean target"
    removals = [line for line in recipe[1].splitlines() if re.search(r"\brm\b", line)]
    assert removals and not any(".dealdesk" in line or "DEMO_HOME" in line for line in removals)
    assert "demo --remove" in recipe[1]


# -- the commands the demo prints run as printed ---------------------------------------------------


def test_the_program_is_named_as_it_runs_from_the_current_folder(tmp_path: Path, monkeypatch):
    tools = tmp_path / "tools" / "bin"
    tools.mkdir(parents=True)
    script = tools / "dealdesk"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert program("tools/bin/dealdesk") == "tools/bin/dealdesk"  # as typed
    assert program(str(script)) == "tools/bin/dealdesk"  # under the current folder: from here
    monkeypatch.setenv("PATH", str(tools))
    assert program(str(script)) == "dealdesk"  # the one the PATH finds
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert program(str(script)) == str(script)  # outside it: the whole path
    spaced = tmp_path / "elsewhere" / "my tools" / "dealdesk"
    assert program(str(spaced)) == "'my tools/dealdesk'"  # quoted for the shell
    module = program(str(tmp_path / "src" / "dealdesk" / "cli" / "main.py"))
    assert module.endswith(" -m dealdesk.cli") and "python" in module
    assert program(str(tmp_path / "bin" / "pytest")) == "dealdesk"  # called from another program


def test_the_demo_prints_commands_that_run_as_printed(tmp_path: Path):
    """Started by a path, as `make demo` starts .venv/bin/dealdesk, the demo names that path and
    its --home in the commands it prints; they run from the same folder exactly as printed."""
    started = tmp_path / "bin" / "dealdesk"
    started.parent.mkdir()
    started.write_text(
        f"#!{sys.executable}\nimport sys\nfrom dealdesk.cli.main import main\nsys.exit(main())\n"
    )
    started.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALDESK_")}

    def run(words: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)

    built = run(["bin/dealdesk", "--home", "demo-home", "demo"])
    assert built.returncode == 0, built.stderr
    look = [line.strip() for line in built.stdout.split("\nLook at it next:\n", 1)[1].splitlines()]
    stop = [line.strip() for line in built.stdout.splitlines() if line.strip().endswith(" serving stop")]
    printed = [*look, *stop]
    assert len(look) == 5 and len(stop) == 1
    assert all(shlex.split(line)[:3] == ["bin/dealdesk", "--home", "demo-home"] for line in printed), printed

    tables = run(shlex.split(next(line for line in look if line.endswith(" tables"))))
    assert tables.returncode == 0, tables.stderr
    counts = dict(line.split() for line in tables.stdout.splitlines()[2:-1])
    assert int(counts["deals"]) > 0 and int(counts["rejected_documents"]) > 0
    query = run(shlex.split(next(line for line in look if " sql " in line)))
    assert query.returncode == 0 and "signed" in query.stdout, query.stderr
    stopped = run(shlex.split(stop[0]))
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "serving database stopped"), stopped.stderr
