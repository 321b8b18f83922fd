"""The DDL creates the ten tables and the job tables as the data model specifies them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealdesk.lakehouse.gateway import Lakehouse

# Columns and types of the data model (data-model.md); extra columns the design adds are allowed.
SPEC_COLUMNS: dict[str, dict[str, str]] = {
    "users": {
        "id": "bigint", "username": "string", "email": "string", "role": "string", "department": "string",
        "approval_level": "string", "first_name": "string", "last_name": "string", "is_active": "boolean",
        "external_id": "string", "created_at": "timestamp", "updated_at": "timestamp",
    },
    "advertisers": {
        "id": "bigint", "name": "string", "previous_year_revenue": "double", "previous_year_margin": "double",
        "previous_year_profit": "double", "previous_year_incentive_cost": "double",
        "previous_year_client_value": "double", "region": "string", "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    "agencies": {"id": "bigint", "name": "string", "type": "string", "region": "string",
                 "previous_year_revenue": "double", "created_at": "timestamp"},
    "deals": {
        "id": "bigint", "reference_number": "string", "deal_name": "string", "email": "string",
        "deal_type": "string", "sales_channel": "string", "deal_structure": "string", "region": "string",
        "advertiser_name": "string", "agency_name": "string", "advertiser_id": "bigint", "agency_id": "bigint",
        "business_summary": "string", "growth_opportunity_miq": "string", "growth_opportunity_client": "string",
        "client_asks": "string", "growth_ambition": "double", "term_start_date": "date",
        "term_end_date": "date", "contract_term": "int", "previous_year_revenue": "double",
        "previous_year_margin": "double", "status": "string", "draft_type": "string", "revision_count": "int",
        "is_revision": "boolean", "parent_submission_id": "bigint", "revision_reason": "string",
        "last_revised_at": "timestamp", "can_edit": "boolean", "draft_expires_at": "timestamp",
        "last_status_change": "timestamp", "priority": "string", "flow_intelligence": "string",
        "created_at": "timestamp", "updated_at": "timestamp",
    },
    "deal_tiers": {
        "id": "bigint", "deal_id": "bigint", "tier_number": "int", "annual_revenue": "double",
        "annual_gross_margin": "double", "category_name": "string", "sub_category_name": "string",
        "incentive_option": "string", "incentive_value": "double", "incentive_notes": "string",
        "created_at": "timestamp", "updated_at": "timestamp",
    },
    "incentive_values": {
        "id": "bigint", "deal_id": "bigint", "tier_number": "int", "category_id": "string",
        "subcategory_id": "string", "option": "string", "value": "double", "notes": "string",
        "created_at": "timestamp", "updated_at": "timestamp",
    },
    "deal_scoping_requests": {
        "id": "bigint", "request_title": "string", "description": "string", "email": "string",
        "sales_channel": "string", "advertiser_name": "string", "agency_name": "string", "region": "string",
        "deal_type": "string", "deal_structure": "string", "contract_term": "int", "term_start_date": "date",
        "term_end_date": "date", "growth_opportunity_miq": "string", "growth_ambition": "double",
        "growth_opportunity_client": "string", "client_asks": "string", "status": "string",
        "converted_deal_id": "bigint", "converted_at": "timestamp", "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    "deal_approvals": {
        "id": "bigint", "deal_id": "bigint", "approval_round": "int", "approval_stage": "int",
        "department": "string", "required_role": "string", "approval_level": "string", "status": "string",
        "priority": "string", "assigned_to": "bigint", "due_date": "timestamp", "comments": "string",
        "revision_reason": "string", "reviewer_notes": "string", "completed_at": "timestamp",
        "created_at": "timestamp",
    },
    "approval_actions": {
        "id": "bigint", "approval_id": "bigint", "action_type": "string", "performed_by": "bigint",
        "comments": "string", "created_at": "timestamp",
    },
    "deal_status_history": {
        "id": "bigint", "deal_id": "bigint", "seq": "int", "status": "string", "previous_status": "string",
        "performed_by": "bigint", "comments": "string", "changed_at": "timestamp",
    },
    "raw_documents": {"event_id": "string", "kind": "string", "source_file": "string", "line_number": "bigint",
                      "received_at": "timestamp", "payload": "string"},
    "rejected_documents": {"event_id": "string", "kind": "string", "source_file": "string", "payload": "string",
                           "reasons": "string", "rejected_at": "timestamp", "run_id": "string",
                           "replayed_at": "timestamp"},
    "approval_departments": {"department": "string", "display_name": "string", "contact_email": "string",
                             "default_assignee_email": "string", "incentive_types": "string",
                             "is_active": "boolean"},
    "schema_migrations": {"version": "int", "name": "string", "checksum": "string", "applied_at": "timestamp"},
    "job_runs": {"run_id": "string", "job": "string", "started_at": "timestamp", "lines_read": "bigint",
                 "accepted": "bigint", "rejected": "bigint"},
}  # fmt: skip

NOT_NULL = {
    "users": ["id", "username", "email", "role", "is_active"],
    "deals": ["id", "reference_number", "deal_name", "email", "status", "priority", "contract_term"],
    "deal_tiers": ["id", "deal_id", "tier_number"],
    "deal_approvals": ["id", "deal_id", "approval_round", "approval_stage", "department", "status"],
    "approval_actions": ["id", "approval_id", "action_type", "created_at"],
    "deal_status_history": ["id", "deal_id", "seq", "status", "changed_at"],
}

CONSTRAINTS = {
    "users": ["users_role_valid", "users_department_valid", "users_approval_level_valid"],
    "agencies": ["agencies_type_valid"],
    "deals": ["deals_status_valid", "deals_deal_type_valid", "deals_priority_valid", "deals_region_valid",
              "deals_reference_number_format", "deals_growth_ambition_minimum", "deals_term_dates_ordered"],
    "deal_tiers": ["deal_tiers_tier_number_range", "deal_tiers_margin_range"],
    "incentive_values": ["incentive_values_category_valid"],
    "deal_scoping_requests": ["scoping_status_valid"],
    "deal_approvals": ["deal_approvals_status_valid", "deal_approvals_stage_valid", "deal_approvals_priority_valid"],
    "approval_actions": ["approval_actions_type_valid"],
    "deal_status_history": ["status_history_status_valid"],
}  # fmt: skip

AUDIT_TABLES = ["approval_actions", "deal_status_history", "raw_documents"]


def describe(lakehouse: Lakehouse, table: str) -> tuple[dict[str, tuple[str, str | None]], dict[str, str]]:
    """(columns -> (type, comment), detail -> value) from DESCRIBE TABLE EXTENDED."""
    rows = lakehouse.sql(f"DESCRIBE TABLE EXTENDED {lakehouse.table_name(table)}").collect()
    columns, details, in_details = {}, {}, False
    for row in rows:
        if row["col_name"].startswith("#") or row["col_name"] == "":
            in_details = True
            continue
        if in_details:
            details[row["col_name"]] = row["data_type"]
        else:
            columns[row["col_name"]] = (row["data_type"], row["comment"])
    return columns, details


def test_every_table_exists(shared_lakehouse: Lakehouse):
    assert set(SPEC_COLUMNS) <= set(shared_lakehouse.table_names())


@pytest.mark.parametrize("table", sorted(SPEC_COLUMNS))
def test_columns_types_and_comments(shared_lakehouse: Lakehouse, table: str):
    columns, details = describe(shared_lakehouse, table)
    for name, data_type in SPEC_COLUMNS[table].items():
        assert name in columns, f"{table}.{name} missing"
        assert columns[name][0] == data_type, f"{table}.{name} is {columns[name][0]}, expected {data_type}"
    uncommented = [name for name, (_, comment) in columns.items() if not comment]
    assert uncommented == [], f"{table}: columns without a comment: {uncommented}"
    assert details.get("Comment"), f"{table} has no table comment"
    assert "delta.enableDeletionVectors=true" in details["Table Properties"]


def test_users_hold_no_password(shared_lakehouse: Lakehouse):
    columns, _ = describe(shared_lakehouse, "users")
    assert "password" not in columns


@pytest.mark.parametrize("table", sorted(NOT_NULL))
def test_not_null_columns(shared_lakehouse: Lakehouse, table: str):
    fields = {f.name: f.nullable for f in shared_lakehouse.read(table).schema.fields}
    assert [c for c in NOT_NULL[table] if fields[c]] == []


@pytest.mark.parametrize("table", sorted(CONSTRAINTS))
def test_check_constraints_are_in_the_delta_log(shared_lakehouse: Lakehouse, table: str):
    """Read from the table's own log (what every engine attaching the table reads back)."""
    configuration: dict[str, str] = {}
    for commit in sorted(Path(shared_lakehouse.table_location(table), "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "metaData" in action:
                configuration = action["metaData"].get("configuration", {})
    missing = [c for c in CONSTRAINTS[table] if f"delta.constraints.{c}" not in configuration]
    assert missing == []


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_audit_tables_are_append_only_and_kept_seven_years(shared_lakehouse: Lakehouse, table: str):
    properties = shared_lakehouse.table_properties(table)
    assert "delta.appendOnly=true" in properties
    assert "delta.logRetentionDuration=interval 2557 days" in properties
    assert "delta.deletedFileRetentionDuration=interval 2557 days" in properties


def test_department_map_is_seeded(shared_lakehouse: Lakehouse):
    rows = {
        r["department"]: r["incentive_types"] for r in shared_lakehouse.read("approval_departments").collect()
    }
    assert set(rows) == {"trading", "finance", "creative", "marketing", "product", "solutions", "legal"}
    assert rows["creative"] == '["product-innovation"]'
    assert rows["finance"] == '["financial", "resources"]'


USER_COLUMNS = (
    "id, username, email, role, department, approval_level, first_name, last_name, is_active, "
    "external_id, source_event_id, created_at, updated_at"
)


def insert_user(lakehouse: Lakehouse, **overrides: object) -> None:
    values = {"id": 1, "username": "ann", "email": "ann@example.com", "role": "seller", "department": None}
    values.update(overrides)
    row = {**values, "approval_level": None, "first_name": "Ann", "last_name": "Lee", "is_active": True}
    df = lakehouse.spark.createDataFrame(
        [row],
        "id BIGINT, username STRING, email STRING, role STRING, department STRING, approval_level STRING, "
        "first_name STRING, last_name STRING, is_active BOOLEAN",
    )
    with lakehouse.temp_view(df) as view:
        lakehouse.sql(
            f"INSERT INTO {lakehouse.table_name('users')} ({USER_COLUMNS}) "
            f"SELECT id, username, email, role, department, approval_level, first_name, last_name, is_active, "
            f"NULL AS external_id, NULL AS source_event_id, current_timestamp() AS created_at, "
            f"current_timestamp() AS updated_at FROM {view}"
        ).collect()


def test_valid_row_is_accepted(lakehouse: Lakehouse):
    insert_user(lakehouse)
    assert lakehouse.read("users").count() == 1


def test_check_violation_is_refused_with_the_constraint_named(lakehouse: Lakehouse):
    with pytest.raises(Exception, match=r"CHECK constraint users_role_valid .*violated"):
        insert_user(lakehouse, role="superuser")
    with pytest.raises(Exception, match=r"users_department_valid"):
        insert_user(lakehouse, department="sales")
    assert lakehouse.read("users").count() == 0


def test_not_null_violation_is_refused_with_the_column_named(lakehouse: Lakehouse):
    with pytest.raises(Exception, match=r"NOT NULL constraint violated for column: email"):
        insert_user(lakehouse, email=None)
    assert lakehouse.read("users").count() == 0
