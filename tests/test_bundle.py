"""The asset bundle, offline: the CLI's schema, our own checks, and broken copies that must fail them."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dealdesk.cli.main import build_parser
from dealdesk.lakehouse.ddl import discover
from dealdesk.pipeline.read_models import KEYS
from dealdesk.pipeline.serve import TABLES
from tests.bundle_checks import (
    SAMPLE_USER,
    Bundle,
    entry_point_problems,
    grants_of,
    job_problems,
    key_problems,
    load_bundle,
    offline_problems,
    reference_problems,
    schema_file,
    schema_problems,
    serving_names,
    serving_problems,
    target_problems,
    target_values,
)
from tests.conftest import REPO

PYPROJECT = REPO / "pyproject.toml"


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return load_bundle(REPO)


def required_schema() -> Path:
    schema = schema_file()
    if schema is None:
        pytest.skip(
            "the Databricks CLI bundle schema is not available: set DEALDESK_BUNDLE_SCHEMA or place "
            "shared/databricks/bundle_jsonschema.json beside the checkout"
        )
    return schema


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Bundle:
    """A copy of the bundle with one exact piece of text replaced."""
    shutil.copy(REPO / "databricks.yml", tmp_path / "databricks.yml")
    shutil.copytree(REPO / "bundle", tmp_path / "bundle")
    path = tmp_path / file
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {file}"
    path.write_text(text.replace(old, new))
    return load_bundle(tmp_path)


def new_problems(check: Callable[[Bundle], list[str]], broken: Bundle) -> list[str]:
    """What a check says about a broken copy beyond what it says about the bundle as it is."""
    before = set(check(load_bundle(REPO)))
    return [problem for problem in check(broken) if problem not in before]


def entry_points(bundle: Bundle) -> list[str]:
    return entry_point_problems(bundle, PYPROJECT, build_parser)


# -- the real bundle ---------------------------------------------------------


def test_every_bundle_file_is_included_and_holds_one_resource(bundle: Bundle):
    on_disk = sorted(f"bundle/{p.name}" for p in (REPO / "bundle").glob("*.yml"))
    assert on_disk and sorted(name for name in bundle.files if name != "databricks.yml") == on_disk
    for name in on_disk:
        resources = bundle.files[name]["resources"]
        assert sum(len(group) for group in resources.values()) == 1, name


def test_bundle_validates_against_the_cli_schema(bundle: Bundle):
    assert schema_problems(bundle, required_schema()) == []


def test_bundle_passes_our_checks(bundle: Bundle):
    assert offline_problems(bundle, PYPROJECT, build_parser) == []


def test_test_and_prod_targets(bundle: Bundle):
    targets = bundle.main["targets"]
    assert bundle.main["bundle"]["databricks_cli_version"].startswith(">=")
    assert targets["dev"]["mode"] == "development"

    test = targets["test"]
    assert test["variables"]["schema"] == "deal_desk_test"
    assert test["presets"] == {"name_prefix": "[test] ", "trigger_pause_status": "PAUSED"}
    assert "mode" not in test  # shared: not a development copy per person
    # One fixed folder for everybody, the jobs' principal's home: not /Workspace/Shared, where every
    # workspace user could change the code that runs as the principal.
    assert test["workspace"]["root_path"] == (
        "/Workspace/Users/${var.service_principal_id}/.bundle/${bundle.name}/${bundle.target}"
    )
    assert test["permissions"] == [
        {"level": "CAN_MANAGE", "service_principal_name": "${var.service_principal_id}"},
        {"level": "CAN_MANAGE", "group_name": "${var.engineers_group}"},
        {"level": "CAN_VIEW", "group_name": "${var.readers_group}"},
    ]

    prod = targets["prod"]
    assert prod["mode"] == "production"
    assert prod["variables"] == {
        "schema": "deal_desk_prod",
        "service_principal_name": "svc-dealdesk-prod",
        "serving_project": "dealdesk-prod",
        "serving_min_cu": 2,
        "serving_max_cu": 8,
    }
    assert prod["workspace"]["root_path"].startswith("/Workspace/Users/${workspace.current_user.userName}/")
    assert bundle.main["run_as"] == {"service_principal_name": "${var.service_principal_id}"}
    variables = bundle.main["variables"]
    assert variables["service_principal_id"]["lookup"] == {
        "service_principal": "${var.service_principal_name}"
    }
    assert prod["permissions"] == [
        {"level": "CAN_MANAGE", "service_principal_name": "${var.service_principal_id}"},
        {"level": "CAN_VIEW", "group_name": "${var.readers_group}"},
    ]
    for name in ("catalog", "schema", "landing_volume", "warehouse_id", "failure_email"):
        assert name in variables


def test_no_literal_catalog_schema_host_or_email_in_resources(bundle: Bundle):
    for name in bundle.files:
        if name == "databricks.yml":
            continue
        text = (REPO / name).read_text()
        assert "@" not in text, name
        assert "https://" not in text, name
        keys = text.replace("deal_desk:", "").replace("deal_desk_dashboard:", "")
        assert "deal_desk" not in keys.replace("schemas.deal_desk.", ""), name
        assert not re.search(r"(catalog|schema)_name: *[^$ ]", text), name


def test_processing_job_runs_the_one_ordered_run_on_file_arrival(bundle: Bundle):
    _, job = bundle.jobs["processing"]
    tasks = {task["task_key"]: task for task in job["tasks"]}
    assert list(tasks) == ["run"]
    for task in tasks.values():
        parameters = task["python_wheel_task"]["parameters"]
        assert parameters[parameters.index("--engine") + 1] == "databricks"
        assert parameters[parameters.index("--schema") + 1] == "${resources.schemas.deal_desk.name}"
        assert task["max_retries"] >= 1 and task["timeout_seconds"] > 0
        assert task["python_wheel_task"]["parameters"][6] == task["task_key"]
    assert tasks["run"]["python_wheel_task"]["parameters"][-2:] == [
        "--landing",
        "${resources.volumes.landing.volume_path}",
    ]
    assert job["trigger"]["file_arrival"]["url"].startswith("${resources.volumes.landing.volume_path}")
    assert job["queue"] == {"enabled": True}

    _, scheduler = bundle.jobs["processing_schedule"]
    assert scheduler["tasks"][0]["run_job_task"] == {"job_id": "${resources.jobs.processing.id}"}
    assert scheduler["schedule"]["quartz_cron_expression"]


def test_monitoring_job_runs_monitor_hourly(bundle: Bundle):
    _, job = bundle.jobs["monitoring"]
    seconds, minutes, hours = job["schedule"]["quartz_cron_expression"].split()[:3]
    assert seconds.isdigit() and minutes.isdigit() and hours == "*"
    assert [t["python_wheel_task"]["parameters"][6] for t in job["tasks"]] == ["monitor"]


def test_migration_job_passes_every_ddl_parameter(bundle: Bundle):
    _, job = bundle.jobs["migration"]
    parameters = job["tasks"][0]["python_wheel_task"]["parameters"]
    assert parameters[6] == "migrate"
    passed = {value.split("=", 1)[0] for flag, value in itertools.pairwise(parameters) if flag == "--param"}
    needed = set().union(*(m.parameter_names for m in discover())) | {"analysts_group"}
    assert passed == needed


def test_resource_keys_are_unique_over_every_kind(bundle: Bundle):
    assert key_problems(bundle) == []
    _, dashboard = bundle.resources("dashboards")["deal_desk_dashboard"]
    assert dashboard["dataset_schema"] == "${resources.schemas.deal_desk.name}"


def test_schema_grants(bundle: Bundle):
    _, schema = bundle.resources("schemas")["deal_desk"]
    grants = {grant["principal"]: set(grant["privileges"]) for grant in schema["grants"]}
    assert grants["${var.engineers_group}"] == {"ALL_PRIVILEGES"}
    assert {"USE_SCHEMA", "SELECT", "MODIFY"} <= grants["${var.service_principal_id}"]
    assert grants["${var.analysts_group}"] == {"USE_SCHEMA"}  # SELECT only on the views, per view
    assert schema["name"] == "${var.schema}" and schema["catalog_name"] == "${var.catalog}"


APP = "${var.app_service_principal_id}"
SERVING_BRANCH = "${resources.postgres_projects.serving_project.id}/branches/production"
# The tables the app reads (docs/app.md), with the key each synced table upserts by.
APP_TABLES = {
    "app_deals": ("deals", ["deal_id"]),
    "app_approval_queue": ("approval_queue", ["approval_id"]),
    "app_deal_history": ("deal_history", ["entry_id"]),
    "app_document_outcomes": ("document_outcomes", ["event_id"]),
    "app_inbox": ("inbox", ["notification_id"]),
}
# The Databricks-only DDL that turns the change feed on and grants the read models (093, 099).
CHANGE_FEED_DDL = [REPO / "ddl" / "093_serving_change_feed.databricks.sql",
                   REPO / "ddl" / "099_notifications_keys_serving.databricks.sql"]  # fmt: skip


def synced_tables(bundle: Bundle) -> dict[str, tuple[str, dict]]:
    """Read model -> (resource key, definition) of the synced table that follows it."""
    return {
        definition["source_table_full_name"].rsplit(".", 1)[1]: (key, definition)
        for key, (_, definition) in bundle.resources("postgres_synced_tables").items()
    }


def test_every_read_model_is_synced_to_the_serving_database_with_its_key(bundle: Bundle):
    synced = synced_tables(bundle)
    assert set(synced) == set(KEYS)  # the five the app reads, and app_people for row-level security
    assert {model: (TABLES[model][0], KEYS[model]) for model in APP_TABLES} == APP_TABLES
    for model, (key, definition) in synced.items():
        table = TABLES[model][0]
        assert key == f"serving_{table}"
        assert definition["source_table_full_name"] == (
            f"${{var.catalog}}.${{resources.schemas.deal_desk.name}}.{model}"
        )
        assert definition["primary_key_columns"] == KEYS[model]
        # Postgres: database dealdesk, schema app, of the project's production branch.
        assert definition["synced_table_id"] == (
            f"${{resources.postgres_catalogs.serving_catalog.catalog_id}}.app.{table}"
        )
        assert definition["branch"] == SERVING_BRANCH
        assert definition["postgres_database"] == (
            "${resources.postgres_catalogs.serving_catalog.postgres_database}"
        )
        assert definition["create_database_objects_if_missing"] is True
        # The pipelines' checkpoints stay out of the schema whose every table maintain and backup visit.
        assert definition["new_pipeline_spec"] == {
            "storage_catalog": "${resources.schemas.serving_sync.catalog_name}",
            "storage_schema": "${resources.schemas.serving_sync.name}",
        }
    _, catalog = bundle.resources("postgres_catalogs")["serving_catalog"]
    assert catalog["branch"] == SERVING_BRANCH and catalog["postgres_database"] == "dealdesk"
    _, sync_schema = bundle.resources("schemas")["serving_sync"]
    assert sync_schema["name"] != bundle.resources("schemas")["deal_desk"][1]["name"]


def test_the_synced_tables_follow_the_change_feed_continuously_in_every_target(bundle: Bundle):
    policies = {d["scheduling_policy"] for _, d in synced_tables(bundle).values()}
    assert policies == {"${var.serving_sync_policy}"}
    for target in bundle.main["targets"]:
        assert target_values(bundle, target)["serving_sync_policy"] == "CONTINUOUS", target
    # Continuous (and triggered) sync reads the source's change data feed: on for every read model.
    change_feed = "".join(path.read_text() for path in CHANGE_FEED_DDL)
    for model in synced_tables(bundle):
        statement = f"ALTER TABLE ${{catalog}}.${{schema}}.{model} SET TBLPROPERTIES"
        assert f"{statement} ('delta.enableChangeDataFeed' = 'true');" in change_feed, model


def test_every_target_has_its_own_serving_project_and_catalog(bundle: Bundle):
    assert serving_problems(bundle) == []
    names = {t: serving_names(bundle, t) for t in bundle.main["targets"]}
    assert {t: (n["project_id"], n["catalog"]) for t, n in names.items()} == {
        "dev": ("dealdesk-dev-first-last", "deal_desk_dev_first_last_serving"),  # SAMPLE_USER's copy
        "test": ("dealdesk-test", "deal_desk_test_serving"),
        "prod": ("dealdesk-prod", "deal_desk_prod_serving"),
    }
    # The CLI's short_name keeps underscores, which a project id may not hold.
    assert SAMPLE_USER["workspace.current_user.short_name"] == "first_last"
    _, project = bundle.resources("postgres_projects")["serving_project"]
    assert project["project_id"] == "${var.serving_project}"
    assert "${bundle.target}" in project["display_name"]


def test_serving_compute_is_small_outside_prod(bundle: Bundle):
    names = {t: serving_names(bundle, t) for t in bundle.main["targets"]}
    sizes = {t: (n["min_cu"], n["max_cu"]) for t, n in names.items()}
    assert sizes == {"dev": (1.0, 2.0), "test": (1.0, 2.0), "prod": (2.0, 8.0)}
    # The bundle sizes the branch's read-write endpoint itself, and new endpoints by the same numbers.
    _, endpoint = bundle.resources("postgres_endpoints")["serving_endpoint"]
    assert endpoint["parent"] == SERVING_BRANCH
    assert (endpoint["endpoint_id"], endpoint["endpoint_type"], endpoint["replace_existing"]) == (
        "primary",
        "ENDPOINT_TYPE_READ_WRITE",
        True,
    )
    _, project = bundle.resources("postgres_projects")["serving_project"]
    limits = ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu")
    expected = ["${var.serving_min_cu}", "${var.serving_max_cu}"]
    assert (
        [endpoint[k] for k in limits] == [project["default_endpoint_settings"][k] for k in limits] == expected
    )


def test_the_app_may_write_its_landing_volume_and_use_the_serving_database_and_nothing_else(bundle: Bundle):
    assert grants_of(bundle, APP) == [
        ("postgres_projects", "serving_project", "CAN_USE"),  # connect with an OAuth token of its own
        ("schemas", "deal_desk", "USE_SCHEMA"),  # to reach the volume: no table, no view
        ("volumes", "landing", "READ_VOLUME"),
        ("volumes", "landing", "WRITE_VOLUME"),
    ]
    # Its Postgres login: an OAuth role of its own with no attribute (no BYPASSRLS) and no
    # membership (not databricks_superuser); what it reads is the serving setup's SELECT on schema app.
    _, role = bundle.resources("postgres_roles")["serving_app_role"]
    assert role == {
        "parent": SERVING_BRANCH,
        "role_id": "dealdesk-app",
        "postgres_role": APP,
        "identity_type": "SERVICE_PRINCIPAL",
        "auth_method": "LAKEBASE_OAUTH_V1",
    }


def test_the_analysts_read_the_read_models_on_the_warehouse_and_not_the_serving_database(bundle: Bundle):
    analysts = "${var.analysts_group}"
    assert grants_of(bundle, analysts) == [
        ("dashboards", "deal_desk_dashboard", "CAN_RUN"),
        ("schemas", "deal_desk", "USE_SCHEMA"),  # SELECT per view and per read model, by the DDL
    ]
    change_feed = "".join(path.read_text() for path in CHANGE_FEED_DDL)
    for model in KEYS:
        assert f"GRANT SELECT ON TABLE ${{catalog}}.${{schema}}.{model} TO ${{param:analysts_group}};" in (
            change_feed
        )


# -- broken copies -----------------------------------------------------------


def test_unknown_field_in_a_job_fails_the_schema(tmp_path: Path):
    schema = required_schema()
    broken = broken_copy(
        tmp_path,
        "bundle/monitoring_job.yml",
        "      max_concurrent_runs: 1\n",
        "      max_concurrent_runs: 1\n      retry_forever: true\n",
    )
    problems = schema_problems(broken, schema)
    assert any(
        p.startswith("bundle/monitoring_job.yml: $.resources.jobs.monitoring:") and "'retry_forever'" in p
        for p in problems
    ), problems


def test_misspelled_task_field_fails_the_schema(tmp_path: Path):
    schema = required_schema()
    broken = broken_copy(tmp_path, "bundle/migration_job.yml", "package_name: dealdesk", "package: dealdesk")
    problems = schema_problems(broken, schema)
    assert any("migration_job.yml" in p and "python_wheel_task" in p for p in problems), problems


def test_undeclared_variable_is_reported(tmp_path: Path):
    broken = broken_copy(tmp_path, "bundle/landing_volume.yml", "${var.landing_volume}", "${var.nope}")
    assert reference_problems(broken) == [
        "bundle/landing_volume.yml: resources.volumes.landing.name: variable 'var.nope' is not declared"
    ]


def test_variable_set_by_a_target_but_not_declared_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path,
        "databricks.yml",
        "      schema: deal_desk_prod\n",
        "      schema: deal_desk_prod\n      shema: typo\n",
    )
    assert reference_problems(broken) == ["targets.prod.variables.shema: not declared in variables"]


def test_reference_to_a_missing_resource_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/processing_schedule_job.yml", "jobs.processing.id", "jobs.procesing.id"
    )
    assert reference_problems(broken) == [
        "bundle/processing_schedule_job.yml: resources.jobs.processing_schedule.tasks[0].run_job_task.job_id: "
        "'resources.jobs.procesing.id' names no resource of the bundle"
    ]


def test_missing_entry_point_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/migration_job.yml", "entry_point: dealdesk", "entry_point: deal-desk"
    )
    assert new_problems(entry_points, broken) == [
        "bundle/migration_job.yml: jobs.migration.migrate: entry point 'deal-desk' is not in "
        "[project.scripts] (dealdesk)"
    ]


def test_missing_subcommand_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/migration_job.yml", "              - migrate\n", "              - migrat\n"
    )
    assert new_problems(entry_points, broken) == [
        "bundle/migration_job.yml: jobs.migration.migrate: 'migrat' is not a subcommand of dealdesk"
    ]


def test_option_the_subcommand_does_not_take_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path,
        "bundle/migration_job.yml",
        "              - --param\n              - job_",
        "              - --parameter\n              - job_",
    )
    problems = new_problems(entry_points, broken)
    assert len(problems) == 1 and "unrecognized arguments: --parameter" in problems[0], problems


def test_unknown_target_mode_is_reported(tmp_path: Path):
    broken = broken_copy(tmp_path, "databricks.yml", "    mode: production\n", "    mode: prod\n")
    assert target_problems(broken) == ["targets.prod.mode: 'prod' is not one of development, production"]


def test_production_without_root_path_is_reported(tmp_path: Path):
    text = (REPO / "databricks.yml").read_text()
    root_path = re.search(r"\n      root_path: /Workspace/Users/\$\{workspace\.current_user[^\n]*", text)
    assert root_path is not None
    broken = broken_copy(tmp_path, "databricks.yml", root_path[0], "\n      host_hint: none")
    assert "targets.prod: production mode needs an explicit workspace.root_path" in target_problems(broken)


def test_resource_key_used_by_two_kinds_is_reported(tmp_path: Path):
    broken = broken_copy(tmp_path, "bundle/dashboard.yml", "    deal_desk_dashboard:\n", "    deal_desk:\n")
    assert key_problems(broken) == [
        "resource key 'deal_desk' is defined more than once: resources.dashboards.deal_desk in "
        "bundle/dashboard.yml, resources.schemas.deal_desk in bundle/schema.yml"
    ]


def test_shared_root_path_is_reported_unless_granted_to_all_users(tmp_path: Path):
    shared = "/Workspace/Shared/.bundle/${bundle.name}/${bundle.target}"
    broken = broken_copy(
        tmp_path,
        "databricks.yml",
        "root_path: /Workspace/Users/${var.service_principal_id}/.bundle/${bundle.name}/${bundle.target}",
        f"root_path: {shared}",
    )
    assert target_problems(broken) == [
        f"targets.test.workspace.root_path: {shared} is writable by all workspace users"
    ]
    broken.main["targets"]["test"]["permissions"].append({"level": "CAN_MANAGE", "group_name": "users"})
    assert target_problems(broken) == []  # deliberate: the CLI accepts it too


def test_job_without_failure_email_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/monitoring_job.yml", "        on_failure:\n          - ${var.failure_email}\n", ""
    )
    assert job_problems(broken) == [
        "bundle/monitoring_job.yml: jobs.monitoring: no email_notifications.on_failure"
    ]


def test_job_with_a_schedule_and_a_trigger_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path,
        "bundle/processing_job.yml",
        "      trigger:\n",
        "      schedule:\n        quartz_cron_expression: '0 0 * * * ?'\n"
        "        timezone_id: UTC\n      trigger:\n",
    )
    assert job_problems(broken) == [
        "bundle/processing_job.yml: jobs.processing: a job takes one of schedule, trigger, not several"
    ]


def test_task_on_a_cluster_or_without_the_wheel_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/monitoring_job.yml", "              - ../dist/*.whl\n", "              - requests\n"
    )
    broken.files["bundle/monitoring_job.yml"]["resources"]["jobs"]["monitoring"]["tasks"][0][
        "new_cluster"
    ] = {"num_workers": 1}
    assert job_problems(broken) == [
        "bundle/monitoring_job.yml: jobs.monitoring.monitor: runs on a cluster; our jobs run on serverless compute",
        "bundle/monitoring_job.yml: jobs.monitoring.monitor: its environment does not install the wheel",
    ]


def test_backup_job_runs_backup_daily_into_its_own_schema(bundle: Bundle):
    _, job = bundle.jobs["backup"]
    parameters = job["tasks"][0]["python_wheel_task"]["parameters"]
    assert parameters[6:] == ["backup", "--keep", "7"]
    hours, day_of_month = job["schedule"]["quartz_cron_expression"].split()[2:4]
    assert hours.isdigit() and day_of_month == "*"  # once a day
    _, schema = bundle.resources("schemas")["backups"]
    assert schema["name"] == "${var.schema}_backup" and schema["catalog_name"] == "${var.catalog}"
    grants = {grant["principal"]: set(grant["privileges"]) for grant in schema["grants"]}
    assert {"CREATE_TABLE", "MODIFY", "SELECT"} <= grants["${var.service_principal_id}"]
    assert "${var.analysts_group}" not in grants  # restore points hold unmasked data


def test_maintenance_job_optimizes_and_vacuums_weekly(bundle: Bundle):
    _, job = bundle.jobs["maintenance"]
    assert [t["python_wheel_task"]["parameters"][6:] for t in job["tasks"]] == [["maintain"]]
    day_of_week = job["schedule"]["quartz_cron_expression"].split()[5]
    assert day_of_week == "SUN"


def test_a_dev_project_named_by_the_short_name_is_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "databricks.yml", "dealdesk-dev-${workspace.current_user.domain_friendly_name}",
        "dealdesk-dev-${workspace.current_user.short_name}",
    )  # fmt: skip
    assert serving_problems(broken) == [
        "targets.dev: serving project id 'dealdesk-dev-first_last' is not a lower-case letter followed by "
        "lower-case letters, digits and hyphens (63 at most)"
    ]


def test_two_targets_on_one_serving_project_are_reported(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "databricks.yml", "serving_project: dealdesk-test", "serving_project: dealdesk-prod"
    )
    assert serving_problems(broken) == ["targets.prod: serving project_id 'dealdesk-prod' is also test's"]


def test_a_serving_compute_lakebase_refuses_is_reported(tmp_path: Path):
    broken = broken_copy(tmp_path, "databricks.yml", "serving_max_cu: 8", "serving_max_cu: 32")
    assert serving_problems(broken) == [
        "targets.prod: serving compute of 2.0-32.0 CU (0.5 at least, max - min at most 16)"
    ]


def test_a_grant_to_the_app_anywhere_is_caught(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "bundle/serving_sync_schema.yml", "      grants:\n",
        "      grants:\n        - principal: ${var.app_service_principal_id}\n          privileges:\n"
        "            - SELECT\n",
    )  # fmt: skip
    assert ("schemas", "serving_sync", "SELECT") in grants_of(broken, APP)


def test_a_target_permission_for_the_app_is_caught(tmp_path: Path):
    broken = broken_copy(
        tmp_path, "databricks.yml", "      - level: CAN_MANAGE\n        group_name: ${var.engineers_group}\n",
        "      - level: CAN_MANAGE\n        service_principal_name: ${var.app_service_principal_id}\n",
    )  # fmt: skip
    assert ("targets", "test", "CAN_MANAGE") in grants_of(broken, APP)
