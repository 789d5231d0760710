# `make run` and `make test` are the two entry points (README "Quick start"); both need only
# Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two workers: the suite is mostly waiting on databases and live servers.
PYTEST_ARGS ?= -n 2

.PHONY: help run test lint format migrate bench faults
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

migrate: $(VENV)/.installed ## apply database migrations (and the cache table)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

run: migrate ## serve the demo on 127.0.0.1 port $PORT (8000); prints where to go
	@$(BIN)/python -m atm_project.first_run --check-port-only
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@$(BIN)/python -m atm_project.first_run
	exec $(BIN)/gunicorn --config atm_project/gunicorn_conf.py atm_project.wsgi

test: $(VENV)/.installed-dev ## run the whole suite (PYTEST_ARGS to change)
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev ## ruff check, ruff format --check, makemigrations --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-dev ## fix what ruff can and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Load and fault harness (bench/, docs/performance.md). Both need DATABASE_URL=postgres://...;
# they work in their own databases (atm_bench*) on that server and refuse SQLite.
bench: $(VENV)/.installed-dev ## load test (needs DATABASE_URL=postgres://...)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run

faults: $(VENV)/.installed-dev ## fault injection under load (PostgreSQL)
	$(BIN)/python -m bench.faults
