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

from dealdesk.cli import DEMO_MARKER, main
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
