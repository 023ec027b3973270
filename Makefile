# Two set-up commands: `make demo` runs the whole loop on embedded defaults, `make test` runs the checks.
# Each creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench schema docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ritm demo --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Quick versions; the README's figures come from the 1 M runs (`--contacts 1000000`).
bench: $(STAMP)
	$(BIN)/python bench/import_bench.py --contacts 100000
	$(BIN)/python bench/segment_bench.py --contacts 100000
	$(BIN)/python bench/plan_bench.py --contacts 100000
	$(BIN)/python bench/send_bench.py --quick

# storage/schema.sql after a new migration (a test fails until it is regenerated).
schema: $(STAMP)
	$(BIN)/python -m storage.schema_file

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# docs/campaign-file.md, docs/policy.md, docs/templates.md from the models (a test fails when stale).
docs: $(STAMP)
	$(BIN)/python -m ritm.reference_docs
