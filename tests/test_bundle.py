"""The asset bundle, offline: the CLI's schema, our own checks, and broken copies that must fail them."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dealdesk.cli import build_parser
from dealdesk.migrations import discover
from dealdesk.serving.read_models import KEYS
from dealdesk.serving.sync import TABLES
from tests.bundle_checks import (
    Bundle,
    entry_point_problems,
    job_problems,
    key_problems,
    load_bundle,
    offline_problems,
    reference_problems,
    schema_file,
    schema_problems,
    target_problems,
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
        "serving_instance": "dealdesk-prod",
        "serving_capacity": "CU_2",
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


def test_every_read_model_is_synced_to_the_serving_database_with_its_key(bundle: Bundle):
    synced = {
        d["spec"]["source_table_full_name"].rsplit(".", 1)[1]: d
        for _, d in bundle.resources("synced_database_tables").values()
    }
    assert set(synced) == set(KEYS)
    for model, definition in synced.items():
        assert definition["spec"]["primary_key_columns"] == KEYS[model]
        assert (
            definition["spec"]["source_table_full_name"]
            == f"${{var.catalog}}.${{resources.schemas.deal_desk.name}}.{model}"
        )
        assert (
            definition["name"]
            == f"${{resources.database_catalogs.serving_catalog.name}}.app.{TABLES[model][0]}"
        )
        assert definition["spec"]["scheduling_policy"] == "CONTINUOUS"
    change_feed = (REPO / "ddl" / "093_serving_change_feed.databricks.sql").read_text()
    assert all(
        f".{model} SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')" in change_feed for model in KEYS
    )


def test_the_app_may_write_its_landing_volume_and_use_the_serving_database_and_nothing_else(bundle: Bundle):
    app = "${var.app_service_principal_id}"
    granted = []
    for kind in ("schemas", "volumes", "catalogs", "registered_models"):
        for key, (_, definition) in bundle.resources(kind).items():
            granted += [
                (kind, key, p)
                for g in definition.get("grants") or []
                if g["principal"] == app
                for p in g["privileges"]
            ]
    for kind in ("database_instances", "jobs", "dashboards"):
        for key, (_, definition) in bundle.resources(kind).items():
            granted += [(kind, key, p["level"]) for p in definition.get("permissions") or []
                        if app in (p.get("service_principal_name"), p.get("user_name"), p.get("group_name"))]  # fmt: skip
    assert sorted(granted) == [
        ("database_instances", "serving_instance", "CAN_USE"),
        ("schemas", "deal_desk", "USE_SCHEMA"),
        ("volumes", "landing", "READ_VOLUME"),
        ("volumes", "landing", "WRITE_VOLUME"),
    ]


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
