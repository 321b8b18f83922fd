"""Shared fixtures: one embedded engine per test process, a fresh schema per test that needs one."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dealdesk.engine import Target
from dealdesk.lakehouse import Lakehouse
from dealdesk.migrations import MigrationRunner

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def lakehouse_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lakehouse")


def new_target(home: Path, prefix: str = "t") -> Target:
    return Target(engine="local", catalog="main", schema=f"{prefix}_{uuid.uuid4().hex[:10]}", home=home)


@pytest.fixture
def empty_lakehouse(lakehouse_home: Path) -> Lakehouse:
    """A lakehouse on a schema of its own, no DDL applied yet."""
    return Lakehouse.open(new_target(lakehouse_home))


@pytest.fixture
def lakehouse(empty_lakehouse: Lakehouse) -> Iterator[Lakehouse]:
    """A freshly migrated lakehouse on a schema of its own."""
    MigrationRunner(empty_lakehouse).migrate()
    yield empty_lakehouse


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


def copy_of(home: Path, schema: str, prefix: str = "t") -> Lakehouse:
    """A new lakehouse whose tables start as copies of ``schema``'s: a folder copy and an attach,
    instead of applying every DDL file again."""
    target = new_target(home, prefix)
    source = Target(engine="local", catalog="main", schema=schema, home=home).warehouse / schema
    shutil.copytree(source, target.warehouse / target.schema)
    lakehouse = Lakehouse.open(target)
    MigrationRunner(lakehouse).attach()
    return lakehouse


@pytest.fixture
def fresh_lakehouse(lakehouse_home: Path, prepared_schema: str) -> Lakehouse:
    """A migrated lakehouse on a schema of its own, copied from the prepared one."""
    return copy_of(lakehouse_home, prepared_schema)


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
    metafunc.parametrize("engine_name", [name for name in chosen if name in allowed], scope="session")


@pytest.fixture(scope="session")
def engine(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The engine started once for the whole test session (Spark: one server), stopped at the end.

    An engine that cannot start fails the tests that need it, with the reason; it never skips them.
    """
    from dealdesk.engine import spark_session, stop_engine
    from dealdesk.errors import ConfigurationError

    home = tmp_path_factory.mktemp(f"engine_{engine_name}")
    try:
        spark_session(Target(engine=engine_name, home=home)).sql("SELECT 1").collect()
    except ConfigurationError as exc:
        pytest.fail(f"the {engine_name} engine cannot start: {exc}", pytrace=False)
    yield engine_name
    if engine_name != "local":  # the embedded engine is shared with the rest of the suite
        stop_engine(engine_name)
