"""The published contract: the JSON Schemas in schemas/ and docs/contract.md.

The schemas must accept every document the lakehouse's rules accept (the sample data, the
generator's output, a few boundary cases), and a document they accept may be rejected only
by a rule schemas/README.md lists as one the schema cannot express. The rules are the
project's own Column functions, evaluated on the same documents without the lakehouse's state
(the state-dependent rules are exactly the ones the README lists as such).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dealdesk import config
from dealdesk.checks.company import COMPANY_FIELDS
from dealdesk.checks.envelope import read_envelopes
from dealdesk.checks.kinds import KINDS, deal_submission
from dealdesk.checks.kinds import scoping_request as scoping_request_kind
from dealdesk.checks.reasons import REASONS_TYPE, concat_reasons
from dealdesk.cli.workflow import sample_days
from dealdesk.config import BusinessRules
from dealdesk.core.desk import decide
from dealdesk.core.model import Snapshot
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.operations.generator import generate
from dealdesk.pipeline.landing import read_file
from dealdesk.pipeline.parse import to_document
from tests.intake_builders import advertiser, agency, scoping_request, submission, tier, user

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
RULES = BusinessRules()
Line = tuple[str, int, str]  # (source, line number, payload)


@cache
def schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text())


@cache
def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(schema(kind))


def cannot_express() -> tuple[dict[str, list[str]], set[str]]:
    """The rules listed under "Rules the schema cannot express": (value rules with the fields
    they concern, as patterns where ``*`` stands for anything; the state-dependent rules)."""
    text = (SCHEMAS / "README.md").read_text()
    section = text.split("## Rules the schema cannot express", 1)[1].split("\n## ", 1)[0]
    values, state = section.split("### Rules on the lakehouse's state", 1)
    fields: dict[str, list[str]] = {}
    for rule, cell in re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", values, flags=re.MULTILINE):
        fields.setdefault(rule, []).extend(re.findall(r"`([^`]+)`", cell))
    return fields, set(re.findall(r"^\| `([a-z_]+)` \|", state, flags=re.MULTILINE))


def listed(field: str, rule: str) -> bool:
    """Whether the README lists this failure among those the schema cannot express."""
    values, state = cannot_express()
    patterns = values.get(rule, [])
    return rule in state or any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), field) for p in patterns)


def schema_errors(document: Any) -> list[str] | None:
    """The schema's errors for a document, or None when there is no schema to apply (not an
    object, or no known kind)."""
    if not isinstance(document, dict) or document.get("kind") not in config.DOCUMENT_KINDS:
        return None
    return [error.message for error in validator(document["kind"]).iter_errors(document)]


# -- the rules, evaluated without the lakehouse's state -----------------------------------------


def _kind_reasons(docs: DataFrame, kind: str, deals, approvals, users) -> DataFrame:
    doc = F.col("doc")
    if KINDS[kind].schema is None:  # the core alone judges it
        # decided by the core against an empty lakehouse: its field checks, and state rules
        # that the caller leaves out
        rows = []
        for row in docs.select(
            "event_id", "kind", "source_file", "line_number", "occurred_at", "payload"
        ).collect():
            document = to_document({**row.asDict(), "errors": [], "warnings": []}, RULES)
            effects = decide(Snapshot(), [document], RULES)
            reasons = effects.rejected[0]["reasons"] if effects.rejected else []
            rows.append((row["source_file"], row["line_number"], reasons))
        return docs.sparkSession.createDataFrame(
            rows, f"source_file STRING, line_number BIGINT, reasons {REASONS_TYPE}"
        )
    parsed = docs.withColumn("doc", F.from_json("payload", KINDS[kind].schema))
    if kind == "deal_submission":
        draft = F.coalesce(F.lower(F.trim(doc["status"])) == "draft", F.lit(False))
        reasons = parsed.transform(deal_submission.with_submission_errors(RULES)).withColumn(
            "reasons", F.when(draft, F.col("draft_errors")).otherwise(F.col("full_errors"))
        )
        return reasons.select("source_file", "line_number", "reasons")
    check = KINDS[kind].errors
    assert check is not None, kind
    return parsed.select("source_file", "line_number", check(doc, RULES).alias("reasons"))


Failure = tuple[str, str]  # (field, rule) of a reason


def rule_outcomes(lakehouse: Lakehouse, lines: list[Line]) -> dict[tuple[str, int], set[Failure]]:
    """The (field, rule) failures of each line (envelope and its kind's), state-dependent rules
    left out: without the lakehouse's state they do not say anything."""
    spark: SparkSession = lakehouse.spark
    frame = spark.createDataFrame(lines, "source_file STRING, line_number BIGINT, payload STRING")
    envelopes = read_envelopes(frame)
    deals, approvals, users = (lakehouse.read(t) for t in ("deals", "deal_approvals", "users"))
    outcome: dict[tuple[str, int], set[Failure]] = {
        (r["source_file"], r["line_number"]): {(reason["field"], reason["rule"]) for reason in r["errors"]}
        for r in envelopes.select("source_file", "line_number", "errors").collect()
    }
    readable = envelopes.filter(F.size("errors") == 0)
    for kind in config.DOCUMENT_KINDS:
        reasons = _kind_reasons(readable.filter(F.col("kind") == kind), kind, deals, approvals, users)
        for r in reasons.select("source_file", "line_number", concat_reasons(F.col("reasons"))).collect():
            outcome[(r[0], r[1])] |= {(reason["field"], reason["rule"]) for reason in r[2]}
    _, state = cannot_express()
    return {key: {f for f in failures if f[1] not in state} for key, failures in outcome.items()}


# -- the documents ------------------------------------------------------------------------------


def landing_lines(files: list[Path], root: Path) -> list[Line]:
    return [
        (str(path.relative_to(root)), number, text)
        for path in files
        for number, text in enumerate(read_file(path).lines, start=1)
        if text.strip()
    ]


def sample_lines() -> list[Line]:
    root = sample_days()[0].parent
    return landing_lines(sorted(p for day in sample_days() for p in day.glob("*.jsonl")), root)


def _dumped(name: str, document: dict[str, Any]) -> Line:
    return (f"case:{name}", 1, json.dumps(document))


def _draft(**overrides: Any) -> dict[str, Any]:
    doc = submission({"status": "draft"})
    for field in ("deal_type", "region", "term_start_date", "term_end_date", "growth_ambition"):
        doc["deal"][field] = None
    doc["tiers"] = []
    doc.update(overrides)
    return doc


def _changed(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(base or submission())
    *parents, leaf = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return doc


ACTION = {
    "event_id": "a6f1c1de-6a43-4c57-9d0c-2f6e3f0c0001",
    "kind": "approval_action",
    "occurred_at": "2026-03-03T09:05:00Z",
    "reference_number": "DEAL-2026-001",
    "approval_stage": 1,
    "department": "finance",
    "action": "approve",
    "performed_by": "finance.reviewer@example.com",
    "comments": None,
    "assign_to": None,
}
STATUS_CHANGE = {
    "event_id": "a6f1c1de-6a43-4c57-9d0c-2f6e3f0c0002",
    "kind": "status_change",
    "occurred_at": "2026-03-04T10:00:00Z",
    "reference_number": "DEAL-2026-001",
    "new_status": "contract_drafting",
    "performed_by": "legal.counsel@example.com",
    "comments": None,
}
DELEGATION = {
    "event_id": "a6f1c1de-6a43-4c57-9d0c-2f6e3f0c0003",
    "kind": "delegation",
    "occurred_at": "2026-03-04T10:00:00Z",
    "delegator": "finance.reviewer@example.com",
    "delegate": "finance.lead@example.com",
    "starts_at": "2026-03-09T00:00:00Z",
    "ends_at": "2026-03-16T00:00:00+01:00",
    "reason": "holiday",
}

# name: (document, whether the schema accepts it, the rules it fails)
CASES: dict[str, tuple[dict[str, Any], bool, set[str]]] = {
    "valid submission": (submission(), True, set()),
    "numbers as text": (
        _changed("tiers", [tier(1, "60000", "0.34"), tier(2, "90000.50", "1")]),
        True,
        set(),
    ),
    "growth ambition as text": (_changed("deal.growth_ambition", "1000000"), True, set()),
    "growth ambition 999,999 as text": (_changed("deal.growth_ambition", "999999"), False, {"minimum"}),
    "growth ambition 999,999": (_changed("deal.growth_ambition", 999_999), False, {"minimum"}),
    "margin 1.5 as text": (_changed("tiers.0.annual_gross_margin", "1.5"), False, {"between"}),
    "revenue -1 as text": (_changed("tiers.0.annual_revenue", "-1"), False, {"minimum"}),
    "marketing-ld": (_changed("tiers.0.incentives.0.category", "marketing-ld"), True, set()),
    "unknown category": (_changed("tiers.0.incentives.0.category", "travel"), False, {"one_of"}),
    "2025-02-30": (_changed("deal.term_start_date", "2025-02-30"), True, {"date"}),
    "date 31/03/2027": (_changed("deal.term_end_date", "31/03/2027"), False, {"date"}),
    "end = start": (
        _changed("deal.term_end_date", "2026-04-01", _changed("deal.term_start_date", "2026-04-01")),
        True,
        {"end_after_start"},
    ),
    "tier numbers 1, 3": (_changed("tiers", [tier(1), tier(3)]), True, {"tier_sequence"}),
    "tier number 1.0": (_changed("tiers", [tier(1.0)]), True, {"tier_sequence"}),
    "tier numbers 2, 1": (_changed("tiers", [tier(2), tier(1)]), True, set()),
    "six tiers": (_changed("tiers", [tier(n) for n in range(1, 7)]), False, {"tier_count"}),
    "no tiers": (_changed("tiers", []), False, {"tier_count"}),
    "flat_commit with two tiers": (
        _changed("deal.deal_structure", "flat_commit"),
        False,
        {"flat_commit_single_tier"},
    ),
    "client_direct without advertiser": (
        _changed("deal.advertiser_name", None),
        False,
        {"client_for_channel"},
    ),
    "agency channel without agency": (
        _changed("deal.sales_channel", "holding_company"),
        False,
        {"client_for_channel"},
    ),
    "submitter not an e-mail": (_changed("submitted_by", "sam at example"), False, {"email"}),
    "deal name of 501 characters": (_changed("deal.deal_name", "x" * 501), False, {"length"}),
    "free text of 10,001 characters": (
        _changed("deal.client_asks", "x" * 10_001),
        False,
        {"max_length"},
    ),
    "reference number DEAL-26-1": (_changed("reference_number", "DEAL-26-1"), False, {"format"}),
    "draft with name only": (_draft(), True, set()),
    "draft with a bad region": (_changed("deal.region", "antarctica", _draft()), False, {"one_of"}),
    "draft with a bad tier": (
        _draft(tiers=[tier(1, margin=1.2)]),
        False,
        {"between"},
    ),
    "draft without a name": (_changed("deal.deal_name", "  ", _draft()), False, {"required", "length"}),
    "submission like the draft": (
        _changed("status", "submitted", _draft()),
        False,
        {"one_of", "date", "tier_count"},
    ),
    "occurred_at 2026-02-30": (_changed("occurred_at", "2026-02-30T10:00:00Z"), True, {"iso_timestamp"}),
    "occurred_at without a zone": (_changed("occurred_at", "2026-03-02T10:00:00"), False, {"iso_timestamp"}),
    "scoping request": (scoping_request(), True, set()),
    "scoping request without ambition": (
        scoping_request(growth_ambition=None),
        False,
        {"required"},
    ),
    "scoping request ending first": (
        scoping_request(term_start_date="2026-05-01", term_end_date="2026-04-01"),
        True,
        {"end_after_start"},
    ),
    "user": (user("fin.reviewer@example.com", "department_reviewer", "finance"), True, set()),
    "user with a bad role": (user("x@example.com", "boss"), False, {"one_of"}),
    "advertiser": (advertiser(), True, set()),
    "advertiser margin 31": (advertiser(previous_year_margin=31), False, {"between"}),
    "agency": (agency(), True, set()),
    "agency of a bad type": (agency(kind="network"), False, {"one_of"}),
    "approval action": (ACTION, True, set()),
    "approval action stage as text": (
        _changed("approval_stage", "2", ACTION) | {"department": None},
        True,
        set(),
    ),
    "approval action stage 1.0": (_changed("approval_stage", 1.0, ACTION), True, {"invalid"}),
    "approval action stage 3": (_changed("approval_stage", 3, ACTION), False, {"invalid"}),
    "reject without a comment": (_changed("action", "reject", ACTION), False, {"required"}),
    "assign without assignee": (_changed("action", "assign", ACTION), False, {"required"}),
    "stage 1 without department": (_changed("department", None, ACTION), False, {"invalid"}),
    "status change": (STATUS_CHANGE, True, set()),
    "delegation": (DELEGATION, True, set()),
    "delegation to oneself": (
        _changed("delegate", "Finance.Reviewer@example.com", DELEGATION),
        True,
        {"not_self"},
    ),
    "delegation ending first": (
        _changed("ends_at", "2026-03-08T00:00:00Z", DELEGATION),
        True,
        {"end_after_start"},
    ),
    "delegation on 2026-02-30": (
        _changed("starts_at", "2026-02-30T00:00:00Z", DELEGATION),
        True,
        {"iso_timestamp"},
    ),
    "delegation without an end": (_changed("ends_at", None, DELEGATION), False, {"iso_timestamp"}),
    "delegation to a name": (_changed("delegate", "Finance Lead", DELEGATION), False, {"email"}),
    "status change to nowhere": (_changed("new_status", "archived", STATUS_CHANGE), False, {"invalid"}),
}


def case_lines() -> list[Line]:
    return [_dumped(name, document) for name, (document, _, _) in CASES.items()]


@pytest.fixture(scope="module")
def generated_lines(tmp_path_factory: pytest.TempPathFactory) -> list[Line]:
    out = tmp_path_factory.mktemp("generated")
    generate(out, years=0.05, seed=3)
    return landing_lines(sorted(out.rglob("*.jsonl")), out)


@pytest.fixture(scope="module")
def corpus(generated_lines: list[Line]) -> list[Line]:
    return sample_lines() + generated_lines + case_lines()


@pytest.fixture(scope="module")
def outcomes(shared_lakehouse: Lakehouse, corpus: list[Line]) -> dict[tuple[str, int], set[Failure]]:
    return rule_outcomes(shared_lakehouse, corpus)


def _parsed(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


# -- the schemas themselves -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", config.DOCUMENT_KINDS)
def test_each_kind_has_a_valid_draft_2020_12_schema(kind: str):
    Draft202012Validator.check_schema(schema(kind))
    assert schema(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema(kind)["properties"]["kind"] == {"const": kind, "description": "Document kind."}
    assert {"event_id", "kind", "occurred_at"} <= set(schema(kind)["required"])


def test_the_schemas_follow_the_configured_enumerations_and_limits():
    sub = schema("deal_submission")
    deal = sub["$defs"]["deal"]["properties"]
    limits = RULES.validation
    assert deal["deal_type"]["enum"] == [*config.DEAL_TYPES, None]
    assert deal["sales_channel"]["enum"] == [*config.SALES_CHANNELS, None]
    assert deal["deal_structure"]["enum"] == [*config.DEAL_STRUCTURES, None]
    assert deal["region"]["enum"] == [*config.REGIONS, None]
    assert deal["priority"]["enum"] == [*config.DEAL_PRIORITIES, None]
    assert deal["deal_name"]["maxLength"] == limits.deal_name_max_chars
    assert {deal[f]["maxLength"] for f in deal_submission.FREE_TEXT_FIELDS} == {limits.free_text_max_chars}
    assert set(deal) == set(deal_submission.DEAL_FIELDS)
    assert sub["properties"]["tiers"]["maxItems"] == limits.max_tiers
    ambition = sub["$defs"]["growth_ambition"]["anyOf"][0]
    assert ambition["minimum"] == limits.min_growth_ambition
    categories = sub["$defs"]["incentive"]["properties"]["category"]["enum"]
    assert categories == [*config.INCENTIVE_CATEGORIES, *config.INCENTIVE_CATEGORY_ALIASES]
    action = schema("approval_action")["properties"]
    assert action["action"]["enum"] == list(config.APPROVAL_ACTIONS)
    assert action["department"]["enum"] == [*config.DEPARTMENTS, None]
    user_fields = schema("user")["$defs"]["user"]["properties"]
    assert user_fields["role"]["enum"] == list(config.ROLES)
    assert user_fields["approval_level"]["enum"] == [*config.APPROVAL_LEVELS, None]
    assert schema("agency")["$defs"]["agency"]["properties"]["type"]["enum"] == [*config.AGENCY_TYPES, None]
    assert set(schema("scoping_request")["$defs"]["request"]["properties"]) == set(
        scoping_request_kind.SCOPING_FIELDS
    )
    assert set(schema("advertiser")["$defs"]["advertiser"]["properties"]) == set(COMPANY_FIELDS) - {"type"}


def test_the_readme_lists_the_rules_the_schema_cannot_express():
    values, state = cannot_express()
    assert {"date", "end_after_start", "tier_sequence", "iso_timestamp"} <= set(values)
    assert all(values.values()), "every value rule names its fields"
    assert {"known_reference", "unknown_deal", "not_authorised", "transition_not_allowed"} <= state
    assert not {"required", "one_of", "minimum", "between", "email"} & (set(values) | state)
    assert listed("deal.term_start_date", "date") and listed("request.term_end_date", "date")
    assert not listed("deal.region", "one_of") and not listed("deal.deal_type", "date")


# -- schemas and rules agree --------------------------------------------------------------------


def test_the_corpus_holds_every_kind_and_broken_documents(corpus: list[Line], outcomes):
    kinds = {(_parsed(p) or {}).get("kind") for _, _, p in corpus if isinstance(_parsed(p), dict)}
    assert set(config.DOCUMENT_KINDS) <= kinds
    rejected = [key for key, failures in outcomes.items() if failures]
    assert len(rejected) >= 20, "the generator and the samples hold deliberately broken documents"
    assert any(("line", "valid_json_object") in outcomes[key] for key in rejected)


def test_every_document_the_rules_accept_is_valid_against_its_kinds_schema(corpus: list[Line], outcomes):
    refused = []
    for source, number, payload in corpus:
        if outcomes[(source, number)]:
            continue
        errors = schema_errors(_parsed(payload))
        if errors is None or errors:
            refused.append((source, number, errors))
    assert refused == []


def test_a_document_the_schema_accepts_fails_only_rules_it_cannot_express(corpus: list[Line], outcomes):
    accepted_but_rejected = {}
    for source, number, payload in corpus:
        failures = outcomes[(source, number)]
        if failures and schema_errors(_parsed(payload)) == []:
            accepted_but_rejected[(source, number)] = failures
    unlisted = {
        key: [f for f in failures if not listed(*f)]
        for key, failures in accepted_but_rejected.items()
        if not all(listed(*f) for f in failures)
    }
    assert unlisted == {}
    assert accepted_but_rejected, "some documents break only rules the schema cannot express"


def test_sample_lines_the_rules_reject_are_refused_by_the_schema_too(outcomes):
    """The shipped samples' broken lines: a bad region, a bad e-mail, no envelope, cut-off JSON."""
    lines = sample_lines()
    refused = {
        (source, number): outcomes[(source, number)]
        for source, number, payload in lines
        if schema_errors(_parsed(payload)) != []
    }
    assert refused and all(refused.values())  # every line the schema refuses, the rules reject
    payloads = {(s, n): p for s, n, p in lines}
    assert any('"antarctica"' in payloads[key] for key in refused)
    assert any('"not-an-email"' in payloads[key] for key in refused)


@pytest.mark.parametrize("name", CASES)
def test_boundary_cases(name: str, outcomes):
    document, schema_accepts, failing = CASES[name]
    assert (schema_errors(document) == []) is schema_accepts
    assert {rule for _, rule in outcomes[(f"case:{name}", 1)]} == failing


# -- the contract document ------------------------------------------------------------------------


def _field_names(node: Any) -> set[str]:
    """Every property name anywhere in a schema."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= _field_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _field_names(item)
    return found


@pytest.mark.parametrize("kind", config.DOCUMENT_KINDS)
def test_the_contract_documents_every_kind_and_field(kind: str):
    contract = (REPO / "docs" / "contract.md").read_text()
    assert f"`{kind}`" in contract
    assert f"schemas/{kind}.schema.json" in contract
    # a field is named on its own (`deal_name`) or with its parents (`user.email`)
    missing = sorted(
        f for f in _field_names(schema(kind)) if not re.search(rf"`(?:[a-z_]+\.)*{re.escape(f)}`", contract)
    )
    assert missing == []


def test_the_readme_points_to_documents_a_clone_holds():
    readme = (REPO / "README.md").read_text()
    assert "docs/business-rules.md" in readme and "docs/contract.md" in readme
    for target in re.findall(r"\]\(((?:docs|schemas)/[^)#]+)", readme):
        assert (REPO / target).exists(), target
