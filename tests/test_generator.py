"""The synthetic data generator: reproducible, realistic mixes, and documents the jobs accept."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.generator import Generator, Mix, _Event, generate, peak_day, write_days
from dealdesk.pipeline.jobs import LATEST_EVENT, run_pipeline
from tests import invariants


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def kinds(folder: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in folder.rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                found[json.loads(line)["kind"]] += 1
            except (ValueError, KeyError, TypeError):
                found["unreadable"] += 1
    return found


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(tmp_path: Path):
    mix = Mix(deals_per_month=40, users=60, advertisers=30, agencies=10)
    generate(tmp_path / "a", years=0.1, seed=5, mix=mix)
    generate(tmp_path / "b", years=0.1, seed=5, mix=mix)
    generate(tmp_path / "c", years=0.1, seed=6, mix=mix)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jsonl"))
    assert files and files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.jsonl"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert any(
        not (tmp_path / "c" / f).exists()
        or (tmp_path / "c" / f).read_bytes() != (tmp_path / "a" / f).read_bytes()
        for f in files
    )


def test_volumes_and_mix_follow_the_settings(tmp_path: Path):
    result = generate(tmp_path, years=1, mix=Mix(deals_per_month=100, users=50, advertisers=20, agencies=5))
    assert result.deals == 1_200
    found = kinds(tmp_path)
    assert found["user"] == 50 and found["advertiser"] == 20 and found["agency"] == 5
    submissions = found["deal_submission"]
    assert 1_200 < submissions < 1_200 * 1.5  # promotions and resubmissions on top of the new deals
    assert found["approval_action"] > 3 * 1_200  # every reviewed deal has several departments
    assert found["status_change"] > 0
    broken = found["unreadable"] / sum(found.values())
    assert 0.001 < broken < 0.02  # a fifth of the 2 % invalid share is cut-off lines


def test_a_peak_day_has_the_asked_volume_on_one_day(tmp_path: Path):
    result = peak_day(tmp_path, date(2026, 5, 4), documents=2_000, first_numbers={2026: 500})
    lines = [line for p in (tmp_path / "peak").rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert result.files == 1
    assert 1_600 < len(lines) < 2_400
    references = {
        json.loads(x).get("reference_number")
        for x in lines
        if x.startswith("{") and '"reference_number"' in x
    }
    numbers = [int(r.rsplit("-", 1)[1]) for r in references if r and r.startswith("DEAL-2026-")]
    assert numbers and min(numbers) > 500  # new deals continue after the highest number in use


def test_generated_documents_are_accepted_except_the_broken_copies(lakehouse: Lakehouse, tmp_path: Path):
    generator = Generator(seed=3, mix=Mix(revised=0.0, users=60, advertisers=20, agencies=8))
    start = datetime(2026, 3, 2, 8)
    reference = [_Event(start, doc) for doc in generator.reference_data(start)]
    write_days(reference + generator.deals(start, 3, 25), tmp_path)
    runs = run_pipeline(lakehouse, tmp_path, BusinessRules(), LATEST_EVENT)
    assert all(run.lines_read == run.accepted + run.rejected for run in runs)
    rejected = {
        r["event_id"] for r in lakehouse.read("rejected_documents").collect() if _is_json(r["payload"])
    }
    assert rejected == generator.spoiled_ids
    assert lakehouse.read("deals").count() == 25
    statuses = {r["status"] for r in lakehouse.read("deals").select("status").collect()}
    assert {"signed", "approved", "lost"} & statuses
    invariants.check(lakehouse)
