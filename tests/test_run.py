"""`dealdesk run` over the sample landing days, as separate processes (each a restart of the engine).

The sample days carry deals through every path: approved without and with a business approval,
revision and resubmission, rejection, contract drafting to signed, refused documents and an
expired draft. Running the same landing folder again must change no table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dealdesk.cli.main import main, open_lakehouse
from dealdesk.cli.workflow import sample_days
from dealdesk.lakehouse.engine import Target
from dealdesk.lakehouse.gateway import Lakehouse
from tests import invariants
from tests.workflow_builders import approvals_of, history_of, snapshot, status_of

# A run that needs more than this is broken: fail it instead of exhausting the machine.
MEMORY_LIMIT_BYTES = 10 * 1024**3
# The limit is set by the child itself before it imports anything. Not with preexec_fn: that makes
# subprocess fork this (gRPC-holding) process, gRPC's fork handler restarts its poller in the child,
# and closing the inherited descriptors before exec then aborts it ("epoll_wait error: Bad file
# descriptor", exit -6) now and then.
LAUNCH = (
    "import resource, sys;"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT_BYTES}, {MEMORY_LIMIT_BYTES}));"
    "from dealdesk.cli.main import main;"
    "sys.exit(main(sys.argv[1:]))"
)


def dealdesk(home: Path, schema: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEALDESK_HOME": str(home), "DEALDESK_SCHEMA": schema}
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, f"dealdesk {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """Every sample day dropped into the landing folder in turn, each followed by `dealdesk run`."""
    home = tmp_path_factory.mktemp("run")
    schema = f"run_{uuid.uuid4().hex[:8]}"
    landing = home / "landing"
    dealdesk(home, schema, "migrate")
    for day in sample_days():
        shutil.copytree(day, landing / day.name)
        out = dealdesk(home, schema, "run", "--landing", str(landing), "--as-of", "latest-event").stdout
        assert [line.split()[0] for line in out.splitlines()] == ["run"]  # one step: every document in order
    return home, schema, landing


@pytest.fixture
def sample(sample_run) -> Lakehouse:
    home, schema, _ = sample_run
    return open_lakehouse(Target(engine="local", catalog="main", schema=schema, home=home))


def statuses(lakehouse: Lakehouse, reference: str) -> list[str]:
    return [row[2] for row in history_of(lakehouse, reference)]


def test_the_sample_days_take_deals_through_every_path(sample: Lakehouse):
    # approved below the ladder (no business approval), then contract drafting to signed
    assert statuses(sample, "DEAL-2026-001") == [
        "submitted",
        "under_review",
        "approved",
        "contract_drafting",
        "client_review",
        "signed",
    ]
    assert {a["approval_stage"] for a in approvals_of(sample, "DEAL-2026-001")} == {1}
    # approved with a business approval (manager level), signed later
    stage2 = [a for a in approvals_of(sample, "DEAL-2026-002") if a["approval_stage"] == 2]
    assert [(a["approval_level"], a["status"]) for a in stage2] == [("manager", "approved")]
    assert status_of(sample, "DEAL-2026-002") == "signed"
    # revision requested, resubmitted at half the value: a second round, approved without stage 2
    assert statuses(sample, "DEAL-2026-003") == [
        "submitted",
        "under_review",
        "revision_requested",
        "under_review",
        "approved",
    ]
    assert {a["approval_round"] for a in approvals_of(sample, "DEAL-2026-003")} == {0, 1}
    # rejected by finance
    assert statuses(sample, "DEAL-2026-004")[-1] == "lost"
    # a VP-level business approval (a director was refused), then contract drafting
    stage2 = [a for a in approvals_of(sample, "DEAL-2026-005") if a["approval_stage"] == 2]
    assert [(a["approval_level"], a["status"]) for a in stage2] == [("vp", "approved")]
    assert status_of(sample, "DEAL-2026-005") == "contract_drafting"
    # negotiating while approvals go on
    assert statuses(sample, "DEAL-2026-007")[2:] == ["negotiating", "approved", "contract_drafting"]
    # the draft expired four weeks later
    assert statuses(sample, "DEAL-2026-013")[-1] == "lost"
    invariants.check(sample)


def test_refused_documents_are_kept_with_their_reasons(sample: Lakehouse):
    rows = (
        sample.read("rejected_documents")
        .filter(F.col("kind").isin("approval_action", "status_change"))
        .collect()
    )
    rules = sorted(json.loads(r["reasons"])[0]["rule"] for r in rows)
    assert rules == [
        "approval_closed",
        # an action dated while its deal waited for the seller's revision: applied in business-time
        # order it meets the deal out of review (before, it was judged after the resubmission)
        "deal_not_in_review",
        "not_authorised",
        "not_authorised",
        "transition_not_allowed",
        "unknown_deal",
    ]


def test_running_the_same_landing_folder_again_changes_nothing(sample_run, sample: Lakehouse):
    home, schema, landing = sample_run
    before = snapshot(sample)
    dealdesk(home, schema, "run", "--landing", str(landing), "--as-of", "latest-event")
    assert snapshot(sample) == before


def test_preview_shows_departments_level_and_likely_assignees(sample_run, tmp_path: Path, capsys):
    home, schema, _ = sample_run
    document = {
        "kind": "deal_submission",
        "deal": {"deal_type": "custom", "priority": "high"},
        "tiers": [
            {"annual_revenue": 400_000, "incentives": [{"category": "analytics"}]},
            {"annual_revenue": 200_000, "incentives": [{"category": "product-innovation"}]},
        ],
    }
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(document, indent=2))
    assert main(["--home", str(home), "--schema", schema, "preview", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Business approval: vp" in out and "reviews due 48 h" in out
    lines = out.splitlines()
    for department in ("creative", "finance", "solutions", "trading"):
        assert any(
            f" {department} " in line and f"{department}.reviewer@example.com" in line for line in lines
        )
    legal = next(line for line in lines if " legal " in line)
    assert "legal.reviewer@example.com" in legal or "legal.counsel@example.com" in legal
    assert any("business approval" in line and "vp.approver@example.com" in line for line in lines)


def test_preview_refuses_a_file_without_a_submission(tmp_path: Path, shared_lakehouse: Lakehouse, capsys):
    path = tmp_path / "nothing.json"
    path.write_text(json.dumps({"kind": "user", "user": {}}))
    target = shared_lakehouse.target
    assert main(["--home", str(target.home), "--schema", target.schema, "preview", str(path)]) == 1
    assert "no deal_submission document" in capsys.readouterr().err
