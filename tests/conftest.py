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
