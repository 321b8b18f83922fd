"""Batching invariance: the same documents give the same tables however the files arrive.

Generated weeks of documents (every kind, resubmissions, drafts that expire, overdue
approvals, about 2 % broken documents) are landed (a) all at once, (b) day by day and
(c) file by file in random groupings, each run with ``--as-of latest-event``; every table
ends the same, run ids and processing times aside. The sample days too: ``make demo``'s
day by day and one run over all five days agree.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.generator import Mix, generate
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from tests.conftest import copy_of
from tests.test_reliability import assert_same_tables, business_snapshot

RULES = BusinessRules()


def land_in_groups(root: Path, groups: list[list[Path]], lakehouse: Lakehouse) -> dict[str, list[tuple]]:
    """Copy each group of generated files into one landing folder (the same path for every way
    of batching: the tables name the files they read), run after each group; the tables."""
    landing = root / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    for group in groups:
        for path in group:
            target = landing / path.relative_to(root / "source")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)
    return business_snapshot(lakehouse)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("weeks")
    mix = Mix(deals_per_month=120, users=40, advertisers=30, agencies=10)
    generate(root / "source", years=2 / 52, seed=3, mix=mix)
    return root, sorted((root / "source").rglob("*.jsonl"))


@pytest.fixture(scope="module")
def all_at_once(generated, lakehouse_home: Path, prepared_schema: str) -> dict[str, list[tuple]]:
    root, files = generated
    lakehouse = copy_of(lakehouse_home, prepared_schema, "once")
    result = land_in_groups(root, [files], lakehouse)
    result["_statuses"] = sorted({r["status"] for r in lakehouse.read("deal_status_history").collect()})
    return result


def test_all_at_once_is_a_real_workload(all_at_once):
    assert {"under_review", "approved", "revision_requested", "lost"} <= set(all_at_once.pop("_statuses", []))
    assert len(all_at_once["deals"]) > 20 and len(all_at_once["rejected_documents"]) > 0


def without_statuses(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {k: v for k, v in tables.items() if not k.startswith("_")}


@pytest.mark.exhaustive  # 29 runs; one random grouping and the sample days day by day are the sample
def test_day_by_day_equals_all_at_once(generated, all_at_once, lakehouse_home: Path, prepared_schema: str):
    root, files = generated
    lakehouse = copy_of(lakehouse_home, prepared_schema, "daily")
    assert_same_tables(land_in_groups(root, [[f] for f in files], lakehouse), without_statuses(all_at_once))


@pytest.mark.parametrize("seed", [pytest.param(1, marks=pytest.mark.exhaustive), 2])
def test_random_groupings_of_files_equal_all_at_once(
    seed: int, generated, all_at_once, lakehouse_home: Path, prepared_schema: str
):
    root, files = generated
    chooser = random.Random(seed)
    groups, rest = [], list(files)
    while rest:
        size = chooser.randint(1, max(1, len(rest) // 2))
        groups.append(rest[:size])
        rest = rest[size:]
    lakehouse = copy_of(lakehouse_home, prepared_schema, f"groups{seed}")
    assert_same_tables(land_in_groups(root, groups, lakehouse), without_statuses(all_at_once))


def test_the_sample_days_day_by_day_equal_one_run(tmp_path: Path, lakehouse_home: Path, prepared_schema: str):
    days = sample_days()
    results = []
    for name, groups in (("daily", [[d] for d in days]), ("once", [days])):
        lakehouse = copy_of(lakehouse_home, prepared_schema, f"sample{name}")
        landing = tmp_path / "landing"  # one path for both: the tables name the files they read
        shutil.rmtree(landing, ignore_errors=True)
        for group in groups:
            for day in group:
                shutil.copytree(day, landing / day.name)
            run_pipeline(lakehouse, landing, RULES, LATEST_EVENT)
        results.append(business_snapshot(lakehouse))
    assert_same_tables(results[0], results[1])
    assert len(results[1]["rejected_documents"]) == 15
