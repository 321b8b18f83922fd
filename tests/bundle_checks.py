"""Offline checks of the Databricks asset bundle, each returning a list of problems (empty: fine).

The CLI's JSON schema catches unknown fields and wrong types; the other checks cover what it
leaves loose: target modes and root paths, resource keys, the wheel entry points and CLI
subcommands the jobs call, variables and resource references, and the settings every job of ours
must have. tests/test_bundle_cli.py runs the Databricks CLI's own `bundle validate` as well.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REFERENCE = re.compile(r"\$\{([^}]+)\}")
TARGET_MODES = ("development", "production")
TRIGGER_FIELDS = ("schedule", "trigger", "continuous")
SHARED_ROOTS = ("/Workspace/Shared/", "/Shared/")
SCHEMA_ENV = "DEALDESK_BUNDLE_SCHEMA"


@dataclass(frozen=True)
class Bundle:
    root: Path
    files: dict[str, dict[str, Any]]  # relative path -> parsed YAML

    @property
    def main(self) -> dict[str, Any]:
        return self.files["databricks.yml"]

    def resources(self, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """Resources of one kind over every file: key -> (file, definition)."""
        found = {}
        for name, content in self.files.items():
            for key, definition in ((content.get("resources") or {}).get(kind) or {}).items():
                found[key] = (name, definition or {})
        return found

    @property
    def jobs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return self.resources("jobs")


def load_bundle(root: Path) -> Bundle:
    """databricks.yml and every file its include patterns match."""
    main = yaml.safe_load((root / "databricks.yml").read_text()) or {}
    files = {"databricks.yml": main}
    for pattern in main.get("include") or []:
        for path in sorted(root.glob(pattern)):
            files[path.relative_to(root).as_posix()] = yaml.safe_load(path.read_text()) or {}
    return Bundle(root, files)


def schema_file() -> Path | None:
    """The CLI's bundle schema: $DEALDESK_BUNDLE_SCHEMA, else shared/databricks/ beside the checkout."""
    if os.environ.get(SCHEMA_ENV):
        path = Path(os.environ[SCHEMA_ENV])
        return path if path.is_file() else None
    path = Path(__file__).resolve().parents[2] / "shared" / "databricks" / "bundle_jsonschema.json"
    return path if path.is_file() else None


def schema_problems(bundle: Bundle, schema: Path) -> list[str]:
    """Validate every file with check-jsonschema (its regex engine handles the schema's \\p{L})."""
    paths = [str(bundle.root / name) for name in bundle.files]
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), "-o", "json", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"check-jsonschema did not run: {result.stderr.strip() or result.stdout.strip()}"]
    problems = []
    for error in report.get("errors", []):
        detail = error.get("best_deep_match") or error
        name = Path(error["filename"]).relative_to(bundle.root).as_posix()
        problems.append(f"{name}: {detail['path']}: {detail['message']}")
    problems += [f"{e.get('filename')}: {e.get('message')}" for e in report.get("parse_errors", [])]
    if result.returncode != 0 and not problems:
        problems.append(f"check-jsonschema failed: {result.stderr.strip()}")
    return problems


def target_problems(bundle: Bundle) -> list[str]:
    """Modes the CLI accepts, one default target, what production mode needs to deploy, and no
    root path under /Workspace/Shared (writable by every workspace user) unless that is granted
    explicitly (CAN_MANAGE for the group users), as the CLI warns."""
    targets = bundle.main.get("targets") or {}
    problems = []
    if not targets:
        problems.append("databricks.yml: no targets")
    defaults = [name for name, target in targets.items() if (target or {}).get("default")]
    if len(defaults) != 1:
        problems.append(f"databricks.yml: exactly one target must be the default, found {defaults}")
    for name, target in targets.items():
        target = target or {}
        mode = target.get("mode")
        if mode is not None and mode not in TARGET_MODES:
            problems.append(f"targets.{name}.mode: '{mode}' is not one of {', '.join(TARGET_MODES)}")
        if mode == "production":
            if not (target.get("workspace") or {}).get("root_path"):
                problems.append(f"targets.{name}: production mode needs an explicit workspace.root_path")
            if not (target.get("run_as") or bundle.main.get("run_as")):
                problems.append(f"targets.{name}: production mode needs run_as")
            if not target.get("permissions"):
                problems.append(f"targets.{name}: production mode needs permissions")
        root_path = (target.get("workspace") or {}).get("root_path") or (
            bundle.main.get("workspace") or {}
        ).get("root_path")
        permissions = [*(bundle.main.get("permissions") or []), *(target.get("permissions") or [])]
        if (
            root_path
            and root_path.startswith(SHARED_ROOTS)
            and {"level": "CAN_MANAGE", "group_name": "users"} not in permissions
        ):
            # The CLI's warning: every workspace user may change what the jobs run there.
            problems.append(
                f"targets.{name}.workspace.root_path: {root_path} is writable by all workspace users"
            )
    return problems


def key_problems(bundle: Bundle) -> list[str]:
    """Resource keys are one namespace over every kind: the CLI refuses a key defined twice
    (say a schema and a dashboard both called deal_desk), which the JSON schema cannot see."""
    defined: dict[str, list[str]] = {}
    for name, content in bundle.files.items():
        for kind, group in (content.get("resources") or {}).items():
            for key in group or {}:
                defined.setdefault(key, []).append(f"resources.{kind}.{key} in {name}")
    return [
        f"resource key '{key}' is defined more than once: {', '.join(places)}"
        for key, places in defined.items()
        if len(places) > 1
    ]


def _walk_strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_strings(value, f"{path}[{index}]")


def reference_problems(bundle: Bundle) -> list[str]:
    """Every ${var.X} is declared, every variable a target sets is declared, every ${resources...} exists."""
    declared = set((bundle.main.get("variables") or {}).keys())
    problems = []
    for name, content in bundle.files.items():
        for path, text in _walk_strings(content, ""):
            for reference in REFERENCE.findall(text):
                parts = reference.split(".")
                if parts[0] == "var" and (len(parts) < 2 or parts[1] not in declared):
                    problems.append(f"{name}: {path}: variable '{reference}' is not declared")
                if parts[0] == "resources" and (len(parts) < 3 or parts[2] not in bundle.resources(parts[1])):
                    problems.append(f"{name}: {path}: '{reference}' names no resource of the bundle")
    for target_name, target in (bundle.main.get("targets") or {}).items():
        for variable in (target or {}).get("variables") or {}:
            if variable not in declared:
                problems.append(f"targets.{target_name}.variables.{variable}: not declared in variables")
    return problems


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _subcommand_of(parser: argparse.ArgumentParser, parameters: list[str]) -> str | None:
    """The first positional argument after the global options (those with a value skip it)."""
    options = parser._option_string_actions
    tokens = iter(parameters)
    for token in tokens:
        if token.startswith("-"):
            action = options.get(token.split("=", 1)[0])
            if action is not None and action.nargs != 0 and "=" not in token:
                next(tokens, None)
            continue
        return token
    return None


def _parse_error(parser: argparse.ArgumentParser, parameters: list[str]) -> str | None:
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(parameters)
    except SystemExit:
        lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
        return lines[-1] if lines else "the arguments do not parse"
    return None


def entry_point_problems(
    bundle: Bundle, pyproject: Path, make_parser: Callable[[], argparse.ArgumentParser]
) -> list[str]:
    """Each python_wheel_task names our package and a [project.scripts] entry point, and its
    parameters are a subcommand the CLI has, with arguments its parser accepts."""
    project = tomllib.loads(pyproject.read_text())["project"]
    package = project["name"].replace("-", "_")
    scripts = project.get("scripts") or {}
    problems = []
    for key, (name, job) in bundle.jobs.items():
        for task in job.get("tasks") or []:
            wheel = task.get("python_wheel_task")
            if not wheel:
                continue
            where = f"{name}: jobs.{key}.{task.get('task_key')}"
            if wheel.get("package_name") != package:
                problems.append(f"{where}: package_name '{wheel.get('package_name')}' is not '{package}'")
            if wheel.get("entry_point") not in scripts:
                problems.append(
                    f"{where}: entry point '{wheel.get('entry_point')}' is not in [project.scripts] "
                    f"({', '.join(sorted(scripts))})"
                )
                continue
            parser = make_parser()
            parameters = [str(p) for p in wheel.get("parameters") or []]
            subcommand = _subcommand_of(parser, parameters)
            if subcommand not in _subcommands(parser):
                problems.append(f"{where}: '{subcommand}' is not a subcommand of {wheel['entry_point']}")
                continue
            error = _parse_error(parser, parameters)
            if error:
                problems.append(f"{where}: {wheel['entry_point']} {' '.join(parameters)}: {error}")
    return problems


def job_problems(bundle: Bundle) -> list[str]:
    """Our rules for every job: one run at a time, a timeout, failure e-mails, at most one of
    schedule/trigger/continuous (the Jobs API takes one), serverless tasks whose environment
    installs the wheel, and dependencies on tasks that exist."""
    problems = []
    for key, (name, job) in bundle.jobs.items():
        where = f"{name}: jobs.{key}"
        if job.get("max_concurrent_runs") != 1:
            problems.append(f"{where}: max_concurrent_runs must be 1")
        if not job.get("timeout_seconds"):
            problems.append(f"{where}: no timeout_seconds")
        if not ((job.get("email_notifications") or {}).get("on_failure")):
            problems.append(f"{where}: no email_notifications.on_failure")
        triggers = [field for field in TRIGGER_FIELDS if job.get(field)]
        if len(triggers) > 1:
            problems.append(f"{where}: a job takes one of {', '.join(triggers)}, not several")
        environments = {
            env.get("environment_key"): env.get("spec") or {} for env in job.get("environments") or []
        }
        tasks = job.get("tasks") or []
        task_keys = {task.get("task_key") for task in tasks}
        for task in tasks:
            task_where = f"{where}.{task.get('task_key')}"
            if any(task.get(field) for field in ("new_cluster", "job_cluster_key", "existing_cluster_id")):
                problems.append(f"{task_where}: runs on a cluster; our jobs run on serverless compute")
            if task.get("python_wheel_task"):
                spec = environments.get(task.get("environment_key"))
                if spec is None:
                    problems.append(
                        f"{task_where}: environment '{task.get('environment_key')}' is not declared"
                    )
                elif not any(str(dep).endswith(".whl") for dep in spec.get("dependencies") or []):
                    problems.append(f"{task_where}: its environment does not install the wheel")
            for dependency in task.get("depends_on") or []:
                if dependency.get("task_key") not in task_keys:
                    problems.append(f"{task_where}: depends on unknown task '{dependency.get('task_key')}'")
    return problems


def offline_problems(
    bundle: Bundle, pyproject: Path, make_parser: Callable[[], argparse.ArgumentParser]
) -> list[str]:
    """Every check but the schema validation (which needs the CLI's schema file)."""
    return [
        *target_problems(bundle),
        *key_problems(bundle),
        *reference_problems(bundle),
        *entry_point_problems(bundle, pyproject, make_parser),
        *job_problems(bundle),
    ]


# -- the serving database (Lakebase) ------------------------------------------

# A Lakebase project id: a lower-case letter, then lower-case letters, digits and hyphens, 63 at most.
POSTGRES_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
# What the CLI fills in for a user first.last@example.com (short_name keeps underscores,
# domain_friendly_name takes hyphens instead).
SAMPLE_USER = {
    "workspace.current_user.userName": "first.last@example.com",
    "workspace.current_user.short_name": "first_last",
    "workspace.current_user.domain_friendly_name": "first-last",
}
MAX_CU_SPREAD = 16  # Lakebase: max - min compute units of an endpoint


def target_values(bundle: Bundle, target: str) -> dict[str, str]:
    """Every variable of a target as the CLI would resolve it for SAMPLE_USER: the target's value,
    else the default; a lookup or a value the deployer passes stays a placeholder."""
    declared = bundle.main.get("variables") or {}
    overrides = ((bundle.main.get("targets") or {}).get(target) or {}).get("variables") or {}
    raw = {}
    for name, variable in declared.items():
        variable = variable or {}
        if name in overrides:
            raw[name] = str(overrides[name])
        elif "default" in variable:
            raw[name] = str(variable["default"])
        else:
            raw[name] = f"<{'lookup' if 'lookup' in variable else 'passed'}:{name}>"
    known = {**SAMPLE_USER, "bundle.target": target, **{f"var.{k}": v for k, v in raw.items()}}
    return {name: resolve(value, known) for name, value in raw.items()}


def resolve(text: str, known: dict[str, str]) -> str:
    """``text`` with every ${...} that ``known`` names filled in (references to resources stay)."""
    for _ in range(10):  # variables may name variables
        filled = REFERENCE.sub(lambda m: known.get(m[1], m[0]), text)
        if filled == text:
            return filled
        text = filled
    return text


def serving_names(bundle: Bundle, target: str) -> dict[str, Any]:
    """The serving database's names and size in a target: project id, catalog, compute units."""
    values = target_values(bundle, target)
    known = {f"var.{k}": v for k, v in values.items()}
    _, project = bundle.resources("postgres_projects")["serving_project"]
    _, catalog = bundle.resources("postgres_catalogs")["serving_catalog"]
    _, endpoint = bundle.resources("postgres_endpoints")["serving_endpoint"]
    return {
        "project_id": resolve(project["project_id"], known),
        "catalog": resolve(catalog["catalog_id"], known),
        "min_cu": float(resolve(str(endpoint["autoscaling_limit_min_cu"]), known)),
        "max_cu": float(resolve(str(endpoint["autoscaling_limit_max_cu"]), known)),
    }


def serving_problems(bundle: Bundle) -> list[str]:
    """Per target: a project id Lakebase accepts, a size it accepts, and names no other target has."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for target in bundle.main.get("targets") or {}:
        names = serving_names(bundle, target)
        if not POSTGRES_PROJECT_ID.fullmatch(names["project_id"]):
            problems.append(
                f"targets.{target}: serving project id '{names['project_id']}' is not a lower-case letter "
                "followed by lower-case letters, digits and hyphens (63 at most)"
            )
        low, high = names["min_cu"], names["max_cu"]
        if not (0.5 <= low <= high and high - low <= MAX_CU_SPREAD):
            problems.append(
                f"targets.{target}: serving compute of {low}-{high} CU (0.5 at least, max - min at most "
                f"{MAX_CU_SPREAD})"
            )
        for kind in ("project_id", "catalog"):
            other = seen.setdefault((kind, names[kind]), target)
            if other != target:
                problems.append(f"targets.{target}: serving {kind} '{names[kind]}' is also {other}'s")
    return problems


def _grantee(permission: dict[str, Any]) -> str | None:
    fields = ("service_principal_name", "user_name", "group_name")
    return next((permission[f] for f in fields if permission.get(f)), None)


def grants_of(bundle: Bundle, principal: str) -> list[tuple[str, str, str]]:
    """Everything the bundle gives one principal, as (kind, key, privilege or level): Unity Catalog
    grants and permissions of every resource, and the targets' permissions (which reach every
    resource that takes permissions)."""
    found = []
    for content in bundle.files.values():
        for kind, group in (content.get("resources") or {}).items():
            for key, definition in (group or {}).items():
                definition = definition or {}
                for grant in definition.get("grants") or []:
                    if grant.get("principal") == principal:
                        found += [(kind, key, p) for p in grant.get("privileges") or []]
                for permission in definition.get("permissions") or []:
                    if _grantee(permission) == principal:
                        found.append((kind, key, permission["level"]))
    shared = bundle.main.get("permissions") or []
    for target, settings in (bundle.main.get("targets") or {}).items():
        for permission in [*shared, *((settings or {}).get("permissions") or [])]:
            if _grantee(permission) == principal:
                found.append(("targets", target, permission["level"]))
    return sorted(found)
