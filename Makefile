# Deal Desk lakehouse. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
# The Apache Spark engine's tools (Spark server environment, Delta jars): versions in engines/spark.toml.
SPARK_TOOLS := $(TOOLS)/spark
SPARK_READY := $(SPARK_TOOLS)/engine.json
DEMO_HOME ?= .dealdesk/demo
# The Spark tests run in one worker (one Spark server) while the others share the rest.
TEST_WORKERS ?= 3
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help env spark-env demo test test-exhaustive test-spark lint format check lock bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@py=$$(scripts/find-python312) || exit 1; \
	echo "Using $$py"; \
	"$$py" -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	@py=$$(scripts/find-python312) || exit 1; \
	$(UV) sync --frozen --extra local --python "$$py" --quiet
	@touch $(STAMP)

env: $(STAMP) ## Create or update the Python 3.12 environment from uv.lock

$(SPARK_READY): $(UV) engines/spark.toml scripts/spark_env.py
	@py=$$(scripts/find-python312) || exit 1; \
	$(TOOLS)/bin/python scripts/spark_env.py --dir $(SPARK_TOOLS) --uv $(UV) --python "$$py"

spark-env: $(SPARK_READY) ## Set up the Apache Spark engine (needs Java 17 and Maven): Spark 4.0 and Delta Lake jars

demo: $(STAMP) ## Build a fresh local lakehouse, load the sample data, run the pipeline and show the result
	$(VENV)/bin/dealdesk --home $(DEMO_HOME) demo --rebuild

test: $(STAMP) $(SPARK_READY) ## Run the lint checks and the test suite (conformance tests on both engines), in TEST_WORKERS processes
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup -m "not exhaustive"

test-exhaustive: $(STAMP) $(SPARK_READY) ## Every variant of what make test proves on a sample: every cut point of a run, every file a run of its own (CI runs it after make test)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup -m exhaustive

test-spark: $(STAMP) $(SPARK_READY) ## Run only the engine conformance tests (embedded and Spark)
	$(VENV)/bin/pytest -m conformance

lint: $(STAMP) ## Lint only
	$(VENV)/bin/ruff check src tests scripts

format: $(STAMP) ## Format the code
	$(VENV)/bin/ruff format src tests scripts
	$(VENV)/bin/ruff check --fix src tests scripts

bench: $(STAMP) $(SPARK_READY) ## Benchmark both engines (BENCH_ARGS="--engines spark" for one): a peak day on 7 years and 10x; bench/results.json
	$(VENV)/bin/python scripts/bench.py $(BENCH_ARGS)

lock: $(UV) ## Re-resolve uv.lock after a dependency change
	@py=$$(scripts/find-python312) || exit 1; $(UV) lock --python "$$py"

# clean: the demo's lakehouse goes only the demo's way (`demo --remove` deletes what its marker lists),
# before the environment that runs it; other lakehouses (./.dealdesk is every command's default) stay.
clean: ## Remove what the build made: environments, caches, dist, the demo's own lakehouse (yours stay)
	@if [ -f "$(DEMO_HOME)/.dealdesk-demo" ]; then \
		if [ -x "$(VENV)/bin/dealdesk" ]; then \
			"$(VENV)/bin/dealdesk" --engine local --home "$(DEMO_HOME)" demo --remove \
				|| echo "make clean: kept $(DEMO_HOME) (see above); the rest goes"; \
		else echo "make clean: kept $(DEMO_HOME): no $(VENV)/bin/dealdesk to remove it with (make env first)"; fi; \
	fi
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache .hypothesis dist
