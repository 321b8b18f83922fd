"""The README's quick start, run as written: `make demo` (its Makefile recipe), then each command,
in a fresh folder and in this process. The commands come from the README, so the test breaks when
the README drifts from what works."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dealdesk.cli.main import DEMO_MARKER, main
from tests.conftest import REPO

DEALDESK = ".venv/bin/dealdesk"


def quick_start() -> list[list[str]]:
    """The commands of the README's quick-start code block, comments dropped."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the README's quick start has no ```sh block"
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]


def make_recipe(target: str) -> list[str]:
    """The command a Makefile target runs, its variables filled in from their defaults."""
    makefile = (REPO / "Makefile").read_text()
    variables = dict(re.findall(r"^([A-Z_]+) :?\??= (.*)$", makefile, re.MULTILINE))
    recipe = re.search(rf"^{target}:.*\n\t(.*)$", makefile, re.MULTILINE)
    assert recipe, f"the Makefile has no target {target}"
    return shlex.split(re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables[m[1]], recipe[1]))


@dataclass
class Step:
    argv: list[str]
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Step]]]:
    """Every quick-start command in order, in a fresh folder (the demo runs once: about two minutes)."""
    folder = tmp_path_factory.mktemp("readme")
    saved_cwd, saved_env = Path.cwd(), dict(os.environ)
    os.environ.pop("DEALDESK_HOME", None)
    os.environ["DEALDESK_SCHEMA"] = f"readme_{uuid.uuid4().hex[:8]}"  # this process's catalog is shared
    steps = []
    try:
        os.chdir(folder)
        for words in quick_start():
            argv = make_recipe(words[1]) if words[0] == "make" else words
            assert argv[0] == DEALDESK, f"the quick start runs {argv[0]}, not the dealdesk command"
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv[1:])
            steps.append(Step(words, code, out.getvalue(), err.getvalue()))
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    yield folder, steps


def step(steps: list[Step], *words: str) -> Step:
    return next(s for s in steps if all(w in s.argv for w in words))


def test_every_quick_start_command_succeeds(readme_run):
    _, steps = readme_run
    assert [s.argv[0] for s in steps][:1] == ["make"] and len(steps) >= 3
    for s in steps:
        assert s.code == 0, f"{shlex.join(s.argv)}: {s.err}"


def test_the_quick_start_looks_at_the_demo_lakehouse(readme_run):
    folder, steps = readme_run
    tables = dict(line.split() for line in step(steps, "tables").out.splitlines()[2:-1])
    assert int(tables["deals"]) > 0 and int(tables["rejected_documents"]) > 0
    query = step(steps, "sql").out
    assert "signed" in query and "under_review" in query
    assert (folder / ".dealdesk" / "demo" / DEMO_MARKER).is_file()
    assert sorted(p.name for p in folder.iterdir()) == [".dealdesk"]  # nothing outside its folder


def test_the_demo_ends_with_the_quick_start_commands(readme_run):
    _, steps = readme_run
    printed = step(steps, "make").out.split("Look at it next:\n", 1)[1].splitlines()
    readme = [shlex.join(["dealdesk", *s.argv[1:]]) for s in steps if s.argv[0] == DEALDESK]
    assert [shlex.join(shlex.split(line)) for line in printed] == readme


def readme_command_lines() -> list[tuple[str, str]]:
    """(command, comment) of every `.venv/bin/dealdesk` line of the README's ```sh blocks: the
    command is the first word after the global options and their values; '' when no comment."""
    import argparse

    from dealdesk.cli.main import build_parser

    takes_value = {
        option
        for action in build_parser()._actions
        if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._SubParsersAction)
        for option in action.option_strings
    }
    found = []
    for block in re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL):
        for line in block.splitlines():
            if not line.startswith(f"{DEALDESK} "):
                continue
            comment = re.search(r"\s#\s+(.*)$", line)
            words = shlex.split(line, comments=True)[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in takes_value else words[1:]
            if words:
                found.append((words[0], " ".join(comment[1].split()) if comment else ""))
    return found


def test_every_command_is_in_the_readme_with_its_help_as_its_description():
    """Each subcommand of the parser has a README line whose comment is its one-line help, word for
    word (other lines may describe an example), and every command the README runs exists."""
    import argparse

    from dealdesk.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: " ".join(str(choice.help).split()) for choice in commands._choices_actions}
    lines = readme_command_lines()
    assert sorted({command for command, _ in lines} - set(helps)) == []  # no command the parser lacks
    described = {command: {comment for c, comment in lines if c == command} for command in helps}
    assert sorted(command for command, comments in described.items() if not comments) == []
    assert {c: helps[c] for c, comments in described.items() if helps[c] not in comments} == {}
