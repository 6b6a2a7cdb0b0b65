# Caseload: `make run` serves the demo on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: run test lint audit pip-audit format lock frontend migrations-check bench bench-national bench-import faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install -qq -r requirements/base.txt
	touch $@

$(VENV)/.installed-dev: requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install -qq -r requirements/dev.txt
	touch $@ $(VENV)/.installed-base

## run: install, migrate the SQLite database, load the demo into an empty one, serve
run: $(VENV)/.installed-base
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py load_demo --if-empty
	DEBUG=true $(BIN)/python manage.py run_due_jobs
	@echo "Serving Caseload at http://$(HOST)/ (Ctrl+C to stop)"
	DEBUG=true $(BIN)/python manage.py runserver $(HOST)

## test: install what is missing and run the whole suite, a process per core (at most 4)
PYTEST_ARGS ?= --numprocesses auto --maxprocesses 4 --dist loadfile
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff (check and format), djlint, and the apps' layers (import-linter)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates --lint
	$(BIN)/djlint templates --check
	$(BIN)/lint-imports --no-cache

## audit: check every pinned dependency against the vulnerabilities PyPI records (needs PyPI's JSON API)
audit: $(VENV)/.installed-base
	$(BIN)/python tools/audit_pins.py requirements/base.txt requirements/dev.txt

## pip-audit: the same check with pip-audit, where its vulnerability services are reachable
pip-audit: $(VENV)/.installed-dev
	$(BIN)/pip-audit -r requirements/base.txt -r requirements/dev.txt --strict --progress-spinner off

## bench: Caseload at a large council on PostgreSQL: pages, load, jobs (docs/benchmarks.md; needs wrk)
bench: $(VENV)/.installed-base
	$(BIN)/python bench/scale.py --scale large

## bench-national: the same at national scale (generates 33,000 workers once: a few minutes)
bench-national: $(VENV)/.installed-base
	$(BIN)/python bench/scale.py --scale national

## bench-import: a year's back-fill of the demo's snapshots, and a 20,000-row import
bench-import: $(VENV)/.installed-base
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/import_rows.py

## faults: the production-like stack on loopback ports of its own, each fault injected and measured (docs/faults.md; needs PostgreSQL and redis-server)
faults: $(VENV)/.installed-dev
	$(BIN)/python bench/faults.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/djlint templates --reformat

migrations-check: $(VENV)/.installed-dev
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

## lock: re-pin the dependencies after editing pyproject.toml (needs uv)
lock:
	uv pip compile pyproject.toml --quiet --python-version 3.11 --no-header -o requirements/base.txt
	uv pip compile pyproject.toml --quiet --python-version 3.11 --no-header --extra dev -o requirements/dev.txt

## frontend: rebuild the compiled GOV.UK / MoJ Frontend files under static/ (needs Node.js)
frontend:
	cd frontend && npm ci --no-fund --no-audit && npm run build

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
