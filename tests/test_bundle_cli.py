"""The Databricks CLI's own `bundle validate`, for every target, against a loopback stub of the workspace.

The CLI finds what the JSON schema cannot: a resource key defined twice (keys are one namespace over
every kind), unresolved references, required variables, the root-path and permission warnings.

The CLI: $DATABRICKS_CLI, else shared/tools/databricks beside the checkout, else `databricks` on the
PATH; the stub: shared/tools/databricks_stub.py beside the checkout (it answers the few workspace calls
validate makes). Without either the tests are skipped, with the reason.

--strict: a development build of the CLI (its version ends in -dev) warns that it ignores the bundle's
databricks_cli_version constraint, and --strict turns that warning into an error. So a development
build runs without --strict and the tests accept that one warning and nothing else: no error, no other
warning. A release build runs with --strict and may not warn at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

CLI_ENV = "DATABRICKS_CLI"
SHARED_TOOLS = REPO.parent / "shared" / "tools"
STUB = SHARED_TOOLS / "databricks_stub.py"
# What validate reads: the bundle, the files its resources name, the wheel's project file.
# It builds no artifact (the tests check that no dist/ appears).
BUNDLE_PATHS = ("databricks.yml", "bundle", "dashboards", "notebooks", "pyproject.toml", "README.md")
MAIN = yaml.safe_load((REPO / "databricks.yml").read_text())
TARGETS = list(MAIN["targets"])
# Values a deployer must give (docs/deploy.md, "Prerequisites"): variables without default or lookup.
PLACEHOLDERS = {
    "failure_email": "dealdesk-alerts@example.com",
    "desk_admins_email": "dealdesk-admins@example.com",
    "app_service_principal_id": "00000000-0000-0000-0000-0000000000ab",  # another principal than the stub's
}
# Anything that is not the loopback stub goes to a closed port.
DEAD_PROXY = "http://127.0.0.1:9"
# Credentials the SDK would also pick up (and then refuse two auth methods, or reach elsewhere).
FOREIGN_ENV = ("DATABRICKS_", "BUNDLE_VAR_", "ARM_", "AZURE_", "GOOGLE_", "XDG_")

DIAGNOSTIC = re.compile(r"^(Error|Warning|Recommendation): (.*)$", re.MULTILINE)
LOG_WARNING = re.compile(r"^Warn: (.*)$", re.MULTILINE)
VERSION_NOTE = re.compile(
    r"Ignoring Databricks CLI version constraint for development build\. Required: (.+), current: (.+)"
)
# The stub's user is not the identity that deploys test and prod (their service principals).
IDENTITY_NOTE = re.compile(
    r"permissions section should explicitly include the current deployment identity '([^']+)' "
    r"or one of its groups"
)
# The stub answers 404 for the host metadata the CLI probes first; the CLI goes on without it.
HOST_METADATA_LOG = re.compile(r"\[hostmetadata\] failed to fetch host metadata for http://127\.0\.0\.1:\d+")
COUNTS = re.compile(r"(\d+) (error|warning|recommendation)s?")


@dataclass(frozen=True)
class Cli:
    path: str
    version: str

    @property
    def development_build(self) -> bool:
        return "-dev" in self.version


@dataclass(frozen=True)
class Stub:
    host: str
    log: Path

    def requested_paths(self) -> list[str]:
        return [urllib.parse.unquote(line) for line in self.log.read_text().splitlines()]


@dataclass(frozen=True)
class Validation:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def diagnostics(self, severity: str) -> list[str]:
        return [summary for kind, summary in DIAGNOSTIC.findall(self.stderr) if kind == severity]

    @property
    def errors(self) -> list[str]:
        return self.diagnostics("Error")

    @property
    def warnings(self) -> list[str]:
        return self.diagnostics("Warning")

    @property
    def recommendations(self) -> list[str]:
        return self.diagnostics("Recommendation")

    def line(self, label: str) -> str | None:
        found = re.search(rf"^\s*{label}: (.*)$", self.stdout, re.MULTILINE)
        return found[1].strip() if found else None

    def counts(self) -> dict[str, int]:
        """The CLI's own tally ("Found 1 warning and 1 recommendation", "Validation OK!")."""
        found = re.search(r"^Found (.*)$", self.stdout, re.MULTILINE)
        tally = {"error": 0, "warning": 0, "recommendation": 0}
        for number, kind in COUNTS.findall(found[1] if found else ""):
            tally[kind] = int(number)
        return tally

    def report(self) -> str:
        return f"$ {' '.join(self.command)}\n(exit {self.returncode})\n{self.stdout}\n{self.stderr}"


def unexpected(result: Validation, cli: Cli) -> list[str]:
    """Everything the CLI said beyond what is accepted: the version note of a development build, the
    recommendation about the stub's identity, the stub's missing host metadata."""
    user = result.line("User")
    problems = [f"error: {error}" for error in result.errors]
    for warning in result.warnings:
        note = VERSION_NOTE.fullmatch(warning)
        if not (note and cli.development_build and note[1] == MAIN["bundle"]["databricks_cli_version"]):
            problems.append(f"warning: {warning}")
    for recommendation in result.recommendations:
        identity = IDENTITY_NOTE.fullmatch(recommendation)
        if not (identity and identity[1] == user):
            problems.append(f"recommendation: {recommendation}")
    problems += [
        f"log warning: {log}"
        for log in LOG_WARNING.findall(result.stderr)
        if not HOST_METADATA_LOG.match(log)
    ]
    return problems


def find_cli() -> tuple[str | None, str]:
    """The CLI's path, or None and why there is none."""
    if os.environ.get(CLI_ENV):
        path = Path(os.environ[CLI_ENV])
        if path.is_file() and os.access(path, os.X_OK):
            return str(path), ""
        return None, f"${CLI_ENV}={path} is not an executable file"
    beside = SHARED_TOOLS / "databricks"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside), ""
    found = shutil.which("databricks")
    reason = f"no Databricks CLI: ${CLI_ENV} unset, no shared/tools/databricks beside the checkout, none on the PATH"
    return found, "" if found else reason


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(home: Path, host: str) -> dict[str, str]:
    """The caller's environment without any Databricks, cloud or proxy settings: only the stub."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(FOREIGN_ENV) and not key.upper().endswith("_PROXY")
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        DATABRICKS_CONFIG_FILE=str(home / "no-databrickscfg"),
        DATABRICKS_HOST=host,
        DATABRICKS_TOKEN="x",
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def copy_bundle(destination: Path) -> Path:
    """The bundle's files in a directory of their own, where the CLI may write .databricks/."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns(".databricks"))
        elif source.is_file():
            shutil.copy(source, destination / name)
    return destination


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new))


def required_variables(main: dict[str, Any], target: str) -> dict[str, str]:
    declared = main.get("variables") or {}
    set_by_target = (main["targets"][target] or {}).get("variables") or {}
    return {
        name: PLACEHOLDERS.get(name, f"ci-{name}")
        for name, variable in declared.items()
        if "default" not in (variable or {})
        and "lookup" not in (variable or {})
        and name not in set_by_target
    }


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    path, reason = find_cli()
    if path is None:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("cli-home")
    result = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=60, env=clean_env(home, DEAD_PROXY)
    )
    assert result.returncode == 0, result.stderr
    return Cli(path, result.stdout.strip())


@pytest.fixture(scope="module")
def stub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stub:
    if not STUB.is_file():
        pytest.skip("no workspace stub: shared/tools/databricks_stub.py is not beside the checkout")
    port = free_port()
    log = tmp_path_factory.mktemp("stub") / "requests.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, str(STUB), str(port)], stdout=subprocess.DEVNULL, stderr=sink
        )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    request.addfinalizer(stop)
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            pytest.fail(f"the workspace stub exited ({process.returncode}): {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"the workspace stub does not listen on 127.0.0.1:{port} after 10 s")
            time.sleep(0.05)
    return Stub(f"http://127.0.0.1:{port}", log)


def validate(cli: Cli, stub: Stub, root: Path, target: str) -> Validation:
    main = yaml.safe_load((root / "databricks.yml").read_text())
    command = [cli.path, "bundle", "validate", "--target", target]
    if not cli.development_build:
        command.append("--strict")
    for name, value in required_variables(main, target).items():
        command += ["--var", f"{name}={value}"]
    result = subprocess.run(
        command,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(root.parent / f"home-{target}", stub.host),
    )
    return Validation(command, result.returncode, result.stdout, result.stderr)


@pytest.mark.parametrize("target", TARGETS)
def test_the_cli_validates_the_target(cli: Cli, stub: Stub, tmp_path: Path, target: str):
    root = copy_bundle(tmp_path / "bundle-root")
    result = validate(cli, stub, root, target)

    assert unexpected(result, cli) == [], result.report()
    assert result.returncode == 0, result.report()
    assert result.line("Target") == target, result.report()
    tally = result.counts()
    parsed = {
        "error": len(result.errors),
        "warning": len(result.warnings),
        "recommendation": len(result.recommendations),
    }
    assert tally == parsed, result.report()  # every diagnostic the CLI counted was parsed
    # It asked the stub (and nothing else could answer) about this target's root folder.
    root_path = result.line("Path")
    assert root_path and not root_path.startswith("/Workspace/Shared/"), result.report()
    assert any(f"get-status?path={root_path}" in line for line in stub.requested_paths())
    assert not (root / "dist").exists()  # validate built no wheel


def test_the_cli_refuses_a_resource_key_used_twice(cli: Cli, stub: Stub, tmp_path: Path):
    root = copy_bundle(tmp_path / "bundle-root")
    replace_once(root / "bundle" / "dashboard.yml", "    deal_desk_dashboard:\n", "    deal_desk:\n")
    result = validate(cli, stub, root, "test")
    assert result.returncode != 0
    assert "error: multiple resources or scripts have been defined with the same key: deal_desk" in (
        unexpected(result, cli)
    ), result.report()


def test_the_cli_warns_of_a_shared_root_path(cli: Cli, stub: Stub, tmp_path: Path):
    root = copy_bundle(tmp_path / "bundle-root")
    replace_once(
        root / "databricks.yml",
        "/Workspace/Users/${var.service_principal_id}/.bundle/",
        "/Workspace/Shared/.bundle/",
    )
    result = validate(cli, stub, root, "test")
    assert unexpected(result, cli) == [
        "warning: the bundle root path /Workspace/Shared/.bundle/dealdesk/test is writable by all workspace users"
    ], result.report()


# -- the serving database as the CLI resolves it ---------------------------------------------------


def resolved(cli: Cli, stub: Stub, root: Path, target: str) -> dict[str, Any]:
    """The target's configuration as `bundle validate -o json` prints it (variables filled in)."""
    main = yaml.safe_load((root / "databricks.yml").read_text())
    command = [cli.path, "bundle", "validate", "--target", target, "--output", "json"]
    for name, value in required_variables(main, target).items():
        command += ["--var", f"{name}={value}"]
    result = subprocess.run(
        command,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(root.parent / f"home-{target}", stub.host),
    )
    assert result.returncode == 0, f"$ {' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.mark.parametrize("target", TARGETS)
def test_the_cli_resolves_one_serving_project_per_target_with_its_synced_tables(
    cli: Cli, stub: Stub, tmp_path: Path, target: str
):
    config = resolved(cli, stub, copy_bundle(tmp_path / "bundle-root"), target)
    resources = config["resources"]
    schema = resources["schemas"]["deal_desk"]["name"]
    project = resources["postgres_projects"]["serving_project"]
    # The stub's user is ci@example.com: the dev copy is dealdesk-dev-ci.
    assert project["project_id"] == {"dev": "dealdesk-dev-ci"}.get(target, f"dealdesk-{target}")
    assert resources["postgres_catalogs"]["serving_catalog"]["catalog_id"] == f"{schema}_serving"
    synced = {
        key: (table["source_table_full_name"], table["primary_key_columns"], table["scheduling_policy"])
        for key, table in resources["postgres_synced_tables"].items()
    }
    source = "main.${resources.schemas.deal_desk.name}"
    assert synced == {
        "serving_deals": (f"{source}.app_deals", ["deal_id"], "CONTINUOUS"),
        "serving_approval_queue": (f"{source}.app_approval_queue", ["approval_id"], "CONTINUOUS"),
        "serving_deal_history": (f"{source}.app_deal_history", ["entry_id"], "CONTINUOUS"),
        "serving_document_outcomes": (f"{source}.app_document_outcomes", ["event_id"], "CONTINUOUS"),
        "serving_people": (f"{source}.app_people", ["email"], "CONTINUOUS"),
        "serving_inbox": (f"{source}.app_inbox", ["notification_id"], "CONTINUOUS"),
    }
    # What the target's permissions add reaches the project too, never for the app: it may use it.
    app = PLACEHOLDERS["app_service_principal_id"]
    assert [p["level"] for p in project["permissions"] if p.get("service_principal_name") == app] == [
        "CAN_USE"
    ]
    endpoint = resources["postgres_endpoints"]["serving_endpoint"]
    limits = (endpoint["autoscaling_limit_min_cu"], endpoint["autoscaling_limit_max_cu"])
    assert limits == ((2, 8) if target == "prod" else (1, 2))
