"""Shared fixtures: one embedded engine per test process, a fresh schema per test that needs one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.lakehouse.postgres import stop_servers_under

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def serving_databases_stopped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every serving database a test started (a demo, `serving url`) is stopped at the end."""
    yield
    stop_servers_under(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def lakehouse_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lakehouse")


def new_target(home: Path, prefix: str = "t", engine: str = "local") -> Target:
    return Target(engine=engine, catalog="main", schema=f"{prefix}_{uuid.uuid4().hex[:10]}", home=home)  # type: ignore[arg-type]


@pytest.fixture
def empty_lakehouse(lakehouse_home: Path) -> Lakehouse:
    """A lakehouse on a schema of its own, no DDL applied yet."""
    return Lakehouse.open(new_target(lakehouse_home))


@pytest.fixture(scope="session")
def shared_lakehouse(lakehouse_home: Path) -> Lakehouse:
    """One migrated lakehouse for tests that only read the schema."""
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "shared"))
    MigrationRunner(lakehouse).migrate()
    return lakehouse


@pytest.fixture(scope="session")
def prepared_schema(lakehouse_home: Path) -> str:
    """A migrated, empty lakehouse schema, made once; tests copy its folder (see copy_of)."""
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "prepared"))
    MigrationRunner(lakehouse).migrate()
    return lakehouse.target.schema


def copy_of(home: Path, schema: str, prefix: str = "t", engine: str = "local") -> Lakehouse:
    """A new lakehouse whose tables start as copies of ``schema``'s: a folder copy and an attach,
    instead of applying every DDL file again (on Spark, minutes)."""
    target = new_target(home, prefix, engine)
    source = target.warehouse / schema
    shutil.copytree(source, target.warehouse / target.schema)
    lakehouse = Lakehouse.open(target)
    MigrationRunner(lakehouse).attach()
    return lakehouse


@pytest.fixture
def fresh_lakehouse(lakehouse_home: Path, prepared_schema: str) -> Lakehouse:
    """A migrated lakehouse on a schema of its own, copied from the prepared one."""
    return copy_of(lakehouse_home, prepared_schema)


@pytest.fixture
def lakehouse(fresh_lakehouse: Lakehouse) -> Lakehouse:
    """A migrated lakehouse on a schema of its own (a copy of the prepared one: half a second
    where migrating takes three; tests/test_migrations.py migrates its own)."""
    return fresh_lakehouse


# -- engines -------------------------------------------------------------------------------------
# Tests marked `conformance` take the engine as the `engine_name` parameter: they run once per engine
# of --engines (default: both). @pytest.mark.conformance(engines=["spark"]) narrows a test to some.
ENGINE_NAMES = ("local", "spark")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engines",
        default=",".join(ENGINE_NAMES),
        help="engines the conformance tests run on, comma-separated (default: local,spark)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_name" not in metafunc.fixturenames:
        return
    chosen = [name.strip() for name in metafunc.config.getoption("--engines").split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ENGINE_NAMES))
    if unknown:
        raise pytest.UsageError(f"--engines: unknown engine {unknown[0]} (known: {', '.join(ENGINE_NAMES)})")
    marker = metafunc.definition.get_closest_marker("conformance")
    allowed = marker.kwargs.get("engines", ENGINE_NAMES) if marker else ENGINE_NAMES
    # conformance(exhaustive_on=["spark"]): a property `make test` proves on the embedded engine,
    # whose run on that engine waits for `make test-exhaustive`
    exhaustive_on = marker.kwargs.get("exhaustive_on", ()) if marker else ()
    # Under pytest-xdist (`make test` runs -n with --dist loadgroup) every Spark test goes to one
    # worker: one Spark server and one migrated Spark lakehouse per run, not one per worker.
    engines = [
        pytest.param(
            name,
            marks=[
                *([pytest.mark.xdist_group("spark")] if name == "spark" else []),
                *([pytest.mark.exhaustive] if name in exhaustive_on else []),
            ],
        )
        for name in chosen
        if name in allowed
    ]
    metafunc.parametrize("engine_name", engines, scope="session")


def _on_spark(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("engine_name") == "spark"


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    """How pytest-xdist shares the suite out (`make test`: --dist loadgroup):

    - Every test outside the Spark group runs in the worker that takes its module: a module's
      fixtures (a lakehouse that took the sample days, a served demo home) are built once, not
      once per worker that happens to get one of its tests (before: up to three times, a minute
      each). The groups are set before xdist's own hook reads them.
    - The Spark tests come first (the longest share, in one worker), module by module: pytest
      groups the items of a session-scoped parameter across modules, so a module's Spark tests
      came in two or three runs with other modules' in between, and each module-scoped fixture on
      Spark (a migrated lakehouse, the sample days taken on Spark) was built again: minutes each.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0].rsplit("/", 1)[-1]))
    yield
    modules: dict[str, int] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], len(modules))
    spark = sorted((i for i in items if _on_spark(i)), key=lambda i: modules[i.nodeid.split("::")[0]])
    items[:] = spark + [i for i in items if not _on_spark(i)]


# How much a worker of `make test` yields the processor once it runs no Spark test: the Spark
# tests (one worker, one JVM server) are the longest share, so on 2 cores the other workers take
# what the Spark worker leaves instead of slowing it down. A scheduling weight only, never an outcome.
NICE_OUTSIDE_SPARK = 10
_niced: list[bool] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under pytest-xdist, a worker lowers its priority before its first test outside the Spark
    group, before that test's fixtures start an engine (threads and child processes started later
    inherit the priority; the Spark server started before it keeps its own)."""
    if _niced or _on_spark(item) or "PYTEST_XDIST_WORKER" not in os.environ:
        return
    _niced.append(True)
    os.nice(NICE_OUTSIDE_SPARK)


@pytest.fixture(scope="session")
def engine(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The engine started once for the whole test session (Spark: one server), stopped at the end.

    An engine that cannot start fails the tests that need it, with the reason; it never skips them.
    """
    from dealdesk.errors import ConfigurationError
    from dealdesk.lakehouse.engine import spark_session, stop_engine

    home = tmp_path_factory.mktemp(f"engine_{engine_name}")
    try:
        spark_session(Target(engine=engine_name, home=home)).sql("SELECT 1").collect()
    except ConfigurationError as exc:
        pytest.fail(f"the {engine_name} engine cannot start: {exc}", pytrace=False)
    yield engine_name
    if engine_name != "local":  # the embedded engine is shared with the rest of the suite
        stop_engine(engine_name)


def dealdesk_cli(engine: str, home: Path, schema: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``dealdesk ARGS`` in a process of its own, on ``engine``, reaching ``home``/``schema``."""
    env = {**os.environ, "DEALDESK_ENGINE": engine, "DEALDESK_HOME": str(home), "DEALDESK_SCHEMA": schema}
    env.pop("SPARK_REMOTE", None)
    return subprocess.run(
        [sys.executable, "-m", "dealdesk.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


@dataclass(frozen=True)
class Built:
    """A lakehouse migrated by ``dealdesk migrate`` on one engine, and an untouched copy of it."""

    home: Path
    schema: str
    output: str  # what migrate printed
    pristine: str  # schema whose folder is the copy taken right after migrate: copy_of(home, pristine)


@pytest.fixture(scope="session")
def built(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Migrated once per engine and session (on Spark the DDL takes minutes); tests that write
    work on copy_of(built.home, built.pristine, engine=...)."""
    home = tmp_path_factory.mktemp(f"built_{engine}")
    schema = f"conf_{uuid.uuid4().hex[:8]}"
    result = dealdesk_cli(engine, home, schema, "migrate")
    assert result.returncode == 0, result.stderr
    warehouse = Target(engine=engine, schema=schema, home=home).warehouse  # type: ignore[arg-type]
    shutil.copytree(warehouse / schema, warehouse / f"pristine_{schema}")
    return Built(home, schema, result.stdout, f"pristine_{schema}")
