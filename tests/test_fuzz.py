"""Property-based fuzzing of submissions: whatever arrives, each document ends accepted or
rejected with reasons, the run never crashes, and lines read = accepted + rejected."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from dealdesk.config import BusinessRules
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.lakehouse.migrations import MigrationRunner
from dealdesk.pipeline.ingest import ingest_landing
from tests.conftest import new_target
from tests.intake_builders import reference_data, submission, write_jsonl

FIELDS = [
    "submitted_by",
    "reference_number",
    "status",
    "scoping_request_id",
    "occurred_at",
    "kind",
    "deal",
    "tiers",
    *[f"deal.{f}" for f in ("deal_name", "deal_type", "sales_channel", "deal_structure", "region",
                            "advertiser_name", "agency_name", "growth_ambition", "term_start_date",
                            "term_end_date", "contract_term", "previous_year_margin", "priority")],
    "tiers.0.tier_number",
    "tiers.0.annual_revenue",
    "tiers.0.annual_gross_margin",
    "tiers.0.incentives",
]  # fmt: skip

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", " ", "2025-02-30", "DEAL-2026-001", "draft", "tiered", "'; DROP TABLE deals; --"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any] | str:
    if draw(st.integers(0, 9)) == 0:  # now and then a line that is not a document at all
        return draw(
            st.text(min_size=1, max_size=60).filter(lambda t: t.strip() and "\n" not in t and "\r" not in t)
        )
    overrides = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=4))
    base = submission()
    for path, value in overrides.items():
        node: Any = base
        *parents, leaf = path.split(".")
        try:
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            if isinstance(node, list):
                node[int(leaf)] = value
            else:
                node[leaf] = value
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # an earlier override replaced the parent: the document is odd enough already
    return base


@pytest.fixture(scope="module")
def fuzz_lakehouse(lakehouse_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Lakehouse:
    lakehouse = Lakehouse.open(new_target(lakehouse_home, "fuzz"))
    MigrationRunner(lakehouse).migrate()
    ingest_landing(
        lakehouse,
        write_jsonl(tmp_path_factory.mktemp("ref"), "ref.jsonl", reference_data()).parent,
        BusinessRules(),
    )
    return lakehouse


BATCH = itertools.count()  # a folder per example


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(documents(), min_size=1, max_size=12))
def test_every_document_ends_accepted_or_rejected_with_reasons(
    batch: list[dict[str, Any] | str], fuzz_lakehouse: Lakehouse, tmp_path_factory: pytest.TempPathFactory
):
    folder = tmp_path_factory.mktemp(f"fuzz{next(BATCH)}")
    for doc in batch:  # fresh ids: examples must not replay each other's events
        if isinstance(doc, dict):
            doc["event_id"] = str(uuid.uuid4())
    write_jsonl(folder, "batch.jsonl", batch)
    run = ingest_landing(fuzz_lakehouse, folder, BusinessRules())

    assert run.lines_read == len(batch)
    assert run.lines_read == run.accepted + run.rejected
    ids = [d["event_id"] for d in batch if isinstance(d, dict)]
    rejected = {
        r["event_id"]: json.loads(r["reasons"])
        for r in fuzz_lakehouse.read("rejected_documents").filter(F.col("event_id").isin(ids)).collect()
    }
    applied = {
        r["event_id"]
        for r in fuzz_lakehouse.read("processed_events")
        .filter(F.col("event_id").isin(ids) & (F.col("outcome") == "applied"))
        .collect()
    }
    kept = {
        r["event_id"]
        for r in fuzz_lakehouse.read("raw_documents").filter(F.col("event_id").isin(ids)).collect()
    }
    for event_id in ids:
        assert event_id in kept
        assert (event_id in applied) != (event_id in rejected), event_id
        if event_id in rejected:
            assert rejected[event_id] and all(r["rule"] and r["message"] for r in rejected[event_id])
