"""Set up the Apache Spark engine's tools: a Spark 4.0 server environment and the Delta Lake jars.

Run by ``make spark-env``. Versions come from engines/spark.toml. What it builds, under .tools/spark:

- a Python environment of its own holding the ``pyspark`` package (the whole Spark distribution with
  the Spark Connect server); it cannot share .venv, whose Databricks Connect client also installs
  the ``pyspark`` module;
- ``jars/``: the Delta Lake jars, fetched from Maven Central with the machine's ``mvn``;
- ``engine.json``: what the engine needs to start a server, written last (its presence means ready).

Every step is skipped when its result is already there, so a second run takes a second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "engines" / "spark.toml"
# The plugin that copies an artifact into a folder, pinned so the fetch is the same everywhere.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


class SetupError(Exception):
    """A missing prerequisite or a failed step, told in one line."""


def java_major_version(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or not match:
        raise SetupError(
            f"'{java} -version' did not work: install Java 17 (e.g. the openjdk-17-jdk-headless package)"
        )
    major = int(match[1])
    return int(match[2]) if major == 1 and match[2] else major


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SetupError(
            "the spark engine needs Java 17 or newer and none was found: install it "
            "(e.g. 'apt-get install openjdk-17-jdk-headless') or set JAVA_HOME"
        )
    major = java_major_version(java)
    if major < 17:
        raise SetupError(f"the spark engine needs Java 17 or newer; {java} is Java {major}: install Java 17")
    return java


def find_mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise SetupError(
            "fetching the Delta Lake jars needs Maven and 'mvn' was not found: install it "
            "(e.g. 'apt-get install maven')"
        )
    return mvn


def read_manifest(path: Path = MANIFEST) -> dict:
    manifest = tomllib.loads(path.read_text())
    return {
        "pyspark": manifest["spark"]["pyspark"],
        "delta": manifest["delta"]["version"],
        "artifacts": list(manifest["delta"]["artifacts"]),
    }


def installed_pyspark(env: Path) -> str | None:
    python = env / "bin" / "python"
    if not python.exists():
        return None
    result = subprocess.run(
        [str(python), "-c", "import pyspark; print(pyspark.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def install_pyspark(env: Path, version: str, uv: str, python: str) -> Path:
    if installed_pyspark(env) != version:
        print(f"Installing pyspark {version} into {env} (the Spark server's own environment)", flush=True)
        if not (env / "bin" / "python").exists():
            run([uv, "venv", "--quiet", "--python", python, str(env)])
        run([uv, "pip", "install", "--quiet", "--python", str(env / "bin" / "python"), f"pyspark=={version}"])
    result = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    spark_home = Path(result.stdout.strip())
    if not (spark_home / "bin" / "spark-submit").exists():
        raise SetupError(f"{spark_home} has no bin/spark-submit: the pyspark package is incomplete")
    return spark_home


def fetch_jars(jars: Path, artifacts: list[str], version: str, mvn: str) -> list[Path]:
    jars.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in artifacts:
        group, name = artifact.split(":")
        path = jars / f"{name}-{version}.jar"
        if not path.exists():
            print(f"Fetching {artifact}:{version} with mvn", flush=True)
            with tempfile.TemporaryDirectory() as scratch:  # no pom.xml around: a project-less call
                run(
                    [
                        mvn,
                        "--batch-mode",
                        "--quiet",
                        f"{DEPENDENCY_PLUGIN}:copy",
                        f"-Dartifact={group}:{name}:{version}",
                        f"-DoutputDirectory={jars}",
                    ],
                    cwd=scratch,
                )
            if not path.exists():
                raise SetupError(f"mvn finished but {path.name} is not in {jars}")
        paths.append(path)
    return paths


def run(command: list[str], cwd: str | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        detail = "\n".join(lines[-15:])
        raise SetupError(f"'{' '.join(command[:3])} ...' failed (exit {result.returncode}):\n{detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", default=str(REPO / ".tools" / "spark"), help="where to set up (.tools/spark)"
    )
    parser.add_argument("--uv", default=str(REPO / ".tools" / "bin" / "uv"), help="the project's uv")
    parser.add_argument("--python", default=sys.executable, help="a Python 3.12 for the server environment")
    args = parser.parse_args(argv)
    env = Path(args.dir).resolve()
    try:
        manifest = read_manifest()
        java = find_java()
        mvn = find_mvn()
        spark_home = install_pyspark(env, manifest["pyspark"], args.uv, args.python)
        jars = fetch_jars(env / "jars", manifest["artifacts"], manifest["delta"], mvn)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ready = {
        "pyspark": manifest["pyspark"],
        "delta": manifest["delta"],
        "spark_home": str(spark_home),
        "jars": [str(path) for path in jars],
        "java": java,
    }
    (env / "engine.json.tmp").write_text(json.dumps(ready, indent=2) + "\n")
    (env / "engine.json.tmp").replace(env / "engine.json")
    print(f"Spark engine ready: Spark {manifest['pyspark']} with Delta Lake {manifest['delta']} in {env}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
