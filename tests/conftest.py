"""Shared fixtures: one embedded engine per test process, a fresh schema per test that needs one."""

from __future__ import annotations

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
