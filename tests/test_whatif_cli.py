"""`dealdesk whatif` on the embedded engine, over the sample days: under the rules in force the
replay is what the tables hold; a lower manager threshold moves exactly the deals between the two
thresholds; nothing is written."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dealdesk.cli.main import main
from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.jobs import run_pipeline
from dealdesk.pipeline.whatif import what_if
from tests.conftest import copy_of

RULES = BusinessRules()


@pytest.fixture(scope="module")
def sample(lakehouse_home: Path, prepared_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lakehouse = copy_of(lakehouse_home, prepared_schema, "whatif")
    landing = tmp_path_factory.mktemp("whatif_landing")
    for day in sample_days():
        shutil.copytree(day, landing / day.name)
        run_pipeline(lakehouse, landing, RULES, "latest-event")
    return lakehouse


def counts(lakehouse: Lakehouse) -> dict[str, int]:
    return {table: lakehouse.read(table).count() for table in lakehouse.table_names()}


def test_under_the_rules_in_force_the_replay_is_what_the_tables_hold(sample: Lakehouse):
    comparison = what_if(sample, RULES, RULES).comparison
    assert comparison.rerouted == [] and comparison.now.levels == comparison.proposal.levels
    deals = [r.asDict() for r in sample.read("deals").filter("submitted_at IS NOT NULL").collect()]
    assert comparison.now.levels == Counter(d["required_approval_level"] or "none" for d in deals)
    approvals = sample.read("deal_approvals").join(
        sample.read("deals")
        .filter("submitted_at IS NOT NULL")
        .select("id")
        .withColumnRenamed("id", "deal_id"),
        "deal_id",
        "left_semi",
    )
    asked = Counter(
        r["department"] if r["approval_stage"] == 1 else "business approval" for r in approvals.collect()
    )
    assert comparison.now.asked == asked


def test_a_lower_manager_threshold_moves_the_deals_between_the_thresholds(
    sample: Lakehouse, tmp_path, capsys
):
    proposal = tmp_path / "proposal.json"
    proposal.write_text(json.dumps({"ladder": {"manager": 25_000}}))
    between = (
        sample.read("deals")
        .filter("submitted_at IS NOT NULL AND deal_value >= 25000 AND deal_value < 50000")
        .count()
    )
    assert between > 0  # the sample has such deals: the test can fail
    before = counts(sample)
    target = sample.target
    options = ["--home", str(target.home), "--schema", target.schema]
    capsys.readouterr()
    assert main([*options, "whatif", "--rules", str(proposal), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    now, proposed = result["now"]["deals_per_level"], result["proposal"]["deals_per_level"]
    assert proposed.get("manager", 0) - now.get("manager", 0) == between
    assert now.get("none", 0) - proposed.get("none", 0) == between
    assert len(result["rerouted"]) >= between
    assert counts(sample) == before  # nothing written

    assert main([*options, "whatif", "--rules", str(proposal), "--from", "2099-01-01"]) == 0
    assert "0 deals first submitted in the period" in capsys.readouterr().out
    assert main([*options, "whatif", "--from", "2026-01-01"]) == 1
    assert "whatif needs --rules PROPOSAL.json" in capsys.readouterr().err


def test_the_report_shows_the_proposal_beside_the_rules_in_force_when_asked(
    sample: Lakehouse, tmp_path, capsys
):
    proposal = tmp_path / "lower_manager.json"
    proposal.write_text(json.dumps({"ladder": {"manager": 25_000}}))
    target = sample.target
    options = ["--home", str(target.home), "--schema", target.schema]
    capsys.readouterr()
    assert main([*options, "whatif", "--rules", str(proposal), "--format", "json"]) == 0
    rerouted = json.loads(capsys.readouterr().out)["rerouted"]
    page = tmp_path / "report.html"
    assert main([*options, "report", "--out", str(page), "--whatif", str(proposal)]) == 0
    html = page.read_text()
    assert "<h2>What if: lower_manager.json</h2>" in html
    assert f"<td>deals whose routing changes</td><td></td><td>{len(rerouted)}</td>" in html
    assert rerouted[0] in html
    assert main([*options, "report", "--out", str(tmp_path / "plain.html")]) == 0
    assert "What if" not in (tmp_path / "plain.html").read_text()
