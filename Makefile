# kim-workflow — every target installs what it needs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: up test test-fast lint typecheck pytest fuzz lock bench bench-latency preview clean

up: $(STAMP)            ## run the main job: database, Prefect server + UI, mail sink, all deployments
	$(BIN)/kim up

test: $(STAMP) lint typecheck pytest   ## lint, type-check and run the whole test suite

test-fast: $(STAMP)      ## the pure and database tests, without the Prefect harness, e2e and fault tests (< 1 min)
	$(BIN)/pytest -m "not prefect and not slow" -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

fuzz: $(STAMP)          ## the CLI fuzz with many more cases (KIM_FUZZ_EXAMPLES per command, default 1000)
	KIM_FUZZ_EXAMPLES=$${KIM_FUZZ_EXAMPLES:-1000} $(BIN)/pytest tests/faults/test_cli_fuzz.py -q --timeout=0

bench: $(STAMP)
	$(BIN)/python bench/dispatch.py

bench-latency: $(STAMP)  ## CLI start-up and email latency under a real kim up (issue #11; about 2 minutes)
	$(BIN)/python bench/latency.py --runs $${RUNS:-5}

preview: $(STAMP)
	$(BIN)/kim emails preview --out var/preview

lock:                   ## re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q kim_workflow flows
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
